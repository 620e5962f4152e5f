//! Replays the committed seeds of every fuzz target (`fuzz/seeds/<target>/`) through the
//! target's body on stable Rust: a seed that once found a bug, or that reaches code the others
//! do not, keeps being checked by CI without cargo-fuzz or a nightly toolchain.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../seeds").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds for {target}");
    for f in &files {
        let data = std::fs::read(f).expect("a readable seed");
        // A panic names the seed, so that `cargo fuzz run TARGET SEED` reproduces it.
        let caught = std::panic::catch_unwind(|| run(&data));
        assert!(caught.is_ok(), "{target}: seed {} fails", f.display());
    }
}

#[test]
fn csv() {
    replay("csv", prescient_fuzz_targets::csv::run);
}

#[test]
fn detectors() {
    replay("detectors", prescient_fuzz_targets::detectors::run);
}

#[test]
fn exposition() {
    replay("exposition", prescient_fuzz_targets::exposition::run);
}

#[test]
fn forecasters() {
    replay("forecasters", prescient_fuzz_targets::forecasters::run);
}

#[test]
fn line_protocol() {
    replay("line_protocol", prescient_fuzz_targets::line_protocol::run);
}

#[test]
fn scaler_tick() {
    replay("scaler_tick", prescient_fuzz_targets::scaler_tick::run);
}

#[test]
fn snapshot() {
    replay("snapshot", prescient_fuzz_targets::snapshot::run);
}

#[test]
fn vector_detectors() {
    replay("vector_detectors", prescient_fuzz_targets::vector_detectors::run);
}
