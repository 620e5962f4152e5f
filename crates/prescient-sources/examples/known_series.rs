//! Writes the known data of the server tests as OpenMetrics text on standard output, for
//! `promtool tsdb create-blocks-from openmetrics` (see `tests/servers/prometheus.sh`).

use std::io::{self, BufWriter, Write};

#[path = "../tests/common/known_series.rs"]
mod known_series;

use known_series::{METRIC, POINTS, SERIES, START_SECS, STEP_SECS, value};

fn main() -> io::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    writeln!(
        out,
        "# HELP {METRIC} Known series of prescient's server tests."
    )?;
    writeln!(out, "# TYPE {METRIC} gauge")?;
    for i in 0..SERIES {
        for k in 0..POINTS {
            if let Some(v) = value(i, k) {
                let t = START_SECS + k * STEP_SECS;
                writeln!(out, "{METRIC}{{series=\"{i}\"}} {v} {t}")?;
            }
        }
    }
    writeln!(out, "# EOF")?;
    out.flush()
}
