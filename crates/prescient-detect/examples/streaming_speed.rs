//! Throughput of the batch z-score and EWMA paths on the series written by
//! `../shared/peers/streaming_detectors.py --generate N`, with the same window (100), smoothing
//! (0.05), warm-up (the first 100 points) and flag level (|z| > 3.5) as the peer, so that the flag
//! counts can be compared with pandas' and river's. Prints one JSON line.
//!
//! ```sh
//! PY=$(bash ../shared/peers/setup.sh)
//! taskset -c 1 $PY ../shared/peers/streaming_detectors.py /tmp/synth_1m.csv --generate 1000000 && \
//!   taskset -c 1 cargo run --release -p prescient-detect --example streaming_speed -- /tmp/synth_1m.csv
//! ```

// An example reports its own timings.
#![allow(clippy::print_stdout, clippy::disallowed_methods)]

use std::time::Instant;

use prescient_detect::{Ewma, RollingZScore};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: streaming_speed SERIES.csv")?;
    let text = std::fs::read_to_string(&path)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty file")?.split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "value")
        .ok_or("no `value` column")?;
    let xs: Vec<f64> = lines
        .map(|l| l.split(',').nth(col).unwrap_or("").parse::<f64>())
        .collect::<Result<_, _>>()?;
    let (w, alpha, k, repeats) = (100, 0.05, 3.5, 7);
    let mut out = vec![0.0; xs.len()];

    let mut time = |f: &mut dyn FnMut(&mut [f64])| {
        let mut best = Vec::new();
        for _ in 0..repeats {
            let t = Instant::now();
            f(&mut out);
            best.push(t.elapsed().as_secs_f64());
        }
        best.sort_by(f64::total_cmp);
        let flagged = out.iter().skip(w).filter(|z| z.abs() > k).count();
        (best[repeats / 2], flagged)
    };
    let (z_secs, z_flagged) = time(&mut |out| {
        let mut d = RollingZScore::new(w)
            .and_then(|d| d.min_periods(w))
            .expect("valid settings");
        d.update_batch(&xs, out).expect("same length");
    });
    let (e_secs, e_flagged) = time(&mut |out| {
        let mut d = Ewma::new(alpha).expect("valid alpha");
        d.update_batch(&xs, out).expect("same length");
    });
    let n = xs.len() as f64;
    println!(
        "{{\"script\":\"prescient_streaming_speed\",\"n\":{},\"zscore\":{{\"seconds\":{z_secs:.6},\"mpoints_per_s\":{:.1},\"flagged\":{z_flagged}}},\"ewma\":{{\"seconds\":{e_secs:.6},\"mpoints_per_s\":{:.1},\"flagged\":{e_flagged}}}}}",
        xs.len(),
        n / z_secs / 1e6,
        n / e_secs / 1e6
    );
    Ok(())
}
