use std::collections::VecDeque;

use prescient_core::{FeatureExtractor, Result, Timestamp};

/// Minimum and maximum of the last `window` values, O(1) amortised per value.
///
/// Two monotonic deques hold only the values that can still become the extreme: each value is
/// pushed and popped at most once, and each deque holds at most `window` entries.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RollingExtremes {
    window: usize,
    seen: u64,
    min: VecDeque<(u64, f64)>,
    max: VecDeque<(u64, f64)>,
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
            window,
            seen: 0,
            min: VecDeque::with_capacity(window.min(1024)),
            max: VecDeque::with_capacity(window.min(1024)),
        })
    }

    /// Adds a finite value (non-finite values are ignored).
    pub fn push(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        let i = self.seen;
        self.seen += 1;
        while self.min.back().is_some_and(|&(_, v)| v >= x) {
            self.min.pop_back();
        }
        self.min.push_back((i, x));
        while self.max.back().is_some_and(|&(_, v)| v <= x) {
            self.max.pop_back();
        }
        self.max.push_back((i, x));
        let oldest = self.seen.saturating_sub(self.window as u64);
        while self.min.front().is_some_and(|&(j, _)| j < oldest) {
            self.min.pop_front();
        }
        while self.max.front().is_some_and(|&(j, _)| j < oldest) {
            self.max.pop_front();
        }
    }

    /// The minimum of the window, if any value was seen.
    pub fn min(&self) -> Option<f64> {
        self.min.front().map(|&(_, v)| v)
    }

    /// The maximum of the window, if any value was seen.
    pub fn max(&self) -> Option<f64> {
        self.max.front().map(|&(_, v)| v)
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
        self.seen = 0;
        self.min.clear();
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
                prop_assert!(e.min.len() <= w && e.max.len() <= w);
            }
        }
    }
}
