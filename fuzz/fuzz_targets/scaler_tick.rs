#![no_main]
//! The `scaler_tick` target: see `prescient_fuzz_targets::scaler_tick`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| prescient_fuzz_targets::scaler_tick::run(data));
