//! The `StateStore` trait and the in-memory backend.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::error::Result;
use crate::key::{Key, check_prefix};

/// A stored value and its version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versioned {
    /// The value's bytes, opaque to the store (a `Scaler` snapshot, for instance).
    pub bytes: Vec<u8>,
    /// The version the write that stored these bytes gave them.
    pub version: u64,
}

/// A compare-and-set that did not happen: the key's version was not the one expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("version conflict: expected {expected:?}, found {current:?}")]
pub struct Conflict {
    /// The version the caller expected (`None`: the key should not exist).
    pub expected: Option<u64>,
    /// The key's version when the store looked (`None`: the key does not exist).
    pub current: Option<u64>,
}

/// A versioned key-value store shared by a service's replicas.
///
/// Every write gives the value a new version, larger than any version the store gave before,
/// even to a key deleted since (so a compare-and-set cannot mistake a re-created key for the one
/// it read). [`put_if_version`](StateStore::put_if_version) writes only when the key still has
/// the version the caller read, so that two replicas updating the same shared baseline cannot
/// silently overwrite each other: the second one gets a [`Conflict`], reads again and merges or
/// gives up.
///
/// The trait is object safe and its implementations are `Send + Sync`: hold one as
/// `Arc<dyn StateStore>` and share it between threads.
///
/// # Example
///
/// ```
/// use prescient_state::{KeySpace, MemoryStore, StateStore};
///
/// let store = MemoryStore::new();
/// let key = KeySpace::new("prod", "checkout")?.baseline("api")?;
/// let v1 = store.put(&key, b"snapshot 1")?;
/// // Another replica read version v1 and wrote first: our write with v1 conflicts.
/// let v2 = store.put_if_version(&key, b"snapshot 2", Some(v1))?.expect("no conflict");
/// let conflict = store.put_if_version(&key, b"snapshot 2'", Some(v1))?.unwrap_err();
/// assert_eq!(conflict.current, Some(v2));
/// assert_eq!(store.get(&key)?.expect("stored").bytes, b"snapshot 2");
/// # Ok::<(), prescient_state::Error>(())
/// ```
pub trait StateStore: Send + Sync {
    /// The value of `key` and its version, or `None` when the key does not exist.
    ///
    /// # Errors
    ///
    /// A backend's error: [`Io`](crate::Error::Io) or [`Corrupt`](crate::Error::Corrupt) for
    /// files, [`Unreachable`](crate::Error::Unreachable), [`Timeout`](crate::Error::Timeout) or
    /// [`Protocol`](crate::Error::Protocol) for a server.
    fn get(&self, key: &Key) -> Result<Option<Versioned>>;

    /// Writes `bytes` under `key` whatever its version, and returns the new version.
    ///
    /// # Errors
    ///
    /// As [`get`](StateStore::get).
    fn put(&self, key: &Key, bytes: &[u8]) -> Result<u64>;

    /// Writes `bytes` under `key` only if the key's version is `expected` (`None`: only if the
    /// key does not exist), atomically; returns the new version, or the [`Conflict`].
    ///
    /// # Errors
    ///
    /// As [`get`](StateStore::get); a conflict is not an error but the inner `Err`.
    fn put_if_version(
        &self,
        key: &Key,
        bytes: &[u8],
        expected: Option<u64>,
    ) -> Result<std::result::Result<u64, Conflict>>;

    /// Removes `key`; returns whether it existed.
    ///
    /// # Errors
    ///
    /// As [`get`](StateStore::get).
    fn delete(&self, key: &Key) -> Result<bool>;

    /// Every key whose text starts with `prefix` (see [`KeySpace::prefix`](crate::KeySpace)),
    /// sorted.
    ///
    /// # Errors
    ///
    /// [`InvalidKey`](crate::Error::InvalidKey) when the prefix holds a character no key has,
    /// or a backend's error as [`get`](StateStore::get).
    fn keys(&self, prefix: &str) -> Result<Vec<Key>>;
}

/// A [`StateStore`] in this process's memory: for tests, and for several `Scaler`s in one
/// process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    values: HashMap<Key, Versioned>,
    /// The last version given, to any key.
    last_version: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryInner> {
        // Every operation leaves the map consistent before it can panic (it cannot, but a
        // poisoned lock must not take the store down with it), so the data is still good.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl MemoryInner {
    fn write(&mut self, key: &Key, bytes: &[u8]) -> u64 {
        self.last_version += 1;
        let version = self.last_version;
        self.values.insert(
            key.clone(),
            Versioned {
                bytes: bytes.to_vec(),
                version,
            },
        );
        version
    }
}

impl StateStore for MemoryStore {
    fn get(&self, key: &Key) -> Result<Option<Versioned>> {
        Ok(self.lock().values.get(key).cloned())
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<u64> {
        Ok(self.lock().write(key, bytes))
    }

    fn put_if_version(
        &self,
        key: &Key,
        bytes: &[u8],
        expected: Option<u64>,
    ) -> Result<std::result::Result<u64, Conflict>> {
        let mut inner = self.lock();
        let current = inner.values.get(key).map(|v| v.version);
        if current != expected {
            return Ok(Err(Conflict { expected, current }));
        }
        Ok(Ok(inner.write(key, bytes)))
    }

    fn delete(&self, key: &Key) -> Result<bool> {
        Ok(self.lock().values.remove(key).is_some())
    }

    fn keys(&self, prefix: &str) -> Result<Vec<Key>> {
        check_prefix(prefix)?;
        let mut keys: Vec<Key> = self
            .lock()
            .values
            .keys()
            .filter(|k| k.as_str().starts_with(prefix))
            .cloned()
            .collect();
        keys.sort();
        Ok(keys)
    }
}
