//! The Prometheus / OpenMetrics text exposition: a `/metrics` page parsed line by line, and
//! columns for the `Scaler` read from successive scrapes of it.
//!
//! ```
//! use prescient_core::Timestamp;
//! use prescient_sources::exposition::{Column, Extractor, Selector};
//!
//! let mut extractor = Extractor::new(vec![
//!     Column::gauge("queue", Selector::parse("queue_depth")?),
//!     Column::rate("load", Selector::parse(r#"http_requests_total{code="200"}"#)?),
//! ])?;
//! let page = |requests: u32| format!(
//!     "# TYPE queue_depth gauge\nqueue_depth 7\n# TYPE http_requests_total counter\n\
//!      http_requests_total{{code=\"200\"}} {requests}\nhttp_requests_total{{code=\"500\"}} 3\n"
//! );
//! let first = extractor.extract(Timestamp::from_secs(0), &page(1000))?;
//! assert_eq!(first.values[0], 7.0);
//! assert!(first.values[1].is_nan()); // a rate needs two scrapes
//! let second = extractor.extract(Timestamp::from_secs(15), &page(1300))?;
//! assert_eq!(second.values, [7.0, 20.0]); // 300 requests in 15 s
//! # Ok::<(), prescient_sources::Error>(())
//! ```
//!
//! Two layers:
//!
//! - [`Parser`] reads the text: an iterator of [`Entry`] (`# HELP`, `# TYPE`, `# UNIT` and
//!   sample lines) that borrows names and label text from the page. A line costs no allocation:
//!   labels are checked when the line is read but kept as their raw text ([`Labels`]), and a
//!   label value is unescaped only when asked for and only if it holds a backslash (a
//!   [`Cow`]). Floats are parsed exactly (a fast path for plain decimals of up to 15 digits, which
//!   is exact by Clinger's argument, and `str::parse::<f64>` for the rest).
//! - [`Extractor`] turns successive scrapes into [`Sample`]s: each [`Column`] sums the series a
//!   [`Selector`] matches (as PromQL's `sum(...)`) and takes its value, its per-second rate
//!   between two scrapes, or a histogram quantile ([`Take`]). It needs no network: saved pages
//!   replay through [`Extractor::replay`] into a [`Recorded`] source, and
//!   `http::ScrapeSource` (feature `http`) feeds it live pages.
//!
//! # Formats
//!
//! The two formats differ in three ways that matter to a reader, and [`Format`] says which one a
//! page is in: timestamps (integer milliseconds in Prometheus's text format 0.0.4, seconds with
//! a fraction in OpenMetrics 1.0), exemplars (OpenMetrics only) and the closing `# EOF`
//! (OpenMetrics only, and required: a page without it was cut short). A server says which it
//! sends in its `Content-Type` ([`Format::from_content_type`]); without one,
//! [`Format::sniff`] takes a page that ends with `# EOF` for OpenMetrics, as the format requires
//! that line and the older one never writes it. [`Extractor::extract`] sniffs.
//!
//! Both formats' metric types are read in both (`untyped` is [`MetricType::Unknown`]). The
//! reader is lenient where leniency cannot change a number: any other `#` line is a comment,
//! spaces and tabs may surround the tokens, a label set may end with a comma, and an unknown
//! escape in a label value (`\t`) is kept as written (as Prometheus keeps it). It is strict
//! where a mistake would change the numbers: a value or
//! a timestamp that does not parse, an unterminated label value, text after `# EOF` or a
//! missing `# EOF` are errors, with the line number and the offending text. Quoted UTF-8 metric
//! names (`{"my.metric"}`, Prometheus 3) are not read.

mod columns;

pub use columns::{Column, Extractor, Selector, Take};

use std::borrow::Cow;
use std::fmt;

use prescient_core::Timestamp;

use crate::error::shorten;
use crate::{Error, Result};

#[cfg(doc)]
use crate::Recorded;
#[cfg(doc)]
use prescient_core::Sample;

/// Which text format a page is in (see the [module docs](self) for how they differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Prometheus's text format 0.0.4 (`text/plain; version=0.0.4`): timestamps are integer
    /// milliseconds, no exemplars, no `# EOF`.
    #[default]
    Prometheus,
    /// OpenMetrics 1.0 (`application/openmetrics-text`): timestamps are seconds (with a
    /// fraction), exemplars may follow a value, and the page must end with `# EOF`.
    OpenMetrics,
}

impl Format {
    /// The format a `Content-Type` header names: OpenMetrics for
    /// `application/openmetrics-text`, Prometheus's text format for anything else (it is what
    /// servers send by default, as `text/plain`).
    ///
    /// ```
    /// use prescient_sources::exposition::Format;
    ///
    /// let om = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    /// assert_eq!(Format::from_content_type(om), Format::OpenMetrics);
    /// assert_eq!(Format::from_content_type("text/plain; version=0.0.4"), Format::Prometheus);
    /// ```
    pub fn from_content_type(content_type: &str) -> Format {
        let prefix = "application/openmetrics-text";
        match content_type.trim_start().get(..prefix.len()) {
            Some(p) if p.eq_ignore_ascii_case(prefix) => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    /// The format of `text` judged from its end: OpenMetrics if its last line that is not
    /// blank is `# EOF`, which OpenMetrics requires and Prometheus's format never writes; else
    /// Prometheus's. (A page cut short therefore reads as Prometheus's format: where the format
    /// is known, from the `Content-Type`, pass it to [`Parser::new`] to have a missing `# EOF`
    /// reported.)
    ///
    /// ```
    /// use prescient_sources::exposition::Format;
    ///
    /// assert_eq!(Format::sniff("up 1\n# EOF\n"), Format::OpenMetrics);
    /// assert_eq!(Format::sniff("up 1\n"), Format::Prometheus);
    /// ```
    pub fn sniff(text: &str) -> Format {
        let end = text.trim_end();
        match end.strip_suffix("# EOF") {
            Some(rest) if rest.is_empty() || rest.ends_with('\n') => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }
}

/// The type of a metric family, from its `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// A count that only goes up (until the process restarts).
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Cumulative `_bucket` counts by upper bound `le`, with `_sum` and `_count`.
    Histogram,
    /// A histogram whose buckets are gauges (OpenMetrics).
    GaugeHistogram,
    /// Quantiles by `quantile` label, with `_sum` and `_count`.
    Summary,
    /// Labels that describe the target, with the value 1 (OpenMetrics).
    Info,
    /// A set of booleans, one series per state (OpenMetrics).
    StateSet,
    /// No type said: `untyped` in Prometheus's format, `unknown` in OpenMetrics.
    Unknown,
}

impl MetricType {
    /// The type's name in OpenMetrics (`counter`, `gaugehistogram`, `unknown`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "gaugehistogram" => MetricType::GaugeHistogram,
            "summary" => MetricType::Summary,
            "info" => MetricType::Info,
            "stateset" => MetricType::StateSet,
            "untyped" | "unknown" => MetricType::Unknown,
            _ => return None,
        })
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One meaningful line of a page: metadata or a sample. Blank lines, comments and `# EOF` are
/// not entries.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    /// `# HELP name text`.
    Help {
        /// The metric family.
        name: &'a str,
        /// The help text, unescaped (`\\`, `\n`, `\"`).
        text: Cow<'a, str>,
    },
    /// `# TYPE name type`.
    Type {
        /// The metric family.
        name: &'a str,
        /// Its type.
        kind: MetricType,
    },
    /// `# UNIT name unit` (OpenMetrics).
    Unit {
        /// The metric family.
        name: &'a str,
        /// The unit (`seconds`, `bytes`).
        unit: &'a str,
    },
    /// `name{labels} value [timestamp]`.
    Sample(SampleLine<'a>),
}

/// A sample line: one value of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleLine<'a> {
    /// The series' metric name (`http_requests_total`, `latency_seconds_bucket`).
    pub name: &'a str,
    /// Its labels, as written.
    pub labels: Labels<'a>,
    /// The value (NaN and ±infinity included).
    pub value: f64,
    /// The time the exporter gave the value, if it gave one (most do not; the scrape's time is
    /// then the sample's).
    pub timestamp: Option<Timestamp>,
}

/// The labels of a sample line, kept as the text between the braces (already checked), so that
/// reading a line allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Labels<'a> {
    raw: &'a str,
}

impl<'a> Labels<'a> {
    /// The text between the braces, as written (empty for a series without labels). It
    /// identifies a series within its metric as long as the exporter writes its labels in the
    /// same order every time, as exporters do.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The labels in the order written.
    pub fn iter(&self) -> LabelIter<'a> {
        LabelIter {
            cursor: Cursor::new(self.raw, 0),
        }
    }

    /// The value of label `name`, unescaped, if the series has it.
    ///
    /// ```
    /// use prescient_sources::exposition::{Entry, Format, Parser};
    ///
    /// let page = r#"x{path="C:\\tmp",code="200"} 1"#;
    /// let Some(Ok(Entry::Sample(s))) = Parser::new(page, Format::Prometheus).next() else {
    ///     panic!("one sample");
    /// };
    /// assert_eq!(s.labels.get("path").as_deref(), Some(r"C:\tmp"));
    /// assert_eq!(s.labels.get("code").as_deref(), Some("200"));
    /// assert_eq!(s.labels.get("le"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<Cow<'a, str>> {
        self.iter().find(|l| l.name == name).map(|l| l.value())
    }

    /// Whether label `name` has exactly `value`, where a missing label counts as the empty
    /// string (as in PromQL, where `{a=""}` matches the series without `a`).
    pub fn matches(&self, name: &str, value: &str) -> bool {
        match self.iter().find(|l| l.name == name) {
            Some(l) => l.value_is(value),
            None => value.is_empty(),
        }
    }
}

impl<'a> IntoIterator for Labels<'a> {
    type Item = Label<'a>;
    type IntoIter = LabelIter<'a>;

    fn into_iter(self) -> LabelIter<'a> {
        self.iter()
    }
}

/// One label of a sample line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Label<'a> {
    /// The label's name.
    pub name: &'a str,
    /// Its value as written between the quotes, escapes and all.
    pub raw_value: &'a str,
}

impl<'a> Label<'a> {
    /// The value, unescaped (`\\`, `\"`, `\n`; any other escape is kept as written). Borrowed
    /// unless it holds a backslash.
    pub fn value(&self) -> Cow<'a, str> {
        unescape(self.raw_value)
    }

    /// Whether the unescaped value is `value` (without allocating unless it holds a backslash).
    pub fn value_is(&self, value: &str) -> bool {
        if self.raw_value.contains('\\') {
            self.value() == value
        } else {
            self.raw_value == value
        }
    }
}

/// The labels of a sample line, in order ([`Labels::iter`]).
#[derive(Debug, Clone)]
pub struct LabelIter<'a> {
    cursor: Cursor<'a>,
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = Label<'a>;

    fn next(&mut self) -> Option<Label<'a>> {
        // The text was checked by the parser; anything unexpected here (which cannot happen)
        // ends the iteration rather than panicking.
        let c = &mut self.cursor;
        c.skip_ws();
        if c.peek() == Some(b',') {
            c.bump();
            c.skip_ws();
        }
        let name = c.take_while(is_label_char);
        if name.is_empty() {
            return None;
        }
        c.skip_ws();
        c.eat(b'=').then_some(())?;
        c.skip_ws();
        c.eat(b'"').then_some(())?;
        let raw_value = c.quoted()?;
        c.skip_ws();
        Some(Label { name, raw_value })
    }
}

/// Reads a page: an iterator of its [`Entry`]s, in order, that stops at the first error.
///
/// Lines end with `\n` or `\r\n`; blank lines, comments and trailing whitespace are skipped.
/// Metadata (`# HELP`, `# TYPE`, `# UNIT`) is passed on as written and not checked against the
/// samples that follow it.
///
/// ```
/// use prescient_sources::exposition::{Entry, Format, MetricType, Parser};
///
/// let page = "# TYPE rpc_seconds histogram\n\
///             rpc_seconds_bucket{le=\"0.1\"} 8\n\
///             rpc_seconds_bucket{le=\"+Inf\"} 10 1700000000000\n";
/// let entries = Parser::new(page, Format::Prometheus).collect::<Result<Vec<_>, _>>()?;
/// assert!(matches!(entries[0], Entry::Type { name: "rpc_seconds", kind: MetricType::Histogram }));
/// let Entry::Sample(last) = &entries[2] else { panic!("a sample") };
/// assert_eq!((last.name, last.value), ("rpc_seconds_bucket", 10.0));
/// assert_eq!(last.labels.get("le").as_deref(), Some("+Inf"));
/// assert_eq!(last.timestamp.map(|t| t.as_millis()), Some(1_700_000_000_000));
///
/// // A malformed line is an error naming its line.
/// let err = Parser::new("up 1\nup one\n", Format::Prometheus).nth(1).unwrap().unwrap_err();
/// assert!(err.to_string().contains("line 2"), "{err}");
/// # Ok::<(), prescient_sources::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Parser<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    format: Format,
    what: &'a str,
    saw_eof: bool,
    done: bool,
}

impl<'a> Parser<'a> {
    /// Reads `text` in `format` (see [`Format::sniff`] when it is not known).
    pub fn new(text: &'a str, format: Format) -> Self {
        Parser {
            text,
            pos: 0,
            line: 0,
            format,
            what: "exposition text",
            saw_eof: false,
            done: false,
        }
    }

    /// Names the text in errors (a URL, a file name) instead of `exposition text`.
    pub fn named(mut self, what: &'a str) -> Self {
        self.what = what;
        self
    }

    /// The 1-based number of the last line read (0 before the first).
    pub fn line(&self) -> usize {
        self.line
    }

    fn error(&self, reason: String) -> Error {
        Error::Parse {
            what: self.what.to_owned(),
            line: self.line,
            reason,
        }
    }

    /// The next line, without its end and trailing whitespace, or `None` at the end.
    fn next_line(&mut self) -> Option<&'a str> {
        let rest = self.text.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        // `str::find` with a `char` searches with memchr.
        let (line, advance) = match rest.find('\n') {
            Some(end) => (rest.get(..end).unwrap_or(""), end + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        self.line += 1;
        Some(line.trim_end_matches([' ', '\t', '\r']))
    }

    fn comment(&self, line: &'a str) -> Result<Option<Entry<'a>>> {
        // `#` then a space, a keyword and a space; anything else is a comment.
        let Some(body) = line.strip_prefix("# ") else {
            return Ok(None);
        };
        let body = body.trim_start_matches([' ', '\t']);
        if body == "EOF" {
            return Ok(None);
        }
        let (keyword, rest) = match body.find([' ', '\t']) {
            Some(i) => (body.get(..i).unwrap_or(""), body.get(i..).unwrap_or("")),
            None => (body, ""),
        };
        if !matches!(keyword, "HELP" | "TYPE" | "UNIT") {
            return Ok(None);
        }
        let rest = rest.trim_start_matches([' ', '\t']);
        let mut c = Cursor::new(rest, 0);
        let name = c.take_while(is_name_char);
        if !is_metric_name(name) {
            return Err(self.error(format!(
                "expected a metric name after `# {keyword}`, found {}",
                quote_rest(rest)
            )));
        }
        if !matches!(c.peek(), None | Some(b' ' | b'\t')) {
            return Err(self.error(format!(
                "expected a space after the metric name, found {}",
                quote_rest(c.rest())
            )));
        }
        c.skip_ws();
        let arg = c.rest();
        Ok(Some(match keyword {
            "HELP" => Entry::Help {
                name,
                text: unescape(arg),
            },
            "TYPE" => match MetricType::parse(arg) {
                Some(kind) => Entry::Type { name, kind },
                None => {
                    return Err(self.error(format!("unknown metric type {}", quote_rest(arg))));
                }
            },
            _ => Entry::Unit { name, unit: arg },
        }))
    }

    fn sample(&self, line: &'a str) -> Result<SampleLine<'a>> {
        let mut c = Cursor::new(line, 0);
        c.skip_ws();
        let name = c.take_while(is_name_char);
        if !is_metric_name(name) {
            let what = if line.trim_start().starts_with('{') {
                "a metric name (quoted names are not supported)"
            } else {
                "a metric name"
            };
            return Err(self.error(format!("expected {what}, found {}", quote_rest(c.rest()))));
        }
        let had_space = c.skip_ws();
        let mut labels = Labels::default();
        if c.peek() == Some(b'{') {
            c.bump();
            let start = c.pos;
            self.check_labels(line, &mut c)?;
            labels.raw = line.get(start..c.pos).unwrap_or("");
            c.bump(); // the closing brace
            c.skip_ws();
        } else if c.peek().is_none() {
            return Err(self.error(format!("a sample needs a value: `{}`", shorten(line, 80))));
        } else if !had_space {
            return Err(self.error(format!(
                "expected a space or `{{` after the metric name, found {}",
                quote_rest(c.rest())
            )));
        }
        let token = c.token();
        if token.is_empty() {
            return Err(self.error(format!("a sample needs a value: `{}`", shorten(line, 80))));
        }
        let Some(value) = parse_value(token) else {
            return Err(self.error(format!("invalid value `{}`", shorten(token, 40))));
        };
        c.skip_ws();
        let mut timestamp = None;
        if !matches!(c.peek(), None | Some(b'#')) {
            let token = c.token();
            timestamp = match self.format {
                Format::Prometheus => token.parse::<i64>().ok(),
                Format::OpenMetrics => parse_secs_as_millis(token),
            }
            .map(Timestamp::from_millis);
            if timestamp.is_none() {
                let unit = match self.format {
                    Format::Prometheus => "integer milliseconds",
                    Format::OpenMetrics => "seconds",
                };
                return Err(self.error(format!(
                    "invalid timestamp `{}` (expected {unit})",
                    shorten(token, 40)
                )));
            }
            c.skip_ws();
        }
        match c.peek() {
            None => {}
            Some(b'#') if self.format == Format::OpenMetrics => {
                // An exemplar: ` # {labels} value [timestamp]`. It is skipped, but must at
                // least open with its label set.
                c.bump();
                c.skip_ws();
                if c.peek() != Some(b'{') {
                    return Err(self.error(format!(
                        "expected an exemplar's `{{labels}}` after `#`, found {}",
                        quote_rest(c.rest())
                    )));
                }
            }
            Some(_) => {
                return Err(self.error(format!(
                    "unexpected text after the sample: {}",
                    quote_rest(c.rest())
                )));
            }
        }
        Ok(SampleLine {
            name,
            labels,
            value,
            timestamp,
        })
    }

    /// Checks a label set from after its `{`, leaving the cursor on its `}`.
    fn check_labels(&self, line: &str, c: &mut Cursor<'_>) -> Result<()> {
        loop {
            c.skip_ws();
            if c.peek() == Some(b'}') {
                return Ok(());
            }
            let name = c.take_while(is_label_char);
            if !is_label_name(name) {
                let found = if c.peek().is_none() {
                    "the end of the line (no closing `}`)".to_owned()
                } else {
                    quote_rest(c.rest())
                };
                return Err(self.error(format!("expected a label name or `}}`, found {found}")));
            }
            c.skip_ws();
            if !c.eat(b'=') {
                return Err(self.error(format!(
                    "expected `=` after label `{name}`, found {}",
                    quote_rest(c.rest())
                )));
            }
            c.skip_ws();
            if !c.eat(b'"') {
                return Err(self.error(format!(
                    "expected a quoted value for label `{name}`, found {}",
                    quote_rest(c.rest())
                )));
            }
            if c.quoted().is_none() {
                return Err(self.error(format!(
                    "unterminated value of label `{name}`: `{}`",
                    shorten(line, 80)
                )));
            }
            c.skip_ws();
            match c.peek() {
                Some(b',') => c.bump(),
                Some(b'}') => return Ok(()),
                _ => {
                    return Err(self.error(format!(
                        "expected `,` or `}}` after label `{name}`, found {}",
                        quote_rest(c.rest())
                    )));
                }
            }
        }
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let Some(line) = self.next_line() else {
                self.done = true;
                if self.format == Format::OpenMetrics && !self.saw_eof {
                    return Some(Err(self.error(
                        "no `# EOF` at the end (an OpenMetrics page must end with it: was it \
                         cut short?)"
                            .into(),
                    )));
                }
                return None;
            };
            let trimmed = line.trim_start_matches([' ', '\t']);
            if trimmed.is_empty() {
                continue;
            }
            if self.saw_eof {
                self.done = true;
                return Some(Err(
                    self.error(format!("text after `# EOF`: `{}`", shorten(trimmed, 80)))
                ));
            }
            let outcome = if trimmed.as_bytes().first() == Some(&b'#') {
                if self.format == Format::OpenMetrics && trimmed == "# EOF" {
                    self.saw_eof = true;
                    continue;
                }
                match self.comment(trimmed) {
                    Ok(None) => continue,
                    Ok(Some(entry)) => Ok(entry),
                    Err(e) => Err(e),
                }
            } else {
                self.sample(line).map(Entry::Sample)
            };
            if outcome.is_err() {
                self.done = true;
            }
            return Some(outcome);
        }
    }
}

impl std::iter::FusedIterator for Parser<'_> {}

/// Reads every sample line of `text` (metadata skipped) in `format`.
///
/// # Errors
///
/// [`Error::Parse`] at the first malformed line.
///
/// ```
/// use prescient_sources::exposition::{Format, samples};
///
/// let page = "# HELP up Whether the target is up.\nup{job=\"api\"} 1\nup{job=\"db\"} 0\n";
/// let values: Vec<f64> = samples(page, Format::Prometheus)?.iter().map(|s| s.value).collect();
/// assert_eq!(values, [1.0, 0.0]);
/// # Ok::<(), prescient_sources::Error>(())
/// ```
pub fn samples(text: &str, format: Format) -> Result<Vec<SampleLine<'_>>> {
    let mut out = Vec::new();
    for entry in Parser::new(text, format) {
        if let Entry::Sample(s) = entry? {
            out.push(s);
        }
    }
    Ok(out)
}

/// Writes one sample line (with its `\n`) in `format`: label values escaped, the value as the
/// shortest text that parses back to it exactly (`NaN`, `+Inf`, `-Inf` for the special ones),
/// the timestamp in the format's unit.
///
/// The names are written as given: they should be valid metric and label names.
///
/// # Errors
///
/// Only `out`'s.
///
/// ```
/// use prescient_core::Timestamp;
/// use prescient_sources::exposition::{Format, write_sample};
///
/// let mut page = String::new();
/// let ts = Some(Timestamp::from_millis(1_500));
/// write_sample(&mut page, "x", &[("a", "say \"hi\"\n")], 0.1, ts, Format::Prometheus)?;
/// write_sample(&mut page, "y", &[], f64::INFINITY, ts, Format::OpenMetrics)?;
/// assert_eq!(page, "x{a=\"say \\\"hi\\\"\\n\"} 0.1 1500\ny +Inf 1.500\n");
/// # Ok::<(), std::fmt::Error>(())
/// ```
pub fn write_sample<W: fmt::Write>(
    out: &mut W,
    name: &str,
    labels: &[(&str, &str)],
    value: f64,
    timestamp: Option<Timestamp>,
    format: Format,
) -> fmt::Result {
    out.write_str(name)?;
    if !labels.is_empty() {
        out.write_char('{')?;
        for (i, (label, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.write_char(',')?;
            }
            out.write_str(label)?;
            out.write_str("=\"")?;
            write_escaped(out, v)?;
            out.write_char('"')?;
        }
        out.write_char('}')?;
    }
    out.write_char(' ')?;
    write_value(out, value)?;
    if let Some(ts) = timestamp {
        let ms = ts.as_millis();
        match format {
            Format::Prometheus => write!(out, " {ms}")?,
            Format::OpenMetrics => {
                let sign = if ms < 0 { "-" } else { "" };
                let abs = ms.unsigned_abs();
                write!(out, " {sign}{}.{:03}", abs / 1000, abs % 1000)?;
            }
        }
    }
    out.write_char('\n')
}

/// Writes `value` as the exposition formats spell it: `NaN`, `+Inf`, `-Inf`, or the shortest
/// decimal that parses back to exactly `value`.
///
/// # Errors
///
/// Only `out`'s.
pub fn write_value<W: fmt::Write>(out: &mut W, value: f64) -> fmt::Result {
    if value.is_nan() {
        out.write_str("NaN")
    } else if value == f64::INFINITY {
        out.write_str("+Inf")
    } else if value == f64::NEG_INFINITY {
        out.write_str("-Inf")
    } else {
        // Debug is Rust's shortest round-trip form, with an exponent for very large and very
        // small magnitudes (Display would write 1e300 out in full).
        write!(out, "{value:?}")
    }
}

/// Writes a label value with `\`, `"` and newlines escaped.
fn write_escaped<W: fmt::Write>(out: &mut W, value: &str) -> fmt::Result {
    let mut start = 0;
    for (i, ch) in value.char_indices() {
        let escaped = match ch {
            '\\' => "\\\\",
            '"' => "\\\"",
            '\n' => "\\n",
            _ => continue,
        };
        out.write_str(value.get(start..i).unwrap_or(""))?;
        out.write_str(escaped)?;
        start = i + 1;
    }
    out.write_str(value.get(start..).unwrap_or(""))
}

/// `text` unescaped: `\\`, `\"` and `\n` (Prometheus's help text never escapes `"`, so reading
/// `\"` as `"` there too is harmless); any other escape is kept as written.
fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('n') => out.push('\n'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// Powers of ten that are exact in an f64 (up to 1e22).
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// A sample value: `NaN`, `±Inf`, or a float parsed exactly (`None` if it is none of them).
pub(crate) fn parse_value(token: &str) -> Option<f64> {
    let bytes = token.as_bytes();
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, bytes),
    };
    // The fast path: at most 15 digits and one dot, no exponent. The digits make an integer
    // below 2^53 and the power of ten is exact, so the one division rounds correctly: the
    // result is what a full parser gives (Clinger's fast path).
    if digits.len() <= 16 {
        let mut mantissa: u64 = 0;
        let mut n_digits = 0usize;
        let mut fraction: Option<usize> = None;
        let mut plain = true;
        for &b in digits {
            match b {
                b'0'..=b'9' => {
                    mantissa = mantissa * 10 + u64::from(b - b'0');
                    n_digits += 1;
                    if let Some(f) = fraction.as_mut() {
                        *f += 1;
                    }
                }
                b'.' if fraction.is_none() => fraction = Some(0),
                _ => {
                    plain = false;
                    break;
                }
            }
        }
        if plain && (1..=15).contains(&n_digits) {
            let scale = POW10.get(fraction.unwrap_or(0)).copied().unwrap_or(1.0);
            let v = mantissa as f64 / scale;
            return Some(if negative { -v } else { v });
        }
    }
    match token {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => token.parse().ok(),
    }
}

/// An OpenMetrics timestamp (seconds, maybe with a fraction or an exponent) in milliseconds,
/// rounded to the nearest; exact for plain decimals.
fn parse_secs_as_millis(token: &str) -> Option<i64> {
    let (negative, unsigned) = match token.as_bytes().first() {
        Some(b'-') => (true, token.get(1..)?),
        Some(b'+') => (false, token.get(1..)?),
        _ => (false, token),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (!int.is_empty() || !frac.is_empty())
        && int.len() <= 15
        && all_digits(int)
        && all_digits(frac)
    {
        // Exact: whole seconds times 1000 plus the first three digits of the fraction,
        // rounded by the fourth.
        let mut ms: i64 = if int.is_empty() {
            0
        } else {
            int.parse::<i64>().ok()? * 1000
        };
        let mut digits = frac.bytes().map(|b| i64::from(b - b'0'));
        for scale in [100, 10, 1] {
            ms += digits.next().unwrap_or(0) * scale;
        }
        if digits.next().unwrap_or(0) >= 5 {
            ms += 1;
        }
        return Some(if negative { -ms } else { ms });
    }
    let secs: f64 = token.parse().ok()?;
    let ms = (secs * 1000.0).round();
    // Beyond ±2^62 ms (146 million years) is not a time but an error.
    (ms.is_finite() && ms.abs() < 4.6e18).then_some(ms as i64)
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

fn is_label_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn is_metric_name(name: &str) -> bool {
    name.as_bytes()
        .first()
        .is_some_and(|&b| !b.is_ascii_digit() && is_name_char(b))
        && name.bytes().all(is_name_char)
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn is_label_name(name: &str) -> bool {
    name.as_bytes()
        .first()
        .is_some_and(|&b| !b.is_ascii_digit() && is_label_char(b))
        && name.bytes().all(is_label_char)
}

/// `rest` (a tail of `line`) quoted and shortened for an error message.
fn quote_rest(rest: &str) -> String {
    if rest.is_empty() {
        "the end of the line".to_owned()
    } else {
        format!("`{}`", shorten(rest, 40))
    }
}

/// A position in a line, read byte by byte. It only ever stops on an ASCII byte or the end, so
/// every slice it takes is on a char boundary; `str::get` makes sure of it regardless.
#[derive(Debug, Clone)]
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str, pos: usize) -> Self {
        Cursor { text, pos }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn bump(&mut self) {
        self.pos += 1;
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.bump();
        }
        hit
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    /// Skips spaces and tabs; whether there were any.
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.bump();
        }
        self.pos > start
    }

    /// The run of ASCII bytes from here for which `keep` holds.
    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if !b.is_ascii() || !keep(b) {
                break;
            }
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or("")
    }

    /// The run of bytes up to the next space or tab (or the end).
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if b == b' ' || b == b'\t' {
                break;
            }
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or("")
    }

    /// From after an opening `"`: the raw text up to the closing `"` (which is consumed), or
    /// `None` when the line ends first.
    fn quoted(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        loop {
            match bytes.get(self.pos)? {
                b'"' => break,
                // An escape: skip the next byte whatever it is. A multi-byte char's
                // continuation bytes are never `"` or `\`, so the scan stays in step.
                b'\\' => self.pos += 2,
                _ => self.pos += 1,
            }
        }
        let raw = self.text.get(start..self.pos);
        self.pos += 1;
        raw
    }
}

#[cfg(test)]
mod tests;
