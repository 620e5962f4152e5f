//! The simulator and its policies on hand-made traces whose answers are known.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is the failure report.

use prescient::PoolStatus;
use prescient_eval::trace::Trace;
use prescient_sim::{
    Hpa, Observation, Oracle, Policy, PrescientConfig, PrescientPolicy, Scenario, SimParams,
    StaticPeak, by_name, no_stopwatch, oracle_worker_hours, simulate,
};

/// A per-minute trace: a daily wave (low at night, high in the afternoon) with deterministic
/// minute-to-minute noise, and an optional one-off burst.
fn daily_trace(days: usize, burst: Option<(usize, usize, usize)>) -> Trace {
    let n = days * 1440;
    let mut times = Vec::with_capacity(n);
    let mut values = Vec::with_capacity(n);
    for i in 0..n {
        let minute = (i % 1440) as f64;
        let wave = 100.0 + 60.0 * (2.0 * std::f64::consts::PI * (minute - 540.0) / 1440.0).sin();
        // A fixed pseudo-random sequence (a Weyl sequence), so the test needs no RNG.
        let noise = ((i as f64 * 0.618_033_988_75).fract() - 0.5) * 20.0;
        let mut v = wave + noise;
        if let Some((day, start, len)) = burst {
            if i / 1440 == day && (start..start + len).contains(&(i % 1440)) {
                v *= 3.0;
            }
        }
        times.push(60.0 * i as f64);
        values.push(v.max(0.0));
    }
    Trace::new("daily", times, values).unwrap()
}

fn scenario(days: usize) -> Scenario {
    Scenario::new(&daily_trace(days, None), SimParams::default()).unwrap()
}

#[test]
fn the_oracle_never_violates_and_sets_the_cost_scale() {
    let s = scenario(4);
    let run = simulate(&s, &mut Oracle::new(&s), &mut no_stopwatch).unwrap();
    assert_eq!(run.metrics.unserved_pct, 0.0);
    assert_eq!(run.metrics.violation_time_pct, 0.0);
    assert!((run.metrics.cost_ratio - 1.0).abs() < 1e-12);
    assert!((run.metrics.worker_hours - oracle_worker_hours(&s)).abs() < 1e-9);
}

#[test]
fn static_peak_never_violates_and_costs_more_than_any_policy() {
    let s = scenario(4);
    let peak = simulate(&s, &mut StaticPeak::new(&s), &mut no_stopwatch).unwrap();
    assert_eq!(peak.metrics.unserved_pct, 0.0);
    assert_eq!(peak.metrics.actions_per_day, 0.0);
    let hpa = simulate(&s, &mut Hpa::new(&s, 0.7), &mut no_stopwatch).unwrap();
    assert!(peak.metrics.cost_ratio > hpa.metrics.cost_ratio);
    assert!(hpa.metrics.cost_ratio > 1.0);
}

fn obs(step: usize, secs: i64, demand: f64, pool: PoolStatus, history: &[f64]) -> Observation<'_> {
    Observation {
        step,
        ts: prescient::Timestamp::from_secs(secs),
        demand,
        utilisation: 0.0,
        pool,
        history,
    }
}

#[test]
fn hpa_follows_the_default_behaviour() {
    let s = scenario(2);
    let c = s.capacity().per_worker;
    let mut hpa = Hpa::new(&s, 0.5);
    let h = [0.0; 1];
    // Within the tolerance: 10 ready at 52.5% of a 50% target keeps 10.
    assert_eq!(
        hpa.target(&obs(0, 0, 5.25 * c, PoolStatus::settled(10), &h)),
        10
    );
    // Load for 40 workers on 10: at most max(10 + 4, 2 · 10) = 20 per step.
    assert_eq!(
        hpa.target(&obs(1, 15, 20.0 * c, PoolStatus::settled(10), &h)),
        20
    );
    // From 2 workers: +4 is more than doubling.
    assert_eq!(
        hpa.target(&obs(2, 30, 20.0 * c, PoolStatus::settled(2), &h)),
        6
    );
    // Scale-down keeps the highest recommendation of the last 300 s (40 at 15 s)...
    assert_eq!(
        hpa.target(&obs(3, 300, 1.0 * c, PoolStatus::settled(30), &h)),
        30
    );
    // ...and goes down once it has left the window: 2 workers for 1 at 50%.
    assert_eq!(
        hpa.target(&obs(4, 331, 1.0 * c, PoolStatus::settled(30), &h)),
        2
    );
}

#[test]
fn targets_stay_within_bounds_and_runs_are_deterministic() {
    let s = scenario(3);
    let cap = s.capacity();
    for name in [
        "oracle",
        "static",
        "hpa",
        "hpa@0.5",
        "snaive-hpa",
        "prescient",
    ] {
        let run = |_: ()| {
            let mut p = by_name(name, &s, 0.7).unwrap();
            simulate(&s, p.as_mut(), &mut no_stopwatch).unwrap()
        };
        let (a, b) = (run(()), run(()));
        assert!(
            a.timeline
                .provisioned
                .iter()
                .all(|&n| n >= cap.min && n <= cap.max),
            "{name}"
        );
        assert!(
            a.timeline
                .ready
                .iter()
                .zip(&a.timeline.provisioned)
                .all(|(r, p)| r <= p)
        );
        assert_eq!(a.timeline.provisioned, b.timeline.provisioned, "{name}");
        assert_eq!(a.metrics, b.metrics, "{name}");
    }
    assert!(by_name("hpa@1.5", &s, 0.7).is_err());
    assert!(by_name("kubernetes", &s, 0.7).is_err());
}

#[test]
fn prescient_beats_the_hpa_on_a_periodic_trace() {
    let s = scenario(10);
    let hpa = simulate(&s, &mut Hpa::new(&s, 0.7), &mut no_stopwatch).unwrap();
    let mut p = PrescientPolicy::new(&s, PrescientConfig::default()).unwrap();
    let pr = simulate(&s, &mut p, &mut no_stopwatch).unwrap();
    // No more unserved demand at a lower cost, and no more direction flips.
    assert!(
        pr.metrics.unserved_pct <= hpa.metrics.unserved_pct,
        "{:?} vs {:?}",
        pr.metrics,
        hpa.metrics
    );
    assert!(
        pr.metrics.cost_ratio < hpa.metrics.cost_ratio,
        "{:?} vs {:?}",
        pr.metrics,
        hpa.metrics
    );
    assert!(pr.metrics.flips_per_day <= hpa.metrics.flips_per_day);
    assert!(pr.metrics.under_forecast_pct.is_some());
}

#[test]
fn a_past_burst_is_not_replayed_the_next_day() {
    // Day 8 has a burst at 14:00 for an hour; day 9 is ordinary.
    let (day, start, len) = (8, 14 * 60, 60);
    let calm = Scenario::new(&daily_trace(10, None), SimParams::default()).unwrap();
    let burst = Scenario::new(
        &daily_trace(10, Some((day, start, len))),
        SimParams::default(),
    )
    .unwrap();
    let provisioned = |s: &Scenario| {
        let mut p = PrescientPolicy::new(s, PrescientConfig::default()).unwrap();
        simulate(s, &mut p, &mut no_stopwatch)
            .unwrap()
            .timeline
            .provisioned
    };
    let (a, b) = (provisioned(&calm), provisioned(&burst));
    let first = calm.first_step();
    // Quarter-minute steps of the hour before the burst's time on the next day: the seasonal
    // model must not scale up ahead of a burst that is not coming back.
    let next_day = (day + 1) * 5760 + (start - 60) * 4;
    let window = next_day - first..next_day - first + 4 * 120;
    let peak_calm = a[window.clone()].iter().max().unwrap();
    let peak_after_burst = b[window].iter().max().unwrap();
    assert!(
        *peak_after_burst <= peak_calm + 1,
        "calm {peak_calm}, after a burst {peak_after_burst}"
    );
    // The burst itself was served with more workers.
    let on_the_day = day * 5760 + start * 4 - first;
    assert!(b[on_the_day + 240] > a[on_the_day + 240]);
}

#[test]
fn policies_see_nothing_from_the_future() {
    /// Records what it saw; scales to what the metric says.
    struct Spy(Vec<(usize, f64, usize)>);
    impl Policy for Spy {
        fn name(&self) -> String {
            "spy".into()
        }
        fn decide(&mut self, o: &Observation<'_>) -> prescient::Decision {
            self.0.push((o.step, o.demand, o.history.len()));
            let mut d = prescient::Decision {
                ts: o.ts,
                current: o.pool.desired,
                target: o.pool.desired,
                severity: prescient::Severity::None,
                forecast: None,
                forecast_need: None,
                reactive_need: None,
                anomaly_need: None,
                reason: prescient::Reason::new(prescient::ReasonCode::Warmup),
                regime: None,
            };
            d.target = o.pool.desired;
            d
        }
    }
    let s = scenario(2);
    let mut spy = Spy(Vec::new());
    simulate(&s, &mut spy, &mut no_stopwatch).unwrap();
    let d = s.demand();
    for &(k, seen, len) in &spy.0 {
        assert_eq!(len, k + 1);
        let mean = d[k - 4..k].iter().sum::<f64>() / 4.0;
        assert!((seen - mean).abs() < 1e-9);
    }
}
