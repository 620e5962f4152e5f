//! Retraining the load forecaster off the hot path: the `Scaler` hands out a [`TrainingJob`]
//! (a copy of its training history), the host runs it where it likes (a thread, a task, a
//! process), and the `Scaler` installs the result only if it is not worse than the live model
//! on the same recent steps.

use std::sync::Arc;

use prescient_core::{
    Error as CoreError, Forecast, ForecastMethod, Forecaster, Timestamp, check_non_negative,
};

use crate::Result;

/// Why a model is retrained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum RetrainReason {
    /// The schedule: `every_steps` steps since the last job.
    Scheduled,
    /// The live model's one-step error grew past `drift_ratio` times what it was when the
    /// model was installed.
    Drift,
    /// The workload fingerprint flagged a change of regime.
    Regime,
    /// The host asked, whatever the schedule.
    Requested,
}

/// Settings of retraining (see [`crate::ScalerBuilder::retrain`]).
#[derive(Clone)]
pub struct RetrainParams {
    pub(crate) method: Arc<dyn ForecastMethod>,
    pub(crate) every_steps: Option<u64>,
    pub(crate) drift_ratio: Option<f64>,
    pub(crate) on_regime_change: bool,
    pub(crate) holdout: usize,
    pub(crate) tolerance: f64,
    pub(crate) min_history: usize,
}

impl std::fmt::Debug for RetrainParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetrainParams")
            .field("method", &self.method.name())
            .field("every_steps", &self.every_steps)
            .field("drift_ratio", &self.drift_ratio)
            .field("on_regime_change", &self.on_regime_change)
            .field("holdout", &self.holdout)
            .field("tolerance", &self.tolerance)
            .field("min_history", &self.min_history)
            .finish()
    }
}

impl RetrainParams {
    /// Retrains with `method`, which must fit models of the `Scaler`'s forecaster's type.
    /// Defaults: every 5,760 steps (a day of 15 s), on drift past 1.5 times the installed
    /// model's one-step error, on a regime change; 960 held-out steps (4 hours); a candidate
    /// is installed unless its error is more than 2% above the live model's; at least 1,920
    /// steps of history.
    pub fn new(method: Arc<dyn ForecastMethod>) -> Self {
        RetrainParams {
            method,
            every_steps: Some(5760),
            drift_ratio: Some(1.5),
            on_regime_change: true,
            holdout: 960,
            tolerance: 0.02,
            min_history: 1920,
        }
    }

    /// Retrain every `steps` steps (`None`: no schedule).
    pub fn every_steps(mut self, steps: Option<u64>) -> Self {
        self.every_steps = steps;
        self
    }

    /// Retrain when the one-step error exceeds `ratio` times the installed model's (`None`:
    /// never for drift).
    pub fn drift_ratio(mut self, ratio: Option<f64>) -> Self {
        self.drift_ratio = ratio;
        self
    }

    /// Retrain when the fingerprint flags a regime change.
    pub fn on_regime_change(mut self, yes: bool) -> Self {
        self.on_regime_change = yes;
        self
    }

    /// The latest steps held out to compare the candidate with the live model.
    pub fn holdout(mut self, steps: usize) -> Self {
        self.holdout = steps;
        self
    }

    /// How much worse than the live model (relative one-step MAE) a candidate may be and
    /// still be installed.
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The fewest steps of history a job trains on.
    pub fn min_history(mut self, steps: usize) -> Self {
        self.min_history = steps;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        check_non_negative("tolerance", self.tolerance)?;
        let invalid = |name, reason: &str| CoreError::InvalidParam {
            name,
            reason: reason.to_owned(),
        };
        if self.every_steps == Some(0) {
            return Err(invalid("every_steps", "at least 1 step").into());
        }
        if let Some(r) = self.drift_ratio {
            if !(r.is_finite() && r > 1.0) {
                return Err(invalid("drift_ratio", "must be finite and above 1").into());
            }
        }
        if self.holdout == 0 || self.min_history < 2 * self.holdout {
            return Err(invalid(
                "holdout",
                "must be at least 1 step and at most half of min_history",
            )
            .into());
        }
        Ok(())
    }
}

/// What the `Scaler` remembers of retraining.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct RetrainState {
    /// Steps since the last job was handed out.
    pub(crate) since_job: u64,
    /// The installed model's one-step MAE on its hold-out, the baseline of drift.
    pub(crate) baseline_mae: Option<f64>,
    pub(crate) jobs: u64,
    pub(crate) installed: u64,
    pub(crate) rejected: u64,
}

/// A retraining run, detached from the `Scaler`: `Send`, owns its data; run it anywhere with
/// [`TrainingJob::run`] and hand the result to [`crate::Scaler::install`].
pub struct TrainingJob {
    pub(crate) method: Arc<dyn ForecastMethod>,
    pub(crate) history: Vec<f64>,
    pub(crate) live_errors: Vec<f64>,
    /// The absolute step index one past the history's newest step, and that step's time.
    pub(crate) end: u64,
    pub(crate) end_ts: Timestamp,
    pub(crate) step_ms: i64,
    pub(crate) holdout: usize,
    pub(crate) tolerance: f64,
    pub(crate) reason: RetrainReason,
}

impl std::fmt::Debug for TrainingJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainingJob")
            .field("method", &self.method.name())
            .field("steps", &self.history.len())
            .field("holdout", &self.holdout)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

/// A retrained model and how it compared with the live one.
pub struct TrainedModel {
    pub(crate) model: Box<dyn Forecaster>,
    pub(crate) end: u64,
    pub(crate) end_ts: Timestamp,
    /// Why it was trained.
    pub reason: RetrainReason,
    /// Steps it was fitted on (before the hold-out).
    pub train_steps: usize,
    /// Hold-out steps on which both models made a one-step forecast.
    pub compared_steps: usize,
    /// The candidate's one-step MAE on those steps.
    pub candidate_mae: Option<f64>,
    /// The live model's one-step MAE on the same steps (`None` when it made no forecast
    /// there, for example before it was ready).
    pub live_mae: Option<f64>,
    /// Whether the candidate is good enough to install.
    pub accepted: bool,
}

impl std::fmt::Debug for TrainedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainedModel")
            .field("model", &self.model.name())
            .field("reason", &self.reason)
            .field("train_steps", &self.train_steps)
            .field("compared_steps", &self.compared_steps)
            .field("candidate_mae", &self.candidate_mae)
            .field("live_mae", &self.live_mae)
            .field("accepted", &self.accepted)
            .finish()
    }
}

/// What [`crate::Scaler::install`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum InstallOutcome {
    /// The candidate replaced the live model, after catching up with the steps observed
    /// while it trained.
    Installed {
        /// Steps it caught up with.
        caught_up: u64,
    },
    /// The candidate was worse than the live model on the hold-out; the live model stays.
    Rejected,
    /// The steps since the job began are no longer in the history (it ran for longer than
    /// the history spans); the live model stays.
    Stale,
}

impl TrainingJob {
    /// Why the job was made.
    pub fn reason(&self) -> RetrainReason {
        self.reason
    }

    /// Steps of history (including the hold-out).
    pub fn steps(&self) -> usize {
        self.history.len()
    }

    /// Fits the method on the history but its last `holdout` steps, then walks the hold-out
    /// one step at a time (forecast, then observe), comparing its one-step errors with the
    /// live model's on the same steps. Excluded steps (NaN: anomalous or filled) are not
    /// scored; within the fit they are interpolated by the model's gap policy.
    ///
    /// # Errors
    ///
    /// The method's fit error (too little history, for example).
    pub fn run(self) -> Result<TrainedModel> {
        let n = self.history.len();
        let holdout = self.holdout.min(n / 2);
        let train_steps = n - holdout;
        let mut model = self.method.fit(&self.history[..train_steps])?;
        let mut f = Forecast::new();
        let (mut cand, mut live, mut compared) = (0.0, 0.0, 0usize);
        for i in train_steps..n {
            let ts = Timestamp::from_millis(
                self.end_ts
                    .as_millis()
                    .saturating_sub(self.step_ms.saturating_mul((n - 1 - i) as i64)),
            );
            let pred = (model.is_ready() && model.predict_inplace(1, 0.5, &mut f).is_ok())
                .then(|| f.point.first().copied())
                .flatten()
                .filter(|p| p.is_finite());
            let y = self.history[i];
            if y.is_finite() {
                if let Some(p) = pred {
                    let e = self.live_errors[i];
                    if e.is_finite() {
                        cand += (y - p).abs();
                        live += e;
                        compared += 1;
                    }
                }
                // A value the model refuses is skipped, as the Scaler skips it.
                let _ = model.update(ts, y);
            } else if let Some(p) = pred {
                let _ = model.update(ts, p);
            }
        }
        let (candidate_mae, live_mae) = if compared > 0 {
            (Some(cand / compared as f64), Some(live / compared as f64))
        } else {
            (None, None)
        };
        let accepted = match (candidate_mae, live_mae) {
            (Some(c), Some(l)) => c <= l * (1.0 + self.tolerance),
            // Nothing to compare with: a live model that never forecast here is no better.
            (_, None) => model.is_ready(),
            (None, Some(_)) => false,
        };
        Ok(TrainedModel {
            model,
            end: self.end,
            end_ts: self.end_ts,
            reason: self.reason,
            train_steps,
            compared_steps: compared,
            candidate_mae,
            live_mae,
            accepted,
        })
    }
}
