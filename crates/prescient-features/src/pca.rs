//! Principal component analysis of standardised feature vectors, exact, through the eigen
//! decomposition of the correlation matrix.
//!
//! Why not linfa-reduction: its PCA runs LOBPCG, an iterative solver whose time is erratic (at
//! 10,000 × 50 it took 17 times longer for 8 components than for 4), which panics on some
//! well-conditioned inputs, and whose `explained_variance` is wrong (see
//! `../shared/DEPENDENCIES.md`). For the tens of features a fingerprint has, forming the `d × d`
//! covariance once (one matrix product, O(n·d²)) and diagonalising it exactly (O(d³), negligible
//! for d ≲ 200) is exact and faster than linfa, than a thin SVD of the data through nalgebra and
//! than scikit-learn, at every size measured. `docs/BENCHMARKS.md` has the measurement.

use nalgebra::{DMatrix, DMatrixView, SymmetricEigen};
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
        // The covariance of the standardised rows, with scikit-learn's n − 1: one matrix
        // product (nalgebra hands it to `matrixmultiply`), its right factor the same buffer
        // read as `n × d` through strides rather than a transposed copy.
        let z = DMatrixView::from_slice_with_strides(zt.as_slice(), n, d, d, 1);
        let mut cov = DMatrix::zeros(d, d);
        cov.gemm(1.0, &zt, &z, 0.0);
        cov /= n as f64 - 1.0;
        Ok(Pca::from_covariance(cov, mean, scale, n, k))
    }
}

/// A fitted PCA: the standardisation and the `k` leading components.
///
/// Components are unit vectors in the standardised space, ordered by decreasing variance, each
/// with a fixed sign: its largest loading (in absolute value) is positive, so a refit on the
/// same data gives the same components; [`Pca::align_to`] makes a refit agree with an earlier
/// fit instead (the same order and signs of matching components).
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
        standardise_into(x, &self.mean, &self.inv_scale, z);
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
        let (d, k) = (self.d, self.components());
        let out = &mut out[..k];
        out.fill(0.0);
        // The features are standardised a block at a time into a stack buffer, so that the
        // projection never allocates, whatever `d`; a fingerprint's `d` is usually one block.
        let mut buffer = [0.0; PROJECT_BLOCK];
        let mut start = 0;
        while start < d {
            let end = (start + PROJECT_BLOCK).min(d);
            let z = &mut buffer[..end - start];
            standardise_into(
                &x[start..end],
                &self.mean[start..end],
                &self.inv_scale[start..end],
                z,
            );
            for (o, c) in out.iter_mut().zip(self.components.chunks_exact(d)) {
                *o += dot(&c[start..end], z);
            }
            start = end;
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

    /// Matches each component with the component of `previous` it is closest to (the largest
    /// |cosine|, greedily, largest first), puts it in that component's place and flips its sign
    /// if it points away, so that fingerprints before and after a refit stay comparable: a
    /// refit that swaps two components of similar variance, or flips one, does not swap or flip
    /// the fingerprint's coordinates. Returns the signs applied (+1 or −1 per component, in the
    /// new order).
    ///
    /// After this the components are in `previous`' order, not necessarily by decreasing
    /// variance; [`Pca::explained_variance`] follows them. Fits with another number of
    /// features, or of components, are left as they are.
    pub fn align_to(&mut self, previous: &Pca) -> Vec<f64> {
        let k = self.components();
        let mut signs = vec![1.0; k];
        if previous.d != self.d || previous.components() != k {
            return signs;
        }
        let d = self.d;
        // cos[i][j]: new component i against previous component j.
        let cos: Vec<f64> = (0..k)
            .flat_map(|i| (0..k).map(move |j| (i, j)))
            .map(|(i, j)| dot(self.component(i), previous.component(j)))
            .collect();
        let mut order: Vec<usize> = (0..k * k).collect();
        // Largest |cosine| first; ties by position, so the matching is deterministic.
        order.sort_by(|&a, &b| cos[b].abs().total_cmp(&cos[a].abs()).then(a.cmp(&b)));
        let mut source_of = vec![usize::MAX; k];
        let mut used = vec![false; k];
        for at in order {
            let (i, j) = (at / k, at % k);
            if used[i] || source_of[j] != usize::MAX {
                continue;
            }
            used[i] = true;
            source_of[j] = i;
            signs[j] = if cos[at] < 0.0 { -1.0 } else { 1.0 };
        }
        let mut components = Vec::with_capacity(k * d);
        let mut variance = Vec::with_capacity(k);
        for (j, &i) in source_of.iter().enumerate() {
            components.extend(self.component(i).iter().map(|v| signs[j] * v));
            variance.push(self.variance[i]);
        }
        self.components = components;
        self.variance = variance;
        signs
    }
}

fn invalid(name: &'static str, reason: String) -> Error {
    Error::InvalidParam { name, reason }
}

/// Standardised values are clamped to this many standard deviations, so that sums of squares
/// over any number of features stay finite.
const Z_MAX: f64 = 1e12;

/// How many features [`Pca::project_inplace`] standardises at a time, on the stack.
const PROJECT_BLOCK: usize = 64;

/// Writes `x` standardised with `mean` and `inv_scale` into `z` (all of one length): centred,
/// scaled, a non-finite value read as the mean (0), and clamped to `±Z_MAX`.
fn standardise_into(x: &[f64], mean: &[f64], inv_scale: &[f64], z: &mut [f64]) {
    for (((z, x), m), is) in z.iter_mut().zip(x).zip(mean).zip(inv_scale) {
        // `x − m` is finite or infinite, never NaN (both are finite), and `is` is finite and
        // positive, so the product is never NaN either.
        *z = if x.is_finite() {
            ((x - m) * is).clamp(-Z_MAX, Z_MAX)
        } else {
            0.0
        };
    }
}

/// The dot product of two slices of one length.
///
/// Eight running sums instead of one: a single sum makes every addition wait for the previous
/// one, and with eight the compiler also vectorises them; this makes the projection of a
/// 50-feature vector about twice as fast (`pca_project` in `docs/BENCHMARKS.md`). The result
/// differs from a sequential sum by rounding only.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    const LANES: usize = 8;
    let mut sums = [0.0; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f64 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (a, b) in a_chunks.zip(b_chunks) {
        for ((s, a), b) in sums.iter_mut().zip(a).zip(b) {
            *s += a * b;
        }
    }
    let [s0, s1, s2, s3, s4, s5, s6, s7] = sums;
    ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7)) + tail
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
    fn align_to_follows_the_previous_fit() {
        let d = 6;
        let x = rows(400, d, 3, 6);
        let before = PcaParams::new(3).fit(&x, d).unwrap();
        // A refit on the later half of the data, with its first and third components flipped
        // and its first two swapped, as another solver (or a close pair of variances) could
        // return them.
        let mut after = PcaParams::new(3).fit(&x[200 * d..], d).unwrap();
        for i in [0, 2] {
            for v in &mut after.components[i * d..(i + 1) * d] {
                *v = -*v;
            }
        }
        after.components[..2 * d].rotate_left(d);
        after.variance.swap(0, 1);
        assert!(dot(after.component(1), before.component(0)) < -0.9);
        let variance = after.explained_variance().to_vec();
        let signs = after.align_to(&before);
        assert_eq!(signs, vec![-1.0, 1.0, -1.0]);
        for i in 0..3 {
            assert!(dot(after.component(i), before.component(i)) > 0.9, "{i}");
        }
        // The variances moved with their components.
        assert_eq!(
            after.explained_variance(),
            [variance[1], variance[0], variance[2]]
        );
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
    fn align_to_a_fit_of_another_shape_changes_nothing() {
        let x = rows(200, 5, 2, 9);
        let a = PcaParams::new(2).fit(&x, 5).unwrap();
        let mut b = PcaParams::new(3).fit(&x, 5).unwrap();
        let before = b.clone();
        assert_eq!(b.align_to(&a), vec![1.0; 3]);
        assert_eq!(b, before);
    }

    #[test]
    fn dot_agrees_with_a_sequential_sum() {
        let x = rows(1, 40, 1, 10);
        for len in 0..=x.len() / 2 {
            let (a, b) = (&x[..len], &x[x.len() - len..]);
            let sequential: f64 = a.iter().zip(b).map(|(a, b)| a * b).sum();
            let scale: f64 = a.iter().zip(b).map(|(a, b)| (a * b).abs()).sum();
            assert!(
                (dot(a, b) - sequential).abs() <= 1e-14 * scale,
                "{len}: {} vs {sequential}",
                dot(a, b)
            );
        }
    }

    #[test]
    fn projection_of_more_features_than_a_block_is_the_plain_dot_product() {
        // 150 features: the projection standardises them in three blocks.
        let d = 2 * PROJECT_BLOCK + 22;
        let x = rows(400, d, 4, 11);
        let pca = PcaParams::new(5).fit(&x, d).unwrap();
        for row in x.chunks_exact(d).take(20) {
            let z: Vec<f64> = row
                .iter()
                .zip(pca.mean())
                .zip(pca.scale())
                .map(|((v, m), s)| (v - m) / s)
                .collect();
            let f = pca.project(row);
            for (i, f) in f.iter().enumerate() {
                let expected: f64 = pca.component(i).iter().zip(&z).map(|(c, z)| c * z).sum();
                assert!(
                    (f - expected).abs() < 1e-12 * expected.abs().max(1.0),
                    "{f} vs {expected}"
                );
            }
        }
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
