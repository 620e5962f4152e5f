use prescient_core::{Detection, Error, Result, Score};

/// A weighted combination of the detectors watching one metric.
///
/// Scores are averaged on the *surprise* scale, `−ln(1 − score)`, where a calibrated score is
/// exponentially distributed: averaging there keeps the calibration for perfectly correlated
/// detectors and is conservative for independent ones, and one detector's near-certain alarm
/// still counts. Detectors still warming up (`None`) are left out and the weights of the others
/// renormalised.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Ensemble {
    weights: Vec<f64>,
}

impl Ensemble {
    /// An ensemble with one non-negative weight per detector.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when there are no weights, a weight is negative or not finite, or
    /// all are zero.
    pub fn new(weights: Vec<f64>) -> Result<Self> {
        if weights.is_empty() {
            return Err(Error::InvalidParam {
                name: "weights",
                reason: "need at least one weight".into(),
            });
        }
        if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
            return Err(Error::InvalidParam {
                name: "weights",
                reason: format!("weights must be finite and non-negative, got {w}"),
            });
        }
        if weights.iter().sum::<f64>() <= 0.0 {
            return Err(Error::InvalidParam {
                name: "weights",
                reason: "at least one weight must be positive".into(),
            });
        }
        Ok(Ensemble { weights })
    }

    /// Equal weights for `n` detectors (at least one).
    pub fn uniform(n: usize) -> Self {
        Ensemble {
            weights: vec![1.0; n.max(1)],
        }
    }

    /// The weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Combines one detection (or `None`) per detector, in weight order; extra entries on either
    /// side are ignored. `None` when no weighted detector has a score yet.
    pub fn combine(&self, detections: &[Option<Detection>]) -> Option<Detection> {
        let (mut w_sum, mut surprise, mut deviation) = (0.0, 0.0, 0.0);
        for (w, d) in self.weights.iter().zip(detections) {
            if let Some(d) = d {
                if *w > 0.0 {
                    w_sum += w;
                    surprise += w * d.score.surprise();
                    deviation += w * d.deviation;
                }
            }
        }
        (w_sum > 0.0).then(|| Detection {
            score: Score::from_surprise(surprise / w_sum),
            deviation: deviation / w_sum,
        })
    }
}

/// Combines the scores of `m` metrics into one calibrated score: the largest, corrected for the
/// number of metrics looked at (`max^m`, the probability that none of `m` independent uniform
/// scores exceeds it).
///
/// Without the correction, ten quiet metrics would raise ten times the false alarms of one.
pub fn combine_metrics(scores: impl IntoIterator<Item = Score>) -> Score {
    let (mut max, mut m) = (0.0f64, 0u32);
    for s in scores {
        max = max.max(s.value());
        m += 1;
    }
    if m == 0 || max <= 0.0 {
        return Score::ZERO;
    }
    // max^m computed through logarithms keeps precision for scores close to 1.
    Score::new((f64::from(m) * (-(1.0 - max)).ln_1p()).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(score: f64, deviation: f64) -> Option<Detection> {
        Some(Detection {
            score: Score::new(score),
            deviation,
        })
    }

    #[test]
    fn weights_are_validated() {
        assert!(Ensemble::new(vec![]).is_err());
        assert!(Ensemble::new(vec![1.0, -1.0]).is_err());
        assert!(Ensemble::new(vec![0.0, 0.0]).is_err());
        assert!(Ensemble::new(vec![f64::NAN]).is_err());
        assert!(Ensemble::new(vec![0.0, 2.0]).is_ok());
    }

    #[test]
    fn identical_scores_combine_to_themselves() {
        let e = Ensemble::new(vec![1.0, 3.0]).unwrap();
        let c = e.combine(&[det(0.999, 4.0), det(0.999, 4.0)]).unwrap();
        assert!((c.score.value() - 0.999).abs() < 1e-12);
        assert!((c.deviation - 4.0).abs() < 1e-12);
    }

    #[test]
    fn missing_detectors_are_left_out() {
        let e = Ensemble::uniform(2);
        assert_eq!(e.combine(&[None, None]), None);
        let c = e.combine(&[None, det(0.9, -2.0)]).unwrap();
        assert!((c.score.value() - 0.9).abs() < 1e-12);
        assert_eq!(c.deviation, -2.0);
    }

    #[test]
    fn weights_shift_the_result() {
        let heavy_first = Ensemble::new(vec![9.0, 1.0]).unwrap();
        let heavy_second = Ensemble::new(vec![1.0, 9.0]).unwrap();
        let ds = [det(0.99999, 5.0), det(0.5, 0.5)];
        let a = heavy_first.combine(&ds).unwrap().score.value();
        let b = heavy_second.combine(&ds).unwrap().score.value();
        assert!(a > 0.999 && b < 0.9, "{a} {b}");
    }

    #[test]
    fn metric_combination_corrects_for_multiplicity() {
        let one = combine_metrics([Score::new(0.999)]);
        assert!((one.value() - 0.999).abs() < 1e-12);
        let ten =
            combine_metrics(std::iter::repeat_n(Score::new(0.5), 9).chain([Score::new(0.999)]));
        assert!((ten.value() - 0.999f64.powi(10)).abs() < 1e-12);
        assert_eq!(combine_metrics([]), Score::ZERO);
    }
}
