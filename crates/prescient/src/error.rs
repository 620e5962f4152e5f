/// The result type of the facade.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong when building or running a [`crate::Scaler`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Invalid input or settings, from the pipeline's crates.
    #[error(transparent)]
    Core(#[from] prescient_core::Error),
    /// The actuator failed; the platform may not have changed.
    #[error("actuator failed: {0}")]
    Actuate(#[from] prescient_actuate::ActuateError),
}
