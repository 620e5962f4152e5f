use prescient_core::{Sample, Timestamp};

use super::AsyncSource;
use crate::{Error, Result, Source};

/// An [`AsyncSource`] run on a single-threaded tokio runtime of its own, as a blocking
/// [`Source`] for a host without a runtime.
///
/// Do not use it from inside an async task (tokio refuses to block a runtime's thread): there,
/// await the [`AsyncSource`] directly.
#[derive(Debug)]
pub struct Blocking<S> {
    source: S,
    runtime: tokio::runtime::Runtime,
}

impl<S: AsyncSource> Blocking<S> {
    /// Wraps `source`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the runtime cannot be built (the operating system refused a thread
    /// or a socket).
    pub fn new(source: S) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                path: "tokio runtime".into(),
                source,
            })?;
        Ok(Blocking { source, runtime })
    }

    /// The wrapped source.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.source
    }

    /// The wrapped source, unwrapped.
    pub fn into_inner(self) -> S {
        self.source
    }
}

impl<S: AsyncSource> Source for Blocking<S> {
    fn columns(&self) -> &[String] {
        self.source.columns()
    }

    fn backfill(&mut self, start: Timestamp, end: Timestamp) -> Result<Vec<Sample>> {
        self.runtime.block_on(self.source.backfill(start, end))
    }

    fn poll(&mut self, now: Timestamp) -> Result<Sample> {
        self.runtime.block_on(self.source.poll(now))
    }
}
