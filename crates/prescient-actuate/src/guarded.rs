//! An actuator wrapper that retries failed scale requests with backoff and jitter, behind a
//! circuit breaker, without ever blocking a tick.

use std::time::Duration;

use prescient_core::{Decision, Timestamp};

use crate::{ActuateError, Actuator, Applied, PoolStatus};

/// How [`Guarded`] backs off and when its breaker opens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// The wait after the first failure.
    pub base: Duration,
    /// The longest wait between attempts.
    pub max: Duration,
    /// The fraction of each wait drawn at random (0: none; 0.5: the wait is uniform in
    /// [½·w, w]), so that replicas that failed together do not retry together.
    pub jitter: f64,
    /// After this many failures in a row the breaker opens.
    pub breaker_failures: u32,
    /// How long the breaker stays open before one trial request is let through.
    pub breaker_open: Duration,
    /// The seed of the jitter, so that a run is reproducible.
    pub seed: u64,
}

impl Default for RetryPolicy {
    /// 15 s doubling to 5 min, half of it jittered, the breaker open for 10 min after 5
    /// failures in a row.
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(15),
            max: Duration::from_secs(300),
            jitter: 0.5,
            breaker_failures: 5,
            breaker_open: Duration::from_secs(600),
            seed: 0x5eed,
        }
    }
}

/// The state of [`Guarded`]'s circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breaker {
    /// Requests go through (after any backoff).
    Closed,
    /// Requests are refused without reaching the platform until the given time.
    Open {
        /// When one trial request will be let through.
        until: Timestamp,
    },
    /// The breaker's time is up: the next request is a trial; its failure opens it again.
    HalfOpen,
}

/// Wraps an [`Actuator`] so that a failing platform is never hammered.
///
/// Nothing here sleeps or reads a clock: time is the `now` of each call, so a tick never waits
/// on a retry. The `Scaler` decides again at every tick, and that next decision is the retry:
///
/// - after a failed [`scale`](Actuator::scale), requests before the backoff time are refused
///   with [`ActuateError::Backoff`] without reaching the platform; the wait doubles with every
///   failure in a row, from [`RetryPolicy::base`] up to [`RetryPolicy::max`], with jitter;
/// - after [`RetryPolicy::breaker_failures`] failures in a row the breaker opens: requests are
///   refused with [`ActuateError::CircuitOpen`] for [`RetryPolicy::breaker_open`], then one trial
///   goes through (half-open); its success closes the breaker, its failure opens it again;
/// - a success clears everything. [`status`](Actuator::status) reads always go through (the
///   host needs them every tick, and a read changes nothing), and never assume a failed request
///   happened: the `Scaler` keeps deciding from the platform's own counts.
///
/// ```
/// use std::time::Duration;
/// use prescient_actuate::{ActuateError, Actuator, Guarded, RetryPolicy, Command};
///
/// let policy = RetryPolicy { base: Duration::from_secs(30), ..RetryPolicy::default() };
/// let kubectl = Guarded::new(Command::new("kubectl", ["scale", "deployment/web", "--replicas={target}"]), policy)?;
/// assert_eq!(kubectl.name(), "kubectl");
/// # Ok::<(), ActuateError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Guarded<A> {
    inner: A,
    policy: RetryPolicy,
    failures: u32,
    next_attempt: Option<Timestamp>,
    breaker: Breaker,
    rng: u64,
    refused: u64,
}

impl<A: Actuator> Guarded<A> {
    /// Guards `inner` with `policy`.
    ///
    /// # Errors
    ///
    /// [`ActuateError::InvalidParam`] for a zero base wait, a maximum below the base, a jitter
    /// outside [0, 1] or a breaker that opens after zero failures.
    pub fn new(inner: A, policy: RetryPolicy) -> Result<Self, ActuateError> {
        let invalid = |name, reason: &str| {
            Err(ActuateError::InvalidParam {
                name,
                reason: reason.to_owned(),
            })
        };
        if policy.base.is_zero() {
            return invalid("base", "must be positive");
        }
        if policy.max < policy.base {
            return invalid("max", "must be at least the base wait");
        }
        if !(0.0..=1.0).contains(&policy.jitter) {
            return invalid("jitter", "must be in [0, 1]");
        }
        if policy.breaker_failures == 0 {
            return invalid("breaker_failures", "must be at least 1");
        }
        Ok(Guarded {
            inner,
            policy,
            failures: 0,
            next_attempt: None,
            breaker: Breaker::Closed,
            rng: policy.seed,
            refused: 0,
        })
    }

    /// The wrapped actuator.
    pub fn get_ref(&self) -> &A {
        &self.inner
    }

    /// The wrapped actuator, mutably.
    pub fn get_mut(&mut self) -> &mut A {
        &mut self.inner
    }

    /// The breaker's state as of `now`.
    pub fn breaker(&self, now: Timestamp) -> Breaker {
        match self.breaker {
            Breaker::Open { until } if now >= until => Breaker::HalfOpen,
            b => b,
        }
    }

    /// Failed requests in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Requests refused without reaching the platform (backoff or open breaker), in all.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// When the next request may reach the platform, if it is held back.
    pub fn next_attempt(&self) -> Option<Timestamp> {
        match self.breaker {
            Breaker::Open { until } => Some(until),
            _ => self.next_attempt,
        }
    }

    /// A uniform draw in [0, 1) (SplitMix64).
    fn uniform(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1_u64 << 53) as f64
    }

    fn record_failure(&mut self, now: Timestamp, half_open: bool) {
        self.failures = self.failures.saturating_add(1);
        if half_open || self.failures >= self.policy.breaker_failures {
            self.breaker = Breaker::Open {
                until: now.add_secs(self.policy.breaker_open.as_secs_f64()),
            };
            self.next_attempt = None;
            return;
        }
        let doublings = self.failures.saturating_sub(1).min(62);
        let wait = (self.policy.base.as_secs_f64() * 2_f64.powi(doublings as i32))
            .min(self.policy.max.as_secs_f64());
        let wait = wait * (1.0 - self.policy.jitter * self.uniform());
        self.next_attempt = Some(now.add_secs(wait));
    }
}

impl<A: Actuator> Actuator for Guarded<A> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn status(&mut self, now: Timestamp) -> Result<PoolStatus, ActuateError> {
        self.inner.status(now)
    }

    fn scale(&mut self, now: Timestamp, decision: &Decision) -> Result<Applied, ActuateError> {
        let half_open = match self.breaker(now) {
            Breaker::Open { until } => {
                self.refused += 1;
                return Err(ActuateError::CircuitOpen {
                    what: self.inner.name().to_owned(),
                    failures: self.failures,
                    until,
                });
            }
            Breaker::HalfOpen => true,
            Breaker::Closed => false,
        };
        if let Some(until) = self.next_attempt.filter(|&t| now < t) {
            self.refused += 1;
            return Err(ActuateError::Backoff {
                what: self.inner.name().to_owned(),
                failures: self.failures,
                until,
            });
        }
        match self.inner.scale(now, decision) {
            Ok(applied) => {
                self.failures = 0;
                self.next_attempt = None;
                self.breaker = Breaker::Closed;
                Ok(applied)
            }
            Err(e) => {
                self.record_failure(now, half_open);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::decision;

    /// Fails the first `fail` scale requests, then succeeds; counts calls.
    struct Flaky {
        fail: u32,
        calls: u32,
    }

    impl Actuator for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }
        fn status(&mut self, _: Timestamp) -> Result<PoolStatus, ActuateError> {
            Ok(PoolStatus::settled(1))
        }
        fn scale(&mut self, _: Timestamp, d: &Decision) -> Result<Applied, ActuateError> {
            self.calls += 1;
            if self.calls <= self.fail {
                Err(ActuateError::failed("flaky", "503"))
            } else {
                Ok(Applied { target: d.target })
            }
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_secs(10),
            max: Duration::from_secs(60),
            jitter: 0.0,
            breaker_failures: 4,
            breaker_open: Duration::from_secs(300),
            seed: 1,
        }
    }

    /// Tries to scale every 5 s from 0 to `secs`; returns the times the platform was called.
    fn run(g: &mut Guarded<Flaky>, secs: i64) -> Vec<i64> {
        let mut called = Vec::new();
        for s in (0..secs).step_by(5) {
            let before = g.get_ref().calls;
            let _ = g.scale(Timestamp::from_secs(s), &decision(s, 1, 3));
            if g.get_ref().calls > before {
                called.push(s);
            }
        }
        called
    }

    #[test]
    fn backs_off_doubling_then_opens_the_breaker_then_tries_once() {
        let mut g = Guarded::new(
            Flaky {
                fail: 100,
                calls: 0,
            },
            policy(),
        )
        .unwrap();
        let called = run(&mut g, 1000);
        // Waits of 10, 20, 40 s after the first three failures; the fourth opens the breaker
        // for 300 s; each half-open trial fails and opens it again.
        assert_eq!(called, [0, 10, 30, 70, 370, 670, 970]);
        assert!(matches!(
            g.breaker(Timestamp::from_secs(980)),
            Breaker::Open { .. }
        ));
        assert!(g.refused() > 150);
    }

    #[test]
    fn a_success_clears_the_state() {
        let mut g = Guarded::new(Flaky { fail: 2, calls: 0 }, policy()).unwrap();
        let called = run(&mut g, 100);
        // Fails at 0 and 10, succeeds at 30, then every request goes through.
        assert_eq!(&called[..4], [0, 10, 30, 35]);
        assert_eq!(g.failures(), 0);
        assert_eq!(g.breaker(Timestamp::from_secs(100)), Breaker::Closed);
        assert_eq!(g.next_attempt(), None);
    }

    #[test]
    fn refusals_say_why_and_until_when() {
        let mut g = Guarded::new(
            Flaky {
                fail: 100,
                calls: 0,
            },
            policy(),
        )
        .unwrap();
        let _ = g.scale(Timestamp::from_secs(0), &decision(0, 1, 3));
        let err = g
            .scale(Timestamp::from_secs(5), &decision(5, 1, 3))
            .unwrap_err();
        assert!(
            matches!(err, ActuateError::Backoff { failures: 1, until, .. } if until == Timestamp::from_secs(10)),
            "{err}"
        );
        assert!(err.is_transient());
        assert!(
            err.to_string().contains("backing off after 1 failures"),
            "{err}"
        );
    }

    #[test]
    fn jitter_is_seeded_and_bounded() {
        let jittered = RetryPolicy {
            jitter: 0.5,
            ..policy()
        };
        let waits = |seed| {
            let mut g = Guarded::new(
                Flaky { fail: 3, calls: 0 },
                RetryPolicy { seed, ..jittered },
            )
            .unwrap();
            run(&mut g, 200)
        };
        assert_eq!(waits(7), waits(7));
        let called = waits(7);
        // The first wait is in [5, 10] s, on the 5 s request grid.
        assert!(called[1] == 5 || called[1] == 10, "{called:?}");
    }

    #[test]
    fn bad_policies_are_refused() {
        for p in [
            RetryPolicy {
                base: Duration::ZERO,
                ..policy()
            },
            RetryPolicy {
                max: Duration::from_secs(1),
                ..policy()
            },
            RetryPolicy {
                jitter: 1.5,
                ..policy()
            },
            RetryPolicy {
                breaker_failures: 0,
                ..policy()
            },
        ] {
            assert!(Guarded::new(Flaky { fail: 0, calls: 0 }, p).is_err());
        }
    }
}
