#![doc = include_str!("../README.md")]

mod params;
mod planner;
mod window_max;

pub use params::{PlannerParams, SeverityActions};
pub use planner::{PlanInput, Planner};
