use std::collections::VecDeque;

use prescient_core::Timestamp;

/// The maximum of the values recorded over a trailing time window, O(1) amortised per record.
///
/// A monotonic deque keeps only values that can still be the maximum. Its length is capped: when
/// ticks arrive far faster than the window, the oldest entries are dropped first, which can only
/// shorten the stabilisation, never raise a recommendation.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct WindowMax {
    window_ms: i64,
    cap: usize,
    items: VecDeque<(Timestamp, u32)>,
}

impl WindowMax {
    pub(crate) fn new(window_secs: f64, cap: usize) -> Self {
        WindowMax {
            window_ms: (window_secs * 1000.0).round() as i64,
            cap: cap.max(2),
            items: VecDeque::new(),
        }
    }

    /// Records `v` at `ts` and returns the maximum over `(ts − window, ts]`.
    pub(crate) fn record(&mut self, ts: Timestamp, v: u32) -> u32 {
        while self.items.back().is_some_and(|&(_, x)| x <= v) {
            self.items.pop_back();
        }
        if self.items.len() == self.cap {
            self.items.pop_front();
        }
        self.items.push_back((ts, v));
        let oldest = ts.as_millis().saturating_sub(self.window_ms);
        while self
            .items
            .front()
            .is_some_and(|&(t, _)| t.as_millis() <= oldest)
            && self.items.len() > 1
        {
            self.items.pop_front();
        }
        self.items.front().map_or(v, |&(_, x)| x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_over_trailing_window() {
        let mut w = WindowMax::new(30.0, 100);
        let t = Timestamp::from_secs;
        assert_eq!(w.record(t(0), 5), 5);
        assert_eq!(w.record(t(10), 3), 5);
        assert_eq!(w.record(t(20), 4), 5);
        // At 30 s the record from 0 s has left the window (0, 30].
        assert_eq!(w.record(t(30), 1), 4);
        assert_eq!(w.record(t(60), 2), 2);
    }

    #[test]
    fn length_is_capped() {
        let mut w = WindowMax::new(1e9, 3);
        for (i, v) in [9, 8, 7, 6, 5].into_iter().enumerate() {
            w.record(Timestamp::from_secs(i as i64), v);
        }
        assert!(w.items.len() <= 3);
    }
}
