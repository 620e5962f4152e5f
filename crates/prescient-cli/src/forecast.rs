//! `prescient forecast`: fits a model to every series of a long CSV and writes the forecasts;
//! `prescient m4-score`: scores a forecast file with the M4 measures.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::ProgressBar;
use prescient::forecast::{Combination, EnsembleParams, GruParams, models};
use prescient::types::ForecastMethod;
use prescient_eval::m4::{self, Dataset, Series};

use crate::progress;

/// Settings of `prescient forecast`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ForecastArgs {
    /// Training series, long CSV `series_id,t,value` (t from 1, rows of a series together).
    #[arg(long)]
    pub(crate) train: PathBuf,
    /// Steps to forecast.
    #[arg(long)]
    pub(crate) horizon: usize,
    /// Seasonal period in steps (24 for hourly data).
    #[arg(long, default_value_t = 24)]
    pub(crate) season: usize,
    /// The model: snaive, naive2, ets, mstl, arima, prophet, gru (a global model trained across
    /// all the series), ensemble.
    #[arg(long)]
    pub(crate) model: String,
    /// The ensemble's members, comma-separated (default: the library's default ensemble).
    #[arg(long, value_delimiter = ',')]
    pub(crate) members: Vec<String>,
    /// How the ensemble combines its members: median, mean, inverse-error, best.
    #[arg(long)]
    pub(crate) combination: Option<String>,
    /// The ensemble's backtest origins, each `--horizon` steps apart (default 2; 1 with a gru
    /// member, whose training saw every earlier window).
    #[arg(long)]
    pub(crate) folds: Option<usize>,
    /// Where to write the point forecasts, long CSV `series_id,h,value`; the interval ends go
    /// next to it (`OUT.lower.csv`, `OUT.upper.csv` for `OUT.csv`).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Coverage of the prediction intervals.
    #[arg(long, default_value_t = 0.95)]
    pub(crate) level: f64,
    /// Worker threads (series are spread over them; the output does not depend on it).
    #[arg(long, default_value_t = 1)]
    pub(crate) jobs: usize,
    /// A test file (long CSV `series_id,h,value`): score the forecasts with the M4 measures and
    /// the intervals' coverage.
    #[arg(long)]
    pub(crate) test: Option<PathBuf>,
}

/// Settings of `prescient m4-score`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct M4ScoreArgs {
    /// Training series, long CSV.
    #[arg(long)]
    pub(crate) train: PathBuf,
    /// Test series, long CSV.
    #[arg(long)]
    pub(crate) test: PathBuf,
    /// Forecasts, long CSV `series_id,h,value`.
    #[arg(long)]
    pub(crate) forecasts: PathBuf,
    /// Seasonal period for MASE and Naive2.
    #[arg(long, default_value_t = 24)]
    pub(crate) season: usize,
    /// Lower ends of the prediction intervals, long CSV `series_id,h,value` (with `--upper`:
    /// also report the share of test values inside the intervals).
    #[arg(long, requires = "upper")]
    pub(crate) lower: Option<PathBuf>,
    /// Upper ends of the prediction intervals, long CSV `series_id,h,value`.
    #[arg(long, requires = "lower")]
    pub(crate) upper: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// One series' forecast, or why it fell back.
struct Outcome {
    point: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    fallback: Option<String>,
}

/// Fits `method` on `y` and forecasts; on failure, the seasonal naive forecast (and why).
fn forecast_one(method: &dyn ForecastMethod, y: &[f64], args: &ForecastArgs) -> Outcome {
    let attempt = method
        .fit(y)
        .and_then(|m| m.predict(args.horizon, args.level));
    match attempt {
        Ok(f) => Outcome {
            point: f.point,
            lower: f.lower,
            upper: f.upper,
            fallback: None,
        },
        Err(e) => {
            let fallback = models::method("snaive", args.season)
                .and_then(|m| m.fit(y))
                .and_then(|m| m.predict(args.horizon, args.level));
            match fallback {
                Ok(f) => Outcome {
                    point: f.point,
                    lower: f.lower,
                    upper: f.upper,
                    fallback: Some(e.to_string()),
                },
                Err(e2) => {
                    let last = y
                        .iter()
                        .rev()
                        .find(|v| v.is_finite())
                        .copied()
                        .unwrap_or(0.0);
                    let v = vec![last; args.horizon];
                    Outcome {
                        point: v.clone(),
                        lower: v.clone(),
                        upper: v,
                        fallback: Some(format!("{e}; seasonal naive failed too: {e2}")),
                    }
                }
            }
        }
    }
}

/// Runs `f` on every series over `jobs` threads; results in input order. `progress` advances
/// by one per series.
fn parallel<T: Send>(
    series: &[Series],
    jobs: usize,
    progress: &ProgressBar,
    f: impl Fn(&Series) -> T + Sync,
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<T>> = (0..series.len()).map(|_| None).collect();
    let chunks: Vec<Vec<(usize, T)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..jobs.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = series.get(i) else { break };
                        done.push((i, f(item)));
                        progress.inc(1);
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for (i, t) in chunks.into_iter().flatten() {
        slots[i] = Some(t);
    }
    slots.into_iter().flatten().collect()
}

/// User and system CPU seconds of this process so far, from `/proc/self/stat` (Linux; `None`
/// elsewhere). Linux reports them in USER_HZ ticks, 100 per second on every architecture it
/// exports to user space.
pub(crate) fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime) are 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The method called `name`; `gru` is a global model, trained here across every series of
/// `train` (their training values only) before any series is forecast.
/// Ensemble members come without their own conformal intervals (`member`): the ensemble
/// calibrates the combination.
fn named_method(
    name: &str,
    member: bool,
    args: &ForecastArgs,
    train: &[Series],
    log: &mut String,
) -> Result<Box<dyn ForecastMethod>, String> {
    if name != "gru" {
        let method = if member {
            models::base_method(name, args.season)
        } else {
            models::method(name, args.season)
        };
        return method.map_err(|e| e.to_string());
    }
    let series: Vec<&[f64]> = train.iter().map(|s| s.values.as_slice()).collect();
    let params = GruParams::new()
        .season(args.season)
        .horizon(args.horizon)
        .threads(args.jobs.max(1));
    #[allow(clippy::disallowed_methods)]
    let (wall0, cpu0) = (Instant::now(), cpu_seconds());
    let spinner = progress::spinner(format!("gru: training on {} series", train.len()));
    let model = params.fit_global(&series);
    spinner.finish_and_clear();
    let model = model.map_err(|e| e.to_string())?;
    let cpu = cpu_seconds()
        .zip(cpu0)
        .map_or("n/a".to_string(), |(b, a)| format!("{:.2} s", b - a));
    let _ = writeln!(
        log,
        "gru: global model trained on {} series in {:.2} s wall, {cpu} CPU",
        train.len(),
        wall0.elapsed().as_secs_f64()
    );
    Ok(Box::new(model))
}

/// The method `--model` (and, for an ensemble, `--members` and `--combination`) names.
fn build_method(
    args: &ForecastArgs,
    train: &[Series],
    log: &mut String,
) -> Result<Box<dyn ForecastMethod>, String> {
    if args.model != "ensemble" {
        if !args.members.is_empty() || args.combination.is_some() || args.folds.is_some() {
            return Err("--members, --combination and --folds are for --model ensemble".into());
        }
        return named_method(&args.model, false, args, train, log);
    }
    let names: Vec<&str> = if args.members.is_empty() {
        models::ENSEMBLE_MEMBERS.to_vec()
    } else {
        args.members.iter().map(String::as_str).collect()
    };
    if names.contains(&"ensemble") {
        return Err("an ensemble cannot be a member of an ensemble".into());
    }
    let members = names
        .iter()
        .map(|name| named_method(name, true, args, train, log))
        .collect::<Result<Vec<_>, String>>()?;
    // A global GRU was trained on every window that ends before each series' last `horizon`
    // values (those were its early-stopping tail): only the last fold is out of its sample.
    let default_folds = if names.contains(&"gru") { 1 } else { 2 };
    let mut params = EnsembleParams::new(members)
        .backtest_horizon(args.horizon)
        .folds(args.folds.unwrap_or(default_folds));
    if let Some(c) = &args.combination {
        params = params.combination(match c.as_str() {
            "median" => Combination::Median,
            "mean" => Combination::Mean,
            "inverse-error" => Combination::InverseError,
            "best" => Combination::Best,
            other => {
                return Err(format!(
                    "unknown combination `{other}`; known: median, mean, inverse-error, best"
                ));
            }
        });
    }
    Ok(Box::new(params))
}

pub(crate) fn run(args: &ForecastArgs) -> Result<String, String> {
    if args.horizon == 0 {
        return Err("--horizon must be at least 1".into());
    }
    let train = m4::read_long(&args.train).map_err(|e| e.to_string())?;
    let mut text = String::new();
    // The CLI reports its own run time: reading the clock is its job, not the library's. The
    // time includes the training of a global model.
    #[allow(clippy::disallowed_methods)]
    let (wall0, cpu0) = (Instant::now(), cpu_seconds());
    let method = build_method(args, &train, &mut text)?;
    let bar = progress::bar(train.len(), format!("{}: series", args.model));
    let outcomes = parallel(&train, args.jobs, &bar, |s| {
        forecast_one(method.as_ref(), &s.values, args)
    });
    bar.finish_and_clear();
    let wall = wall0.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);

    let pick = |g: fn(&Outcome) -> &Vec<f64>| -> Vec<Series> {
        train
            .iter()
            .zip(&outcomes)
            .map(|(s, o)| Series {
                id: s.id.clone(),
                values: g(o).clone(),
            })
            .collect()
    };
    let (point, lower, upper) = (pick(|o| &o.point), pick(|o| &o.lower), pick(|o| &o.upper));
    for (s, o) in train.iter().zip(&outcomes) {
        if let Some(why) = &o.fallback {
            let _ = writeln!(
                text,
                "warning: {}: {} failed ({why}); seasonal naive used",
                s.id, args.model
            );
        }
    }
    let (lower_path, upper_path) = (
        m4::sibling(&args.out, "lower"),
        m4::sibling(&args.out, "upper"),
    );
    for (path, f) in [
        (&args.out, &point),
        (&lower_path, &lower),
        (&upper_path, &upper),
    ] {
        m4::write_long(path, f).map_err(|e| e.to_string())?;
    }
    let fallbacks = outcomes.iter().filter(|o| o.fallback.is_some()).count();
    let _ = writeln!(
        text,
        "{}: {} series x {} steps written to {} (intervals at {}: {}, {}); {fallbacks} fell back",
        args.model,
        train.len(),
        args.horizon,
        args.out.display(),
        args.level,
        lower_path.display(),
        upper_path.display()
    );
    let cpu_text = cpu.map_or("n/a".to_string(), |c| format!("{c:.2} s"));
    let _ = writeln!(
        text,
        "time: wall {wall:.2} s, CPU {cpu_text} ({} jobs)",
        args.jobs.max(1)
    );
    if let Some(test_path) = &args.test {
        let data = Dataset {
            test: m4::read_long(test_path).map_err(|e| e.to_string())?,
            horizon: args.horizon,
            period: args.season,
            train,
        };
        let scores = m4::evaluate(&data, &point).map_err(|e| e.to_string())?;
        let coverage = m4::coverage(&data, &lower, &upper);
        let _ = writeln!(
            text,
            "sMAPE {:.3}  MASE {:.3}  OWA {:.3}  (Naive2 sMAPE {:.3}, MASE {:.3}); coverage of the {:.0}% intervals {:.1}%",
            scores.smape,
            scores.mase,
            scores.owa,
            scores.naive2_smape,
            scores.naive2_mase,
            100.0 * args.level,
            100.0 * coverage
        );
    }
    Ok(text)
}

pub(crate) fn run_score(args: &M4ScoreArgs) -> Result<String, String> {
    let train = m4::read_long(&args.train).map_err(|e| e.to_string())?;
    let test = m4::read_long(&args.test).map_err(|e| e.to_string())?;
    let forecasts = m4::read_long(&args.forecasts).map_err(|e| e.to_string())?;
    let horizon = test.first().map_or(0, |s| s.values.len());
    let data = Dataset {
        train,
        test,
        horizon,
        period: args.season,
    };
    let scores = m4::evaluate(&data, &forecasts).map_err(|e| e.to_string())?;
    let coverage = match (&args.lower, &args.upper) {
        (Some(lower), Some(upper)) => {
            let lower = m4::read_long(lower).map_err(|e| e.to_string())?;
            let upper = m4::read_long(upper).map_err(|e| e.to_string())?;
            Some(m4::coverage(&data, &lower, &upper))
        }
        _ => None,
    };
    if args.json {
        let mut value = serde_json::to_value(&scores).map_err(|e| e.to_string())?;
        if let (Some(c), Some(map)) = (coverage, value.as_object_mut()) {
            map.insert("coverage".into(), serde_json::json!(c));
        }
        serde_json::to_string_pretty(&value)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string())
    } else {
        let mut text = format!(
            "series {}  horizon {}\nsMAPE {:.3}\nMASE  {:.3}\nOWA   {:.3}  (Naive2 sMAPE {:.3}, MASE {:.3})\n",
            scores.series,
            scores.horizon,
            scores.smape,
            scores.mase,
            scores.owa,
            scores.naive2_smape,
            scores.naive2_mase
        );
        if let Some(c) = coverage {
            let _ = writeln!(text, "coverage of the intervals {:.1}%", 100.0 * c);
        }
        Ok(text)
    }
}
