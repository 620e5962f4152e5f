//! Embedding prescient in an async host: the actuator is an `AsyncActuator` (an HTTP call to a
//! cloud API in real life) and the host awaits `Scaler::apply_async`. prescient needs no
//! runtime: this example drives the future with a ten-line executor; a tokio service awaits it
//! in its own task.
//!
//! `cargo run -p prescient-examples --example async_host`

#![allow(clippy::print_stdout)] // An example prints what it does.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use prescient::actuate::Applied;
use prescient::{
    ActuateError, AsyncActuator, Decision, MetricRole, PlannerParams, PoolStatus, Scaler, Schema,
    Timestamp,
};

/// A cloud API reached asynchronously.
struct CloudApi {
    instances: u32,
}

impl AsyncActuator for CloudApi {
    fn name(&self) -> &str {
        "cloud-api"
    }

    async fn status(&mut self, _now: Timestamp) -> Result<PoolStatus, ActuateError> {
        Ok(PoolStatus::settled(self.instances))
    }

    async fn scale(&mut self, _now: Timestamp, d: &Decision) -> Result<Applied, ActuateError> {
        // `client.set_capacity(d.target).await?` in a real host.
        self.instances = d.target;
        Ok(Applied { target: d.target })
    }
}

async fn host() -> Result<u32, prescient::Error> {
    let schema = Schema::builder("jobs")
        .metric("jobs_per_s", MetricRole::Load)
        .build()?;
    let mut scaler = Scaler::builder(schema, PlannerParams::new(4.0).bounds(1, 64)).build()?;
    let mut api = CloudApi { instances: 1 };
    for i in 0..120 {
        let ts = Timestamp::from_secs(1_700_000_000 + 15 * i);
        let jobs = if i < 60 { 20.0 } else { 90.0 };
        let pool = api.status(ts).await?;
        let decision = scaler.tick(ts, &[jobs], pool)?;
        let outcome = scaler.apply_async(&decision, &mut api).await?;
        if decision.is_change() {
            println!("{ts}: {jobs} jobs/s -> {outcome:?} ({})", decision.reason);
        }
    }
    Ok(api.instances)
}

/// Polls a future to completion on this thread.
fn block_on<F: Future>(fut: F) -> F::Output {
    struct Thread(std::thread::Thread);
    impl Wake for Thread {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Thread(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => std::thread::park(),
        }
    }
}

fn main() -> Result<(), prescient::Error> {
    let instances = block_on(host())?;
    println!("{instances} instances at the end");
    Ok(())
}
