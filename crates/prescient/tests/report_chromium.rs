//! The run report in a real browser: headless Chromium loads the page from a file, runs its
//! load handler, and dumps the DOM, in which every chart's SVG has plotted paths, the decision
//! table has rows and no error was recorded.
//!
//! Ignored by default because it needs Chromium: `PRESCIENT_CHROMIUM` names the binary
//! (`chromium` when unset). Run it with
//! `cargo test -p prescient --features report --test report_chromium -- --include-ignored`.

#![cfg(feature = "report")]
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use std::path::{Path, PathBuf};
use std::process::Command;

use prescient::actuate::SimulatedPool;
use prescient::report::{RecorderParams, RunRecorder, render_html};
use prescient::synth::{ServiceModel, WorkloadParams, generate};
use prescient::{Actuator, PlannerParams, Scaler};

/// The charts every report with data has.
const CHARTS: [&str; 5] = [
    "chart-load",
    "chart-workers",
    "chart-anomalies",
    "chart-error",
    "chart-coverage",
];

/// A fresh, empty folder under the system's temporary folder.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("prescient-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A seeded day and a half of a synthetic web service (all its metrics), scaled and recorded.
fn report_page() -> String {
    let w = generate(&WorkloadParams::web_service(11).span_secs(1.5 * 86_400.0)).unwrap();
    let schema = ServiceModel::schema("web").unwrap();
    let capacity = 20.0;
    let planner = PlannerParams::new(capacity)
        .bounds(1, 200)
        .lead_time_secs(120.0);
    let mut scaler = Scaler::builder(schema, planner)
        .step_secs(w.step_secs)
        .season_secs(6.0 * 3600.0)
        .build()
        .unwrap();
    let params = RecorderParams::new(w.step_secs, scaler.horizon_steps())
        .title("web service <seed 11>")
        .max_buckets(256);
    let mut rec = RunRecorder::new(params).unwrap();
    let mut pool = SimulatedPool::new(8, 120.0).unwrap();
    let mut svc = ServiceModel::new(capacity, 11).unwrap();
    for (ts, load) in w.iter() {
        let status = pool.status(ts).unwrap();
        let m = svc.observe(ts, load, status.ready, &w.active_anomalies(ts));
        let d = scaler.tick(ts, &m.values(), status).unwrap();
        rec.observe(&scaler, &d, m.load, status);
        scaler.apply(&d, &mut pool).unwrap();
    }
    render_html(&rec.report())
}

/// Runs headless Chromium on `page` and returns the DOM after load.
fn dump_dom(chromium: &str, page: &Path, profile: &Path) -> String {
    let url = format!("file://{}", page.display());
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run Chromium as `{chromium}` ({e}); install Debian's `chromium` or set \
                 PRESCIENT_CHROMIUM to its binary"
            )
        });
    assert!(
        out.status.success(),
        "Chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The text of the element that opens at `from` up to its closing `tag`.
fn element<'a>(dom: &'a str, from: usize, tag: &str) -> &'a str {
    let rest = &dom[from..];
    let end = rest
        .find(&format!("</{tag}>"))
        .unwrap_or_else(|| panic!("no </{tag}>"));
    &rest[..end]
}

#[test]
#[ignore = "needs Chromium: set PRESCIENT_CHROMIUM or install Debian's chromium"]
fn report_loads_in_headless_chromium() {
    let chromium = std::env::var("PRESCIENT_CHROMIUM").unwrap_or_else(|_| "chromium".to_string());
    let dir = temp_dir("report-chromium");
    let profile = dir.join("profile");
    std::fs::create_dir_all(&profile).unwrap();
    let page = dir.join("report.html");
    std::fs::write(&page, report_page()).unwrap();

    let dom = dump_dom(&chromium, &page, &profile);

    // The load handler ran and saw no error.
    let body_at = dom.find("<body").expect("no <body> in the dumped DOM");
    let body_tag = &dom[body_at..body_at + dom[body_at..].find('>').unwrap()];
    assert!(
        body_tag.contains("data-loaded=\"ok\""),
        "the page did not load cleanly: {body_tag}; errors: {}",
        element(&dom, dom.find("id=\"page-errors\"").unwrap(), "div")
    );
    // Every chart was laid out with a width.
    assert!(
        body_tag.contains(&format!("data-charts-shown=\"{}\"", CHARTS.len())),
        "not every chart was shown: {body_tag}"
    );
    for id in CHARTS {
        let at = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no {id}"));
        let fig = element(&dom, at, "figure");
        assert!(fig.contains("<svg"), "{id} has no <svg>");
        let lines = fig.matches("<polyline").count();
        assert!(lines >= 1, "{id} has no plotted line");
    }
    // The band and the severity markers.
    let load = element(&dom, dom.find("id=\"chart-load\"").unwrap(), "figure");
    assert!(load.contains("<polygon"), "the load chart has no band");
    let anomalies = element(&dom, dom.find("id=\"chart-anomalies\"").unwrap(), "figure");
    assert!(
        anomalies.contains("<circle"),
        "no severity marker on the anomaly chart"
    );
    // The decision table has rows.
    let table = element(&dom, dom.find("id=\"decisions\"").unwrap(), "table");
    let rows = table.matches("<tr>").count();
    assert!(rows >= 3, "the decision table has {rows} rows");
    // The title went through escaping and is shown as text.
    assert!(dom.contains("web service &lt;seed 11&gt;"));

    let _ = std::fs::remove_dir_all(&dir);
}
