//! Feeds the CSV reader arbitrary text, with every column or a named one, times in seconds or
//! milliseconds.
//!
//! Oracle: no panic; a file that reads gives a source whose series are sorted by time without
//! duplicates, and whose aligned samples have one value per column, each finite or NaN (never
//! infinite: an infinite value in a file is read as a value, and the grid treats it as missing).
//!
//! `cargo fuzz run csv` (needs cargo-fuzz and a nightly toolchain).

use prescient_sources::csv::{CsvReader, TimeUnit};
use prescient_sources::{Grid, Source};

/// One input of the target: panics when the oracle fails.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let Ok(grid) = Grid::new(f64::from(mode % 8 + 1) * 0.25, 60.0) else {
        return;
    };
    let mut reader = CsvReader::new(grid);
    if mode & 8 != 0 {
        reader = reader.time_unit(TimeUnit::Millis);
    }
    if mode & 16 != 0 {
        reader = reader.columns(["v"]);
    }
    let Ok(source) = reader.parse("fuzz", &text) else {
        return;
    };
    for i in 0..source.columns().len() {
        let s = source.series(i);
        assert!(s.windows(2).all(|w| w[0].ts < w[1].ts));
    }
    // Bounded: a file with far-apart times would otherwise align to a huge grid.
    if let Some((start, end)) = source.span() {
        if grid.count(start, end) <= 10_000 {
            for sample in source.samples() {
                assert_eq!(sample.values.len(), source.columns().len());
                assert!(sample.values.iter().all(|v| v.is_finite() || v.is_nan()));
            }
        }
    }
}
