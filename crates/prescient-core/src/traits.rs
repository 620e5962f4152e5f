use crate::{Direction, Forecast, Result, Score, Timestamp};

/// A streaming feature extractor over one metric.
///
/// `update` takes the next finite value; `extract_inplace` writes the current features. An
/// extractor keeps bounded memory, whatever the length of the stream.
pub trait FeatureExtractor: Send {
    /// The names of the features, in output order.
    fn names(&self) -> Vec<String>;

    /// How many features `extract_inplace` writes.
    fn len(&self) -> usize;

    /// Whether the extractor writes no features at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the value `x` observed at `ts`. Non-finite values are ignored: the state is left as
    /// it was.
    fn update(&mut self, ts: Timestamp, x: f64);

    /// Writes the current features into `out[..self.len()]`.
    ///
    /// Before any value arrived every feature is 0; no feature is ever NaN.
    ///
    /// # Panics
    ///
    /// If `out` is shorter than [`FeatureExtractor::len`].
    fn extract_inplace(&self, out: &mut [f64]);

    /// The current features, in a new vector.
    fn extract(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.len()];
        self.extract_inplace(&mut out);
        out
    }

    /// Forgets everything seen.
    fn reset(&mut self);
}

/// What a detector says of one point.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Detection {
    /// The calibrated score (see [`Score`]).
    pub score: Score,
    /// The signed, standardised deviation from the expectation (a z-score for the statistical
    /// detectors): its sign tells the direction, its size the strength.
    pub deviation: f64,
}

impl Detection {
    /// Which way the point deviated.
    pub fn direction(&self) -> Direction {
        Direction::of(self.deviation)
    }
}

/// A streaming anomaly detector over one metric.
///
/// `update` scores a point against what came *before* it, then learns from it: a point's score
/// never depends on later points, so what a replay scores is what a live service would have seen.
pub trait Detector: Send {
    /// A short name for reports (`"zscore"`, `"ewma"`).
    fn name(&self) -> &'static str;

    /// Scores `x`, observed at `ts`, then learns from it.
    ///
    /// Returns `None` while the detector is still warming up, and for a non-finite `x` (which is
    /// not learned from either).
    fn update(&mut self, ts: Timestamp, x: f64) -> Option<Detection>;

    /// Forgets everything seen.
    fn reset(&mut self);
    /// What the detector has learned, encoded for a snapshot ([`crate::snapshot`]): its whole
    /// state, settings included, so that [`load_state`](Self::load_state) on a detector of the same
    /// type makes it compute exactly what this one would.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Unsupported`] (the default) for a detector that cannot be saved.
    fn save_state(&self) -> Result<Vec<u8>> {
        Err(crate::Error::Unsupported(format!(
            "`{}` cannot be saved in a snapshot",
            self.name()
        )))
    }

    /// Replaces this detector's state with one that [`save_state`](Self::save_state) wrote on a
    /// detector of the same type.
    ///
    /// # Errors
    ///
    /// [`crate::Error::CorruptSnapshot`] when `state` does not decode, and
    /// [`crate::Error::Unsupported`] (the default) for a detector that cannot be restored; the
    /// detector is unchanged on error.
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        let _ = state;
        Err(crate::Error::Unsupported(format!(
            "`{}` cannot be restored from a snapshot",
            self.name()
        )))
    }
}

/// A streaming anomaly detector over feature vectors of a fixed dimension (several metrics, or
/// the features of one metric, at one instant).
///
/// The contract is [`Detector`]'s: `update` scores a vector against what came *before* it, then
/// learns from it. A multivariate detector's [`Detection::deviation`] is its raw anomaly statistic
/// (larger is more anomalous; it has no direction), and its [`Detection::score`] maps that
/// statistic onto `[0, 1]`.
pub trait VectorDetector: Send {
    /// A short name for reports (`"iforest"`, `"ocsvm"`).
    fn name(&self) -> &'static str;

    /// The dimension of the vectors this detector takes.
    fn dim(&self) -> usize;

    /// Scores `x`, observed at `ts`, then learns from it.
    ///
    /// Returns `Ok(None)` while the detector is still warming up, and for a vector with a
    /// non-finite entry (which is not learned from either).
    ///
    /// # Errors
    ///
    /// [`crate::Error::SchemaMismatch`] when `x.len()` is not [`VectorDetector::dim`]; the state
    /// is left as it was.
    fn update(&mut self, ts: Timestamp, x: &[f64]) -> Result<Option<Detection>>;

    /// Forgets everything seen.
    fn reset(&mut self);
    /// What the detector has learned, encoded for a snapshot ([`crate::snapshot`]): its whole
    /// state, settings included, so that [`load_state`](Self::load_state) on a detector of the same
    /// type makes it compute exactly what this one would.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Unsupported`] (the default) for a detector that cannot be saved.
    fn save_state(&self) -> Result<Vec<u8>> {
        Err(crate::Error::Unsupported(format!(
            "`{}` cannot be saved in a snapshot",
            self.name()
        )))
    }

    /// Replaces this detector's state with one that [`save_state`](Self::save_state) wrote on a
    /// detector of the same type.
    ///
    /// # Errors
    ///
    /// [`crate::Error::CorruptSnapshot`] when `state` does not decode, and
    /// [`crate::Error::Unsupported`] (the default) for a detector that cannot be restored; the
    /// detector is unchanged on error.
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        let _ = state;
        Err(crate::Error::Unsupported(format!(
            "`{}` cannot be restored from a snapshot",
            self.name()
        )))
    }
}

/// A streaming forecaster of one series observed at a regular step.
///
/// `update` takes the next observation, one step after the previous one; `predict_inplace` then
/// forecasts the following `horizon` steps.
pub trait Forecaster: Send {
    /// A short name for reports (`"seasonal_naive"`, `"holt_winters"`).
    fn name(&self) -> &'static str;

    /// Takes the observation `y` made at `ts`, one step after the previous one.
    ///
    /// # Errors
    ///
    /// [`crate::Error::NonFinite`] when `y` is NaN or infinite; the state is left as it was.
    fn update(&mut self, ts: Timestamp, y: f64) -> Result<()>;

    /// How many covariates per step the model takes (0 for most models): values known at each
    /// step besides the series itself, such as a workload fingerprint.
    fn covariates(&self) -> usize {
        0
    }

    /// Takes the observation `y` made at `ts` with the `covariates` of its step.
    ///
    /// A model that takes no covariates ignores them: the default calls
    /// [`Forecaster::update`], so a host can feed every model the same way.
    ///
    /// # Errors
    ///
    /// As [`Forecaster::update`], and [`crate::Error::InvalidParam`] when a model that takes
    /// covariates gets the wrong number or a non-finite one; the state is left as it was.
    fn update_with_covariates(&mut self, ts: Timestamp, y: f64, covariates: &[f64]) -> Result<()> {
        let _ = covariates;
        self.update(ts, y)
    }

    /// Whether the model has seen enough to forecast.
    fn is_ready(&self) -> bool;

    /// Forecasts `horizon` steps with intervals of coverage `level`, into `out`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::NotReady`] before the model is ready, and [`crate::Error::InvalidParam`]
    /// for a zero horizon or a `level` outside `(0, 1)`.
    fn predict_inplace(&self, horizon: usize, level: f64, out: &mut Forecast) -> Result<()>;

    /// Forecasts `horizon` steps with intervals of coverage `level`.
    ///
    /// # Errors
    ///
    /// As [`Forecaster::predict_inplace`].
    fn predict(&self, horizon: usize, level: f64) -> Result<Forecast> {
        let mut out = Forecast::new();
        self.predict_inplace(horizon, level, &mut out)?;
        Ok(out)
    }

    /// Forgets everything seen (fitted parameters may be kept).
    fn reset(&mut self);
    /// What the model has learned, encoded for a snapshot ([`crate::snapshot`]): its whole
    /// state, settings included, so that [`load_state`](Self::load_state) on a model of the same
    /// type makes it compute exactly what this one would.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Unsupported`] (the default) for a model that cannot be saved.
    fn save_state(&self) -> Result<Vec<u8>> {
        Err(crate::Error::Unsupported(format!(
            "`{}` cannot be saved in a snapshot",
            self.name()
        )))
    }

    /// Replaces this model's state with one that [`save_state`](Self::save_state) wrote on a
    /// model of the same type.
    ///
    /// # Errors
    ///
    /// [`crate::Error::CorruptSnapshot`] when `state` does not decode, and
    /// [`crate::Error::Unsupported`] (the default) for a model that cannot be restored; the
    /// model is unchanged on error.
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        let _ = state;
        Err(crate::Error::Unsupported(format!(
            "`{}` cannot be restored from a snapshot",
            self.name()
        )))
    }
}

/// A forecasting method: the settings of a model, which fit a [`Forecaster`] on a history.
///
/// Every model of `prescient-forecast` has one (its `…Params` type), so that a command line, an
/// ensemble or a backtest can hold "a model to fit" without knowing which. The fitted model
/// forecasts from one step after the history's last value and takes later observations
/// through [`Forecaster::update`].
pub trait ForecastMethod: Send + Sync {
    /// A short name for reports (`"arima"`, `"ets"`).
    fn name(&self) -> &'static str;

    /// Fits a model on `history`: equally spaced values, oldest first.
    ///
    /// # Errors
    ///
    /// [`crate::Error::NotEnoughData`] when the history is too short for the method, and
    /// [`crate::Error::NonFinite`] for a non-finite value the method cannot treat as a gap.
    fn fit(&self, history: &[f64]) -> Result<Box<dyn Forecaster>>;
}

// Boxed models are models too, so that a wrapper generic over a model also takes the boxed,
// user-chosen one.
impl<T: Detector + ?Sized> Detector for Box<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn update(&mut self, ts: Timestamp, x: f64) -> Option<Detection> {
        (**self).update(ts, x)
    }
    fn reset(&mut self) {
        (**self).reset();
    }
    fn save_state(&self) -> Result<Vec<u8>> {
        (**self).save_state()
    }
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        (**self).load_state(state)
    }
}

impl<T: VectorDetector + ?Sized> VectorDetector for Box<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn update(&mut self, ts: Timestamp, x: &[f64]) -> Result<Option<Detection>> {
        (**self).update(ts, x)
    }
    fn reset(&mut self) {
        (**self).reset();
    }
    fn save_state(&self) -> Result<Vec<u8>> {
        (**self).save_state()
    }
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        (**self).load_state(state)
    }
}

impl<T: ForecastMethod + ?Sized> ForecastMethod for Box<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn fit(&self, history: &[f64]) -> Result<Box<dyn Forecaster>> {
        (**self).fit(history)
    }
}

impl<T: Forecaster + ?Sized> Forecaster for Box<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn update(&mut self, ts: Timestamp, y: f64) -> Result<()> {
        (**self).update(ts, y)
    }
    fn covariates(&self) -> usize {
        (**self).covariates()
    }
    fn update_with_covariates(&mut self, ts: Timestamp, y: f64, covariates: &[f64]) -> Result<()> {
        (**self).update_with_covariates(ts, y, covariates)
    }
    fn is_ready(&self) -> bool {
        (**self).is_ready()
    }
    fn predict_inplace(&self, horizon: usize, level: f64, out: &mut Forecast) -> Result<()> {
        (**self).predict_inplace(horizon, level, out)
    }
    fn reset(&mut self) {
        (**self).reset();
    }
    fn save_state(&self) -> Result<Vec<u8>> {
        (**self).save_state()
    }
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        (**self).load_state(state)
    }
}

/// Checks a forecast request's horizon and level, as every [`Forecaster`] must.
///
/// # Errors
///
/// [`crate::Error::InvalidParam`] for a zero horizon or a `level` outside `(0, 1)`.
pub fn check_forecast_request(horizon: usize, level: f64) -> Result<()> {
    if horizon == 0 {
        return Err(crate::Error::InvalidParam {
            name: "horizon",
            reason: "must be at least 1".into(),
        });
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(crate::Error::InvalidParam {
            name: "level",
            reason: format!("must be in (0, 1), got {level}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_object_safe(
        _: &[Box<dyn Detector>],
        _: &[Box<dyn VectorDetector>],
        _: &[Box<dyn Forecaster>],
        _: &[Box<dyn FeatureExtractor>],
    ) {
    }

    #[test]
    fn traits_are_object_safe() {
        assert_object_safe(&[], &[], &[], &[]);
    }

    #[test]
    fn forecast_request_is_checked() {
        assert!(check_forecast_request(0, 0.8).is_err());
        assert!(check_forecast_request(1, 1.0).is_err());
        assert!(check_forecast_request(1, f64::NAN).is_err());
        assert!(check_forecast_request(3, 0.95).is_ok());
    }
}
