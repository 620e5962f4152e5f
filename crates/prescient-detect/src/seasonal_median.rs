//! The same-phase detector: each point against the values at its phase in the previous cycles.

use prescient_core::{Detection, Detector, Error, Result, RingBuffer, Timestamp};

use crate::{MAD_SCALE, detection_of_z, floored_std};
use prescient_core::SortedWindow;

/// The settings of a [`SeasonalMedian`], checked by [`SeasonalMedianParams::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SeasonalMedianParams {
    period: usize,
    cycles: usize,
    min_cycles: usize,
    residual_window: Option<usize>,
    min_residuals: usize,
}

impl SeasonalMedianParams {
    /// Sets how many previous cycles the expectation is the median of (default 3, in `[1,
    /// 64]`).
    pub fn cycles(mut self, cycles: usize) -> Self {
        self.cycles = cycles;
        self
    }

    /// Sets how many previous cycles must have been seen before scoring starts (default 1, in
    /// `[1, cycles]`); until `cycles` are seen, the median is over those there are.
    pub fn min_cycles(mut self, min_cycles: usize) -> Self {
        self.min_cycles = min_cycles;
        self
    }

    /// Sets how many recent residuals the robust scale is taken over (default `max(period,
    /// 100)`, at least 10).
    pub fn residual_window(mut self, window: usize) -> Self {
        self.residual_window = Some(window);
        self
    }

    /// Sets how many residuals must have been collected before scoring starts (default 10, in
    /// `[5, residual window]`).
    pub fn min_residuals(mut self, min_residuals: usize) -> Self {
        self.min_residuals = min_residuals;
        self
    }

    /// Checks the settings and makes the detector.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] naming the first setting out of range: `period` below 2,
    /// `cycles` not in `[1, 64]` (or a history that overflows), `min_cycles` not in `[1,
    /// cycles]`, `residual_window` below 10 or `min_residuals` not in `[5, residual window]`.
    pub fn build(&self) -> Result<SeasonalMedian> {
        if self.period < 2 {
            return Err(invalid("period", "at least 2", self.period));
        }
        if !(1..=64).contains(&self.cycles) {
            return Err(invalid("cycles", "in [1, 64]", self.cycles));
        }
        let history = self
            .period
            .checked_mul(self.cycles)
            .ok_or_else(|| Error::InvalidParam {
                name: "cycles",
                reason: format!(
                    "period × cycles overflows ({} × {})",
                    self.period, self.cycles
                ),
            })?;
        if !(1..=self.cycles).contains(&self.min_cycles) {
            return Err(invalid("min_cycles", "in [1, cycles]", self.min_cycles));
        }
        let residual_window = self.residual_window.unwrap_or(self.period.max(100));
        if residual_window < 10 {
            return Err(invalid("residual_window", "at least 10", residual_window));
        }
        if !(5..=residual_window).contains(&self.min_residuals) {
            return Err(invalid(
                "min_residuals",
                "in [5, residual window]",
                self.min_residuals,
            ));
        }
        Ok(SeasonalMedian {
            params: self.clone(),
            history: RingBuffer::new(history),
            residuals: SortedWindow::new(residual_window),
            phase: Vec::with_capacity(self.cycles),
        })
    }
}

fn invalid(name: &'static str, want: &str, got: usize) -> Error {
    Error::InvalidParam {
        name,
        reason: format!("must be {want}, got {got}"),
    }
}

/// The same-phase detector: each point against the median of the values at the same phase of the
/// previous `cycles` periods, standardised by the median absolute deviation of the recent
/// residuals.
///
/// With period `p`, the expectation of `x_t` is `median(x_{t−p}, x_{t−2p}, …, x_{t−cycles·p})`
/// and the residual `r_t = x_t − expectation`; [`Detection::deviation`] is `r_t / (1.4826 ·
/// MAD)`, the MAD over the last `residual_window` residuals (floored as for the z-scores, so that
/// an exactly repeating pattern makes any change finite but very surprising).
///
/// It is the seasonal-naive forecast made robust: the median of a few cycles ignores one cycle
/// that was itself anomalous, and unlike an STL fit it does not smooth the season, so a clean
/// square wave or a sawtooth (a nightly batch job, a cron-driven step) is expected exactly,
/// edges included. What it catches is what the point-wise detectors cannot: a daily peak that
/// does not come, a pattern that goes flat or shifts in phase, a night that looks like a day —
/// values that would be ordinary at another time of day. Build it only for a series with a
/// confirmed season ([`crate::PeriodSearch`]); on a series without one it is a noisy naive
/// forecast. [`crate::MetricDetector`] does this.
///
/// Online: scores against the values before the point, then learns it. Memory `cycles · p`
/// values plus the residual window; a point costs a sort of `cycles` values and an insertion
/// into the ordered residual window.
///
/// # Example
///
/// ```
/// use prescient_core::{Detector, Timestamp};
/// use prescient_detect::SeasonalMedian;
///
/// // A square wave of period 24 with a little noise; on the last day the high half is missing.
/// let mut d = SeasonalMedian::new(24)?;
/// let mut worst: f64 = 0.0;
/// for t in 0..24 * 8 {
///     let high = t % 24 >= 12 && t < 24 * 7;
///     let x = if high { 10.0 } else { 0.0 } + ((t * 7919) % 13) as f64 / 130.0;
///     if let Some(det) = d.update(Timestamp::from_secs(3600 * t as i64), x) {
///         if t >= 24 * 7 {
///             worst = worst.max(det.score.value());
///         }
///     }
/// }
/// assert!(worst > 0.9999);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SeasonalMedian {
    params: SeasonalMedianParams,
    history: RingBuffer<f64>,
    residuals: SortedWindow,
    /// Scratch space for the same-phase values of one point.
    phase: Vec<f64>,
}

impl SeasonalMedian {
    /// Settings for a detector of seasonal period `period` (in points), with every other setting
    /// at its default.
    pub fn params(period: usize) -> SeasonalMedianParams {
        SeasonalMedianParams {
            period,
            cycles: 3,
            min_cycles: 1,
            residual_window: None,
            min_residuals: 10,
        }
    }

    /// A detector of seasonal period `period` (in points) with the default settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `period` is below 2.
    pub fn new(period: usize) -> Result<Self> {
        Self::params(period).build()
    }

    /// The seasonal period, in points.
    pub fn period(&self) -> usize {
        self.params.period
    }

    /// The value expected for the next point (the median of its phase in the cycles seen), once
    /// `min_cycles` cycles have been seen.
    pub fn expected(&mut self) -> Option<f64> {
        let p = self.params.period;
        let seen = self.history.len() / p;
        if seen < self.params.min_cycles {
            return None;
        }
        self.phase.clear();
        for j in 1..=seen.min(self.params.cycles) {
            // The value j periods before the next point.
            if let Some(&v) = self.history.get_back(j * p - 1) {
                self.phase.push(v);
            }
        }
        self.phase.sort_unstable_by(f64::total_cmp);
        let n = self.phase.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(self.phase[n / 2]),
            // Halve before adding so that two values near f64::MAX do not overflow.
            _ => Some(0.5 * self.phase[n / 2 - 1] + 0.5 * self.phase[n / 2]),
        }
    }
}

impl Detector for SeasonalMedian {
    #[cfg(feature = "serde")]
    prescient_core::serde_state!();

    fn name(&self) -> &'static str {
        "seasonal_median"
    }

    fn update(&mut self, _ts: Timestamp, x: f64) -> Option<Detection> {
        if !x.is_finite() {
            return None;
        }
        let mut out = None;
        if let Some(expected) = self.expected() {
            let r = x - expected;
            if self.residuals.len() >= self.params.min_residuals {
                if let Some(mad) = self.residuals.mad() {
                    let scale = floored_std(MAD_SCALE * mad, expected);
                    out = Some(detection_of_z(r / scale));
                }
            }
            // An overflowing residual is scored (clamped) but not kept: the window ignores it.
            self.residuals.push(r);
        }
        self.history.push(x);
        out
    }

    fn reset(&mut self) {
        self.history.clear();
        self.residuals.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TS: Timestamp = Timestamp::EPOCH;

    #[test]
    fn settings_are_checked() {
        assert!(SeasonalMedian::new(1).is_err());
        assert!(SeasonalMedian::params(24).cycles(0).build().is_err());
        assert!(SeasonalMedian::params(24).cycles(65).build().is_err());
        assert!(
            SeasonalMedian::params(usize::MAX)
                .cycles(2)
                .build()
                .is_err()
        );
        assert!(SeasonalMedian::params(24).min_cycles(4).build().is_err());
        assert!(
            SeasonalMedian::params(24)
                .residual_window(9)
                .build()
                .is_err()
        );
        assert!(SeasonalMedian::params(24).min_residuals(4).build().is_err());
        assert!(
            SeasonalMedian::params(24)
                .residual_window(20)
                .min_residuals(21)
                .build()
                .is_err()
        );
        assert!(SeasonalMedian::new(2).is_ok());
    }

    #[test]
    fn expects_the_median_of_the_same_phase() {
        let mut d = SeasonalMedian::params(3).cycles(3).build().unwrap();
        // Three cycles of period 3; at phase 0 the values 1, 100, 3.
        for x in [1.0, 0.0, 0.0, 100.0, 0.0, 0.0, 3.0, 0.0, 0.0] {
            d.update(TS, x);
        }
        // The one anomalous cycle does not move the expectation much.
        assert_eq!(d.expected(), Some(3.0));
        d.update(TS, 3.0);
        // Phase 1: 0, 0, 0.
        assert_eq!(d.expected(), Some(0.0));
    }

    #[test]
    fn a_missing_pattern_is_caught_and_an_exact_repeat_is_quiet() {
        let mut d = SeasonalMedian::new(24).unwrap();
        let wave = |t: usize| if t % 24 < 6 { 5.0 } else { 1.0 };
        for t in 0..24 * 6 {
            if let Some(det) = d.update(TS, wave(t)) {
                // Exact repeats of a square wave, sharp edges included: nothing to see.
                assert_eq!(det.score.value(), 0.0, "t {t}");
            }
        }
        // The high phase does not come.
        let missing = d.update(TS, 1.0).unwrap();
        assert!(missing.score.value() > 0.9999);
        assert!(missing.deviation < 0.0);
    }

    #[test]
    fn non_finite_values_are_skipped() {
        let mut d = SeasonalMedian::new(4).unwrap();
        for t in 0..40 {
            d.update(TS, (t % 4) as f64);
        }
        let before = d.clone();
        assert!(d.update(TS, f64::NAN).is_none());
        assert!(d.update(TS, f64::NEG_INFINITY).is_none());
        assert_eq!(d, before);
        d.reset();
        assert!(d.expected().is_none());
    }

    proptest! {
        #[test]
        fn prop_scores_in_unit_interval_never_nan(xs in proptest::collection::vec(prop_oneof![
            any::<f64>(), -1e3f64..1e3, Just(1e308), Just(-1e308), Just(0.0), Just(5e-324)
        ], 0..300)) {
            let mut d = SeasonalMedian::params(5).residual_window(20).min_residuals(5).build().unwrap();
            for &x in &xs {
                if let Some(det) = d.update(TS, x) {
                    prop_assert!((0.0..=1.0).contains(&det.score.value()));
                    prop_assert!(det.deviation.is_finite());
                }
            }
        }
    }
}
