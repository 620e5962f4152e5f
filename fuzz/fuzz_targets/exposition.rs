#![no_main]
//! The `exposition` target: see `prescient_fuzz_targets::exposition`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| prescient_fuzz_targets::exposition::run(data));
