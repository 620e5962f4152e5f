#![no_main]
//! The `line_protocol` target: see `prescient_fuzz_targets::line_protocol`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| prescient_fuzz_targets::line_protocol::run(data));
