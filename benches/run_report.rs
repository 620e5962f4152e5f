//! `report_record`: the cost of `RunRecorder::observe` after each tick of a warmed-up `Scaler`
//! (forecaster ready, 3 metrics, a 9-step horizon), in the recorder's steady state (its buckets
//! full, so merges happen as they do in a long run; about 1.5% of ticks change the target, as
//! in the demo). `report_render`: `RunRecorder::report` and `render_html` of a 14-day run of
//! 15 s ticks (80,640 ticks, a `Scaler` on seeded synthetic metrics).
//!
//! Run with `taskset -c 1 cargo bench -p prescient-benches --bench run_report`.

use criterion::{Criterion, criterion_group, criterion_main};
use prescient::report::{RecorderParams, RunRecorder, render_html};
use prescient::{PlannerParams, PoolStatus, Scaler, Timestamp};
use std::hint::black_box;

/// One day of 15 s ticks.
const DAY: usize = 5760;

const METRICS: usize = 3;

fn scaler() -> Scaler {
    let planner = PlannerParams::new(20.0)
        .bounds(1, 500)
        .lead_time_secs(120.0);
    Scaler::builder(prescient_benches::schema(METRICS), planner)
        .build()
        .expect("valid settings")
}

/// A recorder fed `ticks` ticks of a `Scaler` on seeded rows, and the `Scaler`.
fn recorded(ticks: usize) -> (RunRecorder, Scaler) {
    let rows = prescient_benches::rows(METRICS, ticks, 1);
    let mut scaler = scaler();
    let params = RecorderParams::new(15.0, scaler.horizon_steps()).title("14 days");
    let mut rec = RunRecorder::new(params).expect("valid settings");
    let mut pool = PoolStatus::settled(20);
    for (i, row) in rows.iter().enumerate() {
        let ts = Timestamp::from_secs(1_700_000_000 + 15 * i as i64);
        let d = scaler.tick(ts, row, pool).expect("timestamps increase");
        rec.observe(&scaler, &d, row[0], pool);
        pool = PoolStatus::settled(d.target);
    }
    (rec, scaler)
}

fn report_record(c: &mut Criterion) {
    let mut group = c.benchmark_group("report_record");
    // Enough ticks to fill the 512 buckets, so merges are part of the measured cost.
    let (mut rec, scaler) = recorded(DAY + 200);
    let mut decision = {
        let rows = prescient_benches::rows(METRICS, 1, 2);
        let mut s = self::scaler();
        s.tick(Timestamp::from_secs(0), &rows[0], PoolStatus::settled(20))
            .expect("first tick")
    };
    let loads: Vec<f64> = prescient_benches::rows(1, 4096, 3)
        .into_iter()
        .map(|r| r[0])
        .collect();
    let mut i: u64 = 0;
    let start = 1_800_000_000_i64;
    group.bench_function("observe", |b| {
        b.iter(|| {
            i += 1;
            decision.ts = Timestamp::from_secs(start + 15 * i as i64);
            // About 1.5% of ticks change the target.
            decision.target = if i % 64 == 0 { 21 } else { 20 };
            decision.current = 20;
            let load = loads[(i % 4096) as usize];
            rec.observe(
                black_box(&scaler),
                black_box(&decision),
                load,
                PoolStatus::settled(20),
            );
        })
    });
    group.finish();
    black_box(rec.buckets());
}

fn report_render(c: &mut Criterion) {
    let mut group = c.benchmark_group("report_render");
    group.sample_size(20);
    let (rec, _) = recorded(14 * DAY);
    let report = rec.report();
    let page = render_html(&report);
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "14-day report: {} ticks, {} buckets of {} ticks, {} changes kept; JSON {} bytes, HTML {} bytes",
            report.ticks,
            report.buckets.len(),
            report.bucket_ticks,
            report.changes.len(),
            report.to_json().len(),
            page.len()
        );
    }
    group.bench_function("report_14d", |b| b.iter(|| black_box(rec.report())));
    group.bench_function("render_html_14d", |b| {
        b.iter(|| black_box(render_html(black_box(&report)).len()))
    });
    group.finish();
}

criterion_group!(benches, report_record, report_render);
criterion_main!(benches);
