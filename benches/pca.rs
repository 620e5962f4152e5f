//! `pca_fit` and `pca_project`: the PCA behind the fingerprint, fitted on seeded correlated rows
//! (eight latent factors mixed into `d` features with noise, each feature in its own units,
//! standardised as scikit-learn's `StandardScaler` does, outside the timed loop), for `k` = 4
//! and 8 components, by three methods on the same standardised data:
//!
//! - `eigen`: ours, `PcaParams::new(k).fit` (it standardises again, a pass included in its
//!   time, then forms the covariance with one matrix product and diagonalises it exactly);
//! - `linfa`: linfa-reduction's `Pca::params(k).fit` (centring, then LOBPCG with a fixed seed);
//! - `svd`: a thin SVD of the standardised `n × d` matrix through nalgebra
//!   (`DMatrix::svd(false, true)`, the right singular vectors only), its first `k` rows kept.
//!
//! Sizes `n × d`: 1,440 × 40 (a day of fingerprint history at one row a minute), 10,000 × 50
//! (the target: a fit within 50 ms) and 10,000 × 200. `pca_project` projects one raw
//! feature vector (target: within 1 µs): ours with `project_inplace`, linfa's `predict` on a
//! one-row array, and the SVD's components as a nalgebra `k × d` matrix times the standardised
//! vector.
//!
//! Run with `taskset -c 1 cargo bench -p prescient-benches --bench pca`; the accuracy against
//! scikit-learn (`cargo run --release -p prescient-benches --example pca_compare` and
//! `peers/pca_sklearn.py`) is in `docs/BENCHMARKS.md`.

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use linfa::DatasetBase;
use linfa::traits::{Fit, Predict};
use linfa_reduction::Pca as LinfaPca;
use nalgebra::{DMatrix, DVector};
use ndarray::Array2;
use prescient::features::PcaParams;
use prescient_benches::{correlated_rows, standardise};
use std::hint::black_box;
use std::io::Write as _;

/// `(n, d)`: a day of history at one row a minute, the target size, and a wide one.
const SIZES: [(usize, usize); 3] = [(1_440, 40), (10_000, 50), (10_000, 200)];
const COMPONENTS: [usize; 2] = [4, 8];
const LATENT: usize = 8;
/// linfa-reduction's LOBPCG panics ("NaN values in array") on some seeds' data (42 among them,
/// at 10,000 × 50 with k = 4); 7 is one on which it fits every size here. A size it panics on
/// is skipped for linfa, with a note, rather than aborting the bench.
const SEED: u64 = 7;

/// Whether linfa-reduction fits `k` components without panicking (its LOBPCG is seeded, so one
/// try tells); says so on standard error when it does not.
fn linfa_fits<D: ndarray::Data<Elem = f64>>(
    dataset: &DatasetBase<ndarray::ArrayBase<D, ndarray::Ix2>, ndarray::Array1<()>>,
    k: usize,
) -> bool {
    let fits = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        LinfaPca::params(k).fit(dataset)
    }))
    .is_ok_and(|r| r.is_ok());
    if !fits {
        let _ = writeln!(
            std::io::stderr(),
            "linfa-reduction failed on {:?}, k = {k}: skipped",
            dataset.records().dim()
        );
    }
    fits
}

fn fit(c: &mut Criterion) {
    let mut group = c.benchmark_group("pca_fit");
    for (n, d) in SIZES {
        let z = standardise(&correlated_rows(n, d, LATENT, SEED), d);
        let size = format!("{n}x{d}");
        let dataset = DatasetBase::from(
            Array2::from_shape_vec((n, d), z.clone()).expect("n·d values, row-major"),
        );
        let matrix = DMatrix::from_row_slice(n, d, &z);
        for k in COMPONENTS {
            group.bench_with_input(
                BenchmarkId::new(format!("eigen_k{k}"), &size),
                &z,
                |b, z| b.iter(|| PcaParams::new(k).fit(black_box(z), d).expect("valid input")),
            );
            if linfa_fits(&dataset, k) {
                group.bench_with_input(
                    BenchmarkId::new(format!("linfa_k{k}"), &size),
                    &dataset,
                    |b, dataset| {
                        b.iter(|| {
                            LinfaPca::params(k)
                                .fit(black_box(dataset))
                                .expect("valid input")
                        })
                    },
                );
            }
            // `svd` consumes its matrix: the copy is made outside the timed part.
            group.bench_with_input(
                BenchmarkId::new(format!("svd_k{k}"), &size),
                &matrix,
                |b, matrix| {
                    b.iter_batched(
                        || matrix.clone(),
                        |m| {
                            let svd = m.svd(false, true);
                            let v_t = svd.v_t.expect("asked for V");
                            (v_t.rows(0, k).into_owned(), svd.singular_values)
                        },
                        BatchSize::LargeInput,
                    )
                },
            );
        }
    }
    group.finish();
}

fn project(c: &mut Criterion) {
    let mut group = c.benchmark_group("pca_project");
    for (n, d) in SIZES {
        let x = correlated_rows(n, d, LATENT, SEED);
        let z = standardise(&x, d);
        let size = format!("{n}x{d}");
        // The vector projected: a raw row, in the features' own units.
        let row = x[..d].to_vec();
        // The moments of the raw rows, for the peers' standardisation of `row`.
        let ours_raw = PcaParams::new(d).fit(&x, d).expect("valid input");
        let (mean, scale) = (ours_raw.mean().to_vec(), ours_raw.scale().to_vec());
        for k in COMPONENTS {
            let ours = PcaParams::new(k).fit(&x, d).expect("valid input");
            let mut out = vec![0.0; k];
            group.bench_function(BenchmarkId::new(format!("eigen_k{k}"), &size), |b| {
                b.iter(|| {
                    ours.project_inplace(black_box(&row), &mut out);
                    out[0]
                })
            });
            let dataset = DatasetBase::from(
                Array2::from_shape_vec((n, d), z.clone()).expect("n·d values, row-major"),
            );
            if !linfa_fits(&dataset, k) {
                continue;
            }
            let linfa = LinfaPca::params(k).fit(&dataset).expect("valid input");
            // linfa only centres: the row is standardised first, in the timed part as for the
            // others.
            let mut one = Array2::zeros((1, d));
            group.bench_function(BenchmarkId::new(format!("linfa_k{k}"), &size), |b| {
                b.iter(|| {
                    for (((zj, x), m), s) in
                        one.iter_mut().zip(black_box(&row)).zip(&mean).zip(&scale)
                    {
                        *zj = (x - m) / s;
                    }
                    linfa.predict(&one)
                })
            });
            let v_t = DMatrix::from_row_slice(n, d, &z)
                .svd(false, true)
                .v_t
                .expect("asked for V")
                .rows(0, k)
                .into_owned();
            let mut zrow = DVector::zeros(d);
            let mut f = DVector::zeros(k);
            group.bench_function(BenchmarkId::new(format!("svd_k{k}"), &size), |b| {
                b.iter(|| {
                    for (((zj, x), m), s) in
                        zrow.iter_mut().zip(black_box(&row)).zip(&mean).zip(&scale)
                    {
                        *zj = (x - m) / s;
                    }
                    f.gemv(1.0, &v_t, &zrow, 0.0);
                    f[0]
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = fit, project
}
criterion_main!(benches);
