#![no_main]
//! The `snapshot` target: see `prescient_fuzz_targets::snapshot`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| prescient_fuzz_targets::snapshot::run(data));
