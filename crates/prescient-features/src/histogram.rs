//! Latency quantiles from Prometheus-style cumulative histogram buckets.

use prescient_core::{Error, Result, Timestamp};

/// p50, p90, p99, the tail spread and the request rate over the last `window` scrapes of a
/// Prometheus-style cumulative histogram, with Prometheus's `histogram_quantile`.
///
/// A scrape gives, for each bucket upper bound `le` (ascending, normally ending with `+Inf`),
/// the cumulative count of observations `≤ le` since the process started. Those counts are
/// counters: the distribution of the last `window` scrapes is the increase of each bucket
/// between the scrape `window` scrapes ago and the newest, which is what
/// `histogram_quantile(q, increase(x_bucket[w]))` reads in PromQL. As `rate` and `increase` do,
/// a count that goes down is a counter reset, and the increase over that step is the new count
/// itself (the counter started again from 0); each bucket is corrected on its own, as Prometheus
/// corrects each `le` series. Unlike PromQL the increase is not extrapolated to the window's
/// edges (extrapolation scales every bucket alike and leaves the quantiles as they are).
///
/// The quantile then follows Prometheus's `bucketQuantile` (promql/quantile.go), step by step:
/// - counts that differ from the previous bucket's by a relative 1e-12 or less are set equal to
///   it (float rounding), then any decrease from one bucket to the next is raised to the running
///   maximum (a non-monotonic histogram is fixed up, as Prometheus's `ensureMonotonic` does);
/// - with `n` the `+Inf` count, the rank is `q·n`, and the quantile falls in the first bucket
///   whose count reaches the rank;
/// - inside that bucket it interpolates linearly between the bucket's lower bound (the previous
///   upper bound; 0 for the lowest bucket when its upper bound is positive) and its upper bound;
/// - in the lowest bucket with an upper bound ≤ 0, it returns that upper bound;
/// - in the `+Inf` bucket, it returns the highest finite upper bound.
///
/// Where Prometheus returns NaN our features never do: an empty window (no observation in it, or
/// fewer than two scrapes) gives 0 for every feature, as before the first scrape (an idle window
/// has no latency; the rate of 0 says why). `quantile(0)` with an empty lowest bucket, 0/0 in
/// Prometheus, gives that bucket's lower bound. Bounds without `+Inf` (NaN in Prometheus) get an
/// implicit `+Inf` bucket counting what the highest finite bucket counts: observations above it
/// were never counted, so quantiles stop at the highest finite bound, as they do in the `+Inf`
/// bucket.
///
/// **Error bound.** Bucket counts are exact, so the observation of rank `⌈q·n⌉` (1-based, for
/// `q > 0`) lies in the bucket the quantile falls in, `(lower, upper]`: the estimate is within
/// that bucket's width of it ([`HistogramQuantiles::quantile_bounds`]). The width is unbounded
/// in the `+Inf` bucket, and in the lowest bucket when its upper bound is ≤ 0; the lower bound 0
/// of a positive lowest bucket assumes no negative observation.
///
/// Features, in order: `p50`, `p90`, `p99`, `spread` (`ln(p99 / p50)`, 0 when `p50 ≤ 0`; see
/// [`LatencyDistribution`](crate::LatencyDistribution) for why) and `rate`, the increase of the
/// `+Inf` count per second between the window's oldest and newest scrapes (the request rate).
///
/// A scrape costs O(buckets); memory is `(window + 1) · buckets` counts.
///
/// ```
/// use prescient_core::Timestamp;
/// use prescient_features::HistogramQuantiles;
///
/// let bounds = [0.1, 0.25, 0.5, 1.0, f64::INFINITY];
/// let mut h = HistogramQuantiles::new(&bounds, 4)?;
/// h.update(Timestamp::from_secs(0), &[10.0, 20.0, 30.0, 40.0, 40.0])?;
/// // 15 s later: 100 more requests, 50 of them ≤ 0.1 s, 80 ≤ 0.25 s, 100 ≤ 0.5 s.
/// h.update(Timestamp::from_secs(15), &[60.0, 100.0, 130.0, 140.0, 140.0])?;
/// // The median (rank 50) is the top of the first bucket; p90 (rank 90) is halfway through
/// // (0.25, 0.5]; p99 is 0.25 + 0.25 · 19/20.
/// assert_eq!(h.quantile(0.5), 0.1);
/// assert!((h.quantile(0.9) - 0.375).abs() < 1e-12);
/// let f = h.features();
/// assert!((f[2] - 0.4875).abs() < 1e-12);
/// assert!((f[4] - 100.0 / 15.0).abs() < 1e-12);
/// // The p90 estimate is within the width of its bucket of the true one.
/// assert_eq!(h.quantile_bounds(0.9), Some((0.25, 0.5)));
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HistogramQuantiles {
    /// The upper bounds, ascending, the last `+Inf` (added when the host's lacks it).
    bounds: Vec<f64>,
    /// How many counts a scrape carries (the host's bounds).
    given: usize,
    /// The reset-corrected cumulative counts of the last `window + 1` scrapes: row `r` of the
    /// ring is `counts[r·b..(r + 1)·b]` with `b = bounds.len()`.
    counts: Vec<f64>,
    times: Vec<Timestamp>,
    /// The ring's oldest row and its number of rows.
    start: usize,
    rows: usize,
    /// The raw counts of the newest scrape, to detect resets.
    last_raw: Vec<f64>,
    /// The window's fixed-up bucket counts (the newest row minus the oldest).
    window_counts: Vec<f64>,
    rate: f64,
    features: [f64; 5],
}

const QUANTILES: [f64; 3] = [0.5, 0.9, 0.99];

/// Float rounding tolerance of Prometheus's `correctPrecisionErrors`.
const PRECISION_TOLERANCE: f64 = 1e-12;

impl HistogramQuantiles {
    /// Quantiles over the last `window` scrapes (the increase between the newest scrape and the
    /// one `window` scrapes before it) of a histogram with upper bounds `bounds`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `window` is 0; or, naming `bounds`, when they hold no finite
    /// bound, are not strictly ascending (or hold NaN), or hold an infinite bound other than a
    /// last `+Inf`.
    pub fn new(bounds: &[f64], window: usize) -> Result<Self> {
        let window = crate::check_window("window", window)?;
        let invalid = |reason: String| {
            Err(Error::InvalidParam {
                name: "bounds",
                reason,
            })
        };
        let given = bounds.len();
        let finite = match bounds.last() {
            Some(&l) if l == f64::INFINITY => &bounds[..given - 1],
            _ => bounds,
        };
        if finite.is_empty() {
            return invalid("must hold at least one finite upper bound".into());
        }
        let ascending = "must be strictly ascending".to_string();
        if finite.iter().any(|b| b.is_nan()) {
            return invalid(ascending);
        }
        if let Some(b) = finite.iter().find(|b| b.is_infinite()) {
            return invalid(format!(
                "only the last bound may be infinite (+Inf), got {b}"
            ));
        }
        if finite.windows(2).any(|p| p[1] <= p[0]) {
            return invalid(ascending);
        }
        let mut all = finite.to_vec();
        all.push(f64::INFINITY);
        let b = all.len();
        let cap = window + 1;
        Ok(HistogramQuantiles {
            bounds: all,
            given,
            counts: vec![0.0; cap * b],
            times: vec![Timestamp::EPOCH; cap],
            start: 0,
            rows: 0,
            last_raw: vec![0.0; b],
            window_counts: vec![0.0; b],
            rate: 0.0,
            features: [0.0; 5],
        })
    }

    /// The upper bounds, ascending, ending with `+Inf`.
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Takes one scrape at `ts`: the cumulative count of each bucket, in the order of the bounds
    /// given to [`HistogramQuantiles::new`].
    ///
    /// # Errors
    ///
    /// Nothing is changed, and:
    /// - [`Error::SchemaMismatch`] when `counts` does not have one count per bound;
    /// - [`Error::NonFinite`] at the first NaN or infinite count;
    /// - [`Error::InvalidParam`] naming `counts` at a negative count;
    /// - [`Error::Duplicate`] or [`Error::OutOfOrder`] when `ts` is not after the last scrape.
    pub fn update(&mut self, ts: Timestamp, counts: &[f64]) -> Result<()> {
        if counts.len() != self.given {
            return Err(Error::SchemaMismatch {
                expected: self.given,
                got: counts.len(),
            });
        }
        // Two cheap reductions for the common case (`0 · c` is 0 for a finite count and NaN
        // otherwise; the smallest count is not negative); the error path finds which.
        let (nan_if_any, smallest) = counts.iter().fold((0.0, f64::INFINITY), |(z, m), &c| {
            (z + 0.0 * c, if c < m { c } else { m })
        });
        if nan_if_any != 0.0 || smallest < 0.0 {
            if let Some(index) = counts.iter().position(|c| !c.is_finite()) {
                return Err(Error::NonFinite { index });
            }
            let c = counts.iter().find(|&&c| c < 0.0).copied().unwrap_or(-0.0);
            return Err(Error::InvalidParam {
                name: "counts",
                reason: format!("a cumulative count cannot be negative, got {c}"),
            });
        }
        if self.rows > 0 {
            let last = self.times[self.newest()];
            if ts == last {
                return Err(Error::Duplicate { ts });
            }
            if ts < last {
                return Err(Error::OutOfOrder { last, got: ts });
            }
        }
        let b = self.bounds.len();
        let cap = self.times.len();
        // The slot of the new row: after the newest, evicting the oldest when full.
        let had_previous = self.rows > 0;
        let prev_slot = self.newest();
        let slot = wrap(self.start + self.rows, cap);
        if self.rows == cap {
            self.start = wrap(self.start + 1, cap);
        } else {
            self.rows += 1;
        }
        // The new row and the previous one (different slots: the ring holds at least two).
        let (new_row, prev_row) = if slot > prev_slot {
            let (left, right) = self.counts.split_at_mut(slot * b);
            (&mut right[..b], &left[prev_slot * b..(prev_slot + 1) * b])
        } else {
            let (left, right) = self.counts.split_at_mut(prev_slot * b);
            (&mut left[slot * b..(slot + 1) * b], &right[..b])
        };
        // The implicit +Inf bucket, if any, counts what the highest finite bucket counts.
        let raws = counts
            .iter()
            .chain(&counts[counts.len() - (b - self.given)..]);
        let rows = new_row
            .iter_mut()
            .zip(prev_row)
            .zip(self.last_raw.iter_mut());
        if had_previous {
            for (((new, &prev), last_raw), &raw) in rows.zip(raws) {
                // A decrease is a counter reset: the counter restarted from 0.
                let increase = if raw >= *last_raw {
                    raw - *last_raw
                } else {
                    raw
                };
                *new = prev + increase;
                *last_raw = raw;
            }
        } else {
            for (((new, _), last_raw), &raw) in rows.zip(raws) {
                *new = raw;
                *last_raw = raw;
            }
        }
        self.times[slot] = ts;
        self.refresh();
        Ok(())
    }

    /// The ring slot of the newest scrape; with none, the slot before the first one.
    fn newest(&self) -> usize {
        let cap = self.times.len();
        match self.rows {
            0 => wrap(self.start + cap - 1, cap),
            r => wrap(self.start + r - 1, cap),
        }
    }

    /// Recomputes the window's distribution and the features from the ring.
    fn refresh(&mut self) {
        let b = self.bounds.len();
        let newest = self.newest();
        if self.rows < 2 {
            self.window_counts.fill(0.0);
        } else {
            let old = &self.counts[self.start * b..(self.start + 1) * b];
            let new = &self.counts[newest * b..(newest + 1) * b];
            // The difference, with Prometheus's two fix-ups in one pass: the precision
            // correction reads the previous precision-corrected count, and the monotonic
            // envelope the largest of them so far.
            let mut prev = f64::NAN;
            let mut max = f64::NEG_INFINITY;
            for ((w, &o), &n) in self.window_counts.iter_mut().zip(old).zip(new) {
                let mut x = (n - o).max(0.0);
                if prev.is_nan() {
                    prev = x;
                } else {
                    let delta = (x - prev).abs();
                    // `delta / x ≤ tolerance` without the division (x ≥ 0; an infinite x
                    // gives NaN in Prometheus, never a correction).
                    if delta > 0.0 && x.is_finite() && delta <= PRECISION_TOLERANCE * x {
                        x = prev;
                    } else if delta > 0.0 {
                        prev = x;
                    }
                }
                if x > max {
                    max = x;
                }
                *w = max;
            }
        }
        let total = self.window_counts[b - 1];
        let span = if self.rows < 2 {
            0.0
        } else {
            self.times[newest].secs_since(self.times[self.start])
        };
        self.rate = if span > 0.0 && total.is_finite() {
            (total / span).min(f64::MAX)
        } else {
            0.0
        };
        // The three quantiles in one walk over the buckets (their ranks ascend).
        let mut q = [0.0; 3];
        let c = &self.window_counts;
        let n = c[b - 1];
        if n > 0.0 && n.is_finite() {
            let ranks = QUANTILES.map(|q| q * n);
            let mut k = 0;
            for (i, &count) in c[..b - 1].iter().enumerate() {
                while k < 3 && count >= ranks[k] {
                    q[k] = self.value_in(i, ranks[k]);
                    k += 1;
                }
                if k == 3 {
                    break;
                }
            }
            for v in &mut q[k..] {
                *v = self.bounds[b - 2];
            }
        }
        self.features = [q[0], q[1], q[2], crate::log_spread(q[0], q[2]), self.rate];
    }

    /// Where the rank `q·n` falls: the bucket index, or `None` for an empty window.
    fn bucket_of(&self, q: f64) -> Option<(usize, f64)> {
        let c = &self.window_counts;
        let b = c.len();
        let n = c[b - 1];
        if n <= 0.0 || !n.is_finite() {
            return None;
        }
        let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
        let rank = q * n;
        // The first of the finite buckets whose count reaches the rank, else the +Inf bucket.
        let i = c[..b - 1].partition_point(|&x| x < rank);
        Some((i, rank))
    }

    /// The `q`-quantile of the window's observations as Prometheus's `histogram_quantile`
    /// computes it (see the type's docs), or 0 for an empty window; `q` is clamped to `[0, 1]`
    /// (NaN reads as 0.5).
    pub fn quantile(&self, q: f64) -> f64 {
        match self.bucket_of(q) {
            Some((i, rank)) => self.value_in(i, rank),
            None => 0.0,
        }
    }

    /// The quantile of rank `rank` found in bucket `i`, as `bucketQuantile` interpolates it.
    fn value_in(&self, i: usize, rank: f64) -> f64 {
        let (c, bounds) = (&self.window_counts, &self.bounds);
        let b = c.len();
        if i == b - 1 {
            return bounds[b - 2];
        }
        if i == 0 && bounds[0] <= 0.0 {
            return bounds[0];
        }
        let (start, below) = if i > 0 {
            (bounds[i - 1], c[i - 1])
        } else {
            (0.0, 0.0)
        };
        let end = bounds[i];
        let count = c[i] - below;
        let f = if count > 0.0 {
            ((rank - below) / count).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let width = end - start;
        let x = if width.is_finite() {
            start + width * f
        } else {
            start * (1.0 - f) + end * f
        };
        x.clamp(start, end)
    }

    /// The bucket `(lower, upper)` that the `q`-quantile falls in, or `None` for an empty
    /// window: the observation of rank `⌈q·n⌉` lies in it, so `upper − lower` bounds the
    /// quantile's error. `upper` is `+Inf` in the `+Inf` bucket, `lower` is `−Inf` in a lowest
    /// bucket whose upper bound is ≤ 0, and 0 in a lowest bucket whose upper bound is positive.
    pub fn quantile_bounds(&self, q: f64) -> Option<(f64, f64)> {
        let (i, _) = self.bucket_of(q)?;
        let bounds = &self.bounds;
        let lower = match i {
            0 if bounds[0] <= 0.0 => f64::NEG_INFINITY,
            0 => 0.0,
            _ => bounds[i - 1],
        };
        Some((lower, bounds[i]))
    }

    /// The increase of the `+Inf` count per second over the window (0 with fewer than two
    /// scrapes).
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The number of observations in the window (the increase of the `+Inf` count).
    pub fn count(&self) -> f64 {
        self.window_counts[self.window_counts.len() - 1]
    }

    /// The window's bucket counts after the fix-ups, cumulative, one per bound of
    /// [`HistogramQuantiles::bounds`].
    pub fn window_counts(&self) -> &[f64] {
        &self.window_counts
    }

    /// The features, in order: `p50`, `p90`, `p99`, `spread`, `rate`.
    pub fn features(&self) -> [f64; 5] {
        self.features
    }

    /// The names of the features, in order.
    pub fn names(&self) -> Vec<String> {
        ["p50", "p90", "p99", "spread", "rate"]
            .map(String::from)
            .to_vec()
    }

    /// How many features [`HistogramQuantiles::extract_inplace`] writes (5).
    pub fn len(&self) -> usize {
        5
    }

    /// Whether there are no features (never: there are 5).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the features into `out[..5]`.
    ///
    /// # Panics
    ///
    /// If `out` is shorter than 5.
    pub fn extract_inplace(&self, out: &mut [f64]) {
        out[..5].copy_from_slice(&self.features);
    }

    /// Forgets every scrape.
    pub fn reset(&mut self) {
        self.start = 0;
        self.rows = 0;
        self.window_counts.fill(0.0);
        self.rate = 0.0;
        self.features = [0.0; 5];
    }
}

/// `i mod cap` for `i < 2·cap`, without a division.
#[inline]
fn wrap(i: usize, cap: usize) -> usize {
    if i >= cap { i - cap } else { i }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    const INF: f64 = f64::INFINITY;

    /// Prometheus's `correctPrecisionErrors` as written there, as an oracle for the fused pass.
    fn correct_precision_errors(c: &mut [f64]) {
        let mut prev = c[0];
        for x in c.iter_mut().skip(1) {
            let delta = (*x - prev).abs();
            if delta == 0.0 {
                continue;
            }
            if delta / *x <= PRECISION_TOLERANCE {
                *x = prev;
            } else {
                prev = *x;
            }
        }
    }

    /// Prometheus's `ensureMonotonic`, as an oracle.
    fn ensure_monotonic(c: &mut [f64]) {
        let mut max = c[0];
        for x in c.iter_mut().skip(1) {
            if *x > max {
                max = *x;
            } else {
                *x = max;
            }
        }
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_secs(s)
    }

    /// A histogram whose window is exactly `counts` (one scrape of zeros, then `counts`).
    fn window_of(bounds: &[f64], counts: &[f64]) -> HistogramQuantiles {
        let mut h = HistogramQuantiles::new(bounds, 1).unwrap();
        h.update(t(0), &vec![0.0; counts.len()]).unwrap();
        h.update(t(10), counts).unwrap();
        h
    }

    #[test]
    fn window_cannot_be_zero() {
        assert!(matches!(
            HistogramQuantiles::new(&[1.0, INF], 0),
            Err(Error::InvalidParam { name: "window", .. })
        ));
    }

    #[test]
    fn bounds_must_hold_a_finite_bound() {
        for bad in [&[][..], &[INF]] {
            assert!(matches!(
                HistogramQuantiles::new(bad, 3),
                Err(Error::InvalidParam { name: "bounds", reason }) if reason.contains("finite upper")
            ));
        }
    }

    #[test]
    fn bounds_must_be_strictly_ascending() {
        for bad in [&[1.0, 1.0, INF][..], &[2.0, 1.0], &[1.0, f64::NAN, INF]] {
            assert!(matches!(
                HistogramQuantiles::new(bad, 3),
                Err(Error::InvalidParam { name: "bounds", reason }) if reason.contains("ascending")
            ));
        }
    }

    #[test]
    fn only_the_last_bound_may_be_infinite() {
        for bad in [&[f64::NEG_INFINITY, 1.0, INF][..], &[1.0, INF, INF]] {
            assert!(matches!(
                HistogramQuantiles::new(bad, 3),
                Err(Error::InvalidParam { name: "bounds", reason }) if reason.contains("infinite")
            ));
        }
    }

    #[test]
    fn bad_scrapes_change_nothing() {
        let mut h = HistogramQuantiles::new(&[1.0, INF], 2).unwrap();
        h.update(t(0), &[1.0, 2.0]).unwrap();
        let before = h.clone();
        assert!(matches!(
            h.update(t(1), &[1.0]),
            Err(Error::SchemaMismatch {
                expected: 2,
                got: 1
            })
        ));
        assert!(matches!(
            h.update(t(1), &[1.0, f64::NAN]),
            Err(Error::NonFinite { index: 1 })
        ));
        assert!(matches!(
            h.update(t(1), &[-1.0, 2.0]),
            Err(Error::InvalidParam { name: "counts", .. })
        ));
        assert!(matches!(
            h.update(t(0), &[1.0, 2.0]),
            Err(Error::Duplicate { .. })
        ));
        assert!(matches!(
            h.update(t(-1), &[1.0, 2.0]),
            Err(Error::OutOfOrder { .. })
        ));
        assert_eq!(h, before);
    }

    #[test]
    fn quantiles_as_prometheus_computes_them() {
        // Worked by hand from promql/quantile.go's bucketQuantile.
        let bounds = [0.05, 0.1, 0.2, 0.5, 1.0, INF];
        let h = window_of(&bounds, &[10.0, 30.0, 60.0, 90.0, 99.0, 100.0]);
        // q = 0.5: rank 50 falls in (0.1, 0.2] (counts 30 → 60): 0.1 + 0.1 · 20/30.
        assert!((h.quantile(0.5) - (0.1 + 0.1 * 20.0 / 30.0)).abs() < 1e-12);
        // q = 0.05: rank 5 in the lowest bucket, from 0: 0.05 · 5/10.
        assert!((h.quantile(0.05) - 0.025).abs() < 1e-12);
        // q = 0.9: rank 90 reaches exactly the count of (0.2, 0.5]: its upper bound.
        assert!((h.quantile(0.9) - 0.5).abs() < 1e-12);
        // q = 0.995: rank 99.5 beyond every finite bucket: the highest finite bound.
        assert_eq!(h.quantile(0.995), 1.0);
        assert_eq!(h.quantile(1.0), 1.0);
        // q = 0.99: rank 99 reaches the count of (0.5, 1]: 1.0.
        assert!((h.quantile(0.99) - 1.0).abs() < 1e-12);
        assert_eq!(h.quantile_bounds(0.5), Some((0.1, 0.2)));
        assert_eq!(h.quantile_bounds(0.05), Some((0.0, 0.05)));
        assert_eq!(h.quantile_bounds(0.995), Some((1.0, INF)));
        // rate: 100 observations in 10 s.
        assert!((h.rate() - 10.0).abs() < 1e-12);
        let f = h.features();
        assert!((f[3] - (f[2] / f[0]).ln()).abs() < 1e-12);
    }

    #[test]
    fn non_positive_lowest_bucket_returns_its_bound() {
        let h = window_of(&[-1.0, 0.0, 1.0, INF], &[4.0, 6.0, 10.0, 10.0]);
        // Rank 2 in the lowest bucket, whose upper bound is ≤ 0: −1.
        assert_eq!(h.quantile(0.2), -1.0);
        assert_eq!(h.quantile_bounds(0.2), Some((f64::NEG_INFINITY, -1.0)));
        // Rank 5 in (−1, 0]: −1 + 1 · 1/2.
        assert!((h.quantile(0.5) + 0.5).abs() < 1e-12);
        // p50 < 0: no spread.
        assert_eq!(h.features()[3], 0.0);
    }

    #[test]
    fn quantile_zero_with_an_empty_lowest_bucket_is_its_lower_bound() {
        let h = window_of(&[1.0, 2.0, INF], &[0.0, 4.0, 4.0]);
        // Prometheus: 0 + 1 · 0/0 = NaN. Here: the lower bound, 0.
        assert_eq!(h.quantile(0.0), 0.0);
        assert_eq!(h.quantile(0.5), 1.5);
    }

    #[test]
    fn non_monotonic_buckets_are_fixed_up() {
        // The third bucket is lower than the second: raised to 30, as ensureMonotonic does.
        let h = window_of(&[1.0, 2.0, 3.0, 4.0, INF], &[10.0, 30.0, 20.0, 40.0, 40.0]);
        assert_eq!(h.window_counts(), &[10.0, 30.0, 30.0, 40.0, 40.0]);
        // Rank 30 reaches the count of (1, 2]: 2.
        assert_eq!(h.quantile(0.75), 2.0);
        // Rank 32 in (3, 4]: 3 + 2/10.
        assert!((h.quantile(0.8) - 3.2).abs() < 1e-12);
        // A difference of 1e-13 relative is float rounding: equalised.
        let h = window_of(&[1.0, 2.0, INF], &[1e3, 1e3 * (1.0 - 1e-13), 1e3]);
        assert_eq!(h.window_counts(), &[1e3, 1e3, 1e3]);
    }

    #[test]
    fn missing_inf_bucket_is_implicit() {
        let h = window_of(&[0.1, 0.2], &[50.0, 100.0]);
        assert_eq!(h.bounds(), &[0.1, 0.2, INF]);
        assert_eq!(h.count(), 100.0);
        // Rank 75 in (0.1, 0.2]: 0.15; rank 100 reaches the last finite bucket: 0.2.
        assert!((h.quantile(0.75) - 0.15).abs() < 1e-12);
        assert!((h.quantile(1.0) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn counter_resets_start_from_zero() {
        let bounds = [1.0, 2.0, INF];
        let mut h = HistogramQuantiles::new(&bounds, 2).unwrap();
        h.update(t(0), &[100.0, 150.0, 200.0]).unwrap();
        h.update(t(15), &[110.0, 170.0, 230.0]).unwrap();
        // The process restarted: the counts start again from 0 (here already at 5, 5, 10).
        h.update(t(30), &[5.0, 5.0, 10.0]).unwrap();
        // Increases over the two steps: (10, 20, 30) then (5, 5, 10).
        assert_eq!(h.window_counts(), &[15.0, 25.0, 40.0]);
        assert!((h.rate() - 40.0 / 30.0).abs() < 1e-12);
        // The next scrape pushes the first out of the window: (5, 5, 10) then (1, 2, 3).
        h.update(t(45), &[6.0, 7.0, 13.0]).unwrap();
        assert_eq!(h.window_counts(), &[6.0, 7.0, 13.0]);
        // A reset of one bucket only: that bucket's increase is its new count.
        h.update(t(60), &[7.0, 1.0, 14.0]).unwrap();
        // Steps: (1, 2, 3), (1, 1, 1); the +Inf bucket is not below the second: monotonic.
        assert_eq!(h.window_counts(), &[2.0, 3.0, 4.0]);
    }

    #[test]
    fn empty_windows_give_zeros() {
        let mut h = HistogramQuantiles::new(&[1.0, INF], 3).unwrap();
        assert_eq!(h.features(), [0.0; 5]);
        h.update(t(0), &[5.0, 5.0]).unwrap();
        assert_eq!(h.features(), [0.0; 5]);
        h.update(t(15), &[5.0, 5.0]).unwrap();
        assert_eq!(h.features(), [0.0; 5]);
        assert_eq!(h.quantile_bounds(0.5), None);
        h.update(t(30), &[6.0, 6.0]).unwrap();
        assert!(h.features()[0] > 0.0);
        h.reset();
        assert_eq!(h.features(), [0.0; 5]);
        let mut out = [1.0; 5];
        h.extract_inplace(&mut out);
        assert_eq!(out, [0.0; 5]);
        assert_eq!(h.names().len(), h.len());
        assert!(!h.is_empty());
    }

    proptest! {
        #[test]
        fn prop_window_is_the_sum_of_the_steps(
            steps in proptest::collection::vec(proptest::collection::vec(0u32..50, 4), 1..40),
            w in 1usize..6,
        ) {
            // Per-bucket increments, made cumulative across buckets and over time, with a reset
            // (back to the step's own counts) every seventh scrape.
            let bounds = [0.1, 0.5, 1.0, INF];
            let mut h = HistogramQuantiles::new(&bounds, w).unwrap();
            let mut counter = [0.0; 4];
            let mut increments: Vec<[f64; 4]> = Vec::new();
            for (i, s) in steps.iter().enumerate() {
                let mut cum = [0.0; 4];
                let mut acc = 0.0;
                for k in 0..4 {
                    acc += f64::from(s[k]);
                    cum[k] = acc;
                }
                // A reset is only seen where a count went down: reset when every bucket does.
                if i % 7 == 6 && (0..4).all(|k| cum[k] < counter[k]) {
                    counter = cum;
                } else {
                    for k in 0..4 {
                        counter[k] += cum[k];
                    }
                }
                h.update(t(15 * i as i64), &counter).unwrap();
                if i > 0 {
                    increments.push(cum);
                }
                let take = increments.len().min(w);
                let mut want = [0.0; 4];
                for inc in &increments[increments.len() - take..] {
                    for k in 0..4 {
                        want[k] += inc[k];
                    }
                }
                prop_assert_eq!(h.window_counts(), &want[..]);
                let f = h.features();
                prop_assert!(f.iter().all(|v| v.is_finite() && *v >= 0.0), "{:?}", f);
                prop_assert!(f[0] <= f[1] && f[1] <= f[2]);
                // The one-walk features are the quantiles one at a time.
                prop_assert_eq!(&f[..3], &[h.quantile(0.5), h.quantile(0.9), h.quantile(0.99)][..]);
            }
        }

        #[test]
        fn prop_fix_ups_are_prometheus(counts in proptest::collection::vec(prop_oneof![
            0.0f64..100.0, Just(50.0), Just(50.0 * (1.0 + 1e-13)), Just(50.0 * (1.0 - 1e-13)),
            Just(0.0), Just(1e308)
        ], 2..12)) {
            let mut bounds: Vec<f64> = (1..counts.len()).map(|i| i as f64).collect();
            bounds.push(INF);
            let h = window_of(&bounds, &counts);
            let mut want = counts.clone();
            correct_precision_errors(&mut want);
            ensure_monotonic(&mut want);
            prop_assert_eq!(h.window_counts(), &want[..]);
        }

        #[test]
        fn prop_features_are_finite(
            scrapes in proptest::collection::vec(proptest::collection::vec(prop_oneof![
                0.0f64..1e6, Just(1e308), Just(f64::MAX), Just(5e-324), Just(0.0), Just(f64::NAN),
                Just(-1.0)
            ], 3), 0..30),
        ) {
            let mut h = HistogramQuantiles::new(&[-1e308, 1e308, INF], 3).unwrap();
            for (i, s) in scrapes.iter().enumerate() {
                let _ = h.update(t(i as i64), s);
                let f = h.features();
                prop_assert!(f.iter().all(|v| v.is_finite()), "{:?}", f);
                for q in [0.0, 0.5, 1.0] {
                    prop_assert!(h.quantile(q).is_finite());
                }
            }
        }
    }
}
