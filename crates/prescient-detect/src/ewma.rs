use prescient_core::{Detection, Detector, Error, Result, Timestamp, check_positive};

use crate::{detection_of_z, floored_std};

/// An EWMA control chart: an exponentially weighted mean and variance, and the deviation of each
/// point from the mean in weighted standard deviations.
///
/// With smoothing `alpha`, after each point `x`: `d = x − μ`, `μ ← μ + α·d`,
/// `σ² ← (1 − α)·(σ² + α·d²)` (the exponentially weighted variance of Finch, 2009). A point is
/// scored with the state *before* it. The control limits are `μ ± L·σ` (`L` = 3 by default).
/// O(1) per point, constant memory; scoring starts after `min_periods` points (default
/// `max(10, ⌈1/α⌉)`), once the variance has settled.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Ewma {
    alpha: f64,
    limit: f64,
    min_periods: u64,
    seen: u64,
    mean: f64,
    var: f64,
}

impl Ewma {
    /// An EWMA chart with smoothing `alpha` in `(0, 1)`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `alpha` is not in `(0, 1)`.
    pub fn new(alpha: f64) -> Result<Self> {
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(Error::InvalidParam {
                name: "alpha",
                reason: format!("must be in (0, 1), got {alpha}"),
            });
        }
        Ok(Ewma {
            alpha,
            limit: 3.0,
            min_periods: (1.0 / alpha).ceil().max(10.0) as u64,
            seen: 0,
            mean: 0.0,
            var: 0.0,
        })
    }

    /// Sets the control-limit width `L`, in standard deviations (positive).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `limit` is not positive and finite.
    pub fn limit(mut self, limit: f64) -> Result<Self> {
        check_positive("limit", limit)?;
        self.limit = limit;
        Ok(self)
    }

    /// Sets how many points are seen before scoring starts (at least 2).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `min_periods` is below 2.
    pub fn min_periods(mut self, min_periods: u64) -> Result<Self> {
        if min_periods < 2 {
            return Err(Error::InvalidParam {
                name: "min_periods",
                reason: format!("must be at least 2, got {min_periods}"),
            });
        }
        self.min_periods = min_periods;
        Ok(self)
    }

    /// The smoothing factor.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The weighted mean.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The weighted standard deviation.
    pub fn std(&self) -> f64 {
        self.var.sqrt()
    }

    /// The control limits `(μ − L·σ, μ + L·σ)`, once scoring has started.
    pub fn limits(&self) -> Option<(f64, f64)> {
        (self.seen >= self.min_periods).then(|| {
            let w = self.limit * self.std();
            (self.mean - w, self.mean + w)
        })
    }
}

impl Detector for Ewma {
    fn name(&self) -> &'static str {
        "ewma"
    }

    fn update(&mut self, _ts: Timestamp, x: f64) -> Option<Detection> {
        if !x.is_finite() {
            return None;
        }
        let out = (self.seen >= self.min_periods)
            .then(|| detection_of_z((x - self.mean) / floored_std(self.std(), self.mean)));
        if self.seen == 0 {
            self.mean = x;
            self.var = 0.0;
        } else {
            let d = x - self.mean;
            let mean = self.mean + self.alpha * d;
            let var = (1.0 - self.alpha) * (self.var + self.alpha * d * d);
            // Beyond f64's range the chart cannot follow: keep the last finite state.
            if mean.is_finite() && var.is_finite() {
                self.mean = mean;
                self.var = var;
            }
        }
        self.seen += 1;
        out
    }

    fn reset(&mut self) {
        self.seen = 0;
        self.mean = 0.0;
        self.var = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn alpha_must_be_in_open_unit_interval() {
        for a in [0.0, 1.0, -0.1, f64::NAN] {
            assert!(Ewma::new(a).is_err(), "{a}");
        }
    }

    #[test]
    fn limit_must_be_positive() {
        assert!(Ewma::new(0.1).unwrap().limit(0.0).is_err());
        assert!(Ewma::new(0.1).unwrap().limit(f64::INFINITY).is_err());
    }

    #[test]
    fn min_periods_must_be_at_least_two() {
        assert!(Ewma::new(0.1).unwrap().min_periods(1).is_err());
    }

    #[test]
    fn follows_a_level_and_its_spread() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut e = Ewma::new(0.01).unwrap();
        for _ in 0..20_000 {
            // Uniform on [9, 11]: mean 10, standard deviation 2/√12.
            e.update(Timestamp::EPOCH, 9.0 + 2.0 * rng.r#gen::<f64>());
        }
        assert!((e.mean() - 10.0).abs() < 0.1, "{}", e.mean());
        assert!((e.std() - 2.0 / 12f64.sqrt()).abs() < 0.05, "{}", e.std());
        let (lo, hi) = e.limits().unwrap();
        assert!(lo < 9.5 && hi > 10.5);
    }

    #[test]
    fn gaussian_scores_are_about_uniform() {
        // The calibration claim: on a Gaussian baseline about 1% of points score above 0.99.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut e = Ewma::new(0.02).unwrap();
        let (mut n, mut above) = (0, 0);
        for _ in 0..100_000 {
            // Box–Muller.
            let (u, v): (f64, f64) = (rng.r#gen::<f64>().max(1e-300), rng.r#gen());
            let g = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
            if let Some(d) = e.update(Timestamp::EPOCH, 50.0 + 5.0 * g) {
                n += 1;
                above += usize::from(d.score.value() > 0.99);
            }
        }
        let rate = above as f64 / n as f64;
        assert!((0.007..0.016).contains(&rate), "{rate}");
    }

    #[test]
    fn spike_scores_high_with_upward_direction() {
        let mut e = Ewma::new(0.1).unwrap();
        for i in 0..100 {
            e.update(Timestamp::EPOCH, 10.0 + (i % 3) as f64 * 0.1);
        }
        let d = e.update(Timestamp::EPOCH, 20.0).unwrap();
        assert!(d.score.value() > 0.999_99);
        assert_eq!(d.direction(), prescient_core::Direction::Up);
    }

    proptest! {
        #[test]
        fn prop_scores_in_unit_interval_and_state_finite(xs in proptest::collection::vec(prop_oneof![
            any::<f64>(), Just(1e308), Just(-1e308), Just(5e-324)
        ], 0..300)) {
            let mut e = Ewma::new(0.3).unwrap();
            for &x in &xs {
                if let Some(det) = e.update(Timestamp::EPOCH, x) {
                    prop_assert!((0.0..=1.0).contains(&det.score.value()));
                    prop_assert!(det.deviation.is_finite());
                }
                prop_assert!(e.mean().is_finite() && e.std().is_finite());
            }
        }
    }
}
