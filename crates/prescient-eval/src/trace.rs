//! Demand traces for the scaling benchmark: a timestamp and a demand value per row, or one row
//! per request (the Azure LLM inference traces).
//!
//! A trace file is a CSV with a header line (any column names) and two columns: the timestamp,
//! as unix seconds (an integer or a decimal) or `YYYY-MM-DD HH:MM:SS[.f]` (UTC), and the demand.
//! Blank lines are skipped. Timestamps must strictly increase; every value must be a finite,
//! non-negative number. NAB's data files (`timestamp,value`) are traces of this form.

use std::fs;
use std::path::{Path, PathBuf};

use crate::time::parse_micros;
use crate::{Error, Result};

/// A demand trace: strictly increasing times (in seconds since the epoch) and the demand from
/// each time until the next.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    name: String,
    times: Vec<f64>,
    values: Vec<f64>,
}

impl Trace {
    /// A trace from times and values held in memory.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] when the lengths differ, [`Error::TooShort`] for fewer than two
    /// rows, [`Error::NonFinite`] for a time or value that is not finite, a negative value, or a
    /// time not after the previous one.
    pub fn new(name: impl Into<String>, times: Vec<f64>, values: Vec<f64>) -> Result<Self> {
        let name = name.into();
        if times.len() != values.len() {
            return Err(Error::LengthMismatch {
                key: name,
                expected: times.len(),
                got: values.len(),
            });
        }
        if times.len() < 2 {
            return Err(Error::TooShort {
                what: name,
                rows: times.len(),
            });
        }
        for (i, (&t, &v)) in times.iter().zip(&values).enumerate() {
            let increasing = i == 0 || t > times[i - 1];
            if !(t.is_finite() && v.is_finite() && v >= 0.0 && increasing) {
                return Err(Error::NonFinite { index: i });
            }
        }
        Ok(Trace {
            name,
            times,
            values,
        })
    }

    /// The trace's name (the file stem for a file).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The row times, in seconds since the epoch, strictly increasing.
    pub fn times(&self) -> &[f64] {
        &self.times
    }

    /// The demand of each row.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The trace's resolution: the (lower) median time between rows, in seconds.
    pub fn resolution_secs(&self) -> f64 {
        let mut gaps: Vec<f64> = self.times.windows(2).map(|w| w[1] - w[0]).collect();
        gaps.sort_by(f64::total_cmp);
        gaps[(gaps.len() - 1) / 2]
    }

    /// When the trace ends: the last row's time plus one resolution (its value holds that long).
    pub fn end_secs(&self) -> f64 {
        self.times[self.times.len() - 1] + self.resolution_secs()
    }

    /// The demand on a regular grid of `step_secs` from the first row to [`Trace::end_secs`]:
    /// each grid point takes the value of the last row at or before it (the trace is piecewise
    /// constant at its own resolution).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidStep`] when `step_secs` is not positive and finite.
    pub fn resample(&self, step_secs: f64) -> Result<Vec<f64>> {
        if !(step_secs.is_finite() && step_secs > 0.0) {
            return Err(Error::InvalidStep { step_secs });
        }
        let start = self.times[0];
        let n = ((self.end_secs() - start) / step_secs).floor() as usize;
        let mut out = Vec::with_capacity(n);
        let mut row = 0;
        for k in 0..n {
            let t = start + k as f64 * step_secs;
            while row + 1 < self.times.len() && self.times[row + 1] <= t {
                row += 1;
            }
            out.push(self.values[row]);
        }
        Ok(out)
    }
}

/// Reads a two-column trace file (see the module documentation).
///
/// # Errors
///
/// [`Error::Io`], [`Error::EmptyFile`], [`Error::MalformedRow`] for a row without two fields,
/// [`Error::InvalidTimestamp`], [`Error::InvalidNumber`], [`Error::NonFiniteValue`] for a value
/// that is not finite or is negative, [`Error::NotIncreasing`] for a time not after the
/// previous row's, and [`Error::TooShort`] for fewer than two rows.
pub fn read_trace(path: &Path) -> Result<Trace> {
    let text = fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_stem()
        .map_or_else(|| "trace".to_owned(), |s| s.to_string_lossy().into_owned());
    parse_trace(&name, &text, path)
}

/// Parses the text of a two-column trace file; `path` is only used in error messages.
///
/// # Errors
///
/// As [`read_trace`], except [`Error::Io`].
pub fn parse_trace(name: &str, text: &str, path: &Path) -> Result<Trace> {
    let mut times = Vec::new();
    let mut values = Vec::new();
    for (line, fields) in rows(text, path)? {
        let [ts, value] = fields[..] else {
            return Err(malformed(path, line, "expected two fields".into()));
        };
        let t = parse_time(ts).ok_or_else(|| Error::InvalidTimestamp {
            path: path.to_path_buf(),
            line,
            value: ts.to_owned(),
        })?;
        let v = number(value, path, line, "value")?;
        if !(v.is_finite() && v >= 0.0) {
            return Err(Error::NonFiniteValue {
                path: path.to_path_buf(),
                line,
            });
        }
        if times.last().is_some_and(|&last| t <= last) {
            return Err(Error::NotIncreasing {
                path: path.to_path_buf(),
                line,
            });
        }
        times.push(t);
        values.push(v);
    }
    if times.len() < 2 {
        return Err(Error::TooShort {
            what: path.display().to_string(),
            rows: times.len(),
        });
    }
    Ok(Trace {
        name: name.to_owned(),
        times,
        values,
    })
}

/// Per-request arrivals: the arrival times (seconds since the epoch, non-decreasing) and the
/// work each request brings, as the Azure LLM inference traces give them
/// (`TIMESTAMP,ContextTokens,GeneratedTokens`).
#[derive(Debug, Clone, PartialEq)]
pub struct Arrivals {
    name: String,
    /// Arrival times, non-decreasing.
    pub times: Vec<f64>,
    /// Prompt (context) tokens per request.
    pub context_tokens: Vec<f64>,
    /// Generated tokens per request.
    pub generated_tokens: Vec<f64>,
}

impl Arrivals {
    /// The trace's name (the file stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of requests.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether there is no request.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }
}

/// Reads a per-request arrivals file: a header, then the arrival time (as for [`read_trace`];
/// fractions of a second beyond microseconds are truncated) and two non-negative numbers per
/// row: context tokens and generated tokens. Arrival times may repeat but must not go back.
///
/// # Errors
///
/// As [`read_trace`], with [`Error::MalformedRow`] for a row without three fields.
pub fn read_arrivals(path: &Path) -> Result<Arrivals> {
    let text = fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Arrivals {
        name: path.file_stem().map_or_else(
            || "arrivals".to_owned(),
            |s| s.to_string_lossy().into_owned(),
        ),
        times: Vec::new(),
        context_tokens: Vec::new(),
        generated_tokens: Vec::new(),
    };
    for (line, fields) in rows(&text, path)? {
        let [ts, context, generated] = fields[..] else {
            return Err(malformed(path, line, "expected three fields".into()));
        };
        let t = parse_time(ts).ok_or_else(|| Error::InvalidTimestamp {
            path: path.to_path_buf(),
            line,
            value: ts.to_owned(),
        })?;
        if out.times.last().is_some_and(|&last| t < last) {
            return Err(Error::NotIncreasing {
                path: path.to_path_buf(),
                line,
            });
        }
        let c = number(context, path, line, "context tokens")?;
        let g = number(generated, path, line, "generated tokens")?;
        if !(c.is_finite() && c >= 0.0 && g.is_finite() && g >= 0.0) {
            return Err(Error::NonFiniteValue {
                path: path.to_path_buf(),
                line,
            });
        }
        out.times.push(t);
        out.context_tokens.push(c);
        out.generated_tokens.push(g);
    }
    if out.times.is_empty() {
        return Err(Error::TooShort {
            what: path.display().to_string(),
            rows: 0,
        });
    }
    Ok(out)
}

/// The data rows of a CSV text without quoting: (1-based line number, trimmed fields).
fn rows<'a>(text: &'a str, path: &Path) -> Result<Vec<(usize, Vec<&'a str>)>> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    if lines.next().is_none() {
        return Err(Error::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    Ok(lines
        .map(|(i, l)| (i + 1, l.split(',').map(str::trim).collect()))
        .collect())
}

fn malformed(path: &Path, line: usize, reason: String) -> Error {
    Error::MalformedRow {
        path: path.to_path_buf(),
        line,
        reason,
    }
}

fn number(s: &str, path: &Path, line: usize, column: &'static str) -> Result<f64> {
    s.parse::<f64>().map_err(|_| Error::InvalidNumber {
        path: PathBuf::from(path),
        line,
        column,
        value: s.to_owned(),
    })
}

/// Unix seconds (integer or decimal) or a `YYYY-MM-DD HH:MM:SS[.f]` date, with any fraction
/// beyond six digits truncated.
fn parse_time(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        return secs.is_finite().then_some(secs);
    }
    let truncated = match s.find('.') {
        Some(dot) if s.len() > dot + 7 => &s[..dot + 7],
        _ => s,
    };
    parse_micros(truncated).map(|us| us as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Trace> {
        parse_trace("t", text, Path::new("t.csv"))
    }

    #[test]
    fn reads_both_timestamp_forms() {
        let a = parse("timestamp,value\n60,1\n120,2\n\n180,3\n").unwrap();
        assert_eq!(a.times(), &[60.0, 120.0, 180.0]);
        assert_eq!(a.values(), &[1.0, 2.0, 3.0]);
        let b = parse("ts,v\n1970-01-01 00:01:00,1\n1970-01-01 00:02:00,2\n").unwrap();
        assert_eq!(b.times(), &[60.0, 120.0]);
        assert_eq!(b.resolution_secs(), 60.0);
        assert_eq!(b.end_secs(), 180.0);
    }

    #[test]
    fn rejects_bad_rows_with_their_line() {
        let err = |text: &str| parse(text).unwrap_err().to_string();
        assert!(err("a,b\n1,2\n1,3\n").contains("t.csv:3"));
        assert!(err("a,b\n1,2\n2,-1\n").contains("t.csv:3"));
        assert!(err("a,b\n1,2\n2,nan\n").contains("t.csv:3"));
        assert!(err("a,b\n1,2\nx,1\n").contains("invalid timestamp"));
        assert!(err("a,b\n1,2\n2\n").contains("two fields"));
        assert!(err("a,b\n1,2\n").contains("rows"));
        assert!(err("").contains("empty"));
    }

    #[test]
    fn resampling_holds_each_value_until_the_next_row() {
        let t = parse("t,v\n0,1\n60,2\n120,4\n").unwrap();
        assert_eq!(
            t.resample(30.0).unwrap(),
            vec![1.0, 1.0, 2.0, 2.0, 4.0, 4.0]
        );
        // A gap holds the last value.
        let g = Trace::new("g", vec![0.0, 60.0, 240.0], vec![1.0, 2.0, 3.0]).unwrap();
        assert_eq!(g.resample(60.0).unwrap(), vec![1.0, 2.0, 2.0, 2.0, 3.0]);
        assert!(t.resample(0.0).is_err());
    }

    #[test]
    fn arrivals_truncate_long_fractions() {
        let dir = std::env::temp_dir().join(format!("prescient-arrivals-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.csv");
        fs::write(
            &path,
            "TIMESTAMP,ContextTokens,GeneratedTokens\n\
             2023-11-16 18:17:03.9799600,4808,10\n\
             2023-11-16 18:17:03.9799600,10,1\n\
             2023-11-16 18:17:04.0319600,3180,8\n",
        )
        .unwrap();
        let a = read_arrivals(&path).unwrap();
        assert_eq!(a.len(), 3);
        assert!((a.times[2] - a.times[0] - 0.052).abs() < 1e-6);
        assert_eq!(a.context_tokens, vec![4808.0, 10.0, 3180.0]);
        fs::write(&path, "h,c,g\n10,1,1\n9,1,1\n").unwrap();
        assert!(read_arrivals(&path).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
