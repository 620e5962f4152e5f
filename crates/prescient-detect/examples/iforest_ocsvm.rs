//! Fits the isolation forest and the one-class SVM to a labelled CSV, scores every row, and
//! prints fit and score times and the ROC AUC as one JSON line, for comparison with
//! scikit-learn's `IsolationForest` and `OneClassSVM` on the same rows.
//!
//! ```text
//! PY=/root/.cache/prescient-peers-venv/bin/python
//! $PY /work/shared/peers/iforest_ocsvm.py --n 100000 --repeats 3 --dump /tmp/mog8_100k.csv
//! cargo run --release -p prescient-detect --example iforest_ocsvm -- --data /tmp/mog8_100k.csv --models iforest
//! ```
//!
//! The CSV is the peer script's dump: a header line, then `x0,...,x{d-1},label` per row, with
//! label 1 for an outlier. Options: `--data PATH` (required), `--models iforest,ocsvm`,
//! `--repeats 3`, `--seed 42` (repeat `r` of the isolation forest uses seed `seed + r`, as the
//! peer uses `random_state = seed + r`), `--max-train N` (the one-class SVM's training rows;
//! default the library's), `--nu 0.01`. As in the peer script, both models are fitted on every
//! row (unsupervised, contaminated training set) and then score every row; the AUC is of the
//! anomaly score (larger = more anomalous), computed as the Mann–Whitney statistic with ties
//! counted as one half. Times are medians over the repeats, single-threaded, both wall-clock
//! and the thread's CPU time (steadier on a shared machine).

use std::error::Error;
use std::io::Write;
use std::time::Duration;

use prescient_detect::{Gamma, IsolationForest, OneClassSvm};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The rows (row-major), their dimension and their labels.
struct Data {
    x: Vec<f64>,
    dim: usize,
    y: Vec<bool>,
}

fn read_csv(path: &str) -> Result<Data> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let header = lines.next().ok_or("empty file")?;
    let dim = header
        .split(',')
        .count()
        .checked_sub(1)
        .ok_or("no columns")?;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let mut fields = line.split(',');
        for _ in 0..dim {
            x.push(fields.next().ok_or("short line")?.trim().parse::<f64>()?);
        }
        let label: f64 = fields.next().ok_or("no label")?.trim().parse()?;
        y.push(label != 0.0);
    }
    Ok(Data { x, dim, y })
}

/// The ROC AUC of `scores` for `labels` (true = positive): the Mann–Whitney `U` of the positives
/// over `n₊ · n₋`, with tied scores given their average rank.
fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let avg = (i + j + 2) as f64 / 2.0;
        rank_sum += avg * order[i..=j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j + 1;
    }
    let pos = labels.iter().filter(|&&l| l).count() as f64;
    let neg = labels.len() as f64 - pos;
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// The CPU time this thread has run, from Linux's `/proc/thread-self/schedstat` (nanosecond
/// resolution); `None` elsewhere. On a shared machine it is steadier than wall time.
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// A wall time and a CPU time, in seconds.
#[derive(Clone, Copy)]
struct Took {
    wall: f64,
    cpu: f64,
}

/// Runs `f` and returns its result and the wall and CPU time it took.
#[allow(
    clippy::disallowed_methods,
    reason = "an example that measures time reads the clock"
)]
fn timed<T>(f: impl FnOnce() -> T) -> (T, Took) {
    let c0 = cpu_time();
    let t0 = std::time::Instant::now();
    let out = f();
    let wall = t0.elapsed().as_secs_f64();
    let cpu = match (c0, cpu_time()) {
        (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64(),
        _ => f64::NAN,
    };
    (out, Took { wall, cpu })
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn list(xs: &[f64], digits: usize) -> String {
    let items: Vec<String> = xs.iter().map(|x| format!("{x:.digits$}")).collect();
    format!("[{}]", items.join(", "))
}

/// The JSON fields shared by both models.
fn timings(fits: &[Took], scores: &[Took], aucs: &[f64]) -> String {
    let wall = |t: &[Took]| t.iter().map(|t| t.wall).collect::<Vec<_>>();
    let cpu = |t: &[Took]| t.iter().map(|t| t.cpu).collect::<Vec<_>>();
    let total = |f: Vec<f64>, s: Vec<f64>| f.iter().zip(&s).map(|(f, s)| f + s).collect::<Vec<_>>();
    format!(
        "\"fit_s_median\": {:.4}, \"score_s_median\": {:.4}, \"total_s_median\": {:.4}, \
         \"fit_cpu_s_median\": {:.4}, \"score_cpu_s_median\": {:.4}, \
         \"total_cpu_s_median\": {:.4}, \"roc_auc_median\": {:.5}, \
         \"roc_auc_per_repeat\": {}, \"fit_s_all\": {}, \"score_s_all\": {}",
        median(&wall(fits)),
        median(&wall(scores)),
        median(&total(wall(fits), wall(scores))),
        median(&cpu(fits)),
        median(&cpu(scores)),
        median(&total(cpu(fits), cpu(scores))),
        median(aucs),
        list(aucs, 5),
        list(&wall(fits), 4),
        list(&wall(scores), 4),
    )
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut path, mut models, mut repeats, mut seed) = (None, "iforest,ocsvm".to_string(), 3, 42);
    let (mut max_train, mut nu) = (None, 0.01);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--data" => path = Some(value()?),
            "--models" => models = value()?,
            "--repeats" => repeats = value()?.parse()?,
            "--seed" => seed = value()?.parse()?,
            "--max-train" => max_train = Some(value()?.parse::<usize>()?),
            "--nu" => nu = value()?.parse()?,
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let path = path.ok_or("--data PATH is required")?;
    let data = read_csv(&path)?;
    let n = data.y.len();
    let mut out = vec![0.0; n];
    let mut json = format!(
        "{{\"example\": \"iforest_ocsvm\", \"data\": {{\"path\": \"{path}\", \"rows\": {n}, \
         \"dim\": {}, \"outliers\": {}}}, \"repeats\": {repeats}",
        data.dim,
        data.y.iter().filter(|&&l| l).count()
    );

    if models.split(',').any(|m| m.trim() == "iforest") {
        let (mut fits, mut scores, mut aucs) = (vec![], vec![], vec![]);
        for r in 0..repeats {
            let params = IsolationForest::params()
                .n_trees(100)
                .subsample(256)
                .seed(seed + r);
            let (model, fit) = timed(|| params.fit(&data.x, data.dim));
            let model = model?;
            let (res, score) = timed(|| model.score_batch_inplace(&data.x, &mut out));
            res?;
            fits.push(fit);
            scores.push(score);
            aucs.push(roc_auc(&out, &data.y));
        }
        json += &format!(
            ", \"iforest\": {{\"params\": {{\"n_trees\": 100, \"subsample\": 256, \
             \"seed\": \"seed+repeat ({seed}..{})\"}}, {}}}",
            seed + repeats.max(1) - 1,
            timings(&fits, &scores, &aucs)
        );
    }

    if models.split(',').any(|m| m.trim() == "ocsvm") {
        let mut params = OneClassSvm::params().nu(nu).gamma(Gamma::Scale).seed(seed);
        if let Some(m) = max_train {
            params = params.max_train(m);
        }
        let (mut fits, mut scores, mut aucs) = (vec![], vec![], vec![]);
        let mut last = None;
        for _ in 0..repeats {
            let (model, fit) = timed(|| params.fit(&data.x, data.dim));
            let model = model?;
            let (res, score) = timed(|| model.score_batch_inplace(&data.x, &mut out));
            res?;
            fits.push(fit);
            scores.push(score);
            aucs.push(roc_auc(&out, &data.y));
            last = Some(model);
        }
        let (n_train, n_sv, gamma) = last
            .map(|m| (m.n_train(), m.n_support(), m.gamma()))
            .unwrap_or((0, 0, f64::NAN));
        json += &format!(
            ", \"ocsvm\": {{\"params\": {{\"nu\": {nu}, \"gamma\": \"scale\", \
             \"gamma_value\": {gamma:.8}, \"max_train\": {n_train}, \"seed\": {seed}}}, \
             \"n_support_vectors\": {n_sv}, {}}}",
            timings(&fits, &scores, &aucs)
        );
    }

    json += "}";
    writeln!(std::io::stdout().lock(), "{json}")?;
    Ok(())
}
