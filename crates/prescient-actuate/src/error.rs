use std::process::ExitStatus;
use std::time::Duration;

use prescient_core::Timestamp;

/// What can go wrong when an actuator reads or changes a platform.
///
/// Every variant carries what went wrong, so that a host can log it and try again at the next
/// tick: an actuator never panics on a platform's failure. The enum is `#[non_exhaustive]` so
/// that new kinds of failure (and new operations, see [`ActuateError::Unsupported`]) can be added
/// without breaking code that matches on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActuateError {
    /// The platform refused or failed the request (for a program: it exited unsuccessfully).
    #[error("{what} failed{}: {reason}", status_suffix(.status))]
    Failed {
        /// What failed: the actuator's or the program's name.
        what: String,
        /// The program's exit status, if a program ran and ended.
        status: Option<ExitStatus>,
        /// Why, in the platform's words: for a program, the end of its standard error.
        reason: String,
    },
    /// The platform did not answer in time (for a program: it was killed and reaped).
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// What timed out: the actuator's or the program's name.
        what: String,
        /// The time limit that was exceeded.
        after: Duration,
    },
    /// The platform's answer could not be understood.
    #[error("could not parse the output of {what} ({input:?}): {reason}")]
    Parse {
        /// Whose output it was: the actuator's or the program's name.
        what: String,
        /// The output, shortened to its first 100 characters.
        input: String,
        /// What was expected.
        reason: String,
    },
    /// A program could not be started (not found, not executable, ...).
    #[error("could not start `{program}`: {source}")]
    Spawn {
        /// The program, as given.
        program: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Another input or output error while talking to the platform.
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
    /// The actuator does not support this operation (the operation's name).
    ///
    /// Operations added to [`Actuator`](crate::Actuator) after counts (resource changes,
    /// pre-warm hints) return this by default, so that an actuator which only scales counts keeps
    /// compiling and a host can fall back to counts.
    #[error("`{0}` is not supported by this actuator")]
    Unsupported(&'static str),
    /// The request was not sent: the platform failed recently and [`Guarded`](crate::Guarded)'s
    /// wait before the next attempt is not over.
    #[error("{what}: backing off after {failures} failures in a row, until {until}")]
    Backoff {
        /// The actuator.
        what: String,
        /// Failed requests in a row.
        failures: u32,
        /// When the next request may go through.
        until: Timestamp,
    },
    /// The request was not sent: the platform failed too often in a row and
    /// [`Guarded`](crate::Guarded)'s circuit breaker is open.
    #[error("{what}: circuit open after {failures} failures in a row, until {until}")]
    CircuitOpen {
        /// The actuator.
        what: String,
        /// Failed requests in a row.
        failures: u32,
        /// When one trial request will be let through.
        until: Timestamp,
    },
    /// An actuator's setting is outside its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// The parameter's name, as in its constructor or setter.
        name: &'static str,
        /// Why the value was rejected.
        reason: String,
    },
}

impl ActuateError {
    /// A [`ActuateError::Failed`] without an exit status: the shorthand for a platform that
    /// refused a request.
    ///
    /// # Example
    ///
    /// ```
    /// use prescient_actuate::ActuateError;
    ///
    /// let e = ActuateError::failed("my-platform", "quota of 100 workers reached");
    /// assert_eq!(e.to_string(), "my-platform failed: quota of 100 workers reached");
    /// ```
    pub fn failed(what: impl Into<String>, reason: impl Into<String>) -> Self {
        ActuateError::Failed {
            what: what.into(),
            status: None,
            reason: reason.into(),
        }
    }

    /// Whether retrying the same request later may succeed: true for failures, time-outs,
    /// input/output errors and requests held back by [`Guarded`](crate::Guarded), false for unsupported operations, bad settings, a program that cannot
    /// be started and output that cannot be parsed (those need a person).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ActuateError::Failed { .. }
                | ActuateError::Timeout { .. }
                | ActuateError::Io(_)
                | ActuateError::Backoff { .. }
                | ActuateError::CircuitOpen { .. }
        )
    }
}

fn status_suffix(status: &Option<ExitStatus>) -> String {
    match status {
        Some(s) => format!(" ({s})"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_without_trailing_period() {
        let errors = [
            ActuateError::failed("x", "no quota"),
            ActuateError::Timeout {
                what: "`sleep`".into(),
                after: Duration::from_millis(200),
            },
            ActuateError::Parse {
                what: "`sh`".into(),
                input: "seven".into(),
                reason: "expected an integer".into(),
            },
            ActuateError::Spawn {
                program: "nope".into(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            },
            ActuateError::Io(std::io::Error::other("broken pipe")),
            ActuateError::Unsupported("resize"),
            ActuateError::InvalidParam {
                name: "provisioning_delay_secs",
                reason: "must be finite".into(),
            },
        ];
        for e in errors {
            let m = e.to_string();
            assert!(!m.ends_with('.'), "{m}");
            let first = m.chars().find(|c| c.is_alphabetic()).unwrap();
            assert!(first.is_lowercase(), "{m}");
        }
    }

    #[test]
    fn failed_shows_the_exit_status_when_there_is_one() {
        let e = ActuateError::failed("my-platform", "quota reached");
        assert_eq!(e.to_string(), "my-platform failed: quota reached");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            let e = ActuateError::Failed {
                what: "`kubectl`".into(),
                status: Some(ExitStatus::from_raw(3 << 8)),
                reason: "not found".into(),
            };
            assert_eq!(
                e.to_string(),
                "`kubectl` failed (exit status: 3): not found"
            );
        }
        let e = ActuateError::Timeout {
            what: "`sleep`".into(),
            after: Duration::from_millis(200),
        };
        assert_eq!(e.to_string(), "`sleep` timed out after 200ms");
    }

    #[test]
    fn transient_errors_are_worth_retrying() {
        assert!(ActuateError::failed("x", "busy").is_transient());
        assert!(!ActuateError::Unsupported("resize").is_transient());
    }
}
