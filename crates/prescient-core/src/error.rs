use crate::Timestamp;

/// The result type of prescient's core crates.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in the core pipeline.
///
/// Every variant carries what went wrong, so that a host can log it and carry on: no input makes
/// prescient panic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A parameter is outside its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// The parameter's name, as in its setter.
        name: &'static str,
        /// Why the value was rejected.
        reason: String,
    },
    /// An operation needs more data than it was given.
    #[error("not enough data: needed {needed}, got {got}")]
    NotEnoughData {
        /// How many points are needed.
        needed: usize,
        /// How many were given.
        got: usize,
    },
    /// A value that must be finite is NaN or infinite.
    #[error("non-finite value at index {index}")]
    NonFinite {
        /// Where in the input the value was.
        index: usize,
    },
    /// A sample's timestamp is earlier than one already seen.
    #[error("out-of-order timestamp: {got} is before the last accepted {last}")]
    OutOfOrder {
        /// The newest timestamp accepted so far.
        last: Timestamp,
        /// The rejected timestamp.
        got: Timestamp,
    },
    /// A sample's timestamp equals one already seen.
    #[error("duplicate timestamp {ts}")]
    Duplicate {
        /// The repeated timestamp.
        ts: Timestamp,
    },
    /// A sample does not have one value per metric of the schema.
    #[error("sample has {got} values but the schema has {expected} metrics")]
    SchemaMismatch {
        /// Metrics in the schema.
        expected: usize,
        /// Values in the sample.
        got: usize,
    },
    /// A metric name is not in the schema.
    #[error("unknown metric `{0}`")]
    UnknownMetric(String),
    /// A schema is not valid (no metrics, duplicate names, no load metric, ...).
    #[error("invalid schema: {0}")]
    InvalidSchema(String),
    /// A model was asked to predict before it was fitted or warmed up.
    #[error("model is not ready: {0}")]
    NotReady(&'static str),
    /// What was asked is not supported by this model or build (for example saving a model
    /// that cannot be saved in a snapshot).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Bytes that should be a snapshot are not one, are cut short or fail their checksum.
    #[error("corrupt snapshot: {0}")]
    CorruptSnapshot(String),
    /// A valid snapshot that cannot be restored here: another format version, or a snapshot of
    /// a differently configured model.
    #[error("incompatible snapshot: {0}")]
    IncompatibleSnapshot(String),
}
