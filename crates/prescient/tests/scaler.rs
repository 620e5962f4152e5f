//! The `Scaler`'s contract: bounds, limits, stabilisation, determinism and bad input.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use prescient::actuate::{DryRun, SimulatedPool};
use prescient::synth::{ServiceModel, WorkloadParams, generate};
use prescient::{
    Actuator, ApplyOutcome, Constraint, Decision, MetricRole, Mode, PlannerParams, PoolStatus,
    ReasonCode, Scaler, Schema, Timestamp,
};
use proptest::prelude::*;

const STEP: i64 = 15;

fn schema(n_metrics: usize) -> Schema {
    let mut b = Schema::builder("svc").metric("rps", MetricRole::Load);
    let roles = [
        MetricRole::Utilisation,
        MetricRole::Latency,
        MetricRole::ErrorRate,
        MetricRole::Custom,
    ];
    for i in 1..n_metrics {
        b = b.metric(format!("m{i}"), roles[i % roles.len()]);
    }
    b.build().unwrap()
}

fn scaler(min: u32, max: u32, up: u32, down: u32) -> Scaler {
    let planner = PlannerParams::new(10.0).bounds(min, max).max_step(up, down);
    // A short season so that the forecaster is ready within a proptest case.
    Scaler::builder(schema(4), planner)
        .season_secs(20.0 * STEP as f64)
        .build()
        .unwrap()
}

fn ts(i: i64) -> Timestamp {
    Timestamp::from_secs(1_700_000_000 + STEP * i)
}

/// Any f64, weighted towards the values that break numerics.
fn nasty() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.0..500.0f64,
        1 => any::<f64>(),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(1e308),
        1 => Just(-1e308),
        1 => Just(5e-324),
    ]
}

fn raw_desired(d: &Decision) -> Option<u32> {
    [d.forecast_need, d.reactive_need, d.anomaly_need]
        .into_iter()
        .flatten()
        .max()
}

fn decision_is_sane(d: &Decision, min: u32, max: u32) -> Result<(), TestCaseError> {
    prop_assert!(
        d.target >= min && d.target <= max,
        "target {} outside [{min}, {max}]",
        d.target
    );
    if let Some(f) = d.forecast {
        prop_assert!(f.peak_point.is_finite() && f.peak_upper.is_finite() && f.level.is_finite());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn prop_targets_within_bounds_and_steps_on_any_input(
        min in 0u32..4,
        span in 1u32..80,
        up in 1u32..8,
        down in 1u32..8,
        ticks in proptest::collection::vec((prop_oneof![8 => 1i64..4, 1 => any::<i64>()], nasty(), nasty(), 0u32..100), 1..150),
    ) {
        let max = min + span;
        let mut s = scaler(min, max, up, down);
        let mut t = ts(0).as_millis();
        for (dt, load, other, desired) in ticks {
            // Mostly regular steps, sometimes a jump anywhere (forwards or back).
            t = t.saturating_add(dt.saturating_mul(STEP * 1000));
            let pool = PoolStatus { desired, ready: desired / 2 };
            let d = match s.tick(Timestamp::from_millis(t), &[load, other, other, load], pool) {
                Ok(d) => d,
                Err(e) => {
                    let msg = e.to_string();
                    prop_assert!(msg.contains("duplicate") || msg.contains("out-of-order"), "{}", msg);
                    continue;
                }
            };
            decision_is_sane(&d, min, max)?;
            if (min..=max).contains(&desired) {
                prop_assert!(d.target <= desired.saturating_add(up), "{} -> {}", desired, d.target);
                prop_assert!(d.target.saturating_add(down) >= desired, "{} -> {}", desired, d.target);
            }
            prop_assert!(s.features().iter().all(|f| !f.is_nan()));
        }
    }

    #[test]
    fn prop_scale_down_respects_stabilisation_and_cooldown(
        loads in proptest::collection::vec(0.0..2_000.0f64, 10..200),
    ) {
        let params = PlannerParams::new(10.0).bounds(1, 500);
        let (window, cooldown) = (300.0, 60.0);
        let mut s = Scaler::builder(schema(1), params).season_secs(600.0).build().unwrap();
        let mut pool = PoolStatus { desired: 5, ready: 5 };
        let mut history: Vec<(Timestamp, u32)> = Vec::new();
        let mut last_up: Option<Timestamp> = None;
        for (i, &load) in loads.iter().enumerate() {
            let t = ts(i as i64);
            let d = s.tick(t, &[load], pool).unwrap();
            if let Some(r) = raw_desired(&d) {
                history.push((t, r));
            }
            if d.target < d.current && !d.reason.has(Constraint::MinBound) {
                let recent = history
                    .iter()
                    .filter(|(h, _)| t.secs_since(*h) < window)
                    .map(|&(_, r)| r)
                    .max()
                    .unwrap_or(0);
                prop_assert!(d.target >= recent.min(d.current), "scaled down to {} below recent {}", d.target, recent);
                prop_assert!(last_up.is_none_or(|u| t.secs_since(u) >= cooldown));
            }
            if d.target > d.current {
                last_up = Some(t);
            }
            pool = PoolStatus { desired: d.target, ready: d.target };
        }
    }

    #[test]
    fn prop_identical_input_gives_identical_decisions(
        seed in any::<u64>(),
        n in 50usize..400,
    ) {
        let w = generate(&WorkloadParams::web_service(seed).span_secs(n as f64 * 15.0)).unwrap();
        let run = || {
            let mut s = scaler(1, 200, 10, 10);
            let mut pool = PoolStatus { desired: 10, ready: 10 };
            let mut out = Vec::new();
            for (t, load) in w.iter() {
                let d = s.tick(t, &[load, 0.5, 20.0, load], pool).unwrap();
                pool = PoolStatus { desired: d.target, ready: d.target };
                out.push(d);
            }
            (out, s.features().to_vec())
        };
        prop_assert_eq!(run(), run());
    }
}

#[test]
fn rejected_ticks_change_nothing() {
    let mut a = scaler(1, 50, 50, 50);
    let mut b = scaler(1, 50, 50, 50);
    let pool = PoolStatus {
        desired: 3,
        ready: 3,
    };
    for i in 0..100 {
        let x = [100.0 + (i % 7) as f64, 0.5, 30.0, 1.0];
        let da = a.tick(ts(i), &x, pool).unwrap();
        // b also gets a duplicate, an out-of-order and a ragged sample at every step.
        let db = b.tick(ts(i), &x, pool).unwrap();
        assert!(b.tick(ts(i), &x, pool).is_err());
        assert!(b.tick(ts(i - 1), &x, pool).is_err());
        assert!(b.tick(ts(i).add_secs(1.0), &x[..3], pool).is_err());
        assert_eq!(da, db);
    }
    assert_eq!(a.ticks(), b.ticks());
}

#[test]
fn vanished_data_holds_capacity_and_never_scales_to_zero() {
    let planner = PlannerParams::new(10.0).bounds(0, 100);
    let mut s = Scaler::builder(schema(1), planner).build().unwrap();
    let mut pool = PoolStatus {
        desired: 1,
        ready: 1,
    };
    for i in 0..40 {
        let d = s.tick(ts(i), &[300.0], pool).unwrap();
        pool = PoolStatus {
            desired: d.target,
            ready: d.target,
        };
    }
    let before = pool.desired;
    assert!(before >= 40);
    for i in 40..400 {
        let d = s.tick(ts(i), &[f64::NAN], pool).unwrap();
        assert_eq!(d.target, before, "tick {i}: {:?}", d.reason);
        pool = PoolStatus {
            desired: d.target,
            ready: d.target,
        };
    }
    let d = s.tick(ts(400), &[f64::NAN], pool).unwrap();
    assert_eq!(d.reason.code, ReasonCode::StaleData);
}

#[test]
fn gaps_keep_the_forecaster_in_phase() {
    // A square wave with a period of 8 steps; a gap of 21 steps (2 periods + 5).
    let planner = PlannerParams::new(1.0)
        .target_utilisation(1.0)
        .bounds(1, 1000)
        .lead_time_secs(15.0);
    let mut s = Scaler::builder(schema(1), planner)
        .season_secs(8.0 * 15.0)
        .build()
        .unwrap();
    let wave = |i: i64| if i.rem_euclid(8) < 4 { 100.0 } else { 10.0 };
    let pool = PoolStatus {
        desired: 50,
        ready: 50,
    };
    for i in 0..40 {
        s.tick(ts(i), &[wave(i)], pool).unwrap();
    }
    for i in 61..64 {
        s.tick(ts(i), &[wave(i)], pool).unwrap();
    }
    // The next step is 64, in the high half: seasonal naive still knows it.
    let f = s.last_forecast();
    assert_eq!(f.point[0], wave(64));
    assert_eq!(f.point[1], wave(65));
}

#[test]
fn forecast_only_never_applies() {
    let mut s = Scaler::builder(schema(1), PlannerParams::new(10.0))
        .mode(Mode::ForecastOnly)
        .build()
        .unwrap();
    let mut dry = DryRun::new(1);
    let d = s
        .tick(
            ts(0),
            &[500.0],
            PoolStatus {
                desired: 1,
                ready: 1,
            },
        )
        .unwrap();
    assert!(d.is_change());
    assert_eq!(s.apply(&d, &mut dry).unwrap(), ApplyOutcome::ForecastOnly);
    assert_eq!(dry.total(), 0);
    s.set_mode(Mode::Active);
    assert_eq!(
        s.apply(&d, &mut dry).unwrap(),
        ApplyOutcome::Scaled { target: d.target }
    );
    assert_eq!(dry.total(), 1);
}

#[test]
fn actuator_failures_are_reported_not_assumed() {
    let mut s = scaler(1, 50, 50, 50);
    let mut pool = SimulatedPool::new(1, 60.0).unwrap();
    pool.fail_next(1);
    let status = pool.status(ts(0)).unwrap();
    let d = s.tick(ts(0), &[300.0, 0.5, 10.0, 0.0], status).unwrap();
    assert!(s.apply(&d, &mut pool).is_err());
    assert_eq!(pool.status(ts(1)).unwrap().desired, 1);
    let status = pool.status(ts(1)).unwrap();
    let d = s.tick(ts(1), &[300.0, 0.5, 10.0, 0.0], status).unwrap();
    assert_eq!(d.current, 1);
    assert!(matches!(
        s.apply(&d, &mut pool).unwrap(),
        ApplyOutcome::Scaled { .. }
    ));
}

#[test]
fn lead_time_must_cover_the_startup_delay() {
    let p = PlannerParams::new(10.0).lead_time_secs(60.0);
    let err = Scaler::builder(schema(1), p)
        .startup_delay_secs(120.0)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("lead_time_secs"), "{err}");
}

#[test]
fn invalid_settings_are_named() {
    let bad = |b: prescient::ScalerBuilder| b.build().unwrap_err().to_string();
    let b = || Scaler::builder(schema(1), PlannerParams::new(10.0));
    assert!(bad(b().step_secs(0.0)).contains("step_secs"));
    assert!(bad(b().forecast_level(1.0)).contains("forecast_level"));
    assert!(bad(b().season_secs(1.0)).contains("season_secs"));
    assert!(bad(b().ewma_alpha(2.0)).contains("alpha"));
    assert!(bad(b().detector_window(1)).contains("window"));
    assert!(bad(b().detector_weights(0.0, 0.0)).contains("weights"));
    assert!(bad(b().stale_after_secs(-1.0)).contains("stale_after_secs"));
}

#[test]
fn scales_ahead_of_a_daily_peak_on_the_synthetic_service() {
    // Two days of a diurnal service: on day two the forecaster knows yesterday's shape, so
    // prescient adds workers before the load needs them and serves nearly everything.
    let w = generate(
        &WorkloadParams::web_service(3)
            .without_anomalies()
            .span_secs(2.0 * 86_400.0),
    )
    .unwrap();
    let capacity = 15.0;
    let schema = ServiceModel::schema("web").unwrap();
    let planner = PlannerParams::new(capacity)
        .bounds(1, 200)
        .lead_time_secs(120.0);
    let mut s = Scaler::builder(schema, planner)
        .startup_delay_secs(120.0)
        .build()
        .unwrap();
    let mut pool = SimulatedPool::new(10, 120.0).unwrap();
    let mut svc = ServiceModel::new(capacity, 3).unwrap();
    let (mut demand, mut unserved) = (0.0, 0.0);
    let day = 86_400 / 15;
    let mut forecast_decisions = 0;
    for (i, (t, load)) in w.iter().enumerate() {
        let status = pool.status(t).unwrap();
        let m = svc.observe(t, load, status.ready, &[]);
        let d = s.tick(t, &m.values(), status).unwrap();
        s.apply(&d, &mut pool).unwrap();
        if i >= day {
            demand += load;
            unserved += m.unserved;
            forecast_decisions += usize::from(d.reason.code == ReasonCode::Forecast);
        }
    }
    assert!(forecast_decisions > day / 2, "{forecast_decisions}");
    assert!(
        unserved / demand < 0.001,
        "unserved {:.4}%",
        100.0 * unserved / demand
    );
}

mod autotraits {
    fn is_send<T: Send>() {}

    #[test]
    fn scaler_is_send() {
        is_send::<prescient::Scaler>();
    }
}

#[test]
fn extreme_timestamps_are_accepted_without_overflow() {
    let mut s = scaler(1, 50, 50, 50);
    let pool = PoolStatus {
        desired: 3,
        ready: 3,
    };
    let x = [100.0, 0.5, 30.0, 1.0];
    for t in [
        i64::MIN,
        i64::MIN + 1,
        -1,
        0,
        15_000,
        i64::MAX - 1,
        i64::MAX,
    ] {
        let d = s.tick(Timestamp::from_millis(t), &x, pool).unwrap();
        assert!((1..=50).contains(&d.target));
    }
    assert!(s.tick(Timestamp::from_millis(i64::MAX), &x, pool).is_err());
}

#[test]
fn features_are_the_rolling_statistics_of_each_metric() {
    let mut s = Scaler::builder(schema(2), PlannerParams::new(10.0))
        .feature_window(4)
        .build()
        .unwrap();
    let pool = PoolStatus {
        desired: 3,
        ready: 3,
    };
    for i in 0..10 {
        s.tick(ts(i), &[i as f64, 2.0 * i as f64], pool).unwrap();
    }
    let names = s.feature_names();
    let get = |name: &str| s.features()[names.iter().position(|n| n == name).unwrap()];
    // The last four loads are 6, 7, 8, 9.
    assert_eq!(get("rps.mean"), 7.5);
    assert_eq!(get("rps.min"), 6.0);
    assert_eq!(get("rps.max"), 9.0);
    assert!((get("rps.std") - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
    assert!((get("rps.rate") - 1.0 / 15.0).abs() < 1e-12);
    assert_eq!(get("m1.mean"), 15.0);
    assert_eq!(names.len(), 4 + 2 + 4);
}
