//! The shared suite on the in-process backends: memory and files.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use prescient_state::{FileStore, KeySpace, MemoryLease, MemoryStore, StateStore};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("prescient-state-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn memory_store_passes_the_suite() {
    common::store_suite(
        &MemoryStore::new(),
        &KeySpace::new("test", "memory").unwrap(),
    );
}

#[test]
fn file_store_passes_the_suite() {
    let dir = temp_dir("suite");
    common::store_suite(
        &FileStore::open(&dir).unwrap(),
        &KeySpace::new("test", "file").unwrap(),
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn memory_store_concurrent_writers_lose_nothing() {
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    common::concurrent_writers(
        vec![store; 8],
        &KeySpace::new("test", "memory").unwrap(),
        200,
    );
}

#[test]
fn file_store_concurrent_writers_lose_nothing() {
    let dir = temp_dir("concurrent");
    // A handle per thread, as separate processes would have: only the directory's lock
    // serialises them.
    let stores = (0..4)
        .map(|_| Arc::new(FileStore::open(&dir).unwrap()) as Arc<dyn StateStore>)
        .collect();
    common::concurrent_writers(stores, &KeySpace::new("test", "file").unwrap(), 25);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn file_stores_on_one_directory_share_versions_and_lock() {
    // Two handles, as two processes would have: writes through one are seen by the other, and
    // compare-and-set between them is atomic (the directory's lock, not a mutex).
    let dir = temp_dir("two-handles");
    let one = FileStore::open(&dir).unwrap();
    let two = FileStore::open(&dir).unwrap();
    let key = KeySpace::new("test", "file")
        .unwrap()
        .baseline("api")
        .unwrap();
    let v1 = one.put(&key, b"a").unwrap();
    assert_eq!(two.get(&key).unwrap().unwrap().version, v1);
    let v2 = two.put_if_version(&key, b"b", Some(v1)).unwrap().unwrap();
    assert!(one.put_if_version(&key, b"c", Some(v1)).unwrap().is_err());
    assert_eq!(one.get(&key).unwrap().unwrap().version, v2);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn memory_lease_passes_the_suite() {
    let lease = MemoryLease::new();
    common::lease_suite(lease.clone(), lease);
}
