//! The run recorder and its report: bounded memory over long runs, accuracy figures against a
//! hand-computed case, escaping, a JSON round trip, deterministic pages, empty and NaN runs.

#![cfg(feature = "report")]
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use prescient::actuate::SimulatedPool;
use prescient::report::{RecorderParams, RunRecorder, RunReport, TickInput, render_html};
use prescient::synth::{WorkloadParams, generate};
use prescient::{
    Actuator, Decision, Forecast, MetricRole, PlannerParams, PoolStatus, Reason, ReasonCode,
    Scaler, Schema, Severity, Timestamp,
};

/// A seeded synthetic web service of `hours`, scaled by a `Scaler` whose season is an hour (so
/// its forecasts start early), recorded.
fn synthetic_run(hours: f64, seed: u64, params: impl Fn(usize) -> RecorderParams) -> RunReport {
    let w = generate(&WorkloadParams::web_service(seed).span_secs(hours * 3600.0)).unwrap();
    let schema = Schema::builder("web")
        .metric("rps", MetricRole::Load)
        .build()
        .unwrap();
    let planner = PlannerParams::new(20.0).bounds(1, 100).lead_time_secs(60.0);
    let mut scaler = Scaler::builder(schema, planner)
        .step_secs(w.step_secs)
        .season_secs(3600.0)
        .build()
        .unwrap();
    let mut rec = RunRecorder::new(params(scaler.horizon_steps())).unwrap();
    let mut pool = SimulatedPool::new(5, 60.0).unwrap();
    for (ts, load) in w.iter() {
        let status = pool.status(ts).unwrap();
        let d = scaler.tick(ts, &[load], status).unwrap();
        rec.observe(&scaler, &d, load, status);
        scaler.apply(&d, &mut pool).unwrap();
    }
    rec.report()
}

fn decision(secs: i64, current: u32, target: u32) -> Decision {
    Decision {
        ts: Timestamp::from_secs(secs),
        current,
        target,
        severity: Severity::None,
        forecast: None,
        forecast_need: None,
        reactive_need: None,
        anomaly_need: None,
        reason: Reason::new(ReasonCode::Forecast),
        regime: None,
    }
}

fn forecast(steps: &[(f64, f64, f64)]) -> Forecast {
    let mut f = Forecast::new();
    f.reset(steps.len(), 0.8);
    for &(lower, point, upper) in steps {
        f.push(point, lower, upper);
    }
    f
}

#[test]
fn bucket_count_never_exceeds_its_cap() {
    let mut rec =
        RunRecorder::new(RecorderParams::new(15.0, 3).max_buckets(8).max_changes(4)).unwrap();
    let empty = Forecast::new();
    let n = 10_000;
    for i in 0..n {
        // The target changes every tick, so the change list is bounded too.
        let d = decision(15 * i, 3 + (i % 2) as u32, 3 + ((i + 1) % 2) as u32);
        rec.record(&TickInput {
            load: 100.0 + (i % 7) as f64,
            decision: &d,
            forecast: &empty,
            anomalies: &[],
            pool: PoolStatus::settled(3),
        });
        assert!(rec.buckets() <= 8, "{} buckets at tick {i}", rec.buckets());
    }
    let r = rec.report();
    assert_eq!(r.ticks, n as u64);
    assert!(r.bucket_ticks.is_power_of_two());
    assert_eq!(r.bucket_ticks, 2048);
    assert_eq!(r.buckets.iter().map(|b| b.ticks).sum::<u64>(), n as u64);
    assert!(r.buckets.windows(2).all(|w| w[0].end < w[1].start));
    assert_eq!(r.changes.len(), 4);
    assert_eq!(r.changes_omitted, n as u64 - 4);
    assert_eq!(
        r.changes.last().unwrap().ts,
        Timestamp::from_secs(15 * (n - 1))
    );
    assert_eq!(r.scale_ups + r.scale_downs, n as u64);
}

#[test]
fn a_long_synthetic_run_stays_within_its_caps() {
    // Four days of 15 s ticks: 23,040 ticks into 64 buckets.
    let r = synthetic_run(96.0, 3, |h| {
        RecorderParams::new(15.0, h).max_buckets(64).max_changes(50)
    });
    assert_eq!(r.ticks, 23_040);
    assert!(r.buckets.len() <= 64);
    assert!(r.changes.len() <= 50);
    assert!(r.accuracy[0].accuracy.scored > 20_000);
    assert!(r.worker_hours > 0.0);
}

#[test]
fn accuracy_matches_a_hand_computed_case() {
    let mut rec = RunRecorder::new(RecorderParams::new(60.0, 2)).unwrap();
    let pool = PoolStatus::settled(2);
    let ticks = [
        (0, 10.0, forecast(&[(11.0, 12.0, 13.0), (10.0, 14.0, 20.0)])),
        (
            60,
            13.0,
            forecast(&[(14.0, 15.0, 16.0), (15.0, 16.0, 17.0)]),
        ),
        (120, 13.0, Forecast::new()),
        (180, 16.0, Forecast::new()),
    ];
    for (secs, load, f) in &ticks {
        let d = decision(*secs, 2, 2);
        rec.record(&TickInput {
            load: *load,
            decision: &d,
            forecast: f,
            anomalies: &[],
            pool,
        });
    }
    let r = rec.report();
    // One step ahead: |13 − 12| = 1 (inside [11, 13]), |13 − 15| = 2 (below [14, 16]).
    // Two steps ahead: |13 − 14| = 1 (inside [10, 20]), |16 − 16| = 0 (inside [15, 17]).
    // The naive one-step error: (3 + 0 + 3) / 3 = 2.
    assert_eq!(r.naive_mae, Some(2.0));
    let (h1, h2) = (&r.accuracy[0], &r.accuracy[1]);
    assert_eq!((h1.horizon_steps, h2.horizon_steps), (1, 2));
    assert_eq!(h1.accuracy.scored, 2);
    assert_eq!(h1.accuracy.mae, Some(1.5));
    assert_eq!(h1.accuracy.mase, Some(0.75));
    assert_eq!(h1.accuracy.coverage, Some(0.5));
    assert_eq!(h2.accuracy.scored, 2);
    assert_eq!(h2.accuracy.mae, Some(0.5));
    assert_eq!(h2.accuracy.mase, Some(0.25));
    assert_eq!(h2.accuracy.coverage, Some(1.0));
    assert_eq!((h1.unscored, h2.unscored), (0, 0));
    assert_eq!(h1.level, Some(0.8));
    // Per bucket (one tick each): the one-step forecasts land at 60 s and 120 s.
    let b = &r.buckets;
    assert_eq!(b.len(), 4);
    assert_eq!(b[1].accuracy[0].mae, Some(1.0));
    assert_eq!(b[2].accuracy[0].mae, Some(2.0));
    assert_eq!(b[2].accuracy[0].coverage, Some(0.0));
    assert_eq!(b[2].accuracy[1].mae, Some(1.0));
    assert_eq!(b[3].accuracy[1].mae, Some(0.0));
    assert_eq!((b[1].band_lower, b[1].band_upper), (Some(11.0), Some(13.0)));
    // Two workers for three minutes.
    assert!((r.worker_hours - 0.1).abs() < 1e-12);
    assert_eq!(r.load_mean, Some(13.0));
}

#[test]
fn a_missing_load_leaves_its_forecasts_unscored() {
    let mut rec = RunRecorder::new(RecorderParams::new(60.0, 1)).unwrap();
    let f = forecast(&[(0.0, 1.0, 2.0)]);
    for (secs, load) in [(0, 1.0), (60, f64::NAN), (180, 1.0)] {
        let d = decision(secs, 1, 1);
        rec.record(&TickInput {
            load,
            decision: &d,
            forecast: &f,
            anomalies: &[],
            pool: PoolStatus::settled(1),
        });
    }
    let r = rec.report();
    // The forecast for 60 s met a NaN; the one for 120 s had no tick.
    assert_eq!(r.accuracy[0].unscored, 2);
    assert_eq!(r.accuracy[0].accuracy.scored, 0);
    assert_eq!(r.missing_load, 1);
    // Out of order: counted, ignored.
    let d = decision(100, 1, 1);
    rec.record(&TickInput {
        load: 1.0,
        decision: &d,
        forecast: &f,
        anomalies: &[],
        pool: PoolStatus::settled(1),
    });
    assert_eq!(rec.report().out_of_order, 1);
    assert_eq!(rec.ticks(), 3);
}

#[test]
fn reasons_and_titles_are_escaped() {
    let mut r = synthetic_run(4.0, 1, |h| {
        RecorderParams::new(15.0, h).title("<b>api</b> & co")
    });
    assert!(!r.changes.is_empty());
    r.changes[0].reason = "<script>alert('x')</script>".to_string();
    r.changes[0].explain = "a \"quoted\" <img src=x onerror=alert(1)>".to_string();
    let page = render_html(&r);
    assert!(!page.contains("<script>alert"));
    assert!(!page.contains("<img"));
    assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(page.contains("<title>&lt;b&gt;api&lt;/b&gt; &amp; co</title>"));
    // The page's own script is the only one.
    assert_eq!(page.matches("<script>").count(), 1);
}

#[test]
fn json_round_trip() {
    let r = synthetic_run(6.0, 2, |h| RecorderParams::new(15.0, h));
    let json = r.to_json();
    let back = RunReport::from_json(&json).unwrap();
    assert!(back == r, "the report read back differs");
    assert_eq!(back.to_json(), json);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    for key in [
        "ticks",
        "worker_hours",
        "scale_ups",
        "scale_downs",
        "anomalies",
        "accuracy",
        "buckets",
        "changes",
    ] {
        assert!(v.get(key).is_some(), "{key} missing");
    }
}

#[test]
fn pages_are_deterministic_and_hold_every_chart() {
    let params = |h| RecorderParams::new(15.0, h);
    let a = render_html(&synthetic_run(8.0, 5, params));
    let b = render_html(&synthetic_run(8.0, 5, params));
    assert_eq!(a, b);
    for id in [
        "chart-load",
        "chart-workers",
        "chart-anomalies",
        "chart-error",
        "chart-coverage",
    ] {
        let at = a.find(&format!("id=\"{id}\"")).unwrap();
        let rest = &a[at..];
        let end = rest.find("</figure>").unwrap();
        let fig = &rest[..end];
        assert!(fig.contains("<svg"), "{id} has no svg");
        assert!(fig.contains("<polyline"), "{id} has no line");
    }
    assert!(a.contains("<table id=\"decisions\">"));
    // Nothing is fetched (the SVG namespace is a name, not a fetch).
    assert!(!a.contains("src="));
    assert!(!a.contains("href="));
}

#[test]
fn an_empty_run_renders_a_page_that_says_so() {
    let rec = RunRecorder::new(RecorderParams::new(15.0, 4)).unwrap();
    let r = rec.report();
    assert_eq!(r.ticks, 0);
    let page = render_html(&r);
    assert!(page.contains("id=\"no-data\""));
    assert!(!page.contains("<svg"));
    assert_eq!(RunReport::from_json(&r.to_json()).unwrap(), r);
}

#[test]
fn nan_loads_render_without_panicking() {
    let mut rec = RunRecorder::new(RecorderParams::new(15.0, 2)).unwrap();
    let mut f = Forecast::new();
    f.reset(2, f64::NAN);
    f.push(f64::NAN, f64::NEG_INFINITY, f64::INFINITY);
    f.push(f64::NAN, f64::NAN, f64::NAN);
    for i in 0..50 {
        let d = decision(15 * i, 2, 2);
        rec.record(&TickInput {
            load: f64::NAN,
            decision: &d,
            forecast: &f,
            anomalies: &[],
            pool: PoolStatus::settled(2),
        });
    }
    let r = rec.report();
    assert_eq!(r.missing_load, 50);
    assert_eq!(r.load_mean, None);
    let page = render_html(&r);
    assert!(page.contains("id=\"chart-load\""));
    assert!(page.contains("No data for this chart"));
    assert!(page.contains("id=\"chart-workers\""));
    assert_eq!(RunReport::from_json(&r.to_json()).unwrap(), r);
}

#[test]
fn invalid_params_are_errors() {
    assert!(RunRecorder::new(RecorderParams::new(0.0, 1)).is_err());
    assert!(RunRecorder::new(RecorderParams::new(f64::NAN, 1)).is_err());
    assert!(RunRecorder::new(RecorderParams::new(15.0, 0)).is_err());
    assert!(RunRecorder::new(RecorderParams::new(15.0, 1).max_buckets(7)).is_err());
    assert!(RunRecorder::new(RecorderParams::new(15.0, 1).max_buckets(0)).is_err());
}

#[test]
fn a_single_tick_and_extreme_loads_render() {
    for load in [5.0, 1e300, -1e300, 0.0] {
        let mut rec = RunRecorder::new(RecorderParams::new(15.0, 2)).unwrap();
        let f = forecast(&[(0.0, load, f64::MAX), (0.0, load, f64::MAX)]);
        let d = decision(0, 1, 3);
        rec.record(&TickInput {
            load,
            decision: &d,
            forecast: &f,
            anomalies: &[],
            pool: PoolStatus::settled(1),
        });
        let one = rec.report();
        assert!(render_html(&one).contains("id=\"chart-load\""));
        // A second tick scores the first one's forecast: the band reaches f64::MAX.
        let d = decision(15, 3, 3);
        rec.record(&TickInput {
            load,
            decision: &d,
            forecast: &f,
            anomalies: &[],
            pool: PoolStatus::settled(3),
        });
        let r = rec.report();
        assert_eq!(r.accuracy[0].accuracy.scored, 1);
        let page = render_html(&r);
        assert!(page.contains("id=\"chart-workers\""), "{load}");
        assert!(!page.contains("NaN"), "{load}");
        assert!(RunReport::from_json(&r.to_json()).unwrap() == r);
    }
}
