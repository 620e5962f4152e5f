#![doc = include_str!("../README.md")]

mod extremes;
mod fingerprint;
mod pca;
mod quantiles;
mod rate;
mod sketch;
mod stats;
mod store;

pub use extremes::RollingExtremes;
pub use fingerprint::{FingerprintParams, Fingerprinter};
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
