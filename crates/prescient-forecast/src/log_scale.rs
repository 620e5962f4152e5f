//! Any model on the log scale: fitted to `ln y`, its forecasts exponentiated back.

use prescient_core::{Error, Forecast, ForecastMethod, Forecaster, Result, Timestamp};

/// Fits the wrapped method to the logarithm of a strictly positive history, so that an
/// additive model becomes a multiplicative one (a daily swing proportional to the level, as in
/// most load series).
///
/// A history with a value ≤ 0 is fitted on the original scale instead, and the fitted model
/// then stays on that scale. Forecasts and interval ends are exponentiated back: the point
/// forecast is then the median of the forecast distribution, not its mean, which is what the
/// absolute-error measures (sMAPE, MASE) reward.
///
/// # Example
///
/// ```
/// use prescient_core::ForecastMethod;
/// use prescient_forecast::{HoltWinters, LogScale};
///
/// let y: Vec<f64> = (0..24 * 10)
///     .map(|t| (100.0 + t as f64) * (1.0 + 0.5 * (t as f64 * std::f64::consts::TAU / 24.0).sin()))
///     .collect();
/// let model = LogScale::new(HoltWinters::params(Some(24)).damped(true)).fit(&y)?;
/// let f = model.predict(24, 0.95)?;
/// assert!(f.point.iter().all(|v| *v > 0.0));
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LogScale<M> {
    inner: M,
    name: &'static str,
}

impl<M: ForecastMethod> LogScale<M> {
    /// `inner` on the log scale, reported under `inner`'s name.
    pub fn new(inner: M) -> Self {
        let name = inner.name();
        LogScale { inner, name }
    }

    /// The same, reported under `name`.
    pub fn named(inner: M, name: &'static str) -> Self {
        LogScale { inner, name }
    }
}

impl<M: ForecastMethod> ForecastMethod for LogScale<M> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn fit(&self, history: &[f64]) -> Result<Box<dyn Forecaster>> {
        let y = crate::history::fill_gaps(history)?;
        let log = y.iter().all(|v| *v > 0.0);
        let inner = if log {
            let ln: Vec<f64> = y.iter().map(|v| v.ln()).collect();
            self.inner.fit(&ln)?
        } else {
            self.inner.fit(&y)?
        };
        Ok(Box::new(LogForecaster {
            inner,
            log,
            name: self.name,
            seen: y.len(),
        }))
    }
}

/// A model fitted by [`LogScale`].
///
/// `update` passes `ln y` on to the wrapped model; a value ≤ 0 on the log scale is an
/// [`Error::NonFinite`] (its logarithm is not finite) and leaves the model as it was.
pub struct LogForecaster {
    inner: Box<dyn Forecaster>,
    log: bool,
    name: &'static str,
    seen: usize,
}

impl std::fmt::Debug for LogForecaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogForecaster")
            .field("inner", &self.inner.name())
            .field("log", &self.log)
            .field("seen", &self.seen)
            .finish()
    }
}

impl LogForecaster {
    /// Whether the model works on the log scale (false when the history had a value ≤ 0).
    pub fn is_log(&self) -> bool {
        self.log
    }
}

impl Forecaster for LogForecaster {
    fn name(&self) -> &'static str {
        self.name
    }

    fn update(&mut self, ts: Timestamp, y: f64) -> Result<()> {
        let v = if self.log { y.ln() } else { y };
        if !v.is_finite() {
            return Err(Error::NonFinite { index: self.seen });
        }
        self.inner.update(ts, v)?;
        self.seen += 1;
        Ok(())
    }

    fn covariates(&self) -> usize {
        self.inner.covariates()
    }

    fn update_with_covariates(&mut self, ts: Timestamp, y: f64, covariates: &[f64]) -> Result<()> {
        let v = if self.log { y.ln() } else { y };
        if !v.is_finite() {
            return Err(Error::NonFinite { index: self.seen });
        }
        self.inner.update_with_covariates(ts, v, covariates)?;
        self.seen += 1;
        Ok(())
    }

    fn is_ready(&self) -> bool {
        self.inner.is_ready()
    }

    fn predict_inplace(&self, horizon: usize, level: f64, out: &mut Forecast) -> Result<()> {
        self.inner.predict_inplace(horizon, level, out)?;
        if self.log {
            for (i, v) in out
                .point
                .iter_mut()
                .chain(out.lower.iter_mut())
                .chain(out.upper.iter_mut())
                .enumerate()
            {
                *v = v.exp();
                if !v.is_finite() {
                    return Err(Error::NonFinite {
                        index: i % horizon.max(1),
                    });
                }
            }
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.inner.reset();
    }

    /// The wrapped model's state (saved by the model itself), with the scale and the count
    /// of observations.
    #[cfg(feature = "serde")]
    fn save_state(&self) -> Result<Vec<u8>> {
        let inner = self.inner.save_state()?;
        prescient_core::snapshot::encode(&(self.inner.name(), self.log, self.seen, inner))
    }

    #[cfg(feature = "serde")]
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        let (name, log, seen, inner): (String, bool, usize, Vec<u8>) =
            prescient_core::snapshot::decode(state)?;
        if name != self.inner.name() || log != self.log {
            return Err(Error::IncompatibleSnapshot(format!(
                "a `{name}` model (log scale: {log}) cannot be restored into a `{}` (log scale: {})",
                self.inner.name(),
                self.log
            )));
        }
        // The wrapped model is unchanged if this fails, and the rest is set only after it.
        self.inner.load_state(&inner)?;
        self.seen = seen;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeasonalNaiveParams;

    #[test]
    fn forecasts_come_back_on_the_original_scale() {
        let y = [1.0, 10.0, 2.0, 20.0];
        let model = LogScale::new(SeasonalNaiveParams::new(2)).fit(&y).unwrap();
        let f = model.predict(2, 0.9).unwrap();
        assert!((f.point[0] - 2.0).abs() < 1e-12 && (f.point[1] - 20.0).abs() < 1e-12);
    }

    #[test]
    fn non_positive_history_stays_on_the_original_scale() {
        let mut model = LogScale::new(SeasonalNaiveParams::new(1))
            .fit(&[1.0, 0.0, -2.0])
            .unwrap();
        assert_eq!(model.predict(1, 0.9).unwrap().point, vec![-2.0]);
        model.update(Timestamp::from_secs(0), -3.0).unwrap();
        assert_eq!(model.predict(1, 0.9).unwrap().point, vec![-3.0]);
    }

    #[test]
    fn a_non_positive_update_on_the_log_scale_is_rejected() {
        let mut model = LogScale::new(SeasonalNaiveParams::new(1))
            .fit(&[1.0, 2.0])
            .unwrap();
        assert!(model.update(Timestamp::from_secs(0), 0.0).is_err());
        assert!((model.predict(1, 0.9).unwrap().point[0] - 2.0).abs() < 1e-12);
    }
}
