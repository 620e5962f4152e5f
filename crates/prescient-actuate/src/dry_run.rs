use std::collections::VecDeque;

use prescient_core::{Decision, Timestamp};

use crate::{ActuateError, Actuator, Applied, AsyncActuator, PoolStatus};

/// An actuator that acts on nothing and records the decisions it is given.
///
/// Use it to run prescient in shadow mode next to an existing autoscaler, or in tests. It keeps
/// the last [`DryRun::DEFAULT_CAPACITY`] decisions (or as many as asked) and counts all of them,
/// so its memory stays bounded however long it runs. Its status reports the last target as both
/// desired and ready: a dry run pretends every request is served at once.
///
/// # Example
///
/// ```
/// use prescient_actuate::{Actuator, DryRun, PoolStatus};
/// # use prescient_core::{Decision, Reason, ReasonCode, Severity, Timestamp};
/// # let decision = Decision { ts: Timestamp::from_secs(60), current: 2, target: 5,
/// #     severity: Severity::None, forecast: None, forecast_need: Some(5), reactive_need: None,
/// #     anomaly_need: None, reason: Reason::new(ReasonCode::Forecast), regime: None };
///
/// let mut dry = DryRun::new(2);
/// dry.scale(decision.ts, &decision)?;
/// assert_eq!(dry.status(decision.ts)?, PoolStatus::settled(5));
/// assert_eq!(dry.last().map(|d| d.target), Some(5));
/// assert_eq!(dry.total(), 1);
/// # Ok::<(), prescient_actuate::ActuateError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DryRun {
    current: u32,
    capacity: usize,
    log: VecDeque<Decision>,
    total: u64,
}

impl DryRun {
    /// How many decisions [`DryRun::new`] keeps: about 42 hours of decisions every 15 s.
    pub const DEFAULT_CAPACITY: usize = 10_000;

    /// A dry run whose platform starts with `initial` workers, keeping the last
    /// [`DryRun::DEFAULT_CAPACITY`] decisions.
    pub fn new(initial: u32) -> Self {
        DryRun::with_capacity(initial, DryRun::DEFAULT_CAPACITY)
    }

    /// A dry run that keeps the last `capacity` decisions (0 keeps none and only counts them).
    pub fn with_capacity(initial: u32, capacity: usize) -> Self {
        DryRun {
            current: initial,
            capacity,
            // Grow on demand: a short test should not allocate room for 10 000 decisions.
            log: VecDeque::new(),
            total: 0,
        }
    }

    /// The decisions kept, oldest first.
    pub fn decisions(&self) -> impl DoubleEndedIterator<Item = &Decision> + ExactSizeIterator {
        self.log.iter()
    }

    /// The last decision given, if any is kept.
    pub fn last(&self) -> Option<&Decision> {
        self.log.back()
    }

    /// How many decisions were given in all, including those no longer kept.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// How many decisions are kept at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The worker count the pretend platform has: the last target, or the initial count.
    pub fn current(&self) -> u32 {
        self.current
    }

    /// Forgets the kept decisions (the total and the current count stay).
    pub fn clear(&mut self) {
        self.log.clear();
    }

    fn record(&mut self, decision: &Decision) -> Applied {
        if self.capacity > 0 {
            if self.log.len() >= self.capacity {
                self.log.pop_front();
            }
            self.log.push_back(decision.clone());
        }
        self.total = self.total.saturating_add(1);
        self.current = decision.target;
        Applied {
            target: decision.target,
        }
    }
}

impl Actuator for DryRun {
    fn name(&self) -> &str {
        "dry-run"
    }

    fn status(&mut self, _now: Timestamp) -> Result<PoolStatus, ActuateError> {
        Ok(PoolStatus::settled(self.current))
    }

    fn scale(&mut self, _now: Timestamp, decision: &Decision) -> Result<Applied, ActuateError> {
        Ok(self.record(decision))
    }
}

impl AsyncActuator for DryRun {
    fn name(&self) -> &str {
        "dry-run"
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

    #[test]
    fn status_reports_the_initial_count_then_the_last_target() {
        let mut dry = DryRun::new(3);
        assert_eq!(
            Actuator::status(&mut dry, Timestamp::EPOCH).unwrap(),
            PoolStatus::settled(3)
        );
        for (i, target) in [4, 6, 2].into_iter().enumerate() {
            let d = decision(i as i64, dry.current(), target);
            let applied = Actuator::scale(&mut dry, d.ts, &d).unwrap();
            assert_eq!(applied.target, target);
        }
        assert_eq!(
            Actuator::status(&mut dry, Timestamp::EPOCH).unwrap(),
            PoolStatus::settled(2)
        );
        let targets: Vec<u32> = dry.decisions().map(|d| d.target).collect();
        assert_eq!(targets, [4, 6, 2]);
    }

    #[test]
    fn keeps_only_the_last_capacity_decisions_but_counts_all() {
        let mut dry = DryRun::with_capacity(0, 3);
        for t in 1..=5 {
            let d = decision(i64::from(t), t - 1, t);
            Actuator::scale(&mut dry, d.ts, &d).unwrap();
        }
        assert_eq!(dry.total(), 5);
        let targets: Vec<u32> = dry.decisions().map(|d| d.target).collect();
        assert_eq!(targets, [3, 4, 5]);
        assert_eq!(dry.last().unwrap().target, 5);
        dry.clear();
        assert_eq!(dry.decisions().len(), 0);
        assert_eq!(dry.total(), 5);
        assert_eq!(dry.current(), 5);
    }

    #[test]
    fn capacity_zero_only_counts() {
        let mut dry = DryRun::with_capacity(1, 0);
        let d = decision(0, 1, 2);
        Actuator::scale(&mut dry, d.ts, &d).unwrap();
        assert_eq!(dry.total(), 1);
        assert!(dry.last().is_none());
        assert_eq!(dry.current(), 2);
    }

    #[test]
    fn default_capacity_is_ten_thousand() {
        assert_eq!(DryRun::new(0).capacity(), 10_000);
    }

    #[test]
    fn async_side_matches_the_blocking_side() {
        let mut dry = DryRun::new(1);
        let d = decision(0, 1, 7);
        let applied = block_on(AsyncActuator::scale(&mut dry, d.ts, &d)).unwrap();
        assert_eq!(applied.target, 7);
        let s = block_on(AsyncActuator::status(&mut dry, d.ts)).unwrap();
        assert_eq!(s, PoolStatus::settled(7));
        assert_eq!(dry.total(), 1);
    }
}
