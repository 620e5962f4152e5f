//! The policies the simulator replays a trace against: the baselines of `SCALING-BENCHMARK.md`
//! (oracle, static, HPA, seasonal naive with HPA) behind one [`Policy`] trait.

use std::collections::VecDeque;

use prescient::{Decision, PoolStatus, Reason, ReasonCode, Severity, Timestamp};

use crate::scenario::{Capacity, Scenario, clamp_count};

/// What a policy sees at one step: only the past, through the lagged demand metric.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// The step's index on the scenario's grid.
    pub step: usize,
    /// The step's time.
    pub ts: Timestamp,
    /// The demand rate averaged over the metric window before `ts` (units per second).
    pub demand: f64,
    /// The ready workers' utilisation, `demand / (ready · c)`; infinite with no ready worker.
    pub utilisation: f64,
    /// The pool now: workers requested (including starting) and serving.
    pub pool: PoolStatus,
    /// The metric at every step up to and including this one (`history[step] == demand`;
    /// entries before the first simulated step are NaN).
    pub history: &'a [f64],
}

/// A scaling policy: every step, the desired worker count from what it can see.
///
/// The simulator clamps the target to the scenario's bounds and applies it to its pool.
pub trait Policy {
    /// The policy's name in reports (`hpa@0.7`, `prescient`).
    fn name(&self) -> String;

    /// Decides at one step.
    fn decide(&mut self, obs: &Observation<'_>) -> Decision;
}

/// A decision that only carries a target.
pub(crate) fn decision(obs: &Observation<'_>, target: u32, code: ReasonCode) -> Decision {
    Decision {
        ts: obs.ts,
        current: obs.pool.desired,
        target,
        severity: Severity::None,
        forecast: None,
        forecast_need: None,
        reactive_need: None,
        anomaly_need: None,
        reason: Reason::new(code),
        regime: None,
    }
}

/// The oracle: knows the future. `provisioned(t) = max need over [t, t + delay]`, so it never
/// violates the SLO and costs the least any policy can with that delay.
#[derive(Debug, Clone)]
pub struct Oracle {
    need: Vec<u32>,
    delay_steps: usize,
}

impl Oracle {
    /// The oracle of `scenario`.
    pub fn new(scenario: &Scenario) -> Self {
        Oracle {
            need: scenario.need().to_vec(),
            delay_steps: scenario.delay_steps(),
        }
    }
}

impl Policy for Oracle {
    fn name(&self) -> String {
        "oracle".into()
    }

    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        let end = (obs.step + self.delay_steps + 1).min(self.need.len());
        let target = self.need[obs.step.min(end)..end]
            .iter()
            .copied()
            .max()
            .unwrap_or(obs.pool.desired);
        decision(obs, target, ReasonCode::Forecast)
    }
}

/// Static peak provisioning: the highest need of the whole trace, all the time.
#[derive(Debug, Clone)]
pub struct StaticPeak {
    target: u32,
}

impl StaticPeak {
    /// The static policy of `scenario`.
    pub fn new(scenario: &Scenario) -> Self {
        StaticPeak {
            target: scenario.need().iter().copied().max().unwrap_or(1),
        }
    }
}

impl Policy for StaticPeak {
    fn name(&self) -> String {
        "static".into()
    }

    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        decision(obs, self.target, ReasonCode::Forecast)
    }
}

/// The Kubernetes HPA with its default behaviour, as the specification states it.
///
/// Every step: `ratio = (demand / ready) / (U · c)`; within the tolerance (|1 − ratio| ≤ 0.1)
/// the recommendation is the current count, else `ceil(ratio · ready)`. Scale-down goes to the
/// highest recommendation of the last 300 s; scale-up is limited to
/// `max(current + 4, 2 · current)` per step; the result is clamped to the bounds.
#[derive(Debug, Clone)]
pub struct Hpa {
    utilisation: f64,
    capacity: Capacity,
    window_ms: i64,
    recommendations: VecDeque<(Timestamp, u32)>,
}

/// The HPA's tolerance.
pub const HPA_TOLERANCE: f64 = 0.1;
/// The HPA's default scale-down stabilisation window, in seconds.
pub const HPA_STABILISATION_SECS: f64 = 300.0;

impl Hpa {
    /// An HPA with target utilisation `utilisation` over the capacity model of `scenario`.
    pub fn new(scenario: &Scenario, utilisation: f64) -> Self {
        Hpa {
            utilisation,
            capacity: scenario.capacity(),
            window_ms: (HPA_STABILISATION_SECS * 1000.0) as i64,
            recommendations: VecDeque::new(),
        }
    }

    /// The HPA's target at this step.
    pub fn target(&mut self, obs: &Observation<'_>) -> u32 {
        let current = obs.pool.desired;
        let ready = obs.pool.ready;
        let c = &self.capacity;
        let rec = if ready == 0 {
            // No serving worker to measure: the HPA assumes full load on what is coming.
            current.max(c.min)
        } else {
            let ratio = (obs.demand / f64::from(ready)) / (self.utilisation * c.per_worker);
            if (1.0 - ratio).abs() <= HPA_TOLERANCE {
                current
            } else {
                clamp_count((ratio * f64::from(ready) - 1e-9).ceil(), 0, u32::MAX)
            }
        };
        let cutoff = obs.ts.as_millis() - self.window_ms;
        while self
            .recommendations
            .front()
            .is_some_and(|&(t, _)| t.as_millis() <= cutoff)
        {
            self.recommendations.pop_front();
        }
        self.recommendations.push_back((obs.ts, rec));
        let target = if rec >= current {
            let limit = current.saturating_add(4).max(current.saturating_mul(2));
            rec.min(limit)
        } else {
            let highest = self
                .recommendations
                .iter()
                .map(|&(_, r)| r)
                .max()
                .unwrap_or(rec);
            highest.min(current)
        };
        target.clamp(c.min, c.max)
    }
}

impl Policy for Hpa {
    fn name(&self) -> String {
        format!("hpa@{}", self.utilisation)
    }

    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        let target = self.target(obs);
        decision(obs, target, ReasonCode::ReactiveFloor)
    }
}

/// Seasonal naive max-combined with the HPA: the demand metric of the same window one day
/// earlier, its maximum over the next start-up delay, at the HPA's target utilisation, or the
/// HPA's own target, whichever is higher.
#[derive(Debug, Clone)]
pub struct SeasonalNaiveHpa {
    hpa: Hpa,
    day_steps: usize,
    delay_steps: usize,
}

/// The target utilisation of `snaive-hpa` in the specification's calibration.
pub const SNAIVE_HPA_UTILISATION: f64 = 0.8;

impl SeasonalNaiveHpa {
    /// The policy for `scenario`, both parts at target utilisation `utilisation`.
    pub fn new(scenario: &Scenario, utilisation: f64) -> Self {
        SeasonalNaiveHpa {
            hpa: Hpa::new(scenario, utilisation),
            day_steps: scenario.day_steps(),
            delay_steps: scenario.delay_steps(),
        }
    }
}

impl Policy for SeasonalNaiveHpa {
    fn name(&self) -> String {
        format!("snaive-hpa@{}", self.hpa.utilisation)
    }

    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        let hpa = self.hpa.target(obs);
        let c = self.hpa.capacity;
        let seasonal = obs.step.checked_sub(self.day_steps).and_then(|from| {
            let to = (from + self.delay_steps + 1).min(obs.step);
            obs.history[from..to]
                .iter()
                .copied()
                .filter(|x| x.is_finite())
                .reduce(f64::max)
        });
        match seasonal {
            Some(peak) => {
                let s = c.workers_at(peak, self.hpa.utilisation);
                if s > hpa {
                    decision(obs, s, ReasonCode::Forecast)
                } else {
                    decision(obs, hpa, ReasonCode::ReactiveFloor)
                }
            }
            None => decision(obs, hpa, ReasonCode::Warmup),
        }
    }
}

/// The policy called `name` for `scenario`: `oracle`, `static`, `hpa` (at `hpa_utilisation`),
/// `hpa@U`, `snaive-hpa` (at [`SNAIVE_HPA_UTILISATION`]), `snaive-hpa@U`, or `prescient` (the
/// default [`crate::PrescientConfig`]).
///
/// # Errors
///
/// [`crate::SimError::UnknownPolicy`] for another name or a utilisation outside `(0, 1]`, and
/// the `Scaler`'s errors for `prescient`.
pub fn by_name(
    name: &str,
    scenario: &Scenario,
    hpa_utilisation: f64,
) -> crate::Result<Box<dyn Policy>> {
    by_name_with(
        name,
        scenario,
        hpa_utilisation,
        crate::PrescientConfig::default(),
    )
}

/// [`by_name`] with the `prescient` policy's settings given.
///
/// # Errors
///
/// As [`by_name`].
pub fn by_name_with(
    name: &str,
    scenario: &Scenario,
    hpa_utilisation: f64,
    prescient: crate::PrescientConfig,
) -> crate::Result<Box<dyn Policy>> {
    let unknown = || crate::SimError::UnknownPolicy(name.to_owned());
    let (base, u) = match name.split_once('@') {
        Some((base, u)) => {
            let u: f64 = u.parse().map_err(|_| unknown())?;
            (base, Some(u))
        }
        None => (name, None),
    };
    let utilisation = |default: f64| {
        let u = u.unwrap_or(default);
        if u > 0.0 && u <= 1.0 {
            Ok(u)
        } else {
            Err(unknown())
        }
    };
    Ok(match base {
        "oracle" if u.is_none() => Box::new(Oracle::new(scenario)),
        "static" if u.is_none() => Box::new(StaticPeak::new(scenario)),
        "hpa" => Box::new(Hpa::new(scenario, utilisation(hpa_utilisation)?)),
        "snaive-hpa" => Box::new(SeasonalNaiveHpa::new(
            scenario,
            utilisation(SNAIVE_HPA_UTILISATION)?,
        )),
        "prescient" if u.is_none() => Box::new(crate::PrescientPolicy::new(scenario, prescient)?),
        _ => return Err(unknown()),
    })
}
