//! Feeds the exposition parser arbitrary text, in both formats, and an `Extractor` the same text
//! as two successive scrapes.
//!
//! Oracles: no panic; every sample line read, written back with `write_sample` and read again,
//! gives the same name, labels (unescaped), value (to the bit, NaN as NaN) and timestamp; an
//! error is always `Error::Parse` with a line number within the text; the extractor's samples
//! have one value per column.
//!
//! `cargo fuzz run exposition` (needs cargo-fuzz and a nightly toolchain).

use prescient::Timestamp;
use prescient_sources::Error;
use prescient_sources::exposition::{
    Column, Entry, Extractor, Format, Parser, Selector, samples, write_sample,
};

/// One input of the target: panics when the oracle fails.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.split('\n').count();
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let mut written = String::new();
        let mut read = Vec::new();
        for entry in Parser::new(text, format) {
            match entry {
                Ok(Entry::Sample(s)) => {
                    let labels: Vec<(&str, String)> = s
                        .labels
                        .iter()
                        .map(|l| (l.name, l.value().into_owned()))
                        .collect();
                    let refs: Vec<(&str, &str)> =
                        labels.iter().map(|(n, v)| (*n, v.as_str())).collect();
                    write_sample(&mut written, s.name, &refs, s.value, s.timestamp, format)
                        .expect("writing to a String");
                    read.push((s.name, labels, s.value, s.timestamp));
                }
                Ok(_) => {}
                Err(Error::Parse { line, .. }) => {
                    assert!(line <= lines, "line {line} of {lines}");
                }
                Err(e) => panic!("not a parse error: {e}"),
            }
        }
        if format == Format::OpenMetrics {
            written.push_str("# EOF\n");
        }
        let back = samples(&written, format).expect("written samples read back");
        assert_eq!(back.len(), read.len());
        for (s, (name, labels, value, ts)) in back.iter().zip(&read) {
            assert_eq!(s.name, *name);
            let got: Vec<(&str, String)> = s
                .labels
                .iter()
                .map(|l| (l.name, l.value().into_owned()))
                .collect();
            assert_eq!(&got, labels);
            assert!(s.value.to_bits() == value.to_bits() || (s.value.is_nan() && value.is_nan()));
            assert_eq!(s.timestamp, *ts);
        }
    }
    let columns = vec![
        Column::gauge("g", Selector::new("g")),
        Column::rate("r", Selector::new("c_total").label("a", "b")),
        Column::histogram_quantile("p", Selector::new("h"), 0.9),
    ];
    let mut extractor = Extractor::new(columns).expect("valid columns");
    for t in [0, 15] {
        if let Ok(sample) = extractor.extract(Timestamp::from_secs(t), text) {
            assert_eq!(sample.values.len(), 3);
        }
    }
}
