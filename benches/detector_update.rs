//! `detector_update`: the throughput of the streaming univariate detectors on 1 M points of a
//! seeded series: the z-score and EWMA batch paths (`update_batch`, the state carried exactly as
//! point-by-point updates would), point-by-point `Detector::update` for each detector, and the
//! calibrator and full `MetricDetector` per point.
//!
//! Run with `taskset -c 1 cargo bench -p prescient-benches --bench detector_update`; compare with
//! `../shared/peers/streaming_detectors.py` (pandas, river) run in the same session.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use prescient::Timestamp;
use prescient::detect::{
    Ewma, MetricDetector, RobustZScore, RollingZScore, StlResidual, TailCalibrator,
};
use prescient::types::Detector;
use std::hint::black_box;

/// A seeded series: a slow daily-like wave, noise and a rare spike, `n` points.
fn series(n: usize) -> Vec<f64> {
    let mut s = 0x9e37_79b9_7f4a_7c15_u64;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            let spike = if s % 1000 == 0 { 20.0 } else { 0.0 };
            100.0 + 10.0 * (i as f64 * std::f64::consts::TAU / 288.0).sin() + u + spike
        })
        .collect()
}

fn batch(c: &mut Criterion) {
    let n = 1_000_000;
    let xs = series(n);
    let mut out = vec![0.0; n];
    let mut group = c.benchmark_group("detector_update_batch");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("zscore_w100", |b| {
        b.iter(|| {
            let mut d = RollingZScore::new(100).expect("valid window");
            d.update_batch(black_box(&xs), &mut out)
                .expect("same length");
            black_box(out[n - 1])
        })
    });
    group.bench_function("ewma_a0.05", |b| {
        b.iter(|| {
            let mut d = Ewma::new(0.05).expect("valid alpha");
            d.update_batch(black_box(&xs), &mut out)
                .expect("same length");
            black_box(out[n - 1])
        })
    });
    group.finish();
}

fn streaming(c: &mut Criterion) {
    let n = 100_000;
    let xs = series(n);
    let mut group = c.benchmark_group("detector_update_streaming");
    group.throughput(Throughput::Elements(n as u64));
    type Make = fn() -> Box<dyn Detector>;
    let detectors: [(&str, Make); 4] = [
        ("zscore_w100", || {
            Box::new(RollingZScore::new(100).expect("valid"))
        }),
        ("robust_zscore_w100", || {
            Box::new(RobustZScore::new(100).expect("valid"))
        }),
        ("ewma_a0.05", || Box::new(Ewma::new(0.05).expect("valid"))),
        ("stl_p288", || {
            Box::new(StlResidual::new(288).expect("valid"))
        }),
    ];
    for (name, make) in detectors {
        group.bench_function(BenchmarkId::new("update", name), |b| {
            b.iter(|| {
                let mut d = make();
                let mut acc = 0.0;
                for (i, &x) in xs.iter().enumerate() {
                    if let Some(det) = d.update(Timestamp::from_secs(i as i64), x) {
                        acc += det.deviation;
                    }
                }
                black_box(acc)
            })
        });
    }
    group.bench_function(BenchmarkId::new("update", "calibrator_w3000"), |b| {
        b.iter(|| {
            let mut cal = TailCalibrator::new(3000).expect("valid");
            let mut acc = 0.0;
            for &x in &xs {
                acc += cal.update(x).map_or(0.0, |s| s.value());
            }
            black_box(acc)
        })
    });
    group.bench_function(BenchmarkId::new("update", "metric_detector_default"), |b| {
        b.iter(|| {
            let mut d = MetricDetector::new().expect("default settings");
            let mut acc = 0.0;
            for (i, &x) in xs.iter().enumerate() {
                if let Some(v) = d.update(Timestamp::from_secs(300 * i as i64), x) {
                    acc += v.score.value();
                }
            }
            black_box(acc)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = batch, streaming
}
criterion_main!(benches);
