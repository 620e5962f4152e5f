use prescient_core::{Detection, Detector, Error, Result, RollingMoments, Timestamp};

use crate::batch::{check_batch, standardised, update_each};
use crate::{detection_of_z, floored_std};
use prescient_core::SortedWindow;

/// The scale factor that makes the median absolute deviation a consistent estimator of the
/// standard deviation for Gaussian data, `1 / Φ⁻¹(3/4)`.
pub const MAD_SCALE: f64 = 1.482_602_218_505_602;

/// The rolling z-score: how many standard deviations a point is from the mean of the `window`
/// points before it.
///
/// O(1) amortised per point ([`RollingMoments`]). Scores start once `min_periods` points (default:
/// a quarter of the window, at least 3) have been seen.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RollingZScore {
    moments: RollingMoments,
    min_periods: usize,
}

impl RollingZScore {
    /// A rolling z-score over the last `window` points.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `window` is below 3.
    pub fn new(window: usize) -> Result<Self> {
        check_window(window, 3)?;
        Ok(RollingZScore {
            moments: RollingMoments::new(window),
            min_periods: (window / 4).max(3),
        })
    }

    /// Sets how many points must be seen before scoring starts (between 3 and the window).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `min_periods` is below 3 or above the window.
    pub fn min_periods(mut self, min_periods: usize) -> Result<Self> {
        check_min_periods(min_periods, 3, self.moments.capacity())?;
        self.min_periods = min_periods;
        Ok(self)
    }

    /// The window's length.
    pub fn window(&self) -> usize {
        self.moments.capacity()
    }
}

impl RollingZScore {
    /// Updates with every value of `xs` in turn and writes each one's z-score into `out`: exactly
    /// the [`Detection::deviation`]s that [`Detector::update`] would return, with `0` where it
    /// would return `None` (warm-up and non-finite values, which are not learned).
    ///
    /// The fast path for replays and backfills: see [`crate::Ewma::update_batch`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `out` is not as long as `xs`; nothing is learned then.
    pub fn update_batch(&mut self, xs: &[f64], out: &mut [f64]) -> Result<()> {
        check_batch(xs, out)?;
        const BLOCK: usize = 1024;
        let mut sums = [(0.0, 0.0); BLOCK];
        let mut shifts = [0.0; BLOCK];
        let cap = self.moments.capacity();
        for (xs, out) in xs.chunks(BLOCK).zip(out.chunks_mut(BLOCK)) {
            if xs.iter().all(|x| x.is_finite()) {
                // Pass 1: the running sums before each point, carried exactly as pushes would.
                let len0 = self.moments.len();
                self.moments
                    .push_batch(xs, &mut sums[..xs.len()], &mut shifts[..xs.len()]);
                // Pass 2, independent per point: standardise. Over a full window the length,
                // and so every reciprocal, is the same for the whole block.
                if len0 >= cap && cap >= self.min_periods {
                    for ((o, &x), (&(sum, sumsq), &shift)) in
                        out.iter_mut().zip(xs).zip(sums.iter().zip(&shifts))
                    {
                        let mean = RollingMoments::mean_of(cap, shift, sum);
                        *o = standardised(x, mean, RollingMoments::std_of(cap, sum, sumsq));
                    }
                    continue;
                }
                for (i, (o, &x)) in out.iter_mut().zip(xs).enumerate() {
                    let len = (len0 + i).min(cap);
                    let (sum, sumsq) = sums[i];
                    let mean = if len >= self.min_periods {
                        RollingMoments::mean_of(len, shifts[i], sum)
                    } else {
                        f64::NAN
                    };
                    *o = standardised(x, mean, RollingMoments::std_of(len, sum, sumsq));
                }
            } else {
                update_each(self, xs, out);
            }
        }
        Ok(())
    }
}

/// Checks a window length against the detector's smallest.
fn check_window(window: usize, least: usize) -> Result<()> {
    if window < least {
        return Err(Error::InvalidParam {
            name: "window",
            reason: format!("must be at least {least}, got {window}"),
        });
    }
    Ok(())
}

/// Checks a warm-up length: at least `least`, at most the window.
fn check_min_periods(min_periods: usize, least: usize, window: usize) -> Result<()> {
    if min_periods < least || min_periods > window {
        return Err(Error::InvalidParam {
            name: "min_periods",
            reason: format!("must be in [{least}, {window}], got {min_periods}"),
        });
    }
    Ok(())
}

impl Detector for RollingZScore {
    #[cfg(feature = "serde")]
    prescient_core::serde_state!();

    fn name(&self) -> &'static str {
        "zscore"
    }

    fn update(&mut self, _ts: Timestamp, x: f64) -> Option<Detection> {
        if !x.is_finite() {
            return None;
        }
        let out = (self.moments.len() >= self.min_periods)
            .then(|| detection_of_z(standardised(x, self.moments.mean(), self.moments.std())));
        self.moments.push(x);
        out
    }

    fn reset(&mut self) {
        self.moments.clear();
    }
}

/// The robust rolling z-score: how many (MAD-estimated) standard deviations a point is from the
/// *median* of the `window` points before it.
///
/// A spike moves a mean and inflates a standard deviation for as long as it is in the window, so
/// the plain [`RollingZScore`] goes blind for a window after every outlier; the median and the
/// median absolute deviation ignore up to half the window being outliers. The price is an ordered
/// window: `O(log w)` comparisons plus a contiguous shift of up to `w` values per point (see the
/// benchmarks), against `O(1)` for the plain z-score.
///
/// The scale is `1.4826 × MAD`, floored like the plain z-score's standard deviation so that a
/// window that is more than half one value still gives finite deviations. Scores start once
/// `min_periods` points (default: a quarter of the window, at least 5) have been seen.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RobustZScore {
    window: SortedWindow,
    min_periods: usize,
}

impl RobustZScore {
    /// A robust z-score over the last `window` points.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `window` is below 5.
    pub fn new(window: usize) -> Result<Self> {
        check_window(window, 5)?;
        Ok(RobustZScore {
            window: SortedWindow::new(window),
            min_periods: (window / 4).max(5),
        })
    }

    /// Sets how many points must be seen before scoring starts (between 5 and the window).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `min_periods` is below 5 or above the window.
    pub fn min_periods(mut self, min_periods: usize) -> Result<Self> {
        check_min_periods(min_periods, 5, self.window.capacity())?;
        self.min_periods = min_periods;
        Ok(self)
    }

    /// The window's length.
    pub fn window(&self) -> usize {
        self.window.capacity()
    }

    /// The robust z of `x` against the current window, without learning it; `None` while warming
    /// up.
    fn deviation(&self, x: f64) -> Option<f64> {
        if self.window.len() < self.min_periods {
            return None;
        }
        let median = self.window.median()?;
        let scale = MAD_SCALE * self.window.mad()?;
        Some((x - median) / floored_std(scale, median))
    }
}

impl Detector for RobustZScore {
    #[cfg(feature = "serde")]
    prescient_core::serde_state!();

    fn name(&self) -> &'static str {
        "robust_zscore"
    }

    fn update(&mut self, _ts: Timestamp, x: f64) -> Option<Detection> {
        if !x.is_finite() {
            return None;
        }
        let out = self.deviation(x).map(detection_of_z);
        self.window.push(x);
        out
    }

    fn reset(&mut self) {
        self.window.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn window_must_be_at_least_three() {
        assert!(RollingZScore::new(2).is_err());
    }

    #[test]
    fn min_periods_must_fit_the_window() {
        assert!(RollingZScore::new(10).unwrap().min_periods(2).is_err());
        assert!(RollingZScore::new(10).unwrap().min_periods(11).is_err());
    }

    #[test]
    fn scores_against_the_previous_window_only() {
        let mut d = RollingZScore::new(4).unwrap().min_periods(4).unwrap();
        let ts = Timestamp::EPOCH;
        for x in [1.0, 2.0, 3.0] {
            assert!(d.update(ts, x).is_none());
        }
        assert!(d.update(ts, 4.0).is_none());
        // Window 1, 2, 3, 4: mean 2.5, std √(5/3).
        let got = d.update(ts, 10.0).unwrap();
        let want = (10.0 - 2.5) / (5.0f64 / 3.0).sqrt();
        assert!((got.deviation - want).abs() < 1e-12);
    }

    #[test]
    fn flat_line_then_jump_is_maximally_surprising_but_finite() {
        let mut d = RollingZScore::new(5).unwrap();
        for _ in 0..5 {
            d.update(Timestamp::EPOCH, 7.0);
        }
        let same = d.update(Timestamp::EPOCH, 7.0).unwrap();
        assert_eq!(same.score.value(), 0.0);
        let jump = d.update(Timestamp::EPOCH, 8.0).unwrap();
        assert_eq!(jump.score.value(), 1.0);
        assert!(jump.deviation.is_finite());
    }

    #[test]
    fn non_finite_points_are_skipped() {
        let mut d = RollingZScore::new(3).unwrap();
        for x in [1.0, 2.0, 3.0] {
            d.update(Timestamp::EPOCH, x);
        }
        let before = d.clone();
        assert!(d.update(Timestamp::EPOCH, f64::NAN).is_none());
        assert!(d.update(Timestamp::EPOCH, f64::NEG_INFINITY).is_none());
        assert_eq!(d, before);
    }

    #[test]
    fn robust_window_must_be_at_least_five() {
        assert!(RobustZScore::new(4).is_err());
        assert!(RobustZScore::new(10).unwrap().min_periods(4).is_err());
        assert!(RobustZScore::new(10).unwrap().min_periods(11).is_err());
    }

    #[test]
    fn robust_zscore_uses_median_and_mad() {
        let mut d = RobustZScore::new(5).unwrap().min_periods(5).unwrap();
        for x in [1.0, 2.0, 3.0, 4.0, 100.0] {
            assert!(d.update(Timestamp::EPOCH, x).is_none());
        }
        // Median 3, MAD 1.
        let got = d.update(Timestamp::EPOCH, 6.0).unwrap();
        assert!((got.deviation - 3.0 / MAD_SCALE).abs() < 1e-12);
    }

    #[test]
    fn robust_zscore_is_not_blinded_by_a_spike() {
        let mut plain = RollingZScore::new(50).unwrap();
        let mut robust = RobustZScore::new(50).unwrap();
        let ts = Timestamp::EPOCH;
        let wiggle = |i: usize| 10.0 + ((i * 7919) % 13) as f64 / 13.0;
        for i in 0..60 {
            plain.update(ts, wiggle(i));
            robust.update(ts, wiggle(i));
        }
        plain.update(ts, 1e6);
        robust.update(ts, 1e6);
        // A second, much smaller excursion right after the first.
        let p = plain.update(ts, 20.0).unwrap();
        let r = robust.update(ts, 20.0).unwrap();
        assert!(p.score.value() < 0.9, "plain z was {}", p.deviation);
        assert!(r.score.value() > 0.9999, "robust z was {}", r.deviation);
    }

    proptest! {
        #[test]
        fn prop_robust_scores_in_unit_interval(xs in proptest::collection::vec(prop_oneof![
            any::<f64>(), Just(1e308), Just(-1e308), Just(5e-324), Just(0.0)
        ], 0..300)) {
            let mut d = RobustZScore::new(10).unwrap();
            for &x in &xs {
                if let Some(det) = d.update(Timestamp::EPOCH, x) {
                    prop_assert!((0.0..=1.0).contains(&det.score.value()));
                    prop_assert!(det.deviation.is_finite());
                }
            }
        }

        #[test]
        fn prop_batch_equals_streaming(xs in proptest::collection::vec(prop_oneof![
            -1e3f64..1e3, Just(f64::NAN), Just(f64::INFINITY), Just(1e300), Just(0.0)
        ], 0..700)) {
            let mut streaming = RollingZScore::new(20).unwrap();
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
            xs in proptest::collection::vec(prop_oneof![-1e3f64..1e3, Just(1e200)], 0..2500),
            window in 3usize..60,
        ) {
            let mut streaming = RollingZScore::new(window).unwrap();
            let mut batch = streaming.clone();
            let mut want = vec![0.0; xs.len()];
            update_each(&mut streaming, &xs, &mut want);
            let mut got = vec![f64::NAN; xs.len()];
            batch.update_batch(&xs, &mut got).unwrap();
            prop_assert_eq!(got, want);
            prop_assert_eq!(batch, streaming);
        }

        #[test]
        fn prop_scores_in_unit_interval(xs in proptest::collection::vec(prop_oneof![
            any::<f64>(), Just(1e308), Just(-1e308), Just(5e-324), Just(0.0)
        ], 0..300)) {
            let mut d = RollingZScore::new(10).unwrap();
            for &x in &xs {
                if let Some(det) = d.update(Timestamp::EPOCH, x) {
                    let s = det.score.value();
                    prop_assert!((0.0..=1.0).contains(&s));
                    prop_assert!(det.deviation.is_finite());
                }
            }
        }
    }
}
