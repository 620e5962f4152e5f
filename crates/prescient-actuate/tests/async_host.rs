//! An async host as a user would write it, driven by a hand-written executor (no runtime crate):
//! a generic control loop over `AsyncActuator`, a user's own async actuator written with
//! `async fn`, and blocking actuators behind `Blocking`.

use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use prescient_actuate::{
    ActuateError, Applied, AsyncActuator, Blocking, Command, Decision, PoolStatus, SimulatedPool,
    Timestamp,
};
use prescient_core::{Reason, ReasonCode, Severity};

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

/// What a multi-threaded runtime's `spawn` demands of a task.
fn spawnable<F: Future + Send + 'static>(fut: F) -> F {
    fut
}

fn decision(secs: i64, current: u32, target: u32) -> Decision {
    Decision {
        ts: Timestamp::from_secs(secs),
        current,
        target,
        severity: Severity::None,
        forecast: None,
        forecast_need: Some(target),
        reactive_need: None,
        anomaly_need: None,
        reason: Reason::new(ReasonCode::Forecast),
        regime: None,
    }
}

/// A host's control loop: read the status, scale to the planned target, every 15 s.
async fn control_loop<A: AsyncActuator>(
    actuator: &mut A,
    plan: &[u32],
) -> Result<Vec<PoolStatus>, ActuateError> {
    let mut seen = Vec::new();
    for (i, &target) in plan.iter().enumerate() {
        let now = Timestamp::from_secs(15 * i as i64);
        let status = actuator.status(now).await?;
        seen.push(status);
        let applied = actuator
            .scale(
                now,
                &decision(now.as_millis() / 1000, status.desired, target),
            )
            .await?;
        assert_eq!(applied.target, target);
    }
    Ok(seen)
}

/// A user's platform with an async client; `async fn` satisfies the trait's `Send` futures.
struct AsyncPlatform {
    replicas: u32,
}

impl AsyncActuator for AsyncPlatform {
    fn name(&self) -> &str {
        "async-platform"
    }

    async fn status(&mut self, _now: Timestamp) -> Result<PoolStatus, ActuateError> {
        Ok(PoolStatus::settled(self.replicas))
    }

    async fn scale(&mut self, _now: Timestamp, d: &Decision) -> Result<Applied, ActuateError> {
        self.replicas = d.target;
        Ok(Applied { target: d.target })
    }
}

#[test]
fn a_user_async_actuator_runs_in_a_spawnable_task() {
    let task = spawnable(async {
        let mut platform = AsyncPlatform { replicas: 1 };
        control_loop(&mut platform, &[3, 5, 2]).await
    });
    let seen = block_on(task).unwrap();
    let desired: Vec<u32> = seen.iter().map(|s| s.desired).collect();
    assert_eq!(desired, [1, 3, 5]);
}

#[test]
fn simulated_pool_shows_starting_workers_to_an_async_host() {
    let task = spawnable(async {
        let mut pool = SimulatedPool::new(2, 20.0)?;
        let seen = control_loop(&mut pool, &[4, 4, 4]).await?;
        Ok::<_, ActuateError>((seen, pool.worker_seconds()))
    });
    let (seen, cost) = block_on(task).unwrap();
    // Requested at 0 s, serving from 20 s: still starting at 15 s, serving at 30 s.
    assert_eq!(
        seen[1],
        PoolStatus {
            desired: 4,
            ready: 2
        }
    );
    assert_eq!(seen[2], PoolStatus::settled(4));
    assert_eq!(cost, 4.0 * 30.0);
}

#[test]
fn a_blocking_command_runs_off_the_executor_thread() {
    let command = Command::new("sh", ["-c", "test {target} -ge 0"]).initial(1);
    let task = spawnable(async move {
        let mut actuator = Blocking::new(command);
        let seen = control_loop(&mut actuator, &[2, 3]).await?;
        Ok::<_, ActuateError>((seen, actuator.with(|c| c.last_applied())))
    });
    let (seen, last) = block_on(task).unwrap();
    assert_eq!(seen, [PoolStatus::settled(1), PoolStatus::settled(2)]);
    assert_eq!(last, 3);
}

#[test]
fn a_failing_command_reports_through_the_async_side() {
    let mut actuator = Blocking::new(Command::new("false", Vec::<String>::new()));
    let e = block_on(control_loop(&mut actuator, &[2])).unwrap_err();
    assert!(matches!(e, ActuateError::Failed { .. }), "{e}");
}
