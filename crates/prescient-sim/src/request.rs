//! The request-level variant of the scaling benchmark: per-request arrivals (the Azure LLM
//! inference traces) served by workers one request at a time from a shared FIFO queue, with a
//! latency SLO, while a [`Policy`] scales the pool every step exactly as in [`crate::simulate`].
//!
//! # Model
//!
//! **Service time.** A request's work, in *reference service-seconds*, is a linear model of LLM
//! inference in its tokens:
//!
//! ```text
//! work = prefill_secs_per_token · context + decode_secs_per_token · generated + overhead_secs
//! ```
//!
//! The defaults (0.0002 s per prompt token, 0.02 s per generated token, 0.05 s per request) are
//! assumptions of the order of a mid-sized model on one accelerator, not measurements; they are
//! [`RequestParams`] settings.
//!
//! **Demand and capacity.** The demand the policies see is the *work rate*: the work of the
//! requests arriving in each step (counted in the step of its arrival, steps of
//! [`SimParams::step_secs`] from the first arrival's whole second), divided by the step length.
//! That trace becomes an ordinary [`Scenario`], so the policies, [`crate::by_name`], the bounds
//! and the oracle's cost are those of the trace-level benchmark unchanged. The scenario
//! normalises the per-worker capacity to `c = mean(work rate) / 14` (mean demand needs 20
//! workers at 70%). To stay consistent with that, **a worker's speed is `c`**: it gets through
//! `c` reference service-seconds per second, so a request with work `w` occupies a worker for
//! `w / c` seconds. That scaled time is the request's *service time* everywhere below (in the
//! latencies, the SLO and [`RequestScenario::service_secs`]). The shape of the service-time
//! distribution is the token model's; only its unit is the scenario's.
//!
//! **Serving.** Each ready worker serves one request at a time; all workers share one FIFO queue
//! (an M/G/k-style system whose k the policy sets). A free ready worker takes the head of the
//! queue at once. The simulation is event by event and exact: arrivals, completions and changes
//! of the ready count are processed in time order (at one instant: completions, then the change
//! of the ready count, then arrivals), with no per-step approximation of service.
//!
//! **Scaling.** Every step the policy decides from the same [`Observation`] as in
//! [`crate::simulate`] (the work rate averaged over the 60 s before the step, the utilisation of
//! the ready workers, the pool, the history), and its clamped target is applied to a
//! [`SimulatedPool`]. The ready count follows the pool exactly, including workers that become
//! ready within a step (a start-up delay that is not a multiple of the step). The pool starts
//! with the first simulated step's need, all serving, and that pool also serves the requests
//! that arrive before the first simulated step (the metric window's history).
//!
//! **Scale-in.** When the ready count drops, idle workers are removed first (as a request-aware
//! drain would). If busy workers must go, those whose request started most recently go first
//! (the least work lost); their requests are *preempted*: they go back to the head of the queue
//! (in arrival order, ahead of the requests that were waiting) and start again from the
//! beginning, since a killed inference has to be redone. Their latency still counts from their
//! arrival.
//!
//! **SLO.** A request violates its SLO when its latency (completion − arrival) exceeds
//! `slo_factor · its service time + slo_slack_secs` (defaults 2 and 1 s: it may wait about as
//! long as it is served, plus a second). Requests unfinished when the trace ends count as
//! violations, with latency = end − arrival.
//!
//! **Measured part.** As in the trace-level benchmark the warm-up is the first
//! `min(7 days, half the trace)`; the metrics cover the requests that arrive after it, and the
//! cost, actions and flips cover the steps after it.
//!
//! # What to keep in mind when reading the numbers
//!
//! - The policies, the oracle included, see and plan for the work *arriving* per step, as in the
//!   trace-level (fluid) model; they know nothing of the queue. The oracle provisions exactly
//!   the arriving work rate, that is 100% utilisation, so here it queues and violates the SLO
//!   like any policy that runs hot; it stays the reference of the cost ratio
//!   ([`oracle_worker_hours`]), not of latency.
//! - A request's work is counted in the step of its arrival although it is served over its
//!   service time, which may span steps.
//! - Requests that arrive shortly before the end and cannot finish by then are violations even
//!   with idle workers (for the Azure traces, a few per thousand measured requests).
//! - On a trace of about an hour the warm-up is half an hour: far too little history for a
//!   seasonal forecast, so the predictive policies act mostly on their reactive parts.

use std::collections::VecDeque;

use prescient::Actuator;
use prescient::Timestamp;
use prescient::actuate::SimulatedPool;
use prescient_eval::trace::{Arrivals, Trace};

use crate::policy::Policy;
use crate::run::{Stopwatch, Timeline, oracle_worker_hours};
use crate::scenario::{Scenario, SimParams};
use crate::{Result, SimError};

/// The most steps a request scenario may have (about 32 years of 15 s steps): a guard against
/// allocating for absurd timestamps.
const MAX_STEPS: f64 = 67_108_864.0;

/// The service-time model and the SLO of the request-level simulation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RequestParams {
    /// Reference service-seconds per prompt (context) token (0.0002, an assumption).
    pub prefill_secs_per_token: f64,
    /// Reference service-seconds per generated token (0.02, an assumption).
    pub decode_secs_per_token: f64,
    /// Reference service-seconds every request costs besides its tokens (0.05, an assumption).
    pub overhead_secs: f64,
    /// A request violates the SLO when its latency exceeds this multiple of its own service time
    /// plus [`RequestParams::slo_slack_secs`] (2).
    pub slo_factor: f64,
    /// The SLO's allowance on top of the multiple of the service time, in seconds (1).
    pub slo_slack_secs: f64,
}

impl Default for RequestParams {
    fn default() -> Self {
        RequestParams {
            prefill_secs_per_token: 0.0002,
            decode_secs_per_token: 0.02,
            overhead_secs: 0.05,
            slo_factor: 2.0,
            slo_slack_secs: 1.0,
        }
    }
}

impl RequestParams {
    /// The work of a request with `context` prompt tokens and `generated` output tokens, in
    /// reference service-seconds.
    pub fn work(&self, context: f64, generated: f64) -> f64 {
        self.prefill_secs_per_token * context
            + self.decode_secs_per_token * generated
            + self.overhead_secs
    }

    /// The longest latency within the SLO for a request of service time `service_secs`.
    pub fn slo_secs(&self, service_secs: f64) -> f64 {
        self.slo_factor * service_secs + self.slo_slack_secs
    }

    fn check(&self) -> Result<()> {
        let settings = [
            ("prefill_secs_per_token", self.prefill_secs_per_token),
            ("decode_secs_per_token", self.decode_secs_per_token),
            ("overhead_secs", self.overhead_secs),
            ("slo_factor", self.slo_factor),
            ("slo_slack_secs", self.slo_slack_secs),
        ];
        for (name, v) in settings {
            if !(v.is_finite() && v >= 0.0) {
                return Err(SimError::InvalidParam {
                    name,
                    reason: format!("must be finite and at least 0, got {v}"),
                });
            }
        }
        Ok(())
    }
}

/// Per-request arrivals set up for replay: the work-rate [`Scenario`] the policies scale for,
/// and each request's arrival and service time on the simulation's clock.
#[derive(Debug, Clone)]
pub struct RequestScenario {
    scenario: Scenario,
    params: RequestParams,
    arrival_secs: Vec<f64>,
    service_secs: Vec<f64>,
    end_secs: f64,
    measured_from_secs: f64,
}

impl RequestScenario {
    /// Sets `arrivals` up for replay: service times from `params`, the work-rate scenario from
    /// `sim` (see the module documentation).
    ///
    /// # Errors
    ///
    /// As [`RequestScenario::from_parts`].
    pub fn new(arrivals: &Arrivals, params: RequestParams, sim: SimParams) -> Result<Self> {
        Self::from_parts(
            arrivals.name(),
            &arrivals.times,
            &arrivals.context_tokens,
            &arrivals.generated_tokens,
            params,
            sim,
        )
    }

    /// Sets up requests given column by column: arrival times (seconds, non-decreasing),
    /// context and generated tokens.
    ///
    /// # Errors
    ///
    /// [`SimError::InvalidParam`] for a negative or non-finite setting of `params` or `sim`;
    /// [`SimError::Trace`] when there is no request, the columns differ in length, a time or a
    /// token count is not finite (or a count is negative), times go back, the arrivals span less
    /// than two steps (all at one instant, say) or absurdly many, their total work is 0, or the
    /// work-rate trace is too short for the scenario's metric window.
    pub fn from_parts(
        name: &str,
        times: &[f64],
        context_tokens: &[f64],
        generated_tokens: &[f64],
        params: RequestParams,
        sim: SimParams,
    ) -> Result<Self> {
        params.check()?;
        let bad = |reason: String| SimError::Trace(format!("{name}: {reason}"));
        let n = times.len();
        if n == 0 {
            return Err(bad("no request".into()));
        }
        if context_tokens.len() != n || generated_tokens.len() != n {
            return Err(bad(format!(
                "{n} arrival times but {} context and {} generated token counts",
                context_tokens.len(),
                generated_tokens.len()
            )));
        }
        for (i, &t) in times.iter().enumerate() {
            if !t.is_finite() || (i > 0 && t < times[i - 1]) {
                return Err(bad(format!(
                    "arrival {i} at {t} is not finite or before the previous one"
                )));
            }
        }
        let mut work = Vec::with_capacity(n);
        for (i, (&c, &g)) in context_tokens.iter().zip(generated_tokens).enumerate() {
            if !(c.is_finite() && c >= 0.0 && g.is_finite() && g >= 0.0) {
                return Err(bad(format!(
                    "request {i} has token counts {c} and {g}; they must be finite and at least 0"
                )));
            }
            work.push(params.work(c, g));
        }
        let total: f64 = work.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            return Err(bad(format!(
                "the requests' total work is {total} s; nothing to scale"
            )));
        }
        // The scenario validates `sim` too, but the bins need a usable step first.
        let step = sim.step_secs;
        if !(step.is_finite() && step > 0.0) {
            return Err(SimError::InvalidParam {
                name: "step_secs",
                reason: format!("must be positive and finite, got {step}"),
            });
        }
        // The grid starts at the first arrival's whole second, so that every bin's start is an
        // exact integer number of seconds and the scenario's resampling reproduces the bins.
        let origin = times[0].floor();
        let arrival_secs: Vec<f64> = times.iter().map(|&t| t - origin).collect();
        let last = arrival_secs[n - 1];
        if last / step >= MAX_STEPS {
            return Err(bad(format!(
                "the arrivals span {last} s, more than {MAX_STEPS} steps of {step} s"
            )));
        }
        let bins = (last / step).floor() as usize + 1;
        if bins < 2 {
            return Err(bad(format!(
                "the arrivals span {last} s, less than two steps of {step} s"
            )));
        }
        let mut rate = vec![0.0; bins];
        for (&a, &w) in arrival_secs.iter().zip(&work) {
            let k = ((a / step).floor() as usize).min(bins - 1);
            rate[k] += w / step;
        }
        let bin_times = (0..bins).map(|k| origin + k as f64 * step).collect();
        let trace = Trace::new(name, bin_times, rate)?;
        let scenario = Scenario::new(&trace, sim)?;
        if scenario.len() != bins {
            return Err(bad(format!(
                "the work-rate trace has {bins} steps but its scenario {}",
                scenario.len()
            )));
        }
        let speed = scenario.capacity().per_worker;
        let service_secs = work.iter().map(|&w| w / speed).collect();
        Ok(RequestScenario {
            end_secs: bins as f64 * step,
            measured_from_secs: scenario.warmup_steps() as f64 * step,
            scenario,
            params,
            arrival_secs,
            service_secs,
        })
    }

    /// The work-rate scenario the policies scale for.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The service-time model and the SLO.
    pub fn params(&self) -> &RequestParams {
        &self.params
    }

    /// A worker's speed: the reference service-seconds it gets through per second, which is the
    /// scenario's per-worker capacity `c`.
    pub fn worker_speed(&self) -> f64 {
        self.scenario.capacity().per_worker
    }

    /// Each request's arrival, in seconds from the scenario's first step.
    pub fn arrival_secs(&self) -> &[f64] {
        &self.arrival_secs
    }

    /// Each request's service time on a worker, in seconds (its work over the worker speed).
    pub fn service_secs(&self) -> &[f64] {
        &self.service_secs
    }

    /// The number of requests.
    pub fn len(&self) -> usize {
        self.arrival_secs.len()
    }

    /// Whether there is no request (never true for a built scenario).
    pub fn is_empty(&self) -> bool {
        self.arrival_secs.is_empty()
    }

    /// When the simulation ends, in seconds from the first step: the end of the last step.
    pub fn end_secs(&self) -> f64 {
        self.end_secs
    }

    /// The end of the warm-up, in seconds from the first step: requests arriving then or later
    /// are measured.
    pub fn measured_from_secs(&self) -> f64 {
        self.measured_from_secs
    }
}

/// The request-level metrics of one policy, over the requests that arrive after the warm-up
/// (latencies) and the steps after it (cost and stability).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RequestMetrics {
    /// Requests measured.
    pub requests: u64,
    /// Measured requests not finished when the trace ends.
    pub unfinished: u64,
    /// Preemptions of measured requests by scale-ins (a request preempted twice counts twice).
    pub preempted: u64,
    /// The median latency, in seconds.
    pub p50_s: f64,
    /// The 90th percentile of latency, in seconds.
    pub p90_s: f64,
    /// The 99th percentile of latency, in seconds.
    pub p99_s: f64,
    /// The share of measured requests that violate the SLO (unfinished ones included), in
    /// percent.
    pub slo_violation_pct: f64,
    /// The mean time from arrival to the start of the (last) service, in seconds; for a request
    /// never started, until the end.
    pub mean_wait_s: f64,
    /// Worker-hours paid over the measured steps, counting workers still starting.
    pub worker_hours: f64,
    /// Worker-hours over the oracle's ([`oracle_worker_hours`] of the work-rate scenario).
    pub cost_ratio: f64,
    /// Steps that changed the requested count, per day.
    pub actions_per_day: f64,
    /// Changes of direction, per day.
    pub flips_per_day: f64,
    /// The median time the policy took to decide, in microseconds.
    pub decision_p50_us: f64,
    /// The 99th percentile of the time the policy took to decide, in microseconds.
    pub decision_p99_us: f64,
}

/// One policy's request-level replay.
#[derive(Debug, Clone)]
pub struct RequestRun {
    /// The policy's name.
    pub policy: String,
    /// The metrics.
    pub metrics: RequestMetrics,
    /// Every simulated step (indices from [`Scenario::first_step`]).
    pub timeline: Timeline,
    /// Every request's latency in seconds (end − arrival for an unfinished one), warm-up
    /// included.
    pub latency_secs: Vec<f64>,
    /// Whether each request finished before the end.
    pub finished: Vec<bool>,
}

/// A request on a worker.
#[derive(Debug, Clone, Copy)]
struct Busy {
    req: usize,
    start: f64,
    finish: f64,
}

/// The queue and the workers: the event-by-event part of the simulation. Times are seconds
/// from the scenario's first step.
#[derive(Debug)]
struct Server<'a> {
    arrival: &'a [f64],
    service: &'a [f64],
    next_arrival: usize,
    /// Waiting requests, in arrival order (preempted ones go back to the front, and they
    /// arrived before every waiting one, since service is first come, first served).
    queue: VecDeque<usize>,
    busy: Vec<Busy>,
    ready: usize,
    /// The start of each request's latest service (NaN if none, or preempted since).
    start: Vec<f64>,
    /// Each request's completion (NaN while unfinished).
    finish: Vec<f64>,
    preemptions: Vec<u32>,
}

impl<'a> Server<'a> {
    fn new(arrival: &'a [f64], service: &'a [f64], ready: usize) -> Self {
        Server {
            arrival,
            service,
            next_arrival: 0,
            queue: VecDeque::new(),
            busy: Vec::new(),
            ready,
            start: vec![f64::NAN; arrival.len()],
            finish: vec![f64::NAN; arrival.len()],
            preemptions: vec![0; arrival.len()],
        }
    }

    /// The busy worker that finishes first (ties: the earlier request), as an index into `busy`.
    fn next_completion(&self) -> Option<usize> {
        (0..self.busy.len()).min_by(|&a, &b| {
            let (x, y) = (self.busy[a], self.busy[b]);
            x.finish.total_cmp(&y.finish).then(x.req.cmp(&y.req))
        })
    }

    fn complete(&mut self, i: usize) -> f64 {
        let b = self.busy.swap_remove(i);
        self.finish[b.req] = b.finish;
        b.finish
    }

    /// Free ready workers take the head of the queue at `now`.
    fn dispatch(&mut self, now: f64) {
        while self.busy.len() < self.ready {
            let Some(req) = self.queue.pop_front() else {
                break;
            };
            self.start[req] = now;
            self.busy.push(Busy {
                req,
                start: now,
                finish: now + self.service[req],
            });
        }
    }

    /// Completes every request that finishes at or before `t`, without starting new ones: the
    /// caller changes the ready count at `t` next, and then dispatches.
    fn complete_until(&mut self, t: f64) {
        while let Some(i) = self.next_completion() {
            if self.busy[i].finish > t {
                break;
            }
            self.complete(i);
        }
    }

    /// Sets the ready count at `now`, preempting the most recently started requests if there are
    /// fewer ready workers than busy ones, and dispatches.
    fn set_ready(&mut self, now: f64, ready: usize) {
        self.ready = ready;
        let mut back = Vec::new();
        while self.busy.len() > ready {
            let Some(i) = (0..self.busy.len()).max_by(|&a, &b| {
                let (x, y) = (self.busy[a], self.busy[b]);
                x.start.total_cmp(&y.start).then(x.req.cmp(&y.req))
            }) else {
                break;
            };
            let b = self.busy.swap_remove(i);
            self.start[b.req] = f64::NAN;
            self.preemptions[b.req] += 1;
            back.push(b.req);
        }
        // Latest arrival pushed first, so the earliest ends up at the head.
        back.sort_unstable();
        for &req in back.iter().rev() {
            self.queue.push_front(req);
        }
        self.dispatch(now);
    }

    /// Processes, in time order, the completions before `end` and the arrivals before `end`,
    /// with the ready count unchanged.
    fn run_until(&mut self, end: f64) {
        loop {
            let completion = self
                .next_completion()
                .filter(|&i| self.busy[i].finish < end);
            let arrival = (self.next_arrival < self.arrival.len())
                .then(|| self.arrival[self.next_arrival])
                .filter(|&a| a < end);
            match (completion, arrival) {
                (Some(i), a) if a.is_none_or(|a| self.busy[i].finish <= a) => {
                    let now = self.complete(i);
                    self.dispatch(now);
                }
                (_, Some(a)) => {
                    self.queue.push_back(self.next_arrival);
                    self.next_arrival += 1;
                    self.dispatch(a);
                }
                _ => break,
            }
        }
    }
}

/// Replays the requests of `rs` against `policy`. `stopwatch` times each decision (pass
/// [`crate::no_stopwatch`] to skip timing).
///
/// # Errors
///
/// [`SimError::Actuate`] if the simulated pool refuses a step (it never does for valid
/// settings), and [`SimError::Trace`] if the stopwatch does not run the policy.
pub fn simulate_requests(
    rs: &RequestScenario,
    policy: &mut dyn Policy,
    stopwatch: Stopwatch<'_>,
) -> Result<RequestRun> {
    let scenario = &rs.scenario;
    let params = scenario.params();
    let first = scenario.first_step();
    let n = scenario.len();
    // The event clock counts seconds from the first step, and its step boundaries are the
    // arrivals' bins, `k · step`; the pool's clock is in whole milliseconds, and its times
    // within a step are converted (for the usual whole-millisecond steps, exactly).
    let step = params.step_secs;
    let origin_ms = scenario.time(0).as_millis();
    let rel = |ts: Timestamp| ts.as_millis().saturating_sub(origin_ms) as f64 / 1000.0;
    let initial = scenario.need()[first];
    let mut pool = SimulatedPool::new(initial, params.startup_delay_secs)?;
    let mut server = Server::new(&rs.arrival_secs, &rs.service_secs, initial as usize);
    // Before the first simulated step the initial pool serves: there is no decision yet.
    server.run_until(first as f64 * step);
    let mut timeline = Timeline::default();
    let mut latencies = Vec::with_capacity(n - first);
    for k in first..n {
        let ts = scenario.time(k);
        // The policy decides and the pool is scaled exactly as in the trace-level replay.
        let micros = crate::run::step(
            scenario,
            k,
            &mut pool,
            policy,
            &mut *stopwatch,
            &mut timeline,
        )?;
        if k >= scenario.warmup_steps() {
            latencies.push(micros);
        }
        // The step in segments of constant ready count: workers requested earlier may become
        // ready within it when the delay is not a multiple of the step.
        let step_end = scenario.time(k + 1);
        let end = (k + 1) as f64 * step;
        let (mut now, mut at) = (ts, k as f64 * step);
        loop {
            server.complete_until(at);
            server.set_ready(at, pool.ready_at(now) as usize);
            let change = pool.next_ready().filter(|&r| r < step_end);
            let until = change.map_or(end, |r| rel(r).clamp(at, end));
            server.run_until(until);
            match change {
                Some(r) => {
                    pool.status(r)?;
                    (now, at) = (r, until);
                }
                None => break,
            }
        }
    }
    server.complete_until(rs.end_secs);
    Ok(measure(
        rs,
        policy.name(),
        timeline,
        &server,
        &mut latencies,
    ))
}

fn measure(
    rs: &RequestScenario,
    policy: String,
    timeline: Timeline,
    server: &Server<'_>,
    decision_us: &mut [f64],
) -> RequestRun {
    let end = rs.end_secs;
    let mut latency_secs = Vec::with_capacity(rs.len());
    let mut finished = Vec::with_capacity(rs.len());
    let mut measured = Vec::new();
    let (mut unfinished, mut preempted, mut violations, mut wait) = (0u64, 0u64, 0u64, 0.0);
    for (i, &a) in rs.arrival_secs.iter().enumerate() {
        let done = server.finish[i].is_finite();
        let latency = if done { server.finish[i] } else { end } - a;
        latency_secs.push(latency);
        finished.push(done);
        if a < rs.measured_from_secs {
            continue;
        }
        measured.push(latency);
        let started = server.start[i];
        wait += if started.is_finite() { started } else { end } - a;
        preempted += u64::from(server.preemptions[i]);
        if !done {
            unfinished += 1;
        }
        if !done || latency > rs.params.slo_secs(rs.service_secs[i]) {
            violations += 1;
        }
    }
    measured.sort_by(f64::total_cmp);
    decision_us.sort_by(f64::total_cmp);
    let (actions, flips) = actions_and_flips(&rs.scenario, &timeline.provisioned);
    let scenario = &rs.scenario;
    let from = scenario.warmup_steps();
    let first = scenario.first_step();
    let worker_steps: u64 = timeline.provisioned[from - first..]
        .iter()
        .map(|&p| u64::from(p))
        .sum();
    let worker_hours = worker_steps as f64 * scenario.params().step_secs / 3600.0;
    let oracle = oracle_worker_hours(scenario);
    let days = scenario.measured_days();
    let count = measured.len() as f64;
    let metrics = RequestMetrics {
        requests: measured.len() as u64,
        unfinished,
        preempted,
        p50_s: quantile(&measured, 0.5),
        p90_s: quantile(&measured, 0.9),
        p99_s: quantile(&measured, 0.99),
        slo_violation_pct: ratio(100.0 * violations as f64, count),
        mean_wait_s: ratio(wait, count),
        worker_hours,
        cost_ratio: ratio(worker_hours, oracle),
        actions_per_day: ratio(actions as f64, days),
        flips_per_day: ratio(flips as f64, days),
        decision_p50_us: quantile(decision_us, 0.5),
        decision_p99_us: quantile(decision_us, 0.99),
    };
    RequestRun {
        policy,
        metrics,
        timeline,
        latency_secs,
        finished,
    }
}

/// Actions and direction flips over the measured steps, counted as [`crate::simulate`] does.
fn actions_and_flips(scenario: &Scenario, provisioned: &[u32]) -> (u64, u64) {
    let first = scenario.first_step();
    let (mut actions, mut flips, mut last_direction) = (0u64, 0u64, 0i8);
    for k in scenario.warmup_steps()..scenario.len() {
        let i = k - first;
        let p = provisioned[i];
        let previous = if i == 0 { p } else { provisioned[i - 1] };
        if p != previous {
            actions += 1;
            let direction = if p > previous { 1 } else { -1 };
            if last_direction != 0 && direction != last_direction {
                flips += 1;
            }
            last_direction = direction;
        }
    }
    (actions, flips)
}

/// The nearest-rank quantile of sorted values (0 for none), as in [`crate::simulate`].
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        0.0
    } else {
        sorted[((sorted.len() - 1) as f64 * q).round() as usize]
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use prescient::{Decision, ReasonCode};

    use super::*;
    use crate::policy::{Observation, decision};
    use crate::run::no_stopwatch;

    /// A policy that asks for a set count at each step (the last one from then on).
    struct Script(Vec<u32>);

    impl Policy for Script {
        fn name(&self) -> String {
            "script".into()
        }

        fn decide(&mut self, obs: &Observation<'_>) -> Decision {
            let i = obs.step.min(self.0.len() - 1);
            decision(obs, self.0[i], ReasonCode::Forecast)
        }
    }

    /// Service time = generated tokens in reference seconds, so that latencies are sums of a few
    /// service times.
    fn tokens_only() -> RequestParams {
        RequestParams {
            prefill_secs_per_token: 0.0,
            decode_secs_per_token: 1.0,
            overhead_secs: 0.0,
            ..RequestParams::default()
        }
    }

    /// No metric lag and no warm-up (every step simulated, every request measured), no start-up
    /// delay, and a worker speed of `mean work rate / workers`.
    fn plain(workers: f64) -> SimParams {
        SimParams {
            startup_delay_secs: 0.0,
            metric_lag_secs: 0.0,
            max_warmup_secs: 0.0,
            mean_workers: workers,
            reference_utilisation: 1.0,
            ..SimParams::default()
        }
    }

    fn scenario(times: &[f64], generated: &[f64], sim: SimParams) -> RequestScenario {
        let context = vec![0.0; times.len()];
        RequestScenario::from_parts("t", times, &context, generated, tokens_only(), sim).unwrap()
    }

    fn run(rs: &RequestScenario, targets: Vec<u32>) -> RequestRun {
        simulate_requests(rs, &mut Script(targets), &mut no_stopwatch).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn one_worker_serves_in_order_and_latencies_add_up() {
        // Three requests at once, and a fourth much later; 6 steps of 15 s.
        let rs = scenario(&[1000.0, 1001.0, 1002.0, 1080.0], &[4.0; 4], plain(0.25));
        assert_eq!(rs.scenario().len(), 6);
        // c = 4 · mean rate = 4 · 16 / 90, so each request is served in 4 / c = 5.625 s.
        let c = rs.worker_speed();
        assert!(close(c, 4.0 * 16.0 / 90.0));
        let s = 4.0 / c;
        assert!(close(s, 5.625));
        assert!(rs.service_secs().iter().all(|&x| close(x, s)));
        assert_eq!(rs.arrival_secs(), &[0.0, 1.0, 2.0, 80.0]);
        let one = run(&rs, vec![1]);
        let expected = [s, 2.0 * s - 1.0, 3.0 * s - 2.0, s];
        for (got, want) in one.latency_secs.iter().zip(expected) {
            assert!(close(*got, want), "{:?} != {expected:?}", one.latency_secs);
        }
        assert!(one.finished.iter().all(|&f| f));
        let m = one.metrics;
        assert_eq!((m.requests, m.unfinished, m.preempted), (4, 0, 0));
        // The SLO is 2 s + 1 = 12.25 s: only the third request (14.875 s) misses it.
        assert!(close(m.slo_violation_pct, 25.0));
        assert!(close(m.mean_wait_s, (3.0 * s - 3.0) / 4.0));
        // Nearest rank: p50 of the sorted latencies [s, s, 2s − 1, 3s − 2] is the third.
        assert!(close(m.p50_s, 2.0 * s - 1.0));
        assert!(close(m.p99_s, 3.0 * s - 2.0));
        // One worker for 6 steps of 15 s.
        assert!(close(m.worker_hours, 6.0 * 15.0 / 3600.0));

        // A second worker takes the second request at once.
        let two = run(&rs, vec![2]);
        let expected = [s, s, 2.0 * s - 2.0, s];
        for (got, want) in two.latency_secs.iter().zip(expected) {
            assert!(close(*got, want), "{:?} != {expected:?}", two.latency_secs);
        }
        assert_eq!(two.metrics.slo_violation_pct, 0.0);
        assert!(two.metrics.mean_wait_s < m.mean_wait_s);
    }

    #[test]
    fn requests_unfinished_at_the_end_count_as_violations() {
        // The last request arrives 10 s before the end and needs far more than that.
        let rs = scenario(&[0.0, 1.0, 2.0, 80.0], &[4.0, 4.0, 4.0, 40.0], plain(0.25));
        assert!(rs.service_secs()[3] > 10.0);
        let r = run(&rs, vec![2]);
        assert_eq!(r.finished, vec![true, true, true, false]);
        assert!(close(r.latency_secs[3], 10.0));
        assert_eq!(r.metrics.unfinished, 1);
        assert!(close(r.metrics.slo_violation_pct, 25.0));
        assert!(close(r.metrics.p99_s, 10.0));
    }

    #[test]
    fn a_scale_in_sends_the_latest_started_request_back_to_the_queue() {
        // c = mean rate = 8.1 / 90, so the two long requests take 44.4 s each and the small
        // one 1.11 s.
        let rs = scenario(&[0.0, 1.0, 80.0], &[4.0, 4.0, 0.1], plain(1.0));
        let s = rs.service_secs()[0];
        let small = rs.service_secs()[2];
        assert!(close(s, 4.0 * 90.0 / 8.1));
        // Two workers, one of them removed at 15 s and back (no start-up delay) at 30 s.
        let r = run(&rs, vec![2, 1, 2]);
        assert_eq!(r.timeline.ready[..3], [2, 1, 2]);
        // The second request loses its first 14 s of service and starts again at 30 s.
        let expected = [s, 30.0 + s - 1.0, small];
        for (got, want) in r.latency_secs.iter().zip(expected) {
            assert!(close(*got, want), "{:?} != {expected:?}", r.latency_secs);
        }
        assert_eq!(r.metrics.preempted, 1);
        assert!(close(r.metrics.mean_wait_s, 29.0 / 3.0));
        // Scale-in to one worker while one is idle preempts nothing.
        let r = run(&rs, vec![2, 2, 2, 2, 2, 1]);
        assert_eq!(r.metrics.preempted, 0);
        assert!(close(r.latency_secs[1], s));
    }

    #[test]
    fn a_request_that_finishes_as_its_worker_goes_is_finished_not_preempted() {
        // Work 15 s each and a mean rate of 0.5 s/s: c = 1 exactly, so both requests finish
        // at exactly 15 s, when the scale-in to one worker happens.
        let rs = scenario(&[0.0, 0.0, 75.0], &[15.0; 3], plain(0.5));
        assert_eq!(rs.worker_speed(), 1.0);
        let r = run(&rs, vec![2, 1]);
        assert_eq!(r.latency_secs, vec![15.0, 15.0, 15.0]);
        assert_eq!(r.metrics.preempted, 0);
    }

    #[test]
    fn workers_that_become_ready_within_a_step_start_serving_then() {
        let sim = SimParams {
            startup_delay_secs: 10.0,
            ..plain(1.0)
        };
        let rs = scenario(&[0.0, 1.0, 80.0], &[4.0, 4.0, 0.1], sim);
        let s = rs.service_secs()[0];
        // One worker, a second requested at 15 s serves from 25 s.
        let r = run(&rs, vec![1, 2]);
        assert_eq!(r.timeline.ready[..3], [1, 1, 2]);
        assert!(close(r.latency_secs[0], s));
        assert!(close(r.latency_secs[1], 25.0 + s - 1.0));
        // Its cost counts from 15 s: one worker for a step, then two for five.
        assert!(close(r.metrics.worker_hours, 11.0 * 15.0 / 3600.0));
    }

    /// A deterministic, bursty hour of requests from a small linear congruential generator.
    fn synthetic(n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut times, mut context, mut generated) = (vec![], vec![], vec![]);
        let mut t = 1.7e9 + 0.25;
        for i in 0..n {
            // Busier in the second quarter of the hour.
            let rate = if (n / 4..n / 2).contains(&i) {
                8.0
            } else {
                3.0
            };
            t += -(1.0 - next()).ln() / rate;
            times.push(t);
            context.push((next() * 4000.0).floor());
            generated.push((next() * 300.0).floor());
        }
        (times, context, generated)
    }

    fn synthetic_scenario(delay: f64) -> RequestScenario {
        let (times, context, generated) = synthetic(12_000);
        let sim = SimParams::default().with_startup_delay(delay);
        RequestScenario::from_parts(
            "synthetic",
            &times,
            &context,
            &generated,
            RequestParams::default(),
            sim,
        )
        .unwrap()
    }

    #[test]
    fn the_work_rate_is_binned_by_arrival() {
        let rs = synthetic_scenario(120.0);
        let p = RequestParams::default();
        let (times, context, generated) = synthetic(12_000);
        let origin = times[0].floor();
        let mut bins = vec![0.0; rs.scenario().len()];
        for i in 0..times.len() {
            bins[((times[i] - origin) / 15.0) as usize] += p.work(context[i], generated[i]) / 15.0;
        }
        for (got, want) in rs.scenario().demand().iter().zip(&bins) {
            assert!(close(*got, *want));
        }
        // Service times are the work over the worker speed, and that speed is the scenario's c.
        let c = rs.worker_speed();
        assert!(close(
            rs.service_secs()[0] * c,
            p.work(context[0], generated[0])
        ));
        // Half the trace, to the step, is warm-up.
        let warmup = rs.scenario().warmup_steps() as f64 * 15.0;
        assert!(close(rs.measured_from_secs(), warmup));
        assert!((warmup - rs.end_secs() / 2.0).abs() <= 7.5);
    }

    #[test]
    fn fewer_workers_queue_more() {
        let rs = synthetic_scenario(120.0);
        let max = rs.scenario().capacity().max;
        let few = run(&rs, vec![8]).metrics;
        let many = run(&rs, vec![max]).metrics;
        assert!(
            few.mean_wait_s > 10.0 * many.mean_wait_s.max(0.1),
            "{few:?} {many:?}"
        );
        assert!(few.p99_s > many.p99_s);
        assert!(few.slo_violation_pct > many.slo_violation_pct);
        assert!(few.worker_hours < many.worker_hours);
    }

    #[test]
    fn every_policy_gives_finite_metrics_and_the_same_run_twice() {
        let rs = synthetic_scenario(60.0);
        for name in ["oracle", "static", "hpa", "snaive-hpa", "prescient"] {
            let go = || {
                let mut policy = crate::by_name(name, rs.scenario(), 0.7).unwrap();
                simulate_requests(&rs, policy.as_mut(), &mut no_stopwatch).unwrap()
            };
            let (a, b) = (go(), go());
            let m = a.metrics;
            let values = [
                m.p50_s,
                m.p90_s,
                m.p99_s,
                m.slo_violation_pct,
                m.mean_wait_s,
                m.worker_hours,
                m.cost_ratio,
                m.actions_per_day,
                m.flips_per_day,
            ];
            assert!(
                values.iter().all(|v| v.is_finite() && *v >= 0.0),
                "{name}: {m:?}"
            );
            assert!(m.requests > 5000, "{name}: {m:?}");
            assert!(m.p50_s <= m.p90_s && m.p90_s <= m.p99_s, "{name}: {m:?}");
            // A reactive policy may cost less than the oracle by serving late, but never nothing.
            assert!(m.cost_ratio > 0.1, "{name}: {m:?}");
            assert_eq!(a.metrics, b.metrics, "{name}");
            assert_eq!(a.latency_secs, b.latency_secs, "{name}");
            // Every latency is at least the request's service time, unless the end cut it off.
            for (i, &l) in a.latency_secs.iter().enumerate() {
                assert!(l.is_finite(), "{name}: request {i}");
                if a.finished[i] {
                    assert!(l >= rs.service_secs()[i] - 1e-9, "{name}: request {i}");
                }
            }
        }
    }

    #[test]
    fn rejects_unusable_arrivals_and_settings_with_errors() {
        let p = RequestParams::default();
        let sim = SimParams::default();
        let build = |times: &[f64], context: &[f64], generated: &[f64], p, sim| {
            RequestScenario::from_parts("bad", times, context, generated, p, sim)
        };
        let hour: Vec<f64> = (0..100).map(|i| 36.0 * f64::from(i)).collect();
        let ones = vec![1.0; 100];
        assert!(build(&hour, &ones, &ones, p, sim).is_ok());
        let err = |r: Result<RequestScenario>| r.unwrap_err().to_string();
        assert!(err(build(&[], &[], &[], p, sim)).contains("no request"));
        assert!(err(build(&[5.0; 3], &[1.0; 3], &[1.0; 3], p, sim)).contains("less than two"));
        let idle = RequestParams {
            overhead_secs: 0.0,
            ..p
        };
        assert!(err(build(&hour, &vec![0.0; 100], &vec![0.0; 100], idle, sim)).contains("work"));
        assert!(build(&hour, &ones[1..], &ones, p, sim).is_err());
        let mut back = hour.clone();
        back[50] = 0.0;
        assert!(err(build(&back, &ones, &ones, p, sim)).contains("arrival 50"));
        let mut nan = hour.clone();
        nan[3] = f64::NAN;
        assert!(build(&nan, &ones, &ones, p, sim).is_err());
        let mut negative = ones.clone();
        negative[7] = -1.0;
        assert!(err(build(&hour, &negative, &ones, p, sim)).contains("request 7"));
        let loose = RequestParams {
            slo_factor: -1.0,
            ..p
        };
        assert!(err(build(&hour, &ones, &ones, loose, sim)).contains("slo_factor"));
        let zero_step = SimParams {
            step_secs: 0.0,
            ..sim
        };
        assert!(build(&hour, &ones, &ones, p, zero_step).is_err());
        // Two steps are too few for the 60 s metric window.
        assert!(build(&[0.0, 20.0], &[1.0; 2], &[1.0; 2], p, sim).is_err());
        assert!(build(&[0.0, 1e300], &[1.0; 2], &[1.0; 2], p, sim).is_err());
    }
}
