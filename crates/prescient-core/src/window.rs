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
        self.items.len().checked_sub(age + 1).and_then(|i| self.items.get(i))
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

    proptest! {
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
