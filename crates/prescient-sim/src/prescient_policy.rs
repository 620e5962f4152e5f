//! The `prescient` policy: the facade's `Scaler`, fed the lagged demand metric and the ready
//! workers' utilisation, deciding for the simulated pool.

use prescient::{Decision, MetricRole, PlannerParams, Scaler, Schema};

use crate::Result;
use crate::policy::{Observation, Policy};
use crate::scenario::Scenario;

/// The `prescient` policy's settings: one configuration for every trace.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PrescientConfig {
    /// The utilisation the planner plans the forecast's upper end for.
    pub target_utilisation: f64,
    /// The coverage of the forecast interval whose upper end is planned for.
    pub forecast_level: f64,
}

impl Default for PrescientConfig {
    fn default() -> Self {
        PrescientConfig {
            target_utilisation: 0.7,
            forecast_level: 0.8,
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
        let planner = PlannerParams::new(cap.per_worker)
            .target_utilisation(config.target_utilisation)
            .bounds(cap.min, cap.max)
            .lead_time_secs(p.startup_delay_secs + p.metric_lag_secs);
        let scaler = Scaler::builder(schema, planner)
            .step_secs(p.step_secs)
            .startup_delay_secs(p.startup_delay_secs)
            .forecast_level(config.forecast_level)
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
