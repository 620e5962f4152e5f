use std::path::PathBuf;

/// The result type of prescient-eval.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while loading benchmark data or scoring a detector.
///
/// Errors about a file carry its path and, where a row is at fault, its 1-based line number (the
/// header is line 1), so that a message points at the exact place to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read, written or listed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A CSV file has no header line.
    #[error("{path}: empty file, expected a header line")]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// A CSV file's header lacks a required column.
    #[error("{path}: no `{column}` column in the header")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column that is missing.
        column: &'static str,
    },
    /// A CSV row cannot be used: too few fields, or a quoted field that does not end on its line.
    #[error("{path}:{line}: {reason}")]
    MalformedRow {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with the row.
        reason: String,
    },
    /// A timestamp in a file is not `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    #[error("{path}:{line}: invalid timestamp `{value}`")]
    InvalidTimestamp {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The text that failed to parse.
        value: String,
    },
    /// A field that must be a number is not one.
    #[error("{path}:{line}: `{column}` is not a number: `{value}`")]
    InvalidNumber {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The column.
        column: &'static str,
        /// The text that failed to parse.
        value: String,
    },
    /// A data value is NaN or infinite.
    #[error("{path}:{line}: non-finite value")]
    NonFiniteValue {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
    },
    /// An anomaly score after the probationary period is NaN (the reference scorer would never
    /// finish its threshold sweep, since NaN equals nothing, not even itself).
    #[error("{path}:{line}: anomaly score is NaN after the probationary period")]
    NanScore {
        /// The results file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
    },
    /// A results file does not have one row per data row.
    #[error("{path} has {got} rows but data file `{key}` has {expected}")]
    RowCountMismatch {
        /// The results file.
        path: PathBuf,
        /// Rows in the results file.
        got: usize,
        /// The data file's key.
        key: String,
        /// Rows in the data file.
        expected: usize,
    },
    /// A detector has no results file for a data file.
    #[error("missing results file {path}")]
    MissingResults {
        /// Where the results file was expected.
        path: PathBuf,
    },
    /// A JSON file does not parse.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// A windows file is not a map from file keys to lists of `[start, end]` pairs.
    #[error("{path}: invalid windows file: {reason}")]
    InvalidWindows {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A thresholds file or table is not usable.
    #[error("invalid thresholds: {reason}")]
    InvalidThresholds {
        /// What is wrong with it.
        reason: String,
    },
    /// A file key is not of the form `<category>/<file>`.
    #[error("file key `{key}` is not `<category>/<file>`")]
    InvalidKey {
        /// The key.
        key: String,
    },
    /// A timestamp given in memory (a series row or a window bound) does not parse.
    #[error("invalid timestamp `{value}` at index {index}")]
    UnparsableTimestamp {
        /// Its index in the series (for a window bound, the window's index in its file).
        index: usize,
        /// The text that failed to parse.
        value: String,
    },
    /// A series given in memory has a non-finite value.
    #[error("non-finite value at index {index}")]
    NonFinite {
        /// Its index in the series.
        index: usize,
    },
    /// Two sequences that must have one element per row have different lengths.
    #[error("`{key}`: {got} values for {expected} rows")]
    LengthMismatch {
        /// The file key (or `timestamps` / `values` for a series).
        key: String,
        /// The number of rows.
        expected: usize,
        /// The number of values given.
        got: usize,
    },
    /// A file of the corpus has no anomaly scores.
    #[error("no anomaly scores for `{key}`")]
    MissingScores {
        /// The file key.
        key: String,
    },
    /// An anomaly score given in memory after the probationary period is NaN.
    #[error("`{key}`: anomaly score at row {index} is NaN after the probationary period")]
    NanInScores {
        /// The file key.
        key: String,
        /// The 0-based row index.
        index: usize,
    },
    /// A file key is listed in the windows but has no data series.
    #[error("no data series for `{key}`")]
    MissingSeries {
        /// The file key.
        key: String,
    },
    /// A selection of files is empty.
    #[error("no files to score")]
    NoFiles,
    /// A trace's timestamps do not increase.
    #[error("{path}:{line}: timestamp not after the previous row's")]
    NotIncreasing {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
    },
    /// A trace has too few rows to be used.
    #[error("{what}: {rows} rows, too few for a trace")]
    TooShort {
        /// The file or trace.
        what: String,
        /// How many rows it has.
        rows: usize,
    },
    /// A resampling step that is not positive and finite.
    #[error("invalid step {step_secs} s: must be positive and finite")]
    InvalidStep {
        /// The step asked for.
        step_secs: f64,
    },
    /// A profile name is not one of NAB's three.
    #[error("unknown profile `{0}`")]
    UnknownProfile(String),
}
