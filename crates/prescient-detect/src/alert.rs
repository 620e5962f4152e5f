//! The last stage of every ensemble: the combined surprise turned into a verdict (an adaptive
//! alert threshold, severities, a refractory period and the deduplicated episode score).

use prescient_core::{Result, RollingMax, Score, Severity, SeverityThresholds};

use crate::{TailCalibrator, Verdict};

/// The alert stage of [`MetricDetector`](crate::MetricDetector) and
/// [`VectorMonitor`](crate::VectorMonitor): both combine their members the same way and judge
/// the combination the same way, so that their verdicts mean the same thing.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Alerter {
    alert_rate: f64,
    refractory: usize,
    thresholds: SeverityThresholds,
    combined: TailCalibrator,
    refractory_left: usize,
    episode_peak: f64,
    /// The scores of the last `refractory` points that may still be the largest among them.
    peaks: RollingMax,
}

impl Alerter {
    /// The caller has checked `alert_rate`; `calibration_window` and `warmup` (the combined
    /// surprises held before any alert, the calibrator's default when `None`) are checked here.
    pub(crate) fn new(
        calibration_window: usize,
        alert_rate: f64,
        refractory: usize,
        thresholds: SeverityThresholds,
        warmup: Option<usize>,
    ) -> Result<Self> {
        let mut combined = TailCalibrator::new(calibration_window)?;
        if let Some(points) = warmup {
            combined = combined.min_points(points)?;
        }
        Ok(Alerter {
            alert_rate,
            refractory,
            thresholds,
            combined,
            refractory_left: 0,
            episode_peak: 0.0,
            peaks: RollingMax::new(refractory),
        })
    }

    /// The verdict on a point whose members combine to `surprise`, with the members' weighted
    /// `deviation` and `contributors`; then learns the surprise.
    pub(crate) fn judge(&mut self, surprise: f64, deviation: f64, contributors: u16) -> Verdict {
        let score = Score::from_surprise(surprise);
        let tail = self.combined.tail_probability(surprise);
        self.combined.learn(surprise);
        let exceeds = tail.is_some_and(|p| p < self.alert_rate);
        let in_refractory = self.refractory_left > 0;
        self.refractory_left = self.refractory_left.saturating_sub(1);
        let alert = exceeds && (!in_refractory || score.value() > self.episode_peak);
        if alert {
            self.refractory_left = self.refractory;
            self.episode_peak = score.value();
        }
        let severity = if exceeds {
            self.thresholds.classify(score).max(Severity::Low)
        } else {
            Severity::None
        };
        // The highest score of the previous `refractory` points (0 before any).
        let previous_peak = self.peaks.max().unwrap_or(0.0);
        self.peaks.push(score.value());
        let episode_score = if (in_refractory && !alert) || score.value() <= previous_peak {
            Score::ZERO
        } else {
            score
        };
        Verdict {
            score,
            severity,
            alert,
            episode_score,
            deviation: finite_or_clamped(deviation),
            contributors,
        }
    }

    /// Forgets the history of combined surprises and any episode under way.
    pub(crate) fn reset(&mut self) {
        self.combined.reset();
        self.refractory_left = 0;
        self.episode_peak = 0.0;
        self.peaks.clear();
    }
}

/// `x` where finite, the largest finite value of its sign for an infinity, 0 for NaN (members'
/// deviations can be as large as `f64::MAX`, so their weighted sum can overflow).
pub(crate) fn finite_or_clamped(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(-f64::MAX, f64::MAX)
    }
}

/// How the members' calibrated scores are combined into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Combination {
    /// The weighted mean of the surprises `−ln(1 − s)`: members must agree for a high score.
    #[default]
    Mean,
    /// The smallest tail probability, corrected for the number of members (weighted Bonferroni:
    /// `min_i p_i · W / w_i`): one member's alarm is enough.
    Bonferroni,
    /// Fisher's method on the tail probabilities (the sum of the surprises against a Gamma
    /// distribution, weights rescaled to mean one): strong evidence from one member or moderate
    /// evidence from several.
    Fisher,
}

/// The surprise `−ln P(G ≥ t)` of a Gamma(k, 1) variable, that is, of the sum of `k` independent
/// unit exponentials (`P(G ≥ t) = e^(−t) Σ_{j<k} t^j / j!`).
fn fisher_surprise(k: usize, t: f64) -> f64 {
    if k == 0 || t.is_nan() || t <= 0.0 {
        return 0.0;
    }
    // ln Σ_{j<k} t^j / j!, by a running log-sum-exp (rescaled whenever a larger term comes) so
    // that nothing overflows and nothing is allocated.
    let (ln_t, mut log_term) = (t.ln(), 0.0);
    let (mut top, mut scaled) = (f64::NEG_INFINITY, 0.0);
    for j in 0..k {
        if j > 0 {
            log_term += ln_t - (j as f64).ln();
        }
        if log_term > top {
            scaled = scaled * (top - log_term).exp() + 1.0;
            top = log_term;
        } else {
            scaled += (log_term - top).exp();
        }
    }
    let log_sum = top + scaled.ln();
    (t - log_sum).max(0.0)
}

/// The members' calibrated scores on one point, accumulated for the combination.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tally {
    w_sum: f64,
    surprise: f64,
    deviation: f64,
    contributors: u16,
    /// For the Bonferroni rule: the largest surprise after the weighted correction.
    best: f64,
    count: usize,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            w_sum: 0.0,
            surprise: 0.0,
            deviation: 0.0,
            contributors: 0,
            best: f64::NEG_INFINITY,
            count: 0,
        }
    }
}

impl Tally {
    /// Adds member `i`'s `score` and signed deviation with its `weight` (a member of weight 0
    /// is reported but not combined); it contributes from `contribution_level`.
    pub(crate) fn add(
        &mut self,
        i: usize,
        weight: f64,
        score: Score,
        signed: f64,
        contribution_level: f64,
    ) {
        if weight > 0.0 {
            self.w_sum += weight;
            self.count += 1;
            self.surprise += weight * score.surprise();
            self.best = self.best.max(score.surprise() + weight.ln());
            self.deviation += weight * signed;
            if score.value() >= contribution_level && i < 16 {
                self.contributors |= 1 << i;
            }
        }
    }

    /// The combined surprise, or `None` when no weighted member scored.
    pub(crate) fn combined(&self, combination: Combination) -> Option<f64> {
        if self.w_sum <= 0.0 {
            return None;
        }
        Some(match combination {
            Combination::Mean => self.surprise / self.w_sum,
            // p = min_i p_i · W / w_i, as a surprise: max_i (s_i + ln w_i) − ln W.
            Combination::Bonferroni => (self.best - self.w_sum.ln()).max(0.0),
            Combination::Fisher => {
                fisher_surprise(self.count, self.surprise / self.w_sum * self.count as f64)
            }
        })
    }

    /// The weighted mean of the signed deviations (0 when nothing was combined).
    pub(crate) fn deviation(&self) -> f64 {
        if self.w_sum > 0.0 {
            self.deviation / self.w_sum
        } else {
            0.0
        }
    }

    /// Bit `i` for each member `i` that contributed.
    pub(crate) fn contributors(&self) -> u16 {
        self.contributors
    }
}
