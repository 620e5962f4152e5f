use prescient_core::{Error, MetricRole, Result, Sample, Schema, Timestamp};

use crate::anomaly::{Anomaly, AnomalyKind};
use crate::rng::{Rng, Stream};

/// How steeply latency grows with utilisation: `base · (1 + K · ρ / (1 − ρ))`.
const LATENCY_K: f64 = 1.0;

/// Utilisation is capped here in the queueing formula, which would diverge at 1; beyond it the
/// backlog takes over.
pub(crate) const RHO_MAX: f64 = 0.99;

/// The backlog holds at most this many seconds of capacity; beyond that requests are shed (they
/// are already counted as unserved).
const BACKLOG_SECS: f64 = 60.0;

/// Backlog dynamics ignore gaps longer than this (a paused simulation, a missed scrape).
const MAX_DT_SECS: f64 = 3_600.0;

/// Errors of a healthy service: one request in a thousand.
pub(crate) const BASE_ERROR_RATE: f64 = 0.001;

/// Memory of an idle worker, and what full load adds to it.
const BASE_MEMORY: f64 = 0.35;
const LOAD_MEMORY: f64 = 0.15;

/// What a service exports at one instant. Every field is finite and non-negative.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ServiceMetrics {
    /// Offered load in units/s (the input, with NaN and negatives read as 0).
    pub load: f64,
    /// Load served, in units/s: at most the capacity of the ready workers.
    pub served: f64,
    /// Load the service could not serve, in units/s: `load − served`. Ground truth for SLO
    /// accounting; not one of the exported [`values`](Self::values).
    pub unserved: f64,
    /// Worker utilisation as a fraction: at most 1 plus a little measurement noise (0 when no
    /// worker is ready).
    pub cpu: f64,
    /// 99th percentile latency in milliseconds, up to the model's cap.
    pub latency_p99_ms: f64,
    /// Failed requests as a fraction of requests, in [0, 1].
    pub error_rate: f64,
    /// Memory use as a fraction of the limit, in [0, 1].
    pub memory: f64,
    /// Requests waiting, across workers.
    pub queue_depth: f64,
}

impl ServiceMetrics {
    /// The names of [`values`](Self::values), in order; the metric names of
    /// [`ServiceModel::schema`].
    pub const NAMES: [&'static str; 6] = [
        "load",
        "cpu",
        "latency_p99_ms",
        "error_rate",
        "memory",
        "queue_depth",
    ];

    /// The exported metrics in the order of [`ServiceMetrics::NAMES`] and
    /// [`ServiceModel::schema`].
    pub fn values(&self) -> [f64; 6] {
        [
            self.load,
            self.cpu,
            self.latency_p99_ms,
            self.error_rate,
            self.memory,
            self.queue_depth,
        ]
    }

    /// The exported metrics as a [`Sample`] at `ts` for [`ServiceModel::schema`].
    pub fn to_sample(&self, ts: Timestamp) -> Sample {
        Sample::new(ts, self.values().to_vec())
    }
}

/// The metrics a service exports, derived from offered load, ready workers and a per-worker
/// capacity, with seeded noise.
///
/// Capacity is `ready_workers · capacity_per_worker`; with utilisation ρ = load / capacity:
///
/// - served is `min(load, capacity)` and the rest is unserved;
/// - CPU follows ρ up to 1;
/// - p99 latency is queueing-shaped, `base · (1 + ρ / (1 − ρ))` with ρ capped at 0.99, plus the
///   wait of a backlog that builds up while the service is overloaded and drains afterwards,
///   up to a cap (default 50 ms base, 10 s cap);
/// - the error rate is a base rate plus the unserved fraction;
/// - memory grows a little with load;
/// - queue depth is the steady-state M/M/1 queue of each worker plus the backlog.
///
/// Active anomalies change the matching metric: a latency regression multiplies the latency, an
/// error burst adds to the error rate, a memory leak adds memory in proportion to how far through
/// its window it is. Load anomalies are already in the load.
///
/// The backlog makes the model stateful: call [`observe`](Self::observe) in time order.
///
/// # Example
///
/// ```
/// use prescient_core::Timestamp;
/// use prescient_synth::ServiceModel;
///
/// let mut svc = ServiceModel::new(50.0, 1)?;
/// let t = Timestamp::from_secs(0);
/// let calm = svc.observe(t, 100.0, 4, &[]);
/// assert_eq!(calm.unserved, 0.0);
/// let overloaded = svc.observe(t.add_secs(15.0), 300.0, 4, &[]);
/// assert!(overloaded.unserved > 0.0);
/// assert!(overloaded.latency_p99_ms > 10.0 * calm.latency_p99_ms);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ServiceModel {
    capacity_per_worker: f64,
    base_latency_ms: f64,
    latency_cap_ms: f64,
    rng: Rng,
    backlog: f64,
    last: Option<Timestamp>,
}

impl ServiceModel {
    /// A service whose workers each serve `capacity_per_worker` units/s, with noise seeded by
    /// `seed`, a base latency of 50 ms and a latency cap of 10 s.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `capacity_per_worker` is not finite and positive.
    pub fn new(capacity_per_worker: f64, seed: u64) -> Result<Self> {
        if !(capacity_per_worker.is_finite() && capacity_per_worker > 0.0) {
            return Err(Error::InvalidParam {
                name: "capacity_per_worker",
                reason: format!("must be finite and positive, got {capacity_per_worker}"),
            });
        }
        Ok(ServiceModel {
            capacity_per_worker,
            base_latency_ms: 50.0,
            latency_cap_ms: 10_000.0,
            rng: Rng::new(seed, Stream::Service),
            backlog: 0.0,
            last: None,
        })
    }

    /// The same model with a base p99 latency (at zero load) of `base_ms` and a cap of `cap_ms`
    /// (the timeout: no reported latency exceeds it).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `base_ms` is not finite and positive, or `cap_ms` is not
    /// finite or below `base_ms`.
    pub fn with_latency(mut self, base_ms: f64, cap_ms: f64) -> Result<Self> {
        if !(base_ms.is_finite() && base_ms > 0.0) {
            return Err(Error::InvalidParam {
                name: "base_ms",
                reason: format!("must be finite and positive, got {base_ms}"),
            });
        }
        if !(cap_ms.is_finite() && cap_ms >= base_ms) {
            return Err(Error::InvalidParam {
                name: "cap_ms",
                reason: format!("must be finite and at least base_ms ({base_ms}), got {cap_ms}"),
            });
        }
        self.base_latency_ms = base_ms;
        self.latency_cap_ms = cap_ms;
        Ok(self)
    }

    /// Units/s one worker serves.
    pub fn capacity_per_worker(&self) -> f64 {
        self.capacity_per_worker
    }

    /// The schema of [`ServiceMetrics::values`] for `component`: `load` (load), `cpu`
    /// (utilisation), `latency_p99_ms` (latency), `error_rate` (error rate), `memory` and
    /// `queue_depth` (custom).
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
        schema_of(component, &ServiceMetrics::NAMES, &roles)
    }

    /// The metrics at `ts` for `load` units/s offered to `ready_workers` workers, with
    /// `active_anomalies` (see [`Workload::active_anomalies`](crate::Workload::active_anomalies))
    /// in effect.
    ///
    /// A NaN, infinite or negative load is read as 0. With no ready worker everything is
    /// unserved, latency is at its cap and the error rate is 1 (if there is any load). Times
    /// that do not advance leave the backlog as it is.
    pub fn observe(
        &mut self,
        ts: Timestamp,
        load: f64,
        ready_workers: u32,
        active_anomalies: &[&Anomaly],
    ) -> ServiceMetrics {
        // The same number of draws on every path keeps the noise sequence independent of the
        // load.
        let noise = [
            self.rng.normal(),
            self.rng.normal(),
            self.rng.normal(),
            self.rng.normal(),
        ];
        let load = if load.is_finite() && load > 0.0 {
            load
        } else {
            0.0
        };
        let capacity = f64::from(ready_workers) * self.capacity_per_worker;

        let dt = match self.last {
            Some(last) => ts.secs_since(last).clamp(0.0, MAX_DT_SECS),
            None => 0.0,
        };
        self.last = Some(self.last.map_or(ts, |last| last.max(ts)));
        let backlog_max = BACKLOG_SECS * capacity.max(self.capacity_per_worker);
        self.backlog = (self.backlog + (load - capacity) * dt).clamp(0.0, backlog_max);

        let served = load.min(capacity);
        let unserved = load - served;

        let mut regression = 1.0;
        let mut extra_errors = 0.0;
        let mut leak = 0.0;
        for a in active_anomalies.iter().filter(|a| a.contains(ts)) {
            match a.kind {
                AnomalyKind::LatencyRegression => regression *= a.magnitude,
                AnomalyKind::ErrorBurst => extra_errors += a.magnitude,
                AnomalyKind::MemoryLeak => leak += a.magnitude * a.progress(ts),
                AnomalyKind::LoadSpike | AnomalyKind::LoadDrop | AnomalyKind::LevelShift => {}
            }
        }

        let (cpu, latency, queue_depth, busy) = if capacity > 0.0 {
            let rho = load / capacity;
            let busy = rho.min(1.0);
            let cpu = ((0.02 + 0.98 * busy) * (1.0 + 0.03 * noise[0])).clamp(0.0, 1.05);
            let r = rho.min(RHO_MAX);
            let queueing = self.base_latency_ms * (1.0 + LATENCY_K * r / (1.0 - r));
            let wait = 1_000.0 * self.backlog / capacity;
            let latency = (queueing + wait) * (0.05 * noise[1]).exp() * regression;
            let queue = f64::from(ready_workers) * r * r / (1.0 - r) + self.backlog;
            (cpu, latency, queue, busy)
        } else {
            (0.0, self.latency_cap_ms, self.backlog, 0.0)
        };
        let latency_p99_ms = latency.clamp(0.0, self.latency_cap_ms);

        let shortfall = if load > 0.0 { unserved / load } else { 0.0 };
        let error_rate =
            (BASE_ERROR_RATE * (0.3 * noise[2]).exp() + shortfall + extra_errors).clamp(0.0, 1.0);
        let memory = (BASE_MEMORY + LOAD_MEMORY * busy + 0.01 * noise[3] + leak).clamp(0.0, 1.0);

        ServiceMetrics {
            load,
            served,
            unserved,
            cpu,
            latency_p99_ms,
            error_rate,
            memory,
            queue_depth,
        }
    }
}

/// The schema of `component` with the metrics `names`, each with its role in `roles`.
pub(crate) fn schema_of(
    component: impl Into<String>,
    names: &[&str],
    roles: &[MetricRole],
) -> Result<Schema> {
    names
        .iter()
        .zip(roles)
        .fold(Schema::builder(component), |b, (name, role)| {
            b.metric(*name, *role)
        })
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{WorkloadParams, generate};

    fn anomaly(kind: AnomalyKind, magnitude: f64) -> Anomaly {
        Anomaly {
            kind,
            start: Timestamp::from_secs(0),
            end: Timestamp::from_secs(1_000),
            magnitude,
        }
    }

    fn all_finite(m: &ServiceMetrics) -> bool {
        [m.served, m.unserved]
            .iter()
            .chain(m.values().iter())
            .all(|x| x.is_finite() && *x >= 0.0)
    }

    #[test]
    fn capacity_per_worker_must_be_positive() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                ServiceModel::new(bad, 1),
                Err(Error::InvalidParam {
                    name: "capacity_per_worker",
                    ..
                })
            ));
        }
    }

    #[test]
    fn base_ms_must_be_positive() {
        let m = ServiceModel::new(10.0, 1).unwrap();
        assert!(matches!(
            m.with_latency(0.0, 100.0),
            Err(Error::InvalidParam {
                name: "base_ms",
                ..
            })
        ));
    }

    #[test]
    fn cap_ms_must_be_at_least_base_ms() {
        let m = ServiceModel::new(10.0, 1).unwrap();
        assert!(matches!(
            m.with_latency(100.0, 50.0),
            Err(Error::InvalidParam { name: "cap_ms", .. })
        ));
    }

    #[test]
    fn well_below_capacity_is_clean() {
        let mut svc = ServiceModel::new(100.0, 3).unwrap();
        for k in 0..200 {
            let m = svc.observe(Timestamp::from_secs(15 * k), 200.0, 10, &[]);
            assert_eq!(m.unserved, 0.0);
            assert_eq!(m.served, 200.0);
            assert!(m.cpu > 0.15 && m.cpu < 0.3, "cpu {}", m.cpu);
            assert!(m.latency_p99_ms < 80.0, "latency {}", m.latency_p99_ms);
            assert!(m.error_rate < 0.01);
            assert!(m.queue_depth < 1.0);
            assert!(all_finite(&m));
        }
    }

    #[test]
    fn overload_saturates() {
        let mut svc = ServiceModel::new(100.0, 3).unwrap();
        let calm = svc.observe(Timestamp::from_secs(0), 500.0, 10, &[]);
        let near = svc.observe(Timestamp::from_secs(15), 950.0, 10, &[]);
        let mut last = near;
        for k in 2..20 {
            last = svc.observe(Timestamp::from_secs(15 * k), 1_500.0, 10, &[]);
        }
        assert!(near.latency_p99_ms > 5.0 * calm.latency_p99_ms);
        assert!(last.latency_p99_ms > near.latency_p99_ms);
        assert_eq!(last.unserved, 500.0);
        assert_eq!(last.served, 1_000.0);
        assert!(last.error_rate > 0.3);
        assert!(last.cpu > 0.95 && last.cpu <= 1.05);
        assert!(last.queue_depth > near.queue_depth);
        assert!(all_finite(&last));
        // Once load falls, the backlog drains and latency recovers.
        let mut recovered = last;
        for k in 20..40 {
            recovered = svc.observe(Timestamp::from_secs(15 * k), 300.0, 10, &[]);
        }
        assert!(recovered.latency_p99_ms < 100.0);
        // Only the steady-state queue of ten workers at ρ = 0.3 is left: 10 · 0.09 / 0.7.
        assert!(recovered.queue_depth < 1.5);
    }

    #[test]
    fn zero_workers_serve_nothing_without_nan() {
        let mut svc = ServiceModel::new(100.0, 3).unwrap();
        for k in 0..10 {
            let m = svc.observe(Timestamp::from_secs(15 * k), 300.0, 0, &[]);
            assert_eq!(m.served, 0.0);
            assert_eq!(m.unserved, 300.0);
            assert_eq!(m.latency_p99_ms, 10_000.0);
            assert_eq!(m.error_rate, 1.0);
            assert!(all_finite(&m));
        }
        let idle = svc.observe(Timestamp::from_secs(1_000), 0.0, 0, &[]);
        assert!(all_finite(&idle));
        let bad = svc.observe(Timestamp::from_secs(1_015), f64::NAN, 3, &[]);
        assert!(all_finite(&bad) && bad.load == 0.0);
    }

    #[test]
    fn service_anomalies_change_their_metric() {
        let ts = Timestamp::from_secs(750);
        let run = |active: &[&Anomaly]| {
            let mut svc = ServiceModel::new(100.0, 8).unwrap();
            svc.observe(ts, 300.0, 10, active)
        };
        let clean = run(&[]);
        let slow = run(&[&anomaly(AnomalyKind::LatencyRegression, 3.0)]);
        let failing = run(&[&anomaly(AnomalyKind::ErrorBurst, 0.2)]);
        let leaking = run(&[&anomaly(AnomalyKind::MemoryLeak, 0.4)]);
        assert!((slow.latency_p99_ms / clean.latency_p99_ms - 3.0).abs() < 1e-9);
        assert!((failing.error_rate - clean.error_rate - 0.2).abs() < 1e-9);
        // 750 s into a 1000 s leak: three quarters of it.
        assert!((leaking.memory - clean.memory - 0.3).abs() < 1e-9);
        assert_eq!(slow.cpu, clean.cpu);
        // An anomaly whose window does not contain `ts` has no effect.
        let mut svc = ServiceModel::new(100.0, 8).unwrap();
        let later = svc.observe(
            Timestamp::from_secs(2_000),
            300.0,
            10,
            &[&anomaly(AnomalyKind::LatencyRegression, 3.0)],
        );
        assert!(later.latency_p99_ms < 1.5 * clean.latency_p99_ms);
    }

    #[test]
    fn schema_matches_values() {
        let schema = ServiceModel::schema("web").unwrap();
        assert_eq!(schema.len(), ServiceMetrics::NAMES.len());
        assert_eq!(schema.primary_load(), 0);
        assert_eq!(schema.index_of("latency_p99_ms"), Some(2));
        assert_eq!(schema.first_with_role(MetricRole::ErrorRate), Some(3));
        assert_eq!(schema.metrics()[5].role, MetricRole::Custom);
        let mut svc = ServiceModel::new(10.0, 1).unwrap();
        let m = svc.observe(Timestamp::EPOCH, 5.0, 1, &[]);
        m.to_sample(Timestamp::EPOCH).check(&schema).unwrap();
        assert!(ServiceModel::schema("").is_err());
    }

    #[test]
    fn same_seed_same_metrics_and_workload_drives_the_model() {
        let w = generate(&WorkloadParams::web_service(2).span_secs(86_400.0)).unwrap();
        let run = |seed| {
            let mut svc = ServiceModel::new(60.0, seed).unwrap();
            w.iter()
                .map(|(ts, load)| svc.observe(ts, load, 6, &w.active_anomalies(ts)))
                .collect::<Vec<_>>()
        };
        let a = run(1);
        assert_eq!(a, run(1));
        assert_ne!(a, run(2));
        assert!(a.iter().all(all_finite));
    }

    #[test]
    fn model_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<ServiceModel>();
        check::<ServiceMetrics>();
        check::<crate::Workload>();
        check::<WorkloadParams>();
    }
}
