//! The fuzz targets' bodies, apart from libFuzzer so that stable Rust can replay the committed
//! seeds (`tests/replay.rs`, run by `.ci/run`); `cargo fuzz run NAME` runs each under libFuzzer
//! through the thin binaries in `fuzz_targets/`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is the oracle's report

pub mod csv;
pub mod detectors;
pub mod exposition;
pub mod forecasters;
pub mod line_protocol;
pub mod scaler_tick;
pub mod snapshot;
pub mod vector_detectors;
