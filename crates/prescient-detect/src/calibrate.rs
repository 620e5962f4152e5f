use prescient_core::{Error, Result, Score};

use prescient_core::SortedWindow;

/// Maps a raw anomaly statistic onto a calibrated [`Score`]: one minus its tail probability under
/// an online estimate of the statistic's own distribution.
///
/// Raw statistics differ in scale and shape between detectors (a robust z-score, an isolation
/// forest's path-length score, a forecast error) and between metrics (a request rate is close to
/// Gaussian, an error rate is heavy-tailed). Calibrating each against its own recent history puts
/// them on one scale — a score of 0.999 is a one-in-a-thousand value *for that detector on that
/// metric* — so that they can be averaged, and a fixed severity threshold means a fixed alert
/// rate.
///
/// The distribution is estimated from the last `window` values:
///
/// - below the `1 − tail_fraction` quantile `u`, by the empirical survival function
///   `(#{v ≥ s} + 1) / (n + 1)`;
/// - above `u`, by a generalised Pareto distribution fitted to the excesses over `u` (the
///   peaks-over-threshold model of extreme-value theory, as in Siffer et al., "Anomaly detection in
///   streams with extreme value theory", KDD 2017), so that values beyond anything in the window
///   still get distinct, finite tail probabilities. The shape is fitted by the method of moments
///   and kept in `[0, 0.5]`: at least an exponential tail (a light-tailed fit would give a finite
///   end point, beyond which every value would tie at a score of 1) and never so heavy that the
///   variance is undefined.
///
/// The value scored is *not* part of the history it is scored against; [`TailCalibrator::update`]
/// scores first and learns after. Costs: a binary search and a shift of the sorted window per
/// value (`O(window)` memory moves, a few hundred nanoseconds for the default window), plus a tail
/// refit every `window / 16` values.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TailCalibrator {
    history: SortedWindow,
    min_points: usize,
    tail_fraction: f64,
    refit_every: usize,
    since_fit: usize,
    tail: Option<ParetoTail>,
}

/// A generalised Pareto tail above the threshold `u`, holding the fraction `p_u` of the values.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct ParetoTail {
    u: f64,
    p_u: f64,
    shape: f64,
    scale: f64,
}

impl ParetoTail {
    fn survival(&self, s: f64) -> f64 {
        let y = (s - self.u).max(0.0) / self.scale;
        let tail = if self.shape < 1e-9 {
            (-y).exp()
        } else {
            (1.0 + self.shape * y).powf(-1.0 / self.shape)
        };
        self.p_u * tail
    }
}

impl TailCalibrator {
    /// A calibrator over the last `window` values (at least 20), with the defaults: scores from
    /// the 30th value on, a Pareto tail above the 95th percentile.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `window` is below 20.
    pub fn new(window: usize) -> Result<Self> {
        if window < 20 {
            return Err(Error::InvalidParam {
                name: "window",
                reason: format!("must be at least 20, got {window}"),
            });
        }
        Ok(TailCalibrator {
            history: SortedWindow::new(window),
            min_points: 30.min(window),
            tail_fraction: 0.05,
            refit_every: (window / 16).max(1),
            since_fit: usize::MAX,
            tail: None,
        })
    }

    /// Sets how many values must be seen before scoring starts (between 10 and the window).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] outside that range.
    pub fn min_points(mut self, min_points: usize) -> Result<Self> {
        if min_points < 10 || min_points > self.history.capacity() {
            return Err(Error::InvalidParam {
                name: "min_points",
                reason: format!(
                    "must be in [10, {}], got {min_points}",
                    self.history.capacity()
                ),
            });
        }
        self.min_points = min_points;
        Ok(self)
    }

    /// Sets the fraction of the values modelled by the Pareto tail, in `[0.01, 0.2]`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] outside that range.
    pub fn tail_fraction(mut self, fraction: f64) -> Result<Self> {
        if !(0.01..=0.2).contains(&fraction) {
            return Err(Error::InvalidParam {
                name: "tail_fraction",
                reason: format!("must be in [0.01, 0.2], got {fraction}"),
            });
        }
        self.tail_fraction = fraction;
        self.tail = None;
        self.since_fit = usize::MAX;
        Ok(self)
    }

    /// How many values the history holds.
    pub fn len(&self) -> usize {
        self.history.len()
    }

    /// Whether no value has been learned.
    pub fn is_empty(&self) -> bool {
        self.history.is_empty()
    }

    /// Whether enough values have been seen to score.
    pub fn is_ready(&self) -> bool {
        self.history.len() >= self.min_points
    }

    /// The estimated probability that a value at least as large as `s` occurs, or `None` before
    /// the calibrator is ready or for a NaN `s`.
    pub fn tail_probability(&self, s: f64) -> Option<f64> {
        if !self.is_ready() || s.is_nan() {
            return None;
        }
        let sorted = self.history.sorted();
        let n = sorted.len();
        if let Some(tail) = self.tail.filter(|t| s > t.u) {
            return Some(tail.survival(s).max(f64::MIN_POSITIVE));
        }
        // Values at least `s`: everything from the first position not below it.
        let at_least = n - sorted.partition_point(|&v| v < s);
        Some((at_least as f64 + 1.0) / (n as f64 + 1.0))
    }

    /// The calibrated score of `s` (one minus its tail probability) without learning it.
    pub fn score(&self, s: f64) -> Option<Score> {
        self.tail_probability(s).map(|p| Score::new(1.0 - p))
    }

    /// Scores `s`, then adds it to the history. A non-finite `s` is neither scored nor learned
    /// (`+∞` is clamped to the largest finite value first, so an infinitely surprising statistic
    /// still scores as the most surprising).
    pub fn update(&mut self, s: f64) -> Option<Score> {
        let s = if s == f64::INFINITY { f64::MAX } else { s };
        if !s.is_finite() {
            return None;
        }
        let out = self.score(s);
        self.learn(s);
        out
    }

    /// Adds `s` to the history without scoring it.
    pub fn learn(&mut self, s: f64) {
        if !s.is_finite() {
            return;
        }
        self.history.push(s);
        self.since_fit = self.since_fit.saturating_add(1);
        if self.since_fit >= self.refit_every && self.is_ready() {
            self.fit_tail();
        }
    }

    /// Forgets everything learned.
    pub fn reset(&mut self) {
        self.history.clear();
        self.tail = None;
        self.since_fit = usize::MAX;
    }

    fn fit_tail(&mut self) {
        self.since_fit = 0;
        let sorted = self.history.sorted();
        let n = sorted.len();
        // At least three excesses, so that something beyond the whole window still has a
        // distinct tail probability early on; the fit is crude then, but it is monotone.
        let k = ((n as f64 * self.tail_fraction).round() as usize).max(3);
        if n <= k + 1 {
            self.tail = None;
            return;
        }
        let u = sorted[n - k - 1];
        let excesses = sorted[n - k..].iter().map(|&v| v - u);
        let (mut sum, mut sum_sq) = (0.0, 0.0);
        for y in excesses {
            sum += y;
            sum_sq += y * y;
        }
        let mean = sum / k as f64;
        let var = (sum_sq / k as f64 - mean * mean).max(0.0);
        if mean.is_nan() || mean <= 0.0 || mean.is_infinite() {
            // The top of the window is flat: anything above it is beyond all experience.
            self.tail = Some(ParetoTail {
                u,
                p_u: k as f64 / (n as f64 + 1.0),
                shape: 0.0,
                scale: (u.abs() * 1e-9).max(1e-12),
            });
            return;
        }
        let ratio = mean * mean / var;
        let shape = if ratio.is_finite() {
            (0.5 * (1.0 - ratio)).clamp(0.0, 0.5)
        } else {
            0.0
        };
        // The moment estimate of the scale for that shape: E[Y] = σ / (1 − ξ).
        let scale = (mean * (1.0 - shape)).max(f64::MIN_POSITIVE);
        self.tail = Some(ParetoTail {
            u,
            p_u: k as f64 / (n as f64 + 1.0),
            shape,
            scale,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn window_must_hold_twenty() {
        assert!(TailCalibrator::new(19).is_err());
        assert!(TailCalibrator::new(20).is_ok());
    }

    #[test]
    fn bad_settings_are_rejected() {
        let c = TailCalibrator::new(100).unwrap();
        assert!(c.clone().min_points(9).is_err());
        assert!(c.clone().min_points(101).is_err());
        assert!(c.clone().tail_fraction(0.5).is_err());
        assert!(c.tail_fraction(f64::NAN).is_err());
    }

    #[test]
    fn exponential_statistic_is_calibrated_in_the_body_and_the_tail() {
        // For an Exp(1) statistic the true tail probability of s is e^(−s).
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut c = TailCalibrator::new(4000).unwrap();
        for _ in 0..4000 {
            let u: f64 = rng.r#gen();
            c.learn(-(1.0 - u).ln());
        }
        for s in [0.5, 1.0, 2.0] {
            let p = c.tail_probability(s).unwrap();
            let want: f64 = (-s).exp();
            assert!((p / want - 1.0).abs() < 0.1, "s {s}: {p} vs {want}");
        }
        // Far beyond the sample: extrapolated by the Pareto tail within a factor of a few.
        for s in [6.0, 9.0] {
            let p = c.tail_probability(s).unwrap();
            let want: f64 = (-s).exp();
            assert!(p > want / 5.0 && p < want * 5.0, "s {s}: {p} vs {want}");
        }
    }

    #[test]
    fn scores_are_monotone_in_the_statistic() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut c = TailCalibrator::new(500).unwrap();
        for _ in 0..500 {
            c.learn(rng.r#gen::<f64>().powi(3) * 10.0);
        }
        let mut last = -1.0;
        for i in 0..400 {
            let s = c.score(i as f64 * 0.05).unwrap().value();
            assert!(s >= last);
            last = s;
        }
        assert!(last > 0.999);
    }

    #[test]
    fn scores_before_learning_and_forgets_the_oldest() {
        let mut c = TailCalibrator::new(20).unwrap().min_points(10).unwrap();
        for i in 0..10 {
            assert!(c.update(i as f64).is_none());
        }
        // The 11th value is scored against the first ten only.
        let s = c.update(100.0).unwrap();
        assert!(s.value() > 0.9);
        for _ in 0..20 {
            c.update(1000.0);
        }
        assert_eq!(c.len(), 20);
        // The history is now all 1000: 100 is ordinary (not in the upper tail) again.
        assert!(c.score(100.0).unwrap().value() < 0.1);
    }

    #[test]
    fn flat_history_makes_any_rise_surprising() {
        let mut c = TailCalibrator::new(100).unwrap();
        for _ in 0..100 {
            c.learn(1.0);
        }
        assert!(c.score(1.0).unwrap().value() < 0.01);
        assert!(c.score(1.1).unwrap().value() > 0.999);
    }

    #[test]
    fn non_finite_values_are_not_learned() {
        let mut c = TailCalibrator::new(50).unwrap();
        for i in 0..40 {
            c.learn(i as f64);
        }
        let before = c.clone();
        assert!(c.update(f64::NAN).is_none());
        assert!(c.update(f64::NEG_INFINITY).is_none());
        assert_eq!(c, before);
        assert!(c.update(f64::INFINITY).unwrap().value() > 0.99);
    }

    proptest! {
        #[test]
        fn prop_scores_in_unit_interval_and_memory_bounded(
            xs in proptest::collection::vec(prop_oneof![
                any::<f64>(), Just(0.0), Just(1e308), Just(-1e308), Just(5e-324)
            ], 0..400)
        ) {
            let mut c = TailCalibrator::new(64).unwrap();
            for &x in &xs {
                if let Some(s) = c.update(x) {
                    prop_assert!((0.0..=1.0).contains(&s.value()));
                }
                prop_assert!(c.len() <= 64);
            }
            prop_assert!(c.history.sorted().windows(2).all(|w| w[0] <= w[1]));
        }
    }
}
