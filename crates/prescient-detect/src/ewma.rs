use prescient_core::{Detection, Detector, Error, Result, Timestamp, check_positive};

use crate::batch::{check_batch, standardised};
use crate::detection_of_z;

/// An EWMA control chart: an exponentially weighted mean and variance, and the deviation of each
/// point from the mean in weighted standard deviations.
///
/// With smoothing `alpha`, after each point `x`: `d = x − μ`, `μ ← (1 − α)·μ + α·x`,
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

impl Ewma {
    /// Learns `x` (finite), updating the weighted mean and variance.
    #[inline]
    fn learn(&mut self, x: f64) {
        if self.seen == 0 {
            self.mean = x;
            self.var = 0.0;
        } else {
            // `(1 − α)·μ + α·x` rather than `μ + α·d`: two operations on the dependency chain
            // instead of three (the batch path runs the same arithmetic).
            let d = x - self.mean;
            let mean = (1.0 - self.alpha) * self.mean + self.alpha * x;
            let var = (1.0 - self.alpha) * (self.var + self.alpha * d * d);
            // Beyond f64's range the chart cannot follow: keep the last finite state.
            if mean.is_finite() && var.is_finite() {
                self.mean = mean;
                self.var = var;
            }
        }
        self.seen += 1;
    }

    /// Updates with every value of `xs` in turn and writes each one's signed deviation, in
    /// weighted standard deviations, into `out`: exactly the [`Detection::deviation`]s that
    /// [`Detector::update`] would return, with `0` where it would return `None` (warm-up and
    /// non-finite values, which are not learned).
    ///
    /// This is the fast path for replays and backfills: the state update runs in blocks and the
    /// standardisation of a block is a separate loop the compiler vectorises, with no calibration
    /// per point (map deviations to scores with [`crate::score_of_z`] or a
    /// [`crate::TailCalibrator`] where they are needed).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `out` is not as long as `xs`; nothing is learned then.
    pub fn update_batch(&mut self, xs: &[f64], out: &mut [f64]) -> Result<()> {
        check_batch(xs, out)?;
        const BLOCK: usize = 1024;
        let mut means = [0.0; BLOCK];
        let mut vars = [0.0; BLOCK];
        for (xs, out) in xs.chunks(BLOCK).zip(out.chunks_mut(BLOCK)) {
            // Pass 1, sequential: the state before each point (NaN marks "not scored"). The fast
            // loop covers the usual block (warmed up, finite input, the state stays finite)
            // without a branch in the recurrence; any other block takes the careful loop.
            if !self.update_block_fast(xs, &mut means, &mut vars) {
                self.update_block_careful(xs, &mut means, &mut vars);
            }
            // Pass 2, independent per point: standardise.
            for (((o, &x), &m), &v) in out.iter_mut().zip(xs).zip(&means).zip(&vars) {
                *o = standardised(x, m, v.sqrt());
            }
        }
        Ok(())
    }

    /// Pass 1 for a block that needs no special case; `false` (and nothing changed) otherwise.
    #[inline]
    fn update_block_fast(&mut self, xs: &[f64], means: &mut [f64], vars: &mut [f64]) -> bool {
        if self.seen < self.min_periods.max(1) || !xs.iter().all(|x| x.is_finite()) {
            return false;
        }
        let (a, b) = (self.alpha, 1.0 - self.alpha);
        let (mut m, mut v) = (self.mean, self.var);
        for ((&x, mo), vo) in xs.iter().zip(means.iter_mut()).zip(vars.iter_mut()) {
            *mo = m;
            *vo = v;
            // The same operations, in the same order, as `learn`: identical results.
            let d = x - m;
            m = b * m + a * x;
            v = b * (v + a * d * d);
        }
        if !(m.is_finite() && v.is_finite()) {
            return false;
        }
        self.mean = m;
        self.var = v;
        self.seen += xs.len() as u64;
        true
    }

    /// Pass 1 for any block, point by point.
    fn update_block_careful(&mut self, xs: &[f64], means: &mut [f64], vars: &mut [f64]) {
        for (i, &x) in xs.iter().enumerate() {
            if x.is_finite() {
                let scored = self.seen >= self.min_periods;
                means[i] = if scored { self.mean } else { f64::NAN };
                vars[i] = self.var;
                self.learn(x);
            } else {
                means[i] = f64::NAN;
            }
        }
    }
}

impl Detector for Ewma {
    #[cfg(feature = "serde")]
    prescient_core::serde_state!();

    fn name(&self) -> &'static str {
        "ewma"
    }

    fn update(&mut self, _ts: Timestamp, x: f64) -> Option<Detection> {
        if !x.is_finite() {
            return None;
        }
        let out = (self.seen >= self.min_periods)
            .then(|| detection_of_z(standardised(x, self.mean, self.std())));
        self.learn(x);
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
    use crate::batch::update_each;
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
        fn prop_batch_equals_streaming(xs in proptest::collection::vec(prop_oneof![
            -1e3f64..1e3, Just(f64::NAN), Just(f64::INFINITY), Just(1e308), Just(0.0)
        ], 0..700)) {
            let mut streaming = Ewma::new(0.1).unwrap();
            let mut batch = streaming.clone();
            let mut want = vec![0.0; xs.len()];
            update_each(&mut streaming, &xs, &mut want);
            let mut got = vec![f64::NAN; xs.len()];
            batch.update_batch(&xs, &mut got).unwrap();
            prop_assert_eq!(got, want);
            prop_assert_eq!(batch, streaming);
        }

        #[test]
        fn prop_batch_fast_path_equals_streaming(
            xs in proptest::collection::vec(-1e3f64..1e3, 0..1500),
            alpha in 0.001f64..0.999,
        ) {
            let mut streaming = Ewma::new(alpha).unwrap();
            let mut batch = streaming.clone();
            let mut want = vec![0.0; xs.len()];
            update_each(&mut streaming, &xs, &mut want);
            let mut got = vec![f64::NAN; xs.len()];
            batch.update_batch(&xs, &mut got).unwrap();
            prop_assert_eq!(got, want);
            prop_assert_eq!(batch, streaming);
        }

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
