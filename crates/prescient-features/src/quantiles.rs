//! Exact rolling quantiles of a small window.

use prescient_core::{Error, FeatureExtractor, Result, Timestamp};

/// Chosen quantiles (by default p50, p90 and p99) of the last `window` values, exact.
///
/// The window is kept in sorted order beside its arrival order, so every quantile is read from
/// two neighbouring order statistics. For the windows of per-tick metrics (tens to a few
/// thousand values) this is both exact and cheaper than a sketch: a value costs two binary
/// searches, O(log w) comparisons (where the evicted value is, where the new one goes), plus one
/// shift of the values between those two places, at most `w` contiguous values (160 bytes for a
/// window of 20); a quantile then costs O(1). Windows of up to 64 values count both places in
/// one branch-free pass instead of searching (O(w) comparisons, but no mispredicted branch). Memory is two copies of the window. (Core's
/// `SortedWindow` holds the same but removes and inserts separately, two shifts per value; one
/// measured faster on the `feature_extract` bench.) For the quantiles of many values per tick
/// (request latencies), use [`LatencyDistribution`](crate::LatencyDistribution), which
/// summarises them in a [`QuantileSketch`](crate::QuantileSketch).
///
/// Quantiles interpolate linearly between order statistics: with the `n` values sorted as
/// `x[0] ≤ … ≤ x[n−1]`, the `q`-quantile is `x[j] + (x[j+1] − x[j])·g` with `h = q·(n − 1)`,
/// `j = ⌊h⌋` and `g = h − j`: Hyndman and Fan's type 7, R's default and NumPy's default
/// (`method="linear"`).
///
/// Features, in order: one per quantile, named `p50`, `p90`, `p99` (`p99.9` for 0.999); all 0
/// before the first value. Non-finite values are ignored.
///
/// ```
/// use prescient_core::{FeatureExtractor, Timestamp};
/// use prescient_features::RollingQuantiles;
///
/// let mut q = RollingQuantiles::new(5)?;
/// for (i, x) in [7.0, 1.0, 4.0, 10.0, 2.0, 3.0].into_iter().enumerate() {
///     q.update(Timestamp::from_secs(15 * i as i64), x);
/// }
/// // The window holds 1, 4, 10, 2 and 3: sorted 1 2 3 4 10.
/// assert_eq!(q.names(), ["p50", "p90", "p99"]);
/// let f = q.extract();
/// assert_eq!(f[0], 3.0);
/// // h = 0.9 · 4 = 3.6: 4 + (10 − 4) · 0.6.
/// assert!((f[1] - 7.6).abs() < 1e-12);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RollingQuantiles {
    /// The window in arrival order: a ring whose oldest value, once full, is at `head`.
    arrival: Vec<f64>,
    head: usize,
    /// The window's values, ascending.
    sorted: Vec<f64>,
    window: usize,
    quantiles: Vec<f64>,
    /// For each quantile, where it reads the window of its current length: the lower order
    /// statistic's index and the interpolation weight. It changes only while the window fills.
    positions: Vec<(usize, f64)>,
}

impl RollingQuantiles {
    /// The median, p90 and p99 of the last `window` values.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `window` is 0.
    pub fn new(window: usize) -> Result<Self> {
        Self::with_quantiles(window, &[0.5, 0.9, 0.99])
    }

    /// The `quantiles` (each in `[0, 1]`, in the order given) of the last `window` values.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `window` is 0, or when `quantiles` is empty or holds a value
    /// outside `[0, 1]` (or NaN).
    pub fn with_quantiles(window: usize, quantiles: &[f64]) -> Result<Self> {
        let window = crate::check_window("window", window)?;
        check_quantiles(quantiles)?;
        Ok(RollingQuantiles {
            arrival: Vec::with_capacity(window),
            head: 0,
            sorted: Vec::with_capacity(window),
            window,
            quantiles: quantiles.to_vec(),
            positions: vec![(0, 0.0); quantiles.len()],
        })
    }

    /// Adds a finite `x` (non-finite values are ignored), evicting the oldest value once the
    /// window is full.
    pub fn push(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        let s = &mut self.sorted;
        if self.arrival.len() < self.window {
            self.arrival.push(x);
            let at = s.partition_point(|&v| v < x);
            s.insert(at, x);
            let n = s.len();
            for (p, &q) in self.positions.iter_mut().zip(&self.quantiles) {
                *p = position(q, n);
            }
            return;
        }
        let old = std::mem::replace(&mut self.arrival[self.head], x);
        self.head += 1;
        if self.head == self.window {
            self.head = 0;
        }
        // `old` is in the window: the first value not below it equals it (values are finite).
        // `i` and `j` count the values below `old` and below `x`.
        let (i, j) = if s.len() <= SCAN_UP_TO {
            // One branch-free pass beats two binary searches' unpredictable branches here.
            s.iter().fold((0, 0), |(i, j), &v| {
                (i + usize::from(v < old), j + usize::from(v < x))
            })
        } else {
            (
                s.partition_point(|&v| v < old),
                s.partition_point(|&v| v < x),
            )
        };
        if j > i {
            // `x` goes above `old`: the values between move down over `old`.
            s.copy_within(i + 1..j, i);
            s[j - 1] = x;
        } else {
            // `x` goes at or below `old`: the values between move up over `old`.
            s.copy_within(j..i, j + 1);
            s[j] = x;
        }
    }

    /// The `q`-quantile of the window (type 7), or `None` when it is empty; `q` is clamped to
    /// `[0, 1]` (NaN reads as 0.5).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        interpolate(&self.sorted, q)
    }

    /// The quantiles reported, in feature order.
    pub fn quantiles(&self) -> &[f64] {
        &self.quantiles
    }

    /// How many values the window holds.
    pub fn count(&self) -> usize {
        self.sorted.len()
    }
}

/// Checks that `quantiles` is not empty and that each is in `[0, 1]`.
fn check_quantiles(quantiles: &[f64]) -> Result<()> {
    if quantiles.is_empty() {
        return Err(Error::InvalidParam {
            name: "quantiles",
            reason: "must hold at least one quantile".into(),
        });
    }
    if let Some(q) = quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
        return Err(Error::InvalidParam {
            name: "quantiles",
            reason: format!("each must be in [0, 1], got {q}"),
        });
    }
    Ok(())
}

/// The feature name of quantile `q`: `p50`, `p99`, `p99.9`.
fn quantile_name(q: f64) -> String {
    // Six decimals of a percentage are more than any name needs, and hide the rounding of
    // `100 · q` (0.999 · 100 = 99.89999…).
    let pct = format!("{:.6}", 100.0 * q);
    let pct = pct.trim_end_matches('0').trim_end_matches('.');
    format!("p{pct}")
}

/// Windows up to this length find their positions by a linear count rather than a binary
/// search.
const SCAN_UP_TO: usize = 64;

/// Where the type-7 `q`-quantile of `n ≥ 1` sorted values reads them: the index `j` of the lower
/// order statistic and the weight `g` of the next one. `q` is clamped to `[0, 1]` (NaN reads as
/// 0.5).
fn position(q: f64, n: usize) -> (usize, f64) {
    let last = n.saturating_sub(1);
    let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
    let h = q * last as f64;
    // `h ≥ 0`, so the conversion truncates to the floor (and saturates).
    let j = (h as usize).min(last);
    let g = h - j as f64;
    if g > 0.0 && j < last {
        (j, g)
    } else {
        (j, 0.0)
    }
}

/// The value at `(j, g)` of an ascending slice of more than `j` values: `s[j]`, or `s[j]` and
/// `s[j + 1]` mixed by `g`.
///
/// The interpolation is written so that it never overflows and never gives NaN for finite
/// values (the naive `a + (b − a)·g` gives `∞ · 0` for `a = −f64::MAX`, `b = f64::MAX`, `g = 0`),
/// and so that the result stays within `[a, b]`.
#[inline]
fn read(s: &[f64], (j, g): (usize, f64)) -> f64 {
    let a = s[j];
    if g == 0.0 {
        return a;
    }
    let b = s[j + 1];
    let d = b - a;
    let x = if d.is_finite() {
        // NumPy's `_lerp`: from the nearer end, which keeps `g = 1` exact.
        if g < 0.5 {
            a + d * g
        } else {
            b - d * (1.0 - g)
        }
    } else {
        a * (1.0 - g) + b * g
    };
    // `a ≤ b`: within them, without `clamp`'s check of that.
    x.max(a).min(b)
}

/// The type-7 quantile of an ascending slice, or `None` when it is empty.
fn interpolate(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    Some(read(sorted, position(q, sorted.len())))
}

impl FeatureExtractor for RollingQuantiles {
    fn names(&self) -> Vec<String> {
        self.quantiles.iter().map(|&q| quantile_name(q)).collect()
    }

    fn len(&self) -> usize {
        self.quantiles.len()
    }

    fn update(&mut self, _ts: Timestamp, x: f64) {
        self.push(x);
    }

    fn extract_inplace(&self, out: &mut [f64]) {
        if self.sorted.is_empty() {
            out[..self.quantiles.len()].fill(0.0);
            return;
        }
        for (o, &p) in out.iter_mut().zip(&self.positions) {
            *o = read(&self.sorted, p);
        }
    }

    fn reset(&mut self) {
        self.arrival.clear();
        self.head = 0;
        self.sorted.clear();
        self.positions.fill((0, 0.0));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn fed(window: usize, qs: &[f64], xs: &[f64]) -> RollingQuantiles {
        let mut r = RollingQuantiles::with_quantiles(window, qs).unwrap();
        for (i, &x) in xs.iter().enumerate() {
            r.update(Timestamp::from_secs(i as i64), x);
        }
        r
    }

    #[test]
    fn window_cannot_be_zero() {
        assert!(matches!(
            RollingQuantiles::new(0),
            Err(Error::InvalidParam { name: "window", .. })
        ));
    }

    #[test]
    fn quantiles_must_be_in_the_unit_interval() {
        for bad in [&[][..], &[0.5, 1.5], &[-0.1], &[f64::NAN]] {
            assert!(matches!(
                RollingQuantiles::with_quantiles(3, bad),
                Err(Error::InvalidParam {
                    name: "quantiles",
                    ..
                })
            ));
        }
    }

    #[test]
    fn agrees_with_numpy() {
        // numpy.quantile(x, q) with the default method="linear", printed with repr().
        let x = [3.1, -2.0, 7.5, 0.25, 10.0, 4.0, 4.0, 12.5, -6.0, 1.0];
        let r = fed(10, &[0.0, 0.1, 0.25, 0.5, 0.9, 0.99, 1.0], &x);
        let want = [-6.0, -2.4, 0.4375, 3.55, 10.25, 12.275, 12.5];
        for (got, want) in r.extract().iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        // A window of one value: every quantile is that value.
        let one = fed(1, &[0.0, 0.5, 1.0], &[9.0, 2.0]);
        assert_eq!(one.extract(), vec![2.0; 3]);
        // Two values: linear between them.
        let two = fed(2, &[0.25, 0.9], &[1.0, 2.0]);
        assert_eq!(two.extract(), vec![1.25, 1.9]);
    }

    #[test]
    fn the_window_slides() {
        let r = fed(3, &[0.5], &[100.0, 1.0, 2.0, 3.0]);
        assert_eq!(r.count(), 3);
        assert_eq!(r.extract(), vec![2.0]);
    }

    #[test]
    fn names_are_percentages() {
        let r = RollingQuantiles::with_quantiles(3, &[0.5, 0.999, 0.05, 1.0]).unwrap();
        assert_eq!(r.names(), ["p50", "p99.9", "p5", "p100"]);
        assert_eq!(r.len(), 4);
    }

    #[test]
    fn empty_extractor_writes_zeros_and_reset_forgets() {
        let mut r = RollingQuantiles::new(4).unwrap();
        assert_eq!(r.extract(), vec![0.0; 3]);
        r.update(Timestamp::EPOCH, 5.0);
        r.reset();
        assert_eq!(r.extract(), vec![0.0; 3]);
        assert_eq!(r.quantile(0.5), None);
    }

    #[test]
    fn extreme_values_interpolate_without_nan() {
        let r = fed(2, &[0.0, 0.5, 1.0], &[f64::MAX, -f64::MAX]);
        assert_eq!(r.extract(), vec![-f64::MAX, 0.0, f64::MAX]);
    }

    proptest! {
        #[test]
        fn prop_matches_sorting_the_window(
            w in prop_oneof![1usize..30, 30usize..80],
            q in 0.0f64..=1.0,
            xs in proptest::collection::vec(-1e6f64..1e6, 1..120),
        ) {
            let r = fed(w, &[q], &xs);
            prop_assert_eq!(r.extract()[0], r.quantile(q).unwrap_or(0.0));
            let mut win = xs[xs.len().saturating_sub(w)..].to_vec();
            win.sort_by(f64::total_cmp);
            prop_assert_eq!(&r.sorted, &win);
            let h = q * (win.len() - 1) as f64;
            let (j, g) = (h.floor() as usize, h - h.floor());
            let want = if j + 1 < win.len() { win[j] + (win[j + 1] - win[j]) * g } else { win[j] };
            let got = r.extract()[0];
            prop_assert!((got - want).abs() <= 1e-9 * (1.0 + want.abs()), "{} vs {}", got, want);
        }

        #[test]
        fn prop_features_are_finite_and_ordered(xs in proptest::collection::vec(prop_oneof![
            any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY),
            Just(1e308), Just(-1e308), Just(5e-324)
        ], 0..200)) {
            let mut r = RollingQuantiles::with_quantiles(7, &[0.0, 0.5, 0.9, 0.99, 1.0]).unwrap();
            let mut out = [0.0; 5];
            for (i, &x) in xs.iter().enumerate() {
                r.update(Timestamp::from_secs(i as i64), x);
                r.extract_inplace(&mut out);
                prop_assert!(out.iter().all(|v| v.is_finite()), "{:?}", out);
                prop_assert!(out.windows(2).all(|p| p[0] <= p[1]), "{:?}", out);
            }
        }
    }
}
