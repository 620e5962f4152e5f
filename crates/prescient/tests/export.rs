//! The exporter's pages: they parse as the exposition formats say, their values are the
//! decision's, label values are escaped, counters only grow.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use std::collections::{BTreeMap, BTreeSet};

use prescient::actuate::{Applied, DryRun};
use prescient::export::{Exporter, Format};
use prescient::regime::RegimeParams;
use prescient::{
    ActuateError, Actuator, Decision, MetricRole, PlannerParams, PoolStatus, ReasonCode, Scaler,
    Schema, Timestamp,
};

const STEP: i64 = 15;

fn ts(i: i64) -> Timestamp {
    Timestamp::from_secs(1_700_000_000 + STEP * i)
}

fn schema(component: &str, load: &str) -> Schema {
    Schema::builder(component)
        .metric(load, MetricRole::Load)
        .metric("cpu", MetricRole::Utilisation)
        .metric("p99_ms", MetricRole::Latency)
        .build()
        .unwrap()
}

/// A `Scaler` whose seasonal-naive forecaster is ready after 20 ticks.
fn scaler(schema: Schema) -> Scaler {
    let planner = PlannerParams::new(10.0).bounds(1, 200).lead_time_secs(60.0);
    Scaler::builder(schema, planner)
        .season_secs(20.0 * STEP as f64)
        .build()
        .unwrap()
}

/// A daily-ish wave with a burst from tick 120 on.
fn load(i: i64) -> f64 {
    let wave = 300.0 + 100.0 * (i as f64 * std::f64::consts::TAU / 20.0).sin();
    if i >= 120 { wave * 3.0 } else { wave }
}

/// One parsed sample.
#[derive(Debug, Clone, PartialEq)]
struct Parsed {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
    ts: Option<String>,
}

/// A family as its `# TYPE` line declared it.
#[derive(Debug)]
struct FamilyInfo {
    kind: String,
    help: bool,
}

/// Parses a page line by line and checks the rules of `format`; returns every sample.
///
/// Every non-comment line is `name{labels} value [timestamp]`; every family has `# HELP` and
/// `# TYPE` before its samples and is declared once; its samples follow it without another
/// family in between; counters' samples end in `_total`; label values use only the escapes
/// `\\`, `\"` and `\n`.
fn check(page: &str, format: Format) -> Vec<Parsed> {
    assert!(page.ends_with('\n'), "a page ends with a line feed");
    let mut families: BTreeMap<String, FamilyInfo> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut pending_help: Option<String> = None;
    let mut samples = Vec::new();
    let mut seen_eof = false;
    for line in page.lines() {
        assert!(!seen_eof, "nothing after # EOF: {line:?}");
        if line == "# EOF" {
            assert_eq!(format, Format::OpenMetrics, "# EOF only in OpenMetrics");
            seen_eof = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap();
            assert!(!help.is_empty(), "{name} has a help text");
            assert!(!families.contains_key(name), "{name} declared twice");
            pending_help = Some(name.to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(
                pending_help.take().as_deref(),
                Some(name),
                "# HELP right before # TYPE"
            );
            assert!(!families.contains_key(name), "{name} declared twice");
            let kinds: &[&str] = match format {
                Format::Prometheus => &["gauge", "counter"],
                _ => &["gauge", "counter", "info"],
            };
            assert!(kinds.contains(&kind), "{name}: type {kind}");
            if format == Format::Prometheus && kind == "counter" {
                assert!(name.ends_with("_total"), "counter {name} ends in _total");
            }
            assert!(name.starts_with("prescient_"), "{name}");
            families.insert(
                name.to_owned(),
                FamilyInfo {
                    kind: kind.to_owned(),
                    help: true,
                },
            );
            current = Some(name.to_owned());
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment {line:?}");
        let s = parse_sample(line);
        let family = current.as_deref().expect("samples follow a # TYPE");
        let info = &families[family];
        assert!(info.help);
        let expected = match (format, info.kind.as_str()) {
            (Format::OpenMetrics, "counter") => format!("{family}_total"),
            (Format::OpenMetrics, "info") => format!("{family}_info"),
            _ => family.to_owned(),
        };
        assert_eq!(s.name, expected, "sample of family {family}");
        if info.kind == "counter" {
            assert!(s.name.ends_with("_total"));
            assert!(s.value >= 0.0 && s.value.fract() == 0.0, "{line}");
        }
        assert!(s.labels.contains_key("component"), "{line}");
        samples.push(s);
    }
    assert_eq!(
        seen_eof,
        format == Format::OpenMetrics,
        "OpenMetrics ends with # EOF"
    );
    assert!(pending_help.is_none(), "a # HELP without # TYPE");
    // No two samples share a name and label set.
    let keys: BTreeSet<_> = samples
        .iter()
        .map(|s| (s.name.clone(), format!("{:?}", s.labels)))
        .collect();
    assert_eq!(keys.len(), samples.len(), "duplicate series");
    samples
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_sample(line: &str) -> Parsed {
    let name_end = line.find(['{', ' ']).unwrap();
    let name = &line[..name_end];
    assert!(is_name(name), "metric name {name:?}");
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(r) = rest.strip_prefix('{') {
        let mut r = r;
        loop {
            if let Some(after) = r.strip_prefix('}') {
                r = after;
                break;
            }
            let eq = r.find('=').unwrap();
            let key = &r[..eq];
            assert!(is_name(key) && !key.contains(':'), "label name {key:?}");
            r = r[eq + 1..].strip_prefix('"').expect("a quoted label value");
            let mut value = String::new();
            let mut chars = r.char_indices();
            let end = loop {
                let (i, c) = chars.next().expect("the label value is closed");
                match c {
                    '"' => break i,
                    '\\' => match chars.next().unwrap().1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        other => panic!("bad escape \\{other} in {line}"),
                    },
                    c => value.push(c),
                }
            };
            assert!(
                labels.insert(key.to_owned(), value).is_none(),
                "repeated label"
            );
            r = &r[end + 1..];
            if let Some(after) = r.strip_prefix(',') {
                r = after;
            }
        }
        rest = r;
    }
    let rest = rest.strip_prefix(' ').expect("a space before the value");
    let mut parts = rest.split(' ');
    let value = match parts.next().unwrap() {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("value {v:?} in {line}")),
    };
    let ts = parts.next().map(str::to_owned);
    assert!(parts.next().is_none(), "{line}");
    Parsed {
        name: name.to_owned(),
        labels,
        value,
        ts,
    }
}

/// The value of the one sample named `name` whose labels include `labels`.
fn get(samples: &[Parsed], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<_> = samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0].value
}

/// Equal as numbers, or both unknown.
fn same(exported: f64, known: Option<f64>) -> bool {
    match known {
        Some(x) => exported == x,
        None => exported.is_nan(),
    }
}

fn need(n: Option<u32>) -> Option<f64> {
    n.map(f64::from)
}

/// Checks that the page's gauges are `decision`'s and `scaler`'s.
fn gauges_match(samples: &[Parsed], scaler: &Scaler, d: &Decision, pool: PoolStatus) {
    let load_name = &scaler.schema().metrics()[scaler.schema().primary_load()].name;
    assert_eq!(
        get(samples, "prescient_workers_target", &[]),
        f64::from(d.target)
    );
    assert_eq!(
        get(samples, "prescient_workers_desired", &[]),
        f64::from(d.current)
    );
    assert_eq!(
        get(samples, "prescient_workers_ready", &[]),
        f64::from(pool.ready)
    );
    for (source, n) in [
        ("reactive", d.reactive_need),
        ("forecast", d.forecast_need),
        ("anomaly", d.anomaly_need),
    ] {
        let v = get(samples, "prescient_workers_needed", &[("source", source)]);
        assert!(same(v, need(n)), "{source}: {v} vs {n:?}");
    }
    let point = get(
        samples,
        "prescient_forecast_peak_load",
        &[("metric", load_name)],
    );
    let upper = get(
        samples,
        "prescient_forecast_peak_load_upper",
        &[("metric", load_name)],
    );
    let lower = get(
        samples,
        "prescient_forecast_peak_load_lower",
        &[("metric", load_name)],
    );
    assert!(same(point, d.forecast.map(|f| f.peak_point)));
    assert!(same(upper, d.forecast.map(|f| f.peak_upper)));
    match d.forecast {
        Some(f) => {
            let level = format!("{}", f.level);
            let with_level = samples
                .iter()
                .find(|s| s.name == "prescient_forecast_peak_load_upper")
                .unwrap();
            assert_eq!(with_level.labels["level"], level);
            let expected = scaler
                .last_forecast()
                .lower
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(lower, expected);
            assert!(lower <= point && point <= upper, "{lower} {point} {upper}");
        }
        None => assert!(lower.is_nan()),
    }
    assert_eq!(
        get(samples, "prescient_forecast_horizon_seconds", &[]),
        60.0
    );
    assert_eq!(
        get(samples, "prescient_decision_severity", &[]),
        d.severity as u8 as f64
    );
    assert_eq!(
        get(samples, "prescient_decision_timestamp_seconds", &[]),
        d.ts.as_millis() as f64 / 1000.0
    );
    let info = samples
        .iter()
        .find(|s| s.name.starts_with("prescient_decision_info"))
        .unwrap();
    assert_eq!(info.value, 1.0);
    let reason = match d.reason.code {
        ReasonCode::Forecast => "forecast",
        ReasonCode::ReactiveFloor => "reactive_floor",
        ReasonCode::Anomaly => "anomaly",
        ReasonCode::Warmup => "warmup",
        ReasonCode::StaleData => "stale_data",
        _ => "other",
    };
    assert_eq!(info.labels["reason"], reason);
    let constraints: Vec<String> = d
        .reason
        .constraints()
        .map(|c| {
            // `MinBound` → `min_bound`.
            let mut s = String::new();
            for (i, ch) in format!("{c:?}").chars().enumerate() {
                if ch.is_ascii_uppercase() && i > 0 {
                    s.push('_');
                }
                s.push(ch.to_ascii_lowercase());
            }
            s
        })
        .collect();
    assert_eq!(info.labels["constraints"], constraints.join(","));
    for (spec, a) in scaler.schema().metrics().iter().zip(scaler.anomalies()) {
        let m = [("metric", spec.name.as_str())];
        let score = get(samples, "prescient_anomaly_score", &m);
        assert!(same(score, a.detection.map(|d| d.score.value())));
        assert_eq!(
            get(samples, "prescient_anomaly_severity", &m),
            a.severity as u8 as f64
        );
        assert_eq!(
            get(samples, "prescient_anomaly_actionable", &m),
            f64::from(u8::from(a.actionable))
        );
    }
    let regime = get(samples, "prescient_regime_score", &[]);
    assert!(same(regime, d.regime.map(|r| r.score.value())));
    // The feedback loop's view.
    let load = &scaler.schema().metrics()[scaler.schema().primary_load()].name;
    let horizons = ["1".to_owned(), scaler.horizon_steps().to_string()];
    for (a, h) in scaler.forecast_accuracy().iter().zip(&horizons) {
        let l = [("metric", load.as_str()), ("horizon_steps", h.as_str())];
        assert!(same(
            get(samples, "prescient_forecast_error_mae", &l),
            a.map(|a| a.mae)
        ));
        assert!(same(
            get(samples, "prescient_forecast_error_mase", &l),
            a.and_then(|a| a.mase)
        ));
    }
    let (div, _) = scaler.divergences();
    for (kind, d) in ["forecast", "capacity"].iter().zip(div) {
        let v = get(samples, "prescient_divergence_score", &[("kind", kind)]);
        assert!(same(v, d.map(|d| d.score.value())));
    }
    assert_eq!(
        get(samples, "prescient_severity_threshold_factor", &[]),
        scaler.threshold_factor()
    );
}

/// The values that are always known are never NaN.
fn known_values_are_numbers(samples: &[Parsed]) {
    for s in samples {
        let may_be_unknown = matches!(
            s.name.as_str(),
            "prescient_workers_needed"
                | "prescient_forecast_peak_load"
                | "prescient_forecast_peak_load_lower"
                | "prescient_forecast_peak_load_upper"
                | "prescient_anomaly_score"
                | "prescient_regime_score"
                | "prescient_regime_severity"
                | "prescient_forecast_error_mae"
                | "prescient_forecast_error_mase"
                | "prescient_forecast_interval_coverage"
                | "prescient_divergence_score"
        );
        assert!(
            may_be_unknown || s.value.is_finite(),
            "{} {:?} is {}",
            s.name,
            s.labels,
            s.value
        );
    }
}

fn counters(samples: &[Parsed]) -> BTreeMap<String, f64> {
    samples
        .iter()
        .filter(|s| s.name.ends_with("_total"))
        .map(|s| (format!("{}{:?}", s.name, s.labels), s.value))
        .collect()
}

#[test]
fn page_parses_and_carries_the_decisions_values_at_every_tick() {
    let mut s = scaler(schema("checkout", "requests_per_s"));
    let mut exporter = Exporter::new(&s);
    let mut platform = DryRun::new(5);
    let mut page = String::new();
    let mut reasons = BTreeSet::new();
    let mut forecasts = 0;
    for i in 0..200 {
        let pool = PoolStatus {
            desired: platform.current(),
            ready: platform.current().saturating_sub(1),
        };
        let l = load(i);
        // The latency goes missing for a while: its score becomes unknown again.
        let p99 = if (60..70).contains(&i) {
            f64::NAN
        } else {
            40.0
        };
        let d = s
            .tick(ts(i), &[l, l / (10.0 * f64::from(pool.desired)), p99], pool)
            .unwrap();
        exporter.observe(&s, &d, pool);
        exporter.record_apply(&s.apply(&d, &mut platform));
        page.clear();
        exporter.render(&mut page);
        let samples = check(&page, Format::Prometheus);
        gauges_match(&samples, &s, &d, pool);
        known_values_are_numbers(&samples);
        assert_eq!(get(&samples, "prescient_ticks_total", &[]), (i + 1) as f64);
        let decisions: f64 = samples
            .iter()
            .filter(|x| x.name == "prescient_decisions_total")
            .map(|x| x.value)
            .sum();
        assert_eq!(decisions, (i + 1) as f64);
        assert!(samples.iter().all(|x| x.ts.is_none()), "no timestamps");
        assert!(samples.iter().all(|x| x.labels["component"] == "checkout"));
        reasons.insert(format!("{:?}", d.reason.code));
        forecasts += usize::from(d.forecast.is_some());
    }
    assert!(forecasts > 100, "the forecaster was ready: {forecasts}");
    assert!(reasons.len() >= 2, "several reasons were seen: {reasons:?}");
    let samples = check(&page, Format::Prometheus);
    let ups = get(&samples, "prescient_scale_ups_total", &[]);
    assert!(ups >= 1.0, "the burst scaled up");
    assert_eq!(get(&samples, "prescient_actuations_total", &[]), ups);
    assert_eq!(
        get(&samples, "prescient_actuation_failures_total", &[]),
        0.0
    );
}

#[test]
fn before_the_first_decision_only_counters_and_settings_are_exported() {
    let s = scaler(schema("svc", "rps"));
    let exporter = Exporter::new(&s);
    let page = exporter.render_to_string();
    let samples = check(&page, Format::Prometheus);
    for x in &samples {
        assert!(
            x.name.ends_with("_total") || x.name == "prescient_forecast_horizon_seconds",
            "{}",
            x.name
        );
        if x.name.ends_with("_total") {
            assert_eq!(x.value, 0.0, "{}", x.name);
        }
    }
    // Every label value of a counter is there from the start: 5 reasons, 3 metrics × 3 severities.
    assert_eq!(
        samples
            .iter()
            .filter(|x| x.name == "prescient_decisions_total")
            .count(),
        5
    );
    assert_eq!(
        samples
            .iter()
            .filter(|x| x.name == "prescient_anomalies_total")
            .count(),
        9
    );
}

#[test]
fn label_values_are_escaped() {
    let component = "team \"a\"\\shop\nblue";
    let metric = "rps{path=\"/\\\"}\n";
    let mut s = scaler(schema(component, metric));
    let mut exporter = Exporter::new(&s);
    let pool = PoolStatus {
        desired: 2,
        ready: 2,
    };
    let d = s.tick(ts(0), &[100.0, 0.5, 40.0], pool).unwrap();
    exporter.observe(&s, &d, pool);
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let page = Exporter::format(exporter.clone(), format).render_to_string();
        assert!(
            page.contains(r#"component="team \"a\"\\shop\nblue""#),
            "{page}"
        );
        assert!(page.contains(r#"metric="rps{path=\"/\\\"}\n""#), "{page}");
        let samples = check(&page, format);
        assert!(samples.iter().all(|x| x.labels["component"] == component));
        assert_eq!(
            get(
                &samples,
                "prescient_anomaly_severity",
                &[("metric", metric)]
            ),
            0.0
        );
        assert!(page.lines().count() > samples.len());
    }
}

/// An actuator that fails every other call.
struct Flaky {
    workers: u32,
    calls: u32,
}

impl Actuator for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    fn status(&mut self, _now: Timestamp) -> Result<PoolStatus, ActuateError> {
        Ok(PoolStatus {
            desired: self.workers,
            ready: self.workers,
        })
    }
    fn scale(&mut self, _now: Timestamp, d: &Decision) -> Result<Applied, ActuateError> {
        self.calls += 1;
        if self.calls % 2 == 0 {
            return Err(ActuateError::failed("flaky", "refused"));
        }
        self.workers = d.target;
        Ok(Applied { target: d.target })
    }
}

#[test]
fn counters_only_grow_and_count_what_happened() {
    let mut s = scaler(schema("svc", "rps"));
    let mut exporter = Exporter::new(&s);
    let mut platform = Flaky {
        workers: 3,
        calls: 0,
    };
    let mut before = counters(&check(&exporter.render_to_string(), Format::Prometheus));
    let (mut scaled, mut failed, mut polls_failed, mut ups, mut downs) = (0, 0, 0, 0, 0);
    for i in 0..240 {
        let pool = platform.status(ts(i)).unwrap();
        // Every seventh poll fails: the host records it and feeds a missing load.
        let l = if i % 7 == 3 {
            exporter.record_source_failure();
            polls_failed += 1;
            f64::NAN
        } else {
            // Up and down so that the pool moves both ways.
            load(i % 160) * if (i / 40) % 2 == 0 { 1.0 } else { 0.3 }
        };
        let d = s.tick(ts(i), &[l, 0.5, 40.0], pool).unwrap();
        exporter.observe(&s, &d, pool);
        ups += u32::from(d.target > d.current);
        downs += u32::from(d.target < d.current);
        let r = s.apply(&d, &mut platform);
        match &r {
            Ok(prescient::ApplyOutcome::Scaled { .. }) => scaled += 1,
            Err(_) => failed += 1,
            _ => {}
        }
        exporter.record_apply(&r);
        let after = counters(&check(&exporter.render_to_string(), Format::Prometheus));
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>()
        );
        for (k, v) in &after {
            assert!(*v >= before[k], "{k} went from {} to {v}", before[k]);
        }
        before = after;
    }
    let samples = check(&exporter.render_to_string(), Format::Prometheus);
    assert!(failed > 0 && scaled > 0 && ups > 0 && downs > 0);
    assert_eq!(
        get(&samples, "prescient_actuations_total", &[]),
        f64::from(scaled + failed)
    );
    assert_eq!(
        get(&samples, "prescient_actuation_failures_total", &[]),
        f64::from(failed)
    );
    assert_eq!(
        get(&samples, "prescient_source_failures_total", &[]),
        f64::from(polls_failed)
    );
    assert_eq!(
        get(&samples, "prescient_scale_ups_total", &[]),
        f64::from(ups)
    );
    assert_eq!(
        get(&samples, "prescient_scale_downs_total", &[]),
        f64::from(downs)
    );
}

#[test]
fn stale_data_is_exported_as_unknown_needs_and_forecast() {
    let mut s = scaler(schema("svc", "rps"));
    let mut exporter = Exporter::new(&s);
    let pool = PoolStatus {
        desired: 8,
        ready: 8,
    };
    let mut last = None;
    for i in 0..80 {
        let l = if i < 40 { load(i) } else { f64::NAN };
        let d = s.tick(ts(i), &[l, f64::NAN, 40.0], pool).unwrap();
        exporter.observe(&s, &d, pool);
        last = Some(d);
    }
    let d = last.unwrap();
    assert_eq!(d.reason.code, ReasonCode::StaleData);
    let samples = check(&exporter.render_to_string(), Format::Prometheus);
    gauges_match(&samples, &s, &d, pool);
    assert!(get(&samples, "prescient_forecast_peak_load", &[]).is_nan());
    assert!(
        get(
            &samples,
            "prescient_workers_needed",
            &[("source", "reactive")]
        )
        .is_nan()
    );
    assert_eq!(get(&samples, "prescient_workers_target", &[]), 8.0);
    assert!(
        get(
            &samples,
            "prescient_decisions_total",
            &[("reason", "stale_data")]
        ) > 0.0
    );
}

#[test]
fn openmetrics_pages_follow_its_naming_and_end_with_eof() {
    let mut s = scaler(schema("svc", "rps"));
    let mut exporter = Exporter::new(&s).format(Format::OpenMetrics);
    assert_eq!(exporter.page_format(), Format::OpenMetrics);
    let pool = PoolStatus {
        desired: 4,
        ready: 4,
    };
    for i in 0..30 {
        let d = s.tick(ts(i), &[load(i), 0.5, 40.0], pool).unwrap();
        exporter.observe(&s, &d, pool);
    }
    let page = exporter.render_to_string();
    check(&page, Format::OpenMetrics);
    assert!(page.contains("# TYPE prescient_ticks counter\n"));
    assert!(page.contains("# TYPE prescient_decision info\n"));
    assert!(page.contains("prescient_ticks_total{component=\"svc\"} 30\n"));
    assert!(page.ends_with("# EOF\n"));
    assert!(
        Format::OpenMetrics
            .content_type()
            .starts_with("application/openmetrics-text")
    );
    assert_eq!(
        Format::Prometheus.content_type(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
}

#[test]
fn timestamps_are_the_decisions_when_asked_for() {
    let mut s = scaler(schema("svc", "rps"));
    let pool = PoolStatus {
        desired: 4,
        ready: 4,
    };
    let mut exporter = Exporter::new(&s).timestamps(true);
    let d = s
        .tick(
            Timestamp::from_millis(1_700_000_000_250),
            &[100.0, 0.5, 40.0],
            pool,
        )
        .unwrap();
    exporter.observe(&s, &d, pool);
    let samples = check(&exporter.render_to_string(), Format::Prometheus);
    assert!(
        samples
            .iter()
            .all(|x| x.ts.as_deref() == Some("1700000000250"))
    );
    let om = exporter.format(Format::OpenMetrics).render_to_string();
    let samples = check(&om, Format::OpenMetrics);
    assert!(
        samples
            .iter()
            .all(|x| x.ts.as_deref() == Some("1700000000.250"))
    );
}

#[test]
fn several_components_share_one_page() {
    let mut a = scaler(schema("checkout", "rps"));
    let mut b = Scaler::builder(
        Schema::builder("search")
            .metric("qps", MetricRole::Load)
            .build()
            .unwrap(),
        PlannerParams::new(20.0),
    )
    .without_regime()
    .build()
    .unwrap();
    let (mut ea, mut eb) = (Exporter::new(&a), Exporter::new(&b));
    let pool = PoolStatus {
        desired: 3,
        ready: 3,
    };
    for i in 0..5 {
        let d = a.tick(ts(i), &[load(i), 0.5, 40.0], pool).unwrap();
        ea.observe(&a, &d, pool);
        let d = b.tick(ts(i), &[50.0], pool).unwrap();
        eb.observe(&b, &d, pool);
    }
    let mut page = String::new();
    Exporter::render_all(&[&ea, &eb], &mut page);
    let samples = check(&page, Format::Prometheus);
    for component in ["checkout", "search"] {
        assert_eq!(
            samples
                .iter()
                .filter(|x| x.name == "prescient_ticks_total" && x.labels["component"] == component)
                .count(),
            1
        );
    }
    // Only the first has a regime monitor.
    let regimes: Vec<_> = samples
        .iter()
        .filter(|x| x.name == "prescient_regime_score")
        .map(|x| x.labels["component"].as_str())
        .collect();
    assert_eq!(regimes, ["checkout"]);
    let mut empty = String::new();
    Exporter::render_all(&[], &mut empty);
    assert!(empty.is_empty());
}

#[test]
fn the_regime_score_is_exported_once_the_monitor_speaks() {
    let planner = PlannerParams::new(10.0).bounds(1, 200);
    let mut s = Scaler::builder(schema("svc", "rps"), planner)
        .season_secs(20.0 * STEP as f64)
        .regime(RegimeParams::default().warmup(30))
        .build()
        .unwrap();
    let mut exporter = Exporter::new(&s);
    let pool = PoolStatus {
        desired: 4,
        ready: 4,
    };
    let mut spoke = false;
    for i in 0..400 {
        let d = s
            .tick(ts(i), &[load(i), 0.3 + 0.001 * (i % 13) as f64, 40.0], pool)
            .unwrap();
        exporter.observe(&s, &d, pool);
        let samples = check(&exporter.render_to_string(), Format::Prometheus);
        let score = get(&samples, "prescient_regime_score", &[]);
        assert!(same(score, d.regime.map(|r| r.score.value())));
        spoke |= d.regime.is_some();
    }
    assert!(spoke, "the regime monitor gave a note");
}

#[test]
fn rendering_into_a_buffer_of_the_right_size_does_not_grow_it() {
    let mut s = scaler(schema("svc", "rps"));
    let mut exporter = Exporter::new(&s);
    let pool = PoolStatus {
        desired: 4,
        ready: 4,
    };
    let mut page = String::new();
    for i in 0..50 {
        let d = s.tick(ts(i), &[load(i), 0.5, 40.0], pool).unwrap();
        exporter.observe(&s, &d, pool);
    }
    exporter.render(&mut page);
    let len = page.len();
    page.reserve(1024);
    let capacity = page.capacity();
    for _ in 0..10 {
        page.clear();
        exporter.render(&mut page);
        assert_eq!(page.len(), len);
        assert_eq!(page.capacity(), capacity);
    }
    // `render` appends: a host can put its own metrics on the same page.
    exporter.render(&mut page);
    assert_eq!(page.len(), 2 * len);
}

#[test]
fn exporters_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Exporter>();
    assert_send_sync::<Format>();
}

/// Prometheus's own linter, `promtool check metrics`, reads the page and has nothing to say
/// about it (names, units, help texts, counter suffixes). It needs Debian's `prometheus`
/// package, so a plain `cargo test` skips it; `.ci/run` installs the package and runs it.
#[test]
#[ignore = "needs promtool (Debian's prometheus package); .ci/run runs it"]
fn promtool_finds_nothing_to_lint() {
    use std::process::{Command, Stdio};
    let mut s = scaler(schema("checkout", "requests_per_s"));
    let mut exporter = Exporter::new(&s);
    let pool = PoolStatus {
        desired: 4,
        ready: 3,
    };
    for i in 0..130 {
        let d = s.tick(ts(i), &[load(i), 0.5, 40.0], pool).unwrap();
        exporter.observe(&s, &d, pool);
    }
    exporter.record_source_failure();
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (apt-get install prometheus)");
    let mut stdin = promtool.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, exporter.render_to_string().as_bytes()).unwrap();
    drop(stdin);
    let out = promtool.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool: {said}");
    assert_eq!(said.trim(), "", "promtool has lint findings");
}

/// The endpoint's tests are in `tests/endpoint.rs`, behind the feature; a plain `cargo test`
/// says it skipped them.
#[cfg(not(feature = "metrics-endpoint"))]
#[test]
fn endpoint_tests_skipped_without_the_feature_metrics_endpoint() {
    eprintln!(
        "skipped: the MetricsEndpoint tests; run `cargo test -p prescient --features metrics-endpoint`"
    );
}

mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// A name with at least one visible character, weighted towards what needs escaping.
    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            2 => "[a-z_]{1,12}",
            2 => r#"[a-z\\"\n {}=,é]{0,8}[a-z]"#,
            1 => any::<String>().prop_filter("visible", |s| !s.trim().is_empty()),
        ]
    }

    fn nasty() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => 0.0..1_000.0f64,
            1 => any::<f64>(),
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(1e308),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn prop_any_names_and_values_give_a_page_that_parses(
            component in name(),
            load_name in name(),
            other in name(),
            values in proptest::collection::vec((nasty(), nasty()), 1..40),
            om in any::<bool>(),
        ) {
            prop_assume!(load_name != other);
            let schema = Schema::builder(component.clone())
                .metric(load_name.clone(), MetricRole::Load)
                .metric(other.clone(), MetricRole::Custom)
                .build()
                .unwrap();
            let format = if om { Format::OpenMetrics } else { Format::Prometheus };
            let mut s = scaler(schema);
            let mut exporter = Exporter::new(&s).format(format).timestamps(true);
            let pool = PoolStatus { desired: 3, ready: 2 };
            for (i, (a, b)) in values.iter().enumerate() {
                let d = s.tick(ts(i as i64), &[*a, *b], pool).unwrap();
                exporter.observe(&s, &d, pool);
            }
            let samples = check(&exporter.render_to_string(), format);
            known_values_are_numbers(&samples);
            for x in &samples {
                prop_assert_eq!(&x.labels["component"], &component);
                if let Some(m) = x.labels.get("metric") {
                    prop_assert!(m == &load_name || m == &other, "{:?}", m);
                }
            }
        }
    }
}
