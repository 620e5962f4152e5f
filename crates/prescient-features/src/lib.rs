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
    if !(p50 > 0.0 && p99 > p50) {
        return 0.0;
    }
    // One logarithm when the ratio is finite (it is at least 1); two when it overflows.
    let ratio = p99 / p50;
    let s = if ratio.is_finite() {
        ratio.ln()
    } else {
        p99.ln() - p50.ln()
    };
    s.max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extractors_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<RollingQuantiles>();
        check::<QuantileSketch>();
        check::<LatencyDistribution>();
        check::<HistogramQuantiles>();
        check::<RollingCorrelation>();
        check::<MixEntropy>();
    }

    #[test]
    fn spread_is_never_negative_nor_infinite() {
        assert_eq!(log_spread(0.0, 5.0), 0.0);
        assert_eq!(log_spread(-1.0, 5.0), 0.0);
        assert_eq!(log_spread(2.0, 1.0), 0.0);
        assert!((log_spread(1.0, std::f64::consts::E) - 1.0).abs() < 1e-15);
        assert!(log_spread(5e-324, f64::MAX).is_finite());
    }
}
