//! The `prescient` command.
//!
//! `prescient demo` replays a few simulated days of a web service through the `Scaler`, next to a
//! reactive HPA-style rule on the same load, prints a summary and writes a JSON report.
//! `prescient nab` runs the detectors on the Numenta Anomaly Benchmark's layout and scores them;
//! `prescient nab-score` scores a results folder. `prescient forecast` fits a forecasting model
//! to every series of a long CSV (the M4 layout) and `prescient m4-score` scores forecasts.
//! `prescient simulate` replays a demand trace against scaling policies (the scaling benchmark);
//! `prescient simulate-requests` replays per-request arrivals, served from a queue, against them.
//! `prescient regimes` measures how early the workload fingerprint flags a regime change.

// A command-line program prints; the workspace lint against printing is for the libraries.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod demo;
mod forecast;
mod nab;
mod progress;
mod regimes;
mod report;
mod retrain;
mod simulate;
mod simulate_requests;
mod soak;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "prescient",
    version,
    about = "Anomaly detection and predictive autoscaling"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Replays simulated days of a service through prescient and an HPA-style rule.
    Demo(DemoArgs),
    /// Streams NAB data files through a detector, writes NAB-layout results and scores them.
    Nab(nab::NabArgs),
    /// Scores a NAB results folder (windows, profiles, threshold sweep), as NAB does.
    NabScore(nab::NabScoreArgs),
    /// Fits a forecasting model to every series of a long CSV and writes the forecasts.
    Forecast(forecast::ForecastArgs),
    /// Scores a forecast file with the M4 measures (sMAPE, MASE, OWA against Naive2).
    M4Score(forecast::M4ScoreArgs),
    /// Replays a demand trace against scaling policies (the scaling benchmark).
    Simulate(simulate::SimulateArgs),
    /// Replays per-request arrivals against scaling policies: queueing latency and SLO violations.
    SimulateRequests(simulate_requests::SimulateRequestsArgs),
    /// How early the workload fingerprint flags a regime change, against per-metric detectors,
    /// on seeded services with labelled changes.
    Regimes(regimes::RegimesArgs),
    /// Runs the `Scaler` and the per-metric detectors for millions of ticks and prints the
    /// resident memory as it goes.
    Soak(soak::SoakArgs),
    /// Times retraining the load forecaster on weeks of history in the background, and the
    /// ticks made meanwhile.
    Retrain(retrain::RetrainArgs),
}

/// Settings of `prescient demo`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct DemoArgs {
    /// Days to simulate; the first is history only (warm-up).
    #[arg(long, default_value_t = 4.0)]
    pub(crate) days: f64,
    /// Seed of the synthetic workload and service noise.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Seconds a new worker takes to serve.
    #[arg(long, default_value_t = 120.0)]
    pub(crate) delay: f64,
    /// Where to write the JSON report.
    #[arg(long, default_value = "demo-report.json")]
    pub(crate) out: PathBuf,
    /// A folder (created if missing) to write the run report of prescient's run into:
    /// `report.json` and `report.html` (charts of the load and forecast band, the workers, the
    /// anomalies, the forecast accuracy, and the decisions with their reasons).
    #[arg(long, value_name = "DIR")]
    pub(crate) report: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Nab(args) => finish(nab::run(&args)),
        Command::NabScore(args) => finish(nab::run_score(&args)),
        Command::Forecast(args) => finish(forecast::run(&args)),
        Command::M4Score(args) => finish(forecast::run_score(&args)),
        Command::Simulate(args) => finish(simulate::run(&args)),
        Command::SimulateRequests(args) => finish(simulate_requests::run(&args)),
        Command::Regimes(args) => finish(regimes::run(&args)),
        Command::Soak(args) => finish(soak::run(&args)),
        Command::Retrain(args) => finish(retrain::run(&args)),
        Command::Demo(args) => match demo::run(&args) {
            Ok(report) => {
                print!("{}", demo::summary(&report));
                if let (Some(dir), Some(run)) = (&args.report, &report.run) {
                    match demo::write_run_report(dir, run) {
                        Ok(paths) => println!(
                            "run report written to {} and {}",
                            paths.0.display(),
                            paths.1.display()
                        ),
                        Err(e) => {
                            eprintln!("error: {e}");
                            return ExitCode::FAILURE;
                        }
                    }
                }
                match std::fs::write(&args.out, report.to_json()) {
                    Ok(()) => {
                        println!("report written to {}", args.out.display());
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("error: cannot write {}: {e}", args.out.display());
                        ExitCode::FAILURE
                    }
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Prints a command's output, or its error, and gives the exit code.
fn finish(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
