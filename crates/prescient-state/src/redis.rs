//! The Redis backends: [`RedisStore`] and [`RedisLease`] (feature `redis`).
//!
//! Synchronous, on the `redis` crate's blocking client: one TCP connection per store or lease,
//! opened lazily with a connection time limit, read and write time limits on every command, and
//! dropped after an I/O error so that the next call connects afresh. Every compare-and-set is a
//! Lua script (`EVALSHA`, falling back to `EVAL`), which Redis runs atomically.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::{Connection, RedisError, Script};

use crate::error::{Error, Result};
use crate::key::{Key, check_prefix};
use crate::lease::Lease;
use crate::store::{Conflict, StateStore, Versioned};

/// The settings of a Redis connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisParams {
    /// The server, `redis://HOST:PORT/DB` (a password as `redis://:PASSWORD@HOST:PORT/`).
    pub url: String,
    /// The time limit of opening a connection. Default 500 ms.
    pub connect_timeout: Duration,
    /// The time limit of each read and each write of a command. Default 500 ms. For a lease, keep
    /// it well under `ttl × margin`, so that a renewal that times out can be retried before the
    /// leader's own expiry.
    pub io_timeout: Duration,
    /// Put before every key on the server, so that several stores can share a database. Default
    /// `prescient:`. Letters, digits and `-_.:` only.
    pub prefix: String,
}

impl RedisParams {
    /// The defaults for the server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            connect_timeout: Duration::from_millis(500),
            io_timeout: Duration::from_millis(500),
            prefix: "prescient:".to_owned(),
        }
    }

    /// With another connection time limit.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// With another read and write time limit.
    pub fn io_timeout(mut self, timeout: Duration) -> Self {
        self.io_timeout = timeout;
        self
    }

    /// With another key prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

/// One lazily opened connection and what is needed to (re)open it.
struct Conn {
    client: redis::Client,
    /// `host:port`, for errors (never the URL, which may hold a password).
    addr: String,
    params: RedisParams,
    con: Option<Connection>,
}

impl Conn {
    fn new(params: RedisParams) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidParam {
            name: "url",
            reason,
        };
        if params.connect_timeout.is_zero() || params.io_timeout.is_zero() {
            return Err(Error::InvalidParam {
                name: "timeout",
                reason: "positive".to_owned(),
            });
        }
        if params.prefix.is_empty()
            || !params
                .prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        {
            return Err(Error::InvalidParam {
                name: "prefix",
                reason: format!("{:?}: letters, digits and -_.: only", params.prefix),
            });
        }
        let client = redis::Client::open(params.url.as_str())
            .map_err(|e| invalid(format!("not a Redis URL: {e}")))?;
        let addr = client.get_connection_info().addr().to_string();
        Ok(Self {
            client,
            addr,
            params,
            con: None,
        })
    }

    /// Runs `f` on the connection, opening it first if needed; drops it after an I/O error.
    fn run<T>(
        &mut self,
        op: &'static str,
        f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T> {
        if self.con.is_none() {
            let con = self
                .client
                .get_connection_with_timeout(self.params.connect_timeout)
                .map_err(|e| self.error("connect", &e))?;
            let timeout = Some(self.params.io_timeout);
            con.set_read_timeout(timeout)
                .and_then(|()| con.set_write_timeout(timeout))
                .map_err(|e| self.error("connect", &e))?;
            self.con = Some(con);
        }
        let Some(con) = self.con.as_mut() else {
            return Err(Error::Unreachable {
                addr: self.addr.clone(),
                reason: "no connection".to_owned(),
            });
        };
        match f(con) {
            Ok(value) => Ok(value),
            Err(e) => {
                let error = self.error(op, &e);
                // After an I/O error or a timeout the connection may hold half an answer: a new
                // one is opened by the next call. A server's error leaves it usable.
                if !matches!(error, Error::Protocol { .. }) || e.is_io_error() {
                    self.con = None;
                }
                Err(error)
            }
        }
    }

    fn error(&self, op: &'static str, e: &RedisError) -> Error {
        let addr = self.addr.clone();
        if e.is_timeout() {
            Error::Timeout { addr, op }
        } else if e.is_connection_refusal() || e.is_connection_dropped() || e.is_io_error() {
            Error::Unreachable {
                addr,
                reason: e.to_string(),
            }
        } else {
            Error::Protocol {
                addr,
                op,
                reason: e.to_string(),
            }
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.params.prefix)
    }
}

/// `KEYS[1]` the value (a hash: `v` version, `d` bytes), `KEYS[2]` the store's version counter;
/// `ARGV[1]` the bytes, `ARGV[2]` the expected version: `*` any, empty none, else the number.
/// Returns `{1, new version}` or `{0, current version or ""}`.
const PUT_SCRIPT: &str = r"
local cur = redis.call('HGET', KEYS[1], 'v')
if ARGV[2] ~= '*' then
  if ARGV[2] == '' then
    if cur then return {0, cur} end
  elseif cur ~= ARGV[2] then
    return {0, cur or ''}
  end
end
local v = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'v', v, 'd', ARGV[1])
return {1, tostring(v)}
";

/// A [`StateStore`] on a Redis server, shared by replicas on several machines.
///
/// A key `K` is the hash `{prefix}K` with the fields `v` (the version) and `d` (the bytes);
/// versions come from the counter `{prefix}_version`, incremented by every write. Writes are Lua
/// scripts, so that the compare-and-set and the counter are atomic on the server. Calls from
/// several threads take turns on the one connection.
///
/// With persistence off (as `.ci/run` starts it), a restarted server has lost everything: the
/// values and the version counter alike.
pub struct RedisStore {
    conn: Mutex<Conn>,
    put_script: Script,
}

impl RedisStore {
    /// A store on the server of `params`. No connection is opened until the first call.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for a URL that is not a Redis URL, a zero time limit or a prefix
    /// with other characters than letters, digits and `-_.:`.
    pub fn new(params: RedisParams) -> Result<Self> {
        Ok(Self {
            conn: Mutex::new(Conn::new(params)?),
            put_script: Script::new(PUT_SCRIPT),
        })
    }

    fn write(
        &self,
        key: &Key,
        bytes: &[u8],
        expected: &str,
    ) -> Result<std::result::Result<u64, Option<u64>>> {
        let mut conn = self.lock();
        let (data_key, counter) = (conn.key(key.as_str()), conn.key("_version"));
        let addr = conn.addr.clone();
        let (ok, version): (i64, String) = conn.run("put", |con| {
            self.put_script
                .key(&data_key)
                .key(&counter)
                .arg(bytes)
                .arg(expected)
                .invoke(con)
        })?;
        let version = if version.is_empty() {
            None
        } else {
            Some(parse_version(&addr, &data_key, &version)?)
        };
        match (ok, version) {
            (1, Some(v)) => Ok(Ok(v)),
            (0, current) => Ok(Err(current)),
            _ => Err(Error::Protocol {
                addr,
                op: "put",
                reason: "unexpected answer of the put script".to_owned(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Conn> {
        // A connection left mid-command by a panic is dropped at its next error; the data is on
        // the server.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn parse_version(addr: &str, key: &str, text: &str) -> Result<u64> {
    text.parse().map_err(|_| Error::Corrupt {
        location: format!("{addr} {key}"),
        reason: format!("version {text:?} is not a number"),
    })
}

impl StateStore for RedisStore {
    fn get(&self, key: &Key) -> Result<Option<Versioned>> {
        let mut conn = self.lock();
        let data_key = conn.key(key.as_str());
        let addr = conn.addr.clone();
        let (version, bytes): (Option<String>, Option<Vec<u8>>) = conn.run("get", |con| {
            redis::cmd("HMGET")
                .arg(&data_key)
                .arg("v")
                .arg("d")
                .query(con)
        })?;
        match (version, bytes) {
            (None, None) => Ok(None),
            (Some(version), Some(bytes)) => Ok(Some(Versioned {
                bytes,
                version: parse_version(&addr, &data_key, &version)?,
            })),
            _ => Err(Error::Corrupt {
                location: format!("{addr} {data_key}"),
                reason: "a hash without both fields v and d".to_owned(),
            }),
        }
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<u64> {
        match self.write(key, bytes, "*")? {
            Ok(v) => Ok(v),
            // The script does not compare with `*`.
            Err(_) => Err(Error::Protocol {
                addr: self.lock().addr.clone(),
                op: "put",
                reason: "an unconditional put was refused".to_owned(),
            }),
        }
    }

    fn put_if_version(
        &self,
        key: &Key,
        bytes: &[u8],
        expected: Option<u64>,
    ) -> Result<std::result::Result<u64, Conflict>> {
        let expected_arg = expected.map(|v| v.to_string()).unwrap_or_default();
        Ok(self
            .write(key, bytes, &expected_arg)?
            .map_err(|current| Conflict { expected, current }))
    }

    fn delete(&self, key: &Key) -> Result<bool> {
        let mut conn = self.lock();
        let data_key = conn.key(key.as_str());
        let removed: i64 = conn.run("delete", |con| redis::cmd("DEL").arg(&data_key).query(con))?;
        Ok(removed > 0)
    }

    fn keys(&self, prefix: &str) -> Result<Vec<Key>> {
        check_prefix(prefix)?;
        let mut conn = self.lock();
        // Neither the store's prefix nor a key prefix holds a glob character (both are checked).
        let pattern = format!("{}*", conn.key(prefix));
        let store_prefix = conn.params.prefix.clone();
        let mut cursor = 0u64;
        let mut keys = Vec::new();
        loop {
            let (next, batch): (u64, Vec<String>) = conn.run("keys", |con| {
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(500)
                    .query(con)
            })?;
            for name in batch {
                // The lease's keys (`…:fence`) and anything not a key are not listed.
                if let Some(key) = name
                    .strip_prefix(&store_prefix)
                    .and_then(|k| Key::parse(k).ok())
                {
                    keys.push(key);
                }
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        // SCAN may return a key twice.
        keys.sort();
        keys.dedup();
        Ok(keys)
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("addr", &self.lock().addr)
            .finish_non_exhaustive()
    }
}

/// `KEYS[1]` the lease, `KEYS[2]` its fencing counter; `ARGV[1]` the token, `ARGV[2]` the time to
/// live in ms. Renews (a compare-and-`PEXPIRE`) when the token holds the lease and returns the
/// holding's fencing token; takes a free lease (`SET NX PX`) and returns a new fencing token
/// (`INCR`); returns 0 when another token holds it.
const ACQUIRE_SCRIPT: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  local fence = redis.call('GET', KEYS[2])
  if not fence then return -1 end
  return tonumber(fence)
end
if not holder then
  if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return redis.call('INCR', KEYS[2])
  end
end
return 0
";

/// `KEYS[1]` the lease, `ARGV[1]` the token: a compare-and-`DEL`.
const RELEASE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// A [`Lease`] on a Redis server: the key `{prefix}K` holds the holder's token with a time to
/// live (`SET NX PX`, renewed by a compare-and-`PEXPIRE`, released by a compare-and-`DEL`), and
/// `{prefix}K:fence` counts the acquisitions (`INCR`), which gives the fencing tokens.
///
/// The time to live is counted by the server's clock; the `now` the [`Elector`](crate::Elector)
/// passes is not used. The fencing counter has no time to live; a server restarted without
/// persistence starts it again from 1, so a fencing platform must then be reset too.
pub struct RedisLease {
    conn: Conn,
    lease_key: String,
    fence_key: String,
    acquire: Script,
    release: Script,
}

impl RedisLease {
    /// The lease `key` on the server of `params` (typically
    /// [`KeySpace::leader`](crate::KeySpace::leader)). No connection is opened until the first
    /// call.
    ///
    /// # Errors
    ///
    /// As [`RedisStore::new`].
    pub fn new(params: RedisParams, key: &Key) -> Result<Self> {
        let conn = Conn::new(params)?;
        let lease_key = conn.key(key.as_str());
        let fence_key = format!("{lease_key}:fence");
        Ok(Self {
            conn,
            lease_key,
            fence_key,
            acquire: Script::new(ACQUIRE_SCRIPT),
            release: Script::new(RELEASE_SCRIPT),
        })
    }
}

impl Lease for RedisLease {
    fn acquire_or_renew(
        &mut self,
        token: &str,
        ttl: Duration,
        _now: Instant,
    ) -> Result<Option<u64>> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let (script, lease_key, fence_key) = (&self.acquire, &self.lease_key, &self.fence_key);
        let answer: i64 = self.conn.run("acquire", |con| {
            script
                .key(lease_key)
                .key(fence_key)
                .arg(token)
                .arg(ttl_ms)
                .invoke(con)
        })?;
        match answer {
            0 => Ok(None),
            fence if fence > 0 => Ok(Some(fence.unsigned_abs())),
            _ => Err(Error::Corrupt {
                location: format!("{} {}", self.conn.addr, self.fence_key),
                reason: "the fencing counter of a held lease is missing".to_owned(),
            }),
        }
    }

    fn release(&mut self, token: &str, _now: Instant) -> Result<bool> {
        let (script, lease_key) = (&self.release, &self.lease_key);
        let removed: i64 = self.conn.run("release", |con| {
            script.key(lease_key).arg(token).invoke(con)
        })?;
        Ok(removed > 0)
    }
}

impl std::fmt::Debug for RedisLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLease")
            .field("addr", &self.conn.addr)
            .field("key", &self.lease_key)
            .finish_non_exhaustive()
    }
}
