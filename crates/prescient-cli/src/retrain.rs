//! `prescient retrain`: how long retraining the load forecaster takes on two weeks of 15 s data,
//! on a thread of its own, and what it does to the ticks that go on meanwhile.
//!
//! A seeded synthetic web service with ten metrics (the six of `ServiceModel` and four derived
//! ones) runs through a `Scaler` for `--days` days (80,640 ticks for 14), so that its training
//! history is full. The command then times, for each `--model`: a tick's latency over the last
//! 2,000 ticks with no training going on; a `TrainingJob` on a spawned thread (its wall time, as
//! the thread measures it); the ticks the main thread kept making meanwhile (count and latency
//! percentiles); and what `Scaler::install` did with the result.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prescient::actuate::SimulatedPool;
use prescient::forecast::{GruParams, LevelProfileParams, models};
use prescient::synth::{ServiceModel, WorkloadParams, generate};
use prescient::types::ForecastMethod;
use prescient::{
    Actuator, MetricRole, PlannerParams, RetrainParams, RetrainReason, Scaler, Schema,
};

/// Settings of `prescient retrain`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct RetrainArgs {
    /// Days of history before the job (14 fills the default training history).
    #[arg(long, default_value_t = 14.0)]
    pub(crate) days: f64,
    /// The models to retrain, one run each: `level-profile` or a name of `prescient forecast`.
    #[arg(long = "model", default_value = "level-profile")]
    pub(crate) models: Vec<String>,
    /// Seed of the workload and the service's noise.
    #[arg(long, default_value_t = 7)]
    pub(crate) seed: u64,
}

const STEP: f64 = 15.0;
/// A day of 15 s steps.
const SEASON: usize = 5760;

fn method(name: &str) -> Result<Arc<dyn ForecastMethod>, String> {
    if name == "level-profile" {
        return Ok(Arc::new(LevelProfileParams::new(SEASON)));
    }
    if name == "gru" {
        // `prescient forecast`'s GRU sees two weeks of hours; on a 15 s grid it sees the last
        // four hours in 10-minute chunks and predicts the next 12 minutes at once, trained on
        // mini-batches of 64 windows (256 for M4's thousands of short series).
        return Ok(Arc::new(
            GruParams::new()
                .input(960)
                .chunk(40)
                .level(40)
                .horizon(48)
                .season(1)
                .batch_size(64),
        ));
    }
    models::method(name, SEASON)
        .map(Arc::from)
        .map_err(|e| e.to_string())
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn micros(mut d: Vec<Duration>) -> (f64, f64, f64) {
    d.sort_unstable();
    (
        percentile(&d, 0.5),
        percentile(&d, 0.99),
        percentile(&d, 1.0),
    )
}

pub(crate) fn run(args: &RetrainArgs) -> Result<String, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    if args.days.is_nan() || args.days < 1.0 {
        return Err("--days must be at least 1".into());
    }
    let history_ticks = (args.days * 86_400.0 / STEP).round() as usize;
    // The history, then a day to keep ticking through while the jobs run.
    let workload = generate(
        &WorkloadParams::web_service(args.seed)
            .span_secs(args.days * 86_400.0 + 86_400.0)
            .step_secs(STEP),
    )
    .map_err(|e| err(&e))?;
    let mut b = Schema::builder("web");
    let roles = [
        MetricRole::Load,
        MetricRole::Utilisation,
        MetricRole::Latency,
        MetricRole::ErrorRate,
        MetricRole::Custom,
        MetricRole::Custom,
        MetricRole::Custom,
        MetricRole::Custom,
        MetricRole::Custom,
        MetricRole::Custom,
    ];
    let names = [
        "rps", "cpu", "p99", "errors", "memory", "queue", "served", "unserved", "backlog",
        "workers",
    ];
    for (n, r) in names.iter().zip(roles) {
        b = b.metric(*n, r);
    }
    let schema = b.build().map_err(|e| err(&e))?;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14} {:>7} {:>9} {:>11} {:>11} {:>11} {:>9} {:>12} {:>12} {:>10}",
        "model",
        "steps",
        "train s",
        "tick p50 µs",
        "tick p99 µs",
        "during p50",
        "p99 µs",
        "ticks during",
        "MAE cand/live",
        "install"
    );
    for name in &args.models {
        match run_one(name, args, history_ticks, &workload, &schema) {
            Ok(row) => out.push_str(&row),
            Err(e) => {
                let _ = writeln!(out, "{name:<14} error: {e}");
            }
        }
    }
    Ok(out)
}

/// One model's row of the table.
fn run_one(
    name: &str,
    args: &RetrainArgs,
    history_ticks: usize,
    workload: &prescient::synth::Workload,
    schema: &Schema,
) -> Result<String, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let capacity = 15.0;
    let mut out = String::new();
    {
        let m = method(name)?;
        // The live model: the same method fitted on the first day, as a host would start.
        let first_day: Vec<f64> = workload.load[..SEASON.min(history_ticks)].to_vec();
        let live = m.fit(&first_day).map_err(|e| err(&e))?;
        let mut scaler =
            Scaler::builder(schema.clone(), PlannerParams::new(capacity).bounds(2, 400))
                .step_secs(STEP)
                .forecaster(live)
                .retrain(
                    RetrainParams::new(m.clone())
                        .every_steps(None)
                        .holdout(960)
                        .min_history(1920),
                )
                .build()
                .map_err(|e| err(&e))?;
        let mut service = ServiceModel::new(capacity, args.seed).map_err(|e| err(&e))?;
        let mut pool = SimulatedPool::new(4, 60.0).map_err(|e| err(&e))?;
        let mut i = 0;
        let mut quiet = Vec::with_capacity(2000);
        let mut tick = |scaler: &mut Scaler, i: usize| -> Result<Duration, String> {
            let ts = workload.ts[i];
            let status = pool.status(ts).map_err(|e| err(&e))?;
            let m = service.observe(
                ts,
                workload.load[i],
                status.ready,
                &workload.active_anomalies(ts),
            );
            let v = m.values();
            let values = [
                v[0],
                v[1],
                v[2],
                v[3],
                v[4],
                v[5],
                m.served,
                m.unserved,
                v[5] / capacity,
                f64::from(status.ready),
            ];
            #[allow(clippy::disallowed_methods)] // measuring the tick's latency
            let start = Instant::now();
            let d = scaler.tick(ts, &values, status).map_err(|e| err(&e))?;
            let took = start.elapsed();
            if d.is_change() {
                scaler.apply(&d, &mut pool).map_err(|e| err(&e))?;
            }
            Ok(took)
        };
        while i < history_ticks {
            let took = tick(&mut scaler, i)?;
            if history_ticks - i <= 2000 {
                quiet.push(took);
            }
            i += 1;
        }
        let job = scaler
            .training_job(RetrainReason::Requested)
            .map_err(|e| err(&e))?;
        let steps = job.steps();
        let worker = std::thread::spawn(move || {
            #[allow(clippy::disallowed_methods)] // timing the job
            let start = Instant::now();
            let trained = job.run();
            (trained, start.elapsed())
        });
        let mut during = Vec::new();
        while !worker.is_finished() && i < workload.ts.len() {
            during.push(tick(&mut scaler, i)?);
            i += 1;
        }
        let (trained, took) = worker
            .join()
            .map_err(|_| "the training thread panicked".to_string())?;
        let trained = trained.map_err(|e| err(&e))?;
        let mae = format!(
            "{:.2}/{:.2}",
            trained.candidate_mae.unwrap_or(f64::NAN),
            trained.live_mae.unwrap_or(f64::NAN)
        );
        let outcome = match scaler.install(trained).map_err(|e| err(&e))? {
            prescient::InstallOutcome::Installed { .. } => "installed",
            prescient::InstallOutcome::Rejected => "rejected",
            prescient::InstallOutcome::Stale => "stale",
            _ => "other",
        };
        let (q50, q99, _) = micros(quiet);
        let n_during = during.len();
        let (d50, d99, _) = micros(during);
        let _ = writeln!(
            out,
            "{name:<14} {steps:>7} {:>9.2} {q50:>11.1} {q99:>11.1} {d50:>11.1} {d99:>9.1} {n_during:>12} {mae:>12} {outcome:>10}",
            took.as_secs_f64(),
        );
    }
    Ok(out)
}
