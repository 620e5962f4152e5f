//! Autoscaling from a Prometheus server: backfill the recent history to warm the models, then
//! poll every step, decide, and actuate through `DryRun` (the default) or a `Command`.
//!
//! ```text
//! cargo run -p prescient-examples --features prometheus --example prometheus_autoscale -- \
//!     --url http://127.0.0.1:9090 \
//!     --load 'sum(rate(http_requests_total{job="api"}[1m]))' \
//!     --latency 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="api"}[1m])))' \
//!     --capacity 50 --step 15 --backfill-hours 24 \
//!     [--command kubectl scale deployment/api --replicas={target}]
//! ```
//!
//! `--from UNIX_SECS --ticks N` replays N steps from a past time through the same live code path
//! without waiting (what the README's demonstration against the test server does). When the
//! server stops answering, each tick goes on with missing metrics: the `Scaler` holds its capacity
//! (and after its `stale_after`, says so with the reason `stale-data`); the example reports every
//! failed poll.

#![allow(clippy::print_stdout, clippy::print_stderr)] // An example prints what it does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prescient::actuate::{Command, DryRun, Guarded, RetryPolicy};
use prescient::{Actuator, MetricRole, Mode, PlannerParams, Scaler, Schema, Timestamp};
use prescient_sources::http::{Blocking, PrometheusSource};
use prescient_sources::{Grid, Live, Source};

struct Args {
    url: String,
    load: String,
    cpu: Option<String>,
    latency: Option<String>,
    capacity: f64,
    step: f64,
    backfill_hours: f64,
    from: Option<i64>,
    ticks: Option<u64>,
    command: Vec<String>,
    min: u32,
    max: u32,
    initial: u32,
}

const USAGE: &str = "usage: prometheus_autoscale --url URL --load PROMQL [--cpu PROMQL] \
[--latency PROMQL] [--capacity PER_WORKER] [--step SECS] [--backfill-hours H] [--min N] [--max N] \
[--initial N] [--from UNIX_SECS] [--ticks N] [--command PROGRAM ARGS... ({target} is replaced)]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: "http://127.0.0.1:9090".into(),
        load: String::new(),
        cpu: None,
        latency: None,
        capacity: 50.0,
        step: 15.0,
        backfill_hours: 24.0,
        from: None,
        ticks: None,
        command: Vec::new(),
        min: 1,
        max: 100,
        initial: 2,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--command" {
            args.command = it.by_ref().collect();
            break;
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = |v: &str| v.parse::<f64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--url" => args.url = value,
            "--load" => args.load = value,
            "--cpu" => args.cpu = Some(value),
            "--latency" => args.latency = Some(value),
            "--capacity" => args.capacity = number(&value)?,
            "--step" => args.step = number(&value)?,
            "--backfill-hours" => args.backfill_hours = number(&value)?,
            "--from" => args.from = Some(number(&value)? as i64),
            "--ticks" => args.ticks = Some(number(&value)? as u64),
            "--min" => args.min = number(&value)? as u32,
            "--max" => args.max = number(&value)? as u32,
            "--initial" => args.initial = number(&value)? as u32,
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    if args.load.is_empty() {
        return Err(format!("--load is required\n{USAGE}"));
    }
    Ok(args)
}

/// The present: a live host is the one place that reads the clock and passes it in.
#[allow(clippy::disallowed_methods)]
fn wall_clock() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_millis(since.as_millis() as i64)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;

    // The schema's metric names are the source's column names, so samples go straight in.
    let mut schema = Schema::builder("prometheus").metric("load", MetricRole::Load);
    let mut source = PrometheusSource::new(&args.url, Grid::new(args.step, 300.0)?)?
        .column("load", args.load.as_str());
    if let Some(q) = &args.cpu {
        schema = schema.metric("cpu", MetricRole::Utilisation);
        source = source.column("cpu", q.as_str());
    }
    if let Some(q) = &args.latency {
        schema = schema.metric("latency", MetricRole::Latency);
        source = source.column("latency", q.as_str());
    }
    let planner = PlannerParams::new(args.capacity).bounds(args.min, args.max);
    let mut scaler = Scaler::builder(schema.build()?, planner)
        .step_secs(args.step)
        .build()?;
    let mut actuator: Box<dyn Actuator> = match args.command.split_first() {
        // A failing platform is retried with backoff behind a circuit breaker, never hammered.
        Some((program, rest)) => Box::new(Guarded::new(
            Command::new(program.as_str(), rest.iter().cloned()),
            RetryPolicy::default(),
        )?),
        None => Box::new(DryRun::new(args.initial)),
    };
    let mut source = Blocking::new(source)?;

    // Warm up on the recent history: decisions are made (so the planner's windows fill) but
    // never applied.
    let replay = args.from.is_some();
    let start = args.from.map_or_else(wall_clock, Timestamp::from_secs);
    let history_start = start.add_secs(-args.backfill_hours * 3600.0);
    let history = source.backfill(history_start, start.add_secs(-args.step))?;
    println!(
        "backfilled {} samples from {} to {}",
        history.len(),
        history_start,
        start
    );
    scaler.set_mode(Mode::ForecastOnly);
    for sample in &history {
        let pool = actuator.status(sample.ts)?;
        scaler.tick(sample.ts, &sample.values, pool)?;
    }
    scaler.set_mode(Mode::Active);

    let mut live = Live::new(source);
    let mut now = start;
    let mut tick = 0_u64;
    while args.ticks.is_none_or(|n| tick < n) {
        let polled = live.poll(now);
        if let Some(e) = &polled.error {
            eprintln!(
                "{now}: poll failed ({} in a row): {e}; holding capacity",
                polled.consecutive_failures
            );
        }
        let pool = actuator.status(now)?;
        let decision = scaler.tick(now, &polled.sample.values, pool)?;
        println!("{now}: {}", decision.explain());
        if let Err(e) = scaler.apply(&decision, actuator.as_mut()) {
            eprintln!("{now}: actuation failed: {e}; the next tick decides again");
        }
        tick += 1;
        let next = now.add_secs(args.step);
        if !replay {
            let wait = next.secs_since(wall_clock()).max(0.0);
            std::thread::sleep(Duration::from_secs_f64(wait));
        }
        now = next;
    }
    Ok(())
}
