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

mod decision;
mod error;
mod forecast;
mod metric;
mod score;
mod time;
mod traits;
mod window;

pub use decision::{Constraint, Decision, ForecastSummary, Reason, ReasonCode};
pub use error::{Error, Result};
pub use forecast::Forecast;
pub use metric::{MetricRole, MetricSpec, Sample, Schema, SchemaBuilder};
pub use score::{Direction, Score, Severity, SeverityThresholds};
pub use time::Timestamp;
pub use traits::{Detection, Detector, FeatureExtractor, Forecaster, check_forecast_request};
pub use window::{RingBuffer, RollingMoments};

/// Checks that `x` is finite, naming the parameter in the error.
///
/// # Errors
///
/// [`Error::InvalidParam`] when `x` is NaN or infinite.
pub fn check_finite(name: &'static str, x: f64) -> Result<f64> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(Error::InvalidParam {
            name,
            reason: format!("must be finite, got {x}"),
        })
    }
}
