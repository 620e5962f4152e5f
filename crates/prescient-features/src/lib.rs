#![doc = include_str!("../README.md")]

mod extremes;
mod pca;
mod rate;
mod stats;

pub use extremes::RollingExtremes;
pub use pca::{Pca, PcaParams};
pub use rate::RateOfChange;
pub use stats::RollingStats;

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
