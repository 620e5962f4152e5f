//! Shannon entropy of the request mix over the last ticks.

use prescient_core::{Error, Result, Timestamp};

/// Counts are summed scaled by 2^-64 (exact: a power of two), so that no total of finite counts
/// overflows; magnitudes below about 1e-289 then count as 0.
const SCALE: f64 = 5.421_010_862_427_522e-20;

/// The Shannon entropy of the request mix over the last `window` ticks: how evenly the requests
/// spread over `k` categories (request types, endpoints, user classes). A change in the mix, such
/// as one endpoint taking over or a new class of clients appearing, moves it even when the total
/// rate does not.
///
/// Each tick the host gives the count of each category ([`MixEntropy::update`]). The window keeps
/// a ring of per-tick counts and the running total `T_j` of each category (add the new tick,
/// subtract the one that leaves: O(k) per tick, with an exact recomputation from the ring every
/// `max(window, 1024)` ticks so that fractional counts cannot drift). The entropy of the totals
/// is then `H = −Σ p_j ln p_j` with `p_j = T_j / N` and `N = Σ T_j`, which equals
/// `ln N − (1/N)·Σ T_j ln T_j`; it is evaluated in the first form, k logarithms per tick, which
/// costs less than keeping `Σ T ln T` up to date term by term (every category changes every
/// tick) and has no cancellation when `H` is near 0.
///
/// Features, in order: `entropy` (nats, in `[0, ln k]`), `entropy_norm` (`H / ln k`, in
/// `[0, 1]`: 1 for an even mix, 0 when one category has every request; 0 when `k = 1`) and
/// `total` (`N`, the requests in the window). All are 0 for an empty window (no request). Memory
/// is `window · k` counts.
///
/// ```
/// use prescient_core::Timestamp;
/// use prescient_features::MixEntropy;
///
/// let mut mix = MixEntropy::new(4, 2)?;
/// // Two ticks with an even mix of four request types.
/// mix.update(Timestamp::from_secs(0), &[10.0, 10.0, 10.0, 10.0])?;
/// mix.update(Timestamp::from_secs(15), &[5.0, 5.0, 5.0, 5.0])?;
/// assert!((mix.entropy() - 4f64.ln()).abs() < 1e-12);
/// assert!((mix.features()[1] - 1.0).abs() < 1e-12);
/// // One type takes over: the mix of the window (5 + 100, 5, 5, 5) is far from even.
/// mix.update(Timestamp::from_secs(30), &[100.0, 0.0, 0.0, 0.0])?;
/// assert!(mix.features()[1] < 0.5);
/// assert_eq!(mix.features()[2], 120.0);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MixEntropy {
    k: usize,
    window: usize,
    /// The ring of per-tick counts (scaled): tick `r` is `ring[r·k..(r + 1)·k]`.
    ring: Vec<f64>,
    start: usize,
    ticks: usize,
    /// The window's total of each category (scaled).
    totals: Vec<f64>,
    since_exact: usize,
    features: [f64; 3],
}

impl MixEntropy {
    /// The entropy of a mix of `k` categories over the last `window` ticks.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `k` or `window` is 0.
    pub fn new(k: usize, window: usize) -> Result<Self> {
        if k == 0 {
            return Err(Error::InvalidParam {
                name: "k",
                reason: "must be at least 1".into(),
            });
        }
        let window = crate::check_window("window", window)?;
        Ok(MixEntropy {
            k,
            window,
            ring: vec![0.0; k * window],
            start: 0,
            ticks: 0,
            totals: vec![0.0; k],
            since_exact: 0,
            features: [0.0; 3],
        })
    }

    /// The number of categories.
    pub fn categories(&self) -> usize {
        self.k
    }

    /// Takes one tick's count of each category (requests, or any non-negative weight), observed
    /// at `ts`. The window counts ticks, whatever their timestamps.
    ///
    /// # Errors
    ///
    /// Nothing is changed, and:
    /// - [`Error::SchemaMismatch`] when `counts` does not have `k` values;
    /// - [`Error::NonFinite`] at the first NaN or infinite count;
    /// - [`Error::InvalidParam`] naming `counts` at a negative count.
    pub fn update(&mut self, _ts: Timestamp, counts: &[f64]) -> Result<()> {
        let k = self.k;
        if counts.len() != k {
            return Err(Error::SchemaMismatch {
                expected: k,
                got: counts.len(),
            });
        }
        if let Some(index) = counts.iter().position(|c| !c.is_finite()) {
            return Err(Error::NonFinite { index });
        }
        if let Some(c) = counts.iter().find(|&&c| c < 0.0) {
            return Err(Error::InvalidParam {
                name: "counts",
                reason: format!("a count cannot be negative, got {c}"),
            });
        }
        let slot = if self.ticks == self.window {
            // Full: the oldest tick leaves; its slot takes the new one.
            let slot = self.start;
            self.start = (self.start + 1) % self.window;
            let row = &mut self.ring[slot * k..(slot + 1) * k];
            for ((t, r), &c) in self.totals.iter_mut().zip(row.iter_mut()).zip(counts) {
                let c = c * SCALE;
                *t += c - *r;
                *r = c;
            }
            slot
        } else {
            let slot = (self.start + self.ticks) % self.window;
            self.ticks += 1;
            let row = &mut self.ring[slot * k..(slot + 1) * k];
            for ((t, r), &c) in self.totals.iter_mut().zip(row.iter_mut()).zip(counts) {
                let c = c * SCALE;
                *t += c;
                *r = c;
            }
            slot
        };
        debug_assert!(slot < self.window);
        self.since_exact += 1;
        if self.since_exact >= self.window.max(1024) {
            self.recompute();
        }
        self.refresh();
        Ok(())
    }

    /// Recomputes the totals exactly from the ring.
    fn recompute(&mut self) {
        self.since_exact = 0;
        self.totals.fill(0.0);
        let k = self.k;
        for r in 0..self.ticks {
            let slot = (self.start + r) % self.window;
            for (t, &c) in self
                .totals
                .iter_mut()
                .zip(&self.ring[slot * k..(slot + 1) * k])
            {
                *t += c;
            }
        }
    }

    fn refresh(&mut self) {
        // Rounding can leave a total a hair below zero after a subtraction: it is zero.
        let n: f64 = self.totals.iter().map(|&t| t.max(0.0)).sum();
        if !(n > 0.0 && n.is_finite()) {
            self.features = [0.0; 3];
            return;
        }
        let inv_n = 1.0 / n;
        let mut h = 0.0;
        for &t in &self.totals {
            // A share can underflow to 0 (a tiny count beside a huge one): it adds nothing,
            // and `0 · ln 0` would be NaN.
            let p = t * inv_n;
            if p > 0.0 {
                h -= p * p.ln();
            }
        }
        let ln_k = (self.k as f64).ln();
        let h = h.clamp(0.0, ln_k);
        let norm = if self.k > 1 {
            (h / ln_k).clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.features = [h, norm, (n / SCALE).min(f64::MAX)];
    }

    /// The entropy of the window's mix, in nats.
    pub fn entropy(&self) -> f64 {
        self.features[0]
    }

    /// The features, in order: `entropy`, `entropy_norm`, `total`.
    pub fn features(&self) -> [f64; 3] {
        self.features
    }

    /// The names of the features, in order.
    pub fn names(&self) -> Vec<String> {
        ["entropy", "entropy_norm", "total"]
            .map(String::from)
            .to_vec()
    }

    /// How many features [`MixEntropy::extract_inplace`] writes (3).
    pub fn len(&self) -> usize {
        3
    }

    /// Whether there are no features (never: there are 3).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the features into `out[..3]`.
    ///
    /// # Panics
    ///
    /// If `out` is shorter than 3.
    pub fn extract_inplace(&self, out: &mut [f64]) {
        out[..3].copy_from_slice(&self.features);
    }

    /// Forgets every tick.
    pub fn reset(&mut self) {
        self.start = 0;
        self.ticks = 0;
        self.totals.fill(0.0);
        self.since_exact = 0;
        self.features = [0.0; 3];
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn entropy_of(counts: &[f64]) -> f64 {
        let n: f64 = counts.iter().sum();
        counts
            .iter()
            .filter(|&&c| c > 0.0)
            .map(|&c| -(c / n) * (c / n).ln())
            .sum()
    }

    #[test]
    fn k_cannot_be_zero() {
        assert!(matches!(
            MixEntropy::new(0, 3),
            Err(Error::InvalidParam { name: "k", .. })
        ));
    }

    #[test]
    fn window_cannot_be_zero() {
        assert!(matches!(
            MixEntropy::new(3, 0),
            Err(Error::InvalidParam { name: "window", .. })
        ));
    }

    #[test]
    fn by_hand() {
        let mut m = MixEntropy::new(3, 1).unwrap();
        m.update(Timestamp::EPOCH, &[1.0, 1.0, 2.0]).unwrap();
        // p = 1/4, 1/4, 1/2: H = ln 2 + ln 4 / 2 = 1.5 ln 2.
        let h = 1.5 * 2f64.ln();
        assert!((m.entropy() - h).abs() < 1e-12);
        assert!((m.features()[1] - h / 3f64.ln()).abs() < 1e-12);
        assert_eq!(m.features()[2], 4.0);
        // ln N − (1/N) Σ c ln c gives the same.
        let other = 4f64.ln() - (2.0 * 2f64.ln()) / 4.0;
        assert!((m.entropy() - other).abs() < 1e-12);
        // One category only: no uncertainty.
        m.update(Timestamp::EPOCH, &[0.0, 7.0, 0.0]).unwrap();
        assert_eq!(m.features(), [0.0, 0.0, 7.0]);
    }

    #[test]
    fn empty_windows_and_single_categories_give_zero() {
        let mut m = MixEntropy::new(2, 2).unwrap();
        assert_eq!(m.features(), [0.0; 3]);
        m.update(Timestamp::EPOCH, &[0.0, 0.0]).unwrap();
        assert_eq!(m.features(), [0.0; 3]);
        let mut one = MixEntropy::new(1, 2).unwrap();
        one.update(Timestamp::EPOCH, &[5.0]).unwrap();
        assert_eq!(one.features(), [0.0, 0.0, 5.0]);
        m.update(Timestamp::EPOCH, &[3.0, 3.0]).unwrap();
        m.reset();
        assert_eq!(m.features(), [0.0; 3]);
        let mut out = [1.0; 3];
        m.extract_inplace(&mut out);
        assert_eq!(out, [0.0; 3]);
        assert_eq!(m.names().len(), m.len());
        assert!(!m.is_empty());
    }

    #[test]
    fn bad_ticks_change_nothing() {
        let mut m = MixEntropy::new(2, 2).unwrap();
        m.update(Timestamp::EPOCH, &[1.0, 2.0]).unwrap();
        let before = m.clone();
        assert!(matches!(
            m.update(Timestamp::EPOCH, &[1.0]),
            Err(Error::SchemaMismatch {
                expected: 2,
                got: 1
            })
        ));
        assert!(matches!(
            m.update(Timestamp::EPOCH, &[f64::NAN, 1.0]),
            Err(Error::NonFinite { index: 0 })
        ));
        assert!(matches!(
            m.update(Timestamp::EPOCH, &[1.0, -2.0]),
            Err(Error::InvalidParam { name: "counts", .. })
        ));
        assert_eq!(m, before);
    }

    proptest! {
        #[test]
        fn prop_matches_the_window_totals(
            w in 1usize..8,
            ticks in proptest::collection::vec(proptest::collection::vec(0.0f64..100.0, 4), 1..60),
        ) {
            let mut m = MixEntropy::new(4, w).unwrap();
            for (i, c) in ticks.iter().enumerate() {
                m.update(Timestamp::from_secs(i as i64), c).unwrap();
                let mut totals = [0.0; 4];
                for t in &ticks[(i + 1).saturating_sub(w)..=i] {
                    for j in 0..4 {
                        totals[j] += t[j];
                    }
                }
                let n: f64 = totals.iter().sum();
                let want = entropy_of(&totals);
                let f = m.features();
                prop_assert!((f[0] - want).abs() < 1e-9, "{} vs {}", f[0], want);
                prop_assert!((f[2] - n).abs() <= 1e-9 * n.max(1.0));
                prop_assert!((0.0..=1.0).contains(&f[1]));
            }
        }

        #[test]
        fn prop_features_are_finite(ticks in proptest::collection::vec(proptest::collection::vec(
            prop_oneof![any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(1e308), Just(f64::MAX),
                Just(5e-324), Just(0.0), 0.0f64..10.0],
            3,
        ), 0..50)) {
            let mut m = MixEntropy::new(3, 4).unwrap();
            for (i, c) in ticks.iter().enumerate() {
                let _ = m.update(Timestamp::from_secs(i as i64), c);
                let f = m.features();
                prop_assert!(f.iter().all(|v| v.is_finite() && *v >= 0.0), "{:?}", f);
                prop_assert!(f[0] <= 3f64.ln() + 1e-12 && f[1] <= 1.0);
            }
        }
    }
}
