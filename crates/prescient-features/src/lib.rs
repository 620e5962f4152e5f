#![doc = include_str!("../README.md")]

mod correlation;
mod entropy;
mod extremes;
mod fingerprint;
mod histogram;
mod latency;
mod pca;
mod quantiles;
mod rate;
mod sketch;
mod stats;
mod store;

pub use correlation::RollingCorrelation;
pub use entropy::MixEntropy;
pub use extremes::RollingExtremes;
pub use fingerprint::{FingerprintParams, Fingerprinter};
pub use histogram::HistogramQuantiles;
pub use latency::LatencyDistribution;
pub use pca::{Pca, PcaParams};
pub use quantiles::RollingQuantiles;
pub use rate::RateOfChange;
pub use sketch::QuantileSketch;
pub use stats::RollingStats;
pub use store::{FingerprintStore, Neighbour, Observed, StoreParams};

use prescient_core::{Error, Result};

fn check_window(name: &'static str, window: usize) -> Result<usize> {
    if window == 0 {
        Err(Error::InvalidParam {
            name,
            reason: "must be at least 1".into(),
        })
    } else {
        Ok(window)
    }
}

/// The tail spread `ln(p99 / p50)`: 0 when `p50 ≤ 0` (no ratio to speak of) and never negative.
/// Both logarithms are of positive finite numbers, so the difference is finite.
fn log_spread(p50: f64, p99: f64) -> f64 {
    if p50 > 0.0 && p99 > p50 {
        (p99.ln() - p50.ln()).max(0.0)
    } else {
        0.0
    }
}
