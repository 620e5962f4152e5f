//! A small HTTP server of the exporter's page, on `std::net` alone.

use std::io::{self, Read, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Format;

/// How long a refused or answered connection is kept to read the rest of its input.
const LINGER: Duration = Duration::from_millis(20);

/// The content type of error answers.
const PLAIN: &str = "text/plain; charset=utf-8";

/// The longest request head read; longer ones are answered 431.
const MAX_HEAD: usize = 8 * 1024;

/// Settings of a [`MetricsEndpoint`]; [`EndpointParams::bind`] starts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointParams {
    format: Format,
    time_limit: Duration,
    max_connections: usize,
}

impl Default for EndpointParams {
    /// Prometheus's text format, a 5 s time limit, 8 connections at once.
    fn default() -> Self {
        EndpointParams {
            format: Format::Prometheus,
            time_limit: Duration::from_secs(5),
            max_connections: 8,
        }
    }
}

impl EndpointParams {
    /// The default settings.
    pub fn new() -> Self {
        EndpointParams::default()
    }

    /// The format of the pages that will be published, which sets the `Content-Type` of the
    /// answers (default [`Format::Prometheus`]).
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// How long a client may take to send its whole request, and each write of the answer may
    /// wait for it to read (default 5 s; at least 1 ms). A client slower than this is answered
    /// 408 or disconnected.
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit.max(Duration::from_millis(1));
        self
    }

    /// How many connections are served at once (default 8, at least 1); beyond that a new
    /// connection is answered 503 at once.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Binds `addr` and starts serving the page.
    ///
    /// # Errors
    ///
    /// The operating system's error when the address cannot be bound, or the server's thread
    /// cannot be started.
    pub fn bind(self, addr: impl std::net::ToSocketAddrs) -> io::Result<MetricsEndpoint> {
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            page: RwLock::new(Arc::from("")),
            params: self,
            stop: AtomicBool::new(false),
            active: AtomicUsize::new(0),
        });
        let server = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name("prescient-metrics".into())
            .spawn(move || serve(&listener, &server))?;
        Ok(MetricsEndpoint {
            shared,
            local_addr,
            accept: Some(accept),
        })
    }
}

/// A small HTTP server that answers `GET /metrics` with the last page published to it.
///
/// [`MetricsEndpoint::bind`] starts a thread that accepts connections and hands each to a
/// short-lived thread of its own (at most [`EndpointParams::max_connections`] at once), so a
/// client that connects and sends nothing holds only its own connection, until the time limit
/// closes it. Answers: `200` with the page for `GET` and `HEAD` of `/metrics` (a query string
/// is ignored), `404` for other paths, `405` for other methods, `400` for what is not HTTP,
/// `431` for a request head over 8 KiB, `503` when too many connections are open. Every answer
/// closes its connection. Dropping the endpoint stops the server and frees the port;
/// connections in progress finish on their own, within the time limit.
///
/// # Example
///
/// ```
/// use std::io::{Read, Write};
/// use prescient::export::{Exporter, MetricsEndpoint};
/// use prescient::{MetricRole, PlannerParams, PoolStatus, Scaler, Schema, Timestamp};
///
/// let schema = Schema::builder("api").metric("rps", MetricRole::Load).build()?;
/// let mut scaler = Scaler::builder(schema, PlannerParams::new(50.0)).build()?;
/// let mut exporter = Exporter::new(&scaler);
/// let endpoint = MetricsEndpoint::bind("127.0.0.1:0")?; // 9464 is Prometheus's usual choice
///
/// let pool = PoolStatus { desired: 2, ready: 2 };
/// let decision = scaler.tick(Timestamp::from_secs(0), &[400.0], pool)?;
/// exporter.observe(&scaler, &decision, pool);
/// endpoint.publish(exporter.render_to_string());
///
/// // What a Prometheus server does at each scrape:
/// let mut conn = std::net::TcpStream::connect(endpoint.local_addr())?;
/// conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
/// let mut answer = String::new();
/// conn.read_to_string(&mut answer)?;
/// assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(answer.ends_with("prescient_source_failures_total{component=\"api\"} 0\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct MetricsEndpoint {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    page: RwLock<Arc<str>>,
    params: EndpointParams,
    stop: AtomicBool,
    /// Connections being served.
    active: AtomicUsize,
}

impl MetricsEndpoint {
    /// Serves on `addr` with the default [`EndpointParams`]: the Prometheus text format, a 5 s
    /// time limit. Use port 0 for any free port, and [`MetricsEndpoint::local_addr`] to learn
    /// it.
    ///
    /// # Errors
    ///
    /// As [`EndpointParams::bind`].
    pub fn bind(addr: impl std::net::ToSocketAddrs) -> io::Result<MetricsEndpoint> {
        EndpointParams::default().bind(addr)
    }

    /// Replaces the page served from now on (an empty page until the first call). The swap is
    /// a pointer's under a lock; answers in progress keep the page they started with.
    pub fn publish(&self, page: impl Into<Arc<str>>) {
        let page = page.into();
        *self
            .shared
            .page
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = page;
    }

    /// The page served now.
    pub fn page(&self) -> Arc<str> {
        current_page(&self.shared)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // The accept thread is blocked in `accept`: one connection wakes it to see the flag.
        let mut wake = self.local_addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        let woken = TcpStream::connect_timeout(&wake, Duration::from_secs(1)).is_ok();
        if let Some(accept) = self.accept.take() {
            // Without the wake-up the thread would block the drop until the next connection;
            // it is left to end then instead.
            if woken {
                let _ = accept.join();
            }
        }
    }
}

fn current_page(shared: &Shared) -> Arc<str> {
    Arc::clone(
        &shared
            .page
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

/// The accept loop: each connection goes to a thread of its own, up to the limit.
fn serve(listener: &TcpListener, shared: &Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = conn else {
            // A connection that failed before it was accepted (reset by the client, or out of
            // file descriptors): nothing to answer. The pause keeps an error that lasts (no
            // descriptors left) from spinning this thread.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let limit = shared.params.max_connections;
        if shared.active.fetch_add(1, Ordering::SeqCst) >= limit {
            shared.active.fetch_sub(1, Ordering::SeqCst);
            refuse(stream);
            continue;
        }
        let slot = Slot(Arc::clone(shared));
        // If the thread cannot start, the closure is dropped with its slot and stream: the
        // connection is closed and the slot freed.
        let _ = std::thread::Builder::new()
            .name("prescient-metrics-conn".into())
            .spawn(move || {
                // An answer that cannot be written is the client's loss; there is no one to
                // report it to.
                let _ = answer(stream, &slot.0);
            });
    }
}

/// One of the connections being served; dropping it frees the slot, also on a panic.
struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answers 503 without reading the request, taking at most [`LINGER`] of the accept thread.
fn refuse(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(LINGER));
    if stream
        .write_all(&head(503, "Service Unavailable", PLAIN, 0, ""))
        .is_ok()
    {
        // A few reads at most: this is the accept thread's time.
        linger(stream, LINGER, 4);
    }
}

/// Closes the sending side and reads what the client still sends until it closes, for at most
/// `limit` per read and `reads` reads: closing a socket with unread input resets the connection,
/// and a reset can discard the answer before the client has read it.
fn linger(mut stream: TcpStream, limit: Duration, reads: usize) {
    let _ = stream.shutdown(Shutdown::Write);
    if stream.set_read_timeout(Some(limit)).is_err() {
        return;
    }
    let mut scratch = [0u8; 1024];
    for _ in 0..reads {
        match stream.read(&mut scratch) {
            Ok(n) if n > 0 => {}
            _ => return,
        }
    }
}

/// The status, head and body of an answer.
struct Answer {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    extra: &'static str,
    body: Option<Arc<str>>,
}

impl Answer {
    fn error(status: u16, reason: &'static str) -> Self {
        Answer {
            status,
            reason,
            content_type: PLAIN,
            extra: "",
            body: None,
        }
    }
}

/// Reads one request within the time limit and answers it.
fn answer(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    let limit = shared.params.time_limit;
    // The one clock read of this server: a client's whole request must arrive within the time
    // limit, not just each of its reads, or one byte at a time would hold a connection forever.
    #[allow(clippy::disallowed_methods)]
    let deadline = Instant::now() + limit;
    stream.set_write_timeout(Some(limit))?;
    stream.set_nodelay(true)?;
    let mut buf = [0u8; MAX_HEAD];
    let mut len = 0;
    let end = loop {
        if let Some(end) = head_end(&buf[..len]) {
            break end;
        }
        if len == buf.len() {
            return respond(
                stream,
                Answer::error(431, "Request Header Fields Too Large"),
                false,
            );
        }
        #[allow(clippy::disallowed_methods)]
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return respond(stream, Answer::error(408, "Request Timeout"), false);
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut buf[len..]) {
            Ok(0) => return Ok(()),
            Ok(n) => len += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return respond(stream, Answer::error(408, "Request Timeout"), false);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    };
    let (answer, head_only) = route(&buf[..end], shared);
    respond(stream, answer, head_only)
}

/// Where the request head ends (a blank line), if it has arrived.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| buf.windows(2).position(|w| w == b"\n\n"))
}

/// The answer to a request head, and whether it is to a `HEAD` (no body).
fn route(head: &[u8], shared: &Shared) -> (Answer, bool) {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let Ok(line) = std::str::from_utf8(line) else {
        return (Answer::error(400, "Bad Request"), false);
    };
    let mut parts = line.split_ascii_whitespace();
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return (Answer::error(400, "Bad Request"), false);
    };
    if !version.starts_with("HTTP/1.") {
        return (Answer::error(400, "Bad Request"), false);
    }
    let path = target.split(['?', '#']).next().unwrap_or_default();
    if path != "/metrics" {
        return (Answer::error(404, "Not Found"), method == "HEAD");
    }
    match method {
        "GET" | "HEAD" => (
            Answer {
                status: 200,
                reason: "OK",
                content_type: shared.params.format.content_type(),
                extra: "",
                body: Some(current_page(shared)),
            },
            method == "HEAD",
        ),
        _ => (
            Answer {
                extra: "Allow: GET, HEAD\r\n",
                ..Answer::error(405, "Method Not Allowed")
            },
            false,
        ),
    }
}

fn respond(mut stream: TcpStream, answer: Answer, head_only: bool) -> io::Result<()> {
    let body: &str = match &answer.body {
        Some(page) => page,
        None => answer.reason,
    };
    stream.write_all(&head(
        answer.status,
        answer.reason,
        answer.content_type,
        body.len(),
        answer.extra,
    ))?;
    if !head_only {
        stream.write_all(body.as_bytes())?;
    }
    stream.flush()?;
    linger(stream, LINGER, 64);
    Ok(())
}

/// An answer's status line and headers.
fn head(status: u16, reason: &str, content_type: &str, len: usize, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\n\
         {extra}Connection: close\r\n\r\n"
    )
    .into_bytes()
}
