//! Feeds the line-protocol reader arbitrary bytes: as one line to `Line::parse`, and as a
//! stream cut at an arbitrary point to a `Collector` selecting a few columns.
//!
//! Oracle: no panic; on a single line (no newline) `Line::parse` accepts exactly what the
//! `influxdb-line-protocol` crate (InfluxDB IOx's parser) accepts, with the same measurement,
//! tags, fields and timestamp; a stream read in two chunks gives the same points, or fails, as
//! the stream read whole.
//!
//! `cargo fuzz run line_protocol` (needs cargo-fuzz and a nightly toolchain).

#![no_main]

use libfuzzer_sys::fuzz_target;
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

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && !text.contains('\n')
    {
        let ours = Line::parse(text).ok().flatten();
        assert_eq!(ours, reference(text), "{text:?}");
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
});
