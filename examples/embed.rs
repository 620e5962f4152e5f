//! Embedding prescient in a synchronous host: build a `Scaler`, feed it samples every tick,
//! implement `Actuator` for the platform, apply decisions.
//!
//! `cargo run -p prescient-examples --example embed`

#![allow(clippy::print_stdout)] // An example prints what it does.

use prescient::actuate::Applied;
use prescient::synth::{ServiceModel, WorkloadParams, generate};
use prescient::{ActuateError, Actuator, Decision, PlannerParams, PoolStatus, Scaler, Timestamp};

/// A platform with a start-up delay: what a host implements, here in memory.
struct Platform {
    desired: u32,
    /// When each requested worker starts serving.
    ready_at: Vec<Timestamp>,
    delay_secs: f64,
}

impl Actuator for Platform {
    fn name(&self) -> &str {
        "example-platform"
    }

    fn status(&mut self, now: Timestamp) -> Result<PoolStatus, ActuateError> {
        let ready = self.ready_at.iter().filter(|&&t| t <= now).count() as u32;
        Ok(PoolStatus {
            desired: self.desired,
            ready,
        })
    }

    fn scale(&mut self, now: Timestamp, d: &Decision) -> Result<Applied, ActuateError> {
        let target = d.target as usize;
        // New workers serve after the delay; removed workers go at once, newest first.
        while self.ready_at.len() < target {
            self.ready_at.push(now.add_secs(self.delay_secs));
        }
        self.ready_at.sort();
        self.ready_at.truncate(target);
        self.desired = d.target;
        Ok(Applied { target: d.target })
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Two days of a seeded synthetic web service stand in for the host's metrics.
    let workload = generate(&WorkloadParams::web_service(5).span_secs(2.0 * 86_400.0))?;
    let capacity = 15.0; // units per second one worker serves
    let mut service = ServiceModel::new(capacity, 5)?;

    let planner = PlannerParams::new(capacity)
        .target_utilisation(0.7)
        .bounds(2, 80)
        .lead_time_secs(120.0)
        .max_step(8, 2);
    let mut scaler = Scaler::builder(ServiceModel::schema("web")?, planner)
        .startup_delay_secs(90.0)
        .build()?;
    let mut platform = Platform {
        desired: 10,
        ready_at: vec![workload.start; 10],
        delay_secs: 90.0,
    };

    let mut changes = 0;
    for (ts, load) in workload.iter() {
        let pool = platform.status(ts)?;
        let metrics = service.observe(ts, load, pool.ready, &workload.active_anomalies(ts));
        let decision = scaler.tick(ts, &metrics.values(), pool)?;
        if decision.is_change() {
            changes += 1;
            if changes % 40 == 0 {
                println!(
                    "{}: {} -> {} workers ({}, severity {:?})",
                    ts, decision.current, decision.target, decision.reason, decision.severity
                );
            }
        }
        scaler.apply(&decision, &mut platform)?;
    }
    println!(
        "{changes} scaling decisions over {} ticks; {} workers at the end",
        scaler.ticks(),
        platform.desired
    );
    Ok(())
}
