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

    /// Removes every element (the capacity stays).
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

/// Mean and variance of the last `capacity` values, in O(1) per push.
///
/// Running sums are kept about a shift (the first value seen) to limit cancellation, and are
/// recomputed exactly from the window once every `capacity` pushes, so rounding error never
/// accumulates beyond one window's worth: the cost stays O(1) amortised.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RollingMoments {
    buf: RingBuffer<f64>,
    shift: f64,
    sum: f64,
    sumsq: f64,
    since_exact: usize,
}

impl RollingMoments {
    /// Moments over the last `capacity` values (at least one).
    pub fn new(capacity: usize) -> Self {
        RollingMoments {
            buf: RingBuffer::new(capacity),
            shift: 0.0,
            sum: 0.0,
            sumsq: 0.0,
            since_exact: 0,
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
        self.sum += d;
        self.sumsq += d * d;
        if let Some(old) = evicted {
            let e = old - self.shift;
            self.sum -= e;
            self.sumsq -= e * e;
        }
        self.since_exact += 1;
        if self.since_exact >= self.buf.capacity() || !self.sumsq.is_finite() {
            self.recompute();
        }
        evicted
    }

    fn recompute(&mut self) {
        self.since_exact = 0;
        // Re-centre on the current mean so that the sums stay small.
        let n = self.buf.len() as f64;
        let mean = self.buf.iter().sum::<f64>() / n;
        self.shift = if mean.is_finite() { mean } else { 0.0 };
        let (mut s, mut ss) = (0.0, 0.0);
        for &x in self.buf.iter() {
            let d = x - self.shift;
            s += d;
            ss += d * d;
        }
        self.sum = s;
        self.sumsq = ss;
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
        let n = self.buf.len();
        if n == 0 {
            0.0
        } else {
            self.shift + self.sum / n as f64
        }
    }

    /// The sample variance of the window (denominator n − 1; 0 for fewer than two values).
    pub fn variance(&self) -> f64 {
        let n = self.buf.len();
        if n < 2 {
            return 0.0;
        }
        let n = n as f64;
        let v = (self.sumsq - self.sum * self.sum / n) / (n - 1.0);
        if v.is_finite() { v.max(0.0) } else { f64::MAX }
    }

    /// The sample standard deviation of the window.
    pub fn std(&self) -> f64 {
        self.variance().sqrt()
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.sum = 0.0;
        self.sumsq = 0.0;
        self.since_exact = 0;
    }
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
