//! How good a live forecaster's forecasts turned out: each forecast is kept until the steps it
//! predicted arrive, then scored.

use prescient_core::{Error, Forecast, Result, RingBuffer, RollingMoments};

use crate::interval::z_score;

/// Settings of an [`AccuracyTracker`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AccuracyParams {
    horizons: Vec<usize>,
    window: usize,
    season: usize,
}

impl AccuracyParams {
    /// Tracks the forecasts `horizons` steps ahead (each at least 1) over the last `window`
    /// scored steps, with the MASE scaled by the seasonal naive forecast of period `season`
    /// (1 for the naive forecast).
    pub fn new(horizons: &[usize], window: usize, season: usize) -> Self {
        let mut horizons = horizons.to_vec();
        horizons.sort_unstable();
        horizons.dedup();
        AccuracyParams {
            horizons,
            window,
            season,
        }
    }

    /// Checks the settings and builds the tracker.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for no horizon, a horizon of 0, a window under 2 or a season
    /// of 0.
    pub fn build(&self) -> Result<AccuracyTracker> {
        let invalid = |name, reason: &str| Error::InvalidParam {
            name,
            reason: reason.to_owned(),
        };
        if self.horizons.first().is_none_or(|&h| h == 0) {
            return Err(invalid("horizons", "at least one, each at least 1 step"));
        }
        if self.window < 2 {
            return Err(invalid("window", "at least 2 steps"));
        }
        if self.season == 0 {
            return Err(invalid("season", "at least 1 step"));
        }
        let longest = self.horizons.last().copied().unwrap_or(1);
        Ok(AccuracyTracker {
            issued: RingBuffer::new(longest),
            values: RingBuffer::new(self.season),
            errors: self
                .horizons
                .iter()
                .map(|_| RollingMoments::new(self.window))
                .collect(),
            covered: self
                .horizons
                .iter()
                .map(|_| RollingMoments::new(self.window))
                .collect(),
            scale: RollingMoments::new(self.window),
            residual: None,
            one_step_error: None,
            z: (f64::NAN, f64::NAN),
            params: self.clone(),
        })
    }
}

/// How good the forecasts of one horizon were over the tracker's window.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Accuracy {
    /// Steps ahead.
    pub horizon: usize,
    /// Forecasts scored (at most the window).
    pub n: usize,
    /// The mean absolute error.
    pub mae: f64,
    /// The mean absolute scaled error: the MAE over the mean absolute error of the seasonal
    /// naive forecast one step ahead on the same window (M4's MASE, computed on the live
    /// series). `None` until the scale is known, or when the series does not change.
    pub mase: Option<f64>,
    /// The fraction of actual values inside the forecast interval.
    pub coverage: f64,
}

/// One issued forecast's values at the tracked horizons: point, lower and upper end, and the
/// standard deviation the interval implies.
type Issued = Vec<[f64; 4]>;

/// Keeps the forecasts a live forecaster issued and scores them as the actual values arrive:
/// rolling MAE, MASE and interval coverage per tracked horizon, and the standardised one-step
/// residual (the "predicted against actual" signal of a leak or an unexpected spike).
///
/// The caller drives it on the forecaster's step grid: [`AccuracyTracker::step`] once per
/// step, with the actual value or `None` for a step the forecaster did not observe (a gap
/// filled with its own forecast is not scored), then [`AccuracyTracker::issue`] with the
/// forecast made after that step. O(horizons) per step, memory O(window · horizons + season).
///
/// ```
/// use prescient_core::Forecast;
/// use prescient_forecast::AccuracyParams;
///
/// let mut t = AccuracyParams::new(&[1], 100, 1).build()?;
/// let mut f = Forecast::new();
/// for i in 0..50 {
///     t.step(Some(i as f64));
///     // A forecast one step ahead that is always 1 too high, with a ±2 interval.
///     f.reset(1, 0.9);
///     f.push(i as f64 + 2.0, i as f64, i as f64 + 4.0);
///     t.issue(&f);
/// }
/// let a = t.accuracy()[0];
/// assert_eq!(a.mae, 1.0);
/// assert_eq!(a.mase, Some(1.0)); // the naive forecast is also 1 off
/// assert_eq!(a.coverage, 1.0);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AccuracyTracker {
    params: AccuracyParams,
    /// The forecasts issued after each of the last steps, newest at the back (`None` when
    /// none was).
    issued: RingBuffer<Option<Issued>>,
    /// The last `season` values (`None` for unobserved steps).
    values: RingBuffer<Option<f64>>,
    errors: Vec<RollingMoments>,
    covered: Vec<RollingMoments>,
    scale: RollingMoments,
    residual: Option<f64>,
    one_step_error: Option<f64>,
    /// The last interval level seen and its normal quantile, computed once per level.
    z: (f64, f64),
}

impl AccuracyTracker {
    /// The settings.
    pub fn params(&self) -> &AccuracyParams {
        &self.params
    }

    /// The next step of the grid, with its actual value (`None` when it was not observed):
    /// scores the forecasts that predicted it. Returns the standardised one-step residual
    /// `(actual − forecast) / σ`, σ read off the one-step interval, when a one-step forecast
    /// was tracked and issued.
    pub fn step(&mut self, actual: Option<f64>) -> Option<f64> {
        let actual = actual.filter(|y| y.is_finite());
        self.residual = None;
        self.one_step_error = None;
        if let Some(y) = actual {
            for (j, &h) in self.params.horizons.iter().enumerate() {
                // The forecast issued `h` steps ago: the back of the ring is one step ago.
                let Some(Some(issued)) = self.issued.get_back(h - 1) else {
                    continue;
                };
                let [point, lower, upper, sd] = issued[j];
                self.errors[j].push((y - point).abs());
                self.covered[j].push(f64::from(u8::from(lower <= y && y <= upper)));
                if h == 1 {
                    self.one_step_error = Some((y - point).abs());
                    if sd > 0.0 {
                        self.residual = Some((y - point) / sd);
                    }
                }
            }
            if self.values.is_full() {
                if let Some(Some(past)) = self.values.front() {
                    self.scale.push((y - past).abs());
                }
            }
        }
        self.values.push(actual);
        self.issued.push(None);
        self.residual
    }

    /// The forecast made after the latest step (its first value is one step after it). A
    /// forecast shorter than the longest tracked horizon, or with a non-finite value at a
    /// tracked horizon, is dropped whole.
    pub fn issue(&mut self, forecast: &Forecast) {
        if forecast.level.to_bits() != self.z.0.to_bits() {
            self.z = (forecast.level, z_score(forecast.level).unwrap_or(f64::NAN));
        }
        let z = self.z.1;
        let mut kept = Vec::with_capacity(self.params.horizons.len());
        for &h in &self.params.horizons {
            let (Some(&p), Some(&l), Some(&u)) = (
                forecast.point.get(h - 1),
                forecast.lower.get(h - 1),
                forecast.upper.get(h - 1),
            ) else {
                return;
            };
            if !(p.is_finite() && l.is_finite() && u.is_finite()) {
                return;
            }
            let sd = if z > 0.0 { (u - l) / (2.0 * z) } else { 0.0 };
            kept.push([p, l, u, sd]);
        }
        if let Some(slot) = self.issued.get_back_mut(0) {
            *slot = Some(kept);
        }
    }

    /// The standardised one-step residual of the latest step (see [`AccuracyTracker::step`]).
    pub fn residual(&self) -> Option<f64> {
        self.residual
    }

    /// The absolute error of the one-step forecast of the latest step, when one was tracked
    /// and issued.
    pub fn one_step_error(&self) -> Option<f64> {
        self.one_step_error
    }

    /// The accuracy at every tracked horizon with at least one scored forecast, shortest
    /// horizon first.
    pub fn accuracy(&self) -> Vec<Accuracy> {
        (0..self.params.horizons.len())
            .filter_map(|j| self.accuracy_of(j))
            .collect()
    }

    /// The accuracy at the `j`-th tracked horizon (in increasing order), without allocating;
    /// `None` before its first scored forecast.
    pub fn accuracy_of(&self, j: usize) -> Option<Accuracy> {
        let errors = self.errors.get(j).filter(|e| !e.is_empty())?;
        let scale = (!self.scale.is_empty()).then(|| self.scale.mean());
        let mae = errors.mean().max(0.0);
        Some(Accuracy {
            horizon: self.params.horizons[j],
            n: errors.len(),
            mae,
            mase: scale.filter(|s| *s > 0.0).map(|s| mae / s),
            coverage: self.covered[j].mean().clamp(0.0, 1.0),
        })
    }

    /// Forgets every forecast and score.
    pub fn reset(&mut self) {
        self.issued.clear();
        self.values.clear();
        self.errors.iter_mut().for_each(RollingMoments::clear);
        self.covered.iter_mut().for_each(RollingMoments::clear);
        self.scale.clear();
        self.residual = None;
        self.one_step_error = None;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn forecast(points: &[f64], half_width: f64, level: f64) -> Forecast {
        let mut f = Forecast::new();
        f.reset(points.len(), level);
        for &p in points {
            f.push(p, p - half_width, p + half_width);
        }
        f
    }

    #[test]
    fn settings_are_checked() {
        assert!(AccuracyParams::new(&[], 10, 1).build().is_err());
        assert!(AccuracyParams::new(&[0, 1], 10, 1).build().is_err());
        assert!(AccuracyParams::new(&[1], 1, 1).build().is_err());
        assert!(AccuracyParams::new(&[1], 10, 0).build().is_err());
        assert!(AccuracyParams::new(&[3, 1, 3], 10, 1).build().is_ok());
    }

    #[test]
    fn each_horizon_is_scored_against_the_forecast_that_predicted_it() {
        // y = 10, 20, 30, ...; every forecast says "the last value, flat", so the error h
        // steps ahead is 10·h, and the naive scale is 10.
        let mut t = AccuracyParams::new(&[1, 3], 1000, 1).build().unwrap();
        for i in 1..=40 {
            let y = 10.0 * i as f64;
            t.step(Some(y));
            t.issue(&forecast(&[y, y, y], 15.0, 0.8));
        }
        let a = t.accuracy();
        assert_eq!(a.len(), 2);
        assert_eq!((a[0].horizon, a[0].n), (1, 39));
        assert!((a[0].mae - 10.0).abs() < 1e-9);
        assert_eq!(a[0].mase.map(|m| (m * 1e9).round() / 1e9), Some(1.0));
        // Within ±15: the one-step forecasts are (10 off), the three-step ones are not (30).
        assert_eq!(a[0].coverage, 1.0);
        assert_eq!((a[1].horizon, a[1].n), (3, 37));
        assert!((a[1].mae - 30.0).abs() < 1e-9);
        assert_eq!(a[1].coverage, 0.0);
    }

    #[test]
    fn the_residual_is_standardised_by_the_interval() {
        let mut t = AccuracyParams::new(&[1], 10, 1).build().unwrap();
        t.step(Some(0.0));
        // A 95% interval of ±1.96 is a standard deviation of 1.
        t.issue(&forecast(&[5.0], 1.959_963_984_540_054, 0.95));
        let r = t.step(Some(8.0)).unwrap();
        assert!((r - 3.0).abs() < 1e-9, "{r}");
        assert_eq!(t.residual(), Some(r));
        // No forecast issued after that step: no residual next.
        assert_eq!(t.step(Some(1.0)), None);
    }

    #[test]
    fn unobserved_steps_and_bad_forecasts_are_not_scored() {
        let mut t = AccuracyParams::new(&[1, 2], 10, 1).build().unwrap();
        t.step(Some(1.0));
        t.issue(&forecast(&[1.0, 1.0], 1.0, 0.8));
        t.step(None);
        t.issue(&forecast(&[f64::NAN, 1.0], 1.0, 0.8));
        t.step(Some(1.0));
        t.issue(&forecast(&[1.0], 1.0, 0.8)); // too short for horizon 2
        t.step(Some(1.0));
        let a = t.accuracy();
        // Step 3 is the two-step target of step 1's forecast; step 4 has no valid forecasts.
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].horizon, a[0].n, a[0].mae), (2, 1, 0.0));
        // The series does not change: MASE is undefined.
        assert_eq!(a[0].mase, None);
        t.reset();
        assert!(t.accuracy().is_empty());
    }

    #[test]
    fn memory_is_bounded_by_the_window() {
        let mut t = AccuracyParams::new(&[1, 8], 50, 24).build().unwrap();
        for i in 0..10_000 {
            let y = (i % 24) as f64;
            t.step(Some(y));
            t.issue(&forecast(&[y; 8], 1.0, 0.8));
        }
        assert!(t.accuracy().iter().all(|a| a.n == 50));
    }
}
