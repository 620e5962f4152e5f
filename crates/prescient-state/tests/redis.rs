//! The Redis backends against a real server, and leader failover between real processes.
//!
//! The server tests are `#[ignore]`d in a plain `cargo test`; start a server with
//! `tests/servers/redis.sh DIR` and run
//! `PRESCIENT_REDIS_URL=<url> cargo test -p prescient-state --features redis -- --include-ignored`
//! (`.ci/run` does). Without the variable they fail, saying so.
//!
//! The failover tests run replicas as child processes: this test binary again, filtered to
//! `replica_process`, which loops `Elector::tick` every 25 ms on one thread while another (the
//! actuator) appends a line "wall-clock nanoseconds, fencing token" to its log every 25 ms while
//! its `LeaderWatch` says it may actuate. The parent kills (SIGKILL)
//! or pauses (SIGSTOP) the leader and reads the logs afterwards. The processes share the
//! machine's wall clock, which is what makes their logs comparable.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::disallowed_methods)]
// Reading the clock is what these tests are about: the replicas stamp their actuations, and the
// parent measures failover and latency. Every clock read is in this file.

mod common;

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prescient_state::{
    Elector, ElectorParams, Error, KeySpace, RedisLease, RedisParams, RedisStore, StateStore,
};

const URL_VAR: &str = "PRESCIENT_REDIS_URL";

fn url() -> String {
    std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{URL_VAR} is not set: start a server with crates/prescient-state/tests/servers/redis.sh DIR \
             and export the URL it prints"
        )
    })
}

/// A key space of its own per test and per run, so that runs do not see each other's keys.
fn space(test: &str) -> KeySpace {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    KeySpace::new("test", &format!("{test}-{}-{nanos}", std::process::id())).unwrap()
}

fn params() -> RedisParams {
    RedisParams::new(url())
}

#[test]
#[ignore = "needs a Redis server: PRESCIENT_REDIS_URL"]
fn redis_store_passes_the_suite() {
    common::store_suite(&RedisStore::new(params()).unwrap(), &space("suite"));
}

#[test]
#[ignore = "needs a Redis server: PRESCIENT_REDIS_URL"]
fn redis_store_concurrent_writers_lose_nothing() {
    // One connection per thread, as replicas have.
    let stores = (0..4)
        .map(|_| Arc::new(RedisStore::new(params()).unwrap()) as Arc<dyn StateStore>)
        .collect();
    common::concurrent_writers(stores, &space("concurrent"), 100);
}

#[test]
#[ignore = "needs a Redis server: PRESCIENT_REDIS_URL"]
fn redis_lease_passes_the_suite() {
    let key = space("lease").leader();
    common::lease_suite(
        RedisLease::new(params(), &key).unwrap(),
        RedisLease::new(params(), &key).unwrap(),
    );
}

#[test]
#[ignore = "needs a Redis server: PRESCIENT_REDIS_URL"]
fn redis_store_reconnects_after_a_server_side_disconnect() {
    let store = RedisStore::new(params()).unwrap();
    let key = space("reconnect").baseline("api").unwrap();
    store.put(&key, b"before").unwrap();
    // Close every other client's connection (ours included) from the server's side.
    let mut admin = redis::Client::open(url())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("SKIPME")
        .arg("yes")
        .arg("TYPE")
        .arg("normal")
        .query(&mut admin)
        .unwrap();
    // The first call may see the closed connection; the next one connects afresh.
    let first = store.get(&key);
    if let Err(e) = &first {
        assert!(e.is_transient(), "{e}");
    }
    assert_eq!(store.get(&key).unwrap().unwrap().bytes, b"before");
    store.delete(&key).unwrap();
}

#[test]
fn unreachable_server_is_unreachable() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = RedisStore::new(RedisParams::new(format!("redis://127.0.0.1:{port}/"))).unwrap();
    let key = KeySpace::new("t", "s").unwrap().baseline("c").unwrap();
    let err = store.get(&key).unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    assert!(err.is_transient());
}

#[test]
fn silent_server_is_a_timeout() {
    // Accepts connections (the kernel does) and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let store = RedisStore::new(
        RedisParams::new(format!("redis://127.0.0.1:{port}/"))
            .connect_timeout(Duration::from_millis(100))
            .io_timeout(Duration::from_millis(100)),
    )
    .unwrap();
    let key = KeySpace::new("t", "s").unwrap().baseline("c").unwrap();
    let started = Instant::now();
    let err = store.put(&key, b"x").unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    // Bounded by the time limits, not by the server.
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(listener);
}

#[test]
fn server_speaking_another_protocol_is_a_protocol_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        // Answers whatever comes with an HTTP response, twice at most (a reconnection).
        for _ in 0..2 {
            let Ok((mut socket, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf);
            let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let store = RedisStore::new(
        RedisParams::new(format!("redis://127.0.0.1:{port}/"))
            .io_timeout(Duration::from_millis(500)),
    )
    .unwrap();
    let key = KeySpace::new("t", "s").unwrap().baseline("c").unwrap();
    let err = store.get(&key).unwrap_err();
    assert!(matches!(err, Error::Protocol { .. }), "{err}");
    drop(store);
    // Unblock the server thread if the client did not reconnect.
    let _ = std::net::TcpStream::connect(("127.0.0.1", port));
    server.join().unwrap();
}

#[test]
fn invalid_settings_are_refused() {
    assert!(RedisStore::new(RedisParams::new("http://example.invalid/")).is_err());
    assert!(RedisStore::new(RedisParams::new("redis://127.0.0.1/").prefix("a*")).is_err());
    assert!(
        RedisStore::new(RedisParams::new("redis://127.0.0.1/").io_timeout(Duration::ZERO)).is_err()
    );
}

// ---- Failover between processes ----

const TTL: Duration = Duration::from_millis(1000);
const TICK: Duration = Duration::from_millis(25);

fn wall_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A replica, when started by a failover test (the variables are set); nothing otherwise.
#[test]
#[ignore = "a child process of the failover tests"]
fn replica_process() {
    let Ok(id) = std::env::var("PRESCIENT_REPLICA") else {
        return;
    };
    let dir = PathBuf::from(std::env::var("PRESCIENT_REPLICA_DIR").unwrap());
    let service = std::env::var("PRESCIENT_REPLICA_SERVICE").unwrap();
    let space = KeySpace::new("test", &service).unwrap();
    let lease = RedisLease::new(
        params()
            .connect_timeout(Duration::from_millis(150))
            .io_timeout(Duration::from_millis(150)),
        &space.leader(),
    )
    .unwrap();
    let mut elector = Elector::new(lease, &id, ElectorParams::new(TTL)).unwrap();
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{id}.log")))
        .unwrap();
    let stop = dir.join("stop");
    // Bounded, whatever the parent does.
    let deadline = Instant::now() + Duration::from_secs(60);
    // The actuating thread, as a host with a slow actuator would have it: it trusts only the
    // watch, which runs out at the local expiry even while the ticking thread is stuck (after a
    // SIGCONT, it may run before the ticking thread has learnt that the lease is lost).
    let watch = elector.watch();
    let stop_actuator = stop.clone();
    let actuator = thread::spawn(move || {
        while Instant::now() < deadline && !stop_actuator.exists() {
            // The stamp is read before the check, so that a line claims only a moment at which
            // the replica held its belief: a pause between the stamp and the check fails the
            // check, one after it delays the line, not its stamp.
            let wall = wall_nanos();
            if let Some(fence) = watch.may_actuate(Instant::now()) {
                log.write_all(format!("{wall} {fence}\n").as_bytes())
                    .unwrap();
            }
            thread::sleep(TICK);
        }
    });
    while Instant::now() < deadline && !stop.exists() {
        elector.tick(Instant::now());
        thread::sleep(TICK);
    }
    elector.resign(Instant::now()).unwrap();
    actuator.join().unwrap();
}

struct Replicas {
    dir: PathBuf,
    children: BTreeMap<String, Child>,
}

impl Replicas {
    fn start(test: &str, n: usize) -> Self {
        let service = space(test).prefix().split('/').nth(1).unwrap().to_owned();
        let dir = std::env::temp_dir().join(format!("prescient-{service}"));
        fs::create_dir_all(&dir).unwrap();
        let exe = std::env::current_exe().unwrap();
        let children = (0..n)
            .map(|i| {
                let id = format!("r{i}");
                let child = Command::new(&exe)
                    .args([
                        "--exact",
                        "replica_process",
                        "--include-ignored",
                        "--nocapture",
                    ])
                    .env("PRESCIENT_REPLICA", &id)
                    .env("PRESCIENT_REPLICA_DIR", &dir)
                    .env("PRESCIENT_REPLICA_SERVICE", &service)
                    .env(URL_VAR, url())
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(fs::File::create(dir.join(format!("{id}.stderr"))).unwrap())
                    .spawn()
                    .unwrap();
                (id, child)
            })
            .collect();
        Self { dir, children }
    }

    fn log(&self, id: &str) -> Vec<(u128, u64)> {
        let text = fs::read_to_string(self.dir.join(format!("{id}.log"))).unwrap_or_default();
        text.lines()
            .filter_map(|line| {
                let (wall, fence) = line.split_once(' ')?;
                Some((wall.parse().ok()?, fence.parse().ok()?))
            })
            .collect()
    }

    /// The replica that actuated last, once one has in the last 200 ms (waiting up to 5 s).
    fn leader(&self) -> String {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            let now = wall_nanos();
            let last = self
                .children
                .keys()
                .filter_map(|id| self.log(id).last().map(|&(wall, _)| (wall, id.clone())))
                .max();
            if let Some((wall, id)) = last
                && now.saturating_sub(wall) < 200_000_000
            {
                return id;
            }
            thread::sleep(TICK);
        }
        panic!("no replica actuated; see {}", self.dir.display());
    }

    fn pid(&self, id: &str) -> u32 {
        self.children[id].id()
    }

    fn kill(&mut self, id: &str) -> u128 {
        let child = self.children.get_mut(id).unwrap();
        let at = wall_nanos();
        child.kill().unwrap();
        child.wait().unwrap();
        at
    }

    fn signal(&self, id: &str, signal: &str) -> u128 {
        let at = wall_nanos();
        let status = Command::new("kill")
            .args([signal, &self.pid(id).to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        at
    }

    /// Asks every replica to stop, waits (5 s at most, then kills) and returns every log.
    fn stop(mut self) -> BTreeMap<String, Vec<(u128, u64)>> {
        fs::write(self.dir.join("stop"), b"").unwrap();
        let started = Instant::now();
        for child in self.children.values_mut() {
            while child.try_wait().unwrap().is_none() {
                if started.elapsed() > Duration::from_secs(5) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                thread::sleep(TICK);
            }
        }
        let logs = self
            .children
            .keys()
            .map(|id| (id.clone(), self.log(id)))
            .collect();
        let _ = fs::remove_dir_all(&self.dir);
        logs
    }
}

/// One leadership as the logs show it: a replica, its fencing token, first and last actuation.
#[derive(Debug)]
struct Term {
    id: String,
    fence: u64,
    first: u128,
    last: u128,
}

/// Checks the logs and returns the terms in order: (a) no two replicas' actuations interleave
/// (sorted by wall time, a term's lines are contiguous), (b) fencing tokens strictly increase
/// from term to term, and each belongs to one replica.
fn terms(logs: &BTreeMap<String, Vec<(u128, u64)>>) -> Vec<Term> {
    let mut lines: Vec<(u128, u64, &str)> = logs
        .iter()
        .flat_map(|(id, lines)| lines.iter().map(move |&(w, f)| (w, f, id.as_str())))
        .collect();
    lines.sort();
    let mut terms: Vec<Term> = Vec::new();
    for (wall, fence, id) in lines {
        match terms.last_mut() {
            Some(term) if term.fence == fence => {
                assert_eq!(term.id, id, "fencing token {fence} used by two replicas");
                term.last = wall;
            }
            previous => {
                if let Some(term) = previous {
                    assert!(
                        fence > term.fence,
                        "{id} actuated with token {fence} at {wall} inside or after the term of \
                         {} (token {}, {}..{}): two actuating leaders",
                        term.id,
                        term.fence,
                        term.first,
                        term.last
                    );
                }
                terms.push(Term {
                    id: id.to_owned(),
                    fence,
                    first: wall,
                    last: wall,
                });
            }
        }
    }
    terms
}

/// The time from `at` to the first actuation of a term after `fence`.
fn takeover_after(terms: &[Term], fence: u64, at: u128) -> Duration {
    let next = terms
        .iter()
        .find(|t| t.fence > fence)
        .unwrap_or_else(|| panic!("no leader after token {fence}: {terms:?}"));
    Duration::from_nanos(u64::try_from(next.first.saturating_sub(at)).unwrap())
}

fn fence_of(logs: &BTreeMap<String, Vec<(u128, u64)>>, id: &str) -> u64 {
    logs[id].last().unwrap().1
}

#[test]
#[ignore = "needs a Redis server: PRESCIENT_REDIS_URL"]
fn killed_leader_is_replaced_within_two_lease_periods() {
    let mut replicas = Replicas::start("failover", 3);
    let mut kills = Vec::new();
    for _ in 0..2 {
        let leader = replicas.leader();
        // Let it renew a few times first.
        thread::sleep(TTL + TTL / 2);
        let leader_now = replicas.leader();
        assert_eq!(leader, leader_now, "leadership moved without a failure");
        let at = replicas.kill(&leader);
        kills.push((leader, at));
        thread::sleep(TTL * 5 / 2);
    }
    let logs = replicas.stop();
    let terms = terms(&logs);
    for (leader, at) in &kills {
        let fence = fence_of(&logs, leader);
        // The killed replica wrote nothing after its death.
        assert!(logs[leader].iter().all(|&(w, _)| w <= *at));
        let takeover = takeover_after(&terms, fence, *at);
        println!(
            "failover: leader {leader} (token {fence}) killed, next leader actuated after {} ms",
            takeover.as_millis()
        );
        assert!(takeover <= TTL * 2, "failover took {takeover:?}");
    }
    assert!(terms.len() >= 3, "{terms:?}");
}

#[test]
#[ignore = "needs a Redis server: PRESCIENT_REDIS_URL"]
fn paused_leader_stops_at_its_local_expiry() {
    let replicas = Replicas::start("pause", 3);
    let leader = replicas.leader();
    thread::sleep(TTL);
    let paused_at = replicas.signal(&leader, "-STOP");
    thread::sleep(TTL * 5 / 2);
    let resumed_at = replicas.signal(&leader, "-CONT");
    thread::sleep(TTL * 3 / 2);
    let logs = replicas.stop();
    // Checks (a) and (b): the resumed replica did not actuate beside the new leader.
    let terms = terms(&logs);
    let fence = logs[&leader]
        .iter()
        .rfind(|&&(w, _)| w <= paused_at)
        .unwrap()
        .1;
    // Its old term ends before its local expiry (a stamp read just before the signal landed).
    let belief = ElectorParams::new(TTL).belief().as_nanos();
    for &(wall, f) in &logs[&leader] {
        if f == fence {
            assert!(wall < paused_at + belief, "actuated at {wall} with {f}");
            assert!(wall < resumed_at);
        }
    }
    let takeover = takeover_after(&terms, fence, paused_at);
    println!(
        "pause: leader {leader} (token {fence}) stopped, next leader actuated after {} ms",
        takeover.as_millis()
    );
    assert!(takeover <= TTL * 2, "takeover took {takeover:?}");
}

// ---- A leader cut off from the server ----

/// A TCP relay to the Redis server that can be made to swallow everything (a network that
/// hangs: no error, no answer).
struct Relay {
    port: u16,
    cut: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
}

impl Relay {
    fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (cut2, done2) = (cut.clone(), done.clone());
        thread::spawn(move || {
            while !done2.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept() else {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let server = TcpStream::connect(upstream).unwrap();
                for (from, to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let (cut, done) = (cut2.clone(), done2.clone());
                    thread::spawn(move || pipe(from, to, &cut, &done));
                }
            }
        });
        Self { port, cut, done }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream, cut: &AtomicBool, done: &AtomicBool) {
    from.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut buf = [0u8; 16 * 1024];
    while !done.load(Ordering::Relaxed) {
        match from.read(&mut buf) {
            Ok(0) => return,
            // Once cut, bytes vanish: the client waits for an answer that never comes.
            Ok(n) if !cut.load(Ordering::Relaxed) => {
                if to.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

#[test]
#[ignore = "needs a Redis server: PRESCIENT_REDIS_URL"]
fn leader_cut_off_stops_at_its_local_expiry() {
    let upstream: SocketAddr = url()
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .parse()
        .expect("PRESCIENT_REDIS_URL as redis://IP:PORT/ for this test");
    let relay = Relay::start(upstream);
    let key = space("cutoff").leader();
    let quick = |url: String| {
        RedisParams::new(url)
            .connect_timeout(Duration::from_millis(150))
            .io_timeout(Duration::from_millis(150))
    };
    let through_relay =
        RedisLease::new(quick(format!("redis://127.0.0.1:{}/", relay.port)), &key).unwrap();
    let direct = RedisLease::new(quick(url()), &key).unwrap();
    let params = ElectorParams::new(TTL);
    let mut a = Elector::new(through_relay, "a", params).unwrap();
    let mut b = Elector::new(direct, "b", params).unwrap();

    let started = Instant::now();
    assert!(a.tick(started), "{:?}", a.last_error());
    let mut cut_at = None;
    let mut a_last = None;
    let mut b_first = None;
    // One timeline: both electors tick in turn, each answer checked at a fresh clock read.
    while started.elapsed() < Duration::from_secs(4) && b_first.is_none() {
        if cut_at.is_none() && started.elapsed() >= Duration::from_millis(700) {
            relay.cut.store(true, Ordering::Relaxed);
            cut_at = Some(Instant::now());
        }
        a.tick(Instant::now());
        let now = Instant::now();
        if a.may_actuate(now) {
            a_last = Some(now);
            assert!(b_first.is_none(), "a actuates after b took over");
        }
        b.tick(Instant::now());
        let now = Instant::now();
        if b.may_actuate(now) {
            assert!(!a.may_actuate(now), "a and b both lead at {now:?}");
            b_first.get_or_insert(now);
        }
        thread::sleep(TICK);
    }
    let (cut_at, a_last, b_first) = (cut_at.unwrap(), a_last.unwrap(), b_first.unwrap());
    assert!(a_last < b_first);
    // a's belief ran out within ttl × (1 − margin) of the cut (its last successful request
    // went out before it), whatever its requests did since: they hung until their time limit.
    assert!(a_last < cut_at + params.belief(), "{:?}", a_last - cut_at);
    assert!(
        matches!(a.last_error(), Some(Error::Timeout { .. })),
        "{:?}",
        a.last_error()
    );
    let takeover = b_first - cut_at;
    let belief_end = a.leadership().unwrap().valid_until;
    assert!(belief_end < b_first);
    println!(
        "cut-off: leader a's belief ended {} ms after the cut (its ticks hung on time limits), \
         b led {} ms after it",
        belief_end.saturating_duration_since(cut_at).as_millis(),
        takeover.as_millis()
    );
    assert!(takeover <= TTL * 2, "{takeover:?}");
    b.resign(Instant::now()).unwrap();
}

// ---- Latency on loopback (printed, not asserted) ----

fn percentiles(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_micros();
    println!(
        "latency {name:<7} n={} p50={} µs p90={} µs p99={} µs max={} µs",
        samples.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
}

fn time<T>(n: usize, mut op: impl FnMut(usize) -> T) -> Vec<Duration> {
    for i in 0..n / 10 {
        op(i);
    }
    (0..n)
        .map(|i| {
            let started = Instant::now();
            op(i);
            started.elapsed()
        })
        .collect()
}

/// Prints the percentiles of get, put, compare-and-set and lease renewal on one connection.
#[test]
#[ignore = "needs a Redis server: PRESCIENT_REDIS_URL"]
fn redis_latency() {
    const N: usize = 2000;
    let space = space("latency");
    let store = RedisStore::new(params()).unwrap();
    let key = space.baseline("api").unwrap();
    // A value of a snapshot's size.
    let value = vec![7u8; 4096];
    store.put(&key, &value).unwrap();
    percentiles("get", time(N, |_| store.get(&key).unwrap()));
    percentiles("put", time(N, |_| store.put(&key, &value).unwrap()));
    let mut version = store.get(&key).unwrap().unwrap().version;
    percentiles(
        "cas",
        time(N, |_| {
            version = store
                .put_if_version(&key, &value, Some(version))
                .unwrap()
                .unwrap();
        }),
    );
    let lease = RedisLease::new(params(), &space.leader()).unwrap();
    let mut elector = Elector::new(lease, "latency", ElectorParams::new(TTL)).unwrap();
    percentiles(
        "renew",
        time(N, |_| {
            elector
                .try_acquire_or_renew(Instant::now())
                .unwrap()
                .unwrap()
        }),
    );
    elector.resign(Instant::now()).unwrap();
    store.delete(&key).unwrap();
}
