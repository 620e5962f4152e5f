//! `prescient demo`: a simulated web service scaled by prescient and by an HPA-style rule.
//!
//! Both policies see the same synthetic load (seeded), each drives its own simulated worker pool
//! with the same provisioning delay, and each pool feeds its own service model, so latency, CPU
//! and errors follow the capacity each policy provided. The first day is warm-up: both policies
//! run, but the figures are computed over the remaining days.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use prescient::actuate::SimulatedPool;
use prescient::report::{RecorderParams, RunRecorder, RunReport, render_html};
use prescient::synth::{ServiceModel, Workload, WorkloadParams, generate};
use prescient::{
    Actuator, Decision, PlannerParams, PoolStatus, Reason, ReasonCode, Scaler, Severity, Timestamp,
};
use serde::Serialize;

use crate::DemoArgs;

/// The utilisation both policies aim for.
const TARGET_UTILISATION: f64 = 0.7;
/// The HPA's defaults: tolerance, scale-down stabilisation window.
const HPA_TOLERANCE: f64 = 0.1;
const HPA_STABILISATION_SECS: f64 = 300.0;
/// How long after an anomaly's end an alarm still counts as catching it.
const CATCH_MARGIN_SECS: f64 = 600.0;

/// The figures of one policy over the measured days.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct PolicyStats {
    pub(crate) unserved_pct: f64,
    pub(crate) violation_time_pct: f64,
    pub(crate) worker_hours: f64,
    pub(crate) cost_ratio_to_oracle: f64,
    pub(crate) mean_workers: f64,
    pub(crate) scaling_actions: u64,
    pub(crate) actions_per_day: f64,
    pub(crate) flips_per_day: f64,
    pub(crate) reasons: BTreeMap<String, u64>,
    #[serde(skip)]
    acc: Accumulator,
}

#[derive(Debug, Clone, Default)]
struct Accumulator {
    demand: f64,
    unserved: f64,
    violations: u64,
    steps: u64,
    worker_secs: f64,
    last_direction: i8,
    flips: u64,
}

impl PolicyStats {
    fn record_step(&mut self, demand: f64, unserved: f64, desired: u32, step_secs: f64) {
        let a = &mut self.acc;
        a.demand += demand;
        a.unserved += unserved;
        a.violations += u64::from(unserved > 1e-9);
        a.steps += 1;
        a.worker_secs += f64::from(desired) * step_secs;
    }

    fn record_action(&mut self, current: u32, target: u32) {
        if target == current {
            return;
        }
        self.scaling_actions += 1;
        let dir = if target > current { 1 } else { -1 };
        if self.acc.last_direction != 0 && dir != self.acc.last_direction {
            self.acc.flips += 1;
        }
        self.acc.last_direction = dir;
    }

    fn finish(&mut self, days: f64, oracle_worker_hours: f64, step_secs: f64) {
        let a = &self.acc;
        self.unserved_pct = 100.0 * a.unserved / a.demand.max(f64::MIN_POSITIVE);
        self.violation_time_pct = 100.0 * a.violations as f64 / (a.steps.max(1)) as f64;
        self.worker_hours = a.worker_secs / 3600.0;
        self.cost_ratio_to_oracle = self.worker_hours / oracle_worker_hours.max(f64::MIN_POSITIVE);
        self.mean_workers = a.worker_secs / (a.steps.max(1) as f64 * step_secs);
        self.actions_per_day = self.scaling_actions as f64 / days;
        self.flips_per_day = a.flips as f64 / days;
    }
}

/// What became of one injected anomaly.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AnomalyOutcome {
    pub(crate) kind: String,
    pub(crate) start_secs: i64,
    pub(crate) duration_secs: f64,
    pub(crate) caught: bool,
    pub(crate) delay_secs: Option<f64>,
    pub(crate) first_metric: Option<String>,
    pub(crate) worst_severity: String,
}

/// prescient's detection figures over the measured days.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct DetectionStats {
    pub(crate) injected: usize,
    pub(crate) caught: usize,
    pub(crate) anomalies: Vec<AnomalyOutcome>,
    /// Alarm episodes (severity medium or high) during flash crowds: unusual load, correctly
    /// flagged, and scaled for.
    pub(crate) alarms_during_bursts: u64,
    /// Alarm episodes outside every labelled anomaly, flash crowd and regime change.
    pub(crate) false_alarms: u64,
    pub(crate) false_alarms_per_day: f64,
    /// Alarm episodes outside labelled anomalies, flash crowds and regime changes, per metric.
    pub(crate) false_alarms_by_metric: BTreeMap<String, u64>,
}

/// The report of one demo run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DemoReport {
    pub(crate) seed: u64,
    pub(crate) start_secs: i64,
    pub(crate) days: f64,
    pub(crate) measured_days: f64,
    pub(crate) step_secs: f64,
    pub(crate) provisioning_delay_secs: f64,
    pub(crate) capacity_per_worker: f64,
    pub(crate) max_workers: u32,
    pub(crate) ticks: usize,
    pub(crate) oracle_worker_hours: f64,
    pub(crate) prescient: PolicyStats,
    pub(crate) hpa: PolicyStats,
    pub(crate) detection: DetectionStats,
    pub(crate) tick_latency_us_p50: f64,
    pub(crate) tick_latency_us_p99: f64,
    pub(crate) wall_secs: f64,
    /// prescient's run, recorded tick by tick when `--report` asks for it.
    #[serde(skip)]
    pub(crate) run: Option<RunReport>,
}

impl DemoReport {
    pub(crate) fn to_json(&self) -> String {
        // Serialising plain numbers and strings cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// The reactive baseline: the Kubernetes HPA's rule with its defaults, on the load metric.
struct HpaRule {
    per_worker: f64,
    min: u32,
    max: u32,
    recommendations: Vec<(Timestamp, u32)>,
}

impl HpaRule {
    fn decide(&mut self, ts: Timestamp, load: f64, pool: PoolStatus) -> u32 {
        let current = pool.desired;
        let ready = pool.ready;
        let rec = if ready == 0 {
            (load / self.per_worker).ceil() as u32
        } else {
            let ratio = (load / f64::from(ready)) / self.per_worker;
            if (1.0 - ratio).abs() <= HPA_TOLERANCE {
                current
            } else {
                (ratio * f64::from(ready)).ceil() as u32
            }
        };
        let cutoff = ts.add_secs(-HPA_STABILISATION_SECS);
        self.recommendations.retain(|&(t, _)| t > cutoff);
        self.recommendations.push((ts, rec));
        let stabilised = self
            .recommendations
            .iter()
            .map(|&(_, r)| r)
            .max()
            .unwrap_or(rec);
        let up_limit = (current + 4).max(2 * current);
        stabilised.min(up_limit).clamp(self.min, self.max)
    }
}

fn decision(ts: Timestamp, current: u32, target: u32) -> Decision {
    Decision {
        ts,
        current,
        target,
        severity: Severity::None,
        forecast: None,
        forecast_need: None,
        reactive_need: Some(target),
        anomaly_need: None,
        reason: Reason::new(ReasonCode::ReactiveFloor),
        regime: None,
    }
}

/// Worker-hours of the oracle: at each step, enough workers for the demand over the next delay.
fn oracle_worker_hours(
    w: &Workload,
    capacity: f64,
    min: u32,
    max: u32,
    delay_secs: f64,
    from: usize,
) -> f64 {
    let ahead = (delay_secs / w.step_secs).ceil() as usize;
    let need: Vec<u32> = w
        .load
        .iter()
        .map(|d| ((d / capacity - 1e-9).ceil().max(0.0) as u32).clamp(min, max))
        .collect();
    let mut secs = 0.0;
    for t in from..need.len() {
        let end = (t + ahead).min(need.len() - 1);
        let provisioned = need[t..=end].iter().copied().max().unwrap_or(min);
        secs += f64::from(provisioned) * w.step_secs;
    }
    secs / 3600.0
}

fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// Writes `report.json` and `report.html` of `run` into `dir` (created if missing) and returns
/// their paths.
pub(crate) fn write_run_report(dir: &Path, run: &RunReport) -> Result<(PathBuf, PathBuf), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = dir.join("report.json");
    std::fs::write(&json, run.to_json())
        .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
    let html = dir.join("report.html");
    std::fs::write(&html, render_html(run))
        .map_err(|e| format!("cannot write {}: {e}", html.display()))?;
    Ok((json, html))
}

/// Runs the demo.
#[allow(clippy::disallowed_methods)] // The CLI measures its own decision latency.
pub(crate) fn run(args: &DemoArgs) -> Result<DemoReport, Box<dyn std::error::Error>> {
    if !(args.days.is_finite() && args.days >= 1.5 && args.days <= 60.0) {
        return Err(format!("--days must be between 1.5 and 60, got {}", args.days).into());
    }
    let started = Instant::now();
    let workload =
        generate(&WorkloadParams::web_service(args.seed).span_secs(args.days * 86_400.0))?;
    let step = workload.step_secs;
    let n = workload.len();
    let mean = workload.load.iter().sum::<f64>() / n as f64;
    let peak = workload.load.iter().copied().fold(0.0, f64::max);
    // As the scaling benchmark does: mean demand needs 20 workers at 70%.
    let capacity = mean / 14.0;
    let max = (1.2 * peak / (TARGET_UTILISATION * capacity)).ceil() as u32;
    let warmup = ((86_400.0 / step).round() as usize).min(n / 2);
    let measured_days = (n - warmup) as f64 * step / 86_400.0;
    let lead = args.delay.max(step);

    let schema = ServiceModel::schema("web")?;
    let planner = PlannerParams::new(capacity)
        .target_utilisation(TARGET_UTILISATION)
        .bounds(1, max)
        .lead_time_secs(lead);
    let mut scaler = Scaler::builder(schema.clone(), planner)
        .step_secs(step)
        .startup_delay_secs(args.delay)
        .build()?;
    let mut recorder = match args.report {
        Some(_) => Some(RunRecorder::new(
            RecorderParams::new(step, scaler.horizon_steps()).title(format!(
                "prescient demo: {} days of a web service, seed {}",
                args.days, args.seed
            )),
        )?),
        None => None,
    };
    let initial =
        ((workload.load[0] / (TARGET_UTILISATION * capacity)).ceil() as u32).clamp(1, max);
    let mut pool_p = SimulatedPool::new(initial, args.delay)?;
    let mut pool_h = SimulatedPool::new(initial, args.delay)?;
    let mut svc_p = ServiceModel::new(capacity, args.seed)?;
    let mut svc_h = ServiceModel::new(capacity, args.seed)?;
    let mut hpa = HpaRule {
        per_worker: TARGET_UTILISATION * capacity,
        min: 1,
        max,
        recommendations: Vec::new(),
    };

    let mut stats_p = PolicyStats::default();
    let mut stats_h = PolicyStats::default();
    let mut latencies = Vec::with_capacity(n);
    let measured_anomalies: Vec<_> = workload
        .anomalies
        .iter()
        .filter(|a| a.start >= workload.ts[warmup])
        .collect();
    let mut outcomes: Vec<AnomalyOutcome> = measured_anomalies
        .iter()
        .map(|a| AnomalyOutcome {
            kind: format!("{:?}", a.kind),
            start_secs: a.start.as_millis() / 1000,
            duration_secs: a.duration_secs(),
            caught: false,
            delay_secs: None,
            first_metric: None,
            worst_severity: format!("{:?}", Severity::None),
        })
        .collect();
    let mut detection = DetectionStats {
        injected: outcomes.len(),
        ..DetectionStats::default()
    };
    let mut alarm_on = vec![false; schema.len()];

    for (i, (ts, load)) in workload.iter().enumerate() {
        let active = workload.active_anomalies(ts);
        let measured = i >= warmup;

        // prescient
        let status = pool_p.status(ts)?;
        let m = svc_p.observe(ts, load, status.ready, &active);
        if measured {
            stats_p.record_step(load, m.unserved, status.desired, step);
        }
        let t0 = Instant::now();
        let d = scaler.tick(ts, &m.values(), status)?;
        latencies.push(t0.elapsed().as_nanos() as u64);
        if let Some(r) = recorder.as_mut() {
            r.observe(&scaler, &d, m.load, status);
        }
        scaler.apply(&d, &mut pool_p)?;
        if measured {
            stats_p.record_action(d.current, d.target);
            *stats_p.reasons.entry(d.reason.to_string()).or_default() += 1;
            let alarms: Vec<(usize, Severity)> = scaler
                .anomalies()
                .iter()
                .filter(|a| a.severity >= Severity::Medium)
                .map(|a| (a.metric, a.severity))
                .collect();
            for (a, o) in measured_anomalies.iter().zip(outcomes.iter_mut()) {
                let within = ts >= a.start && ts <= a.end.add_secs(CATCH_MARGIN_SECS);
                if within && !o.caught {
                    if let Some(&(metric, severity)) = alarms.first() {
                        o.caught = true;
                        o.delay_secs = Some(ts.secs_since(a.start));
                        o.first_metric = Some(schema.metrics()[metric].name.clone());
                        o.worst_severity = format!("{severity:?}");
                    }
                }
            }
            for (metric, on) in alarm_on.iter_mut().enumerate() {
                let now_on = alarms.iter().any(|&(m, _)| m == metric);
                if now_on && !*on {
                    let near = |start: Timestamp, end: Timestamp| {
                        ts >= start && ts <= end.add_secs(CATCH_MARGIN_SECS)
                    };
                    let labelled = measured_anomalies.iter().any(|a| near(a.start, a.end));
                    let bursting = workload.bursts.iter().any(|b| near(b.start, b.end));
                    let regime = workload
                        .regime_changes
                        .iter()
                        .any(|r| near(r.at, r.at.add_secs(2.0 * CATCH_MARGIN_SECS)));
                    if bursting {
                        detection.alarms_during_bursts += 1;
                    } else if !labelled && !regime {
                        detection.false_alarms += 1;
                        *detection
                            .false_alarms_by_metric
                            .entry(schema.metrics()[metric].name.clone())
                            .or_default() += 1;
                    }
                }
                *on = now_on;
            }
        }

        // HPA
        let status = pool_h.status(ts)?;
        let m = svc_h.observe(ts, load, status.ready, &active);
        if measured {
            stats_h.record_step(load, m.unserved, status.desired, step);
        }
        let target = hpa.decide(ts, m.load, status);
        if target != status.desired {
            pool_h.scale(ts, &decision(ts, status.desired, target))?;
        }
        if measured {
            stats_h.record_action(status.desired, target);
        }
    }

    let oracle = oracle_worker_hours(&workload, capacity, 1, max, args.delay, warmup);
    stats_p.finish(measured_days, oracle, step);
    stats_h.finish(measured_days, oracle, step);
    detection.caught = outcomes.iter().filter(|o| o.caught).count();
    detection.anomalies = outcomes;
    detection.false_alarms_per_day = detection.false_alarms as f64 / measured_days;
    latencies.sort_unstable();
    Ok(DemoReport {
        seed: args.seed,
        start_secs: workload.start.as_millis() / 1000,
        days: args.days,
        measured_days,
        step_secs: step,
        provisioning_delay_secs: args.delay,
        capacity_per_worker: capacity,
        max_workers: max,
        ticks: n,
        oracle_worker_hours: oracle,
        prescient: stats_p,
        hpa: stats_h,
        detection,
        tick_latency_us_p50: percentile(&latencies, 0.5),
        tick_latency_us_p99: percentile(&latencies, 0.99),
        wall_secs: started.elapsed().as_secs_f64(),
        run: recorder.map(|r| r.report()),
    })
}

/// The human-readable summary.
pub(crate) fn summary(r: &DemoReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "prescient demo: {:.1} simulated days of a web service (seed {}), {} s steps, workers ready {} s after the request",
        r.days, r.seed, r.step_secs, r.provisioning_delay_secs
    );
    let _ = writeln!(
        s,
        "measured over the last {:.1} days (day 1 is warm-up); one worker serves {:.1} units/s; bounds [1, {}]\n",
        r.measured_days, r.capacity_per_worker, r.max_workers
    );
    let _ = writeln!(
        s,
        "{:<22}{:>12}{:>12}{:>14}{:>14}{:>12}{:>12}",
        "policy",
        "unserved %",
        "SLO viol. %",
        "worker-hours",
        "cost/oracle",
        "actions/d",
        "flips/d"
    );
    for (name, p) in [("prescient", &r.prescient), ("HPA-style (U = 0.7)", &r.hpa)] {
        let _ = writeln!(
            s,
            "{:<22}{:>12.3}{:>12.2}{:>14.1}{:>14.2}{:>12.1}{:>12.1}",
            name,
            p.unserved_pct,
            p.violation_time_pct,
            p.worker_hours,
            p.cost_ratio_to_oracle,
            p.actions_per_day,
            p.flips_per_day
        );
    }
    let _ = writeln!(
        s,
        "{:<22}{:>12}{:>12}{:>14.1}{:>14.2}",
        "oracle", "0", "0", r.oracle_worker_hours, 1.0
    );
    let d = &r.detection;
    let _ = writeln!(
        s,
        "\nanomalies: {} of {} injected caught (severity medium or high); {} alarm episodes during flash crowds; {} other alarms ({:.1} a day)",
        d.caught, d.injected, d.alarms_during_bursts, d.false_alarms, d.false_alarms_per_day
    );
    for a in &d.anomalies {
        let _ = writeln!(
            s,
            "  {:<18} at day {:.2}, {:>5.0} s long: {}",
            a.kind,
            (a.start_secs - r.start_secs) as f64 / 86_400.0,
            a.duration_secs,
            match (&a.first_metric, a.delay_secs) {
                (Some(m), Some(t)) =>
                    format!("caught after {t:.0} s on {m} ({})", a.worst_severity),
                _ => "missed".to_string(),
            }
        );
    }
    let _ = writeln!(
        s,
        "\nScaler tick latency: p50 {:.1} µs, p99 {:.1} µs; whole run {:.2} s",
        r.tick_latency_us_p50, r.tick_latency_us_p99, r.wall_secs
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(days: f64) -> DemoArgs {
        DemoArgs {
            days,
            seed: 7,
            delay: 120.0,
            out: "unused.json".into(),
            report: None,
        }
    }

    #[test]
    fn rejects_too_short_a_run() {
        assert!(run(&args(1.0)).is_err());
        assert!(run(&args(f64::NAN)).is_err());
    }

    #[test]
    fn hpa_rule_follows_the_real_defaults() {
        let mut h = HpaRule {
            per_worker: 7.0,
            min: 1,
            max: 100,
            recommendations: Vec::new(),
        };
        let pool = |n| PoolStatus {
            desired: n,
            ready: n,
        };
        let t = Timestamp::from_secs;
        // Within 10% of target: keep.
        assert_eq!(h.decide(t(0), 73.0, pool(10)), 10);
        // Scale-up limited to max(current + 4, 2 × current).
        assert_eq!(h.decide(t(15), 700.0, pool(10)), 20);
        // Scale-down waits for the 300 s window to forget the higher recommendations.
        assert_eq!(h.decide(t(30), 70.0, pool(20)), 40);
        assert_eq!(h.decide(t(400), 70.0, pool(20)), 10);
    }
}
