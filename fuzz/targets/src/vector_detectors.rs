//! Feeds the multivariate detectors (isolation forest, one-class SVM, the multivariate distance,
//! and a `VectorMonitor` combining them) arbitrary vectors: any f64 (NaN, ±inf, huge,
//! subnormal), of the right dimension or not, at timestamps that jump, repeat and go back.
//! Small windows and frequent refits, so that the models are refitted on hostile data often.
//!
//! Oracle: no panic; a vector of the wrong dimension is `Error::SchemaMismatch` and nothing
//! else fails; every detection has a score in [0, 1] and a deviation that is not NaN, and every
//! verdict of the monitor a score in [0, 1].
//!
//! `cargo fuzz run vector_detectors` (needs cargo-fuzz and a nightly toolchain).

use prescient::Timestamp;
use prescient::detect::{
    RecentDistance, StreamingIsolationForest, StreamingOneClassSvm, VectorMonitorParams,
};
use prescient::types::{Error, VectorDetector};

/// One input of the target: panics when the oracle fails.
pub fn run(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let dim = usize::from(first % 3) + 1;
    let forest = move || {
        StreamingIsolationForest::params()
            .n_trees(8)
            .subsample(16)
            .window(32)
            .min_points(16)
            .refit_every(8)
            .seed(u64::from(first))
    };
    let svm = move || {
        StreamingOneClassSvm::params()
            .window(32)
            .min_points(16)
            .refit_every(16)
            .seed(u64::from(first))
    };
    let mut detectors: Vec<Box<dyn VectorDetector>> = vec![
        Box::new(forest().build(dim).expect("valid")),
        Box::new(svm().build(dim).expect("valid")),
        Box::new(RecentDistance::new(dim, 16).expect("valid")),
    ];
    let mut monitor = VectorMonitorParams::empty()
        .member("iforest", 1.0, Box::new(move |d| forest().build(d).ok().map(|m| Box::new(m) as _)))
        .member("distance", 1.0, Box::new(|d| RecentDistance::new(d, 16).ok().map(|m| Box::new(m) as _)))
        .calibration_window(64)
        .warmup(32)
        .build(dim)
        .expect("valid");
    let mut t: i64 = 0;
    // Each vector: a time step (2 bytes), a length byte (the dimension, or one more or less),
    // then its values as f64.
    let mut rest = rest;
    let mut x = Vec::with_capacity(4);
    while rest.len() >= 3 {
        let dt = i16::from_le_bytes([rest[0], rest[1]]);
        t = t.saturating_add(i64::from(dt) * 1000);
        let len = match rest[2] % 8 {
            0 => dim + 1,
            1 => dim - 1,
            _ => dim,
        };
        rest = &rest[3..];
        if rest.len() < 8 * len {
            break;
        }
        x.clear();
        for c in rest[..8 * len].chunks_exact(8) {
            x.push(f64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        rest = &rest[8 * len..];
        let ts = Timestamp::from_millis(t);
        for d in &mut detectors {
            match d.update(ts, &x) {
                Ok(Some(det)) => {
                    let s = det.score.value();
                    assert!((0.0..=1.0).contains(&s), "{}: score {s}", d.name());
                    assert!(!det.deviation.is_nan(), "{}: NaN deviation", d.name());
                }
                Ok(None) => {}
                Err(Error::SchemaMismatch { .. }) => assert_ne!(x.len(), dim),
                Err(e) => panic!("{}: undocumented error {e}", d.name()),
            }
        }
        match monitor.update(ts, &x) {
            Ok(Some(v)) => {
                let s = v.score.value();
                assert!((0.0..=1.0).contains(&s), "monitor: score {s}");
            }
            Ok(None) => {}
            Err(Error::SchemaMismatch { .. }) => assert_ne!(x.len(), dim),
            Err(e) => panic!("monitor: undocumented error {e}"),
        }
    }
}
