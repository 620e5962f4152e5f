//! The metrics endpoint over real loopback connections.

#![cfg(feature = "metrics-endpoint")]
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use prescient::export::{EndpointParams, Exporter, Format, MetricsEndpoint};
use prescient::{MetricRole, PlannerParams, PoolStatus, Scaler, Schema, Timestamp};

/// Sends `request` and reads the whole answer (the server closes every connection).
fn ask(endpoint: &MetricsEndpoint, request: &[u8]) -> String {
    let mut conn = TcpStream::connect(endpoint.local_addr()).unwrap();
    // A hung server fails the test instead of hanging it.
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    conn.write_all(request).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    answer
}

fn status(answer: &str) -> &str {
    answer.lines().next().unwrap()
}

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let (head, _) = answer.split_once("\r\n\r\n").unwrap();
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(": ")?;
        k.eq_ignore_ascii_case(name).then_some(v)
    })
}

fn body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").unwrap().1
}

fn page() -> String {
    let schema = Schema::builder("api")
        .metric("rps", MetricRole::Load)
        .build()
        .unwrap();
    let mut scaler = Scaler::builder(schema, PlannerParams::new(50.0))
        .build()
        .unwrap();
    let mut exporter = Exporter::new(&scaler);
    let pool = PoolStatus {
        desired: 2,
        ready: 2,
    };
    let d = scaler
        .tick(Timestamp::from_secs(0), &[400.0], pool)
        .unwrap();
    exporter.observe(&scaler, &d, pool);
    exporter.render_to_string()
}

const GET: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";

#[test]
fn serves_the_published_page_with_the_exposition_content_type() {
    let endpoint = MetricsEndpoint::bind("127.0.0.1:0").unwrap();
    let answer = ask(&endpoint, GET);
    assert_eq!(status(&answer), "HTTP/1.1 200 OK");
    assert_eq!(body(&answer), "", "empty until the first publish");

    let text = page();
    endpoint.publish(text.clone());
    assert_eq!(&*endpoint.page(), text);
    let answer = ask(&endpoint, GET);
    assert_eq!(status(&answer), "HTTP/1.1 200 OK");
    assert_eq!(
        header(&answer, "content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(
        header(&answer, "content-length"),
        Some(text.len().to_string().as_str())
    );
    assert_eq!(header(&answer, "connection"), Some("close"));
    assert_eq!(body(&answer), text);

    // A query string is ignored; HEAD has the headers without the body.
    let answer = ask(&endpoint, b"GET /metrics?x=1 HTTP/1.0\r\n\r\n");
    assert_eq!(body(&answer), text);
    let answer = ask(&endpoint, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status(&answer), "HTTP/1.1 200 OK");
    assert_eq!(
        header(&answer, "content-length"),
        Some(text.len().to_string().as_str())
    );
    assert_eq!(body(&answer), "");

    endpoint.publish("replaced\n");
    assert_eq!(body(&ask(&endpoint, GET)), "replaced\n");
}

#[test]
fn other_paths_are_404_and_other_methods_405() {
    let endpoint = MetricsEndpoint::bind("127.0.0.1:0").unwrap();
    endpoint.publish(page());
    for path in ["/", "/metrics/", "/metricsx", "/favicon.ico"] {
        let answer = ask(&endpoint, format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes());
        assert_eq!(status(&answer), "HTTP/1.1 404 Not Found", "{path}");
    }
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let answer = ask(
            &endpoint,
            format!("{method} /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").as_bytes(),
        );
        assert_eq!(
            status(&answer),
            "HTTP/1.1 405 Method Not Allowed",
            "{method}"
        );
        assert_eq!(header(&answer, "allow"), Some("GET, HEAD"));
    }
    for garbage in [
        &b"hello\r\n\r\n"[..],
        b"GET /metrics SPDY/3\r\n\r\n",
        b"\xff\xfe\r\n\r\n",
    ] {
        let answer = ask(&endpoint, garbage);
        assert_eq!(status(&answer), "HTTP/1.1 400 Bad Request");
    }
    // A head that never ends within 8 KiB.
    let long = vec![b'a'; 8 * 1024];
    let answer = ask(&endpoint, &long);
    assert_eq!(
        status(&answer),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
}

#[test]
fn a_silent_client_does_not_block_the_next_one() {
    let endpoint = MetricsEndpoint::bind("127.0.0.1:0").unwrap();
    endpoint.publish(page());
    // Connected and silent for the whole test, far longer than it takes to serve the others.
    let silent: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(endpoint.local_addr()).unwrap())
        .collect();
    for _ in 0..3 {
        let answer = ask(&endpoint, GET);
        assert_eq!(status(&answer), "HTTP/1.1 200 OK");
    }
    drop(silent);
    assert_eq!(status(&ask(&endpoint, GET)), "HTTP/1.1 200 OK");
}

#[test]
fn a_client_that_sends_nothing_is_disconnected_at_the_time_limit() {
    let endpoint = EndpointParams::new()
        .time_limit(Duration::from_millis(50))
        .bind("127.0.0.1:0")
        .unwrap();
    // Half a request, then nothing: the server gives up and says so.
    let answer = ask(&endpoint, b"GET /metrics HTTP/1.1\r\n");
    assert_eq!(status(&answer), "HTTP/1.1 408 Request Timeout");
    // And the server still serves.
    assert_eq!(status(&ask(&endpoint, GET)), "HTTP/1.1 200 OK");
}

#[test]
fn connections_beyond_the_limit_are_refused_with_503() {
    let endpoint = EndpointParams::new()
        .max_connections(1)
        .bind("127.0.0.1:0")
        .unwrap();
    let silent = TcpStream::connect(endpoint.local_addr()).unwrap();
    let answer = ask(&endpoint, GET);
    assert_eq!(status(&answer), "HTTP/1.1 503 Service Unavailable");
    // Once the silent client leaves, its slot is free again: a refused client retries.
    silent.shutdown(Shutdown::Both).unwrap();
    drop(silent);
    let answer = loop {
        let answer = ask(&endpoint, GET);
        if !answer.contains(" 503 ") {
            break answer;
        }
        std::thread::yield_now();
    };
    assert_eq!(status(&answer), "HTTP/1.1 200 OK");
}

#[test]
fn the_format_sets_the_content_type() {
    let endpoint = EndpointParams::new()
        .format(Format::OpenMetrics)
        .bind("127.0.0.1:0")
        .unwrap();
    let answer = ask(&endpoint, GET);
    assert_eq!(
        header(&answer, "content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
}

#[test]
fn dropping_the_endpoint_stops_the_server() {
    let endpoint = MetricsEndpoint::bind("127.0.0.1:0").unwrap();
    let addr = endpoint.local_addr();
    assert_eq!(status(&ask(&endpoint, GET)), "HTTP/1.1 200 OK");
    drop(endpoint);
    // The listener is closed once the drop returns: nothing accepts on the port any more.
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn endpoints_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MetricsEndpoint>();
}
