use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::corpus::{Corpus, Warning};
use super::csv::{read_scores, read_text, results_path};
use super::profile::Profile;
use super::score::{ScoreParams, Scores};
use crate::time::parse_micros;
use crate::{Error, Result};

/// Fixed thresholds per detector and profile (`--thresholds` of `nab_score.py`).
///
/// Reads NAB's own `config/thresholds.json` (`{detector: {profile: {"threshold": t, ...}}}`)
/// and the `--json` output of `nab_score.py` or [`RunReport::to_json`] (the same under a
/// `"detectors"` key), so thresholds tuned on one subset can be applied to another. A
/// `null` threshold means "never fire" (`f64::INFINITY`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThresholdTable {
    detectors: BTreeMap<String, BTreeMap<String, f64>>,
}

impl ThresholdTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a thresholds file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when it cannot be read, [`Error::Json`] when it is not JSON,
    /// [`Error::InvalidThresholds`] as for [`ThresholdTable::from_json`].
    pub fn read(path: &Path) -> Result<Self> {
        let text = read_text(path)?;
        let value: Value = serde_json::from_str(&text).map_err(|source| Error::Json {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&value)
    }

    /// A table from parsed JSON in either layout. Entries of a detector that are not objects
    /// with a `threshold` key (NAB's files have a few) are ignored, as the reference does.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidThresholds`] when the JSON or a detector's entry is not an object, or a
    /// threshold is neither a number nor `null`.
    ///
    /// # Example
    ///
    /// ```
    /// use prescient_eval::nab::{Profile, ThresholdTable};
    ///
    /// let json = serde_json::json!({
    ///     "numenta": {"standard": {"score": 70.1, "threshold": 0.5}, "reward_low_FP_rate": {"threshold": null}}
    /// });
    /// let table = ThresholdTable::from_json(&json)?;
    /// let numenta = table.for_detector("numenta").unwrap_or_default();
    /// assert_eq!(numenta[&Profile::Standard], 0.5);
    /// assert_eq!(numenta[&Profile::RewardLowFpRate], f64::INFINITY);
    /// assert!(!numenta.contains_key(&Profile::RewardLowFnRate));
    /// # Ok::<(), prescient_eval::Error>(())
    /// ```
    pub fn from_json(value: &Value) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidThresholds { reason };
        let top = value
            .as_object()
            .ok_or_else(|| invalid("not a JSON object".into()))?;
        let dets = match top.get("detectors") {
            Some(d) => d
                .as_object()
                .ok_or_else(|| invalid("`detectors` is not an object".into()))?,
            None => top,
        };
        let mut table = ThresholdTable::new();
        for (det, entry) in dets {
            let entry = entry
                .as_object()
                .ok_or_else(|| invalid(format!("the entry of `{det}` is not an object")))?;
            let mut profiles = BTreeMap::new();
            for (profile, v) in entry {
                let Some(t) = v.as_object().and_then(|o| o.get("threshold")) else {
                    continue;
                };
                let t = match t {
                    Value::Null => f64::INFINITY,
                    Value::Number(n) => n.as_f64().ok_or_else(|| {
                        invalid(format!(
                            "threshold of `{det}` / `{profile}` is out of range"
                        ))
                    })?,
                    _ => {
                        return Err(invalid(format!(
                            "threshold of `{det}` / `{profile}` is not a number"
                        )));
                    }
                };
                profiles.insert(profile.clone(), t);
            }
            table.detectors.insert(det.clone(), profiles);
        }
        Ok(table)
    }

    /// The thresholds chosen in a run, to apply them elsewhere.
    pub fn from_report(report: &RunReport) -> Self {
        let mut table = ThresholdTable::new();
        for (det, scores) in &report.detectors {
            for p in &scores.profiles {
                table.insert(det, p.profile, p.threshold);
            }
        }
        table
    }

    /// Sets the threshold of `detector` under `profile`.
    pub fn insert(&mut self, detector: &str, profile: Profile, threshold: f64) {
        self.detectors
            .entry(detector.to_string())
            .or_default()
            .insert(profile.name().to_string(), threshold);
    }

    /// The thresholds of `detector` by profile (profile names NAB does not know are left out),
    /// or `None` when the table has no entry for it.
    pub fn for_detector(&self, detector: &str) -> Option<BTreeMap<Profile, f64>> {
        self.detectors.get(detector).map(|m| {
            m.iter()
                .filter_map(|(name, &t)| Some((name.parse::<Profile>().ok()?, t)))
                .collect()
        })
    }
}

/// What to score in a results folder, mirroring the options of `nab_score.py`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunParams {
    /// The detectors (`--detectors`); `None` scores every sub-folder of the results folder.
    pub detectors: Option<Vec<String>>,
    /// The profiles (`--profiles`; default: all three).
    pub profiles: Vec<Profile>,
    /// Fixed thresholds (`--thresholds`); a detector without an entry is optimised, with a
    /// [`Warning::NoFixedThresholds`].
    pub thresholds: Option<ThresholdTable>,
    /// Report each file's raw score (`--per-file`).
    pub per_file: bool,
}

impl Default for RunParams {
    fn default() -> Self {
        RunParams {
            detectors: None,
            profiles: Profile::ALL.to_vec(),
            thresholds: None,
            per_file: false,
        }
    }
}

/// The outcome of scoring a results folder.
#[derive(Debug)]
pub struct RunReport {
    /// The number of files scored.
    pub files: usize,
    /// The number of windows listed for them.
    pub windows: usize,
    /// The scores of every detector that could be scored.
    pub detectors: BTreeMap<String, Scores>,
    /// The detectors that could not be scored, and why (the reference skips them too).
    pub skipped: Vec<(String, Error)>,
    /// The corpus' warnings, then those of the run.
    pub warnings: Vec<Warning>,
}

impl RunReport {
    /// The report in the layout of `nab_score.py --json`:
    /// `{"files", "windows", "detectors": {detector: {profile: {"threshold", "raw", "null",
    /// "perfect", "score", "windows_detected", "windows_missed", "fp_rows"[, "files"]}}}}`,
    /// with `null` for an infinite threshold (and for an undefined score, which the reference
    /// writes as `NaN`).
    pub fn to_json(&self) -> Value {
        let mut dets = Map::new();
        for (det, scores) in &self.detectors {
            let mut profiles = Map::new();
            for p in &scores.profiles {
                let mut o = json!({
                    "threshold": if p.threshold.is_infinite() { Value::Null } else { json!(p.threshold) },
                    "raw": p.raw,
                    "null": p.null,
                    "perfect": p.perfect,
                    "score": p.normalized,
                    "windows_detected": p.true_positives,
                    "windows_missed": p.false_negatives,
                    "fp_rows": p.false_positives,
                });
                if let (Some(files), Some(obj)) = (&p.files, o.as_object_mut()) {
                    obj.insert("files".into(), json!(files));
                }
                profiles.insert(p.profile.name().to_string(), o);
            }
            dets.insert(det.clone(), Value::Object(profiles));
        }
        json!({"files": self.files, "windows": self.windows, "detectors": dets})
    }
}

/// Scores every detector of a NAB results folder
/// (`<results_dir>/<detector>/<category>/<detector>_<file>.csv`, each with an `anomaly_score`
/// column and one row per data row) against `corpus`, as `nab_score.py` does.
///
/// A detector whose results are missing or unreadable is skipped and listed in
/// [`RunReport::skipped`]; NaN scores after a probationary period also skip it (the reference
/// would not finish). Results timestamps that differ from the data only warn, since rows are
/// matched by position.
///
/// # Errors
///
/// [`Error::Io`] when the results folder cannot be listed (only when `params.detectors` is
/// `None`).
pub fn score_results_dir(
    results_dir: &Path,
    corpus: &Corpus,
    params: &RunParams,
) -> Result<RunReport> {
    let detectors = match &params.detectors {
        Some(d) => d.clone(),
        None => list_detectors(results_dir)?,
    };
    let mut report = RunReport {
        files: corpus.files().len(),
        windows: corpus.window_count(),
        detectors: BTreeMap::new(),
        skipped: Vec::new(),
        warnings: corpus.warnings().to_vec(),
    };
    for det in detectors {
        let scores = match load_detector(results_dir, &det, corpus, &mut report.warnings) {
            Ok(s) => s,
            Err(e) => {
                report.skipped.push((det, e));
                continue;
            }
        };
        let thresholds = match &params.thresholds {
            None => BTreeMap::new(),
            Some(table) => table.for_detector(&det).unwrap_or_else(|| {
                report.warnings.push(Warning::NoFixedThresholds {
                    detector: det.clone(),
                });
                BTreeMap::new()
            }),
        };
        let score_params = ScoreParams {
            profiles: params.profiles.clone(),
            thresholds,
            per_file: params.per_file,
        };
        let slices: Vec<&[f64]> = scores.iter().map(Vec::as_slice).collect();
        match corpus.score_slices(&slices, &score_params) {
            Ok(s) => {
                report.detectors.insert(det, s);
            }
            Err(e) => report.skipped.push((det, e)),
        }
    }
    Ok(report)
}

fn list_detectors(results_dir: &Path) -> Result<Vec<String>> {
    let io = |source| Error::Io {
        path: results_dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in fs::read_dir(results_dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        if entry.path().is_dir() {
            if let Ok(name) = entry.file_name().into_string() {
                out.push(name);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads one detector's scores for every file of the corpus, in corpus order.
fn load_detector(
    results_dir: &Path,
    detector: &str,
    corpus: &Corpus,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<Vec<f64>>> {
    let mut out = Vec::with_capacity(corpus.files().len());
    for f in corpus.files() {
        let path = results_path(results_dir, detector, f.key())?;
        if !path.exists() {
            return Err(Error::MissingResults { path });
        }
        let rf = read_scores(&path)?;
        let series = f.series();
        if rf.scores.len() != series.len() {
            return Err(Error::RowCountMismatch {
                path,
                got: rf.scores.len(),
                key: f.key().to_string(),
                expected: series.len(),
            });
        }
        if let Some(ts) = &rf.timestamps {
            let mut differ = 0;
            for ((t, &m), &line) in ts.iter().zip(&series.micros).zip(&rf.lines) {
                let r = parse_micros(t).ok_or_else(|| Error::InvalidTimestamp {
                    path: path.clone(),
                    line,
                    value: t.clone(),
                })?;
                differ += usize::from(r != m);
            }
            if differ > 0 {
                warnings.push(Warning::TimestampMismatch {
                    path: path.clone(),
                    count: differ,
                });
            }
        }
        if let Some(j) = rf.scores[f.probation()..].iter().position(|x| x.is_nan()) {
            return Err(Error::NanScore {
                path,
                line: rf.lines[f.probation() + j],
            });
        }
        out.push(rf.scores);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nab::{DataSeries, write_results};
    use std::path::PathBuf;

    /// A NAB layout with two categories of one 100-row file each, one window per file.
    fn layout(name: &str) -> (PathBuf, Corpus) {
        let dir =
            std::env::temp_dir().join(format!("prescient-eval-run-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut windows = serde_json::Map::new();
        for cat in ["a", "b"] {
            let mut csv = String::from("timestamp,value\n");
            for i in 0..100 {
                csv.push_str(&format!("2020-01-01 {:02}:{:02}:00,{i}\n", i / 60, i % 60));
            }
            fs::create_dir_all(dir.join("data").join(cat)).unwrap();
            fs::write(dir.join("data").join(cat).join("f.csv"), csv).unwrap();
            windows.insert(
                format!("{cat}/f.csv"),
                json!([["2020-01-01 01:00:00.000000", "2020-01-01 01:09:00.000000"]]),
            );
        }
        let wpath = dir.join("windows.json");
        fs::write(&wpath, Value::Object(windows).to_string()).unwrap();
        let corpus = Corpus::load(&dir.join("data"), &wpath).unwrap();
        (dir, corpus)
    }

    fn write(dir: &Path, corpus: &Corpus, det: &str, f: impl Fn(&str, usize) -> f64) {
        for file in corpus.files() {
            let s: Vec<f64> = (0..100).map(|i| f(file.key(), i)).collect();
            write_results(&dir.join("results"), det, file.key(), file.series(), &s).unwrap();
        }
    }

    #[test]
    fn scores_a_results_folder_and_skips_bad_detectors() {
        let (dir, corpus) = layout("folder");
        assert_eq!(corpus.window_count(), 2);
        assert_eq!(corpus.file("b/f.csv").unwrap().window_rows(), [(60, 69)]);
        write(
            &dir,
            &corpus,
            "good",
            |_, i| if i == 61 { 0.9 } else { 0.0 },
        );
        write(&dir, &corpus, "nan", |k, i| {
            if k == "b/f.csv" && i == 40 {
                f64::NAN
            } else {
                0.0
            }
        });
        // NaN in the probationary period (rows 0..15) is fine.
        write(&dir, &corpus, "early_nan", |_, i| {
            if i == 3 { f64::NAN } else { 0.5 }
        });
        write(&dir, &corpus, "partial", |_, _| 0.0);
        fs::remove_file(dir.join("results/partial/b/partial_f.csv")).unwrap();
        // Results whose timestamps differ from the data's.
        let shifted = DataSeries::new(
            (0..100)
                .map(|i| format!("2021-01-01 {:02}:{:02}:00", i / 60, i % 60))
                .collect(),
            vec![0.0; 100],
        )
        .unwrap();
        for key in ["a/f.csv", "b/f.csv"] {
            write_results(&dir.join("results"), "shifted", key, &shifted, &[0.0; 100]).unwrap();
        }

        let report =
            score_results_dir(&dir.join("results"), &corpus, &RunParams::default()).unwrap();
        let names: Vec<&str> = report.detectors.keys().map(String::as_str).collect();
        assert_eq!(names, ["early_nan", "good", "shifted"]);
        let skipped: Vec<&str> = report.skipped.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(skipped, ["nan", "partial"]);
        assert!(matches!(
            report.skipped[0].1,
            Error::NanScore { line: 42, .. }
        ));
        assert!(matches!(report.skipped[1].1, Error::MissingResults { .. }));
        assert_eq!(
            report
                .warnings
                .iter()
                .filter(|w| matches!(w, Warning::TimestampMismatch { count: 100, .. }))
                .count(),
            2
        );
        let good = report.detectors["good"].get(Profile::Standard).unwrap();
        assert_eq!(good.threshold, 0.9);
        assert_eq!(good.true_positives, 2);

        // The JSON layout of nab_score.py, and its thresholds read back.
        let j = report.to_json();
        assert_eq!(j["files"], 2);
        assert_eq!(j["windows"], 2);
        assert_eq!(j["detectors"]["good"]["standard"]["threshold"], 0.9);
        assert_eq!(j["detectors"]["good"]["standard"]["windows_detected"], 2);
        assert!(j["detectors"]["shifted"]["reward_low_FN_rate"]["threshold"].is_null());
        let table = ThresholdTable::from_json(&j).unwrap();
        assert_eq!(table, ThresholdTable::from_report(&report));

        // Fixed thresholds; a detector without an entry is optimised, with a warning.
        let mut table = ThresholdTable::new();
        table.insert("good", Profile::Standard, 0.0);
        let params = RunParams {
            detectors: Some(vec!["good".into(), "early_nan".into()]),
            profiles: vec![Profile::Standard],
            thresholds: Some(table),
            per_file: true,
        };
        let report = score_results_dir(&dir.join("results"), &corpus, &params).unwrap();
        let good = &report.detectors["good"].profiles[0];
        assert!(!good.tuned);
        assert_eq!(good.false_positives, 2 * (85 - 10));
        assert_eq!(good.files.as_ref().unwrap().len(), 2);
        assert!(report.detectors["early_nan"].profiles[0].tuned);
        assert!(report.warnings.contains(&Warning::NoFixedThresholds {
            detector: "early_nan".into()
        }));

        // One category only.
        let sub =
            Corpus::load_categories(&dir.join("data"), &dir.join("windows.json"), &["b"]).unwrap();
        assert_eq!(sub.files().len(), 1);
        assert!(matches!(
            corpus.restrict_to_categories(&["c"]),
            Err(Error::NoFiles)
        ));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn threshold_tables_in_both_layouts() {
        let nab = json!({"numenta": {"standard": {"score": 1.0, "threshold": 0.25},
                                      "reward_low_FN_rate": {"threshold": null},
                                      "unknown_profile": {"threshold": 1},
                                      "note": "ignored"}});
        let t = ThresholdTable::from_json(&nab).unwrap();
        let own = ThresholdTable::from_json(&json!({ "detectors": nab })).unwrap();
        assert_eq!(t, own);
        let m = t.for_detector("numenta").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[&Profile::Standard], 0.25);
        assert_eq!(m[&Profile::RewardLowFnRate], f64::INFINITY);
        assert_eq!(t.for_detector("other"), None);
        for bad in [
            json!([1]),
            json!({"detectors": 3}),
            json!({"d": 3}),
            json!({"d": {"standard": {"threshold": "high"}}}),
        ] {
            assert!(matches!(
                ThresholdTable::from_json(&bad),
                Err(Error::InvalidThresholds { .. })
            ));
        }
    }
}
