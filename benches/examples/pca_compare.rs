//! Fits our PCA, linfa-reduction's and a thin SVD through nalgebra on the seeded rows of the
//! `pca` bench and prints, as one JSON line, each method's explained variance, explained variance
//! ratio, components and fit time, for `peers/pca_sklearn.py --compare` to set against
//! scikit-learn's `PCA(svd_solver='full')` on the same rows.
//!
//! ```text
//! cargo run --release -p prescient-benches --example pca_compare -- \
//!     --n 10000 --d 50 --k 4,8 --dump /tmp/pca_10000x50.csv > /tmp/pca_10000x50.json
//! $PY benches/peers/pca_sklearn.py /tmp/pca_10000x50.csv --k 4,8 --compare /tmp/pca_10000x50.json
//! ```
//!
//! Options: `--n 10000`, `--d 50`, `--k 4,8`, `--latent 8` and `--seed 7` (the data, as in
//! `prescient_benches::correlated_rows`), `--repeats 7` (fit times are medians over the
//! repeats, wall-clock and the thread's CPU time, the latter only as fine as the kernel's
//! accounting, a few milliseconds on some machines; linfa is fitted once first and reported as
//! `"panicked": true` if it panics), `--dump PATH` (write the raw rows as CSV, a
//! header `x0,...,x{d-1}` then one row a line, each value printed so that it reads back exactly).
//!
//! Methods, all on the rows standardised as scikit-learn's `StandardScaler` does:
//! - `eigen`: `PcaParams::new(k).fit` on the standardised rows (the bench's input);
//! - `eigen_raw`: the same on the raw rows (as the fingerprint calls it: it standardises itself);
//! - `linfa`: `linfa_reduction::Pca::params(k).fit`; its explained variance and ratio are
//!   computed from `singular_values()` (σ²/(n − 1), and that over the total variance), and what
//!   its own `explained_variance()` and `explained_variance_ratio()` return is printed beside
//!   them as `linfa_explained_variance` and `linfa_explained_variance_ratio`;
//! - `svd`: `DMatrix::svd(false, true)` of the standardised `n × d` matrix, the first `k` rows of
//!   `Vᵀ`, with the explained variance σ²/(n − 1) and the ratio σ²/Σσ² over all `d`.

use std::error::Error;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_reduction::Pca as LinfaPca;
use nalgebra::DMatrix;
use ndarray::Array2;
use prescient::features::PcaParams;
use prescient_benches::{correlated_rows, standardise};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

struct Options {
    n: usize,
    d: usize,
    k: Vec<usize>,
    latent: usize,
    seed: u64,
    repeats: usize,
    dump: Option<String>,
}

fn options() -> Result<Options> {
    let mut o = Options {
        n: 10_000,
        d: 50,
        k: vec![4, 8],
        latent: 8,
        seed: 7,
        repeats: 7,
        dump: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--n" => o.n = value()?.parse()?,
            "--d" => o.d = value()?.parse()?,
            "--k" => {
                o.k = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<std::result::Result<_, _>>()?
            }
            "--latent" => o.latent = value()?.parse()?,
            "--seed" => o.seed = value()?.parse()?,
            "--repeats" => o.repeats = value()?.parse()?,
            "--dump" => o.dump = Some(value()?),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    if o.repeats == 0 {
        return Err("--repeats must be at least 1".into());
    }
    Ok(o)
}

/// The CPU time this thread has run, from Linux's `/proc/thread-self/schedstat`; `None`
/// elsewhere. On a shared machine it is steadier than wall time.
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Runs `f` `repeats` times; returns its last result and the median wall and CPU seconds.
#[allow(
    clippy::disallowed_methods,
    reason = "an example that measures time reads the clock"
)]
fn timed<T>(repeats: usize, mut f: impl FnMut() -> T) -> (T, f64, f64) {
    let (mut wall, mut cpu, mut out) = (Vec::new(), Vec::new(), None);
    for _ in 0..repeats {
        let c0 = cpu_time();
        let t0 = std::time::Instant::now();
        out = Some(f());
        wall.push(t0.elapsed().as_secs_f64());
        cpu.push(match (c0, cpu_time()) {
            (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64(),
            _ => f64::NAN,
        });
    }
    let out = out.expect("repeats is at least 1");
    (out, median(wall), median(cpu))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// A JSON number (shortest form that reads back exactly), or `null` when not finite.
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:e}")
    } else {
        "null".into()
    }
}

fn array(xs: impl IntoIterator<Item = f64>) -> String {
    let items: Vec<String> = xs.into_iter().map(num).collect();
    format!("[{}]", items.join(","))
}

/// One method's figures for one `k`.
struct Figures {
    method: &'static str,
    k: usize,
    wall: f64,
    cpu: f64,
    variance: Vec<f64>,
    ratio: Vec<f64>,
    /// `k` unit vectors of length `d`.
    components: Vec<Vec<f64>>,
    /// Extra `"name": [...]` members.
    extra: Vec<(&'static str, Vec<f64>)>,
}

impl Figures {
    fn json(&self) -> String {
        let components: Vec<String> = self
            .components
            .iter()
            .map(|c| array(c.iter().copied()))
            .collect();
        let mut s = format!(
            "{{\"method\":\"{}\",\"k\":{},\"fit_s_median\":{},\"fit_cpu_s_median\":{},\
             \"explained_variance\":{},\"explained_variance_ratio\":{},\"components\":[{}]",
            self.method,
            self.k,
            num(self.wall),
            num(self.cpu),
            array(self.variance.iter().copied()),
            array(self.ratio.iter().copied()),
            components.join(","),
        );
        for (name, xs) in &self.extra {
            let _ = write!(s, ",\"{name}\":{}", array(xs.iter().copied()));
        }
        s.push('}');
        s
    }
}

fn ours(method: &'static str, x: &[f64], d: usize, k: usize, repeats: usize) -> Result<Figures> {
    let (pca, wall, cpu) = timed(repeats, || PcaParams::new(k).fit(x, d));
    let pca = pca?;
    Ok(Figures {
        method,
        k,
        wall,
        cpu,
        variance: pca.explained_variance().to_vec(),
        ratio: pca.explained_variance_ratio(),
        components: (0..k).map(|i| pca.component(i).to_vec()).collect(),
        extra: Vec::new(),
    })
}

/// linfa-reduction's fit, or `None` when it panics: its LOBPCG does on some data (see
/// `docs/BENCHMARKS.md`), and the other methods' figures are still worth printing.
fn linfa(z: &[f64], n: usize, d: usize, k: usize, repeats: usize) -> Result<Option<Figures>> {
    let dataset = DatasetBase::from(Array2::from_shape_vec((n, d), z.to_vec())?);
    let fit = || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            LinfaPca::params(k).fit(&dataset)
        }))
    };
    if fit().is_err() {
        return Ok(None);
    }
    let (pca, wall, cpu) = timed(repeats, fit);
    let pca = pca.map_err(|_| "linfa-reduction panicked on a repeat")??;
    // The standardised rows are centred: their total variance is their sum of squares.
    let total = z.iter().map(|v| v * v).sum::<f64>() / (n as f64 - 1.0);
    let variance: Vec<f64> = pca
        .singular_values()
        .iter()
        .map(|s| s * s / (n as f64 - 1.0))
        .collect();
    Ok(Some(Figures {
        method: "linfa",
        k,
        wall,
        cpu,
        ratio: variance.iter().map(|v| v / total).collect(),
        variance,
        components: pca
            .components()
            .rows()
            .into_iter()
            .map(|r| r.to_vec())
            .collect(),
        extra: vec![
            ("singular_values", pca.singular_values().to_vec()),
            (
                "linfa_explained_variance",
                pca.explained_variance().to_vec(),
            ),
            (
                "linfa_explained_variance_ratio",
                pca.explained_variance_ratio().to_vec(),
            ),
        ],
    }))
}

fn svd(z: &[f64], n: usize, d: usize, k: usize, repeats: usize) -> Figures {
    let matrix = DMatrix::from_row_slice(n, d, z);
    let mut copies = vec![matrix; repeats];
    // The copy each repeat consumes is made outside the timed part, as in the bench.
    let (svd, wall, cpu) = timed(repeats, || {
        copies.pop().expect("one copy per repeat").svd(false, true)
    });
    let sq: Vec<f64> = svd.singular_values.iter().map(|s| s * s).collect();
    let total: f64 = sq.iter().sum();
    let v_t = svd.v_t.expect("asked for V");
    Figures {
        method: "svd",
        k,
        wall,
        cpu,
        variance: sq[..k].iter().map(|s| s / (n as f64 - 1.0)).collect(),
        ratio: sq[..k].iter().map(|s| s / total).collect(),
        components: (0..k)
            .map(|i| v_t.row(i).iter().copied().collect())
            .collect(),
        extra: Vec::new(),
    }
}

fn main() -> Result<()> {
    let o = options()?;
    let (n, d) = (o.n, o.d);
    let x = correlated_rows(n, d, o.latent, o.seed);
    if let Some(path) = &o.dump {
        let mut csv = String::with_capacity(x.len() * 20);
        let header: Vec<String> = (0..d).map(|j| format!("x{j}")).collect();
        csv.push_str(&header.join(","));
        csv.push('\n');
        for row in x.chunks_exact(d) {
            for (j, v) in row.iter().enumerate() {
                if j > 0 {
                    csv.push(',');
                }
                let _ = write!(csv, "{v}");
            }
            csv.push('\n');
        }
        std::fs::write(path, csv)?;
    }
    let z = standardise(&x, d);
    let mut fits = Vec::new();
    for &k in &o.k {
        fits.push(ours("eigen", &z, d, k, o.repeats)?.json());
        fits.push(ours("eigen_raw", &x, d, k, o.repeats)?.json());
        match linfa(&z, n, d, k, o.repeats)? {
            Some(f) => fits.push(f.json()),
            None => fits.push(format!(
                "{{\"method\":\"linfa\",\"k\":{k},\"panicked\":true}}"
            )),
        }
        fits.push(svd(&z, n, d, k, o.repeats).json());
    }
    let json = format!(
        "{{\"example\":\"pca_compare\",\"n\":{n},\"d\":{d},\"latent\":{},\"seed\":{},\
         \"repeats\":{},\"fits\":[{}]}}",
        o.latent,
        o.seed,
        o.repeats,
        fits.join(",")
    );
    writeln!(std::io::stdout().lock(), "{json}")?;
    Ok(())
}
