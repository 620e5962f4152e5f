//! The latency distribution of the last ticks, from raw per-request latencies.

use prescient_core::{FeatureExtractor, Result, RingBuffer, Timestamp};

use crate::QuantileSketch;

/// p50, p90, p99 and the tail spread of the request latencies of the last `window` ticks, from
/// raw latencies.
///
/// The host [`records`](LatencyDistribution::record) each request's latency as it completes
/// (many per tick) and [`closes`](LatencyDistribution::tick) the tick once per tick; the
/// features describe the latencies of the last `window` closed ticks. The ticks are a ring of
/// per-tick [`QuantileSketch`]es plus one running sketch of the window: closing a tick adds its
/// sketch to the running one and subtracts the sketch of the tick that leaves the window (counts
/// are integers, so the subtraction is exact), then reads the quantiles. A recording costs one
/// logarithm; closing a tick costs O(buckets) of the ticks added and removed plus a walk of the
/// window's buckets (a few hundred at α = 0.01 for latencies spanning three decades). Memory is
/// at most `window + 2` sketches, each bounded by its `max_buckets`.
///
/// Quantiles are the sketch's: within `α` (1% by default) of the exact order statistic of rank
/// `⌊q·(n − 1)⌋` of the window's `n` latencies (see [`QuantileSketch`] for the rank convention
/// and what collapsing does).
///
/// Features, in order:
/// - `p50`, `p90`, `p99`: the window's latency quantiles;
/// - `spread`: `ln(p99 / p50)`, the tail's weight on a log scale. A ratio rather than a
///   difference, so that it does not move when every request gets uniformly slower (that is
///   what `p50` shows) but does when the tail grows apart from the body; its logarithm, so that
///   it is 0 for a window without a tail and so that doubling and halving the tail ratio are
///   symmetric moves, which the detectors' z-scores expect. 0 when `p50 ≤ 0` (more than half
///   the requests took no measurable time);
/// - `count`: how many latencies the window holds (divide by the window's duration for a rate).
///
/// All are 0 while the window holds no latency (an idle window has no latency to speak of: 0
/// rather than a held value, and `count = 0` says why).
///
/// As a [`FeatureExtractor`], `update(ts, x)` records the latency `x` in the tick stamped `ts`:
/// the host passes the tick's timestamp (not the request's own) with each latency, and the first
/// latency with a later timestamp closes the open tick. [`LatencyDistribution::tick`] closes it
/// without waiting for the next latency (and closes ticks that saw none), so that the features
/// include the tick just ended; a host that can call it should. Non-finite latencies are
/// ignored.
///
/// ```
/// use prescient_features::LatencyDistribution;
///
/// let mut lat = LatencyDistribution::new(2)?;
/// // Tick 1: a hundred requests of 10 to 109 ms.
/// for i in 0..100 {
///     lat.record(0.010 + 0.001 * i as f64);
/// }
/// lat.tick();
/// // Tick 2: a hundred requests of 200 ms.
/// lat.record_n(0.200, 100);
/// lat.tick();
/// let f = lat.features();
/// // 200 latencies: the median (rank 99) is the slowest of tick 1, 109 ms; p99 is 200 ms.
/// assert!((f[0] - 0.109).abs() <= 0.01 * 0.109);
/// assert!((f[2] - 0.200).abs() <= 0.01 * 0.200);
/// assert!((f[3] - (0.200f64 / 0.109).ln()).abs() < 0.03);
/// assert_eq!(f[4], 200.0);
/// // Tick 3 is idle: tick 1 leaves the window.
/// lat.tick();
/// assert_eq!(lat.features()[4], 100.0);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LatencyDistribution {
    /// The closed ticks of the window, oldest first.
    closed: RingBuffer<QuantileSketch>,
    /// The tick being recorded.
    open: QuantileSketch,
    /// The sum of `closed`.
    window: QuantileSketch,
    /// The timestamp of the open tick, when `update` stamped it.
    open_ts: Option<Timestamp>,
    features: [f64; 5],
}

/// The quantiles reported, in feature order.
const QUANTILES: [f64; 3] = [0.5, 0.9, 0.99];

impl LatencyDistribution {
    /// The latencies of the last `window` ticks, in sketches of accuracy 1%.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::InvalidParam`] when `window` is 0.
    pub fn new(window: usize) -> Result<Self> {
        Self::with_sketch(window, &QuantileSketch::default())
    }

    /// The latencies of the last `window` ticks, in sketches with the accuracy and bucket bound
    /// of `sketch` (its contents are not used).
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::InvalidParam`] when `window` is 0.
    pub fn with_sketch(window: usize, sketch: &QuantileSketch) -> Result<Self> {
        let window = crate::check_window("window", window)?;
        Ok(LatencyDistribution {
            closed: RingBuffer::new(window),
            open: sketch.empty_like(),
            window: sketch.empty_like(),
            open_ts: None,
            features: [0.0; 5],
        })
    }

    /// Records one request's latency in the open tick (non-finite values are ignored).
    pub fn record(&mut self, latency: f64) {
        self.open.insert(latency);
    }

    /// Records `count` requests of the same latency in the open tick.
    pub fn record_n(&mut self, latency: f64, count: u64) {
        self.open.insert_n(latency, count);
    }

    /// Closes the open tick: its latencies join the window, and the oldest tick leaves it once
    /// the window holds `window` ticks. A tick with no latency counts as a tick.
    pub fn tick(&mut self) {
        self.window.merge_same(&self.open);
        let fresh = self.open.empty_like();
        let closed = std::mem::replace(&mut self.open, fresh);
        if let Some(mut old) = self.closed.push(closed) {
            self.window.subtract_same(&old);
            // Reuse the evicted tick's memory for the next one.
            old.clear();
            self.open = old;
        }
        self.open_ts = None;
        self.refresh();
    }

    fn refresh(&mut self) {
        let w = &self.window;
        let mut q = [0.0; 3];
        w.quantiles_inplace(&QUANTILES, &mut q);
        self.features = [
            q[0],
            q[1],
            q[2],
            crate::log_spread(q[0], q[2]),
            w.count() as f64,
        ];
    }

    /// The features, in order: `p50`, `p90`, `p99`, `spread`, `count`.
    pub fn features(&self) -> [f64; 5] {
        self.features
    }

    /// The `q`-quantile of the window's latencies, or `None` when it holds none.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.window.quantile(q)
    }

    /// How many latencies the window holds (the open tick's are not yet in it).
    pub fn count(&self) -> u64 {
        self.window.count()
    }

    /// The window's running sketch.
    pub fn sketch(&self) -> &QuantileSketch {
        &self.window
    }
}

impl FeatureExtractor for LatencyDistribution {
    fn names(&self) -> Vec<String> {
        ["p50", "p90", "p99", "spread", "count"]
            .map(String::from)
            .to_vec()
    }

    fn len(&self) -> usize {
        5
    }

    /// Records the latency `x` in the tick stamped `ts`, first closing the open tick if it was
    /// stamped earlier.
    fn update(&mut self, ts: Timestamp, x: f64) {
        if !x.is_finite() {
            return;
        }
        if self.open_ts.is_some_and(|t| ts > t) {
            self.tick();
        }
        if self.open_ts.is_none() {
            self.open_ts = Some(ts);
        }
        self.record(x);
    }

    fn extract_inplace(&self, out: &mut [f64]) {
        out[..5].copy_from_slice(&self.features);
    }

    fn reset(&mut self) {
        self.closed.clear();
        self.open.clear();
        self.window.clear();
        self.open_ts = None;
        self.features = [0.0; 5];
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn window_cannot_be_zero() {
        assert!(matches!(
            LatencyDistribution::new(0),
            Err(prescient_core::Error::InvalidParam { name: "window", .. })
        ));
    }

    #[test]
    fn empty_window_writes_zeros() {
        let mut l = LatencyDistribution::new(3).unwrap();
        assert_eq!(l.extract(), vec![0.0; 5]);
        l.tick();
        assert_eq!(l.extract(), vec![0.0; 5]);
    }

    #[test]
    fn spread_is_the_log_tail_ratio() {
        let mut l = LatencyDistribution::new(1).unwrap();
        // 98 requests at 10 ms and 2 at 1 s: rank ⌊0.99 · 99⌋ = 98 is the first slow one.
        l.record_n(0.01, 98);
        l.record_n(1.0, 2);
        l.tick();
        let f = l.features();
        assert!((f[0] - 0.01).abs() <= 0.0001);
        assert!((f[1] - 0.01).abs() <= 0.0001);
        assert!((f[2] - 1.0).abs() <= 0.01);
        // ln(100), within the two estimates' 1% each.
        assert!((f[3] - 100f64.ln()).abs() <= 0.021);
        // A window without a tail has no spread.
        l.record_n(0.05, 10);
        l.tick();
        assert!(l.features()[3].abs() < 1e-12);
        // Zero latencies: no spread rather than an infinite one.
        l.record_n(0.0, 60);
        l.record_n(2.0, 40);
        l.tick();
        assert_eq!(l.features()[0], 0.0);
        assert_eq!(l.features()[3], 0.0);
    }

    #[test]
    fn the_trait_closes_ticks_by_timestamp() {
        let mut l = LatencyDistribution::new(2).unwrap();
        let t = Timestamp::from_secs;
        for x in [1.0, 2.0, 3.0] {
            l.update(t(15), x);
        }
        // Still open: nothing in the window yet.
        assert_eq!(l.count(), 0);
        l.update(t(30), 4.0);
        assert_eq!(l.count(), 3);
        l.update(t(45), f64::NAN);
        assert_eq!(l.count(), 3);
        l.update(t(45), 5.0);
        assert_eq!(l.count(), 4);
        // An explicit close includes the tick just recorded; the tick of t = 15 leaves.
        l.tick();
        assert_eq!(l.count(), 2);
        assert_eq!(l.extract()[4], 2.0);
        l.reset();
        assert_eq!(l.extract(), vec![0.0; 5]);
        assert_eq!(l.names().len(), l.len());
    }

    #[test]
    fn sliding_equals_a_fresh_sketch_of_the_window() {
        let w = 4;
        let mut l = LatencyDistribution::new(w).unwrap();
        let ticks: Vec<Vec<f64>> = (0..20)
            .map(|t| {
                (0..(t % 5) * 7)
                    .map(|i| 0.001 * (1 + i * t) as f64)
                    .collect()
            })
            .collect();
        for (t, lat) in ticks.iter().enumerate() {
            for &x in lat {
                l.record(x);
            }
            l.tick();
            let mut fresh = QuantileSketch::default();
            for x in ticks[(t + 1).saturating_sub(w)..=t].iter().flatten() {
                fresh.insert(*x);
            }
            assert_eq!(l.count(), fresh.count());
            for q in QUANTILES {
                assert_eq!(l.quantile(q), fresh.quantile(q));
            }
        }
        // The window holds `w` sketches, and the recycled tick is empty.
        assert_eq!(l.closed.len(), w);
        assert!(l.open.is_empty());
    }

    proptest! {
        #[test]
        fn prop_features_are_finite(ticks in proptest::collection::vec(
            proptest::collection::vec(prop_oneof![
                any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(1e308), Just(-1e308),
                Just(5e-324), Just(0.0), 1e-4f64..10.0
            ], 0..20),
            0..30,
        )) {
            let sketch = QuantileSketch::with_max_buckets(0.01, 32).unwrap();
            let mut l = LatencyDistribution::with_sketch(3, &sketch).unwrap();
            for lat in &ticks {
                for &x in lat {
                    l.record(x);
                }
                l.tick();
                let f = l.extract();
                prop_assert!(f.iter().all(|v| v.is_finite()), "{:?}", f);
                prop_assert!(f[0] <= f[1] && f[1] <= f[2] && f[3] >= 0.0, "{:?}", f);
            }
        }
    }
}
