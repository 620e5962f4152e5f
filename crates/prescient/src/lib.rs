#![doc = include_str!("../README.md")]

mod error;
pub mod export;
pub mod feedback;

/// The repository's README, compiled so that its example stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod readme {}
pub mod regime;
#[cfg(feature = "report")]
pub mod report;
pub mod retrain;
mod scaler;

pub use error::{Error, Result};
pub use feedback::{FeedbackParams, FeedbackSummary, Outcome};
pub use retrain::{InstallOutcome, RetrainParams, RetrainReason, TrainedModel, TrainingJob};
pub use scaler::{ApplyOutcome, MetricAnomaly, Mode, Scaler, ScalerBuilder};

/// Shared types: timestamps, schemas, scores, decisions, the pipeline traits.
#[doc(inline)]
pub use prescient_core as types;
#[doc(inline)]
pub use prescient_core::{
    Constraint, Decision, Detection, Detector, FeatureExtractor, Forecast, ForecastSummary,
    Forecaster, MetricRole, MetricSpec, Reason, ReasonCode, Sample, Schema, Score, Severity,
    SeverityThresholds, Timestamp,
};

/// Streaming feature extractors.
#[doc(inline)]
pub use prescient_features as features;

/// Streaming anomaly detectors and their ensemble.
#[doc(inline)]
pub use prescient_detect as detect;

/// Forecasters.
#[doc(inline)]
pub use prescient_forecast as forecast;

/// The planner.
#[doc(inline)]
pub use prescient_plan as plan;
#[doc(inline)]
pub use prescient_plan::{PlannerParams, SeverityActions};

/// Actuators: the trait a host implements for its platform, and ready-made ones.
#[doc(inline)]
pub use prescient_actuate as actuate;
#[doc(inline)]
pub use prescient_actuate::{ActuateError, Actuator, AsyncActuator, PoolStatus};

/// Seeded synthetic workloads for tests, examples and demos.
#[doc(inline)]
pub use prescient_synth as synth;
