use prescient_core::{
    Detection, Detector, Error, Forecast, Forecaster, Result, RollingMoments, Timestamp,
};

use crate::detection_of_z;

/// The forecast-residual detector: the standardised error of a forecaster's one-step prediction
/// against the value that actually arrived.
///
/// This is the "predicted against actual" discrepancy: a slow resource leak, a spike or a missing
/// daily peak all show as values the model did not expect, even when each value on its own is
/// ordinary. Any [`Forecaster`] serves (a seasonal naive model for strongly periodic metrics,
/// Holt–Winters, ARIMA); the residual is standardised by the model's own one-step uncertainty,
/// read off its prediction interval at `level`, and floored at a fraction of the rolling
/// standard deviation of the recent residuals so that a model overconfident on a flat stretch does
/// not turn every wiggle into an alarm.
///
/// Online: the prediction for a point is made from the points before it, then the forecaster
/// learns the point. A point the forecaster rejects (it is never given a non-finite one) is not
/// scored. Per point it costs one [`Forecaster::predict_inplace`] of horizon one and one
/// [`Forecaster::update`].
#[derive(Debug, Clone)]
pub struct ForecastResidual<F> {
    forecaster: F,
    level: f64,
    z_level: f64,
    residuals: RollingMoments,
    floor_fraction: f64,
    prediction: Forecast,
}

impl<F: Forecaster> ForecastResidual<F> {
    /// A detector on the one-step errors of `forecaster`, standardised by its 80% interval and the
    /// rolling standard deviation of the last 100 residuals.
    pub fn new(forecaster: F) -> Self {
        ForecastResidual {
            forecaster,
            level: 0.8,
            z_level: z_of_level(0.8),
            residuals: RollingMoments::new(100),
            floor_fraction: 0.5,
            prediction: Forecast::new(),
        }
    }

    /// Sets the interval level from which the model's one-step standard deviation is read.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for a level outside `(0.5, 1)`.
    pub fn level(mut self, level: f64) -> Result<Self> {
        if !(level > 0.5 && level < 1.0) {
            return Err(Error::InvalidParam {
                name: "level",
                reason: format!("must be in (0.5, 1), got {level}"),
            });
        }
        self.level = level;
        self.z_level = z_of_level(level);
        Ok(self)
    }

    /// Sets the window of recent residuals whose standard deviation floors the scale, and the
    /// fraction of it used as the floor (`0` disables the floor).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for a window below 10 or a fraction outside `[0, 1]`.
    pub fn residual_floor(mut self, window: usize, fraction: f64) -> Result<Self> {
        if window < 10 {
            return Err(Error::InvalidParam {
                name: "window",
                reason: format!("must be at least 10, got {window}"),
            });
        }
        if !(0.0..=1.0).contains(&fraction) {
            return Err(Error::InvalidParam {
                name: "fraction",
                reason: format!("must be in [0, 1], got {fraction}"),
            });
        }
        self.residuals = RollingMoments::new(window);
        self.floor_fraction = fraction;
        Ok(self)
    }

    /// The forecaster.
    pub fn forecaster(&self) -> &F {
        &self.forecaster
    }

    /// The standardised residual of `x` against the current one-step forecast, and the raw
    /// residual; `None` when the model is not ready or its forecast is unusable.
    fn standardise(&mut self, x: f64) -> Option<(f64, f64)> {
        if !self.forecaster.is_ready() {
            return None;
        }
        self.forecaster
            .predict_inplace(1, self.level, &mut self.prediction)
            .ok()?;
        let (point, lower, upper) = (
            *self.prediction.point.first()?,
            *self.prediction.lower.first()?,
            *self.prediction.upper.first()?,
        );
        if !(point.is_finite() && lower.is_finite() && upper.is_finite()) {
            return None;
        }
        let residual = x - point;
        let model_sd = (upper - lower) / (2.0 * self.z_level);
        let recent_sd = if self.residuals.len() >= 10 {
            self.floor_fraction * self.residuals.std()
        } else {
            0.0
        };
        let floor = (1e-9 * point.abs()).max(1e-12);
        let sd = model_sd.max(recent_sd).max(floor);
        let sd = if sd.is_finite() { sd } else { f64::MAX };
        Some((residual / sd, residual))
    }
}

/// The standard normal quantile of a two-sided interval of coverage `level`.
fn z_of_level(level: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::standard().inverse_cdf(0.5 + level / 2.0)
}

impl<F: Forecaster> Detector for ForecastResidual<F> {
    fn name(&self) -> &'static str {
        "residual"
    }

    fn update(&mut self, ts: Timestamp, x: f64) -> Option<Detection> {
        if !x.is_finite() {
            return None;
        }
        let scored = self.standardise(x);
        // A forecaster that rejects the point (out of order, say) has not learned it: nor do we.
        self.forecaster.update(ts, x).ok()?;
        let (z, residual) = scored?;
        if residual.is_finite() {
            self.residuals.push(residual);
        }
        Some(detection_of_z(z))
    }

    fn reset(&mut self) {
        self.forecaster.reset();
        self.residuals.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A test forecaster: predicts the value `period` steps back with a fixed-width interval.
    #[derive(Debug, Clone)]
    struct Repeat {
        period: usize,
        history: Vec<f64>,
        half_width: f64,
    }

    impl Forecaster for Repeat {
        fn name(&self) -> &'static str {
            "repeat"
        }
        fn update(&mut self, _ts: Timestamp, y: f64) -> Result<()> {
            if !y.is_finite() {
                return Err(Error::NonFinite { index: 0 });
            }
            self.history.push(y);
            Ok(())
        }
        fn is_ready(&self) -> bool {
            self.history.len() >= self.period
        }
        fn predict_inplace(&self, horizon: usize, level: f64, out: &mut Forecast) -> Result<()> {
            out.reset(horizon, level);
            let n = self.history.len();
            for h in 0..horizon {
                let p = self.history[n - self.period + h % self.period];
                out.push(p, p - self.half_width, p + self.half_width);
            }
            Ok(())
        }
        fn reset(&mut self) {
            self.history.clear();
        }
    }

    fn repeat(period: usize) -> Repeat {
        Repeat {
            period,
            history: Vec::new(),
            half_width: z_of_level(0.8),
        }
    }

    #[test]
    fn residual_is_standardised_by_the_model_interval() {
        let mut d = ForecastResidual::new(repeat(3))
            .residual_floor(10, 0.0)
            .unwrap();
        let ts = Timestamp::EPOCH;
        for x in [1.0, 2.0, 3.0] {
            assert!(d.update(ts, x).is_none());
        }
        // Predicted 1 (three back), with a one-step sd of 1 read off the interval.
        let got = d.update(ts, 4.5).unwrap();
        assert!((got.deviation - 3.5).abs() < 1e-9);
    }

    #[test]
    fn a_missing_seasonal_peak_is_surprising_though_ordinary_as_a_value() {
        let mut d = ForecastResidual::new(repeat(4));
        let ts = Timestamp::EPOCH;
        let pattern = [0.0, 0.0, 10.0, 0.0];
        let mut worst_clean: f64 = 0.0;
        for i in 0..40 {
            if let Some(det) = d.update(ts, pattern[i % 4]) {
                worst_clean = worst_clean.max(det.score.value());
            }
        }
        assert!(worst_clean < 0.5);
        // The peak does not come: 0 where 10 was due.
        let missed = d.update(ts, 0.0);
        assert!(missed.is_none() || missed.unwrap().score.value() < 0.5);
        let missed = d.update(ts, 0.0);
        assert!(missed.is_none() || missed.unwrap().score.value() < 0.5);
        let missed = d.update(ts, 0.0).unwrap();
        assert!(missed.score.value() > 0.9999, "{missed:?}");
        assert!(missed.deviation < 0.0);
    }

    #[test]
    fn level_must_be_a_two_sided_coverage() {
        assert!(ForecastResidual::new(repeat(2)).level(0.5).is_err());
        assert!(ForecastResidual::new(repeat(2)).level(1.0).is_err());
        assert!(ForecastResidual::new(repeat(2)).level(0.95).is_ok());
        assert!(
            ForecastResidual::new(repeat(2))
                .residual_floor(5, 0.5)
                .is_err()
        );
        assert!(
            ForecastResidual::new(repeat(2))
                .residual_floor(10, 1.5)
                .is_err()
        );
    }

    proptest! {
        #[test]
        fn prop_scores_are_finite_and_in_range(xs in proptest::collection::vec(prop_oneof![
            any::<f64>(), Just(1e308), Just(-1e308), Just(0.0), Just(5e-324)
        ], 0..200)) {
            let mut d = ForecastResidual::new(repeat(3));
            for &x in &xs {
                if let Some(det) = d.update(Timestamp::EPOCH, x) {
                    prop_assert!((0.0..=1.0).contains(&det.score.value()));
                    prop_assert!(det.deviation.is_finite());
                }
            }
        }
    }
}
