use prescient_core::{FeatureExtractor, Result, RollingMoments, Timestamp};

use crate::RollingExtremes;

/// Mean, standard deviation, minimum and maximum over the last `window` values.
///
/// O(1) amortised per value; memory is the window. Features, in order: `mean`, `std` (sample,
/// n − 1), `min`, `max`; all 0 before the first value.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RollingStats {
    moments: RollingMoments,
    extremes: RollingExtremes,
}

impl RollingStats {
    /// Statistics over the last `window` values.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::InvalidParam`] when `window` is 0.
    pub fn new(window: usize) -> Result<Self> {
        let window = crate::check_window("window", window)?;
        Ok(RollingStats {
            moments: RollingMoments::new(window),
            extremes: RollingExtremes::new(window)?,
        })
    }

    /// The mean of the window.
    pub fn mean(&self) -> f64 {
        self.moments.mean()
    }

    /// The sample standard deviation of the window.
    pub fn std(&self) -> f64 {
        self.moments.std()
    }

    /// How many values the window holds.
    pub fn count(&self) -> usize {
        self.moments.len()
    }
}

impl FeatureExtractor for RollingStats {
    fn names(&self) -> Vec<String> {
        ["mean", "std", "min", "max"].map(String::from).to_vec()
    }

    fn len(&self) -> usize {
        4
    }

    fn update(&mut self, _ts: Timestamp, x: f64) {
        if x.is_finite() {
            self.moments.push(x);
            self.extremes.push(x);
        }
    }

    fn extract_inplace(&self, out: &mut [f64]) {
        out[0] = self.moments.mean();
        // A window of values near f64::MAX can overflow the variance: report the largest
        // finite deviation rather than infinity.
        out[1] = self.moments.std().min(f64::MAX);
        out[2] = self.extremes.min().unwrap_or(0.0);
        out[3] = self.extremes.max().unwrap_or(0.0);
    }

    fn reset(&mut self) {
        self.moments.clear();
        self.extremes.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_extractor_writes_zeros() {
        let s = RollingStats::new(5).unwrap();
        assert_eq!(s.extract(), vec![0.0; 4]);
    }

    #[test]
    fn window_cannot_be_zero() {
        assert!(RollingStats::new(0).is_err());
    }

    #[test]
    fn reset_forgets() {
        let mut s = RollingStats::new(5).unwrap();
        s.update(Timestamp::EPOCH, 3.0);
        s.reset();
        assert_eq!(s.count(), 0);
        assert_eq!(s.extract(), vec![0.0; 4]);
    }

    proptest! {
        #[test]
        fn prop_features_are_finite(xs in proptest::collection::vec(prop_oneof![
            any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(1e308), Just(-1e308), Just(5e-324)
        ], 0..200)) {
            let mut s = RollingStats::new(7).unwrap();
            let mut out = [0.0; 4];
            for (i, &x) in xs.iter().enumerate() {
                s.update(Timestamp::from_secs(i as i64), x);
                s.extract_inplace(&mut out);
                prop_assert!(out.iter().all(|v| !v.is_nan()), "{:?}", out);
                prop_assert!(out[2] <= out[3]);
            }
        }
    }
}
