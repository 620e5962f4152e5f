//! The `Scaler`'s state as Prometheus metrics: forecasts, anomaly scores, severities, worker
//! counts and decision reasons, in the text exposition format a Prometheus server scrapes.
//!
//! ```
//! use prescient::export::Exporter;
//! use prescient::{MetricRole, PlannerParams, PoolStatus, Scaler, Schema, Timestamp};
//!
//! let schema = Schema::builder("checkout").metric("requests_per_s", MetricRole::Load).build()?;
//! let mut scaler = Scaler::builder(schema, PlannerParams::new(50.0)).build()?;
//! let mut exporter = Exporter::new(&scaler);
//! let mut page = String::new();
//!
//! for i in 0..4 {
//!     let pool = PoolStatus { desired: 2, ready: 2 };
//!     let decision = scaler.tick(Timestamp::from_secs(15 * i), &[400.0], pool)?;
//!     exporter.observe(&scaler, &decision, pool);
//!     // A real host publishes the page (or serves it from its own HTTP handler) here.
//!     page.clear();
//!     exporter.render(&mut page);
//! }
//! assert!(page.contains("# TYPE prescient_workers_target gauge\n"));
//! // 400 requests/s at 70% of 50 per worker: 12 workers.
//! assert!(page.contains("prescient_workers_target{component=\"checkout\"} 12\n"));
//! assert!(page.contains("prescient_ticks_total{component=\"checkout\"} 4\n"));
//! assert!(page.contains("prescient_decisions_total{component=\"checkout\",reason=\"warmup\"} 4\n"));
//! # Ok::<(), prescient::Error>(())
//! ```
//!
//! # What is exported
//!
//! Every sample carries the schema's `component` label. Gauges describe the last decision the
//! exporter [observed](Exporter::observe) and appear once it has seen one; counters are kept by
//! the exporter from its creation and always appear, every label value starting at zero so that
//! `rate()` sees the first increment.
//!
//! | family | type | labels | what |
//! |---|---|---|---|
//! | `prescient_workers_target` | gauge | | the decision's target worker count |
//! | `prescient_workers_desired` | gauge | | the platform's desired count the decision started from |
//! | `prescient_workers_ready` | gauge | | the workers serving at that tick |
//! | `prescient_workers_needed` | gauge | `source`: `reactive`, `forecast`, `anomaly` | what each input asked for; `NaN` when it asked nothing |
//! | `prescient_forecast_peak_load` | gauge | `metric` | the highest point forecast of the primary load over the horizon; `NaN` without a forecast |
//! | `prescient_forecast_peak_load_lower` | gauge | `metric`, `level` | the highest lower interval end over the horizon |
//! | `prescient_forecast_peak_load_upper` | gauge | `metric`, `level` | the highest upper interval end over the horizon: what capacity is planned for |
//! | `prescient_forecast_horizon_seconds` | gauge | | how far ahead the planner looks (the lead time) |
//! | `prescient_decision_severity` | gauge | | the combined actionable severity: 0 none, 1 low, 2 medium, 3 high |
//! | `prescient_decision_info` | gauge (info) | `reason`, `constraints` | always 1: why the target is what it is |
//! | `prescient_decision_timestamp_seconds` | gauge | | when the last decision was made (the tick's time) |
//! | `prescient_anomaly_score` | gauge | `metric` | each metric's calibrated anomaly score in \[0, 1\]; `NaN` while warming up or missing |
//! | `prescient_anomaly_severity` | gauge | `metric` | each metric's severity, 0 to 3 |
//! | `prescient_anomaly_actionable` | gauge | `metric` | 1 when the metric's anomaly asks for capacity |
//! | `prescient_regime_score` | gauge | | the workload fingerprint's regime-change score; only with a regime monitor |
//! | `prescient_regime_severity` | gauge | | that score's severity, 0 to 3; only with a regime monitor |
//! | `prescient_forecast_error_mae` | gauge | `metric`, `horizon_steps` | the load forecasts' rolling mean absolute error one step ahead and at the planner's horizon (the feedback loop's); `NaN` before one is scored |
//! | `prescient_forecast_error_mase` | gauge | `metric`, `horizon_steps` | that error scaled by the seasonal naive one-step error; `NaN` when unknown |
//! | `prescient_forecast_interval_coverage` | gauge | `metric`, `horizon_steps`, `level` | the fraction of actual loads inside their forecast interval |
//! | `prescient_divergence_score` | gauge | `kind`: `forecast`, `capacity` | the calibrated divergence of the load from its forecast and of utilisation from the capacity model; `NaN` when not judged |
//! | `prescient_severity_threshold_factor` | gauge | | how far reported outcomes have moved the severity thresholds (1: not at all) |
//! | `prescient_ticks_total` | counter | | decisions observed |
//! | `prescient_decisions_total` | counter | `reason` | decisions by reason code |
//! | `prescient_scale_ups_total` | counter | | decisions whose target is above the desired count |
//! | `prescient_scale_downs_total` | counter | | decisions whose target is below the desired count |
//! | `prescient_anomalies_total` | counter | `metric`, `severity`: `low`, `medium`, `high` | anomalous points: one per metric and tick with a severity of at least low |
//! | `prescient_actuations_total` | counter | | decisions handed to the actuator ([`Exporter::record_apply`]) |
//! | `prescient_actuation_failures_total` | counter | | of those, the ones the actuator failed |
//! | `prescient_source_failures_total` | counter | | failed metric polls ([`Exporter::record_source_failure`]) |
//!
//! Reason codes are `forecast`, `reactive_floor`, `anomaly`, `warmup` and `stale_data`;
//! constraints, comma-separated in a fixed order, are `min_bound`, `max_bound`, `step_limit`,
//! `stabilised` and `cooldown`.
//!
//! # Design
//!
//! - **Summarised forecasts.** The forecast is exported as the decision used it: the peak over
//!   the horizon ([`ForecastSummary`]), with the highest lower and upper
//!   interval ends. If every step's value lies in its interval, the peak lies between those two,
//!   so they are an interval for the peak. Per-step series would add a label per step whose
//!   meaning shifts every tick (step 3 is a different time at each scrape), which graphs badly
//!   and multiplies the series.
//! - **No explanation label.** [`Decision::explain`] names the nearest earlier moment and the
//!   regime score to three decimals, so it changes nearly every tick; as a label value it would
//!   make a new series at each scrape. The `reason` and `constraints` labels take a handful of
//!   values; the sentence belongs in logs.
//! - **Gauges of the last decision, counters of the exporter.** Rendering reads only the
//!   exporter, not the `Scaler`: a host can observe on its tick loop and render on its HTTP
//!   thread (with the exporter behind a lock), and rendering never waits for a tick.
//! - **No per-scrape allocation.** Label values are escaped once when the exporter is made,
//!   numbers are written straight into the output, and [`Exporter::render`] appends to a
//!   caller's `String` that can be reused from scrape to scrape.
//! - **Unknown is `NaN`, not absent.** A need the planner did not compute, a score while a
//!   detector warms up or a forecast not yet ready is `NaN`, so every series exists from the
//!   first decision and a dashboard shows a gap rather than a stale line.
//!
//! # Serving the page
//!
//! With the feature `metrics-endpoint`, `MetricsEndpoint` (in this module) serves the page from a small
//! `std::net` server of its own. A host that already runs an HTTP server mounts the exporter in
//! its own handler instead; with axum, for example:
//!
//! ```rust,ignore
//! use std::sync::{Arc, Mutex};
//! use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
//! use prescient::export::{Exporter, Format};
//!
//! async fn metrics(State(exporter): State<Arc<Mutex<Exporter>>>) -> impl IntoResponse {
//!     let mut page = String::with_capacity(8 * 1024);
//!     exporter.lock().expect("not poisoned").render(&mut page);
//!     ([(header::CONTENT_TYPE, Format::Prometheus.content_type())], page)
//! }
//!
//! // The tick loop calls `exporter.lock()?.observe(&scaler, &decision, pool)` after each tick.
//! let app = Router::new().route("/metrics", get(metrics)).with_state(exporter);
//! ```
//!
//! hyper and actix-web are the same: lock, [`render`](Exporter::render) into a `String`, answer
//! with [`Format::content_type`]. To put several components on one page, render them together
//! with [`Exporter::render_all`] (each family's `# HELP` and `# TYPE` must appear once).

use std::fmt::{self, Write};

use prescient_actuate::PoolStatus;
use prescient_core::{
    Constraint, Decision, ForecastSummary, Reason, ReasonCode, RegimeNote, Severity, Timestamp,
};

use crate::{ApplyOutcome, Scaler};

#[cfg(feature = "metrics-endpoint")]
mod endpoint;
#[cfg(feature = "metrics-endpoint")]
pub use endpoint::{EndpointParams, MetricsEndpoint};

/// The exposition format of a rendered page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Prometheus's text format, version 0.0.4: what every Prometheus server and most agents
    /// scrape.
    #[default]
    Prometheus,
    /// OpenMetrics 1.0 text: counter families named without `_total`, the decision's reason as
    /// an `info` family, timestamps in seconds and a closing `# EOF`.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` a server answers with for a page in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Renders a [`Scaler`]'s decisions, forecasts and anomalies as Prometheus metrics, and counts
/// what happened across ticks.
///
/// Make one per `Scaler` with [`Exporter::new`], hand it each decision with
/// [`Exporter::observe`], report actuations with [`Exporter::record_apply`] and failed metric
/// polls with [`Exporter::record_source_failure`], and [`render`](Exporter::render) the page
/// when scraped. The [module documentation](self) lists the metrics.
///
/// # Example
///
/// ```
/// use prescient::actuate::DryRun;
/// use prescient::export::{Exporter, Format};
/// use prescient::{MetricRole, PlannerParams, PoolStatus, Scaler, Schema, Timestamp};
///
/// let schema = Schema::builder("api")
///     .metric("rps", MetricRole::Load)
///     .metric("cpu", MetricRole::Utilisation)
///     .build()?;
/// let mut scaler = Scaler::builder(schema, PlannerParams::new(50.0).bounds(1, 20)).build()?;
/// let mut platform = DryRun::new(2);
/// let mut exporter = Exporter::new(&scaler).format(Format::OpenMetrics);
///
/// let pool = PoolStatus { desired: 2, ready: 2 };
/// let decision = scaler.tick(Timestamp::from_secs(0), &[400.0, 0.9], pool)?;
/// exporter.observe(&scaler, &decision, pool);
/// let applied = scaler.apply(&decision, &mut platform);
/// exporter.record_apply(&applied);
/// applied?;
///
/// let page = exporter.render_to_string();
/// assert!(page.contains("prescient_workers_target{component=\"api\"} 12\n"));
/// assert!(page.contains("prescient_scale_ups_total{component=\"api\"} 1\n"));
/// assert!(page.contains("prescient_actuations_total{component=\"api\"} 1\n"));
/// assert!(page.contains(
///     "prescient_decision_info{component=\"api\",reason=\"warmup\",constraints=\"\"} 1\n"
/// ));
/// // No detector has an opinion after one tick: the scores are not known yet.
/// assert!(page.contains("prescient_anomaly_score{component=\"api\",metric=\"cpu\"} NaN\n"));
/// assert!(page.ends_with("# EOF\n"));
/// # Ok::<(), prescient::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Exporter {
    format: Format,
    timestamps: bool,
    /// The component's name, escaped as a label value.
    component: String,
    /// The metrics' names in schema order, escaped as label values.
    metrics: Vec<String>,
    load_metric: usize,
    horizon_secs: f64,
    /// The tracked forecast horizons, in steps, as label values.
    horizon_labels: [String; 2],
    has_regime: bool,
    /// The forecast level and its label value (rewritten only when the level changes).
    level: f64,
    level_label: String,
    last: Option<Observation>,
    anomalies: Vec<AnomalyState>,
    counters: Counters,
}

/// The gauges' values at the last observed decision.
#[derive(Debug, Clone, Copy)]
struct Observation {
    ts: Timestamp,
    target: u32,
    current: u32,
    ready: u32,
    severity: Severity,
    forecast: Option<ForecastSummary>,
    /// The highest finite lower interval end over the horizon, `NaN` when unknown.
    peak_lower: f64,
    reactive_need: Option<u32>,
    forecast_need: Option<u32>,
    anomaly_need: Option<u32>,
    reason: Reason,
    regime: Option<RegimeNote>,
    accuracy: [Option<prescient_forecast::Accuracy>; 2],
    divergence: [f64; 2],
    threshold_factor: f64,
}

/// One metric's anomaly at the last observed decision.
#[derive(Debug, Clone, Copy)]
struct AnomalyState {
    /// The calibrated score, `NaN` while the detectors have no opinion.
    score: f64,
    severity: Severity,
    actionable: bool,
}

impl Default for AnomalyState {
    fn default() -> Self {
        AnomalyState {
            score: f64::NAN,
            severity: Severity::None,
            actionable: false,
        }
    }
}

/// The reason codes, in the order of their counters, with their label values.
const REASONS: [(ReasonCode, &str); 5] = [
    (ReasonCode::Forecast, "forecast"),
    (ReasonCode::ReactiveFloor, "reactive_floor"),
    (ReasonCode::Anomaly, "anomaly"),
    (ReasonCode::Warmup, "warmup"),
    (ReasonCode::StaleData, "stale_data"),
];

/// The constraints with their label values, in the order they are listed.
const CONSTRAINTS: [(Constraint, &str); 5] = [
    (Constraint::MinBound, "min_bound"),
    (Constraint::MaxBound, "max_bound"),
    (Constraint::StepLimit, "step_limit"),
    (Constraint::Stabilised, "stabilised"),
    (Constraint::Cooldown, "cooldown"),
];

/// The severities an anomaly counter is kept for, with their label values.
const SEVERITIES: [(Severity, &str); 3] = [
    (Severity::Low, "low"),
    (Severity::Medium, "medium"),
    (Severity::High, "high"),
];

#[derive(Debug, Clone, Default)]
struct Counters {
    ticks: u64,
    /// By [`REASONS`], then a last slot for a reason code this exporter does not know.
    decisions: [u64; REASONS.len() + 1],
    scale_ups: u64,
    scale_downs: u64,
    /// Per metric, by [`SEVERITIES`].
    anomalies: Vec<[u64; SEVERITIES.len()]>,
    actuations: u64,
    actuation_failures: u64,
    source_failures: u64,
}

impl Exporter {
    /// An exporter for `scaler`'s component and metrics, in the Prometheus 0.0.4 format without
    /// timestamps, with every counter at zero.
    pub fn new(scaler: &Scaler) -> Self {
        let schema = scaler.schema();
        let metrics: Vec<String> = schema
            .metrics()
            .iter()
            .map(|m| escape_label_value(&m.name))
            .collect();
        Exporter {
            format: Format::Prometheus,
            timestamps: false,
            component: escape_label_value(schema.component()),
            anomalies: vec![AnomalyState::default(); metrics.len()],
            counters: Counters {
                anomalies: vec![[0; SEVERITIES.len()]; metrics.len()],
                ..Counters::default()
            },
            metrics,
            load_metric: schema.primary_load(),
            horizon_secs: scaler.planner().params().lead_time(),
            horizon_labels: ["1".to_owned(), scaler.horizon_steps().max(1).to_string()],
            has_regime: scaler.regime().is_some(),
            level: f64::NAN,
            level_label: String::new(),
            last: None,
        }
    }

    /// Renders in `format` (default [`Format::Prometheus`]).
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// Whether every sample carries the last decision's time as its timestamp (default off).
    ///
    /// Prometheus then stores the samples at the tick's time rather than the scrape's, which
    /// suits replays and hosts whose ticks lag their scrapes; a live exporter is better off
    /// without, since Prometheus drops samples it considers too old or out of order.
    pub fn timestamps(mut self, on: bool) -> Self {
        self.timestamps = on;
        self
    }

    /// The format pages are rendered in.
    pub fn page_format(&self) -> Format {
        self.format
    }

    /// Takes in a decision `scaler` has just made, with the pool status the host passed to
    /// [`Scaler::tick`]: the gauges show it from now on, and the counters count it.
    ///
    /// Call it right after the tick, before the next one: the per-metric anomalies and the
    /// forecast's lower interval ends are read from `scaler`, which only holds the last tick's.
    pub fn observe(&mut self, scaler: &Scaler, decision: &Decision, pool: PoolStatus) {
        let c = &mut self.counters;
        c.ticks += 1;
        let slot = REASONS
            .iter()
            .position(|(code, _)| *code == decision.reason.code)
            .unwrap_or(REASONS.len());
        c.decisions[slot] += 1;
        if decision.target > decision.current {
            c.scale_ups += 1;
        } else if decision.target < decision.current {
            c.scale_downs += 1;
        }
        for ((state, counts), a) in self
            .anomalies
            .iter_mut()
            .zip(c.anomalies.iter_mut())
            .zip(scaler.anomalies())
        {
            *state = AnomalyState {
                score: a.detection.map_or(f64::NAN, |d| d.score.value()),
                severity: a.severity,
                actionable: a.actionable,
            };
            if let Some(i) = SEVERITIES.iter().position(|(s, _)| *s == a.severity) {
                counts[i] += 1;
            }
        }
        let level = decision
            .forecast
            .map_or(scaler.last_forecast().level, |f| f.level);
        if level != self.level && level.is_finite() {
            self.level = level;
            self.level_label.clear();
            // Writing to a `String` cannot fail.
            let _ = write_value(&mut self.level_label, Value::Float(level));
        }
        let peak_lower = match decision.forecast {
            Some(_) => scaler
                .last_forecast()
                .lower
                .iter()
                .copied()
                .filter(|x| x.is_finite())
                .reduce(f64::max)
                .unwrap_or(f64::NAN),
            None => f64::NAN,
        };
        self.last = Some(Observation {
            ts: decision.ts,
            target: decision.target,
            current: decision.current,
            ready: pool.ready,
            severity: decision.severity,
            forecast: decision.forecast,
            peak_lower,
            reactive_need: decision.reactive_need,
            forecast_need: decision.forecast_need,
            anomaly_need: decision.anomaly_need,
            reason: decision.reason,
            regime: decision.regime,
            accuracy: scaler.forecast_accuracy(),
            divergence: scaler
                .divergences()
                .0
                .map(|d| d.map_or(f64::NAN, |d| d.score.value())),
            threshold_factor: scaler.threshold_factor(),
        });
    }

    /// Counts what [`Scaler::apply`] (or [`Scaler::apply_async`]) returned: a decision that
    /// reached the actuator counts as an actuation, and an error as a failed one too. Decisions
    /// not handed to the actuator (unchanged, or forecast-only) count nothing.
    pub fn record_apply(&mut self, result: &crate::Result<ApplyOutcome>) {
        match result {
            Ok(ApplyOutcome::Scaled { .. }) => self.counters.actuations += 1,
            Ok(ApplyOutcome::Unchanged | ApplyOutcome::ForecastOnly) => {}
            Err(_) => {
                self.counters.actuations += 1;
                self.counters.actuation_failures += 1;
            }
        }
    }

    /// Counts a poll of the metrics that failed (the source did not answer, or answered
    /// something unusable).
    pub fn record_source_failure(&mut self) {
        self.counters.source_failures += 1;
    }

    /// Appends the page to `out`; clear the `String` first to reuse it from scrape to scrape.
    pub fn render(&self, out: &mut String) {
        // Writing to a `String` cannot fail.
        let _ = self.write(out);
    }

    /// The page, in a new `String`.
    pub fn render_to_string(&self) -> String {
        let mut out = String::with_capacity(4096);
        self.render(&mut out);
        out
    }

    /// Writes the page to any [`fmt::Write`].
    ///
    /// # Errors
    ///
    /// Only the writer's own errors.
    pub fn write<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        write_page(&[self], self.format, w)
    }

    /// Appends one page with the metrics of every exporter in `exporters` (one per component):
    /// each family's `# HELP` and `# TYPE` once, then every component's samples. The page is in
    /// the first exporter's format; an empty slice renders an empty page.
    pub fn render_all(exporters: &[&Exporter], out: &mut String) {
        let Some(first) = exporters.first() else {
            return;
        };
        // Writing to a `String` cannot fail.
        let _ = write_page(exporters, first.format, out);
    }

    /// The samples of `family`, if this exporter has any.
    fn has(&self, family: Family) -> bool {
        match family.kind() {
            Kind::Counter => true,
            _ if family == Family::ForecastHorizon => true,
            _ if matches!(family, Family::RegimeScore | Family::RegimeSeverity) => {
                self.has_regime && self.last.is_some()
            }
            _ => self.last.is_some(),
        }
    }

    fn write_samples<W: Write + ?Sized>(&self, family: Family, p: &mut Page<'_, W>) -> fmt::Result {
        let ts = if self.timestamps {
            self.last.map(|o| o.ts)
        } else {
            None
        };
        let s = Sample {
            family,
            component: &self.component,
            ts,
        };
        let c = &self.counters;
        let count = |n: u64| Value::Count(n);
        match family {
            Family::ForecastHorizon => return p.one(&s, &[], Value::Float(self.horizon_secs)),
            Family::Ticks => return p.one(&s, &[], count(c.ticks)),
            Family::Decisions => {
                for (i, (_, label)) in REASONS.iter().enumerate() {
                    p.one(&s, &[("reason", label)], count(c.decisions[i]))?;
                }
                let other = c.decisions[REASONS.len()];
                if other > 0 {
                    p.one(&s, &[("reason", "other")], count(other))?;
                }
                return Ok(());
            }
            Family::ScaleUps => return p.one(&s, &[], count(c.scale_ups)),
            Family::ScaleDowns => return p.one(&s, &[], count(c.scale_downs)),
            Family::Anomalies => {
                for (name, counts) in self.metrics.iter().zip(&c.anomalies) {
                    for ((_, label), n) in SEVERITIES.iter().zip(counts) {
                        p.one(&s, &[("metric", name), ("severity", label)], count(*n))?;
                    }
                }
                return Ok(());
            }
            Family::Actuations => return p.one(&s, &[], count(c.actuations)),
            Family::ActuationFailures => return p.one(&s, &[], count(c.actuation_failures)),
            Family::SourceFailures => return p.one(&s, &[], count(c.source_failures)),
            _ => {}
        }
        let Some(o) = &self.last else {
            return Ok(());
        };
        let workers = |n: u32| Value::Float(f64::from(n));
        let need = |n: Option<u32>| Value::Float(n.map_or(f64::NAN, f64::from));
        let load = &self.metrics[self.load_metric.min(self.metrics.len().saturating_sub(1))];
        match family {
            Family::WorkersTarget => p.one(&s, &[], workers(o.target)),
            Family::WorkersDesired => p.one(&s, &[], workers(o.current)),
            Family::WorkersReady => p.one(&s, &[], workers(o.ready)),
            Family::WorkersNeeded => {
                p.one(&s, &[("source", "reactive")], need(o.reactive_need))?;
                p.one(&s, &[("source", "forecast")], need(o.forecast_need))?;
                p.one(&s, &[("source", "anomaly")], need(o.anomaly_need))
            }
            Family::ForecastPoint => {
                let v = o.forecast.map_or(f64::NAN, |f| f.peak_point);
                p.one(&s, &[("metric", load)], Value::Float(v))
            }
            Family::ForecastLower => p.one(
                &s,
                &[("metric", load), ("level", &self.level_label)],
                Value::Float(o.peak_lower),
            ),
            Family::ForecastUpper => {
                let v = o.forecast.map_or(f64::NAN, |f| f.peak_upper);
                p.one(
                    &s,
                    &[("metric", load), ("level", &self.level_label)],
                    Value::Float(v),
                )
            }
            Family::DecisionSeverity => p.one(&s, &[], severity(o.severity)),
            Family::DecisionInfo => {
                p.open(&s)?;
                p.label("reason", reason_label(o.reason.code))?;
                p.w.write_str(",constraints=\"")?;
                for (i, c) in o.reason.constraints().enumerate() {
                    if i > 0 {
                        p.w.write_char(',')?;
                    }
                    p.w.write_str(constraint_label(c))?;
                }
                p.w.write_char('"')?;
                p.close(&s, Value::Count(1))
            }
            Family::DecisionTimestamp => {
                p.one(&s, &[], Value::Float(o.ts.as_millis() as f64 / 1000.0))
            }
            Family::AnomalyScore => {
                for (name, a) in self.metrics.iter().zip(&self.anomalies) {
                    p.one(&s, &[("metric", name)], Value::Float(a.score))?;
                }
                Ok(())
            }
            Family::AnomalySeverity => {
                for (name, a) in self.metrics.iter().zip(&self.anomalies) {
                    p.one(&s, &[("metric", name)], severity(a.severity))?;
                }
                Ok(())
            }
            Family::AnomalyActionable => {
                for (name, a) in self.metrics.iter().zip(&self.anomalies) {
                    p.one(
                        &s,
                        &[("metric", name)],
                        Value::Count(u64::from(a.actionable)),
                    )?;
                }
                Ok(())
            }
            Family::RegimeScore => {
                let v = o.regime.map_or(f64::NAN, |r| r.score.value());
                p.one(&s, &[], Value::Float(v))
            }
            Family::RegimeSeverity => {
                let v = o
                    .regime
                    .map_or(Value::Float(f64::NAN), |r| severity(r.severity));
                p.one(&s, &[], v)
            }
            Family::ForecastMae | Family::ForecastMase | Family::ForecastCoverage => {
                // A single tracked horizon (a lead time of one step) is written once.
                let n = if self.horizon_labels[1] == self.horizon_labels[0] {
                    1
                } else {
                    2
                };
                for (a, h) in o.accuracy.iter().zip(&self.horizon_labels).take(n) {
                    let v = match family {
                        Family::ForecastMae => a.map_or(f64::NAN, |a| a.mae),
                        Family::ForecastMase => a.and_then(|a| a.mase).unwrap_or(f64::NAN),
                        _ => a.map_or(f64::NAN, |a| a.coverage),
                    };
                    if family == Family::ForecastCoverage {
                        p.one(
                            &s,
                            &[
                                ("metric", load),
                                ("horizon_steps", h),
                                ("level", &self.level_label),
                            ],
                            Value::Float(v),
                        )?;
                    } else {
                        p.one(
                            &s,
                            &[("metric", load), ("horizon_steps", h)],
                            Value::Float(v),
                        )?;
                    }
                }
                Ok(())
            }
            Family::DivergenceScore => {
                p.one(&s, &[("kind", "forecast")], Value::Float(o.divergence[0]))?;
                p.one(&s, &[("kind", "capacity")], Value::Float(o.divergence[1]))
            }
            Family::ThresholdFactor => p.one(&s, &[], Value::Float(o.threshold_factor)),
            _ => Ok(()),
        }
    }
}

/// Writes one page with the samples of every exporter, each family's header once.
fn write_page<W: Write + ?Sized>(
    exporters: &[&Exporter],
    format: Format,
    w: &mut W,
) -> fmt::Result {
    let mut p = Page { w, format };
    for family in Family::ALL {
        if !exporters.iter().any(|e| e.has(family)) {
            continue;
        }
        p.header(family)?;
        for e in exporters {
            if e.has(family) {
                e.write_samples(family, &mut p)?;
            }
        }
    }
    p.end()
}

fn severity(s: Severity) -> Value {
    Value::Count(match s {
        Severity::None => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
    })
}

fn reason_label(code: ReasonCode) -> &'static str {
    REASONS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("other", |(_, label)| label)
}

fn constraint_label(c: Constraint) -> &'static str {
    CONSTRAINTS
        .iter()
        .find(|(k, _)| *k == c)
        .map_or("other", |(_, label)| label)
}

/// A family's type as Prometheus 0.0.4 names it; `Info` is a gauge there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
    Info,
}

/// Every family, in page order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    WorkersTarget,
    WorkersDesired,
    WorkersReady,
    WorkersNeeded,
    ForecastPoint,
    ForecastLower,
    ForecastUpper,
    ForecastHorizon,
    DecisionSeverity,
    DecisionInfo,
    DecisionTimestamp,
    AnomalyScore,
    AnomalySeverity,
    AnomalyActionable,
    RegimeScore,
    RegimeSeverity,
    ForecastMae,
    ForecastMase,
    ForecastCoverage,
    DivergenceScore,
    ThresholdFactor,
    Ticks,
    Decisions,
    ScaleUps,
    ScaleDowns,
    Anomalies,
    Actuations,
    ActuationFailures,
    SourceFailures,
}

impl Family {
    const ALL: [Family; 29] = [
        Family::WorkersTarget,
        Family::WorkersDesired,
        Family::WorkersReady,
        Family::WorkersNeeded,
        Family::ForecastPoint,
        Family::ForecastLower,
        Family::ForecastUpper,
        Family::ForecastHorizon,
        Family::DecisionSeverity,
        Family::DecisionInfo,
        Family::DecisionTimestamp,
        Family::AnomalyScore,
        Family::AnomalySeverity,
        Family::AnomalyActionable,
        Family::RegimeScore,
        Family::RegimeSeverity,
        Family::ForecastMae,
        Family::ForecastMase,
        Family::ForecastCoverage,
        Family::DivergenceScore,
        Family::ThresholdFactor,
        Family::Ticks,
        Family::Decisions,
        Family::ScaleUps,
        Family::ScaleDowns,
        Family::Anomalies,
        Family::Actuations,
        Family::ActuationFailures,
        Family::SourceFailures,
    ];

    /// The family's name (without the `_total` of a counter's samples or the `_info` of an info
    /// family's), its kind and its help text (no backslash, no line break).
    fn meta(self) -> (&'static str, Kind, &'static str) {
        use Kind::{Counter, Gauge, Info};
        match self {
            Family::WorkersTarget => (
                "prescient_workers_target",
                Gauge,
                "Worker count the last decision moves to.",
            ),
            Family::WorkersDesired => (
                "prescient_workers_desired",
                Gauge,
                "Platform's desired worker count the last decision started from.",
            ),
            Family::WorkersReady => (
                "prescient_workers_ready",
                Gauge,
                "Workers serving at the last decision.",
            ),
            Family::WorkersNeeded => (
                "prescient_workers_needed",
                Gauge,
                "Workers each input asked for at the last decision (NaN when it asked nothing).",
            ),
            Family::ForecastPoint => (
                "prescient_forecast_peak_load",
                Gauge,
                "Highest point forecast of the primary load over the horizon, per second.",
            ),
            Family::ForecastLower => (
                "prescient_forecast_peak_load_lower",
                Gauge,
                "Highest lower end of the forecast interval of the primary load over the horizon, per second.",
            ),
            Family::ForecastUpper => (
                "prescient_forecast_peak_load_upper",
                Gauge,
                "Highest upper end of the forecast interval of the primary load over the horizon (what capacity is planned for), per second.",
            ),
            Family::ForecastHorizon => (
                "prescient_forecast_horizon_seconds",
                Gauge,
                "How far ahead the planner looks: the lead time.",
            ),
            Family::DecisionSeverity => (
                "prescient_decision_severity",
                Gauge,
                "Combined actionable anomaly severity of the last decision (0 none, 1 low, 2 medium, 3 high).",
            ),
            Family::DecisionInfo => (
                "prescient_decision",
                Info,
                "Why the last decision's target is what it is: the input that set it and the limits that changed it.",
            ),
            Family::DecisionTimestamp => (
                "prescient_decision_timestamp_seconds",
                Gauge,
                "Time of the tick of the last decision, in seconds since the epoch.",
            ),
            Family::AnomalyScore => (
                "prescient_anomaly_score",
                Gauge,
                "Calibrated anomaly score of each metric at the last tick, in [0, 1] (NaN while warming up or missing).",
            ),
            Family::AnomalySeverity => (
                "prescient_anomaly_severity",
                Gauge,
                "Anomaly severity of each metric at the last tick (0 none, 1 low, 2 medium, 3 high).",
            ),
            Family::AnomalyActionable => (
                "prescient_anomaly_actionable",
                Gauge,
                "Whether each metric's anomaly at the last tick asks for capacity (1) or not (0).",
            ),
            Family::RegimeScore => (
                "prescient_regime_score",
                Gauge,
                "Regime-change score of the workload fingerprint at the last tick, in [0, 1] (NaN while warming up).",
            ),
            Family::RegimeSeverity => (
                "prescient_regime_severity",
                Gauge,
                "Severity of the regime-change score at the last tick (0 none, 1 low, 2 medium, 3 high).",
            ),
            Family::ForecastMae => (
                "prescient_forecast_error_mae",
                Gauge,
                "Rolling mean absolute error of the primary load's forecasts, one step ahead and at the planner's horizon (NaN before one is scored).",
            ),
            Family::ForecastMase => (
                "prescient_forecast_error_mase",
                Gauge,
                "That error scaled by the seasonal naive one-step error on the same window (NaN when unknown).",
            ),
            Family::ForecastCoverage => (
                "prescient_forecast_interval_coverage",
                Gauge,
                "Fraction of actual loads inside their forecast interval, one step ahead and at the planner's horizon.",
            ),
            Family::DivergenceScore => (
                "prescient_divergence_score",
                Gauge,
                "Calibrated divergence at the last tick of the load from its forecast and of utilisation from the capacity model, in [0, 1] (NaN when not judged).",
            ),
            Family::ThresholdFactor => (
                "prescient_severity_threshold_factor",
                Gauge,
                "How far reported outcomes have moved the severity thresholds on the surprise scale (1: not at all, above 1 less sensitive).",
            ),
            Family::Ticks => ("prescient_ticks", Counter, "Decisions observed."),
            Family::Decisions => (
                "prescient_decisions",
                Counter,
                "Decisions observed, by the input that set the target.",
            ),
            Family::ScaleUps => (
                "prescient_scale_ups",
                Counter,
                "Decisions whose target is above the desired worker count.",
            ),
            Family::ScaleDowns => (
                "prescient_scale_downs",
                Counter,
                "Decisions whose target is below the desired worker count.",
            ),
            Family::Anomalies => (
                "prescient_anomalies",
                Counter,
                "Anomalous points: one per metric and tick with a severity of at least low.",
            ),
            Family::Actuations => (
                "prescient_actuations",
                Counter,
                "Decisions handed to the actuator.",
            ),
            Family::ActuationFailures => (
                "prescient_actuation_failures",
                Counter,
                "Decisions handed to the actuator that it failed to apply.",
            ),
            Family::SourceFailures => (
                "prescient_source_failures",
                Counter,
                "Polls of the metrics that failed.",
            ),
        }
    }

    fn kind(self) -> Kind {
        self.meta().1
    }

    /// What a sample's name adds to the family's name.
    fn sample_suffix(self) -> &'static str {
        match self.kind() {
            Kind::Gauge => "",
            Kind::Counter => "_total",
            Kind::Info => "_info",
        }
    }
}

/// A number to write: counts exactly, floats as Prometheus writes them.
#[derive(Debug, Clone, Copy)]
enum Value {
    Count(u64),
    Float(f64),
}

/// What every sample of a family shares.
struct Sample<'a> {
    family: Family,
    component: &'a str,
    ts: Option<Timestamp>,
}

/// A page being written.
struct Page<'w, W: ?Sized> {
    w: &'w mut W,
    format: Format,
}

impl<W: Write + ?Sized> Page<'_, W> {
    fn header(&mut self, family: Family) -> fmt::Result {
        let (name, kind, help) = family.meta();
        let (suffix, ty) = match (self.format, kind) {
            (Format::Prometheus, Kind::Info) => (family.sample_suffix(), "gauge"),
            (Format::Prometheus, Kind::Counter) => (family.sample_suffix(), "counter"),
            (Format::OpenMetrics, Kind::Info) => ("", "info"),
            (Format::OpenMetrics, Kind::Counter) => ("", "counter"),
            (_, Kind::Gauge) => ("", "gauge"),
        };
        write!(
            self.w,
            "# HELP {name}{suffix} {help}\n# TYPE {name}{suffix} {ty}\n"
        )
    }

    /// Writes the sample's name and its `component` label, leaving the label set open.
    fn open(&mut self, s: &Sample<'_>) -> fmt::Result {
        let (name, _, _) = s.family.meta();
        write!(
            self.w,
            "{name}{}{{component=\"{}\"",
            s.family.sample_suffix(),
            s.component
        )
    }

    /// Adds a label; `value` is already escaped.
    fn label(&mut self, key: &str, value: &str) -> fmt::Result {
        write!(self.w, ",{key}=\"{value}\"")
    }

    /// Closes the label set and writes the value and the timestamp, if any.
    fn close(&mut self, s: &Sample<'_>, v: Value) -> fmt::Result {
        self.w.write_str("} ")?;
        write_value(self.w, v)?;
        if let Some(ts) = s.ts {
            self.w.write_char(' ')?;
            let ms = ts.as_millis();
            match self.format {
                Format::Prometheus => write!(self.w, "{ms}")?,
                // OpenMetrics timestamps are in seconds.
                Format::OpenMetrics if ms >= 0 => {
                    write!(self.w, "{}.{:03}", ms / 1000, ms % 1000)?;
                }
                Format::OpenMetrics => write_value(self.w, Value::Float(ms as f64 / 1000.0))?,
            }
        }
        self.w.write_char('\n')
    }

    /// Writes one sample with `labels` (values already escaped).
    fn one(&mut self, s: &Sample<'_>, labels: &[(&str, &str)], v: Value) -> fmt::Result {
        self.open(s)?;
        for (k, val) in labels {
            self.label(k, val)?;
        }
        self.close(s, v)
    }

    fn end(&mut self) -> fmt::Result {
        match self.format {
            Format::Prometheus => Ok(()),
            Format::OpenMetrics => self.w.write_str("# EOF\n"),
        }
    }
}

/// Writes `v` as Prometheus does: `NaN`, `+Inf`, `-Inf`, whole numbers without a fraction, and
/// otherwise the shortest representation that reads back to the same `f64`.
fn write_value<W: Write + ?Sized>(w: &mut W, v: Value) -> fmt::Result {
    match v {
        Value::Count(n) => write!(w, "{n}"),
        Value::Float(x) if x.is_nan() => w.write_str("NaN"),
        Value::Float(x) if x == f64::INFINITY => w.write_str("+Inf"),
        Value::Float(x) if x == f64::NEG_INFINITY => w.write_str("-Inf"),
        // Exact below 2^53; `as` turns -0.0 into 0.
        Value::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => write!(w, "{}", x as i64),
        // `Debug` is the shortest round trip, with an exponent for very large or small values
        // (`1e-7`), which Prometheus's parser reads.
        Value::Float(x) => write!(w, "{x:?}"),
    }
}

/// `s` as a label value: backslash, double quote and line feed escaped as `\\`, `\"` and `\n`.
fn escape_label_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: Value) -> String {
        let mut s = String::new();
        write_value(&mut s, v).unwrap();
        s
    }

    #[test]
    fn values_are_written_as_prometheus_does() {
        assert_eq!(value(Value::Float(f64::NAN)), "NaN");
        assert_eq!(value(Value::Float(f64::INFINITY)), "+Inf");
        assert_eq!(value(Value::Float(f64::NEG_INFINITY)), "-Inf");
        assert_eq!(value(Value::Float(12.0)), "12");
        assert_eq!(value(Value::Float(-0.0)), "0");
        assert_eq!(value(Value::Float(0.8)), "0.8");
        assert_eq!(value(Value::Float(1e-7)), "1e-7");
        assert_eq!(value(Value::Float(1e300)), "1e300");
        assert_eq!(value(Value::Count(u64::MAX)), "18446744073709551615");
        for x in [0.1, 1.0 / 3.0, 123_456.789, 1e-7, 1e300, 9.5e15] {
            assert_eq!(value(Value::Float(x)).parse::<f64>().unwrap(), x);
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label_value("plain"), "plain");
        assert_eq!(
            escape_label_value("a\\b\"c\nd"),
            "a\\\\b\\\"c\\nd",
            "backslash, quote and line feed"
        );
        assert_eq!(escape_label_value("tab\tand é"), "tab\tand é");
    }

    #[test]
    fn every_reason_and_constraint_has_a_label() {
        let mut r = Reason::new(ReasonCode::Forecast);
        for (c, label) in CONSTRAINTS {
            r.add(c);
            assert_eq!(constraint_label(c), label);
        }
        assert_eq!(r.constraints().count(), CONSTRAINTS.len());
        for (code, label) in REASONS {
            assert_eq!(reason_label(code), label);
        }
    }

    #[test]
    fn help_texts_need_no_escaping_and_names_follow_the_conventions() {
        for f in Family::ALL {
            let (name, kind, help) = f.meta();
            assert!(!help.contains('\\') && !help.contains('\n'), "{name}");
            assert!(name.starts_with("prescient_"), "{name}");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            assert!(
                !name.ends_with("_total") && !name.ends_with("_info"),
                "{name}"
            );
            assert_eq!(kind == Kind::Counter, f.sample_suffix() == "_total");
        }
    }
}
