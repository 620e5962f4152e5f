//! The Rust NAB scorer against the reference `nab_score.py` on the shared NAB subset (34 files).
//!
//! Three deterministic detectors are computed here (a rolling z-score, the same quantised to
//! eighths so that many scores tie, and a seeded LCG with a NaN in every probationary period),
//! written in NAB's results layout to a temporary folder, and scored by both implementations:
//! with the threshold sweep on all files, with the sweep on one category, and with the
//! thresholds tuned on that category applied to all files (`--thresholds`).
//!
//! Needs `../shared` (next to the repository) and `python3`; without them the test prints
//! `skipped: <reason>` and passes, unless `PRESCIENT_REQUIRE_SHARED=1`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use prescient_eval::nab::{
    Corpus, Profile, RunParams, RunReport, ScoreParams, ThresholdTable, score_results_dir,
    write_results,
};
use serde_json::Value;

const TOLERANCE: f64 = 1e-9;

struct Shared {
    script: PathBuf,
    data: PathBuf,
    windows: PathBuf,
}

fn shared() -> Result<Shared, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    let s = Shared {
        script: root.join("eval/nab_score.py"),
        data: root.join("data/nab/data"),
        windows: root.join("data/nab/labels/combined_windows.json"),
    };
    for p in [&s.script, &s.data, &s.windows] {
        if !p.exists() {
            return Err(format!("{} not found", p.display()));
        }
    }
    match Command::new("python3").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(s),
        Ok(o) => Err(format!("python3 --version failed: {}", o.status)),
        Err(e) => Err(format!("python3 not runnable: {e}")),
    }
}

/// |z| / (1 + |z|) of each value against the mean and standard deviation of the 60 before it.
fn zscore(values: &[f64]) -> Vec<f64> {
    const W: usize = 60;
    (0..values.len())
        .map(|i| {
            if i < 2 {
                return 0.0;
            }
            let past = &values[i.saturating_sub(W)..i];
            let n = past.len() as f64;
            let mean = past.iter().sum::<f64>() / n;
            let var = past.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
            let d = (values[i] - mean).abs();
            let z = if var > 0.0 {
                d / var.sqrt()
            } else if d > 0.0 {
                10.0
            } else {
                0.0
            };
            z / (1.0 + z)
        })
        .collect()
}

/// Uniform in [0, 1) from a 64-bit LCG seeded by the file key; NaN in row 0, which is always in
/// the probationary period and so ignored by both scorers.
fn lcg(key: &str, n: usize) -> Vec<f64> {
    let mut state = key.bytes().fold(0x9E37_79B9_7F4A_7C15_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    });
    (0..n)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            if i == 0 {
                f64::NAN
            } else {
                (state >> 11) as f64 / (1u64 << 53) as f64
            }
        })
        .collect()
}

type Detectors = BTreeMap<String, BTreeMap<String, Vec<f64>>>;

fn detectors(corpus: &Corpus) -> Detectors {
    let mut out: Detectors = BTreeMap::new();
    for f in corpus.files() {
        let v = f.series().values();
        let z = zscore(v);
        let steps = z.iter().map(|s| (s * 8.0).floor() / 8.0).collect();
        let key = f.key().to_string();
        out.entry("zscore".into())
            .or_default()
            .insert(key.clone(), z);
        out.entry("steps".into())
            .or_default()
            .insert(key.clone(), steps);
        out.entry("lcg".into())
            .or_default()
            .insert(key.clone(), lcg(&key, v.len()));
    }
    out
}

fn run_python(sh: &Shared, results: &Path, out: &Path, extra: &[&str]) -> Value {
    let output = Command::new("python3")
        .arg(&sh.script)
        .arg("--results")
        .arg(results)
        .arg("--data")
        .arg(&sh.data)
        .arg("--windows")
        .arg(&sh.windows)
        .arg("--json")
        .arg(out)
        .args(extra)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "nab_score.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(out).expect("python wrote its JSON");
    serde_json::from_str(&text).expect("python's JSON parses")
}

/// Compares a Rust report with the reference's JSON; returns the largest difference of the
/// normalised score per profile.
fn compare(label: &str, py: &Value, rs: &RunReport) -> BTreeMap<Profile, f64> {
    assert!(rs.skipped.is_empty(), "{label}: skipped {:?}", rs.skipped);
    assert_eq!(py["files"], rs.files, "{label}: files");
    assert_eq!(py["windows"], rs.windows, "{label}: windows");
    let py_dets = py["detectors"].as_object().expect("detectors");
    assert_eq!(py_dets.len(), rs.detectors.len(), "{label}: detector count");
    let mut worst = BTreeMap::new();
    for (det, scores) in &rs.detectors {
        for p in &scores.profiles {
            let e = &py_dets[det][p.profile.name()];
            let what = format!("{label}: {det} / {}", p.profile);
            let py_score = e["score"].as_f64().expect("score");
            let rs_score = p.normalized.expect("normalised score");
            let diff = (py_score - rs_score).abs();
            assert!(diff <= TOLERANCE, "{what}: score {py_score} vs {rs_score}");
            let w = worst.entry(p.profile).or_insert(0.0_f64);
            *w = w.max(diff);
            let py_raw = e["raw"].as_f64().expect("raw");
            assert!(
                (py_raw - p.raw).abs() <= TOLERANCE,
                "{what}: raw {py_raw} vs {}",
                p.raw
            );
            // Thresholds are scores read from the same text: they must be identical.
            match e["threshold"].as_f64() {
                None => assert!(
                    p.threshold.is_infinite(),
                    "{what}: threshold {}",
                    p.threshold
                ),
                Some(t) => assert_eq!(t, p.threshold, "{what}: threshold"),
            }
            assert_eq!(e["windows_detected"], p.true_positives, "{what}");
            assert_eq!(e["windows_missed"], p.false_negatives, "{what}");
            assert_eq!(e["fp_rows"], p.false_positives, "{what}");
            assert_eq!(e["null"].as_f64(), Some(p.null), "{what}: null");
            assert_eq!(e["perfect"].as_f64(), Some(p.perfect), "{what}: perfect");
            if let Some(files) = &p.files {
                assert_eq!(e["files"].as_object().map(|o| o.len()), Some(files.len()));
                for (key, raw) in files {
                    let py_raw = e["files"][key].as_f64().expect("per-file raw");
                    assert!((py_raw - raw).abs() <= TOLERANCE, "{what}: {key} raw");
                }
            }
        }
    }
    worst
}

#[test]
fn nab_scores_agree_with_python() {
    let sh = match shared() {
        Ok(s) => s,
        Err(reason) => {
            if std::env::var("PRESCIENT_REQUIRE_SHARED").as_deref() == Ok("1") {
                panic!("PRESCIENT_REQUIRE_SHARED=1 but {reason}");
            }
            eprintln!("skipped: {reason}");
            return;
        }
    };
    let corpus = Corpus::load(&sh.data, &sh.windows).expect("shared NAB data loads");
    assert_eq!(corpus.files().len(), 34);
    assert_eq!(corpus.window_count(), 50);
    assert!(corpus.warnings().is_empty(), "{:?}", corpus.warnings());

    let dir = std::env::temp_dir().join(format!("prescient-eval-nab-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let results = dir.join("results");
    let dets = detectors(&corpus);
    for (det, files) in &dets {
        for (key, scores) in files {
            let series = corpus.file(key).expect("key of the corpus").series();
            write_results(&results, det, key, series, scores).expect("results written");
        }
    }

    // 1. The sweep on every file, with per-file raw scores, from disk and in memory.
    let py = run_python(&sh, &results, &dir.join("all.json"), &["--per-file"]);
    let per_file = RunParams {
        per_file: true,
        ..RunParams::default()
    };
    let rs = score_results_dir(&results, &corpus, &per_file).expect("rust scores");
    let worst_sweep = compare("sweep", &py, &rs);
    let mem_params = ScoreParams {
        per_file: true,
        ..ScoreParams::default()
    };
    for (det, files) in &dets {
        let mem = corpus.score(files, &mem_params).expect("in-memory scores");
        assert_eq!(&mem, &rs.detectors[det], "{det}: in memory vs from disk");
    }

    // 2. The sweep on one category.
    let cat = "realAWSCloudwatch";
    let py_cat = run_python(&sh, &results, &dir.join("cat.json"), &["--categories", cat]);
    let sub = corpus.restrict_to_categories(&[cat]).expect("category");
    assert_eq!(sub.files().len(), 17);
    let rs_cat = score_results_dir(&results, &sub, &RunParams::default()).expect("rust scores");
    let worst_cat = compare("categories", &py_cat, &rs_cat);

    // 3. The thresholds tuned on that category, applied to every file; one detector has no
    //    entry (optimised) and one profile is "never fire".
    let mut tuned: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cat.json")).expect("json"))
            .expect("json parses");
    let dets_json = tuned["detectors"].as_object_mut().expect("detectors");
    dets_json.remove("lcg");
    dets_json["steps"]["reward_low_FN_rate"]["threshold"] = Value::Null;
    let fixed_path = dir.join("fixed.json");
    std::fs::write(&fixed_path, tuned.to_string()).expect("fixed thresholds written");
    let fixed_arg = fixed_path.to_str().expect("utf-8 temp path");
    let py_fixed = run_python(
        &sh,
        &results,
        &dir.join("fixed_out.json"),
        &["--thresholds", fixed_arg],
    );
    let params = RunParams {
        thresholds: Some(ThresholdTable::read(&fixed_path).expect("thresholds")),
        ..RunParams::default()
    };
    let rs_fixed = score_results_dir(&results, &corpus, &params).expect("rust scores");
    let worst_fixed = compare("fixed", &py_fixed, &rs_fixed);
    assert!(
        rs_fixed.detectors["steps"]
            .get(Profile::RewardLowFnRate)
            .is_some_and(|p| p.threshold.is_infinite() && !p.tuned)
    );
    assert!(rs_fixed.detectors["lcg"].profiles.iter().all(|p| p.tuned));
    assert!(
        rs_fixed.detectors["zscore"]
            .profiles
            .iter()
            .all(|p| !p.tuned)
    );

    eprintln!("max |score difference| sweep {worst_sweep:?}");
    eprintln!("max |score difference| categories {worst_cat:?}");
    eprintln!("max |score difference| fixed {worst_fixed:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
