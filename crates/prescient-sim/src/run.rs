//! The replay loop and the benchmark's metrics.

use prescient::actuate::SimulatedPool;
use prescient::{Actuator, Decision, ForecastSummary, ReasonCode, Severity};

use crate::policy::{Observation, Policy};
use crate::scenario::Scenario;
use crate::{Result, SimError};

/// The benchmark's metrics of one policy on one scenario, over the measured steps (after the
/// warm-up). Percentages are in percent.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Metrics {
    /// `100 · Σ (d − ready · c)⁺ / Σ d`.
    pub unserved_pct: f64,
    /// The share of steps with `d > ready · c`, in percent.
    pub violation_time_pct: f64,
    /// Worker-hours paid, counting workers still starting.
    pub worker_hours: f64,
    /// Worker-hours over the oracle's.
    pub cost_ratio: f64,
    /// `100 · Σ (provisioned − need)⁺ / Σ need`.
    pub overprovision_pct: f64,
    /// Steps that changed the requested count, per day.
    pub actions_per_day: f64,
    /// Changes of direction (an increase followed by a decrease, or the reverse), per day.
    pub flips_per_day: f64,
    /// The median time the policy took to decide, in microseconds.
    pub decision_p50_us: f64,
    /// The 99th percentile of the time the policy took to decide, in microseconds.
    pub decision_p99_us: f64,
    /// For policies that forecast: the share of measured steps whose realised peak demand over
    /// the lead time exceeded the forecast's planned-for upper end, in percent.
    pub under_forecast_pct: Option<f64>,
}

/// What happened at every step of a replay, for reports.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Workers requested after each step's decision (including starting ones).
    pub provisioned: Vec<u32>,
    /// Workers serving during each step.
    pub ready: Vec<u32>,
    /// The forecast the decision used, if any.
    pub forecast: Vec<Option<ForecastSummary>>,
    /// The anomaly severity the decision saw.
    pub severity: Vec<Severity>,
    /// What set each decision.
    pub reason: Vec<ReasonCode>,
}

/// One policy's replay of one scenario.
#[derive(Debug, Clone)]
pub struct Run {
    /// The policy's name.
    pub policy: String,
    /// The metrics.
    pub metrics: Metrics,
    /// Every simulated step (indices from [`Scenario::first_step`]).
    pub timeline: Timeline,
}

/// The oracle's worker-hours over the measured steps: `max need over [t, t + delay]` at every
/// step, which is what [`crate::Oracle`] provisions.
pub fn oracle_worker_hours(scenario: &Scenario) -> f64 {
    let need = scenario.need();
    let d = scenario.delay_steps();
    let steps: u64 = (scenario.warmup_steps()..scenario.len())
        .map(|k| {
            let end = (k + d + 1).min(need.len());
            u64::from(need[k..end].iter().copied().max().unwrap_or(0))
        })
        .sum();
    steps as f64 * scenario.params().step_secs / 3600.0
}

/// A stopwatch for decision latency, given by the caller so that this crate never reads the
/// clock itself: it returns the elapsed microseconds of `f`.
pub type Stopwatch<'a> = &'a mut dyn FnMut(&mut dyn FnMut()) -> f64;

/// Replays `scenario` against `policy`. `stopwatch` times each decision (pass
/// [`no_stopwatch`] to skip timing).
///
/// The pool starts with the first simulated step's need, all serving. At each step the policy
/// sees the pool and the lagged metric, its target is clamped to the bounds and applied to a
/// [`SimulatedPool`] (new workers serve after the start-up delay, scale-in is immediate and
/// removes starting workers first), and the workers serving after the decision serve the step.
///
/// # Errors
///
/// [`SimError::Actuate`] if the simulated pool refuses a step (it never does for valid
/// settings).
pub fn simulate(
    scenario: &Scenario,
    policy: &mut dyn Policy,
    stopwatch: Stopwatch<'_>,
) -> Result<Run> {
    let first = scenario.first_step();
    let n = scenario.len();
    let delay = scenario.params().startup_delay_secs;
    let mut pool = SimulatedPool::new(scenario.need()[first], delay)?;
    let mut timeline = Timeline::default();
    let mut latencies = Vec::with_capacity(n - first);
    for k in first..n {
        let micros = step(
            scenario,
            k,
            &mut pool,
            policy,
            &mut *stopwatch,
            &mut timeline,
        )?;
        if k >= scenario.warmup_steps() {
            latencies.push(micros);
        }
    }
    let metrics = measure(scenario, &timeline, &mut latencies);
    Ok(Run {
        policy: policy.name(),
        metrics,
        timeline,
    })
}

/// One step `k`: the policy sees the pool and the lagged metric, its target (clamped to the
/// bounds) is applied to `pool` at the step's time, and `timeline` records the step. Returns the
/// decision's time in microseconds, as `stopwatch` measured it.
pub(crate) fn step(
    scenario: &Scenario,
    k: usize,
    pool: &mut SimulatedPool,
    policy: &mut dyn Policy,
    stopwatch: Stopwatch<'_>,
    timeline: &mut Timeline,
) -> Result<f64> {
    let cap = scenario.capacity();
    let history = scenario.observed();
    let ts = scenario.time(k);
    let status = pool.status(ts)?;
    let demand = history[k];
    let utilisation = if status.ready == 0 {
        f64::INFINITY
    } else {
        demand / (f64::from(status.ready) * cap.per_worker)
    };
    let obs = Observation {
        step: k,
        ts,
        demand,
        utilisation,
        pool: status,
        history: &history[..=k],
    };
    let mut decided: Option<Decision> = None;
    let micros = stopwatch(&mut || decided = Some(policy.decide(&obs)));
    let Some(mut d) = decided else {
        return Err(SimError::Trace(
            "the stopwatch did not run the policy".into(),
        ));
    };
    d.target = d.target.clamp(cap.min, cap.max);
    if d.target != status.desired {
        pool.scale(ts, &d)?;
    }
    timeline.provisioned.push(pool.desired());
    timeline.ready.push(pool.ready_at(ts));
    timeline.forecast.push(d.forecast);
    timeline.severity.push(d.severity);
    timeline.reason.push(d.reason.code);
    Ok(micros)
}

/// A stopwatch that does not time: every decision takes "0 µs".
pub fn no_stopwatch(f: &mut dyn FnMut()) -> f64 {
    f();
    0.0
}

fn measure(scenario: &Scenario, t: &Timeline, latencies: &mut [f64]) -> Metrics {
    let first = scenario.first_step();
    let from = scenario.warmup_steps();
    let c = scenario.capacity().per_worker;
    let step_secs = scenario.params().step_secs;
    let demand = scenario.demand();
    let need = scenario.need();
    let (mut total, mut unserved, mut violations, mut over, mut needed) =
        (0.0, 0.0, 0u64, 0.0, 0.0);
    let (mut worker_steps, mut actions, mut flips) = (0u64, 0u64, 0u64);
    let mut last_direction = 0i8;
    let lead = scenario.delay_steps();
    let (mut forecasts, mut under) = (0u64, 0u64);
    for k in from..scenario.len() {
        let i = k - first;
        let d = demand[k];
        let served = f64::from(t.ready[i]) * c;
        total += d;
        if d > served * (1.0 + 1e-12) {
            unserved += d - served;
            violations += 1;
        }
        let p = t.provisioned[i];
        worker_steps += u64::from(p);
        over += f64::from(p.saturating_sub(need[k]));
        needed += f64::from(need[k]);
        let previous = if i == 0 { p } else { t.provisioned[i - 1] };
        if p != previous {
            actions += 1;
            let direction = if p > previous { 1 } else { -1 };
            if last_direction != 0 && direction != last_direction {
                flips += 1;
            }
            last_direction = direction;
        }
        if let Some(f) = t.forecast[i] {
            let end = (k + lead + 1).min(scenario.len());
            let peak = demand[k..end].iter().copied().fold(0.0, f64::max);
            forecasts += 1;
            if peak > f.peak_upper {
                under += 1;
            }
        }
    }
    let days = scenario.measured_days();
    let worker_hours = worker_steps as f64 * step_secs / 3600.0;
    let oracle = oracle_worker_hours(scenario);
    latencies.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        if latencies.is_empty() {
            0.0
        } else {
            latencies[((latencies.len() - 1) as f64 * q).round() as usize]
        }
    };
    let steps = (scenario.len() - from) as f64;
    Metrics {
        unserved_pct: 100.0 * ratio(unserved, total),
        violation_time_pct: 100.0 * violations as f64 / steps,
        worker_hours,
        cost_ratio: ratio(worker_hours, oracle),
        overprovision_pct: 100.0 * ratio(over, needed),
        actions_per_day: actions as f64 / days,
        flips_per_day: flips as f64 / days,
        decision_p50_us: quantile(0.5),
        decision_p99_us: quantile(0.99),
        under_forecast_pct: (forecasts > 0).then(|| 100.0 * under as f64 / forecasts as f64),
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}
