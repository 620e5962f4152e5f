//! `forecast_fit` and `forecast_update`: fitting AutoARIMA (the stepwise search on an
//! STL/MSTL-adjusted series) to a seeded hourly series of the M4 Hourly lengths, and its
//! per-observation update (one Kalman step, no refit).
//!
//! Run with `taskset -c 1 cargo bench -p prescient-benches --bench forecast_fit`; the M4 Hourly
//! figures against statsforecast are in `docs/BENCHMARKS.md`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use prescient::Timestamp;
use prescient::forecast::AutoArima;
use prescient::types::Forecaster;
use std::hint::black_box;

/// A seeded hourly series: daily and weekly cycles, a slow trend and AR(1) noise.
fn series(n: usize) -> Vec<f64> {
    let mut s = 0x9e37_79b9_7f4a_7c15_u64;
    let mut ar = 0.0;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            ar = 0.7 * ar + u;
            let t = i as f64;
            let day = (t * std::f64::consts::TAU / 24.0).sin();
            let week = if (i / 24) % 7 >= 5 { -15.0 } else { 0.0 };
            500.0 + 0.05 * t + 40.0 * day + week + 10.0 * ar
        })
        .collect()
}

fn fit(c: &mut Criterion) {
    let mut group = c.benchmark_group("forecast_fit");
    for n in [700usize, 960] {
        let y = series(n);
        for (name, periods) in [
            ("arima_stl24", &[24usize][..]),
            ("arima_mstl24_168", &[24, 168]),
        ] {
            let params = AutoArima::params().seasons(periods);
            group.bench_with_input(BenchmarkId::new(name, n), &y, |b, y| {
                b.iter(|| black_box(params.fit(black_box(y)).expect("fits")))
            });
        }
    }
    group.finish();
}

fn update(c: &mut Criterion) {
    let y = series(960 + 1000);
    let model = AutoArima::params()
        .seasons(&[24, 168])
        .refit_every(0)
        .fit(&y[..960])
        .expect("fits");
    let mut group = c.benchmark_group("forecast_update");
    group.bench_function("arima_mstl24_168_1000_updates", |b| {
        b.iter(|| {
            let mut m = model.clone();
            for (t, &v) in y.iter().enumerate().skip(960) {
                m.update(Timestamp::from_secs(3600 * t as i64), v)
                    .expect("finite");
            }
            black_box(m)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = fit, update
}
criterion_main!(benches);
