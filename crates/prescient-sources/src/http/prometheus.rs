use std::sync::Arc;
use std::time::Duration;

use prescient_core::{Sample, Timestamp};
use prometheus_http_query::Client;
use prometheus_http_query::response::Data;
use tokio::task::JoinSet;

use super::{AsyncSource, HttpClient};
use crate::source::check_range;
use crate::{Error, Grid, Point, Result};

/// The most points Prometheus returns per series and query (its `exceeded maximum resolution of
/// 11,000 points per timeseries`); a backfill asks for at most this many per request.
const PROMETHEUS_MAX_POINTS: usize = 11_000;

/// A source over the Prometheus HTTP API (`/api/v1/query_range` and `/api/v1/query`), through
/// `prometheus-http-query`: one PromQL expression per column.
///
/// - **Backfill** issues range queries on the grid (`start` and `end` rounded to grid times, the
///   grid's step as the query step), cut into requests of at most 10,000 points per series so
///   that Prometheus's 11,000-point limit never refuses a long history, several requests in
///   flight at once. A grid time where Prometheus has no value (a gap longer than its lookback,
///   a staleness marker) is NaN.
/// - **Poll** issues instant queries at `now` (to the second): Prometheus's own lookback (5
///   minutes by default) decides what is stale.
/// - A query that returns several series gives their sum, as `sum(...)` would; one that returns
///   none gives NaN.
/// - The grid's step must be a whole number of seconds, since the API takes times in seconds here.
///
/// ```no_run
/// use prescient_core::Timestamp;
/// use prescient_sources::Grid;
/// use prescient_sources::http::{Blocking, PrometheusSource};
/// use prescient_sources::Source;
///
/// let source = PrometheusSource::new("http://127.0.0.1:9090", Grid::new(15.0, 300.0)?)?
///     .column("rps", "sum(rate(http_requests_total{job=\"api\"}[1m]))")
///     .column("cpu", "avg(rate(process_cpu_seconds_total{job=\"api\"}[1m]))");
/// let mut source = Blocking::new(source)?;
/// let now = Timestamp::from_secs(1_700_000_000);
/// let history = source.backfill(now.add_secs(-14.0 * 86_400.0), now)?;
/// let latest = source.poll(now)?;
/// # Ok::<(), prescient_sources::Error>(())
/// ```
#[derive(Clone)]
pub struct PrometheusSource {
    url: String,
    http: HttpClient,
    client: Client,
    grid: Grid,
    columns: Vec<String>,
    queries: Vec<Arc<str>>,
    points_per_request: usize,
    in_flight: usize,
}

impl std::fmt::Debug for PrometheusSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusSource")
            .field("url", &self.url)
            .field("grid", &self.grid)
            .field("columns", &self.columns)
            .field("queries", &self.queries)
            .finish_non_exhaustive()
    }
}

impl PrometheusSource {
    /// A source over the Prometheus server at `url` (for example `http://127.0.0.1:9090`), with
    /// no columns yet, a 10 s time limit per request and 4 requests in flight.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for a URL that is not one, or a grid step that is not a whole
    /// number of seconds.
    pub fn new(url: &str, grid: Grid) -> Result<Self> {
        if grid.step_ms() % 1000 != 0 {
            return Err(Error::InvalidParam {
                name: "step",
                reason: format!(
                    "Prometheus sources need a whole number of seconds, got {} s",
                    grid.step_secs()
                ),
            });
        }
        let http = HttpClient::new(Duration::from_secs(10))?;
        let client = Self::client(&http, url)?;
        Ok(PrometheusSource {
            url: url.trim_end_matches('/').to_owned(),
            http,
            client,
            grid,
            columns: Vec::new(),
            queries: Vec::new(),
            points_per_request: 10_000,
            in_flight: 4,
        })
    }

    fn client(http: &HttpClient, url: &str) -> Result<Client> {
        Client::from(http.inner().clone(), url).map_err(|e| Error::InvalidParam {
            name: "url",
            reason: format!("{url:?}: {e}"),
        })
    }

    /// Adds a column named `name` whose values are the PromQL expression `query`.
    #[must_use]
    pub fn column(mut self, name: impl Into<String>, query: impl Into<String>) -> Self {
        self.columns.push(name.into());
        self.queries.push(Arc::from(query.into()));
        self
    }

    /// The time limit of each request (connection, headers and body; 10 s by default).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for a zero time limit.
    pub fn timeout(mut self, limit: Duration) -> Result<Self> {
        self.http = HttpClient::new(limit)?;
        self.client = Self::client(&self.http, &self.url)?;
        Ok(self)
    }

    /// How many requests a backfill keeps in flight (4 by default, at least 1).
    #[must_use]
    pub fn in_flight(mut self, n: usize) -> Self {
        self.in_flight = n.max(1);
        self
    }

    /// The most points per series a backfill asks for in one request (10,000 by default; at
    /// most Prometheus's 11,000, at least 1).
    #[must_use]
    pub fn points_per_request(mut self, n: usize) -> Self {
        self.points_per_request = n.clamp(1, PROMETHEUS_MAX_POINTS);
        self
    }

    /// The PromQL expression of each column.
    pub fn queries(&self) -> impl Iterator<Item = &str> {
        self.queries.iter().map(|q| &**q)
    }

    /// This crate's error for one of `prometheus-http-query`'s.
    fn error(&self, query: &str, e: &prometheus_http_query::Error) -> Error {
        match e {
            prometheus_http_query::Error::Client(c) => match c.inner() {
                Some(inner) => self.http.error(&self.url, inner),
                None => backend(query, e.to_string()),
            },
            other => backend(query, other.to_string()),
        }
    }
}

fn backend(query: &str, reason: String) -> Error {
    Error::Backend {
        backend: "prometheus",
        query: query.to_owned(),
        reason,
    }
}

/// The sum over the series of a range result, as points.
fn summed_points(data: &Data, query: &str) -> Result<Vec<Point>> {
    let Some(matrix) = data.as_matrix() else {
        return Err(backend(query, "a range query gave no matrix".into()));
    };
    let mut points: Vec<Point> = Vec::new();
    for series in matrix {
        for s in series.samples() {
            let ts = Timestamp::from_millis((s.timestamp() * 1000.0).round() as i64);
            points.push(Point::new(ts, s.value()));
        }
    }
    if matrix.len() > 1 {
        points.sort_by_key(|p| p.ts);
        let mut summed: Vec<Point> = Vec::with_capacity(points.len() / matrix.len() + 1);
        for p in points {
            match summed.last_mut() {
                Some(last) if last.ts == p.ts => last.value += p.value,
                _ => summed.push(p),
            }
        }
        points = summed;
    }
    Ok(points)
}

impl AsyncSource for PrometheusSource {
    fn columns(&self) -> &[String] {
        &self.columns
    }

    async fn backfill(&mut self, start: Timestamp, end: Timestamp) -> Result<Vec<Sample>> {
        check_range(start, end)?;
        let grid = self.grid;
        let step_ms = grid.step_ms();
        let first = grid.ceil(start);
        let total = grid.count(start, end);
        if total == 0 {
            return Ok(Vec::new());
        }
        // (column, chunk start ms, chunk end ms) for every request, in order.
        let mut requests = Vec::new();
        let per = self.points_per_request as i64;
        for c in 0..self.queries.len() {
            let mut from = first.as_millis();
            let mut left = total as i64;
            while left > 0 {
                let n = left.min(per);
                requests.push((c, from, from + (n - 1) * step_ms));
                from += n * step_ms;
                left -= n;
            }
        }
        let mut per_column: Vec<Vec<Point>> = vec![Vec::new(); self.queries.len()];
        let mut tasks = JoinSet::new();
        let mut next = 0;
        while next < requests.len() || !tasks.is_empty() {
            while next < requests.len() && tasks.len() < self.in_flight {
                let (c, from, to) = requests[next];
                let client = self.client.clone();
                let query = Arc::clone(&self.queries[c]);
                let step = (step_ms / 1000) as f64;
                tasks.spawn(async move {
                    let result = client
                        .query_range(&*query, from / 1000, to / 1000, step)
                        .get()
                        .await;
                    (c, result)
                });
                next += 1;
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            let (c, result) =
                joined.map_err(|e| backend("", format!("a request task failed: {e}")))?;
            let query = &self.queries[c];
            let data = result.map_err(|e| self.error(query, &e))?;
            per_column[c].extend(summed_points(data.data(), query)?);
        }
        // Chunks arrive in any order; a range result is already on the grid, so the values are
        // matched to grid times exactly (no lookback of ours on top of Prometheus's).
        let exact = Grid::new(grid.step_secs(), 0.0)?;
        for points in &mut per_column {
            crate::source::sort_points(points);
        }
        let refs: Vec<&[Point]> = per_column.iter().map(Vec::as_slice).collect();
        Ok(exact.align(&refs, first, end))
    }

    async fn poll(&mut self, now: Timestamp) -> Result<Sample> {
        let at = now.as_millis().div_euclid(1000);
        let mut tasks = JoinSet::new();
        for (c, query) in self.queries.iter().enumerate() {
            let client = self.client.clone();
            let query = Arc::clone(query);
            tasks.spawn(async move { (c, client.query(&*query).at(at).get().await) });
        }
        let mut values = vec![f64::NAN; self.queries.len()];
        while let Some(joined) = tasks.join_next().await {
            let (c, result) =
                joined.map_err(|e| backend("", format!("a request task failed: {e}")))?;
            let query = &self.queries[c];
            let data = result.map_err(|e| self.error(query, &e))?;
            values[c] = match data.data() {
                Data::Vector(v) if !v.is_empty() => v.iter().map(|s| s.sample().value()).sum(),
                Data::Vector(_) => f64::NAN,
                Data::Scalar(s) => s.value(),
                _ => return Err(backend(query, "an instant query gave a matrix".into())),
            };
        }
        Ok(Sample::new(now, values))
    }
}
