//! The sliding window and refit schedule shared by the streaming multivariate detectors.

use prescient_core::{Error, Result};

/// The latest `window` vectors of dimension `dim`, row-major, and when to refit a model on them:
/// first once `min_points` vectors are stored, then every `refit_every` vectors.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct RefitWindow {
    dim: usize,
    window: usize,
    min_points: usize,
    refit_every: usize,
    /// Grows to `window · dim` values, then is overwritten in a ring.
    buf: Vec<f64>,
    /// The row the next vector goes to, once the window is full.
    head: usize,
    since_fit: usize,
    refits: u64,
}

impl RefitWindow {
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `dim` is 0, `window` is below 2 or holds more than 2³²
    /// values, `min_points` is outside `[2, window]`, or `refit_every` is 0.
    pub(crate) fn new(
        dim: usize,
        window: usize,
        min_points: usize,
        refit_every: usize,
    ) -> Result<Self> {
        if dim == 0 {
            return Err(Error::InvalidParam {
                name: "dim",
                reason: "must be at least 1".into(),
            });
        }
        if window < 2
            || window
                .checked_mul(dim)
                .is_none_or(|m| m > u32::MAX as usize)
        {
            return Err(Error::InvalidParam {
                name: "window",
                reason: format!("must be at least 2 and hold at most 2³² values, got {window}"),
            });
        }
        if min_points < 2 || min_points > window {
            return Err(Error::InvalidParam {
                name: "min_points",
                reason: format!("must be in [2, {window}], got {min_points}"),
            });
        }
        if refit_every == 0 {
            return Err(Error::InvalidParam {
                name: "refit_every",
                reason: "must be at least 1".into(),
            });
        }
        Ok(RefitWindow {
            dim,
            window,
            min_points,
            refit_every,
            buf: Vec::new(),
            head: 0,
            since_fit: 0,
            refits: 0,
        })
    }

    pub(crate) fn dim(&self) -> usize {
        self.dim
    }

    /// The number of vectors stored.
    pub(crate) fn len(&self) -> usize {
        self.buf.len() / self.dim
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The stored vectors, row-major (in ring order once full: the order does not matter to a
    /// model fitted on them).
    pub(crate) fn rows(&self) -> &[f64] {
        &self.buf
    }

    /// Checks that `x` has the window's dimension.
    ///
    /// # Errors
    ///
    /// [`Error::SchemaMismatch`] otherwise.
    pub(crate) fn check_dim(&self, x: &[f64]) -> Result<()> {
        if x.len() == self.dim {
            Ok(())
        } else {
            Err(Error::SchemaMismatch {
                expected: self.dim,
                got: x.len(),
            })
        }
    }

    /// Stores `x` (of the window's dimension). Returns `Some(k)` when the `k`-th refit (counting
    /// from 0) is due now; the schedule counts it as done, whatever its outcome, so that a
    /// failing fit is retried only `refit_every` vectors later.
    pub(crate) fn push(&mut self, x: &[f64]) -> Option<u64> {
        let dim = self.dim;
        if self.buf.len() < self.window * dim {
            self.buf.extend_from_slice(x);
        } else {
            let at = self.head * dim;
            self.buf[at..at + dim].copy_from_slice(x);
            self.head = (self.head + 1) % self.window;
        }
        self.since_fit += 1;
        let due = if self.refits == 0 {
            self.len() >= self.min_points
        } else {
            self.since_fit >= self.refit_every
        };
        due.then(|| {
            let k = self.refits;
            self.refits += 1;
            self.since_fit = 0;
            k
        })
    }

    /// How many refits were due so far.
    #[cfg(test)]
    pub(crate) fn refits(&self) -> u64 {
        self.refits
    }

    /// Forgets every vector and restarts the schedule.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.head = 0;
        self.since_fit = 0;
        self.refits = 0;
    }
}

/// The seed of the `k`-th refit: `seed` and `k` mixed by SplitMix64's finaliser.
pub(crate) fn derive_seed(seed: u64, k: u64) -> u64 {
    let mut z = seed.wrapping_add(k.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
