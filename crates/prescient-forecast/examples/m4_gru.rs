//! Trains one global GRU on the training parts of the M4 Hourly series, forecasts 48 steps for
//! every series, and writes the forecasts as `series_id,h,value` (the layout `m4_eval.py`
//! scores), the interval ends next to them in the same layout (`OUT.lower.csv`,
//! `OUT.upper.csv`, as `prescient forecast` writes them, for `prescient m4-score --lower
//! --upper`) and, when asked, the 95 % intervals as `series_id,h,lower,upper`.
//!
//! ```text
//! cargo run --release -p prescient-forecast --example m4_gru -- DATA_DIR OUT.csv [INTERVALS.csv]
//!     [--hidden N] [--input N] [--epochs N] [--steps N] [--batch N] [--lr X] [--patience N]
//!     [--ensemble N] [--threads N] [--seed N] [--level N] [--season N] [--clip X]
//!     [--per-series N]
//!     [--covariates none|fingerprint|calendar|calendar+fingerprint]
//!     [--components K] [--fp-window W] [--fp-min-rows N]
//! ```
//!
//! With `--per-series N`, no global model is trained: each of the first `N` series gets a model
//! of its own ([`GruParams::fit`], the `ForecastMethod` path), and only those are written.
//!
//! # Covariates
//!
//! `--covariates` (default `none`) gives the network, with every position of every series:
//!
//! - `fingerprint`: the series' own workload fingerprint, as a `Scaler` would hand it to a
//!   forecaster that takes covariates. The series' values are streamed, one position an hour,
//!   through the features the `Scaler` extracts for a load metric (`RollingStats` over
//!   `--fp-window` values, default 24: mean, standard deviation, minimum, maximum;
//!   `RateOfChange::new(1)`: rate and acceleration) and a `Fingerprinter`
//!   (`FingerprintParams::new(K)`, `K` = `--components`, default 2, every vector kept, first
//!   fit after `--fp-min-rows` vectors, default 96, refitted as the history doubles); the
//!   covariates of a position are its fingerprint divided by each component's standard
//!   deviation over the fit (`RegimeMonitor::covariates`), zeros before the first fit. Each
//!   position's covariates use only the values up to it, so nothing is looked ahead.
//! - `calendar`: [`gru_calendar`] of the position, taking position `i` of every series to be
//!   `i` hours after 1970-01-01T00:00Z. M4 gives no dates, so this is the phase within the day
//!   and the week counted from the series' first value, not the clock: a control that adds four
//!   covariates of order 1 and no information about the workload.
//! - `calendar+fingerprint`: both, the calendar first (`4 + K` covariates).
//!
//! The network reads the covariates of its input window only (each cell step sees those of its
//! chunk's last position) and forecasts the 48 steps at once, so no future covariate is needed.
//!
//! Only `DATA_DIR/train.csv` is read. Training and prediction wall and CPU times, and the
//! training report, go to standard error. Unset options keep [`GruParams`]' defaults, except
//! `--threads`, which defaults to 2.

#![allow(clippy::print_stderr)] // An example reports what it measured.
#![allow(clippy::disallowed_methods)] // Examples may read the clock: timing is their point.

use std::error::Error;
use std::io::Write;
use std::time::Instant;

use prescient_core::{FeatureExtractor, Forecaster, Timestamp};
use prescient_features::{FingerprintParams, RateOfChange, RollingStats};
use prescient_forecast::{GruParams, gru_calendar};

mod common;

const HORIZON: usize = 48;
const LEVEL: f64 = 0.95;

/// Seconds between two positions of a series: M4 Hourly is hourly.
const STEP_SECS: i64 = 3600;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The covariates the network sees with each position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Covariates {
    None,
    Fingerprint,
    Calendar,
    CalendarFingerprint,
}

impl Covariates {
    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "none" => Covariates::None,
            "fingerprint" => Covariates::Fingerprint,
            "calendar" => Covariates::Calendar,
            "calendar+fingerprint" => Covariates::CalendarFingerprint,
            other => return Err(format!("unknown covariates {other:?}").into()),
        })
    }

    fn calendar(self) -> bool {
        matches!(self, Covariates::Calendar | Covariates::CalendarFingerprint)
    }

    fn fingerprint(self) -> bool {
        matches!(
            self,
            Covariates::Fingerprint | Covariates::CalendarFingerprint
        )
    }

    /// Covariates per position with a fingerprint of `k` components.
    fn width(self, k: usize) -> usize {
        4 * usize::from(self.calendar()) + k * usize::from(self.fingerprint())
    }
}

/// How the fingerprint covariates are made.
#[derive(Debug, Clone, Copy)]
struct FingerprintSettings {
    /// The `RollingStats` window.
    window: usize,
    /// The fingerprint's dimension.
    components: usize,
    /// Feature vectors before the first fit.
    min_rows: usize,
}

/// The time of position `i` of a series (M4 gives no dates: hours from the epoch).
fn position_time(i: usize) -> Timestamp {
    Timestamp::from_secs(i as i64 * STEP_SECS)
}

/// The whitened fingerprint of every position of `y`, `y.len() × components` values, row-major,
/// computed in one streaming pass: the features and the fingerprint of position `i` see the
/// values up to `i` only.
fn fingerprint_covariates(y: &[f64], s: FingerprintSettings) -> Result<Vec<f64>> {
    let k = s.components;
    let mut stats = RollingStats::new(s.window)?;
    let mut rate = RateOfChange::new(1)?;
    let mut fp = FingerprintParams::new(k)
        .keep_every(1)
        .min_rows(s.min_rows)
        .build(stats.len() + rate.len())?;
    let mut x = vec![0.0; stats.len() + rate.len()];
    let mut out = Vec::with_capacity(y.len() * k);
    for (i, &v) in y.iter().enumerate() {
        let ts = position_time(i);
        // As a Scaler's tick: the features take the value, then the fingerprint the features.
        stats.update(ts, v);
        rate.update(ts, v);
        let (a, b) = x.split_at_mut(stats.len());
        stats.extract_inplace(a);
        rate.extract_inplace(b);
        fp.update(ts, &x)?;
        match (fp.pca(), fp.fingerprint()) {
            (Some(pca), Some(f)) => {
                // As `RegimeMonitor::covariates`: unit variance over the fit.
                for (f, var) in f.iter().zip(pca.explained_variance()) {
                    out.push(if *var > 0.0 { f / var.sqrt() } else { 0.0 });
                }
            }
            _ => out.extend(std::iter::repeat_n(0.0, k)),
        }
    }
    Ok(out)
}

/// The covariates of every position of `y`, row-major (empty without covariates).
fn covariates_of(y: &[f64], kind: Covariates, s: FingerprintSettings) -> Result<Vec<f64>> {
    let fingerprint = if kind.fingerprint() {
        fingerprint_covariates(y, s)?
    } else {
        Vec::new()
    };
    let d = kind.width(s.components);
    let mut out = Vec::with_capacity(y.len() * d);
    for i in 0..y.len() {
        if kind.calendar() {
            out.extend_from_slice(&gru_calendar(position_time(i)));
        }
        if kind.fingerprint() {
            out.extend_from_slice(&fingerprint[i * s.components..(i + 1) * s.components]);
        }
    }
    Ok(out)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let mut params = GruParams::new().threads(2);
    let mut per_series: Option<usize> = None;
    let mut kind = Covariates::None;
    let mut fp = FingerprintSettings {
        window: 24,
        components: 2,
        min_rows: 96,
    };
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if let Some(flag) = a.strip_prefix("--") {
            let v = args
                .get(i + 1)
                .ok_or_else(|| format!("--{flag} needs a value"))?;
            params = match flag {
                "hidden" => params.hidden(v.parse()?),
                "input" => params.input(v.parse()?),
                "epochs" => params.epochs(v.parse()?),
                "steps" => params.steps_per_epoch(v.parse()?),
                "batch" => params.batch_size(v.parse()?),
                "lr" => params.learning_rate(v.parse()?),
                "patience" => params.patience(v.parse()?),
                "ensemble" => params.ensemble(v.parse()?),
                "threads" => params.threads(v.parse()?),
                "seed" => params.seed(v.parse()?),
                "level" => params.level(v.parse()?),
                "season" => params.season(v.parse()?),
                "clip" => params.clip(v.parse()?),
                "per-series" => {
                    per_series = Some(v.parse()?);
                    params
                }
                "covariates" => {
                    kind = Covariates::parse(v)?;
                    params
                }
                "components" => {
                    fp.components = v.parse()?;
                    params
                }
                "fp-window" => {
                    fp.window = v.parse()?;
                    params
                }
                "fp-min-rows" => {
                    fp.min_rows = v.parse()?;
                    params
                }
                other => return Err(format!("unknown option --{other}").into()),
            };
            i += 2;
        } else {
            positional.push(a.clone());
            i += 1;
        }
    }
    let [dir, out_path, rest @ ..] = positional.as_slice() else {
        return Err("usage: m4_gru DATA_DIR OUT.csv [INTERVALS.csv] [--option value …]".into());
    };
    let train = common::read_long(&std::path::Path::new(dir).join("train.csv"))?;
    let series: Vec<&[f64]> = train.iter().map(|(_, y)| y.as_slice()).collect();
    let d = kind.width(fp.components);
    let params = params.horizon(HORIZON).covariates(d);
    eprintln!("{params:?}");
    if kind != Covariates::None {
        eprintln!("covariates {kind:?}: {d} per position; fingerprint settings {fp:?}");
    }

    if let Some(n) = per_series {
        if d > 0 {
            return Err("--per-series takes no covariates".into());
        }
        let (wall, cpu) = (Instant::now(), common::cpu_seconds().unwrap_or(0.0));
        let mut out = std::io::BufWriter::new(std::fs::File::create(out_path)?);
        writeln!(out, "series_id,h,value")?;
        for (id, y) in train.iter().take(n) {
            let f = params.fit(y)?.predict(HORIZON, LEVEL)?;
            for (h, p) in f.point.iter().enumerate() {
                writeln!(out, "{id},{},{p}", h + 1)?;
            }
        }
        out.flush()?;
        eprintln!(
            "per-series fit and predict of {n} series: {:.1} s wall, {:.1} s CPU",
            wall.elapsed().as_secs_f64(),
            common::cpu_seconds().unwrap_or(0.0) - cpu
        );
        return Ok(());
    }
    let (wall, cpu) = (Instant::now(), common::cpu_seconds().unwrap_or(0.0));
    let covariates = series
        .iter()
        .map(|y| covariates_of(y, kind, fp))
        .collect::<Result<Vec<_>>>()?;
    if d > 0 {
        let mut size: Vec<f64> = covariates.iter().flatten().map(|c| c.abs()).collect();
        size.sort_by(f64::total_cmp);
        let q = |p: f64| size[((size.len() - 1) as f64 * p).round() as usize];
        eprintln!(
            "covariates of {} series: {:.2} s wall, {:.2} s CPU; magnitude: median {:.2}, \
             99% {:.1}, 99.9% {:.1}, largest {:.1}",
            series.len(),
            wall.elapsed().as_secs_f64(),
            common::cpu_seconds().unwrap_or(0.0) - cpu,
            q(0.5),
            q(0.99),
            q(0.999),
            q(1.0)
        );
    }
    let (wall, cpu) = (Instant::now(), common::cpu_seconds().unwrap_or(0.0));
    let cov_refs: Vec<&[f64]> = covariates.iter().map(Vec::as_slice).collect();
    let model = params.fit_global_with_covariates(&series, &cov_refs)?;
    let (train_wall, train_cpu) = (
        wall.elapsed().as_secs_f64(),
        common::cpu_seconds().unwrap_or(0.0) - cpu,
    );
    for (k, m) in model.report().members.iter().enumerate() {
        eprintln!(
            "member {k}: {} epochs, kept epoch {}, train loss {:.4}, validation loss {:.4}",
            m.epochs, m.best_epoch, m.train_loss, m.validation_loss
        );
    }
    eprintln!(
        "ensemble validation loss {:.4}; {} weights per network",
        model.report().validation_loss.unwrap_or(f64::NAN),
        model.weights()
    );

    let (wall, cpu) = (Instant::now(), common::cpu_seconds().unwrap_or(0.0));
    let mut forecasts = Vec::with_capacity(train.len());
    for ((id, y), c) in train.iter().zip(&covariates) {
        // The covariates of the input window only: the 48 steps come out at once.
        let f = model
            .forecaster_with_covariates(y, c)?
            .predict(HORIZON, LEVEL)?;
        forecasts.push((id, f));
    }
    let (pred_wall, pred_cpu) = (
        wall.elapsed().as_secs_f64(),
        common::cpu_seconds().unwrap_or(0.0) - cpu,
    );

    let mut out = std::io::BufWriter::new(std::fs::File::create(out_path)?);
    writeln!(out, "series_id,h,value")?;
    for (id, f) in &forecasts {
        for (h, p) in f.point.iter().enumerate() {
            writeln!(out, "{id},{},{p}", h + 1)?;
        }
    }
    out.flush()?;
    for (suffix, end) in [("lower", 0), ("upper", 1)] {
        let path = sibling(std::path::Path::new(out_path), suffix);
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(out, "series_id,h,value")?;
        for (id, f) in &forecasts {
            let values = if end == 0 { &f.lower } else { &f.upper };
            for (h, v) in values.iter().enumerate() {
                writeln!(out, "{id},{},{v}", h + 1)?;
            }
        }
        out.flush()?;
    }
    if let Some(path) = rest.first() {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(out, "series_id,h,lower,upper")?;
        for (id, f) in &forecasts {
            for h in 0..f.len() {
                writeln!(out, "{id},{},{},{}", h + 1, f.lower[h], f.upper[h])?;
            }
        }
        out.flush()?;
    }
    eprintln!(
        "train: {train_wall:.1} s wall, {train_cpu:.1} s CPU; predict {} series: {pred_wall:.3} s wall, {pred_cpu:.3} s CPU",
        train.len()
    );
    Ok(())
}

/// `path` with `.suffix` before its extension (`fc.csv` → `fc.lower.csv`), as `prescient
/// forecast` names its interval files.
fn sibling(path: &std::path::Path, suffix: &str) -> std::path::PathBuf {
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
