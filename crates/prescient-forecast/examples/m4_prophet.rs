//! Fits the Prophet-style model to M4 Hourly series and writes the 48-step forecasts and their
//! intervals, for `../shared/eval/m4_eval.py` and a coverage count.
//!
//! ```text
//! cargo run --release -p prescient-forecast --features prophet --example m4_prophet -- \
//!     ../shared/data/m4-hourly --out prophet.csv [--intervals intervals.csv] [--stats stats.csv] \
//!     [--threads 2] [--level 0.95] [H1 H2 …]
//! ```
//!
//! The data directory can also be given as `PRESCIENT_M4_DIR`. The settings are [`ProphetParams::new`]'s, those of the peer harness
//! (`../shared/peers/forecast_m4.py`: daily and weekly seasonality, no yearly, hourly timestamps
//! from 2000-01-01 00:00). `--out` gets `series_id,h,value` (the layout `m4_eval.py` scores),
//! `--intervals` gets `series_id,h,lower,upper`, `--stats` one line per series with the fit's
//! iterations, evaluations, restarts, stopping test, log posterior and time. Series are fitted
//! by `--threads` workers (default 2) and written in input order. The wall time, the process's
//! CPU time (Linux: `/proc/self/stat`), and, when `test.csv` is there, the mean sMAPE and the
//! coverage of the intervals go to standard error.

#![allow(clippy::disallowed_methods, clippy::print_stderr)] // Timing is this example's point.

use std::collections::BTreeMap;
use std::error::Error;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use prescient_core::{Forecast, Forecaster};
use prescient_forecast::ProphetParams;

mod common;

const HORIZON: usize = 48;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// What one series gave.
struct Outcome {
    forecast: Forecast,
    iterations: u64,
    evaluations: usize,
    restarts: usize,
    stopped_by: &'static str,
    log_posterior: f64,
    secs: f64,
}

fn run(y: &[f64], level: f64) -> Result<Outcome> {
    let start = Instant::now();
    let model = ProphetParams::new().fit(y)?;
    let forecast = model.predict(HORIZON, level)?;
    let secs = start.elapsed().as_secs_f64();
    let rep = model.fit_report().ok_or("no fit report")?;
    Ok(Outcome {
        forecast,
        iterations: rep.iterations,
        evaluations: rep.evaluations,
        restarts: rep.restarts,
        stopped_by: rep.stopped_by,
        log_posterior: rep.log_posterior,
        secs,
    })
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<String> = None;
    let (mut out, mut intervals, mut stats) = (None, None, None);
    let (mut threads, mut level) = (2usize, 0.95f64);
    let mut wanted: Vec<String> = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = args.next(),
            "--intervals" => intervals = args.next(),
            "--stats" => stats = args.next(),
            "--threads" => threads = args.next().ok_or("--threads N")?.parse()?,
            "--level" => level = args.next().ok_or("--level L")?.parse()?,
            _ if a.starts_with("--") => return Err(format!("unknown flag {a}").into()),
            _ if dir.is_none() && std::path::Path::new(&a).is_dir() => dir = Some(a),
            _ => wanted.push(a),
        }
    }
    let dir = std::path::PathBuf::from(dir.or_else(|| std::env::var("PRESCIENT_M4_DIR").ok()).ok_or(
        "usage: m4_prophet DATA_DIR --out FILE [--intervals FILE] [--stats FILE] [--threads N] \
         [--level L] [SERIES_ID …]",
    )?);
    let out = out.ok_or("--out FILE is required")?;
    let mut train = common::read_long(&dir.join("train.csv"))?;
    if !wanted.is_empty() {
        train.retain(|(id, _)| wanted.contains(id));
    }
    let test: Option<BTreeMap<String, Vec<f64>>> = common::read_long(&dir.join("test.csv"))
        .ok()
        .map(|t| t.into_iter().collect());

    let cpu0 = common::cpu_seconds();
    let wall = Instant::now();
    let results: Vec<Mutex<Option<Result<Outcome>>>> =
        train.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((_, y)) = train.get(i) else { break };
                    let r = run(y, level);
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    let wall_s = wall.elapsed().as_secs_f64();
    let cpu_s = cpu0.and_then(|c0| common::cpu_seconds().map(|c1| c1 - c0));

    let mut fc = std::io::BufWriter::new(std::fs::File::create(&out)?);
    writeln!(fc, "series_id,h,value")?;
    let mut iv = match &intervals {
        Some(p) => {
            let mut w = std::io::BufWriter::new(std::fs::File::create(p)?);
            writeln!(w, "series_id,h,lower,upper")?;
            Some(w)
        }
        None => None,
    };
    let mut st = match &stats {
        Some(p) => {
            let mut w = std::io::BufWriter::new(std::fs::File::create(p)?);
            writeln!(
                w,
                "series_id,n,iterations,evaluations,restarts,stopped_by,log_posterior,secs"
            )?;
            Some(w)
        }
        None => None,
    };
    let (mut covered, mut scored, mut smape_sum, mut n_smape) = (0usize, 0usize, 0.0, 0usize);
    let mut fit_secs = 0.0;
    let mut failed = 0usize;
    for ((id, y), slot) in train.iter().zip(results) {
        let r = slot
            .into_inner()
            .map_err(|_| "a worker panicked")?
            .ok_or("a series was not fitted")?;
        let o = match r {
            Ok(o) => o,
            Err(e) => {
                eprintln!("{id}: {e}");
                failed += 1;
                continue;
            }
        };
        fit_secs += o.secs;
        for h in 0..HORIZON {
            writeln!(fc, "{id},{},{:.6}", h + 1, o.forecast.point[h])?;
            if let Some(w) = iv.as_mut() {
                writeln!(
                    w,
                    "{id},{},{:.6},{:.6}",
                    h + 1,
                    o.forecast.lower[h],
                    o.forecast.upper[h]
                )?;
            }
        }
        if let Some(w) = st.as_mut() {
            writeln!(
                w,
                "{id},{},{},{},{},{},{:.6},{:.6}",
                y.len(),
                o.iterations,
                o.evaluations,
                o.restarts,
                o.stopped_by,
                o.log_posterior,
                o.secs
            )?;
        }
        if let Some(truth) = test.as_ref().and_then(|t| t.get(id)) {
            let mut s = 0.0;
            for (h, &v) in truth.iter().take(HORIZON).enumerate() {
                let f = &o.forecast;
                scored += 1;
                covered += usize::from(f.lower[h] <= v && v <= f.upper[h]);
                let d = v.abs() + f.point[h].abs();
                s += if d == 0.0 {
                    0.0
                } else {
                    200.0 * (v - f.point[h]).abs() / d
                };
            }
            smape_sum += s / HORIZON as f64;
            n_smape += 1;
        }
    }
    fc.flush()?;
    if let Some(w) = iv.as_mut() {
        w.flush()?;
    }
    if let Some(w) = st.as_mut() {
        w.flush()?;
    }
    let n = train.len() - failed;
    eprintln!(
        "prophet: {n} series ({failed} failed), {threads} threads: wall {wall_s:.3} s, CPU {} s, \
         sum of per-series fit+predict {fit_secs:.3} s ({:.2} ms per series)",
        cpu_s.map_or("?".into(), |c| format!("{c:.2}")),
        1e3 * fit_secs / n.max(1) as f64,
    );
    if scored > 0 {
        eprintln!(
            "sMAPE {:.3}; {:.0}% interval coverage {:.4} ({covered}/{scored} test values)",
            smape_sum / n_smape as f64,
            100.0 * level,
            covered as f64 / scored as f64
        );
    }
    Ok(())
}
