//! `export_render`: the cost of one scrape's page, `Exporter::render` into a reused `String`,
//! for a warmed-up `Scaler` (forecaster ready, regime monitor on) with 1 and 10 metrics, in the
//! Prometheus 0.0.4 and OpenMetrics formats; and `export_observe`, the cost of
//! `Exporter::observe` after each tick (copying the decision and the per-metric anomalies).
//!
//! Run with `cargo bench -p prescient-benches --bench export_render`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use prescient::export::{Exporter, Format};
use prescient::{Decision, PlannerParams, PoolStatus, Scaler, Timestamp};
use std::hint::black_box;

/// One day of 15 s ticks: the default season, so the forecaster is ready after warm-up.
const DAY: usize = 5760;

/// A `Scaler` with `n` metrics after a day and a bit of ticks, its last decision and its pool.
fn warmed_up(n: usize) -> (Scaler, Decision, PoolStatus) {
    let rows = prescient_benches::rows(n, DAY + 200, 1);
    let planner = PlannerParams::new(20.0)
        .bounds(1, 500)
        .lead_time_secs(120.0);
    let mut scaler = Scaler::builder(prescient_benches::schema(n), planner)
        .build()
        .expect("valid settings");
    let pool = PoolStatus {
        desired: 20,
        ready: 19,
    };
    let mut last = None;
    for (i, row) in rows.iter().enumerate() {
        let ts = Timestamp::from_secs(1_700_000_000 + 15 * i as i64);
        last = Some(scaler.tick(ts, row, pool).expect("timestamps increase"));
    }
    let decision = last.expect("at least one tick");
    assert!(decision.forecast.is_some(), "the forecaster is warmed up");
    (scaler, decision, pool)
}

fn export_render(c: &mut Criterion) {
    let mut group = c.benchmark_group("export_render");
    for (name, format) in [
        ("prometheus", Format::Prometheus),
        ("openmetrics", Format::OpenMetrics),
    ] {
        for n in [1usize, 10] {
            let (scaler, decision, pool) = warmed_up(n);
            let mut exporter = Exporter::new(&scaler).format(format);
            exporter.observe(&scaler, &decision, pool);
            let mut page = String::new();
            exporter.render(&mut page);
            let bytes = page.len();
            group.throughput(criterion::Throughput::Bytes(bytes as u64));
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter(|| {
                    page.clear();
                    exporter.render(black_box(&mut page));
                    black_box(page.len())
                })
            });
        }
    }
    group.finish();
}

fn export_observe(c: &mut Criterion) {
    let mut group = c.benchmark_group("export_observe");
    for n in [1usize, 10] {
        let (scaler, decision, pool) = warmed_up(n);
        let mut exporter = Exporter::new(&scaler);
        group.bench_with_input(BenchmarkId::new("observe", n), &n, |b, _| {
            b.iter(|| exporter.observe(black_box(&scaler), black_box(&decision), pool))
        });
    }
    group.finish();
}

criterion_group!(benches, export_render, export_observe);
criterion_main!(benches);
