use prescient_core::{Decision, Timestamp};

use crate::ActuateError;

/// What the platform has now.
///
/// `ready` may briefly exceed `desired` on a real platform (workers still draining after a
/// scale-down); the actuators of this crate never report that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PoolStatus {
    /// Workers requested, including those still starting.
    pub desired: u32,
    /// Workers serving.
    pub ready: u32,
}

impl PoolStatus {
    /// A pool whose `n` workers are all serving.
    ///
    /// # Example
    ///
    /// ```
    /// use prescient_actuate::PoolStatus;
    ///
    /// assert_eq!(PoolStatus::settled(3), PoolStatus { desired: 3, ready: 3 });
    /// ```
    pub const fn settled(n: u32) -> Self {
        PoolStatus {
            desired: n,
            ready: n,
        }
    }

    /// Workers requested but not serving yet (`desired - ready`, or 0).
    pub const fn starting(&self) -> u32 {
        self.desired.saturating_sub(self.ready)
    }

    /// Whether every requested worker is serving.
    pub const fn is_settled(&self) -> bool {
        self.ready >= self.desired
    }
}

/// What an actuator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Applied {
    /// The worker count the platform accepted; it may differ from the decision's target when
    /// the platform clamps requests (a quota, a node limit).
    pub target: u32,
}

/// Applies scaling decisions to a platform, blocking until the platform has answered.
///
/// `scale` sets the platform's desired count to `decision.target`: it must be idempotent
/// (called again with the same target it changes nothing), because a host may repeat a decision
/// after an error. It need not wait for the new workers to serve; [`Actuator::status`] reports
/// how many do.
///
/// The trait is object safe, so a host can hold `Box<dyn Actuator + Send>`. Operations beyond
/// counts will be added as *provided* methods that return [`ActuateError::Unsupported`] by
/// default (see the crate docs), so an implementation needs only these three methods.
///
/// # Example
///
/// ```
/// use prescient_actuate::{Actuator, DryRun};
/// # use prescient_core::{Decision, Reason, ReasonCode, Severity, Timestamp};
/// # let decision = Decision { ts: Timestamp::from_secs(60), current: 2, target: 5,
/// #     severity: Severity::None, forecast: None, forecast_need: Some(5), reactive_need: None,
/// #     anomaly_need: None, reason: Reason::new(ReasonCode::Forecast), regime: None };
///
/// let mut actuator: Box<dyn Actuator + Send> = Box::new(DryRun::new(2));
/// let applied = actuator.scale(decision.ts, &decision)?;
/// assert_eq!(applied.target, 5);
/// assert_eq!(actuator.status(decision.ts)?.desired, 5);
/// # Ok::<(), prescient_actuate::ActuateError>(())
/// ```
pub trait Actuator {
    /// A short name for logs and errors (`"dry-run"`, `"kubectl"`).
    fn name(&self) -> &str;

    /// The platform's current counts, observed at `now`.
    ///
    /// # Errors
    ///
    /// Whatever stopped the platform from answering: [`ActuateError::Failed`],
    /// [`ActuateError::Timeout`], [`ActuateError::Parse`], [`ActuateError::Io`], ...
    fn status(&mut self, now: Timestamp) -> Result<PoolStatus, ActuateError>;

    /// Moves the platform to `decision.target` workers, at `now`.
    ///
    /// # Errors
    ///
    /// Whatever stopped the platform from accepting the target; the platform's count is then
    /// unknown, so a host should read [`Actuator::status`] before the next decision.
    fn scale(&mut self, now: Timestamp, decision: &Decision) -> Result<Applied, ActuateError>;
}

/// [`Actuator`] for hosts that run an async runtime (tokio or any other): the same operations,
/// returning `Send` futures so that a multi-threaded runtime can move them between threads.
///
/// Implement it directly for a platform with an async client (`async fn` works in the impl), or
/// wrap a blocking [`Actuator`] in [`Blocking`](crate::Blocking) (or call it inside
/// `tokio::task::spawn_blocking`). The in-process actuators of this crate implement both traits
/// because they never block.
///
/// Because its methods return `impl Future`, the trait is not object safe: hold the concrete
/// type or make the host generic over it.
///
/// With both traits in scope the method names are ambiguous; import only the one you need, or
/// call with the path, `AsyncActuator::scale(&mut a, now, &d)`.
pub trait AsyncActuator {
    /// A short name for logs and errors.
    fn name(&self) -> &str;

    /// The platform's current counts, observed at `now`.
    ///
    /// # Errors
    ///
    /// As [`Actuator::status`].
    fn status(
        &mut self,
        now: Timestamp,
    ) -> impl Future<Output = Result<PoolStatus, ActuateError>> + Send;

    /// Moves the platform to `decision.target` workers, at `now`.
    ///
    /// # Errors
    ///
    /// As [`Actuator::scale`].
    fn scale(
        &mut self,
        now: Timestamp,
        decision: &Decision,
    ) -> impl Future<Output = Result<Applied, ActuateError>> + Send;
}

// Forwarding impls. Any provided method added to the traits later must be forwarded here too,
// or a `Box<A>` would silently use the default instead of `A`'s own implementation.

impl<A: Actuator + ?Sized> Actuator for &mut A {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn status(&mut self, now: Timestamp) -> Result<PoolStatus, ActuateError> {
        (**self).status(now)
    }

    fn scale(&mut self, now: Timestamp, decision: &Decision) -> Result<Applied, ActuateError> {
        (**self).scale(now, decision)
    }
}

impl<A: Actuator + ?Sized> Actuator for Box<A> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn status(&mut self, now: Timestamp) -> Result<PoolStatus, ActuateError> {
        (**self).status(now)
    }

    fn scale(&mut self, now: Timestamp, decision: &Decision) -> Result<Applied, ActuateError> {
        (**self).scale(now, decision)
    }
}

impl<A: AsyncActuator> AsyncActuator for &mut A {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn status(
        &mut self,
        now: Timestamp,
    ) -> impl Future<Output = Result<PoolStatus, ActuateError>> + Send {
        (**self).status(now)
    }

    fn scale(
        &mut self,
        now: Timestamp,
        decision: &Decision,
    ) -> impl Future<Output = Result<Applied, ActuateError>> + Send {
        (**self).scale(now, decision)
    }
}

impl<A: AsyncActuator> AsyncActuator for Box<A> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn status(
        &mut self,
        now: Timestamp,
    ) -> impl Future<Output = Result<PoolStatus, ActuateError>> + Send {
        (**self).status(now)
    }

    fn scale(
        &mut self,
        now: Timestamp,
        decision: &Decision,
    ) -> impl Future<Output = Result<Applied, ActuateError>> + Send {
        (**self).scale(now, decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DryRun;
    use crate::test_util::{block_on, decision};

    #[test]
    fn pool_status_helpers() {
        let s = PoolStatus {
            desired: 5,
            ready: 3,
        };
        assert_eq!(s.starting(), 2);
        assert!(!s.is_settled());
        assert!(PoolStatus::settled(4).is_settled());
        assert_eq!(
            PoolStatus {
                desired: 1,
                ready: 2
            }
            .starting(),
            0
        );
    }

    #[test]
    fn boxed_and_borrowed_actuators_forward() {
        let mut inner = DryRun::new(1);
        {
            let mut by_ref: &mut DryRun = &mut inner;
            let d = decision(10, 1, 4);
            assert_eq!(Actuator::scale(&mut by_ref, d.ts, &d).unwrap().target, 4);
            assert_eq!(Actuator::name(&by_ref), "dry-run");
        }
        assert_eq!(inner.total(), 1);
        let mut boxed: Box<dyn Actuator + Send> = Box::new(inner);
        assert_eq!(boxed.status(Timestamp::from_secs(11)).unwrap().desired, 4);
    }

    #[test]
    fn async_forwarding_impls_work() {
        let mut boxed = Box::new(DryRun::new(2));
        let d = decision(5, 2, 3);
        let applied = block_on(AsyncActuator::scale(&mut boxed, d.ts, &d)).unwrap();
        assert_eq!(applied.target, 3);
        let mut by_ref = &mut boxed;
        let status = block_on(AsyncActuator::status(&mut by_ref, d.ts)).unwrap();
        assert_eq!(status, PoolStatus::settled(3));
        assert_eq!(AsyncActuator::name(&by_ref), "dry-run");
    }
}
