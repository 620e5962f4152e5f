/// The result type of prescient-sim.
pub type Result<T, E = SimError> = std::result::Result<T, E>;

/// What can go wrong while setting up or running a simulation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A setting is out of range.
    #[error("invalid {name}: {reason}")]
    InvalidParam {
        /// The setting.
        name: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// A trace cannot be read or used.
    #[error("trace: {0}")]
    Trace(String),
    /// Reading a trace file failed.
    #[error(transparent)]
    Eval(#[from] prescient_eval::Error),
    /// The prescient pipeline refused its settings.
    #[error(transparent)]
    Prescient(#[from] prescient::Error),
    /// The simulated pool refused a step.
    #[error(transparent)]
    Actuate(#[from] prescient::ActuateError),
    /// An unknown policy name.
    #[error("unknown policy `{0}` (expected oracle, static, hpa, snaive-hpa or prescient)")]
    UnknownPolicy(String),
}
