#![no_main]
//! The `detectors` target: see `prescient_fuzz_targets::detectors`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| prescient_fuzz_targets::detectors::run(data));
