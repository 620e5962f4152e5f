//! Snapshots under arbitrary input, three ways, chosen by the first byte:
//!
//! - `0`: the rest is handed to `ScalerBuilder::restore` as a snapshot. Oracle: no panic; an
//!   error is one of the snapshot errors.
//! - `1`: the rest is sealed in a valid envelope (so the checksum holds) and restored: the
//!   decoder and the shape checks see arbitrary payloads. Oracle: no panic in the restore.
//! - otherwise: the rest drives a `Scaler` with arbitrary ticks (as `scaler_tick`), a snapshot
//!   is taken where the second byte says and restored into a new `Scaler`; both then take the
//!   remaining ticks. Oracle: the snapshot restores, and both make the same decisions and end
//!   with byte-identical snapshots.
//!
//! `cargo fuzz run snapshot` (needs cargo-fuzz and a nightly toolchain).

use prescient::types::snapshot::seal;
use prescient::{MetricRole, PlannerParams, PoolStatus, Scaler, ScalerBuilder, Schema, Timestamp};

fn builder() -> ScalerBuilder {
    let schema = Schema::builder("fuzz")
        .metric("load", MetricRole::Load)
        .metric("cpu", MetricRole::Utilisation)
        .build()
        .expect("valid schema");
    let planner = PlannerParams::new(10.0).bounds(1, 64).max_step(4, 2);
    Scaler::builder(schema, planner).season_secs(300.0)
}

fn is_snapshot_error(e: &prescient::Error) -> bool {
    let msg = e.to_string();
    msg.contains("snapshot")
}

/// One tick from 21 bytes: a time step, two f64 and two counts. The result, as a comparable
/// string (a decision or the error's message).
fn tick(scaler: &mut Scaler, t: &mut i64, chunk: &[u8]) -> String {
    let dt = i16::from_le_bytes([chunk[0], chunk[1]]);
    *t = t.saturating_add(i64::from(dt) * 1000);
    let f = |i: usize| f64::from_le_bytes(chunk[3 + 8 * i..11 + 8 * i].try_into().expect("8 bytes"));
    let values = [f(0), f(1)];
    let pool = PoolStatus { desired: u32::from(chunk[2] % 80), ready: u32::from(chunk[2] / 3 % 80) };
    match scaler.tick(Timestamp::from_millis(*t), &values, pool) {
        Ok(d) => format!("{d:?}"),
        Err(e) => e.to_string(),
    }
}

/// One input of the target: panics when the oracle fails.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        0 => {
            if let Err(e) = builder().restore(rest) {
                assert!(is_snapshot_error(&e), "undocumented error: {e}");
            }
        }
        1 => {
            let sealed = seal("scaler", rest).expect("a short kind");
            let _ = builder().restore(&sealed);
        }
        _ => {
            let Some((&at, ticks)) = rest.split_first() else {
                return;
            };
            let chunks: Vec<&[u8]> = ticks.chunks_exact(19).collect();
            let at = usize::from(at).min(chunks.len());
            let mut a = builder().build().expect("valid settings");
            let mut t = 0;
            for c in &chunks[..at] {
                tick(&mut a, &mut t, c);
            }
            let snap = a.snapshot().expect("the default Scaler saves");
            let mut b = builder().restore(&snap).expect("its own snapshot restores");
            let mut tb = t;
            for c in &chunks[at..] {
                assert_eq!(tick(&mut a, &mut t, c), tick(&mut b, &mut tb, c));
            }
            assert_eq!(a.snapshot().ok(), b.snapshot().ok());
        }
    }
}
