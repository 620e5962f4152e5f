//! The `prescient` policy: the facade's `Scaler`, fed the lagged demand metric and the ready
//! workers' utilisation, deciding for the simulated pool.

use prescient::forecast::LevelProfileParams;
use prescient::{Decision, MetricRole, PlannerParams, Scaler, Schema, SeverityActions};

use crate::Result;
use crate::policy::{Observation, Policy};
use crate::scenario::Scenario;

/// The `prescient` policy's settings: one configuration for every trace.
///
/// The defaults were chosen on the traces of `../shared/data` (the sweep is in
/// `docs/BENCHMARKS.md`): the forecast's 70th percentile (`forecast_level` 0.4) planned at
/// 100% utilisation, a reactive floor at 85%, and a 20-minute scale-down stabilisation window,
/// which holds capacity through the short dips between bursts and so keeps direction flips well
/// below the HPA's. Anomaly severities are detected and reported but add no capacity: on these
/// traces the old fixed-calibration detectors' actions cost more than they saved.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PrescientConfig {
    /// The utilisation of the reactive floor (the HPA's rule on the current load).
    pub target_utilisation: f64,
    /// The utilisation the planner plans the forecast's upper end for.
    pub forecast_utilisation: f64,
    /// The coverage of the forecast interval whose upper end is planned for.
    pub forecast_level: f64,
    /// The planner's scale-down stabilisation window, in seconds.
    pub stabilisation_secs: f64,
    /// The planner's scale-down cooldown after a scale-up, in seconds.
    pub cooldown_secs: f64,
    /// The load forecaster's level smoothing per step.
    pub level_alpha: f64,
    /// Whether anomaly severities add capacity (the planner's severity actions).
    pub anomaly_actions: bool,
}

impl Default for PrescientConfig {
    fn default() -> Self {
        PrescientConfig {
            target_utilisation: 0.85,
            forecast_utilisation: 1.0,
            forecast_level: 0.4,
            stabilisation_secs: 1200.0,
            cooldown_secs: 60.0,
            level_alpha: 0.1,
            anomaly_actions: false,
        }
    }
}

/// The `Scaler` as a simulator policy.
///
/// The lead time is the start-up delay plus the metric's lag, since a worker requested now serves
/// a delay from now, and the newest metric describes the window before now.
#[derive(Debug)]
pub struct PrescientPolicy {
    scaler: Scaler,
}

impl PrescientPolicy {
    /// The policy for `scenario` with `config`.
    ///
    /// # Errors
    ///
    /// [`crate::SimError::Prescient`] when the `Scaler` refuses the settings.
    pub fn new(scenario: &Scenario, config: PrescientConfig) -> Result<Self> {
        let p = scenario.params();
        let cap = scenario.capacity();
        let schema = Schema::builder("service")
            .metric("demand", MetricRole::Load)
            .metric("utilisation", MetricRole::Utilisation)
            .build()
            .map_err(prescient::Error::from)?;
        let mut planner = PlannerParams::new(cap.per_worker)
            .target_utilisation(config.target_utilisation)
            .forecast_utilisation(config.forecast_utilisation)
            .bounds(cap.min, cap.max)
            .lead_time_secs(p.startup_delay_secs + p.metric_lag_secs)
            .scale_down_stabilisation_secs(config.stabilisation_secs)
            .scale_down_cooldown_secs(config.cooldown_secs);
        if !config.anomaly_actions {
            planner = planner.severity_actions(SeverityActions {
                medium_step_fraction: 0.0,
                high_step_fraction: 0.0,
                high_level: 0.5,
            });
        }
        let forecaster = LevelProfileParams::new(scenario.day_steps())
            .alpha(config.level_alpha)
            .build()
            .map_err(prescient::Error::from)?;
        let scaler = Scaler::builder(schema, planner)
            .step_secs(p.step_secs)
            .startup_delay_secs(p.startup_delay_secs)
            .season_secs(86_400.0)
            .forecast_level(config.forecast_level)
            .forecaster(Box::new(forecaster))
            .build()?;
        Ok(PrescientPolicy { scaler })
    }

    /// The `Scaler` inside.
    pub fn scaler(&self) -> &Scaler {
        &self.scaler
    }
}

impl Policy for PrescientPolicy {
    fn name(&self) -> String {
        "prescient".into()
    }

    fn decide(&mut self, obs: &Observation<'_>) -> Decision {
        let values = [obs.demand, obs.utilisation];
        match self.scaler.tick(obs.ts, &values, obs.pool) {
            Ok(d) => d,
            // The simulator's steps strictly increase and match the schema, so a tick is never
            // rejected; should one be, holding the pool is the safe answer.
            Err(_) => {
                crate::policy::decision(obs, obs.pool.desired, prescient::ReasonCode::StaleData)
            }
        }
    }
}
