//! The sources that talk HTTP (feature `http`): the Prometheus API, InfluxDB 1.x queries and
//! `/metrics` scrapes. They are async ([`AsyncSource`]); [`Blocking`] runs one on a runtime of
//! its own for a synchronous host.

mod blocking;
mod client;
mod influx;
mod prometheus;
mod scrape;

pub use blocking::Blocking;
pub(crate) use client::HttpClient;
pub use influx::{Aggregation, InfluxColumn, InfluxSource, InfluxWriter};
pub use prometheus::PrometheusSource;
pub use scrape::ScrapeSource;

use std::future::Future;

use prescient_core::{Sample, Timestamp};

use crate::Result;

/// The async form of [`Source`](crate::Source), for the sources that wait on a network.
///
/// The methods return `Send` futures, so they run on any multi-threaded executor; nothing here
/// starts a runtime of its own except [`Blocking`].
pub trait AsyncSource: Send {
    /// The names of a sample's values, in order.
    fn columns(&self) -> &[String];

    /// History for training: the samples at every grid time from `start` to `end`.
    ///
    /// # Errors
    ///
    /// As [`Source::backfill`](crate::Source::backfill).
    fn backfill(
        &mut self,
        start: Timestamp,
        end: Timestamp,
    ) -> impl Future<Output = Result<Vec<Sample>>> + Send;

    /// The latest values as of `now`.
    ///
    /// # Errors
    ///
    /// As [`Source::poll`](crate::Source::poll).
    fn poll(&mut self, now: Timestamp) -> impl Future<Output = Result<Sample>> + Send;
}
