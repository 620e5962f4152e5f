use std::path::PathBuf;
use std::time::Duration;

/// What can go wrong when a source reads metrics.
///
/// Every variant says where (the file and line, the URL, the query) and why, so that a host can
/// log it and poll again: a source never panics on what a file or a server sends it. The enum is
/// `#[non_exhaustive]` so that new backends can add kinds of failure without breaking matches.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Text (a file, a response body, a `/metrics` page) is not in the format it should be.
    #[error("{what}, line {line}: {reason}")]
    Parse {
        /// What was being parsed: a file name, `exposition text`, a URL.
        what: String,
        /// The 1-based line number, 0 when the text has no lines (a JSON body).
        line: usize,
        /// What was wrong, with the offending text shortened.
        reason: String,
    },
    /// A column the source was asked for is not in the data.
    #[error("{what} has no column {column:?} (it has {available})")]
    MissingColumn {
        /// The file or query.
        what: String,
        /// The column asked for.
        column: String,
        /// The columns that are there, comma separated.
        available: String,
    },
    /// A server could not be reached (refused connection, DNS, reset).
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The transport's error.
        reason: String,
    },
    /// A server answered with an HTTP error status.
    #[error("{url} answered HTTP {status}: {body}")]
    Http {
        /// The URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// A server did not answer in time.
    #[error("{url} did not answer within {after:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The time limit.
        after: Duration,
    },
    /// A server answered, but with an error of its own (a bad query, an overloaded server) or
    /// with a body cut short.
    #[error("{backend} refused {query:?}: {reason}")]
    Backend {
        /// `prometheus`, `influxdb`.
        backend: &'static str,
        /// The query.
        query: String,
        /// The server's words.
        reason: String,
    },
    /// A parameter is out of its range.
    #[error("invalid {name}: {reason}")]
    InvalidParam {
        /// The parameter's name.
        name: &'static str,
        /// Why it is invalid.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `text` shortened to at most `max` characters, for error messages.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
