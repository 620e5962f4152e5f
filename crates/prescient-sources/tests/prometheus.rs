//! The Prometheus source against a real Prometheus server (Debian's package) on loopback.
//!
//! The tests marked `#[ignore]` need the server `.ci/run` starts with
//! `tests/servers/prometheus.sh` (the known series loaded, a live scrape of 127.0.0.1:19464); run
//! them with `cargo test -p prescient-sources --features http -- --ignored`, and set
//! `PRESCIENT_PROMETHEUS_URL` if the server is not at `http://127.0.0.1:19090`. They fail when
//! the server is missing. The others fake a broken server in the test itself.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used)]
// Tests unwrap: a panic is the failure report.
// A live server is waited on, and asked for the present, by the wall clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use common::known_series::{GAP, METRIC, POINTS, SERIES, START_SECS, STEP_SECS, value};
use prescient_core::Timestamp;
use prescient_sources::http::{Blocking, PrometheusSource};
use prescient_sources::{Error, Grid, Point, Source};

fn url() -> String {
    std::env::var("PRESCIENT_PROMETHEUS_URL").unwrap_or_else(|_| "http://127.0.0.1:19090".into())
}

fn grid() -> Grid {
    Grid::new(STEP_SECS as f64, 300.0).unwrap()
}

fn known_source() -> PrometheusSource {
    (0..SERIES).fold(PrometheusSource::new(&url(), grid()).unwrap(), |s, i| {
        s.column(format!("s{i}"), format!("{METRIC}{{series=\"{i}\"}}"))
    })
}

fn t(k: i64) -> Timestamp {
    Timestamp::from_secs(START_SECS + k * STEP_SECS)
}

/// Series `i`'s points as written.
fn known_points(i: usize) -> Vec<Point> {
    (0..POINTS)
        .filter_map(|k| value(i, k).map(|v| Point::new(t(k), v)))
        .collect()
}

#[test]
#[ignore = "needs a Prometheus server at $PRESCIENT_PROMETHEUS_URL (default http://127.0.0.1:19090) with the known series: .ci/run starts one"]
fn backfill_reads_14_days_of_20_series_back_exactly() {
    let mut source = Blocking::new(known_source()).unwrap();
    let started = Instant::now();
    let samples = source.backfill(t(0), t(POINTS - 1)).unwrap();
    eprintln!(
        "backfill of {SERIES} series × {POINTS} points: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(samples.len(), POINTS as usize);
    // Prometheus's lookback rule, computed by our grid over the points as written, is the
    // expectation: the exact value at every grid time, and inside series 0's hour-long gap the
    // last value for 5 minutes, then nothing.
    let g = grid();
    for i in 0..SERIES {
        let points = known_points(i);
        for (k, s) in samples.iter().enumerate() {
            assert_eq!(s.ts, t(k as i64));
            let expected = g.value_at(&points, s.ts);
            let got = s.values[i];
            assert!(
                got == expected || (got.is_nan() && expected.is_nan()),
                "series {i} step {k}: got {got}, expected {expected}"
            );
        }
    }
    let missing = samples.iter().filter(|s| s.values[0].is_nan()).count() as i64;
    assert_eq!(missing, GAP.1 - GAP.0 - 300 / STEP_SECS);
}

#[test]
#[ignore = "needs a Prometheus server at $PRESCIENT_PROMETHEUS_URL (default http://127.0.0.1:19090) with the known series: .ci/run starts one"]
fn backfill_of_a_part_aligns_to_the_grid_and_sums_several_series() {
    let source = PrometheusSource::new(&url(), grid())
        .unwrap()
        .column("sum", format!("{METRIC}{{series=~\"1|2\"}}"))
        .points_per_request(7);
    let mut source = Blocking::new(source).unwrap();
    // Off-grid ends: the first sample is at the next grid time, the last at or before the end.
    let start = t(100).add_secs(1.0);
    let end = t(130).add_secs(14.0);
    let samples = source.backfill(start, end).unwrap();
    assert_eq!(samples.len(), 30);
    for (j, s) in samples.iter().enumerate() {
        let k = 101 + j as i64;
        assert_eq!(s.ts, t(k));
        assert_eq!(s.values[0], value(1, k).unwrap() + value(2, k).unwrap());
    }
}

#[test]
#[ignore = "needs a Prometheus server at $PRESCIENT_PROMETHEUS_URL (default http://127.0.0.1:19090) with the known series: .ci/run starts one"]
fn poll_gives_the_values_at_an_instant() {
    let mut source = Blocking::new(known_source()).unwrap();
    let k = 12_345;
    let sample = source.poll(t(k).add_secs(7.0)).unwrap();
    for (i, &v) in sample.values.iter().enumerate() {
        assert_eq!(v, value(i, k).unwrap(), "series {i}");
    }
    // Long after the last point every series is stale.
    let late = source.poll(t(POINTS + 100)).unwrap();
    assert!(late.values.iter().all(|v| v.is_nan()));
}

#[test]
#[ignore = "needs a Prometheus server at $PRESCIENT_PROMETHEUS_URL (default http://127.0.0.1:19090): .ci/run starts one"]
fn a_bad_query_is_the_servers_error() {
    let source = PrometheusSource::new(&url(), grid())
        .unwrap()
        .column("bad", "rate(");
    let mut source = Blocking::new(source).unwrap();
    let err = source.poll(t(0)).unwrap_err();
    assert!(
        matches!(&err, Error::Backend { backend: "prometheus", query, .. } if query == "rate("),
        "{err}"
    );
}

#[test]
#[ignore = "needs a Prometheus server at $PRESCIENT_PROMETHEUS_URL (default http://127.0.0.1:19090) scraping 127.0.0.1:19464: .ci/run starts one"]
fn the_exporters_page_is_scraped_and_read_back() {
    use prescient::export::{Exporter, MetricsEndpoint};
    use prescient::{MetricRole, PlannerParams, PoolStatus, Scaler, Schema};

    // A Scaler's decisions, exported on the address the test server scrapes, read back from
    // Prometheus through the source: the whole loop a host's dashboard sees. The component is
    // named after this process so that an earlier run's series cannot answer for this one.
    let component = format!("live-test-{}", std::process::id());
    let schema = Schema::builder(component.as_str())
        .metric("rps", MetricRole::Load)
        .build()
        .unwrap();
    let mut scaler = Scaler::builder(schema, PlannerParams::new(50.0).bounds(1, 100))
        .build()
        .unwrap();
    let mut exporter = Exporter::new(&scaler);
    let pool = PoolStatus::settled(2);
    let mut target = 0;
    for k in 0..40 {
        let d = scaler
            .tick(Timestamp::from_secs(15 * k), &[400.0 + k as f64], pool)
            .unwrap();
        exporter.observe(&scaler, &d, pool);
        target = d.target;
    }
    let endpoint = MetricsEndpoint::bind("127.0.0.1:19464").expect("port 19464 is free");
    endpoint.publish(exporter.render_to_string());

    let selector = format!("{{component=\"{component}\"}}");
    let source = PrometheusSource::new(&url(), Grid::new(1.0, 300.0).unwrap())
        .unwrap()
        .column("target", format!("prescient_workers_target{selector}"))
        .column("ticks", format!("prescient_ticks_total{selector}"));
    let mut source = Blocking::new(source).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = vec![f64::NAN; 2];
    while Instant::now() < deadline {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        last = source
            .poll(Timestamp::from_millis(now.as_millis() as i64))
            .unwrap()
            .values;
        if last[0].is_finite() {
            break;
        }
        thread::sleep(Duration::from_millis(250));
    }
    drop(endpoint);
    assert_eq!(
        last,
        [f64::from(target), 40.0],
        "Prometheus never scraped the exporter's page"
    );
}

#[test]
fn an_unreachable_server_is_an_error() {
    let source = PrometheusSource::new("http://127.0.0.1:1", grid())
        .unwrap()
        .column("x", "up");
    let mut source = Blocking::new(source).unwrap();
    let err = source.poll(t(0)).unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    let err = source.backfill(t(0), t(10)).unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
}

#[test]
fn a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts and holds connections without a word.
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(4) {
            held.push(stream);
        }
        thread::sleep(Duration::from_secs(5));
    });
    let source = PrometheusSource::new(&format!("http://{addr}"), grid())
        .unwrap()
        .column("x", "up")
        .timeout(Duration::from_millis(300))
        .unwrap();
    let mut source = Blocking::new(source).unwrap();
    let started = Instant::now();
    let err = source.poll(t(0)).unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

/// Answers every request with `response` verbatim.
fn fake_server(response: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for mut stream in listener.incoming().take(4).flatten() {
            let mut buf = [0_u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    format!("http://{addr}")
}

#[test]
fn an_http_error_or_a_cut_body_is_an_error() {
    let cases = [
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\noverload",
        // The body promises more than it brings, then the connection closes.
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"res",
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\nnot json!",
    ];
    for response in cases {
        let source = PrometheusSource::new(&fake_server(response), grid())
            .unwrap()
            .column("x", "up");
        let mut source = Blocking::new(source).unwrap();
        let err = source.poll(t(0)).unwrap_err();
        eprintln!("{err}");
        assert!(
            matches!(
                err,
                Error::Backend { .. } | Error::Http { .. } | Error::Parse { .. }
            ),
            "{response:?}: {err}"
        );
    }
}

#[test]
fn a_fractional_step_is_refused() {
    let err = PrometheusSource::new(&url(), Grid::new(1.5, 0.0).unwrap()).unwrap_err();
    assert!(
        matches!(err, Error::InvalidParam { name: "step", .. }),
        "{err}"
    );
}
