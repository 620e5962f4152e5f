//! A `/metrics` page scraped over HTTP.

use std::time::Duration;

use prescient_core::{Sample, Timestamp};

use super::{AsyncSource, HttpClient};
use crate::exposition::Extractor;
use crate::{Error, Result};

/// A service's `/metrics` page as a source: each poll GETs the page and reads it through an
/// [`Extractor`] (rates and histogram quantiles between successive polls).
///
/// A page has no history, so [`AsyncSource::backfill`] is an error: backfill from the Prometheus
/// server that scrapes the service, and poll the page live. The page's format is told by its
/// end ([`Format::sniff`](crate::exposition::Format::sniff)); servers send Prometheus's text
/// format unless asked for OpenMetrics, and this source does not ask.
///
/// ```no_run
/// use std::time::Duration;
/// use prescient_core::Timestamp;
/// use prescient_sources::Source;
/// use prescient_sources::exposition::{Column, Extractor, Selector};
/// use prescient_sources::http::{Blocking, ScrapeSource};
///
/// let extractor = Extractor::new(vec![
///     Column::rate("load", Selector::new("http_requests_total")),
///     Column::histogram_quantile("p99", Selector::new("http_request_duration_seconds"), 0.99),
/// ])?;
/// let page = ScrapeSource::new("http://127.0.0.1:9100/metrics", extractor, Duration::from_secs(2))?;
/// let mut source = Blocking::new(page)?;
/// let sample = source.poll(Timestamp::from_secs(1_700_000_000))?;
/// # Ok::<(), prescient_sources::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ScrapeSource {
    url: String,
    client: HttpClient,
    extractor: Extractor,
}

impl ScrapeSource {
    /// Scrapes `url` (a page in the Prometheus or OpenMetrics text format) into `extractor`'s
    /// columns; a scrape that takes longer than `timeout` fails with [`Error::Timeout`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when `timeout` is zero or the HTTP client cannot be built.
    pub fn new(url: impl Into<String>, extractor: Extractor, timeout: Duration) -> Result<Self> {
        let url = url.into();
        let extractor = extractor.named(url.clone());
        Ok(ScrapeSource {
            client: HttpClient::new(timeout)?,
            url,
            extractor,
        })
    }

    /// The page's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The extractor, with what it remembers of the last scrapes.
    pub fn extractor(&self) -> &Extractor {
        &self.extractor
    }
}

impl AsyncSource for ScrapeSource {
    fn columns(&self) -> &[String] {
        self.extractor.columns()
    }

    /// Always [`Error::InvalidParam`] naming `backfill`: a `/metrics` page holds only the
    /// present.
    async fn backfill(&mut self, _start: Timestamp, _end: Timestamp) -> Result<Vec<Sample>> {
        Err(Error::InvalidParam {
            name: "backfill",
            reason: format!(
                "{} is a /metrics page, which has no history: backfill from the Prometheus \
                 server that scrapes it, and poll the page live",
                self.url
            ),
        })
    }

    /// Scrapes the page at `now`.
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`], [`Error::Timeout`] or [`Error::Http`] when the scrape fails;
    /// [`Error::Parse`] naming the URL when the page is malformed; [`Error::InvalidParam`] when
    /// `now` is not after the last successful scrape. A failed scrape changes nothing (the next
    /// rate is over the interval since the last good one).
    async fn poll(&mut self, now: Timestamp) -> Result<Sample> {
        let body = self.client.get(&self.url, &[]).await?;
        self.extractor.extract(now, &body)
    }
}
