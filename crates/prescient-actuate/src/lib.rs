#![doc = include_str!("../README.md")]
//!
//! # Design
//!
//! **Counts, not deltas.** [`Actuator::scale`] sets the desired count to `decision.target`, so it
//! is idempotent: a host may repeat a decision after an error, or after restarting, without
//! scaling twice. [`Actuator::status`] reports `desired` (requested, including starting workers)
//! and `ready` (serving) separately, because the planner must not order the same workers again
//! while they start.
//!
//! **Blocking and async.** [`Actuator`] is a plain blocking trait, object safe, so the simplest
//! hosts (a CLI, a simulator, a thread per service) need no runtime and can hold
//! `Box<dyn Actuator + Send>`. [`AsyncActuator`] has the same methods returning `Send` futures,
//! for hosts on tokio or any other runtime. The in-process actuators ([`DryRun`],
//! [`SimulatedPool`]) implement both, since they never block; [`Command`] implements only the
//! blocking trait, since it waits for a process.
//!
//! A tokio service has three ways to drive an actuator:
//!
//! 1. Implement [`AsyncActuator`] for a platform with an async client; `async fn` works in the
//!    impl, as long as the future is `Send`.
//! 2. Wrap a blocking actuator in [`Blocking`], which runs each call on a thread of its own and
//!    wakes the task when done; it needs no runtime.
//! 3. Call the blocking actuator inside `tokio::task::spawn_blocking`, moving it in and back out
//!    (or sharing it behind an `Arc<Mutex<_>>`):
//!
//! ```ignore
//! // tokio is not a dependency of this crate, so this sketch is not compiled here.
//! let (actuator, applied) = tokio::task::spawn_blocking(move || {
//!     let applied = actuator.scale(now, &decision);
//!     (actuator, applied)
//! })
//! .await?;
//! let applied = applied?;
//! ```
//!
//! **Extending the traits.** Later versions add operations beyond worker counts — resource
//! vectors (CPU and memory per component) and pre-warm hints — as *provided* methods whose
//! default returns [`ActuateError::Unsupported`], on both traits:
//!
//! ```ignore
//! fn resize(&mut self, now: Timestamp, action: &ResourceAction) -> Result<Applied, ActuateError> {
//!     Err(ActuateError::Unsupported("resize"))
//! }
//! ```
//!
//! So an actuator written today, which only scales counts, keeps compiling, and a host that gets
//! `Unsupported` falls back to counts. Three choices here keep that door open: [`ActuateError`]
//! is `#[non_exhaustive]` and already has `Unsupported`; [`PoolStatus`] and [`Applied`] stay
//! about counts, and new operations bring their own input and output types instead of growing
//! these; and the forwarding impls (`&mut A`, `Box<A>`, [`Blocking`]) are the one place that must
//! forward each new method, or a wrapped actuator would silently report `Unsupported`.
//!
//! **Time.** Every method takes the time it acts at, as the rest of prescient does, so that a
//! replay, a simulation and a live service run the same code: [`SimulatedPool`] runs entirely on
//! that time. Only [`Command`] reads the clock, to keep a program's time limit.

mod actuator;
mod blocking;
mod command;
mod dry_run;
mod error;
mod guarded;
mod simulated;
#[cfg(test)]
mod test_util;

pub use actuator::{Actuator, Applied, AsyncActuator, PoolStatus};
pub use blocking::Blocking;
pub use command::Command;
pub use dry_run::DryRun;
pub use error::ActuateError;
pub use guarded::{Breaker, Guarded, RetryPolicy};
pub use simulated::SimulatedPool;

/// Re-exported from `prescient-core`, so that an actuator can be written against this crate
/// alone.
pub use prescient_core::{Decision, Timestamp};

#[cfg(test)]
mod autotraits {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn actuators_and_their_types_are_send_and_sync() {
        assert_send_sync::<DryRun>();
        assert_send_sync::<SimulatedPool>();
        assert_send_sync::<Command>();
        assert_send_sync::<Blocking<Command>>();
        assert_send_sync::<Blocking<SimulatedPool>>();
        assert_send_sync::<Guarded<Command>>();
        assert_send_sync::<ActuateError>();
        assert_send_sync::<PoolStatus>();
        assert_send_sync::<Applied>();
    }

    #[test]
    fn actuator_is_object_safe() {
        let actuators: Vec<Box<dyn Actuator + Send>> = vec![
            Box::new(DryRun::new(1)),
            Box::new(SimulatedPool::new(1, 0.0).unwrap()),
            Box::new(Command::new("true", ["{target}"])),
        ];
        let names: Vec<&str> = actuators.iter().map(|a| a.name()).collect();
        assert_eq!(names, ["dry-run", "simulated-pool", "true"]);
    }
}
