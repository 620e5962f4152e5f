//! Metric sources for prescient: the metrics a service's monitoring already has, as samples for
//! the `Scaler`, both as a backfill of history (to train on) and as a live poll.
//!
//! - [`Source`] is the one abstraction: `columns`, `backfill(start, end)`, `poll(now)`, samples
//!   on a [`Grid`] (the `Scaler`'s step, Prometheus's lookback rule), NaN for a missing value.
//! - Files and text, synchronous: CSV ([`csv`]), InfluxDB line protocol ([`line_protocol`]),
//!   the Prometheus / OpenMetrics text exposition ([`exposition`]), all read into a
//!   [`Recorded`] source.
//! - Servers, async behind the feature `http` (tokio and reqwest; the core crates never see a
//!   runtime): the Prometheus HTTP API, InfluxDB 1.x queries and `/metrics` scrapes, each an
//!   `http::AsyncSource`, and `http::Blocking` to run one from synchronous code.
//! - [`Live`] keeps a host's tick loop going when its monitoring stops answering: a failed poll
//!   becomes a sample of NaNs, on which the `Scaler` holds its capacity.
//!
//! Bad input is an [`Error`] naming the file and line, the URL or the query; nothing here panics
//! on what a file or a server sends.

mod error;
mod source;

pub mod csv;
pub mod exposition;
pub mod line_protocol;

#[cfg(feature = "http")]
pub mod http;

pub use error::{Error, Result};
pub use source::{Grid, Live, Point, Polled, Recorded, Source};
