//! NAB's CSV files: data series in, anomaly scores in and out.
//!
//! The splitting follows Python's `csv` module with its default dialect (comma, `"` quoting with
//! doubled quotes, blank lines skipped), and numbers are read as Python's `float()` reads them,
//! so that a file means the same to this crate as to `nab_score.py`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use crate::time::parse_micros;
use crate::{Error, Result};

/// One data file: its timestamps (verbatim and parsed) and its values, in row order.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSeries {
    timestamps: Vec<String>,
    seconds: Vec<f64>,
    values: Vec<f64>,
    /// The timestamps in exact microseconds, which window matching compares.
    pub(crate) micros: Vec<i64>,
}

impl DataSeries {
    /// A series from timestamps and values held in memory.
    ///
    /// # Errors
    ///
    /// [`Error::LengthMismatch`] when the two lengths differ, [`Error::UnparsableTimestamp`]
    /// for a timestamp that is not `YYYY-MM-DD HH:MM:SS[.ffffff]`, [`Error::NonFinite`] for a
    /// NaN or infinite value.
    ///
    /// # Example
    ///
    /// ```
    /// use prescient_eval::nab::DataSeries;
    ///
    /// let s = DataSeries::new(
    ///     vec!["1970-01-01 00:00:00".into(), "1970-01-01 00:05:00".into()],
    ///     vec![1.0, 2.5],
    /// )?;
    /// assert_eq!(s.seconds(), [0.0, 300.0]);
    /// assert_eq!(s.values(), [1.0, 2.5]);
    /// # Ok::<(), prescient_eval::Error>(())
    /// ```
    pub fn new(timestamps: Vec<String>, values: Vec<f64>) -> Result<Self> {
        if timestamps.len() != values.len() {
            return Err(Error::LengthMismatch {
                key: "values".into(),
                expected: timestamps.len(),
                got: values.len(),
            });
        }
        let micros = timestamps
            .iter()
            .enumerate()
            .map(|(index, t)| {
                parse_micros(t).ok_or_else(|| Error::UnparsableTimestamp {
                    index,
                    value: t.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite { index });
        }
        Ok(Self::from_parts(timestamps, micros, values))
    }

    fn from_parts(timestamps: Vec<String>, micros: Vec<i64>, values: Vec<f64>) -> Self {
        let seconds = micros.iter().map(|&m| micros_to_seconds(m)).collect();
        DataSeries {
            timestamps,
            seconds,
            values,
            micros,
        }
    }

    /// The timestamps exactly as written in the file (after CSV unquoting), so that results
    /// files can repeat them verbatim.
    pub fn timestamps(&self) -> &[String] {
        &self.timestamps
    }

    /// The timestamps as seconds since 1970-01-01 00:00:00 (NAB's files carry no time zone).
    pub fn seconds(&self) -> &[f64] {
        &self.seconds
    }

    /// The values, all finite.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the series has no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The timestamps as prescient's [`Timestamp`](prescient_core::Timestamp)s (milliseconds,
    /// rounded down), ready to pass to a detector.
    pub fn times(&self) -> Vec<prescient_core::Timestamp> {
        self.micros
            .iter()
            .map(|&m| prescient_core::Timestamp::from_millis(m.div_euclid(1000)))
            .collect()
    }
}

fn micros_to_seconds(m: i64) -> f64 {
    // Whole seconds stay exact; the fraction is added once.
    m.div_euclid(1_000_000) as f64 + m.rem_euclid(1_000_000) as f64 / 1e6
}

/// A results file as `nab_score.py` reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultsFile {
    /// The `anomaly_score` column, one per row (may hold `inf` or NaN as written).
    pub scores: Vec<f64>,
    /// The `timestamp` column verbatim, when the file has one.
    pub timestamps: Option<Vec<String>>,
    /// The 1-based line number of each row, for error messages.
    pub(crate) lines: Vec<usize>,
}

/// Reads a NAB data file: a header with `timestamp` and `value` columns (in any order, other
/// columns ignored), then one row per observation.
///
/// Blank lines are skipped, as Python's `csv` module does. Unlike `nab_score.py`, which only
/// reads the timestamps (from the first column when there is no `timestamp` header), this
/// reader also needs the values, so both columns must be named.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read, [`Error::EmptyFile`], [`Error::MissingColumn`],
/// [`Error::MalformedRow`] for a row with too few fields, [`Error::InvalidTimestamp`],
/// [`Error::InvalidNumber`] and [`Error::NonFiniteValue`], each with the path and line.
pub fn read_data(path: &Path) -> Result<DataSeries> {
    let text = read_text(path)?;
    let mut rows = Rows::new(&text, path);
    let header = rows.header()?;
    let tcol = column(&header, "timestamp", path)?;
    let vcol = column(&header, "value", path)?;
    let need = tcol.max(vcol) + 1;
    let (mut timestamps, mut micros, mut values) = (Vec::new(), Vec::new(), Vec::new());
    while let Some((line, fields)) = rows.next_row()? {
        check_width(&fields, need, path, line)?;
        let t = &fields[tcol];
        let m = parse_micros(t).ok_or_else(|| Error::InvalidTimestamp {
            path: path.to_path_buf(),
            line,
            value: t.clone(),
        })?;
        let v = parse_number(&fields[vcol], "value", path, line)?;
        if !v.is_finite() {
            return Err(Error::NonFiniteValue {
                path: path.to_path_buf(),
                line,
            });
        }
        timestamps.push(fields[tcol].clone());
        micros.push(m);
        values.push(v);
    }
    Ok(DataSeries::from_parts(timestamps, micros, values))
}

/// Reads a results file: a header with an `anomaly_score` column (and usually `timestamp`),
/// then one row per data row.
///
/// Scores are parsed as Python's `float()` parses them, so `inf`, `-inf` and `nan` are accepted
/// here; whether they are usable is decided when scoring.
///
/// # Errors
///
/// [`Error::Io`], [`Error::EmptyFile`], [`Error::MissingColumn`] (`anomaly_score`),
/// [`Error::MalformedRow`] and [`Error::InvalidNumber`], each with the path and line.
pub fn read_scores(path: &Path) -> Result<ResultsFile> {
    let text = read_text(path)?;
    let mut rows = Rows::new(&text, path);
    let header = rows.header()?;
    let col = column(&header, "anomaly_score", path)?;
    let tcol = header.iter().position(|h| h == "timestamp");
    let need = col.max(tcol.unwrap_or(0)) + 1;
    let (mut scores, mut lines) = (Vec::new(), Vec::new());
    let mut timestamps = tcol.map(|_| Vec::new());
    while let Some((line, mut fields)) = rows.next_row()? {
        check_width(&fields, need, path, line)?;
        scores.push(parse_number(&fields[col], "anomaly_score", path, line)?);
        lines.push(line);
        if let (Some(tcol), Some(ts)) = (tcol, timestamps.as_mut()) {
            ts.push(std::mem::take(&mut fields[tcol]));
        }
    }
    Ok(ResultsFile {
        scores,
        timestamps,
        lines,
    })
}

/// Where NAB keeps `detector`'s results for the data file `file_key`:
/// `<results_dir>/<detector>/<category>/<detector>_<file>`.
///
/// # Errors
///
/// [`Error::InvalidKey`] when `file_key` is not `<category>/<file>`.
///
/// # Example
///
/// ```
/// use std::path::Path;
/// use prescient_eval::nab::results_path;
///
/// let p = results_path(Path::new("results"), "zscore", "realAdExchange/exchange-2_cpc_results.csv")?;
/// assert_eq!(p, Path::new("results/zscore/realAdExchange/zscore_exchange-2_cpc_results.csv"));
/// # Ok::<(), prescient_eval::Error>(())
/// ```
pub fn results_path(results_dir: &Path, detector: &str, file_key: &str) -> Result<PathBuf> {
    let (category, file) = split_key(file_key)?;
    Ok(results_dir
        .join(detector)
        .join(category)
        .join(format!("{detector}_{file}")))
}

/// Writes `detector`'s anomaly scores for one data file in NAB's layout (see [`results_path`]),
/// creating folders as needed, and returns the file's path.
///
/// The file has the columns `timestamp,value,anomaly_score`; timestamps are written exactly as
/// read, values and scores in Rust's shortest round-trip form (`inf` and `NaN` included), so
/// reading the file back gives the same `f64`s.
///
/// # Errors
///
/// [`Error::InvalidKey`] for a bad `file_key`, [`Error::LengthMismatch`] unless there is one
/// score per row, [`Error::Io`] when a folder or the file cannot be written.
pub fn write_results(
    results_dir: &Path,
    detector: &str,
    file_key: &str,
    series: &DataSeries,
    scores: &[f64],
) -> Result<PathBuf> {
    let path = results_path(results_dir, detector, file_key)?;
    if scores.len() != series.len() {
        return Err(Error::LengthMismatch {
            key: file_key.to_string(),
            expected: series.len(),
            got: scores.len(),
        });
    }
    let mut out = String::with_capacity(48 * (scores.len() + 1));
    out.push_str("timestamp,value,anomaly_score\n");
    for ((t, v), s) in series.timestamps.iter().zip(&series.values).zip(scores) {
        push_field(&mut out, t);
        // Writing to a String cannot fail.
        let _ = writeln!(out, ",{v:?},{s:?}");
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    fs::write(&path, out).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

pub(crate) fn split_key(key: &str) -> Result<(&str, &str)> {
    key.split_once('/').ok_or_else(|| Error::InvalidKey {
        key: key.to_string(),
    })
}

pub(crate) fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

fn column(header: &[String], name: &'static str, path: &Path) -> Result<usize> {
    header
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| Error::MissingColumn {
            path: path.to_path_buf(),
            column: name,
        })
}

fn check_width(fields: &[String], need: usize, path: &Path, line: usize) -> Result<()> {
    if fields.len() < need {
        return Err(Error::MalformedRow {
            path: path.to_path_buf(),
            line,
            reason: format!("{} fields, expected at least {need}", fields.len()),
        });
    }
    Ok(())
}

fn parse_number(field: &str, column: &'static str, path: &Path, line: usize) -> Result<f64> {
    parse_py_float(field).ok_or_else(|| Error::InvalidNumber {
        path: path.to_path_buf(),
        line,
        column,
        value: field.to_string(),
    })
}

/// Parses a number as Python's `float()` does: surrounding whitespace ignored, `inf`,
/// `infinity` and `nan` in any case with an optional sign, and `_` allowed between digits.
pub(crate) fn parse_py_float(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.contains('_') {
        let b = s.as_bytes();
        let ok = b.iter().enumerate().all(|(i, &c)| {
            c != b'_'
                || (i > 0
                    && i + 1 < b.len()
                    && b[i - 1].is_ascii_digit()
                    && b[i + 1].is_ascii_digit())
        });
        return if ok {
            s.replace('_', "").parse().ok()
        } else {
            None
        };
    }
    s.parse().ok()
}

/// The rows of a CSV text, with their 1-based line numbers.
struct Rows<'a> {
    lines: std::iter::Enumerate<std::str::Split<'a, char>>,
    path: &'a Path,
}

impl<'a> Rows<'a> {
    fn new(text: &'a str, path: &'a Path) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Rows {
            lines: text.split('\n').enumerate(),
            path,
        }
    }

    fn header(&mut self) -> Result<Vec<String>> {
        match self.lines.next() {
            Some((_, l)) if !(l.is_empty() && self.lines.clone().next().is_none()) => {
                split_line(l.strip_suffix('\r').unwrap_or(l)).map_err(|reason| {
                    Error::MalformedRow {
                        path: self.path.to_path_buf(),
                        line: 1,
                        reason,
                    }
                })
            }
            _ => Err(Error::EmptyFile {
                path: self.path.to_path_buf(),
            }),
        }
    }

    fn next_row(&mut self) -> Result<Option<(usize, Vec<String>)>> {
        for (i, l) in self.lines.by_ref() {
            let l = l.strip_suffix('\r').unwrap_or(l);
            if l.is_empty() {
                continue;
            }
            let fields = split_line(l).map_err(|reason| Error::MalformedRow {
                path: self.path.to_path_buf(),
                line: i + 1,
                reason,
            })?;
            return Ok(Some((i + 1, fields)));
        }
        Ok(None)
    }
}

/// Splits one line as Python's `csv.reader` (excel dialect) does.
fn split_line(line: &str) -> std::result::Result<Vec<String>, String> {
    #[derive(PartialEq)]
    enum State {
        Start,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut state = State::Start;
    for c in line.chars() {
        state = match (state, c) {
            (State::Start, '"') => State::Quoted,
            (State::Start | State::Unquoted | State::QuoteInQuoted, ',') => {
                fields.push(std::mem::take(&mut field));
                State::Start
            }
            (State::Quoted, '"') => State::QuoteInQuoted,
            (State::QuoteInQuoted, '"') => {
                field.push('"');
                State::Quoted
            }
            (State::Quoted, c) => {
                field.push(c);
                State::Quoted
            }
            (_, c) => {
                field.push(c);
                State::Unquoted
            }
        };
    }
    if state == State::Quoted {
        return Err("quoted field does not end on its line".into());
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_python_csv() {
        assert_eq!(split_line("a,b").unwrap(), ["a", "b"]);
        assert_eq!(split_line(",").unwrap(), ["", ""]);
        assert_eq!(split_line("\"a,b\",c").unwrap(), ["a,b", "c"]);
        assert_eq!(split_line("\"a\"\"b\"").unwrap(), ["a\"b"]);
        assert_eq!(split_line("x\"y").unwrap(), ["x\"y"]);
        assert_eq!(split_line("\"ab\"c").unwrap(), ["abc"]);
        assert!(split_line("\"open").is_err());
    }

    #[test]
    fn parses_numbers_like_python_float() {
        assert_eq!(parse_py_float(" 1.5 "), Some(1.5));
        assert_eq!(parse_py_float("1_000.5"), Some(1000.5));
        assert_eq!(parse_py_float("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_py_float("Infinity"), Some(f64::INFINITY));
        assert!(parse_py_float("nan").is_some_and(f64::is_nan));
        assert!(parse_py_float("-NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_py_float("1e-3"), Some(1e-3));
        assert_eq!(parse_py_float(".5"), Some(0.5));
        for bad in ["", "abc", "1__0", "_1", "1_", "1,5", "0x10"] {
            assert_eq!(parse_py_float(bad), None, "{bad:?}");
        }
    }

    /// A fresh folder under the system's temporary folder, unique to this process and test.
    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("prescient-eval-csv-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_data_files() {
        let dir = temp("data");
        let p = dir.join("a.csv");
        fs::write(
            &p,
            "value,timestamp\r\n1.5,2014-04-01 00:00:00\r\n\r\n-2,\"2014-04-01 00:05:00\"\r\n",
        )
        .unwrap();
        let s = read_data(&p).unwrap();
        assert_eq!(
            s.timestamps(),
            ["2014-04-01 00:00:00", "2014-04-01 00:05:00"]
        );
        assert_eq!(s.seconds(), [1_396_310_400.0, 1_396_310_700.0]);
        assert_eq!(s.values(), [1.5, -2.0]);
        assert_eq!(s.times()[1].as_millis(), 1_396_310_700_000);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn data_errors_name_the_file_and_line() {
        let dir = temp("errors");
        let p = dir.join("bad.csv");
        let read = |text: &str| {
            fs::write(&p, text).unwrap();
            read_data(&p).unwrap_err()
        };
        assert!(matches!(read(""), Error::EmptyFile { .. }));
        assert!(matches!(
            read("timestamp,val\n"),
            Error::MissingColumn {
                column: "value",
                ..
            }
        ));
        let e = read("timestamp,value\n2014-04-01 00:00:00,1\n\n2014-04-01 00:05:00\n");
        assert!(matches!(e, Error::MalformedRow { line: 4, .. }), "{e}");
        let e = read("timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,abc\n");
        assert!(
            matches!(&e, Error::InvalidNumber { line: 3, column: "value", value, .. } if value == "abc"),
            "{e}"
        );
        assert!(e.to_string().contains("bad.csv:3"), "{e}");
        let e = read("timestamp,value\n2014-04-31 00:00:00,1\n");
        assert!(matches!(e, Error::InvalidTimestamp { line: 2, .. }), "{e}");
        let e = read("timestamp,value\n2014-04-01 00:00:00,nan\n");
        assert!(matches!(e, Error::NonFiniteValue { line: 2, .. }), "{e}");
        let e = read("timestamp,value\n\"2014-04-01 00:00:00,1\n");
        assert!(matches!(e, Error::MalformedRow { line: 2, .. }), "{e}");
        assert!(matches!(
            read_data(&dir.join("missing.csv")),
            Err(Error::Io { .. })
        ));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn results_round_trip() {
        let dir = temp("results");
        let series = DataSeries::new(
            vec![
                "2014-04-01 00:00:00".into(),
                "2014-04-01T00:05:00".into(),
                "2014-04-01 00:10:00".into(),
            ],
            vec![0.1, 1e300, -3.0],
        )
        .unwrap();
        let scores = [f64::NAN, 0.1 + 0.2, f64::INFINITY];
        let p = write_results(&dir, "det", "cat/f.csv", &series, &scores).unwrap();
        assert_eq!(p, dir.join("det/cat/det_f.csv"));
        let r = read_scores(&p).unwrap();
        assert!(r.scores[0].is_nan());
        assert_eq!(r.scores[1..], scores[1..]);
        assert_eq!(r.timestamps.as_deref(), Some(series.timestamps()));
        assert_eq!(r.lines, [2, 3, 4]);
        assert!(matches!(
            write_results(&dir, "det", "cat/f.csv", &series, &scores[..2]),
            Err(Error::LengthMismatch {
                expected: 3,
                got: 2,
                ..
            })
        ));
        assert!(matches!(
            write_results(&dir, "det", "nocategory.csv", &series, &scores),
            Err(Error::InvalidKey { .. })
        ));
        fs::write(&p, "timestamp,score\n").unwrap();
        assert!(matches!(
            read_scores(&p),
            Err(Error::MissingColumn {
                column: "anomaly_score",
                ..
            })
        ));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn micros_to_seconds_is_exact_for_whole_seconds() {
        assert_eq!(micros_to_seconds(1_396_310_400_000_000), 1_396_310_400.0);
        assert_eq!(micros_to_seconds(-1_500_000), -1.5);
    }
}
