//! The workload fingerprint inside the `Scaler`: computed each tick, carried by the decision,
//! matched with earlier moments, fed to forecasters that take covariates.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use prescient::features::FingerprintParams;
use prescient::regime::RegimeParams;
use prescient::synth::{MixParams, MixWorkload, generate_mix};
use prescient::types::Error as CoreError;
use prescient::{Forecast, Forecaster, PlannerParams, PoolStatus, Scaler, Timestamp};
use std::sync::{Arc, Mutex};

const DAY: usize = 5_760;

fn mix_scaler() -> Scaler {
    let schema = MixWorkload::schema("api").unwrap();
    Scaler::builder(schema, PlannerParams::new(50.0).bounds(1, 500))
        .build()
        .unwrap()
}

#[test]
fn decisions_carry_the_fingerprint_and_the_closest_earlier_moment() {
    let w = generate_mix(&MixParams::new(11).days(3.0).changes_per_day(0.0)).unwrap();
    let mut s = mix_scaler();
    let pool = PoolStatus {
        desired: w.workers,
        ready: w.workers,
    };
    let mut notes = 0;
    let mut about_a_day_ago = 0;
    for i in 0..w.len() {
        let d = s.tick(w.ts(i), w.values(i), pool).unwrap();
        if i < 2 * DAY {
            continue;
        }
        let note = d.regime.expect("fitted and warmed up after two days");
        notes += 1;
        let m = note.nearest.expect("two days of moments are stored");
        // The moment is at least the store's hour old, and the workers it needed are known.
        assert!(d.ts.secs_since(m.ts) >= 3_600.0);
        assert!(m.needed.is_some());
        let lag_hours = d.ts.secs_since(m.ts) / 3_600.0;
        let off = (lag_hours - 24.0 * (lag_hours / 24.0).round()).abs();
        about_a_day_ago += usize::from(off <= 2.0);
        assert!(
            d.explain().contains("fingerprint close to"),
            "{}",
            d.explain()
        );
    }
    assert_eq!(notes, DAY);
    // A diurnal workload looks most like itself at the same time of an earlier day.
    assert!(
        about_a_day_ago > DAY / 2,
        "{about_a_day_ago} of {DAY} matches within 2 h of the time of day"
    );
    let fp = s.regime().unwrap().fingerprint().unwrap();
    assert_eq!(fp.len(), 4);
}

#[test]
fn a_change_of_request_mix_raises_a_regime_alert() {
    // An ordinary service for three days, then uploads become three times as common: a
    // heavier payload, more CPU per request and a longer latency tail at the same request rate.
    let at_secs = 3.0 * 86_400.0 - 3_000.0;
    let p = MixParams::new(7)
        .days(4.0)
        .changes_per_day(0.0)
        .inject(at_secs, &[0.0, 0.0, 0.0, 3f64.ln()]);
    let w = generate_mix(&p).unwrap();
    let mut s = mix_scaler();
    let pool = PoolStatus {
        desired: w.workers,
        ready: w.workers,
    };
    let at = (at_secs / 15.0) as usize;
    let mut alerts_before = 0;
    let mut first_after = None;
    for i in 0..w.len() {
        let d = s.tick(w.ts(i), w.values(i), pool).unwrap();
        let alert = d.regime.is_some_and(|r| r.alert);
        if i < at {
            alerts_before += usize::from(alert);
        } else if alert && first_after.is_none() {
            first_after = Some(i - at);
        }
    }
    // Within the 10-minute ramp and a little more.
    let delay = first_after.expect("the change is flagged");
    assert!(
        delay <= 80,
        "flagged {delay} ticks after the change started"
    );
    assert!(
        alerts_before <= 3,
        "{alerts_before} alerts on the ordinary days"
    );
}

#[test]
fn without_regime_decisions_carry_no_note() {
    let schema = MixWorkload::schema("api").unwrap();
    let mut s = Scaler::builder(schema, PlannerParams::new(50.0))
        .without_regime()
        .build()
        .unwrap();
    let w = generate_mix(&MixParams::new(1).days(1.0)).unwrap();
    let pool = PoolStatus {
        desired: 5,
        ready: 5,
    };
    for i in 0..w.len() {
        assert_eq!(s.tick(w.ts(i), w.values(i), pool).unwrap().regime, None);
    }
    assert!(s.regime().is_none());
}

/// A forecaster that takes `k` covariates and records what it was fed.
struct Recorder {
    k: usize,
    fed: Arc<Mutex<Vec<Vec<f64>>>>,
}

impl Forecaster for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }
    fn update(&mut self, _ts: Timestamp, _y: f64) -> prescient::types::Result<()> {
        Err(CoreError::InvalidParam {
            name: "covariates",
            reason: "expected covariates".into(),
        })
    }
    fn covariates(&self) -> usize {
        self.k
    }
    fn update_with_covariates(
        &mut self,
        _ts: Timestamp,
        _y: f64,
        covariates: &[f64],
    ) -> prescient::types::Result<()> {
        self.fed.lock().unwrap().push(covariates.to_vec());
        Ok(())
    }
    fn is_ready(&self) -> bool {
        false
    }
    fn predict_inplace(
        &self,
        _horizon: usize,
        _level: f64,
        _out: &mut Forecast,
    ) -> prescient::types::Result<()> {
        Err(CoreError::NotReady("the recorder never forecasts"))
    }
    fn reset(&mut self) {}
}

#[test]
fn a_forecaster_that_takes_covariates_gets_the_fingerprint() {
    let fed = Arc::new(Mutex::new(Vec::new()));
    let schema = MixWorkload::schema("api").unwrap();
    let fp = FingerprintParams::new(3).keep_every(1).min_rows(40);
    let mut s = Scaler::builder(schema, PlannerParams::new(50.0))
        .regime(RegimeParams::default().fingerprint(fp))
        .forecaster(Box::new(Recorder {
            k: 3,
            fed: Arc::clone(&fed),
        }))
        .build()
        .unwrap();
    let w = generate_mix(&MixParams::new(2).days(0.1)).unwrap();
    let pool = PoolStatus {
        desired: 5,
        ready: 5,
    };
    for i in 0..100 {
        s.tick(w.ts(i), w.values(i), pool).unwrap();
    }
    let fed = fed.lock().unwrap();
    assert_eq!(fed.len(), 100);
    assert!(fed.iter().all(|c| c.len() == 3));
    // Zeros until the first fit (after 40 rows), then the whitened fingerprint.
    assert!(fed[..39].iter().all(|c| c.iter().all(|v| *v == 0.0)));
    assert!(fed[40..].iter().all(|c| c.iter().any(|v| *v != 0.0)));
    assert_eq!(fed[99], s.regime().unwrap().covariates());
}

#[test]
fn a_forecaster_whose_covariates_the_fingerprint_cannot_give_is_rejected() {
    let schema = MixWorkload::schema("api").unwrap();
    let recorder = |k| {
        Box::new(Recorder {
            k,
            fed: Arc::default(),
        })
    };
    let err = Scaler::builder(schema.clone(), PlannerParams::new(50.0))
        .forecaster(recorder(7))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("7 covariates"), "{err}");
    let err = Scaler::builder(schema, PlannerParams::new(50.0))
        .without_regime()
        .forecaster(recorder(4))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("gives 0"), "{err}");
}

#[test]
fn fingerprint_settings_that_do_not_fit_the_features_are_rejected() {
    let schema = MixWorkload::schema("api").unwrap();
    // 6 metrics × 4 rolling statistics + the load's rate and acceleration: 26 features.
    let err = Scaler::builder(schema, PlannerParams::new(50.0))
        .regime(RegimeParams::default().fingerprint(FingerprintParams::new(27)))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("components"), "{err}");
}
