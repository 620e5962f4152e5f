use prescient_core::{
    Error, Forecast, ForecastMethod, Forecaster, Result, RingBuffer, Timestamp,
    check_forecast_request,
};

use crate::interval::{SafeSumSq, z_score};

/// The fewest residuals the interval window holds, whatever the period.
const MIN_RESIDUAL_WINDOW: usize = 64;

/// The seasonal naive forecaster: every step ahead repeats the value observed one period earlier.
///
/// For a period `m` and `h` steps after the last observation `y[t]`, the point forecast is
/// `y[t + h − m(⌊(h − 1)/m⌋ + 1)]` (Hyndman & Athanasopoulos, *Forecasting: principles and
/// practice*, 3rd ed., §5.2); a period of 1 is the plain naive forecast (the last value).
///
/// The intervals assume the seasonal differences `e[t] = y[t] − y[t − m]` are independent,
/// centred normal errors of standard deviation σ, estimated as the root mean square of the last
/// `max(m, 64)` of them; the `h`-step standard deviation is `σ·sqrt(⌊(h − 1)/m⌋ + 1)`. Before the
/// first residual exists, σ is 0.
///
/// Memory is `O(m)` (the last period and the residual window); `update` is `O(1)` amortised and
/// `predict_inplace` `O(horizon)`.
///
/// # Example
///
/// ```
/// use prescient_core::{Forecaster, Timestamp};
/// use prescient_forecast::SeasonalNaive;
///
/// let mut model = SeasonalNaive::new(3)?;
/// for (i, y) in [1.0, 2.0, 3.0, 1.0, 2.0, 3.0].into_iter().enumerate() {
///     model.update(Timestamp::from_secs(i as i64), y)?;
/// }
/// let f = model.predict(4, 0.9)?;
/// assert_eq!(f.point, vec![1.0, 2.0, 3.0, 1.0]);
/// assert_eq!(f.lower, f.point); // a perfectly periodic history has no residuals
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SeasonalNaive {
    period: usize,
    /// The last `period` observations, oldest first.
    values: RingBuffer<f64>,
    /// The last seasonal differences, for σ.
    residuals: RingBuffer<f64>,
    sum_sq: SafeSumSq,
    /// Observations accepted since construction or the last reset.
    seen: usize,
}

impl SeasonalNaive {
    /// A seasonal naive forecaster of period `period` (in steps).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `period` is 0.
    ///
    /// # Example
    ///
    /// ```
    /// use prescient_forecast::SeasonalNaive;
    ///
    /// // One day of 15-second steps.
    /// let model = SeasonalNaive::new(5760)?;
    /// assert_eq!(model.period(), 5760);
    /// assert!(SeasonalNaive::new(0).is_err());
    /// # Ok::<(), prescient_core::Error>(())
    /// ```
    pub fn new(period: usize) -> Result<Self> {
        if period == 0 {
            return Err(Error::InvalidParam {
                name: "period",
                reason: "must be at least 1".into(),
            });
        }
        let window = period.max(MIN_RESIDUAL_WINDOW);
        Ok(SeasonalNaive {
            period,
            values: RingBuffer::new(period),
            residuals: RingBuffer::new(window),
            sum_sq: SafeSumSq::new(window),
            seen: 0,
        })
    }

    /// The seasonal period, in steps.
    pub fn period(&self) -> usize {
        self.period
    }

    /// The current estimate of the one-period-ahead error's standard deviation (0 before the
    /// first residual).
    pub fn sigma(&self) -> f64 {
        self.sum_sq.rms(self.residuals.len())
    }

    /// How many observations were taken since construction or the last reset.
    pub fn len(&self) -> usize {
        self.seen
    }

    /// Whether no observation was taken since construction or the last reset.
    pub fn is_empty(&self) -> bool {
        self.seen == 0
    }
}

/// The settings of a [`SeasonalNaive`] forecaster, for use as a [`ForecastMethod`]: fitting is
/// taking the history, observation by observation.
///
/// # Example
///
/// ```
/// use prescient_core::{ForecastMethod, Forecaster};
/// use prescient_forecast::SeasonalNaiveParams;
///
/// let model = SeasonalNaiveParams::new(2).fit(&[1.0, 5.0, 2.0, 6.0])?;
/// assert_eq!(model.predict(3, 0.9)?.point, vec![2.0, 6.0, 2.0]);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SeasonalNaiveParams {
    /// The seasonal period, in steps.
    pub period: usize,
}

impl SeasonalNaiveParams {
    /// The settings of a seasonal naive forecaster of period `period` (in steps).
    pub fn new(period: usize) -> Self {
        SeasonalNaiveParams { period }
    }
}

impl ForecastMethod for SeasonalNaiveParams {
    fn name(&self) -> &'static str {
        "seasonal_naive"
    }

    /// Takes the history (with its gaps filled, see [`crate::history`]) into a new
    /// [`SeasonalNaive`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for a period of 0, [`Error::NotEnoughData`] for a history
    /// without a finite value, and [`Error::NonFinite`] if a seasonal difference overflows.
    fn fit(&self, history: &[f64]) -> Result<Box<dyn Forecaster>> {
        let history = crate::history::fill_gaps(history)?;
        let mut model = SeasonalNaive::new(self.period)?;
        for (i, &y) in history.iter().enumerate() {
            model.update(Timestamp::from_secs(i as i64), y)?;
        }
        Ok(Box::new(model))
    }
}

impl Forecaster for SeasonalNaive {
    #[cfg(feature = "serde")]
    prescient_core::serde_state!();

    fn name(&self) -> &'static str {
        "seasonal_naive"
    }

    /// Takes `y`; `O(1)` amortised (the residual sums are recomputed exactly once per window,
    /// so rounding errors do not accumulate).
    ///
    /// # Errors
    ///
    /// [`Error::NonFinite`] when `y` is NaN or infinite, with the stream position of `y` as the
    /// index; the state is left as it was. The same error when the seasonal difference
    /// overflows (`|y − y[t − m]|` beyond `f64::MAX`), again leaving the state unchanged.
    fn update(&mut self, _ts: Timestamp, y: f64) -> Result<()> {
        if !y.is_finite() {
            return Err(Error::NonFinite { index: self.seen });
        }
        if self.values.is_full() {
            let past = self.values.front().copied().unwrap_or(y);
            let e = y - past;
            if !e.is_finite() {
                return Err(Error::NonFinite { index: self.seen });
            }
            let evicted = self.residuals.push(e);
            self.sum_sq.push(e, evicted, &self.residuals);
        }
        self.values.push(y);
        self.seen = self.seen.saturating_add(1);
        Ok(())
    }

    fn is_ready(&self) -> bool {
        self.values.is_full()
    }

    fn predict_inplace(&self, horizon: usize, level: f64, out: &mut Forecast) -> Result<()> {
        check_forecast_request(horizon, level)?;
        if !self.is_ready() {
            return Err(Error::NotReady(
                "seasonal naive needs one full period of observations",
            ));
        }
        let z = z_score(level)?;
        let sigma = self.sigma();
        out.reset(horizon, level);
        for h in 1..=horizon {
            let k = (h - 1) / self.period;
            let point = self
                .values
                .get((h - 1) % self.period)
                .copied()
                .unwrap_or(0.0);
            let half = z * sigma * ((k + 1) as f64).sqrt();
            let (lower, upper) = (point - half, point + half);
            if !(half.is_finite() && lower.is_finite() && upper.is_finite()) {
                out.reset(0, level);
                return Err(Error::NonFinite { index: h - 1 });
            }
            out.push(point, lower.min(point), upper.max(point));
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.values.clear();
        self.residuals.clear();
        self.sum_sq.clear();
        self.seen = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(model: &mut SeasonalNaive, ys: &[f64]) {
        for (i, &y) in ys.iter().enumerate() {
            model.update(Timestamp::from_secs(i as i64), y).unwrap();
        }
    }

    #[test]
    fn period_cannot_be_zero() {
        assert!(matches!(
            SeasonalNaive::new(0),
            Err(Error::InvalidParam { name: "period", .. })
        ));
    }

    #[test]
    fn reproduces_a_periodic_series_exactly_with_zero_width() {
        let pattern = [5.0, -1.0, 2.5, 7.0, 0.0];
        let ys: Vec<f64> = pattern.iter().cycle().take(23).copied().collect();
        let mut model = SeasonalNaive::new(5).unwrap();
        feed(&mut model, &ys);
        let f = model.predict(12, 0.95).unwrap();
        // The next value is at position 23, i.e. pattern[23 % 5].
        let expected: Vec<f64> = (23..35).map(|i| pattern[i % 5]).collect();
        assert_eq!(f.point, expected);
        assert_eq!(f.lower, expected);
        assert_eq!(f.upper, expected);
        assert_eq!(model.sigma(), 0.0);
        assert!(f.is_consistent());
    }

    #[test]
    fn period_one_is_the_naive_forecast() {
        let mut model = SeasonalNaive::new(1).unwrap();
        feed(&mut model, &[1.0, 4.0, 2.0]);
        let f = model.predict(3, 0.8).unwrap();
        assert_eq!(f.point, vec![2.0; 3]);
        // Residuals 3 and -2: σ = sqrt((9 + 4) / 2); widths grow as sqrt(h).
        let sigma = (6.5f64).sqrt();
        assert!((model.sigma() - sigma).abs() < 1e-12);
        let w: Vec<f64> = (0..3).map(|i| f.upper[i] - f.point[i]).collect();
        assert!((w[1] / w[0] - 2f64.sqrt()).abs() < 1e-12);
        assert!((w[2] / w[0] - 3f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn interval_width_grows_with_whole_periods_ahead() {
        let mut model = SeasonalNaive::new(4).unwrap();
        let ys: Vec<f64> = (0..40)
            .map(|i| (i % 4) as f64 + if i % 3 == 0 { 0.5 } else { -0.25 })
            .collect();
        feed(&mut model, &ys);
        let f = model.predict(12, 0.9).unwrap();
        let width: Vec<f64> = (0..12).map(|i| f.upper[i] - f.lower[i]).collect();
        assert!(width[0] > 0.0);
        for i in 0..12 {
            let k = i / 4;
            let expected = width[0] * ((k + 1) as f64).sqrt();
            assert!(
                (width[i] - expected).abs() < 1e-9,
                "step {}: {} vs {}",
                i + 1,
                width[i],
                expected
            );
        }
        assert!(width[4] > width[3] && width[8] > width[7]);
        assert!(f.is_consistent());
    }

    #[test]
    fn sigma_matches_an_exact_recomputation_after_many_updates() {
        let mut model = SeasonalNaive::new(3).unwrap();
        let ys: Vec<f64> = (0..10_000)
            .map(|i| ((i * 7919) % 101) as f64 * 1e3 + (i % 3) as f64)
            .collect();
        feed(&mut model, &ys);
        let res: Vec<f64> = (3..ys.len()).map(|i| ys[i] - ys[i - 3]).collect();
        let last = &res[res.len() - MIN_RESIDUAL_WINDOW..];
        let exact = (last.iter().map(|e| e * e).sum::<f64>() / last.len() as f64).sqrt();
        assert!((model.sigma() - exact).abs() <= 1e-9 * exact);
    }

    #[test]
    fn not_ready_before_one_period() {
        let mut model = SeasonalNaive::new(3).unwrap();
        feed(&mut model, &[1.0, 2.0]);
        assert!(!model.is_ready());
        assert!(matches!(model.predict(1, 0.9), Err(Error::NotReady(_))));
        feed(&mut model, &[3.0]);
        assert!(model.is_ready());
        let f = model.predict(2, 0.9).unwrap();
        assert_eq!(f.point, vec![1.0, 2.0]);
        assert_eq!(f.lower, f.point);
    }

    #[test]
    fn nan_input_errors_and_leaves_state_unchanged() {
        let mut model = SeasonalNaive::new(2).unwrap();
        feed(&mut model, &[1.0, 2.0, 1.5]);
        let before = model.clone();
        assert_eq!(
            model.update(Timestamp::EPOCH, f64::NAN),
            Err(Error::NonFinite { index: 3 })
        );
        assert!(model.update(Timestamp::EPOCH, f64::INFINITY).is_err());
        assert_eq!(model, before);
    }

    #[test]
    fn overflowing_difference_errors_and_leaves_state_unchanged() {
        let mut model = SeasonalNaive::new(1).unwrap();
        feed(&mut model, &[-f64::MAX]);
        let before = model.clone();
        assert!(matches!(
            model.update(Timestamp::EPOCH, f64::MAX),
            Err(Error::NonFinite { .. })
        ));
        assert_eq!(model, before);
    }

    #[test]
    fn bad_requests_are_rejected() {
        let mut model = SeasonalNaive::new(1).unwrap();
        feed(&mut model, &[1.0]);
        assert!(model.predict(0, 0.9).is_err());
        assert!(model.predict(1, 1.0).is_err());
        assert!(model.predict(1, 0.0).is_err());
    }

    #[test]
    fn reset_forgets_everything() {
        let mut model = SeasonalNaive::new(2).unwrap();
        feed(&mut model, &[1.0, 2.0, 5.0]);
        model.reset();
        assert!(!model.is_ready());
        assert!(model.is_empty());
        assert_eq!(model, SeasonalNaive::new(2).unwrap());
    }

    #[test]
    fn a_week_of_fifteen_second_steps_works() {
        let m = 40_320;
        let mut model = SeasonalNaive::new(m).unwrap();
        for i in 0..(m + 100) {
            model
                .update(Timestamp::from_secs(15 * i as i64), (i % m) as f64)
                .unwrap();
        }
        let f = model.predict(2 * m, 0.95).unwrap();
        assert_eq!(f.point[0], 100.0);
        assert_eq!(f.point[m], 100.0);
        assert_eq!(f.upper, f.point);
    }

    #[test]
    fn deterministic() {
        let ys: Vec<f64> = (0..200).map(|i| ((i * 31) % 17) as f64).collect();
        let mut a = SeasonalNaive::new(7).unwrap();
        let mut b = SeasonalNaive::new(7).unwrap();
        feed(&mut a, &ys);
        feed(&mut b, &ys);
        assert_eq!(a.predict(30, 0.8).unwrap(), b.predict(30, 0.8).unwrap());
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = f64> {
            prop_oneof![
                -1e6..1e6f64,
                -1e300..1e300f64,
                -1e-300..1e-300f64,
                Just(0.0),
                Just(1e300),
                Just(-1e300),
            ]
        }

        proptest! {
            #[test]
            fn prop_never_yields_non_finite(
                period in 1usize..12,
                ys in proptest::collection::vec(value(), 0..80),
                horizon in 1usize..40,
                level in 0.01..0.999f64,
            ) {
                let mut model = SeasonalNaive::new(period).unwrap();
                for (i, &y) in ys.iter().enumerate() {
                    let _ = model.update(Timestamp::from_secs(i as i64), y);
                }
                if let Ok(f) = model.predict(horizon, level) {
                    prop_assert!(f.is_consistent());
                    prop_assert_eq!(f.len(), horizon);
                }
            }
        }
    }
}
