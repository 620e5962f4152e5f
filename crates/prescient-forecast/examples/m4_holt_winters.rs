//! Fits Holt–Winters ETS(A,A,A), period 24, to M4 Hourly series and prints, per series, the
//! in-sample SSE, the fitted parameters and the sMAPE of the 48-step forecast, as CSV.
//!
//! ```text
//! cargo run --release -p prescient-forecast --example m4_holt_winters -- /path/to/m4-hourly [--damped] [H1 H2 …]
//! ```
//!
//! `--damped` fits ETS(A,Ad,A) instead.
//! The data directory (holding `train.csv` and `test.csv`, long layout `series_id,t,value`) can
//! also be given as `PRESCIENT_M4_DIR`. Without series ids, every series is fitted. The numbers
//! are compared with statsmodels' `ExponentialSmoothing(trend="add", seasonal="add",
//! seasonal_periods=24, initialization_method="heuristic")` in the crate's README.

use std::collections::BTreeMap;
use std::error::Error;
use std::io::Write;

use prescient_core::Forecaster;
use prescient_forecast::HoltWinters;

mod common;

const HORIZON: usize = 48;
const PERIOD: usize = 24;

/// A series id and its values.
type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn smape(truth: &[f64], forecast: &[f64]) -> f64 {
    let total: f64 = truth
        .iter()
        .zip(forecast)
        .map(|(y, f)| 200.0 * (y - f).abs() / (y.abs() + f.abs()))
        .sum();
    total / truth.len() as f64
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = match args
        .next()
        .or_else(|| std::env::var("PRESCIENT_M4_DIR").ok())
    {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            return Err(
                "usage: m4_holt_winters DATA_DIR [SERIES_ID …] (or set PRESCIENT_M4_DIR)".into(),
            );
        }
    };
    let (flags, wanted): (Vec<String>, Vec<String>) = args.partition(|a| a.starts_with("--"));
    let damped = flags.iter().any(|f| f == "--damped");
    let train = common::read_long(&dir.join("train.csv"))?;
    let test: BTreeMap<String, Vec<f64>> = common::read_long(&dir.join("test.csv"))?
        .into_iter()
        .collect();

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "series_id,n,sse,alpha,beta,gamma,phi,smape")?;
    for (id, y) in &train {
        if !wanted.is_empty() && !wanted.contains(id) {
            continue;
        }
        let truth = test
            .get(id)
            .ok_or_else(|| format!("no test values for {id}"))?;
        let model = HoltWinters::params(Some(PERIOD)).damped(damped).fit(y)?;
        let forecast = model.predict(HORIZON, 0.95)?;
        writeln!(
            out,
            "{id},{},{:.6e},{:.6},{:.6},{:.6},{:.4},{:.4}",
            y.len(),
            model.sse(),
            model.alpha(),
            model.beta(),
            model.gamma().unwrap_or(0.0),
            model.phi(),
            smape(truth, &forecast.point),
        )?;
    }
    Ok(())
}
