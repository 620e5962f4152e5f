//! A short-horizon load forecaster for fine-grained, noisy metrics: a smoothed level times a
//! robust seasonal profile, with empirical (conformal) intervals per horizon.

use prescient_core::{
    Error, Forecast, ForecastMethod, Forecaster, Result, RingBuffer, SortedWindow, Timestamp,
    check_forecast_request,
};

/// Settings of [`LevelProfile`].
///
/// The defaults suit a metric sampled every 15 s with a daily season: 96 profile bins of 15
/// minutes, the median of the last 7 days per bin, a level with a smoothing factor of 0.1 per
/// step, and errors tracked over the last 2,880 steps (12 hours).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LevelProfileParams {
    period: usize,
    bins: usize,
    periods: usize,
    min_periods: usize,
    alpha: f64,
    error_window: usize,
    max_horizon: usize,
}

impl LevelProfileParams {
    /// Settings for a season of `period` steps (5760 for a day of 15 s steps).
    pub fn new(period: usize) -> Self {
        LevelProfileParams {
            period,
            bins: 96,
            periods: 7,
            min_periods: 3,
            alpha: 0.1,
            error_window: 2880,
            max_horizon: 256,
        }
    }

    /// Profile bins per period (at most the period); each bin's value is the median of its mean
    /// over the last periods.
    pub fn bins(mut self, bins: usize) -> Self {
        self.bins = bins;
        self
    }

    /// How many past periods the profile's medians look at, and how many a bin needs before it
    /// is used (`min ≤ periods`). A median of three or more periods ignores one odd period, so a
    /// past burst is not replayed into the next season.
    pub fn periods(mut self, periods: usize, min: usize) -> Self {
        self.periods = periods;
        self.min_periods = min;
        self
    }

    /// The level's smoothing factor per step, in `(0, 1]`.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// How many recent errors per tracked horizon the intervals come from (at least 16).
    pub fn error_window(mut self, steps: usize) -> Self {
        self.error_window = steps;
        self
    }

    /// The longest horizon whose errors are tracked; longer horizons reuse its intervals.
    pub fn max_horizon(mut self, steps: usize) -> Self {
        self.max_horizon = steps;
        self
    }

    fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, reason: String| Err(Error::InvalidParam { name, reason });
        if self.period == 0 {
            return bad("period", "must be at least 1".into());
        }
        if self.bins == 0 || self.bins > self.period {
            return bad(
                "bins",
                format!(
                    "must be in [1, period = {}], got {}",
                    self.period, self.bins
                ),
            );
        }
        if self.periods == 0 || self.min_periods == 0 || self.min_periods > self.periods {
            return bad(
                "periods",
                format!(
                    "need 1 <= min <= periods, got min {} of {}",
                    self.min_periods, self.periods
                ),
            );
        }
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            return bad("alpha", format!("must be in (0, 1], got {}", self.alpha));
        }
        if self.error_window < 16 {
            return bad(
                "error_window",
                format!("must be at least 16, got {}", self.error_window),
            );
        }
        if self.max_horizon == 0 {
            return bad("max_horizon", "must be at least 1".into());
        }
        Ok(())
    }

    /// The forecaster with these settings, before any observation.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] naming the first invalid setting.
    pub fn build(&self) -> Result<LevelProfile> {
        self.validate()?;
        let mut tracked = Vec::new();
        let mut h = 1;
        while h < self.max_horizon {
            tracked.push(h);
            h *= 2;
        }
        tracked.push(self.max_horizon);
        Ok(LevelProfile {
            params: *self,
            bin_means: (0..self.bins)
                .map(|_| RingBuffer::new(self.periods))
                .collect(),
            profile: vec![f64::NAN; self.bins],
            profile_mean: f64::NAN,
            bin_sum: 0.0,
            bin_count: 0,
            recent_bins: RingBuffer::new(self.bins),
            step: 0,
            level: None,
            levels: RingBuffer::new(self.max_horizon),
            errors: tracked
                .iter()
                .map(|_| SortedWindow::new(self.error_window))
                .collect(),
            tracked,
        })
    }
}

impl ForecastMethod for LevelProfileParams {
    fn name(&self) -> &'static str {
        "level-profile"
    }

    /// Builds the model and feeds it `history` (gaps filled by the crate's gap policy); an
    /// empty history gives a model that learns from its first updates.
    fn fit(&self, history: &[f64]) -> Result<Box<dyn Forecaster>> {
        let mut model = self.build()?;
        if history.is_empty() {
            return Ok(Box::new(model));
        }
        let history = crate::history::fill_gaps(history)?;
        for (i, &y) in history.iter().enumerate() {
            model.update(Timestamp::from_secs(i as i64), y)?;
        }
        Ok(Box::new(model))
    }
}

/// A smoothed level times a robust seasonal profile, with empirical intervals: a forecaster for
/// the next minutes of a noisy, finely sampled load.
///
/// - **Profile.** The period is cut into bins; when a bin ends, its mean divided by the mean of
///   the trailing period joins that bin's last `periods` such ratios, and the bin's profile value
///   is their median. The profile is used once every
///   bin has `min_periods` means, normalised to mean 1 and interpolated linearly between bin
///   centres. Medians make it robust: a burst on one day does not come back the next day.
/// - **Level.** An exponentially weighted mean of the deseasonalised value `y / s(t)`.
/// - **Point forecast** `ŷ(t + h) = level · s(t + h)`.
/// - **Intervals.** For horizons 1, 2, 4, … up to `max_horizon` the relative errors
///   `(y − ŷ) / ŷ` of past forecasts are kept in sliding sorted windows; a level-`l` interval
///   reads their `(1 ∓ l)/2` quantiles (interpolated in `log h` between tracked horizons), so it
///   covers what the recent errors covered, whatever their distribution.
///
/// `update` is `O(log window · log max_horizon)` comparisons plus `O(window)` moves of contiguous
/// memory per tracked horizon, and `O(periods)` once per bin; memory is
/// `O(bins · periods + window · log max_horizon)`, independent of the stream's length.
/// Non-finite values are errors and change nothing.
///
/// # Example
///
/// ```
/// use prescient_core::{Forecaster, Timestamp};
/// use prescient_forecast::LevelProfileParams;
///
/// // A period of 8 steps in 4 bins: low, rising, high, falling.
/// let mut model = LevelProfileParams::new(8).bins(4).build()?;
/// let shape = [1.0, 1.0, 2.0, 2.0, 4.0, 4.0, 2.0, 2.0];
/// for i in 0..8 * 20 {
///     model.update(Timestamp::from_secs(15 * i as i64), 10.0 * shape[i % 8])?;
/// }
/// let f = model.predict(6, 0.8)?;
/// // The forecast follows the profile: from phase 0 (between the falling and the low bin, 1.5)
/// // to phase 4 (between the rising and the high bin, 3), it doubles.
/// assert!((f.point[4] / f.point[0] - 2.0).abs() < 1e-9);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LevelProfile {
    params: LevelProfileParams,
    bin_means: Vec<RingBuffer<f64>>,
    /// The median of each bin's means (NaN until it has `min_periods`).
    profile: Vec<f64>,
    /// The mean of the profile once every bin is ready, else NaN.
    profile_mean: f64,
    bin_sum: f64,
    bin_count: usize,
    /// The last period's bin means, for the trailing level each new bin mean is divided by.
    recent_bins: RingBuffer<f64>,
    /// Steps seen; the phase is `step % period`.
    step: u64,
    level: Option<f64>,
    /// The level after each recent update, newest last, for scoring past forecasts.
    levels: RingBuffer<f64>,
    tracked: Vec<usize>,
    errors: Vec<SortedWindow>,
}

impl LevelProfile {
    /// The settings.
    pub fn params(&self) -> &LevelProfileParams {
        &self.params
    }

    /// Whether the seasonal profile is in use (every bin has enough periods).
    pub fn has_profile(&self) -> bool {
        self.profile_mean.is_finite()
    }

    /// The seasonal factor at step index `step` (1 while the profile is not in use).
    fn factor(&self, step: u64) -> f64 {
        if !self.has_profile() {
            return 1.0;
        }
        let p = &self.params;
        let phase = (step % p.period as u64) as f64;
        let width = p.period as f64 / p.bins as f64;
        // Bin centres sit at (b + 0.5) · width; interpolate between the two around `phase`.
        let pos = phase / width - 0.5;
        let lo = pos.floor();
        let frac = pos - lo;
        let bins = p.bins as i64;
        let at = |b: i64| self.profile[b.rem_euclid(bins) as usize];
        let v = at(lo as i64) * (1.0 - frac) + at(lo as i64 + 1) * frac;
        // A profile near zero (an outage in most past periods) must not blow the level up.
        (v / self.profile_mean).max(FACTOR_FLOOR)
    }

    /// The relative-error quantile `q` at horizon `h`, interpolated in `log h`.
    fn error_quantile(&self, h: usize, q: f64) -> Option<f64> {
        let h = h.min(self.params.max_horizon);
        let i = self.tracked.partition_point(|&t| t < h);
        let at = |i: usize| self.errors[i].quantile(q);
        if self.tracked[i] == h || i == 0 {
            return at(i);
        }
        let (h0, h1) = (self.tracked[i - 1] as f64, self.tracked[i] as f64);
        let w = ((h as f64).ln() - h0.ln()) / (h1.ln() - h0.ln());
        match (at(i - 1), at(i)) {
            (Some(a), Some(b)) => Some(a + (b - a) * w),
            (a, b) => a.or(b),
        }
    }

    fn close_bin(&mut self, bin: usize) {
        if self.bin_count == 0 {
            return;
        }
        let mean = self.bin_sum / self.bin_count as f64;
        self.bin_sum = 0.0;
        self.bin_count = 0;
        // Each bin's mean relative to the trailing period's, so that the profile is a shape: a
        // change of level between periods does not read as a seasonal swing.
        // (Summed afresh, once per bin, so that no rounding drift builds up over a long stream.)
        self.recent_bins.push(mean);
        if !self.recent_bins.is_full() {
            return;
        }
        let trailing = self.recent_bins.iter().sum::<f64>() / self.recent_bins.len() as f64;
        if !(trailing > 0.0 && trailing.is_finite()) {
            return;
        }
        let ring = &mut self.bin_means[bin];
        ring.push(mean / trailing);
        if ring.len() >= self.params.min_periods {
            let mut values: Vec<f64> = ring.iter().copied().collect();
            values.sort_by(f64::total_cmp);
            let n = values.len();
            self.profile[bin] = if n % 2 == 1 {
                values[n / 2]
            } else {
                0.5 * values[n / 2 - 1] + 0.5 * values[n / 2]
            };
        }
        let sum: f64 = self.profile.iter().sum();
        let mean = sum / self.params.bins as f64;
        // NaN while any bin is not ready; a profile of all zeros has no shape to use.
        self.profile_mean = if mean > 0.0 { mean } else { f64::NAN };
    }
}

/// The smallest seasonal factor, relative to the profile's mean.
const FACTOR_FLOOR: f64 = 0.05;

/// The smallest forecast, relative to the level, that errors are divided by: forecasts of (almost)
/// zero would make relative errors explode.
const SCALE_FLOOR: f64 = 0.05;

impl Forecaster for LevelProfile {
    #[cfg(feature = "serde")]
    prescient_core::serde_state!();

    fn name(&self) -> &'static str {
        "level-profile"
    }

    fn update(&mut self, _ts: Timestamp, y: f64) -> Result<()> {
        if !y.is_finite() {
            return Err(Error::NonFinite { index: 0 });
        }
        let s_now = self.factor(self.step);
        // Score the forecasts made 1, 2, 4, … steps ago for now.
        if let Some(level) = self.level {
            for (i, &h) in self.tracked.iter().enumerate() {
                let Some(&past) = self.levels.get_back(h - 1) else {
                    break;
                };
                let forecast = past * s_now;
                let scale = forecast
                    .max(SCALE_FLOOR * level.abs())
                    .max(f64::MIN_POSITIVE);
                self.errors[i].push((y - forecast) / scale);
            }
        }
        let deseasonalised = y / s_now;
        let level = match self.level {
            Some(l) => l + self.params.alpha * (deseasonalised - l),
            None => deseasonalised,
        };
        self.level = Some(level);
        self.levels.push(level);

        let p = self.params;
        let bin_of = |step: u64| ((step % p.period as u64) as usize * p.bins) / p.period;
        let bin = bin_of(self.step);
        self.bin_sum += y;
        self.bin_count += 1;
        self.step += 1;
        if bin_of(self.step) != bin {
            self.close_bin(bin);
        }
        Ok(())
    }

    fn is_ready(&self) -> bool {
        self.level.is_some() && self.errors[0].len() >= 16
    }

    fn predict_inplace(&self, horizon: usize, level: f64, out: &mut Forecast) -> Result<()> {
        check_forecast_request(horizon, level)?;
        let Some(l) = self.level.filter(|_| self.is_ready()) else {
            return Err(Error::NotEnoughData {
                needed: 17,
                got: self.levels.len(),
            });
        };
        out.reset(horizon, level);
        let (q_lo, q_hi) = (0.5 - level / 2.0, 0.5 + level / 2.0);
        for h in 1..=horizon {
            let point = l * self.factor(self.step + h as u64 - 1);
            let scale = point.max(SCALE_FLOOR * l.abs()).max(f64::MIN_POSITIVE);
            let lo = self.error_quantile(h, q_lo).unwrap_or(0.0);
            let hi = self.error_quantile(h, q_hi).unwrap_or(0.0);
            out.push(
                point,
                point + scale * lo.min(0.0),
                point + scale * hi.max(0.0),
            );
        }
        Ok(())
    }

    fn reset(&mut self) {
        if let Ok(fresh) = self.params.build() {
            *self = fresh;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(model: &mut LevelProfile, ys: impl IntoIterator<Item = f64>) {
        for y in ys {
            let t = Timestamp::from_secs(15 * model.step as i64);
            model.update(t, y).unwrap();
        }
    }

    #[test]
    fn settings_are_checked() {
        assert!(LevelProfileParams::new(0).build().is_err());
        assert!(LevelProfileParams::new(8).bins(9).build().is_err());
        assert!(
            LevelProfileParams::new(8)
                .bins(4)
                .periods(3, 4)
                .build()
                .is_err()
        );
        assert!(
            LevelProfileParams::new(8)
                .bins(4)
                .alpha(0.0)
                .build()
                .is_err()
        );
        assert!(
            LevelProfileParams::new(8)
                .bins(4)
                .error_window(3)
                .build()
                .is_err()
        );
        assert!(
            LevelProfileParams::new(8)
                .bins(4)
                .max_horizon(0)
                .build()
                .is_err()
        );
    }

    #[test]
    fn not_ready_before_errors_exist_and_non_finite_is_refused() {
        let mut m = LevelProfileParams::new(8).bins(4).build().unwrap();
        assert!(m.predict(1, 0.8).is_err());
        assert!(m.update(Timestamp::from_secs(0), f64::NAN).is_err());
        feed(&mut m, [1.0; 10]);
        assert!(!m.is_ready());
        feed(&mut m, [1.0; 10]);
        assert!(m.is_ready());
        let f = m.predict(3, 0.8).unwrap();
        assert_eq!(f.point, vec![1.0; 3]);
        assert!(f.is_consistent());
    }

    #[test]
    fn follows_the_median_profile_and_ignores_one_odd_period() {
        let shape = [1.0, 1.0, 2.0, 2.0, 4.0, 4.0, 2.0, 2.0];
        let mut m = LevelProfileParams::new(8)
            .bins(4)
            .alpha(1.0)
            .build()
            .unwrap();
        for day in 0..7 {
            // Day 5 has a burst in the third bin.
            let burst = if day == 5 { 10.0 } else { 1.0 };
            feed(
                &mut m,
                (0..8).map(|i| shape[i] * if i / 2 == 2 { burst } else { 1.0 }),
            );
        }
        assert!(m.has_profile());
        // Bin medians are the shape's (the burst is outvoted), normalised to mean 1.
        let mean = (1.0 + 2.0 + 4.0 + 2.0) / 4.0;
        assert!((m.profile[2] / m.profile_mean - 4.0 / mean).abs() < 1e-12);
        // Bin centres are at phases 1, 3, 5, 7: phase 0 interpolates bins 3 and 0 (2 and 1),
        // phase 4 bins 1 and 2 (2 and 4), so the forecast doubles from h = 1 to h = 5.
        let f = m.predict(8, 0.8).unwrap();
        let ratio = f.point[4] / f.point[0];
        assert!((ratio - 2.0).abs() < 1e-9, "ratio {ratio}");
    }

    #[test]
    fn intervals_cover_the_recent_errors() {
        // Alternating 8 and 12 around a level of 10: relative errors of about ±20%.
        let mut m = LevelProfileParams::new(1000)
            .bins(10)
            .alpha(0.01)
            .build()
            .unwrap();
        feed(
            &mut m,
            (0..3000).map(|i| if i % 2 == 0 { 8.0 } else { 12.0 }),
        );
        let f = m.predict(4, 0.9).unwrap();
        for h in 0..4 {
            assert!(f.upper[h] >= 11.9 && f.upper[h] < 12.5, "{:?}", f.upper);
            assert!(f.lower[h] <= 8.1 && f.lower[h] > 7.5, "{:?}", f.lower);
        }
    }

    #[test]
    fn identical_input_gives_identical_output() {
        let run = || {
            let mut m = LevelProfileParams::new(16).bins(4).build().unwrap();
            feed(&mut m, (0..500).map(|i| ((i * 7919) % 13) as f64));
            m.predict(20, 0.8).unwrap()
        };
        assert_eq!(run(), run());
    }
}
