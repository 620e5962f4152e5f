//! `ScrapeSource` against tiny HTTP servers on loopback, started by each test: a page, garbage,
//! an HTTP 500 and a server that never answers.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use prescient_core::Timestamp;
use prescient_sources::exposition::{Column, Extractor, Selector};
use prescient_sources::http::{Blocking, ScrapeSource};
use prescient_sources::{Error, Source};

/// Reads a request's head (up to its blank line), or until the client hangs up.
fn read_request(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

/// A server on 127.0.0.1 answering one connection per response, in order, then closing.
fn serve(responses: Vec<(u16, String)>) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        for (status, body) in responses {
            let (mut stream, _) = listener.accept().unwrap();
            read_request(&mut stream);
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: text/plain; version=0.0.4\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    (url, handle)
}

fn source(url: &str, timeout: Duration) -> Blocking<ScrapeSource> {
    let extractor = Extractor::new(vec![
        Column::rate("load", Selector::new("http_requests_total")),
        Column::gauge("queue", Selector::new("queue_depth")),
        Column::histogram_quantile("p50", Selector::new("rpc_seconds"), 0.5),
    ])
    .unwrap();
    Blocking::new(ScrapeSource::new(url, extractor, timeout).unwrap()).unwrap()
}

fn page(requests: u64, buckets: [u64; 3]) -> String {
    format!(
        "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n\
         http_requests_total{{code=\"200\"}} {requests}\nhttp_requests_total{{code=\"500\"}} 10\n\
         # TYPE queue_depth gauge\nqueue_depth 4\n# TYPE rpc_seconds histogram\n\
         rpc_seconds_bucket{{le=\"0.1\"}} {}\nrpc_seconds_bucket{{le=\"1\"}} {}\n\
         rpc_seconds_bucket{{le=\"+Inf\"}} {}\n",
        buckets[0], buckets[1], buckets[2]
    )
}

#[test]
fn polls_read_the_page_and_rates_span_polls() {
    let (url, server) = serve(vec![
        (200, page(1000, [0, 0, 0])),
        (200, page(1600, [20, 40, 40])),
    ]);
    let mut s = source(&url, Duration::from_secs(5));
    assert_eq!(s.columns(), ["load", "queue", "p50"]);
    let first = s.poll(Timestamp::from_secs(100)).unwrap();
    assert!(first.values[0].is_nan() && first.values[2].is_nan());
    assert_eq!(first.values[1], 4.0);
    let second = s.poll(Timestamp::from_secs(130)).unwrap();
    assert_eq!(second.ts, Timestamp::from_secs(130));
    // 600 requests in 30 s; the median of 40 observations is rank 20, the top of (0, 0.1].
    assert_eq!(second.values, [20.0, 4.0, 0.1]);
    server.join().unwrap();
    let err = s
        .backfill(Timestamp::from_secs(0), Timestamp::from_secs(100))
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidParam { name: "backfill", reason } if reason.contains("Prometheus")),
        "{err}"
    );
}

#[test]
fn garbage_is_a_parse_error_naming_the_url_and_line() {
    let (url, server) = serve(vec![(200, "up 1\n<html>oops</html>\n".into())]);
    let err = source(&url, Duration::from_secs(5))
        .poll(Timestamp::from_secs(1))
        .unwrap_err();
    match &err {
        Error::Parse { what, line, .. } => {
            assert_eq!(what, &url);
            assert_eq!(*line, 2);
        }
        other => panic!("not a parse error: {other}"),
    }
    server.join().unwrap();
}

#[test]
fn http_errors_carry_the_status_and_body() {
    let (url, server) = serve(vec![(500, "internal trouble\n".into())]);
    let err = source(&url, Duration::from_secs(5))
        .poll(Timestamp::from_secs(1))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Http { status: 500, body, .. } if body == "internal trouble"),
        "{err}"
    );
    server.join().unwrap();
}

#[test]
fn a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    // Accepts and reads, but never answers; it ends when the client gives up and hangs up.
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        read_request(&mut stream);
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    });
    let timeout = Duration::from_millis(200);
    let mut s = source(&url, timeout);
    let err = s.poll(Timestamp::from_secs(1)).unwrap_err();
    assert!(
        matches!(&err, Error::Timeout { after, url: u } if *after == timeout && u == &url),
        "{err}"
    );
    drop(s);
    server.join().unwrap();
}

#[test]
fn a_closed_port_is_unreachable() {
    // Bind then drop: the port is (almost certainly) closed for the moment of the test.
    let url = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/metrics", listener.local_addr().unwrap())
    };
    let err = source(&url, Duration::from_secs(2))
        .poll(Timestamp::from_secs(1))
        .unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
}
