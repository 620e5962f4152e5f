//! The InfluxDB 1.x source and writer against a real server (ignored unless asked for: it needs
//! one, which `.ci/run` starts with `tests/servers/influxdb.sh`), and against fake servers on
//! loopback that fail in every way a server can (these always run). All of it needs the feature
//! `http`; without it, one ignored test says so.

#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.
#![allow(clippy::print_stderr)] // A database the test could not drop is worth a line.

/// Built without the feature `http`: a plain `cargo test` still lists what it skipped, and
/// asking for the ignored tests fails instead of passing with nothing run.
#[cfg(not(feature = "http"))]
#[test]
#[ignore = "needs the feature http and an InfluxDB 1.x server at $PRESCIENT_INFLUXDB_URL (default http://127.0.0.1:8086): .ci/run starts one"]
fn influxdb_round_trip() {
    panic!(
        "built without the feature http: cargo test -p prescient-sources --features http -- --ignored"
    );
}

#[cfg(feature = "http")]
mod with_http {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Duration;

    use prescient_core::Timestamp;
    use prescient_sources::http::{
        Aggregation, Blocking, InfluxColumn, InfluxSource, InfluxWriter,
    };
    use prescient_sources::{Error, Grid, Point, Source};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn server_url() -> String {
        std::env::var("PRESCIENT_INFLUXDB_URL").unwrap_or_else(|_| "http://127.0.0.1:8086".into())
    }

    /// A seeded xorshift stream of quarters below `scale` (exact in binary, so through JSON both
    /// ways and in InfluxDB's sums).
    struct Values(u64);

    impl Values {
        fn next(&mut self, scale: u64) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % (scale * 4)) as f64 / 4.0
        }
    }

    const STEP_MS: i64 = 15_000;
    /// Two days at 15 s.
    const N: usize = 2 * 24 * 240;
    /// The `api` series has no points for these indices (10 minutes).
    const GAP: std::ops::Range<usize> = 7_000..7_040;

    /// Drops the test database however the test ends.
    struct Database {
        url: String,
        name: String,
    }

    impl Drop for Database {
        fn drop(&mut self) {
            // A writer of its own: the test's client has connections on the test's runtime, which
            // nothing drives any more.
            let writer = InfluxWriter::new(&self.url, &self.name).unwrap();
            if let Err(e) = runtime().block_on(writer.drop_database()) {
                eprintln!("could not drop the test database {}: {e}", self.name);
            }
        }
    }

    #[test]
    #[ignore = "needs an InfluxDB 1.x server at $PRESCIENT_INFLUXDB_URL (default http://127.0.0.1:8086): .ci/run starts one"]
    fn influxdb_round_trip() {
        let url = server_url();
        let rt = runtime();
        let name = format!("prescient_test_{}", std::process::id());
        let writer = InfluxWriter::new(&url, &name).unwrap();
        rt.block_on(writer.create_database()).unwrap_or_else(|e| {
            panic!(
                "no InfluxDB 1.x server at {url} ({e}): start one with tests/servers/influxdb.sh"
            )
        });
        let _cleanup = Database {
            url: url.clone(),
            name: name.clone(),
        };

        // Two series of the measurement `http` told apart by the tag `service`: `api` with a gap,
        // `web` without.
        let t0: i64 = 1_700_006_400_000; // a multiple of the step
        let t = |i: usize| Timestamp::from_millis(t0 + i as i64 * STEP_MS);
        let mut values = Values(0x1f1u64 << 17 | 0x5eed);
        let api: Vec<f64> = (0..N).map(|_| values.next(1_000)).collect();
        let web: Vec<f64> = (0..N).map(|_| values.next(3_000)).collect();
        let api_points: Vec<Point> = (0..N)
            .filter(|i| !GAP.contains(i))
            .map(|i| Point::new(t(i), api[i]))
            .collect();
        let web_points: Vec<Point> = (0..N).map(|i| Point::new(t(i), web[i])).collect();
        rt.block_on(writer.write_points("http", &[("service", "api")], "requests", &api_points))
            .unwrap();
        rt.block_on(writer.write_points("http", &[("service", "web")], "requests", &web_points))
            .unwrap();

        let columns = vec![
            InfluxColumn::field("http", "requests")
                .tag("service", "api")
                .named("api"),
            InfluxColumn::field("http", "requests")
                .aggregation(Aggregation::Sum)
                .named("total"),
            InfluxColumn::query(
                "web",
                r#"SELECT max("requests") FROM "http" WHERE "service" = 'web' AND $timeFilter GROUP BY time($interval) fill(none)"#,
            )
            .unwrap(),
        ];
        let grid = Grid::new(15.0, 0.0).unwrap();
        let source = InfluxSource::new(&url, &name, columns.clone(), grid).unwrap();
        let mut source = Blocking::new(source).unwrap();
        assert_eq!(source.columns(), ["api", "total", "web"]);

        // The whole two days: 11 520 steps, three requests of at most 5 000.
        let samples = source.backfill(t(0), t(N - 1)).unwrap();
        assert_eq!(samples.len(), N);
        for (i, s) in samples.iter().enumerate() {
            assert_eq!(s.ts, t(i));
            let [a, total, w] = s.values[..] else {
                panic!("three values")
            };
            if GAP.contains(&i) {
                assert!(a.is_nan(), "{i}: {a} in the gap");
                assert_eq!(total, web[i], "{i}");
            } else {
                assert_eq!(a, api[i], "{i}");
                assert_eq!(total, api[i] + web[i], "{i}");
            }
            assert_eq!(w, web[i], "{i}");
        }

        // A range off the grid gives the grid times inside it.
        let part = source
            .backfill(t(10).add_secs(1.0), t(20).add_secs(-1.0))
            .unwrap();
        assert_eq!(part.len(), 9);
        assert_eq!(part[0].ts, t(11));
        assert_eq!(part[0].values[0], api[11]);

        // A poll takes the step at `now`; in the gap the api column is missing.
        let polled = source.poll(t(100)).unwrap();
        assert_eq!(polled.values, [api[100], api[100] + web[100], web[100]]);
        let in_gap = source.poll(t(GAP.start + 5)).unwrap();
        assert!(in_gap.values[0].is_nan());
        assert_eq!(in_gap.values[2], web[GAP.start + 5]);

        // With a minute of lookback the first four steps of the gap keep the last value.
        let lookback = Grid::new(15.0, 60.0).unwrap();
        let mut filled =
            Blocking::new(InfluxSource::new(&url, &name, columns, lookback).unwrap()).unwrap();
        let around = filled.backfill(t(GAP.start - 1), t(GAP.start + 5)).unwrap();
        let got: Vec<f64> = around.iter().map(|s| s.values[0]).collect();
        let last = api[GAP.start - 1];
        assert_eq!(got[..5], [last; 5]);
        assert!(got[5].is_nan() && got[6].is_nan());

        // A range without data, a bad statement and a missing database are the server's errors.
        let err = source.backfill(t(N + 1000), t(N + 1100)).unwrap_err();
        assert!(
            matches!(&err, Error::Backend { reason, .. } if reason.contains("no data")),
            "{err}"
        );
        let bad = InfluxColumn::query("bad", "SELEC nothing WHERE $timeFilter").unwrap();
        let mut bad =
            Blocking::new(InfluxSource::new(&url, &name, vec![bad], grid).unwrap()).unwrap();
        let err = bad.poll(t(0)).unwrap_err();
        assert!(
            matches!(&err, Error::Backend { reason, .. } if reason.contains("parsing")),
            "{err}"
        );
        let missing = InfluxColumn::field("http", "requests");
        let mut missing = Blocking::new(
            InfluxSource::new(&url, format!("{name}_missing"), vec![missing], grid).unwrap(),
        )
        .unwrap();
        let err = missing.poll(t(0)).unwrap_err();
        assert!(
            matches!(&err, Error::Backend { reason, .. } if reason.contains("database not found")),
            "{err}"
        );
        let err = rt
            .block_on(writer.write("http requests=oops 1\n".into()))
            .unwrap_err();
        assert!(matches!(err, Error::Backend { .. }), "{err}");
    }

    /// Serves each of `responses` to one connection on loopback (`None`: read the request and
    /// never answer, until the client hangs up), and returns the server's URL.
    fn fake_server(responses: Vec<Option<Vec<u8>>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for response in responses {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                match response {
                    Some(bytes) => {
                        let _ = stream.write_all(&bytes);
                    }
                    // Hold the connection until the client gives up.
                    None => while matches!(stream.read(&mut buf), Ok(n) if n > 0) {},
                }
            }
        });
        url
    }

    fn http(status: &str, body: &str) -> Option<Vec<u8>> {
        Some(
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        )
    }

    fn source(url: &str) -> Blocking<InfluxSource> {
        let grid = Grid::new(15.0, 60.0).unwrap();
        let columns = vec![InfluxColumn::field("m", "f")];
        let source = InfluxSource::new(url, "db", columns, grid)
            .unwrap()
            .timeout(Duration::from_millis(300))
            .unwrap();
        Blocking::new(source).unwrap()
    }

    const NOW: Timestamp = Timestamp::from_millis(1_700_000_010_000);

    #[test]
    fn a_server_error_is_an_http_error() {
        let url = fake_server(vec![http("500 Internal Server Error", "overloaded")]);
        let err = source(&url).poll(NOW).unwrap_err();
        assert!(
            matches!(&err, Error::Http { status: 500, body, .. } if body == "overloaded"),
            "{err}"
        );
    }

    #[test]
    fn a_refused_connection_is_unreachable() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // The listener is dropped: nothing listens on the port any more.
        let err = source(&format!("http://127.0.0.1:{port}"))
            .poll(NOW)
            .unwrap_err();
        assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    }

    #[test]
    fn a_server_that_never_answers_is_a_timeout() {
        let url = fake_server(vec![None]);
        let err = source(&url).poll(NOW).unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
    }

    #[test]
    fn a_bad_query_is_the_backends_error() {
        let url = fake_server(vec![
            http(
                "400 Bad Request",
                r#"{"error":"error parsing query: found SELEC"}"#,
            ),
            http(
                "200 OK",
                r#"{"results":[{"statement_id":0,"error":"database not found: db"}]}"#,
            ),
        ]);
        let mut s = source(&url);
        for needle in ["error parsing query", "database not found"] {
            let err = s.poll(NOW).unwrap_err();
            assert!(
                matches!(&err, Error::Backend { backend: "influxdb", reason, .. } if reason.contains(needle)),
                "{err}"
            );
        }
    }

    #[test]
    fn cut_and_empty_answers_are_errors() {
        let body = r#"{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","mean"],"values":[[1700000010000,1]]}]}]}"#;
        let cut = &body[..body.len() / 2];
        // Announcing the whole body and sending half of it.
        let short = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{cut}",
            body.len()
        );
        let url = fake_server(vec![
            http("200 OK", cut),
            Some(short.into_bytes()),
            http("200 OK", ""),
            http("200 OK", r#"{"results":[]}"#),
            http("200 OK", r#"{"results":[{"statement_id":0}]}"#),
            http("200 OK", body),
        ]);
        let mut s = source(&url);
        let err = s.poll(NOW).unwrap_err();
        assert!(
            matches!(&err, Error::Parse { reason, .. } if reason.contains("cut short")),
            "{err}"
        );
        let err = s.poll(NOW).unwrap_err();
        assert!(
            matches!(err, Error::Unreachable { .. } | Error::Parse { .. }),
            "{err}"
        );
        let err = s.poll(NOW).unwrap_err();
        assert!(
            matches!(&err, Error::Parse { reason, .. } if reason.contains("empty body")),
            "{err}"
        );
        let err = s.poll(NOW).unwrap_err();
        assert!(
            matches!(&err, Error::Backend { reason, .. } if reason.contains("0 results")),
            "{err}"
        );
        // No series within the lookback: the value is missing, not an error.
        assert!(s.poll(NOW).unwrap().values[0].is_nan());
        assert_eq!(s.poll(NOW).unwrap().values, [1.0]);
    }
}
