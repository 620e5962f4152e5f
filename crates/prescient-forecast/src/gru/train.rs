//! Training: mini-batches of windows drawn from every series, backpropagation through time,
//! gradient clipping by global norm, Adam, and early stopping on the held-out tails.

use ndarray::{Array2, ArrayView2};
use prescient_core::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::GruParams;
use super::cell::{BackScratch, Net, Tape};
use super::window::{Corpus, Origin, Shape};

/// Every mini-batch is cut into this many contiguous shards, whatever the number of threads,
/// and their gradients are added in shard order: the result does not depend on the threads.
const SHARDS: usize = 2;

/// What training produced.
#[derive(Debug, Clone)]
pub(crate) struct Trained {
    pub(crate) nets: Vec<Net>,
    /// Per validation window, the ensemble's errors on the normalised scale (target − forecast),
    /// `horizon` per window, row-major.
    pub(crate) residuals: Vec<f64>,
    pub(crate) report: super::TrainReport,
}

/// Adam (Kingma & Ba 2015) with the usual constants.
struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
    lr: f64,
}

impl Adam {
    const B1: f64 = 0.9;
    const B2: f64 = 0.999;
    const EPS: f64 = 1e-8;

    fn new(n: usize, lr: f64) -> Self {
        Adam {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
            lr,
        }
    }

    fn step(&mut self, w: &mut [f64], g: &[f64]) {
        self.t = self.t.saturating_add(1);
        let c1 = 1.0 - Self::B1.powi(self.t);
        let c2 = 1.0 - Self::B2.powi(self.t);
        let lr = self.lr * c2.sqrt() / c1;
        for (((w, &g), m), v) in w.iter_mut().zip(g).zip(&mut self.m).zip(&mut self.v) {
            *m = Self::B1 * *m + (1.0 - Self::B1) * g;
            *v = Self::B2 * *v + (1.0 - Self::B2) * g * g;
            *w -= lr * *m / (v.sqrt() + Self::EPS);
        }
    }
}

/// Scales `g` down to global norm `max` when it is longer.
pub(crate) fn clip_global_norm(g: &mut [f64], max: f64) -> f64 {
    let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > max && norm.is_finite() {
        let k = max / norm;
        g.iter_mut().for_each(|x| *x *= k);
    }
    norm
}

/// A batch of encoded windows.
#[derive(Default)]
struct Batch {
    x: Vec<f64>,
    base: Vec<f64>,
    target: Vec<f64>,
}

impl Batch {
    fn fill(&mut self, corpus: &Corpus<'_>, shape: &Shape, origins: &[Origin]) {
        let (e, o) = (shape.encoded_len(), shape.horizon);
        let b = origins.len();
        self.x.resize(b * e, 0.0);
        self.base.resize(b * o, 0.0);
        self.target.resize(b * o, 0.0);
        for (i, &org) in origins.iter().enumerate() {
            corpus.encode_window(
                shape,
                org,
                &mut self.x[i * e..(i + 1) * e],
                &mut self.base[i * o..(i + 1) * o],
                &mut self.target[i * o..(i + 1) * o],
            );
        }
    }
}

/// One shard's working memory.
#[derive(Default)]
struct Worker {
    tape: Tape,
    scratch: BackScratch,
    grad: Vec<f64>,
    d_out: Array2<f64>,
    /// The shard's summed absolute error.
    loss: f64,
}

/// The rows `[lo, hi)` of the batch for each shard.
fn shard_ranges(b: usize) -> [(usize, usize); SHARDS] {
    let mut out = [(0, 0); SHARDS];
    for (k, r) in out.iter_mut().enumerate() {
        *r = (k * b / SHARDS, (k + 1) * b / SHARDS);
    }
    out
}

/// Runs `job(shard, worker)` for every shard, on up to `threads` threads.
fn for_shards<F>(workers: &mut [Worker], threads: usize, job: F)
where
    F: Fn(usize, &mut Worker) + Sync,
{
    if threads <= 1 {
        for (k, w) in workers.iter_mut().enumerate() {
            job(k, w);
        }
    } else {
        std::thread::scope(|s| {
            let job = &job;
            let mut iter = workers.iter_mut().enumerate();
            // The first shard runs here, the others on their own threads.
            let first = iter.next();
            let handles: Vec<_> = iter.map(|(k, w)| s.spawn(move || job(k, w))).collect();
            if let Some((k, w)) = first {
                job(k, w);
            }
            for h in handles {
                if let Err(p) = h.join() {
                    std::panic::resume_unwind(p);
                }
            }
        });
    }
}

/// The mean absolute error of the batch's windows and the gradient of it, summed over the
/// shards in order, into `grad`.
fn batch_gradient(
    net: &Net,
    shape: &Shape,
    batch: &Batch,
    b: usize,
    workers: &mut [Worker],
    threads: usize,
    grad: &mut [f64],
) -> f64 {
    let (e, o, steps) = (shape.encoded_len(), shape.horizon, shape.steps());
    let ranges = shard_ranges(b);
    let norm = 1.0 / (b * o) as f64;
    for_shards(workers, threads, |k, w| {
        let (lo, hi) = ranges[k];
        w.grad.clear();
        w.grad.resize(net.w.len(), 0.0);
        w.loss = 0.0;
        if hi == lo {
            return;
        }
        let x = &batch.x[lo * e..hi * e];
        net.forward(x, hi - lo, steps, &mut w.tape);
        let target = ArrayView2::from_shape((hi - lo, o), &batch.target[lo * o..hi * o])
            .expect("sizes agree");
        let mut loss = 0.0;
        w.d_out = Array2::zeros((hi - lo, o));
        for ((d, &y), &t) in w.d_out.iter_mut().zip(&w.tape.out).zip(&target) {
            let err = y - t;
            loss += err.abs();
            *d = if err > 0.0 {
                norm
            } else if err < 0.0 {
                -norm
            } else {
                0.0
            };
        }
        net.backward(
            x,
            steps,
            &w.tape,
            w.d_out.view(),
            &mut w.grad,
            &mut w.scratch,
        );
        w.loss = loss;
    });
    grad.iter_mut().for_each(|g| *g = 0.0);
    for w in workers.iter() {
        for (g, x) in grad.iter_mut().zip(&w.grad) {
            *g += x;
        }
    }
    workers.iter().map(|w| w.loss).sum::<f64>() * norm
}

/// The outputs of `net` on `b` encoded windows, `b × horizon`, into `out`.
fn outputs(
    net: &Net,
    shape: &Shape,
    x: &[f64],
    b: usize,
    workers: &mut [Worker],
    threads: usize,
    out: &mut [f64],
) {
    let (e, o, steps) = (shape.encoded_len(), shape.horizon, shape.steps());
    let ranges = shard_ranges(b);
    for_shards(workers, threads, |k, w| {
        let (lo, hi) = ranges[k];
        if hi > lo {
            net.forward(&x[lo * e..hi * e], hi - lo, steps, &mut w.tape);
        }
    });
    for (k, w) in workers.iter().enumerate() {
        let (lo, hi) = ranges[k];
        if hi > lo {
            out[lo * o..hi * o].copy_from_slice(w.tape.out.as_slice().expect("standard layout"));
        }
    }
}

/// The training windows of every series: `(series, first origin, last origin)`, and the
/// validation windows (one per series: the last `horizon` values as targets).
fn windows(corpus: &Corpus<'_>, p: &GruParams) -> (Vec<(usize, usize, usize)>, Vec<Origin>) {
    let mut train = Vec::new();
    let mut val = Vec::new();
    for (i, y) in corpus.values.iter().enumerate() {
        let n = y.len();
        let end = if p.validation {
            n.saturating_sub(p.horizon)
        } else {
            n
        };
        if end >= p.input + p.horizon {
            train.push((i, p.input, end - p.horizon));
        }
        if n >= p.input + p.horizon {
            val.push(Origin {
                series: i,
                at: n - p.horizon,
            });
        }
    }
    (train, val)
}

/// Trains the ensemble on `corpus`.
pub(crate) fn train(p: &GruParams, corpus: &Corpus<'_>) -> Result<Trained> {
    let shape = p.shape();
    let (train_set, val) = windows(corpus, p);
    if train_set.is_empty() {
        return Err(Error::NotEnoughData {
            needed: p.min_history(),
            got: corpus.values.iter().map(|y| y.len()).max().unwrap_or(0),
        });
    }
    let threads = p.threads.min(SHARDS);
    // An epoch is at most one pass over the windows, so that a single short series is not
    // trained for thousands of steps.
    let windows_total: usize = train_set.iter().map(|&(_, lo, hi)| hi - lo + 1).sum();
    let steps_per_epoch = p
        .steps_per_epoch
        .min(windows_total.div_ceil(p.batch_size))
        .max(1);
    let mut workers: Vec<Worker> = (0..SHARDS).map(|_| Worker::default()).collect();

    // The validation windows are encoded once.
    let mut val_batch = Batch::default();
    val_batch.fill(corpus, &shape, &val);
    let (o, nv) = (shape.horizon, val.len());
    let mut val_out = vec![0.0; nv * o];
    let val_loss = |out: &[f64]| -> f64 {
        out.iter()
            .zip(&val_batch.target)
            .map(|(y, t)| (y - t).abs())
            .sum::<f64>()
            / (nv * o).max(1) as f64
    };

    let mut nets = Vec::with_capacity(p.ensemble);
    let mut report = super::TrainReport::default();
    let mut ensemble_out = vec![0.0; nv * o];
    let mut batch = Batch::default();
    let mut origins = Vec::with_capacity(p.batch_size);
    for member in 0..p.ensemble {
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
        rng.set_stream(member as u64);
        let mut net = Net::init(shape.width(), p.hidden, shape.horizon, &mut rng);
        let mut adam = Adam::new(net.w.len(), p.learning_rate);
        let mut grad = vec![0.0; net.w.len()];
        let mut best = (f64::INFINITY, net.clone(), 0usize);
        let mut since_best = 0;
        let mut epochs_run = 0;
        let mut last_train_loss = f64::NAN;
        for epoch in 0..p.epochs {
            let mut train_loss = 0.0;
            for _ in 0..steps_per_epoch {
                origins.clear();
                for _ in 0..p.batch_size {
                    let (series, lo, hi) = train_set[rng.gen_range(0..train_set.len())];
                    origins.push(Origin {
                        series,
                        at: rng.gen_range(lo..=hi),
                    });
                }
                batch.fill(corpus, &shape, &origins);
                train_loss += batch_gradient(
                    &net,
                    &shape,
                    &batch,
                    p.batch_size,
                    &mut workers,
                    threads,
                    &mut grad,
                );
                if grad.iter().all(|g| g.is_finite()) {
                    clip_global_norm(&mut grad, p.clip);
                    adam.step(&mut net.w, &grad);
                }
            }
            epochs_run = epoch + 1;
            last_train_loss = train_loss / steps_per_epoch as f64;
            if p.validation && nv > 0 {
                outputs(
                    &net,
                    &shape,
                    &val_batch.x,
                    nv,
                    &mut workers,
                    threads,
                    &mut val_out,
                );
                let loss = val_loss(&val_out);
                if loss < best.0 {
                    best = (loss, net.clone(), epochs_run);
                    since_best = 0;
                } else {
                    since_best += 1;
                    if since_best >= p.patience {
                        break;
                    }
                }
            }
        }
        let (best_loss, best_net, best_epoch) = if p.validation && nv > 0 {
            best
        } else {
            (f64::NAN, net, epochs_run)
        };
        report.members.push(super::MemberReport {
            epochs: epochs_run,
            best_epoch,
            train_loss: last_train_loss,
            validation_loss: best_loss,
        });
        if nv > 0 {
            outputs(
                &best_net,
                &shape,
                &val_batch.x,
                nv,
                &mut workers,
                threads,
                &mut val_out,
            );
            for (e, v) in ensemble_out.iter_mut().zip(&val_out) {
                *e += v / p.ensemble as f64;
            }
        }
        nets.push(best_net);
    }
    let residuals: Vec<f64> = val_batch
        .target
        .iter()
        .zip(&ensemble_out)
        .map(|(t, y)| t - y)
        .collect();
    if nv > 0 && p.validation {
        report.validation_loss = Some(val_loss(&ensemble_out));
    }
    Ok(Trained {
        nets,
        residuals,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_scales_to_the_norm() {
        let mut g = vec![3.0, 4.0];
        assert_eq!(clip_global_norm(&mut g, 1.0), 5.0);
        assert!((g[0] - 0.6).abs() < 1e-12 && (g[1] - 0.8).abs() < 1e-12);
        let mut g = vec![0.3, 0.4];
        clip_global_norm(&mut g, 1.0);
        assert_eq!(g, vec![0.3, 0.4]);
    }

    #[test]
    fn adam_minimises_a_quadratic() {
        let mut w = vec![5.0, -3.0];
        let mut adam = Adam::new(2, 0.1);
        for _ in 0..500 {
            let g: Vec<f64> = w.iter().map(|x| 2.0 * x).collect();
            adam.step(&mut w, &g);
        }
        assert!(w.iter().all(|x| x.abs() < 1e-2), "{w:?}");
    }

    #[test]
    fn shards_cover_the_batch() {
        assert_eq!(shard_ranges(5), [(0, 2), (2, 5)]);
        assert_eq!(shard_ranges(1), [(0, 0), (0, 1)]);
    }
}
