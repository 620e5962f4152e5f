//! Rolling Pearson correlation of two series.

use prescient_core::{Result, RingBuffer, Timestamp};

/// Scaled magnitudes are kept at or below this (2^400), so that a window's sums of squares and
/// products never overflow.
const SCALE_LIMIT: f64 = 2.582_249_878_086_908_6e120;

/// The scale applied to a window whose largest magnitude exceeds [`SCALE_LIMIT`]: 2^-624, which
/// brings f64::MAX (just under 2^1024) below 2^400.
const SMALL_SCALE: f64 = 1.436_424_174_966_147e-188;

/// A series whose standard deviation is at most this fraction of its mean's magnitude is
/// constant, as far as its correlation goes: below it the deviations are rounding noise.
const CONSTANT_RELATIVE: f64 = 1e-12;

/// When a centred sum of squares falls below this fraction of the raw sum about the shift, the
/// running sums have cancelled too much to be trusted, and the window is recomputed exactly.
const CANCELLATION: f64 = 1e-6;

/// The Pearson correlation of two series over the last `window` pairs, in O(1) per pair: how
/// closely a request characteristic and a resource follow each other (payload size against CPU,
/// request rate against memory), and when that relation breaks.
///
/// Running sums of `x`, `y`, `x²`, `y²` and `x·y` are kept about a shift (the first pair, then
/// the window's means) to limit cancellation, and recomputed exactly from the window once every
/// `max(window, 64)` pairs, so rounding error never accumulates beyond that many updates (the
/// cost stays O(1) amortised; 64 rather than `RollingMoments`' 1,024 because the correlation
/// divides by two variances and is more sensitive to their rounding). The window is recomputed
/// early when a centred sum has cancelled to a millionth of the raw one (a series that moved far
/// from the shift and became nearly flat). A window holding a magnitude above 2^400 is summed
/// with both series scaled by a power of two (exact, and the correlation does not change under
/// scaling), and recomputed exactly at each pair while it holds one: O(window) per pair, for
/// values no metric takes.
///
/// `r = Σ(x − x̄)(y − ȳ) / √(Σ(x − x̄)² · Σ(y − ȳ)²)`, clamped to `[−1, 1]`. It is 0 with fewer
/// than two pairs and when either series is constant over the window, which is taken to mean a
/// standard deviation of at most 1e-12 of its mean's magnitude (rounding noise, which would
/// otherwise give an arbitrary ±1). A pair with a non-finite value is ignored, both values.
///
/// It takes two values per update, so it is not a [`prescient_core::FeatureExtractor`]; it has
/// the same `names`, `len`, `extract_inplace` and `reset`. Features, in order: `corr`.
///
/// ```
/// use prescient_core::Timestamp;
/// use prescient_features::RollingCorrelation;
///
/// let mut c = RollingCorrelation::new(4)?;
/// for (i, (payload, cpu)) in [(1.0, 0.1), (2.0, 0.2), (3.0, 0.3), (4.0, 0.4)].into_iter().enumerate() {
///     c.update(Timestamp::from_secs(15 * i as i64), payload, cpu);
/// }
/// assert!((c.correlation() - 1.0).abs() < 1e-12);
/// // CPU stops following the payload.
/// for (i, (payload, cpu)) in [(5.0, 0.3), (6.0, 0.1), (7.0, 0.1)].into_iter().enumerate() {
///     c.update(Timestamp::from_secs(60 + 15 * i as i64), payload, cpu);
/// }
/// // The window holds (4, 0.4), (5, 0.3), (6, 0.1), (7, 0.1): now they move apart.
/// assert!(c.correlation() < -0.9);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RollingCorrelation {
    pairs: RingBuffer<(f64, f64)>,
    /// Each series is summed as `u = x·scale − shift`.
    scale: (f64, f64),
    shift: (f64, f64),
    su: f64,
    sv: f64,
    suu: f64,
    svv: f64,
    suv: f64,
    since_exact: usize,
    corr: f64,
}

impl RollingCorrelation {
    /// The correlation over the last `window` pairs.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::InvalidParam`] when `window` is 0.
    pub fn new(window: usize) -> Result<Self> {
        let window = crate::check_window("window", window)?;
        Ok(RollingCorrelation {
            pairs: RingBuffer::new(window),
            scale: (1.0, 1.0),
            shift: (0.0, 0.0),
            su: 0.0,
            sv: 0.0,
            suu: 0.0,
            svv: 0.0,
            suv: 0.0,
            since_exact: 0,
            corr: 0.0,
        })
    }

    /// Takes the pair `(x, y)` observed at `ts` (ignored when either is not finite).
    pub fn update(&mut self, _ts: Timestamp, x: f64, y: f64) {
        if !(x.is_finite() && y.is_finite()) {
            return;
        }
        if self.pairs.is_empty() {
            self.scale = (scale_for(x.abs()), scale_for(y.abs()));
            self.shift = (x * self.scale.0, y * self.scale.1);
            (self.su, self.sv, self.suu, self.svv, self.suv) = (0.0, 0.0, 0.0, 0.0, 0.0);
        }
        let evicted = self.pairs.push((x, y));
        let (u, v) = self.scaled(x, y);
        match evicted {
            Some((ex, ey)) => {
                let (eu, ev) = self.scaled(ex, ey);
                self.su += u - eu;
                self.sv += v - ev;
                self.suu += u * u - eu * eu;
                self.svv += v * v - ev * ev;
                self.suv += u * v - eu * ev;
            }
            None => {
                self.su += u;
                self.sv += v;
                self.suu += u * u;
                self.svv += v * v;
                self.suv += u * v;
            }
        }
        self.since_exact += 1;
        let sums_finite = (self.su + self.sv + self.suu + self.svv + self.suv).is_finite();
        let scaled = self.scale != (1.0, 1.0);
        if self.since_exact >= self.pairs.capacity().max(64)
            || !sums_finite
            || scaled
            || x.abs() > SCALE_LIMIT
            || y.abs() > SCALE_LIMIT
        {
            self.recompute();
        }
        self.corr = self.correlation_of_sums();
        if self.since_exact > 0 && self.cancelled() {
            self.recompute();
            self.corr = self.correlation_of_sums();
        }
    }

    #[inline]
    fn scaled(&self, x: f64, y: f64) -> (f64, f64) {
        (
            x * self.scale.0 - self.shift.0,
            y * self.scale.1 - self.shift.1,
        )
    }

    /// The centred sums `(Sxx, Syy, Sxy)` of the window, in scaled units.
    fn centred(&self) -> (f64, f64, f64) {
        let n = self.pairs.len() as f64;
        (
            self.suu - self.su * self.su / n,
            self.svv - self.sv * self.sv / n,
            self.suv - self.su * self.sv / n,
        )
    }

    /// Whether a centred sum of squares has cancelled below what the running sums can resolve
    /// (and the raw sum is not itself at the noise floor of a constant series).
    fn cancelled(&self) -> bool {
        let n = self.pairs.len() as f64;
        let (cxx, cyy, _) = self.centred();
        let lost = |c: f64, raw: f64, mean: f64| {
            let floor = CONSTANT_RELATIVE * mean;
            c < CANCELLATION * raw && raw > n * floor * floor
        };
        lost(cxx, self.suu, self.shift.0 + self.su / n)
            || lost(cyy, self.svv, self.shift.1 + self.sv / n)
    }

    /// The correlation from the running sums (0 for a constant series or fewer than two pairs).
    fn correlation_of_sums(&self) -> f64 {
        let len = self.pairs.len();
        if len < 2 {
            return 0.0;
        }
        let n = len as f64;
        let (cxx, cyy, cxy) = self.centred();
        let mean_u = self.shift.0 + self.su / n;
        let mean_v = self.shift.1 + self.sv / n;
        let constant = |c: f64, mean: f64| {
            let floor = CONSTANT_RELATIVE * mean;
            c <= n * floor * floor || c.is_nan()
        };
        if constant(cxx, mean_u) || constant(cyy, mean_v) {
            return 0.0;
        }
        let r = cxy / (cxx.sqrt() * cyy.sqrt());
        if r.is_finite() {
            r.clamp(-1.0, 1.0)
        } else {
            0.0
        }
    }

    /// Recomputes the scale, the shift (the means) and the sums exactly from the window.
    fn recompute(&mut self) {
        self.since_exact = 0;
        let (mx, my) = self.pairs.iter().fold((0.0f64, 0.0f64), |(a, b), &(x, y)| {
            (a.max(x.abs()), b.max(y.abs()))
        });
        self.scale = (scale_for(mx), scale_for(my));
        let inv_n = 1.0 / self.pairs.len() as f64;
        let (sx, sy) = self.scale;
        // Scaled magnitudes are at most 2^400: the sums cannot overflow.
        let (mean_u, mean_v) = self
            .pairs
            .iter()
            .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x * sx, b + y * sy));
        self.shift = (mean_u * inv_n, mean_v * inv_n);
        (self.su, self.sv, self.suu, self.svv, self.suv) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &(x, y) in self.pairs.iter() {
            let (u, v) = (x * sx - self.shift.0, y * sy - self.shift.1);
            self.su += u;
            self.sv += v;
            self.suu += u * u;
            self.svv += v * v;
            self.suv += u * v;
        }
    }

    /// The correlation of the window (0 with fewer than two pairs or a constant series).
    pub fn correlation(&self) -> f64 {
        self.corr
    }

    /// How many pairs the window holds.
    pub fn count(&self) -> usize {
        self.pairs.len()
    }

    /// The names of the features, in order: `corr`.
    pub fn names(&self) -> Vec<String> {
        vec!["corr".into()]
    }

    /// How many features [`RollingCorrelation::extract_inplace`] writes (1).
    pub fn len(&self) -> usize {
        1
    }

    /// Whether there are no features (never: there is one).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the features into `out[..1]`.
    ///
    /// # Panics
    ///
    /// If `out` is empty.
    pub fn extract_inplace(&self, out: &mut [f64]) {
        out[0] = self.corr;
    }

    /// Forgets every pair.
    pub fn reset(&mut self) {
        self.pairs.clear();
        self.since_exact = 0;
        self.corr = 0.0;
    }
}

/// The power of two that brings magnitudes up to `m` to at most 2^400: 1 unless `m` exceeds it.
fn scale_for(m: f64) -> f64 {
    if m > SCALE_LIMIT { SMALL_SCALE } else { 1.0 }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn fed(w: usize, pairs: &[(f64, f64)]) -> RollingCorrelation {
        let mut c = RollingCorrelation::new(w).unwrap();
        for (i, &(x, y)) in pairs.iter().enumerate() {
            c.update(Timestamp::from_secs(i as i64), x, y);
        }
        c
    }

    /// Two-pass Pearson correlation, 0 for a constant series.
    fn naive(pairs: &[(f64, f64)]) -> f64 {
        let n = pairs.len() as f64;
        let mx = pairs.iter().map(|p| p.0).sum::<f64>() / n;
        let my = pairs.iter().map(|p| p.1).sum::<f64>() / n;
        let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
        for &(x, y) in pairs {
            sxx += (x - mx) * (x - mx);
            syy += (y - my) * (y - my);
            sxy += (x - mx) * (y - my);
        }
        if sxx == 0.0 || syy == 0.0 {
            0.0
        } else {
            sxy / (sxx * syy).sqrt()
        }
    }

    #[test]
    fn window_cannot_be_zero() {
        assert!(matches!(
            RollingCorrelation::new(0),
            Err(prescient_core::Error::InvalidParam { name: "window", .. })
        ));
    }

    #[test]
    fn by_hand() {
        // x = 1 2 3 4, y = 2 1 4 3: Sxy = 3, Sxx = Syy = 5, r = 0.6.
        let c = fed(4, &[(1.0, 2.0), (2.0, 1.0), (3.0, 4.0), (4.0, 3.0)]);
        assert!((c.correlation() - 0.6).abs() < 1e-12);
        let anti = fed(3, &[(1.0, 3.0), (2.0, 2.0), (3.0, 1.0)]);
        assert!((anti.correlation() + 1.0).abs() < 1e-12);
    }

    #[test]
    fn degenerate_windows_give_zero() {
        assert_eq!(fed(5, &[]).correlation(), 0.0);
        assert_eq!(fed(5, &[(1.0, 2.0)]).correlation(), 0.0);
        // A constant series, exactly and up to rounding (0.1 is not a binary fraction).
        assert_eq!(
            fed(3, &[(0.1, 1.0), (0.1, 2.0), (0.1, 3.0)]).correlation(),
            0.0
        );
        assert_eq!(fed(1, &[(1.0, 1.0), (2.0, 5.0)]).correlation(), 0.0);
        // A level far from the shift that became flat: recomputed, then constant.
        let mut pairs: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, i as f64)).collect();
        pairs.extend((0..5).map(|i| (1e9 + 0.3, i as f64)));
        assert_eq!(fed(5, &pairs).correlation(), 0.0);
    }

    #[test]
    fn ignores_non_finite_pairs_and_resets() {
        let mut c = fed(3, &[(1.0, 1.0), (2.0, 2.0)]);
        let before = c.clone();
        c.update(Timestamp::EPOCH, f64::NAN, 3.0);
        c.update(Timestamp::EPOCH, 3.0, f64::INFINITY);
        assert_eq!(c, before);
        let mut out = [9.0];
        c.extract_inplace(&mut out);
        assert!((out[0] - 1.0).abs() < 1e-12);
        c.reset();
        assert_eq!((c.correlation(), c.count()), (0.0, 0));
        assert_eq!(c.names().len(), c.len());
        assert!(!c.is_empty());
    }

    #[test]
    fn huge_values_are_scaled_and_then_forgotten() {
        let mut pairs = vec![(1e300, 1.0), (-1e300, 2.0), (1e300, 3.0)];
        let c = fed(3, &pairs);
        assert!(c.correlation().is_finite());
        // Once the huge values have left, ordinary values correlate exactly again.
        pairs.extend([(1.0, 1.0), (2.0, 2.0), (3.0, 3.5)]);
        let c = fed(3, &pairs);
        assert_eq!(c.scale, (1.0, 1.0));
        assert!((c.correlation() - naive(&pairs[3..])).abs() < 1e-12);
    }

    #[test]
    fn long_runs_stay_accurate() {
        // A slow level drift with noise, far from zero: 10,000 updates through the running sums.
        let mut s = 0x2545_f491_4f6c_dd1d_u64;
        let mut pairs = Vec::new();
        for i in 0..10_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let e = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let x = 1e6 + 100.0 * (i as f64 / 500.0).sin() + e;
            pairs.push((x, 0.5 * x + 3.0 * e));
        }
        let c = fed(50, &pairs);
        let want = naive(&pairs[pairs.len() - 50..]);
        assert!(
            (c.correlation() - want).abs() < 1e-9,
            "{} vs {want}",
            c.correlation()
        );
    }

    proptest! {
        #[test]
        fn prop_matches_two_passes(
            w in 2usize..30,
            pairs in proptest::collection::vec((-1e3f64..1e3, -1e3f64..1e3), 1..200),
        ) {
            let c = fed(w, &pairs);
            let want = naive(&pairs[pairs.len().saturating_sub(w)..]);
            prop_assert!((c.correlation() - want).abs() < 1e-9, "{} vs {}", c.correlation(), want);
        }

        #[test]
        fn prop_never_nan(pairs in proptest::collection::vec((
            prop_oneof![any::<f64>(), Just(f64::NAN), Just(1e308), Just(-1e308), Just(5e-324), Just(0.0)],
            prop_oneof![any::<f64>(), Just(f64::INFINITY), Just(1e308), Just(-1e308), Just(5e-324), -1.0f64..1.0],
        ), 0..100)) {
            let mut c = RollingCorrelation::new(6).unwrap();
            for (i, &(x, y)) in pairs.iter().enumerate() {
                c.update(Timestamp::from_secs(i as i64), x, y);
                let r = c.correlation();
                prop_assert!(r.is_finite() && (-1.0..=1.0).contains(&r), "{}", r);
            }
        }
    }
}
