//! Replicas of a service, each embedding a `Scaler`: one actuates (the `Elector`'s leader), the
//! leader keeps its snapshot in a shared store, and a replica started after the leader dies
//! restores it and decides as the leader would have.

#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use std::time::{Duration, Instant};

use prescient::actuate::{Actuator, SimulatedPool};
use prescient::synth::{ServiceModel, WorkloadParams, generate};
use prescient::{PlannerParams, Scaler, ScalerBuilder};
use prescient_state::{
    Elector, ElectorParams, FileStore, KeySpace, MemoryLease, MemoryStore, StateStore,
};

fn builder() -> ScalerBuilder {
    Scaler::builder(
        ServiceModel::schema("web").unwrap(),
        PlannerParams::new(15.0).bounds(2, 100),
    )
    .step_secs(15.0)
}

#[test]
fn a_replica_restarted_from_the_shared_snapshot_takes_over_where_the_leader_stopped() {
    let w = generate(
        &WorkloadParams::web_service(21)
            .span_secs(2.0 * 86_400.0)
            .step_secs(15.0),
    )
    .unwrap();
    let store = MemoryStore::new();
    let key = KeySpace::new("test", "shop")
        .unwrap()
        .baseline("web")
        .unwrap();
    let lease = MemoryLease::new();
    let params = ElectorParams::new(Duration::from_secs(30));
    let mut elector_a = Elector::new(lease.clone(), "replica-a", params).unwrap();
    let mut elector_c = Elector::new(lease, "replica-c", params).unwrap();
    // The replicas' clock: one tick is 15 s of it.
    #[allow(clippy::disallowed_methods)] // the test's clock origin
    let origin = Instant::now();
    let clock = |i: usize| origin + Duration::from_secs(15 * i as u64);

    let mut service = ServiceModel::new(15.0, 21).unwrap();
    let mut pool = SimulatedPool::new(4, 60.0).unwrap();
    let mut a = builder().build().unwrap();
    let die = 6_000;
    let mut version = None;
    let mut applied_by_a = 0;
    for i in 0..die {
        let ts = w.ts[i];
        let status = pool.status(ts).unwrap();
        let m = service.observe(ts, w.load[i], status.ready, &w.active_anomalies(ts));
        let d = a.tick(ts, &m.values(), status).unwrap();
        assert!(elector_a.tick(clock(i)), "replica a leads alone");
        if d.is_change() {
            a.apply(&d, &mut pool).unwrap();
            applied_by_a += 1;
        }
        // The leader saves its state every 100 ticks, and as it stops.
        if i % 100 == 99 || i == die - 1 {
            let snap = a.snapshot().unwrap();
            version = Some(
                store
                    .put_if_version(&key, &snap, version)
                    .unwrap()
                    .expect("nobody else writes"),
            );
        }
    }
    assert!(applied_by_a > 0);
    // Replica a dies without resigning; a shadow copy of it shows what it would have decided.
    let mut shadow = builder().restore(&a.snapshot().unwrap()).unwrap();
    drop(a);
    let saved = store.get(&key).unwrap().unwrap();
    assert_eq!(Some(saved.version), version);
    let mut c = builder().restore(&saved.bytes).unwrap();
    let mut shadow_pool = pool.clone();
    let mut shadow_service = service.clone();
    let mut first_lead = None;
    let mut compared = 0;
    for i in die..die + 1_000 {
        let ts = w.ts[i];
        let status = pool.status(ts).unwrap();
        let m = service.observe(ts, w.load[i], status.ready, &w.active_anomalies(ts));
        let d = c.tick(ts, &m.values(), status).unwrap();
        let shadow_status = shadow_pool.status(ts).unwrap();
        let sm =
            shadow_service.observe(ts, w.load[i], shadow_status.ready, &w.active_anomalies(ts));
        let sd = shadow.tick(ts, &sm.values(), shadow_status).unwrap();
        if sd.is_change() {
            shadow.apply(&sd, &mut shadow_pool).unwrap();
        }
        let leads = elector_c.tick(clock(i));
        if leads && first_lead.is_none() {
            first_lead = Some(i);
        }
        if leads {
            if d.is_change() {
                c.apply(&d, &mut pool).unwrap();
            }
        } else {
            // Not yet the leader: no actuation. The pool and the decisions drift apart from
            // the shadow's only by what the dead leader's lease still held back.
            assert!(i - die <= 3, "no leader at tick {i}");
        }
        if first_lead.is_none() || i - die < 3 {
            continue;
        }
        // The new replica's pool caught up with the shadow's, then every decision matches.
        if shadow_pool.status(ts).unwrap() == pool.status(ts).unwrap() {
            assert_eq!(d.target, sd.target, "tick {i}");
            compared += 1;
        }
    }
    eprintln!("{compared} decisions compared");
    assert!(compared >= 950, "only {compared} ticks had the same pool");
    // The lease of 30 s lapsed within two 15 s ticks and replica c took over.
    let took_over = first_lead.unwrap() - die;
    assert!(took_over <= 3, "took over after {took_over} ticks");
}

#[test]
fn a_snapshot_survives_a_process_restart_in_a_file_store() {
    let dir = std::env::temp_dir().join(format!("prescient-replicas-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let key = KeySpace::new("test", "shop")
        .unwrap()
        .key("web", "snapshot")
        .unwrap();
    let w = generate(
        &WorkloadParams::web_service(5)
            .span_secs(86_400.0)
            .step_secs(15.0),
    )
    .unwrap();
    let mut service = ServiceModel::new(15.0, 5).unwrap();
    let mut s = builder().build().unwrap();
    let status = prescient::PoolStatus {
        desired: 10,
        ready: 10,
    };
    for i in 0..2_000 {
        let m = service.observe(w.ts[i], w.load[i], 10, &[]);
        s.tick(w.ts[i], &m.values(), status).unwrap();
    }
    {
        let store = FileStore::open(&dir).unwrap();
        store.put(&key, &s.snapshot().unwrap()).unwrap();
    }
    // "After the restart": a new store on the same directory.
    let store = FileStore::open(&dir).unwrap();
    let mut r = builder()
        .restore(&store.get(&key).unwrap().unwrap().bytes)
        .unwrap();
    for i in 2_000..2_500 {
        let m = service.observe(w.ts[i], w.load[i], 10, &[]);
        assert_eq!(
            s.tick(w.ts[i], &m.values(), status).unwrap(),
            r.tick(w.ts[i], &m.values(), status).unwrap()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
