//! `feature_extract`: one tick of every streaming feature of 20 metrics, as a host runs it, and
//! the latency extractors alone.
//!
//! A tick updates, for each of the 20 metrics, a `RollingStats` (window 20), a
//! `RollingQuantiles` (p50, p90, p99 of the last 20 values) and a `RateOfChange`, each behind
//! `Box<dyn FeatureExtractor>` as the `Scaler` holds them; for the 5 latency metrics of the
//! bench schema, either a `HistogramQuantiles` taking one Prometheus scrape of 12 buckets
//! (`histogram`) or a `LatencyDistribution` recording 50 raw latencies and closing its tick
//! (`raw_latencies`); one `RollingCorrelation` (load against utilisation) and one `MixEntropy`
//! of 8 request types; then writes every feature into one buffer. The state persists across
//! iterations (a warmed-up service), and all inputs are seeded and built outside the timed loop.
//! The target: at most 2 µs per tick for 20 metrics.
//!
//! The other groups time the pieces: `QuantileSketch` insertion and quantile,
//! `HistogramQuantiles` per scrape and `LatencyDistribution` per tick.
//!
//! Run with `cargo bench -p prescient-benches --bench feature_extract`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use prescient::Timestamp;
use prescient::features::{
    HistogramQuantiles, LatencyDistribution, MixEntropy, QuantileSketch, RateOfChange,
    RollingCorrelation, RollingQuantiles, RollingStats,
};
use prescient::types::FeatureExtractor;
use std::hint::black_box;

const METRICS: usize = 20;
const WINDOW: usize = 20;
/// Ticks of prebuilt input; the timed loop cycles through them. Few enough that the inputs
/// stay in cache, as a host's freshly scraped values are (with thousands, the bench measured
/// cache misses on its own input arrays).
const TICKS: usize = 256;
/// Prometheus' default histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    f64::INFINITY,
];
const CATEGORIES: usize = 8;
const REQUESTS_PER_TICK: usize = 50;

/// A seeded xorshift stream of uniform numbers in (0, 1).
struct Uniform(u64);

impl Uniform {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A log-normal latency with median 50 ms.
    fn latency(&mut self) -> f64 {
        let (a, b) = (self.next(), self.next());
        let z = (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos();
        0.05 * (0.8 * z).exp()
    }
}

/// Which metrics of the bench schema are latencies (the schema's roles cycle utilisation,
/// latency, error rate, custom after the load metric).
fn is_latency(i: usize) -> bool {
    i > 0 && (i - 1) % 4 == 1
}

/// The prebuilt inputs of `TICKS` ticks.
struct Inputs {
    rows: Vec<Vec<f64>>,
    /// Per tick, per latency metric: the cumulative bucket counts of a scrape.
    scrapes: Vec<Vec<Vec<f64>>>,
    /// Per tick, per latency metric: the raw latencies.
    latencies: Vec<Vec<Vec<f64>>>,
    mix: Vec<[f64; CATEGORIES]>,
}

fn inputs(seed: u64) -> Inputs {
    let rows = prescient_benches::rows(METRICS, TICKS, seed);
    let latency_metrics = (0..METRICS).filter(|&i| is_latency(i)).count();
    let mut u = Uniform(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut counters = vec![vec![0.0; BUCKETS.len()]; latency_metrics];
    let mut scrapes = Vec::with_capacity(TICKS);
    let mut latencies = Vec::with_capacity(TICKS);
    for _ in 0..TICKS {
        let mut tick_lat = Vec::with_capacity(latency_metrics);
        for counter in counters.iter_mut() {
            let lat: Vec<f64> = (0..REQUESTS_PER_TICK).map(|_| u.latency()).collect();
            for &x in &lat {
                // Cumulative buckets: every bucket whose bound is at least x counts it.
                for (c, &le) in counter.iter_mut().zip(&BUCKETS) {
                    if x <= le {
                        *c += 1.0;
                    }
                }
            }
            tick_lat.push(lat);
        }
        scrapes.push(counters.clone());
        latencies.push(tick_lat);
    }
    let mix = (0..TICKS)
        .map(|_| {
            let mut m = [0.0; CATEGORIES];
            for (j, c) in m.iter_mut().enumerate() {
                *c = (100.0 / (j + 1) as f64 * u.next() * 2.0).round();
            }
            m
        })
        .collect();
    Inputs {
        rows,
        scrapes,
        latencies,
        mix,
    }
}

/// How the latency metrics are summarised.
#[derive(Clone, Copy)]
enum Latency {
    Histogram,
    Raw,
}

/// Every extractor of the 20 metrics, and the buffer their features go to.
struct Features {
    per_metric: Vec<Vec<Box<dyn FeatureExtractor>>>,
    histograms: Vec<HistogramQuantiles>,
    distributions: Vec<LatencyDistribution>,
    correlation: RollingCorrelation,
    mix: MixEntropy,
    out: Vec<f64>,
    tick: usize,
}

impl Features {
    fn new(latency: Latency) -> Self {
        let per_metric: Vec<Vec<Box<dyn FeatureExtractor>>> = (0..METRICS)
            .map(|_| {
                let v: Vec<Box<dyn FeatureExtractor>> = vec![
                    Box::new(RollingStats::new(WINDOW).expect("valid window")),
                    Box::new(RollingQuantiles::new(WINDOW).expect("valid window")),
                    Box::new(RateOfChange::new(1).expect("valid lag")),
                ];
                v
            })
            .collect();
        let latency_metrics = (0..METRICS).filter(|&i| is_latency(i)).count();
        let (histograms, distributions) = match latency {
            Latency::Histogram => (
                (0..latency_metrics)
                    .map(|_| HistogramQuantiles::new(&BUCKETS, WINDOW).expect("valid buckets"))
                    .collect(),
                Vec::new(),
            ),
            Latency::Raw => (
                Vec::new(),
                (0..latency_metrics)
                    .map(|_| LatencyDistribution::new(WINDOW).expect("valid window"))
                    .collect(),
            ),
        };
        let width = per_metric.iter().flatten().map(|e| e.len()).sum::<usize>()
            + 5 * latency_metrics
            + 1
            + 3;
        Features {
            per_metric,
            histograms,
            distributions,
            correlation: RollingCorrelation::new(WINDOW).expect("valid window"),
            mix: MixEntropy::new(CATEGORIES, WINDOW).expect("valid settings"),
            out: vec![0.0; width],
            tick: 0,
        }
    }

    /// One tick: update everything with the tick's inputs and write every feature.
    fn step(&mut self, inputs: &Inputs) -> f64 {
        let t = self.tick % TICKS;
        let ts = Timestamp::from_secs(15 * self.tick as i64);
        self.tick += 1;
        let row = &inputs.rows[t];
        let mut at = 0;
        for (extractors, &x) in self.per_metric.iter_mut().zip(row) {
            for e in extractors.iter_mut() {
                e.update(ts, x);
                let n = e.len();
                e.extract_inplace(&mut self.out[at..at + n]);
                at += n;
            }
        }
        for (h, scrape) in self.histograms.iter_mut().zip(&inputs.scrapes[t]) {
            // The input cycles every `TICKS` ticks: the counts then drop, a counter reset.
            h.update(ts, scrape).expect("a valid scrape");
            h.extract_inplace(&mut self.out[at..at + 5]);
            at += 5;
        }
        for (d, lat) in self.distributions.iter_mut().zip(&inputs.latencies[t]) {
            for &x in lat {
                d.record(x);
            }
            d.tick();
            d.extract_inplace(&mut self.out[at..at + 5]);
            at += 5;
        }
        self.correlation.update(ts, row[0], row[1]);
        self.correlation.extract_inplace(&mut self.out[at..at + 1]);
        at += 1;
        self.mix.update(ts, &inputs.mix[t]).expect("valid counts");
        self.mix.extract_inplace(&mut self.out[at..at + 3]);
        self.out[at]
    }
}

fn tick(c: &mut Criterion) {
    let inputs = inputs(7);
    let mut group = c.benchmark_group("feature_extract");
    group.throughput(Throughput::Elements(1));
    for (name, latency) in [
        ("histogram", Latency::Histogram),
        ("raw_latencies", Latency::Raw),
    ] {
        let mut f = Features::new(latency);
        // Warm up: full windows.
        for _ in 0..(4 * WINDOW) {
            f.step(&inputs);
        }
        group.bench_function(BenchmarkId::new("tick_20_metrics", name), |b| {
            b.iter(|| black_box(f.step(black_box(&inputs))))
        });
    }
    group.finish();
}

fn sketch(c: &mut Criterion) {
    let mut u = Uniform(11);
    let xs: Vec<f64> = (0..10_000).map(|_| u.latency()).collect();
    let mut group = c.benchmark_group("quantile_sketch");
    group.throughput(Throughput::Elements(xs.len() as u64));
    group.bench_function("insert_10k", |b| {
        b.iter(|| {
            let mut s = QuantileSketch::default();
            for &x in &xs {
                s.insert(black_box(x));
            }
            black_box(s.count())
        })
    });
    let mut s = QuantileSketch::default();
    for &x in &xs {
        s.insert(x);
    }
    group.throughput(Throughput::Elements(1));
    for q in [0.5, 0.99] {
        group.bench_function(BenchmarkId::new("quantile_of_10k", q), |b| {
            b.iter(|| black_box(s.quantile(black_box(q))))
        });
    }
    group.finish();
}

fn latency_parts(c: &mut Criterion) {
    let inputs = inputs(13);
    let mut group = c.benchmark_group("latency_extractors");
    group.throughput(Throughput::Elements(1));
    let mut h = HistogramQuantiles::new(&BUCKETS, WINDOW).expect("valid buckets");
    let mut t = 0usize;
    group.bench_function("histogram_quantiles_scrape_12_buckets", |b| {
        b.iter(|| {
            let ts = Timestamp::from_secs(15 * t as i64);
            h.update(ts, black_box(&inputs.scrapes[t % TICKS][0]))
                .expect("a valid scrape");
            t += 1;
            black_box(h.features()[2])
        })
    });
    let mut d = LatencyDistribution::new(WINDOW).expect("valid window");
    let mut t = 0usize;
    group.bench_function("latency_distribution_tick_50_requests", |b| {
        b.iter(|| {
            for &x in &inputs.latencies[t % TICKS][0] {
                d.record(black_box(x));
            }
            d.tick();
            t += 1;
            black_box(d.features()[2])
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = tick, sketch, latency_parts
}
criterion_main!(benches);
