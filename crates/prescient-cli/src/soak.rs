//! `prescient soak`: resident memory over a long run, to show that nothing grows without bound.
//!
//! A week of a seeded synthetic web service (six metrics from `ServiceModel`) is replayed over and
//! over with time running on, through the `Scaler` with everything it runs by default (features,
//! the regime monitor, per-metric detectors, the forecaster, the planner) and, beside it, the
//! default per-metric `MetricDetector` ensemble on every metric; decisions are applied to a
//! `SimulatedPool`. Every `--report-every` ticks the command prints the process's resident set
//! (`VmRSS` of `/proc/self/status`, Linux only) and its peak (`VmHWM`).

use std::fmt::Write as _;
use std::time::Instant;

use prescient::actuate::SimulatedPool;
use prescient::detect::{MetricDetector, MetricDetectorParams};
use prescient::synth::{ServiceModel, WorkloadParams, generate};
use prescient::{Actuator, PlannerParams, Scaler, Timestamp};

/// Settings of `prescient soak`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct SoakArgs {
    /// Ticks to run.
    #[arg(long, default_value_t = 10_000_000)]
    pub(crate) ticks: u64,
    /// Print the resident memory every this many ticks.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) report_every: u64,
    /// Seed of the workload and the service's noise.
    #[arg(long, default_value_t = 7)]
    pub(crate) seed: u64,
    /// Leave out the per-metric `MetricDetector` ensembles (the `Scaler` alone).
    #[arg(long)]
    pub(crate) scaler_only: bool,
}

/// A `kB` figure of `/proc/self/status`.
fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

pub(crate) fn run(args: &SoakArgs) -> Result<String, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    if args.report_every == 0 {
        return Err("--report-every must be at least 1".into());
    }
    let step = 15.0;
    let week = generate(
        &WorkloadParams::web_service(args.seed)
            .span_secs(7.0 * 86_400.0)
            .step_secs(step),
    )
    .map_err(|e| err(&e))?;
    let loads: Vec<f64> = week.iter().map(|(_, load)| load).collect();
    let capacity = 15.0;
    let mut service = ServiceModel::new(capacity, args.seed).map_err(|e| err(&e))?;
    let schema = ServiceModel::schema("soak").map_err(|e| err(&e))?;
    let planner = PlannerParams::new(capacity).bounds(2, 500);
    let mut scaler = Scaler::builder(schema.clone(), planner)
        .startup_delay_secs(60.0)
        .build()
        .map_err(|e| err(&e))?;
    let mut detectors: Vec<MetricDetector> = if args.scaler_only {
        Vec::new()
    } else {
        (0..schema.len())
            .map(|_| MetricDetectorParams::default().build())
            .collect::<Result<_, _>>()
            .map_err(|e| err(&e))?
    };
    let mut pool = SimulatedPool::new(10, 60.0).map_err(|e| err(&e))?;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>12} {:>10} {:>10} {:>10} {:>12}",
        "ticks", "rss MiB", "peak MiB", "seconds", "ticks/s"
    );
    #[allow(clippy::disallowed_methods)] // The CLI reports its own throughput.
    let started = Instant::now();
    let mut alerts = 0_u64;
    let mut first_report: Option<u64> = None;
    let mut last_rss = None;
    let start = week.start;
    for k in 0..args.ticks {
        let ts = Timestamp::from_millis(start.as_millis() + (k as i64) * 15_000);
        let load = loads[(k % loads.len() as u64) as usize];
        let status = pool.status(ts).map_err(|e| err(&e))?;
        let metrics = service.observe(ts, load, status.ready, &[]).values();
        let decision = scaler.tick(ts, &metrics, status).map_err(|e| err(&e))?;
        scaler.apply(&decision, &mut pool).map_err(|e| err(&e))?;
        for (d, &x) in detectors.iter_mut().zip(&metrics) {
            alerts += u64::from(d.update(ts, x).is_some_and(|v| v.alert));
        }
        if (k + 1) % args.report_every == 0 {
            let rss = status_kib("VmRSS:");
            let secs = started.elapsed().as_secs_f64();
            let _ = writeln!(
                out,
                "{:>12} {:>10} {:>10} {:>10.1} {:>12.0}",
                k + 1,
                mib(rss),
                mib(status_kib("VmHWM:")),
                secs,
                (k + 1) as f64 / secs
            );
            // Progress for a long run; the table is printed at the end.
            eprint!(
                "{}",
                out.lines()
                    .last()
                    .map_or(String::new(), |l| format!("{l}\n"))
            );
            if first_report.is_none() {
                first_report = rss;
            }
            last_rss = rss;
        }
    }
    if let (Some(first), Some(last)) = (first_report, last_rss) {
        let _ = writeln!(
            out,
            "resident memory from the first report to the last: {:+.1} MiB ({:+.2}%); {} alerts raised",
            (last as f64 - first as f64) / 1024.0,
            100.0 * (last as f64 / first as f64 - 1.0),
            alerts
        );
    }
    Ok(out)
}
