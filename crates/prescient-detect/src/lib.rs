#![doc = include_str!("../README.md")]

mod alert;
mod batch;
mod calibrate;
mod distance;
mod ensemble;
mod ewma;
mod iforest;
mod knn;
mod metric_detector;
#[cfg(feature = "ocsvm")]
mod ocsvm;
mod refit_window;
mod residual;
mod seasonal_median;
mod seasons;
mod stl;
mod vector_monitor;
mod zscore;

pub use calibrate::TailCalibrator;
pub use distance::{DistanceNorm, RecentDistance};
pub use ensemble::{Ensemble, combine_metrics};
pub use ewma::Ewma;
pub use iforest::{
    IsolationForest, IsolationForestModel, IsolationForestParams, StreamingIsolationForest,
    StreamingIsolationForestParams, average_path_length,
};
pub use knn::{KnnCad, KnnCadParams};
pub use metric_detector::{
    Combination, LagFeatures, MAX_MEMBERS, MetricDetector, MetricDetectorParams, ScalarFactory,
    VectorFactory, Verdict,
};
#[cfg(feature = "ocsvm")]
pub use ocsvm::{
    Gamma, OneClassSvm, OneClassSvmModel, OneClassSvmParams, StreamingOneClassSvm,
    StreamingOneClassSvmParams,
};
pub use residual::ForecastResidual;
pub use seasonal_median::{SeasonalMedian, SeasonalMedianParams};
pub use seasons::{COMMON_PERIODS, PeriodSearch, Seasonality, detect_period, seasonal_strength};
pub use stl::{Decomposition, StlResidual, StlResidualParams, decompose, stl_residual_scores};
pub use vector_monitor::{VectorMonitor, VectorMonitorParams};
pub use zscore::{MAD_SCALE, RobustZScore, RollingZScore};

use prescient_core::{Detection, Score};

/// The calibrated score of a standardised deviation `z`: `P(|Z| < |z|)` for a standard normal
/// `Z`, that is `erf(|z| / √2)`.
///
/// Under a Gaussian baseline this is uniform on `[0, 1]`; a `|z|` of 3.29 scores 0.999.
pub fn score_of_z(z: f64) -> Score {
    if z.is_nan() {
        return Score::ZERO;
    }
    Score::new(statrs::function::erf::erf(
        z.abs() / std::f64::consts::SQRT_2,
    ))
}

/// A detection from a signed deviation `z`, with its calibrated score.
pub(crate) fn detection_of_z(z: f64) -> Detection {
    let z = if z.is_nan() {
        0.0
    } else {
        z.clamp(-1e12, 1e12)
    };
    Detection {
        score: score_of_z(z),
        deviation: z,
    }
}

/// The standard deviation used to standardise a deviation: never below a small floor relative to
/// the mean, so that a flat line followed by a change is infinitely surprising in theory but
/// finite in practice.
pub(crate) fn floored_std(std: f64, mean: f64) -> f64 {
    let floor = (1e-9 * mean.abs()).max(1e-12);
    if std.is_finite() {
        std.max(floor)
    } else {
        f64::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_matches_the_normal_distribution() {
        assert!((score_of_z(1.959_964).value() - 0.95).abs() < 1e-6);
        assert!((score_of_z(-3.290_527).value() - 0.999).abs() < 1e-6);
        assert_eq!(score_of_z(0.0).value(), 0.0);
        assert_eq!(score_of_z(f64::NAN).value(), 0.0);
        assert_eq!(score_of_z(f64::INFINITY).value(), 1.0);
    }
}
