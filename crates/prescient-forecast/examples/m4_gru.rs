//! Trains one global GRU on the training parts of the M4 Hourly series, forecasts 48 steps for
//! every series, and writes the forecasts as `series_id,h,value` (the layout `m4_eval.py`
//! scores) and the 95 % intervals as `series_id,h,lower,upper`.
//!
//! ```text
//! cargo run --release -p prescient-forecast --example m4_gru -- DATA_DIR OUT.csv [INTERVALS.csv]
//!     [--hidden N] [--input N] [--epochs N] [--steps N] [--batch N] [--lr X] [--patience N]
//!     [--ensemble N] [--threads N] [--seed N] [--level N] [--season N] [--clip X]
//!     [--per-series N]
//! ```
//!
//! With `--per-series N`, no global model is trained: each of the first `N` series gets a model
//! of its own ([`GruParams::fit`], the `ForecastMethod` path), and only those are written.
//!
//! Only `DATA_DIR/train.csv` is read. Training and prediction wall and CPU times, and the
//! training report, go to standard error. Unset options keep [`GruParams`]' defaults, except
//! `--threads`, which defaults to 2.

#![allow(clippy::print_stderr)] // An example reports what it measured.
#![allow(clippy::disallowed_methods)] // Examples may read the clock: timing is their point.

use std::error::Error;
use std::io::Write;
use std::time::Instant;

use prescient_core::Forecaster;
use prescient_forecast::GruParams;

mod common;

const HORIZON: usize = 48;
const LEVEL: f64 = 0.95;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let mut params = GruParams::new().threads(2);
    let mut per_series: Option<usize> = None;
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
    let params = params.horizon(HORIZON);
    eprintln!("{params:?}");

    if let Some(n) = per_series {
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
    let model = params.fit_global(&series)?;
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
    for (id, y) in &train {
        let f = model.forecaster(y)?.predict(HORIZON, LEVEL)?;
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
