#![doc = include_str!("../README.md")]
//!
//! # Design
//!
//! The load is a product of factors around 1 (seasonality, trend, regimes, bursts, anomalies,
//! noise) applied to a base level, so every knob means the same thing at any scale and the load
//! cannot go negative. Each part draws from its own `ChaCha8Rng` stream of the one seed: turning
//! a knob leaves the other parts as they were, which lets a test compare a series with and
//! without its anomalies point by point ([`WorkloadParams::without_anomalies`]). The samplers
//! (Box–Muller normals, exponential gaps for Poisson arrivals) are written here rather than taken
//! from a distributions crate, so that output depends only on the documented ChaCha stream.
//!
//! The cost: the shapes are stylised. A real service has holidays, time zones and releases; a
//! detector that does well here has passed a sanity check, not a field trial.
//!
//! *Architecture invariant:* this crate does no IO and reads no clock; identical parameters give
//! identical output on every platform.

mod anomaly;
mod mix;
mod params;
mod rng;
mod service;
mod workload;

pub use anomaly::{Anomaly, AnomalyKind, Burst, RegimeChange};
pub use mix::{MixChange, MixParams, MixWorkload, RequestClass, generate_mix};
pub use params::{MAX_POINTS, WorkloadParams};
pub use service::{ServiceMetrics, ServiceModel};
pub use workload::{Workload, generate};
