use prescient_core::{Error, Result, Timestamp};

use crate::anomaly::AnomalyKind;
use crate::rng::{Rng, Stream};

/// Seconds in a day.
pub(crate) const DAY_SECS: f64 = 86_400.0;

/// Monday 2024-01-01 00:00 UTC, the default start: midnight of a Monday, so that the first day
/// starts at its nightly trough and a seven-day span ends with the weekend.
pub(crate) const DEFAULT_START: Timestamp = Timestamp::from_secs(1_704_067_200);

/// The most points one workload may have (about 9.5 years at 15 s), so that a typo in the span
/// returns an error instead of exhausting memory.
pub const MAX_POINTS: usize = 20_000_000;

/// An anomaly placed by hand with [`WorkloadParams::inject`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Injection {
    pub(crate) kind: AnomalyKind,
    pub(crate) offset_secs: f64,
    pub(crate) duration_secs: f64,
    pub(crate) magnitude: f64,
}

/// What a synthetic demand series looks like: a builder of the knobs of [`generate`](crate::generate).
///
/// Start from [`WorkloadParams::new`] (a clean diurnal series with noise), or a preset
/// ([`WorkloadParams::web_service`], [`WorkloadParams::steady`]), and adjust with the setters.
/// Setters do not check their arguments; [`generate`](crate::generate) does, and returns
/// [`Error::InvalidParam`] naming the first bad one.
///
/// The load is a product of factors, each around 1, applied to [`base`](Self::base):
///
/// load(t) = base · daily(t) · weekly(t) · trend(t) · regime(t) · bursts(t) · anomalies(t) · noise(t)
///
/// # Example
///
/// ```
/// use prescient_synth::{AnomalyKind, WorkloadParams, generate};
///
/// let params = WorkloadParams::new(42)
///     .span_secs(86_400.0)
///     .base(500.0)
///     .bursts_per_day(2.0)
///     .inject(AnomalyKind::LoadSpike, 43_200.0, 600.0, 3.0);
/// let workload = generate(&params)?;
/// assert_eq!(workload.len(), 5_760);
/// assert_eq!(workload.anomalies.len(), 1);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WorkloadParams {
    pub(crate) seed: u64,
    pub(crate) start: Timestamp,
    pub(crate) step_secs: f64,
    pub(crate) span_secs: f64,
    pub(crate) base: f64,
    pub(crate) daily_amplitude: f64,
    pub(crate) daily_jitter_secs: f64,
    pub(crate) weekend_dip: f64,
    pub(crate) trend_per_day: f64,
    pub(crate) noise_sd: f64,
    pub(crate) noise_corr_secs: f64,
    pub(crate) white_noise_sd: f64,
    pub(crate) bursts_per_day: f64,
    pub(crate) burst_magnitude: f64,
    pub(crate) burst_duration_secs: f64,
    pub(crate) regime_changes_per_day: f64,
    pub(crate) regime_shift_sd: f64,
    pub(crate) anomaly_count: usize,
    pub(crate) anomaly_kinds: Vec<AnomalyKind>,
    pub(crate) anomaly_after_secs: f64,
    pub(crate) injections: Vec<Injection>,
}

impl WorkloadParams {
    /// A clean diurnal series: base 100 units/s, daily amplitude 0.5 with 15 min of phase jitter,
    /// a 30% weekend dip, correlated noise of 5% and white noise of 2%; no trend, bursts, regime
    /// changes or anomalies. Step 15 s, span 3 days from Monday 2024-01-01 00:00 UTC.
    pub fn new(seed: u64) -> Self {
        WorkloadParams {
            seed,
            start: DEFAULT_START,
            step_secs: 15.0,
            span_secs: 3.0 * DAY_SECS,
            base: 100.0,
            daily_amplitude: 0.5,
            daily_jitter_secs: 900.0,
            weekend_dip: 0.3,
            trend_per_day: 0.0,
            noise_sd: 0.05,
            noise_corr_secs: 300.0,
            white_noise_sd: 0.02,
            bursts_per_day: 0.0,
            burst_magnitude: 0.8,
            burst_duration_secs: 1_200.0,
            regime_changes_per_day: 0.0,
            regime_shift_sd: 0.1,
            anomaly_count: 0,
            anomaly_kinds: AnomalyKind::ALL.to_vec(),
            anomaly_after_secs: DAY_SECS,
            injections: Vec::new(),
        }
    }

    /// A realistic diurnal web service over 3 days: base 200 units/s, daily amplitude 0.6 with
    /// 20 min of phase jitter, a 35% weekend dip, +1%/day trend, correlated noise of 5% (5 min
    /// correlation time) and 2% white noise, one flash crowd a day (+80% for about 20 min), a
    /// regime change every 5 days on average (σ = 10%), and between 3 and 6 anomalies (the number
    /// depends on the seed) of distinct kinds, placed after the first day.
    pub fn web_service(seed: u64) -> Self {
        let anomaly_count = Rng::new(seed, Stream::Preset).int_in(3, 6);
        WorkloadParams::new(seed)
            .base(200.0)
            .daily_amplitude(0.6)
            .daily_jitter_secs(1_200.0)
            .weekend_dip(0.35)
            .trend_per_day(0.01)
            .bursts_per_day(1.0)
            .burst_magnitude(0.8)
            .burst_duration_secs(1_200.0)
            .regime_changes_per_day(0.2)
            .regime_shift_sd(0.1)
            .anomaly_count(anomaly_count)
    }

    /// Noise only: base 100 units/s with 5% correlated and 2% white noise, nothing else.
    pub fn steady(seed: u64) -> Self {
        WorkloadParams::new(seed)
            .daily_amplitude(0.0)
            .daily_jitter_secs(0.0)
            .weekend_dip(0.0)
    }

    /// The seed every random choice derives from.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The time of the first point (default Monday 2024-01-01 00:00 UTC). Time of day and day of
    /// week are taken in UTC.
    pub fn start(mut self, start: Timestamp) -> Self {
        self.start = start;
        self
    }

    /// Seconds between points (default 15); at least 1 ms.
    pub fn step_secs(mut self, step_secs: f64) -> Self {
        self.step_secs = step_secs;
        self
    }

    /// Seconds the series covers (default 3 days); at least one step. The series has
    /// `floor(span / step)` points, and covers that many whole steps.
    pub fn span_secs(mut self, span_secs: f64) -> Self {
        self.span_secs = span_secs;
        self
    }

    /// The load level in units/s halfway between the nightly trough and the daily peak, before
    /// the other factors (default 100); positive.
    pub fn base(mut self, base: f64) -> Self {
        self.base = base;
        self
    }

    /// Daily seasonality as a fraction of base in [0, 1] (default 0.5): the load swings between
    /// `(1 − a)·base` at night and `(1 + a)·base` at the afternoon peak.
    pub fn daily_amplitude(mut self, amplitude: f64) -> Self {
        self.daily_amplitude = amplitude;
        self
    }

    /// Standard deviation in seconds of each day's random phase shift of the daily shape (default
    /// 900, at most 6 h), so that no two days peak at exactly the same minute.
    pub fn daily_jitter_secs(mut self, secs: f64) -> Self {
        self.daily_jitter_secs = secs;
        self
    }

    /// How much lower Saturdays and Sundays are, as a fraction in [0, 1] (default 0.3).
    pub fn weekend_dip(mut self, dip: f64) -> Self {
        self.weekend_dip = dip;
        self
    }

    /// Linear growth per day as a fraction of base in [−1, 1] (default 0): the load is multiplied
    /// by `max(0, 1 + trend · days)`.
    pub fn trend_per_day(mut self, trend: f64) -> Self {
        self.trend_per_day = trend;
        self
    }

    /// Standard deviation of the correlated (AR(1)) multiplicative noise in log space, in [0, 1]
    /// (default 0.05).
    pub fn noise_sd(mut self, sd: f64) -> Self {
        self.noise_sd = sd;
        self
    }

    /// Correlation time of the AR(1) noise in seconds (default 300): the per-step coefficient is
    /// `exp(−step / corr)`, so the noise looks the same at any step. Positive.
    pub fn noise_corr_secs(mut self, secs: f64) -> Self {
        self.noise_corr_secs = secs;
        self
    }

    /// Standard deviation of the independent per-point multiplicative noise in log space, in
    /// [0, 1] (default 0.02): the counting noise of a scrape.
    pub fn white_noise_sd(mut self, sd: f64) -> Self {
        self.white_noise_sd = sd;
        self
    }

    /// Mean number of legitimate flash crowds per day, in [0, 96] (default 0). They arrive as a
    /// Poisson process and are not anomalies.
    pub fn bursts_per_day(mut self, rate: f64) -> Self {
        self.bursts_per_day = rate;
        self
    }

    /// Mean peak increase of a burst as a fraction of the load, in [0, 20] (default 0.8); each
    /// burst draws its own uniformly in ±50% of it.
    pub fn burst_magnitude(mut self, magnitude: f64) -> Self {
        self.burst_magnitude = magnitude;
        self
    }

    /// Mean duration of a burst in seconds, in (0, 1 day] (default 1200); each burst draws its
    /// own uniformly in ±50% of it. A burst ramps up over its first quarter and down over its
    /// last 40%.
    pub fn burst_duration_secs(mut self, secs: f64) -> Self {
        self.burst_duration_secs = secs;
        self
    }

    /// Mean number of persistent level shifts per day, in [0, 24] (default 0). They arrive as a
    /// Poisson process, ramp in over 30 min and are not anomalies (a new customer, a migrated
    /// feature). The product of all regime levels stays within 0.1× and 10×.
    pub fn regime_changes_per_day(mut self, rate: f64) -> Self {
        self.regime_changes_per_day = rate;
        self
    }

    /// Standard deviation of the log of each regime change's factor, in [0, 1] (default 0.1).
    pub fn regime_shift_sd(mut self, sd: f64) -> Self {
        self.regime_shift_sd = sd;
        self
    }

    /// How many anomalies to place at random (default 0, at most 1000), not overlapping each
    /// other. Kinds are dealt from a shuffled deck of [`anomaly_kinds`](Self::anomaly_kinds), so
    /// each kind appears once before any repeats. Fewer are placed when the span cannot fit them.
    pub fn anomaly_count(mut self, count: usize) -> Self {
        self.anomaly_count = count;
        self
    }

    /// The kinds random anomalies are drawn from (default all); must not be empty when
    /// [`anomaly_count`](Self::anomaly_count) is positive.
    pub fn anomaly_kinds(mut self, kinds: &[AnomalyKind]) -> Self {
        self.anomaly_kinds = kinds.to_vec();
        self
    }

    /// Random anomalies start no earlier than this many seconds into the span (default one day,
    /// so a detector can learn a day first); non-negative. Clamped to half the span.
    pub fn anomaly_after_secs(mut self, secs: f64) -> Self {
        self.anomaly_after_secs = secs;
        self
    }

    /// Places an anomaly of `kind` by hand, `offset_secs` after the start, lasting
    /// `duration_secs`, of `magnitude` (see [`AnomalyKind`] for what it means per kind). The
    /// offset must lie in the span (in the whole steps it covers); the window is cut at its end.
    pub fn inject(
        mut self,
        kind: AnomalyKind,
        offset_secs: f64,
        duration_secs: f64,
        magnitude: f64,
    ) -> Self {
        self.injections.push(Injection {
            kind,
            offset_secs,
            duration_secs,
            magnitude,
        });
        self
    }

    /// Removes every anomaly: random ones and injected ones. Together with the independent random
    /// streams, this gives the same series without its anomalies, as a reference.
    pub fn without_anomalies(mut self) -> Self {
        self.anomaly_count = 0;
        self.injections.clear();
        self
    }

    /// `floor(span / step)` as a float (NaN for a bad step or span); a small epsilon keeps
    /// `span = k · step` from losing a point to rounding.
    fn points(&self) -> f64 {
        (self.span_secs / self.step_secs + 1e-9).floor()
    }

    /// How many points [`generate`](crate::generate) produces, once validated.
    pub(crate) fn len(&self) -> usize {
        // Validation bounds the count by `MAX_POINTS`, so the cast is exact.
        self.points() as usize
    }

    /// Seconds the points cover: `len · step`, which is at most the span (the rest of a span that
    /// is not a whole number of steps is dropped).
    pub(crate) fn covered_secs(&self) -> f64 {
        self.len() as f64 * self.step_secs
    }

    /// Checks every parameter, in the order of the setters.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] naming the first parameter out of its range.
    pub fn validate(&self) -> Result<()> {
        if !(self.step_secs.is_finite() && self.step_secs >= 0.001) {
            return Err(invalid(
                "step_secs",
                format!("must be finite and at least 0.001, got {}", self.step_secs),
            ));
        }
        if !(self.span_secs.is_finite() && self.span_secs >= self.step_secs) {
            return Err(invalid(
                "span_secs",
                format!(
                    "must be finite and cover at least one step of {} s, got {}",
                    self.step_secs, self.span_secs
                ),
            ));
        }
        if self.points() > MAX_POINTS as f64 {
            return Err(invalid(
                "span_secs",
                format!("gives more than {MAX_POINTS} points at this step"),
            ));
        }
        if !(self.base.is_finite() && self.base > 0.0 && self.base <= 1e12) {
            return Err(invalid(
                "base",
                format!("must be in (0, 1e12], got {}", self.base),
            ));
        }
        check_range("daily_amplitude", self.daily_amplitude, 0.0, 1.0)?;
        check_range(
            "daily_jitter_secs",
            self.daily_jitter_secs,
            0.0,
            6.0 * 3600.0,
        )?;
        check_range("weekend_dip", self.weekend_dip, 0.0, 1.0)?;
        check_range("trend_per_day", self.trend_per_day, -1.0, 1.0)?;
        check_range("noise_sd", self.noise_sd, 0.0, 1.0)?;
        if !(self.noise_corr_secs.is_finite() && self.noise_corr_secs > 0.0) {
            return Err(invalid(
                "noise_corr_secs",
                format!("must be finite and positive, got {}", self.noise_corr_secs),
            ));
        }
        check_range("white_noise_sd", self.white_noise_sd, 0.0, 1.0)?;
        check_range("bursts_per_day", self.bursts_per_day, 0.0, 96.0)?;
        check_range("burst_magnitude", self.burst_magnitude, 0.0, 20.0)?;
        if !(self.burst_duration_secs.is_finite()
            && self.burst_duration_secs > 0.0
            && self.burst_duration_secs <= DAY_SECS)
        {
            return Err(invalid(
                "burst_duration_secs",
                format!("must be in (0, 86400], got {}", self.burst_duration_secs),
            ));
        }
        check_range(
            "regime_changes_per_day",
            self.regime_changes_per_day,
            0.0,
            24.0,
        )?;
        check_range("regime_shift_sd", self.regime_shift_sd, 0.0, 1.0)?;
        if self.anomaly_count > 1000 {
            return Err(invalid(
                "anomaly_count",
                format!("must be at most 1000, got {}", self.anomaly_count),
            ));
        }
        if self.anomaly_count > 0 && self.anomaly_kinds.is_empty() {
            return Err(invalid(
                "anomaly_kinds",
                "must not be empty when anomaly_count is positive".into(),
            ));
        }
        if !(self.anomaly_after_secs.is_finite() && self.anomaly_after_secs >= 0.0) {
            return Err(invalid(
                "anomaly_after_secs",
                format!(
                    "must be finite and non-negative, got {}",
                    self.anomaly_after_secs
                ),
            ));
        }
        let covered = self.covered_secs();
        for inj in &self.injections {
            if !(inj.offset_secs.is_finite() && inj.offset_secs >= 0.0 && inj.offset_secs < covered)
            {
                return Err(invalid(
                    "inject",
                    format!(
                        "offset must lie in the {covered} s the points cover, got {}",
                        inj.offset_secs
                    ),
                ));
            }
            if !(inj.duration_secs.is_finite() && inj.duration_secs > 0.0) {
                return Err(invalid(
                    "inject",
                    format!(
                        "duration must be finite and positive, got {}",
                        inj.duration_secs
                    ),
                ));
            }
            if !inj.kind.is_valid_magnitude(inj.magnitude) {
                return Err(invalid(
                    "inject",
                    format!(
                        "magnitude of a {:?} must be {}, got {}",
                        inj.kind,
                        inj.kind.magnitude_range(),
                        inj.magnitude
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn invalid(name: &'static str, reason: String) -> Error {
    Error::InvalidParam { name, reason }
}

fn check_range(name: &'static str, x: f64, lo: f64, hi: f64) -> Result<()> {
    if x.is_finite() && x >= lo && x <= hi {
        Ok(())
    } else {
        Err(invalid(name, format!("must be in [{lo}, {hi}], got {x}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_of(p: &WorkloadParams) -> &'static str {
        match p.validate() {
            Err(Error::InvalidParam { name, .. }) => name,
            other => panic!("expected InvalidParam, got {other:?}"),
        }
    }

    #[test]
    fn presets_are_valid() {
        for seed in 0..20 {
            WorkloadParams::new(seed).validate().unwrap();
            WorkloadParams::steady(seed).validate().unwrap();
            let web = WorkloadParams::web_service(seed);
            web.validate().unwrap();
            assert!((3..=6).contains(&web.anomaly_count));
        }
    }

    #[test]
    fn step_secs_must_be_at_least_a_millisecond() {
        for bad in [0.0, -15.0, 0.0001, f64::NAN, f64::INFINITY] {
            assert_eq!(name_of(&WorkloadParams::new(1).step_secs(bad)), "step_secs");
        }
    }

    #[test]
    fn span_secs_must_cover_one_step() {
        for bad in [10.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(name_of(&WorkloadParams::new(1).span_secs(bad)), "span_secs");
        }
        WorkloadParams::new(1).span_secs(15.0).validate().unwrap();
    }

    #[test]
    fn span_secs_must_not_give_too_many_points() {
        let p = WorkloadParams::new(1).step_secs(0.001).span_secs(1e6);
        assert_eq!(name_of(&p), "span_secs");
    }

    #[test]
    fn base_must_be_positive() {
        for bad in [0.0, -1.0, 1e13, f64::NAN] {
            assert_eq!(name_of(&WorkloadParams::new(1).base(bad)), "base");
        }
    }

    #[test]
    fn daily_amplitude_must_be_a_fraction() {
        for bad in [-0.1, 1.1, f64::NAN] {
            let p = WorkloadParams::new(1).daily_amplitude(bad);
            assert_eq!(name_of(&p), "daily_amplitude");
        }
    }

    #[test]
    fn daily_jitter_secs_must_be_within_six_hours() {
        for bad in [-1.0, 30_000.0, f64::INFINITY] {
            let p = WorkloadParams::new(1).daily_jitter_secs(bad);
            assert_eq!(name_of(&p), "daily_jitter_secs");
        }
    }

    #[test]
    fn weekend_dip_must_be_a_fraction() {
        for bad in [-0.1, 1.5, f64::NAN] {
            assert_eq!(
                name_of(&WorkloadParams::new(1).weekend_dip(bad)),
                "weekend_dip"
            );
        }
    }

    #[test]
    fn trend_per_day_must_be_within_one() {
        for bad in [-1.5, 2.0, f64::NAN] {
            let p = WorkloadParams::new(1).trend_per_day(bad);
            assert_eq!(name_of(&p), "trend_per_day");
        }
    }

    #[test]
    fn noise_sd_must_be_a_fraction() {
        for bad in [-0.1, 1.5, f64::NAN] {
            assert_eq!(name_of(&WorkloadParams::new(1).noise_sd(bad)), "noise_sd");
        }
    }

    #[test]
    fn noise_corr_secs_must_be_positive() {
        for bad in [0.0, -5.0, f64::INFINITY] {
            let p = WorkloadParams::new(1).noise_corr_secs(bad);
            assert_eq!(name_of(&p), "noise_corr_secs");
        }
    }

    #[test]
    fn white_noise_sd_must_be_a_fraction() {
        for bad in [-0.1, 1.5, f64::NAN] {
            let p = WorkloadParams::new(1).white_noise_sd(bad);
            assert_eq!(name_of(&p), "white_noise_sd");
        }
    }

    #[test]
    fn bursts_per_day_must_be_bounded() {
        for bad in [-1.0, 100.0, f64::NAN] {
            let p = WorkloadParams::new(1).bursts_per_day(bad);
            assert_eq!(name_of(&p), "bursts_per_day");
        }
    }

    #[test]
    fn burst_magnitude_must_be_bounded() {
        for bad in [-1.0, 21.0, f64::NAN] {
            let p = WorkloadParams::new(1).burst_magnitude(bad);
            assert_eq!(name_of(&p), "burst_magnitude");
        }
    }

    #[test]
    fn burst_duration_secs_must_be_within_a_day() {
        for bad in [0.0, 100_000.0, f64::NAN] {
            let p = WorkloadParams::new(1).burst_duration_secs(bad);
            assert_eq!(name_of(&p), "burst_duration_secs");
        }
    }

    #[test]
    fn regime_changes_per_day_must_be_bounded() {
        for bad in [-1.0, 25.0, f64::NAN] {
            let p = WorkloadParams::new(1).regime_changes_per_day(bad);
            assert_eq!(name_of(&p), "regime_changes_per_day");
        }
    }

    #[test]
    fn regime_shift_sd_must_be_a_fraction() {
        for bad in [-0.1, 1.5, f64::NAN] {
            let p = WorkloadParams::new(1).regime_shift_sd(bad);
            assert_eq!(name_of(&p), "regime_shift_sd");
        }
    }

    #[test]
    fn anomaly_count_must_be_at_most_a_thousand() {
        let p = WorkloadParams::new(1).anomaly_count(1001);
        assert_eq!(name_of(&p), "anomaly_count");
    }

    #[test]
    fn anomaly_kinds_must_not_be_empty_with_a_count() {
        let p = WorkloadParams::new(1).anomaly_count(2).anomaly_kinds(&[]);
        assert_eq!(name_of(&p), "anomaly_kinds");
        WorkloadParams::new(1)
            .anomaly_count(0)
            .anomaly_kinds(&[])
            .validate()
            .unwrap();
    }

    #[test]
    fn anomaly_after_secs_must_be_non_negative() {
        for bad in [-1.0, f64::NAN] {
            let p = WorkloadParams::new(1).anomaly_after_secs(bad);
            assert_eq!(name_of(&p), "anomaly_after_secs");
        }
    }

    #[test]
    fn inject_offset_must_lie_in_the_span() {
        for bad in [-1.0, 3.0 * DAY_SECS, f64::NAN] {
            let p = WorkloadParams::new(1).inject(AnomalyKind::LoadSpike, bad, 60.0, 2.0);
            assert_eq!(name_of(&p), "inject");
        }
    }

    #[test]
    fn inject_duration_must_be_positive() {
        for bad in [0.0, -60.0, f64::INFINITY] {
            let p = WorkloadParams::new(1).inject(AnomalyKind::LoadSpike, 60.0, bad, 2.0);
            assert_eq!(name_of(&p), "inject");
        }
    }

    #[test]
    fn inject_magnitude_must_suit_the_kind() {
        let cases = [
            (AnomalyKind::LoadSpike, 0.5),
            (AnomalyKind::LoadDrop, 1.5),
            (AnomalyKind::LevelShift, 1.0),
            (AnomalyKind::LatencyRegression, 0.5),
            (AnomalyKind::MemoryLeak, 2.0),
            (AnomalyKind::ErrorBurst, 0.0),
        ];
        for (kind, bad) in cases {
            let p = WorkloadParams::new(1).inject(kind, 60.0, 60.0, bad);
            assert_eq!(name_of(&p), "inject", "{kind:?}");
        }
    }

    #[test]
    fn without_anomalies_clears_both_sources() {
        let p = WorkloadParams::web_service(3)
            .inject(AnomalyKind::LoadDrop, 10.0, 10.0, 0.5)
            .without_anomalies();
        assert_eq!(p.anomaly_count, 0);
        assert!(p.injections.is_empty());
    }
}
