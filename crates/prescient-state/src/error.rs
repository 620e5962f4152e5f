//! The crate's one error type.

use std::path::PathBuf;

/// A result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong in a store or a lease.
///
/// A backend that cannot be reached is told apart from one that answered too late and from one
/// that answered something this crate does not understand, because a host reacts differently:
/// retry later, raise the time limit, or call someone.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key, a key part or a key prefix breaks the rules of [`Key`](crate::Key).
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The key or part as given.
        key: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A setting is out of its range.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParam {
        /// The setting's name.
        name: &'static str,
        /// What its range is.
        reason: String,
    },
    /// A file store's file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A stored value is damaged: a truncated or corrupt file, or a server's value that is not
    /// in this crate's layout.
    #[error("corrupt value at {location}: {reason}")]
    Corrupt {
        /// The file, or the server's key.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server could not be reached: the connection was refused, reset or closed.
    #[error("state server {addr} unreachable: {reason}")]
    Unreachable {
        /// The server's address.
        addr: String,
        /// The client's error.
        reason: String,
    },
    /// The server did not answer within the time limit.
    #[error("state server {addr} timed out during {op}")]
    Timeout {
        /// The server's address.
        addr: String,
        /// What was being done (`"connect"`, a command's name).
        op: &'static str,
    },
    /// The server answered with an error or with something this crate did not expect.
    #[error("state server {addr} protocol error during {op}: {reason}")]
    Protocol {
        /// The server's address.
        addr: String,
        /// What was being done.
        op: &'static str,
        /// The server's or the client's message.
        reason: String,
    },
}

impl Error {
    /// Whether the error says the backend could not be used at the moment (unreachable or too
    /// slow), as opposed to bad input or damaged data; a host may retry these on a later tick.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Unreachable { .. } | Error::Timeout { .. })
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
