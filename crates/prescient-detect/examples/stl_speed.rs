//! STL speed and agreement against the statsmodels baseline (`/work/shared/peers/stl_zscore.py`),
//! and the streaming throughput of [`StlResidual`].
//!
//! For each length it times, on the same series as the peer (read from the peer's `--dump-dir`
//! CSV files when `--series-dir` is given, otherwise generated here with the peer's formula and a
//! seeded generator of our own), the median over `--repeats` runs of:
//!
//! - `stlrs` with statsmodels' default parameters for the period (seasonal 7, trend and low-pass
//!   lengths by statsmodels' rules, degrees 1, jumps 1; 5 inner loops when not robust, 2 inner and
//!   15 outer when robust), then the peer's detector: `z = (r − median(r)) / (1.4826 · MAD(r))`,
//!   flag `|z| > k`;
//! - `stlrs` with its own defaults (those of the original Fortran and R's `stl`: seasonal span of
//!   the period and degree 0, Loess evaluated every tenth of its span and interpolated, 2 inner
//!   loops, or 1 inner and 15 outer when robust), then the same detector;
//! - prescient's batch path [`stl_residual_scores`] (`stlrs`' defaults, plus the scaling of
//!   [`prescient_detect::decompose`] and scores for every point).
//!
//! With `--compare-dir`, it also reads statsmodels' decompositions of each series with the same
//! two parameter sets (`sm_{plain,robust}_{n}.txt` and `sm_fast_{plain,robust}_{n}.txt`: columns
//! seasonal, trend, resid) and reports the largest absolute difference between the remainders.
//!
//! Last, it streams 100 000 points of period 24 and of period 288 through [`StlResidual`] with its
//! default settings and reports points per second.
//!
//! ```sh
//! cargo run --release -p prescient-detect --example stl_speed -- \
//!     --series-dir /tmp/stl_series --compare-dir /tmp/stl_series --lengths 1000,10000,100000
//! ```
//!
//! Prints one JSON line on stdout.
#![allow(clippy::print_stdout, clippy::print_stderr)] // An example reports what it measured.
#![allow(clippy::disallowed_methods)] // Examples may read the clock: timing is their point.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use prescient_core::{Detector, Timestamp};
use prescient_detect::{StlResidual, stl_residual_scores};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Args {
    lengths: Vec<usize>,
    period: usize,
    k: f64,
    repeats: usize,
    seed: u64,
    series_dir: Option<PathBuf>,
    compare_dir: Option<PathBuf>,
    stream_n: usize,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut a = Args {
        lengths: vec![1000, 10_000, 100_000],
        period: 24,
        k: 4.0,
        repeats: 3,
        seed: 3,
        series_dir: None,
        compare_dir: None,
        stream_n: 100_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--lengths" => {
                a.lengths = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--period" => a.period = value()?.parse()?,
            "--k" => a.k = value()?.parse()?,
            "--repeats" => a.repeats = value()?.parse()?,
            "--seed" => a.seed = value()?.parse()?,
            "--series-dir" => a.series_dir = Some(value()?.into()),
            "--compare-dir" => a.compare_dir = Some(value()?.into()),
            "--stream-n" => a.stream_n = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(a)
}

/// Box–Muller.
fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    let (u, v): (f64, f64) = (rng.r#gen::<f64>().max(1e-300), rng.r#gen());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// The peer's series: `100 + 0.001 t + 10 sin(2πt/p) + 3 sin(4πt/p) + N(0, 1)` with spikes of
/// ±8..15 at rate 1e-3 (after the first two periods).
fn make_series(n: usize, period: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w = std::f64::consts::TAU / period as f64;
    let mut y: Vec<f64> = (0..n)
        .map(|t| {
            let t = t as f64;
            100.0 + 0.001 * t + 10.0 * (w * t).sin() + 3.0 * (2.0 * w * t).sin() + gauss(&mut rng)
        })
        .collect();
    for _ in 0..(n / 1000).max(1) {
        let i = rng.gen_range((2 * period).min(n - 1)..n);
        let sign = if rng.r#gen::<bool>() { 1.0 } else { -1.0 };
        y[i] += sign * rng.gen_range(8.0..15.0);
    }
    y
}

/// The `value` column of a `timestamp,value` CSV file with a header.
fn read_csv(path: &Path) -> Result<Vec<f64>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v = l.rsplit(',').next().ok_or("empty line")?;
            Ok(v.trim().parse::<f64>()?)
        })
        .collect()
}

/// The third column (statsmodels' `resid`) of a whitespace-separated file.
fn read_resid(path: &Path) -> Result<Vec<f64>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v = l.split_whitespace().nth(2).ok_or("fewer than 3 columns")?;
            Ok(v.parse::<f64>()?)
        })
        .collect()
}

/// statsmodels' `STL(x, period).fit()` parameters, for `stlrs`.
fn statsmodels_params(period: usize, robust: bool) -> stlrs::StlParams {
    let seasonal = 7usize;
    let mut trend = (1.5 * period as f64 / (1.0 - 1.5 / seasonal as f64)).ceil() as usize;
    trend += usize::from(trend % 2 == 0);
    let low_pass = period + 1 + usize::from(period % 2 == 1);
    let mut p = stlrs::params();
    p.seasonal_length(seasonal)
        .trend_length(trend)
        .low_pass_length(low_pass)
        .seasonal_degree(1)
        .trend_degree(1)
        .low_pass_degree(1)
        .seasonal_jump(1)
        .trend_jump(1)
        .low_pass_jump(1)
        .robust(robust);
    if robust {
        p.inner_loops(2).outer_loops(15);
    } else {
        p.inner_loops(5).outer_loops(0);
    }
    p
}

fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    let (_, hi, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    let hi = *hi;
    if n % 2 == 1 {
        hi
    } else {
        let lo = v[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lo + hi)
    }
}

/// The peer's detector: indices with `|r − median| > k · 1.4826 · MAD`.
fn robust_z_flags(resid: &[f64], k: f64) -> Vec<usize> {
    let mut work = resid.to_vec();
    let med = median_in_place(&mut work);
    for (w, r) in work.iter_mut().zip(resid) {
        *w = (r - med).abs();
    }
    let mad = median_in_place(&mut work);
    let limit = k * 1.4826 * mad;
    resid
        .iter()
        .enumerate()
        .filter(|(_, r)| (*r - med).abs() > limit)
        .map(|(i, _)| i)
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let p = args.period;
    // Warm-up, as the peer does.
    statsmodels_params(p, false).fit(&make_series(500, p, 0), p)?;

    let mut runs = Vec::new();
    for &n in &args.lengths {
        let y = match &args.series_dir {
            Some(dir) => read_csv(&dir.join(format!("stl_{n}.csv")))?,
            None => make_series(n, p, args.seed + n as u64),
        };
        if y.len() != n {
            return Err(format!("series of length {} for n = {n}", y.len()).into());
        }
        for robust in [false, true] {
            let params = statsmodels_params(p, robust);
            let mut fast = stlrs::params();
            fast.robust(robust);
            let (mut fit_s, mut z_s, mut ours_s) = (Vec::new(), Vec::new(), Vec::new());
            let (mut fast_s, mut fast_resid, mut fast_flags) = (Vec::new(), Vec::new(), 0);
            let mut flags = Vec::new();
            let mut resid = Vec::new();
            for _ in 0..args.repeats {
                let t3 = Instant::now();
                let fit = fast.fit(&y, p)?;
                fast_flags = robust_z_flags(fit.remainder(), args.k).len();
                fast_s.push(t3.elapsed().as_secs_f64());
                fast_resid = fit.remainder().to_vec();
                let t0 = Instant::now();
                let fit = params.fit(&y, p)?;
                fit_s.push(t0.elapsed().as_secs_f64());
                let t1 = Instant::now();
                flags = robust_z_flags(fit.remainder(), args.k);
                z_s.push(t1.elapsed().as_secs_f64());
                resid = fit.remainder().to_vec();
                let t2 = Instant::now();
                let scores = stl_residual_scores(&y, p, robust)?;
                ours_s.push(t2.elapsed().as_secs_f64());
                std::hint::black_box(scores);
            }
            let tot: Vec<f64> = fit_s.iter().zip(&z_s).map(|(a, b)| a + b).collect();
            let tag = if robust { "robust" } else { "plain" };
            let diff = |file: String, ours: &[f64]| -> Result<String, Box<dyn Error>> {
                let Some(dir) = &args.compare_dir else {
                    return Ok("null".to_string());
                };
                let path = dir.join(file);
                if !path.exists() {
                    return Ok("null".to_string());
                }
                let theirs = read_resid(&path)?;
                if theirs.len() != ours.len() {
                    return Err(format!("{} has {} rows", path.display(), theirs.len()).into());
                }
                let d = ours
                    .iter()
                    .zip(&theirs)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                Ok(format!("{d:e}"))
            };
            let same_diff = diff(format!("sm_{tag}_{n}.txt"), &resid)?;
            let fast_diff = diff(format!("sm_fast_{tag}_{n}.txt"), &fast_resid)?;
            runs.push(format!(
                "{{\"n\": {n}, \"robust\": {robust}, \"stl_s_median\": {}, \"zscore_s_median\": {}, \
                 \"total_s_median\": {}, \"stl_s_all\": [{}], \"n_flagged\": {}, \
                 \"max_abs_remainder_diff_vs_statsmodels\": {same_diff}, \
                 \"stlrs_defaults_with_zscore_s_median\": {}, \"stlrs_defaults_n_flagged\": \
                 {fast_flags}, \"stlrs_defaults_max_abs_remainder_diff_vs_statsmodels\": \
                 {fast_diff}, \"prescient_stl_residual_scores_s_median\": {}}}",
                round(median(fit_s.clone()), 6),
                round(median(z_s), 6),
                round(median(tot), 6),
                fit_s
                    .iter()
                    .map(|t| round(*t, 6).to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                flags.len(),
                round(median(fast_s), 6),
                round(median(ours_s), 6),
            ));
        }
    }

    let mut streaming = Vec::new();
    for period in [24usize, 288] {
        let y = make_series(args.stream_n, period, args.seed);
        let mut d = StlResidual::new(period)?;
        let t0 = Instant::now();
        let mut scored = 0usize;
        let mut high = 0usize;
        for (i, &x) in y.iter().enumerate() {
            if let Some(det) = d.update(Timestamp::from_secs(i as i64), x) {
                scored += 1;
                high += usize::from(det.score.value() >= 0.999);
            }
        }
        let el = t0.elapsed().as_secs_f64();
        streaming.push(format!(
            "{{\"period\": {period}, \"n\": {}, \"seconds\": {}, \"points_per_s\": {}, \
             \"us_per_point\": {}, \"scored\": {scored}, \"score_ge_0_999\": {high}, \
             \"window\": {}, \"refit_every\": {}}}",
            args.stream_n,
            round(el, 4),
            (args.stream_n as f64 / el).round(),
            round(1e6 * el / args.stream_n as f64, 3),
            d.window(),
            d.refit_every(),
        ));
    }

    println!(
        "{{\"script\": \"stl_speed\", \"stlrs\": \"0.4\", \"period\": {p}, \"k\": {}, \"repeats\": {}, \
         \"series\": \"{}\", \"runs\": [{}], \"streaming\": [{}]}}",
        args.k,
        args.repeats,
        match &args.series_dir {
            Some(d) => format!("peer csv from {}", d.display()),
            None => "generated (peer formula, own seeded noise)".to_string(),
        },
        runs.join(", "),
        streaming.join(", "),
    );
    Ok(())
}
