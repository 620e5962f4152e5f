//! `line_protocol_parse`: InfluxDB line protocol read into the columns of a `Recorded` source,
//! by our hand-written parser and by the `influxdb-line-protocol` crate (InfluxDB IOx's nom
//! parser), on the same seeded Telegraf-like text.
//!
//! The text: 100 000 lines of five measurements (`cpu`, `mem`, `disk`, `net`, `http`) over 16
//! hosts in 4 regions, 2 to 4 fields each of every numeric type (floats, `i`, `u`, booleans),
//! a quoted string field with an escaped quote on the `http` lines, an escaped space in a tag
//! value on the `disk` lines, nanosecond timestamps 15 s apart; built outside the timed loop.
//! Each iteration parses all of it, selects four columns (one summed over every host, three
//! with tag matchers) and collects their points into a `Recorded` source, which is what a host
//! reading a file does. Throughput is in lines. The target: at least 1 M lines/s on one
//! core.
//!
//! - `hand_written/str`: `LineProtocol::read_str`.
//! - `hand_written/stream`: `LineProtocol::read` from a 64 KiB `BufReader` (the chunked path).
//! - `influxdb_line_protocol/str`: `influxdb_line_protocol::parse_lines`, then the same
//!   selection and collection (last write per series, series summed) written on its output.
//!
//! Run with `taskset -c 1 cargo bench -p prescient-benches --bench line_protocol_parse`.

use std::collections::HashMap;
use std::hint::black_box;

use prescient_benches::Xorshift;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prescient::Timestamp;
use prescient_sources::line_protocol::{Column, LineProtocol};
use prescient_sources::{Grid, Point, Recorded};

const LINES: usize = 100_000;
const HOSTS: usize = 16;
const REGIONS: [&str; 4] = ["eu-west", "eu-central", "us-east", "ap-south"];

/// `LINES` lines of Telegraf-like line protocol.
fn text() -> String {
    let mut rng = Xorshift(0x5eed_1e55_0b57_ac1e);
    let mut out = String::with_capacity(LINES * 100);
    let t0: i64 = 1_700_000_000_000_000_000;
    for k in 0..LINES {
        let host = k % HOSTS;
        let region = REGIONS[host % REGIONS.len()];
        let ts = t0 + (k / (HOSTS * 5)) as i64 * 15_000_000_000;
        let line = match (k / HOSTS) % 5 {
            0 => format!(
                "cpu,cpu=cpu-total,host=server{host:02},region={region} usage_user={:.2},usage_system={:.2},usage_idle={:.2},requests={}i {ts}\n",
                rng.uniform(0.0, 80.0),
                rng.uniform(0.0, 20.0),
                rng.uniform(0.0, 100.0),
                rng.next_u64() % 5000,
            ),
            1 => format!(
                "mem,host=server{host:02},region={region} used={}i,available={}i,used_percent={} {ts}\n",
                rng.next_u64() % (1 << 34),
                rng.next_u64() % (1 << 34),
                rng.uniform(0.0, 100.0),
            ),
            2 => format!(
                "disk,device=nvme0n1,host=server{host:02},path=/var/lib/my\\ data,region={region} free={}u,used_percent={:.3} {ts}\n",
                rng.next_u64() % (1 << 40),
                rng.uniform(0.0, 100.0),
            ),
            3 => format!(
                "net,host=server{host:02},interface=eth0,region={region} bytes_recv={}i,bytes_sent={}i,err_in=0i,drop_in={}i {ts}\n",
                rng.next_u64() % (1 << 40),
                rng.next_u64() % (1 << 40),
                rng.next_u64() % 10,
            ),
            _ => format!(
                "http,host=server{host:02},method=GET,region={region},status=2xx requests={}i,latency_ms={:.1},healthy={},route=\"/api/v1/\\\"items\\\"\" {ts}\n",
                rng.next_u64() % 2000,
                rng.uniform(1.0, 400.0),
                if rng.next_u64() % 50 == 0 {
                    "false"
                } else {
                    "true"
                },
            ),
        };
        out.push_str(&line);
    }
    out
}

fn columns() -> Vec<Column> {
    vec![
        Column::new("http", "requests"),
        Column::new("cpu", "usage_user").tag("host", "server07"),
        Column::new("mem", "used_percent").tag("region", "eu-west"),
        Column::new("disk", "free")
            .tag("host", "server03")
            .tag("path", "/var/lib/my data"),
    ]
}

/// The same reading on the `influxdb-line-protocol` crate's parse.
fn with_crate(text: &str, columns: &[Column], grid: Grid) -> Recorded {
    use influxdb_line_protocol::FieldValue;
    // Per column, per series (its sorted tags) in order of appearance: the points. The order
    // matters: the series are summed, and float sums depend on it.
    let mut index: Vec<HashMap<String, usize>> = vec![HashMap::new(); columns.len()];
    let mut series: Vec<Vec<Vec<Point>>> = vec![Vec::new(); columns.len()];
    let mut key = String::new();
    for line in influxdb_line_protocol::parse_lines(text) {
        let line = line.expect("the bench text is valid");
        for (c, column) in columns.iter().enumerate() {
            if line.series.measurement != column.measurement() {
                continue;
            }
            let value = match line.field_value(column.field()) {
                Some(FieldValue::F64(v)) => *v,
                Some(FieldValue::I64(v)) => *v as f64,
                Some(FieldValue::U64(v)) => *v as f64,
                Some(FieldValue::Boolean(b)) => f64::from(u8::from(*b)),
                _ => continue,
            };
            if !column
                .tags()
                .iter()
                .all(|(k, v)| line.tag_value(k).is_some_and(|t| t == v))
            {
                continue;
            }
            // The series key, written into one buffer: no allocation per line but the sort's.
            let mut tags: Vec<(&str, &str)> = line
                .series
                .tag_set
                .iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            tags.sort_unstable();
            key.clear();
            for (k, v) in &tags {
                key.push_str(k);
                key.push('=');
                key.push_str(v);
                key.push(',');
            }
            let ts =
                Timestamp::from_millis(line.timestamp.expect("timestamped").div_euclid(1_000_000));
            let s = match index[c].get(key.as_str()) {
                Some(&s) => s,
                None => {
                    series[c].push(Vec::new());
                    index[c].insert(key.clone(), series[c].len() - 1);
                    series[c].len() - 1
                }
            };
            series[c][s].push(Point::new(ts, value));
        }
    }
    let merged = series
        .into_iter()
        .map(|by_series| {
            let mut sum: Vec<Point> = Vec::new();
            for mut points in by_series {
                points.sort_by_key(|p| p.ts);
                points.dedup_by(|later, earlier| {
                    let same = later.ts == earlier.ts;
                    if same {
                        earlier.value = later.value;
                    }
                    same
                });
                sum.extend(points);
            }
            sum.sort_by_key(|p| p.ts);
            sum.dedup_by(|later, earlier| {
                let same = later.ts == earlier.ts;
                if same {
                    earlier.value += later.value;
                }
                same
            });
            sum
        })
        .collect();
    let names = columns.iter().map(|c| c.name().to_owned()).collect();
    Recorded::new(names, merged, grid).expect("as many series as columns")
}

fn bench(c: &mut Criterion) {
    let text = text();
    let grid = Grid::new(15.0, 300.0).expect("a valid grid");
    let lp = LineProtocol::new(columns());
    // Both readings agree before anything is timed.
    let ours = lp.read_str(&text, grid).expect("the bench text is valid");
    let theirs = with_crate(&text, lp.columns(), grid);
    for i in 0..4 {
        assert_eq!(
            ours.series(i),
            theirs.series(i),
            "the two parsers disagree on column {i}"
        );
    }
    assert_eq!(ours, theirs, "the two parsers disagree");
    assert!(
        (0..4).all(|i| !ours.series(i).is_empty()),
        "every column has points"
    );

    let mut group = c.benchmark_group("line_protocol_parse");
    group.throughput(Throughput::Elements(LINES as u64));
    group.bench_function("hand_written/str", |b| {
        b.iter(|| lp.read_str(black_box(&text), grid).expect("valid"))
    });
    group.bench_function("hand_written/stream", |b| {
        b.iter(|| {
            let reader = std::io::BufReader::with_capacity(1 << 16, black_box(text.as_bytes()));
            lp.read(reader, "bench", grid).expect("valid")
        })
    });
    group.bench_function("influxdb_line_protocol/str", |b| {
        b.iter(|| with_crate(black_box(&text), lp.columns(), grid))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
