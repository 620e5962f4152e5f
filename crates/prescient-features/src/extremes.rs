use prescient_core::{FeatureExtractor, Result, RollingMax, Timestamp};

/// Minimum and maximum of the last `window` values, O(1) amortised per value.
///
/// Two monotonic deques hold only the values that can still become the extreme: each value is
/// pushed and popped at most once, and each deque holds at most `window` entries.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RollingExtremes {
    /// The maximum of the negated values: the minimum, negated (negation is exact).
    neg_min: RollingMax,
    max: RollingMax,
}

impl RollingExtremes {
    /// Extremes over the last `window` values.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::InvalidParam`] when `window` is 0.
    pub fn new(window: usize) -> Result<Self> {
        let window = crate::check_window("window", window)?;
        Ok(RollingExtremes {
            neg_min: RollingMax::new(window),
            max: RollingMax::new(window),
        })
    }

    /// Adds a finite value (non-finite values are ignored).
    pub fn push(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        self.neg_min.push(-x);
        self.max.push(x);
    }

    /// The minimum of the window, if any value was seen.
    pub fn min(&self) -> Option<f64> {
        self.neg_min.max().map(|v| -v)
    }

    /// The maximum of the window, if any value was seen.
    pub fn max(&self) -> Option<f64> {
        self.max.max()
    }
}

impl FeatureExtractor for RollingExtremes {
    fn names(&self) -> Vec<String> {
        vec!["min".into(), "max".into()]
    }

    fn len(&self) -> usize {
        2
    }

    fn update(&mut self, _ts: Timestamp, x: f64) {
        self.push(x);
    }

    fn extract_inplace(&self, out: &mut [f64]) {
        out[0] = self.min().unwrap_or(0.0);
        out[1] = self.max().unwrap_or(0.0);
    }

    fn reset(&mut self) {
        self.neg_min.clear();
        self.max.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn window_cannot_be_zero() {
        assert!(RollingExtremes::new(0).is_err());
    }

    #[test]
    fn ignores_non_finite() {
        let mut e = RollingExtremes::new(2).unwrap();
        e.push(1.0);
        e.push(f64::NAN);
        e.push(f64::INFINITY);
        assert_eq!((e.min(), e.max()), (Some(1.0), Some(1.0)));
    }

    proptest! {
        #[test]
        fn prop_matches_a_scan(w in 1usize..20, xs in proptest::collection::vec(-1e9f64..1e9, 1..200)) {
            let mut e = RollingExtremes::new(w).unwrap();
            for (i, &x) in xs.iter().enumerate() {
                e.push(x);
                let win = &xs[(i + 1).saturating_sub(w)..=i];
                let lo = win.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = win.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                prop_assert_eq!(e.min(), Some(lo));
                prop_assert_eq!(e.max(), Some(hi));
                prop_assert!(e.neg_min.len() <= w && e.max.len() <= w);
            }
        }
    }
}
