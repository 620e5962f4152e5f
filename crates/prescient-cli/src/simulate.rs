//! `prescient simulate`: replays a demand trace against scaling policies and reports the
//! scaling benchmark's metrics (`SCALING-BENCHMARK.md`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use prescient_eval::trace::read_trace;
use prescient_sim::{Metrics, PrescientConfig, Run, Scenario, SimParams, by_name_with, simulate};

use crate::progress;

/// The policy options `prescient simulate` and `prescient simulate-requests` share.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct PolicyArgs {
    /// A policy to replay: oracle, static, hpa, snaive-hpa, prescient, or `hpa@U` /
    /// `snaive-hpa@U` for another target utilisation. Repeat for several; default all five.
    #[arg(long = "policy")]
    pub(crate) policies: Vec<String>,
    /// Seconds a new worker takes to serve.
    #[arg(long, default_value_t = 120.0)]
    pub(crate) startup_delay: f64,
    /// The target utilisation of `hpa`.
    #[arg(long, default_value_t = 0.7)]
    pub(crate) target_utilization: f64,
}

/// Settings of `prescient simulate`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct SimulateArgs {
    /// The demand trace: a CSV with a header, then a timestamp (unix seconds or
    /// `YYYY-MM-DD HH:MM:SS`) and the demand per row.
    #[arg(long)]
    pub(crate) trace: PathBuf,
    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
    /// Also replay the HPA frontier: `hpa@0.5` to `hpa@0.9` in steps of 0.1.
    #[arg(long)]
    pub(crate) frontier: bool,
    /// The `prescient` policy's settings as JSON (`PrescientConfig`'s fields); default: the
    /// library's one configuration for every trace.
    #[arg(long)]
    pub(crate) prescient_config: Option<PathBuf>,
    /// Where to write the metrics as JSON.
    #[arg(long)]
    pub(crate) json: Option<PathBuf>,
    /// A folder to write an HTML report into (`report.html`).
    #[arg(long)]
    pub(crate) report: Option<PathBuf>,
}

/// The policies of a run, in order, without repeats: those asked for (default all five), then
/// the HPA frontier if asked for.
pub(crate) fn policy_names(policies: &[String], frontier: bool) -> Vec<String> {
    let mut names: Vec<String> = if policies.is_empty() {
        ["oracle", "static", "hpa", "snaive-hpa", "prescient"]
            .map(String::from)
            .to_vec()
    } else {
        policies.to_vec()
    };
    if frontier {
        names.extend(["hpa@0.5", "hpa@0.6", "hpa@0.7", "hpa@0.8", "hpa@0.9"].map(String::from));
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// Times one decision, in microseconds.
#[allow(clippy::disallowed_methods)] // The CLI measures the policies' decision latency.
pub(crate) fn stopwatch(f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1e6
}

pub(crate) fn run(args: &SimulateArgs) -> Result<String, String> {
    let trace = read_trace(&args.trace).map_err(|e| e.to_string())?;
    let params = SimParams::default().with_startup_delay(args.policy.startup_delay);
    let scenario = Scenario::new(&trace, params).map_err(|e| e.to_string())?;
    let config = match &args.prescient_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => PrescientConfig::default(),
    };
    let mut runs = Vec::new();
    let names = policy_names(&args.policy.policies, args.frontier);
    let bar = progress::bar(names.len(), "policies");
    for name in names {
        bar.set_message(format!("policy {name}"));
        let mut policy = by_name_with(&name, &scenario, args.policy.target_utilization, config)
            .map_err(|e| e.to_string())?;
        let run = simulate(&scenario, policy.as_mut(), &mut stopwatch)
            .map_err(|e| format!("{name}: {e}"))?;
        runs.push((name, run));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut out = table(&scenario, &runs);
    if let Some(path) = &args.json {
        let json = to_json(&scenario, &runs);
        std::fs::write(path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let _ = writeln!(out, "metrics written to {}", path.display());
    }
    if let Some(dir) = &args.report {
        let path = crate::report::write(dir, &scenario, &runs)?;
        let _ = writeln!(out, "report written to {}", path.display());
    }
    Ok(out)
}

fn table(scenario: &Scenario, runs: &[(String, Run)]) -> String {
    let c = scenario.capacity();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "trace {}: {} steps of {} s, {:.1} days measured after {:.1} days of warm-up; \
         c = {:.4} per worker, bounds [{}, {}], start-up delay {} s",
        scenario.name(),
        scenario.len(),
        scenario.params().step_secs,
        scenario.measured_days(),
        scenario.warmup_steps() as f64 * scenario.params().step_secs / 86_400.0,
        c.per_worker,
        c.min,
        c.max,
        scenario.params().startup_delay_secs
    );
    let _ = writeln!(
        s,
        "{:<16} {:>10} {:>12} {:>11} {:>11} {:>10} {:>10} {:>9} {:>9}",
        "policy",
        "cost ratio",
        "worker-hours",
        "unserved %",
        "violation %",
        "overprov %",
        "actions/d",
        "flips/d",
        "p99 µs"
    );
    for (name, run) in runs {
        let m = &run.metrics;
        let _ = writeln!(
            s,
            "{:<16} {:>10.3} {:>12.1} {:>11.3} {:>11.2} {:>10.1} {:>10.1} {:>9.1} {:>9.1}",
            name,
            m.cost_ratio,
            m.worker_hours,
            m.unserved_pct,
            m.violation_time_pct,
            m.overprovision_pct,
            m.actions_per_day,
            m.flips_per_day,
            m.decision_p99_us
        );
    }
    s
}

fn metrics_json(m: &Metrics) -> serde_json::Value {
    serde_json::json!({
        "unserved_pct": m.unserved_pct,
        "violation_time_pct": m.violation_time_pct,
        "cost_ratio": m.cost_ratio,
        "worker_hours": m.worker_hours,
        "overprovision_pct": m.overprovision_pct,
        "actions_per_day": m.actions_per_day,
        "flips_per_day": m.flips_per_day,
        "decision_p50_us": m.decision_p50_us,
        "decision_p99_us": m.decision_p99_us,
        "under_forecast_pct": m.under_forecast_pct,
    })
}

fn to_json(scenario: &Scenario, runs: &[(String, Run)]) -> String {
    let mut policies = serde_json::Map::new();
    for (name, run) in runs {
        policies.insert(name.clone(), metrics_json(&run.metrics));
    }
    let c = scenario.capacity();
    let doc = serde_json::json!({
        "trace": scenario.name(),
        "startup_delay_s": scenario.params().startup_delay_secs,
        "capacity_per_worker": c.per_worker,
        "min_workers": c.min,
        "max_workers": c.max,
        "measured_days": scenario.measured_days(),
        "oracle_worker_hours": prescient_sim::oracle_worker_hours(scenario),
        "policies": policies,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
