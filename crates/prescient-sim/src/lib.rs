#![doc = include_str!("../README.md")]

mod error;
pub mod policy;
pub mod prescient_policy;
pub mod request;
pub mod run;
pub mod scenario;

pub use error::{Result, SimError};
pub use policy::{
    Hpa, Observation, Oracle, Policy, SeasonalNaiveHpa, StaticPeak, by_name, by_name_with,
};
pub use prescient_policy::{PrescientConfig, PrescientPolicy};
pub use request::{RequestMetrics, RequestParams, RequestRun, RequestScenario, simulate_requests};
pub use run::{Metrics, Run, Timeline, no_stopwatch, oracle_worker_hours, simulate};
pub use scenario::{Capacity, Scenario, SimParams};
