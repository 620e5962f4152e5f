#![allow(clippy::unwrap_used)]

use super::*;

fn prom(text: &str) -> Vec<Entry<'_>> {
    Parser::new(text, Format::Prometheus)
        .collect::<Result<Vec<_>>>()
        .unwrap()
}

fn om(text: &str) -> Vec<Entry<'_>> {
    Parser::new(text, Format::OpenMetrics)
        .collect::<Result<Vec<_>>>()
        .unwrap()
}

fn one(text: &str) -> SampleLine<'_> {
    match prom(text).pop() {
        Some(Entry::Sample(s)) => s,
        other => panic!("not a sample: {other:?}"),
    }
}

/// The error of the first bad line, and its line number.
fn error(text: &str, format: Format) -> (usize, String) {
    match Parser::new(text, format).find_map(|e| e.err()) {
        Some(Error::Parse { line, reason, what }) => {
            assert_eq!(what, "exposition text");
            (line, reason)
        }
        other => panic!("no parse error in {text:?}: {other:?}"),
    }
}

fn labels<'a>(s: &SampleLine<'a>) -> Vec<(&'a str, String)> {
    s.labels
        .iter()
        .map(|l| (l.name, l.value().into_owned()))
        .collect()
}

#[test]
fn metadata_lines() {
    let page = "# HELP http_requests_total The total number of requests.\n\
                # HELP esc A \\\\ backslash\\nand a newline.\n\
                # HELP empty\n\
                # TYPE http_requests_total counter\n\
                # TYPE a gauge\n# TYPE b histogram\n# TYPE c summary\n# TYPE d untyped\n\
                # TYPE e unknown\n# TYPE f gaugehistogram\n# TYPE g info\n# TYPE h stateset\n\
                # UNIT rpc_seconds seconds\n\
                # just a comment\n#HELP not metadata\n# HELPER neither\n";
    let entries = prom(page);
    assert_eq!(
        entries[0],
        Entry::Help {
            name: "http_requests_total",
            text: Cow::Borrowed("The total number of requests.")
        }
    );
    assert!(
        matches!(&entries[1], Entry::Help { text: Cow::Owned(t), .. } if t == "A \\ backslash\nand a newline.")
    );
    assert!(matches!(&entries[2], Entry::Help { name: "empty", text } if text.is_empty()));
    let kinds: Vec<MetricType> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Type { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    use MetricType::*;
    assert_eq!(
        kinds,
        [
            Counter,
            Gauge,
            Histogram,
            Summary,
            Unknown,
            Unknown,
            GaugeHistogram,
            Info,
            StateSet
        ]
    );
    assert_eq!(
        entries.last(),
        Some(&Entry::Unit {
            name: "rpc_seconds",
            unit: "seconds"
        })
    );
    assert_eq!(entries.len(), 13);
    assert_eq!(GaugeHistogram.to_string(), "gaugehistogram");
}

#[test]
fn sample_lines() {
    let s = one("up 1");
    assert_eq!((s.name, s.value, s.timestamp), ("up", 1.0, None));
    assert!(s.labels.is_empty() && s.labels.raw().is_empty());
    let s = one("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 1.5e+06 1700000000123");
    assert_eq!(s.name, "node_cpu_seconds_total");
    assert_eq!(labels(&s), [("cpu", "0".into()), ("mode", "idle".into())]);
    assert_eq!(s.value, 1.5e6);
    assert_eq!(s.timestamp, Some(Timestamp::from_millis(1_700_000_000_123)));
    // Colons, underscores, whitespace around tokens, a trailing comma, empty braces, negative
    // timestamps.
    let s = one("  job:rate5m:sum { a = \"x\" , _b=\"\", } \t -3 -5");
    assert_eq!(s.name, "job:rate5m:sum");
    assert_eq!(labels(&s), [("a", "x".into()), ("_b", String::new())]);
    assert_eq!(
        (s.value, s.timestamp),
        (-3.0, Some(Timestamp::from_millis(-5)))
    );
    let s = one("x{} 2");
    assert!(s.labels.is_empty());
    assert_eq!(s.value, 2.0);
    let s = one("x{a=\"b\"}7");
    assert_eq!(s.value, 7.0);
}

#[test]
fn label_values_are_unescaped_lazily() {
    let s = one(r#"x{path="C:\\dir",q="say \"hi\"",nl="a\nb",tab="a\tb",plain="é ü {},=#"} 1"#);
    let got = labels(&s);
    assert_eq!(got[0].1, r"C:\dir");
    assert_eq!(got[1].1, "say \"hi\"");
    assert_eq!(got[2].1, "a\nb");
    // An unknown escape is kept as written, as Prometheus keeps it.
    assert_eq!(got[3].1, r"a\tb");
    assert_eq!(got[4].1, "é ü {},=#");
    let plain = s.labels.iter().nth(4).unwrap();
    assert!(matches!(plain.value(), Cow::Borrowed(_)));
    assert!(plain.value_is("é ü {},=#"));
    assert!(s.labels.iter().next().unwrap().value_is(r"C:\dir"));
    assert!(s.labels.matches("q", "say \"hi\""));
    assert!(s.labels.matches("absent", ""));
    assert!(!s.labels.matches("absent", "x"));
    assert_eq!(s.labels.into_iter().count(), 5);
}

#[test]
fn values() {
    let cases = [
        ("0", 0.0),
        ("-0", -0.0),
        ("42", 42.0),
        ("+7", 7.0),
        ("3.25", 3.25),
        ("0.1", 0.1),
        (".5", 0.5),
        ("5.", 5.0),
        ("-1.5e-3", -1.5e-3),
        ("1E10", 1e10),
        ("123456789012345", 123456789012345.0),
        ("1234567890123456789", 1234567890123456789.0),
        ("0.30000000000000004", 0.30000000000000004),
        ("1.7976931348623157e308", f64::MAX),
        ("5e-324", 5e-324),
        ("+Inf", f64::INFINITY),
        ("Inf", f64::INFINITY),
        ("-Inf", f64::NEG_INFINITY),
        ("inf", f64::INFINITY),
    ];
    for (text, want) in cases {
        let got = one(&format!("x {text}")).value;
        assert_eq!(got.to_bits(), want.to_bits(), "{text}: {got}");
    }
    assert!(one("x NaN").value.is_nan());
    // Every value the fast path takes agrees with the full parser.
    for text in [
        "9.99999999999999",
        "0.000000000000001",
        "999999999999999",
        "12.5",
        "-0.0",
    ] {
        let want: f64 = text.parse().unwrap();
        assert_eq!(
            parse_value(text).unwrap().to_bits(),
            want.to_bits(),
            "{text}"
        );
    }
    for bad in [
        "",
        "-",
        "+",
        ".",
        "1..2",
        "0x10",
        "1,5",
        "one",
        "1e",
        "--1",
        "Infinity1",
    ] {
        assert_eq!(parse_value(bad), None, "{bad:?}");
    }
}

#[test]
fn blank_lines_trailing_whitespace_and_crlf() {
    let page = "\r\n# TYPE a gauge \r\na 1 \t\r\n\n   \n\ta{b=\"c\"} 2\r\nb 3";
    let entries = prom(page);
    assert_eq!(entries.len(), 4);
    assert!(matches!(
        entries[0],
        Entry::Type {
            name: "a",
            kind: MetricType::Gauge
        }
    ));
    let values: Vec<f64> = samples(page, Format::Prometheus)
        .unwrap()
        .iter()
        .map(|s| s.value)
        .collect();
    assert_eq!(values, [1.0, 2.0, 3.0]);
    assert!(prom("").is_empty());
    assert!(prom("\n\n").is_empty());
}

#[test]
fn openmetrics_timestamps_exemplars_and_eof() {
    let page = "# TYPE rpc_seconds histogram\n\
                # UNIT rpc_seconds seconds\n\
                rpc_seconds_bucket{le=\"0.1\"} 8 # {trace_id=\"abc\"} 0.05 1520879607.789\n\
                rpc_seconds_bucket{le=\"+Inf\"} 10 1520879607.789 # {trace_id=\"d\"} 2\n\
                rpc_seconds_count 10 1520879607\n\
                up 1 -0.5\n\
                late 1 1.5e3\n\
                # EOF\n";
    let samples: Vec<SampleLine<'_>> = om(page)
        .into_iter()
        .filter_map(|e| match e {
            Entry::Sample(s) => Some(s),
            _ => None,
        })
        .collect();
    let ts: Vec<Option<i64>> = samples
        .iter()
        .map(|s| s.timestamp.map(|t| t.as_millis()))
        .collect();
    assert_eq!(
        ts,
        [
            None,
            Some(1_520_879_607_789),
            Some(1_520_879_607_000),
            Some(-500),
            Some(1_500_000)
        ]
    );
    assert_eq!(samples[0].value, 8.0);
    assert_eq!(Format::sniff(page), Format::OpenMetrics);
    // Fractions beyond the millisecond are rounded to the nearest.
    assert_eq!(parse_secs_as_millis("1.0004"), Some(1000));
    assert_eq!(parse_secs_as_millis("1.0005"), Some(1001));
    assert_eq!(parse_secs_as_millis("-1.0005"), Some(-1001));
    assert_eq!(parse_secs_as_millis(".25"), Some(250));
    assert_eq!(parse_secs_as_millis("1e300"), None);
    assert_eq!(parse_secs_as_millis("."), None);
    // Prometheus's format: an exemplar or a float timestamp is an error, `# EOF` a comment.
    assert!(
        error("x 1 # {a=\"b\"} 1\n", Format::Prometheus)
            .1
            .contains("unexpected text")
    );
    assert!(
        error("x 1 1.5\n", Format::Prometheus)
            .1
            .contains("integer milliseconds")
    );
    assert_eq!(prom("x 1\n# EOF\n").len(), 1);
}

#[test]
fn openmetrics_needs_its_eof_and_nothing_after() {
    let (line, reason) = error("x 1\ny 2\n", Format::OpenMetrics);
    assert_eq!(line, 2);
    assert!(reason.contains("# EOF"), "{reason}");
    let (line, reason) = error("x 1\n# EOF\n\ny 2\n", Format::OpenMetrics);
    assert_eq!(line, 4);
    assert!(reason.contains("after `# EOF`"), "{reason}");
    // Blank lines after it are fine; so is a missing newline.
    assert_eq!(om("x 1\n# EOF\n\n").len(), 1);
    assert_eq!(om("x 1\n# EOF").len(), 1);
    let (_, reason) = error("x 1 # trace\n# EOF\n", Format::OpenMetrics);
    assert!(reason.contains("exemplar"), "{reason}");
}

#[test]
fn formats_from_content_types_and_text() {
    assert_eq!(
        Format::from_content_type("Application/OpenMetrics-Text; version=1.0.0"),
        Format::OpenMetrics
    );
    assert_eq!(Format::from_content_type(""), Format::Prometheus);
    assert_eq!(Format::from_content_type("é"), Format::Prometheus);
    assert_eq!(Format::sniff("# EOF"), Format::OpenMetrics);
    assert_eq!(Format::sniff("x 1\n# EOF \r\n\n"), Format::OpenMetrics);
    assert_eq!(Format::sniff("x 1 # EOF\n"), Format::Prometheus);
    assert_eq!(Format::sniff(""), Format::Prometheus);
}

#[test]
fn malformed_lines_are_errors_with_their_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("up 1\n1up 2\n", 2, "expected a metric name"),
        ("{\"quoted.name\"} 1\n", 1, "quoted names are not supported"),
        ("up\n", 1, "a sample needs a value"),
        ("up \n", 1, "a sample needs a value"),
        ("up{} \n", 1, "a sample needs a value"),
        ("a 1\nb 2\nup one\n", 3, "invalid value `one`"),
        ("up 1 2 3\n", 1, "unexpected text"),
        ("up 1 12.5\n", 1, "invalid timestamp `12.5`"),
        ("up 1 99999999999999999999\n", 1, "invalid timestamp"),
        ("up{a=\"b\"\n", 1, "expected `,` or `}`"),
        ("up{a=\"b\n", 1, "unterminated value of label `a`"),
        ("up{a=\"b\\\"} 1\n", 1, "unterminated"),
        ("up{a=b} 1\n", 1, "expected a quoted value for label `a`"),
        ("up{a \"b\"} 1\n", 1, "expected `=` after label `a`"),
        ("up{1a=\"b\"} 1\n", 1, "expected a label name"),
        ("up{a=\"b\" c=\"d\"} 1\n", 1, "expected `,` or `}`"),
        ("up{,} 1\n", 1, "expected a label name"),
        ("up{a=\"b\",,} 1\n", 1, "expected a label name"),
        ("up{\n", 1, "no closing"),
        ("up-down 1\n", 1, "expected a space or `{`"),
        ("ünits 1\n", 1, "expected a metric name"),
        (
            "# TYPE x histogramm\n",
            1,
            "unknown metric type `histogramm`",
        ),
        ("# TYPE x\n", 1, "unknown metric type"),
        (
            "# TYPE 1x gauge\n",
            1,
            "expected a metric name after `# TYPE`",
        ),
        ("# HELP\n", 1, "expected a metric name after `# HELP`"),
        (
            "# UNIT x-y s\n",
            1,
            "expected a space after the metric name",
        ),
        ("x 1é\n", 1, "invalid value `1é`"),
    ];
    for &(text, line, what) in cases {
        let (got_line, reason) = error(text, Format::Prometheus);
        assert_eq!(got_line, line, "{text:?}: {reason}");
        assert!(reason.contains(what), "{text:?}: {reason:?} lacks {what:?}");
    }
    // The parser stops at the first error.
    let mut p = Parser::new("x 1\ny ?\nz 3\n", Format::Prometheus);
    assert!(p.next().unwrap().is_ok());
    assert!(p.next().unwrap().is_err());
    assert_eq!(p.line(), 2);
    assert!(p.next().is_none());
    // Errors name the text, and quote long lines shortened.
    let long = format!("x{{a=\"{}", "é".repeat(500));
    let err = Parser::new(&long, Format::Prometheus)
        .named("http://h/metrics")
        .next()
        .unwrap()
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("http://h/metrics, line 1: unterminated"),
        "{msg}"
    );
    assert!(msg.chars().count() < 200, "{msg}");
    assert!(samples("a 1\nb\n", Format::Prometheus).is_err());
}

#[test]
fn written_samples_read_back() {
    let mut page = String::new();
    let labels = [("a", "x"), ("b", "q\"\\\n")];
    for (i, v) in [
        0.1,
        -0.0,
        1e300,
        5e-324,
        f64::NAN,
        f64::NEG_INFINITY,
        123456789.0,
    ]
    .into_iter()
    .enumerate()
    {
        let ts = (i % 2 == 0).then(|| Timestamp::from_millis(i as i64 * 1_234_567 - 2_000));
        write_sample(&mut page, "m", &labels, v, ts, Format::OpenMetrics).unwrap();
    }
    page.push_str("# EOF\n");
    let back = samples(&page, Format::sniff(&page)).unwrap();
    assert_eq!(back.len(), 7);
    assert_eq!(
        labels_of(&back[1]),
        [("a", "x".into()), ("b", "q\"\\\n".into())]
    );
    assert_eq!(back[1].value.to_bits(), (-0.0f64).to_bits());
    assert_eq!(back[2].value, 1e300);
    assert_eq!(back[3].value, 5e-324);
    assert!(back[4].value.is_nan());
    assert_eq!(
        back[6].timestamp,
        Some(Timestamp::from_millis(6 * 1_234_567 - 2_000))
    );
    assert_eq!(back[0].timestamp, Some(Timestamp::from_millis(-2_000)));
    let mut v = String::new();
    write_value(&mut v, f64::INFINITY).unwrap();
    assert_eq!(v, "+Inf");
}

fn labels_of<'a>(s: &SampleLine<'a>) -> Vec<(&'a str, String)> {
    labels(s)
}

mod proptests {
    #![allow(clippy::unwrap_used)]
    use super::super::*;
    use proptest::prelude::*;

    fn metric_name() -> impl Strategy<Value = String> {
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,20}"
    }

    fn label_name() -> impl Strategy<Value = String> {
        "[a-zA-Z_][a-zA-Z0-9_]{0,10}"
    }

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            (-1e6f64..1e6).prop_map(|v| (v * 1000.0).round() / 1000.0),
            any::<i32>().prop_map(f64::from),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
        ]
    }

    type Line = (String, Vec<(String, String)>, f64, Option<i64>);

    fn line() -> impl Strategy<Value = Line> {
        (
            metric_name(),
            proptest::collection::vec((label_name(), "(\\PC|[\\\\\"\n{},= #])*"), 0..4),
            value(),
            proptest::option::of(-1_000_000_000_000_000i64..1_000_000_000_000_000),
        )
    }

    proptest! {
        #[test]
        fn prop_arbitrary_text_never_panics(text in "(\\PC|[\n\r\t\\\\\"{},=# ])*") {
            for format in [Format::Prometheus, Format::OpenMetrics] {
                for entry in Parser::new(&text, format) {
                    if let Ok(Entry::Sample(s)) = entry {
                        for l in s.labels {
                            let _ = l.value();
                        }
                    }
                }
            }
            let _ = Selector::parse(&text);
        }

        #[test]
        fn prop_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = String::from_utf8_lossy(&bytes);
            for format in [Format::Prometheus, Format::OpenMetrics] {
                let _ = Parser::new(&text, format).count();
            }
        }

        #[test]
        fn prop_written_samples_read_back_exactly(
            lines in proptest::collection::vec(line(), 0..20),
            open_metrics in any::<bool>(),
        ) {
            let format = if open_metrics { Format::OpenMetrics } else { Format::Prometheus };
            let mut page = String::new();
            for (name, labels, v, ts) in &lines {
                let labels: Vec<(&str, &str)> =
                    labels.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                write_sample(&mut page, name, &labels, *v, ts.map(Timestamp::from_millis), format)
                    .unwrap();
            }
            if open_metrics {
                page.push_str("# EOF\n");
            }
            prop_assert_eq!(Format::sniff(&page), format);
            let back = samples(&page, format).unwrap();
            prop_assert_eq!(back.len(), lines.len());
            for (s, (name, labels, v, ts)) in back.iter().zip(&lines) {
                prop_assert_eq!(s.name, name.as_str());
                let got: Vec<(String, String)> = s
                    .labels
                    .iter()
                    .map(|l| (l.name.to_owned(), l.value().into_owned()))
                    .collect();
                prop_assert_eq!(&got, labels);
                prop_assert!(s.value.to_bits() == v.to_bits() || (s.value.is_nan() && v.is_nan()));
                prop_assert_eq!(s.timestamp.map(Timestamp::as_millis), *ts);
            }
        }

        #[test]
        fn prop_lines_read_write_and_read_back_the_same(
            text in "([a-z_:]{1,4}( ?\\{( ?[a-z_]{1,3} ?= ?\"(\\PC|\\\\[\\\\n\"t]|[ #,}])*\" ?,?)*\\})? {1,2}(-?[0-9]{1,8}(\\.[0-9]{0,8})?(e-?[0-9]{1,3})?|NaN|[+-]?Inf|\\.5)( -?[0-9]{1,13}(\\.[0-9]{1,5})?)?( # \\{\\} 1)?[ \t\r]*\n){0,6}",
            open_metrics in any::<bool>(),
        ) {
            // The fuzz target's oracle (fuzz/fuzz_targets/exposition.rs) on line-shaped text.
            let format = if open_metrics { Format::OpenMetrics } else { Format::Prometheus };
            let text = if open_metrics { format!("{text}# EOF\n") } else { text };
            let mut written = String::new();
            let mut read = Vec::new();
            for entry in Parser::new(&text, format) {
                let Ok(Entry::Sample(s)) = entry else { continue };
                let labels: Vec<(&str, String)> =
                    s.labels.iter().map(|l| (l.name, l.value().into_owned())).collect();
                let refs: Vec<(&str, &str)> = labels.iter().map(|(n, v)| (*n, v.as_str())).collect();
                write_sample(&mut written, s.name, &refs, s.value, s.timestamp, format).unwrap();
                read.push((s.name, labels, s.value, s.timestamp));
            }
            if open_metrics {
                written.push_str("# EOF\n");
            }
            let back = samples(&written, format).unwrap();
            prop_assert_eq!(back.len(), read.len());
            for (s, (name, labels, value, ts)) in back.iter().zip(&read) {
                prop_assert_eq!(s.name, *name);
                let got: Vec<(&str, String)> =
                    s.labels.iter().map(|l| (l.name, l.value().into_owned())).collect();
                prop_assert_eq!(&got, labels);
                prop_assert!(s.value.to_bits() == value.to_bits() || (s.value.is_nan() && value.is_nan()));
                prop_assert_eq!(s.timestamp, *ts);
            }
        }

        #[test]
        fn prop_fast_path_is_exact(m in 0u64..1_000_000_000_000_000, k in 0usize..16, neg in any::<bool>()) {
            let digits = m.to_string();
            let text = if k == 0 || k >= digits.len() {
                digits
            } else {
                format!("{}.{}", &digits[..digits.len() - k], &digits[digits.len() - k..])
            };
            let text = if neg { format!("-{text}") } else { text };
            let want: f64 = text.parse().unwrap();
            prop_assert_eq!(parse_value(&text).unwrap().to_bits(), want.to_bits());
        }
    }
}
