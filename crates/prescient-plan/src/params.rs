use prescient_core::{Error, Result, check_non_negative, check_positive};

/// What the planner does for each anomaly severity (`Low` is only recorded).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SeverityActions {
    /// `Medium`: add this fraction of the current workers (at least one). Default 0.1.
    pub medium_step_fraction: f64,
    /// `High`: add at least this fraction of the current workers (at least one). Default 0.25.
    pub high_step_fraction: f64,
    /// `High`: plan for the upper end of a forecast interval of this coverage, wider than the
    /// usual one. Default 0.99.
    pub high_level: f64,
}

impl Default for SeverityActions {
    fn default() -> Self {
        SeverityActions {
            medium_step_fraction: 0.1,
            high_step_fraction: 0.25,
            high_level: 0.99,
        }
    }
}

/// The planner's settings. Setters never fail; [`crate::Planner::new`] checks them all.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PlannerParams {
    pub(crate) capacity_per_worker: f64,
    pub(crate) target_utilisation: f64,
    pub(crate) forecast_utilisation: Option<f64>,
    pub(crate) min_workers: u32,
    pub(crate) max_workers: u32,
    pub(crate) lead_time_secs: f64,
    pub(crate) max_step_up: u32,
    pub(crate) max_step_down: u32,
    pub(crate) scale_down_tolerance: f64,
    pub(crate) scale_up_tolerance: f64,
    pub(crate) scale_down_stabilisation_secs: f64,
    pub(crate) scale_down_cooldown_secs: f64,
    pub(crate) severity: SeverityActions,
}

impl PlannerParams {
    /// Settings for workers that each serve `capacity_per_worker` units of the load metric per
    /// second at 100% utilisation.
    ///
    /// Defaults: target utilisation 0.7, bounds `[1, 100]`, lead time 120 s, no step limits, a
    /// tolerance of 0.1 both ways and a scale-down stabilisation window of 300 s (the HPA's
    /// defaults), a
    /// 60 s scale-down cooldown after a scale-up, and [`SeverityActions::default`].
    pub fn new(capacity_per_worker: f64) -> Self {
        PlannerParams {
            capacity_per_worker,
            target_utilisation: 0.7,
            forecast_utilisation: None,
            min_workers: 1,
            max_workers: 100,
            lead_time_secs: 120.0,
            max_step_up: u32::MAX,
            max_step_down: u32::MAX,
            scale_down_tolerance: 0.1,
            scale_up_tolerance: 0.1,
            scale_down_stabilisation_secs: 300.0,
            scale_down_cooldown_secs: 60.0,
            severity: SeverityActions::default(),
        }
    }

    /// The utilisation to plan for, in `(0, 1]`.
    pub fn target_utilisation(mut self, u: f64) -> Self {
        self.target_utilisation = u;
        self
    }

    /// The utilisation to plan the forecast interval's upper end for, in `(0, 1]` (default: the
    /// target utilisation). The interval already covers the forecast's uncertainty, so a value
    /// above the target utilisation avoids paying for the same risk twice; the reactive floor
    /// keeps the target utilisation.
    pub fn forecast_utilisation(mut self, u: f64) -> Self {
        self.forecast_utilisation = Some(u);
        self
    }

    /// The fewest and most workers (`min ≤ max`, `max ≥ 1`).
    pub fn bounds(mut self, min: u32, max: u32) -> Self {
        self.min_workers = min;
        self.max_workers = max;
        self
    }

    /// How far ahead to plan, in seconds: at least the time a new worker takes to serve.
    pub fn lead_time_secs(mut self, secs: f64) -> Self {
        self.lead_time_secs = secs;
        self
    }

    /// The most workers one decision may add and remove (at least 1 each); `u32::MAX` for no
    /// limit. `(1, 1)` gives fine-grained ±1 scaling.
    pub fn max_step(mut self, up: u32, down: u32) -> Self {
        self.max_step_up = up;
        self.max_step_down = down;
        self
    }

    /// A scale-down happens only when the desired count is more than this fraction below the
    /// current one (in `[0, 1)`).
    pub fn scale_down_tolerance(mut self, t: f64) -> Self {
        self.scale_down_tolerance = t;
        self
    }

    /// A forecast-driven scale-up happens only when the desired count is more than this fraction
    /// above the current one (in `[0, 1)`); increases asked for by the reactive floor or an
    /// anomaly are never held back.
    pub fn scale_up_tolerance(mut self, t: f64) -> Self {
        self.scale_up_tolerance = t;
        self
    }

    /// Scale down only to the highest recommendation of this many past seconds (≥ 0).
    pub fn scale_down_stabilisation_secs(mut self, secs: f64) -> Self {
        self.scale_down_stabilisation_secs = secs;
        self
    }

    /// No scale-down for this many seconds after a scale-up (≥ 0).
    pub fn scale_down_cooldown_secs(mut self, secs: f64) -> Self {
        self.scale_down_cooldown_secs = secs;
        self
    }

    /// What each anomaly severity does.
    pub fn severity_actions(mut self, actions: SeverityActions) -> Self {
        self.severity = actions;
        self
    }

    /// The lead time, in seconds.
    pub fn lead_time(&self) -> f64 {
        self.lead_time_secs
    }

    /// The bounds `(min, max)`.
    pub fn worker_bounds(&self) -> (u32, u32) {
        (self.min_workers, self.max_workers)
    }

    /// Load units per second one worker serves at 100%.
    pub fn capacity(&self) -> f64 {
        self.capacity_per_worker
    }

    /// The target utilisation.
    pub fn utilisation(&self) -> f64 {
        self.target_utilisation
    }

    /// The utilisation the forecast's upper end is planned for.
    pub fn utilisation_for_forecast(&self) -> f64 {
        self.forecast_utilisation.unwrap_or(self.target_utilisation)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        fn bad(name: &'static str, reason: String) -> Result<()> {
            Err(Error::InvalidParam { name, reason })
        }
        check_positive("capacity_per_worker", self.capacity_per_worker)?;
        let u = self.target_utilisation;
        if !(u > 0.0 && u <= 1.0) {
            return bad("target_utilisation", format!("must be in (0, 1], got {u}"));
        }
        if let Some(u) = self.forecast_utilisation {
            if !(u > 0.0 && u <= 1.0) {
                return bad(
                    "forecast_utilisation",
                    format!("must be in (0, 1], got {u}"),
                );
            }
        }
        if self.max_workers == 0 || self.min_workers > self.max_workers {
            return bad(
                "bounds",
                format!(
                    "need min <= max and max >= 1, got [{}, {}]",
                    self.min_workers, self.max_workers
                ),
            );
        }
        check_non_negative("lead_time_secs", self.lead_time_secs)?;
        if self.max_step_up == 0 || self.max_step_down == 0 {
            return bad("max_step", "steps must be at least 1".into());
        }
        let t = self.scale_down_tolerance;
        if !(0.0..1.0).contains(&t) {
            return bad(
                "scale_down_tolerance",
                format!("must be in [0, 1), got {t}"),
            );
        }
        check_non_negative(
            "scale_down_stabilisation_secs",
            self.scale_down_stabilisation_secs,
        )?;
        check_non_negative("scale_down_cooldown_secs", self.scale_down_cooldown_secs)?;
        let a = self.severity;
        check_non_negative("medium_step_fraction", a.medium_step_fraction)?;
        check_non_negative("high_step_fraction", a.high_step_fraction)?;
        if !(a.high_level > 0.0 && a.high_level < 1.0) {
            return bad(
                "high_level",
                format!("must be in (0, 1), got {}", a.high_level),
            );
        }
        Ok(())
    }
}
