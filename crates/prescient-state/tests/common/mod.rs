//! The suite every `StateStore` and `Lease` backend passes.

#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use prescient_state::{
    Conflict, Elector, ElectorParams, Error, KeySpace, Lease, StateStore, Versioned,
};

/// Gets, puts, versions, compare-and-set, delete and listing. `space` must be empty.
pub fn store_suite(store: &dyn StateStore, space: &KeySpace) {
    let a = space.baseline("api").unwrap();
    let b = space.baseline("worker").unwrap();
    let c = space.key("api", "notes").unwrap();

    assert_eq!(store.get(&a).unwrap(), None);
    assert!(!store.delete(&a).unwrap());

    // Versions grow with every write, to any key.
    let v1 = store.put(&a, b"one").unwrap();
    assert_eq!(
        store.get(&a).unwrap(),
        Some(Versioned {
            bytes: b"one".to_vec(),
            version: v1
        })
    );
    let v2 = store.put(&a, b"two").unwrap();
    assert!(v2 > v1);
    let vb = store.put(&b, b"").unwrap();
    assert!(vb > v2);
    assert_eq!(store.get(&b).unwrap().unwrap().bytes, b"");

    // Compare-and-set.
    assert_eq!(
        store.put_if_version(&a, b"x", Some(v1)).unwrap(),
        Err(Conflict {
            expected: Some(v1),
            current: Some(v2)
        })
    );
    assert_eq!(
        store.put_if_version(&a, b"x", None).unwrap(),
        Err(Conflict {
            expected: None,
            current: Some(v2)
        })
    );
    assert_eq!(
        store.put_if_version(&c, b"x", Some(1)).unwrap(),
        Err(Conflict {
            expected: Some(1),
            current: None
        })
    );
    assert_eq!(store.get(&a).unwrap().unwrap().bytes, b"two");
    let v3 = store
        .put_if_version(&a, b"three", Some(v2))
        .unwrap()
        .unwrap();
    assert!(v3 > vb);
    let vc = store.put_if_version(&c, b"new", None).unwrap().unwrap();
    assert!(vc > v3);

    // Binary values survive.
    let binary: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    store.put(&b, &binary).unwrap();
    assert_eq!(store.get(&b).unwrap().unwrap().bytes, binary);

    // Listing, sorted, by prefix.
    assert_eq!(
        store.keys(&space.prefix()).unwrap(),
        vec![a.clone(), c.clone(), b.clone()]
    );
    assert_eq!(
        store.keys(&space.component_prefix("api").unwrap()).unwrap(),
        vec![a.clone(), c.clone()]
    );
    assert!(
        store
            .keys(&format!("{}zzz", space.prefix()))
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.keys("bad*glob"),
        Err(Error::InvalidKey { .. })
    ));

    // A deleted then re-created key does not get an old version back.
    assert!(store.delete(&a).unwrap());
    assert_eq!(store.get(&a).unwrap(), None);
    assert_eq!(
        store.put_if_version(&a, b"again", Some(v3)).unwrap(),
        Err(Conflict {
            expected: Some(v3),
            current: None
        })
    );
    let v4 = store.put_if_version(&a, b"again", None).unwrap().unwrap();
    assert!(v4 > v3);

    for key in store.keys(&space.prefix()).unwrap() {
        assert!(store.delete(&key).unwrap());
    }
    assert!(store.keys(&space.prefix()).unwrap().is_empty());
}

/// Threads (one per store handle) increment one counter by read, compare-and-set, retry: no
/// increment is lost.
pub fn concurrent_writers(stores: Vec<Arc<dyn StateStore>>, space: &KeySpace, each: u64) {
    let key = space.key("shared", "counter").unwrap();
    let threads = stores.len() as u64;
    let check = stores[0].clone();
    let handles: Vec<_> = stores
        .into_iter()
        .map(|store| {
            let key = key.clone();
            thread::spawn(move || {
                let mut conflicts = 0u64;
                for _ in 0..each {
                    loop {
                        let current = store.get(&key).unwrap();
                        let (count, version) = match &current {
                            Some(v) => (
                                u64::from_le_bytes(v.bytes.as_slice().try_into().unwrap()),
                                Some(v.version),
                            ),
                            None => (0, None),
                        };
                        match store
                            .put_if_version(&key, &(count + 1).to_le_bytes(), version)
                            .unwrap()
                        {
                            Ok(_) => break,
                            Err(_) => conflicts += 1,
                        }
                    }
                }
                conflicts
            })
        })
        .collect();
    let conflicts: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let value = check.get(&key).unwrap().unwrap();
    assert_eq!(
        u64::from_le_bytes(value.bytes.as_slice().try_into().unwrap()),
        threads * each,
        "{conflicts} conflicts"
    );
    check.delete(&key).unwrap();
}

/// Two electors over one lease (each with its own backend handle, as two replicas): one leads,
/// resigning hands over, fencing tokens grow. Expiry is not tested here (a server counts it on
/// its own clock); the unit tests and the failover test do.
pub fn lease_suite<L: Lease>(a: L, b: L) {
    // Only a base: every later time is base + offset.
    #[allow(clippy::disallowed_methods)]
    let t = Instant::now();
    let params = ElectorParams::new(Duration::from_secs(30));
    let mut a = Elector::new(a, "suite-a", params).unwrap();
    let mut b = Elector::new(b, "suite-b", params).unwrap();
    assert!(a.tick(t), "{:?}", a.last_error());
    assert!(!b.tick(t), "{:?}", b.last_error());
    let fence_a = a.leadership().unwrap().fencing_token;
    // Renewals keep the fencing token.
    let again = a.try_acquire_or_renew(t).unwrap().unwrap();
    assert_eq!(again.fencing_token, fence_a);
    assert_eq!(b.try_acquire_or_renew(t).unwrap(), None);
    a.resign(t).unwrap();
    assert!(!a.may_actuate(t));
    let lb = b.try_acquire_or_renew(t).unwrap().unwrap();
    assert!(lb.fencing_token > fence_a);
    assert_eq!(a.try_acquire_or_renew(t).unwrap(), None);
    b.resign(t).unwrap();
}
