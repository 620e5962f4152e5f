//! The feedback loop: how the load forecasts turned out, when prediction and reality part, what
//! the host saw happen after each decision, and the history the next model is trained on.

use prescient_core::{
    Detection, Detector, Error as CoreError, Forecast, RingBuffer, Severity, SeverityThresholds,
    Timestamp, check_positive,
};
use prescient_detect::{Ensemble, Ewma, RollingZScore};
use prescient_forecast::{Accuracy, AccuracyParams, AccuracyTracker};

use crate::Result;

/// Settings of the feedback loop (see [`crate::ScalerBuilder::feedback`]).
///
/// The defaults suit 15 s ticks: accuracy over the last 4 hours, a training history of 14 days,
/// divergence judged against the last hour, thresholds adapted by 5% per missed problem or
/// false alarm, within a factor of 2 either way.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FeedbackParams {
    pub(crate) accuracy_window: usize,
    pub(crate) history_steps: usize,
    pub(crate) divergence_window: usize,
    pub(crate) divergence_alpha: f64,
    pub(crate) divergence_actionable: bool,
    pub(crate) latency_slo: Option<f64>,
    pub(crate) adaptation_rate: f64,
    pub(crate) adaptation_limit: f64,
}

impl Default for FeedbackParams {
    fn default() -> Self {
        FeedbackParams {
            accuracy_window: 960,
            history_steps: 80_640,
            divergence_window: 240,
            divergence_alpha: 0.05,
            divergence_actionable: false,
            latency_slo: None,
            adaptation_rate: 0.05,
            adaptation_limit: 2.0,
        }
    }
}

impl FeedbackParams {
    /// The forecasts scored for accuracy, in steps (default 960).
    pub fn accuracy_window(mut self, steps: usize) -> Self {
        self.accuracy_window = steps;
        self
    }

    /// The load history kept for retraining, in steps (default 80,640: 14 days of 15 s).
    pub fn history_steps(mut self, steps: usize) -> Self {
        self.history_steps = steps;
        self
    }

    /// The window of the divergence detector's z-score, in steps (default 240), and its
    /// EWMA's smoothing (default 0.05).
    pub fn divergence(mut self, window: usize, alpha: f64) -> Self {
        self.divergence_window = window;
        self.divergence_alpha = alpha;
        self
    }

    /// Whether a divergence upwards (load above what was forecast) asks for capacity as the
    /// metrics' anomalies do (default `false`: it is reported, not acted on).
    pub fn divergence_actionable(mut self, yes: bool) -> Self {
        self.divergence_actionable = yes;
        self
    }

    /// The latency above which an [`Outcome`] counts as a violation (default none: only
    /// unserved demand, saturation and the host's own verdict count).
    pub fn latency_slo(mut self, slo: f64) -> Self {
        self.latency_slo = Some(slo);
        self
    }

    /// How the severity thresholds follow outcomes: each missed problem makes them more
    /// sensitive by `rate`, each false alarm less, within a factor of `limit` of the
    /// configured ones, on the surprise scale (default 0.05 and 2; a rate of 0 turns it off).
    pub fn adaptation(mut self, rate: f64, limit: f64) -> Self {
        self.adaptation_rate = rate;
        self.adaptation_limit = limit;
        self
    }

    pub(crate) fn build(&self, horizon: usize, season: usize) -> Result<Feedback> {
        let invalid = |name, reason: String| CoreError::InvalidParam { name, reason };
        if self.history_steps < 2 {
            return Err(invalid("history_steps", "at least 2 steps".into()).into());
        }
        if !(self.adaptation_rate >= 0.0 && self.adaptation_rate < 1.0) {
            return Err(invalid(
                "adaptation_rate",
                format!("must be in [0, 1), got {}", self.adaptation_rate),
            )
            .into());
        }
        if !(self.adaptation_limit >= 1.0 && self.adaptation_limit.is_finite()) {
            return Err(invalid(
                "adaptation_limit",
                format!("must be at least 1, got {}", self.adaptation_limit),
            )
            .into());
        }
        if let Some(slo) = self.latency_slo {
            check_positive("latency_slo", slo)?;
        }
        let horizons = [1, horizon.max(1)];
        let season = season.min(self.history_steps).max(1);
        Ok(Feedback {
            tracker: AccuracyParams::new(&horizons, self.accuracy_window, season).build()?,
            forecast_residual: Divergence::new(self.divergence_window, self.divergence_alpha)?,
            capacity_residual: Divergence::new(self.divergence_window, self.divergence_alpha)?,
            divergence: None,
            capacity_divergence: None,
            history: TrainingHistory {
                values: RingBuffer::new(self.history_steps),
                errors: RingBuffer::new(self.history_steps),
                end: 0,
                excluded: 0,
            },
            factor: 1.0,
            tally: OutcomeTally::default(),
            params: self.clone(),
        })
    }
}

/// What the host saw after a decision: report it with [`crate::Scaler::feedback`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Outcome {
    /// When it was observed.
    pub ts: Timestamp,
    /// Workers actually serving.
    pub workers: u32,
    /// Their utilisation (a fraction; above 1 is saturation, a violation).
    pub utilisation: Option<f64>,
    /// The latency the SLO is on (compared with [`FeedbackParams::latency_slo`]).
    pub latency: Option<f64>,
    /// Demand not served, in load units per second (above 0 is a violation).
    pub unserved: Option<f64>,
    /// The host's own verdict, when it has one (overrides nothing: any violation counts).
    pub slo_violated: Option<bool>,
}

/// What the feedback loop has seen: the forecasts' accuracy, the divergence of prediction and
/// reality, and the outcomes the host reported.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FeedbackSummary {
    /// The load forecasts' accuracy one step ahead and at the planner's horizon.
    pub accuracy: Vec<Accuracy>,
    /// The load's divergence from its forecast at the latest step: a calibrated score of the
    /// standardised one-step residual (a spike, a level shift the model did not see coming);
    /// `None` while it warms up or without a forecast.
    pub divergence: Option<Detection>,
    /// The utilisation's divergence from what the capacity model predicts for the load and
    /// the ready workers (`load / (ready · capacity per worker)`): a resource leak or an
    /// efficiency regression shows as utilisation climbing while the load does not.
    /// `None` without a utilisation metric, while warming up, or with no ready worker.
    pub capacity_divergence: Option<Detection>,
    /// The severity of the worse of the two divergences.
    pub divergence_severity: Severity,
    /// Outcomes reported, violations among them, violations no anomaly had flagged (missed),
    /// and flagged anomalies with no violation and spare capacity (false alarms).
    pub outcomes: u64,
    /// See [`FeedbackSummary::outcomes`].
    pub violations: u64,
    /// See [`FeedbackSummary::outcomes`].
    pub missed: u64,
    /// See [`FeedbackSummary::outcomes`].
    pub false_alarms: u64,
    /// How far outcomes have moved the severity thresholds: above 1 less sensitive, below 1
    /// more, on the surprise scale.
    pub threshold_factor: f64,
    /// The severity thresholds in use.
    pub thresholds: SeverityThresholds,
    /// Steps in the training history, and how many of them are excluded (anomalous or
    /// filled).
    pub history_steps: usize,
    /// See [`FeedbackSummary::history_steps`].
    pub excluded_steps: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct OutcomeTally {
    outcomes: u64,
    violations: u64,
    missed: u64,
    false_alarms: u64,
}

/// The load on the forecaster's step grid, for retraining: a value per step, NaN for a step that
/// is excluded (anomalous, or a gap the forecaster filled itself), and the live model's
/// one-step absolute error at each step (NaN when it made none), to compare a retrained model
/// with on the same steps.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct TrainingHistory {
    pub(crate) values: RingBuffer<f64>,
    pub(crate) errors: RingBuffer<f64>,
    /// Steps pushed since the start: the absolute index one past the newest.
    pub(crate) end: u64,
    /// How many of `values` are excluded (NaN).
    pub(crate) excluded: usize,
}

impl TrainingHistory {
    /// The absolute index of the oldest step held.
    pub(crate) fn start(&self) -> u64 {
        self.end - self.values.len() as u64
    }
}

/// The feedback state of a `Scaler`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Feedback {
    params: FeedbackParams,
    tracker: AccuracyTracker,
    forecast_residual: Divergence,
    capacity_residual: Divergence,
    divergence: Option<Detection>,
    capacity_divergence: Option<Detection>,
    pub(crate) history: TrainingHistory,
    factor: f64,
    tally: OutcomeTally,
}

impl Feedback {
    /// One step of the forecaster's grid: `actual` is the observed load (`None` for a step the
    /// forecaster filled itself), `anomalous` whether the tick flagged it. Scores the
    /// forecasts of this step, judges the divergence and extends the training history.
    ///
    /// A step whose divergence scores at least `low` (the low severity threshold) is
    /// excluded from the training history too.
    pub(crate) fn step(&mut self, ts: Timestamp, actual: Option<f64>, anomalous: bool, low: f64) {
        let residual = self.tracker.step(actual);
        self.divergence = residual.and_then(|r| self.forecast_residual.update(ts, r));
        let diverged = self.divergence.is_some_and(|d| d.score.value() >= low);
        let kept = actual
            .filter(|_| !anomalous && !diverged)
            .unwrap_or(f64::NAN);
        let error = self.tracker.one_step_error().unwrap_or(f64::NAN);
        let h = &mut self.history;
        h.excluded += usize::from(kept.is_nan());
        if h.values.push(kept).is_some_and(f64::is_nan) {
            h.excluded -= 1;
        }
        h.errors.push(error);
        h.end += 1;
    }

    /// The forecast made after the latest step.
    pub(crate) fn issue(&mut self, forecast: &Forecast) {
        self.tracker.issue(forecast);
    }

    /// The utilisation of the tick against the capacity model's: `load / (ready ·
    /// capacity)`. Any missing value, or no ready worker, and the tick is not judged.
    pub(crate) fn capacity_step(
        &mut self,
        ts: Timestamp,
        load: Option<f64>,
        utilisation: Option<f64>,
        ready: u32,
        capacity: f64,
    ) {
        self.capacity_divergence = match (load, utilisation) {
            (Some(l), Some(u)) if ready > 0 && l.is_finite() && u.is_finite() => {
                let predicted = l / (f64::from(ready) * capacity);
                let r = u - predicted;
                if r.is_finite() {
                    self.capacity_residual.update(ts, r)
                } else {
                    None
                }
            }
            _ => None,
        };
    }

    /// The load's divergence from its forecast, and the utilisation's from the capacity
    /// model, at the latest step.
    pub(crate) fn divergences(&self) -> [Option<Detection>; 2] {
        [self.divergence, self.capacity_divergence]
    }

    /// Whether the divergence asks for capacity.
    pub(crate) fn divergence_actionable(&self) -> bool {
        self.params.divergence_actionable
    }

    /// The forecasts' accuracy one step ahead (`0`) and at the planner's horizon (`1`).
    pub(crate) fn accuracy_of(&self, j: usize) -> Option<Accuracy> {
        self.tracker.accuracy_of(j)
    }

    /// The severity-threshold factor.
    pub(crate) fn factor(&self) -> f64 {
        self.factor
    }

    /// The live model's one-step MAE over the tracker's window.
    pub(crate) fn one_step_mae(&self) -> Option<f64> {
        self.tracker
            .accuracy()
            .first()
            .filter(|a| a.horizon == 1)
            .map(|a| a.mae)
    }

    /// Takes what the host saw; returns whether the threshold factor changed. `flagged` is
    /// the severity of the last decision.
    pub(crate) fn record(
        &mut self,
        outcome: &Outcome,
        flagged: Severity,
        target_util: f64,
    ) -> bool {
        let slo = self.params.latency_slo;
        let violated = outcome.slo_violated.unwrap_or(false)
            || outcome.unserved.is_some_and(|u| u > 0.0)
            || outcome.utilisation.is_some_and(|u| u > 1.0)
            || matches!((outcome.latency, slo), (Some(l), Some(s)) if l > s);
        let t = &mut self.tally;
        t.outcomes += 1;
        let before = self.factor;
        let step = 1.0 + self.params.adaptation_rate;
        let limit = self.params.adaptation_limit;
        if violated {
            t.violations += 1;
            if flagged == Severity::None {
                t.missed += 1;
                self.factor = (self.factor / step).max(1.0 / limit);
            }
        } else if flagged >= Severity::Medium
            && outcome.utilisation.is_some_and(|u| u < target_util)
        {
            t.false_alarms += 1;
            self.factor = (self.factor * step).min(limit);
        }
        self.factor != before
    }

    /// `base` moved by the outcomes: each threshold `t` becomes `1 − (1 − t)^factor`, its
    /// surprise `−ln(1 − t)` multiplied by the factor.
    pub(crate) fn thresholds(&self, base: SeverityThresholds) -> SeverityThresholds {
        if self.factor == 1.0 {
            return base;
        }
        let (l, m, h) = base.values();
        let adapt = |t: f64| 1.0 - (1.0 - t).powf(self.factor);
        // Monotone in t and kept inside (0, 1), so the order holds; fall back if rounding
        // at the extremes breaks it.
        SeverityThresholds::new(adapt(l), adapt(m), adapt(h)).unwrap_or(base)
    }

    pub(crate) fn summary(
        &self,
        thresholds: SeverityThresholds,
        severity: Severity,
    ) -> FeedbackSummary {
        FeedbackSummary {
            accuracy: self.tracker.accuracy(),
            divergence: self.divergence,
            capacity_divergence: self.capacity_divergence,
            divergence_severity: severity,
            outcomes: self.tally.outcomes,
            violations: self.tally.violations,
            missed: self.tally.missed,
            false_alarms: self.tally.false_alarms,
            threshold_factor: self.factor,
            thresholds,
            history_steps: self.history.values.len(),
            excluded_steps: self.history.excluded,
        }
    }
}

/// A divergence detector: the rolling z-score and the EWMA chart of a residual, combined.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Divergence {
    zscore: RollingZScore,
    ewma: Ewma,
    ensemble: Ensemble,
}

impl Divergence {
    fn new(window: usize, alpha: f64) -> Result<Self> {
        Ok(Divergence {
            zscore: RollingZScore::new(window)?,
            ewma: Ewma::new(alpha)?,
            ensemble: Ensemble::new(vec![1.0, 1.0])?,
        })
    }

    fn update(&mut self, ts: Timestamp, r: f64) -> Option<Detection> {
        let scores = [self.zscore.update(ts, r), self.ewma.update(ts, r)];
        self.ensemble.combine(&scores)
    }
}
