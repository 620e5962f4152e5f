#![doc = include_str!("../README.md")]
//!
//! # Design
//!
//! Every other crate of prescient depends on this one and on nothing else of prescient, so the
//! types here are the contracts between the stages of the pipeline:
//! samples → [`FeatureExtractor`] → [`Detector`] → [`Forecaster`] → planner → [`Decision`].
//! The traits are object safe so that the `Scaler` can hold a user's choice of models behind
//! `Box<dyn …>`; they take time as an argument so that a replay, a simulation and a live service
//! run exactly the same code.

mod datetime;
mod decision;
mod error;
mod forecast;
mod metric;
mod score;
pub mod snapshot;
mod sorted_window;
mod time;
mod traits;
mod window;

pub use datetime::parse_datetime_micros;
pub use decision::{
    Constraint, Decision, ForecastSummary, Reason, ReasonCode, RegimeMatch, RegimeNote,
};
pub use error::{Error, Result};
pub use forecast::Forecast;
pub use metric::{MetricRole, MetricSpec, Sample, Schema, SchemaBuilder};
pub use score::{Direction, Score, Severity, SeverityThresholds};
pub use sorted_window::SortedWindow;
pub use time::Timestamp;
pub use traits::{
    Detection, Detector, FeatureExtractor, ForecastMethod, Forecaster, VectorDetector,
    check_forecast_request,
};
pub use window::{RingBuffer, RollingMax, RollingMoments};

/// Checks that the parameter `name` is positive and finite.
///
/// # Errors
///
/// [`Error::InvalidParam`] naming the parameter otherwise.
pub fn check_positive(name: &'static str, x: f64) -> Result<f64> {
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(Error::InvalidParam {
            name,
            reason: format!("must be positive and finite, got {x}"),
        })
    }
}

/// Checks that the parameter `name` is finite and non-negative.
///
/// # Errors
///
/// [`Error::InvalidParam`] naming the parameter otherwise.
pub fn check_non_negative(name: &'static str, x: f64) -> Result<f64> {
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(Error::InvalidParam {
            name,
            reason: format!("must be finite and non-negative, got {x}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_checks_name_the_parameter() {
        assert_eq!(check_positive("a", 2.0), Ok(2.0));
        assert_eq!(check_non_negative("b", 0.0), Ok(0.0));
        for x in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                check_positive("a", x),
                Err(Error::InvalidParam { name: "a", .. })
            ));
        }
        for x in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                check_non_negative("b", x),
                Err(Error::InvalidParam { name: "b", .. })
            ));
        }
    }
}
