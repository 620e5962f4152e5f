//! CSV files: a header line, a time column and value columns, as NAB's data files
//! (`timestamp,value`) and the demand traces (`timestamp,value` or `ts,value`) lay them out.
//!
//! - Fields are split as RFC 4180 says: commas, `"` quoting with doubled quotes inside, CRLF or
//!   LF line ends; blank lines are skipped.
//! - The time is unix seconds (integer or with a fraction), unix milliseconds when asked
//!   ([`TimeUnit::Millis`]), or a calendar time `YYYY-MM-DD[ HH:MM[:SS[.f]]]` in UTC.
//! - An empty value field is a missing value (NaN); any other value must be a number.
//! - Rows need not be in time order: they are sorted, and of rows with the same time the last
//!   one counts (a later write wins), as [`Recorded`] does for every source.

use std::fs;
use std::path::Path;

use prescient_core::{Timestamp, parse_datetime_micros};

use crate::error::shorten;
use crate::{Error, Grid, Point, Recorded, Result};

/// How a numeric time column counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeUnit {
    /// Seconds since the epoch (the traces' and most exports' unit).
    #[default]
    Seconds,
    /// Milliseconds since the epoch.
    Millis,
}

/// Reads CSV files into a [`Recorded`] source.
///
/// ```
/// use prescient_core::Timestamp;
/// use prescient_sources::{Grid, Source, csv::CsvReader};
///
/// let text = "timestamp,value\n2014-04-01 00:00:00,1.5\n2014-04-01 00:05:00,\n";
/// let mut source = CsvReader::new(Grid::new(300.0, 0.0)?).parse("inline", text)?;
/// assert_eq!(source.columns(), ["value"]);
/// let t0 = Timestamp::from_secs(1_396_310_400);
/// let samples = source.backfill(t0, t0.add_secs(300.0))?;
/// assert_eq!(samples[0].values, [1.5]);
/// assert!(samples[1].values[0].is_nan()); // the empty field
/// # Ok::<(), prescient_sources::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CsvReader {
    grid: Grid,
    time_column: Option<String>,
    columns: Option<Vec<String>>,
    unit: TimeUnit,
}

impl CsvReader {
    /// A reader whose sources align to `grid`, taking the first column as the time and every
    /// other column as a value.
    pub fn new(grid: Grid) -> Self {
        CsvReader {
            grid,
            time_column: None,
            columns: None,
            unit: TimeUnit::Seconds,
        }
    }

    /// Takes the time from the column named `name` instead of the first.
    #[must_use]
    pub fn time_column(mut self, name: impl Into<String>) -> Self {
        self.time_column = Some(name.into());
        self
    }

    /// Takes only these value columns, in this order (the source's column order).
    #[must_use]
    pub fn columns<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.columns = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// How a numeric time counts (seconds by default).
    #[must_use]
    pub fn time_unit(mut self, unit: TimeUnit) -> Self {
        self.unit = unit;
        self
    }

    /// Reads the file at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when it cannot be read, and the errors of [`CsvReader::parse`].
    pub fn read(&self, path: &Path) -> Result<Recorded> {
        let text = fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.parse(&path.display().to_string(), &text)
    }

    /// Parses CSV `text`; `what` names it in errors.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] for a missing header, an unterminated quote, a row with fewer fields
    /// than the header, a time or a value that is not one; [`Error::MissingColumn`] for a
    /// column that is not in the header.
    pub fn parse(&self, what: &str, text: &str) -> Result<Recorded> {
        let mut lines = Lines::new(what, text);
        let (header_line, header) = lines.next_row()?.ok_or_else(|| Error::Parse {
            what: what.to_owned(),
            line: 1,
            reason: "no header line".into(),
        })?;
        let find = |name: &str| {
            header
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| Error::MissingColumn {
                    what: what.to_owned(),
                    column: name.to_owned(),
                    available: header.join(", "),
                })
        };
        let time_index = match &self.time_column {
            Some(name) => find(name)?,
            None => 0,
        };
        let (names, indices): (Vec<String>, Vec<usize>) = match &self.columns {
            Some(names) => {
                let indices = names.iter().map(|n| find(n)).collect::<Result<Vec<_>>>()?;
                (names.clone(), indices)
            }
            None => header
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != time_index)
                .map(|(i, h)| (h.trim().to_owned(), i))
                .unzip(),
        };
        if names.is_empty() {
            return Err(Error::Parse {
                what: what.to_owned(),
                line: header_line,
                reason: "no value column besides the time".into(),
            });
        }
        let needed = indices
            .iter()
            .copied()
            .chain([time_index])
            .max()
            .unwrap_or(0)
            + 1;
        let mut series: Vec<Vec<Point>> = vec![Vec::new(); names.len()];
        while let Some((line, fields)) = lines.next_row()? {
            if fields.len() < needed {
                return Err(Error::Parse {
                    what: what.to_owned(),
                    line,
                    reason: format!("{} fields, the header asks for {needed}", fields.len()),
                });
            }
            let raw_time = fields[time_index].trim();
            let ts = parse_time(raw_time, self.unit).ok_or_else(|| Error::Parse {
                what: what.to_owned(),
                line,
                reason: format!("not a time: {:?}", shorten(raw_time, 40)),
            })?;
            for (points, &i) in series.iter_mut().zip(&indices) {
                let raw = fields[i].trim();
                let value = if raw.is_empty() {
                    f64::NAN
                } else {
                    raw.parse::<f64>().map_err(|_| Error::Parse {
                        what: what.to_owned(),
                        line,
                        reason: format!("not a number: {:?}", shorten(raw, 40)),
                    })?
                };
                points.push(Point::new(ts, value));
            }
        }
        Recorded::new(names, series, self.grid)
    }
}

/// A time field: a number in `unit`, or a calendar time in UTC.
fn parse_time(s: &str, unit: TimeUnit) -> Option<Timestamp> {
    if let Ok(x) = s.parse::<f64>() {
        let ms = match unit {
            TimeUnit::Seconds => x * 1000.0,
            TimeUnit::Millis => x,
        };
        // Beyond ±2^53 ms (285,000 years) the value is no time anyone means.
        return (ms.is_finite() && ms.abs() < 9.0e15)
            .then(|| Timestamp::from_millis(ms.round() as i64));
    }
    // A fraction beyond microseconds is truncated.
    let truncated = match s.find('.') {
        Some(dot) if s.len() > dot + 7 => s.get(..dot + 7)?,
        _ => s,
    };
    parse_datetime_micros(truncated).map(|us| Timestamp::from_millis(us.div_euclid(1000)))
}

/// Rows of CSV text, with their 1-based line numbers.
struct Lines<'a> {
    what: &'a str,
    rest: &'a str,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(what: &'a str, text: &'a str) -> Self {
        // A byte-order mark would otherwise be part of the first header name.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Lines {
            what,
            rest: text,
            line: 0,
        }
    }

    /// The next non-blank row and the line it starts on.
    fn next_row(&mut self) -> Result<Option<(usize, Vec<String>)>> {
        loop {
            if self.rest.is_empty() {
                return Ok(None);
            }
            self.line += 1;
            let start = self.line;
            let mut fields = Vec::new();
            let mut field = String::new();
            let mut quoted = false;
            let mut chars = self.rest.char_indices().peekable();
            let mut end = self.rest.len();
            let mut row_done = false;
            let mut at_field_start = true;
            while let Some((i, c)) = chars.next() {
                if quoted {
                    match c {
                        '"' if chars.peek().is_some_and(|&(_, n)| n == '"') => {
                            chars.next();
                            field.push('"');
                        }
                        '"' => quoted = false,
                        '\n' => {
                            self.line += 1;
                            field.push(c);
                        }
                        _ => field.push(c),
                    }
                    continue;
                }
                match c {
                    '"' if at_field_start => {
                        quoted = true;
                        at_field_start = false;
                    }
                    ',' => {
                        fields.push(std::mem::take(&mut field));
                        at_field_start = true;
                    }
                    '\n' => {
                        end = i + 1;
                        row_done = true;
                        break;
                    }
                    '\r' if chars.peek().is_some_and(|&(_, n)| n == '\n') => {}
                    _ => {
                        field.push(c);
                        at_field_start = false;
                    }
                }
            }
            if quoted {
                return Err(Error::Parse {
                    what: self.what.to_owned(),
                    line: start,
                    reason: "a quoted field is not closed".into(),
                });
            }
            self.rest = if row_done { &self.rest[end..] } else { "" };
            fields.push(field);
            if fields.len() == 1 && fields[0].trim().is_empty() {
                continue;
            }
            return Ok(Some((start, fields)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Source;

    fn grid() -> Grid {
        Grid::new(60.0, 0.0).unwrap()
    }

    #[test]
    fn reads_the_trace_layouts() {
        let a = CsvReader::new(grid())
            .parse("a", "timestamp,value\n60,1\n120,2\n\n180,3\n")
            .unwrap();
        assert_eq!(a.columns(), ["value"]);
        let values: Vec<f64> = a.samples().iter().map(|s| s.values[0]).collect();
        assert_eq!(values, [1.0, 2.0, 3.0]);
        let b = CsvReader::new(grid())
            .parse(
                "b",
                "ts,v\r\n1970-01-01 00:01:00,1\r\n1970-01-01 00:02:00,2\r\n",
            )
            .unwrap();
        assert_eq!(b.series(0)[1], Point::new(Timestamp::from_secs(120), 2.0));
    }

    #[test]
    fn named_columns_quotes_and_millis() {
        let text = "\u{feff}\"v,1\",t,w\n\"5\",60000,7\n\"6\",120000,\"8\"\n";
        let r = CsvReader::new(grid())
            .time_column("t")
            .columns(["w", "v,1"])
            .time_unit(TimeUnit::Millis)
            .parse("q", text)
            .unwrap();
        assert_eq!(r.columns(), ["w", "v,1"]);
        assert_eq!(r.series(0)[1].value, 8.0);
        assert_eq!(r.series(1)[0], Point::new(Timestamp::from_secs(60), 5.0));
    }

    #[test]
    fn unsorted_rows_are_sorted_and_the_last_duplicate_wins() {
        let r = CsvReader::new(grid())
            .parse("u", "t,v\n120,2\n60,1\n120,3\n")
            .unwrap();
        assert_eq!(
            r.series(0),
            [
                Point::new(Timestamp::from_secs(60), 1.0),
                Point::new(Timestamp::from_secs(120), 3.0)
            ]
        );
    }

    #[test]
    fn bad_files_say_where() {
        let cases = [
            ("", "no header"),
            ("t\n1\n", "no value column"),
            ("t,v\n1\n", "line 2: 1 fields"),
            ("t,v\nx,1\n", "line 2: not a time"),
            ("t,v\n1,2\n3,abc\n", "line 3: not a number"),
            ("t,v\n1,\"2\n", "line 2: a quoted field is not closed"),
        ];
        for (text, expected) in cases {
            let err = CsvReader::new(grid()).parse("f", text).unwrap_err();
            assert!(err.to_string().contains(expected), "{text:?}: {err}");
        }
        let err = CsvReader::new(grid())
            .columns(["nope"])
            .parse("f", "t,v\n1,2\n")
            .unwrap_err();
        assert!(matches!(err, Error::MissingColumn { .. }), "{err}");
    }

    #[test]
    fn reads_the_shared_nab_and_trace_files_when_present() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
        let nab = dir.join("nab/data/realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv");
        let trace = dir.join("traces/nasa_requests_per_minute.csv");
        if !nab.exists() || !trace.exists() {
            eprintln!("skipped: ../shared/data not found");
            return;
        }
        let r = CsvReader::new(Grid::new(300.0, 0.0).unwrap())
            .read(&nab)
            .unwrap();
        assert_eq!(r.series(0).len(), 4032);
        let t = CsvReader::new(grid()).read(&trace).unwrap();
        assert_eq!(t.series(0).len(), 84_332);
        // A minute grid over the trace has no hole (its outage is recorded as zeros).
        assert!(t.samples().iter().all(|s| s.values[0].is_finite()));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = CsvReader::new(grid()).parse("p", &text);
        }

        #[test]
        fn arbitrary_rows_never_panic(rows in proptest::collection::vec("[0-9a-f:\\-. ,\"\r]{0,30}", 0..20)) {
            let text = format!("t,v\n{}", rows.join("\n"));
            let _ = CsvReader::new(grid()).parse("p", &text);
        }
    }
}
