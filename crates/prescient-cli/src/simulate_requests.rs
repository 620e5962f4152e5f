//! `prescient simulate-requests`: replays per-request arrivals (the Azure LLM inference traces)
//! against scaling policies, with workers that serve one request at a time from a queue, and
//! reports latency percentiles, SLO violations and cost (the request-level variant of the
//! scaling benchmark; the model is documented in `prescient_sim::request`).

use std::fmt::Write as _;
use std::path::PathBuf;

use prescient_eval::trace::read_arrivals;
use prescient_sim::{
    RequestMetrics, RequestParams, RequestRun, RequestScenario, SimParams, by_name,
    oracle_worker_hours, simulate_requests,
};

/// Settings of `prescient simulate-requests`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct SimulateRequestsArgs {
    /// The arrivals: a CSV with a header, then the arrival time (unix seconds or
    /// `YYYY-MM-DD HH:MM:SS[.f]`), context tokens and generated tokens per request.
    #[arg(long)]
    pub(crate) arrivals: PathBuf,
    #[command(flatten)]
    pub(crate) policy: crate::simulate::PolicyArgs,
    /// Reference service-seconds per context token (an assumption, not a measurement).
    #[arg(long, default_value_t = RequestParams::default().prefill_secs_per_token)]
    pub(crate) prefill_per_token: f64,
    /// Reference service-seconds per generated token (an assumption, not a measurement).
    #[arg(long, default_value_t = RequestParams::default().decode_secs_per_token)]
    pub(crate) decode_per_token: f64,
    /// Reference service-seconds per request besides its tokens.
    #[arg(long, default_value_t = RequestParams::default().overhead_secs)]
    pub(crate) overhead: f64,
    /// A request violates the SLO when its latency exceeds this multiple of its service time
    /// plus `--slo-slack`.
    #[arg(long, default_value_t = RequestParams::default().slo_factor)]
    pub(crate) slo_factor: f64,
    /// The SLO's allowance on top of the multiple of the service time, in seconds.
    #[arg(long, default_value_t = RequestParams::default().slo_slack_secs)]
    pub(crate) slo_slack: f64,
    /// Where to write the metrics as JSON.
    #[arg(long)]
    pub(crate) json: Option<PathBuf>,
}

pub(crate) fn run(args: &SimulateRequestsArgs) -> Result<String, String> {
    let arrivals = read_arrivals(&args.arrivals).map_err(|e| e.to_string())?;
    let params = RequestParams {
        prefill_secs_per_token: args.prefill_per_token,
        decode_secs_per_token: args.decode_per_token,
        overhead_secs: args.overhead,
        slo_factor: args.slo_factor,
        slo_slack_secs: args.slo_slack,
    };
    let sim = SimParams::default().with_startup_delay(args.policy.startup_delay);
    let rs = RequestScenario::new(&arrivals, params, sim).map_err(|e| e.to_string())?;
    let mut runs = Vec::new();
    for name in crate::simulate::policy_names(&args.policy.policies, false) {
        let mut policy = by_name(&name, rs.scenario(), args.policy.target_utilization)
            .map_err(|e| e.to_string())?;
        let run = simulate_requests(&rs, policy.as_mut(), &mut crate::simulate::stopwatch)
            .map_err(|e| format!("{name}: {e}"))?;
        runs.push((name, run));
    }
    let mut out = table(&rs, &runs);
    if let Some(path) = &args.json {
        let json = to_json(&rs, &runs);
        std::fs::write(path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let _ = writeln!(out, "metrics written to {}", path.display());
    }
    Ok(out)
}

/// The median service time, in seconds.
fn median_service(rs: &RequestScenario) -> f64 {
    let mut s = rs.service_secs().to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

fn table(rs: &RequestScenario, runs: &[(String, RequestRun)]) -> String {
    let scenario = rs.scenario();
    let c = scenario.capacity();
    let p = rs.params();
    let measured = runs.first().map_or(0, |(_, r)| r.metrics.requests);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "arrivals {}: {} requests, {} measured after {:.1} min of warm-up; {} steps of {} s; \
         start-up delay {} s",
        scenario.name(),
        rs.len(),
        measured,
        rs.measured_from_secs() / 60.0,
        scenario.len(),
        scenario.params().step_secs,
        scenario.params().startup_delay_secs,
    );
    let _ = writeln!(
        s,
        "worker speed c = {:.4} service-s/s, bounds [{}, {}]; median service time {:.2} s; \
         SLO: latency ≤ {} × service time + {} s",
        c.per_worker,
        c.min,
        c.max,
        median_service(rs),
        p.slo_factor,
        p.slo_slack_secs
    );
    let _ = writeln!(
        s,
        "{:<16} {:>8} {:>8} {:>8} {:>7} {:>8} {:>10} {:>6} {:>9} {:>8} {:>8} {:>6} {:>8}",
        "policy",
        "p50 s",
        "p90 s",
        "p99 s",
        "SLO %",
        "wait s",
        "worker-h",
        "cost",
        "actions/d",
        "flips/d",
        "p99 µs",
        "unfin",
        "preempt"
    );
    for (name, run) in runs {
        let m = &run.metrics;
        let _ = writeln!(
            s,
            "{:<16} {:>8.2} {:>8.2} {:>8.2} {:>7.2} {:>8.2} {:>10.2} {:>6.3} {:>9.0} {:>8.0} \
             {:>8.1} {:>6} {:>8}",
            name,
            m.p50_s,
            m.p90_s,
            m.p99_s,
            m.slo_violation_pct,
            m.mean_wait_s,
            m.worker_hours,
            m.cost_ratio,
            m.actions_per_day,
            m.flips_per_day,
            m.decision_p99_us,
            m.unfinished,
            m.preempted
        );
    }
    s
}

fn metrics_json(m: &RequestMetrics) -> serde_json::Value {
    serde_json::json!({
        "p50_s": m.p50_s,
        "p90_s": m.p90_s,
        "p99_s": m.p99_s,
        "slo_violation_pct": m.slo_violation_pct,
        "mean_wait_s": m.mean_wait_s,
        "worker_hours": m.worker_hours,
        "cost_ratio": m.cost_ratio,
        "actions_per_day": m.actions_per_day,
        "flips_per_day": m.flips_per_day,
        "decision_p50_us": m.decision_p50_us,
        "decision_p99_us": m.decision_p99_us,
        "requests": m.requests,
        "unfinished": m.unfinished,
        "preempted": m.preempted,
    })
}

fn to_json(rs: &RequestScenario, runs: &[(String, RequestRun)]) -> String {
    let mut policies = serde_json::Map::new();
    for (name, run) in runs {
        policies.insert(name.clone(), metrics_json(&run.metrics));
    }
    let scenario = rs.scenario();
    let c = scenario.capacity();
    let p = rs.params();
    let doc = serde_json::json!({
        "trace": scenario.name(),
        "startup_delay_s": scenario.params().startup_delay_secs,
        "requests": rs.len(),
        "measured_from_s": rs.measured_from_secs(),
        "worker_speed": c.per_worker,
        "min_workers": c.min,
        "max_workers": c.max,
        "median_service_s": median_service(rs),
        "prefill_secs_per_token": p.prefill_secs_per_token,
        "decode_secs_per_token": p.decode_secs_per_token,
        "overhead_secs": p.overhead_secs,
        "slo_factor": p.slo_factor,
        "slo_slack_s": p.slo_slack_secs,
        "oracle_worker_hours": oracle_worker_hours(scenario),
        "policies": policies,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
