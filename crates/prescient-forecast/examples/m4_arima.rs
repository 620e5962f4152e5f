//! Fits AutoARIMA to the M4 Hourly series and writes the 48-step forecasts as
//! `series_id,h,value` (the layout `m4_eval.py` scores), the 95% intervals as
//! `series_id,h,lower,upper`, and prints the time taken and the interval coverage.
//!
//! ```text
//! cargo run --release -p prescient-forecast --example m4_arima -- \
//!     [--data ../shared/data/m4-hourly] [--out arima.csv] [--intervals arima_pi.csv] \
//!     [--limit N] [--workers 2] [--strategy decompose|sarima|none] [--seasons 24,168] \
//!     [--approx auto|on|off] [--orders orders.csv]
//! python3 ../shared/eval/m4_eval.py --data ../shared/data/m4-hourly --forecasts arima.csv
//! ```
//!
//! The series are split between `--workers` threads (each takes the next unfitted series);
//! the output keeps the file's series order whatever the scheduling. Wall time is the whole
//! run; CPU time is the process's user + system time from `/proc/self/stat` (Linux), minus
//! the time spent reading the data.

#![allow(clippy::print_stdout, clippy::print_stderr)] // An example reports what it measured.
#![allow(clippy::disallowed_methods)] // Examples may read the clock: timing is their point.

use std::collections::BTreeMap;
use std::error::Error;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use prescient_core::Forecaster;
use prescient_forecast::{AutoArima, AutoArimaParams, SeasonalStrategy};

mod common;

const HORIZON: usize = 48;
const LEVEL: f64 = 0.95;

type Result<T> = std::result::Result<T, Box<dyn Error>>;
use common::Series;

struct Outcome {
    point: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    order: String,
    seconds: f64,
}

fn main() -> Result<()> {
    let mut data = std::path::PathBuf::from("../shared/data/m4-hourly");
    let mut out_path = std::path::PathBuf::from("arima.csv");
    let mut pi_path: Option<std::path::PathBuf> = None;
    let mut orders_path: Option<std::path::PathBuf> = None;
    let mut limit = usize::MAX;
    let mut only: Vec<String> = Vec::new();
    let mut workers = 2usize;
    let mut strategy = "decompose".to_string();
    let mut seasons = vec![24usize];
    let mut approx = "auto".to_string();
    let mut swin: Option<Vec<usize>> = None;
    let mut log = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--data" => data = val()?.into(),
            "--out" => out_path = val()?.into(),
            "--intervals" => pi_path = Some(val()?.into()),
            "--orders" => orders_path = Some(val()?.into()),
            "--limit" => limit = val()?.parse()?,
            "--only" => only = val()?.split(',').map(str::to_string).collect(),
            "--workers" => workers = val()?.parse::<usize>()?.max(1),
            "--strategy" => strategy = val()?,
            "--seasons" => {
                seasons = val()?
                    .split(',')
                    .map(str::parse)
                    .collect::<std::result::Result<_, _>>()?
            }
            "--approx" => approx = val()?,
            "--swin" => {
                swin = Some(
                    val()?
                        .split(',')
                        .map(str::parse)
                        .collect::<std::result::Result<_, _>>()?,
                )
            }
            "--log" => log = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let mut params: AutoArimaParams = AutoArima::params();
    params = match strategy.as_str() {
        "decompose" => params
            .seasons(&seasons)
            .strategy(SeasonalStrategy::Decompose),
        "sarima" => params.seasons(&seasons).strategy(SeasonalStrategy::Sarima),
        "none" => params.season(None),
        s => return Err(format!("unknown strategy {s}").into()),
    };
    params = match approx.as_str() {
        "on" => params.approximation(true),
        "off" => params.approximation(false),
        _ => params,
    };

    if let Some(w) = &swin {
        params = params.seasonal_windows(w);
    }
    let train = common::read_long(&data.join("train.csv"))?;
    let test: BTreeMap<String, Vec<f64>> = common::read_long(&data.join("test.csv"))
        .map(|t| t.into_iter().collect())
        .unwrap_or_default();
    let series: Vec<Series> = train
        .into_iter()
        .filter(|(id, _)| only.is_empty() || only.contains(id))
        .take(limit)
        .collect();

    let cpu0 = common::cpu_seconds().unwrap_or(0.0);
    let wall0 = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<std::result::Result<Outcome, String>>>> =
        Mutex::new((0..series.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((_, y)) = series.get(i) else { break };
                    let t0 = Instant::now();
                    let yt: Vec<f64> = if log {
                        y.iter().map(|v| v.ln()).collect()
                    } else {
                        y.clone()
                    };
                    let back = |v: Vec<f64>| -> Vec<f64> {
                        if log {
                            v.into_iter().map(f64::exp).collect()
                        } else {
                            v
                        }
                    };
                    let outcome = params
                        .fit(&yt)
                        .and_then(|m| {
                            let f = m.predict(HORIZON, LEVEL)?;
                            Ok(Outcome {
                                point: back(f.point),
                                lower: back(f.lower),
                                upper: back(f.upper),
                                order: m.order().to_string()
                                    + if m.constant().is_some() { "+c" } else { "" },
                                seconds: 0.0,
                            })
                        })
                        .map(|mut o| {
                            o.seconds = t0.elapsed().as_secs_f64();
                            o
                        })
                        .map_err(|e| e.to_string());
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(outcome);
                    }
                }
            });
        }
    });
    let wall = wall0.elapsed().as_secs_f64();
    let cpu = common::cpu_seconds().unwrap_or(0.0) - cpu0;
    let results = results.into_inner().map_err(|_| "a worker panicked")?;

    let mut out = std::io::BufWriter::new(std::fs::File::create(&out_path)?);
    writeln!(out, "series_id,h,value")?;
    let mut pi = match &pi_path {
        Some(p) => {
            let mut f = std::io::BufWriter::new(std::fs::File::create(p)?);
            writeln!(f, "series_id,h,lower,upper")?;
            Some(f)
        }
        None => None,
    };
    let mut orders = match &orders_path {
        Some(p) => {
            let mut f = std::io::BufWriter::new(std::fs::File::create(p)?);
            writeln!(f, "series_id,order,seconds")?;
            Some(f)
        }
        None => None,
    };
    let (mut inside, mut counted, mut failed) = (0usize, 0usize, 0usize);
    let mut fit_seconds = 0.0;
    for ((id, _), r) in series.iter().zip(&results) {
        match r {
            Some(Ok(o)) => {
                fit_seconds += o.seconds;
                for h in 0..HORIZON {
                    writeln!(out, "{id},{},{}", h + 1, o.point[h])?;
                    if let Some(f) = pi.as_mut() {
                        writeln!(f, "{id},{},{},{}", h + 1, o.lower[h], o.upper[h])?;
                    }
                }
                if let Some(f) = orders.as_mut() {
                    writeln!(f, "{id},{},{:.4}", o.order, o.seconds)?;
                }
                if let Some(truth) = test.get(id) {
                    for (h, &v) in truth.iter().enumerate().take(HORIZON) {
                        counted += 1;
                        inside += usize::from(v >= o.lower[h] && v <= o.upper[h]);
                    }
                }
            }
            Some(Err(e)) => {
                failed += 1;
                eprintln!("{id}: {e}");
            }
            None => failed += 1,
        }
    }
    out.flush()?;
    println!(
        "series {} failed {failed} workers {workers} wall {wall:.2} s cpu {cpu:.2} s \
         ({:.4} cpu-s/series; fit+predict summed {fit_seconds:.2} s) coverage95 {:.4} ({inside}/{counted})",
        series.len(),
        cpu / series.len().max(1) as f64,
        inside as f64 / counted.max(1) as f64,
    );
    Ok(())
}
