//! Shared pieces of the prediction intervals.

use prescient_core::{Error, Result, RingBuffer};
use statrs::distribution::{ContinuousCDF, Normal};

/// The standard normal quantile `z` such that `[−z, z]` has probability `level`.
///
/// The caller has checked `level` in `(0, 1)` already.
pub(crate) fn z_score(level: f64) -> Result<f64> {
    let z = Normal::standard().inverse_cdf(0.5 + level / 2.0);
    if z.is_finite() && z >= 0.0 {
        Ok(z)
    } else {
        Err(Error::InvalidParam {
            name: "level",
            reason: format!("too close to 1 for a finite interval, got {level}"),
        })
    }
}

/// A running sum of squares over a sliding window that neither overflows nor drifts.
///
/// The squares are of `x / scale`, with `scale` the largest magnitude in the window at the last
/// exact recomputation, so that values up to `f64::MAX` can be squared. The running sum is
/// recomputed exactly from the window once per window length (`O(1)` amortised), so rounding
/// errors of the add-and-subtract updates cannot accumulate, and whenever a new value is too
/// large for the current scale.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct SafeSumSq {
    scale: f64,
    sum: f64,
    since_exact: usize,
    every: usize,
}

/// `|x / scale|` above this forces a rescale, so that a square stays below 2^400.
const RESCALE_RATIO: f64 = 1.606_938_044_258_990_3e60; // 2^200

impl SafeSumSq {
    pub(crate) fn new(every: usize) -> Self {
        SafeSumSq {
            scale: 0.0,
            sum: 0.0,
            since_exact: 0,
            every: every.max(1),
        }
    }

    /// Accounts for `x`, just pushed into `window`, which evicted `evicted`.
    pub(crate) fn push(&mut self, x: f64, evicted: Option<f64>, window: &RingBuffer<f64>) {
        self.since_exact += 1;
        let too_large = x.abs() > self.scale * RESCALE_RATIO;
        if self.since_exact >= self.every || too_large {
            self.recompute(window);
            return;
        }
        if self.scale == 0.0 {
            // Everything in the window is zero, and so is `x`.
            return;
        }
        let r = x / self.scale;
        self.sum += r * r;
        if let Some(old) = evicted {
            let r = old / self.scale;
            self.sum -= r * r;
        }
        self.sum = self.sum.max(0.0);
    }

    /// Recomputes the sum exactly from `window`, with a fresh scale.
    pub(crate) fn recompute(&mut self, window: &RingBuffer<f64>) {
        self.since_exact = 0;
        self.scale = window.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        self.sum = if self.scale > 0.0 {
            window
                .iter()
                .map(|x| {
                    let r = x / self.scale;
                    r * r
                })
                .sum()
        } else {
            0.0
        };
    }

    /// The root mean square of the `n` values in the window (0 when `n` is 0).
    pub(crate) fn rms(&self, n: usize) -> f64 {
        if n == 0 || self.scale == 0.0 {
            0.0
        } else {
            self.scale * (self.sum / n as f64).sqrt()
        }
    }

    pub(crate) fn clear(&mut self) {
        self.scale = 0.0;
        self.sum = 0.0;
        self.since_exact = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_of_95_percent() {
        assert!((z_score(0.95).unwrap() - 1.959_963_984_540_054).abs() < 1e-9);
    }

    #[test]
    fn squares_of_huge_values_do_not_overflow() {
        let mut w = RingBuffer::new(4);
        let mut s = SafeSumSq::new(4);
        for x in [1e300, -1e300, 1.0, 1e-300] {
            let ev = w.push(x);
            s.push(x, ev, &w);
        }
        let rms = s.rms(w.len());
        assert!((rms - 1e300 * (0.5f64).sqrt()).abs() < 1e288);
    }
}
