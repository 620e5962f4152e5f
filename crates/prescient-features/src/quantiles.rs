//! Exact rolling quantiles of a small window.

use prescient_core::{Error, FeatureExtractor, Result, SortedWindow, Timestamp};

/// Chosen quantiles (by default p50, p90 and p99) of the last `window` values, exact.
///
/// The window is kept in sorted order ([`SortedWindow`]), so every quantile is read from two
/// neighbouring order statistics. For the windows of per-tick metrics (tens to a few thousand
/// values) this is both exact and cheaper than a sketch: a value costs one binary search,
/// O(log w) comparisons, plus a shift of up to `w` contiguous values for the insertion and
/// another for the eviction (a `memmove` of 160 bytes for a window of 20); a quantile then
/// costs O(1). Memory is two copies of the window. For the quantiles of many values per tick
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
    window: SortedWindow,
    quantiles: Vec<f64>,
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
            window: SortedWindow::new(window),
            quantiles: quantiles.to_vec(),
        })
    }

    /// The `q`-quantile of the window (type 7), or `None` when it is empty; `q` is clamped to
    /// `[0, 1]` (NaN reads as 0.5).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        interpolate(self.window.sorted(), q)
    }

    /// The quantiles reported, in feature order.
    pub fn quantiles(&self) -> &[f64] {
        &self.quantiles
    }

    /// How many values the window holds.
    pub fn count(&self) -> usize {
        self.window.len()
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

/// The type-7 quantile of an ascending slice, or `None` when it is empty.
///
/// The interpolation is written so that it never overflows and never gives NaN for finite
/// values (the naive `a + (b − a)·g` gives `∞ · 0` for `a = −f64::MAX`, `b = f64::MAX`, `g = 0`),
/// and so that the result stays within `[a, b]`.
fn interpolate(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
    let h = q * last as f64;
    let j = (h.floor() as usize).min(last);
    let g = h - j as f64;
    let a = sorted[j];
    if g <= 0.0 || j == last {
        return Some(a);
    }
    let b = sorted[j + 1];
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
    Some(x.clamp(a, b))
}

impl FeatureExtractor for RollingQuantiles {
    fn names(&self) -> Vec<String> {
        self.quantiles.iter().map(|&q| quantile_name(q)).collect()
    }

    fn len(&self) -> usize {
        self.quantiles.len()
    }

    fn update(&mut self, _ts: Timestamp, x: f64) {
        // `SortedWindow::push` ignores non-finite values.
        self.window.push(x);
    }

    fn extract_inplace(&self, out: &mut [f64]) {
        let sorted = self.window.sorted();
        for (o, &q) in out.iter_mut().zip(&self.quantiles) {
            *o = interpolate(sorted, q).unwrap_or(0.0);
        }
    }

    fn reset(&mut self) {
        self.window.clear();
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
            w in 1usize..30,
            q in 0.0f64..=1.0,
            xs in proptest::collection::vec(-1e6f64..1e6, 1..120),
        ) {
            let r = fed(w, &[q], &xs);
            let mut win = xs[xs.len().saturating_sub(w)..].to_vec();
            win.sort_by(f64::total_cmp);
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
