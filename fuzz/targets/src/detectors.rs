//! Feeds every univariate detector, and the default per-metric ensemble, an arbitrary stream:
//! any f64 (NaN, ±inf, huge, subnormal) at timestamps that jump, repeat and go back.
//!
//! Oracle: no panic; every detection has a score in [0, 1] and a deviation that is not NaN, and
//! every verdict of the ensemble a score in [0, 1].
//!
//! `cargo fuzz run detectors` (needs cargo-fuzz and a nightly toolchain).

use prescient::detect::{
    Ewma, KnnCad, MetricDetectorParams, RobustZScore, RollingZScore, SeasonalMedian, StlResidual,
};
use prescient::types::Detector;
use prescient::Timestamp;

/// One input of the target: panics when the oracle fails.
pub fn run(data: &[u8]) {
    let mut detectors: Vec<Box<dyn Detector>> = vec![
        Box::new(RollingZScore::new(16).expect("valid")),
        Box::new(RobustZScore::new(16).expect("valid")),
        Box::new(Ewma::new(0.2).expect("valid")),
        Box::new(StlResidual::new(4).expect("valid")),
        Box::new(SeasonalMedian::new(4).expect("valid")),
        Box::new(KnnCad::new(3, 3, 32).expect("valid")),
    ];
    let mut ensemble = MetricDetectorParams::default().build().expect("valid");
    let mut t: i64 = 0;
    // Each point takes 10 bytes: a time step in seconds (negative goes back), then an f64.
    for chunk in data.chunks_exact(10) {
        let dt = i16::from_le_bytes([chunk[0], chunk[1]]);
        t = t.saturating_add(i64::from(dt) * 1000);
        let x = f64::from_le_bytes(chunk[2..10].try_into().expect("8 bytes"));
        let ts = Timestamp::from_millis(t);
        for d in &mut detectors {
            if let Some(det) = d.update(ts, x) {
                let s = det.score.value();
                assert!((0.0..=1.0).contains(&s), "{}: score {s}", d.name());
                assert!(!det.deviation.is_nan(), "{}: NaN deviation", d.name());
            }
        }
        if let Some(v) = ensemble.update(ts, x) {
            let s = v.score.value();
            assert!((0.0..=1.0).contains(&s), "ensemble: score {s}");
        }
    }
}
