//! A trace set up for replay: the demand on the simulator's grid, the worker capacity and
//! bounds of `SCALING-BENCHMARK.md`, the metric the policies see, and the warm-up.

use prescient::Timestamp;
use prescient_eval::trace::Trace;

use crate::{Result, SimError};

/// The simulator's settings; the defaults are the benchmark specification's.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SimParams {
    /// The time between decisions, in seconds (15, the HPA's sync period).
    pub step_secs: f64,
    /// How long a requested worker takes to serve, in seconds (120; the profiles are 10, 60,
    /// 120, 300 and 900).
    pub startup_delay_secs: f64,
    /// The window of the demand rate the policies see, in seconds (60): the metric at `t` is the
    /// mean demand over `[t − 60 s, t)`.
    pub metric_lag_secs: f64,
    /// The longest warm-up, in seconds (7 days); the warm-up is the first
    /// `min(this, half the trace)`, history only.
    pub max_warmup_secs: f64,
    /// Workers that serve the mean demand at [`SimParams::reference_utilisation`] (20): sets
    /// the per-worker capacity `c = mean(d) · reference_utilisation⁻¹ / 20`.
    pub mean_workers: f64,
    /// The utilisation of the normalisation and of the maximum bound (0.7).
    pub reference_utilisation: f64,
    /// The maximum bound's headroom over the peak (1.2).
    pub max_headroom: f64,
}

impl Default for SimParams {
    fn default() -> Self {
        SimParams {
            step_secs: 15.0,
            startup_delay_secs: 120.0,
            metric_lag_secs: 60.0,
            max_warmup_secs: 7.0 * 86_400.0,
            mean_workers: 20.0,
            reference_utilisation: 0.7,
            max_headroom: 1.2,
        }
    }
}

impl SimParams {
    /// These settings with another start-up delay.
    pub fn with_startup_delay(mut self, secs: f64) -> Self {
        self.startup_delay_secs = secs;
        self
    }
}

/// The capacity model every policy is given: what a worker serves and the bounds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Capacity {
    /// Demand units per second one worker serves within the SLO (`c`).
    pub per_worker: f64,
    /// The fewest workers (1).
    pub min: u32,
    /// The most workers, `ceil(1.2 · peak / (0.7 c))`.
    pub max: u32,
}

impl Capacity {
    /// The workers that serve `demand` exactly, clamped to the bounds.
    pub fn need(&self, demand: f64) -> u32 {
        let n = (demand / self.per_worker - 1e-9).ceil();
        clamp_count(n, self.min, self.max)
    }

    /// The workers that serve `demand` at utilisation `u`, clamped to the bounds.
    pub fn workers_at(&self, demand: f64, u: f64) -> u32 {
        self.need(demand / u)
    }
}

/// A real count clamped to `[min, max]` (NaN gives `min`).
pub(crate) fn clamp_count(x: f64, min: u32, max: u32) -> u32 {
    if x.is_nan() || x <= f64::from(min) {
        min
    } else if x >= f64::from(max) {
        max
    } else {
        x as u32
    }
}

/// A trace on the simulator's grid, with everything the policies and the metrics need.
#[derive(Debug, Clone)]
pub struct Scenario {
    name: String,
    params: SimParams,
    start: Timestamp,
    demand: Vec<f64>,
    observed: Vec<f64>,
    need: Vec<u32>,
    capacity: Capacity,
    first_step: usize,
    warmup_steps: usize,
}

impl Scenario {
    /// Sets `trace` up for replay with `params`.
    ///
    /// # Errors
    ///
    /// [`SimError::InvalidParam`] for a step, delay, lag or normalisation setting that is not
    /// positive and finite (the delay and lag may be 0), and [`SimError::Trace`] for a trace
    /// whose mean demand is 0 or that is shorter than the metric window plus one step.
    pub fn new(trace: &Trace, params: SimParams) -> Result<Self> {
        check(params)?;
        let step = params.step_secs;
        let demand = trace.resample(step)?;
        let lag_steps = (params.metric_lag_secs / step).ceil() as usize;
        if demand.len() < lag_steps + 2 {
            return Err(SimError::Trace(format!(
                "{}: {} steps of {step} s, too short for a {} s metric window",
                trace.name(),
                demand.len(),
                params.metric_lag_secs
            )));
        }
        let mean = demand.iter().sum::<f64>() / demand.len() as f64;
        let peak = demand.iter().copied().fold(0.0, f64::max);
        if !(mean > 0.0 && mean.is_finite()) {
            return Err(SimError::Trace(format!(
                "{}: mean demand is {mean}; nothing to scale",
                trace.name()
            )));
        }
        let per_worker = mean / (params.mean_workers * params.reference_utilisation);
        let max_f =
            (params.max_headroom * peak / (params.reference_utilisation * per_worker)).ceil();
        let capacity = Capacity {
            per_worker,
            min: 1,
            max: clamp_count(max_f, 1, u32::MAX),
        };
        let need = demand.iter().map(|&d| capacity.need(d)).collect();
        // The metric at step k is the mean demand over the `lag_steps` steps before it; the
        // first steps, whose window would start before the trace, are not simulated.
        let mut observed = vec![f64::NAN; demand.len()];
        let mut sum: f64 = demand[..lag_steps].iter().sum();
        for k in lag_steps..demand.len() {
            observed[k] = if lag_steps == 0 {
                demand[k]
            } else {
                sum / lag_steps as f64
            };
            if lag_steps > 0 {
                sum += demand[k] - demand[k - lag_steps];
            }
        }
        let span = demand.len() as f64 * step;
        let warmup_secs = params.max_warmup_secs.min(span / 2.0);
        let warmup_steps = ((warmup_secs / step).round() as usize).max(lag_steps);
        Ok(Scenario {
            name: trace.name().to_owned(),
            params,
            start: Timestamp::from_millis((trace.times()[0] * 1000.0).round() as i64),
            demand,
            observed,
            need,
            capacity,
            first_step: lag_steps,
            warmup_steps,
        })
    }

    /// The trace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The settings.
    pub fn params(&self) -> &SimParams {
        &self.params
    }

    /// The capacity model and bounds.
    pub fn capacity(&self) -> Capacity {
        self.capacity
    }

    /// The demand of each step (units per second).
    pub fn demand(&self) -> &[f64] {
        &self.demand
    }

    /// The metric the policies see at each step: the mean demand of the metric window before
    /// it (NaN before the first simulated step).
    pub fn observed(&self) -> &[f64] {
        &self.observed
    }

    /// The workers each step needs, `clamp(ceil(d / c))`.
    pub fn need(&self) -> &[u32] {
        &self.need
    }

    /// The number of steps.
    pub fn len(&self) -> usize {
        self.demand.len()
    }

    /// Whether there is no step (never true for a built scenario).
    pub fn is_empty(&self) -> bool {
        self.demand.is_empty()
    }

    /// The first simulated step (the metric window needs history before it).
    pub fn first_step(&self) -> usize {
        self.first_step
    }

    /// The first measured step: the steps before it are warm-up.
    pub fn warmup_steps(&self) -> usize {
        self.warmup_steps
    }

    /// The time of step `k`.
    pub fn time(&self, k: usize) -> Timestamp {
        let ms = (k as f64 * self.params.step_secs * 1000.0).round() as i64;
        Timestamp::from_millis(self.start.as_millis().saturating_add(ms))
    }

    /// Steps a new worker takes to serve: `ceil(delay / step)`.
    pub fn delay_steps(&self) -> usize {
        (self.params.startup_delay_secs / self.params.step_secs - 1e-9)
            .ceil()
            .max(0.0) as usize
    }

    /// Steps in one day.
    pub fn day_steps(&self) -> usize {
        (86_400.0 / self.params.step_secs).round() as usize
    }

    /// Days measured (after the warm-up).
    pub fn measured_days(&self) -> f64 {
        (self.len() - self.warmup_steps) as f64 * self.params.step_secs / 86_400.0
    }
}

fn check(p: SimParams) -> Result<()> {
    let positive = [
        ("step_secs", p.step_secs),
        ("mean_workers", p.mean_workers),
        ("reference_utilisation", p.reference_utilisation),
        ("max_headroom", p.max_headroom),
    ];
    for (name, v) in positive {
        if !(v.is_finite() && v > 0.0) {
            return Err(SimError::InvalidParam {
                name,
                reason: format!("must be positive and finite, got {v}"),
            });
        }
    }
    let non_negative = [
        ("startup_delay_secs", p.startup_delay_secs),
        ("metric_lag_secs", p.metric_lag_secs),
        ("max_warmup_secs", p.max_warmup_secs),
    ];
    for (name, v) in non_negative {
        if !(v.is_finite() && v >= 0.0) {
            return Err(SimError::InvalidParam {
                name,
                reason: format!("must be finite and at least 0, got {v}"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(values: Vec<f64>) -> Trace {
        let times = (0..values.len()).map(|i| 60.0 * i as f64).collect();
        Trace::new("t", times, values).unwrap()
    }

    #[test]
    fn normalises_capacity_and_bounds_as_the_spec_says() {
        let s = Scenario::new(&trace(vec![10.0, 20.0, 30.0, 20.0]), SimParams::default()).unwrap();
        // mean 20 needs 20 workers at 70%: c = 20 / 14.
        let c = s.capacity();
        assert!((c.per_worker - 20.0 / 14.0).abs() < 1e-12);
        // max = ceil(1.2 · 30 / (0.7 c)) = ceil(36 / 1) = 36.
        assert_eq!((c.min, c.max), (1, 36));
        assert_eq!(s.len(), 16);
        assert_eq!(s.need()[0], 7);
        assert_eq!(s.need()[8], 21);
        assert_eq!(s.first_step(), 4);
        // The metric at step 4 is the mean of steps 0..4 (the first minute).
        assert_eq!(s.observed()[4], 10.0);
        assert_eq!(s.observed()[6], 15.0);
        // Half of a 4-minute trace is warm-up.
        assert_eq!(s.warmup_steps(), 8);
        assert_eq!(s.delay_steps(), 8);
    }

    #[test]
    fn rejects_unusable_traces_and_settings() {
        assert!(Scenario::new(&trace(vec![0.0, 0.0, 0.0]), SimParams::default()).is_err());
        assert!(
            Scenario::new(
                &trace(vec![1.0, 1.0]),
                SimParams::default().with_startup_delay(-1.0)
            )
            .is_err()
        );
        let short = Trace::new("s", vec![0.0, 15.0], vec![1.0, 1.0]).unwrap();
        assert!(Scenario::new(&short, SimParams::default()).is_err());
    }
}
