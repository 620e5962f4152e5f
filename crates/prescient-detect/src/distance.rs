//! How far a vector is from the recent ones: a z-score per coordinate, combined.

use prescient_core::{Detection, Error, Result, RollingMoments, Score, Timestamp, VectorDetector};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

use crate::floored_std;

/// How far a vector lies from the last `window` vectors: each coordinate standardised by the
/// mean and standard deviation of its own recent values, combined as the root mean square.
///
/// This is the multivariate rolling z-score, the plain answer to "how far is the current
/// fingerprint from recent history": a persistent change of workload moves the fingerprint, and
/// the distance stays high until the window has filled with the new regime. It treats the
/// coordinates as independent (the components of a PCA fingerprint are uncorrelated over the
/// fit), which keeps an update at O(dim) with no matrix to invert.
///
/// [`Detection::deviation`] is the root-mean-square z-score; [`Detection::score`] is its
/// chi-square calibration, `P(χ²_dim < dim · deviation²)`, exact for Gaussian coordinates and
/// only a guide otherwise (put a calibrator on top, as
/// [`VectorMonitor`](crate::VectorMonitor) does). It scores once a quarter of the window (at
/// least 10 vectors) is held.
///
/// ```
/// use prescient_core::{Timestamp, VectorDetector};
/// use prescient_detect::RecentDistance;
///
/// let mut d = RecentDistance::new(2, 100)?;
/// for i in 0..100 {
///     let w = (i % 10) as f64 / 10.0;
///     d.update(Timestamp::from_secs(i), &[w, 1.0 - w])?;
/// }
/// let far = d.update(Timestamp::from_secs(100), &[5.0, 0.5])?.expect("warmed up");
/// assert!(far.deviation > 5.0 && far.score.value() > 0.999);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RecentDistance {
    moments: Vec<RollingMoments>,
    min_points: usize,
    norm: DistanceNorm,
}

/// How [`RecentDistance`] combines the coordinates' z-scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DistanceNorm {
    /// The root mean square, calibrated by the chi-square distribution: the most power against
    /// a shift spread over many coordinates.
    #[default]
    Rms,
    /// The largest |z|, calibrated as the largest of `dim` independent normals: the most power
    /// against a shift of one coordinate, which the mean square would dilute by the others.
    Max,
}

impl RecentDistance {
    /// The distance of vectors of `dim` values from the last `window` vectors.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `dim` is 0 or `window` is below 2.
    pub fn new(dim: usize, window: usize) -> Result<Self> {
        if dim == 0 {
            return Err(Error::InvalidParam {
                name: "dim",
                reason: "must be at least 1".into(),
            });
        }
        if window < 2 {
            return Err(Error::InvalidParam {
                name: "window",
                reason: format!("must be at least 2, got {window}"),
            });
        }
        Ok(RecentDistance {
            moments: (0..dim).map(|_| RollingMoments::new(window)).collect(),
            min_points: (window / 4).max(10).min(window),
            norm: DistanceNorm::Rms,
        })
    }

    /// The same detector, combining the coordinates by `norm` (default
    /// [`DistanceNorm::Rms`]).
    pub fn norm(mut self, norm: DistanceNorm) -> Self {
        self.norm = norm;
        self
    }
}

impl VectorDetector for RecentDistance {
    #[cfg(feature = "serde")]
    prescient_core::serde_state!();

    fn name(&self) -> &'static str {
        "distance"
    }

    fn dim(&self) -> usize {
        self.moments.len()
    }

    fn update(&mut self, _ts: Timestamp, x: &[f64]) -> Result<Option<Detection>> {
        if x.len() != self.moments.len() {
            return Err(Error::SchemaMismatch {
                expected: self.moments.len(),
                got: x.len(),
            });
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Ok(None);
        }
        let ready = self.moments[0].len() >= self.min_points;
        let out = ready.then(|| {
            let z = self.moments.iter().zip(x).map(|(m, v)| {
                let z = (v - m.mean()) / floored_std(m.std(), m.mean());
                // A coordinate standardised beyond 1e150 is as surprising as it gets; the cap
                // keeps the sum of squares finite.
                if z.is_finite() {
                    z.clamp(-1e150, 1e150)
                } else {
                    1e150
                }
            });
            let dim = self.moments.len() as f64;
            match self.norm {
                DistanceNorm::Rms => {
                    let sum_sq: f64 = z.map(|z| z * z).sum();
                    let rms = (sum_sq / dim).sqrt().min(f64::MAX);
                    // statrs panics when `sum_sq / 2` underflows to zero (a subnormal sum of
                    // squares, found by fuzzing); the probability there is 0 anyway.
                    let score = if sum_sq > 1e-300 {
                        ChiSquared::new(dim).map_or(0.0, |c| c.cdf(sum_sq.min(f64::MAX)))
                    } else {
                        0.0
                    };
                    Detection {
                        score: Score::new(score),
                        deviation: rms,
                    }
                }
                DistanceNorm::Max => {
                    let largest = z.map(f64::abs).fold(0.0, f64::max);
                    // P(max |z| < m) = (1 − 2 Φ(−m))^dim for independent normal coordinates.
                    let inside = (1.0 - 2.0 * Normal::standard().cdf(-largest)).clamp(0.0, 1.0);
                    Detection {
                        score: Score::new(inside.powf(dim)),
                        deviation: largest,
                    }
                }
            }
        });
        for (m, &v) in self.moments.iter_mut().zip(x) {
            m.push(v);
        }
        Ok(out)
    }

    fn reset(&mut self) {
        for m in &mut self.moments {
            m.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_vector_a_subnormal_distance_away_scores_zero() {
        // Found by the `vector_detectors` fuzz target: statrs's chi-squared CDF panicked when
        // half the sum of squares underflowed to zero.
        let mut d = RecentDistance::new(1, 4).unwrap();
        for i in 0..8 {
            d.update(Timestamp::from_secs(i), &[0.0]).unwrap();
        }
        let det = d
            // Standardised by the floor of 1e-12: z = 2e-162, whose square rounds to the
            // smallest subnormal, and half of that to zero.
            .update(Timestamp::from_secs(9), &[2e-174])
            .unwrap()
            .unwrap();
        assert_eq!(det.score.value(), 0.0);
    }

    #[test]
    fn max_norm_sees_one_coordinate_that_rms_dilutes() {
        let mut rms = RecentDistance::new(8, 200).unwrap();
        let mut max = RecentDistance::new(8, 200).unwrap().norm(DistanceNorm::Max);
        for i in 0..200 {
            let x: Vec<f64> = (0..8)
                .map(|j| ((i * 7 + j * 13) % 11) as f64 / 11.0)
                .collect();
            rms.update(Timestamp::from_secs(i as i64), &x).unwrap();
            max.update(Timestamp::from_secs(i as i64), &x).unwrap();
        }
        // One coordinate 6 standard deviations out, the others at their means.
        let mut x = vec![5.0 / 11.0; 8];
        x[3] += 6.0 * 0.29;
        let (r, m) = (
            rms.update(Timestamp::from_secs(200), &x).unwrap().unwrap(),
            max.update(Timestamp::from_secs(200), &x).unwrap().unwrap(),
        );
        assert!(
            m.deviation > 5.0 && m.deviation > 2.0 * r.deviation,
            "{m:?} {r:?}"
        );
        assert!(
            m.score.value() > 0.9999 && m.score.value() > r.score.value(),
            "{m:?} {r:?}"
        );
    }

    #[test]
    fn settings_are_checked() {
        assert!(RecentDistance::new(0, 10).is_err());
        assert!(RecentDistance::new(2, 1).is_err());
    }

    #[test]
    fn distance_is_the_rms_z_score() {
        let mut d = RecentDistance::new(2, 4).unwrap();
        // Coordinate 0: 1, 2, 3, 4 (mean 2.5, sd 1.291); coordinate 1 constant 0 then a 0.
        for (i, v) in [1.0, 2.0, 3.0, 4.0].into_iter().enumerate() {
            d.update(Timestamp::from_secs(i as i64), &[v, 0.0]).unwrap();
        }
        let det = d
            .update(Timestamp::from_secs(4), &[5.0, 0.0])
            .unwrap()
            .unwrap();
        let sd = (5.0f64 / 3.0).sqrt();
        let z0 = 2.5 / sd;
        assert!((det.deviation - (z0 * z0 / 2.0).sqrt()).abs() < 1e-12);
        // The window keeps only the last 4: 2, 3, 4, 5.
        let det = d
            .update(Timestamp::from_secs(5), &[3.5, 0.0])
            .unwrap()
            .unwrap();
        assert!(det.deviation.abs() < 1e-12);
    }

    #[test]
    fn warms_up_then_scores() {
        let mut d = RecentDistance::new(1, 40).unwrap();
        let outs: Vec<bool> = (0..12)
            .map(|i| {
                d.update(Timestamp::from_secs(i), &[i as f64])
                    .unwrap()
                    .is_some()
            })
            .collect();
        assert_eq!(outs.iter().filter(|o| !**o).count(), 10);
    }

    proptest! {
        #[test]
        fn prop_outputs_are_finite(xs in proptest::collection::vec(prop_oneof![
            any::<f64>(), Just(1e308), Just(-1e308), Just(5e-324), -5.0f64..5.0
        ], 0..300)) {
            let mut d = RecentDistance::new(3, 8).unwrap();
            for (i, v) in xs.chunks_exact(3).enumerate() {
                if let Some(det) = d.update(Timestamp::from_secs(i as i64), v).unwrap() {
                    prop_assert!(det.deviation.is_finite() && det.deviation >= 0.0);
                    prop_assert!((0.0..=1.0).contains(&det.score.value()));
                }
            }
        }
    }
}
