//! `scaler_step`: the cost of one `Scaler::tick` (features, z-score and EWMA detectors on every
//! metric, the ensemble, a seasonal-naive forecast over the lead time and the planner), for a
//! warmed-up `Scaler` whose forecaster is ready, with 1 and 10 metrics; without the workload
//! fingerprint (`zscore_ewma_snaive`) and with it, as built by default
//! (`zscore_ewma_snaive_regime`: projection, regime detectors, nearest-moment lookup, and the
//! refits of the PCA and the isolation forest amortised over the ticks).
//!
//! Run with `cargo bench -p prescient-benches --bench scaler_step`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use prescient::{PlannerParams, PoolStatus, Scaler, Timestamp};
use std::hint::black_box;

/// One day of 15 s ticks: the default season, so the forecaster is ready after warm-up.
const DAY: usize = 5760;

fn scaler_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("scaler_step");
    for (name, regime, n) in [
        ("zscore_ewma_snaive", false, 1usize),
        ("zscore_ewma_snaive", false, 10),
        ("zscore_ewma_snaive_regime", true, 1),
        ("zscore_ewma_snaive_regime", true, 10),
    ] {
        let rows = prescient_benches::rows(n, 2 * DAY, 1);
        let planner = PlannerParams::new(20.0)
            .bounds(1, 500)
            .lead_time_secs(120.0);
        let mut builder = Scaler::builder(prescient_benches::schema(n), planner);
        if !regime {
            builder = builder.without_regime();
        }
        let mut scaler = builder.build().expect("valid settings");
        let pool = PoolStatus {
            desired: 20,
            ready: 20,
        };
        let mut i = 0usize;
        let mut next = move |s: &mut Scaler| {
            let row = &rows[i % rows.len()];
            let ts = Timestamp::from_secs(1_700_000_000 + 15 * i as i64);
            i += 1;
            s.tick(ts, row, pool).expect("timestamps increase")
        };
        for _ in 0..DAY + 100 {
            next(&mut scaler);
        }
        assert!(
            scaler.last_forecast().len() > 1,
            "the forecaster is warmed up"
        );
        assert_eq!(
            scaler.regime().is_some_and(|r| r.last().is_some()),
            regime,
            "the regime monitor is warmed up"
        );
        group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
            b.iter(|| black_box(next(&mut scaler)))
        });
    }
    group.finish();
}

criterion_group!(benches, scaler_step);
criterion_main!(benches);
