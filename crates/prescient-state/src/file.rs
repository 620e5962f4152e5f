//! The file backend: one file per key under a directory.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::key::{Key, check_prefix};
use crate::store::{Conflict, StateStore, Versioned};

/// The first bytes of every value file: a magic number and the layout's version.
const MAGIC: [u8; 8] = *b"PRST\x01\0\0\0";
/// Magic, version, length.
const HEADER_LEN: usize = 24;
/// The CRC-32 after the value.
const TRAILER_LEN: usize = 4;
/// A value file's name ends with this.
const SUFFIX: &str = ".v";
/// The lock file, locked exclusively by every write.
const LOCK_FILE: &str = ".lock";
/// The last version given, to any key (so that a re-created key gets a new version).
const COUNTER_FILE: &str = ".version";

/// Distinguishes the temporary files of one process's writes.
static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// A [`StateStore`] in a directory: one file per key, for a single host or replicas sharing a
/// local disk.
///
/// A key's file name is its text with `/` replaced by `+` (a character no key part has) and
/// `.v` appended. A file holds a header (a magic number, the version, the value's length), the
/// value and a CRC-32 of both, so that a truncated or damaged file is an
/// [`Error::Corrupt`] naming the file, never a panic or a wrong value.
///
/// Writes are atomic and durable: the new content goes to a temporary file in the same
/// directory, which is flushed to disk (`fsync`) and renamed over the old file, and the directory
/// is flushed so that the rename survives a crash. Readers see the old value or the new one,
/// never a mix. Every write holds an exclusive lock on the directory's `.lock` file
/// (`flock`), so that compare-and-set is atomic between threads and between processes on the
/// same machine (network file systems may not honour the lock: use Redis there). Files whose
/// names start with `.` are the store's own; a crash may leave a `.tmp-*` file behind, which
/// the store ignores and may be removed.
///
/// # Example
///
/// ```
/// use prescient_state::{FileStore, KeySpace, StateStore};
///
/// let dir = std::env::temp_dir().join(format!("prescient-state-doc-{}", std::process::id()));
/// let store = FileStore::open(&dir)?;
/// let key = KeySpace::new("prod", "checkout")?.baseline("api")?;
/// let version = store.put(&key, b"snapshot")?;
/// assert_eq!(store.get(&key)?.expect("stored").version, version);
/// assert_eq!(store.keys("prod/")?, vec![key]);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), prescient_state::Error>(())
/// ```
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// The store in `dir`, created if missing.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the directory cannot be created or is not a directory.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let meta = fs::metadata(&dir).map_err(|e| Error::io(&dir, e))?;
        if !meta.is_dir() {
            return Err(Error::io(
                &dir,
                std::io::Error::new(ErrorKind::NotADirectory, "not a directory"),
            ));
        }
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds `key`'s value.
    pub fn path_of(&self, key: &Key) -> PathBuf {
        self.dir
            .join(format!("{}{SUFFIX}", key.as_str().replace('/', "+")))
    }

    /// Holds the directory's write lock until the returned file is dropped.
    fn lock(&self) -> Result<File> {
        let path = self.dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        file.lock().map_err(|e| Error::io(&path, e))?;
        Ok(file)
    }

    fn read(&self, key: &Key) -> Result<Option<Versioned>> {
        let path = self.path_of(key);
        match fs::read(&path) {
            Ok(bytes) => decode(&bytes).map(Some).map_err(|reason| Error::Corrupt {
                location: path.display().to_string(),
                reason,
            }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    fn read_counter(&self) -> Result<u64> {
        let path = self.dir.join(COUNTER_FILE);
        match fs::read(&path) {
            Ok(bytes) => decode(&bytes)
                .map(|v| v.version)
                .map_err(|reason| Error::Corrupt {
                    location: path.display().to_string(),
                    reason,
                }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(0),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Writes `bytes` as `key`'s value with the next version; the caller holds the lock and
    /// passes the key's current version.
    fn write_locked(&self, key: &Key, bytes: &[u8], current: Option<u64>) -> Result<u64> {
        let version = self.read_counter()?.max(current.unwrap_or(0)) + 1;
        // The counter first: a crash between the two leaves a counter ahead of every value,
        // which is harmless, never behind one.
        self.write_atomic(&self.dir.join(COUNTER_FILE), &encode(&[], version))?;
        self.write_atomic(&self.path_of(key), &encode(bytes, version))?;
        Ok(version)
    }

    /// Temporary file, fsync, rename, fsync of the directory.
    fn write_atomic(&self, path: &Path, content: &[u8]) -> Result<()> {
        let seq = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
        let temp = self.dir.join(format!(".tmp-{}-{seq}", std::process::id()));
        let result = (|| {
            let mut file = File::create(&temp).map_err(|e| Error::io(&temp, e))?;
            file.write_all(content).map_err(|e| Error::io(&temp, e))?;
            file.sync_all().map_err(|e| Error::io(&temp, e))?;
            fs::rename(&temp, path).map_err(|e| Error::io(path, e))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result?;
        sync_dir(&self.dir)
    }
}

impl StateStore for FileStore {
    fn get(&self, key: &Key) -> Result<Option<Versioned>> {
        self.read(key)
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<u64> {
        let _lock = self.lock()?;
        // A damaged old value is replaced: `put` does not depend on what was there.
        let current = self.read(key).ok().flatten().map(|v| v.version);
        self.write_locked(key, bytes, current)
    }

    fn put_if_version(
        &self,
        key: &Key,
        bytes: &[u8],
        expected: Option<u64>,
    ) -> Result<std::result::Result<u64, Conflict>> {
        let _lock = self.lock()?;
        let current = self.read(key)?.map(|v| v.version);
        if current != expected {
            return Ok(Err(Conflict { expected, current }));
        }
        self.write_locked(key, bytes, current).map(Ok)
    }

    fn delete(&self, key: &Key) -> Result<bool> {
        let _lock = self.lock()?;
        let path = self.path_of(key);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir).map(|()| true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    fn keys(&self, prefix: &str) -> Result<Vec<Key>> {
        check_prefix(prefix)?;
        let entries = fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&self.dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') {
                continue;
            }
            let Some(stem) = name.strip_suffix(SUFFIX) else {
                continue;
            };
            // A file that is not a key's (someone else's) is not listed.
            if let Ok(key) = Key::parse(&stem.replace('+', "/"))
                && key.as_str().starts_with(prefix)
            {
                keys.push(key);
            }
        }
        keys.sort();
        Ok(keys)
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

fn encode(bytes: &[u8], version: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + bytes.len() + TRAILER_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn decode(file: &[u8]) -> std::result::Result<Versioned, String> {
    if file.len() < HEADER_LEN + TRAILER_LEN {
        return Err(format!(
            "truncated: {} bytes, shorter than the {} of an empty value",
            file.len(),
            HEADER_LEN + TRAILER_LEN
        ));
    }
    if file[..4] != MAGIC[..4] {
        return Err("not a prescient-state file (wrong magic number)".to_owned());
    }
    if file[..8] != MAGIC {
        return Err(format!("unknown layout version {}", file[4]));
    }
    let word = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&file[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let version = word(8);
    let len = word(16);
    let have = (file.len() - HEADER_LEN - TRAILER_LEN) as u64;
    if len != have {
        return Err(format!(
            "truncated or padded: the header says {len} bytes of value, the file has {have}"
        ));
    }
    let body_end = file.len() - TRAILER_LEN;
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&file[body_end..]);
    if u32::from_le_bytes(crc) != crc32(&file[..body_end]) {
        return Err("checksum mismatch".to_owned());
    }
    Ok(Versioned {
        bytes: file[HEADER_LEN..body_end].to_vec(),
        version,
    })
}

/// CRC-32 (IEEE, as zlib's), bit by bit: values are small and written rarely.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn temp_store(name: &str) -> FileStore {
        let dir = std::env::temp_dir().join(format!(
            "prescient-state-unit-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        FileStore::open(dir).unwrap()
    }

    fn key() -> Key {
        Key::new("ns", "svc", "api", "baseline").unwrap()
    }

    #[test]
    fn crc32_matches_zlib() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn encode_decode_round_trip() {
        for value in [&b""[..], b"x", &[0u8; 1000]] {
            let decoded = decode(&encode(value, 42)).unwrap();
            assert_eq!((decoded.bytes.as_slice(), decoded.version), (value, 42));
        }
    }

    #[test]
    fn truncated_file_is_corrupt_not_a_panic() {
        let store = temp_store("truncated");
        store.put(&key(), b"a value long enough").unwrap();
        let path = store.path_of(&key());
        let full = fs::read(&path).unwrap();
        for len in 0..full.len() {
            fs::write(&path, &full[..len]).unwrap();
            let err = store.get(&key()).unwrap_err();
            assert!(matches!(err, Error::Corrupt { .. }), "{len}: {err}");
            assert!(err.to_string().contains(&path.display().to_string()));
        }
        fs::remove_dir_all(store.dir()).unwrap();
    }

    #[test]
    fn corrupt_file_is_an_error_naming_it() {
        let store = temp_store("corrupt");
        store.put(&key(), b"value").unwrap();
        let path = store.path_of(&key());
        let full = fs::read(&path).unwrap();
        for at in 0..full.len() {
            let mut bad = full.clone();
            bad[at] ^= 0x10;
            fs::write(&path, &bad).unwrap();
            let err = store.get(&key()).unwrap_err();
            assert!(matches!(err, Error::Corrupt { .. }), "{at}: {err}");
        }
        fs::write(&path, b"not a state file at all, but long").unwrap();
        let err = store.get(&key()).unwrap_err();
        assert!(err.to_string().contains("wrong magic"), "{err}");
        // A compare-and-set cannot compare with a damaged value; a plain put replaces it.
        assert!(store.put_if_version(&key(), b"v", None).is_err());
        let v = store.put(&key(), b"repaired").unwrap();
        assert_eq!(store.get(&key()).unwrap().unwrap().version, v);
        fs::remove_dir_all(store.dir()).unwrap();
    }

    #[test]
    fn file_names_are_keys_and_foreign_files_are_skipped() {
        let store = temp_store("names");
        store.put(&key(), b"v").unwrap();
        assert_eq!(
            store.path_of(&key()).file_name().unwrap(),
            "ns+svc+api+baseline.v"
        );
        fs::write(store.dir().join("README.txt"), b"not ours").unwrap();
        fs::write(store.dir().join("a+b.v"), b"not a key").unwrap();
        assert_eq!(store.keys("").unwrap(), vec![key()]);
        fs::remove_dir_all(store.dir()).unwrap();
    }

    #[test]
    fn open_refuses_a_file() {
        let store = temp_store("notdir");
        let file = store.dir().join("plain");
        fs::write(&file, b"").unwrap();
        assert!(matches!(FileStore::open(&file), Err(Error::Io { .. })));
        fs::remove_dir_all(store.dir()).unwrap();
    }
}
