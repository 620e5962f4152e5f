//! A source that stops answering must not make the `Scaler` scale down, let alone to zero: the
//! `Live` poller turns failed polls into missing metrics, on which the `Scaler` holds capacity and
//! says why.

use prescient::types::ReasonCode;
use prescient::{MetricRole, PlannerParams, PoolStatus, Scaler, Schema, Timestamp};
use prescient_core::Sample;
use prescient_sources::{Error, Grid, Live, Point, Recorded, Result, Source};

/// Answers from a recording until `dies_at`, then fails every poll.
struct Dying {
    inner: Recorded,
    dies_at: Timestamp,
}

impl Source for Dying {
    fn columns(&self) -> &[String] {
        self.inner.columns()
    }

    fn backfill(&mut self, start: Timestamp, end: Timestamp) -> Result<Vec<Sample>> {
        self.inner.backfill(start, end)
    }

    fn poll(&mut self, now: Timestamp) -> Result<Sample> {
        if now >= self.dies_at {
            return Err(Error::Unreachable {
                url: "http://prometheus.invalid".into(),
                reason: "connection refused".into(),
            });
        }
        self.inner.poll(now)
    }
}

#[test]
fn a_source_that_dies_makes_the_scaler_hold_capacity() {
    let step = 15;
    let t = |k: i64| Timestamp::from_secs(k * step);
    // A busy service: 900 requests/s, then the source dies after two hours.
    let points = (0..2000)
        .map(|k| Point::new(t(k), 900.0 + (k % 10) as f64))
        .collect();
    let grid = Grid::new(step as f64, 60.0).unwrap();
    let recorded = Recorded::new(vec!["rps".into()], vec![points], grid).unwrap();
    let mut live = Live::new(Dying {
        inner: recorded,
        dies_at: t(480),
    });
    let schema = Schema::builder("api")
        .metric("rps", MetricRole::Load)
        .build()
        .unwrap();
    let mut scaler = Scaler::builder(schema, PlannerParams::new(50.0).bounds(1, 100))
        .step_secs(step as f64)
        .build()
        .unwrap();
    let mut pool = PoolStatus {
        desired: 2,
        ready: 2,
    };
    let mut before = 0;
    let mut stale_reasons = 0;
    for k in 0..960 {
        let polled = live.poll(t(k));
        assert_eq!(polled.error.is_some(), k >= 480, "tick {k}");
        let d = scaler.tick(t(k), &polled.sample.values, pool).unwrap();
        if k < 480 {
            before = d.target;
        } else {
            assert_eq!(d.target, before, "tick {k}: capacity moved without metrics");
            assert_eq!(polled.consecutive_failures, (k - 479) as u32);
            stale_reasons += usize::from(d.reason.code == ReasonCode::StaleData);
        }
        pool = PoolStatus {
            desired: d.target,
            ready: d.target,
        };
    }
    // 900 requests/s at 70 % of 50 per worker needs about 26 workers; held, never dropped.
    assert!(before >= 20, "{before}");
    // After the staleness limit (four steps by default) every decision says why it held.
    assert!(stale_reasons >= 480 - 5, "{stale_reasons}");
}
