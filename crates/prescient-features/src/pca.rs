//! Principal component analysis of standardised feature vectors, exact, through the eigen
//! decomposition of the correlation matrix.
//!
//! Why not linfa-reduction: its PCA runs LOBPCG, an iterative solver whose time is erratic when
//! `k` is close to `d` and whose `explained_variance` is wrong (see `../shared/DEPENDENCIES.md`);
//! for the tens of features a fingerprint has, forming the `d × d` covariance once (one matrix
//! product, O(n·d²)) and diagonalising it exactly (O(d³), negligible for d ≲ 200) is both faster
//! and exact. `docs/BENCHMARKS.md` has the measurement against linfa, a thin SVD through
//! nalgebra and scikit-learn.

use nalgebra::{DMatrix, SymmetricEigen};
use prescient_core::{Error, Result};

/// How to fit a [`Pca`]: the number of components kept.
///
/// Each feature is standardised first (centred, divided by its population standard deviation,
/// as scikit-learn's `StandardScaler`; a constant feature is centred only), so the components are
/// those of the correlation matrix and a feature in large units does not dominate.
///
/// ```
/// use prescient_features::PcaParams;
///
/// // Three features; the first two move together, the third is independent.
/// let rows = [
///     [1.0, 2.0, 0.5], [2.0, 4.1, -0.3], [3.0, 5.9, 0.2], [4.0, 8.2, -0.1], [5.0, 9.9, 0.4],
/// ];
/// let flat: Vec<f64> = rows.iter().flatten().copied().collect();
/// let pca = PcaParams::new(2).fit(&flat, 3)?;
/// // The first component carries the shared movement of the first two features: two thirds of
/// // the total variance and more.
/// assert!(pca.explained_variance_ratio()[0] > 0.6);
/// let mut f = [0.0; 2];
/// pca.project_inplace(&[3.0, 6.0, 0.0], &mut f);
/// assert!(f[0].abs() < 0.2); // the middle of the data
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PcaParams {
    components: usize,
}

impl PcaParams {
    /// Keep the `components` components of largest variance.
    pub fn new(components: usize) -> Self {
        PcaParams { components }
    }

    /// How many components are kept.
    pub fn components(&self) -> usize {
        self.components
    }

    /// Fits on `n` rows of `d` features given row-major in `x` (`x.len() = n·d`).
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidParam`] when `d` or the number of components is 0, when there are more
    ///   components than features, or when `x.len()` is not a multiple of `d`.
    /// - [`Error::NotEnoughData`] with fewer than two rows.
    /// - [`Error::NonFinite`] at the first NaN or infinite value.
    pub fn fit(&self, x: &[f64], d: usize) -> Result<Pca> {
        let k = self.components;
        if d == 0 {
            return Err(invalid("d", "must be at least 1".into()));
        }
        if k == 0 || k > d {
            return Err(invalid(
                "components",
                format!("must be in 1..={d} (the number of features), got {k}"),
            ));
        }
        if x.len() % d != 0 {
            return Err(invalid(
                "x",
                format!("length {} is not a multiple of d = {d}", x.len()),
            ));
        }
        if let Some(index) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite { index });
        }
        let n = x.len() / d;
        if n < 2 {
            return Err(Error::NotEnoughData { needed: 2, got: n });
        }
        let columns = column_moments(x, n, d);
        let zt = standardised_transposed(x, n, d, &columns);
        let mean = columns.iter().map(Column::mean).collect();
        let scale = columns.iter().map(Column::scale).collect();
        // The covariance of the standardised rows, with scikit-learn's n − 1.
        let cov = (&zt * zt.transpose()) / (n as f64 - 1.0);
        Ok(Pca::from_covariance(cov, mean, scale, n, k))
    }
}

/// A fitted PCA: the standardisation and the `k` leading components.
///
/// Components are unit vectors in the standardised space, ordered by decreasing variance, each
/// with a fixed sign: its largest loading (in absolute value) is positive, so a refit on the
/// same data gives the same components; [`Pca::align_signs`] makes a refit agree with an
/// earlier fit instead.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Pca {
    d: usize,
    mean: Vec<f64>,
    scale: Vec<f64>,
    /// `1 / scale`, so that standardising is a multiplication.
    inv_scale: Vec<f64>,
    /// `k × d`, row-major: the components in the standardised space.
    components: Vec<f64>,
    variance: Vec<f64>,
    total_variance: f64,
    samples: usize,
}

impl Pca {
    fn from_covariance(
        cov: DMatrix<f64>,
        mean: Vec<f64>,
        scale: Vec<f64>,
        samples: usize,
        k: usize,
    ) -> Pca {
        let d = mean.len();
        let total_variance = cov.trace();
        let eigen = SymmetricEigen::new(cov);
        let mut order: Vec<usize> = (0..d).collect();
        // Decreasing variance; ties keep the solver's order (a stable sort), so the result is
        // deterministic.
        order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
        let mut components = Vec::with_capacity(k * d);
        let mut variance = Vec::with_capacity(k);
        for &c in order.iter().take(k) {
            let column = eigen.eigenvectors.column(c);
            let mut largest = 0.0_f64;
            for &v in column.iter() {
                if v.abs() > largest.abs() {
                    largest = v;
                }
            }
            let sign = if largest < 0.0 { -1.0 } else { 1.0 };
            components.extend(column.iter().map(|v| sign * v));
            // Rounding can leave a tiny negative eigenvalue for a rank-deficient matrix.
            variance.push(eigen.eigenvalues[c].max(0.0));
        }
        Pca {
            d,
            inv_scale: scale.iter().map(|s| 1.0 / s).collect(),
            mean,
            scale,
            components,
            variance,
            total_variance: total_variance.max(0.0),
            samples,
        }
    }

    /// Writes the standardised `x` into `z[..d]`: centred, scaled, a non-finite value read as
    /// the mean (0), and clamped to `±Z_MAX` so that no sum over it can overflow.
    fn standardise_inplace(&self, x: &[f64], z: &mut [f64]) {
        for (((z, x), m), is) in z.iter_mut().zip(x).zip(&self.mean).zip(&self.inv_scale) {
            // `x − m` is finite or infinite, never NaN (both are finite), and `is` is finite and
            // positive, so the product is never NaN either.
            *z = if x.is_finite() {
                ((x - m) * is).clamp(-Z_MAX, Z_MAX)
            } else {
                0.0
            };
        }
    }

    /// The number of features of an input vector.
    pub fn features(&self) -> usize {
        self.d
    }

    /// The number of components (the length of a projection).
    pub fn components(&self) -> usize {
        self.variance.len()
    }

    /// How many rows the fit saw.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// The `i`-th component, a unit vector over the standardised features.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`Pca::components`].
    pub fn component(&self, i: usize) -> &[f64] {
        &self.components[i * self.d..(i + 1) * self.d]
    }

    /// The mean of each feature in the fitted rows.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// The scale each feature was divided by: its population standard deviation, or 1 for a
    /// constant feature.
    pub fn scale(&self) -> &[f64] {
        &self.scale
    }

    /// The variance of the standardised rows along each component (the eigenvalues of their
    /// covariance, with the n − 1 denominator, as scikit-learn's `explained_variance_`).
    pub fn explained_variance(&self) -> &[f64] {
        &self.variance
    }

    /// Each component's share of the total variance of the standardised rows (over all `d`
    /// directions, not only the kept ones, so the shares sum to at most 1), as scikit-learn's
    /// `explained_variance_ratio_`.
    pub fn explained_variance_ratio(&self) -> Vec<f64> {
        self.variance
            .iter()
            .map(|v| {
                if self.total_variance > 0.0 {
                    v / self.total_variance
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Writes the projection of the raw feature vector `x` (standardised with the fitted
    /// moments) into `out[..k]`: `d` multiplications to standardise, then one dot product of
    /// length `d` per component.
    ///
    /// A non-finite feature is replaced by its fitted mean, so it contributes nothing. A
    /// standardised value beyond ±10¹² is clamped there (no sum can overflow, so the projection
    /// is always finite); such a vector is off every scale anyway.
    ///
    /// # Panics
    ///
    /// If `x.len()` is not [`Pca::features`] or `out` is shorter than [`Pca::components`].
    pub fn project_inplace(&self, x: &[f64], out: &mut [f64]) {
        assert_eq!(x.len(), self.d, "feature vector length");
        let k = self.components();
        // Fingerprints are short: a stack buffer keeps the projection free of allocation for
        // the common sizes.
        let mut stack = [0.0; 64];
        let mut heap = Vec::new();
        let z: &mut [f64] = if self.d <= stack.len() {
            &mut stack[..self.d]
        } else {
            heap.resize(self.d, 0.0);
            &mut heap
        };
        self.standardise_inplace(x, z);
        for (o, c) in out[..k]
            .iter_mut()
            .zip(self.components.chunks_exact(self.d))
        {
            *o = dot(c, z);
        }
    }

    /// The projection of `x`, in a new vector (see [`Pca::project_inplace`]).
    ///
    /// # Panics
    ///
    /// If `x.len()` is not [`Pca::features`].
    pub fn project(&self, x: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.components()];
        self.project_inplace(x, &mut out);
        out
    }

    /// Writes into `out[..d]` the raw feature vector whose projection is `f` and which lies in
    /// the span of the components: the best rank-`k` reconstruction, in the original units.
    ///
    /// # Panics
    ///
    /// If `f` is shorter than [`Pca::components`] or `out` shorter than [`Pca::features`].
    pub fn reconstruct_inplace(&self, f: &[f64], out: &mut [f64]) {
        let d = self.d;
        let out = &mut out[..d];
        out.fill(0.0);
        for (fi, c) in f[..self.components()]
            .iter()
            .zip(self.components.chunks_exact(d))
        {
            for (o, c) in out.iter_mut().zip(c) {
                *o += fi * c;
            }
        }
        for ((o, s), m) in out.iter_mut().zip(&self.scale).zip(&self.mean) {
            // A far-out fingerprint can overflow the original units: saturate instead.
            *o = (*o * s + m).clamp(-f64::MAX, f64::MAX);
        }
    }

    /// The squared distance of `x` from the span of the components, in standardised units (the
    /// SPE or Q statistic of PCA process monitoring): what the fingerprint cannot express.
    ///
    /// # Panics
    ///
    /// If `x.len()` is not [`Pca::features`].
    pub fn residual_sq(&self, x: &[f64]) -> f64 {
        let mut z = vec![0.0; self.d];
        self.standardise_inplace(x, &mut z);
        let total = dot(&z, &z);
        let along: f64 = self
            .components
            .chunks_exact(self.d)
            .map(|c| dot(c, &z).powi(2))
            .sum();
        (total - along).max(0.0)
    }

    /// Flips the sign of each component that points away from the same component of
    /// `previous` (a negative dot product), so that fingerprints before and after a refit stay
    /// comparable. Returns the signs applied (+1 or −1 per component).
    ///
    /// Only components present in both fits with the same number of features are compared;
    /// the others keep their own convention.
    pub fn align_signs(&mut self, previous: &Pca) -> Vec<f64> {
        let mut signs = vec![1.0; self.components()];
        if previous.d != self.d {
            return signs;
        }
        let d = self.d;
        for (i, sign) in signs
            .iter_mut()
            .enumerate()
            .take(previous.components().min(self.components()))
        {
            let dot: f64 = self
                .component(i)
                .iter()
                .zip(previous.component(i))
                .map(|(a, b)| a * b)
                .sum();
            if dot < 0.0 {
                *sign = -1.0;
                for v in &mut self.components[i * d..(i + 1) * d] {
                    *v = -*v;
                }
            }
        }
        signs
    }
}

fn invalid(name: &'static str, reason: String) -> Error {
    Error::InvalidParam { name, reason }
}

/// Standardised values are clamped to this many standard deviations, so that sums of squares
/// over any number of features stay finite.
const Z_MAX: f64 = 1e12;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// One column's moments, in its own units and scaled by its largest magnitude.
struct Column {
    /// The largest magnitude in the column (1 for an all-zero column).
    peak: f64,
    /// Mean and population deviation of the column divided by `peak`.
    scaled_mean: f64,
    scaled_sd: f64,
    /// Whether the column is constant up to rounding.
    constant: bool,
}

impl Column {
    fn mean(&self) -> f64 {
        self.scaled_mean * self.peak
    }

    /// The population deviation, or 1 for a constant column (scikit-learn's choice).
    fn scale(&self) -> f64 {
        if self.constant {
            1.0
        } else {
            self.scaled_sd * self.peak
        }
    }

    /// `v` standardised without overflow: the column's values are at most 1 in magnitude once
    /// divided by the peak, and a constant column carries nothing (0).
    fn standardise(&self, v: f64) -> f64 {
        if self.constant {
            0.0
        } else {
            (v / self.peak - self.scaled_mean) / self.scaled_sd
        }
    }
}

/// Each column's mean and population standard deviation (two passes, for accuracy).
///
/// Each column is first divided by its largest magnitude, so that neither the sums nor the
/// squared deviations can overflow, whatever finite values the rows hold; the population
/// deviation is at most the largest magnitude, so it stays finite in the original units.
fn column_moments(x: &[f64], n: usize, d: usize) -> Vec<Column> {
    let mut peak = vec![0.0_f64; d];
    for row in x.chunks_exact(d) {
        for (p, v) in peak.iter_mut().zip(row) {
            *p = p.max(v.abs());
        }
    }
    for p in &mut peak {
        if *p == 0.0 {
            *p = 1.0;
        }
    }
    let mut mean = vec![0.0; d];
    for row in x.chunks_exact(d) {
        for ((m, v), p) in mean.iter_mut().zip(row).zip(&peak) {
            *m += v / p;
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    let mut var = vec![0.0; d];
    for row in x.chunks_exact(d) {
        for (((s, v), m), p) in var.iter_mut().zip(row).zip(&mean).zip(&peak) {
            let e = v / p - m;
            *s += e * e;
        }
    }
    peak.into_iter()
        .zip(mean)
        .zip(var)
        .map(|((peak, scaled_mean), s)| {
            let scaled_sd = (s / n as f64).sqrt();
            // Below this the column is constant up to rounding: dividing by its deviation
            // would turn rounding noise into a unit-variance feature.
            let constant = !(scaled_sd > 1e-12 * scaled_mean.abs() && scaled_sd * peak > 1e-300);
            Column {
                peak,
                scaled_mean,
                scaled_sd,
                constant,
            }
        })
        .collect()
}

/// The standardised rows as the columns of a `d × n` matrix (nalgebra is column-major, so the
/// row-major input is already in that layout once standardised).
fn standardised_transposed(x: &[f64], n: usize, d: usize, columns: &[Column]) -> DMatrix<f64> {
    let mut z = Vec::with_capacity(n * d);
    for row in x.chunks_exact(d) {
        z.extend(row.iter().zip(columns).map(|(v, c)| c.standardise(*v)));
    }
    DMatrix::from_vec(d, n, z)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A seeded generator of correlated rows: `latent` factors mixed into `d` features with
    /// noise, each feature in its own units.
    fn rows(n: usize, d: usize, latent: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut uniform = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut normal = move || {
            let u: f64 = uniform().max(1e-300);
            let v: f64 = uniform();
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let mix: Vec<f64> = (0..latent * d).map(|_| normal()).collect();
        let mut x = Vec::with_capacity(n * d);
        for _ in 0..n {
            let f: Vec<f64> = (0..latent)
                .map(|l| normal() * (latent - l) as f64)
                .collect();
            for j in 0..d {
                let signal: f64 = (0..latent).map(|l| f[l] * mix[l * d + j]).sum();
                x.push((signal + 0.3 * normal()) * (1.0 + j as f64) + 10.0 * j as f64);
            }
        }
        x
    }

    #[test]
    fn components_are_orthonormal_and_ordered() {
        let x = rows(500, 8, 3, 1);
        let pca = PcaParams::new(5).fit(&x, 8).unwrap();
        for i in 0..5 {
            assert!((dot(pca.component(i), pca.component(i)) - 1.0).abs() < 1e-10);
            for j in 0..i {
                assert!(dot(pca.component(i), pca.component(j)).abs() < 1e-10);
            }
        }
        let v = pca.explained_variance();
        assert!(v.windows(2).all(|w| w[0] >= w[1]), "{v:?}");
    }

    #[test]
    fn explained_variance_matches_the_data() {
        // The variance of the projections on each component is the reported variance, and the
        // ratios are shares of the total (d features of unit variance, times n / (n − 1)).
        let (n, d) = (400, 6);
        let x = rows(n, d, 2, 2);
        let pca = PcaParams::new(d).fit(&x, d).unwrap();
        let proj: Vec<Vec<f64>> = x.chunks_exact(d).map(|r| pca.project(r)).collect();
        for i in 0..d {
            let mean = proj.iter().map(|p| p[i]).sum::<f64>() / n as f64;
            assert!(mean.abs() < 1e-9, "projections are centred");
            let var = proj.iter().map(|p| (p[i] - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
            assert!((var - pca.explained_variance()[i]).abs() < 1e-9 * var.max(1.0));
        }
        let ratio = pca.explained_variance_ratio();
        let total: f64 = ratio.iter().sum();
        assert!((total - 1.0).abs() < 1e-12, "all components: {total}");
        let expected_total = d as f64 * n as f64 / (n as f64 - 1.0);
        let sum_var: f64 = pca.explained_variance().iter().sum();
        assert!((sum_var - expected_total).abs() < 1e-9);
        // Two latent factors: the first two components carry most of the variance, the rest
        // is the noise.
        assert!(ratio[0] + ratio[1] > 0.9, "{ratio:?}");
    }

    #[test]
    fn explained_variance_ratio_of_kept_components_sums_below_one() {
        let x = rows(300, 5, 3, 3);
        let pca = PcaParams::new(1).fit(&x, 5).unwrap();
        let r = pca.explained_variance_ratio();
        assert_eq!(r.len(), 1);
        assert!(r[0] > 0.2 && r[0] < 1.0, "{r:?}");
    }

    #[test]
    fn full_rank_reconstruction_is_exact_and_low_rank_is_close() {
        let d = 6;
        let x = rows(300, d, 2, 4);
        let full = PcaParams::new(d).fit(&x, d).unwrap();
        let low = PcaParams::new(2).fit(&x, d).unwrap();
        let mut back = vec![0.0; d];
        let row = &x[7 * d..8 * d];
        full.reconstruct_inplace(&full.project(row), &mut back);
        for (a, b) in back.iter().zip(row) {
            assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{a} vs {b}");
        }
        assert!(full.residual_sq(row) < 1e-12);
        // Rank 2 misses only the noise: a small residual against the row's size.
        let r = low.residual_sq(row);
        assert!(r > 0.0 && r < 1.0, "residual {r}");
    }

    #[test]
    fn refit_on_the_same_data_is_identical() {
        let x = rows(200, 7, 3, 5);
        let a = PcaParams::new(3).fit(&x, 7).unwrap();
        let b = PcaParams::new(3).fit(&x, 7).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn align_signs_follows_the_previous_fit() {
        let d = 6;
        let x = rows(400, d, 3, 6);
        let before = PcaParams::new(3).fit(&x, d).unwrap();
        // A refit on the later half of the data, with its first and third components flipped
        // as another sign convention (or another solver) could return them.
        let mut after = PcaParams::new(3).fit(&x[200 * d..], d).unwrap();
        for i in [0, 2] {
            for v in &mut after.components[i * d..(i + 1) * d] {
                *v = -*v;
            }
        }
        assert!(dot(after.component(0), before.component(0)) < -0.9);
        let signs = after.align_signs(&before);
        assert_eq!(signs, vec![-1.0, 1.0, -1.0]);
        for i in 0..3 {
            assert!(dot(after.component(i), before.component(i)) > 0.0, "{i}");
        }
        // The fingerprints of a row far out along the first component agree in sign before and
        // after the refit.
        let row = x
            .chunks_exact(d)
            .max_by(|a, b| {
                before.project(a)[0]
                    .abs()
                    .total_cmp(&before.project(b)[0].abs())
            })
            .unwrap();
        let (p, q) = (before.project(row), after.project(row));
        assert!(p[0] * q[0] > 0.0, "{p:?} {q:?}");
    }

    #[test]
    fn constant_feature_is_centred_not_scaled() {
        let mut x = rows(100, 3, 1, 7);
        for row in x.chunks_exact_mut(3) {
            row[1] = 42.0;
        }
        let pca = PcaParams::new(3).fit(&x, 3).unwrap();
        assert_eq!(pca.scale()[1], 1.0);
        assert!(pca.explained_variance().iter().all(|v| v.is_finite()));
        let p = pca.project(&[1.0, 42.0, 3.0]);
        assert!(p.iter().all(|v| v.is_finite()));
        // The constant feature carries no variance: the last component is it, with none.
        assert!(pca.explained_variance()[2] < 1e-12);
    }

    #[test]
    fn extreme_finite_values_neither_overflow_nor_turn_into_nan() {
        // Sums and squared deviations of these overflow unless the moments are scaled.
        let wild = [1e308, -1e308, 5e-324, 0.0, 1.7e308, -3.0];
        let x: Vec<f64> = (0..60)
            .map(|i| wild[(i * 7 + i / 3) % wild.len()])
            .collect();
        let pca = PcaParams::new(2).fit(&x, 3).unwrap();
        assert!(pca.mean().iter().chain(pca.scale()).all(|v| v.is_finite()));
        assert!(pca.explained_variance().iter().all(|v| v.is_finite()));
        for row in x
            .chunks_exact(3)
            .chain([[f64::MAX, -f64::MAX, 1e-300].as_slice()])
        {
            let f = pca.project(row);
            assert!(f.iter().all(|v| v.is_finite()), "{row:?} -> {f:?}");
            assert!(pca.residual_sq(row).is_finite());
            let mut back = [0.0; 3];
            pca.reconstruct_inplace(&f, &mut back);
            assert!(back.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn non_finite_feature_is_replaced_by_its_mean() {
        let x = rows(100, 3, 2, 8);
        let pca = PcaParams::new(2).fit(&x, 3).unwrap();
        let mean = pca.mean().to_vec();
        let with_nan = [f64::NAN, mean[1], mean[2]];
        let p = pca.project(&with_nan);
        assert!(p.iter().all(|v| v.abs() < 1e-9), "{p:?}");
    }

    #[test]
    fn components_must_be_in_range() {
        let x = rows(10, 3, 1, 9);
        for k in [0, 4] {
            assert!(matches!(
                PcaParams::new(k).fit(&x, 3),
                Err(Error::InvalidParam {
                    name: "components",
                    ..
                })
            ));
        }
    }

    #[test]
    fn d_must_be_positive() {
        assert!(matches!(
            PcaParams::new(1).fit(&[1.0, 2.0], 0),
            Err(Error::InvalidParam { name: "d", .. })
        ));
    }

    #[test]
    fn length_must_be_a_multiple_of_d() {
        assert!(matches!(
            PcaParams::new(1).fit(&[1.0, 2.0, 3.0], 2),
            Err(Error::InvalidParam { name: "x", .. })
        ));
    }

    #[test]
    fn fit_needs_two_rows() {
        assert_eq!(
            PcaParams::new(1).fit(&[1.0, 2.0], 2),
            Err(Error::NotEnoughData { needed: 2, got: 1 })
        );
    }

    #[test]
    fn fit_rejects_non_finite_values() {
        assert_eq!(
            PcaParams::new(1).fit(&[1.0, 2.0, f64::INFINITY, 3.0], 2),
            Err(Error::NonFinite { index: 2 })
        );
    }
}
