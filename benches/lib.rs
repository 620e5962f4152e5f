//! Inputs shared by prescient's criterion benchmarks (the benches themselves are the `[[bench]]`
//! targets of this package).

use prescient::synth::{WorkloadParams, generate};
use prescient::{MetricRole, Schema};

/// A schema of `n` metrics: one load metric, then utilisation, latency, error-rate and custom
/// metrics in turn.
///
/// # Panics
///
/// If `n` is 0 (a schema needs its load metric).
pub fn schema(n: usize) -> Schema {
    assert!(n > 0, "a schema needs at least the load metric");
    let roles = [
        MetricRole::Utilisation,
        MetricRole::Latency,
        MetricRole::ErrorRate,
        MetricRole::Custom,
    ];
    (1..n)
        .fold(
            Schema::builder("bench").metric("load", MetricRole::Load),
            |b, i| b.metric(format!("m{i}"), roles[(i - 1) % roles.len()]),
        )
        .build()
        .expect("the bench schema is valid")
}

/// `ticks` rows of `n` metric values: a seeded synthetic load and metrics derived from it.
pub fn rows(n: usize, ticks: usize, seed: u64) -> Vec<Vec<f64>> {
    let w = generate(&WorkloadParams::web_service(seed).span_secs(ticks as f64 * 15.0))
        .expect("the preset is valid");
    w.load
        .iter()
        .map(|&load| {
            (0..n)
                .map(|i| {
                    if i == 0 {
                        load
                    } else {
                        load * (1.0 + 0.01 * i as f64)
                    }
                })
                .collect()
        })
        .collect()
}
