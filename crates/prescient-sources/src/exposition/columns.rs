//! Columns for the `Scaler` read from successive scrapes of a page.

use std::collections::HashMap;
use std::fmt;

use prescient_core::{Sample, Timestamp};
use prescient_features::HistogramQuantiles;

use super::{Entry, Format, Labels, Parser, parse_value, write_escaped};
use crate::{Error, Grid, Point, Recorded, Result};

/// Which series a column reads: a metric name and exact label matchers, as the PromQL selector
/// `name{label="value", ...}`. Every series of that name whose labels match is summed.
///
/// The name is the series' name as written on the page: an OpenMetrics counter `requests` is
/// exposed as `requests_total`, a histogram's buckets as `name_bucket` (a histogram column
/// accepts the histogram's name or its `_bucket` name).
///
/// A matcher with an empty value matches the series without that label (as in PromQL). To read
/// one quantile of a summary, match its `quantile` label as written by the exporter
/// (`quantile="0.99"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selector {
    name: String,
    matchers: Vec<(String, String)>,
}

impl Selector {
    /// Every series named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Selector {
            name: name.into(),
            matchers: Vec::new(),
        }
    }

    /// Only the series whose label `label` is exactly `value`.
    pub fn label(mut self, label: impl Into<String>, value: impl Into<String>) -> Self {
        self.matchers.push((label.into(), value.into()));
        self
    }

    /// A selector from its PromQL text with exact matchers: `name` or `name{a="x",b="y"}`
    /// (label values escaped as on a page).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] naming `selector` when `text` is not a metric name with an
    /// optional label set.
    ///
    /// ```
    /// use prescient_sources::exposition::Selector;
    ///
    /// let s = Selector::parse(r#"http_requests_total{code="500", method="GET"}"#)?;
    /// assert_eq!(s, Selector::new("http_requests_total").label("code", "500").label("method", "GET"));
    /// assert_eq!(s.to_string(), r#"http_requests_total{code="500",method="GET"}"#);
    /// assert!(Selector::parse("rate(x[5m])").is_err());
    /// # Ok::<(), prescient_sources::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidParam {
            name: "selector",
            reason,
        };
        let trimmed = text.trim();
        if trimmed.contains('\n') {
            return Err(invalid(format!("{text:?} spans several lines")));
        }
        // A selector is a sample line without its value: read it as one.
        let line = format!("{trimmed} 0");
        let sample = match Parser::new(&line, Format::Prometheus).next() {
            Some(Ok(Entry::Sample(s))) => s,
            Some(Err(Error::Parse { reason, .. })) => {
                return Err(invalid(format!("{text:?}: {reason}")));
            }
            _ => return Err(invalid(format!("{text:?} is not a metric name"))),
        };
        let selector = Selector {
            name: sample.name.to_owned(),
            matchers: sample
                .labels
                .iter()
                .map(|l| (l.name.to_owned(), l.value().into_owned()))
                .collect(),
        };
        // Any text after the selector would have made the appended 0 a timestamp.
        if sample.timestamp.is_some() {
            return Err(invalid(format!("{text:?} has text after the selector")));
        }
        Ok(selector)
    }

    /// The metric name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The label matchers, `(label, value)`.
    pub fn matchers(&self) -> &[(String, String)] {
        &self.matchers
    }

    /// Whether a series with `labels` is selected (its name is checked elsewhere).
    pub fn matches(&self, labels: &Labels<'_>) -> bool {
        self.matchers.iter().all(|(l, v)| labels.matches(l, v))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.matchers.is_empty() {
            f.write_str("{")?;
            for (i, (l, v)) in self.matchers.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{l}=\"")?;
                write_escaped(f, v)?;
                f.write_str("\"")?;
            }
            f.write_str("}")?;
        }
        Ok(())
    }
}

/// What a column takes from the series its [`Selector`] matches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Take {
    /// The sum of their values in each scrape (a gauge, or a summary's quantile).
    Gauge,
    /// The per-second rate of a counter between two successive scrapes, summed over the series
    /// (`sum(rate(...))` over the scrape interval). A counter that goes down was reset: its
    /// increase over that interval is its new value, as in Prometheus. The first scrape has no
    /// rate (NaN), nor has a series in the first scrape it appears in.
    Rate,
    /// A quantile of a histogram: its `_bucket` series (the selector names the histogram, with
    /// or without `_bucket`), summed by `le`, and the quantile of the increase of their counts
    /// over the last `window` scrape intervals, by Prometheus's `histogram_quantile` rules
    /// ([`HistogramQuantiles`]): `histogram_quantile(q, sum by (le) (increase(x_bucket[w])))`.
    ///
    /// NaN, as Prometheus's `histogram_quantile` gives, before there are two scrapes and when no
    /// observation fell in the window. If the set of bounds changes, the window starts again.
    HistogramQuantile {
        /// The quantile, in `[0, 1]`.
        q: f64,
        /// How many scrape intervals the distribution covers (at least 1).
        window: usize,
    },
}

/// One column of the samples: its name and what it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The column's name (name it after the `Scaler`'s schema).
    pub name: String,
    /// Which series it reads.
    pub selector: Selector,
    /// What it takes from them.
    pub take: Take,
}

impl Column {
    /// A column `name` taking `take` from the series `selector` matches.
    pub fn new(name: impl Into<String>, selector: Selector, take: Take) -> Self {
        Column {
            name: name.into(),
            selector,
            take,
        }
    }

    /// The sum of the values ([`Take::Gauge`]).
    pub fn gauge(name: impl Into<String>, selector: Selector) -> Self {
        Column::new(name, selector, Take::Gauge)
    }

    /// The summed per-second rate of counters ([`Take::Rate`]).
    pub fn rate(name: impl Into<String>, selector: Selector) -> Self {
        Column::new(name, selector, Take::Rate)
    }

    /// The `q`-quantile of a histogram over the last scrape interval
    /// ([`Take::HistogramQuantile`] with a window of 1).
    pub fn histogram_quantile(name: impl Into<String>, selector: Selector, q: f64) -> Self {
        Column::new(name, selector, Take::HistogramQuantile { q, window: 1 })
    }
}

/// What a column remembers from one scrape to the next.
#[derive(Debug, Clone)]
enum State {
    Gauge,
    /// The counters of the last scrape, by their raw label text.
    Rate {
        last: HashMap<String, f64>,
    },
    /// The bounds the histogram was built with, and the histogram.
    Histogram {
        bounds: Vec<f64>,
        histogram: Option<HistogramQuantiles>,
    },
}

/// What a column gathers from the page being read.
#[derive(Debug)]
enum Gathered<'t> {
    Sum(Option<f64>),
    Counters(Vec<(&'t str, f64)>),
    /// `(le, summed count)`, in the order first seen.
    Buckets(Vec<(f64, f64)>),
}

/// Columns read from successive scrapes of a `/metrics` page: one [`Sample`] per scrape, one
/// value per [`Column`] in order, NaN where a column has no value.
///
/// It keeps what rates and histogram quantiles need from the previous scrapes, takes the
/// scrapes' times as arguments (it never reads the clock) and needs no network: pages saved to
/// files replay the same as live ones (`http::ScrapeSource`, feature `http`, polls a live one).
/// A page that does not parse changes nothing.
///
/// The samples' time is the scrape's; timestamps on the page are ignored. Reading a page costs
/// one hash lookup per sample line (by metric name) and, for the lines of a selected metric,
/// the label matching.
///
/// ```
/// use prescient_core::Timestamp;
/// use prescient_sources::exposition::{Column, Extractor, Selector};
/// use prescient_sources::{Grid, Source};
///
/// let columns = vec![
///     Column::histogram_quantile("p90", Selector::new("rpc_seconds"), 0.9),
///     Column::gauge("p99", Selector::new("rpc_summary").label("quantile", "0.99")),
/// ];
/// let page = |a: u32, b: u32| format!(
///     "rpc_seconds_bucket{{le=\"0.1\"}} {a}\nrpc_seconds_bucket{{le=\"0.5\"}} {b}\n\
///      rpc_seconds_bucket{{le=\"+Inf\"}} {b}\nrpc_summary{{quantile=\"0.99\"}} 0.42\n"
/// );
/// let pages = [(Timestamp::from_secs(0), page(0, 0)), (Timestamp::from_secs(15), page(50, 100))];
/// let mut recorded = Extractor::new(columns)?.replay(pages, Grid::new(15.0, 60.0)?)?;
/// let sample = recorded.poll(Timestamp::from_secs(15))?;
/// // Rank 90 of 100 falls in (0.1, 0.5], 40 of its 50 observations in: 0.1 + 0.4 · 40/50.
/// assert!((sample.values[0] - 0.42).abs() < 1e-12);
/// assert_eq!(sample.values[1], 0.42);
/// # Ok::<(), prescient_sources::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Extractor {
    columns: Vec<Column>,
    names: Vec<String>,
    /// The columns reading each metric name (a histogram's under its `_bucket` name).
    by_metric: HashMap<String, Vec<usize>>,
    states: Vec<State>,
    last: Option<Timestamp>,
    what: String,
}

impl Extractor {
    /// Reads `columns`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when there are no columns, two have the same name, a quantile
    /// is outside `[0, 1]` or a histogram window is 0.
    pub fn new(columns: Vec<Column>) -> Result<Self> {
        if columns.is_empty() {
            return Err(Error::InvalidParam {
                name: "columns",
                reason: "at least one column is needed".into(),
            });
        }
        let mut by_metric: HashMap<String, Vec<usize>> = HashMap::new();
        let mut states = Vec::with_capacity(columns.len());
        for (i, c) in columns.iter().enumerate() {
            if columns[..i].iter().any(|d| d.name == c.name) {
                return Err(Error::InvalidParam {
                    name: "columns",
                    reason: format!("two columns are named {:?}", c.name),
                });
            }
            let name = c.selector.name();
            let (metric, state) = match c.take {
                Take::Gauge => (name.to_owned(), State::Gauge),
                Take::Rate => (
                    name.to_owned(),
                    State::Rate {
                        last: HashMap::new(),
                    },
                ),
                Take::HistogramQuantile { q, window } => {
                    if !(0.0..=1.0).contains(&q) {
                        return Err(Error::InvalidParam {
                            name: "q",
                            reason: format!("a quantile is in [0, 1], got {q} for {:?}", c.name),
                        });
                    }
                    if window == 0 {
                        return Err(Error::InvalidParam {
                            name: "window",
                            reason: format!("must be at least 1 scrape for {:?}", c.name),
                        });
                    }
                    let metric = if name.ends_with("_bucket") {
                        name.to_owned()
                    } else {
                        format!("{name}_bucket")
                    };
                    let state = State::Histogram {
                        bounds: Vec::new(),
                        histogram: None,
                    };
                    (metric, state)
                }
            };
            by_metric.entry(metric).or_default().push(i);
            states.push(state);
        }
        Ok(Extractor {
            names: columns.iter().map(|c| c.name.clone()).collect(),
            columns,
            by_metric,
            states,
            last: None,
            what: "exposition text".into(),
        })
    }

    /// Names the pages in errors (a URL, a file) instead of `exposition text`.
    pub fn named(mut self, what: impl Into<String>) -> Self {
        self.what = what.into();
        self
    }

    /// The columns' names, in order.
    pub fn columns(&self) -> &[String] {
        &self.names
    }

    /// The time of the last page read, if any.
    pub fn last_scrape(&self) -> Option<Timestamp> {
        self.last
    }

    /// Reads the page `text` scraped at `ts`, in the format [`Format::sniff`] finds.
    ///
    /// # Errors
    ///
    /// As [`Extractor::extract_as`].
    pub fn extract(&mut self, ts: Timestamp, text: &str) -> Result<Sample> {
        self.extract_as(ts, text, Format::sniff(text))
    }

    /// Reads the page `text` scraped at `ts` in `format`: one value per column.
    ///
    /// # Errors
    ///
    /// Nothing is changed, and [`Error::Parse`] when the page is malformed,
    /// [`Error::InvalidParam`] naming `ts` when `ts` is not after the last page's time.
    pub fn extract_as(&mut self, ts: Timestamp, text: &str, format: Format) -> Result<Sample> {
        if let Some(last) = self.last
            && ts <= last
        {
            return Err(Error::InvalidParam {
                name: "ts",
                reason: format!("a scrape at {ts} is not after the previous one at {last}"),
            });
        }
        let mut gathered: Vec<Gathered<'_>> = self
            .columns
            .iter()
            .map(|c| match c.take {
                Take::Gauge => Gathered::Sum(None),
                Take::Rate => Gathered::Counters(Vec::new()),
                Take::HistogramQuantile { .. } => Gathered::Buckets(Vec::new()),
            })
            .collect();
        for entry in Parser::new(text, format).named(&self.what) {
            let Entry::Sample(s) = entry? else {
                continue;
            };
            let Some(readers) = self.by_metric.get(s.name) else {
                continue;
            };
            for &i in readers {
                let (Some(column), Some(g)) = (self.columns.get(i), gathered.get_mut(i)) else {
                    continue;
                };
                if !column.selector.matches(&s.labels) {
                    continue;
                }
                match g {
                    Gathered::Sum(sum) => *sum = Some(sum.unwrap_or(0.0) + s.value),
                    Gathered::Counters(counters) => counters.push((s.labels.raw(), s.value)),
                    Gathered::Buckets(buckets) => {
                        // A bucket needs a bound; a series without one is not a bucket.
                        let Some(le) = s.labels.get("le").and_then(|le| parse_value(le.trim()))
                        else {
                            continue;
                        };
                        if le.is_nan() {
                            continue;
                        }
                        match buckets.iter_mut().find(|b| b.0 == le) {
                            Some(b) => b.1 += s.value,
                            None => buckets.push((le, s.value)),
                        }
                    }
                }
            }
        }
        let interval = self.last.map(|last| ts.secs_since(last));
        let mut values = Vec::with_capacity(self.columns.len());
        for ((column, state), g) in self.columns.iter().zip(&mut self.states).zip(gathered) {
            let value = match (state, g) {
                (State::Gauge, Gathered::Sum(sum)) => sum.unwrap_or(f64::NAN),
                (State::Rate { last }, Gathered::Counters(counters)) => {
                    let value = rate(last, &counters, interval);
                    last.clear();
                    for (labels, v) in counters {
                        last.insert(labels.to_owned(), v);
                    }
                    value
                }
                (State::Histogram { bounds, histogram }, Gathered::Buckets(buckets)) => {
                    let q = match column.take {
                        Take::HistogramQuantile { q, .. } => q,
                        _ => f64::NAN,
                    };
                    let window = match column.take {
                        Take::HistogramQuantile { window, .. } => window,
                        _ => 1,
                    };
                    quantile(bounds, histogram, buckets, ts, q, window)
                }
                _ => f64::NAN,
            };
            values.push(value);
        }
        self.last = Some(ts);
        Ok(Sample::new(ts, values))
    }

    /// Reads saved pages `(scrape time, text)`, in time order, into a [`Recorded`] source on
    /// `grid` (a NaN value becomes a stale point: the column has no value from then until its
    /// next one).
    ///
    /// # Errors
    ///
    /// As [`Extractor::extract`], at the first page that fails.
    pub fn replay<I, S>(&mut self, pages: I, grid: Grid) -> Result<Recorded>
    where
        I: IntoIterator<Item = (Timestamp, S)>,
        S: AsRef<str>,
    {
        let mut series: Vec<Vec<Point>> = vec![Vec::new(); self.names.len()];
        for (ts, text) in pages {
            let sample = self.extract(ts, text.as_ref())?;
            for (points, &v) in series.iter_mut().zip(&sample.values) {
                points.push(Point::new(ts, v));
            }
        }
        Recorded::new(self.names.clone(), series, grid)
    }

    /// Forgets every scrape (rates and histograms start again).
    pub fn reset(&mut self) {
        self.last = None;
        for state in &mut self.states {
            match state {
                State::Gauge => {}
                State::Rate { last } => last.clear(),
                State::Histogram { bounds, histogram } => {
                    bounds.clear();
                    *histogram = None;
                }
            }
        }
    }
}

/// The summed per-second increase of the counters present in both scrapes, with Prometheus's
/// reset rule; NaN when none is.
fn rate(last: &HashMap<String, f64>, counters: &[(&str, f64)], interval: Option<f64>) -> f64 {
    let Some(secs) = interval.filter(|s| *s > 0.0) else {
        return f64::NAN;
    };
    let mut total = 0.0;
    let mut any = false;
    for (labels, v) in counters {
        if let Some(&before) = last.get(*labels) {
            total += if *v < before { *v } else { v - before };
            any = true;
        }
    }
    if any { total / secs } else { f64::NAN }
}

/// Feeds a scrape's buckets to the column's histogram (rebuilt when the bounds change) and
/// reads the quantile; NaN when there is none to read.
fn quantile(
    bounds: &mut Vec<f64>,
    histogram: &mut Option<HistogramQuantiles>,
    mut buckets: Vec<(f64, f64)>,
    ts: Timestamp,
    q: f64,
    window: usize,
) -> f64 {
    if buckets.is_empty() {
        return f64::NAN;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let same = bounds.len() == buckets.len() && bounds.iter().zip(&buckets).all(|(a, b)| *a == b.0);
    if !same || histogram.is_none() {
        bounds.clear();
        bounds.extend(buckets.iter().map(|b| b.0));
        *histogram = HistogramQuantiles::new(bounds, window).ok();
    }
    let Some(h) = histogram.as_mut() else {
        return f64::NAN;
    };
    let counts: Vec<f64> = buckets.iter().map(|b| b.1).collect();
    // A scrape the histogram refuses (a NaN or negative count) leaves it as it was.
    if h.update(ts, &counts).is_err() {
        return f64::NAN;
    }
    if h.count() > 0.0 {
        h.quantile(q)
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_secs(s)
    }

    #[test]
    fn types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Extractor>();
        check::<Column>();
        check::<Selector>();
        check::<super::super::Parser<'static>>();
        check::<super::super::Entry<'static>>();
    }

    #[test]
    fn selectors_parse_and_print() {
        let s = Selector::parse(r#" x_total{a="1",b="q\"uote"} "#).unwrap();
        assert_eq!(s.name(), "x_total");
        assert_eq!(s.matchers()[1], ("b".into(), "q\"uote".into()));
        assert_eq!(Selector::parse(&s.to_string()).unwrap(), s);
        assert_eq!(Selector::parse("up").unwrap(), Selector::new("up"));
        for bad in [
            "",
            "1x",
            "x{a=1}",
            "x{a=\"1\"} 2",
            "x 2",
            "x\ny",
            "x{a=\"1\"",
            "rate(x[5m])",
        ] {
            assert!(
                matches!(
                    Selector::parse(bad),
                    Err(Error::InvalidParam {
                        name: "selector",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn columns_are_checked() {
        let dup = vec![
            Column::gauge("a", Selector::new("x")),
            Column::gauge("a", Selector::new("y")),
        ];
        assert!(Extractor::new(dup).is_err());
        assert!(Extractor::new(vec![]).is_err());
        let q = Column::histogram_quantile("p", Selector::new("h"), 1.5);
        assert!(matches!(
            Extractor::new(vec![q]),
            Err(Error::InvalidParam { name: "q", .. })
        ));
        let w = Column::new(
            "p",
            Selector::new("h"),
            Take::HistogramQuantile { q: 0.5, window: 0 },
        );
        assert!(matches!(
            Extractor::new(vec![w]),
            Err(Error::InvalidParam { name: "window", .. })
        ));
    }

    #[test]
    fn gauges_sum_the_matching_series() {
        let mut e = Extractor::new(vec![
            Column::gauge("all", Selector::new("g")),
            Column::gauge("a", Selector::new("g").label("k", "a")),
            Column::gauge("unlabelled", Selector::new("g").label("k", "")),
            Column::gauge("none", Selector::new("missing")),
        ])
        .unwrap();
        let page = "g{k=\"a\"} 1\ng{k=\"b\"} 2.5\ng 10\nh 3\n";
        let s = e.extract(t(0), page).unwrap();
        assert_eq!(&s.values[..3], &[13.5, 1.0, 10.0]);
        assert!(s.values[3].is_nan());
        assert_eq!(e.columns(), ["all", "a", "unlabelled", "none"]);
    }

    #[test]
    fn rates_follow_counter_resets() {
        let mut e = Extractor::new(vec![Column::rate("r", Selector::new("c_total"))]).unwrap();
        let page = |a: f64, b: f64| format!("c_total{{i=\"a\"}} {a}\nc_total{{i=\"b\"}} {b}\n");
        assert!(e.extract(t(0), &page(100.0, 50.0)).unwrap().values[0].is_nan());
        // +20 and +10 in 10 s.
        assert_eq!(e.extract(t(10), &page(120.0, 60.0)).unwrap().values[0], 3.0);
        // `a` restarted and counted 5 since: its increase is 5, not −115; `b` +20. In 5 s.
        assert_eq!(e.extract(t(15), &page(5.0, 80.0)).unwrap().values[0], 5.0);
        // A new series has no rate in its first scrape; a missing one none at all.
        let s = e
            .extract(t(20), "c_total{i=\"a\"} 10\nc_total{i=\"c\"} 7\n")
            .unwrap();
        assert_eq!(s.values[0], 1.0);
        assert!(e.extract(t(25), "other 1\n").unwrap().values[0].is_nan());
        assert!(e.extract(t(30), "c_total{i=\"a\"} 11\n").unwrap().values[0].is_nan());
    }

    #[test]
    fn scrapes_must_go_forward_and_bad_pages_change_nothing() {
        let mut e = Extractor::new(vec![Column::rate("r", Selector::new("c"))]).unwrap();
        e.extract(t(10), "c 1\n").unwrap();
        assert!(matches!(
            e.extract(t(10), "c 2\n"),
            Err(Error::InvalidParam { name: "ts", .. })
        ));
        assert!(matches!(
            e.extract(t(20), "c 2\nc{\n"),
            Err(Error::Parse { line: 2, .. })
        ));
        assert_eq!(e.last_scrape(), Some(t(10)));
        // The rate is over the 20 s since the last good page.
        assert_eq!(e.extract(t(30), "c 5\n").unwrap().values[0], 0.2);
        e.reset();
        assert!(e.extract(t(0), "c 5\n").unwrap().values[0].is_nan());
    }

    #[test]
    fn histogram_quantile_by_hand() {
        // Two series of one histogram, summed by `le`; bounds out of order on the page.
        let mut e = Extractor::new(vec![
            Column::histogram_quantile("p50", Selector::new("lat_seconds"), 0.5),
            Column::histogram_quantile(
                "p99",
                Selector::new("lat_seconds_bucket").label("svc", "a"),
                0.99,
            ),
        ])
        .unwrap();
        let page = |a: [u32; 4], b: [u32; 4]| {
            let mut p = String::new();
            for (svc, c) in [("a", a), ("b", b)] {
                for (le, n) in ["0.1", "0.5", "+Inf", "1"].iter().zip(c) {
                    p += &format!("lat_seconds_bucket{{svc=\"{svc}\",le=\"{le}\"}} {n}\n");
                }
                p += &format!("lat_seconds_count{{svc=\"{svc}\"}} {}\n", c[2]);
            }
            p
        };
        // Counts by (0.1, 0.5, +Inf, 1).
        let first = e
            .extract(t(0), &page([10, 20, 40, 30], [0, 0, 0, 0]))
            .unwrap();
        assert!(first.values.iter().all(|v| v.is_nan()));
        let s = e
            .extract(t(15), &page([30, 60, 100, 80], [20, 40, 60, 60]))
            .unwrap();
        // Summed increases: ≤0.1: 20+20 = 40, ≤0.5: 40+40 = 80, ≤1: 50+60 = 110, +Inf: 60+60 = 120.
        // p50: rank 60 in (0.1, 0.5]: 0.1 + 0.4 · (60 − 40)/(80 − 40) = 0.3.
        assert!((s.values[0] - 0.3).abs() < 1e-12, "{}", s.values[0]);
        // p99 of svc a alone: increases 20, 40, 50, 60; rank 59.4 is past the ≤1 count 50: in
        // the +Inf bucket, so the highest finite bound, 1.
        assert_eq!(s.values[1], 1.0);
        // No observation in the window: NaN, as Prometheus gives.
        let idle = e
            .extract(t(30), &page([30, 60, 100, 80], [20, 40, 60, 60]))
            .unwrap();
        assert!(idle.values.iter().all(|v| v.is_nan()));
    }
}
