#![no_main]
//! The `vector_detectors` target: see `prescient_fuzz_targets::vector_detectors`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| prescient_fuzz_targets::vector_detectors::run(data));
