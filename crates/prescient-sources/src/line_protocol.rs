//! InfluxDB line protocol, read from text, files and streams into a [`Recorded`] source.
//!
//! ```
//! use prescient_core::Timestamp;
//! use prescient_sources::line_protocol::{Column, LineProtocol, Precision};
//! use prescient_sources::{Grid, Source};
//!
//! let text = "\
//! ## telegraf, one host per line
//! cpu,host=a usage=20.5,requests=100i 1700000000000
//! cpu,host=b usage=10,requests=50i 1700000000000
//! cpu,host=a usage=30.5,requests=120i 1700000015000
//! ";
//! let reader = LineProtocol::new(vec![
//!     Column::new("cpu", "requests"),                 // both hosts, summed
//!     Column::new("cpu", "usage").tag("host", "a"),   // host a only
//! ])
//! .precision(Precision::Milliseconds);
//! let mut source = reader.read_str(text, Grid::new(15.0, 60.0)?)?;
//! assert_eq!(source.columns(), ["cpu_requests", "cpu_usage"]);
//! let sample = source.poll(Timestamp::from_millis(1_700_000_000_000))?;
//! assert_eq!(sample.values, [150.0, 20.5]);
//! # Ok::<(), prescient_sources::Error>(())
//! ```
//!
//! # Selecting columns
//!
//! A [`Column`] is a measurement, a field and optional exact tag matchers. Every series (tag
//! set) of the measurement whose tags match contributes: within one series a later point at the
//! same millisecond replaces an earlier one (as InfluxDB keeps the last write), and the series
//! are then **summed** per timestamp (the requests of every host, say). Select a single series
//! with tag matchers to avoid the sum. Integer (`i`), unsigned (`u`), float and boolean (as 0
//! or 1) fields are read; a string field is not a number and is skipped.
//!
//! # The parser
//!
//! A hand-written byte parser, to the line-protocol reference: escapes of commas, spaces and
//! equals signs (and backslashes) in measurements, tag keys and values and field keys, quoted
//! string fields with escaped quotes and backslashes (a string may span lines), comments and
//! blank lines skipped. It accepts the lines that the `influxdb-line-protocol` crate (InfluxDB
//! IOx's parser) accepts, with the same values (a property test checks this on generated lines,
//! and the fuzz target `line_protocol` on arbitrary ones), but for one case: a comma after a
//! line's only field (`m f=1,`), which the crate takes and InfluxDB 1.x refuses, as this parser
//! does. It is several times faster: the bench `line_protocol_parse` measures
//! both. Non-UTF-8 bytes in string field
//! values are tolerated, as those values are skipped.
//!
//! Lines end with `\n`; a `\r` before it is an error, as in InfluxDB. A stream is read in
//! chunks and one line is held at a time, at most [`LineProtocol::max_line_bytes`] long.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use prescient_core::Timestamp;

use crate::error::shorten;
use crate::source::sort_points;
use crate::{Error, Grid, Point, Recorded, Result};

/// The unit of the timestamps in line protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Precision {
    /// Nanoseconds since the epoch, InfluxDB's default.
    #[default]
    Nanoseconds,
    /// Microseconds since the epoch.
    Microseconds,
    /// Milliseconds since the epoch.
    Milliseconds,
    /// Seconds since the epoch.
    Seconds,
}

impl Precision {
    /// The name InfluxDB's `/write` endpoint takes for it (`precision=ns`, `u`, `ms`, `s`).
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Nanoseconds => "ns",
            Precision::Microseconds => "u",
            Precision::Milliseconds => "ms",
            Precision::Seconds => "s",
        }
    }

    /// A timestamp in this unit as a [`Timestamp`] (rounded down to the millisecond), `None`
    /// when it is out of range.
    pub fn timestamp(self, t: i64) -> Option<Timestamp> {
        let ms = match self {
            Precision::Nanoseconds => t.div_euclid(1_000_000),
            Precision::Microseconds => t.div_euclid(1_000),
            Precision::Milliseconds => t,
            Precision::Seconds => t.checked_mul(1000)?,
        };
        Some(Timestamp::from_millis(ms))
    }
}

/// A column read from line protocol: a measurement's field, from the series whose tags match.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Column {
    name: String,
    measurement: String,
    field: String,
    tags: Vec<(String, String)>,
}

impl Column {
    /// The field `field` of `measurement`, summed over all its series, named
    /// `{measurement}_{field}` (as Telegraf names them for Prometheus).
    pub fn new(measurement: impl Into<String>, field: impl Into<String>) -> Self {
        let measurement = measurement.into();
        let field = field.into();
        Column {
            name: format!("{measurement}_{field}"),
            measurement,
            field,
            tags: Vec::new(),
        }
    }

    /// Only the series whose tag `key` is exactly `value` (matchers add up: all must hold).
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }

    /// The column named `name` instead (the name of a metric in the `Scaler`'s schema).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The column's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The measurement.
    pub fn measurement(&self) -> &str {
        &self.measurement
    }

    /// The field.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The tag matchers, as (key, value).
    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }
}

/// How to read line protocol: the columns to select, the timestamps' unit, what to do with a
/// line without a timestamp, and the longest line accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct LineProtocol {
    columns: Vec<Column>,
    precision: Precision,
    default_time: Option<Timestamp>,
    max_line_bytes: usize,
}

impl LineProtocol {
    /// Reads `columns`, with nanosecond timestamps, every selected line needing a timestamp,
    /// lines of at most 1 MiB.
    pub fn new(columns: Vec<Column>) -> Self {
        LineProtocol {
            columns,
            precision: Precision::Nanoseconds,
            default_time: None,
            max_line_bytes: 1 << 20,
        }
    }

    /// The unit of the timestamps.
    pub fn precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// The time of a selected line that has no timestamp (InfluxDB would use its clock; by
    /// default such a line is an error).
    pub fn default_time(mut self, ts: Timestamp) -> Self {
        self.default_time = Some(ts);
        self
    }

    /// The longest line accepted, in bytes (the memory a stream's reader holds for one line).
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line_bytes = bytes.max(1);
        self
    }

    /// The columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// An incremental reader that takes the text in chunks of any size (from a socket, say).
    /// `what` names the input in errors.
    pub fn collector(&self, what: impl Into<String>) -> Collector {
        Collector {
            selector: Selector::new(self),
            pending: Vec::new(),
            line: 1,
            what: what.into(),
            max_line_bytes: self.max_line_bytes,
        }
    }

    /// Reads `text` into a source on `grid`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] (with `what` = `line protocol`) for the first malformed line, a line
    /// without a timestamp (unless a [`default_time`](Self::default_time) is set) or with one
    /// out of range.
    pub fn read_str(&self, text: &str, grid: Grid) -> Result<Recorded> {
        let mut collector = self.collector("line protocol");
        collector.push(text.as_bytes())?;
        collector.into_recorded(grid)
    }

    /// Reads a stream into a source on `grid`, a chunk at a time; `what` names it in errors.
    ///
    /// ```
    /// use prescient_core::Timestamp;
    /// use prescient_sources::line_protocol::{Column, LineProtocol, Precision};
    /// use prescient_sources::{Grid, Source};
    ///
    /// let stdin_like: &[u8] = b"load,svc=api rps=5i 0\nload,svc=api rps=7i 15\n";
    /// let lp = LineProtocol::new(vec![Column::new("load", "rps").named("load")])
    ///     .precision(Precision::Seconds);
    /// let mut source = lp.read(stdin_like, "stdin", Grid::new(15.0, 0.0)?)?;
    /// let samples = source.backfill(Timestamp::EPOCH, Timestamp::from_secs(30))?;
    /// let values: Vec<f64> = samples.iter().map(|s| s.values[0]).collect();
    /// assert_eq!(values[..2], [5.0, 7.0]);
    /// assert!(values[2].is_nan()); // nothing at 30 s, and no lookback
    /// # Ok::<(), prescient_sources::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the stream fails, and as [`read_str`](Self::read_str).
    pub fn read(&self, mut reader: impl BufRead, what: &str, grid: Grid) -> Result<Recorded> {
        let mut collector = self.collector(what);
        loop {
            let chunk = match reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(Error::Io {
                        path: what.into(),
                        source,
                    });
                }
            };
            if chunk.is_empty() {
                break;
            }
            let n = chunk.len();
            collector.push(chunk)?;
            reader.consume(n);
        }
        collector.into_recorded(grid)
    }

    /// Reads a file into a source on `grid`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read, and as [`read_str`](Self::read_str) with the
    /// file's name as `what`.
    pub fn read_file(&self, path: impl AsRef<Path>, grid: Grid) -> Result<Recorded> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let reader = std::io::BufReader::with_capacity(1 << 16, file);
        self.read(reader, &path.display().to_string(), grid)
    }
}

/// An incremental line-protocol reader: [`push`](Collector::push) chunks of text as they
/// arrive (split anywhere, even inside a line), then take the points.
///
/// ```
/// use prescient_sources::line_protocol::{Column, LineProtocol, Precision};
///
/// let lp = LineProtocol::new(vec![Column::new("mem", "used")]).precision(Precision::Seconds);
/// let mut collector = lp.collector("socket");
/// collector.push(b"mem used=1")?;
/// collector.push(b"2i 60\nmem used=13i 120\n")?;
/// let series = collector.finish()?;
/// assert_eq!(series[0].iter().map(|p| p.value).collect::<Vec<_>>(), [12.0, 13.0]);
/// # Ok::<(), prescient_sources::Error>(())
/// ```
#[derive(Debug)]
pub struct Collector {
    selector: Selector,
    /// The start of a line that the last chunk cut.
    pending: Vec<u8>,
    /// The 1-based number of the next line to complete.
    line: usize,
    what: String,
    max_line_bytes: usize,
}

impl Collector {
    /// Reads the complete lines of `chunk` (with the line the previous chunk left unfinished)
    /// and holds back its unfinished last line.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] for a malformed line or a line longer than the limit; after an error
    /// the collector is in an unspecified state.
    pub fn push(&mut self, mut chunk: &[u8]) -> Result<()> {
        // First finish the line the last chunk cut, copying only up to the next newline.
        while !self.pending.is_empty() {
            let Some(nl) = chunk.iter().position(|&b| b == b'\n') else {
                self.pending.extend_from_slice(chunk);
                return self.check_pending();
            };
            self.pending.extend_from_slice(&chunk[..=nl]);
            chunk = &chunk[nl + 1..];
            self.check_pending()?;
            // Only the newline just added can end the line: any earlier one was inside a string.
            let pending = std::mem::take(&mut self.pending);
            let step = parse(&pending, false, &mut self.selector);
            match step {
                Step::Incomplete => self.pending = pending,
                Step::Line { lines, .. } => self.line += lines,
                Step::Bad(reason) => return Err(self.error(&pending, reason)),
            }
        }
        let mut pos = 0;
        while pos < chunk.len() {
            let rest = &chunk[pos..];
            match parse(rest, false, &mut self.selector) {
                Step::Line { len, lines } => {
                    if len > self.max_line_bytes {
                        return Err(self.too_long(rest));
                    }
                    pos += len;
                    self.line += lines;
                }
                Step::Incomplete => {
                    self.pending.extend_from_slice(rest);
                    return self.check_pending();
                }
                Step::Bad(reason) => return Err(self.error(rest, reason)),
            }
        }
        Ok(())
    }

    /// Reads the last line (which needs no newline) and returns the points of each column, in
    /// the order of the columns, sorted by time.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] when the last line is malformed.
    pub fn finish(mut self) -> Result<Vec<Vec<Point>>> {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            match parse(&pending, true, &mut self.selector) {
                Step::Line { .. } => {}
                // At the end of the input every line is complete.
                Step::Incomplete => return Err(self.error(&pending, "unexpected end".into())),
                Step::Bad(reason) => return Err(self.error(&pending, reason)),
            }
        }
        Ok(self.selector.into_series())
    }

    /// [`finish`](Self::finish) into a source on `grid`, its columns named after the
    /// [`Column`]s.
    ///
    /// # Errors
    ///
    /// As [`finish`](Self::finish).
    pub fn into_recorded(self, grid: Grid) -> Result<Recorded> {
        let names = self.selector.names.clone();
        Recorded::new(names, self.finish()?, grid)
    }

    /// How many lines have been read (blank lines and comments included).
    pub fn lines(&self) -> usize {
        self.line - 1
    }

    fn check_pending(&self) -> Result<()> {
        if self.pending.len() > self.max_line_bytes {
            Err(self.too_long(&self.pending))
        } else {
            Ok(())
        }
    }

    fn too_long(&self, text: &[u8]) -> Error {
        self.error(
            text,
            format!("line longer than {} bytes", self.max_line_bytes).into(),
        )
    }

    fn error(&self, text: &[u8], reason: Cow<'static, str>) -> Error {
        let end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
        let line = String::from_utf8_lossy(&text[..end.min(400)]);
        Error::Parse {
            what: self.what.clone(),
            line: self.line,
            reason: format!("{reason} in `{}`", shorten(&line, 80)),
        }
    }
}

/// One parsed line of line protocol, unescaped and owned: to inspect or route lines. Reading
/// columns goes through [`LineProtocol`], which does not build these.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The measurement.
    pub measurement: String,
    /// The tags, as (key, value), in the order of the line.
    pub tags: Vec<(String, String)>,
    /// The fields, as (key, value), in the order of the line.
    pub fields: Vec<(String, FieldValue)>,
    /// The timestamp, in the writer's unit.
    pub timestamp: Option<i64>,
}

/// The value of a field.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A float (`1.5`, `2`, `-3e4`).
    Float(f64),
    /// A signed integer (`12i`).
    Integer(i64),
    /// An unsigned integer (`12u`).
    Unsigned(u64),
    /// A boolean (`t`, `true`, `F`, `FALSE`, ...).
    Boolean(bool),
    /// A string (`"text"`), unescaped.
    String(String),
}

impl FieldValue {
    /// The value as a number: booleans as 0 or 1, `None` for a string.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            FieldValue::Float(v) => Some(v),
            FieldValue::Integer(v) => Some(v as f64),
            FieldValue::Unsigned(v) => Some(v as f64),
            FieldValue::Boolean(v) => Some(if v { 1.0 } else { 0.0 }),
            FieldValue::String(_) => None,
        }
    }
}

impl Line {
    /// Parses one line (a trailing newline is allowed); `None` for a blank line or a comment.
    ///
    /// ```
    /// use prescient_sources::line_protocol::{FieldValue, Line};
    ///
    /// let line = Line::parse(r#"disk,path=/var\ log used=12i,ok=t,note="a \"b\"" 1700000000"#)?
    ///     .expect("a line");
    /// assert_eq!(line.tags, [("path".to_owned(), "/var log".to_owned())]);
    /// assert_eq!(line.fields[1], ("ok".to_owned(), FieldValue::Boolean(true)));
    /// assert_eq!(line.fields[2].1, FieldValue::String(r#"a "b""#.to_owned()));
    /// assert_eq!(line.timestamp, Some(1_700_000_000));
    /// # Ok::<(), prescient_sources::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] when the line is malformed or more than one line.
    pub fn parse(text: &str) -> Result<Option<Line>> {
        let bytes = text.as_bytes();
        let mut sink = LineSink::default();
        let bad = |reason: Cow<'static, str>| Error::Parse {
            what: "line protocol".into(),
            line: 1,
            reason: format!("{reason} in `{}`", shorten(text, 80)),
        };
        match parse(bytes, true, &mut sink) {
            Step::Line { len, .. } if len == bytes.len() => Ok(sink.line),
            Step::Line { .. } => Err(bad("more than one line".into())),
            Step::Incomplete => Err(bad("unexpected end".into())),
            Step::Bad(reason) => Err(bad(reason)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The parser.

/// What a call of [`parse`] found at the start of its input.
#[derive(Debug)]
enum Step {
    /// A line (or a blank line or comment) `len` bytes long, its newline included, spanning
    /// `lines` newlines (more than one when a string field holds newlines).
    Line { len: usize, lines: usize },
    /// The input ends before the line does (only when it is not the end of the text).
    Incomplete,
    /// The line is malformed.
    Bad(Cow<'static, str>),
}

/// A part of a line: a measurement, a tag key or value, a field key, still escaped.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    escaped: bool,
}

impl Span {
    fn bytes<'a>(&self, line: &'a [u8]) -> &'a [u8] {
        &line[self.start..self.end]
    }
}

/// A field value as the parser hands it to a sink (a string still escaped, without its quotes).
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Float(f64),
    Integer(i64),
    Unsigned(u64),
    Boolean(bool),
    Str(&'a [u8]),
}

/// What a parse reports a line's parts to. A line is only committed by `end`; a sink must start
/// afresh at `measurement`, as a line cut by the end of a chunk is parsed again.
trait Sink {
    /// A line's measurement; returns whether its tags and fields matter.
    fn measurement(&mut self, line: &[u8], name: Span) -> bool;
    /// A tag (only if the measurement matters).
    fn tag(&mut self, key: Span, value: Span);
    /// A field (only if the measurement matters).
    fn field(&mut self, line: &[u8], key: Span, value: Value<'_>);
    /// The line is complete and well formed.
    fn end(&mut self, line: &[u8], timestamp: Option<i64>) -> Result<(), Cow<'static, str>>;
}

/// Which escaped bytes stand for themselves: in a measurement `\,`, `\ ` and `\\`; in tag keys,
/// tag values and field keys also `\=`. Any other escape keeps its backslash.
fn unescapes(in_measurement: bool, b: u8) -> bool {
    matches!(b, b',' | b' ' | b'\\') || (!in_measurement && b == b'=')
}

/// Whether `raw` (escaped) reads `want`.
fn escaped_eq(raw: &[u8], escaped: bool, in_measurement: bool, want: &[u8]) -> bool {
    if !escaped {
        return raw == want;
    }
    let mut out = Unescaped::new(raw, in_measurement);
    let mut want = want.iter();
    loop {
        match (out.next(), want.next()) {
            (None, None) => return true,
            (Some(a), Some(&b)) if a == b => {}
            _ => return false,
        }
    }
}

/// The bytes of an escaped name, unescaped.
struct Unescaped<'a> {
    raw: &'a [u8],
    i: usize,
    /// A backslash kept by an unknown escape, whose byte comes next.
    held: Option<u8>,
    in_measurement: bool,
}

impl<'a> Unescaped<'a> {
    fn new(raw: &'a [u8], in_measurement: bool) -> Self {
        Unescaped {
            raw,
            i: 0,
            held: None,
            in_measurement,
        }
    }
}

impl Iterator for Unescaped<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        if let Some(b) = self.held.take() {
            return Some(b);
        }
        let b = *self.raw.get(self.i)?;
        self.i += 1;
        if b == b'\\'
            && let Some(&c) = self.raw.get(self.i)
        {
            self.i += 1;
            if unescapes(self.in_measurement, c) {
                return Some(c);
            }
            self.held = Some(c);
        }
        Some(b)
    }
}

fn unescape(line: &[u8], span: Span, in_measurement: bool) -> String {
    let bytes: Vec<u8> = Unescaped::new(span.bytes(line), in_measurement).collect();
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn unescape_string(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && matches!(raw.get(i + 1), Some(b'"' | b'\\')) {
            i += 1;
        }
        out.push(raw[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Parses the line at the start of `buf`, reporting its parts to `sink`. When `at_end`, the end
/// of `buf` ends the line (the last line of a text needs no newline); otherwise reaching it
/// gives [`Step::Incomplete`].
///
/// The grammar (that of the `influxdb-line-protocol` crate, InfluxDB's own parser):
/// `measurement(,tagkey=tagvalue)* +fieldkey=value(,fieldkey=value)*( +timestamp)? *`, where a
/// backslash escapes the next byte, a tag or field key ends at `=` or whitespace (a comma in it
/// needs no escape), a tag value at `,` or whitespace, and the measurement also at a NUL byte.
fn parse<S: Sink>(buf: &[u8], at_end: bool, sink: &mut S) -> Step {
    let n = buf.len();
    // The byte at `i`, the end of the text reading as a newline; returns early at the end of an
    // unfinished chunk.
    macro_rules! byte {
        ($i:expr) => {{
            let i: usize = $i;
            if i < n {
                buf[i]
            } else if at_end {
                b'\n'
            } else {
                return Step::Incomplete;
            }
        }};
    }
    macro_rules! bad {
        ($reason:expr) => {
            return Step::Bad(Cow::Borrowed($reason))
        };
    }
    let mut lines = 1;
    let mut i = 0;
    while i < n && (buf[i] == b' ' || buf[i] == b'\t') {
        i += 1;
    }
    match byte!(i) {
        b'\n' => return line_end(i, n, lines),
        b'#' => {
            return match buf[i..].iter().position(|&b| b == b'\n') {
                Some(k) => Step::Line {
                    len: i + k + 1,
                    lines,
                },
                None if at_end => Step::Line { len: n, lines: 0 },
                None => Step::Incomplete,
            };
        }
        _ => {}
    }

    // The measurement.
    let start = i;
    let mut escaped = false;
    let mut ends_with_backslash = false;
    loop {
        match byte!(i) {
            b',' | b' ' | b'\t' | b'\n' | 0 => break,
            b'\\' => {
                let c = byte!(i + 1);
                if c == b'\n' {
                    bad!("a backslash ends the line");
                }
                escaped = true;
                ends_with_backslash = c == b'\\';
                i += 2;
            }
            _ => {
                ends_with_backslash = false;
                i += 1;
            }
        }
    }
    if i == start {
        bad!("no measurement");
    }
    if ends_with_backslash {
        bad!("the measurement ends with a backslash");
    }
    let wanted = sink.measurement(
        buf,
        Span {
            start,
            end: i,
            escaped,
        },
    );

    // The tags.
    if byte!(i) == b',' {
        loop {
            i += 1;
            let key = match name(buf, at_end, &mut i, false) {
                Ok(Some(span)) => span,
                Ok(None) => bad!("an empty tag key"),
                Err(step) => return step,
            };
            if byte!(i) != b'=' {
                bad!("a tag without `=`");
            }
            i += 1;
            let value = match name(buf, at_end, &mut i, true) {
                Ok(Some(span)) => span,
                Ok(None) => bad!("an empty tag value"),
                Err(step) => return step,
            };
            if wanted {
                sink.tag(key, value);
            }
            match byte!(i) {
                b',' => {}
                b' ' => break,
                _ => bad!("no fields"),
            }
        }
    }
    if byte!(i) != b' ' {
        bad!("no fields");
    }
    while byte!(i) == b' ' {
        i += 1;
    }

    // The fields.
    loop {
        let key = match name(buf, at_end, &mut i, false) {
            Ok(Some(span)) => span,
            Ok(None) => bad!("an empty field key"),
            Err(step) => return step,
        };
        if byte!(i) != b'=' {
            bad!("a field without `=`");
        }
        i += 1;
        let value = match byte!(i) {
            b'"' => {
                let open = i + 1;
                let mut j = open;
                loop {
                    if j >= n {
                        if at_end {
                            bad!("an unterminated string");
                        }
                        return Step::Incomplete;
                    }
                    match buf[j] {
                        b'"' => break,
                        b'\\' => j += 2,
                        b'\n' => {
                            lines += 1;
                            j += 1;
                        }
                        _ => j += 1,
                    }
                }
                i = j + 1;
                Value::Str(&buf[open..j])
            }
            b't' | b'T' | b'f' | b'F' => {
                let start = i;
                loop {
                    match byte!(i) {
                        b',' | b' ' | b'\n' => break,
                        _ => i += 1,
                    }
                }
                match &buf[start..i] {
                    b"t" | b"T" | b"true" | b"True" | b"TRUE" => Value::Boolean(true),
                    b"f" | b"F" | b"false" | b"False" | b"FALSE" => Value::Boolean(false),
                    _ => bad!("a field value that is not a number, a string or a boolean"),
                }
            }
            _ => match number(buf, at_end, &mut i) {
                Ok(value) => value,
                Err(step) => return step,
            },
        };
        if wanted {
            sink.field(buf, key, value);
        }
        match byte!(i) {
            b',' => i += 1,
            b' ' => break,
            b'\n' => return finish(sink, buf, i, n, lines, None),
            _ => bad!("a malformed field value"),
        }
    }

    // The timestamp.
    while byte!(i) == b' ' {
        i += 1;
    }
    let negative = byte!(i) == b'-';
    if negative {
        i += 1;
    }
    let digits = i;
    let mut ts: i64 = 0;
    loop {
        let b = byte!(i);
        if !b.is_ascii_digit() {
            break;
        }
        let d = i64::from(b - b'0');
        ts = match ts.checked_mul(10).and_then(|t| {
            if negative {
                t.checked_sub(d)
            } else {
                t.checked_add(d)
            }
        }) {
            Some(t) => t,
            None => bad!("a timestamp out of range"),
        };
        i += 1;
    }
    if i == digits {
        bad!("a malformed timestamp");
    }
    while byte!(i) == b' ' {
        i += 1;
    }
    if byte!(i) != b'\n' {
        bad!("text after the timestamp");
    }
    finish(sink, buf, i, n, lines, Some(ts))
}

/// The step for a line whose newline (or the end of the text) is at `i`.
fn line_end(i: usize, n: usize, lines: usize) -> Step {
    if i < n {
        Step::Line { len: i + 1, lines }
    } else {
        Step::Line {
            len: n,
            lines: lines - 1,
        }
    }
}

fn finish<S: Sink>(
    sink: &mut S,
    buf: &[u8],
    i: usize,
    n: usize,
    lines: usize,
    ts: Option<i64>,
) -> Step {
    match sink.end(buf, ts) {
        Ok(()) => line_end(i, n, lines),
        Err(reason) => Step::Bad(reason),
    }
}

/// Scans a tag key, tag value or field key from `*i`: up to `=` (a key) or `,` (a tag value) or
/// whitespace. `Ok(None)` when it is empty.
fn name(buf: &[u8], at_end: bool, i: &mut usize, is_value: bool) -> Result<Option<Span>, Step> {
    let n = buf.len();
    let start = *i;
    let mut j = start;
    let mut escaped = false;
    let mut ends_with_backslash = false;
    loop {
        let b = if j < n {
            buf[j]
        } else if at_end {
            b'\n'
        } else {
            return Err(Step::Incomplete);
        };
        match b {
            b' ' | b'\t' | b'\n' => break,
            b'=' if !is_value => break,
            b',' if is_value => break,
            b'\\' => {
                let c = if j + 1 < n {
                    buf[j + 1]
                } else if at_end {
                    b'\n'
                } else {
                    return Err(Step::Incomplete);
                };
                if c == b'\n' {
                    return Err(Step::Bad("a backslash ends the line".into()));
                }
                escaped = true;
                ends_with_backslash = c == b'\\';
                j += 2;
            }
            _ => {
                ends_with_backslash = false;
                j += 1;
            }
        }
    }
    *i = j;
    if j == start {
        return Ok(None);
    }
    if ends_with_backslash {
        return Err(Step::Bad("a key or tag value ends with a backslash".into()));
    }
    Ok(Some(Span {
        start,
        end: j,
        escaped,
    }))
}

/// Scans a number from `*i`: `-?\d+` followed by `i` (an integer), by `u` (unsigned, without
/// the sign), or by `(\.\d+)?([eE][+-]?\d+)?` (a float).
fn number<'a>(buf: &'a [u8], at_end: bool, i: &mut usize) -> Result<Value<'a>, Step> {
    let n = buf.len();
    let byte = |j: usize| -> Result<u8, Step> {
        if j < n {
            Ok(buf[j])
        } else if at_end {
            Ok(b'\n')
        } else {
            Err(Step::Incomplete)
        }
    };
    let bad = |reason: &'static str| Err(Step::Bad(Cow::Borrowed(reason)));
    let start = *i;
    let mut j = start;
    let negative = byte(j)? == b'-';
    if negative {
        j += 1;
    }
    let digits = j;
    // The integer part, accumulated as a u64 while it fits: the common integer fields need no
    // second pass.
    let mut magnitude: u64 = 0;
    let mut fits = true;
    loop {
        let b = byte(j)?;
        if !b.is_ascii_digit() {
            break;
        }
        match magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(b - b'0')))
        {
            Some(m) => magnitude = m,
            None => fits = false,
        }
        j += 1;
    }
    if j == digits {
        return bad("a field value that is not a number, a string or a boolean");
    }
    match byte(j)? {
        b'i' => {
            *i = j + 1;
            let value = if !fits {
                None
            } else if negative {
                0i64.checked_sub_unsigned(magnitude)
            } else {
                i64::try_from(magnitude).ok()
            };
            return match value {
                Some(v) => Ok(Value::Integer(v)),
                None => bad("an integer out of range"),
            };
        }
        b'u' => {
            *i = j + 1;
            if negative {
                return bad("a negative unsigned integer");
            }
            if !fits {
                return bad("an unsigned integer out of range");
            }
            return Ok(Value::Unsigned(magnitude));
        }
        _ => {}
    }
    let mut simple = fits && magnitude < (1 << 53);
    if byte(j)? == b'.' {
        j += 1;
        let frac = j;
        while byte(j)?.is_ascii_digit() {
            j += 1;
        }
        if j == frac {
            return bad("a float without digits after the point");
        }
        simple = false;
    }
    if matches!(byte(j)?, b'e' | b'E') {
        j += 1;
        if matches!(byte(j)?, b'+' | b'-') {
            j += 1;
        }
        let exp = j;
        while byte(j)?.is_ascii_digit() {
            j += 1;
        }
        if j == exp {
            return bad("a float without digits in its exponent");
        }
        simple = false;
    }
    *i = j;
    if simple {
        // An integer below 2^53 is exact as an f64, as the standard parser would give it.
        let v = magnitude as f64;
        return Ok(Value::Float(if negative { -v } else { v }));
    }
    // The scanned bytes are ASCII digits, signs, points and exponents: always UTF-8, and always
    // a float the standard parser takes (`1e999` is infinite, which the grid treats as missing).
    match std::str::from_utf8(&buf[start..j])
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
    {
        Some(v) => Ok(Value::Float(v)),
        None => bad("a malformed float"),
    }
}

// ---------------------------------------------------------------------------------------------
// The sinks.

/// Builds a [`Line`].
#[derive(Default)]
struct LineSink {
    measurement: Option<Span>,
    tags: Vec<(Span, Span)>,
    fields: Vec<(String, FieldValue)>,
    line: Option<Line>,
}

impl Sink for LineSink {
    fn measurement(&mut self, _: &[u8], name: Span) -> bool {
        self.measurement = Some(name);
        self.tags.clear();
        self.fields.clear();
        true
    }

    fn tag(&mut self, key: Span, value: Span) {
        self.tags.push((key, value));
    }

    fn field(&mut self, line: &[u8], key: Span, value: Value<'_>) {
        let value = match value {
            Value::Float(v) => FieldValue::Float(v),
            Value::Integer(v) => FieldValue::Integer(v),
            Value::Unsigned(v) => FieldValue::Unsigned(v),
            Value::Boolean(v) => FieldValue::Boolean(v),
            Value::Str(raw) => FieldValue::String(unescape_string(raw)),
        };
        self.fields.push((unescape(line, key, false), value));
    }

    fn end(&mut self, line: &[u8], timestamp: Option<i64>) -> Result<(), Cow<'static, str>> {
        let Some(m) = self.measurement else {
            return Err("no measurement".into());
        };
        self.line = Some(Line {
            measurement: unescape(line, m, true),
            tags: self
                .tags
                .iter()
                .map(|&(k, v)| (unescape(line, k, false), unescape(line, v, false)))
                .collect(),
            fields: std::mem::take(&mut self.fields),
            timestamp,
        });
        Ok(())
    }
}

/// The state of one selected column.
#[derive(Debug)]
struct Selected {
    field: Vec<u8>,
    tags: Vec<(Vec<u8>, Vec<u8>)>,
    /// The column's value on the current line, if it has one.
    value: Option<f64>,
    /// The series (tag sets) seen, by their escaped, sorted tags.
    series_index: HashMap<Vec<u8>, usize>,
    series: Vec<Vec<Point>>,
}

/// The columns of one measurement.
#[derive(Debug)]
struct Group {
    measurement: Vec<u8>,
    columns: Vec<Selected>,
    /// Where the group's columns go in the output.
    outputs: Vec<usize>,
}

/// Picks the selected columns' points out of the lines.
#[derive(Debug)]
struct Selector {
    names: Vec<String>,
    groups: Vec<Group>,
    precision: Precision,
    default_time: Option<Timestamp>,
    /// The group of the current line's measurement.
    current: Option<usize>,
    tags: Vec<(Span, Span)>,
    key: Vec<u8>,
}

impl Selector {
    fn new(lp: &LineProtocol) -> Self {
        let mut groups: Vec<Group> = Vec::new();
        for (out, c) in lp.columns.iter().enumerate() {
            let selected = Selected {
                field: c.field.as_bytes().to_vec(),
                tags: c
                    .tags
                    .iter()
                    .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                    .collect(),
                value: None,
                series_index: HashMap::new(),
                series: Vec::new(),
            };
            match groups
                .iter_mut()
                .find(|g| g.measurement == c.measurement.as_bytes())
            {
                Some(g) => {
                    g.columns.push(selected);
                    g.outputs.push(out);
                }
                None => groups.push(Group {
                    measurement: c.measurement.as_bytes().to_vec(),
                    columns: vec![selected],
                    outputs: vec![out],
                }),
            }
        }
        Selector {
            names: lp.columns.iter().map(|c| c.name.clone()).collect(),
            groups,
            precision: lp.precision,
            default_time: lp.default_time,
            current: None,
            tags: Vec::new(),
            key: Vec::new(),
        }
    }

    /// Each column's points, sorted by time: within a series the last point of a millisecond,
    /// then the series summed.
    fn into_series(self) -> Vec<Vec<Point>> {
        let mut out = vec![Vec::new(); self.names.len()];
        for group in self.groups {
            for (column, o) in group.columns.into_iter().zip(group.outputs) {
                out[o] = merge(column.series);
            }
        }
        out
    }
}

/// The sum of several series per timestamp, each sorted first (the last duplicate kept).
fn merge(mut series: Vec<Vec<Point>>) -> Vec<Point> {
    for s in &mut series {
        sort_points(s);
    }
    if series.len() <= 1 {
        return series.pop().unwrap_or_default();
    }
    let mut all: Vec<Point> = series.into_iter().flatten().collect();
    all.sort_by_key(|p| p.ts);
    let mut out: Vec<Point> = Vec::with_capacity(all.len());
    for p in all {
        match out.last_mut() {
            Some(last) if last.ts == p.ts => last.value += p.value,
            _ => out.push(p),
        }
    }
    out
}

impl Sink for Selector {
    fn measurement(&mut self, line: &[u8], name: Span) -> bool {
        let raw = name.bytes(line);
        self.current = self
            .groups
            .iter()
            .position(|g| escaped_eq(raw, name.escaped, true, &g.measurement));
        self.tags.clear();
        if let Some(g) = self.current {
            for c in &mut self.groups[g].columns {
                c.value = None;
            }
        }
        self.current.is_some()
    }

    fn tag(&mut self, key: Span, value: Span) {
        self.tags.push((key, value));
    }

    fn field(&mut self, line: &[u8], key: Span, value: Value<'_>) {
        let Some(g) = self.current else { return };
        let raw = key.bytes(line);
        for c in &mut self.groups[g].columns {
            if escaped_eq(raw, key.escaped, false, &c.field) {
                c.value = match value {
                    Value::Float(v) => Some(v),
                    Value::Integer(v) => Some(v as f64),
                    Value::Unsigned(v) => Some(v as f64),
                    Value::Boolean(v) => Some(if v { 1.0 } else { 0.0 }),
                    Value::Str(_) => None,
                };
            }
        }
    }

    fn end(&mut self, line: &[u8], timestamp: Option<i64>) -> Result<(), Cow<'static, str>> {
        let Some(g) = self.current else {
            return Ok(());
        };
        let group = &mut self.groups[g];
        if group.columns.iter().all(|c| c.value.is_none()) {
            return Ok(());
        }
        let ts = match timestamp {
            Some(t) => self
                .precision
                .timestamp(t)
                .ok_or_else(|| Cow::Owned(format!("the timestamp {t} is out of range")))?,
            None => self
                .default_time
                .ok_or(Cow::Borrowed("no timestamp (and no default time)"))?,
        };
        let tags = &mut self.tags;
        if !tags
            .windows(2)
            .all(|w| w[0].0.bytes(line) <= w[1].0.bytes(line))
        {
            // InfluxDB sorts a series' tags: the same tags in another order are the same series.
            tags.sort_by(|a, b| a.0.bytes(line).cmp(b.0.bytes(line)));
        }
        let mut keyed = false;
        for c in &mut group.columns {
            let Some(value) = c.value else { continue };
            let matches = c.tags.iter().all(|(k, v)| {
                tags.iter().any(|(tk, tv)| {
                    escaped_eq(tk.bytes(line), tk.escaped, false, k)
                        && escaped_eq(tv.bytes(line), tv.escaped, false, v)
                })
            });
            if !matches {
                continue;
            }
            if !keyed {
                self.key.clear();
                for (k, v) in tags.iter() {
                    self.key.extend_from_slice(k.bytes(line));
                    self.key.push(b'=');
                    self.key.extend_from_slice(v.bytes(line));
                    self.key.push(b',');
                }
                keyed = true;
            }
            let s = match c.series_index.get(self.key.as_slice()) {
                Some(&s) => s,
                None => {
                    c.series.push(Vec::new());
                    c.series_index.insert(self.key.clone(), c.series.len() - 1);
                    c.series.len() - 1
                }
            };
            c.series[s].push(Point::new(ts, value));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Source;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    fn line(text: &str) -> Line {
        Line::parse(text).unwrap().unwrap()
    }

    #[test]
    fn parses_every_kind_of_value() {
        let l = line("m,a=1,b=x f=1.5,i=-3i,u=7u,t=t,F=FALSE,s=\"hi\",e=2E3,n=12 99");
        assert_eq!(l.measurement, "m");
        assert_eq!(l.tags.len(), 2);
        let values: Vec<&FieldValue> = l.fields.iter().map(|(_, v)| v).collect();
        assert_eq!(
            values,
            [
                &FieldValue::Float(1.5),
                &FieldValue::Integer(-3),
                &FieldValue::Unsigned(7),
                &FieldValue::Boolean(true),
                &FieldValue::Boolean(false),
                &FieldValue::String("hi".into()),
                &FieldValue::Float(2000.0),
                &FieldValue::Float(12.0),
            ]
        );
        assert_eq!(l.timestamp, Some(99));
        assert_eq!(line("m f=1").timestamp, None);
        assert_eq!(line("m f=1 -5  ").timestamp, Some(-5));
    }

    #[test]
    fn autotraits() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<LineProtocol>();
        send_sync::<Collector>();
        send_sync::<Line>();
    }

    #[test]
    fn unescapes_names() {
        let l = line(r"a\ b\,c,k\=1=v\,2\ x f\ g=1 1");
        assert_eq!(l.measurement, "a b,c");
        assert_eq!(l.tags, [("k=1".into(), "v,2 x".into())]);
        assert_eq!(l.fields[0].0, "f g");
        // An unknown escape keeps its backslash; `\=` is unknown in a measurement.
        assert_eq!(line(r"a\=b\x f=1").measurement, r"a\=b\x");
    }

    #[test]
    fn blank_lines_and_comments_are_no_lines() {
        for text in ["", "   ", "\t", "# comment", "  # indented \"comment", "\n"] {
            assert_eq!(Line::parse(text).unwrap(), None, "{text:?}");
        }
    }

    #[test]
    fn malformed_lines_are_errors() {
        for text in [
            "m",
            "m ",
            "m f",
            "m f=",
            "m f=1,",
            "m,t f=1",
            "m,t= f=1",
            "m,=v f=1",
            ",t=v f=1",
            " =1",
            "m f=1 x",
            "m f=1 1 2",
            "m f=1\t1",
            "m f=1 ",
            "m f=1.",
            "m f=.5",
            "m f=1e",
            "m f=1.5i",
            "m f=-1u",
            "m f=99999999999999999999i",
            "m f=99999999999999999999u",
            "m f=1 99999999999999999999",
            "m f=\"open",
            "m f=tru",
            "m f=1\r",
            "m\\ f=1",
            r"m\\ f=1",
            r"m,t=v\\ f=1",
            "m\0 f=1",
            "m f=1\nsecond f=2",
        ] {
            assert!(Line::parse(text).is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn selects_sums_and_keeps_the_last_write() {
        let text = "\
cpu,host=a,dc=x v=1 1000000
cpu,dc=x,host=a v=5 1000000
cpu,host=b,dc=x v=2 1000000
cpu,host=b,dc=y v=4 2000000
mem,host=a v=100 1000000
cpu,host=a s=\"text\",b=t 3000000
";
        let lp = LineProtocol::new(vec![
            Column::new("cpu", "v"),
            Column::new("cpu", "v").tag("dc", "x").named("cpu_x"),
            Column::new("cpu", "b"),
            Column::new("cpu", "s"),
            Column::new("nope", "v"),
        ])
        .precision(Precision::Nanoseconds);
        let r = lp.read_str(text, Grid::new(1.0, 0.0).unwrap()).unwrap();
        // host=a,dc=x is one series written twice (tags in another order): 5 replaces 1.
        assert_eq!(r.series(0), [Point::new(t(1), 7.0), Point::new(t(2), 4.0)]);
        assert_eq!(r.series(1), [Point::new(t(1), 7.0)]);
        assert_eq!(r.series(2), [Point::new(t(3), 1.0)]);
        assert!(r.series(3).is_empty());
        assert!(r.series(4).is_empty());
        assert_eq!(r.columns(), ["cpu_v", "cpu_x", "cpu_b", "cpu_s", "nope_v"]);
    }

    #[test]
    fn precisions_and_default_times() {
        let grid = Grid::new(1.0, 0.0).unwrap();
        for (p, ts) in [
            (Precision::Nanoseconds, "1500000000"),
            (Precision::Microseconds, "1500000"),
            (Precision::Milliseconds, "1500"),
        ] {
            let r = LineProtocol::new(vec![Column::new("m", "f")])
                .precision(p)
                .read_str(&format!("m f=1 {ts}"), grid)
                .unwrap();
            assert_eq!(r.series(0)[0].ts, t(1500), "{p:?}");
        }
        let lp = LineProtocol::new(vec![Column::new("m", "f")]).precision(Precision::Seconds);
        assert_eq!(
            lp.read_str("m f=1 2", grid).unwrap().series(0)[0].ts,
            t(2000)
        );
        let err = lp.read_str("m f=1 9223372036854775807", grid).unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
        let err = lp.read_str("# c\n\nm f=1 1\nm f=2\n", grid).unwrap_err();
        assert!(
            matches!(&err, Error::Parse { line: 4, reason, .. } if reason.contains("no timestamp")),
            "{err}"
        );
        // Lines of other measurements need no timestamp.
        assert!(lp.read_str("other f=1\n", grid).is_ok());
        let r = lp.default_time(t(7)).read_str("m f=2", grid).unwrap();
        assert_eq!(r.series(0), [Point::new(t(7), 2.0)]);
    }

    #[test]
    fn errors_name_the_line() {
        let lp = LineProtocol::new(vec![Column::new("m", "f")]);
        let text = "m f=1 1\n# fine\n\nm f=1,g=\"two\nlines\" 2\nm f=oops 3\n";
        match lp.read_str(text, Grid::new(1.0, 0.0).unwrap()) {
            Err(Error::Parse { what, line, reason }) => {
                assert_eq!(what, "line protocol");
                assert_eq!(line, 6, "{reason}");
                assert!(reason.contains("m f=oops 3"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn strings_may_span_lines_and_chunks() {
        let lp = LineProtocol::new(vec![Column::new("m", "f")]).precision(Precision::Milliseconds);
        let text = b"m s=\"a\nb\\\"\n\",f=1 5\nm f=2 6\n";
        for cut in 0..text.len() {
            let mut c = lp.collector("chunks");
            c.push(&text[..cut]).unwrap();
            c.push(&text[cut..]).unwrap();
            assert_eq!(c.lines(), 4, "cut at {cut}");
            let series = c.finish().unwrap();
            assert_eq!(series[0], [Point::new(t(5), 1.0), Point::new(t(6), 2.0)]);
        }
    }

    #[test]
    fn long_lines_are_refused() {
        let lp = LineProtocol::new(vec![Column::new("m", "f")]).max_line_bytes(16);
        let grid = Grid::new(1.0, 0.0).unwrap();
        assert!(lp.read_str("m f=1 1\n", grid).is_ok());
        let long = format!("m f=1,g={} 1\n", "9".repeat(20));
        let err = lp.read_str(&long, grid).unwrap_err();
        assert!(err.to_string().contains("longer than 16 bytes"), "{err}");
        let err = lp
            .read(
                std::io::BufReader::with_capacity(4, long.as_bytes()),
                "s",
                grid,
            )
            .unwrap_err();
        assert!(err.to_string().contains("longer than 16 bytes"), "{err}");
    }

    #[test]
    fn reads_files_and_backfills() {
        let dir = std::env::temp_dir().join(format!("prescient-lp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("in.lp");
        let mut text = String::new();
        for k in 0..100 {
            text.push_str(&format!("load,svc=api rps={k}i {}\n", k * 15));
        }
        std::fs::write(&path, &text).unwrap();
        let lp = LineProtocol::new(vec![Column::new("load", "rps").named("load")])
            .precision(Precision::Seconds);
        let mut r = lp.read_file(&path, Grid::new(15.0, 10.0).unwrap()).unwrap();
        let samples = r.backfill(t(0), t(1_500_000)).unwrap();
        assert_eq!(samples.len(), 101);
        assert_eq!(samples[99].values, [99.0]);
        assert!(samples[100].values[0].is_nan());
        let missing = lp.read_file(dir.join("missing.lp"), r.grid()).unwrap_err();
        assert!(matches!(missing, Error::Io { .. }));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// A name with the characters that need escapes.
    fn name() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a-zA-Z_][a-zA-Z0-9_ ,=.é\\-]{0,8}").expect("regex")
    }

    fn escape(s: &str, measurement: bool) -> String {
        let mut out = String::new();
        for c in s.chars() {
            if matches!(c, ',' | ' ' | '\\') || (!measurement && c == '=') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }

    fn value() -> impl Strategy<Value = (String, FieldValue)> {
        prop_oneof![
            any::<i64>().prop_map(|v| (format!("{v}i"), FieldValue::Integer(v))),
            any::<u64>().prop_map(|v| (format!("{v}u"), FieldValue::Unsigned(v))),
            any::<f64>()
                .prop_filter("finite", |v| v.is_finite())
                .prop_map(|v| (format!("{v:?}"), FieldValue::Float(v))),
            (-1000i64..1000, 0u32..5).prop_map(|(m, e)| (
                format!("{m}e{e}"),
                FieldValue::Float(m as f64 * 10f64.powi(e as i32))
            )),
            any::<bool>().prop_map(|b| (b.to_string(), FieldValue::Boolean(b))),
            "[a-z \"\\\\\n,=]{0,6}".prop_map(|s| {
                let escaped = s.replace('\\', "\\\\").replace('"', "\\\"");
                (format!("\"{escaped}\""), FieldValue::String(s))
            }),
        ]
    }

    prop_compose! {
        fn line()(
            m in name(),
            tags in proptest::collection::vec((name(), name()), 0..4),
            fields in proptest::collection::vec((name(), value()), 1..5),
            ts in proptest::option::of(any::<i64>()),
        ) -> (String, Line) {
            let mut text = escape(&m, true);
            for (k, v) in &tags {
                text.push(',');
                text.push_str(&escape(k, false));
                text.push('=');
                text.push_str(&escape(v, false));
            }
            text.push(' ');
            for (k, (raw, _)) in fields.iter() {
                if !text.ends_with(' ') {
                    text.push(',');
                }
                text.push_str(&escape(k, false));
                text.push('=');
                text.push_str(raw);
            }
            if let Some(ts) = ts {
                text.push_str(&format!(" {ts}"));
            }
            let line = Line {
                measurement: m,
                tags,
                fields: fields.into_iter().map(|(k, (_, v))| (k, v)).collect(),
                timestamp: ts,
            };
            (text, line)
        }
    }

    /// The crate's parse of one line, as a [`Line`].
    fn reference(text: &str) -> Option<Line> {
        use influxdb_line_protocol::FieldValue as F;
        let mut lines = influxdb_line_protocol::parse_lines(text);
        let parsed = lines.next()?.ok()?;
        if lines.next().is_some() {
            return None;
        }
        Some(Line {
            measurement: parsed.series.measurement.to_string(),
            tags: parsed
                .series
                .tag_set
                .iter()
                .flatten()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            fields: parsed
                .field_set
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        F::I64(v) => FieldValue::Integer(*v),
                        F::U64(v) => FieldValue::Unsigned(*v),
                        F::F64(v) => FieldValue::Float(*v),
                        F::Boolean(v) => FieldValue::Boolean(*v),
                        F::String(s) => FieldValue::String(s.to_string()),
                    };
                    (k.to_string(), v)
                })
                .collect(),
            timestamp: parsed.timestamp,
        })
    }

    /// Whether removing one comma that ends the fields (before a space or the end) makes our
    /// parse `theirs`: the crate takes such a comma after a line's only field, InfluxDB and we
    /// refuse it.
    fn without_a_trailing_comma(text: &str, theirs: Option<&Line>) -> bool {
        let bytes = text.as_bytes();
        theirs.is_some()
            && (0..bytes.len())
                .filter(|&i| bytes[i] == b',' && matches!(bytes.get(i + 1), None | Some(b' ')))
                .any(|i| {
                    let fixed = format!("{}{}", &text[..i], &text[i + 1..]);
                    Line::parse(&fixed).ok().flatten().as_ref() == theirs
                })
    }

    #[test]
    fn the_crate_takes_trailing_commas_and_we_do_not() {
        for text in ["m a=0i,", "m,t=1 b=t,"] {
            let theirs = reference(text);
            assert!(theirs.is_some(), "{text}");
            assert!(Line::parse(text).is_err(), "{text}");
            assert!(without_a_trailing_comma(text, theirs.as_ref()), "{text}");
        }
    }

    proptest! {
        #[test]
        fn prop_agrees_with_the_crate_on_valid_lines((text, expected) in line()) {
            let ours = Line::parse(&text);
            prop_assert!(ours.is_ok(), "{text:?}: {ours:?}");
            let ours = ours.unwrap();
            prop_assert_eq!(ours.as_ref(), Some(&expected), "{:?}", text);
            let theirs = reference(&text);
            prop_assert_eq!(theirs.as_ref(), Some(&expected), "{:?}", text);
        }

        #[test]
        fn prop_agrees_with_the_crate_on_mangled_lines(
            (text, _) in line(),
            cut in any::<proptest::sample::Index>(),
            junk in "[ ,=\\\\\"a1.i\t-]{0,2}",
        ) {
            // Break a valid line at a char boundary: both parsers must accept or refuse it alike.
            let chars: Vec<char> = text.chars().collect();
            let at = cut.index(chars.len() + 1);
            let mangled: String = chars[..at].iter().chain(junk.chars().collect::<Vec<_>>().iter()).chain(chars[at..].iter()).collect();
            // One line: a newline inside a string is read by both, but a mangled quote would
            // make the two disagree about where lines end, not about lines.
            let mangled = mangled.replace('\n', "n");
            let ours = Line::parse(&mangled).ok().flatten();
            let theirs = reference(&mangled);
            prop_assert!(
                ours == theirs || (ours.is_none() && without_a_trailing_comma(&mangled, theirs.as_ref())),
                "{mangled:?}: ours {ours:?}, theirs {theirs:?}"
            );
        }

        #[test]
        fn prop_any_bytes_any_chunks_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            cuts in proptest::collection::vec(0usize..200, 0..4),
        ) {
            let lp = LineProtocol::new(vec![Column::new("m", "f"), Column::new("m", "g").tag("t", "v")])
                .max_line_bytes(64);
            let whole = {
                let mut c = lp.collector("x");
                c.push(&bytes).and_then(|()| c.finish())
            };
            let mut c = lp.collector("x");
            let mut cuts = cuts;
            cuts.push(bytes.len());
            cuts.sort_unstable();
            let mut prev = 0;
            let mut chunked = Ok(());
            for cut in cuts {
                let cut = cut.min(bytes.len());
                chunked = chunked.and_then(|()| c.push(&bytes[prev..cut]));
                prev = cut;
            }
            let chunked = chunked.and_then(|()| c.finish());
            // However the text is cut, the outcome is the same.
            prop_assert_eq!(whole.is_ok(), chunked.is_ok());
            if let (Ok(a), Ok(b)) = (whole, chunked) {
                prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
            }
        }
    }
}
