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

/// `n` seeded rows of `d` correlated features, row-major: `latent` factors (the `l`-th with
/// standard deviation `latent − l`) mixed into the features by a seeded matrix, plus unit noise,
/// each feature then put in its own units (scaled by a power of ten from 10⁻³ to 10³ and
/// shifted), as the inputs of a PCA fingerprint are. Used by the `pca` bench and the
/// `pca_compare` example, so that both see the same data.
pub fn correlated_rows(n: usize, d: usize, latent: usize, seed: u64) -> Vec<f64> {
    let mut normal = Normal::new(seed);
    let mix: Vec<f64> = (0..latent * d).map(|_| normal.sample()).collect();
    let unit: Vec<(f64, f64)> = (0..d)
        .map(|j| (10f64.powi(j as i32 % 7 - 3), 100.0 * j as f64))
        .collect();
    let mut x = Vec::with_capacity(n * d);
    let mut f = vec![0.0; latent];
    for _ in 0..n {
        for (l, f) in f.iter_mut().enumerate() {
            *f = normal.sample() * (latent - l) as f64;
        }
        for (j, (scale, shift)) in unit.iter().enumerate() {
            let signal: f64 = f.iter().enumerate().map(|(l, f)| f * mix[l * d + j]).sum();
            x.push((signal + normal.sample()) * scale + shift);
        }
    }
    x
}

/// The rows of `x` (`d` features each) standardised as scikit-learn's `StandardScaler` does:
/// centred and divided by the population standard deviation (two passes), a constant feature
/// centred only.
///
/// # Panics
///
/// If `d` is 0.
pub fn standardise(x: &[f64], d: usize) -> Vec<f64> {
    let n = (x.len() / d) as f64;
    let mut mean = vec![0.0; d];
    for row in x.chunks_exact(d) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0; d];
    for row in x.chunks_exact(d) {
        for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (v - m) * (v - m);
        }
    }
    let sd: Vec<f64> = var
        .iter()
        .map(|s| {
            let sd = (s / n).sqrt();
            if sd > 0.0 { sd } else { 1.0 }
        })
        .collect();
    x.chunks_exact(d)
        .flat_map(|row| {
            row.iter()
                .zip(&mean)
                .zip(&sd)
                .map(|((v, m), s)| (v - m) / s)
        })
        .collect()
}

/// A seeded standard normal generator: xorshift64 and Box–Muller, so the bench data needs no
/// random-number crate.
struct Normal {
    state: u64,
}

impl Normal {
    fn new(seed: u64) -> Self {
        Normal {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    fn uniform(&mut self) -> f64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state >> 11) as f64 / (1u64 << 53) as f64
    }

    fn sample(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// A seeded xorshift64 stream: the benches' inputs, reproducible without a dependency.
#[derive(Debug, Clone)]
pub struct Xorshift(pub u64);

impl Xorshift {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}
