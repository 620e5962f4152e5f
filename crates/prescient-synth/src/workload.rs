use std::f64::consts::{PI, TAU};

use prescient_core::{Result, Timestamp};

use crate::anomaly::{Anomaly, AnomalyKind, Burst, RegimeChange};
use crate::params::{DAY_SECS, WorkloadParams};
use crate::rng::{Rng, Stream};

/// Regime changes ramp in over this many seconds: a new customer arrives over minutes, not at
/// once, which is also what distinguishes them from an anomalous level shift.
const REGIME_RAMP_SECS: f64 = 1_800.0;

/// An anomalous level shift ramps in over this many seconds (or one step, if longer).
const LEVEL_SHIFT_RAMP_SECS: f64 = 60.0;

/// Bounds of the regime level, in log space (0.1× to 10×), so that a long span of random regime
/// changes cannot drift the load to zero or to infinity.
const REGIME_LOG_BOUND: f64 = std::f64::consts::LN_10;

/// Random anomalies keep this many seconds from each other, so that each label window holds one
/// fault.
const ANOMALY_GAP_SECS: f64 = 1_800.0;

/// Weekend transitions are smoothed over this fraction of a day around midnight.
const WEEKEND_EDGE_DAYS: f64 = 0.25;

/// A generated demand series with its ground truth: where the anomalies, bursts and regime
/// changes are.
///
/// # Example
///
/// ```
/// use prescient_synth::{WorkloadParams, generate};
///
/// let w = generate(&WorkloadParams::web_service(7))?;
/// let anomalous = w.iter().filter(|&(ts, _)| w.is_anomalous(ts).is_some()).count();
/// assert!(anomalous > 0);
/// assert!(w.load.iter().all(|x| x.is_finite() && *x >= 0.0));
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Workload {
    /// Seconds between points.
    pub step_secs: f64,
    /// The time of the first point.
    pub start: Timestamp,
    /// The time of every point: `start + i · step`.
    pub ts: Vec<Timestamp>,
    /// The offered load in units/s at every point: finite and non-negative.
    pub load: Vec<f64>,
    /// Labelled anomalies, sorted by start, each within the span.
    pub anomalies: Vec<Anomaly>,
    /// Legitimate flash crowds, sorted by start (not anomalies).
    pub bursts: Vec<Burst>,
    /// Legitimate persistent level changes, sorted by time (not anomalies).
    pub regime_changes: Vec<RegimeChange>,
}

impl Workload {
    /// How many points.
    pub fn len(&self) -> usize {
        self.load.len()
    }

    /// Whether there are no points (never true for a generated workload).
    pub fn is_empty(&self) -> bool {
        self.load.is_empty()
    }

    /// The end of the span: one step after the last point.
    pub fn end(&self) -> Timestamp {
        self.start.add_secs(self.len() as f64 * self.step_secs)
    }

    /// The points as `(time, load)` pairs.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (Timestamp, f64)> + '_ {
        self.ts.iter().copied().zip(self.load.iter().copied())
    }

    /// The first anomaly whose labelled window contains `ts`, of any kind.
    pub fn is_anomalous(&self, ts: Timestamp) -> Option<&Anomaly> {
        self.anomalies.iter().find(|a| a.contains(ts))
    }

    /// Every anomaly whose labelled window contains `ts`: what to pass to
    /// [`ServiceModel::observe`](crate::ServiceModel::observe).
    pub fn active_anomalies(&self, ts: Timestamp) -> Vec<&Anomaly> {
        self.anomalies.iter().filter(|a| a.contains(ts)).collect()
    }

    /// The burst under way at `ts`, if any.
    pub fn is_bursting(&self, ts: Timestamp) -> Option<&Burst> {
        self.bursts.iter().find(|b| b.contains(ts))
    }

    /// One label per point: whether any anomaly's window contains it.
    pub fn labels(&self) -> Vec<bool> {
        let mut out = vec![false; self.len()];
        for a in &self.anomalies {
            let lo = self.ts.partition_point(|&t| t < a.start);
            let hi = self.ts.partition_point(|&t| t < a.end);
            out[lo..hi].iter_mut().for_each(|x| *x = true);
        }
        out
    }
}

/// Generates the workload `params` describe, in time and memory linear in the number of points.
///
/// Identical parameters give identical output on every platform: every random choice comes from
/// `ChaCha8Rng` seeded with the seed, one stream per part (noise, bursts, regimes, anomalies,
/// daily jitter), so that changing one part leaves the others as they were. In particular,
/// [`WorkloadParams::without_anomalies`] gives the same series without its anomalies.
///
/// # Errors
///
/// [`Error::InvalidParam`](prescient_core::Error::InvalidParam) when a parameter is out of range
/// (see [`WorkloadParams::validate`]).
///
/// # Example
///
/// ```
/// use prescient_synth::{WorkloadParams, generate};
///
/// let a = generate(&WorkloadParams::steady(1).span_secs(3_600.0))?;
/// let b = generate(&WorkloadParams::steady(1).span_secs(3_600.0))?;
/// assert_eq!(a, b);
/// assert_eq!(a.len(), 240);
/// # Ok::<(), prescient_core::Error>(())
/// ```
pub fn generate(params: &WorkloadParams) -> Result<Workload> {
    params.validate()?;
    let p = params;
    let n = p.len();
    let step = p.step_secs;
    // The whole steps covered: labels and events stay within `[start, end())`.
    let span = p.covered_secs();
    let rel = |i: usize| i as f64 * step;

    let ts: Vec<Timestamp> = (0..n).map(|i| p.start.add_secs(rel(i))).collect();
    let abs_start = p.start.as_millis() as f64 / 1000.0;

    // Seasonality: the daily shape, shifted by a per-day phase jitter interpolated between day
    // centres (so no day boundary shows a jump), flattened and lowered at weekends.
    let shape = DailyShape::new();
    let day_origin = (abs_start / DAY_SECS).floor() * DAY_SECS;
    let days_covered = ((abs_start + span - day_origin) / DAY_SECS).ceil() as usize;
    let mut jitter_rng = Rng::new(p.seed, Stream::DailyJitter);
    let jitter: Vec<f64> = (0..days_covered + 3)
        .map(|_| p.daily_jitter_secs * jitter_rng.normal())
        .collect();
    let mut load: Vec<f64> = (0..n)
        .map(|i| {
            let abs = abs_start + rel(i);
            let x = (abs - day_origin) / DAY_SECS + 0.5;
            let k = x.floor();
            let f = x - k;
            let k = k as usize;
            let shift = jitter[k] * (1.0 - f) + jitter[k + 1] * f;
            let w = weekend_weight(abs);
            let daily = 1.0 + p.daily_amplitude * (1.0 - 0.5 * w) * shape.at(abs - shift);
            let weekly = 1.0 - p.weekend_dip * w;
            let trend = (1.0 + p.trend_per_day * rel(i) / DAY_SECS).max(0.0);
            p.base * daily * weekly * trend
        })
        .collect();

    // Regime changes: persistent, smooth, bounded level changes.
    let mut regime_rng = Rng::new(p.seed, Stream::Regimes);
    let mut regime_log = vec![0.0; n];
    let mut regime_changes = Vec::new();
    for at in regime_rng.poisson_arrivals(p.regime_changes_per_day / DAY_SECS, span) {
        let g = p.regime_shift_sd * regime_rng.normal();
        add_ramp(&mut regime_log, step, at, REGIME_RAMP_SECS, g);
        regime_changes.push(RegimeChange {
            at: p.start.add_secs(at),
            factor: g.exp(),
        });
    }
    let mut level = 0.0_f64;
    for (x, d) in load.iter_mut().zip(&regime_log) {
        level = (level + d).clamp(-REGIME_LOG_BOUND, REGIME_LOG_BOUND);
        *x *= level.exp();
    }
    drop(regime_log);

    // Bursts: legitimate flash crowds with smooth ramps.
    let mut burst_rng = Rng::new(p.seed, Stream::Bursts);
    let mut bursts = Vec::new();
    let mut burst_gain = vec![0.0; n];
    for at in burst_rng.poisson_arrivals(p.bursts_per_day / DAY_SECS, span) {
        let magnitude = p.burst_magnitude * burst_rng.uniform_in(0.5, 1.5);
        let duration = p.burst_duration_secs * burst_rng.uniform_in(0.5, 1.5);
        for_window(n, step, at, duration, |i, x| {
            burst_gain[i] += magnitude * burst_profile(x);
        });
        bursts.push(Burst {
            start: p.start.add_secs(at),
            end: p.start.add_secs((at + duration).min(span)),
            magnitude,
        });
    }
    for (x, g) in load.iter_mut().zip(&burst_gain) {
        *x *= 1.0 + g;
    }
    drop(burst_gain);

    // Anomalies: random ones, then the injected ones.
    let anomalies = place_anomalies(p);
    let mut shift_log = vec![0.0; n];
    let mut factor = vec![1.0; n];
    for a in &anomalies {
        let offset = a.start.secs_since(p.start);
        let duration = a.duration_secs();
        match a.kind {
            AnomalyKind::LoadSpike | AnomalyKind::LoadDrop => {
                // Faults are abrupt: a ramp of at most two minutes up and five down.
                let up = (0.2 * duration).min(120.0) / duration;
                let down = (0.3 * duration).min(300.0) / duration;
                for_window(n, step, offset, duration, |i, x| {
                    factor[i] *= 1.0 + (a.magnitude - 1.0) * plateau(x, up, down);
                });
            }
            AnomalyKind::LevelShift => {
                let ramp = LEVEL_SHIFT_RAMP_SECS.max(step);
                add_ramp(&mut shift_log, step, offset, ramp, a.magnitude.ln());
            }
            AnomalyKind::LatencyRegression | AnomalyKind::MemoryLeak | AnomalyKind::ErrorBurst => {}
        }
    }
    let mut shift = 0.0;
    for ((x, f), d) in load.iter_mut().zip(&factor).zip(&shift_log) {
        shift += d;
        *x *= f * f64::exp(shift);
    }
    drop((factor, shift_log));

    // Noise: AR(1) in log space with a step-independent correlation time, plus white noise, both
    // mean-corrected so the noise factor averages 1.
    let mut noise_rng = Rng::new(p.seed, Stream::Noise);
    let phi = (-step / p.noise_corr_secs).exp();
    let innovation = p.noise_sd * (1.0 - phi * phi).sqrt();
    let correction = 0.5 * (p.noise_sd.powi(2) + p.white_noise_sd.powi(2));
    let mut ar = p.noise_sd * noise_rng.normal();
    for (i, x) in load.iter_mut().enumerate() {
        if i > 0 {
            ar = phi * ar + innovation * noise_rng.normal();
        }
        let white = p.white_noise_sd * noise_rng.normal();
        *x *= (ar + white - correction).exp();
        // The factors are bounded, but a pathological mix (a thousand stacked level shifts)
        // could overflow; the contract is finite and non-negative, whatever happens.
        *x = if x.is_nan() {
            0.0
        } else {
            x.clamp(0.0, f64::MAX)
        };
    }

    Ok(Workload {
        step_secs: step,
        start: p.start,
        ts,
        load,
        anomalies,
        bursts,
        regime_changes,
    })
}

/// The random anomalies (placed after `anomaly_after_secs`, apart from each other) and the
/// injected ones, sorted by start.
fn place_anomalies(p: &WorkloadParams) -> Vec<Anomaly> {
    let mut rng = Rng::new(p.seed, Stream::Anomalies);
    let span = p.covered_secs();
    let lo = p.anomaly_after_secs.min(0.5 * span);
    let mut placed: Vec<(f64, f64)> = Vec::new();
    let mut out = Vec::new();
    // Kinds are dealt from a shuffled deck, so that every kind appears once before any repeats:
    // a short series covers many kinds, and persistent level shifts do not pile up.
    let mut deck: Vec<AnomalyKind> = Vec::new();
    for _ in 0..p.anomaly_count {
        if deck.is_empty() {
            deck = p.anomaly_kinds.clone();
            for i in (1..deck.len()).rev() {
                deck.swap(i, rng.int_in(0, i));
            }
        }
        let Some(kind) = deck.pop() else { break };
        let (duration, magnitude) = kind.draw(&mut rng);
        let duration = duration.min(span - lo);
        if duration < p.step_secs {
            continue;
        }
        // A bounded number of tries keeps generation O(n) when the span is crowded; the
        // anomaly is dropped (as documented) when no slot is found.
        for _ in 0..64 {
            let s = rng.uniform_in(lo, span - duration);
            let clear = placed
                .iter()
                .all(|&(a, b)| s + duration + ANOMALY_GAP_SECS <= a || b + ANOMALY_GAP_SECS <= s);
            if clear {
                placed.push((s, s + duration));
                out.push(Anomaly {
                    kind,
                    start: p.start.add_secs(s),
                    end: p.start.add_secs(s + duration),
                    magnitude,
                });
                break;
            }
        }
    }
    for inj in &p.injections {
        let end = (inj.offset_secs + inj.duration_secs).min(span);
        out.push(Anomaly {
            kind: inj.kind,
            start: p.start.add_secs(inj.offset_secs),
            end: p.start.add_secs(end),
            magnitude: inj.magnitude,
        });
    }
    out.sort_by_key(|a| a.start);
    out
}

/// Calls `f(i, x)` for every point `i` whose time lies in `[offset, offset + duration)`, with `x`
/// its position in the window in [0, 1).
fn for_window(n: usize, step: f64, offset: f64, duration: f64, mut f: impl FnMut(usize, f64)) {
    let first = (offset / step).ceil().max(0.0) as usize;
    for i in first..n {
        let x = (i as f64 * step - offset) / duration;
        if x >= 1.0 {
            break;
        }
        f(i, x.max(0.0));
    }
}

/// Adds to the log-level increments `d` a change of `g` that ramps in smoothly over `ramp`
/// seconds from `offset`; a running sum of `d` then gives the level. The cost is the ramp's
/// length in points, not the series'.
fn add_ramp(d: &mut [f64], step: f64, offset: f64, ramp: f64, g: f64) {
    let first = (offset / step).ceil().max(0.0) as usize;
    let mut previous = 0.0;
    for (i, slot) in d.iter_mut().enumerate().skip(first) {
        let x = ((i as f64 * step - offset) / ramp).clamp(0.0, 1.0);
        let level = g * raised_cosine(x);
        *slot += level - previous;
        previous = level;
        if x >= 1.0 {
            break;
        }
    }
}

/// 0 at 0, 1 at 1, with zero slope at both ends.
pub(crate) fn raised_cosine(x: f64) -> f64 {
    0.5 * (1.0 - (PI * x.clamp(0.0, 1.0)).cos())
}

/// A window profile in [0, 1]: ramp up over the first `up`, hold, ramp down over the last `down`
/// (both fractions of the window).
fn plateau(x: f64, up: f64, down: f64) -> f64 {
    if up > 0.0 && x < up {
        raised_cosine(x / up)
    } else if down > 0.0 && x > 1.0 - down {
        raised_cosine((1.0 - x) / down)
    } else {
        1.0
    }
}

/// A flash crowd builds up over a quarter of its duration and fades over the last 40%.
fn burst_profile(x: f64) -> f64 {
    plateau(x, 0.25, 0.4)
}

/// How much `abs` (seconds since the epoch, UTC) is weekend, in [0, 1], with transitions
/// smoothed around midnight of Friday and Sunday.
fn weekend_weight(abs: f64) -> f64 {
    // 1970-01-01 was a Thursday: day 0 of the week (Monday) is three days before it.
    let week_day = (abs / DAY_SECS + 3.0).rem_euclid(7.0);
    // Saturday 00:00 becomes 0; the range [−0.5, 6.5) keeps both edges away from the wrap.
    let y = (week_day - 5.0 + 0.5).rem_euclid(7.0) - 0.5;
    let edge = |x: f64| raised_cosine(x / WEEKEND_EDGE_DAYS + 0.5);
    edge(y) - edge(y - 2.0)
}

/// The shape of a business day, from −1 at the nightly trough to +1 at the afternoon peak: a
/// morning and an afternoon hump, a lunch dip and an evening shoulder, each a von Mises bump
/// (a smooth, periodic Gaussian), so the shape is smooth across midnight.
struct DailyShape {
    offset: f64,
    scale: f64,
}

/// (centre in hours, width in hours, weight) of the bumps of [`DailyShape`].
const BUMPS: [(f64, f64, f64); 4] = [
    (10.5, 2.6, 1.0),
    (15.5, 2.8, 1.0),
    (12.75, 0.7, -0.3),
    (20.5, 1.8, 0.35),
];

impl DailyShape {
    fn new() -> Self {
        let raw: Vec<f64> = (0..1440).map(|m| Self::raw(m as f64 * 60.0)).collect();
        let lo = raw.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        DailyShape {
            offset: 0.5 * (hi + lo),
            scale: 2.0 / (hi - lo),
        }
    }

    fn raw(secs: f64) -> f64 {
        let hours = secs.rem_euclid(DAY_SECS) / 3600.0;
        BUMPS
            .iter()
            .map(|&(centre, width, weight)| {
                let kappa = (24.0 / (TAU * width)).powi(2);
                weight * (kappa * ((TAU * (hours - centre) / 24.0).cos() - 1.0)).exp()
            })
            .sum()
    }

    /// The shape at `secs` since the epoch, in [−1, 1] (up to the grid's resolution).
    fn at(&self, secs: f64) -> f64 {
        ((Self::raw(secs) - self.offset) * self.scale).clamp(-1.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The correlation of the series with itself `lag` points later (Pearson, over the
    /// overlapping part, so a short series is not penalised for the lag's length).
    fn autocorrelation(x: &[f64], lag: usize) -> f64 {
        let (a, b) = (&x[..x.len() - lag], &x[lag..]);
        let (ma, mb) = (mean(a), mean(b));
        let cov: f64 = a.iter().zip(b).map(|(u, v)| (u - ma) * (v - mb)).sum();
        let va: f64 = a.iter().map(|u| (u - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|v| (v - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    }

    fn mean(x: &[f64]) -> f64 {
        x.iter().sum::<f64>() / x.len() as f64
    }

    #[test]
    fn same_seed_gives_identical_output() {
        let a = generate(&WorkloadParams::web_service(11)).unwrap();
        let b = generate(&WorkloadParams::web_service(11)).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn different_seeds_give_different_output() {
        let a = generate(&WorkloadParams::web_service(11)).unwrap();
        let b = generate(&WorkloadParams::web_service(12)).unwrap();
        assert_eq!(a.len(), b.len());
        let differing = a.load.iter().zip(&b.load).filter(|(x, y)| x != y).count();
        assert!(
            differing > a.len() * 9 / 10,
            "only {differing} points differ"
        );
    }

    #[test]
    fn daily_seasonality_is_visible() {
        for seed in 0..20 {
            let w = generate(&WorkloadParams::web_service(seed)).unwrap();
            let day = (DAY_SECS / w.step_secs) as usize;
            let at_day = autocorrelation(&w.load, day);
            let at_half = autocorrelation(&w.load, day / 2);
            assert!(
                at_day > 0.5 && at_day > at_half + 0.8,
                "seed {seed}: acf(1 day) {at_day}, acf(12 h) {at_half}"
            );
        }
    }

    #[test]
    fn afternoon_is_busier_than_night() {
        let w = generate(&WorkloadParams::new(3).span_secs(DAY_SECS)).unwrap();
        let per_hour = (3600.0 / w.step_secs) as usize;
        let night = mean(&w.load[3 * per_hour..4 * per_hour]);
        let afternoon = mean(&w.load[15 * per_hour..16 * per_hour]);
        assert!(
            afternoon > 2.0 * night,
            "night {night}, afternoon {afternoon}"
        );
    }

    #[test]
    fn weekends_dip() {
        let w = generate(&WorkloadParams::new(3).span_secs(7.0 * DAY_SECS)).unwrap();
        let per_day = (DAY_SECS / w.step_secs) as usize;
        // The default start is a Monday, so days 5 and 6 are the weekend.
        let weekday = mean(&w.load[per_day..2 * per_day]);
        let saturday = mean(&w.load[5 * per_day..6 * per_day]);
        assert!(
            saturday < 0.8 * weekday,
            "weekday {weekday}, saturday {saturday}"
        );
    }

    #[test]
    fn daily_shape_is_smooth_and_normalised() {
        let shape = DailyShape::new();
        let mut previous = shape.at(-15.0);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for s in 0..(DAY_SECS as i64 / 15) {
            let v = shape.at(s as f64 * 15.0);
            assert!((v - previous).abs() < 0.02, "jump at {s}");
            previous = v;
            lo = lo.min(v);
            hi = hi.max(v);
        }
        assert!(lo < -0.99 && hi > 0.99);
        // A lunch dip: 12:45 is lower than both 11:00 and 14:30.
        let at = |h: f64| shape.at(h * 3600.0);
        assert!(at(12.75) < at(11.0) && at(12.75) < at(14.5));
    }

    #[test]
    fn weekend_weight_is_continuous_and_correct() {
        let monday_noon = 1_704_067_200.0 + 43_200.0;
        assert_eq!(weekend_weight(monday_noon), 0.0);
        assert_eq!(weekend_weight(monday_noon + 5.0 * DAY_SECS), 1.0);
        assert_eq!(weekend_weight(monday_noon + 6.0 * DAY_SECS), 1.0);
        let mut previous = weekend_weight(monday_noon);
        for k in 0..(7 * 24 * 60) {
            let v = weekend_weight(monday_noon + k as f64 * 60.0);
            assert!((v - previous).abs() < 0.01);
            previous = v;
        }
    }

    #[test]
    fn steady_has_only_noise() {
        let w = generate(&WorkloadParams::steady(2)).unwrap();
        let m = mean(&w.load);
        assert!((m - 100.0).abs() < 3.0, "mean {m}");
        assert!(w.load.iter().all(|&x| x > 70.0 && x < 130.0));
        assert!(w.anomalies.is_empty() && w.bursts.is_empty() && w.regime_changes.is_empty());
    }

    #[test]
    fn noise_is_correlated() {
        let w = generate(&WorkloadParams::steady(2).white_noise_sd(0.0)).unwrap();
        // exp(−15 / 300) ≈ 0.95 per step.
        let acf = autocorrelation(&w.load, 1);
        assert!(acf > 0.9, "lag-1 autocorrelation {acf}");
    }

    #[test]
    fn anomaly_labels_lie_within_the_span() {
        for seed in 0..30 {
            let w = generate(&WorkloadParams::web_service(seed)).unwrap();
            assert!((3..=6).contains(&w.anomalies.len()), "seed {seed}");
            for a in &w.anomalies {
                assert!(a.start >= w.start && a.end <= w.end() && a.start < a.end);
                assert!(a.kind.is_valid_magnitude(a.magnitude));
            }
            assert!(w.anomalies.windows(2).all(|p| p[0].start <= p[1].start));
            let mut kinds: Vec<_> = w.anomalies.iter().map(|a| a.kind).collect();
            kinds.sort_by_key(|k| AnomalyKind::ALL.iter().position(|x| x == k));
            kinds.dedup();
            assert_eq!(kinds.len(), w.anomalies.len(), "seed {seed}: kinds repeat");
        }
    }

    #[test]
    fn injected_spike_raises_the_load_inside_its_window_only() {
        let params =
            WorkloadParams::web_service(4).inject(AnomalyKind::LoadSpike, 50_000.0, 900.0, 3.0);
        let with = generate(&params).unwrap();
        let without = generate(&params.clone().without_anomalies()).unwrap();
        let spike = with
            .anomalies
            .iter()
            .find(|a| a.kind == AnomalyKind::LoadSpike && a.magnitude == 3.0)
            .unwrap();
        let mut inside = Vec::new();
        for (i, &t) in with.ts.iter().enumerate() {
            let ratio = with.load[i] / without.load[i];
            if spike.contains(t) {
                inside.push(ratio);
            } else if with.is_anomalous(t).is_none()
                && !with
                    .anomalies
                    .iter()
                    .any(|a| a.kind == AnomalyKind::LevelShift && a.start <= t)
            {
                // Outside every window, and before any level shift, nothing changed.
                assert_eq!(ratio, 1.0, "point {i} changed outside every window");
            }
        }
        assert!(!inside.is_empty());
        assert!(mean(&inside) > 2.0, "mean ratio {}", mean(&inside));
        assert!(with.is_anomalous(spike.start).is_some());
        assert!(with.labels().iter().filter(|&&l| l).count() >= inside.len());
    }

    #[test]
    fn drops_and_level_shifts_act_on_the_load() {
        let params = WorkloadParams::steady(9)
            .inject(AnomalyKind::LoadDrop, 36_000.0, 1_800.0, 0.2)
            .inject(AnomalyKind::LevelShift, 100_000.0, 3_600.0, 1.5)
            .inject(AnomalyKind::MemoryLeak, 20_000.0, 3_600.0, 0.3);
        let with = generate(&params).unwrap();
        let without = generate(&params.clone().without_anomalies()).unwrap();
        let ratio_at = |secs: f64| {
            let i = (secs / with.step_secs) as usize;
            with.load[i] / without.load[i]
        };
        assert!((ratio_at(36_900.0) - 0.2).abs() < 1e-9);
        assert!(
            (ratio_at(150_000.0) - 1.5).abs() < 1e-9,
            "level shift persists"
        );
        assert!(
            (ratio_at(20_500.0) - 1.0).abs() < 1e-12,
            "a leak leaves load alone"
        );
        assert_eq!(with.anomalies.len(), 3);
    }

    #[test]
    fn bursts_are_recorded_and_raise_the_load() {
        let params = WorkloadParams::steady(5)
            .bursts_per_day(4.0)
            .burst_magnitude(1.0);
        let with = generate(&params).unwrap();
        let without = generate(&params.clone().bursts_per_day(0.0)).unwrap();
        assert!(!with.bursts.is_empty());
        for b in &with.bursts {
            let mid = b.start.add_secs(0.5 * b.end.secs_since(b.start));
            let i = with.ts.partition_point(|&t| t < mid);
            if i < with.len() {
                assert!(with.load[i] > without.load[i] * (1.0 + 0.4 * b.magnitude));
                assert!(with.is_bursting(with.ts[i]).is_some());
            }
        }
    }

    #[test]
    fn regime_changes_stay_bounded() {
        let params = WorkloadParams::steady(5)
            .span_secs(60.0 * DAY_SECS)
            .step_secs(300.0)
            .regime_changes_per_day(24.0)
            .regime_shift_sd(1.0);
        let w = generate(&params).unwrap();
        assert!(w.regime_changes.len() > 1000);
        assert!(
            w.load
                .iter()
                .all(|&x| x.is_finite() && x < 100.0 * 10.0 * 2.0)
        );
    }

    #[test]
    fn trend_grows_the_load() {
        let w = generate(&WorkloadParams::steady(1).trend_per_day(0.5)).unwrap();
        let per_day = (DAY_SECS / w.step_secs) as usize;
        assert!(mean(&w.load[2 * per_day..]) > 1.6 * mean(&w.load[..per_day]));
        let falling = generate(&WorkloadParams::steady(1).trend_per_day(-1.0)).unwrap();
        assert!(falling.load[per_day + 10..].iter().all(|&x| x == 0.0));
    }

    #[test]
    fn a_week_at_fifteen_seconds_has_every_point() {
        let w = generate(&WorkloadParams::web_service(1).span_secs(7.0 * DAY_SECS)).unwrap();
        assert_eq!(w.len(), 40_320);
        assert_eq!(w.ts[1].secs_since(w.ts[0]), 15.0);
        assert_eq!(w.iter().len(), 40_320);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn params() -> impl Strategy<Value = WorkloadParams> {
        (
            (any::<u64>(), 1.0..600.0_f64, 0.5..6.0_f64, 1e-3..1e6_f64),
            (
                0.0..=1.0_f64,
                0.0..21_600.0_f64,
                0.0..=1.0_f64,
                -1.0..=1.0_f64,
            ),
            (0.0..=1.0_f64, 1.0..1e5_f64, 0.0..=1.0_f64),
            (0.0..20.0_f64, 0.0..=20.0_f64, 1.0..86_400.0_f64),
            (0.0..=24.0_f64, 0.0..=1.0_f64, 0..12_usize),
        )
            .prop_map(|(a, b, c, d, e)| {
                WorkloadParams::new(a.0)
                    .step_secs(a.1)
                    .span_secs(a.2 * DAY_SECS)
                    .base(a.3)
                    .daily_amplitude(b.0)
                    .daily_jitter_secs(b.1)
                    .weekend_dip(b.2)
                    .trend_per_day(b.3)
                    .noise_sd(c.0)
                    .noise_corr_secs(c.1)
                    .white_noise_sd(c.2)
                    .bursts_per_day(d.0)
                    .burst_magnitude(d.1)
                    .burst_duration_secs(d.2)
                    .regime_changes_per_day(e.0)
                    .regime_shift_sd(e.1)
                    .anomaly_count(e.2)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn prop_load_is_finite_and_non_negative(p in params()) {
            let w = generate(&p).unwrap();
            prop_assert_eq!(w.len(), w.ts.len());
            prop_assert!(!w.is_empty());
            prop_assert!(w.load.iter().all(|x| x.is_finite() && *x >= 0.0));
            for a in &w.anomalies {
                prop_assert!(a.start >= w.start && a.end <= w.end());
            }
        }

        #[test]
        fn prop_generation_is_reproducible(p in params()) {
            prop_assert_eq!(generate(&p).unwrap(), generate(&p).unwrap());
        }
    }
}
