//! The M4 competition's forecast accuracy measures: sMAPE, MASE and OWA against Naive2.
//!
//! Agrees with the reference `../shared/eval/m4_eval.py` (itself checked against the published
//! M4 Hourly figures) to 1e-9; the integration test `m4_agrees_with_python` checks it.
//!
//! For one series with training values `x_1..x_n`, test values `y_1..y_H` and forecasts
//! `f_1..f_H`:
//!
//! ```text
//! sMAPE = (1/H) Σ 200·|y − f| / (|y| + |f|)            (a term with |y| + |f| = 0 counts 0)
//! MASE  = (1/H) Σ |y − f| / [(1/(n − m)) Σ_{t>m} |x_t − x_{t−m}|]
//! OWA   = ½·(sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2)  on the averages over all series
//! ```
//!
//! Series are read from the long CSV layout `series_id,<index>,value` (index 1-based and
//! contiguous within a series; rows of a series together), in file order.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use prescient_forecast::Naive2Params;

use crate::{Error, Result};

/// A named series, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series id (`H1`).
    pub id: String,
    /// The values.
    pub values: Vec<f64>,
}

/// Reads a long CSV (`series_id,<index>,value` with a header line) into series, in file order.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read, [`Error::EmptyFile`] without a header,
/// [`Error::MalformedRow`] for a row without three fields, an index that is not an integer, or
/// an index that is not the next one of its series (1, 2, …), or a series whose rows are not
/// together, [`Error::InvalidNumber`] / [`Error::NonFiniteValue`] for a bad value.
pub fn read_long(path: &Path) -> Result<Vec<Series>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_long(&text, path)
}

fn parse_long(text: &str, path: &Path) -> Result<Vec<Series>> {
    let mut lines = text.lines().enumerate();
    if lines.next().is_none() {
        return Err(Error::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let mut out: Vec<Series> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, line) in lines {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| Error::MalformedRow {
            path: path.to_path_buf(),
            line: line_no,
            reason,
        };
        let mut fields = line.split(',');
        let (Some(id), Some(index), Some(value), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad("expected three fields: series_id,index,value".into()));
        };
        let id = id.trim();
        let index: usize = index.trim().parse().map_err(|_| {
            bad(format!(
                "index `{}` is not a positive integer",
                index.trim()
            ))
        })?;
        let value: f64 = value.trim().parse().map_err(|_| Error::InvalidNumber {
            path: path.to_path_buf(),
            line: line_no,
            column: "value",
            value: value.trim().to_string(),
        })?;
        if !value.is_finite() {
            return Err(Error::NonFiniteValue {
                path: path.to_path_buf(),
                line: line_no,
            });
        }
        let same = out.last().is_some_and(|s| s.id == id);
        if !same {
            if seen.contains_key(id) {
                return Err(bad(format!("rows of series `{id}` are not together")));
            }
            seen.insert(id.to_string(), out.len());
            out.push(Series {
                id: id.to_string(),
                values: Vec::new(),
            });
        }
        let series = out.last_mut().ok_or_else(|| bad("unreachable".into()))?;
        if index != series.values.len() + 1 {
            return Err(bad(format!(
                "index {index} of series `{id}` should be {}",
                series.values.len() + 1
            )));
        }
        series.values.push(value);
    }
    Ok(out)
}

/// Renders forecasts in the long layout `series_id,h,value` (h from 1), with a header.
///
/// Values are written in Rust's shortest round-trip form, so reading them back gives the same
/// numbers.
pub fn render_long(forecasts: &[Series]) -> String {
    let mut out = String::from("series_id,h,value\n");
    for s in forecasts {
        for (h, v) in s.values.iter().enumerate() {
            let _ = writeln!(out, "{},{},{v:?}", s.id, h + 1);
        }
    }
    out
}

/// Writes forecasts to `path` in the long layout (see [`render_long`]).
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be written.
pub fn write_long(path: &Path, forecasts: &[Series]) -> Result<()> {
    std::fs::write(path, render_long(forecasts)).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The training and test parts of an M4-layout data set.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The training series, in file order.
    pub train: Vec<Series>,
    /// The test series, in file order (each `horizon` long).
    pub test: Vec<Series>,
    /// The forecast horizon.
    pub horizon: usize,
    /// The seasonal period used by MASE and Naive2.
    pub period: usize,
}

impl Dataset {
    /// Loads `DIR/train.csv` and `DIR/test.csv`; the horizon is the test series' length and
    /// the period is `period`.
    ///
    /// # Errors
    ///
    /// As [`read_long`], and [`Error::LengthMismatch`] when the test series have different
    /// lengths or a test series has no training series.
    pub fn load(dir: &Path, period: usize) -> Result<Self> {
        let train = read_long(&dir.join("train.csv"))?;
        let test = read_long(&dir.join("test.csv"))?;
        let horizon = test.first().map_or(0, |s| s.values.len());
        let ids: HashMap<&str, ()> = train.iter().map(|s| (s.id.as_str(), ())).collect();
        for s in &test {
            if s.values.len() != horizon {
                return Err(Error::LengthMismatch {
                    key: s.id.clone(),
                    expected: horizon,
                    got: s.values.len(),
                });
            }
            if !ids.contains_key(s.id.as_str()) {
                return Err(Error::MissingSeries { key: s.id.clone() });
            }
        }
        Ok(Dataset {
            train,
            test,
            horizon,
            period,
        })
    }
}

/// The M4 scores of one set of forecasts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scores {
    /// Series scored.
    pub series: usize,
    /// The horizon.
    pub horizon: usize,
    /// Mean sMAPE over the series, in percent.
    #[serde(rename = "sMAPE")]
    pub smape: f64,
    /// Mean MASE over the series.
    #[serde(rename = "MASE")]
    pub mase: f64,
    /// The overall weighted average against Naive2.
    #[serde(rename = "OWA")]
    pub owa: f64,
    /// Naive2's mean sMAPE on the same series.
    #[serde(rename = "naive2_sMAPE")]
    pub naive2_smape: f64,
    /// Naive2's mean MASE on the same series.
    #[serde(rename = "naive2_MASE")]
    pub naive2_mase: f64,
    /// Per-series sMAPE, in the test file's order.
    #[serde(skip)]
    pub per_series_smape: Vec<f64>,
    /// Per-series MASE, in the test file's order.
    #[serde(skip)]
    pub per_series_mase: Vec<f64>,
}

/// The in-sample seasonal-naive MAE, MASE's scale (NaN when the series has at most `m` values).
pub fn mase_scale(train: &[f64], m: usize) -> f64 {
    let m = m.max(1);
    if train.len() <= m {
        return f64::NAN;
    }
    let sum: f64 = train[m..]
        .iter()
        .zip(train)
        .map(|(a, b)| (a - b).abs())
        .sum();
    sum / (train.len() - m) as f64
}

/// One series' sMAPE and MASE (MASE is +∞ when the scale is 0 or undefined, as in the
/// reference).
pub fn series_errors(train: &[f64], test: &[f64], forecast: &[f64], m: usize) -> (f64, f64) {
    let h = test.len() as f64;
    let mut smape = 0.0;
    let mut mae = 0.0;
    for (y, f) in test.iter().zip(forecast) {
        let err = (y - f).abs();
        let den = y.abs() + f.abs();
        if den > 0.0 {
            smape += 200.0 * err / den;
        }
        mae += err;
    }
    let scale = mase_scale(train, m);
    let mase = if scale.is_finite() && scale > 0.0 {
        mae / h / scale
    } else {
        f64::INFINITY
    };
    (smape / h, mase)
}

/// Scores `forecasts` (matched to the test series by id; extra series are ignored) against the
/// test part of `data`, with OWA against Naive2 computed here on the same series.
///
/// # Errors
///
/// [`Error::MissingScores`] when a test series has no forecast, [`Error::LengthMismatch`] when
/// a forecast is shorter than the horizon, [`Error::NonFinite`] for a non-finite forecast
/// value, and [`Error::MissingSeries`] when a test series has no training series.
pub fn evaluate(data: &Dataset, forecasts: &[Series]) -> Result<Scores> {
    let by_id: HashMap<&str, &Series> = forecasts.iter().map(|s| (s.id.as_str(), s)).collect();
    let train: HashMap<&str, &Series> = data.train.iter().map(|s| (s.id.as_str(), s)).collect();
    let (mut sm, mut ms, mut sm2, mut ms2) = (vec![], vec![], vec![], vec![]);
    for test in &data.test {
        let f = by_id
            .get(test.id.as_str())
            .ok_or_else(|| Error::MissingScores {
                key: test.id.clone(),
            })?;
        if f.values.len() < data.horizon {
            return Err(Error::LengthMismatch {
                key: test.id.clone(),
                expected: data.horizon,
                got: f.values.len(),
            });
        }
        let f = &f.values[..data.horizon];
        if let Some(index) = f.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite { index });
        }
        let x = &train
            .get(test.id.as_str())
            .ok_or_else(|| Error::MissingSeries {
                key: test.id.clone(),
            })?
            .values;
        let (s, m) = series_errors(x, &test.values, f, data.period);
        sm.push(s);
        ms.push(m);
        let n2 = naive2(x, data.horizon, data.period)?;
        let (s2, m2) = series_errors(x, &test.values, &n2, data.period);
        sm2.push(s2);
        ms2.push(m2);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (smape, mase, naive2_smape, naive2_mase) = (mean(&sm), mean(&ms), mean(&sm2), mean(&ms2));
    Ok(Scores {
        series: data.test.len(),
        horizon: data.horizon,
        smape,
        mase,
        owa: 0.5 * (smape / naive2_smape + mase / naive2_mase),
        naive2_smape,
        naive2_mase,
        per_series_smape: sm,
        per_series_mase: ms,
    })
}

/// Naive2's point forecasts of `horizon` steps (the M4 definition, see [`Naive2Params`]).
///
/// # Errors
///
/// [`Error::NonFinite`] when the series cannot be forecast (fewer than two values).
pub fn naive2(train: &[f64], horizon: usize, period: usize) -> Result<Vec<f64>> {
    use prescient_core::Forecaster as _;
    let model = Naive2Params::new(period)
        .fit(train)
        .map_err(|_| Error::NonFinite { index: 0 })?;
    let f = model
        .predict(horizon, 0.5)
        .map_err(|_| Error::NonFinite { index: 0 })?;
    Ok(f.point)
}

/// The share of test values inside `[lower, upper]`, over every series and step (series matched
/// by id; NaN when nothing matched).
pub fn coverage(data: &Dataset, lower: &[Series], upper: &[Series]) -> f64 {
    let lo: HashMap<&str, &Series> = lower.iter().map(|s| (s.id.as_str(), s)).collect();
    let hi: HashMap<&str, &Series> = upper.iter().map(|s| (s.id.as_str(), s)).collect();
    let (mut inside, mut total) = (0usize, 0usize);
    for t in &data.test {
        if let (Some(l), Some(u)) = (lo.get(t.id.as_str()), hi.get(t.id.as_str())) {
            for ((y, a), b) in t.values.iter().zip(&l.values).zip(&u.values) {
                total += 1;
                inside += usize::from(a <= y && y <= b);
            }
        }
    }
    if total == 0 {
        f64::NAN
    } else {
        inside as f64 / total as f64
    }
}

/// `path` with `.suffix` put before its extension (`fc.csv` → `fc.lower.csv`).
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!("{stem}.{suffix}{ext}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_long_layout_in_file_order() {
        let text = "series_id,t,value\nB,1,1.5\nB,2,2\nA,1,3\n";
        let s = parse_long(text, Path::new("x.csv")).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].id, "B");
        assert_eq!(s[0].values, vec![1.5, 2.0]);
        assert_eq!(s[1].values, vec![3.0]);
    }

    #[test]
    fn rejects_gaps_split_series_and_bad_values() {
        let p = Path::new("x.csv");
        assert!(parse_long("h\nA,1,1\nA,3,2\n", p).is_err());
        assert!(parse_long("h\nA,1,1\nB,1,1\nA,2,2\n", p).is_err());
        assert!(parse_long("h\nA,1,x\n", p).is_err());
        assert!(parse_long("h\nA,1,inf\n", p).is_err());
        assert!(parse_long("h\nA,1\n", p).is_err());
        assert!(parse_long("", p).is_err());
    }

    #[test]
    fn render_round_trips() {
        let f = vec![Series {
            id: "H1".into(),
            values: vec![0.1 + 0.2, 1e300, -3.0],
        }];
        let back = parse_long(&render_long(&f), Path::new("x")).unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn errors_of_a_small_case() {
        // m = 1: scale = mean |diff| = 1.
        let (s, m) = series_errors(&[1.0, 2.0, 3.0], &[4.0, 5.0], &[4.0, 3.0], 1);
        assert!((s - 0.5 * 200.0 * 2.0 / 8.0).abs() < 1e-12);
        assert!((m - 1.0).abs() < 1e-12);
        let (_, m) = series_errors(&[1.0, 1.0], &[1.0], &[2.0], 1);
        assert!(m.is_infinite());
    }

    #[test]
    fn naive2_is_owa_one() {
        let train: Vec<Series> = (0..3)
            .map(|k| Series {
                id: format!("S{k}"),
                values: (0..120)
                    .map(|t| {
                        10.0 + k as f64 + [1.0, 2.0, 3.0, 2.0][t % 4] * (1.0 + t as f64 / 50.0)
                    })
                    .collect(),
            })
            .collect();
        let test: Vec<Series> = train
            .iter()
            .map(|s| Series {
                id: s.id.clone(),
                values: (120..128)
                    .map(|t| 10.0 + [1.0, 2.0, 3.0, 2.0][t % 4] * (1.0 + t as f64 / 50.0))
                    .collect(),
            })
            .collect();
        let data = Dataset {
            train: train.clone(),
            test,
            horizon: 8,
            period: 4,
        };
        let f: Vec<Series> = train
            .iter()
            .map(|s| Series {
                id: s.id.clone(),
                values: naive2(&s.values, 8, 4).unwrap(),
            })
            .collect();
        let scores = evaluate(&data, &f).unwrap();
        assert!((scores.owa - 1.0).abs() < 1e-12);
        assert!(evaluate(&data, &f[..2]).is_err());
    }

    #[test]
    fn coverage_counts_test_values_inside_their_interval() {
        let series = |id: &str, values: Vec<f64>| Series {
            id: id.into(),
            values,
        };
        let data = Dataset {
            train: vec![series("A", vec![1.0; 4]), series("B", vec![1.0; 4])],
            test: vec![series("A", vec![1.0, 5.0]), series("B", vec![2.0, 3.0])],
            horizon: 2,
            period: 1,
        };
        // A: 1 inside, 5 above; B: both inside (the ends count as inside).
        let lower = vec![series("B", vec![2.0, 0.0]), series("A", vec![0.0, 0.0])];
        let upper = vec![series("A", vec![2.0, 4.0]), series("B", vec![2.0, 3.0])];
        assert_eq!(coverage(&data, &lower, &upper), 0.75);
        assert!(coverage(&data, &[], &upper).is_nan());
    }
}
