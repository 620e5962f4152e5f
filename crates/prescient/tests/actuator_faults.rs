//! Fault injection: an actuator that fails 30% of its calls at random (errors, time-outs and
//! partial application) for an hour of simulated time, behind `Guarded`.
//!
//! The `Scaler` must lose no decision state (its decisions are exactly those of a `Scaler` that
//! saw the same metrics and pool counts and never called an actuator), never assume a failed
//! action happened (it decides from the counts the platform reports), keep every target and the
//! pool within bounds, and never hammer the failing platform.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use std::time::Duration;

use prescient::actuate::{Applied, Guarded, RetryPolicy, SimulatedPool};
use prescient::synth::{ServiceModel, WorkloadParams, generate};
use prescient::{ActuateError, Actuator, Decision, PlannerParams, PoolStatus, Scaler, Timestamp};

/// A seeded xorshift stream.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1_u64 << 53) as f64
    }
}

/// A simulated pool whose scale requests fail 30% of the time: a refusal, a time-out after which
/// the request may or may not have been applied, or a partial application (half the way).
struct Faulty {
    pool: SimulatedPool,
    rng: Rng,
    calls: u32,
    failures: u32,
}

impl Actuator for Faulty {
    fn name(&self) -> &str {
        "faulty"
    }

    fn status(&mut self, now: Timestamp) -> Result<PoolStatus, ActuateError> {
        self.pool.status(now)
    }

    fn scale(&mut self, now: Timestamp, d: &Decision) -> Result<Applied, ActuateError> {
        self.calls += 1;
        let r = self.rng.unit();
        if r >= 0.3 {
            return self.pool.scale(now, d);
        }
        self.failures += 1;
        if r < 0.1 {
            Err(ActuateError::failed("faulty", "503 Service Unavailable"))
        } else if r < 0.2 {
            // Timed out: the platform may have applied it anyway.
            if self.rng.unit() < 0.5 {
                self.pool.scale(now, d)?;
            }
            Err(ActuateError::Timeout {
                what: "faulty".into(),
                after: Duration::from_secs(10),
            })
        } else {
            // Partially applied: halfway there, and said so.
            let mut partial = d.clone();
            partial.target = (d.current + d.target) / 2;
            self.pool.scale(now, &partial)
        }
    }
}

#[test]
fn a_platform_failing_30_percent_of_calls_loses_no_decision_state() {
    let (min, max) = (2, 60);
    let step = 5.0;
    // An hour of a busy service at a 5 s step (720 ticks), its load swinging by a factor of
    // four every ten minutes so that the pool changes often.
    let workload = generate(
        &WorkloadParams::web_service(11)
            .span_secs(3600.0)
            .step_secs(step),
    )
    .unwrap();
    let capacity = 15.0;
    let mut service = ServiceModel::new(capacity, 11).unwrap();
    let build = || {
        Scaler::builder(
            ServiceModel::schema("web").unwrap(),
            PlannerParams::new(capacity).bounds(min, max),
        )
        .step_secs(step)
        .startup_delay_secs(30.0)
        .build()
        .unwrap()
    };
    let mut scaler = build();
    let mut replay = build();
    let policy = RetryPolicy {
        base: Duration::from_secs(10),
        max: Duration::from_secs(60),
        breaker_failures: 4,
        breaker_open: Duration::from_secs(120),
        ..RetryPolicy::default()
    };
    let mut actuator = Guarded::new(
        Faulty {
            pool: SimulatedPool::new(min, 30.0).unwrap(),
            rng: Rng(0x0bad_5eed),
            calls: 0,
            failures: 0,
        },
        policy,
    )
    .unwrap();

    let mut applies = 0;
    let mut errors = 0;
    for (ts, base) in workload.iter() {
        let phase = std::f64::consts::TAU * ts.secs_since(workload.start) / 600.0;
        let load = base * (1.0 + 0.6 * phase.sin());
        let pool = actuator.status(ts).unwrap();
        assert!(
            (min..=max).contains(&pool.desired) && pool.ready <= max,
            "{ts}: pool {pool:?} out of bounds"
        );
        let metrics = service
            .observe(ts, load, pool.ready, &workload.active_anomalies(ts))
            .values();
        let d = scaler.tick(ts, &metrics, pool).unwrap();
        // The same inputs, and no actuator at all: the same decision, every tick.
        assert_eq!(d, replay.tick(ts, &metrics, pool).unwrap(), "{ts}");
        assert!((min..=max).contains(&d.target), "{ts}: target {}", d.target);
        // The decision starts from what the platform reports, not from what was asked before.
        assert_eq!(d.current, pool.desired, "{ts}");
        if d.is_change() {
            applies += 1;
            errors += usize::from(scaler.apply(&d, &mut actuator).is_err());
        }
    }
    let faulty = actuator.get_ref();
    eprintln!(
        "{applies} requests, {} reached the platform, {} failed there, {errors} errors returned",
        faulty.calls, faulty.failures
    );
    assert!(
        faulty.failures > 5,
        "too few faults injected: {}",
        faulty.failures
    );
    assert!(errors > 0 && errors < applies, "{errors} of {applies}");
    // Held-back requests never reach the platform: it saw fewer calls than the Scaler made.
    assert!(actuator.refused() > 0);
    assert_eq!(
        u64::from(faulty.calls) + actuator.refused(),
        applies as u64,
        "every request either reached the platform once or was refused"
    );
}
