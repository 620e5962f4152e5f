#![no_main]
//! The `forecasters` target: see `prescient_fuzz_targets::forecasters`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| prescient_fuzz_targets::forecasters::run(data));
