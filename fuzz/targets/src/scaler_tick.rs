//! Feeds a `Scaler` arbitrary ticks: any f64 (NaN, ±inf, huge, subnormal), timestamps that jump,
//! repeat and go back, ragged samples and any pool status.
//!
//! Oracle: no panic; every accepted tick gives a target within the bounds and finite forecast
//! figures; every rejected tick is one of the documented errors.
//!
//! `cargo fuzz run scaler_tick` (needs cargo-fuzz and a nightly toolchain).

use prescient::{MetricRole, PlannerParams, PoolStatus, Scaler, Schema, Timestamp};

/// One input of the target: panics when the oracle fails.
pub fn run(data: &[u8]) {
    let schema = Schema::builder("fuzz")
        .metric("load", MetricRole::Load)
        .metric("cpu", MetricRole::Utilisation)
        .metric("p99", MetricRole::Latency)
        .build()
        .expect("valid schema");
    let (min, max) = (1, 64);
    let planner = PlannerParams::new(10.0).bounds(min, max).max_step(4, 2);
    let mut scaler = Scaler::builder(schema, planner)
        .season_secs(300.0)
        .build()
        .expect("valid settings");
    let mut t: i64 = 0;
    // Each tick takes 29 bytes: a time step, a ragged flag, three f64 and two counts.
    for chunk in data.chunks_exact(29) {
        let dt = i16::from_le_bytes([chunk[0], chunk[1]]);
        t = t.saturating_add(i64::from(dt) * 1000);
        let f = |i: usize| f64::from_le_bytes(chunk[3 + 8 * i..11 + 8 * i].try_into().expect("8 bytes"));
        let values = [f(0), f(1), f(2)];
        let n = if chunk[2] % 17 == 0 { usize::from(chunk[2] % 4) } else { 3 };
        let pool = PoolStatus { desired: u32::from(chunk[27]), ready: u32::from(chunk[28]) };
        match scaler.tick(Timestamp::from_millis(t), &values[..n], pool) {
            Ok(d) => {
                assert!(d.target >= min && d.target <= max, "target {} outside bounds", d.target);
                if let Some(f) = d.forecast {
                    assert!(f.peak_point.is_finite() && f.peak_upper.is_finite());
                }
                assert!(scaler.features().iter().all(|x| !x.is_nan()));
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("duplicate") || msg.contains("out-of-order") || msg.contains("sample has"),
                    "undocumented error: {msg}"
                );
            }
        }
    }
}
