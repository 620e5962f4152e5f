use std::collections::VecDeque;

use prescient_core::{Decision, Timestamp};

use crate::{ActuateError, Actuator, Applied, AsyncActuator, PoolStatus};

/// Workers requested together, serving from the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Batch {
    ready_at: Timestamp,
    count: u32,
}

/// An in-memory worker pool whose new workers take a while to start: the platform of tests,
/// examples and the simulator.
///
/// A scale-up at `now` adds workers that cost from `now` and serve from `now + delay`. A
/// scale-down is immediate and removes starting workers first (newest first), then serving ones.
/// The workers present when the pool is created serve at once.
///
/// **Time.** Every call that takes a `now` advances the pool's clock to it and adds the
/// worker-seconds since the previous call (every requested worker counts, starting or not). The
/// clock never goes back: a `now` earlier than the latest one seen is treated as the latest one,
/// so a late call neither undoes cost nor un-readies workers. Accounting starts at the first
/// call.
///
/// **Memory** is bounded by the number of workers: workers are stored in batches of equal ready
/// time, and batches that are all serving are merged into one.
///
/// # Example
///
/// ```
/// use prescient_actuate::{Actuator, PoolStatus, SimulatedPool};
/// # use prescient_core::{Decision, Reason, ReasonCode, Severity, Timestamp};
/// # fn decision(secs: i64, current: u32, target: u32) -> Decision {
/// #     Decision { ts: Timestamp::from_secs(secs), current, target, severity: Severity::None,
/// #         forecast: None, forecast_need: Some(target), reactive_need: None, anomaly_need: None,
/// #         reason: Reason::new(ReasonCode::Forecast), regime: None }
/// # }
///
/// // Two workers, new ones serve 30 s after they are requested.
/// let mut pool = SimulatedPool::new(2, 30.0)?;
/// let t0 = Timestamp::from_secs(0);
/// pool.scale(t0, &decision(0, 2, 5))?;
/// assert_eq!(pool.status(t0)?, PoolStatus { desired: 5, ready: 2 });
///
/// let t1 = Timestamp::from_secs(30);
/// assert_eq!(pool.status(t1)?, PoolStatus::settled(5));
/// assert_eq!(pool.worker_seconds(), 5.0 * 30.0);
/// # Ok::<(), prescient_actuate::ActuateError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SimulatedPool {
    delay_secs: f64,
    /// Ready times never decrease from front to back, because the delay is constant and the
    /// clock never goes back; so the back holds the newest workers.
    batches: VecDeque<Batch>,
    desired: u32,
    clock: Option<Timestamp>,
    /// Exact integer worker-milliseconds, so that the total never drifts or decreases.
    worker_millis: u128,
    scale_events: u64,
    fail_next: u32,
}

impl SimulatedPool {
    /// A pool of `initial` serving workers whose new workers serve `provisioning_delay_secs`
    /// seconds after they are requested (rounded to the millisecond).
    ///
    /// # Errors
    ///
    /// [`ActuateError::InvalidParam`] when the delay is negative, NaN or infinite.
    pub fn new(initial: u32, provisioning_delay_secs: f64) -> Result<Self, ActuateError> {
        if !provisioning_delay_secs.is_finite() || provisioning_delay_secs < 0.0 {
            return Err(ActuateError::InvalidParam {
                name: "provisioning_delay_secs",
                reason: format!("must be finite and at least 0, got {provisioning_delay_secs}"),
            });
        }
        let mut batches = VecDeque::new();
        if initial > 0 {
            batches.push_back(Batch {
                ready_at: Timestamp::from_millis(i64::MIN),
                count: initial,
            });
        }
        Ok(SimulatedPool {
            delay_secs: provisioning_delay_secs,
            batches,
            desired: initial,
            clock: None,
            worker_millis: 0,
            scale_events: 0,
            fail_next: 0,
        })
    }

    /// The provisioning delay, in seconds.
    pub fn delay_secs(&self) -> f64 {
        self.delay_secs
    }

    /// Workers requested, including those starting.
    pub fn desired(&self) -> u32 {
        self.desired
    }

    /// How many of the current workers serve at `t`, without advancing the clock; a `t` before
    /// the latest time seen is treated as that time.
    pub fn ready_at(&self, t: Timestamp) -> u32 {
        let t = self.effective(t);
        self.batches
            .iter()
            .take_while(|b| b.ready_at <= t)
            .map(|b| b.count)
            .sum()
    }

    /// When the next starting worker will serve, if any is starting.
    pub fn next_ready(&self) -> Option<Timestamp> {
        let now = self.clock?;
        self.batches.iter().map(|b| b.ready_at).find(|&r| r > now)
    }

    /// Worker-seconds paid for so far: every requested worker, starting or serving, integrated
    /// over the time between the first call and the latest one.
    pub fn worker_seconds(&self) -> f64 {
        self.worker_millis as f64 / 1000.0
    }

    /// How many successful `scale` calls changed the worker count.
    pub fn scale_events(&self) -> u64 {
        self.scale_events
    }

    /// The latest time seen, if any call has passed one.
    pub fn clock(&self) -> Option<Timestamp> {
        self.clock
    }

    /// Makes the next `n` `scale` calls fail with [`ActuateError::Failed`] without changing the
    /// pool (time still passes), to test how a host copes with a failing platform.
    pub fn fail_next(&mut self, n: u32) {
        self.fail_next = n;
    }

    fn effective(&self, now: Timestamp) -> Timestamp {
        match self.clock {
            Some(c) if c > now => c,
            _ => now,
        }
    }

    /// Moves the clock to `now` (or keeps it, if `now` is earlier), charging the workers for the
    /// time in between, and merges the batches that serve by then. Returns the effective time.
    fn advance(&mut self, now: Timestamp) -> Timestamp {
        let now = self.effective(now);
        if let Some(prev) = self.clock {
            // `now >= prev`, so the difference is non-negative; i128 cannot overflow.
            let dt = (i128::from(now.as_millis()) - i128::from(prev.as_millis())) as u128;
            let cost = dt.saturating_mul(u128::from(self.desired));
            self.worker_millis = self.worker_millis.saturating_add(cost);
        }
        self.clock = Some(now);
        // Which serving worker a scale-down removes is invisible, so serving batches need not
        // stay apart; merging them keeps the deque no longer than the starting batches plus one.
        let mut serving = 0u32;
        while let Some(b) = self.batches.front() {
            if b.ready_at > now {
                break;
            }
            serving += b.count;
            self.batches.pop_front();
        }
        if serving > 0 {
            self.batches.push_front(Batch {
                ready_at: Timestamp::from_millis(i64::MIN),
                count: serving,
            });
        }
        now
    }

    fn resize(&mut self, now: Timestamp, target: u32) {
        if target > self.desired {
            let ready_at = now.add_secs(self.delay_secs);
            let count = target - self.desired;
            match self.batches.back_mut() {
                Some(b) if b.ready_at == ready_at => b.count += count,
                _ => self.batches.push_back(Batch { ready_at, count }),
            }
        } else {
            let mut remove = self.desired - target;
            while remove > 0 {
                let Some(b) = self.batches.back_mut() else {
                    break;
                };
                let take = remove.min(b.count);
                b.count -= take;
                remove -= take;
                if b.count == 0 {
                    self.batches.pop_back();
                }
            }
        }
        self.desired = target;
    }
}

impl Actuator for SimulatedPool {
    fn name(&self) -> &str {
        "simulated-pool"
    }

    fn status(&mut self, now: Timestamp) -> Result<PoolStatus, ActuateError> {
        let now = self.advance(now);
        Ok(PoolStatus {
            desired: self.desired,
            ready: self.ready_at(now),
        })
    }

    fn scale(&mut self, now: Timestamp, decision: &Decision) -> Result<Applied, ActuateError> {
        let now = self.advance(now);
        if self.fail_next > 0 {
            self.fail_next -= 1;
            return Err(ActuateError::failed(
                "simulated-pool",
                "injected failure (fail_next)",
            ));
        }
        if decision.target != self.desired {
            self.resize(now, decision.target);
            self.scale_events = self.scale_events.saturating_add(1);
        }
        Ok(Applied {
            target: self.desired,
        })
    }
}

impl AsyncActuator for SimulatedPool {
    fn name(&self) -> &str {
        "simulated-pool"
    }

    async fn status(&mut self, now: Timestamp) -> Result<PoolStatus, ActuateError> {
        Actuator::status(self, now)
    }

    async fn scale(
        &mut self,
        now: Timestamp,
        decision: &Decision,
    ) -> Result<Applied, ActuateError> {
        Actuator::scale(self, now, decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{block_on, decision};

    fn secs(s: i64) -> Timestamp {
        Timestamp::from_secs(s)
    }

    fn scale(pool: &mut SimulatedPool, at: i64, target: u32) -> Applied {
        let d = decision(at, pool.desired(), target);
        Actuator::scale(pool, secs(at), &d).unwrap()
    }

    #[test]
    fn provisioning_delay_must_be_finite_and_non_negative() {
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let e = SimulatedPool::new(1, bad).unwrap_err();
            assert!(
                matches!(
                    e,
                    ActuateError::InvalidParam {
                        name: "provisioning_delay_secs",
                        ..
                    }
                ),
                "{e}"
            );
        }
        assert!(SimulatedPool::new(1, 0.0).is_ok());
    }

    #[test]
    fn initial_workers_serve_at_once() {
        let mut pool = SimulatedPool::new(3, 60.0).unwrap();
        assert_eq!(
            Actuator::status(&mut pool, secs(-100)).unwrap(),
            PoolStatus::settled(3)
        );
    }

    #[test]
    fn new_workers_serve_after_the_delay() {
        let mut pool = SimulatedPool::new(2, 30.0).unwrap();
        assert_eq!(scale(&mut pool, 100, 5).target, 5);
        assert_eq!(pool.ready_at(secs(100)), 2);
        assert_eq!(pool.ready_at(Timestamp::from_millis(129_999)), 2);
        assert_eq!(pool.ready_at(secs(130)), 5);
        assert_eq!(pool.next_ready(), Some(secs(130)));
        assert_eq!(
            Actuator::status(&mut pool, secs(129)).unwrap(),
            PoolStatus {
                desired: 5,
                ready: 2
            }
        );
        assert_eq!(
            Actuator::status(&mut pool, secs(130)).unwrap(),
            PoolStatus::settled(5)
        );
        assert_eq!(pool.next_ready(), None);
    }

    #[test]
    fn zero_delay_serves_at_once() {
        let mut pool = SimulatedPool::new(0, 0.0).unwrap();
        scale(&mut pool, 1, 4);
        assert_eq!(
            Actuator::status(&mut pool, secs(1)).unwrap(),
            PoolStatus::settled(4)
        );
    }

    #[test]
    fn scale_down_removes_starting_workers_first_newest_first() {
        let mut pool = SimulatedPool::new(2, 30.0).unwrap();
        scale(&mut pool, 0, 4); // two serve at 30
        scale(&mut pool, 10, 7); // three serve at 40
        scale(&mut pool, 20, 5); // drops two of the batch at 40
        assert_eq!(pool.ready_at(secs(30)), 4);
        assert_eq!(pool.ready_at(secs(40)), 5);
        scale(&mut pool, 20, 3); // drops the rest of the batch at 40, then one at 30
        assert_eq!(pool.ready_at(secs(20)), 2);
        assert_eq!(pool.ready_at(secs(30)), 3);
        scale(&mut pool, 20, 1); // the last starting one, then a serving one
        assert_eq!(
            Actuator::status(&mut pool, secs(20)).unwrap(),
            PoolStatus::settled(1)
        );
        scale(&mut pool, 20, 0);
        assert_eq!(
            Actuator::status(&mut pool, secs(50)).unwrap(),
            PoolStatus::settled(0)
        );
        assert_eq!(pool.scale_events(), 6);
    }

    #[test]
    fn worker_seconds_count_starting_workers_from_their_request() {
        let mut pool = SimulatedPool::new(1, 60.0).unwrap();
        Actuator::status(&mut pool, secs(0)).unwrap();
        scale(&mut pool, 10, 3);
        Actuator::status(&mut pool, secs(20)).unwrap();
        // 1 worker for 10 s, then 3 (two still starting) for 10 s.
        assert_eq!(pool.worker_seconds(), 10.0 + 30.0);
    }

    #[test]
    fn an_earlier_now_is_treated_as_the_latest_seen() {
        let mut pool = SimulatedPool::new(1, 10.0).unwrap();
        Actuator::status(&mut pool, secs(100)).unwrap();
        scale(&mut pool, 50, 2); // acts at 100: the new worker serves at 110
        assert_eq!(pool.clock(), Some(secs(100)));
        assert_eq!(pool.ready_at(secs(105)), 1);
        assert_eq!(pool.ready_at(secs(110)), 2);
        assert_eq!(pool.worker_seconds(), 0.0);
        Actuator::status(&mut pool, secs(120)).unwrap();
        assert_eq!(pool.worker_seconds(), 40.0);
        Actuator::status(&mut pool, secs(0)).unwrap();
        assert_eq!(pool.worker_seconds(), 40.0);
        assert_eq!(pool.ready_at(secs(0)), 2);
    }

    #[test]
    fn repeated_target_is_not_an_event() {
        let mut pool = SimulatedPool::new(2, 5.0).unwrap();
        scale(&mut pool, 0, 2);
        scale(&mut pool, 1, 3);
        scale(&mut pool, 2, 3);
        assert_eq!(pool.scale_events(), 1);
    }

    #[test]
    fn fail_next_fails_that_many_scale_calls_and_leaves_the_pool() {
        let mut pool = SimulatedPool::new(2, 5.0).unwrap();
        pool.fail_next(2);
        for at in 0..2 {
            let d = decision(at, 2, 6);
            let e = Actuator::scale(&mut pool, d.ts, &d).unwrap_err();
            assert!(matches!(e, ActuateError::Failed { .. }), "{e}");
            assert_eq!(pool.desired(), 2);
        }
        // Time still passed during the failed calls.
        assert_eq!(pool.worker_seconds(), 2.0);
        assert_eq!(scale(&mut pool, 2, 6).target, 6);
    }

    #[test]
    fn memory_stays_bounded_by_the_workers() {
        let mut pool = SimulatedPool::new(0, 1.0).unwrap();
        for i in 0..10_000 {
            let target = if i % 2 == 0 { 1 } else { 0 };
            scale(&mut pool, i, target);
        }
        assert!(pool.batches.len() <= 2, "{}", pool.batches.len());
    }

    #[test]
    fn async_side_matches_the_blocking_side() {
        let mut pool = SimulatedPool::new(1, 10.0).unwrap();
        let d = decision(0, 1, 3);
        let applied = block_on(AsyncActuator::scale(&mut pool, d.ts, &d)).unwrap();
        assert_eq!(applied.target, 3);
        let s = block_on(AsyncActuator::status(&mut pool, secs(10))).unwrap();
        assert_eq!(s, PoolStatus::settled(3));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::test_util::decision;
    use proptest::prelude::*;

    /// One step of a run: wait `gap_ms`, then scale to `target` or just read the status.
    #[derive(Debug, Clone)]
    struct Step {
        gap_ms: i64,
        target: Option<u32>,
        probe_ms: i64,
    }

    fn step() -> impl Strategy<Value = Step> {
        (
            prop_oneof![Just(0i64), 0i64..120_000],
            prop::option::of(0u32..40),
            0i64..120_000,
        )
            .prop_map(|(gap_ms, target, probe_ms)| Step {
                gap_ms,
                target,
                probe_ms,
            })
    }

    proptest! {
        /// The pool against a reference model that keeps one ready time per worker in request
        /// order: ready never exceeds desired, desired is the last accepted target, cost never
        /// decreases, and no worker serves before its delay.
        #[test]
        fn prop_pool_matches_a_per_worker_model(
            initial in 0u32..20,
            delay_ms in prop_oneof![Just(0i64), 1i64..90_000],
            start in -1_000_000i64..1_000_000,
            steps in prop::collection::vec(step(), 1..60),
        ) {
            let mut pool = SimulatedPool::new(initial, delay_ms as f64 / 1000.0).unwrap();
            // Each worker's (requested_at, ready_at); initial workers were never requested.
            let mut model: Vec<(i64, i64)> = vec![(i64::MIN, i64::MIN); initial as usize];
            let mut last_accepted = initial;
            let mut cost = pool.worker_seconds();
            let mut now = start;
            for s in steps {
                now += s.gap_ms;
                let t = Timestamp::from_millis(now);
                if let Some(target) = s.target {
                    let d = decision(0, pool.desired(), target);
                    let applied = Actuator::scale(&mut pool, t, &d).unwrap();
                    prop_assert_eq!(applied.target, target);
                    last_accepted = target;
                    if target as usize > model.len() {
                        model.resize(target as usize, (now, now + delay_ms));
                    } else {
                        model.truncate(target as usize);
                    }
                }
                let status = Actuator::status(&mut pool, t).unwrap();
                prop_assert!(status.ready <= status.desired);
                prop_assert_eq!(status.desired, last_accepted);
                let expected = model.iter().filter(|w| w.1 <= now).count() as u32;
                prop_assert_eq!(status.ready, expected);
                // A worker requested at `r` is not serving before `r + delay`.
                let probe = now + s.probe_ms;
                let ready_then = pool.ready_at(Timestamp::from_millis(probe));
                let may_serve = model
                    .iter()
                    .filter(|w| w.0 == i64::MIN || w.0 + delay_ms <= probe)
                    .count() as u32;
                prop_assert!(ready_then <= may_serve);
                prop_assert_eq!(ready_then, may_serve);
                let c = pool.worker_seconds();
                prop_assert!(c >= cost);
                cost = c;
            }
        }

        /// Cost is exact: the sum of desired × elapsed over the steps.
        #[test]
        fn prop_worker_seconds_integrate_desired(
            initial in 0u32..20,
            steps in prop::collection::vec((0i64..100_000, 0u32..40), 1..40),
        ) {
            let mut pool = SimulatedPool::new(initial, 12.5).unwrap();
            let mut now = 0i64;
            Actuator::status(&mut pool, Timestamp::from_millis(now)).unwrap();
            let mut expected_ms: u128 = 0;
            let mut desired = initial;
            for (gap, target) in steps {
                expected_ms += u128::from(desired) * gap as u128;
                now += gap;
                let d = decision(0, desired, target);
                Actuator::scale(&mut pool, Timestamp::from_millis(now), &d).unwrap();
                desired = target;
            }
            prop_assert_eq!(pool.worker_seconds(), expected_ms as f64 / 1000.0);
        }

        /// Times that go backwards change nothing: the pool behaves as if they were the latest.
        #[test]
        fn prop_earlier_times_are_clamped(
            times in prop::collection::vec(-100_000i64..100_000, 1..40),
            targets in prop::collection::vec(0u32..10, 40),
        ) {
            let mut raw = SimulatedPool::new(3, 5.0).unwrap();
            let mut clamped = SimulatedPool::new(3, 5.0).unwrap();
            let mut latest = i64::MIN;
            for (&t, &target) in times.iter().zip(&targets) {
                latest = latest.max(t);
                let d = decision(0, raw.desired(), target);
                let a = Actuator::scale(&mut raw, Timestamp::from_millis(t), &d).unwrap();
                let b = Actuator::scale(&mut clamped, Timestamp::from_millis(latest), &d).unwrap();
                prop_assert_eq!(a, b);
                prop_assert_eq!(
                    Actuator::status(&mut raw, Timestamp::from_millis(t)).unwrap(),
                    Actuator::status(&mut clamped, Timestamp::from_millis(latest)).unwrap()
                );
            }
            prop_assert_eq!(raw.worker_seconds(), clamped.worker_seconds());
        }
    }
}
