//! The `Source` abstraction, the step grid every source aligns its samples to, and the recorded
//! source that files are read into.

use prescient_core::{Sample, Timestamp};

use crate::{Error, Result};

/// One observation of one series: a time and a value (NaN marks the series stale from then on, as
/// Prometheus's staleness markers do).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// When it was observed.
    pub ts: Timestamp,
    /// What was observed.
    pub value: f64,
}

impl Point {
    /// A point.
    pub const fn new(ts: Timestamp, value: f64) -> Self {
        Point { ts, value }
    }
}

/// Where metrics come from: a file, a Prometheus or InfluxDB server, a `/metrics` page.
///
/// A source yields [`Sample`]s on its [`Grid`]: one value per column, in
/// [`columns`](Source::columns) order, NaN for a column with no value within the grid's lookback
/// (the `Scaler`'s convention for a missing metric). Name the columns after the `Scaler`'s schema
/// and the samples go straight into [`Scaler::tick`](https://docs.rs/prescient).
///
/// Time is always passed in, never read from the clock, so a replay and a live service run the
/// same code.
pub trait Source {
    /// The names of a sample's values, in order.
    fn columns(&self) -> &[String];

    /// History for training: the samples at every grid time from `start` to `end` (both
    /// included), in time order.
    ///
    /// # Errors
    ///
    /// The backend's [`Error`]; [`Error::InvalidParam`] when `end` is before `start`.
    fn backfill(&mut self, start: Timestamp, end: Timestamp) -> Result<Vec<Sample>>;

    /// The latest values as of `now` (the sample's time is `now`).
    ///
    /// # Errors
    ///
    /// The backend's [`Error`]. A host that keeps ticking on an error should tick with a sample
    /// of NaNs ([`Live`] does): the `Scaler` then holds its capacity.
    fn poll(&mut self, now: Timestamp) -> Result<Sample>;
}

impl<S: Source + ?Sized> Source for Box<S> {
    fn columns(&self) -> &[String] {
        (**self).columns()
    }

    fn backfill(&mut self, start: Timestamp, end: Timestamp) -> Result<Vec<Sample>> {
        (**self).backfill(start, end)
    }

    fn poll(&mut self, now: Timestamp) -> Result<Sample> {
        (**self).poll(now)
    }
}

/// The step grid a source aligns samples to, and how far back a value still counts.
///
/// Grid times are the multiples of the step since the epoch, so that sources, Prometheus range
/// queries and the `Scaler`'s own step agree. The value of a series at a grid time `t` is its last
/// point at or before `t`, if that point is at most `lookback` old and finite (Prometheus's
/// rule, whose default lookback is 5 minutes); otherwise NaN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    step_ms: i64,
    lookback_ms: i64,
}

impl Grid {
    /// A grid of `step_secs` with a lookback of `lookback_secs` (both rounded to milliseconds).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] unless the step is at least a millisecond and the lookback is
    /// finite and non-negative.
    ///
    /// ```
    /// use prescient_sources::Grid;
    ///
    /// let grid = Grid::new(15.0, 300.0)?;
    /// assert_eq!(grid.step_ms(), 15_000);
    /// # Ok::<(), prescient_sources::Error>(())
    /// ```
    pub fn new(step_secs: f64, lookback_secs: f64) -> Result<Self> {
        let step_ms = (step_secs * 1000.0).round();
        if !(1.0..1e15).contains(&step_ms) {
            return Err(Error::InvalidParam {
                name: "step",
                reason: format!("must be at least 1 ms and finite, got {step_secs} s"),
            });
        }
        let lookback_ms = (lookback_secs * 1000.0).round();
        if !(0.0..1e15).contains(&lookback_ms) {
            return Err(Error::InvalidParam {
                name: "lookback",
                reason: format!("must be finite and non-negative, got {lookback_secs} s"),
            });
        }
        Ok(Grid {
            step_ms: step_ms as i64,
            lookback_ms: lookback_ms as i64,
        })
    }

    /// The step in milliseconds.
    pub fn step_ms(&self) -> i64 {
        self.step_ms
    }

    /// The step in seconds.
    pub fn step_secs(&self) -> f64 {
        self.step_ms as f64 / 1000.0
    }

    /// The lookback in milliseconds.
    pub fn lookback_ms(&self) -> i64 {
        self.lookback_ms
    }

    /// The last grid time at or before `ts`.
    pub fn floor(&self, ts: Timestamp) -> Timestamp {
        Timestamp::from_millis(ts.as_millis().div_euclid(self.step_ms) * self.step_ms)
    }

    /// The first grid time at or after `ts` (saturating at the end of the range).
    pub fn ceil(&self, ts: Timestamp) -> Timestamp {
        let floor = self.floor(ts);
        if floor == ts {
            floor
        } else {
            Timestamp::from_millis(floor.as_millis().saturating_add(self.step_ms))
        }
    }

    /// The grid times from `start` to `end`, both included.
    pub fn times(&self, start: Timestamp, end: Timestamp) -> impl Iterator<Item = Timestamp> {
        let step = self.step_ms;
        let first = self.ceil(start).as_millis();
        let last = end.as_millis();
        let n = if first > last {
            0
        } else {
            (last - first) / step + 1
        };
        (0..n).map(move |k| Timestamp::from_millis(first + k * step))
    }

    /// How many grid times lie from `start` to `end`, both included.
    pub fn count(&self, start: Timestamp, end: Timestamp) -> usize {
        let first = self.ceil(start).as_millis();
        let last = end.as_millis();
        if first > last {
            0
        } else {
            usize::try_from((last - first) / self.step_ms + 1).unwrap_or(usize::MAX)
        }
    }

    /// The value of `points` (sorted by time) at `t`, by the grid's rule; NaN if none counts.
    pub fn value_at(&self, points: &[Point], t: Timestamp) -> f64 {
        let after = points.partition_point(|p| p.ts <= t);
        match after.checked_sub(1).map(|i| points[i]) {
            Some(p) if t.as_millis() - p.ts.as_millis() <= self.lookback_ms => {
                if p.value.is_finite() {
                    p.value
                } else {
                    f64::NAN
                }
            }
            _ => f64::NAN,
        }
    }

    /// Aligns series (each sorted by time) to the grid from `start` to `end`: one sample per
    /// grid time, one value per series.
    ///
    /// ```
    /// use prescient_core::Timestamp;
    /// use prescient_sources::{Grid, Point};
    ///
    /// let t = Timestamp::from_secs;
    /// let grid = Grid::new(15.0, 20.0)?;
    /// let a = [Point::new(t(1), 1.0), Point::new(t(16), 2.0)];
    /// let samples = grid.align(&[&a[..]], t(0), t(45));
    /// let values: Vec<f64> = samples.iter().map(|s| s.values[0]).collect();
    /// // At 0 nothing yet; at 15 the point of 1 s; at 30 the point of 16 s; at 45 it is 29 s old.
    /// assert!(values[0].is_nan() && values[3].is_nan());
    /// assert_eq!(&values[1..3], &[1.0, 2.0]);
    /// # Ok::<(), prescient_sources::Error>(())
    /// ```
    pub fn align(&self, series: &[&[Point]], start: Timestamp, end: Timestamp) -> Vec<Sample> {
        let n = self.count(start, end);
        let mut samples: Vec<Sample> = self
            .times(start, end)
            .map(|ts| Sample::new(ts, vec![f64::NAN; series.len()]))
            .collect();
        debug_assert_eq!(samples.len(), n);
        for (c, points) in series.iter().enumerate() {
            // One merge pass per series: both the grid and the points are sorted.
            let first = samples.first().map_or(start, |s| s.ts);
            let mut i = points.partition_point(|p| p.ts <= first);
            for s in &mut samples {
                while i < points.len() && points[i].ts <= s.ts {
                    i += 1;
                }
                if let Some(p) = i.checked_sub(1).map(|j| points[j])
                    && s.ts.as_millis() - p.ts.as_millis() <= self.lookback_ms
                    && p.value.is_finite()
                {
                    s.values[c] = p.value;
                }
            }
        }
        samples
    }
}

/// Sorts points by time, keeping the last of points with the same time (a later write wins).
pub(crate) fn sort_points(points: &mut Vec<Point>) {
    if points.windows(2).all(|w| w[0].ts < w[1].ts) {
        return;
    }
    points.sort_by_key(|p| p.ts);
    let mut out: Vec<Point> = Vec::with_capacity(points.len());
    for p in points.drain(..) {
        match out.last_mut() {
            Some(last) if last.ts == p.ts => *last = p,
            _ => out.push(p),
        }
    }
    *points = out;
}

/// A source over series held in memory: what a CSV or line-protocol file is read into, and a
/// replay of any history.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    columns: Vec<String>,
    series: Vec<Vec<Point>>,
    grid: Grid,
}

impl Recorded {
    /// A source over `series` (one per column, in any order: they are sorted, and of points with
    /// the same time the last is kept).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when there are not as many series as columns.
    pub fn new(columns: Vec<String>, mut series: Vec<Vec<Point>>, grid: Grid) -> Result<Self> {
        if columns.len() != series.len() {
            return Err(Error::InvalidParam {
                name: "series",
                reason: format!("{} columns but {} series", columns.len(), series.len()),
            });
        }
        for s in &mut series {
            sort_points(s);
        }
        Ok(Recorded {
            columns,
            series,
            grid,
        })
    }

    /// The grid.
    pub fn grid(&self) -> Grid {
        self.grid
    }

    /// The points of column `i`, sorted by time.
    pub fn series(&self, i: usize) -> &[Point] {
        &self.series[i]
    }

    /// The first and last time of any point, if there is one.
    pub fn span(&self) -> Option<(Timestamp, Timestamp)> {
        let first = self.series.iter().filter_map(|s| s.first()).map(|p| p.ts);
        let last = self.series.iter().filter_map(|s| s.last()).map(|p| p.ts);
        Some((first.min()?, last.max()?))
    }

    /// Every sample on the grid over the whole span.
    pub fn samples(&self) -> Vec<Sample> {
        match self.span() {
            Some((start, end)) => self.aligned(self.grid.floor(start), end),
            None => Vec::new(),
        }
    }

    fn aligned(&self, start: Timestamp, end: Timestamp) -> Vec<Sample> {
        let refs: Vec<&[Point]> = self.series.iter().map(Vec::as_slice).collect();
        self.grid.align(&refs, start, end)
    }
}

/// Checks that a backfill's range is the right way round.
pub(crate) fn check_range(start: Timestamp, end: Timestamp) -> Result<()> {
    if end < start {
        return Err(Error::InvalidParam {
            name: "range",
            reason: format!("end {end} is before start {start}"),
        });
    }
    Ok(())
}

impl Source for Recorded {
    fn columns(&self) -> &[String] {
        &self.columns
    }

    fn backfill(&mut self, start: Timestamp, end: Timestamp) -> Result<Vec<Sample>> {
        check_range(start, end)?;
        Ok(self.aligned(start, end))
    }

    fn poll(&mut self, now: Timestamp) -> Result<Sample> {
        let values = self
            .series
            .iter()
            .map(|s| self.grid.value_at(s, now))
            .collect();
        Ok(Sample::new(now, values))
    }
}

/// The outcome of one live poll through [`Live`].
#[derive(Debug)]
pub struct Polled {
    /// What to tick the `Scaler` with: the source's sample, or NaN for every column when the
    /// poll failed (the `Scaler` then holds its capacity and, once the load has been missing
    /// for its `stale_after`, says so with `ReasonCode::StaleData`).
    pub sample: Sample,
    /// Why the poll failed, if it did.
    pub error: Option<Error>,
    /// How many polls in a row have failed, this one included.
    pub consecutive_failures: u32,
    /// The time of the last poll that succeeded.
    pub last_success: Option<Timestamp>,
}

/// A source polled live: never fails, turns a failed poll into a sample of NaNs and keeps count,
/// so that a host's tick loop goes on when its monitoring does not answer.
#[derive(Debug)]
pub struct Live<S> {
    source: S,
    failures: u32,
    last_success: Option<Timestamp>,
}

impl<S: Source> Live<S> {
    /// Polls `source` live.
    pub fn new(source: S) -> Self {
        Live {
            source,
            failures: 0,
            last_success: None,
        }
    }

    /// The source.
    pub fn source_mut(&mut self) -> &mut S {
        &mut self.source
    }

    /// Polls at `now`.
    pub fn poll(&mut self, now: Timestamp) -> Polled {
        let columns = self.source.columns().len();
        match self.source.poll(now) {
            Ok(sample) if sample.values.len() == columns => {
                self.failures = 0;
                self.last_success = Some(now);
                Polled {
                    sample,
                    error: None,
                    consecutive_failures: 0,
                    last_success: self.last_success,
                }
            }
            outcome => {
                let error = match outcome {
                    Err(e) => e,
                    Ok(sample) => Error::InvalidParam {
                        name: "sample",
                        reason: format!(
                            "the source gave {} values for {columns} columns",
                            sample.values.len()
                        ),
                    },
                };
                self.failures = self.failures.saturating_add(1);
                Polled {
                    sample: Sample::new(now, vec![f64::NAN; columns]),
                    error: Some(error),
                    consecutive_failures: self.failures,
                    last_success: self.last_success,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_secs(s)
    }

    #[test]
    fn grid_times_are_multiples_of_the_step() {
        let g = Grid::new(15.0, 300.0).unwrap();
        let times: Vec<i64> = g.times(t(1), t(46)).map(|x| x.as_millis()).collect();
        assert_eq!(times, [15_000, 30_000, 45_000]);
        assert_eq!(g.count(t(1), t(46)), 3);
        assert_eq!(g.count(t(46), t(1)), 0);
        assert_eq!(g.floor(Timestamp::from_millis(-1)).as_millis(), -15_000);
        assert_eq!(g.ceil(t(15)), t(15));
    }

    #[test]
    fn bad_grids_are_refused() {
        for (step, lookback) in [
            (0.0, 1.0),
            (f64::NAN, 1.0),
            (1.0, -1.0),
            (1.0, f64::INFINITY),
        ] {
            assert!(Grid::new(step, lookback).is_err(), "{step} {lookback}");
        }
    }

    #[test]
    fn align_matches_value_at_and_honours_stale_markers() {
        let g = Grid::new(10.0, 25.0).unwrap();
        let pts = [
            Point::new(t(3), 1.0),
            Point::new(t(12), 2.0),
            Point::new(t(31), f64::NAN),
            Point::new(t(55), 4.0),
        ];
        let samples = g.align(&[&pts[..]], t(0), t(100));
        for s in &samples {
            let v = g.value_at(&pts, s.ts);
            assert!(v == s.values[0] || (v.is_nan() && s.values[0].is_nan()));
        }
        let got: Vec<String> = samples.iter().map(|s| format!("{}", s.values[0])).collect();
        // 0: nothing; 10: 1 (7 s old); 20, 30: 2; 40, 50: stale marker; 60, 70, 80: 4; 90: too old.
        assert_eq!(
            got,
            [
                "NaN", "1", "2", "2", "NaN", "NaN", "4", "4", "4", "NaN", "NaN"
            ]
        );
    }

    #[test]
    fn recorded_sorts_and_keeps_the_last_duplicate() {
        let g = Grid::new(1.0, 0.0).unwrap();
        let pts = vec![
            Point::new(t(2), 2.0),
            Point::new(t(1), 1.0),
            Point::new(t(2), 3.0),
        ];
        let mut r = Recorded::new(vec!["a".into()], vec![pts], g).unwrap();
        assert_eq!(r.series(0), [Point::new(t(1), 1.0), Point::new(t(2), 3.0)]);
        assert_eq!(r.poll(t(2)).unwrap().values, [3.0]);
        assert!(r.poll(t(3)).unwrap().values[0].is_nan());
        assert_eq!(r.samples().len(), 2);
        assert!(r.backfill(t(3), t(2)).is_err());
        assert!(Recorded::new(vec![], vec![vec![]], g).is_err());
    }

    struct Failing(Vec<String>);

    impl Source for Failing {
        fn columns(&self) -> &[String] {
            &self.0
        }
        fn backfill(&mut self, _: Timestamp, _: Timestamp) -> Result<Vec<Sample>> {
            Ok(Vec::new())
        }
        fn poll(&mut self, _: Timestamp) -> Result<Sample> {
            Err(Error::Unreachable {
                url: "http://127.0.0.1:1".into(),
                reason: "refused".into(),
            })
        }
    }

    #[test]
    fn live_turns_failures_into_missing_samples() {
        let mut live = Live::new(Failing(vec!["a".into(), "b".into()]));
        let p = live.poll(t(1));
        assert!(p.error.is_some());
        assert_eq!(p.sample.values.len(), 2);
        assert!(p.sample.values.iter().all(|v| v.is_nan()));
        assert_eq!(live.poll(t(2)).consecutive_failures, 2);
    }
}
