//! Seeded random streams and the few distributions the generator needs, written by hand so that
//! the output depends only on `rand_chacha`'s documented, portable stream and not on the sampling
//! algorithms of a distributions crate (which may change between versions).

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

/// Independent streams of one seed: each part of the workload draws from its own, so that
/// turning one knob (say, the burst rate) does not reshuffle the noise or the anomalies.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum Stream {
    DailyJitter = 1,
    Noise = 2,
    Bursts = 3,
    Regimes = 4,
    Anomalies = 5,
    Preset = 6,
    Service = 7,
    Mix = 8,
    MixNoise = 9,
}

/// A seeded random source with a cached second Box–Muller normal.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    inner: ChaCha8Rng,
    spare_normal: Option<f64>,
}

impl Rng {
    /// The stream `stream` of `seed`.
    pub(crate) fn new(seed: u64, stream: Stream) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream as u64);
        Rng {
            inner,
            spare_normal: None,
        }
    }

    /// Uniform in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        self.inner.r#gen::<f64>()
    }

    /// Uniform in [lo, hi).
    pub(crate) fn uniform_in(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn int_in(&mut self, lo: usize, hi: usize) -> usize {
        self.inner.gen_range(lo..=hi)
    }

    /// A standard normal, by the Box–Muller transform (two uniforms give two normals; the second
    /// is kept for the next call).
    pub(crate) fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        // 1 − u lies in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        self.spare_normal = Some(r * theta.sin());
        r * theta.cos()
    }

    /// Exponential with mean `mean`, by inversion.
    pub(crate) fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.uniform()).ln()
    }

    /// The arrival times in `[0, span)` of a Poisson process with `rate` arrivals per unit of
    /// `span`, from exponential gaps (so the count is Poisson distributed).
    pub(crate) fn poisson_arrivals(&mut self, rate: f64, span: f64) -> Vec<f64> {
        let mut out = Vec::new();
        if rate.is_nan() || rate <= 0.0 {
            return out;
        }
        let mut t = self.exponential(1.0 / rate);
        while t < span {
            out.push(t);
            t += self.exponential(1.0 / rate);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_has_unit_moments() {
        let mut rng = Rng::new(7, Stream::Noise);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "var {var}");
        assert!(xs.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn exponential_and_poisson_have_their_means() {
        let mut rng = Rng::new(7, Stream::Bursts);
        let n = 100_000;
        let mean = (0..n).map(|_| rng.exponential(3.0)).sum::<f64>() / n as f64;
        assert!((mean - 3.0).abs() < 0.05, "mean {mean}");
        let count = rng.poisson_arrivals(2.0, 10_000.0).len() as f64;
        assert!((count - 20_000.0).abs() < 600.0, "count {count}");
        assert!(rng.poisson_arrivals(0.0, 10.0).is_empty());
    }

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a: Vec<f64> = {
            let mut r = Rng::new(1, Stream::Noise);
            (0..8).map(|_| r.uniform()).collect()
        };
        let b: Vec<f64> = {
            let mut r = Rng::new(1, Stream::Noise);
            (0..8).map(|_| r.uniform()).collect()
        };
        let c: Vec<f64> = {
            let mut r = Rng::new(1, Stream::Bursts);
            (0..8).map(|_| r.uniform()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
