//! The `Scaler`: the whole pipeline behind one call per tick.

use prescient_actuate::{Actuator, AsyncActuator, PoolStatus};
use prescient_core::{
    Decision, Detection, Detector, Error as CoreError, FeatureExtractor, Forecast, Forecaster,
    MetricRole, Schema, Score, Severity, SeverityThresholds, Timestamp, check_non_negative,
    check_positive,
};
use prescient_detect::{Ensemble, Ewma, RollingZScore, combine_metrics};
use prescient_features::{Observed, RateOfChange, RollingStats};
use prescient_forecast::SeasonalNaive;
use prescient_plan::{PlanInput, Planner, PlannerParams};

use crate::Result;
use crate::feedback::{Feedback, FeedbackParams, FeedbackSummary, Outcome};
use crate::regime::{RegimeMonitor, RegimeParams};
use crate::retrain::{
    InstallOutcome, RetrainParams, RetrainReason, RetrainState, TrainedModel, TrainingJob,
};

#[cfg(feature = "serde")]
mod snapshot;

/// Whether the `Scaler` applies its decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Mode {
    /// Decisions are applied when the host calls [`Scaler::apply`].
    #[default]
    Active,
    /// Decisions are made and reported but never applied: for trying prescient next to an
    /// existing autoscaler.
    ForecastOnly,
}

/// What [`Scaler::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// The actuator accepted the target.
    Scaled {
        /// The count the platform accepted.
        target: u32,
    },
    /// The decision did not change the count; the actuator was not called.
    Unchanged,
    /// The `Scaler` is in [`Mode::ForecastOnly`]; the actuator was not called.
    ForecastOnly,
}

/// What the detectors said of one metric at the last tick.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MetricAnomaly {
    /// The metric's position in the schema.
    pub metric: usize,
    /// The ensemble's calibrated score and signed deviation; `None` while warming up or when the
    /// value was missing.
    pub detection: Option<Detection>,
    /// The severity of this metric's score alone.
    pub severity: Severity,
    /// Whether the anomaly asks for capacity (an upward deviation of load, utilisation, latency
    /// or error rate).
    pub actionable: bool,
}

/// The detectors of one metric.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct MetricDetectors {
    zscore: RollingZScore,
    ewma: Ewma,
    ensemble: Ensemble,
}

/// A feature extractor of the `Scaler`.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
enum Feature {
    Stats(RollingStats),
    Rate(RateOfChange),
}

impl Feature {
    fn get(&self) -> &dyn FeatureExtractor {
        match self {
            Feature::Stats(e) => e,
            Feature::Rate(e) => e,
        }
    }

    fn get_mut(&mut self) -> &mut dyn FeatureExtractor {
        match self {
            Feature::Stats(e) => e,
            Feature::Rate(e) => e,
        }
    }
}

/// The settings that shape a `Scaler`'s learned state: a snapshot restores only into a
/// `Scaler` built with the same.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Settings {
    schema: Schema,
    step_ms: i64,
    season_steps: usize,
    horizon: usize,
    detector_window: usize,
    ewma_alpha: f64,
    detector_weights: [f64; 2],
    feature_window: usize,
    forecaster: String,
    regime: Option<RegimeParams>,
    feedback: FeedbackParams,
}

/// Builds a [`Scaler`]; every setting is checked by [`ScalerBuilder::build`].
pub struct ScalerBuilder {
    schema: Schema,
    planner: PlannerParams,
    step_secs: f64,
    startup_delay_secs: Option<f64>,
    season_secs: f64,
    forecast_level: f64,
    forecaster: Option<Box<dyn Forecaster>>,
    detector_window: usize,
    ewma_alpha: f64,
    detector_weights: [f64; 2],
    feature_window: usize,
    thresholds: SeverityThresholds,
    stale_after_secs: Option<f64>,
    mode: Mode,
    regime: Option<RegimeParams>,
    feedback: FeedbackParams,
    retrain: Option<RetrainParams>,
}

impl std::fmt::Debug for ScalerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScalerBuilder")
            .field("schema", &self.schema)
            .field("planner", &self.planner)
            .field("step_secs", &self.step_secs)
            .finish_non_exhaustive()
    }
}

impl ScalerBuilder {
    /// The time between ticks, in seconds (default 15, the HPA's sync period). Forecasters see
    /// the load on this grid.
    pub fn step_secs(mut self, secs: f64) -> Self {
        self.step_secs = secs;
        self
    }

    /// How long a new worker takes to serve, in seconds; the planner's lead time must be at
    /// least this (default: not checked).
    pub fn startup_delay_secs(mut self, secs: f64) -> Self {
        self.startup_delay_secs = Some(secs);
        self
    }

    /// The season of the default seasonal-naive forecaster, in seconds (default one day).
    pub fn season_secs(mut self, secs: f64) -> Self {
        self.season_secs = secs;
        self
    }

    /// The coverage of the forecast interval whose upper end capacity is planned for
    /// (default 0.8, so the 90th percentile).
    pub fn forecast_level(mut self, level: f64) -> Self {
        self.forecast_level = level;
        self
    }

    /// Replaces the default seasonal-naive load forecaster, for example with a fitted
    /// `HoltWinters`. It is fed the primary load once per step.
    pub fn forecaster(mut self, f: Box<dyn Forecaster>) -> Self {
        self.forecaster = Some(f);
        self
    }

    /// The rolling z-score's window, in ticks (default 120: 30 minutes of 15 s ticks).
    pub fn detector_window(mut self, ticks: usize) -> Self {
        self.detector_window = ticks;
        self
    }

    /// The EWMA chart's smoothing factor (default 0.05).
    pub fn ewma_alpha(mut self, alpha: f64) -> Self {
        self.ewma_alpha = alpha;
        self
    }

    /// The ensemble's weights of the z-score and EWMA detectors (default equal).
    pub fn detector_weights(mut self, zscore: f64, ewma: f64) -> Self {
        self.detector_weights = [zscore, ewma];
        self
    }

    /// The window of the rolling features, in ticks (default 20: 5 minutes of 15 s ticks).
    pub fn feature_window(mut self, ticks: usize) -> Self {
        self.feature_window = ticks;
        self
    }

    /// The score thresholds of the severities.
    pub fn severity_thresholds(mut self, t: SeverityThresholds) -> Self {
        self.thresholds = t;
        self
    }

    /// After this many seconds without a valid load value, capacity is held (default: four
    /// steps, at least 60 s).
    pub fn stale_after_secs(mut self, secs: f64) -> Self {
        self.stale_after_secs = Some(secs);
        self
    }

    /// Active (default) or forecast-only.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The workload fingerprint's settings (default [`RegimeParams::default`]): each tick the
    /// feature vector is fingerprinted, scored for a regime change and matched with the closest
    /// earlier moment, and the decision carries what it said ([`Decision::regime`]).
    pub fn regime(mut self, params: RegimeParams) -> Self {
        self.regime = Some(params);
        self
    }

    /// The feedback loop's settings (default [`FeedbackParams::default`]): the forecasts'
    /// accuracy, the divergence of prediction and reality, the training history and how the
    /// severity thresholds follow reported outcomes.
    pub fn feedback(mut self, params: FeedbackParams) -> Self {
        self.feedback = params;
        self
    }

    /// Retrains the load forecaster (default: never): see [`Scaler::retrain_due`],
    /// [`Scaler::training_job`] and [`Scaler::install`].
    pub fn retrain(mut self, params: RetrainParams) -> Self {
        self.retrain = Some(params);
        self
    }

    /// No workload fingerprint: decisions carry no regime note, and a tick costs a few
    /// microseconds less.
    pub fn without_regime(mut self) -> Self {
        self.regime = None;
        self
    }

    /// Checks every setting and builds the `Scaler`.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::InvalidParam`] naming the first invalid setting: a step that is
    /// not positive, a lead time shorter than the start-up delay, a season shorter than a step,
    /// a forecast level outside `(0, 1)`, invalid detector, planner or fingerprint settings
    /// (such as more fingerprint components than features), or a forecaster that takes
    /// covariates when there is no fingerprint of as many components to give it.
    pub fn build(self) -> Result<Scaler> {
        let invalid = |name: &'static str, reason: String| -> crate::Error {
            CoreError::InvalidParam { name, reason }.into()
        };
        let step = check_positive("step_secs", self.step_secs)?;
        if let Some(d) = self.startup_delay_secs {
            check_non_negative("startup_delay_secs", d)?;
            if self.planner.lead_time() < d {
                return Err(invalid(
                    "lead_time_secs",
                    format!(
                        "must be at least the start-up delay {d}, got {}",
                        self.planner.lead_time()
                    ),
                ));
            }
        }
        let level = self.forecast_level;
        if !(level > 0.0 && level < 1.0) {
            return Err(invalid(
                "forecast_level",
                format!("must be in (0, 1), got {level}"),
            ));
        }
        let season = self.season_secs;
        if !(season.is_finite() && season >= step) {
            return Err(invalid(
                "season_secs",
                format!("must be at least one step, got {season}"),
            ));
        }
        let stale_after = check_positive(
            "stale_after_secs",
            self.stale_after_secs.unwrap_or((4.0 * step).max(60.0)),
        )?;
        let season_steps = (season / step).round().max(1.0) as usize;
        let forecaster = match self.forecaster {
            Some(f) => f,
            None => Box::new(SeasonalNaive::new(season_steps)?),
        };
        let planner = Planner::new(self.planner)?;
        let horizon = (planner.params().lead_time() / step).ceil() as usize + 1;
        let ensemble = Ensemble::new(self.detector_weights.to_vec())?;
        let mut metrics = Vec::with_capacity(self.schema.len());
        let mut features: Vec<(usize, Feature)> = Vec::new();
        let mut feature_names = Vec::new();
        for (i, m) in self.schema.metrics().iter().enumerate() {
            metrics.push(MetricDetectors {
                zscore: RollingZScore::new(self.detector_window)?,
                ewma: Ewma::new(self.ewma_alpha)?,
                ensemble: ensemble.clone(),
            });
            let mut extractors = vec![Feature::Stats(RollingStats::new(self.feature_window)?)];
            if m.role == MetricRole::Load || i == self.schema.primary_load() {
                extractors.push(Feature::Rate(RateOfChange::new(1)?));
            }
            for e in extractors {
                feature_names.extend(
                    e.get()
                        .names()
                        .into_iter()
                        .map(|n| format!("{}.{n}", m.name)),
                );
                features.push((i, e));
            }
        }
        let n_features = feature_names.len();
        let utilisation = self.schema.first_with_role(MetricRole::Utilisation);
        // The resource use stored with each fingerprint: every utilisation metric.
        let resource_metrics: Vec<usize> = self
            .schema
            .metrics()
            .iter()
            .enumerate()
            .filter(|(_, m)| m.role == MetricRole::Utilisation)
            .map(|(i, _)| i)
            .collect();
        let regime = match &self.regime {
            Some(p) => Some(p.build(n_features, resource_metrics.len())?),
            None => None,
        };
        let covariates = forecaster.covariates();
        let offered = regime.as_ref().map_or(0, |r| r.covariates().len());
        if covariates > 0 && covariates != offered {
            return Err(invalid(
                "forecaster",
                format!(
                    "takes {covariates} covariates, but the fingerprint gives {offered} \
                     (set RegimeParams' components to match)"
                ),
            ));
        }
        if let Some(r) = &self.retrain {
            r.validate()?;
        }
        let feedback = self.feedback.build(horizon, season_steps)?;
        let settings = Settings {
            schema: self.schema.clone(),
            step_ms: (step * 1000.0).round().max(1.0) as i64,
            season_steps,
            horizon,
            detector_window: self.detector_window,
            ewma_alpha: self.ewma_alpha,
            detector_weights: self.detector_weights,
            feature_window: self.feature_window,
            forecaster: forecaster.name().to_owned(),
            regime: self.regime.clone(),
            feedback: self.feedback.clone(),
        };
        Ok(Scaler {
            settings,
            feedback,
            retrain: self.retrain,
            retrain_state: RetrainState::default(),
            base_thresholds: self.thresholds,
            last_severity: Severity::None,
            divergence_severity: Severity::None,
            anomalies: (0..self.schema.len())
                .map(|metric| MetricAnomaly {
                    metric,
                    detection: None,
                    severity: Severity::None,
                    actionable: false,
                })
                .collect(),
            load_index: self.schema.primary_load(),
            utilisation_index: utilisation,
            schema: self.schema,
            step_ms: (step * 1000.0).round().max(1.0) as i64,
            season_steps,
            horizon,
            forecast_level: level,
            stale_after_secs: stale_after,
            thresholds: self.thresholds,
            mode: self.mode,
            metrics,
            features,
            feature_names,
            feature_values: vec![0.0; n_features],
            forecaster,
            forecast: Forecast::new(),
            planner,
            last_ts: None,
            last_load: None,
            last_fed: None,
            ticks: 0,
            resources: vec![0.0; resource_metrics.len()],
            resource_metrics,
            regime,
        })
    }
}

/// The whole pipeline: features → fingerprint → detectors → forecast → planner → decision, one
/// tick at a time.
///
/// Feed it one [`Sample`](prescient_core::Sample)'s values per tick with [`Scaler::tick`]; it
/// returns a [`Decision`] that [`Scaler::apply`] hands to an [`Actuator`] when the host wants it
/// applied.
///
/// # The workload fingerprint
///
/// Unless built [`without_regime`](ScalerBuilder::without_regime), each tick's feature vector
/// goes to a [`RegimeMonitor`]: its fingerprint (a PCA of the recent feature vectors, refitted
/// on a schedule), a calibrated score of how far it is from recent history, and the closest
/// earlier moment with the workers it needed. The decision carries what it said
/// ([`Decision::regime`], [`Decision::explain`]); it informs, it does not change the target. A
/// forecaster that takes covariates gets the whitened fingerprint with every observation.
///
/// # Feedback, retraining and snapshots
///
/// Each tick also scores the load forecasts made earlier against the load that arrived, judges
/// how far the load strays from its forecast and utilisation from the capacity model, and keeps
/// a training history without the anomalous steps ([`Scaler::feedback_summary`]). The host may
/// report what happened after a decision ([`Scaler::feedback`]), which tunes the severity
/// thresholds. With [`ScalerBuilder::retrain`], [`Scaler::training_job`] hands out a job to run
/// off the hot path and [`Scaler::install`] takes its model if it is no worse than the live one.
/// [`Scaler::snapshot`] saves everything learned, and [`ScalerBuilder::restore`] brings it back
/// after a restart.
///
/// # Bad input and gaps
///
/// - A timestamp not after the previous tick's is rejected ([`prescient_core::Error::Duplicate`],
///   [`prescient_core::Error::OutOfOrder`]) and changes nothing.
/// - A sample with the wrong number of values is rejected
///   ([`prescient_core::Error::SchemaMismatch`]) and changes nothing.
/// - A NaN or infinite value means that metric is missing at this tick: its detectors and
///   features skip it and it learns nothing from it.
/// - The load forecaster sees the primary load on the step grid. Samples closer than half a step
///   to the last one it saw are not fed to it. Missing steps (a gap of `k` steps) are filled with
///   its own one-step forecast, so seasonal models keep their phase; gaps longer than a season
///   are filled with one season plus the remainder of the gap modulo the season, which keeps the
///   phase at bounded cost.
/// - While the load is missing, the last value is used until `stale_after_secs`; after that the
///   planner gets no load and no forecast, and holds the current count (never scaling in because
///   data vanished) unless a utilisation metric still asks for more.
pub struct Scaler {
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    settings: Settings,
    feedback: Feedback,
    retrain: Option<RetrainParams>,
    retrain_state: RetrainState,
    /// The configured thresholds; `thresholds` are these moved by the outcomes.
    base_thresholds: SeverityThresholds,
    /// The severity of the last decision, and of the last divergence.
    last_severity: Severity,
    divergence_severity: Severity,
    schema: Schema,
    load_index: usize,
    utilisation_index: Option<usize>,
    step_ms: i64,
    season_steps: usize,
    horizon: usize,
    forecast_level: f64,
    stale_after_secs: f64,
    thresholds: SeverityThresholds,
    mode: Mode,
    metrics: Vec<MetricDetectors>,
    anomalies: Vec<MetricAnomaly>,
    /// Each extractor with the position of the metric it watches, in output order.
    features: Vec<(usize, Feature)>,
    feature_names: Vec<String>,
    feature_values: Vec<f64>,
    forecaster: Box<dyn Forecaster>,
    forecast: Forecast,
    planner: Planner,
    last_ts: Option<Timestamp>,
    last_load: Option<(Timestamp, f64)>,
    last_fed: Option<Timestamp>,
    ticks: u64,
    regime: Option<RegimeMonitor>,
    /// The metrics whose values are stored with each fingerprint, and a buffer for them.
    resource_metrics: Vec<usize>,
    resources: Vec<f64>,
}

impl std::fmt::Debug for Scaler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scaler")
            .field("schema", &self.schema)
            .field("mode", &self.mode)
            .field("forecaster", &self.forecaster.name())
            .field("ticks", &self.ticks)
            .finish_non_exhaustive()
    }
}

impl Scaler {
    /// Starts building a `Scaler` for the metrics of `schema`, with workers planned by `planner`.
    pub fn builder(schema: Schema, planner: PlannerParams) -> ScalerBuilder {
        ScalerBuilder {
            schema,
            planner,
            step_secs: 15.0,
            startup_delay_secs: None,
            season_secs: 86_400.0,
            forecast_level: 0.8,
            forecaster: None,
            detector_window: 120,
            ewma_alpha: 0.05,
            detector_weights: [1.0, 1.0],
            feature_window: 20,
            thresholds: SeverityThresholds::default(),
            stale_after_secs: None,
            mode: Mode::Active,
            regime: Some(RegimeParams::default()),
            feedback: FeedbackParams::default(),
            retrain: None,
        }
    }

    /// The schema the samples follow.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Switches between active and forecast-only.
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// The planner, with its settings.
    pub fn planner(&self) -> &Planner {
        &self.planner
    }

    /// How many ticks were accepted.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The forecast steps the planner looks at: the lead time on the step grid, plus one step.
    pub fn horizon_steps(&self) -> usize {
        self.horizon
    }

    /// The season of the load, in steps.
    pub fn season_steps(&self) -> usize {
        self.season_steps
    }

    /// What the detectors said of each metric at the last tick, in schema order.
    pub fn anomalies(&self) -> &[MetricAnomaly] {
        &self.anomalies
    }

    /// The names of the features, `metric.feature`, in the order of [`Scaler::features`].
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The features after the last tick (never NaN).
    pub fn features(&self) -> &[f64] {
        &self.feature_values
    }

    /// The workload fingerprint and its regime monitor (`None` when built
    /// [`without_regime`](ScalerBuilder::without_regime)).
    pub fn regime(&self) -> Option<&RegimeMonitor> {
        self.regime.as_ref()
    }

    /// The load forecast of the last tick (empty while the forecaster warms up or the load is
    /// stale).
    pub fn last_forecast(&self) -> &Forecast {
        &self.forecast
    }

    /// Runs one tick: takes the metric values observed at `ts` (in schema order; NaN or infinite
    /// for missing) and the platform's current `pool`, and decides.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::SchemaMismatch`] for a sample of the wrong length, and
    /// [`prescient_core::Error::Duplicate`] or [`prescient_core::Error::OutOfOrder`] for a
    /// timestamp not after the previous tick's. The `Scaler` is unchanged by a rejected tick.
    ///
    /// # Example
    ///
    /// ```
    /// use prescient::{MetricRole, PlannerParams, PoolStatus, Scaler, Schema, Timestamp};
    ///
    /// let schema = Schema::builder("api").metric("rps", MetricRole::Load).build()?;
    /// let mut scaler = Scaler::builder(schema, PlannerParams::new(50.0)).build()?;
    /// let pool = PoolStatus { desired: 2, ready: 2 };
    /// let d = scaler.tick(Timestamp::from_secs(0), &[400.0], pool)?;
    /// // 400 requests/s at 70% of 50 per worker: 12 workers.
    /// assert_eq!(d.target, 12);
    /// assert!(scaler.tick(Timestamp::from_secs(0), &[400.0], pool).is_err());
    /// # Ok::<(), prescient::Error>(())
    /// ```
    pub fn tick(&mut self, ts: Timestamp, values: &[f64], pool: PoolStatus) -> Result<Decision> {
        if values.len() != self.schema.len() {
            return Err(CoreError::SchemaMismatch {
                expected: self.schema.len(),
                got: values.len(),
            }
            .into());
        }
        if let Some(last) = self.last_ts {
            if ts == last {
                return Err(CoreError::Duplicate { ts }.into());
            }
            if ts < last {
                return Err(CoreError::OutOfOrder { last, got: ts }.into());
            }
        }
        self.last_ts = Some(ts);
        self.ticks += 1;

        self.update_features(ts, values);
        // The feature vector has the monitor's length, so the update cannot fail.
        let regime = self
            .regime
            .as_mut()
            .and_then(|r| r.update(ts, &self.feature_values).ok().flatten());
        let severity = self.detect(ts, values);
        let anomalous =
            severity > Severity::None || self.anomalies[self.load_index].severity > Severity::None;
        let load = self.observe_load(ts, values[self.load_index], anomalous);
        let utilisation = self
            .utilisation_index
            .map(|i| values[i])
            .filter(|u| u.is_finite());
        self.feedback.capacity_step(
            ts,
            load,
            utilisation,
            pool.ready,
            self.planner.params().capacity(),
        );
        let mut severity = severity;
        self.divergence_severity = Severity::None;
        for d in self.feedback.divergences().into_iter().flatten() {
            let s = self.thresholds.classify(d.score);
            self.divergence_severity = self.divergence_severity.max(s);
            if self.feedback.divergence_actionable()
                && d.direction() == prescient_core::Direction::Up
            {
                severity = severity.max(s);
            }
        }
        self.last_severity = severity;

        let forecast_ready = load.is_some() && self.forecaster.is_ready();
        let forecast = if forecast_ready
            && self
                .forecaster
                .predict_inplace(self.horizon, self.forecast_level, &mut self.forecast)
                .is_ok()
            && self.forecast.is_consistent()
        {
            self.feedback.issue(&self.forecast);
            Some(&self.forecast)
        } else {
            self.forecast.reset(0, self.forecast_level);
            None
        };
        let mut decision = self.planner.plan(&PlanInput {
            ts,
            current: pool.desired,
            ready: pool.ready,
            load,
            utilisation,
            forecast,
            severity,
        });
        decision.regime = regime;
        if let Some(r) = &mut self.regime {
            for (slot, &i) in self.resources.iter_mut().zip(&self.resource_metrics) {
                *slot = values[i];
            }
            let observed = Observed {
                workers: pool.ready,
                needed: decision.reactive_need,
            };
            // Timestamps only grow here and the resources have the store's length, so this
            // cannot fail; a moment the store does not take is simply not remembered.
            let _ = r.record(ts, observed, &self.resources);
        }
        Ok(decision)
    }

    /// Takes what the host saw after the last decision (utilisation, latency, unserved demand,
    /// workers). A violation that no anomaly had flagged makes the severity thresholds more
    /// sensitive; a flagged anomaly (medium or worse) followed by no violation and spare
    /// capacity makes them less, within [`FeedbackParams::adaptation`]'s limits. Outcomes
    /// change nothing else: the next tick decides from the metrics as always.
    pub fn feedback(&mut self, outcome: &Outcome) {
        let target = self.planner.params().utilisation();
        if self.feedback.record(outcome, self.last_severity, target) {
            self.thresholds = self.feedback.thresholds(self.base_thresholds);
        }
    }

    /// The feedback loop's view: the load forecasts' accuracy (rolling MAE, MASE and interval
    /// coverage one step ahead and at the planner's horizon), the divergence of prediction
    /// and reality, the outcomes reported and the thresholds they led to, the training history.
    pub fn feedback_summary(&self) -> FeedbackSummary {
        self.feedback
            .summary(self.thresholds, self.divergence_severity)
    }

    /// The load forecasts' accuracy one step ahead and at the planner's horizon (as in
    /// [`Scaler::feedback_summary`], without allocating): `None` before the first forecast of
    /// that horizon is scored.
    pub fn forecast_accuracy(&self) -> [Option<prescient_forecast::Accuracy>; 2] {
        [self.feedback.accuracy_of(0), self.feedback.accuracy_of(1)]
    }

    /// The divergences of the last tick: the load from its forecast, and utilisation from the
    /// capacity model (see [`FeedbackSummary`]), and their combined severity.
    pub fn divergences(&self) -> ([Option<prescient_core::Detection>; 2], Severity) {
        (self.feedback.divergences(), self.divergence_severity)
    }

    /// How far reported outcomes have moved the severity thresholds (1: not at all; see
    /// [`FeedbackSummary::threshold_factor`]).
    pub fn threshold_factor(&self) -> f64 {
        self.feedback.factor()
    }

    /// The severity thresholds in use: the configured ones, moved by the outcomes reported.
    pub fn severity_thresholds(&self) -> SeverityThresholds {
        self.thresholds
    }

    /// Whether the load forecaster should be retrained now, and why: the schedule, a drift of
    /// its one-step error past the ratio set, or a regime change (with at least the hold-out's
    /// steps since the last job, so that one change does not start a job per tick). `None`
    /// without [`ScalerBuilder::retrain`] or while the history is shorter than its minimum.
    pub fn retrain_due(&self) -> Option<RetrainReason> {
        let r = self.retrain.as_ref()?;
        let st = &self.retrain_state;
        if self.feedback.history.values.len() < r.min_history {
            return None;
        }
        let settled = st.since_job >= r.holdout as u64;
        let regime_alert = self
            .regime
            .as_ref()
            .and_then(|m| m.last())
            .is_some_and(|n| n.alert);
        if r.on_regime_change && regime_alert && settled {
            return Some(RetrainReason::Regime);
        }
        if let (Some(ratio), Some(base), Some(now)) =
            (r.drift_ratio, st.baseline_mae, self.feedback.one_step_mae())
        {
            if settled && now > ratio * base {
                return Some(RetrainReason::Drift);
            }
        }
        r.every_steps
            .filter(|&e| st.since_job >= e)
            .map(|_| RetrainReason::Scheduled)
    }

    /// A retraining job on a copy of the training history (the load on the step grid,
    /// anomalous stretches excluded), for the host to run off the hot path: on a thread of its
    /// own, say, while ticks go on; hand its result to [`Scaler::install`]. Costs a copy of
    /// the history (about 1 MB for 14 days of 15 s steps).
    ///
    /// `reason` is [`Scaler::retrain_due`]'s, or [`RetrainReason::Requested`].
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::Unsupported`] without [`ScalerBuilder::retrain`] or for a
    /// forecaster that takes covariates (its history would need them), and
    /// [`prescient_core::Error::NotEnoughData`] while the history is shorter than the minimum.
    pub fn training_job(&mut self, reason: RetrainReason) -> Result<TrainingJob> {
        let Some(r) = &self.retrain else {
            return Err(CoreError::Unsupported("no RetrainParams were given".into()).into());
        };
        if self.forecaster.covariates() > 0 {
            return Err(CoreError::Unsupported(
                "retraining a forecaster that takes covariates".into(),
            )
            .into());
        }
        let h = &self.feedback.history;
        if h.values.len() < r.min_history {
            return Err(CoreError::NotEnoughData {
                needed: r.min_history,
                got: h.values.len(),
            }
            .into());
        }
        let job = TrainingJob {
            method: r.method.clone(),
            history: h.values.iter().copied().collect(),
            live_errors: h.errors.iter().copied().collect(),
            end: h.end,
            end_ts: self.last_fed.unwrap_or_default(),
            step_ms: self.step_ms,
            holdout: r.holdout,
            tolerance: r.tolerance,
            reason,
        };
        self.retrain_state.since_job = 0;
        self.retrain_state.jobs += 1;
        Ok(job)
    }

    /// Installs a retrained model if its job found it no worse than the live model, after
    /// feeding it the steps observed since the job's history ended (excluded steps as its own
    /// one-step forecasts). The installed model's hold-out error becomes the baseline of
    /// drift.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::InvalidParam`] when the model is not of the live forecaster's
    /// type (a snapshot could not restore it); nothing changes.
    pub fn install(&mut self, trained: TrainedModel) -> Result<InstallOutcome> {
        if trained.model.name() != self.forecaster.name() {
            return Err(CoreError::InvalidParam {
                name: "forecaster",
                reason: format!(
                    "the retrained model is a `{}`, the live one a `{}`",
                    trained.model.name(),
                    self.forecaster.name()
                ),
            }
            .into());
        }
        if !trained.accepted {
            self.retrain_state.rejected += 1;
            return Ok(InstallOutcome::Rejected);
        }
        let h = &self.feedback.history;
        if trained.end < h.start() || trained.end > h.end {
            self.retrain_state.rejected += 1;
            return Ok(InstallOutcome::Stale);
        }
        let mut model = trained.model;
        let newest = self.last_fed.unwrap_or(trained.end_ts);
        let mut one = Forecast::new();
        for idx in trained.end..h.end {
            let Some(&y) = h.values.get((idx - h.start()) as usize) else {
                break;
            };
            let age = (h.end - 1 - idx) as i64;
            let ts = Timestamp::from_millis(
                newest
                    .as_millis()
                    .saturating_sub(self.step_ms.saturating_mul(age)),
            );
            let y = if y.is_finite() {
                Some(y)
            } else if model.is_ready() && model.predict_inplace(1, 0.5, &mut one).is_ok() {
                one.point.first().copied().filter(|p| p.is_finite())
            } else {
                None
            };
            if let Some(y) = y {
                let _ = model.update(ts, y);
            }
        }
        let caught_up = h.end - trained.end;
        self.forecaster = model;
        self.retrain_state.baseline_mae = trained.candidate_mae;
        self.retrain_state.installed += 1;
        Ok(InstallOutcome::Installed { caught_up })
    }

    fn update_features(&mut self, ts: Timestamp, values: &[f64]) {
        let mut offset = 0;
        for (metric, e) in &mut self.features {
            let e = e.get_mut();
            e.update(ts, values[*metric]);
            let len = e.len();
            e.extract_inplace(&mut self.feature_values[offset..offset + len]);
            offset += len;
        }
    }

    /// Runs every metric's detectors and returns the severity of the actionable anomalies,
    /// corrected for the number of metrics.
    fn detect(&mut self, ts: Timestamp, values: &[f64]) -> Severity {
        let specs = self.schema.metrics();
        for (i, md) in self.metrics.iter_mut().enumerate() {
            let x = values[i];
            let scores = [md.zscore.update(ts, x), md.ewma.update(ts, x)];
            let detection = md.ensemble.combine(&scores);
            let actionable = detection.is_some_and(|d| {
                specs[i].role.is_pressure_upwards()
                    && d.direction() == prescient_core::Direction::Up
            });
            self.anomalies[i] = MetricAnomaly {
                metric: i,
                detection,
                severity: detection.map_or(Severity::None, |d| self.thresholds.classify(d.score)),
                actionable,
            };
        }
        let combined = combine_metrics(self.anomalies.iter().map(|a| match a.detection {
            Some(d) if a.actionable => d.score,
            _ => Score::ZERO,
        }));
        self.thresholds.classify(combined)
    }

    /// Feeds the primary load to the forecaster on the step grid and returns the load the
    /// planner should use now.
    fn observe_load(&mut self, ts: Timestamp, x: f64, anomalous: bool) -> Option<f64> {
        if x.is_finite() {
            let steps = self.last_fed.map_or(1, |t| {
                let elapsed = ts.as_millis().saturating_sub(t.as_millis());
                elapsed.saturating_add(self.step_ms / 2) / self.step_ms
            });
            if steps >= 1 {
                self.fill_gap(ts, steps as u64 - 1);
                if self.feed(ts, x).is_ok() {
                    self.last_fed = Some(ts);
                    let low = self.thresholds.values().0;
                    self.feedback.step(ts, Some(x), anomalous, low);
                    self.retrain_state.since_job += 1;
                }
            }
            self.last_load = Some((ts, x));
            return Some(x);
        }
        match self.last_load {
            Some((t, v)) if ts.secs_since(t) <= self.stale_after_secs => Some(v),
            _ => None,
        }
    }

    /// Feeds `y` to the forecaster, with the fingerprint as covariates when it takes them (the
    /// current one also for the steps of a gap, which have no fingerprint of their own).
    fn feed(&mut self, ts: Timestamp, y: f64) -> prescient_core::Result<()> {
        match &self.regime {
            Some(r) if self.forecaster.covariates() > 0 => {
                self.forecaster
                    .update_with_covariates(ts, y, r.covariates())
            }
            _ => self.forecaster.update(ts, y),
        }
    }

    fn fill_gap(&mut self, ts: Timestamp, missing: u64) {
        if missing == 0 {
            return;
        }
        let season = self.season_steps as u64;
        let fills = if missing <= season {
            missing
        } else {
            season + missing % season
        };
        let mut one = Forecast::new();
        for k in 0..fills {
            let fill = match self.forecaster.predict_inplace(1, 0.5, &mut one) {
                Ok(()) if one.point.first().is_some_and(|p| p.is_finite()) => one.point[0],
                _ => match self.last_load {
                    Some((_, v)) => v,
                    None => return,
                },
            };
            let at = Timestamp::from_millis(
                ts.as_millis()
                    .saturating_sub(self.step_ms.saturating_mul((fills - k) as i64)),
            );
            if self.feed(at, fill).is_err() {
                return;
            }
            self.feedback.step(at, None, true, 1.0);
            self.retrain_state.since_job += 1;
        }
    }

    /// Why `decision` is not handed to the actuator, if it is not.
    fn skip(&self, decision: &Decision) -> Option<ApplyOutcome> {
        if self.mode == Mode::ForecastOnly {
            Some(ApplyOutcome::ForecastOnly)
        } else if !decision.is_change() {
            Some(ApplyOutcome::Unchanged)
        } else {
            None
        }
    }

    /// Applies `decision` through `actuator`, unless the `Scaler` is forecast-only or the
    /// decision changes nothing.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Actuate`] when the actuator fails; the platform may not have changed, and
    /// the next tick decides again from the pool status the host reports.
    pub fn apply<A: Actuator + ?Sized>(
        &mut self,
        decision: &Decision,
        actuator: &mut A,
    ) -> Result<ApplyOutcome> {
        if let Some(skipped) = self.skip(decision) {
            return Ok(skipped);
        }
        let applied = actuator.scale(decision.ts, decision)?;
        Ok(ApplyOutcome::Scaled {
            target: applied.target,
        })
    }

    /// [`Scaler::apply`] for an [`AsyncActuator`], in a tokio (or any) async host.
    ///
    /// # Errors
    ///
    /// As [`Scaler::apply`].
    pub async fn apply_async<A: AsyncActuator>(
        &mut self,
        decision: &Decision,
        actuator: &mut A,
    ) -> Result<ApplyOutcome> {
        if let Some(skipped) = self.skip(decision) {
            return Ok(skipped);
        }
        let applied = actuator.scale(decision.ts, decision).await?;
        Ok(ApplyOutcome::Scaled {
            target: applied.target,
        })
    }
}
