//! InfluxDB 1.x over HTTP: [`InfluxSource`] reads columns with InfluxQL (`/query`),
//! [`InfluxWriter`] writes line protocol (`/write`) and creates databases.

use std::fmt::Write as _;
use std::time::Duration;

use prescient_core::{Sample, Timestamp};
use serde::Deserialize;

use super::{AsyncSource, HttpClient};
use crate::line_protocol::Precision;
use crate::source::check_range;
use crate::{Error, Grid, Point, Result};

/// The time limit of a request unless told otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most buckets one statement asks for: long backfills are cut into several requests, each
/// well below InfluxDB's row limits (`max-row-limit`, `max-select-buckets`).
const BUCKETS_PER_QUERY: i64 = 5_000;

/// An InfluxQL aggregation of a field over each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Aggregation {
    /// `mean()`.
    #[default]
    Mean,
    /// `median()`.
    Median,
    /// `last()`: the latest point of the step.
    Last,
    /// `first()`.
    First,
    /// `sum()`.
    Sum,
    /// `count()`.
    Count,
    /// `min()`.
    Min,
    /// `max()`.
    Max,
}

impl Aggregation {
    /// The InfluxQL function's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregation::Mean => "mean",
            Aggregation::Median => "median",
            Aggregation::Last => "last",
            Aggregation::First => "first",
            Aggregation::Sum => "sum",
            Aggregation::Count => "count",
            Aggregation::Min => "min",
            Aggregation::Max => "max",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Select {
    Field {
        measurement: String,
        field: String,
        tags: Vec<(String, String)>,
        aggregation: Aggregation,
    },
    Raw(String),
}

/// A column read from InfluxDB: an aggregated field of a measurement (over the series whose
/// tags match), or a statement of one's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfluxColumn {
    name: String,
    select: Select,
}

impl InfluxColumn {
    /// The mean of `field` of `measurement` per step, over all its series, named
    /// `{measurement}_{field}`.
    pub fn field(measurement: impl Into<String>, field: impl Into<String>) -> Self {
        let measurement = measurement.into();
        let field = field.into();
        InfluxColumn {
            name: format!("{measurement}_{field}"),
            select: Select::Field {
                measurement,
                field,
                tags: Vec::new(),
                aggregation: Aggregation::Mean,
            },
        }
    }

    /// A statement of one's own, as in Grafana: a `SELECT` of one value column whose `WHERE`
    /// has `$timeFilter` and whose `GROUP BY` has `time($interval)` (for example
    /// `SELECT sum("requests") FROM "http" WHERE "code" =~ /^5/ AND $timeFilter GROUP BY
    /// time($interval) fill(none)`). Each query puts the time range and the grid's step in
    /// their place. The statement must give one series.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when the statement has no `$timeFilter`.
    pub fn query(name: impl Into<String>, statement: impl Into<String>) -> Result<Self> {
        let statement = statement.into();
        if !statement.contains("$timeFilter") {
            return Err(Error::InvalidParam {
                name: "query",
                reason: format!("{statement:?} has no $timeFilter"),
            });
        }
        Ok(InfluxColumn {
            name: name.into(),
            select: Select::Raw(statement),
        })
    }

    /// Only the series whose tag `key` is exactly `value` (matchers add up: all must hold).
    /// No effect on a [`query`](Self::query) column.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        if let Select::Field { tags, .. } = &mut self.select {
            tags.push((key.into(), value.into()));
        }
        self
    }

    /// The aggregation over each step (the mean unless told). No effect on a
    /// [`query`](Self::query) column.
    pub fn aggregation(mut self, aggregation: Aggregation) -> Self {
        if let Select::Field { aggregation: a, .. } = &mut self.select {
            *a = aggregation;
        }
        self
    }

    /// The column named `name` instead.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The column's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The InfluxQL statement for the buckets of `step_ms` from `from` (included) to `to`
    /// (excluded when `to_excluded`, else included).
    fn statement(&self, from: i64, to: i64, to_excluded: bool, step_ms: i64) -> String {
        let upper = if to_excluded { "<" } else { "<=" };
        let time_filter = format!("time >= {from}ms AND time {upper} {to}ms");
        let interval = format!("{step_ms}ms");
        match &self.select {
            Select::Field {
                measurement,
                field,
                tags,
                aggregation,
            } => {
                let mut q = format!(
                    "SELECT {}({}) FROM {} WHERE ",
                    aggregation.as_str(),
                    identifier(field),
                    identifier(measurement)
                );
                for (k, v) in tags {
                    let _ = write!(q, "{} = {} AND ", identifier(k), literal(v));
                }
                let _ = write!(q, "{time_filter} GROUP BY time({interval}) fill(none)");
                q
            }
            Select::Raw(statement) => statement
                .replace("$timeFilter", &time_filter)
                .replace("$interval", &interval),
        }
    }
}

/// An InfluxQL identifier, double-quoted (so any name works: dots, spaces, keywords).
fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// An InfluxQL string literal, single-quoted.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The base URL without its trailing slashes, checked to be HTTP.
fn base_url(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::InvalidParam {
            name: "url",
            reason: format!("{url:?} is not an http:// or https:// URL"),
        });
    }
    Ok(url.to_owned())
}

/// A source that reads columns from an InfluxDB 1.x database with InfluxQL.
///
/// A backfill asks for each column's aggregation per grid step (`GROUP BY time(step)`, one
/// request per 5 000 steps with a statement per column), takes each step's value as a point at
/// the step's start (InfluxDB's label: the value at grid time `t` aggregates `[t, t + step)`)
/// and aligns the points with the [`Grid`], so a step without points takes the previous step's
/// value within the lookback and is NaN beyond it. A poll asks for the steps within the
/// lookback up to `now` and takes the grid's value at `now` (the latest step is then cut at
/// `now`: a `sum` over it counts the points up to `now`). A column without data within the
/// lookback is NaN in a poll, like a gap in a backfill; but a backfill in which a column has no
/// data at all is an error, as it is almost always a misspelt name or tag.
///
/// Plain HTTP(S) without authentication: a server with `auth-enabled` is not supported yet.
///
/// ```no_run
/// use prescient_core::Timestamp;
/// use prescient_sources::http::{Blocking, InfluxColumn, InfluxSource};
/// use prescient_sources::{Grid, Source};
///
/// let columns = vec![
///     InfluxColumn::field("http", "requests").named("load"),
///     InfluxColumn::field("cpu", "usage_user").tag("host", "server07").named("cpu"),
/// ];
/// let source = InfluxSource::new("http://127.0.0.1:8086", "telegraf", columns, Grid::new(15.0, 60.0)?)?;
/// let mut source = Blocking::new(source)?;
/// let now = Timestamp::from_secs(1_700_000_000);
/// let history = source.backfill(now.add_secs(-86_400.0), now)?;
/// let latest = source.poll(now)?;
/// # Ok::<(), prescient_sources::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct InfluxSource {
    client: HttpClient,
    url: String,
    database: String,
    columns: Vec<InfluxColumn>,
    names: Vec<String>,
    grid: Grid,
}

impl InfluxSource {
    /// A source reading `columns` from `database` on the server at `url` (such as
    /// `http://127.0.0.1:8086`), with a 10 s time limit per request.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when the URL is not HTTP or there are no columns.
    pub fn new(
        url: &str,
        database: impl Into<String>,
        columns: Vec<InfluxColumn>,
        grid: Grid,
    ) -> Result<Self> {
        if columns.is_empty() {
            return Err(Error::InvalidParam {
                name: "columns",
                reason: "an InfluxDB source needs at least one column".into(),
            });
        }
        Ok(InfluxSource {
            client: HttpClient::new(DEFAULT_TIMEOUT)?,
            url: base_url(url)?,
            database: database.into(),
            names: columns.iter().map(|c| c.name.clone()).collect(),
            columns,
            grid,
        })
    }

    /// The time limit of each request (connection, headers and body).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when it is zero.
    pub fn timeout(mut self, timeout: Duration) -> Result<Self> {
        self.client = HttpClient::new(timeout)?;
        Ok(self)
    }

    /// The grid.
    pub fn grid(&self) -> Grid {
        self.grid
    }

    /// Runs the statements (one per column) in one request and returns each one's points.
    async fn run(&self, statements: &[String]) -> Result<Vec<Vec<Point>>> {
        let q = statements.join(";");
        let url = format!("{}/query", self.url);
        let params = [
            ("db", self.database.as_str()),
            ("epoch", "ms"),
            ("q", q.as_str()),
        ];
        let body = self
            .client
            .get(&url, &params)
            .await
            .map_err(|e| backend_error(e, &q))?;
        parse_response(&body, &url, statements)
    }
}

impl AsyncSource for InfluxSource {
    fn columns(&self) -> &[String] {
        &self.names
    }

    async fn backfill(&mut self, start: Timestamp, end: Timestamp) -> Result<Vec<Sample>> {
        check_range(start, end)?;
        let step = self.grid.step_ms();
        let first = self.grid.ceil(start).as_millis();
        // From the step whose value may still count at the first grid time, to the end of the
        // last grid time's step.
        let from = self
            .grid
            .floor(Timestamp::from_millis(
                first.saturating_sub(self.grid.lookback_ms()),
            ))
            .as_millis();
        let to = self.grid.floor(end).as_millis().saturating_add(step);
        let mut points: Vec<Vec<Point>> = vec![Vec::new(); self.columns.len()];
        let mut chunk = from;
        while chunk < to {
            let chunk_end = chunk
                .saturating_add(step.saturating_mul(BUCKETS_PER_QUERY))
                .min(to);
            let statements: Vec<String> = self
                .columns
                .iter()
                .map(|c| c.statement(chunk, chunk_end, true, step))
                .collect();
            for (all, new) in points.iter_mut().zip(self.run(&statements).await?) {
                all.extend(new);
            }
            chunk = chunk_end;
        }
        if let Some(c) = points.iter().position(Vec::is_empty) {
            return Err(Error::Backend {
                backend: "influxdb",
                query: self.columns[c].statement(from, to, true, step),
                reason: format!(
                    "no data for column {:?} from {start} to {end} (is a name or tag misspelt?)",
                    self.names[c]
                ),
            });
        }
        for p in &mut points {
            crate::source::sort_points(p);
        }
        let refs: Vec<&[Point]> = points.iter().map(Vec::as_slice).collect();
        Ok(self.grid.align(&refs, start, end))
    }

    async fn poll(&mut self, now: Timestamp) -> Result<Sample> {
        let step = self.grid.step_ms();
        let from = self
            .grid
            .floor(now.add_secs(-(self.grid.lookback_ms() as f64) / 1000.0))
            .as_millis();
        let statements: Vec<String> = self
            .columns
            .iter()
            .map(|c| c.statement(from, now.as_millis(), false, step))
            .collect();
        let points = self.run(&statements).await?;
        let values = points.iter().map(|p| self.grid.value_at(p, now)).collect();
        Ok(Sample::new(now, values))
    }
}

/// An HTTP 400 from InfluxDB is its verdict on the query (`{"error":"error parsing query: ..."}`).
fn backend_error(e: Error, query: &str) -> Error {
    match e {
        Error::Http {
            status: 400, body, ..
        } => Error::Backend {
            backend: "influxdb",
            query: query.to_owned(),
            reason: serde_json::from_str::<ErrorBody>(&body)
                .ok()
                .and_then(|b| b.error)
                .unwrap_or(body),
        },
        other => other,
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
}

#[derive(Deserialize)]
struct Response {
    results: Option<Vec<StatementResult>>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct StatementResult {
    statement_id: Option<usize>,
    #[serde(default)]
    series: Vec<Series>,
    error: Option<String>,
    #[serde(default)]
    partial: bool,
}

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    columns: Vec<String>,
    #[serde(default)]
    values: Vec<Vec<serde_json::Value>>,
}

/// The points of each statement in an InfluxDB `/query` answer (with `epoch=ms`).
fn parse_response(body: &str, url: &str, statements: &[String]) -> Result<Vec<Vec<Point>>> {
    let parse_error = |reason: String| Error::Parse {
        what: format!("the answer of {url}"),
        line: 0,
        reason,
    };
    let backend = |i: usize, reason: String| Error::Backend {
        backend: "influxdb",
        query: statements
            .get(i)
            .cloned()
            .unwrap_or_else(|| statements.join(";")),
        reason,
    };
    if body.trim().is_empty() {
        return Err(parse_error("an empty body".into()));
    }
    let response: Response = serde_json::from_str(body).map_err(|e| {
        let reason = if e.is_eof() {
            format!("the body is cut short ({} bytes): {e}", body.len())
        } else {
            format!("not InfluxDB's JSON: {e}")
        };
        parse_error(reason)
    })?;
    if let Some(error) = response.error {
        return Err(backend(usize::MAX, error));
    }
    let results = response.results.unwrap_or_default();
    if results.len() != statements.len() {
        return Err(backend(
            usize::MAX,
            format!(
                "{} results for {} statements",
                results.len(),
                statements.len()
            ),
        ));
    }
    let mut out: Vec<Option<Vec<Point>>> = vec![None; statements.len()];
    for (position, result) in results.into_iter().enumerate() {
        let i = result.statement_id.unwrap_or(position);
        if i >= out.len() || out[i].is_some() {
            return Err(backend(
                usize::MAX,
                format!("an unexpected statement_id {i}"),
            ));
        }
        if let Some(error) = result.error {
            return Err(backend(i, error));
        }
        if result.partial {
            return Err(backend(
                i,
                "the answer is partial (the server's row limit cut it)".into(),
            ));
        }
        if result.series.len() > 1 {
            return Err(backend(
                i,
                format!(
                    "{} series where a column needs one (aggregate them, or filter by tag)",
                    result.series.len()
                ),
            ));
        }
        let mut points = Vec::new();
        if let Some(series) = result.series.first() {
            if series.columns.len() < 2 || series.columns[0] != "time" {
                return Err(backend(
                    i,
                    format!("columns {:?} are not time and a value", series.columns),
                ));
            }
            for row in &series.values {
                let ts = row
                    .first()
                    .and_then(serde_json::Value::as_i64)
                    .ok_or_else(|| {
                        parse_error(format!("a row without a time in milliseconds: {row:?}"))
                    })?;
                let value = match row.get(1) {
                    Some(serde_json::Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
                    Some(serde_json::Value::Bool(b)) => f64::from(u8::from(*b)),
                    Some(serde_json::Value::Null) | None => continue,
                    Some(other) => {
                        return Err(backend(i, format!("a value that is not a number: {other}")));
                    }
                };
                points.push(Point::new(Timestamp::from_millis(ts), value));
            }
        }
        out[i] = Some(points);
    }
    Ok(out.into_iter().map(Option::unwrap_or_default).collect())
}

/// Writes line protocol to an InfluxDB 1.x database, and creates or drops the database.
///
/// ```no_run
/// use prescient_core::Timestamp;
/// use prescient_sources::http::InfluxWriter;
/// use prescient_sources::Point;
///
/// # async fn demo() -> prescient_sources::Result<()> {
/// let writer = InfluxWriter::new("http://127.0.0.1:8086", "prescient")?;
/// writer.create_database().await?;
/// writer.write("forecast,service=api load=120.5 1700000000000\n".into()).await?;
/// let points = [Point::new(Timestamp::from_secs(1_700_000_015), 121.0)];
/// writer.write_points("forecast", &[("service", "api")], "load", &points).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct InfluxWriter {
    client: HttpClient,
    url: String,
    database: String,
    precision: Precision,
}

impl InfluxWriter {
    /// A writer to `database` on the server at `url`, with millisecond timestamps and a 10 s
    /// time limit per request.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when the URL is not HTTP.
    pub fn new(url: &str, database: impl Into<String>) -> Result<Self> {
        Ok(InfluxWriter {
            client: HttpClient::new(DEFAULT_TIMEOUT)?,
            url: base_url(url)?,
            database: database.into(),
            precision: Precision::Milliseconds,
        })
    }

    /// The unit of the timestamps of the lines given to [`write`](Self::write).
    pub fn precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// The time limit of each request.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when it is zero.
    pub fn timeout(mut self, timeout: Duration) -> Result<Self> {
        self.client = HttpClient::new(timeout)?;
        Ok(self)
    }

    async fn admin(&self, statement: String) -> Result<()> {
        let url = format!("{}/query", self.url);
        let params = [("q", statement.as_str())];
        let body = self
            .client
            .post(&url, &params, String::new())
            .await
            .map_err(|e| backend_error(e, &statement))?;
        parse_response(&body, &url, std::slice::from_ref(&statement)).map(|_| ())
    }

    /// Creates the database (nothing happens if it exists).
    ///
    /// # Errors
    ///
    /// The transport's errors ([`Error::Unreachable`], [`Error::Timeout`], [`Error::Http`]) and
    /// [`Error::Backend`] when the server refuses.
    pub async fn create_database(&self) -> Result<()> {
        self.admin(format!("CREATE DATABASE {}", identifier(&self.database)))
            .await
    }

    /// Drops the database and all its data.
    ///
    /// # Errors
    ///
    /// As [`create_database`](Self::create_database).
    pub async fn drop_database(&self) -> Result<()> {
        self.admin(format!("DROP DATABASE {}", identifier(&self.database)))
            .await
    }

    /// Writes `lines` of line protocol.
    ///
    /// # Errors
    ///
    /// The transport's errors, and [`Error::Backend`] when the server refuses the lines (a
    /// malformed line, a field of another type than before).
    pub async fn write(&self, lines: String) -> Result<()> {
        let url = format!("{}/write", self.url);
        let params = [
            ("db", self.database.as_str()),
            ("precision", self.precision.as_str()),
        ];
        self.client
            .post(&url, &params, lines)
            .await
            .map_err(|e| match e {
                Error::Http {
                    status: 400 | 404,
                    body,
                    ..
                } => Error::Backend {
                    backend: "influxdb",
                    query: format!("write to {}", self.database),
                    reason: serde_json::from_str::<ErrorBody>(&body)
                        .ok()
                        .and_then(|b| b.error)
                        .unwrap_or(body),
                },
                other => other,
            })
            .map(|_| ())
    }

    /// Writes `points` as the float field `field` of `measurement` with `tags`, whatever the
    /// writer's precision (non-finite values are skipped: line protocol has no NaN).
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    pub async fn write_points(
        &self,
        measurement: &str,
        tags: &[(&str, &str)],
        field: &str,
        points: &[Point],
    ) -> Result<()> {
        let mut series = escape(measurement, true);
        for (k, v) in tags {
            let _ = write!(series, ",{}={}", escape(k, false), escape(v, false));
        }
        let field = escape(field, false);
        let mut lines = String::with_capacity(points.len() * (series.len() + 32));
        for p in points.iter().filter(|p| p.value.is_finite()) {
            let ts = match self.precision {
                Precision::Nanoseconds => i128::from(p.ts.as_millis()) * 1_000_000,
                Precision::Microseconds => i128::from(p.ts.as_millis()) * 1_000,
                Precision::Milliseconds => i128::from(p.ts.as_millis()),
                Precision::Seconds => i128::from(p.ts.as_millis().div_euclid(1000)),
            };
            // `{:?}` writes a float so that it reads back exactly (`1.0`, `1e-7`).
            let _ = writeln!(lines, "{series} {field}={:?} {ts}", p.value);
        }
        if lines.is_empty() {
            return Ok(());
        }
        self.write(lines).await
    }
}

/// A measurement, tag key, tag value or field key escaped for line protocol.
fn escape(name: &str, measurement: bool) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, ',' | ' ' | '\\') || (!measurement && c == '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_quote_names_and_values() {
        let c = InfluxColumn::field("cpu.load", "us\"er")
            .tag("host", "it's")
            .aggregation(Aggregation::Sum);
        assert_eq!(
            c.statement(0, 30_000, true, 15_000),
            r#"SELECT sum("us\"er") FROM "cpu.load" WHERE "host" = 'it\'s' AND time >= 0ms AND time < 30000ms GROUP BY time(15000ms) fill(none)"#
        );
        assert_eq!(c.name(), "cpu.load_us\"er");
        let raw = InfluxColumn::query(
            "x",
            "SELECT max(v) FROM m WHERE $timeFilter GROUP BY time($interval)",
        )
        .unwrap();
        assert_eq!(
            raw.statement(1, 2, false, 3),
            "SELECT max(v) FROM m WHERE time >= 1ms AND time <= 2ms GROUP BY time(3ms)"
        );
        assert!(InfluxColumn::query("x", "SELECT v FROM m").is_err());
    }

    #[test]
    fn urls_and_columns_are_checked() {
        let grid = Grid::new(15.0, 60.0).unwrap();
        let col = || vec![InfluxColumn::field("m", "f")];
        assert!(InfluxSource::new("localhost:8086", "db", col(), grid).is_err());
        assert!(InfluxSource::new("http://h:8086/", "db", vec![], grid).is_err());
        let s = InfluxSource::new("http://h:8086//", "db", col(), grid).unwrap();
        assert_eq!(s.url, "http://h:8086");
        assert!(s.timeout(Duration::ZERO).is_err());
    }

    fn statements(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("SELECT {i}")).collect()
    }

    #[test]
    fn responses_give_points_per_statement() {
        let body = r#"{"results":[
            {"statement_id":1,"series":[{"name":"m","columns":["time","sum"],"values":[[1000,2],[2000,null],[3000,true]]}]},
            {"statement_id":0}
        ]}"#;
        let out = parse_response(body, "u", &statements(2)).unwrap();
        assert!(out[0].is_empty());
        let t = Timestamp::from_millis;
        assert_eq!(out[1], [Point::new(t(1000), 2.0), Point::new(t(3000), 1.0)]);
    }

    #[test]
    fn bad_responses_are_clear_errors() {
        let cases = [
            ("", "empty body"),
            (
                r#"{"results":[{"statement_id":0,"series":[{"col"#,
                "cut short",
            ),
            ("<html>", "not InfluxDB's JSON"),
            (r#"{"results":[]}"#, "0 results for 1 statements"),
            (r#"{"error":"database not found"}"#, "database not found"),
            (r#"{"results":[{"statement_id":0,"error":"bad"}]}"#, "bad"),
            (
                r#"{"results":[{"statement_id":0,"partial":true}]}"#,
                "partial",
            ),
            (
                r#"{"results":[{"statement_id":0,"series":[{"columns":["time","v"],"values":[[1,"x"]]}]}]}"#,
                "not a number",
            ),
            (
                r#"{"results":[{"statement_id":0,"series":[{"columns":["time","v"],"values":[["t",1]]}]}]}"#,
                "without a time",
            ),
            (
                r#"{"results":[{"statement_id":0,"series":[{"columns":["time","v"]},{"columns":["time","v"]}]}]}"#,
                "2 series",
            ),
        ];
        for (body, needle) in cases {
            let err = parse_response(body, "u", &statements(1)).unwrap_err();
            assert!(err.to_string().contains(needle), "{body}: {err}");
        }
    }

    #[test]
    fn autotraits() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<InfluxSource>();
        send_sync::<InfluxWriter>();
        send_sync::<InfluxColumn>();
    }

    #[test]
    fn escapes_line_protocol() {
        assert_eq!(escape("a b,c=d", true), r"a\ b\,c=d");
        assert_eq!(escape("a b,c=d", false), r"a\ b\,c\=d");
    }
}
