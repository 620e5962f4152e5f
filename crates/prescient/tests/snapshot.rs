//! Snapshots: a `Scaler` restored from a snapshot decides exactly as the original would have,
//! and a bad snapshot is a clear error that leaves nothing behind.

#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use prescient::actuate::{Actuator, SimulatedPool};
use prescient::forecast::{
    AutoArima, HoltWinters, LevelProfileParams, LogScale, MstlParams, SeasonalNaive,
};
use prescient::synth::{ServiceModel, Workload, WorkloadParams, generate};
use prescient::types::{Error as CoreError, ForecastMethod, Forecaster};
use prescient::{
    Decision, Error, Outcome, PlannerParams, PoolStatus, Scaler, ScalerBuilder, Timestamp,
};
use proptest::prelude::*;

const STEP: f64 = 15.0;
const CAPACITY: f64 = 15.0;

fn workload(seed: u64, days: f64) -> Workload {
    generate(
        &WorkloadParams::web_service(seed)
            .span_secs(days * 86_400.0)
            .step_secs(STEP),
    )
    .unwrap()
}

/// The settings of the `Scaler`s under test, with a forecaster made by `forecaster`.
fn builder(forecaster: Option<Box<dyn Forecaster>>) -> ScalerBuilder {
    let b = Scaler::builder(
        ServiceModel::schema("web").unwrap(),
        PlannerParams::new(CAPACITY)
            .bounds(2, 200)
            .lead_time_secs(120.0),
    )
    .step_secs(STEP)
    .startup_delay_secs(60.0);
    match forecaster {
        Some(f) => b.forecaster(f),
        None => b,
    }
}

/// Drives a `Scaler` over a workload through a simulated pool, as a host does: one tick per
/// step, each decision applied. Returns the decisions of `ticks` (a range of indices).
struct Host {
    service: ServiceModel,
    pool: SimulatedPool,
}

impl Host {
    fn new(seed: u64) -> Self {
        Host {
            service: ServiceModel::new(CAPACITY, seed).unwrap(),
            pool: SimulatedPool::new(4, 60.0).unwrap(),
        }
    }

    fn run(
        &mut self,
        scaler: &mut Scaler,
        w: &Workload,
        range: std::ops::Range<usize>,
    ) -> Vec<Decision> {
        let mut out = Vec::with_capacity(range.len());
        for i in range {
            let ts = w.ts[i];
            let pool: PoolStatus = self.pool.status(ts).unwrap();
            let observed = self
                .service
                .observe(ts, w.load[i], pool.ready, &w.active_anomalies(ts));
            let d = scaler.tick(ts, &observed.values(), pool).unwrap();
            if d.is_change() {
                scaler.apply(&d, &mut self.pool).unwrap();
            }
            // The outcome, as a host would report it: the feedback loop is part of the state.
            scaler.feedback(&Outcome {
                ts,
                workers: pool.ready,
                utilisation: Some(observed.cpu),
                latency: Some(observed.latency_p99_ms),
                unserved: Some(observed.unserved),
                slo_violated: None,
            });
            out.push(d);
        }
        out
    }
}

/// Runs `before` ticks, snapshots, and checks that the restored `Scaler` and the original make
/// the same `after` decisions, each driving a host of its own from the same point.
fn restart_is_invisible(
    forecaster: impl Fn() -> Option<Box<dyn Forecaster>>,
    before: usize,
    after: usize,
) {
    let w = workload(7, (before + after) as f64 * STEP / 86_400.0 + 0.01);
    let mut original = builder(forecaster()).build().unwrap();
    let mut host = Host::new(7);
    host.run(&mut original, &w, 0..before);
    let snapshot = original.snapshot().unwrap();

    let mut restored = builder(forecaster()).restore(&snapshot).unwrap();
    // The restored state is the saved one, byte for byte.
    assert_eq!(restored.snapshot().unwrap(), snapshot);
    // The host's own state (its pool, its service model) is copied as it would survive a
    // restart of prescient alone.
    let mut host_b = Host {
        service: host.service.clone(),
        pool: host.pool.clone(),
    };
    let a = host.run(&mut original, &w, before..before + after);
    let b = host_b.run(&mut restored, &w, before..before + after);
    assert_eq!(a.len(), after);
    for (i, (a, b)) in a.iter().zip(&b).enumerate() {
        assert_eq!(a, b, "decision {i} after the restart");
    }
    assert_eq!(original.snapshot().unwrap(), restored.snapshot().unwrap());
}

#[test]
fn the_next_1000_decisions_after_a_restart_are_identical() {
    // Two days of 15 s ticks: the fingerprint is fitted and refitted, its detectors warmed up
    // and the isolation forest regrown; the seasonal-naive forecaster has a full season.
    restart_is_invisible(|| None, 11_520, 1_000);
}

#[test]
fn a_restart_keeps_every_saveable_forecaster() {
    let history: Vec<f64> = workload(3, 1.0).load[..2_000].to_vec();
    let hw = HoltWinters::params(Some(96)).fit(&history).unwrap();
    let arima = AutoArima::params().season(Some(96)).fit(&history).unwrap();
    type Make = Box<dyn Fn() -> Option<Box<dyn Forecaster>>>;
    let cases: Vec<(&str, Make)> = vec![
        (
            "level_profile",
            Box::new(|| LevelProfileParams::new(5760).fit(&[]).ok()),
        ),
        ("holt_winters", Box::new(move || Some(Box::new(hw.clone())))),
        ("arima", Box::new(move || Some(Box::new(arima.clone())))),
        (
            "log_scale",
            Box::new(move || LogScale::new(HoltWinters::params(None)).fit(&history).ok()),
        ),
    ];
    for (name, make) in cases {
        assert!(make().is_some(), "{name}");
        restart_is_invisible(make, 1_500, 400);
    }
}

#[test]
fn a_model_that_cannot_be_saved_says_so() {
    let history: Vec<f64> = workload(5, 1.0).load[..2_000].to_vec();
    let mstl = MstlParams::new(vec![96]).fit(&history).unwrap();
    let scaler = builder(Some(Box::new(mstl))).build().unwrap();
    assert!(matches!(
        scaler.snapshot(),
        Err(Error::Core(CoreError::Unsupported(_)))
    ));
}

fn warmed(ticks: usize) -> (Scaler, Vec<u8>) {
    let w = workload(9, 1.0);
    let mut s = builder(None).build().unwrap();
    Host::new(9).run(&mut s, &w, 0..ticks);
    let snap = s.snapshot().unwrap();
    (s, snap)
}

#[test]
fn a_corrupt_truncated_or_foreign_snapshot_is_refused() {
    let (_, snap) = warmed(300);
    let corrupt = |e: &Error| matches!(e, Error::Core(CoreError::CorruptSnapshot(_)));
    let incompatible = |e: &Error| matches!(e, Error::Core(CoreError::IncompatibleSnapshot(_)));
    // Cut anywhere.
    for n in [0, 1, 7, 8, 12, 20, snap.len() / 2, snap.len() - 1] {
        let e = builder(None).restore(&snap[..n]).unwrap_err();
        assert!(corrupt(&e), "cut at {n}: {e}");
    }
    // A flipped bit in the payload.
    let mut flipped = snap.clone();
    let at = flipped.len() - 100;
    flipped[at] ^= 0x10;
    let e = builder(None).restore(&flipped).unwrap_err();
    assert!(corrupt(&e), "{e}");
    assert!(e.to_string().contains("checksum"), "{e}");
    // Another format version.
    let mut old = snap.clone();
    old[8] = 0;
    let e = builder(None).restore(&old).unwrap_err();
    assert!(incompatible(&e), "{e}");
    assert!(e.to_string().contains("version"), "{e}");
    // Not a snapshot at all.
    let e = builder(None).restore(b"{\"ticks\": 3}").unwrap_err();
    assert!(corrupt(&e), "{e}");
}

#[test]
fn a_snapshot_of_other_settings_is_refused_and_names_the_setting() {
    let (_, snap) = warmed(300);
    let e = builder(None)
        .detector_window(60)
        .restore(&snap)
        .unwrap_err();
    assert!(e.to_string().contains("detector_window"), "{e}");
    let e = builder(None).step_secs(30.0).restore(&snap).unwrap_err();
    assert!(e.to_string().contains("step_ms"), "{e}");
    let e = builder(None).without_regime().restore(&snap).unwrap_err();
    assert!(e.to_string().contains("regime"), "{e}");
    let hw = HoltWinters::params(None).fit(&[10.0; 50]).unwrap();
    let e = builder(Some(Box::new(hw))).restore(&snap).unwrap_err();
    assert!(e.to_string().contains("forecaster"), "{e}");
}

#[test]
fn planner_settings_may_change_across_a_restart() {
    let (mut original, snap) = warmed(2_000);
    let mut restored = Scaler::builder(
        ServiceModel::schema("web").unwrap(),
        PlannerParams::new(CAPACITY)
            .bounds(2, 8)
            .lead_time_secs(120.0),
    )
    .step_secs(STEP)
    .startup_delay_secs(60.0)
    .restore(&snap)
    .unwrap();
    assert_eq!(restored.ticks(), original.ticks());
    let ts = Timestamp::from_secs(1_000_000_000_000);
    let pool = PoolStatus {
        desired: 6,
        ready: 6,
    };
    let values = [5_000.0, 0.99, 2.0, 0.1, 4_000.0, 50.0];
    let d = restored
        .tick(ts, &values[..original.schema().len()], pool)
        .unwrap();
    assert!(d.target <= 8, "the new bound holds: {}", d.target);
    let d = original
        .tick(ts, &values[..original.schema().len()], pool)
        .unwrap();
    assert!(d.target > 8, "the old bound allowed more: {}", d.target);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Snapshot / restore equivalence at any point of a run, with any seed: the next decisions
    /// and the final state are the same.
    #[test]
    fn prop_a_restart_anywhere_changes_nothing(seed in 0u64..1_000, before in 1usize..1_500) {
        let w = workload(seed, (before + 200) as f64 * STEP / 86_400.0 + 0.01);
        let build = || {
            builder(Some(Box::new(SeasonalNaive::new(96).unwrap())))
                .build()
                .unwrap()
        };
        let mut original = build();
        let mut host = Host::new(seed);
        host.run(&mut original, &w, 0..before);
        let snap = original.snapshot().unwrap();
        let mut restored = builder(Some(Box::new(SeasonalNaive::new(96).unwrap())))
            .restore(&snap)
            .unwrap();
        let mut host_b = Host { service: host.service.clone(), pool: host.pool.clone() };
        let a = host.run(&mut original, &w, before..before + 200);
        let b = host_b.run(&mut restored, &w, before..before + 200);
        prop_assert_eq!(a, b);
        prop_assert_eq!(original.snapshot().unwrap(), restored.snapshot().unwrap());
    }
}
