//! `snapshot`: the cost of saving and restoring a `Scaler`, and the snapshot's size, after one
//! and after 14 days of 15 s ticks (the training history full), with 1 and 10 metrics and
//! everything on by default (fingerprint, regime detectors, feedback loop).
//!
//! Run with `cargo bench -p prescient-benches --bench snapshot`.

#![allow(clippy::print_stderr)] // the snapshot sizes, once per case

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use prescient::{PlannerParams, PoolStatus, Scaler, ScalerBuilder, Timestamp};
use std::hint::black_box;

const DAY: usize = 5760;

fn builder(n: usize) -> ScalerBuilder {
    let planner = PlannerParams::new(20.0)
        .bounds(1, 500)
        .lead_time_secs(120.0);
    Scaler::builder(prescient_benches::schema(n), planner)
}

fn warmed_up(n: usize, days: usize) -> Scaler {
    let rows = prescient_benches::rows(n, days * DAY, 1);
    let mut scaler = builder(n).build().expect("valid settings");
    let pool = PoolStatus {
        desired: 20,
        ready: 19,
    };
    for (i, row) in rows.iter().enumerate() {
        let ts = Timestamp::from_secs(1_700_000_000 + 15 * i as i64);
        scaler.tick(ts, row, pool).expect("timestamps increase");
    }
    scaler
}

fn snapshot(c: &mut Criterion) {
    let mut group = c.benchmark_group("snapshot");
    group.sample_size(20);
    for (n, days) in [(1usize, 1usize), (10, 1), (10, 14)] {
        let scaler = warmed_up(n, days);
        let bytes = scaler.snapshot().expect("the default Scaler saves");
        eprintln!(
            "snapshot of {n} metrics after {days} days: {} bytes",
            bytes.len()
        );
        let id = format!("{n}m_{days}d");
        group.throughput(criterion::Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("save", &id), &n, |b, _| {
            b.iter(|| black_box(scaler.snapshot().expect("saves")).len())
        });
        group.bench_with_input(BenchmarkId::new("restore", &id), &n, |b, &n| {
            b.iter(|| {
                builder(n)
                    .restore(black_box(&bytes))
                    .expect("restores")
                    .ticks()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, snapshot);
criterion_main!(benches);
