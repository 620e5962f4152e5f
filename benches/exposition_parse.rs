//! `exposition_parse`: reading a `/metrics` page in Prometheus's text format, in bytes per
//! second.
//!
//! The page is seeded and built once, outside the timed loop: a node-exporter and application
//! page of about 4 MB, with `# HELP` and `# TYPE` for every family; per-CPU counters by mode,
//! network and filesystem series, `http_requests_total` by handler, method and code,
//! `http_request_duration_seconds` histograms of 12 buckets (with `_sum` and `_count`) by
//! handler and method, a Go GC summary and process gauges. Values are written as Go's client
//! writes them: integers, decimals and exponents (`1.234e+09`).
//!
//! - `exposition_parse/parse`: every entry of the page through `Parser` (names and label text
//!   borrowed, values parsed), summing the values so that nothing is optimised away. The
//!   issue's target: at least 50 MB/s on one core.
//! - `exposition_extract/extract`: the same page through an `Extractor` of four columns (a
//!   rate, a histogram quantile, a gauge and a summary quantile), as a live scrape reads it.
//!
//! Run pinned to one core: `taskset -c 1 cargo bench -p prescient-benches --bench
//! exposition_parse`. The figures are in `docs/BENCHMARKS.md` (`parse`: about 650 MB/s).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prescient::Timestamp;
use prescient_sources::exposition::{Column, Entry, Extractor, Format, Parser, Selector};
use std::fmt::Write;
use std::hint::black_box;

use prescient_benches::Xorshift;

const BUCKETS: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];
const HANDLERS: usize = 1200;
const CPUS: usize = 64;

fn family(page: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(page, "# HELP {name} {help}");
    let _ = writeln!(page, "# TYPE {name} {kind}");
}

/// The page (about 4 MB).
fn page(seed: u64) -> String {
    let mut r = Xorshift(seed);
    let mut p = String::new();
    family(
        &mut p,
        "node_cpu_seconds_total",
        "counter",
        "Seconds the CPUs spent in each mode.",
    );
    for cpu in 0..CPUS {
        for mode in [
            "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
        ] {
            let v = r.unit() * 1e6;
            let _ = writeln!(
                p,
                "node_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"{mode}\"}} {v:.2}"
            );
        }
    }
    family(
        &mut p,
        "node_network_receive_bytes_total",
        "counter",
        "Network device statistic receive_bytes.",
    );
    for dev in ["eth0", "eth1", "lo", "docker0", "veth1a2b3c"] {
        let v = r.next_u64() % 1_000_000_000_000;
        let _ = writeln!(
            p,
            "node_network_receive_bytes_total{{device=\"{dev}\"}} {v}"
        );
    }
    family(
        &mut p,
        "node_filesystem_avail_bytes",
        "gauge",
        "Filesystem space available to non-root users in bytes.",
    );
    for (dev, mount) in [
        ("/dev/sda1", "/"),
        ("/dev/sda2", "/var"),
        ("tmpfs", "/run"),
        ("/dev/nvme0n1p1", "/data"),
    ] {
        let v = r.unit() * 1e12;
        let _ = writeln!(
            p,
            "node_filesystem_avail_bytes{{device=\"{dev}\",fstype=\"ext4\",mountpoint=\"{mount}\"}} {v:.9e}"
        );
    }
    family(
        &mut p,
        "http_requests_total",
        "counter",
        "Total number of HTTP requests by handler, method and code.",
    );
    for h in 0..HANDLERS {
        for method in ["GET", "POST"] {
            for code in ["200", "404", "500"] {
                let v = r.next_u64() % 10_000_000;
                let _ = writeln!(
                    p,
                    "http_requests_total{{handler=\"/api/v1/resource{h}\",method=\"{method}\",code=\"{code}\"}} {v}"
                );
            }
        }
    }
    family(
        &mut p,
        "http_request_duration_seconds",
        "histogram",
        "Latency of HTTP requests.",
    );
    for h in 0..HANDLERS {
        for method in ["GET", "POST"] {
            let mut count = 0u64;
            for le in BUCKETS {
                count += r.next_u64() % 5_000;
                let _ = writeln!(
                    p,
                    "http_request_duration_seconds_bucket{{handler=\"/api/v1/resource{h}\",method=\"{method}\",le=\"{le}\"}} {count}"
                );
            }
            let sum = count as f64 * r.unit() * 0.3;
            let labels = format!("handler=\"/api/v1/resource{h}\",method=\"{method}\"");
            let _ = writeln!(p, "http_request_duration_seconds_sum{{{labels}}} {sum}");
            let _ = writeln!(p, "http_request_duration_seconds_count{{{labels}}} {count}");
        }
    }
    family(
        &mut p,
        "go_gc_duration_seconds",
        "summary",
        "A summary of the pause duration of garbage collection cycles.",
    );
    for q in ["0", "0.25", "0.5", "0.75", "1"] {
        let v = r.unit() * 1e-3;
        let _ = writeln!(p, "go_gc_duration_seconds{{quantile=\"{q}\"}} {v:e}");
    }
    let _ = writeln!(
        p,
        "go_gc_duration_seconds_sum 12.3456789\ngo_gc_duration_seconds_count 98765"
    );
    for (name, v) in [
        ("process_resident_memory_bytes", "1.23456512e+08"),
        ("process_open_fds", "42"),
        ("process_start_time_seconds", "1.70000000012e+09"),
        ("go_goroutines", "1234"),
        ("process_max_fds", "1.048576e+06"),
    ] {
        family(&mut p, name, "gauge", "A process figure.");
        let _ = writeln!(p, "{name} {v}");
    }
    p
}

fn parse(c: &mut Criterion) {
    let text = page(7);
    let lines = text.lines().count();
    #[allow(clippy::print_stderr)] // The size of what is measured, for docs/BENCHMARKS.md.
    {
        eprintln!(
            "exposition_parse: a page of {} bytes, {lines} lines",
            text.len()
        );
    }
    let mut group = c.benchmark_group("exposition_parse");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("parse", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            let mut n = 0usize;
            for entry in Parser::new(black_box(&text), Format::Prometheus) {
                match entry {
                    Ok(Entry::Sample(s)) => {
                        sum += s.value;
                        n += s.labels.raw().len();
                    }
                    Ok(_) => n += 1,
                    Err(e) => panic!("the bench page is valid: {e}"),
                }
            }
            black_box((sum, n))
        });
    });
    group.finish();
}

fn extract(c: &mut Criterion) {
    let text = page(7);
    let columns = vec![
        Column::rate(
            "load",
            Selector::new("http_requests_total").label("code", "200"),
        ),
        Column::histogram_quantile(
            "p99",
            Selector::new("http_request_duration_seconds").label("method", "GET"),
            0.99,
        ),
        Column::gauge("memory", Selector::new("process_resident_memory_bytes")),
        Column::gauge(
            "gc_p75",
            Selector::new("go_gc_duration_seconds").label("quantile", "0.75"),
        ),
    ];
    let mut extractor = Extractor::new(columns).expect("valid columns");
    let mut t = 0;
    let mut group = c.benchmark_group("exposition_extract");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("extract", |b| {
        b.iter(|| {
            t += 15;
            let sample = extractor
                .extract_as(
                    Timestamp::from_secs(t),
                    black_box(&text),
                    Format::Prometheus,
                )
                .expect("the bench page is valid");
            black_box(sample)
        });
    });
    group.finish();
}

criterion_group!(benches, parse, extract);
criterion_main!(benches);
