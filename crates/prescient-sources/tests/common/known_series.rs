//! The known data of the server tests: what `.ci/run` loads into Prometheus (through the example
//! `known_series` and `promtool`) and what the tests expect to read back.

#![allow(dead_code)]

/// The series' first time: 2026-01-01 00:00:00 UTC, in seconds.
pub(crate) const START_SECS: i64 = 1_767_225_600;
/// Their step, seconds.
pub(crate) const STEP_SECS: i64 = 15;
/// How many points each series would have without its gap: 14 days at 15 s.
pub(crate) const POINTS: i64 = 14 * 86_400 / STEP_SECS;
/// How many series.
pub(crate) const SERIES: usize = 20;
/// The metric name.
pub(crate) const METRIC: &str = "prescient_known_series";
/// Series 0 has no points at steps `GAP.0..GAP.1` (an hour, three days in).
pub(crate) const GAP: (i64, i64) = (3 * 5760, 3 * 5760 + 240);

/// The value of series `i` at step `k`, or `None` inside series 0's gap: a daily wave with a
/// different phase and level per series, rounded to thousandths so that its text form is short.
pub(crate) fn value(i: usize, k: i64) -> Option<f64> {
    if i == 0 && (GAP.0..GAP.1).contains(&k) {
        return None;
    }
    let phase = std::f64::consts::TAU * (k as f64) / 5760.0 + i as f64;
    let x = 200.0 + 20.0 * i as f64 + 100.0 * phase.sin() + (k % 7) as f64;
    Some((x * 1000.0).round() / 1000.0)
}
