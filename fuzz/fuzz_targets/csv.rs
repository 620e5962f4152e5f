#![no_main]
//! The `csv` target: see `prescient_fuzz_targets::csv`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| prescient_fuzz_targets::csv::run(data));
