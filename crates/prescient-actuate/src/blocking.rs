use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;

use prescient_core::{Decision, Timestamp};

use crate::{ActuateError, Actuator, Applied, AsyncActuator, PoolStatus};

/// An [`AsyncActuator`] that runs a blocking [`Actuator`] on a thread of its own for each call,
/// so that an async host never blocks its executor on a program or a slow client.
///
/// It needs no runtime: the returned futures are woken by the thread when the call is done, so
/// they work on tokio, any other executor, or a hand-written `block_on`. A thread per call is
/// cheap next to a scaling decision every few seconds; a host that already runs tokio may
/// instead call the actuator inside `tokio::task::spawn_blocking` (see the crate docs).
///
/// Nothing happens until a returned future is first polled. Once started, a call runs to its
/// end even if its future is dropped (a process cannot be half-scaled); the next call waits for
/// it. If the actuator panics, that call and every later one return [`ActuateError::Failed`].
///
/// # Example
///
/// ```
/// use prescient_actuate::{AsyncActuator, Blocking, Command};
///
/// // `Command` blocks while its program runs; `Blocking` makes it an async actuator.
/// let kubectl = Command::new("kubectl", ["scale", "deployment/web", "--replicas={target}"]);
/// let mut actuator = Blocking::new(kubectl);
/// assert_eq!(actuator.name(), "kubectl");
/// // In an async host: `actuator.scale(now, &decision).await?`
/// ```
#[derive(Debug)]
pub struct Blocking<A> {
    name: String,
    inner: Arc<Mutex<A>>,
}

impl<A: Actuator + Send + 'static> Blocking<A> {
    /// Wraps `actuator`.
    pub fn new(actuator: A) -> Self {
        Blocking {
            name: actuator.name().to_owned(),
            inner: Arc::new(Mutex::new(actuator)),
        }
    }

    /// Calls `f` with the wrapped actuator, blocking the caller while a call is running: for
    /// reading its state (a [`SimulatedPool`](crate::SimulatedPool)'s cost) between calls.
    pub fn with<R>(&self, f: impl FnOnce(&mut A) -> R) -> R {
        f(&mut lock(&self.inner))
    }

    /// The wrapped actuator, or `None` while a call whose future was dropped is still running.
    pub fn into_inner(self) -> Option<A> {
        let mutex = Arc::try_unwrap(self.inner).ok()?;
        Some(mutex.into_inner().unwrap_or_else(PoisonError::into_inner))
    }

    /// A future that runs `f` on the actuator on a new thread when first polled.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut A) -> Result<T, ActuateError> + Send + 'static,
    ) -> Call<T> {
        let inner = Arc::clone(&self.inner);
        let name = self.name.clone();
        let job = move || {
            // The guard lives inside the unwinding closure, so a panic poisons the mutex and
            // later calls refuse an actuator left in an unknown state.
            let run = AssertUnwindSafe(|| {
                let mut actuator = inner.lock().map_err(|_| {
                    ActuateError::failed(name.as_str(), "the actuator panicked in an earlier call")
                })?;
                f(&mut actuator)
            });
            match catch_unwind(run) {
                Ok(result) => result,
                Err(_) => Err(ActuateError::failed(name.as_str(), "the actuator panicked")),
            }
        };
        Call {
            job: Some(Box::new(job)),
            slot: Arc::new(Mutex::new(Slot {
                result: None,
                waker: None,
            })),
        }
    }
}

impl<A: Actuator + Send + 'static> AsyncActuator for Blocking<A> {
    fn name(&self) -> &str {
        &self.name
    }

    fn status(
        &mut self,
        now: Timestamp,
    ) -> impl Future<Output = Result<PoolStatus, ActuateError>> + Send {
        self.call(move |a| a.status(now))
    }

    fn scale(
        &mut self,
        now: Timestamp,
        decision: &Decision,
    ) -> impl Future<Output = Result<Applied, ActuateError>> + Send {
        let decision = decision.clone();
        self.call(move |a| a.scale(now, &decision))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The slot's data is valid whatever a panicking holder did, and `with` is for inspection.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

type Job<T> = Box<dyn FnOnce() -> Result<T, ActuateError> + Send>;

/// Where the thread leaves its result and finds whom to wake.
struct Slot<T> {
    result: Option<Result<T, ActuateError>>,
    waker: Option<Waker>,
}

/// The future of one [`Blocking`] call.
struct Call<T> {
    job: Option<Job<T>>,
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T: Send + 'static> Future for Call<T> {
    type Output = Result<T, ActuateError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(job) = self.job.take() {
            let slot = Arc::clone(&self.slot);
            let spawned = thread::Builder::new()
                .name("prescient-actuate".into())
                .spawn(move || {
                    let result = job();
                    let waker = {
                        let mut s = lock(&slot);
                        s.result = Some(result);
                        s.waker.take()
                    };
                    if let Some(w) = waker {
                        w.wake();
                    }
                });
            if let Err(e) = spawned {
                return Poll::Ready(Err(ActuateError::Io(e)));
            }
        }
        // The thread stores its result and takes the waker under the same lock, so either the
        // result is here or the thread will find this waker: no wake-up is lost.
        let mut s = lock(&self.slot);
        match s.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                match &mut s.waker {
                    Some(w) => w.clone_from(cx.waker()),
                    None => s.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{block_on, decision};
    use crate::{DryRun, SimulatedPool};

    #[test]
    fn runs_a_blocking_actuator_to_completion() {
        let mut b = Blocking::new(SimulatedPool::new(1, 10.0).unwrap());
        assert_eq!(AsyncActuator::name(&b), "simulated-pool");
        let d = decision(0, 1, 4);
        let applied = block_on(b.scale(d.ts, &d)).unwrap();
        assert_eq!(applied.target, 4);
        let s = block_on(b.status(Timestamp::from_secs(5))).unwrap();
        assert_eq!(
            s,
            PoolStatus {
                desired: 4,
                ready: 1
            }
        );
        assert_eq!(b.with(|p| p.worker_seconds()), 20.0);
        assert_eq!(b.into_inner().unwrap().scale_events(), 1);
    }

    #[test]
    fn errors_come_through() {
        let mut pool = SimulatedPool::new(1, 0.0).unwrap();
        pool.fail_next(1);
        let mut b = Blocking::new(pool);
        let d = decision(0, 1, 2);
        assert!(matches!(
            block_on(b.scale(d.ts, &d)),
            Err(ActuateError::Failed { .. })
        ));
        assert!(block_on(b.scale(d.ts, &d)).is_ok());
    }

    #[test]
    fn a_future_dropped_before_polling_does_nothing() {
        let mut b = Blocking::new(DryRun::new(1));
        let d = decision(0, 1, 9);
        drop(b.scale(d.ts, &d));
        assert_eq!(b.with(|dry| dry.total()), 0);
    }

    struct Panicky;

    impl Actuator for Panicky {
        fn name(&self) -> &str {
            "panicky"
        }

        fn status(&mut self, _now: Timestamp) -> Result<PoolStatus, ActuateError> {
            Ok(PoolStatus::settled(1))
        }

        fn scale(&mut self, _now: Timestamp, _d: &Decision) -> Result<Applied, ActuateError> {
            panic!("platform client bug")
        }
    }

    #[test]
    fn a_panicking_actuator_fails_instead_of_hanging() {
        let mut b = Blocking::new(Panicky);
        let d = decision(0, 1, 2);
        let e = block_on(b.scale(d.ts, &d)).unwrap_err();
        assert!(e.to_string().contains("panicked"), "{e}");
        let e = block_on(b.status(d.ts)).unwrap_err();
        assert!(e.to_string().contains("earlier call"), "{e}");
    }
}
