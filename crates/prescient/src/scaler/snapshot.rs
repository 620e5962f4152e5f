//! Snapshots of a `Scaler`: everything it has learned, as bytes that survive a restart.

use prescient_core::snapshot::{decode, encode, open, seal};
use prescient_core::{Error as CoreError, Forecast, Severity, Timestamp};
use prescient_plan::Planner;

use super::{Feature, MetricAnomaly, MetricDetectors, Scaler, ScalerBuilder, Settings};
use crate::Result;
use crate::feedback::Feedback;
use crate::retrain::RetrainState;

/// The kind of a `Scaler`'s snapshot in the envelope.
const KIND: &str = "scaler";

/// A `Scaler` as it is written. The field order is the layout: [`Loaded`] reads the same
/// fields in the same order.
#[derive(serde::Serialize)]
struct Saving<'a> {
    settings: &'a Settings,
    ticks: u64,
    last_ts: Option<Timestamp>,
    last_load: Option<(Timestamp, f64)>,
    last_fed: Option<Timestamp>,
    metrics: &'a [MetricDetectors],
    anomalies: &'a [MetricAnomaly],
    features: &'a [(usize, Feature)],
    feature_values: &'a [f64],
    forecaster: Vec<u8>,
    forecast: &'a Forecast,
    planner: &'a Planner,
    regime: Option<Vec<u8>>,
    feedback: &'a Feedback,
    retrain: RetrainState,
    last_severity: Severity,
    divergence_severity: Severity,
}

/// A `Scaler` as it is read: [`Saving`]'s fields, owned.
#[derive(serde::Deserialize)]
struct Loaded {
    settings: Settings,
    ticks: u64,
    last_ts: Option<Timestamp>,
    last_load: Option<(Timestamp, f64)>,
    last_fed: Option<Timestamp>,
    metrics: Vec<MetricDetectors>,
    anomalies: Vec<MetricAnomaly>,
    features: Vec<(usize, Feature)>,
    feature_values: Vec<f64>,
    forecaster: Vec<u8>,
    forecast: Forecast,
    planner: Planner,
    regime: Option<Vec<u8>>,
    feedback: Feedback,
    retrain: RetrainState,
    last_severity: Severity,
    divergence_severity: Severity,
}

impl Scaler {
    /// Saves everything the `Scaler` has learned: the detectors' windows and control charts,
    /// the features, the forecaster's fitted state, the planner's stabilisation window and
    /// cooldown, the workload fingerprint (its history, fits, store and regime detectors), the
    /// last tick's time and load. Restore it with [`ScalerBuilder::restore`]: the restored
    /// `Scaler` makes exactly the decisions this one would have made.
    ///
    /// The bytes are the envelope of [`prescient_core::snapshot`] (a magic number, the format
    /// version, a length and a CRC-32) around the encoded state. Take a snapshot between
    /// ticks, off the hot path: it costs about as much as copying the state (see
    /// `docs/BENCHMARKS.md`), and the `Scaler` is not changed by it.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::Unsupported`] when the forecaster (or a regime detector)
    /// cannot be saved: the models of `prescient-forecast` can, but for MSTL, Prophet and the
    /// ensemble, which hold models of other crates.
    ///
    /// # Example
    ///
    /// ```
    /// use prescient::{MetricRole, PlannerParams, PoolStatus, Scaler, Schema, Timestamp};
    ///
    /// let build = || {
    ///     let schema = Schema::builder("api").metric("rps", MetricRole::Load).build()?;
    ///     Ok::<_, prescient::Error>(Scaler::builder(schema, PlannerParams::new(50.0)))
    /// };
    /// let mut scaler = build()?.build()?;
    /// let pool = PoolStatus { desired: 2, ready: 2 };
    /// for i in 0..100 {
    ///     scaler.tick(Timestamp::from_secs(15 * i), &[300.0 + (i % 7) as f64], pool)?;
    /// }
    /// let saved = scaler.snapshot()?;
    /// // After a restart: the same settings, then the snapshot.
    /// let mut restored = build()?.restore(&saved)?;
    /// let next = Timestamp::from_secs(1500);
    /// assert_eq!(
    ///     restored.tick(next, &[420.0], pool)?,
    ///     scaler.tick(next, &[420.0], pool)?,
    /// );
    /// # Ok::<(), prescient::Error>(())
    /// ```
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        let forecaster = self.forecaster.save_state()?;
        let regime = match &self.regime {
            Some(r) => Some(r.save_state()?),
            None => None,
        };
        let payload = encode(&Saving {
            settings: &self.settings,
            ticks: self.ticks,
            last_ts: self.last_ts,
            last_load: self.last_load,
            last_fed: self.last_fed,
            metrics: &self.metrics,
            anomalies: &self.anomalies,
            features: &self.features,
            feature_values: &self.feature_values,
            forecaster,
            forecast: &self.forecast,
            planner: &self.planner,
            regime,
            feedback: &self.feedback,
            retrain: self.retrain_state,
            last_severity: self.last_severity,
            divergence_severity: self.divergence_severity,
        })?;
        Ok(seal(KIND, &payload)?)
    }
}

impl ScalerBuilder {
    /// Builds the `Scaler` (as [`ScalerBuilder::build`]) and restores `snapshot` into it, a
    /// snapshot that [`Scaler::snapshot`] took of a `Scaler` built with the same settings.
    ///
    /// What shapes the learned state must be the same: the schema, the step, the season, the
    /// horizon (lead time), the detector and feature windows, the EWMA's smoothing, the
    /// ensemble's weights, the forecaster's type, the fingerprint's and the feedback loop's
    /// settings. The rest comes
    /// from this builder and may change across a restart: the planner's settings (bounds, step
    /// limits, capacity; see [`Planner::adopt_state`]), the severity thresholds, the forecast
    /// level, the staleness limit and the mode. The forecaster passed to
    /// [`ScalerBuilder::forecaster`] only gives the type: its state is the snapshot's.
    ///
    /// A failed restore leaves nothing behind: the host keeps whatever `Scaler` it had, or
    /// builds a fresh one.
    ///
    /// # Errors
    ///
    /// As [`ScalerBuilder::build`]; [`prescient_core::Error::CorruptSnapshot`] for bytes that
    /// are not a snapshot, are cut short or fail their checksum;
    /// [`prescient_core::Error::IncompatibleSnapshot`] for a snapshot of another format
    /// version, or of a `Scaler` built with other settings (the error names the first that
    /// differs); and [`prescient_core::Error::Unsupported`] for a forecaster that cannot be
    /// restored.
    pub fn restore(self, snapshot: &[u8]) -> Result<Scaler> {
        let mut scaler = self.build()?;
        let loaded: Loaded = decode(open(KIND, snapshot)?)?;
        check_settings(&loaded.settings, &scaler.settings)?;
        check_shape(&loaded, &scaler)?;
        scaler.forecaster.load_state(&loaded.forecaster)?;
        match (&mut scaler.regime, &loaded.regime) {
            (Some(r), Some(state)) => r.load_state(state)?,
            (None, None) => {}
            // The settings compared equal, so both have a fingerprint or neither has.
            _ => {
                return Err(incompatible(
                    "the workload fingerprint is on in one and off in the other".into(),
                ));
            }
        }
        scaler.ticks = loaded.ticks;
        scaler.last_ts = loaded.last_ts;
        scaler.last_load = loaded.last_load;
        scaler.last_fed = loaded.last_fed;
        scaler.metrics = loaded.metrics;
        scaler.anomalies = loaded.anomalies;
        scaler.features = loaded.features;
        scaler.feature_values = loaded.feature_values;
        scaler.forecast = loaded.forecast;
        scaler.planner.adopt_state(loaded.planner);
        scaler.feedback = loaded.feedback;
        // The outcomes' adjustment applies to this builder's thresholds.
        scaler.thresholds = scaler.feedback.thresholds(scaler.base_thresholds);
        scaler.retrain_state = loaded.retrain;
        scaler.last_severity = loaded.last_severity;
        scaler.divergence_severity = loaded.divergence_severity;
        Ok(scaler)
    }
}

fn incompatible(reason: String) -> crate::Error {
    CoreError::IncompatibleSnapshot(reason).into()
}

/// Names the first setting that differs.
fn check_settings(saved: &Settings, built: &Settings) -> Result<()> {
    let differs = |name: &str, a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| {
        incompatible(format!(
            "the snapshot's {name} is {a:?}, this Scaler's is {b:?}"
        ))
    };
    macro_rules! same {
        ($($field:ident),*) => {$(
            if saved.$field != built.$field {
                return Err(differs(stringify!($field), &saved.$field, &built.$field));
            }
        )*};
    }
    same!(
        schema,
        step_ms,
        season_steps,
        horizon,
        detector_window,
        ewma_alpha,
        detector_weights,
        feature_window,
        forecaster,
        regime,
        feedback
    );
    Ok(())
}

/// The decoded parts have the lengths and kinds the settings imply (a snapshot whose checksum
/// holds was written by a `Scaler` with these settings, so this only fails on a bug).
fn check_shape(loaded: &Loaded, scaler: &Scaler) -> Result<()> {
    let same_features = loaded.features.len() == scaler.features.len()
        && loaded
            .features
            .iter()
            .zip(&scaler.features)
            .all(|((i, a), (j, b))| {
                i == j && std::mem::discriminant(a) == std::mem::discriminant(b)
            });
    if loaded.metrics.len() != scaler.metrics.len()
        || loaded.anomalies.len() != scaler.anomalies.len()
        || loaded.feature_values.len() != scaler.feature_values.len()
        || !same_features
    {
        return Err(incompatible(
            "the detectors or features do not match the schema".into(),
        ));
    }
    Ok(())
}
