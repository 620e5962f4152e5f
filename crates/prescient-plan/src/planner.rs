use prescient_core::{
    Constraint, Decision, Forecast, ForecastSummary, Reason, ReasonCode, Result, Severity,
    Timestamp,
};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::PlannerParams;
use crate::window_max::WindowMax;

/// What the planner sees at one tick.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The tick's time.
    pub ts: Timestamp,
    /// The platform's desired worker count now (including workers still starting).
    pub current: u32,
    /// Workers serving now.
    pub ready: u32,
    /// The latest load, if known (units per second); `None` when missing.
    pub load: Option<f64>,
    /// The latest utilisation of the ready workers (a fraction), if the schema has one.
    pub utilisation: Option<f64>,
    /// The load forecast over the lead time, if the forecaster is ready.
    pub forecast: Option<&'a Forecast>,
    /// The worst actionable anomaly severity now.
    pub severity: Severity,
}

/// The planner: see the crate documentation for the rules, in order.
///
/// It keeps a little state (the recent recommendations for stabilisation, the time of the last
/// scale-up for the cooldown), bounded whatever the tick rate.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Planner {
    params: PlannerParams,
    recommendations: WindowMax,
    last_scale_up: Option<Timestamp>,
}

/// The most recommendations the stabilisation window holds (a day of 15 s ticks is 5760).
const STABILISATION_CAP: usize = 8192;

impl Planner {
    /// A planner with `params`.
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::InvalidParam`] naming the first invalid setting.
    pub fn new(params: PlannerParams) -> Result<Self> {
        params.validate()?;
        Ok(Planner {
            recommendations: WindowMax::new(
                params.scale_down_stabilisation_secs,
                STABILISATION_CAP,
            ),
            params,
            last_scale_up: None,
        })
    }

    /// The settings.
    pub fn params(&self) -> &PlannerParams {
        &self.params
    }

    /// Takes over what `saved` (a planner restored from a snapshot) has learned, keeping this
    /// planner's settings: the time of the last scale-up (the cooldown), and the recent
    /// recommendations (the scale-down stabilisation) when both planners stabilise over the
    /// same window. With another window they are dropped, and scale-downs are stabilised
    /// from the next tick on.
    pub fn adopt_state(&mut self, saved: Planner) {
        if saved.params.scale_down_stabilisation_secs == self.params.scale_down_stabilisation_secs {
            self.recommendations = saved.recommendations;
        }
        self.last_scale_up = saved.last_scale_up;
    }

    /// Workers needed to serve `load` at the target utilisation (0 for no or negative load;
    /// saturates at `u32::MAX`).
    pub fn workers_for(&self, load: f64) -> u32 {
        let per_worker = self.params.capacity_per_worker * self.params.target_utilisation;
        to_count(load / per_worker)
    }

    /// Workers needed to serve a forecast `load` at the forecast utilisation.
    fn workers_for_forecast(&self, load: f64) -> u32 {
        let per_worker = self.params.capacity_per_worker * self.params.utilisation_for_forecast();
        to_count(load / per_worker)
    }

    /// Decides the target worker count for one tick.
    pub fn plan(&mut self, input: &PlanInput<'_>) -> Decision {
        let p = &self.params;
        let current = input.current;
        let reactive_need = self.reactive_need(input);
        let summary = input.forecast.and_then(|f| summarise(f, p.lead_time_secs));
        let forecast_need = summary.map(|s| self.workers_for_forecast(s.peak_upper));
        let anomaly_need = self.anomaly_need(input, summary);

        let (mut desired, code) = match (forecast_need, reactive_need, anomaly_need) {
            (None, None, None) => (current, ReasonCode::StaleData),
            _ => {
                let f = forecast_need.unwrap_or(0);
                let r = reactive_need.unwrap_or(0);
                let a = anomaly_need.unwrap_or(0);
                let desired = f.max(r).max(a);
                let code = if anomaly_need.is_some() && a == desired {
                    ReasonCode::Anomaly
                } else if forecast_need.is_some() && f == desired {
                    ReasonCode::Forecast
                } else if forecast_need.is_none() {
                    ReasonCode::Warmup
                } else {
                    ReasonCode::ReactiveFloor
                };
                (desired, code)
            }
        };
        let mut reason = Reason::new(code);

        // Stabilisation keeps the raw recommendations, as the HPA does, so that a short dip does
        // not undo a scale-up that will be needed again within the window.
        let stabilised = self.recommendations.record(input.ts, desired);
        // Small forecast-driven increases are noise in the forecast's upper end more often than
        // signal; the reactive floor and severity actions carry their own tolerance and urgency.
        if desired > current
            && code == ReasonCode::Forecast
            && f64::from(desired - current) <= p.scale_up_tolerance * f64::from(current)
        {
            desired = current;
        }
        if desired < current {
            let tolerated =
                f64::from(current - desired) <= p.scale_down_tolerance * f64::from(current);
            let cooling = self
                .last_scale_up
                .is_some_and(|t| input.ts.secs_since(t) < p.scale_down_cooldown_secs);
            if tolerated {
                desired = current;
            } else if cooling {
                desired = current;
                reason.add(Constraint::Cooldown);
            } else if stabilised > desired {
                desired = stabilised.min(current);
                reason.add(Constraint::Stabilised);
            }
        }

        if desired > current && desired - current > p.max_step_up {
            desired = current.saturating_add(p.max_step_up);
            reason.add(Constraint::StepLimit);
        } else if desired < current && current - desired > p.max_step_down {
            desired = current - p.max_step_down;
            reason.add(Constraint::StepLimit);
        }

        if desired < p.min_workers {
            desired = p.min_workers;
            reason.add(Constraint::MinBound);
        } else if desired > p.max_workers {
            desired = p.max_workers;
            reason.add(Constraint::MaxBound);
        }

        if desired > current {
            self.last_scale_up = Some(input.ts);
        }
        Decision {
            ts: input.ts,
            current,
            target: desired,
            severity: input.severity,
            forecast: summary,
            forecast_need,
            reactive_need,
            anomaly_need,
            reason,
            regime: None,
        }
    }

    /// What an HPA-style rule asks for now: the load divided by the per-worker target, or, when
    /// the load is missing, the ready workers scaled by utilisation over its target. Within the
    /// HPA's tolerance of 10% it keeps the current count.
    fn reactive_need(&self, input: &PlanInput<'_>) -> Option<u32> {
        let p = &self.params;
        let exact = match (input.load, input.utilisation) {
            (Some(load), _) if load.is_finite() => {
                load.max(0.0) / (p.capacity_per_worker * p.target_utilisation)
            }
            (_, Some(u)) if u.is_finite() && input.ready > 0 => {
                f64::from(input.ready) * u.max(0.0) / p.target_utilisation
            }
            _ => return None,
        };
        let current = f64::from(input.current);
        if input.current > 0 && (exact / current - 1.0).abs() <= HPA_TOLERANCE {
            Some(input.current)
        } else {
            Some(to_count(exact))
        }
    }

    fn anomaly_need(&self, input: &PlanInput<'_>, summary: Option<ForecastSummary>) -> Option<u32> {
        let a = &self.params.severity;
        let step = |fraction: f64| {
            let extra = (fraction * f64::from(input.current)).ceil().max(1.0);
            input.current.saturating_add(to_count(extra))
        };
        match input.severity {
            Severity::None | Severity::Low => None,
            Severity::Medium => Some(step(a.medium_step_fraction)),
            Severity::High => {
                let widened =
                    summary.map_or(0, |s| self.workers_for_forecast(widen(s, a.high_level)));
                Some(step(a.high_step_fraction).max(widened))
            }
        }
    }
}

/// The Kubernetes HPA's default tolerance.
const HPA_TOLERANCE: f64 = 0.1;

/// A non-negative real count rounded up to workers; tiny rounding error above a whole number does
/// not add a worker.
fn to_count(x: f64) -> u32 {
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    let c = (x - 1e-9).ceil();
    if c >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        c.max(0.0) as u32
    }
}

fn summarise(f: &Forecast, horizon_secs: f64) -> Option<ForecastSummary> {
    if f.is_empty() {
        return None;
    }
    let finite_max = |xs: &[f64]| {
        xs.iter()
            .copied()
            .filter(|x| x.is_finite())
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let peak_point = finite_max(&f.point);
    let peak_upper = finite_max(&f.upper).max(peak_point);
    (peak_point.is_finite() && peak_upper.is_finite()).then_some(ForecastSummary {
        horizon_secs,
        peak_point,
        peak_upper,
        level: f.level,
    })
}

/// The peak's upper end for a wider interval of coverage `level`, assuming Gaussian intervals.
fn widen(s: ForecastSummary, level: f64) -> f64 {
    let Ok(n) = Normal::new(0.0, 1.0) else {
        return s.peak_upper;
    };
    let z_have = n.inverse_cdf(0.5 + s.level / 2.0);
    let z_want = n.inverse_cdf(0.5 + level / 2.0);
    if !(z_have > 0.0 && z_want.is_finite()) {
        return s.peak_upper;
    }
    let wider = s.peak_point + (s.peak_upper - s.peak_point) * z_want / z_have;
    if wider.is_finite() {
        wider.max(s.peak_upper)
    } else {
        s.peak_upper
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeverityActions;
    use proptest::prelude::*;

    fn forecast(values: &[f64], spread: f64) -> Forecast {
        let mut f = Forecast::new();
        f.reset(values.len(), 0.8);
        for &v in values {
            f.push(v, v - spread, v + spread);
        }
        f
    }

    fn input(
        ts: i64,
        current: u32,
        load: Option<f64>,
        f: Option<&Forecast>,
        severity: Severity,
    ) -> PlanInput<'_> {
        PlanInput {
            ts: Timestamp::from_secs(ts),
            current,
            ready: current,
            load,
            utilisation: None,
            forecast: f,
            severity,
        }
    }

    fn planner(p: PlannerParams) -> Planner {
        Planner::new(p).unwrap()
    }

    #[test]
    fn capacity_per_worker_must_be_positive() {
        assert!(Planner::new(PlannerParams::new(0.0)).is_err());
        assert!(Planner::new(PlannerParams::new(f64::NAN)).is_err());
    }

    #[test]
    fn target_utilisation_must_be_in_unit_interval() {
        assert!(Planner::new(PlannerParams::new(1.0).target_utilisation(0.0)).is_err());
        assert!(Planner::new(PlannerParams::new(1.0).target_utilisation(1.5)).is_err());
    }

    #[test]
    fn bounds_must_be_ordered() {
        assert!(Planner::new(PlannerParams::new(1.0).bounds(5, 4)).is_err());
        assert!(Planner::new(PlannerParams::new(1.0).bounds(0, 0)).is_err());
    }

    #[test]
    fn lead_time_must_be_finite() {
        assert!(Planner::new(PlannerParams::new(1.0).lead_time_secs(-1.0)).is_err());
        assert!(Planner::new(PlannerParams::new(1.0).lead_time_secs(f64::INFINITY)).is_err());
    }

    #[test]
    fn steps_must_be_positive() {
        assert!(Planner::new(PlannerParams::new(1.0).max_step(0, 1)).is_err());
    }

    #[test]
    fn tolerance_and_windows_are_checked() {
        assert!(Planner::new(PlannerParams::new(1.0).scale_down_tolerance(1.0)).is_err());
        assert!(Planner::new(PlannerParams::new(1.0).scale_down_stabilisation_secs(-1.0)).is_err());
        assert!(Planner::new(PlannerParams::new(1.0).scale_down_cooldown_secs(f64::NAN)).is_err());
        let bad = SeverityActions {
            high_level: 1.0,
            ..SeverityActions::default()
        };
        assert!(Planner::new(PlannerParams::new(1.0).severity_actions(bad)).is_err());
    }

    #[test]
    fn forecast_drives_scale_up_ahead_of_load() {
        let mut p = planner(PlannerParams::new(10.0).target_utilisation(0.5));
        let f = forecast(&[50.0, 80.0, 100.0], 0.0);
        let d = p.plan(&input(0, 10, Some(50.0), Some(&f), Severity::None));
        assert_eq!(d.target, 20);
        assert_eq!(d.reason.code, ReasonCode::Forecast);
        assert_eq!(d.forecast_need, Some(20));
        assert_eq!(d.reactive_need, Some(10));
    }

    #[test]
    fn forecast_utilisation_plans_the_upper_end_apart_from_the_floor() {
        let params = PlannerParams::new(10.0)
            .target_utilisation(0.5)
            .forecast_utilisation(1.0);
        let mut p = planner(params);
        let f = forecast(&[50.0, 100.0], 0.0);
        // The forecast's 100 at 100% of 10 needs 10; the floor's 50 at 50% needs 10 too.
        let d = p.plan(&input(0, 4, Some(50.0), Some(&f), Severity::None));
        assert_eq!((d.forecast_need, d.reactive_need), (Some(10), Some(10)));
        let f = forecast(&[150.0], 0.0);
        let d = p.plan(&input(15, 10, Some(40.0), Some(&f), Severity::None));
        assert_eq!((d.target, d.reason.code), (15, ReasonCode::Forecast));
        assert!(Planner::new(PlannerParams::new(1.0).forecast_utilisation(0.0)).is_err());
    }

    #[test]
    fn reactive_floor_protects_against_a_low_forecast() {
        let mut p = planner(PlannerParams::new(10.0).target_utilisation(0.5));
        let f = forecast(&[10.0], 0.0);
        let d = p.plan(&input(0, 10, Some(200.0), Some(&f), Severity::None));
        assert_eq!(d.target, 40);
        assert_eq!(d.reason.code, ReasonCode::ReactiveFloor);
    }

    #[test]
    fn reactive_floor_keeps_within_hpa_tolerance() {
        let mut p = planner(PlannerParams::new(1.0).target_utilisation(1.0));
        // 10.5 workers' worth of load on 10 workers: within 10%, the HPA keeps 10.
        let d = p.plan(&input(0, 10, Some(10.5), None, Severity::None));
        assert_eq!(d.reactive_need, Some(10));
        assert_eq!(d.reason.code, ReasonCode::Warmup);
    }

    #[test]
    fn utilisation_is_the_fallback_for_a_missing_load() {
        let mut p = planner(PlannerParams::new(1.0).target_utilisation(0.5));
        let mut i = input(0, 4, None, None, Severity::None);
        i.utilisation = Some(0.9);
        let d = p.plan(&i);
        // 4 ready workers at 90% with a 50% target: ceil(7.2) = 8.
        assert_eq!(d.target, 8);
    }

    #[test]
    fn nothing_known_holds_capacity() {
        let mut p = planner(PlannerParams::new(1.0));
        let d = p.plan(&input(0, 7, None, None, Severity::None));
        assert_eq!(d.target, 7);
        assert_eq!(d.reason.code, ReasonCode::StaleData);
    }

    #[test]
    fn severity_actions() {
        let mut p = planner(PlannerParams::new(1.0).target_utilisation(1.0));
        let low = p.plan(&input(0, 20, Some(20.0), None, Severity::Low));
        assert_eq!(low.target, 20);
        let medium = p.plan(&input(15, 20, Some(20.0), None, Severity::Medium));
        assert_eq!(
            (medium.target, medium.reason.code),
            (22, ReasonCode::Anomaly)
        );
        let f = forecast(&[20.0], 5.0);
        let high = p.plan(&input(30, 20, Some(20.0), Some(&f), Severity::High));
        // 25% more is 25; the 99% upper end is 20 + 5·2.576/1.2816 ≈ 30.05: 31 workers.
        assert_eq!((high.target, high.reason.code), (31, ReasonCode::Anomaly));
    }

    #[test]
    fn scale_down_waits_for_stabilisation_and_cooldown() {
        let params = PlannerParams::new(1.0)
            .target_utilisation(1.0)
            .scale_down_stabilisation_secs(60.0)
            .scale_down_cooldown_secs(30.0);
        let mut p = planner(params);
        let up = p.plan(&input(0, 10, Some(20.0), None, Severity::None));
        assert_eq!(up.target, 20);
        let cooling = p.plan(&input(15, 20, Some(5.0), None, Severity::None));
        assert_eq!(cooling.target, 20);
        assert!(cooling.reason.has(Constraint::Cooldown));
        let held = p.plan(&input(45, 20, Some(5.0), None, Severity::None));
        assert_eq!(held.target, 20);
        assert!(held.reason.has(Constraint::Stabilised));
        // The recommendation of 20 at 0 s has left the 60 s window; those of 5 remain.
        let down = p.plan(&input(61, 20, Some(5.0), None, Severity::None));
        assert_eq!(down.target, 5);
    }

    #[test]
    fn small_scale_downs_are_tolerated() {
        let mut p = planner(
            PlannerParams::new(1.0)
                .target_utilisation(1.0)
                .scale_down_stabilisation_secs(0.0),
        );
        let d = p.plan(&input(
            1000,
            20,
            Some(15.0),
            Some(&forecast(&[18.5], 0.0)),
            Severity::None,
        ));
        assert_eq!(d.target, 20);
    }

    #[test]
    fn step_limits_and_bounds() {
        let mut p = planner(
            PlannerParams::new(1.0)
                .target_utilisation(1.0)
                .bounds(2, 30)
                .max_step(2, 1),
        );
        let d = p.plan(&input(0, 10, Some(100.0), None, Severity::None));
        assert_eq!(d.target, 12);
        assert!(d.reason.has(Constraint::StepLimit));
        let mut p = planner(
            PlannerParams::new(1.0)
                .target_utilisation(1.0)
                .bounds(2, 30),
        );
        let d = p.plan(&input(0, 10, Some(100.0), None, Severity::None));
        assert_eq!(d.target, 30);
        assert!(d.reason.has(Constraint::MaxBound));
        let d = p.plan(&input(0, 0, Some(0.0), None, Severity::None));
        assert_eq!(d.target, 2);
        assert!(d.reason.has(Constraint::MinBound));
    }

    #[test]
    fn counts_round_up_without_float_noise() {
        assert_eq!(to_count(20.000_000_000_1), 20);
        assert_eq!(to_count(20.01), 21);
        assert_eq!(to_count(f64::NAN), 0);
        assert_eq!(to_count(-3.0), 0);
        assert_eq!(to_count(1e300), u32::MAX);
    }

    proptest! {
        #[test]
        fn prop_target_within_bounds_and_steps(
            min in 0u32..5, span in 1u32..60, up in 1u32..6, down in 1u32..6,
            ticks in proptest::collection::vec((0u32..80, prop_oneof![any::<f64>().prop_map(Some), Just(None)], 0u8..4, any::<f64>()), 1..60)
        ) {
            let max = min + span;
            let mut p = planner(PlannerParams::new(3.0).bounds(min, max).max_step(up, down));
            for (i, (current, load, sev, fc)) in ticks.into_iter().enumerate() {
                let f = forecast(&[fc, fc * 0.5], 1.0);
                let severity = [Severity::None, Severity::Low, Severity::Medium, Severity::High][sev as usize];
                let d = p.plan(&input(15 * i as i64, current, load, Some(&f), severity));
                prop_assert!(d.target >= min && d.target <= max);
                if current >= min && current <= max {
                    prop_assert!(d.target <= current.saturating_add(up) && d.target + down >= current,
                        "current {} target {}", current, d.target);
                }
            }
        }
    }
}
