//! Run reports: what a run of the [`Scaler`] did, as a JSON summary and as one
//! self-contained HTML page of charts (feature `report`).
//!
//! A host (or a simulator) feeds a [`RunRecorder`] after every tick with what it has: the load,
//! the [`Decision`], the `Scaler`'s last forecast and anomalies, and the pool. The recorder keeps
//! memory bounded however long the run: the time axis is cut into at most
//! [`RecorderParams::max_buckets`] buckets whose width doubles (neighbours merged) when they are
//! full, each keeping the minimum, maximum and last value of what the charts show; the decisions
//! that changed the target are kept up to [`RecorderParams::max_changes`] (the latest ones), the
//! rest counted. Forecast accuracy is scored as the run goes: each tick's forecasts one step and
//! the planner's horizon ahead ([`RecorderParams::new`]) are remembered until the load of that time
//! arrives, and their absolute error and whether the interval covered the load are added to the
//! bucket of that time.
//!
//! [`RunRecorder::report`] gives a [`RunReport`] (serde: the JSON summary, with the buckets), and
//! [`render_html`] renders it: inline CSS, inline SVG drawn by `plotters`, nothing fetched. The
//! page carries a few lines of script that only mark it as loaded (and record script errors) for
//! automated checks; it needs no script to show anything. The same report always renders to the
//! same bytes.
//!
//! # Example
//!
//! ```
//! use prescient::report::{RecorderParams, RunRecorder, render_html};
//! use prescient::{MetricRole, PlannerParams, PoolStatus, Scaler, Schema, Timestamp};
//!
//! let schema = Schema::builder("api").metric("rps", MetricRole::Load).build()?;
//! let mut scaler = Scaler::builder(schema, PlannerParams::new(50.0)).step_secs(15.0).build()?;
//! let params = RecorderParams::new(15.0, scaler.horizon_steps()).title("api");
//! let mut recorder = RunRecorder::new(params)?;
//! let mut pool = PoolStatus::settled(2);
//! for i in 0..200 {
//!     let load = 300.0 + 50.0 * (i as f64 / 20.0).sin();
//!     let d = scaler.tick(Timestamp::from_secs(15 * i), &[load], pool)?;
//!     recorder.observe(&scaler, &d, load, pool);
//!     pool = PoolStatus::settled(d.target);
//! }
//! let report = recorder.report();
//! assert_eq!(report.ticks, 200);
//! let page = render_html(&report);
//! assert!(page.contains("id=\"chart-load\""));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod html;

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::{Decision, Forecast, MetricAnomaly, PoolStatus, Scaler, Severity, Timestamp};

pub use html::{escape_html, format_utc, render_html};

/// The settings of a [`RunRecorder`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecorderParams {
    step_secs: f64,
    horizon_steps: usize,
    max_buckets: usize,
    max_changes: usize,
    title: String,
}

impl RecorderParams {
    /// Settings for a run on a grid of `step_secs` whose planner looks `horizon_steps` ahead
    /// ([`Scaler::horizon_steps`]); 512 buckets, 500 kept changes, the title `"prescient run"`.
    pub fn new(step_secs: f64, horizon_steps: usize) -> Self {
        RecorderParams {
            step_secs,
            horizon_steps,
            max_buckets: 512,
            max_changes: 500,
            title: "prescient run".to_string(),
        }
    }

    /// The most buckets the charts keep (even, at least 2): when they are full, neighbours are
    /// merged and a bucket spans twice as many ticks.
    pub fn max_buckets(mut self, n: usize) -> Self {
        self.max_buckets = n;
        self
    }

    /// The most decisions that changed the target kept for the table (the latest ones); the
    /// others are counted.
    pub fn max_changes(mut self, n: usize) -> Self {
        self.max_changes = n;
        self
    }

    /// The report's title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    fn validate(&self) -> crate::Result<()> {
        let invalid = |name: &'static str, reason: String| {
            crate::Error::from(prescient_core::Error::InvalidParam { name, reason })
        };
        if !(self.step_secs.is_finite() && self.step_secs > 0.0) {
            return Err(invalid(
                "step_secs",
                format!("must be positive and finite, got {}", self.step_secs),
            ));
        }
        if self.horizon_steps == 0 {
            return Err(invalid("horizon_steps", "must be at least 1".to_string()));
        }
        if self.max_buckets < 2 || self.max_buckets % 2 != 0 {
            return Err(invalid(
                "max_buckets",
                format!("must be even and at least 2, got {}", self.max_buckets),
            ));
        }
        Ok(())
    }
}

/// What a host hands a [`RunRecorder`] for one tick when it does not use a [`Scaler`] (a
/// simulated policy, a replay); [`RunRecorder::observe`] builds it from a `Scaler`.
#[derive(Debug, Clone, Copy)]
pub struct TickInput<'a> {
    /// The primary load observed at the tick (NaN or infinite when missing).
    pub load: f64,
    /// The tick's decision; its `ts` is the tick's time.
    pub decision: &'a Decision,
    /// The load forecast made at the tick (`point[h]` is for `h + 1` steps later); empty when
    /// there was none.
    pub forecast: &'a Forecast,
    /// What the detectors said of each metric at the tick.
    pub anomalies: &'a [MetricAnomaly],
    /// The pool as the tick saw it (before the decision was applied).
    pub pool: PoolStatus,
}

/// Ticks counted by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    /// Ticks of low severity.
    pub low: u64,
    /// Ticks of medium severity.
    pub medium: u64,
    /// Ticks of high severity.
    pub high: u64,
}

impl SeverityCounts {
    fn add(&mut self, s: Severity) {
        match s {
            Severity::None => {}
            Severity::Low => self.low += 1,
            Severity::Medium => self.medium += 1,
            Severity::High => self.high += 1,
        }
    }
}

/// Forecast accuracy at one horizon, over the whole run or one bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Forecasts scored against the load that arrived.
    pub scored: u64,
    /// Mean absolute error of the point forecasts, in load units (`None` with nothing scored).
    pub mae: Option<f64>,
    /// The mean absolute error over the run's mean absolute one-step change of the load (the
    /// naive forecast's in-run error, as MASE scales); `None` when either is unknown or the load
    /// never changed.
    pub mase: Option<f64>,
    /// The share of scored loads inside the forecast interval.
    pub coverage: Option<f64>,
}

/// The forecast accuracy of the run at one horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonAccuracy {
    /// Steps ahead.
    pub horizon_steps: usize,
    /// The interval level the forecasts were made at (the last one seen).
    pub level: Option<f64>,
    /// Forecasts whose time passed without a load to score them against.
    pub unscored: u64,
    /// The accuracy over the run.
    pub accuracy: Accuracy,
}

/// One bucket of the time axis: what the charts show of the ticks it spans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketSummary {
    /// The first tick in the bucket.
    pub start: Timestamp,
    /// The last tick in the bucket.
    pub end: Timestamp,
    /// Ticks in the bucket.
    pub ticks: u64,
    /// The lowest load (`None` when every load was missing).
    pub load_min: Option<f64>,
    /// The highest load.
    pub load_max: Option<f64>,
    /// The mean load.
    pub load_mean: Option<f64>,
    /// The last load.
    pub load_last: Option<f64>,
    /// The lowest lower end of the one-step-ahead intervals for the bucket's ticks.
    pub band_lower: Option<f64>,
    /// The highest upper end of the one-step-ahead intervals for the bucket's ticks.
    pub band_upper: Option<f64>,
    /// The last one-step-ahead point forecast for the bucket's ticks.
    pub forecast_point: Option<f64>,
    /// The highest load the planner planned for (a decision's peak upper interval end).
    pub planned_max: Option<f64>,
    /// The lowest target.
    pub target_min: u32,
    /// The highest target.
    pub target_max: u32,
    /// The last target.
    pub target_last: u32,
    /// The fewest ready workers.
    pub ready_min: u32,
    /// The most ready workers.
    pub ready_max: u32,
    /// The last ready count.
    pub ready_last: u32,
    /// The highest calibrated anomaly score of any metric (`None` while warming up).
    pub anomaly_max: Option<f64>,
    /// The worst severity of any metric.
    pub severity: Severity,
    /// The worst actionable severity (the decisions').
    pub actionable: Severity,
    /// Decisions that changed the target.
    pub changes: u64,
    /// Forecast accuracy for the bucket's ticks, one entry per horizon (one step, then the
    /// planner's horizon).
    pub accuracy: Vec<Accuracy>,
}

/// A decision that changed the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// When.
    pub ts: Timestamp,
    /// The worker count it started from.
    pub current: u32,
    /// The worker count it moved to.
    pub target: u32,
    /// The reason, as [`Reason`](crate::Reason)'s `Display` (`"Forecast+StepLimit"`).
    pub reason: String,
    /// The actionable severity.
    pub severity: Severity,
    /// The peak upper interval end of the forecast it used, if any.
    pub planned: Option<f64>,
    /// [`Decision::explain`].
    pub explain: String,
}

/// The summary of a run: the JSON report, and what [`render_html`] draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// The title.
    pub title: String,
    /// The grid step, in seconds.
    pub step_secs: f64,
    /// The first tick.
    pub start: Option<Timestamp>,
    /// The last tick.
    pub end: Option<Timestamp>,
    /// Ticks recorded.
    pub ticks: u64,
    /// Ticks whose load was missing.
    pub missing_load: u64,
    /// Ticks refused because their time was not after the previous one's.
    pub out_of_order: u64,
    /// The mean of the loads seen.
    pub load_mean: Option<f64>,
    /// The highest load seen.
    pub load_max: Option<f64>,
    /// Worker-hours requested (the pool's desired count over the time between ticks).
    pub worker_hours: f64,
    /// Decisions that raised the target.
    pub scale_ups: u64,
    /// Decisions that lowered the target.
    pub scale_downs: u64,
    /// Decisions by reason (`Reason`'s `Display`).
    pub reasons: BTreeMap<String, u64>,
    /// Ticks by the worst severity of any metric.
    pub anomalies: SeverityCounts,
    /// Ticks by the decisions' actionable severity.
    pub actionable: SeverityCounts,
    /// The naive forecast's mean absolute one-step error, the scale of the MASE figures.
    pub naive_mae: Option<f64>,
    /// Forecast accuracy: one step ahead, then the planner's horizon.
    pub accuracy: Vec<HorizonAccuracy>,
    /// Ticks per bucket.
    pub bucket_ticks: u64,
    /// The time axis, in order.
    pub buckets: Vec<BucketSummary>,
    /// The latest decisions that changed the target, in order.
    pub changes: Vec<DecisionRecord>,
    /// Earlier target changes not kept.
    pub changes_omitted: u64,
}

impl RunReport {
    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Every float in a report is finite (missing values are `None`), so this cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// A report from its JSON.
    ///
    /// # Errors
    ///
    /// `serde_json`'s error for text that is not a report.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// Sums of one horizon's scored forecasts.
#[derive(Debug, Clone, Copy, Default)]
struct ErrorSums {
    scored: u64,
    abs_error: f64,
    covered: u64,
}

impl ErrorSums {
    fn add(&mut self, actual: f64, p: &Pending) {
        self.scored += 1;
        self.abs_error += (actual - p.point).abs();
        self.covered += u64::from(p.lower <= actual && actual <= p.upper);
    }

    fn merge(&mut self, o: &ErrorSums) {
        self.scored += o.scored;
        self.abs_error += o.abs_error;
        self.covered += o.covered;
    }

    fn accuracy(&self, naive_mae: Option<f64>) -> Accuracy {
        if self.scored == 0 {
            return Accuracy::default();
        }
        let n = self.scored as f64;
        let mae = self.abs_error / n;
        Accuracy {
            scored: self.scored,
            mae: Some(mae),
            mase: naive_mae.filter(|s| *s > 0.0).map(|s| mae / s),
            coverage: Some(self.covered as f64 / n),
        }
    }
}

/// A forecast waiting for the load of its time.
#[derive(Debug, Clone, Copy)]
struct Pending {
    due: Timestamp,
    point: f64,
    lower: f64,
    upper: f64,
}

fn min_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// One bucket while recording: everything is mergeable with its neighbour.
#[derive(Debug, Clone)]
struct Bucket {
    start: Timestamp,
    end: Timestamp,
    ticks: u64,
    load_min: Option<f64>,
    load_max: Option<f64>,
    load_sum: f64,
    load_n: u64,
    load_last: Option<f64>,
    band_lower: Option<f64>,
    band_upper: Option<f64>,
    forecast_point: Option<f64>,
    planned_max: Option<f64>,
    target: (u32, u32, u32),
    ready: (u32, u32, u32),
    anomaly_max: Option<f64>,
    severity: Severity,
    actionable: Severity,
    changes: u64,
    errors: [ErrorSums; 2],
}

impl Bucket {
    fn new(ts: Timestamp, target: u32, ready: u32) -> Self {
        Bucket {
            start: ts,
            end: ts,
            ticks: 0,
            load_min: None,
            load_max: None,
            load_sum: 0.0,
            load_n: 0,
            load_last: None,
            band_lower: None,
            band_upper: None,
            forecast_point: None,
            planned_max: None,
            target: (target, target, target),
            ready: (ready, ready, ready),
            anomaly_max: None,
            severity: Severity::None,
            actionable: Severity::None,
            changes: 0,
            errors: [ErrorSums::default(); 2],
        }
    }

    fn merge(&mut self, o: &Bucket) {
        self.end = o.end;
        self.ticks += o.ticks;
        self.load_min = min_opt(self.load_min, o.load_min);
        self.load_max = max_opt(self.load_max, o.load_max);
        self.load_sum += o.load_sum;
        self.load_n += o.load_n;
        self.load_last = o.load_last.or(self.load_last);
        self.band_lower = min_opt(self.band_lower, o.band_lower);
        self.band_upper = max_opt(self.band_upper, o.band_upper);
        self.forecast_point = o.forecast_point.or(self.forecast_point);
        self.planned_max = max_opt(self.planned_max, o.planned_max);
        self.target = (
            self.target.0.min(o.target.0),
            self.target.1.max(o.target.1),
            o.target.2,
        );
        self.ready = (
            self.ready.0.min(o.ready.0),
            self.ready.1.max(o.ready.1),
            o.ready.2,
        );
        self.anomaly_max = max_opt(self.anomaly_max, o.anomaly_max);
        self.severity = self.severity.max(o.severity);
        self.actionable = self.actionable.max(o.actionable);
        self.changes += o.changes;
        for (a, b) in self.errors.iter_mut().zip(&o.errors) {
            a.merge(b);
        }
    }

    fn summary(&self, naive_mae: Option<f64>) -> BucketSummary {
        BucketSummary {
            start: self.start,
            end: self.end,
            ticks: self.ticks,
            load_min: self.load_min,
            load_max: self.load_max,
            load_mean: (self.load_n > 0).then(|| self.load_sum / self.load_n as f64),
            load_last: self.load_last,
            band_lower: self.band_lower,
            band_upper: self.band_upper,
            forecast_point: self.forecast_point,
            planned_max: self.planned_max,
            target_min: self.target.0,
            target_max: self.target.1,
            target_last: self.target.2,
            ready_min: self.ready.0,
            ready_max: self.ready.1,
            ready_last: self.ready.2,
            anomaly_max: self.anomaly_max,
            severity: self.severity,
            actionable: self.actionable,
            changes: self.changes,
            accuracy: self.errors.iter().map(|e| e.accuracy(naive_mae)).collect(),
        }
    }
}

/// Records a run tick by tick, in bounded memory, for a [`RunReport`].
///
/// See the [module documentation](self) for what it keeps and an example.
#[derive(Debug, Clone)]
pub struct RunRecorder {
    params: RecorderParams,
    /// Ticks per bucket: doubles when the buckets are full.
    width: u64,
    buckets: Vec<Bucket>,
    /// Forecasts waiting for their load: one step ahead, and the planner's horizon.
    pending: [VecDeque<Pending>; 2],
    unscored: [u64; 2],
    totals: [ErrorSums; 2],
    level: Option<f64>,
    start: Option<Timestamp>,
    last: Option<(Timestamp, u32)>,
    ticks: u64,
    missing_load: u64,
    out_of_order: u64,
    load_sum: f64,
    load_n: u64,
    load_max: Option<f64>,
    last_load: Option<f64>,
    naive_sum: f64,
    naive_n: u64,
    worker_secs: f64,
    scale_ups: u64,
    scale_downs: u64,
    reasons: BTreeMap<String, u64>,
    anomalies: SeverityCounts,
    actionable: SeverityCounts,
    changes: VecDeque<DecisionRecord>,
    changes_omitted: u64,
}

impl RunRecorder {
    /// A recorder with nothing recorded.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::InvalidParam`] for a step that is not positive and finite, a
    /// horizon of zero steps, or a bucket cap that is odd or below 2.
    pub fn new(params: RecorderParams) -> crate::Result<Self> {
        params.validate()?;
        Ok(RunRecorder {
            buckets: Vec::with_capacity(params.max_buckets),
            params,
            width: 1,
            pending: [VecDeque::new(), VecDeque::new()],
            unscored: [0; 2],
            totals: [ErrorSums::default(); 2],
            level: None,
            start: None,
            last: None,
            ticks: 0,
            missing_load: 0,
            out_of_order: 0,
            load_sum: 0.0,
            load_n: 0,
            load_max: None,
            last_load: None,
            naive_sum: 0.0,
            naive_n: 0,
            worker_secs: 0.0,
            scale_ups: 0,
            scale_downs: 0,
            reasons: BTreeMap::new(),
            anomalies: SeverityCounts::default(),
            actionable: SeverityCounts::default(),
            changes: VecDeque::new(),
            changes_omitted: 0,
        })
    }

    /// The settings.
    pub fn params(&self) -> &RecorderParams {
        &self.params
    }

    /// Ticks recorded.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// Buckets in use (never more than [`RecorderParams::max_buckets`]).
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Ticks per bucket.
    pub fn bucket_ticks(&self) -> u64 {
        self.width
    }

    /// Records the tick a [`Scaler`] has just decided: its last forecast and anomalies are read
    /// from `scaler`; `load` is the primary load the host passed and `pool` the pool it passed.
    pub fn observe(&mut self, scaler: &Scaler, decision: &Decision, load: f64, pool: PoolStatus) {
        self.record(&TickInput {
            load,
            decision,
            forecast: scaler.last_forecast(),
            anomalies: scaler.anomalies(),
            pool,
        });
    }

    /// Records one tick. A tick whose time is not after the previous one's is counted and
    /// otherwise ignored; a missing (non-finite) load is counted and scores nothing.
    pub fn record(&mut self, tick: &TickInput<'_>) {
        let d = tick.decision;
        let ts = d.ts;
        if let Some((prev, desired)) = self.last {
            if ts <= prev {
                self.out_of_order += 1;
                return;
            }
            self.worker_secs += f64::from(desired) * ts.secs_since(prev);
        }
        self.start.get_or_insert(ts);
        self.last = Some((ts, tick.pool.desired));
        self.ticks += 1;

        let b = self.bucket_for(ts, d.target, tick.pool.ready);
        b.end = ts;
        b.ticks += 1;
        b.target = (b.target.0.min(d.target), b.target.1.max(d.target), d.target);
        let r = tick.pool.ready;
        b.ready = (b.ready.0.min(r), b.ready.1.max(r), r);
        b.actionable = b.actionable.max(d.severity);
        if let Some(f) = &d.forecast {
            if f.peak_upper.is_finite() {
                b.planned_max = max_opt(b.planned_max, Some(f.peak_upper));
            }
        }
        for a in tick.anomalies {
            b.severity = b.severity.max(a.severity);
            if let Some(det) = &a.detection {
                b.anomaly_max = max_opt(b.anomaly_max, Some(det.score.value()));
            }
        }
        let worst = tick
            .anomalies
            .iter()
            .map(|a| a.severity)
            .max()
            .unwrap_or(Severity::None);
        self.anomalies.add(worst);
        self.actionable.add(d.severity);

        // The load, and the forecasts that were made for this time.
        let half = self.params.step_secs / 2.0;
        let load = tick.load.is_finite().then_some(tick.load);
        let last = self.buckets.len() - 1;
        for k in 0..2 {
            while let Some(p) = self.pending[k].front().copied() {
                let gap = ts.secs_since(p.due);
                if gap > half {
                    // Its time passed between ticks or its load was missing.
                    self.unscored[k] += 1;
                    self.pending[k].pop_front();
                } else if gap >= -half {
                    self.pending[k].pop_front();
                    match load {
                        Some(y) => {
                            self.totals[k].add(y, &p);
                            let b = &mut self.buckets[last];
                            b.errors[k].add(y, &p);
                            if k == 0 {
                                b.band_lower = min_opt(b.band_lower, Some(p.lower));
                                b.band_upper = max_opt(b.band_upper, Some(p.upper));
                                b.forecast_point = Some(p.point);
                            }
                        }
                        None => self.unscored[k] += 1,
                    }
                } else {
                    break;
                }
            }
        }
        match load {
            Some(y) => {
                let b = &mut self.buckets[last];
                b.load_min = min_opt(b.load_min, Some(y));
                b.load_max = max_opt(b.load_max, Some(y));
                b.load_sum += y;
                b.load_n += 1;
                b.load_last = Some(y);
                self.load_sum += y;
                self.load_n += 1;
                self.load_max = max_opt(self.load_max, Some(y));
                if let Some(prev) = self.last_load {
                    self.naive_sum += (y - prev).abs();
                    self.naive_n += 1;
                }
                self.last_load = Some(y);
            }
            None => self.missing_load += 1,
        }

        // This tick's forecasts, to be scored when their time comes.
        let f = tick.forecast;
        if f.level.is_finite() && !f.is_empty() {
            self.level = Some(f.level);
        }
        let horizons = [1, self.params.horizon_steps];
        for (k, h) in horizons.into_iter().enumerate() {
            let i = h - 1;
            let (Some(&point), Some(&lower), Some(&upper)) =
                (f.point.get(i), f.lower.get(i), f.upper.get(i))
            else {
                continue;
            };
            if !(point.is_finite() && lower.is_finite() && upper.is_finite()) {
                continue;
            }
            let q = &mut self.pending[k];
            // Ticks closer together than the step would pile forecasts up: keep the latest.
            if q.len() > 4 * (h + 1) {
                q.pop_front();
                self.unscored[k] += 1;
            }
            q.push_back(Pending {
                due: ts.add_secs(h as f64 * self.params.step_secs),
                point,
                lower,
                upper,
            });
        }

        // The decision.
        *self.reasons.entry(d.reason.to_string()).or_default() += 1;
        if d.is_change() {
            let last = self.buckets.len() - 1;
            self.buckets[last].changes += 1;
            if d.target > d.current {
                self.scale_ups += 1;
            } else {
                self.scale_downs += 1;
            }
            if self.params.max_changes == 0 {
                self.changes_omitted += 1;
            } else {
                if self.changes.len() == self.params.max_changes {
                    self.changes.pop_front();
                    self.changes_omitted += 1;
                }
                self.changes.push_back(DecisionRecord {
                    ts,
                    current: d.current,
                    target: d.target,
                    reason: d.reason.to_string(),
                    severity: d.severity,
                    planned: d.forecast.map(|f| f.peak_upper).filter(|v| v.is_finite()),
                    explain: d.explain(),
                });
            }
        }
    }

    /// The bucket `ts` belongs to: the last one while it has room, else a new one (after
    /// merging neighbours when the buckets are full).
    fn bucket_for(&mut self, ts: Timestamp, target: u32, ready: u32) -> &mut Bucket {
        let full = self.buckets.last().is_none_or(|b| b.ticks >= self.width);
        if full {
            if self.buckets.len() >= self.params.max_buckets {
                let merged: Vec<Bucket> = self
                    .buckets
                    .chunks(2)
                    .map(|pair| {
                        let mut b = pair[0].clone();
                        if let Some(o) = pair.get(1) {
                            b.merge(o);
                        }
                        b
                    })
                    .collect();
                self.buckets = merged;
                self.width *= 2;
            }
            // After a merge the last bucket is full too (every bucket before it was).
            if self.buckets.last().is_none_or(|b| b.ticks >= self.width) {
                self.buckets.push(Bucket::new(ts, target, ready));
            }
        }
        let last = self.buckets.len() - 1;
        &mut self.buckets[last]
    }

    /// The report of what was recorded so far.
    pub fn report(&self) -> RunReport {
        let naive_mae = (self.naive_n > 0).then(|| self.naive_sum / self.naive_n as f64);
        let horizons = [1, self.params.horizon_steps];
        RunReport {
            title: self.params.title.clone(),
            step_secs: self.params.step_secs,
            start: self.start,
            end: self.last.map(|(t, _)| t),
            ticks: self.ticks,
            missing_load: self.missing_load,
            out_of_order: self.out_of_order,
            load_mean: (self.load_n > 0).then(|| self.load_sum / self.load_n as f64),
            load_max: self.load_max,
            worker_hours: self.worker_secs / 3600.0,
            scale_ups: self.scale_ups,
            scale_downs: self.scale_downs,
            reasons: self.reasons.clone(),
            anomalies: self.anomalies,
            actionable: self.actionable,
            naive_mae,
            accuracy: horizons
                .iter()
                .enumerate()
                .map(|(k, &h)| HorizonAccuracy {
                    horizon_steps: h,
                    level: self.level,
                    unscored: self.unscored[k],
                    accuracy: self.totals[k].accuracy(naive_mae),
                })
                .collect(),
            bucket_ticks: self.width,
            buckets: self.buckets.iter().map(|b| b.summary(naive_mae)).collect(),
            changes: self.changes.iter().cloned().collect(),
            changes_omitted: self.changes_omitted,
        }
    }
}
