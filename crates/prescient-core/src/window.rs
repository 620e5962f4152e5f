use std::collections::VecDeque;

/// A first-in, first-out buffer of fixed capacity: pushing into a full buffer evicts the oldest
/// element and returns it.
///
/// Memory is allocated once, at construction; no push allocates.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RingBuffer<T> {
    items: VecDeque<T>,
    capacity: usize,
}

impl<T> RingBuffer<T> {
    /// A buffer that holds at most `capacity` elements (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        RingBuffer {
            items: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Appends `x`; returns the element evicted to make room, if the buffer was full.
    pub fn push(&mut self, x: T) -> Option<T> {
        let evicted = if self.items.len() == self.capacity {
            self.items.pop_front()
        } else {
            None
        };
        self.items.push_back(x);
        evicted
    }

    /// The number of elements held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no element is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether the next push evicts.
    pub fn is_full(&self) -> bool {
        self.items.len() == self.capacity
    }

    /// The most elements the buffer holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The element pushed `age` pushes ago (`0` is the newest).
    pub fn get_back(&self, age: usize) -> Option<&T> {
        self.items
            .len()
            .checked_sub(age + 1)
            .and_then(|i| self.items.get(i))
    }

    /// The element pushed `age` pushes ago (`0` is the newest), to change it in place.
    pub fn get_back_mut(&mut self, age: usize) -> Option<&mut T> {
        self.items
            .len()
            .checked_sub(age + 1)
            .and_then(|i| self.items.get_mut(i))
    }

    /// The element at position `i`, oldest first.
    pub fn get(&self, i: usize) -> Option<&T> {
        self.items.get(i)
    }

    /// The newest element.
    pub fn back(&self) -> Option<&T> {
        self.items.back()
    }

    /// The oldest element.
    pub fn front(&self) -> Option<&T> {
        self.items.front()
    }

    /// The elements, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }

    /// The elements, oldest first, as one slice (moving them in memory when they wrap around).
    pub fn make_contiguous(&mut self) -> &[T] {
        self.items.make_contiguous()
    }

    /// Removes every element (the capacity stays).
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

/// The largest of the last `window` values pushed, O(1) amortised per push.
///
/// A monotonic deque holds only the values that can still become the maximum (each is pushed and
/// popped once), so it never holds more than `window` entries. A window of 0 holds nothing. For a
/// rolling minimum, push the negated values.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RollingMax {
    window: u64,
    seen: u64,
    items: VecDeque<(u64, f64)>,
}

impl RollingMax {
    /// The maximum over the last `window` values.
    pub fn new(window: usize) -> Self {
        RollingMax {
            window: window as u64,
            seen: 0,
            items: VecDeque::with_capacity(window.min(1024)),
        }
    }

    /// Pushes `x` (the caller keeps NaN out: it compares with nothing).
    pub fn push(&mut self, x: f64) {
        if self.window == 0 {
            return;
        }
        let i = self.seen;
        self.seen += 1;
        while self.items.back().is_some_and(|&(_, v)| v <= x) {
            self.items.pop_back();
        }
        self.items.push_back((i, x));
        let oldest = self.seen.saturating_sub(self.window);
        while self.items.front().is_some_and(|&(j, _)| j < oldest) {
            self.items.pop_front();
        }
    }

    /// The maximum of the last `window` values, if any was pushed.
    pub fn max(&self) -> Option<f64> {
        self.items.front().map(|&(_, v)| v)
    }

    /// How many entries the deque holds (at most the window).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        self.seen = 0;
        self.items.clear();
    }
}

/// Mean and variance of the last `capacity` values, in O(1) per push.
///
/// Running sums are kept about a shift (the first value seen) to limit cancellation, and are
/// recomputed exactly from the window once every `max(capacity, 1024)` pushes, so rounding error
/// never accumulates beyond that many updates: the cost stays O(1) amortised.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RollingMoments {
    buf: RingBuffer<f64>,
    shift: f64,
    sum: f64,
    sumsq: f64,
    since_exact: usize,
    /// `1 / capacity` and `1 / (capacity − 1)`: the reciprocals [`RollingMoments::mean`] and
    /// [`RollingMoments::std`] need once the window is full, computed once rather than divided
    /// on every read (the same values, so the same results).
    full_reciprocals: (f64, f64),
}

impl RollingMoments {
    /// Moments over the last `capacity` values (at least one).
    pub fn new(capacity: usize) -> Self {
        let n = capacity.max(1) as f64;
        RollingMoments {
            buf: RingBuffer::new(capacity),
            shift: 0.0,
            sum: 0.0,
            sumsq: 0.0,
            since_exact: 0,
            full_reciprocals: (1.0 / n, 1.0 / (n - 1.0)),
        }
    }

    /// Adds `x` (which the caller has checked is finite); returns the value evicted, if any.
    pub fn push(&mut self, x: f64) -> Option<f64> {
        if self.buf.is_empty() {
            self.shift = x;
            self.sum = 0.0;
            self.sumsq = 0.0;
        }
        let evicted = self.buf.push(x);
        let d = x - self.shift;
        match evicted {
            // One addition per sum on the dependency chain, as in `push_batch`.
            Some(old) => {
                let e = old - self.shift;
                self.sum += d - e;
                self.sumsq += d * d - e * e;
            }
            None => {
                self.sum += d;
                self.sumsq += d * d;
            }
        }
        self.since_exact += 1;
        if self.since_exact >= recompute_every(self.buf.capacity()) || !self.sumsq.is_finite() {
            self.recompute();
        }
        evicted
    }

    /// Pushes every value of `xs` in turn, writing the window's running sums *before* each push
    /// into `sums`: exactly the state repeated [`RollingMoments::push`] calls would pass
    /// through, so [`RollingMoments::mean_of`] and [`RollingMoments::std_of`] of a written pair
    /// give what [`RollingMoments::mean`] and [`RollingMoments::std`] would have returned there.
    ///
    /// The fast path of batch detectors: once the window is full the loop carries one addition
    /// per sum and reads evicted values from a contiguous copy instead of the ring. Returns the
    /// shift that applies to each written pair through `shifts` (it changes at each exact
    /// recomputation).
    ///
    /// Every value of `xs` must be finite (the caller checks); `sums` and `shifts` must be as long
    /// as `xs`, or only the common prefix is pushed.
    pub fn push_batch(&mut self, xs: &[f64], sums: &mut [(f64, f64)], shifts: &mut [f64]) {
        let n = xs.len().min(sums.len()).min(shifts.len());
        let mut i = 0;
        // Until the window is full, the ordinary path.
        while i < n && !self.buf.is_full() {
            sums[i] = (self.sum, self.sumsq);
            shifts[i] = self.shift;
            self.push(xs[i]);
            i += 1;
        }
        if i == n {
            return;
        }
        let cap = self.buf.capacity();
        // The window then the rest of the batch, contiguous: the value evicted by pushing
        // `hist[cap + t]` is `hist[t]`.
        let mut hist: Vec<f64> = Vec::with_capacity(cap + n - i);
        hist.extend(self.buf.iter().copied());
        hist.extend_from_slice(&xs[i..n]);
        let every = recompute_every(cap);
        let (mut shift, mut sum, mut sumsq, mut since_exact) =
            (self.shift, self.sum, self.sumsq, self.since_exact);
        let m = n - i;
        let (sums, shifts) = (&mut sums[i..n], &mut shifts[i..n]);
        let mut t = 0;
        while t < m {
            // A segment up to the next scheduled recomputation, in a tight loop with no branch;
            // if the squares overflowed inside it, the segment is redone point by point (as
            // `push` does, recomputing at the first non-finite sum).
            let seg = (every - since_exact).min(m - t);
            let saved = (sum, sumsq);
            for k in t..t + seg {
                sums[k] = (sum, sumsq);
                shifts[k] = shift;
                let d = hist[cap + k] - shift;
                let e = hist[k] - shift;
                sum += d - e;
                sumsq += d * d - e * e;
            }
            if sumsq.is_finite() {
                since_exact += seg;
                t += seg;
                if since_exact >= every {
                    (shift, sum, sumsq) = exact_sums(&hist[t..t + cap]);
                    since_exact = 0;
                }
                continue;
            }
            (sum, sumsq) = saved;
            let start = t;
            for k in start..start + seg {
                sums[k] = (sum, sumsq);
                shifts[k] = shift;
                let d = hist[cap + k] - shift;
                let e = hist[k] - shift;
                sum += d - e;
                sumsq += d * d - e * e;
                since_exact += 1;
                t = k + 1;
                if since_exact >= every || !sumsq.is_finite() {
                    (shift, sum, sumsq) = exact_sums(&hist[t..t + cap]);
                    since_exact = 0;
                    break;
                }
            }
        }
        self.buf.clear();
        for &x in &hist[hist.len() - cap..] {
            self.buf.push(x);
        }
        (self.shift, self.sum, self.sumsq, self.since_exact) = (shift, sum, sumsq, since_exact);
    }

    /// The mean of a window of `len` values with running sums `sum` about `shift` (see
    /// [`RollingMoments::push_batch`]).
    #[inline]
    pub fn mean_of(len: usize, shift: f64, sum: f64) -> f64 {
        if len == 0 {
            0.0
        } else {
            // A product with the reciprocal: in a batch over a full window the reciprocal is
            // loop-invariant and the division leaves the loop.
            shift + sum * (1.0 / len as f64)
        }
    }

    /// The sample standard deviation of a window of `len` values with running sums `sum` and
    /// `sumsq` (see [`RollingMoments::push_batch`]).
    #[inline]
    pub fn std_of(len: usize, sum: f64, sumsq: f64) -> f64 {
        if len < 2 {
            return 0.0;
        }
        let n = len as f64;
        let v = (sumsq - sum * sum * (1.0 / n)) * (1.0 / (n - 1.0));
        let v = if v.is_finite() { v.max(0.0) } else { f64::MAX };
        v.sqrt()
    }

    fn recompute(&mut self) {
        self.since_exact = 0;
        let sums = exact_sums(self.buf.make_contiguous());
        (self.shift, self.sum, self.sumsq) = sums;
    }

    /// The number of values in the window.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no value has been pushed.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Whether the window is full.
    pub fn is_full(&self) -> bool {
        self.buf.is_full()
    }

    /// The window's length.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The values in the window, oldest first.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &f64> + ExactSizeIterator {
        self.buf.iter()
    }

    /// The mean of the window (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.buf.is_full() && !self.buf.is_empty() {
            self.shift + self.sum * self.full_reciprocals.0
        } else {
            Self::mean_of(self.buf.len(), self.shift, self.sum)
        }
    }

    /// The sample variance of the window (denominator n − 1; 0 for fewer than two values).
    pub fn variance(&self) -> f64 {
        let n = self.buf.len();
        if n < 2 {
            return 0.0;
        }
        let n = n as f64;
        let v = (self.sumsq - self.sum * self.sum * (1.0 / n)) * (1.0 / (n - 1.0));
        if v.is_finite() { v.max(0.0) } else { f64::MAX }
    }

    /// The sample standard deviation of the window.
    pub fn std(&self) -> f64 {
        let n = self.buf.len();
        if self.buf.is_full() && n >= 2 {
            let (inv_n, inv_n1) = self.full_reciprocals;
            let v = (self.sumsq - self.sum * self.sum * inv_n) * inv_n1;
            let v = if v.is_finite() { v.max(0.0) } else { f64::MAX };
            v.sqrt()
        } else {
            Self::std_of(n, self.sum, self.sumsq)
        }
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.sum = 0.0;
        self.sumsq = 0.0;
        self.since_exact = 0;
    }
}

/// The shift (the mean, re-centring the sums so that they stay small) and the exact sums of
/// deviations and squared deviations of `values` about it.
fn exact_sums(values: &[f64]) -> (f64, f64, f64) {
    // Each value is scaled before it is added, so the mean of finite values never overflows,
    // whatever the order of the partial sums.
    let inv_n = 1.0 / values.len() as f64;
    let mean = sum4(values, |x| x * inv_n);
    let shift = if mean.is_finite() { mean } else { 0.0 };
    // The deviations from the mean sum to zero in exact arithmetic; a sum that overflowed (two
    // partial sums of opposite infinite sign would even give NaN) is replaced by that zero.
    let s = sum4(values, |x| x - shift);
    let s = if s.is_finite() { s } else { 0.0 };
    // A sum of squares can only overflow to +∞, which the variance reports as its largest value.
    let ss = sum4(values, |x| (x - shift) * (x - shift));
    (shift, s, ss)
}

/// How many pushes go between exact recomputations of the sums: a window's worth, and at least
/// 1024 so that small windows do not pay a recomputation every few points. Rounding error stays
/// bounded by that many updates of sums centred on the window's mean.
fn recompute_every(capacity: usize) -> usize {
    capacity.max(1024)
}

/// `Σ f(x)` with four interleaved accumulators: four independent dependency chains, so the exact
/// recomputation costs a quarter of a sequential sum's latency (it runs once per window of
/// pushes, and was the largest part of a push's cost).
#[inline]
fn sum4(values: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0.0; 4];
    let chunks = values.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        acc[0] += f(c[0]);
        acc[1] += f(c[1]);
        acc[2] += f(c[2]);
        acc[3] += f(c[3]);
    }
    for &x in rest {
        acc[0] += f(x);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn evicts_oldest_when_full() {
        let mut r = RingBuffer::new(3);
        assert_eq!(r.push(1), None);
        assert_eq!(r.push(2), None);
        assert_eq!(r.push(3), None);
        assert!(r.is_full());
        assert_eq!(r.push(4), Some(1));
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), vec![2, 3, 4]);
        assert_eq!(r.get_back(0), Some(&4));
        assert_eq!(r.get_back(2), Some(&2));
        assert_eq!(r.get_back(3), None);
    }

    #[test]
    fn zero_capacity_means_one() {
        let mut r = RingBuffer::new(0);
        r.push(1);
        assert_eq!(r.push(2), Some(1));
        assert_eq!(r.capacity(), 1);
    }

    #[test]
    fn moments_match_a_direct_computation() {
        let mut m = RollingMoments::new(4);
        for x in [1e9 + 1.0, 1e9 + 2.0, 1e9 + 3.0, 1e9 + 4.0, 1e9 + 5.0] {
            m.push(x);
        }
        assert!((m.mean() - (1e9 + 3.5)).abs() < 1e-6);
        assert!((m.variance() - 5.0 / 3.0).abs() < 1e-6);
        let mut one = RollingMoments::new(3);
        one.push(2.0);
        assert_eq!((one.mean(), one.variance()), (2.0, 0.0));
    }

    proptest! {
        #[test]
        fn prop_rolling_max_is_the_window_max(
            window in 0usize..20,
            xs in proptest::collection::vec(-1e3f64..1e3, 0..200),
        ) {
            let mut m = RollingMax::new(window);
            for (t, &x) in xs.iter().enumerate() {
                m.push(x);
                let start = (t + 1).saturating_sub(window);
                let want = xs[start..=t].iter().copied().reduce(f64::max);
                prop_assert_eq!(m.max(), if window == 0 { None } else { want });
            }
        }

        #[test]
        fn prop_moments_never_nan_for_finite_values(
            cap in 1usize..30,
            xs in proptest::collection::vec(prop_oneof![
                Just(1e308), Just(-1e308), Just(f64::MAX), Just(f64::MIN), -1e3f64..1e3
            ], 1..200),
        ) {
            let mut m = RollingMoments::new(cap);
            for &x in &xs {
                m.push(x);
                prop_assert!(!m.mean().is_nan() && !m.std().is_nan(), "{:?}", m);
            }
        }

        #[test]
        fn prop_push_batch_equals_pushes(
            cap in 1usize..40,
            pre in proptest::collection::vec(-1e6f64..1e6, 0..60),
            xs in proptest::collection::vec(prop_oneof![-1e6f64..1e6, Just(1e200), Just(-3.0)], 0..300),
        ) {
            let mut one = RollingMoments::new(cap);
            for &x in &pre {
                one.push(x);
            }
            let mut batch = one.clone();
            let mut want = Vec::new();
            for &x in &xs {
                want.push((one.mean(), one.std()));
                one.push(x);
            }
            let mut sums = vec![(0.0, 0.0); xs.len()];
            let mut shifts = vec![0.0; xs.len()];
            let len_before: Vec<usize> = (0..xs.len()).map(|i| (pre.len() + i).min(cap)).collect();
            batch.push_batch(&xs, &mut sums, &mut shifts);
            let got: Vec<(f64, f64)> = sums
                .iter()
                .zip(&shifts)
                .zip(&len_before)
                .map(|((&(s, ss), &sh), &n)| {
                    (RollingMoments::mean_of(n, sh, s), RollingMoments::std_of(n, s, ss))
                })
                .collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(batch, one);
        }

        #[test]
        fn prop_moments_track_the_window(cap in 1usize..30, xs in proptest::collection::vec(-1e6f64..1e6, 1..300)) {
            let mut m = RollingMoments::new(cap);
            for &x in &xs {
                m.push(x);
            }
            let w = &xs[xs.len().saturating_sub(cap)..];
            let n = w.len() as f64;
            let mean = w.iter().sum::<f64>() / n;
            prop_assert!((m.mean() - mean).abs() <= 1e-6 * (1.0 + mean.abs()));
            if w.len() > 1 {
                let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
                prop_assert!((m.variance() - var).abs() <= 1e-6 * (1.0 + var));
            }
        }


        #[test]
        fn prop_holds_the_last_capacity_items(cap in 1usize..20, xs in proptest::collection::vec(any::<i32>(), 0..100)) {
            let mut r = RingBuffer::new(cap);
            for &x in &xs {
                r.push(x);
            }
            let start = xs.len().saturating_sub(cap);
            prop_assert_eq!(r.iter().copied().collect::<Vec<_>>(), xs[start..].to_vec());
            prop_assert!(r.len() <= cap);
        }
    }
}
