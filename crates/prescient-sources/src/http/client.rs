use std::time::Duration;

use crate::error::shorten;
use crate::{Error, Result};

/// A reqwest client with a time limit, and reqwest's errors turned into this crate's.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
    timeout: Duration,
}

impl HttpClient {
    /// A client whose every request (connection, headers and body) must finish within `timeout`.
    pub(crate) fn new(timeout: Duration) -> Result<Self> {
        if timeout.is_zero() {
            return Err(Error::InvalidParam {
                name: "timeout",
                reason: "must be positive".into(),
            });
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| Error::InvalidParam {
                name: "http client",
                reason: e.to_string(),
            })?;
        Ok(HttpClient { client, timeout })
    }

    /// The reqwest client, for crates that take one (prometheus-http-query).
    pub(crate) fn inner(&self) -> &reqwest::Client {
        &self.client
    }

    /// GETs `url` with `query` parameters and returns the body of a 2xx answer.
    pub(crate) async fn get(&self, url: &str, query: &[(&str, &str)]) -> Result<String> {
        let request = self.client.get(url).query(query);
        self.send(url, request).await
    }

    /// POSTs `body` to `url` with `query` parameters and returns the body of a 2xx answer.
    pub(crate) async fn post(
        &self,
        url: &str,
        query: &[(&str, &str)],
        body: String,
    ) -> Result<String> {
        let request = self.client.post(url).query(query).body(body);
        self.send(url, request).await
    }

    async fn send(&self, url: &str, request: reqwest::RequestBuilder) -> Result<String> {
        let response = request.send().await.map_err(|e| self.error(url, &e))?;
        let status = response.status();
        // A body cut short (the server died mid-answer) is an error here, never a shorter series.
        let body = response.text().await.map_err(|e| self.error(url, &e))?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(Error::Http {
                url: url.to_owned(),
                status: status.as_u16(),
                body: shorten(body.trim(), 200),
            })
        }
    }

    /// This crate's error for a reqwest error on `url`.
    pub(crate) fn error(&self, url: &str, e: &reqwest::Error) -> Error {
        if e.is_timeout() {
            Error::Timeout {
                url: url.to_owned(),
                after: self.timeout,
            }
        } else if let Some(status) = e.status() {
            Error::Http {
                url: url.to_owned(),
                status: status.as_u16(),
                body: String::new(),
            }
        } else if e.is_decode() || e.is_body() {
            // The server answered, but the body was cut short or is not what it should be.
            Error::Parse {
                what: url.to_owned(),
                line: 0,
                reason: chain(e),
            }
        } else {
            Error::Unreachable {
                url: url.to_owned(),
                reason: chain(e),
            }
        }
    }
}

/// An error and its causes, joined: reqwest's own message is terse ("error sending request"),
/// its sources say why.
fn chain(e: &dyn std::error::Error) -> String {
    let mut reason = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        reason.push_str(": ");
        reason.push_str(&c.to_string());
        cause = c.source();
    }
    reason
}
