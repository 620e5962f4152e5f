//! A DDSketch-style quantile sketch with relative accuracy, mergeable and subtractable.

use prescient_core::{Error, Result};

/// Magnitudes below this are counted as zero: it keeps every bucket's representative value a
/// normal float (the logarithm of a subnormal is exact, but `exp` of it is not).
const MIN_INDEXABLE: f64 = 1e-300;

/// The default number of buckets per sign (Datadog's default): at α = 0.01 it spans a ratio of
/// about 10^17 between the smallest and the largest magnitude before anything is collapsed.
const DEFAULT_MAX_BUCKETS: usize = 2048;

/// A quantile sketch with relative accuracy α: every quantile it returns is within `α·|x|` of
/// the exact one, whatever the distribution, in memory that grows with the logarithm of the
/// range of the values rather than with their number.
///
/// It follows DDSketch (Masson, Rim and Lee, *DDSketch: a fast and fully-mergeable quantile
/// sketch with relative-error guarantees*, VLDB 2019), written here from the paper. With
/// `γ = (1 + α)/(1 − α)`, a positive value `x` is counted in bucket `i = ⌈ln x / ln γ⌉`, which
/// covers `(γ^(i−1), γ^i]`; a bucket's representative value is `2γ^i/(γ + 1)`, within `α` of
/// every value of the bucket in relative terms. Negative values are counted by their magnitude
/// in a second store, and zeros (with every magnitude below 1e-300) in a zero count.
///
/// **Rank convention and error bound.** For `n` values, [`QuantileSketch::quantile`]`(q)` returns
/// the representative value of the bucket that holds `x_q`, the order statistic of 0-based rank
/// `⌊q·(n − 1)⌋` (the paper's convention, the lower of the two values that type-7 interpolation
/// would mix). Counts are exact, so that bucket is exactly known, and the estimate `x̂` satisfies
/// `|x̂ − x_q| ≤ α·|x_q|` for every `x_q` of magnitude at least 1e-300 that lies above the
/// collapse limit (below); a zero (or a magnitude below 1e-300) comes back as 0.
///
/// **Bounded memory, collapsing.** Each store (positive, negative) keeps at most `max_buckets`
/// contiguous buckets (default 2,048). A value that would stretch a store beyond that makes it
/// collapse its lowest buckets, those of the smallest magnitudes, into the lowest bucket kept,
/// as DDSketch's collapsing-lowest store does: from then on, values below the collapse limit
/// ([`QuantileSketch::collapse_limit`]) are counted at that limit. A quantile whose `x_q` lies
/// below the limit loses the relative guarantee: it comes back as the lowest kept bucket's value,
/// which overstates its magnitude, by less than the limit itself in absolute terms. The
/// quantiles above the limit (for latencies, the high ones) keep theirs. The limit only ever
/// rises, until the store is emptied, so that [`QuantileSketch::remove`] always finds what was
/// added, wherever it was moved.
///
/// **Windows by subtraction.** Counts are integers, so [`QuantileSketch::remove`] and
/// [`QuantileSketch::subtract`] undo [`QuantileSketch::insert`] and [`QuantileSketch::merge`]
/// exactly, with no drift: a sliding window is a running sketch to which each period is added
/// and from which it is later subtracted ([`LatencyDistribution`](crate::LatencyDistribution)).
/// A sketch cannot tell the values of one bucket apart: removing a value that was never inserted
/// removes another from its bucket, if there is one. Remove only what was inserted.
///
/// Costs: an insertion or removal is one logarithm and O(1) (amortised; growing a store moves
/// it); a quantile walks the buckets, O(`max_buckets`) at worst; a merge or subtraction is
/// O(buckets of both). Memory is at most `2 · max_buckets` counts of 8 bytes. Non-finite values
/// are ignored.
///
/// ```
/// use prescient_features::QuantileSketch;
///
/// let mut sketch = QuantileSketch::new(0.01)?;
/// for i in 1..=1000 {
///     sketch.insert(i as f64);
/// }
/// // The exact median of rank ⌊0.5 · 999⌋ = 499 is 500; the sketch is within 1% of it.
/// let median = sketch.quantile(0.5).expect("not empty");
/// assert!((median - 500.0).abs() <= 0.01 * 500.0);
/// // Removing values undoes their insertion exactly.
/// for i in 501..=1000 {
///     sketch.remove(i as f64);
/// }
/// assert_eq!(sketch.count(), 500);
/// let max = sketch.quantile(1.0).expect("not empty");
/// assert!((max - 500.0).abs() <= 0.01 * 500.0);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct QuantileSketch {
    alpha: f64,
    /// `1 / ln γ`, so that an index is one logarithm and one product.
    inv_ln_gamma: f64,
    ln_gamma: f64,
    /// `2 / (γ + 1)`, the factor from a bucket's upper bound to its representative value.
    mid_factor: f64,
    positive: Store,
    negative: Store,
    zero: u64,
}

impl Default for QuantileSketch {
    /// α = 0.01 and 2,048 buckets per sign.
    fn default() -> Self {
        Self::build(0.01, DEFAULT_MAX_BUCKETS)
    }
}

impl QuantileSketch {
    /// An empty sketch of relative accuracy `alpha`, with 2,048 buckets per sign.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `alpha` is not in `[1e-6, 0.5]`.
    pub fn new(alpha: f64) -> Result<Self> {
        Self::with_max_buckets(alpha, DEFAULT_MAX_BUCKETS)
    }

    /// An empty sketch of relative accuracy `alpha` that keeps at most `max_buckets` buckets
    /// per sign.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `alpha` is not in `[1e-6, 0.5]` (below, bucket boundaries
    /// approach the rounding of a logarithm; above, an estimate may be off by half), or when
    /// `max_buckets` is 0.
    pub fn with_max_buckets(alpha: f64, max_buckets: usize) -> Result<Self> {
        if !(1e-6..=0.5).contains(&alpha) {
            return Err(Error::InvalidParam {
                name: "alpha",
                reason: format!("must be in [1e-6, 0.5], got {alpha}"),
            });
        }
        if max_buckets == 0 {
            return Err(Error::InvalidParam {
                name: "max_buckets",
                reason: "must be at least 1".into(),
            });
        }
        Ok(Self::build(alpha, max_buckets))
    }

    fn build(alpha: f64, max_buckets: usize) -> Self {
        let gamma = (1.0 + alpha) / (1.0 - alpha);
        let ln_gamma = gamma.ln();
        QuantileSketch {
            alpha,
            inv_ln_gamma: 1.0 / ln_gamma,
            ln_gamma,
            mid_factor: 2.0 / (gamma + 1.0),
            positive: Store::new(max_buckets),
            negative: Store::new(max_buckets),
            zero: 0,
        }
    }

    /// The relative accuracy α.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The most buckets kept per sign.
    pub fn max_buckets(&self) -> usize {
        self.positive.max_buckets
    }

    /// How many values the sketch holds.
    pub fn count(&self) -> u64 {
        self.positive
            .total
            .saturating_add(self.negative.total)
            .saturating_add(self.zero)
    }

    /// Whether the sketch holds no value.
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// Where `x` goes: the store and the bucket index, or `None` for the zero count.
    #[inline]
    fn locate(&self, x: f64) -> Option<(bool, i64)> {
        let m = x.abs();
        if m < MIN_INDEXABLE {
            return None;
        }
        // `m` is at least 1e-300 and at most f64::MAX, so the index is within ±36,000 / α.
        let f = m.ln() * self.inv_ln_gamma;
        // ⌈f⌉ without a call to `ceil` (a library call on baseline x86-64): the conversion
        // truncates towards zero, which is the ceiling for negative `f` and one below it for
        // positive `f` with a fraction.
        let t = f as i64;
        let i = if (t as f64) < f { t + 1 } else { t };
        Some((x > 0.0, i))
    }

    /// The representative value of bucket `i`: `2γ^i/(γ + 1)`, at most f64::MAX.
    #[inline]
    fn value_of(&self, i: i64) -> f64 {
        ((i as f64 * self.ln_gamma).exp() * self.mid_factor).min(f64::MAX)
    }

    /// Adds `x` once (non-finite values are ignored).
    pub fn insert(&mut self, x: f64) {
        self.insert_n(x, 1);
    }

    /// Adds `count` copies of `x` (non-finite values are ignored; counts saturate at u64::MAX).
    pub fn insert_n(&mut self, x: f64, count: u64) {
        if !x.is_finite() || count == 0 {
            return;
        }
        match self.locate(x) {
            None => self.zero = self.zero.saturating_add(count),
            Some((true, i)) => self.positive.add(i, count),
            Some((false, i)) => self.negative.add(i, count),
        }
    }

    /// Removes one copy of `x`; returns whether its bucket held one.
    pub fn remove(&mut self, x: f64) -> bool {
        self.remove_n(x, 1) == 1
    }

    /// Removes up to `count` copies of `x` from its bucket; returns how many were removed (fewer
    /// when the bucket held fewer; 0 for a non-finite `x`).
    pub fn remove_n(&mut self, x: f64, count: u64) -> u64 {
        if !x.is_finite() {
            return 0;
        }
        match self.locate(x) {
            None => {
                let r = count.min(self.zero);
                self.zero -= r;
                r
            }
            Some((positive, i)) => {
                let store = if positive {
                    &mut self.positive
                } else {
                    &mut self.negative
                };
                let r = store.sub(i, count);
                store.trim();
                r
            }
        }
    }

    fn check_compatible(&self, other: &QuantileSketch) -> Result<()> {
        if self.alpha.to_bits() == other.alpha.to_bits() {
            Ok(())
        } else {
            Err(Error::InvalidParam {
                name: "alpha",
                reason: format!(
                    "cannot combine sketches of accuracy {} and {}",
                    self.alpha, other.alpha
                ),
            })
        }
    }

    /// Adds every value of `other` (the union of the two multisets). Collapsing follows this
    /// sketch's `max_buckets`; values that `other` had collapsed stay at its collapse limit, so
    /// the union keeps the guarantee above the higher of the two limits.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when the two sketches have different accuracies (their buckets
    /// differ); nothing is changed.
    pub fn merge(&mut self, other: &QuantileSketch) -> Result<()> {
        self.check_compatible(other)?;
        self.merge_same(other);
        Ok(())
    }

    /// Removes every value of `other`, which must have been merged (or its values inserted) into
    /// this sketch before: bucket by bucket, at most what this sketch holds is removed.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when the two sketches have different accuracies; nothing is
    /// changed.
    pub fn subtract(&mut self, other: &QuantileSketch) -> Result<()> {
        self.check_compatible(other)?;
        self.subtract_same(other);
        Ok(())
    }

    /// The `q`-quantile: the representative value of the bucket holding the order statistic of
    /// 0-based rank `⌊q·(n − 1)⌋`, within `α` of it in relative terms (see the type's docs), or
    /// `None` when the sketch is empty. `q` is clamped to `[0, 1]` (NaN reads as 0.5).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * (n - 1) as f64).floor() as u64).min(n - 1);
        Some(self.value_at_rank(rank, n))
    }

    /// The quantiles `qs` into `out` (each as [`QuantileSketch::quantile`]; 0 when empty).
    pub fn quantiles_inplace(&self, qs: &[f64], out: &mut [f64]) {
        for (o, &q) in out.iter_mut().zip(qs) {
            *o = self.quantile(q).unwrap_or(0.0);
        }
    }

    /// The estimate of the value of 0-based rank `rank < n`, walking from the nearer end.
    fn value_at_rank(&self, rank: u64, n: u64) -> f64 {
        let neg = self.negative.total;
        let zero = self.zero;
        if rank < neg {
            // The negative values, ascending, are the negative store from its largest magnitude
            // down: rank `rank` from below is rank `rank` from the top of the store.
            let i = if rank < neg / 2 {
                self.negative.index_at_rank_from_top(rank)
            } else {
                self.negative.index_at_rank(neg - 1 - rank)
            };
            -self.value_of(i)
        } else if rank < neg + zero {
            0.0
        } else {
            let r = rank - neg - zero;
            let pos = n - neg - zero;
            let i = if r < pos / 2 {
                self.positive.index_at_rank(r)
            } else {
                self.positive.index_at_rank_from_top(pos - 1 - r)
            };
            self.value_of(i)
        }
    }

    /// The magnitude below which values have been collapsed (0 when nothing was): quantiles of
    /// larger magnitude keep the relative guarantee; smaller ones are overstated (see the type's
    /// docs). Positive and negative values are collapsed separately; this is the larger limit.
    pub fn collapse_limit(&self) -> f64 {
        let limit = |s: &Store| match s.floor {
            Some(f) => ((f - 1) as f64 * self.ln_gamma).exp().min(f64::MAX),
            None => 0.0,
        };
        limit(&self.positive).max(limit(&self.negative))
    }

    /// An empty sketch with the same accuracy and bucket bound.
    pub(crate) fn empty_like(&self) -> Self {
        Self::build(self.alpha, self.positive.max_buckets)
    }

    /// [`QuantileSketch::merge`] for sketches known to share the accuracy (built by
    /// `empty_like` from one another).
    pub(crate) fn merge_same(&mut self, other: &QuantileSketch) {
        debug_assert_eq!(self.alpha.to_bits(), other.alpha.to_bits());
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
        self.zero = self.zero.saturating_add(other.zero);
    }

    /// [`QuantileSketch::subtract`] for sketches known to share the accuracy.
    pub(crate) fn subtract_same(&mut self, other: &QuantileSketch) {
        debug_assert_eq!(self.alpha.to_bits(), other.alpha.to_bits());
        self.positive.subtract(&other.positive);
        self.negative.subtract(&other.negative);
        self.zero -= other.zero.min(self.zero);
    }

    /// Forgets every value (the memory is kept).
    pub fn clear(&mut self) {
        self.positive.clear();
        self.negative.clear();
        self.zero = 0;
    }
}

/// One sign's buckets: dense counts over a contiguous range of indices.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Store {
    /// `counts[j]` counts bucket `offset + j`. When `total > 0`, the first and last counts are
    /// not zero (after `trim`); when `total = 0`, `counts` is empty.
    counts: Vec<u64>,
    offset: i64,
    total: u64,
    /// The collapse limit: indices below it are counted at it. Only rises, until the store is
    /// emptied.
    floor: Option<i64>,
    max_buckets: usize,
}

impl Store {
    fn new(max_buckets: usize) -> Self {
        Store {
            counts: Vec::new(),
            offset: 0,
            total: 0,
            floor: None,
            max_buckets,
        }
    }

    fn clear(&mut self) {
        self.counts.clear();
        self.offset = 0;
        self.total = 0;
        self.floor = None;
    }

    /// The highest index held (only meaningful when not empty).
    #[inline]
    fn top(&self) -> i64 {
        self.offset + self.counts.len() as i64 - 1
    }

    /// Adds `count` at bucket `i`, growing (or collapsing) the range as needed.
    #[inline]
    fn add(&mut self, i: i64, count: u64) {
        // The common case first: a bucket inside the range, not below the floor (the floor is
        // never above the offset).
        let j = if i >= self.offset && i <= self.top() && !self.counts.is_empty() {
            (i - self.offset) as usize
        } else {
            self.slot_for(i)
        };
        self.counts[j] = self.counts[j].saturating_add(count);
        self.total = self.total.saturating_add(count);
    }

    /// The position in `counts` where bucket `i` is counted, after growing the range to hold it
    /// (collapsing the lowest buckets when the range would exceed `max_buckets`).
    fn slot_for(&mut self, i: i64) -> usize {
        let max = self.max_buckets as i64;
        let mut i = match self.floor {
            Some(f) => i.max(f),
            None => i,
        };
        if self.counts.is_empty() {
            self.offset = i;
            self.counts.push(0);
            return 0;
        }
        let top = self.top();
        if i < self.offset {
            if top - i + 1 > max {
                // Collapse the lowest: the new value itself is the lowest, so it goes to the
                // lowest bucket the range can keep.
                let floor = top - max + 1;
                self.raise_floor(floor);
                i = floor;
            }
            let grow = (self.offset - i) as usize;
            if grow > 0 {
                let len = self.counts.len();
                self.counts.resize(len + grow, 0);
                self.counts.copy_within(0..len, grow);
                self.counts[..grow].fill(0);
                self.offset = i;
            }
        } else if i > top {
            if i - self.offset + 1 > max {
                self.raise_floor(i - max + 1);
            }
            // After collapsing, the range may be a single bucket below `i`.
            let len = (i - self.offset + 1) as usize;
            self.counts.resize(len, 0);
        }
        (i - self.offset) as usize
    }

    /// Moves every count below index `floor` into bucket `floor` and records the limit.
    fn raise_floor(&mut self, floor: i64) {
        self.floor = Some(self.floor.map_or(floor, |f| f.max(floor)));
        if floor <= self.offset {
            return;
        }
        let below = ((floor - self.offset) as usize).min(self.counts.len());
        let moved = self.counts[..below]
            .iter()
            .fold(0u64, |a, &c| a.saturating_add(c));
        self.counts.drain(..below);
        self.offset = floor;
        if self.counts.is_empty() {
            self.counts.push(moved);
        } else {
            self.counts[0] = self.counts[0].saturating_add(moved);
        }
    }

    /// Removes up to `count` from bucket `i` (where it was counted: at the floor if below it);
    /// returns how many were removed. Leaves zeros at the ends: call `trim` after.
    fn sub(&mut self, i: i64, count: u64) -> u64 {
        let i = match self.floor {
            Some(f) => i.max(f),
            None => i,
        };
        if self.counts.is_empty() || i < self.offset || i > self.top() {
            return 0;
        }
        let c = &mut self.counts[(i - self.offset) as usize];
        let r = count.min(*c);
        *c -= r;
        self.total -= r;
        r
    }

    /// Drops zero counts at both ends; an empty store forgets its collapse limit.
    fn trim(&mut self) {
        if self.total == 0 {
            self.clear();
            return;
        }
        while self.counts.last() == Some(&0) {
            self.counts.pop();
        }
        let lead = self.counts.iter().take_while(|&&c| c == 0).count();
        if lead > 0 {
            self.counts.drain(..lead);
            self.offset += lead as i64;
        }
    }

    fn merge(&mut self, other: &Store) {
        if other.total == 0 {
            return;
        }
        // Grow once to the other's range (its lowest index first, then its highest), so that
        // each bucket is then a plain addition.
        self.slot_for(other.offset);
        self.slot_for(other.top());
        if self.floor.is_none_or(|f| other.offset >= f) {
            // The whole range fits without collapsing: one pass of additions.
            let start = (other.offset - self.offset) as usize;
            let dst = &mut self.counts[start..start + other.counts.len()];
            for (d, &c) in dst.iter_mut().zip(&other.counts) {
                *d = d.saturating_add(c);
            }
            self.total = self.total.saturating_add(other.total);
            self.trim();
            return;
        }
        // Collapsing (ours, or the sum of both ranges) raised the floor above some of the
        // other's buckets: every index below it is counted at it.
        for (k, &c) in other.counts.iter().enumerate() {
            if c > 0 {
                let j = self.slot_for(other.offset + k as i64);
                self.counts[j] = self.counts[j].saturating_add(c);
            }
        }
        self.total = self.total.saturating_add(other.total);
        self.trim();
    }

    fn subtract(&mut self, other: &Store) {
        if other.counts.is_empty() {
            return;
        }
        let within = !self.counts.is_empty()
            && other.offset >= self.offset
            && other.top() <= self.top()
            && self.floor.is_none_or(|f| other.offset >= f);
        if within {
            // Every bucket of the other is one of ours, not collapsed: one pass.
            let start = (other.offset - self.offset) as usize;
            let dst = &mut self.counts[start..start + other.counts.len()];
            let mut removed = 0u64;
            for (d, &c) in dst.iter_mut().zip(&other.counts) {
                let r = c.min(*d);
                *d -= r;
                removed += r;
            }
            self.total -= removed;
            self.trim();
            return;
        }
        for (k, &c) in other.counts.iter().enumerate() {
            if c > 0 {
                self.sub(other.offset + k as i64, c);
            }
        }
        self.trim();
    }

    /// The index of the bucket holding the value of 0-based rank `r < total`, from the lowest.
    fn index_at_rank(&self, r: u64) -> i64 {
        let mut cum = 0u64;
        for (k, &c) in self.counts.iter().enumerate() {
            cum += c;
            if cum > r {
                return self.offset + k as i64;
            }
        }
        self.top()
    }

    /// The index of the bucket holding the value of 0-based rank `r < total`, from the highest.
    fn index_at_rank_from_top(&self, r: u64) -> i64 {
        let mut cum = 0u64;
        for (k, &c) in self.counts.iter().enumerate().rev() {
            cum += c;
            if cum > r {
                return self.offset + k as i64;
            }
        }
        self.offset
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// The exact order statistic of 0-based rank ⌊q·(n − 1)⌋.
    fn exact(xs: &[f64], q: f64) -> f64 {
        let mut v = xs.to_vec();
        v.sort_by(f64::total_cmp);
        v[(q * (v.len() - 1) as f64).floor() as usize]
    }

    fn within(got: f64, want: f64, alpha: f64) -> bool {
        // A hair of slack for the rounding of the logarithm at a bucket's boundary.
        (got - want).abs() <= alpha * want.abs() * (1.0 + 1e-9) + 1e-300
    }

    /// A seeded xorshift stream of uniform numbers in (0, 1).
    fn uniforms(seed: u64, n: usize) -> Vec<f64> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            })
            .collect()
    }

    #[test]
    fn alpha_must_be_in_range() {
        for a in [0.0, 1e-7, 0.6, 1.0, f64::NAN] {
            assert!(matches!(
                QuantileSketch::new(a),
                Err(Error::InvalidParam { name: "alpha", .. })
            ));
        }
        assert!(QuantileSketch::new(1e-6).is_ok());
        assert!(QuantileSketch::new(0.5).is_ok());
    }

    #[test]
    fn max_buckets_cannot_be_zero() {
        assert!(matches!(
            QuantileSketch::with_max_buckets(0.01, 0),
            Err(Error::InvalidParam {
                name: "max_buckets",
                ..
            })
        ));
    }

    #[test]
    fn buckets_follow_the_paper() {
        let s = QuantileSketch::new(0.01).unwrap();
        let gamma: f64 = 1.01 / 0.99;
        // 1 is γ^0 exactly: bucket 0, whose representative value is 2/(γ + 1).
        assert_eq!(s.locate(1.0), Some((true, 0)));
        assert_eq!(s.locate(-1.0), Some((false, 0)));
        assert_eq!(s.locate(1.01), Some((true, 1)));
        assert_eq!(s.locate(0.0), None);
        assert_eq!(s.locate(1e-301), None);
        assert!((s.value_of(0) - 2.0 / (gamma + 1.0)).abs() < 1e-15);
        assert!((s.value_of(3) - 2.0 * gamma.powi(3) / (gamma + 1.0)).abs() < 1e-14);
        assert_eq!(s.value_of(i64::from(i32::MAX)), f64::MAX);
    }

    proptest! {
        #[test]
        fn prop_index_is_the_ceiling(x in prop_oneof![1e-300f64..1e-100, 1e-100f64..1.0, 1.0f64..1e300],
                                    alpha in 1e-6f64..0.5) {
            let s = QuantileSketch::new(alpha).unwrap();
            let want = (x.ln() * s.inv_ln_gamma).ceil() as i64;
            prop_assert_eq!(s.locate(x), Some((true, want)));
        }
    }

    #[test]
    fn quantiles_by_hand() {
        let mut s = QuantileSketch::new(0.01).unwrap();
        assert_eq!(s.quantile(0.5), None);
        for x in [-3.0, 0.0, 0.0, 2.0, 10.0] {
            s.insert(x);
        }
        // Ranks ⌊q · 4⌋: 0 → −3, 1 → 0, 2 → 0, 3 → 2, 4 → 10.
        let q = |p: f64| s.quantile(p).unwrap();
        assert!(within(q(0.0), -3.0, 0.01));
        assert_eq!(q(0.25), 0.0);
        assert_eq!(q(0.7), 0.0);
        assert!(within(q(0.75), 2.0, 0.01));
        assert!(within(q(0.99), 2.0, 0.01));
        assert!(within(q(1.0), 10.0, 0.01));
        assert_eq!(s.count(), 5);
    }

    #[test]
    fn insert_with_a_count_equals_repeated_inserts() {
        let mut a = QuantileSketch::default();
        let mut b = QuantileSketch::default();
        a.insert_n(4.0, 3);
        a.insert_n(-1.0, 2);
        a.insert_n(0.0, 1);
        for x in [4.0, 4.0, 4.0, -1.0, -1.0, 0.0] {
            b.insert(x);
        }
        assert_eq!(a, b);
    }

    #[test]
    fn remove_undoes_insert() {
        let mut s = QuantileSketch::default();
        let empty = s.clone();
        for x in [1.0, 2.0, -5.0, 0.0, 1e6] {
            s.insert(x);
        }
        for x in [1e6, 0.0, -5.0, 2.0, 1.0] {
            assert!(s.remove(x));
        }
        assert_eq!(s, empty);
        assert!(!s.remove(1.0));
        assert_eq!(s.remove_n(3.0, 5), 0);
        assert_eq!(s.remove_n(f64::NAN, 1), 0);
    }

    #[test]
    fn merge_then_subtract_is_the_identity() {
        let xs = uniforms(7, 500);
        let mut a = QuantileSketch::default();
        let mut b = QuantileSketch::default();
        for (i, &u) in xs.iter().enumerate() {
            let x = (u * 20.0).exp() - 3.0;
            if i % 2 == 0 { a.insert(x) } else { b.insert(x) }
        }
        let before = a.clone();
        a.merge(&b).unwrap();
        assert_eq!(a.count(), 500);
        a.subtract(&b).unwrap();
        assert_eq!(a, before);
    }

    #[test]
    fn sketches_of_different_accuracy_do_not_combine() {
        let mut a = QuantileSketch::new(0.01).unwrap();
        let b = QuantileSketch::new(0.02).unwrap();
        assert!(matches!(
            a.merge(&b),
            Err(Error::InvalidParam { name: "alpha", .. })
        ));
        assert!(a.subtract(&b).is_err());
    }

    #[test]
    fn collapsing_keeps_the_high_quantiles_and_the_memory_bound() {
        let mut s = QuantileSketch::with_max_buckets(0.01, 100).unwrap();
        // 1e-3 and 1e3 are ln(1e6)/ln γ ≈ 691 buckets apart: the low ones collapse.
        let xs: Vec<f64> = (0..1000)
            .map(|i| 1e-3 * 1e6f64.powf(i as f64 / 999.0))
            .collect();
        for &x in &xs {
            s.insert(x);
        }
        assert!(s.positive.counts.len() <= 100);
        let limit = s.collapse_limit();
        assert!(limit > 1e-3 && limit < 1e3, "{limit}");
        for q in [0.9, 0.95, 0.99, 1.0] {
            let want = exact(&xs, q);
            assert!(want > limit);
            assert!(within(s.quantile(q).unwrap(), want, 0.01));
        }
        // Below the limit, the estimate is the lowest kept bucket: too high, by less than the
        // limit.
        let low = s.quantile(0.0).unwrap();
        assert!(low > 1e-3 && low - 1e-3 < limit * 1.02);
        // Removing every value empties the sketch and forgets the limit.
        for &x in &xs {
            assert!(s.remove(x));
        }
        assert!(s.is_empty());
        assert_eq!(s.collapse_limit(), 0.0);
    }

    #[test]
    fn extreme_magnitudes_stay_finite() {
        let mut s = QuantileSketch::default();
        for x in [f64::MAX, -f64::MAX, 5e-324, 1e-300, f64::INFINITY, f64::NAN] {
            s.insert(x);
        }
        assert_eq!(s.count(), 4);
        for q in [0.0, 0.3, 0.6, 1.0] {
            assert!(s.quantile(q).unwrap().is_finite());
        }
        assert!(within(s.quantile(1.0).unwrap(), f64::MAX, 0.01));
        assert!(within(s.quantile(0.0).unwrap(), -f64::MAX, 0.01));
    }

    #[test]
    fn heavy_tails_on_seeded_data() {
        // Pareto(α = 1.1): a tail so heavy the variance is infinite; and log-normal latencies.
        for seed in 1..6 {
            let us = uniforms(seed, 20_000);
            let pareto: Vec<f64> = us.iter().map(|u| u.powf(-1.0 / 1.1)).collect();
            let lognormal: Vec<f64> = us
                .chunks(2)
                .map(|p| {
                    let z = (-2.0 * p[0].ln()).sqrt() * (std::f64::consts::TAU * p[1]).cos();
                    0.05 * (1.5 * z).exp()
                })
                .collect();
            for xs in [&pareto, &lognormal] {
                let mut s = QuantileSketch::default();
                for &x in xs.iter() {
                    s.insert(x);
                }
                for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0] {
                    let (got, want) = (s.quantile(q).unwrap(), exact(xs, q));
                    assert!(
                        within(got, want, 0.01),
                        "seed {seed} q {q}: {got} vs {want}"
                    );
                }
            }
        }
    }

    proptest! {
        #[test]
        fn prop_relative_error_bound(
            alpha in prop_oneof![Just(0.01), Just(0.05), 0.001f64..0.2],
            xs in proptest::collection::vec(prop_oneof![
                -1e6f64..1e6, 1e-9f64..1e-3, Just(0.0), 1e200f64..1e300, -1e300f64..-1e200
            ], 1..300),
            q in 0.0f64..=1.0,
        ) {
            // Enough buckets that nothing collapses (at α = 0.001, 1e-9 to 1e300 is 355,000).
            let mut s = QuantileSketch::with_max_buckets(alpha, 1 << 20).unwrap();
            for &x in &xs {
                s.insert(x);
            }
            prop_assert_eq!(s.collapse_limit(), 0.0);
            let (got, want) = (s.quantile(q).unwrap(), exact(&xs, q));
            prop_assert!(within(got, want, alpha), "{} vs {}", got, want);
        }

        #[test]
        fn prop_a_window_by_subtraction_equals_a_fresh_sketch(
            xs in proptest::collection::vec(prop_oneof![-1e3f64..1e3, 1e-6f64..1.0, Just(0.0)], 1..200),
            w in 1usize..40,
            max_buckets in prop_oneof![Just(2048usize), 8usize..64],
        ) {
            // Without collapsing, the running sketch is exactly a fresh one over the window.
            let mut running = QuantileSketch::with_max_buckets(0.02, max_buckets).unwrap();
            for (i, &x) in xs.iter().enumerate() {
                running.insert(x);
                if i >= w {
                    prop_assert!(running.remove(xs[i - w]));
                }
                let win = &xs[(i + 1).saturating_sub(w)..=i];
                prop_assert_eq!(running.count(), win.len() as u64);
                prop_assert!(running.positive.counts.len() <= max_buckets);
                prop_assert!(running.negative.counts.len() <= max_buckets);
                if running.collapse_limit() == 0.0 {
                    let mut fresh = QuantileSketch::with_max_buckets(0.02, max_buckets).unwrap();
                    for &x in win {
                        fresh.insert(x);
                    }
                    for q in [0.0, 0.5, 0.9, 1.0] {
                        prop_assert_eq!(running.quantile(q), fresh.quantile(q));
                    }
                }
            }
        }

        #[test]
        fn prop_merged_ticks_subtract_back_to_empty(
            ticks in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![1e-9f64..1e9, -1e3f64..1e3, Just(0.0)], 0..20),
                1..20,
            ),
            w in 1usize..5,
            max_buckets in 4usize..40,
        ) {
            // A window of per-tick sketches summed into a running one, with small bucket bounds
            // so that both collapse: every subtraction finds what its merge added.
            let mut running = QuantileSketch::with_max_buckets(0.05, max_buckets).unwrap();
            let mut ring: Vec<QuantileSketch> = Vec::new();
            for xs in &ticks {
                let mut tick = running.empty_like();
                for &x in xs {
                    tick.insert(x);
                }
                running.merge(&tick).unwrap();
                ring.push(tick);
                if ring.len() > w {
                    let old = ring.remove(0);
                    running.subtract(&old).unwrap();
                }
                let want: u64 = ring.iter().map(QuantileSketch::count).sum();
                prop_assert_eq!(running.count(), want);
                prop_assert!(running.positive.counts.len() <= max_buckets);
                prop_assert!(running.negative.counts.len() <= max_buckets);
            }
            for old in ring.drain(..) {
                running.subtract(&old).unwrap();
            }
            prop_assert!(running.is_empty());
            prop_assert_eq!(running.collapse_limit(), 0.0);
        }

        #[test]
        fn prop_never_nan(xs in proptest::collection::vec(prop_oneof![
            any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(1e308), Just(-1e308), Just(5e-324)
        ], 1..100), q in any::<f64>()) {
            let mut s = QuantileSketch::with_max_buckets(0.01, 16).unwrap();
            for &x in &xs {
                s.insert(x);
                if let Some(v) = s.quantile(q) {
                    prop_assert!(v.is_finite());
                }
            }
        }
    }
}
