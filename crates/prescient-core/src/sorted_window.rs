//! A sliding window kept in sorted order, for rolling order statistics (median, MAD).

use crate::RingBuffer;

/// The last `capacity` finite values, kept both in arrival order (to know which one to evict) and
/// in sorted order (to read order statistics).
///
/// A push costs one binary search plus one `memmove` of at most `capacity` values for the
/// insertion and another for the eviction: O(log w) comparisons and O(w) moves of contiguous
/// memory, which for windows of a few thousand values is a few hundred nanoseconds. The median is
/// O(1) and the median absolute deviation O(log w) (see [`SortedWindow::mad`]); nothing is
/// allocated after construction.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SortedWindow {
    arrival: RingBuffer<f64>,
    sorted: Vec<f64>,
}

impl SortedWindow {
    /// A window over the last `capacity` values (at least one).
    pub fn new(capacity: usize) -> Self {
        let arrival = RingBuffer::new(capacity);
        let sorted = Vec::with_capacity(arrival.capacity());
        SortedWindow { arrival, sorted }
    }

    /// Adds `x` and returns the value evicted to make room, if the window was full.
    ///
    /// A non-finite `x` is ignored (nothing is added or evicted): order statistics of NaN are
    /// meaningless and an infinity would make the MAD NaN.
    pub fn push(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        let evicted = self.arrival.push(x);
        if let Some(old) = evicted {
            // `old` is in `sorted` (every value in `arrival` is), so the search finds an equal
            // value; which of several equal copies is removed does not matter.
            if let Ok(i) = self.sorted.binary_search_by(|v| v.total_cmp(&old)) {
                self.sorted.remove(i);
            }
        }
        let at = self.sorted.partition_point(|v| v.total_cmp(&x).is_lt());
        self.sorted.insert(at, x);
        evicted
    }

    /// The number of values held.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The values held, in ascending order.
    pub fn sorted(&self) -> &[f64] {
        &self.sorted
    }

    /// The most values held.
    pub fn capacity(&self) -> usize {
        self.arrival.capacity()
    }

    /// The median (the mean of the two middle values for an even count), or `None` when empty.
    pub fn median(&self) -> Option<f64> {
        median_of_sorted(&self.sorted)
    }

    /// The median absolute deviation from the median, `median(|x_i − median(x)|)` (unscaled: multiply
    /// by 1.4826 for a consistent estimate of a Gaussian standard deviation), or `None` when
    /// empty. Never NaN; infinite only when values of both signs near `f64::MAX` make a deviation
    /// overflow.
    ///
    /// O(log w): the deviations to the left of the median, read from the median outwards, form
    /// one ascending sequence and those to the right another, so the middle order statistic(s) of
    /// their union come from a binary search over how many to take from each.
    pub fn mad(&self) -> Option<f64> {
        let m = self.median()?;
        let s = &self.sorted;
        let n = s.len();
        let split = s.partition_point(|&v| v < m);
        // Left deviations, ascending: m − s[split − 1], m − s[split − 2], …
        let left = |j: usize| m - s[split - 1 - j];
        // Right deviations, ascending: s[split] − m, s[split + 1] − m, …
        let right = |j: usize| s[split + j] - m;
        let (nl, nr) = (split, n - split);
        let hi = kth_of_two(left, nl, right, nr, n / 2);
        Some(if n % 2 == 1 {
            hi
        } else {
            // Halve before adding, as for the median.
            0.5 * kth_of_two(left, nl, right, nr, n / 2 - 1) + 0.5 * hi
        })
    }

    /// The `q`-quantile by linear interpolation between order statistics (R's type 7, NumPy's
    /// default), or `None` when empty; `q` is clamped to `[0, 1]` (NaN reads as 0.5).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let s = &self.sorted;
        let last = s.len().checked_sub(1)?;
        let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
        let pos = q * last as f64;
        let lo = pos.floor() as usize;
        let hi = (lo + 1).min(last);
        let frac = pos - lo as f64;
        if frac == 0.0 {
            return Some(s[lo]);
        }
        let gap = s[hi] - s[lo];
        // Between −f64::MAX and f64::MAX the gap overflows; the weighted sum does not.
        let v = if gap.is_finite() {
            s[lo] + gap * frac
        } else {
            s[lo] * (1.0 - frac) + s[hi] * frac
        };
        Some(v.clamp(s[lo], s[hi]))
    }

    /// Forgets every value (the capacity stays).
    pub fn clear(&mut self) {
        self.arrival.clear();
        self.sorted.clear();
    }
}

/// The median of an ascending slice, or `None` when empty.
fn median_of_sorted(s: &[f64]) -> Option<f64> {
    let n = s.len();
    if n == 0 {
        return None;
    }
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        // Halve before adding so that two values near f64::MAX do not overflow.
        0.5 * s[n / 2 - 1] + 0.5 * s[n / 2]
    })
}

/// The `k`-th smallest (0-based) of the union of two ascending sequences `a` (of length `na`) and
/// `b` (of length `nb`), with `k < na + nb`, in O(log(min(na, nb))) reads.
///
/// It binary-searches `i`, how many of the `k + 1` smallest come from `a`: the smallest `i` with
/// `a[i] ≥ b[k − i]` (or `i` at its upper bound) is the split, and the answer is the larger of
/// `a[i − 1]` and `b[k − i]`.
fn kth_of_two(
    a: impl Fn(usize) -> f64,
    na: usize,
    b: impl Fn(usize) -> f64,
    nb: usize,
    k: usize,
) -> f64 {
    debug_assert!(k < na + nb);
    let take = k + 1;
    let (mut lo, mut hi) = (take.saturating_sub(nb), take.min(na));
    while lo < hi {
        let i = lo + (hi - lo) / 2;
        let j = take - i;
        // `i < hi ≤ na` and `j ≥ 1` here, so both reads are in range.
        if a(i) < b(j - 1) {
            lo = i + 1;
        } else {
            hi = i;
        }
    }
    let (i, j) = (lo, take - lo);
    match (i, j) {
        (0, _) => b(j - 1),
        (_, 0) => a(i - 1),
        _ => a(i - 1).max(b(j - 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantiles_interpolate_as_numpy_does() {
        let mut w = SortedWindow::new(8);
        assert_eq!(w.quantile(0.5), None);
        for x in [4.0, 1.0, 3.0, 2.0] {
            w.push(x);
        }
        // numpy.quantile([1, 2, 3, 4], [0, 0.25, 0.9, 1]) = [1, 1.75, 3.7, 4].
        assert_eq!(w.quantile(0.0), Some(1.0));
        assert_eq!(w.quantile(0.25), Some(1.75));
        assert!((w.quantile(0.9).unwrap() - 3.7).abs() < 1e-12);
        assert_eq!(w.quantile(1.0), Some(4.0));
        assert_eq!(w.quantile(7.0), Some(4.0));
    }

    #[test]
    fn quantiles_across_the_whole_range_are_finite() {
        let mut w = SortedWindow::new(4);
        w.push(-f64::MAX);
        w.push(f64::MAX);
        for q in [0.0, 0.1, 0.5, 0.9, 1.0] {
            let v = w.quantile(q).unwrap();
            assert!(v.is_finite(), "{q}: {v}");
        }
        assert_eq!(w.quantile(0.5), Some(0.0));
    }

    fn naive_median(xs: &[f64]) -> Option<f64> {
        let mut v = xs.to_vec();
        v.sort_by(f64::total_cmp);
        median_of_sorted(&v)
    }

    fn naive_mad(xs: &[f64]) -> Option<f64> {
        let m = naive_median(xs)?;
        let dev: Vec<f64> = xs.iter().map(|x| (x - m).abs()).collect();
        naive_median(&dev)
    }

    #[test]
    fn median_and_mad_of_a_small_window() {
        let mut w = SortedWindow::new(5);
        assert_eq!(w.median(), None);
        assert_eq!(w.mad(), None);
        for x in [1.0, 9.0, 2.0, 8.0, 3.0] {
            assert_eq!(w.push(x), None);
        }
        // 1 2 3 8 9: median 3, deviations 2 1 0 5 6 → MAD 2.
        assert_eq!(w.median(), Some(3.0));
        assert_eq!(w.mad(), Some(2.0));
        // Evicts 1: 2 3 8 9 100 → median 8, deviations 6 5 0 1 92 → MAD 5.
        assert_eq!(w.push(100.0), Some(1.0));
        assert_eq!(w.median(), Some(8.0));
        assert_eq!(w.mad(), Some(5.0));
        assert_eq!(w.len(), 5);
        assert_eq!(w.capacity(), 5);
    }

    #[test]
    fn even_count_averages_the_middle_pair() {
        let mut w = SortedWindow::new(10);
        for x in [4.0, 1.0, 3.0, 2.0] {
            w.push(x);
        }
        // Median 2.5; deviations 1.5 1.5 0.5 0.5 → MAD 1.
        assert_eq!(w.median(), Some(2.5));
        assert_eq!(w.mad(), Some(1.0));
    }

    #[test]
    fn duplicates_are_evicted_one_at_a_time() {
        let mut w = SortedWindow::new(3);
        for x in [5.0, 5.0, 5.0, 1.0] {
            w.push(x);
        }
        assert_eq!(w.len(), 3);
        assert_eq!(w.median(), Some(5.0));
        assert_eq!(w.mad(), Some(0.0));
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let mut w = SortedWindow::new(3);
        w.push(1.0);
        let before = w.clone();
        assert_eq!(w.push(f64::NAN), None);
        assert_eq!(w.push(f64::INFINITY), None);
        assert_eq!(w, before);
    }

    #[test]
    fn extreme_values_give_finite_statistics() {
        let mut w = SortedWindow::new(4);
        for x in [f64::MAX, -f64::MAX, f64::MAX, -f64::MAX] {
            w.push(x);
        }
        assert_eq!(w.median(), Some(0.0));
        assert_eq!(w.mad(), Some(f64::MAX));
    }

    #[test]
    fn clear_forgets_everything() {
        let mut w = SortedWindow::new(3);
        w.push(1.0);
        w.clear();
        assert_eq!(w.len(), 0);
        assert_eq!(w.median(), None);
    }

    #[test]
    fn kth_of_two_handles_empty_sides() {
        let a = [1.0, 4.0, 6.0];
        let empty: [f64; 0] = [];
        for k in 0..3 {
            assert_eq!(kth_of_two(|i| a[i], 3, |i| empty[i], 0, k), a[k]);
            assert_eq!(kth_of_two(|i| empty[i], 0, |i| a[i], 3, k), a[k]);
        }
        let b = [2.0, 3.0, 5.0, 7.0];
        let all = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        for (k, want) in all.iter().enumerate() {
            assert_eq!(kth_of_two(|i| a[i], 3, |i| b[i], 4, k), *want);
        }
    }

    proptest! {
        #[test]
        fn prop_matches_a_sort_of_the_window(
            cap in 1usize..40,
            xs in proptest::collection::vec(prop_oneof![
                // Few distinct values, to exercise ties and MADs of zero.
                (0i32..5).prop_map(f64::from),
                -1e6f64..1e6,
            ], 1..300),
        ) {
            let mut w = SortedWindow::new(cap);
            for (i, &x) in xs.iter().enumerate() {
                w.push(x);
                let window = &xs[(i + 1).saturating_sub(cap)..=i];
                prop_assert_eq!(w.len(), window.len());
                prop_assert_eq!(w.median(), naive_median(window));
                prop_assert_eq!(w.mad(), naive_mad(window));
            }
        }

        #[test]
        fn prop_kth_of_two_matches_a_merge(
            mut a in proptest::collection::vec(-100i32..100, 0..30),
            mut b in proptest::collection::vec(-100i32..100, 0..30),
        ) {
            a.sort_unstable();
            b.sort_unstable();
            let mut all: Vec<i32> = a.iter().chain(&b).copied().collect();
            all.sort_unstable();
            for (k, &want) in all.iter().enumerate() {
                let got = kth_of_two(|i| f64::from(a[i]), a.len(), |i| f64::from(b[i]), b.len(), k);
                prop_assert_eq!(got, f64::from(want));
            }
        }

        #[test]
        fn prop_any_input_gives_finite_statistics(xs in proptest::collection::vec(any::<f64>(), 0..100)) {
            let mut w = SortedWindow::new(16);
            for &x in &xs {
                w.push(x);
                if let (Some(m), Some(d)) = (w.median(), w.mad()) {
                    prop_assert!(m.is_finite());
                    prop_assert!(!d.is_nan() && d >= 0.0);
                }
            }
        }
    }
}
