//! The conformal k-nearest-neighbour detector on lag-embedded windows (KNN-CAD).

use prescient_core::{Detection, Detector, Error, Result, Score, Timestamp};

use crate::TailCalibrator;

/// The settings of a [`KnnCad`], checked by [`KnnCadParams::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct KnnCadParams {
    dim: usize,
    k: usize,
    window: usize,
    min_points: usize,
    calibration_window: usize,
}

impl Default for KnnCadParams {
    fn default() -> Self {
        KnnCadParams {
            dim: 3,
            k: 2,
            window: 2000,
            min_points: 20,
            calibration_window: 2000,
        }
    }
}

impl KnnCadParams {
    /// Sets the embedding dimension: how many consecutive values make one pattern (default 3, in
    /// `[1, 1024]`).
    pub fn dim(mut self, dim: usize) -> Self {
        self.dim = dim;
        self
    }

    /// Sets how many nearest neighbours the nonconformity averages over (default 2, at least 1
    /// and at most `min_points`).
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// Sets how many of the latest patterns are kept as the reference set (default 2000, at
    /// least `min_points`).
    pub fn window(mut self, window: usize) -> Self {
        self.window = window;
        self
    }

    /// Sets how many patterns must be stored before scoring starts (default 20, in `[k,
    /// window]`).
    pub fn min_points(mut self, min_points: usize) -> Self {
        self.min_points = min_points;
        self
    }

    /// Sets how many past nonconformities [`Detection::score`] is calibrated against (default
    /// 2000, at least 20).
    pub fn calibration_window(mut self, window: usize) -> Self {
        self.calibration_window = window;
        self
    }

    /// Checks the settings and makes the detector.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] naming the first setting out of range: `dim` not in `[1, 1024]`,
    /// `k` of 0, `min_points` not in `[k, window]`, or `calibration_window` below 20.
    pub fn build(self) -> Result<KnnCad> {
        if !(1..=1024).contains(&self.dim) {
            return Err(invalid(
                "dim",
                format!("must be in [1, 1024], got {}", self.dim),
            ));
        }
        if self.k == 0 {
            return Err(invalid("k", "must be at least 1, got 0".into()));
        }
        if self.min_points < self.k || self.min_points > self.window {
            return Err(invalid(
                "min_points",
                format!(
                    "must be in [k = {}, window = {}], got {}",
                    self.k, self.window, self.min_points
                ),
            ));
        }
        let calibrator = TailCalibrator::new(self.calibration_window)?;
        Ok(KnnCad {
            values: Vec::with_capacity(2 * (self.window + self.dim)),
            start: 0,
            distances: Vec::with_capacity(self.window),
            calibrator,
            params: self,
        })
    }
}

fn invalid(name: &'static str, reason: String) -> Error {
    Error::InvalidParam { name, reason }
}

/// The conformal k-nearest-neighbour anomaly detector on lag-embedded windows (KNN-CAD, after
/// Burnaev and Ishimtsev, "Conformalized density- and distance-based anomaly detection in
/// time-series data", 2016).
///
/// Each point `x_t` closes the pattern `(x_{t−dim+1}, …, x_t)` of the last `dim` values. Its
/// *nonconformity* is the mean Euclidean distance from that pattern to its `k` nearest neighbours
/// among the patterns of the last `window` points: small when the recent shape of the series
/// (its level, its step, its local wiggle) has been seen before, large for a value, a jump or a
/// shape the series has not produced lately. Then, as in inductive conformal prediction, the
/// nonconformity is ranked among the past nonconformities: [`Detection::score`] is one minus its
/// tail probability under the last `calibration_window` of them ([`TailCalibrator`]), so that
/// the score does not depend on the metric's units. [`Detection::deviation`] is the raw
/// nonconformity, negative when `x` is below the mean of the values its nearest patterns ended
/// with (a direction for an alert), for a caller that calibrates its absolute value itself, as
/// [`crate::MetricDetector`] does.
///
/// Why it works for operational metrics: it needs no model of normal behaviour, only memory of
/// it. A recurring spike that the series produces every few hours has neighbours and stays quiet,
/// while a spike of a size or shape never seen, a level the series has not visited, or a change
/// of texture (a noisy series going flat, a flat one starting to jitter) has none. A new regime
/// stops being anomalous once it has lasted `k` points, so level shifts alert once, not for a
/// whole window.
///
/// Online and bounded: a point is scored against patterns that ended before it, then stored;
/// memory is `window + dim` values, `window` distances and the calibrator. A point costs
/// `O(window · dim)` arithmetic (about 6 000 operations with the defaults) plus a selection of the
/// `k` smallest distances. Non-finite values are neither scored nor stored.
///
/// # Example
///
/// ```
/// use prescient_core::{Detector, Timestamp};
/// use prescient_detect::KnnCad;
///
/// let mut d = KnnCad::params().dim(3).k(2).window(500).build()?;
/// let mut last = None;
/// for t in 0..600 {
///     // A noisy sawtooth, then one value far outside anything seen.
///     let x = if t == 599 { 40.0 } else { (t % 24) as f64 + ((t * 7919) % 13) as f64 / 13.0 };
///     last = d.update(Timestamp::from_secs(60 * t as i64), x);
/// }
/// assert!(last.unwrap().score.value() > 0.99);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct KnnCad {
    params: KnnCadParams,
    /// The latest values, oldest first from `start`; compacted when it reaches twice its need so
    /// that every pattern is a contiguous slice.
    values: Vec<f64>,
    start: usize,
    /// Scratch space for one point: each stored pattern's squared distance and last value.
    distances: Vec<(f64, f64)>,
    calibrator: TailCalibrator,
}

impl KnnCad {
    /// The default settings: patterns of 3 values, 2 neighbours, a reference window of 2000
    /// patterns, scoring from the 20th pattern, scores calibrated over 2000 nonconformities.
    pub fn params() -> KnnCadParams {
        KnnCadParams::default()
    }

    /// A detector with patterns of `dim` values and `k` neighbours among the last `window`
    /// patterns (other settings at their defaults).
    ///
    /// # Errors
    ///
    /// As [`KnnCadParams::build`].
    pub fn new(dim: usize, k: usize, window: usize) -> Result<Self> {
        let min_points = KnnCadParams::default().min_points.max(k).min(window);
        KnnCad::params()
            .dim(dim)
            .k(k)
            .window(window)
            .min_points(min_points)
            .build()
    }

    /// The settings.
    pub fn settings(&self) -> &KnnCadParams {
        &self.params
    }

    /// How many complete patterns the reference set holds.
    pub fn len(&self) -> usize {
        (self.values.len() - self.start + 1)
            .saturating_sub(self.params.dim)
            .min(self.params.window)
    }

    /// Whether the reference set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The nonconformity of the pattern that ends with `x` against the stored patterns (which do
    /// not include it), signed by where `x` lies against the last values of its nearest patterns,
    /// or `None` while fewer than `min_points` are stored.
    fn nonconformity(&mut self, x: f64) -> Option<f64> {
        let dim = self.params.dim;
        let held = &self.values[self.start..];
        let stored = self.len();
        // The new pattern needs the `dim − 1` values before `x`.
        if stored < self.params.min_points || held.len() + 1 < dim {
            return None;
        }
        let prefix = &held[held.len() + 1 - dim..];
        let first = held.len() + 1 - dim - stored;
        self.distances.clear();
        for j in first..first + stored {
            let pattern = &held[j..j + dim];
            let mut d = (pattern[dim - 1] - x) * (pattern[dim - 1] - x);
            for (a, b) in pattern[..dim - 1].iter().zip(prefix) {
                d += (a - b) * (a - b);
            }
            self.distances.push((d, pattern[dim - 1]));
        }
        let k = self.params.k.min(self.distances.len());
        self.distances
            .select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
        let nearest = &self.distances[..k];
        let mean = nearest.iter().map(|d| d.0.sqrt()).sum::<f64>() / k as f64;
        let alpha = if mean.is_nan() {
            f64::MAX
        } else {
            mean.min(f64::MAX)
        };
        // The mean of the neighbours' last values, scaled down first so that it cannot overflow.
        let expected = nearest.iter().map(|d| d.1 / k as f64).sum::<f64>();
        Some(if x < expected { -alpha } else { alpha })
    }

    /// Stores `x`, dropping the values no pattern of the window needs.
    fn store(&mut self, x: f64) {
        let need = self.params.window + self.params.dim;
        self.values.push(x);
        if self.values.len() - self.start > need {
            self.start = self.values.len() - need;
        }
        if self.start >= need {
            self.values.drain(..self.start);
            self.start = 0;
        }
    }
}

impl Detector for KnnCad {
    #[cfg(feature = "serde")]
    prescient_core::serde_state!();

    fn name(&self) -> &'static str {
        "knn_cad"
    }

    fn update(&mut self, _ts: Timestamp, x: f64) -> Option<Detection> {
        if !x.is_finite() {
            return None;
        }
        let out = self.nonconformity(x).map(|a| {
            let score = self.calibrator.update(a.abs()).unwrap_or(Score::ZERO);
            Detection {
                score,
                deviation: a,
            }
        });
        self.store(x);
        out
    }

    fn reset(&mut self) {
        self.values.clear();
        self.start = 0;
        self.calibrator.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TS: Timestamp = Timestamp::EPOCH;

    #[test]
    fn settings_are_checked() {
        assert!(KnnCad::params().dim(0).build().is_err());
        assert!(KnnCad::params().dim(2000).build().is_err());
        assert!(KnnCad::params().k(0).build().is_err());
        assert!(KnnCad::params().k(30).build().is_err());
        assert!(KnnCad::params().window(10).build().is_err());
        assert!(KnnCad::params().calibration_window(10).build().is_err());
        assert!(KnnCad::params().build().is_ok());
        assert!(KnnCad::new(8, 2, 5).is_ok());
    }

    #[test]
    fn nonconformity_is_the_mean_distance_to_the_nearest_patterns() {
        let mut d = KnnCad::params()
            .dim(2)
            .k(2)
            .window(3)
            .min_points(3)
            .build()
            .unwrap();
        // Values 0, 1, 2, 3: patterns (0,1), (1,2), (2,3).
        for x in [0.0, 1.0, 2.0, 3.0] {
            assert!(d.update(TS, x).is_none());
        }
        // The new pattern (3, 3): distances √13, √5, 1 → the two nearest average (1 + √5) / 2.
        let mut below = d.clone();
        let got = d.update(TS, 3.0).unwrap();
        assert!((got.deviation - (1.0 + 5f64.sqrt()) / 2.0).abs() < 1e-12);
        // The nearest patterns end at 3 and 2: 3 is above their mean, 0 below it.
        assert!(below.update(TS, 0.0).unwrap().deviation < 0.0);
        // The window now holds (1,2), (2,3), (3,3) only: (0,1) was forgotten.
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn a_recurring_spike_is_quiet_and_a_new_one_is_not() {
        let mut d = KnnCad::new(3, 2, 1000).unwrap();
        let wiggle = |t: usize| 10.0 + ((t * 7919) % 13) as f64 / 13.0;
        let mut recurring = Vec::new();
        for t in 0..1200 {
            // A spike to 30 every 100 points.
            let x = if t % 100 == 50 { 30.0 } else { wiggle(t) };
            let det = d.update(TS, x);
            if t % 100 == 50 && t > 600 {
                recurring.push(det.unwrap().score.value());
            }
        }
        assert!(recurring.iter().all(|&s| s < 0.99), "{recurring:?}");
        let new = d.update(TS, 60.0).unwrap();
        assert!(new.score.value() > 0.999, "{new:?}");
    }

    #[test]
    fn memory_stays_bounded() {
        let mut d = KnnCad::new(4, 2, 50).unwrap();
        for t in 0..10_000 {
            d.update(TS, (t % 17) as f64);
            assert!(d.values.len() <= 2 * (50 + 4));
        }
        assert_eq!(d.len(), 50);
    }

    #[test]
    fn non_finite_values_are_skipped_and_reset_forgets() {
        let mut d = KnnCad::new(2, 1, 20).unwrap();
        for t in 0..30 {
            d.update(TS, t as f64);
        }
        let before = d.clone();
        assert!(d.update(TS, f64::NAN).is_none());
        assert!(d.update(TS, f64::INFINITY).is_none());
        assert_eq!(d, before);
        d.reset();
        assert!(d.is_empty());
        assert!(d.update(TS, 1.0).is_none());
    }

    proptest! {
        #[test]
        fn prop_scores_in_unit_interval_never_nan(xs in proptest::collection::vec(prop_oneof![
            any::<f64>(), -1e3f64..1e3, Just(1e308), Just(-1e308), Just(0.0), Just(5e-324)
        ], 0..300)) {
            let mut d = KnnCad::params().dim(3).k(2).window(40).min_points(5).build().unwrap();
            for &x in &xs {
                if let Some(det) = d.update(TS, x) {
                    prop_assert!((0.0..=1.0).contains(&det.score.value()));
                    prop_assert!(!det.deviation.is_nan());
                }
                prop_assert!(d.values.len() - d.start <= 40 + 3);
            }
        }
    }
}
