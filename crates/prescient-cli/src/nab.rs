//! `prescient nab`: streams every NAB data file through a detector and writes NAB-layout results;
//! `prescient nab-score`: scores a results folder as NAB does.

use std::path::{Path, PathBuf};
use std::time::Instant;

use prescient::detect::{
    Ewma, ForecastResidual, KnnCad, MetricDetectorParams, RollingZScore, SeasonalMedian,
    StlResidual, StreamingIsolationForest, StreamingOneClassSvm,
};
use prescient::features::{RateOfChange, RollingStats};
use prescient::forecast::SeasonalNaive;
use prescient::regime::RegimeParams;
use prescient::types::FeatureExtractor;
use prescient_eval::nab::{self, Corpus, Profile, RunParams, ScoreParams, Scores};

use crate::progress;

/// The detectors `prescient nab` runs, by name.
pub(crate) const DETECTORS: [&str; 11] = [
    "zscore",
    "ewma",
    "stl",
    "iforest",
    "ocsvm",
    "residual",
    "knn",
    "knn_long",
    "seasonal",
    "prescient",
    "fingerprint",
];

/// Settings of `prescient nab`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct NabArgs {
    /// The NAB data folder: `DIR/<category>/<name>.csv` with header `timestamp,value`.
    #[arg(long)]
    pub(crate) data: PathBuf,
    /// Where to write `OUT/<detector>/<category>/<detector>_<name>.csv`.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Detectors to run (repeatable): zscore, ewma, stl, iforest, ocsvm, residual, knn,
    /// knn_long, seasonal, prescient, fingerprint (the `Scaler`'s regime monitor on the
    /// series' rolling features).
    #[arg(long = "detector", default_value = "prescient")]
    pub(crate) detectors: Vec<String>,
    /// NAB's windows file; when given (or found at DATA/../labels/combined_windows.json) the
    /// results are scored too.
    #[arg(long)]
    pub(crate) windows: Option<PathBuf>,
}

/// Settings of `prescient nab-score`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct NabScoreArgs {
    /// A results folder: `RESULTS/<detector>/<category>/<detector>_<name>.csv`.
    #[arg(long)]
    pub(crate) results: PathBuf,
    /// The NAB data folder.
    #[arg(long)]
    pub(crate) data: PathBuf,
    /// NAB's windows file (`combined_windows.json`).
    #[arg(long)]
    pub(crate) windows: PathBuf,
    /// Write the details as JSON (the layout of `nab_score.py --json`).
    #[arg(long)]
    pub(crate) json: Option<PathBuf>,
}

/// The ensemble member for each single-detector name, inside the same calibration and alert
/// deduplication as the full ensemble, so that the scores compare.
pub(crate) fn params_for(name: &str) -> Result<MetricDetectorParams, String> {
    let empty = MetricDetectorParams::empty();
    Ok(match name {
        "prescient" => MetricDetectorParams::default(),
        "zscore" => empty.member(
            "zscore",
            1.0,
            Box::new(|_| RollingZScore::new(300).ok().map(|d| Box::new(d) as _)),
        ),
        "ewma" => empty.member(
            "ewma",
            1.0,
            Box::new(|_| Ewma::new(0.02).ok().map(|d| Box::new(d) as _)),
        ),
        "stl" => empty.member(
            "stl",
            1.0,
            Box::new(|period| StlResidual::new(period?).ok().map(|d| Box::new(d) as _)),
        ),
        "knn" => empty.member(
            "knn",
            1.0,
            Box::new(|_| KnnCad::new(3, 2, 2000).ok().map(|d| Box::new(d) as _)),
        ),
        "knn_long" => empty.member(
            "knn_long",
            1.0,
            Box::new(|_| KnnCad::new(8, 2, 2000).ok().map(|d| Box::new(d) as _)),
        ),
        // Only on series with a confirmed season (no score elsewhere).
        "seasonal" => empty.member(
            "seasonal",
            1.0,
            Box::new(|period| SeasonalMedian::new(period?).ok().map(|d| Box::new(d) as _)),
        ),
        // Without a season, the naive forecast (period 1): the residual is the step change.
        "residual" => empty.member(
            "residual",
            1.0,
            Box::new(|period| {
                SeasonalNaive::new(period.unwrap_or(1))
                    .ok()
                    .map(|f| Box::new(ForecastResidual::new(f)) as _)
            }),
        ),
        "iforest" => empty.vector_member(
            "iforest",
            1.0,
            Box::new(|dim| {
                StreamingIsolationForest::params()
                    .seed(0x5eed)
                    .build(dim)
                    .ok()
                    .map(|d| Box::new(d) as _)
            }),
        ),
        "ocsvm" => empty.vector_member(
            "ocsvm",
            1.0,
            Box::new(|dim| {
                StreamingOneClassSvm::params()
                    .seed(0x5eed)
                    .build(dim)
                    .ok()
                    .map(|d| Box::new(d) as _)
            }),
        ),
        other => {
            return Err(format!(
                "unknown detector `{other}` (expected one of {})",
                DETECTORS.join(", ")
            ));
        }
    })
}

/// Checks that `name` is a detector `prescient nab` knows.
fn check_name(name: &str) -> Result<(), String> {
    if name == "fingerprint" {
        Ok(())
    } else {
        params_for(name).map(|_| ())
    }
}

/// The `fingerprint` detector: the features a `Scaler` extracts from a load metric (rolling
/// mean, standard deviation, minimum and maximum over 20 points, rate and acceleration), fed to
/// the `Scaler`'s regime monitor with its defaults; the score is its deduplicated episode
/// score, as for the other detectors.
fn fingerprint_scores(series: &nab::DataSeries) -> Result<Vec<f64>, String> {
    let mut extractors: Vec<Box<dyn FeatureExtractor>> = vec![
        Box::new(RollingStats::new(20).map_err(|e| e.to_string())?),
        Box::new(RateOfChange::new(1).map_err(|e| e.to_string())?),
    ];
    let d: usize = extractors.iter().map(|e| e.len()).sum();
    let mut monitor = RegimeParams::default()
        .build(d, 0)
        .map_err(|e| format!("detector `fingerprint`: {e}"))?;
    let mut features = vec![0.0; d];
    let mut out = Vec::with_capacity(series.values().len());
    for (ts, &x) in series.times().into_iter().zip(series.values()) {
        let mut at = 0;
        for e in &mut extractors {
            e.update(ts, x);
            let n = e.len();
            e.extract_inplace(&mut features[at..at + n]);
            at += n;
        }
        monitor.update(ts, &features).map_err(|e| e.to_string())?;
        out.push(monitor.verdict().map_or(0.0, |v| v.episode_score.value()));
    }
    Ok(out)
}

/// Streams one series through a fresh detector; one score per row (0 while it warms up).
pub(crate) fn score_series(name: &str, series: &nab::DataSeries) -> Result<Vec<f64>, String> {
    if name == "fingerprint" {
        return fingerprint_scores(series);
    }
    let mut detector = params_for(name)?
        .build()
        .map_err(|e| format!("detector `{name}`: {e}"))?;
    Ok(series
        .times()
        .into_iter()
        .zip(series.values())
        .map(|(ts, &x)| {
            detector
                .update(ts, x)
                .map_or(0.0, |v| v.episode_score.value())
        })
        .collect())
}

/// Runs `prescient nab`; returns the text to print.
pub(crate) fn run(args: &NabArgs) -> Result<String, String> {
    for d in &args.detectors {
        check_name(d)?;
    }
    let windows = args.windows.clone().or_else(|| {
        let guess = args.data.join("../labels/combined_windows.json");
        guess.exists().then_some(guess)
    });
    let files = list_files(&args.data)?;
    let mut out = String::new();
    let mut scores = std::collections::BTreeMap::new();
    for detector in &args.detectors {
        // The command reports its own speed; the libraries never read the clock.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let mut rows = 0usize;
        let mut per_file = std::collections::HashMap::new();
        let bar = progress::bar(files.len(), format!("{detector}: files"));
        for key in &files {
            let path = args.data.join(key);
            let series = nab::read_data(&path).map_err(|e| e.to_string())?;
            let s = score_series(detector, &series)?;
            rows += s.len();
            nab::write_results(&args.out, detector, key, &series, &s).map_err(|e| e.to_string())?;
            per_file.insert(key.clone(), s);
            bar.inc(1);
        }
        bar.finish_and_clear();
        let secs = start.elapsed().as_secs_f64();
        out.push_str(&format!(
            "{detector}: {} files, {rows} rows in {secs:.2} s ({:.0} rows/s)\n",
            files.len(),
            rows as f64 / secs.max(1e-9)
        ));
        scores.insert(detector.clone(), per_file);
    }
    if let Some(windows) = windows {
        let corpus = Corpus::load(&args.data, &windows).map_err(|e| e.to_string())?;
        out.push_str(&table_header());
        let mut thresholds = std::collections::BTreeMap::new();
        for (detector, per_file) in &scores {
            let s = corpus
                .score(per_file, &ScoreParams::default())
                .map_err(|e| e.to_string())?;
            out.push_str(&table_rows(detector, &s));
            if let Some(p) = s.get(Profile::Standard) {
                thresholds.insert(detector.clone(), p.threshold);
            }
        }
        if let Some(base) = scores.get("zscore") {
            for (detector, per_file) in scores.iter().filter(|(d, _)| *d != "zscore") {
                if let (Some(&t), Some(&t0)) = (thresholds.get(detector), thresholds.get("zscore"))
                {
                    out.push_str(&earliness(&corpus, detector, per_file, t, base, t0));
                }
            }
        }
    }
    out.push_str(&format!("results written under {}\n", args.out.display()));
    Ok(out)
}

/// The first row of each labelled window (after the probation) whose score reaches the
/// threshold, per file, in window order.
fn first_detections(
    corpus: &Corpus,
    per_file: &std::collections::HashMap<String, Vec<f64>>,
    threshold: f64,
) -> Vec<(usize, usize, Option<usize>)> {
    let mut out = Vec::new();
    for f in corpus.files() {
        let Some(s) = per_file.get(f.key()) else {
            continue;
        };
        for &(start, end) in f.window_rows() {
            if end < f.probation() {
                continue;
            }
            let hit = (start..=end.min(s.len().saturating_sub(1))).find(|&i| s[i] >= threshold);
            out.push((start, end, hit));
        }
    }
    out
}

/// How much earlier `detector` flags NAB's labelled windows than the z-score, each at its
/// standard-profile threshold: windows found, and for the windows both find, the difference of
/// their first detections in rows.
fn earliness(
    corpus: &Corpus,
    detector: &str,
    per_file: &std::collections::HashMap<String, Vec<f64>>,
    threshold: f64,
    zscore: &std::collections::HashMap<String, Vec<f64>>,
    zscore_threshold: f64,
) -> String {
    let a = first_detections(corpus, per_file, threshold);
    let b = first_detections(corpus, zscore, zscore_threshold);
    let found = |v: &[(usize, usize, Option<usize>)]| v.iter().filter(|w| w.2.is_some()).count();
    let mut leads: Vec<i64> = a
        .iter()
        .zip(&b)
        .filter_map(|(x, y)| Some(y.2? as i64 - x.2? as i64))
        .collect();
    leads.sort_unstable();
    let earlier = leads.iter().filter(|&&l| l > 0).count();
    let later = leads.iter().filter(|&&l| l < 0).count();
    let median = if leads.is_empty() {
        "-".to_string()
    } else {
        format!("{}", leads[leads.len() / 2])
    };
    format!(
        "{detector} against zscore (standard thresholds): windows found {} vs {} of {}; on the \
         {} both find, {detector} first in {earlier}, later in {later}, median lead {median} \
         rows\n",
        found(&a),
        found(&b),
        a.len(),
        leads.len()
    )
}

/// Runs `prescient nab-score`; returns the text to print.
pub(crate) fn run_score(args: &NabScoreArgs) -> Result<String, String> {
    let corpus = Corpus::load(&args.data, &args.windows).map_err(|e| e.to_string())?;
    let report = nab::score_results_dir(&args.results, &corpus, &RunParams::default())
        .map_err(|e| e.to_string())?;
    let mut out = format!(
        "scoring {} files, {} windows\n",
        report.files, report.windows
    );
    out.push_str(&table_header());
    for (detector, s) in &report.detectors {
        out.push_str(&table_rows(detector, s));
    }
    for (path, e) in &report.skipped {
        out.push_str(&format!("skipped {path}: {e}\n"));
    }
    if let Some(json) = &args.json {
        let text = serde_json::to_string_pretty(&report.to_json()).map_err(|e| e.to_string())?;
        std::fs::write(json, text).map_err(|e| format!("cannot write {}: {e}", json.display()))?;
    }
    Ok(out)
}

fn table_header() -> String {
    format!(
        "{:<12} {:<20} {:>16} {:>10} {:>8}\n",
        "detector", "profile", "threshold", "raw", "score"
    )
}

fn table_rows(detector: &str, scores: &Scores) -> String {
    let mut out = String::new();
    for p in Profile::ALL {
        if let Some(s) = scores.get(p) {
            out.push_str(&format!(
                "{detector:<12} {:<20} {:>16.12} {:>10.4} {:>8.3}\n",
                p.name(),
                s.threshold,
                s.raw,
                s.normalized.unwrap_or(f64::NAN)
            ));
        }
    }
    out
}

/// The data files as `<category>/<name>.csv` keys, sorted.
fn list_files(data: &Path) -> Result<Vec<String>, String> {
    let read =
        |p: &Path| std::fs::read_dir(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let mut keys = Vec::new();
    for cat in read(data)? {
        let cat = cat.map_err(|e| e.to_string())?.path();
        if !cat.is_dir() {
            continue;
        }
        let Some(cat_name) = cat.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        for f in read(&cat)? {
            let f = f.map_err(|e| e.to_string())?.path();
            if let Some(name) = f.file_name().and_then(|n| n.to_str()) {
                if name.ends_with(".csv") {
                    keys.push(format!("{cat_name}/{name}"));
                }
            }
        }
    }
    keys.sort();
    if keys.is_empty() {
        return Err(format!(
            "no <category>/<name>.csv files under {}",
            data.display()
        ));
    }
    Ok(keys)
}
