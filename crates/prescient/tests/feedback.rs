//! The feedback loop: forecast accuracy, divergence, outcomes moving the thresholds, the
//! training history, and retraining off the hot path.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use std::sync::Arc;

use prescient::forecast::{HoltWinters, HoltWintersParams};
use prescient::types::{Forecast, Forecaster, Result as CoreResult};
use prescient::{
    FeedbackParams, InstallOutcome, MetricRole, Outcome, PlannerParams, PoolStatus, RetrainParams,
    RetrainReason, Scaler, ScalerBuilder, Schema, Severity, Timestamp,
};

const STEP: i64 = 15;

fn ts(i: i64) -> Timestamp {
    Timestamp::from_secs(1_700_000_000 + STEP * i)
}

fn schema() -> Schema {
    Schema::builder("svc")
        .metric("rps", MetricRole::Load)
        .metric("cpu", MetricRole::Utilisation)
        .build()
        .unwrap()
}

fn builder() -> ScalerBuilder {
    Scaler::builder(schema(), PlannerParams::new(10.0).bounds(1, 500)).without_regime()
}

const POOL: PoolStatus = PoolStatus {
    desired: 20,
    ready: 20,
};

/// Forecasts the last value it saw, flat, with an interval of ±`half`.
#[derive(Debug, Clone)]
struct Last {
    last: Option<f64>,
    half: f64,
}

impl Forecaster for Last {
    fn name(&self) -> &'static str {
        "last"
    }
    fn update(&mut self, _: Timestamp, y: f64) -> CoreResult<()> {
        self.last = Some(y);
        Ok(())
    }
    fn is_ready(&self) -> bool {
        self.last.is_some()
    }
    fn predict_inplace(&self, horizon: usize, level: f64, out: &mut Forecast) -> CoreResult<()> {
        let y = self.last.unwrap_or(0.0);
        out.reset(horizon, level);
        for _ in 0..horizon {
            out.push(y, y - self.half, y + self.half);
        }
        Ok(())
    }
    fn reset(&mut self) {
        self.last = None;
    }
}

#[test]
fn accuracy_is_what_the_forecasts_missed_by() {
    // A load that climbs by 3 every step, forecast "flat at the last value": one step ahead
    // the error is 3, at the horizon h steps it is 3h; the naive scale is 3, so the one-step
    // MASE is 1. The interval of ±5 covers the one-step actuals and none at the horizon.
    // A season of one step: the MASE's scale is the naive forecast's error.
    let mut s = builder()
        .season_secs(STEP as f64)
        .forecaster(Box::new(Last {
            last: None,
            half: 5.0,
        }))
        .build()
        .unwrap();
    let h = s.horizon_steps();
    assert!(h > 2);
    for i in 0..500 {
        s.tick(ts(i), &[100.0 + 3.0 * i as f64, 0.5], POOL).unwrap();
    }
    let a = s.feedback_summary().accuracy;
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].horizon, 1);
    assert!((a[0].mae - 3.0).abs() < 1e-9, "{a:?}");
    assert!((a[0].mase.unwrap() - 1.0).abs() < 1e-9, "{a:?}");
    assert_eq!(a[0].coverage, 1.0);
    assert_eq!(a[1].horizon, h);
    assert!((a[1].mae - 3.0 * h as f64).abs() < 1e-9, "{a:?}");
    assert_eq!(a[1].coverage, 0.0);
}

/// A seeded noisy load around 200 (a small xorshift, so the test has no dependency).
fn noisy(seed: u64) -> impl FnMut() -> f64 {
    let mut x = seed.max(1);
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        200.0 + 20.0 * ((x >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
    }
}

#[test]
fn a_shift_the_forecast_missed_diverges_and_is_kept_out_of_training() {
    // A model fitted on the clean load (200 ± 10); then the load jumps by 40 and climbs.
    let mut load = noisy(3);
    let hw = HoltWinters::params(None)
        .fit(&(0..400).map(|_| load()).collect::<Vec<_>>())
        .unwrap();
    let mut s = builder().forecaster(Box::new(hw)).build().unwrap();
    let mut clean_flags = 0;
    for i in 0..1_500 {
        s.tick(ts(i), &[load(), 0.5], POOL).unwrap();
        clean_flags += usize::from(s.feedback_summary().divergence_severity >= Severity::Medium);
    }
    assert!(
        clean_flags <= 3,
        "{clean_flags} false divergences on clean data"
    );
    let excluded_before = s.feedback_summary().excluded_steps;
    let mut flagged_at = None;
    for k in 0..600 {
        let i = 1_500 + k;
        s.tick(ts(i), &[load() + 40.0 + 0.5 * k as f64, 0.5], POOL)
            .unwrap();
        let f = s.feedback_summary();
        if f.divergence_severity >= Severity::Medium && flagged_at.is_none() {
            flagged_at = Some(k);
            let d = f.divergence.unwrap();
            assert!(d.deviation > 0.0, "the load is above the forecast: {d:?}");
        }
    }
    let at = flagged_at.expect("the shift was never flagged");
    assert!(at < 4, "flagged after {at} steps");
    // The diverging steps are kept out of the training history.
    assert!(s.feedback_summary().excluded_steps > excluded_before);
}

#[test]
fn a_leak_shows_as_utilisation_the_load_does_not_explain() {
    // 20 workers of capacity 10 at a load near 200 run at about 100%, a little under the
    // capacity model's prediction (measured 0.9); then utilisation creeps up by 0.1% per step
    // at the same load, as a leak (or a slower build) makes each request cost more.
    let mut load = noisy(17);
    let mut s = builder().build().unwrap();
    let mut clean_flags = 0;
    for i in 0..1_500 {
        let l = load();
        s.tick(ts(i), &[l, 0.9 * l / 200.0], POOL).unwrap();
        clean_flags += usize::from(s.feedback_summary().divergence_severity >= Severity::Medium);
    }
    assert!(
        clean_flags <= 3,
        "{clean_flags} false divergences on clean data"
    );
    let mut flagged_at = None;
    for k in 0..600 {
        let l = load();
        let leak = 0.001 * k as f64;
        s.tick(ts(1_500 + k), &[l, 0.9 * l / 200.0 + leak], POOL)
            .unwrap();
        let f = s.feedback_summary();
        if flagged_at.is_none() && f.divergence_severity >= Severity::Medium {
            let d = f.capacity_divergence.unwrap();
            assert!(d.deviation > 0.0, "{d:?}");
            flagged_at = Some(k);
        }
    }
    let at = flagged_at.expect("the leak was never flagged");
    // 40 steps (10 minutes) is 4 points of utilisation.
    assert!(at < 40, "flagged after {at} steps");
}

#[test]
fn outcomes_move_the_thresholds_within_their_limits() {
    let params = FeedbackParams::default().adaptation(0.1, 2.0);
    let mut s = builder().feedback(params).build().unwrap();
    let (low0, _, high0) = s.severity_thresholds().values();
    let mut load = noisy(5);
    let mut i = 0;
    let mut tick = |s: &mut Scaler| {
        i += 1;
        s.tick(ts(i), &[load(), 0.5], POOL).unwrap();
        ts(i)
    };
    // Violations no anomaly flagged: more sensitive, down to the limit.
    for _ in 0..50 {
        let now = tick(&mut s);
        s.feedback(&Outcome {
            ts: now,
            workers: 20,
            unserved: Some(12.0),
            ..Outcome::default()
        });
    }
    let f = s.feedback_summary();
    assert_eq!((f.outcomes, f.violations, f.missed), (50, 50, 50));
    assert!((f.threshold_factor - 0.5).abs() < 1e-12, "{f:?}");
    let (low, _, high) = s.severity_thresholds().values();
    assert!(low < low0 && high < high0);
    // 1 − (1 − t)^0.5 on the surprise scale.
    assert!((low - (1.0 - (1.0 - low0).sqrt())).abs() < 1e-12);
    // Healthy outcomes with no anomaly flagged change nothing.
    for _ in 0..20 {
        let now = tick(&mut s);
        s.feedback(&Outcome {
            ts: now,
            workers: 20,
            utilisation: Some(0.3),
            unserved: Some(0.0),
            ..Outcome::default()
        });
    }
    assert_eq!(s.feedback_summary().threshold_factor, f.threshold_factor);
    assert_eq!(s.feedback_summary().false_alarms, 0);
}

#[test]
fn feedback_settings_are_checked() {
    assert!(
        builder()
            .feedback(FeedbackParams::default().adaptation(1.0, 2.0))
            .build()
            .is_err()
    );
    assert!(
        builder()
            .feedback(FeedbackParams::default().adaptation(0.1, 0.5))
            .build()
            .is_err()
    );
    assert!(
        builder()
            .feedback(FeedbackParams::default().history_steps(1))
            .build()
            .is_err()
    );
    assert!(
        builder()
            .feedback(FeedbackParams::default().latency_slo(-1.0))
            .build()
            .is_err()
    );
    assert!(
        builder()
            .feedback(FeedbackParams::default().divergence(1, 0.1))
            .build()
            .is_err()
    );
    let method = Arc::new(HoltWinters::params(None));
    assert!(
        builder()
            .retrain(RetrainParams::new(method.clone()).holdout(0))
            .build()
            .is_err()
    );
    assert!(
        builder()
            .retrain(RetrainParams::new(method.clone()).drift_ratio(Some(0.9)))
            .build()
            .is_err()
    );
    assert!(
        builder()
            .retrain(RetrainParams::new(method).every_steps(Some(0)))
            .build()
            .is_err()
    );
}

/// A load with a period of 96 steps and noise.
fn seasonal(i: i64, noise: &mut impl FnMut() -> f64) -> f64 {
    let phase = std::f64::consts::TAU * (i % 96) as f64 / 96.0;
    300.0 + 100.0 * phase.sin() + (noise() - 200.0)
}

fn retraining(method: HoltWintersParams, live: HoltWinters) -> Scaler {
    builder()
        .forecaster(Box::new(live))
        .retrain(
            RetrainParams::new(Arc::new(method))
                .every_steps(Some(2_000))
                .holdout(300)
                .min_history(1_000),
        )
        .build()
        .unwrap()
}

#[test]
fn a_better_model_is_installed_while_ticks_go_on() {
    // The live model was fitted on a flat history and knows no season; the retrained one
    // learns the period from what the Scaler saw.
    let live = HoltWinters::params(None).fit(&[300.0; 200]).unwrap();
    let mut s = retraining(HoltWinters::params(Some(96)), live);
    let mut noise = noisy(7);
    let mut i = 0;
    while s.retrain_due().is_none() {
        assert!(i < 2_001, "never due");
        s.tick(ts(i), &[seasonal(i, &mut noise), 0.5], POOL)
            .unwrap();
        i += 1;
    }
    assert_eq!(i, 2_000);
    assert_eq!(s.retrain_due(), Some(RetrainReason::Scheduled));
    let before = s.feedback_summary().accuracy[0].mae;
    let job = s.training_job(RetrainReason::Scheduled).unwrap();
    assert_eq!(s.retrain_due(), None, "the schedule restarts with the job");
    assert_eq!(job.steps(), 2_000);
    // Train on a thread of its own while the Scaler keeps ticking.
    let worker = std::thread::spawn(move || job.run());
    for _ in 0..50 {
        s.tick(ts(i), &[seasonal(i, &mut noise), 0.5], POOL)
            .unwrap();
        i += 1;
    }
    let trained = worker.join().unwrap().unwrap();
    assert!(trained.accepted, "{trained:?}");
    let (c, l) = (trained.candidate_mae.unwrap(), trained.live_mae.unwrap());
    assert!(c < 0.8 * l, "candidate {c} against live {l}");
    assert_eq!(
        s.install(trained).unwrap(),
        InstallOutcome::Installed { caught_up: 50 }
    );
    // Over the next hours the one-step error falls well below the old model's.
    for _ in 0..1_000 {
        s.tick(ts(i), &[seasonal(i, &mut noise), 0.5], POOL)
            .unwrap();
        i += 1;
    }
    let after = s.feedback_summary().accuracy[0].mae;
    assert!(after < 0.8 * before, "one-step MAE {before} → {after}");
}

#[test]
fn a_worse_model_is_rejected_and_the_live_one_stays() {
    let mut noise = noisy(11);
    let history: Vec<f64> = (0..960).map(|i| seasonal(i, &mut noise)).collect();
    let live = HoltWinters::params(Some(96)).fit(&history).unwrap();
    // The candidate knows no season.
    let mut s = retraining(HoltWinters::params(None), live);
    for i in 960..3_000 {
        s.tick(ts(i), &[seasonal(i, &mut noise), 0.5], POOL)
            .unwrap();
    }
    let job = s.training_job(RetrainReason::Requested).unwrap();
    let trained = job.run().unwrap();
    assert!(!trained.accepted, "{trained:?}");
    let before = s.last_forecast().clone();
    assert_eq!(s.install(trained).unwrap(), InstallOutcome::Rejected);
    assert_eq!(s.last_forecast(), &before);
}

#[test]
fn retraining_needs_settings_history_and_the_same_model_type() {
    let mut plain = builder().build().unwrap();
    assert!(plain.training_job(RetrainReason::Requested).is_err());
    let live = HoltWinters::params(None).fit(&[300.0; 200]).unwrap();
    let mut s = retraining(HoltWinters::params(Some(96)), live);
    assert!(
        s.training_job(RetrainReason::Requested).is_err(),
        "no history yet"
    );
    let mut noise = noisy(13);
    for i in 0..1_200 {
        s.tick(ts(i), &[seasonal(i, &mut noise), 0.5], POOL)
            .unwrap();
    }
    // A model of another type cannot be installed.
    let mut other = builder()
        .retrain(
            RetrainParams::new(Arc::new(prescient::forecast::SeasonalNaiveParams::new(96)))
                .holdout(300)
                .min_history(1_000),
        )
        .build()
        .unwrap();
    for i in 0..1_200 {
        other
            .tick(ts(i), &[seasonal(i, &mut noise), 0.5], POOL)
            .unwrap();
    }
    let foreign = other
        .training_job(RetrainReason::Requested)
        .unwrap()
        .run()
        .unwrap();
    assert!(s.install(foreign).is_err());
}
