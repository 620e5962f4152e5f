use prescient_core::{Detection, Detector, Error, Result, RollingMoments, Timestamp};

use crate::{detection_of_z, floored_std};

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
        if window < 3 {
            return Err(Error::InvalidParam {
                name: "window",
                reason: format!("must be at least 3, got {window}"),
            });
        }
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
        if min_periods < 3 || min_periods > self.moments.capacity() {
            return Err(Error::InvalidParam {
                name: "min_periods",
                reason: format!(
                    "must be in [3, {}], got {min_periods}",
                    self.moments.capacity()
                ),
            });
        }
        self.min_periods = min_periods;
        Ok(self)
    }

    /// The window's length.
    pub fn window(&self) -> usize {
        self.moments.capacity()
    }
}

impl Detector for RollingZScore {
    fn name(&self) -> &'static str {
        "zscore"
    }

    fn update(&mut self, _ts: Timestamp, x: f64) -> Option<Detection> {
        if !x.is_finite() {
            return None;
        }
        let out = (self.moments.len() >= self.min_periods).then(|| {
            let mean = self.moments.mean();
            detection_of_z((x - mean) / floored_std(self.moments.std(), mean))
        });
        self.moments.push(x);
        out
    }

    fn reset(&mut self) {
        self.moments.clear();
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

    proptest! {
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
