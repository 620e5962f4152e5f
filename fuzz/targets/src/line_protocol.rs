//! Feeds the line-protocol reader arbitrary bytes: as one line to `Line::parse`, and as a
//! stream cut at an arbitrary point to a `Collector` selecting a few columns.
//!
//! Oracle: no panic; on a single line (no newline) `Line::parse` accepts what the
//! `influxdb-line-protocol` crate (InfluxDB IOx's parser) accepts, with the same measurement,
//! tags, fields and timestamp, but for a comma after a line's only field (which the crate takes
//! and InfluxDB refuses); a stream read in two chunks gives the same points, or fails, as
//! the stream read whole.
//!
//! `cargo fuzz run line_protocol` (needs cargo-fuzz and a nightly toolchain).

use prescient_sources::line_protocol::{Column, FieldValue, Line, LineProtocol};

/// The crate's parse of one line, as a `Line`; `None` when it refuses it (or sees no line).
fn reference(text: &str) -> Option<Line> {
    use influxdb_line_protocol::FieldValue as F;
    let mut lines = influxdb_line_protocol::parse_lines(text);
    let parsed = lines.next()?.ok()?;
    if lines.next().is_some() {
        return None;
    }
    Some(Line {
        measurement: parsed.series.measurement.to_string(),
        tags: (parsed.series.tag_set.iter().flatten())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        fields: (parsed.field_set.iter())
            .map(|(k, v)| {
                let v = match v {
                    F::I64(v) => FieldValue::Integer(*v),
                    F::U64(v) => FieldValue::Unsigned(*v),
                    F::F64(v) => FieldValue::Float(*v),
                    F::Boolean(v) => FieldValue::Boolean(*v),
                    F::String(s) => FieldValue::String(s.to_string()),
                };
                (k.to_string(), v)
            })
            .collect(),
        timestamp: parsed.timestamp,
    })
}

/// Whether removing one comma that ends the fields (before a space or the end) makes our parse
/// `theirs`: the crate takes such a comma after a line's only field (`m f=1,`), InfluxDB 1.x and
/// we refuse it. The one known difference.
fn without_a_trailing_comma(text: &str, theirs: Option<&Line>) -> bool {
    let bytes = text.as_bytes();
    theirs.is_some()
        && (0..bytes.len())
            .filter(|&i| bytes[i] == b',' && matches!(bytes.get(i + 1), None | Some(b' ')))
            .any(|i| {
                let fixed = format!("{}{}", &text[..i], &text[i + 1..]);
                Line::parse(&fixed).ok().flatten().as_ref() == theirs
            })
}

/// One input of the target: panics when the oracle fails.
pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && !text.contains('\n')
    {
        let ours = Line::parse(text).ok().flatten();
        let theirs = reference(text);
        assert!(
            ours == theirs || (ours.is_none() && without_a_trailing_comma(text, theirs.as_ref())),
            "{text:?}: ours {ours:?}, theirs {theirs:?}"
        );
    }

    let lp = LineProtocol::new(vec![
        Column::new("cpu", "usage"),
        Column::new("cpu", "requests").tag("host", "a"),
        Column::new("m", "f"),
    ])
    .max_line_bytes(256);
    let whole = {
        let mut c = lp.collector("fuzz");
        c.push(data).and_then(|()| c.finish())
    };
    let cut = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let chunked = {
        let mut c = lp.collector("fuzz");
        c.push(&data[..cut])
            .and_then(|()| c.push(&data[cut..]))
            .and_then(|()| c.finish())
    };
    match (whole, chunked) {
        (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}")),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("whole {a:?} but in two chunks {b:?}"),
    }
}
