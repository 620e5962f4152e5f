//! Period detection: which seasonal period, if any, a series has.

use augurs_seasons::PeriodogramDetector;
use prescient_core::{Error, Result, check_positive};

use crate::stl::{Decomposition, decompose_with};

/// The periods (in points) that operational metrics usually have: a week of days (7), half a day
/// and a day of hours (12, 24), a day of half-hours, quarter-hours and 10-minute steps (48, 96,
/// 144), a week of hours (168), a day and a week of 5-minute steps (288, 2016).
///
/// Without a known sampling step, [`PeriodSearch`] snaps the periodogram's peaks to these.
pub const COMMON_PERIODS: [usize; 9] = [7, 12, 24, 48, 96, 144, 168, 288, 2016];

/// The hour, the day and the week, in seconds: the periods tried when the sampling step is known.
const CALENDAR_SECS: [f64; 3] = [3_600.0, 86_400.0, 604_800.0];

/// At most this many of the latest points are analysed (an STL fit of 100 000 points takes a few
/// milliseconds).
const MAX_POINTS: usize = 100_000;

/// The fewest points the periodogram is run on.
const MIN_POINTS: usize = 32;

/// How many periodogram peaks are followed up.
const MAX_PEAKS: usize = 5;

/// A detected seasonal period and how strong the season is.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Seasonality {
    /// The period, in points.
    pub period: usize,
    /// The STL seasonal strength at this period, in `[0, 1]` (see [`seasonal_strength`]).
    pub strength: f64,
}

/// A search for the seasonal period of a series: candidate periods, each confirmed by the
/// strength of its season.
///
/// **Candidates.** When the sampling step is known ([`PeriodSearch::step_secs`]), the hour, the
/// day and the week in points (at 300 s: 12, 288 and 2016). Otherwise the five strongest peaks of
/// a Welch periodogram (`augurs-seasons`) of the series minus its centred moving average over
/// twice the longest period looked for (which removes trends and level changes, so that they do
/// not swamp the low frequencies). The periodogram is coarse (a clean period-24 sine over ten days
/// peaks at 21 or 25), so each peak is replaced by every one of [`COMMON_PERIODS`] within 10% of
/// it or within its frequency bin, or kept as it is when none is near. Only periods that fit
/// [`PeriodSearch::min_cycles`] times in the data are candidates.
///
/// **Confirmation.** Each candidate's [`seasonal_strength`] must reach
/// [`PeriodSearch::min_strength`]. Among confirmed candidates the shortest wins, unless a longer
/// one that is a multiple of it also has a strong season *in what the shorter season leaves* (a
/// weekly pattern on top of a daily one): a period-24 series is also 168-periodic, but its
/// 168-season adds nothing once the 24-season is removed. Candidates that are not multiples of
/// each other compete on strength.
///
/// **Why a strength of 0.6.** The strength is corrected for the noise a fitted season absorbs,
/// so pure Gaussian noise scores about 0 on average (measured over 20 seeds for each of the
/// periods 7, 24, 168 and 288 and 3 to 20 cycles: at most 0.47, and at most 0.22 from four cycles
/// on), a sine whose variance equals the noise's about 0.5 and one of twice the noise's variance
/// about 0.68. Random walks are the hard case: over few cycles their wander can look seasonal (up
/// to 0.61 over three cycles, 0.5 over four, 0.3 over twelve or more). 0.6 asks for a season
/// clearly stronger than the noise, which is where a seasonal model pays off for anomaly
/// detection.
///
/// Each candidate costs one or two STL fits of the data (at most its latest 100 000 points), O(n).
///
/// # Example
///
/// ```
/// use prescient_detect::PeriodSearch;
///
/// // Ten days of 5-minute samples with a daily cycle.
/// let y: Vec<f64> = (0..2880)
///     .map(|t| 50.0 + 20.0 * (std::f64::consts::TAU * t as f64 / 288.0).sin() + ((t * 37) % 11) as f64)
///     .collect();
/// let found = PeriodSearch::new().step_secs(300.0)?.detect(&y).unwrap();
/// assert_eq!(found.period, 288);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PeriodSearch {
    step_secs: Option<f64>,
    min_strength: f64,
    min_cycles: usize,
}

impl Default for PeriodSearch {
    fn default() -> Self {
        PeriodSearch {
            step_secs: None,
            min_strength: 0.6,
            min_cycles: 3,
        }
    }
}

impl PeriodSearch {
    /// A search with the default settings: unknown step, strength at least 0.6, three cycles.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the sampling step, in seconds: the candidates become the hour, the day and the week.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `step_secs` is not positive and finite.
    pub fn step_secs(mut self, step_secs: f64) -> Result<Self> {
        self.step_secs = Some(check_positive("step_secs", step_secs)?);
        Ok(self)
    }

    /// Sets the seasonal strength a period needs (in `(0, 1)`; default 0.6).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `min_strength` is not in `(0, 1)`.
    pub fn min_strength(mut self, min_strength: f64) -> Result<Self> {
        if !(min_strength > 0.0 && min_strength < 1.0) {
            return Err(Error::InvalidParam {
                name: "min_strength",
                reason: format!("must be in (0, 1), got {min_strength}"),
            });
        }
        self.min_strength = min_strength;
        Ok(self)
    }

    /// Sets how many times a period must fit in the data (at least 2, STL's minimum; default 3).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `min_cycles` is below 2.
    pub fn min_cycles(mut self, min_cycles: usize) -> Result<Self> {
        if min_cycles < 2 {
            return Err(Error::InvalidParam {
                name: "min_cycles",
                reason: format!("must be at least 2, got {min_cycles}"),
            });
        }
        self.min_cycles = min_cycles;
        Ok(self)
    }

    /// The candidate periods for `values`, ascending, before their strength is checked.
    ///
    /// Non-finite values are replaced by the last finite value before them (or the first after
    /// them, at the start).
    pub fn candidates(&self, values: &[f64]) -> Vec<usize> {
        match clean(values) {
            Some(data) => self.candidates_of(&data),
            None => Vec::new(),
        }
    }

    /// The seasonal period of `values`, or `None` when no candidate has a strong enough season
    /// (or there are too few finite values).
    ///
    /// Non-finite values are handled as by [`PeriodSearch::candidates`].
    pub fn detect(&self, values: &[f64]) -> Option<Seasonality> {
        let data = clean(values)?;
        let mut best: Option<(Seasonality, Decomposition)> = None;
        for period in self.candidates_of(&data) {
            let Some((fit, strength)) = periodic_fit(&data, period) else {
                continue;
            };
            if strength < self.min_strength {
                continue;
            }
            let found = (Seasonality { period, strength }, fit);
            best = match best {
                None => Some(found),
                Some(b) if is_multiple(period, b.0.period) => {
                    // Does the longer season add anything to what the shorter one explains?
                    let rest: Vec<f64> =
                        data.iter().zip(&b.1.seasonal).map(|(y, s)| y - s).collect();
                    match periodic_fit(&rest, period) {
                        Some((_, extra)) if extra >= self.min_strength => Some(found),
                        _ => Some(b),
                    }
                }
                Some(b) if strength > b.0.strength => Some(found),
                keep => keep,
            };
        }
        best.map(|b| b.0)
    }

    fn candidates_of(&self, data: &[f64]) -> Vec<usize> {
        let fits = |p: usize| p >= 2 && p.saturating_mul(self.min_cycles) <= data.len();
        let mut out: Vec<usize> = match self.step_secs {
            Some(step) => CALENDAR_SECS
                .iter()
                .map(|secs| (secs / step).round())
                .filter(|p| *p >= 2.0 && *p <= usize::MAX as f64)
                .map(|p| p as usize)
                .filter(|&p| fits(p))
                .collect(),
            None => periodogram_candidates(data, self.min_cycles)
                .into_iter()
                .filter(|&p| fits(p))
                .collect(),
        };
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Whether `long` is (within 5%) a whole multiple, at least twice, of `short`.
fn is_multiple(long: usize, short: usize) -> bool {
    let ratio = long as f64 / short as f64;
    ratio >= 1.9 && (ratio - ratio.round()).abs() <= 0.05 * ratio.round()
}

/// The latest (at most [`MAX_POINTS`]) values with non-finite ones filled in, or `None` when none
/// is finite.
fn clean(values: &[f64]) -> Option<Vec<f64>> {
    let values = &values[values.len().saturating_sub(MAX_POINTS)..];
    let first = values.iter().copied().find(|x| x.is_finite())?;
    let mut last = first;
    Some(
        values
            .iter()
            .map(|&x| {
                if x.is_finite() {
                    last = x;
                }
                last
            })
            .collect(),
    )
}

/// The periodogram's peaks, snapped to [`COMMON_PERIODS`] where one is near.
fn periodogram_candidates(data: &[f64], min_cycles: usize) -> Vec<usize> {
    let n = data.len();
    if n < MIN_POINTS {
        return Vec::new();
    }
    // Welch segments of twice the longest period give it (and its neighbours) a few bins.
    // Scaled to [−1, 1] so that the moving average's sums cannot overflow.
    let peak = data.iter().fold(0.0, |m: f64, x| m.max(x.abs()));
    if !(peak > 0.0 && peak.is_finite()) {
        return Vec::new();
    }
    let scaled: Vec<f64> = data.iter().map(|x| x / peak).collect();
    let max_period = (n / min_cycles).clamp(8, 4096);
    let detrended = minus_moving_average(&scaled, max_period);
    let pg = PeriodogramDetector::builder()
        .min_period(4)
        .max_period(u32::try_from(max_period).unwrap_or(u32::MAX))
        .build()
        .periodogram(&detrended);
    let (periods, powers) = (&pg.periods, &pg.powers);
    let top = powers.iter().copied().fold(0.0, f64::max);
    if !(top > 0.0 && top.is_finite()) {
        return Vec::new();
    }
    // Local maxima of the power, strongest first.
    let mut peaks: Vec<(f64, usize)> = (0..powers.len())
        .filter(|&i| {
            let p = powers[i];
            p >= 0.05 * top
                && (i == 0 || p >= powers[i - 1])
                && (i + 1 == powers.len() || p >= powers[i + 1])
        })
        .map(|i| (powers[i], i))
        .collect();
    peaks.sort_by(|a, b| b.0.total_cmp(&a.0));
    peaks
        .into_iter()
        .take(MAX_PEAKS)
        .flat_map(|(_, i)| {
            let peak = f64::from(periods[i]);
            // The peak's frequency bin reaches halfway to its neighbours' frequencies (mirrored
            // when the peak is at an end of the periodogram).
            let f = 1.0 / peak;
            let widths: Vec<f64> = [i.checked_sub(1), Some(i + 1)]
                .into_iter()
                .flatten()
                .filter_map(|j| periods.get(j))
                .map(|&q| (f - 1.0 / f64::from(q)).abs())
                .collect();
            let half = 0.5 * widths.iter().copied().fold(0.0, f64::max);
            let lo = (1.0 / (f + half)).min(0.9 * peak);
            let hi = if f > half {
                (1.0 / (f - half)).max(1.1 * peak)
            } else {
                f64::INFINITY
            };
            snap(peak, lo, hi)
        })
        .collect()
}

/// The common periods in `[lo, hi]`, or `peak` itself when there is none.
fn snap(peak: f64, lo: f64, hi: f64) -> Vec<usize> {
    let near: Vec<usize> = COMMON_PERIODS
        .iter()
        .copied()
        .filter(|&c| (lo..=hi).contains(&(c as f64)))
        .collect();
    if near.is_empty() {
        vec![peak.round() as usize]
    } else {
        near
    }
}

/// `data` minus its centred moving average over `2·half + 1` points (fewer at the ends).
fn minus_moving_average(data: &[f64], half: usize) -> Vec<f64> {
    let n = data.len();
    let mean = data.iter().sum::<f64>() / n as f64;
    // Prefix sums about the mean, to limit cancellation.
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0);
    let mut acc = 0.0;
    for &x in data {
        acc += x - mean;
        prefix.push(acc);
    }
    (0..n)
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half + 1).min(n));
            let ma = (prefix[b] - prefix[a]) / (b - a) as f64;
            data[i] - mean - ma
        })
        .collect()
}

/// The seasonal period of `values` sampled every `step_secs` seconds (if known), with the default
/// [`PeriodSearch`]; `None` when the series has no strong season.
///
/// # Example
///
/// ```
/// use prescient_detect::detect_period;
///
/// // Twenty days of hourly samples with a daily cycle.
/// let y: Vec<f64> = (0..480)
///     .map(|t| 10.0 * (std::f64::consts::TAU * t as f64 / 24.0).sin() + ((t * 37) % 7) as f64)
///     .collect();
/// assert_eq!(detect_period(&y, None), Some(24));
/// assert_eq!(detect_period(&y, Some(3600.0)), Some(24));
/// ```
pub fn detect_period(values: &[f64], step_secs: Option<f64>) -> Option<usize> {
    let search = match step_secs {
        Some(s) => PeriodSearch::new().step_secs(s).ok()?,
        None => PeriodSearch::new(),
    };
    search.detect(values).map(|s| s.period)
}

/// The seasonal strength of `values` at `period`, corrected for the noise a fitted season absorbs.
///
/// The series is decomposed by STL with a seasonal smoother that spans all the cycles (so each
/// phase's season is about the average of that phase over the `k = n / period` cycles), and the
/// strength `F = 1 − Var(R) / Var(S + R)` (Wang, Smith and Hyndman, 2006) is corrected for the
/// `1 / k` of the noise's variance that such an average keeps: `(F − 1/k) / (1 − 1/k)`, clamped to
/// `[0, 1]`. Pure noise then scores about 0 whatever the number of cycles, a season whose variance
/// equals the noise's about 0.5, and a clean season 1.
///
/// # Errors
///
/// As [`crate::decompose`] ([`Error::NotEnoughData`] below two periods, [`Error::NonFinite`],
/// [`Error::InvalidParam`] for a period below 2).
pub fn seasonal_strength(values: &[f64], period: usize) -> Result<f64> {
    let ns = seasonal_span(values.len(), period);
    let d = decompose_with(values, period, false, Some(ns))?;
    Ok(corrected_strength(&d, values.len(), period))
}

/// A seasonal smoother span (in cycles, odd) wide enough that the Loess weights of all the cycles
/// are nearly equal.
fn seasonal_span(n: usize, period: usize) -> usize {
    10 * (n / period.max(1)) + 1
}

fn corrected_strength(d: &Decomposition, n: usize, period: usize) -> f64 {
    let bias = period as f64 / n as f64;
    ((d.seasonal_strength() - bias) / (1.0 - bias)).clamp(0.0, 1.0)
}

/// The decomposition of `data` with a season averaged over all cycles, and its corrected strength.
fn periodic_fit(data: &[f64], period: usize) -> Option<(Decomposition, f64)> {
    let d = decompose_with(data, period, false, Some(seasonal_span(data.len(), period))).ok()?;
    let strength = corrected_strength(&d, data.len(), period);
    Some((d, strength))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn gauss(rng: &mut ChaCha8Rng) -> f64 {
        // Box–Muller.
        let (u, v): (f64, f64) = (rng.r#gen::<f64>().max(1e-300), rng.r#gen());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// A level with a slow drift, a sine of period `period` and amplitude `amp`, unit noise.
    fn noisy_sine(n: usize, period: usize, amp: f64, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let w = std::f64::consts::TAU / period as f64;
        (0..n)
            .map(|t| 50.0 + 0.002 * t as f64 + amp * (w * t as f64).sin() + gauss(&mut rng))
            .collect()
    }

    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| 10.0 + gauss(&mut rng)).collect()
    }

    #[test]
    fn finds_a_daily_period_in_hourly_data() {
        for (n, seed) in [(240, 0), (480, 1), (720, 2), (2000, 3)] {
            let y = noisy_sine(n, 24, 5.0, seed);
            assert_eq!(detect_period(&y, None), Some(24), "n = {n}");
            assert_eq!(detect_period(&y, Some(3600.0)), Some(24), "n = {n}");
        }
    }

    #[test]
    fn finds_a_daily_period_in_five_minute_data() {
        for (days, seed) in [(4, 4), (10, 5), (30, 6)] {
            let y = noisy_sine(288 * days, 288, 5.0, seed);
            assert_eq!(detect_period(&y, None), Some(288), "{days} days");
            assert_eq!(detect_period(&y, Some(300.0)), Some(288), "{days} days");
        }
    }

    #[test]
    fn pure_noise_has_no_period() {
        for n in [100, 240, 1000, 5000, 20_000] {
            for seed in 0..3 {
                let y = noise(n, seed);
                assert_eq!(detect_period(&y, None), None, "n = {n}, seed {seed}");
                assert_eq!(detect_period(&y, Some(300.0)), None, "n = {n}, seed {seed}");
                assert_eq!(
                    detect_period(&y, Some(3600.0)),
                    None,
                    "n = {n}, seed {seed}"
                );
            }
        }
    }

    #[test]
    fn a_weak_season_is_not_enough() {
        // Amplitude 0.5 against unit noise: a season of a tenth of the noise's variance.
        let y = noisy_sine(2400, 24, 0.5, 7);
        assert_eq!(detect_period(&y, Some(3600.0)), None);
        assert!(seasonal_strength(&y, 24).unwrap() < 0.3);
    }

    #[test]
    fn a_weekly_pattern_on_a_daily_one_is_weekly() {
        // Six weeks of hourly data: a daily cycle and quieter weekends.
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let y: Vec<f64> = (0..24 * 7 * 6)
            .map(|t| {
                let daily = 5.0 * (std::f64::consts::TAU * t as f64 / 24.0).sin();
                let weekend = if (t / 24) % 7 >= 5 { -6.0 } else { 0.0 };
                50.0 + daily + weekend + gauss(&mut rng)
            })
            .collect();
        assert_eq!(detect_period(&y, Some(3600.0)), Some(168));
        assert_eq!(detect_period(&y, None), Some(168));
    }

    #[test]
    fn a_daily_series_is_not_called_weekly() {
        // A period-24 series is 168-periodic too, but the weekly season adds nothing.
        let y = noisy_sine(24 * 7 * 6, 24, 5.0, 9);
        let found = PeriodSearch::new()
            .step_secs(3600.0)
            .unwrap()
            .detect(&y)
            .unwrap();
        assert_eq!(found.period, 24);
        assert!(found.strength > 0.9);
    }

    #[test]
    fn known_step_candidates_are_the_hour_the_day_and_the_week() {
        let search = PeriodSearch::new().step_secs(300.0).unwrap();
        assert_eq!(search.candidates(&vec![0.0; 2016 * 3]), vec![12, 288, 2016]);
        assert_eq!(search.candidates(&vec![0.0; 2016 * 3 - 1]), vec![12, 288]);
        let hourly = PeriodSearch::new().step_secs(3600.0).unwrap();
        assert_eq!(hourly.candidates(&vec![0.0; 1000]), vec![24, 168]);
        let daily = PeriodSearch::new().step_secs(86_400.0).unwrap();
        assert_eq!(daily.candidates(&vec![0.0; 1000]), vec![7]);
    }

    #[test]
    fn non_finite_values_are_filled_in() {
        let mut y = noisy_sine(480, 24, 5.0, 10);
        for i in (0..480).step_by(37) {
            y[i] = f64::NAN;
        }
        y[0] = f64::INFINITY;
        assert_eq!(detect_period(&y, None), Some(24));
        assert_eq!(detect_period(&[f64::NAN; 100], None), None);
    }

    #[test]
    fn too_little_data_has_no_period() {
        assert_eq!(detect_period(&[], None), None);
        assert_eq!(detect_period(&[1.0; 10], None), None);
        assert_eq!(detect_period(&[1.0; 1000], Some(300.0)), None);
        // Two days of a daily cycle at 5-minute steps: fewer than the three cycles asked for.
        let y = noisy_sine(576, 288, 5.0, 11);
        assert_eq!(detect_period(&y, Some(300.0)), None);
        let two = PeriodSearch::new()
            .step_secs(300.0)
            .unwrap()
            .min_cycles(2)
            .unwrap();
        assert_eq!(two.detect(&y).map(|s| s.period), Some(288));
    }

    #[test]
    fn step_secs_must_be_positive() {
        for s in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(PeriodSearch::new().step_secs(s).is_err(), "{s}");
        }
        assert_eq!(
            detect_period(&noisy_sine(480, 24, 5.0, 12), Some(-5.0)),
            None
        );
    }

    #[test]
    fn min_strength_must_be_in_open_unit_interval() {
        for s in [0.0, 1.0, f64::NAN] {
            assert!(PeriodSearch::new().min_strength(s).is_err(), "{s}");
        }
        assert!(PeriodSearch::new().min_strength(0.3).is_ok());
    }

    #[test]
    fn min_cycles_must_be_at_least_two() {
        assert!(PeriodSearch::new().min_cycles(1).is_err());
    }

    #[test]
    fn strength_is_about_zero_for_noise_and_one_for_a_clean_season() {
        let s = seasonal_strength(&noise(2400, 13), 24).unwrap();
        assert!(s < 0.1, "{s}");
        let clean: Vec<f64> = (0..240).map(|t| ((t % 24) as f64).sqrt()).collect();
        let s = seasonal_strength(&clean, 24).unwrap();
        assert!(s > 0.99, "{s}");
        // A season with the noise's variance (amplitude √2) is about 0.5.
        let s = seasonal_strength(&noisy_sine(2400, 24, 2f64.sqrt(), 14), 24).unwrap();
        assert!((0.4..0.6).contains(&s), "{s}");
        assert!(seasonal_strength(&[1.0; 10], 24).is_err());
    }

    #[test]
    fn snapping_keeps_every_common_period_in_the_bin() {
        assert_eq!(snap(21.0, 16.0, 32.0), vec![24]);
        assert_eq!(snap(255.0, 205.0, 341.0), vec![288]);
        assert_eq!(snap(128.0, 102.0, 171.0), vec![144, 168]);
        assert_eq!(snap(30.0, 27.0, 33.0), vec![30]);
    }

    #[test]
    fn multiples_are_recognised() {
        assert!(is_multiple(168, 24));
        assert!(is_multiple(2016, 288));
        assert!(is_multiple(48, 24));
        assert!(!is_multiple(36, 24));
        assert!(!is_multiple(24, 24));
        assert!(!is_multiple(24, 168));
    }

    #[test]
    fn identical_input_gives_identical_output() {
        let y = noisy_sine(1000, 24, 3.0, 15);
        let a = PeriodSearch::new().detect(&y);
        assert_eq!(a, PeriodSearch::new().detect(&y));
        assert_eq!(a.map(|s| s.period), Some(24));
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = f64> {
            prop_oneof![
                -1e3f64..1e3,
                any::<f64>(),
                Just(f64::NAN),
                Just(f64::MAX),
                Just(-f64::MAX),
                Just(0.0),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            #[test]
            fn prop_detect_never_panics(
                xs in proptest::collection::vec(value(), 0..400),
                step in proptest::option::of(prop_oneof![Just(300.0), Just(3600.0), 1.0f64..1e6]),
            ) {
                let search = match step {
                    Some(s) => PeriodSearch::new().step_secs(s).unwrap(),
                    None => PeriodSearch::new(),
                };
                for p in search.candidates(&xs) {
                    prop_assert!(p >= 2 && 3 * p <= xs.len());
                }
                if let Some(s) = search.detect(&xs) {
                    prop_assert!(s.period >= 2);
                    prop_assert!((0.0..=1.0).contains(&s.strength));
                }
            }

            #[test]
            fn prop_strength_is_in_unit_interval(
                xs in proptest::collection::vec(value(), 0..200),
                period in 0usize..20,
            ) {
                if let Ok(s) = seasonal_strength(&xs, period) {
                    prop_assert!((0.0..=1.0).contains(&s));
                }
            }
        }
    }
}
