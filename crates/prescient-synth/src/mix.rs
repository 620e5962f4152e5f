//! A service with several request classes whose mix changes: the workload regime changes that
//! a per-metric detector can miss, labelled.

use std::f64::consts::TAU;

use prescient_core::{Error, MetricRole, Result, Schema, Timestamp};

use crate::WorkloadParams;
use crate::params::DAY_SECS;
use crate::rng::{Rng, Stream};
// The healthy error rate and the queueing cap of `ServiceModel`.
use crate::service::{BASE_ERROR_RATE, RHO_MAX};
use crate::workload::{Workload, generate, raised_cosine};

/// A kind of request: what one costs and how much of the traffic it is.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RequestClass {
    /// The share of requests in the baseline mix (relative: the shares are normalised).
    pub share: f64,
    /// CPU time per request, in milliseconds of one worker's core.
    pub cpu_ms: f64,
    /// Mean request payload, in kilobytes.
    pub payload_kb: f64,
    /// Mean service time at no load, in milliseconds (exponentially distributed).
    pub latency_ms: f64,
    /// The hour of the day (UTC) at which this class's share peaks.
    pub peak_hour: f64,
}

/// A labelled change of the request mix: each class's share is multiplied by
/// `exp(shift[c])` (then renormalised), ramping in over [`MixParams::ramp_secs`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MixChange {
    /// When the change starts ramping in.
    pub at: Timestamp,
    /// The change of each class's log share.
    pub shift: Vec<f64>,
}

/// Settings of a [`MixWorkload`]: the total request rate (any [`WorkloadParams`]), the request
/// classes, how the mix swings over a day and how often it changes for good.
///
/// The defaults: the [`WorkloadParams::web_service`] request rate without its anomalies, four
/// classes (light reads, heavy reads, writes, uploads, see [`MixParams::classes`]), shares
/// that swing by ±30% over the day, a mix change every two days on average (each class's log
/// share moved by a normal of σ = 0.5) ramping in over 10 minutes, and a fixed pool sized for
/// 60% CPU at the baseline mix's busiest tick.
///
/// ```
/// use prescient_synth::{MixParams, generate_mix};
///
/// let w = generate_mix(&MixParams::new(3).days(4.0))?;
/// assert_eq!(w.len(), 4 * 5_760);
/// // Every exported value is finite.
/// assert!((0..w.len()).all(|i| w.values(i).iter().all(|v| v.is_finite())));
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MixParams {
    load: WorkloadParams,
    classes: Vec<RequestClass>,
    day_swing: f64,
    changes_per_day: f64,
    change_sd: f64,
    ramp_secs: f64,
    min_change_after_secs: f64,
    noise_sd: f64,
    workers: Option<u32>,
    injected: Vec<(f64, Vec<f64>)>,
}

impl MixParams {
    /// The default service, seeded by `seed`, over one week.
    pub fn new(seed: u64) -> Self {
        MixParams {
            load: WorkloadParams::web_service(seed).without_anomalies(),
            classes: Self::default_classes().to_vec(),
            day_swing: 0.3,
            changes_per_day: 0.5,
            change_sd: 0.5,
            ramp_secs: 600.0,
            min_change_after_secs: 0.0,
            noise_sd: 0.02,
            workers: None,
            injected: Vec::new(),
        }
    }

    /// The default classes: light reads (60%, 2 ms of CPU, 2 KB, 20 ms, peaking at 14:00),
    /// heavy reads (25%, 12 ms, 40 KB, 120 ms, 10:00), writes (10%, 8 ms, 8 KB, 60 ms, 16:00)
    /// and uploads (5%, 30 ms, 800 KB, 400 ms, 22:00).
    pub fn default_classes() -> [RequestClass; 4] {
        let class = |share, cpu_ms, payload_kb, latency_ms, peak_hour| RequestClass {
            share,
            cpu_ms,
            payload_kb,
            latency_ms,
            peak_hour,
        };
        [
            class(0.60, 2.0, 2.0, 20.0, 14.0),
            class(0.25, 12.0, 40.0, 120.0, 10.0),
            class(0.10, 8.0, 8.0, 60.0, 16.0),
            class(0.05, 30.0, 800.0, 400.0, 22.0),
        ]
    }

    /// The total request rate's settings (seasonality, bursts, level regimes, anomalies).
    pub fn load(mut self, load: WorkloadParams) -> Self {
        self.load = load;
        self
    }

    /// The span, in days (a shortcut for the load's `span_secs`).
    pub fn days(mut self, days: f64) -> Self {
        self.load = self.load.span_secs(days * DAY_SECS);
        self
    }

    /// The request classes (at least two).
    pub fn classes(mut self, classes: &[RequestClass]) -> Self {
        self.classes = classes.to_vec();
        self
    }

    /// How far each class's share swings over the day, as a fraction, in [0, 1) (default 0.3).
    pub fn day_swing(mut self, swing: f64) -> Self {
        self.day_swing = swing;
        self
    }

    /// Mix changes per day on average, a Poisson process (default 0.5).
    pub fn changes_per_day(mut self, rate: f64) -> Self {
        self.changes_per_day = rate;
        self
    }

    /// The standard deviation of each class's log-share change, in [0, 3] (default 0.5).
    pub fn change_sd(mut self, sd: f64) -> Self {
        self.change_sd = sd;
        self
    }

    /// How long a change takes to ramp in, in seconds (default 600).
    pub fn ramp_secs(mut self, secs: f64) -> Self {
        self.ramp_secs = secs;
        self
    }

    /// No change starts before this many seconds into the span (default 0): a warm-up that
    /// holds only the baseline mix.
    pub fn min_change_after_secs(mut self, secs: f64) -> Self {
        self.min_change_after_secs = secs;
        self
    }

    /// The standard deviation of the multiplicative measurement noise on CPU, latency and
    /// payload (default 0.02).
    pub fn noise_sd(mut self, sd: f64) -> Self {
        self.noise_sd = sd;
        self
    }

    /// A fixed pool of this many one-core workers (default: sized for 60% CPU at the baseline
    /// mix's busiest tick).
    pub fn workers(mut self, workers: u32) -> Self {
        self.workers = Some(workers);
        self
    }

    /// Adds a mix change of its own at `after_secs` into the span, besides the random ones:
    /// class `c`'s log share moves by `shift[c]`.
    pub fn inject(mut self, after_secs: f64, shift: &[f64]) -> Self {
        self.injected.push((after_secs, shift.to_vec()));
        self
    }

    /// Checks every setting.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] naming the first setting out of range, after the load's own
    /// checks.
    pub fn validate(&self) -> Result<()> {
        self.load.validate()?;
        let invalid = |name, reason: String| Err(Error::InvalidParam { name, reason });
        if self.classes.len() < 2 || self.classes.len() > 64 {
            return invalid(
                "classes",
                format!("need 2 to 64 classes, got {}", self.classes.len()),
            );
        }
        for c in &self.classes {
            let fields = [c.share, c.cpu_ms, c.payload_kb, c.latency_ms];
            if !fields.iter().all(|v| v.is_finite() && *v > 0.0) || !c.peak_hour.is_finite() {
                return invalid(
                    "classes",
                    format!(
                        "shares, costs, payloads and latencies must be finite and positive, got {c:?}"
                    ),
                );
            }
        }
        if !(0.0..1.0).contains(&self.day_swing) {
            return invalid(
                "day_swing",
                format!("must be in [0, 1), got {}", self.day_swing),
            );
        }
        if !(self.changes_per_day.is_finite() && (0.0..=24.0).contains(&self.changes_per_day)) {
            return invalid(
                "changes_per_day",
                format!("must be in [0, 24], got {}", self.changes_per_day),
            );
        }
        if !(0.0..=3.0).contains(&self.change_sd) {
            return invalid(
                "change_sd",
                format!("must be in [0, 3], got {}", self.change_sd),
            );
        }
        for (name, v) in [
            ("ramp_secs", self.ramp_secs),
            ("min_change_after_secs", self.min_change_after_secs),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return invalid(name, format!("must be finite and non-negative, got {v}"));
            }
        }
        if !(0.0..=0.5).contains(&self.noise_sd) {
            return invalid(
                "noise_sd",
                format!("must be in [0, 0.5], got {}", self.noise_sd),
            );
        }
        for (at, shift) in &self.injected {
            if !(at.is_finite() && *at >= 0.0)
                || shift.len() != self.classes.len()
                || !shift.iter().all(|v| v.is_finite() && v.abs() <= 10.0)
            {
                return invalid(
                    "inject",
                    format!(
                        "needs a time at or after the start and one finite shift within ±10 per \
                         class ({}), got {at} and {shift:?}",
                        self.classes.len()
                    ),
                );
            }
        }
        if self.workers == Some(0) {
            return invalid("workers", "must be at least 1".into());
        }
        Ok(())
    }
}

/// A generated multi-metric service with labelled mix changes: the total request rate (a
/// [`Workload`], with its own bursts and level regimes), the requests of each class per second,
/// and the metrics a service exports ([`MixWorkload::NAMES`]).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MixWorkload {
    /// The total request rate and its ground truth (bursts, level regime changes, anomalies).
    pub load: Workload,
    /// The labelled mix changes, sorted by time.
    pub changes: Vec<MixChange>,
    /// The workers of the fixed pool.
    pub workers: u32,
    classes: usize,
    /// Requests per second of each class, `len · classes`, row-major.
    class_rates: Vec<f64>,
    /// The exported metrics, `len · NAMES.len()`, row-major.
    metrics: Vec<f64>,
}

impl MixWorkload {
    /// The names of [`MixWorkload::values`], in order; the metrics of [`MixWorkload::schema`].
    pub const NAMES: [&'static str; 6] = [
        "requests",
        "cpu",
        "latency_p99_ms",
        "error_rate",
        "payload_kb",
        "mix_entropy",
    ];

    /// The schema of [`MixWorkload::values`]: `requests` (load), `cpu` (utilisation),
    /// `latency_p99_ms` (latency), `error_rate` (error rate), `payload_kb` and `mix_entropy`
    /// (custom).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSchema`] when `component` is empty.
    pub fn schema(component: impl Into<String>) -> Result<Schema> {
        let roles = [
            MetricRole::Load,
            MetricRole::Utilisation,
            MetricRole::Latency,
            MetricRole::ErrorRate,
            MetricRole::Custom,
            MetricRole::Custom,
        ];
        crate::service::schema_of(component, &Self::NAMES, &roles)
    }

    /// How many points.
    pub fn len(&self) -> usize {
        self.load.len()
    }

    /// Whether there are no points (never true for a generated workload).
    pub fn is_empty(&self) -> bool {
        self.load.is_empty()
    }

    /// The number of request classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The time of point `i`.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`MixWorkload::len`].
    pub fn ts(&self, i: usize) -> Timestamp {
        self.load.ts[i]
    }

    /// The exported metrics at point `i`, in the order of [`MixWorkload::NAMES`]; all finite
    /// and non-negative.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`MixWorkload::len`].
    pub fn values(&self, i: usize) -> &[f64] {
        let m = Self::NAMES.len();
        &self.metrics[i * m..(i + 1) * m]
    }

    /// Requests per second of each class at point `i`.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`MixWorkload::len`].
    pub fn class_rates(&self, i: usize) -> &[f64] {
        &self.class_rates[i * self.classes..(i + 1) * self.classes]
    }
}

/// Generates the service `params` describe.
///
/// The total rate is [`generate`]'s. Class `c`'s share at time `t` is its baseline share times
/// `exp(swing · cos(2π (hour(t) − peak_c) / 24))` times the ramped-in mix changes so far,
/// normalised. From the per-class rates: CPU is the CPU time asked per second over the
/// workers; latency p99 is the 99th percentile of the mixture of the classes' exponential
/// service times, times the M/M/1 factor `1 + ρ / (1 − ρ)`; the error rate is a base rate
/// plus what the pool cannot serve; the payload is the mean request size; the mix entropy is
/// the Shannon entropy of the class shares, in nats. CPU, latency and payload carry
/// multiplicative noise; the class rates carry Poisson-like noise (the relative deviation of
/// a count of requests over one step).
///
/// Identical settings give identical output; the mix draws from its own random streams of
/// the seed, so the total rate is the same as [`generate`] gives for the load's settings.
///
/// # Errors
///
/// [`Error::InvalidParam`] when a setting is out of range ([`MixParams::validate`]).
pub fn generate_mix(params: &MixParams) -> Result<MixWorkload> {
    params.validate()?;
    let p = params;
    let load = generate(&p.load)?;
    let n = load.len();
    let k = p.classes.len();
    let step = load.step_secs;
    let span = n as f64 * step;
    let seed = p.load.seed;

    // Mix changes after the warm-up: a Poisson process, each a normal shift of every class's
    // log share.
    let mut rng = Rng::new(seed, Stream::Mix);
    let mut changes = Vec::new();
    let after = p.min_change_after_secs.min(span);
    for at in rng.poisson_arrivals(p.changes_per_day / DAY_SECS, span - after) {
        let shift: Vec<f64> = (0..k).map(|_| p.change_sd * rng.normal()).collect();
        changes.push(MixChange {
            at: load.start.add_secs(after + at),
            shift,
        });
    }
    for (at, shift) in &p.injected {
        if *at < span {
            changes.push(MixChange {
                at: load.start.add_secs(*at),
                shift: shift.clone(),
            });
        }
    }
    changes.sort_by_key(|c| c.at);

    let base_log: Vec<f64> = p.classes.iter().map(|c| c.share.ln()).collect();
    let shares_at = |i: usize, with_changes: bool, out: &mut [f64]| {
        let ts = load.ts[i];
        let hour = (ts.as_millis() as f64 / 1000.0).rem_euclid(DAY_SECS) / 3_600.0;
        for (c, o) in out.iter_mut().enumerate() {
            let phase = TAU * (hour - p.classes[c].peak_hour) / 24.0;
            *o = base_log[c] + (1.0 + p.day_swing * phase.cos()).ln();
        }
        if with_changes {
            for ch in &changes {
                let x = ts.secs_since(ch.at);
                if x < 0.0 {
                    break;
                }
                let w = if p.ramp_secs > 0.0 {
                    raised_cosine((x / p.ramp_secs).min(1.0))
                } else {
                    1.0
                };
                for (o, s) in out.iter_mut().zip(&ch.shift) {
                    *o += w * s;
                }
            }
        }
        // Normalise in log space, so that no share underflows to a NaN ratio.
        let top = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = out.iter().map(|v| (v - top).exp()).sum();
        for o in out.iter_mut() {
            *o = (*o - top).exp() / total;
        }
    };

    // The pool: 60% CPU at the busiest tick of the baseline mix, unless given.
    let mut shares = vec![0.0; k];
    let workers = match p.workers {
        Some(w) => w,
        None => {
            let mut peak_cores = 0.0_f64;
            for (i, &rate) in load.load.iter().enumerate() {
                shares_at(i, false, &mut shares);
                let cpu_s: f64 = shares
                    .iter()
                    .zip(&p.classes)
                    .map(|(s, c)| s * c.cpu_ms)
                    .sum();
                peak_cores = peak_cores.max(rate * cpu_s / 1000.0);
            }
            (peak_cores / 0.6).ceil().clamp(1.0, f64::from(u32::MAX)) as u32
        }
    };

    let mut noise = Rng::new(seed, Stream::MixNoise);
    let m = MixWorkload::NAMES.len();
    let mut class_rates = Vec::with_capacity(n * k);
    let mut metrics = Vec::with_capacity(n * m);
    let latencies: Vec<f64> = p.classes.iter().map(|c| c.latency_ms).collect();
    for (i, &rate) in load.load.iter().enumerate() {
        shares_at(i, true, &mut shares);
        // Per-class rates, with the sampling noise of a count of requests over one step.
        let mut total = 0.0;
        for s in &shares {
            let mean = rate * s;
            let count_sd = (mean / step).sqrt();
            let r = (mean + count_sd * noise.normal()).max(0.0);
            class_rates.push(r);
            total += r;
        }
        let rates = &class_rates[i * k..];
        let observed: Vec<f64> = if total > 0.0 {
            rates.iter().map(|r| r / total).collect()
        } else {
            shares.clone()
        };
        let cores_asked: f64 = rates
            .iter()
            .zip(&p.classes)
            .map(|(r, c)| r * c.cpu_ms / 1000.0)
            .sum();
        let capacity = f64::from(workers);
        let rho = cores_asked / capacity;
        let cpu = (rho.min(1.0) * (p.noise_sd * noise.normal()).exp()).clamp(0.0, 1.05);
        let r = rho.min(RHO_MAX);
        let p99 = mixture_quantile(&observed, &latencies, 0.99);
        let latency = p99 * (1.0 + r / (1.0 - r)) * (p.noise_sd * noise.normal()).exp();
        let shortfall = if rho > 1.0 { 1.0 - 1.0 / rho } else { 0.0 };
        let error_rate =
            (BASE_ERROR_RATE * (0.3 * noise.normal()).exp() + shortfall).clamp(0.0, 1.0);
        let payload: f64 = observed
            .iter()
            .zip(&p.classes)
            .map(|(s, c)| s * c.payload_kb)
            .sum::<f64>()
            * (p.noise_sd * noise.normal()).exp();
        let entropy: f64 = observed
            .iter()
            .filter(|s| **s > 0.0)
            .map(|s| -s * s.ln())
            .sum();
        let finite = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
        metrics.extend(
            [total, cpu, latency, error_rate, payload, entropy]
                .into_iter()
                .map(finite),
        );
    }
    Ok(MixWorkload {
        load,
        changes,
        workers,
        classes: k,
        class_rates,
        metrics,
    })
}

/// The `q`-quantile of a mixture of exponentials with weights `w` and means `mean`: the `x`
/// with `Σ w_c · exp(−x / mean_c) = 1 − q`, by bisection (the left side decreases in `x`).
fn mixture_quantile(w: &[f64], mean: &[f64], q: f64) -> f64 {
    let tail = |x: f64| -> f64 { w.iter().zip(mean).map(|(w, m)| w * (-x / m).exp()).sum() };
    let target = 1.0 - q;
    let mut hi = mean.iter().copied().fold(0.0, f64::max) * (1.0 / target).ln() * 2.0;
    let mut lo = 0.0;
    if !(hi.is_finite() && hi > 0.0) {
        return 0.0;
    }
    while tail(hi) > target {
        hi *= 2.0;
    }
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if tail(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn same_settings_same_output_and_the_load_is_generates() {
        let p = MixParams::new(5).days(3.0);
        let a = generate_mix(&p).unwrap();
        assert_eq!(a, generate_mix(&p).unwrap());
        assert_eq!(a.load, generate(&p.load).unwrap());
        assert_ne!(a, generate_mix(&MixParams::new(6).days(3.0)).unwrap());
    }

    #[test]
    fn values_are_finite_and_in_range() {
        let w = generate_mix(&MixParams::new(1).days(2.0).change_sd(3.0)).unwrap();
        for i in 0..w.len() {
            let v = w.values(i);
            assert!(v.iter().all(|x| x.is_finite() && *x >= 0.0), "{v:?}");
            assert!(v[1] <= 1.05 && v[3] <= 1.0);
            assert!(v[5] <= (w.classes() as f64).ln() + 1e-12);
        }
    }

    #[test]
    fn the_pool_runs_near_sixty_percent_at_the_busiest_baseline_tick() {
        let w = generate_mix(&MixParams::new(2).days(2.0).changes_per_day(0.0)).unwrap();
        let peak = (0..w.len()).map(|i| w.values(i)[1]).fold(0.0, f64::max);
        // Noise on the rates and on the reading moves the peak a little.
        assert!((0.5..0.75).contains(&peak), "{peak}");
    }

    #[test]
    fn a_mix_change_moves_payload_and_entropy_but_not_the_request_rate() {
        let p = MixParams::new(4)
            .days(6.0)
            .changes_per_day(2.0)
            .min_change_after_secs(2.0 * DAY_SECS);
        let w = generate_mix(&p).unwrap();
        let still = generate_mix(&p.clone().changes_per_day(0.0)).unwrap();
        assert!(!w.changes.is_empty());
        assert!(w.changes[0].at >= w.ts(0).add_secs(2.0 * DAY_SECS));
        let i = w.load.ts.partition_point(|&t| t < w.changes[0].at) + 60;
        // The same request rate (the load stream is the same)...
        assert_eq!(w.load.load[i], still.load.load[i]);
        // ... but another mix: the mean payload moves beyond its noise.
        let (a, b) = (w.values(i)[4], still.values(i)[4]);
        assert!((a / b).ln().abs() > 0.05, "{a} vs {b}");
        // Before the first change the two agree up to their noise.
        let j = w.load.ts.partition_point(|&t| t < w.changes[0].at) - 1;
        assert!((w.values(j)[4] / still.values(j)[4]).ln().abs() < 0.15);
    }

    #[test]
    fn an_injected_change_is_labelled_and_takes_effect() {
        let p = MixParams::new(3).days(2.0).changes_per_day(0.0);
        let at = 86_400.0;
        let w = generate_mix(&p.clone().inject(at, &[0.0, 0.0, 0.0, 3f64.ln()])).unwrap();
        let still = generate_mix(&p).unwrap();
        assert_eq!(w.changes.len(), 1);
        assert_eq!(w.changes[0].at, w.ts(0).add_secs(at));
        // Half an hour later uploads are about three times their share.
        let i = 5_760 + 120;
        let share = |w: &MixWorkload| w.class_rates(i)[3] / w.values(i)[0];
        let ratio = share(&w) / share(&still);
        assert!((2.4..3.2).contains(&ratio), "{ratio}");
    }

    #[test]
    fn mixture_quantile_of_one_exponential_is_exact() {
        let q = mixture_quantile(&[1.0], &[50.0], 0.99);
        assert!((q - 50.0 * 100f64.ln()).abs() < 1e-9, "{q}");
        // A 5% class ten times slower sets the p99.
        let q = mixture_quantile(&[0.95, 0.05], &[10.0, 100.0], 0.99);
        let tail = 0.95 * (-q / 10.0).exp() + 0.05 * (-q / 100.0).exp();
        assert!((tail - 0.01).abs() < 1e-12);
        assert!(q > 100.0);
    }

    #[test]
    fn settings_are_checked() {
        let p = || MixParams::new(1).days(1.0);
        let name = |p: MixParams| match p.validate() {
            Err(Error::InvalidParam { name, .. }) => name,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            name(p().classes(&MixParams::default_classes()[..1])),
            "classes"
        );
        let mut bad = MixParams::default_classes();
        bad[2].cpu_ms = f64::NAN;
        assert_eq!(name(p().classes(&bad)), "classes");
        assert_eq!(name(p().day_swing(1.0)), "day_swing");
        assert_eq!(name(p().changes_per_day(-1.0)), "changes_per_day");
        assert_eq!(name(p().change_sd(4.0)), "change_sd");
        assert_eq!(name(p().ramp_secs(f64::INFINITY)), "ramp_secs");
        assert_eq!(
            name(p().min_change_after_secs(-1.0)),
            "min_change_after_secs"
        );
        assert_eq!(name(p().noise_sd(0.6)), "noise_sd");
        assert_eq!(name(p().workers(0)), "workers");
        assert_eq!(name(p().inject(-1.0, &[0.0; 4])), "inject");
        assert_eq!(name(p().inject(1.0, &[0.0; 3])), "inject");
        assert_eq!(name(p().inject(1.0, &[0.0, 0.0, f64::NAN, 0.0])), "inject");
        assert!(p().validate().is_ok());
    }
}
