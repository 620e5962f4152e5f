//! Helpers shared by the unit tests: a decision builder and a minimal executor.

use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use prescient_core::{Decision, Reason, ReasonCode, Severity, Timestamp};

/// A decision at `secs` from `current` to `target` workers.
pub(crate) fn decision(secs: i64, current: u32, target: u32) -> Decision {
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

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `fut` to completion on this thread, parking while it is pending.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        // A wake-up before this park leaves the token set, so it is never lost.
        thread::park();
    }
}
