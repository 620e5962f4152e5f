use crate::{Severity, Timestamp};

/// Which input set a decision's desired worker count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ReasonCode {
    /// The forecast over the lead time needs this many workers.
    Forecast,
    /// The reactive floor (what an HPA-style rule asks for now) is above the forecast's need.
    ReactiveFloor,
    /// An anomaly's severity action asks for more than the forecast and the floor.
    Anomaly,
    /// The forecaster is still warming up; the reactive rule alone decided.
    Warmup,
    /// The load metric has been missing for too long: capacity is held, never lowered.
    StaleData,
}

/// A limit that changed a decision's target away from the desired count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Constraint {
    /// Raised to the minimum worker count.
    MinBound,
    /// Lowered to the maximum worker count.
    MaxBound,
    /// Cut to the maximum step per decision.
    StepLimit,
    /// A scale-down held up by the stabilisation window (a higher recent recommendation).
    Stabilised,
    /// A scale-down held off by the cooldown after a scale-up.
    Cooldown,
}

impl Constraint {
    const ALL: [Constraint; 5] = [
        Constraint::MinBound,
        Constraint::MaxBound,
        Constraint::StepLimit,
        Constraint::Stabilised,
        Constraint::Cooldown,
    ];

    fn bit(self) -> u8 {
        match self {
            Constraint::MinBound => 1,
            Constraint::MaxBound => 2,
            Constraint::StepLimit => 4,
            Constraint::Stabilised => 8,
            Constraint::Cooldown => 16,
        }
    }
}

/// Why a decision is what it is, in a form a program can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Reason {
    /// Which input set the desired count.
    pub code: ReasonCode,
    constraints: u8,
}

impl Reason {
    /// A reason with no constraint applied.
    pub fn new(code: ReasonCode) -> Self {
        Reason {
            code,
            constraints: 0,
        }
    }

    /// Records that `c` changed the target.
    pub fn add(&mut self, c: Constraint) {
        self.constraints |= c.bit();
    }

    /// Whether `c` changed the target.
    pub fn has(&self, c: Constraint) -> bool {
        self.constraints & c.bit() != 0
    }

    /// The constraints that changed the target.
    pub fn constraints(&self) -> impl Iterator<Item = Constraint> + '_ {
        Constraint::ALL.into_iter().filter(|c| self.has(*c))
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.code)?;
        for c in self.constraints() {
            write!(f, "+{c:?}")?;
        }
        Ok(())
    }
}

/// The part of a forecast that a decision was based on.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ForecastSummary {
    /// How far ahead the planner looked, in seconds (the lead time).
    pub horizon_secs: f64,
    /// The highest point forecast of the load over the horizon.
    pub peak_point: f64,
    /// The highest upper interval end of the load over the horizon: what capacity is planned for.
    pub peak_upper: f64,
    /// The interval's coverage.
    pub level: f64,
}

/// What the planner decided at one tick.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Decision {
    /// The tick this decision was made at.
    pub ts: Timestamp,
    /// The worker count the decision started from (the platform's desired count).
    pub current: u32,
    /// The worker count to move to; always within the planner's bounds.
    pub target: u32,
    /// The worst actionable anomaly severity at this tick.
    pub severity: Severity,
    /// The forecast the decision used, if one was ready.
    pub forecast: Option<ForecastSummary>,
    /// Workers the forecast needs over the lead time, if a forecast was used.
    pub forecast_need: Option<u32>,
    /// Workers the reactive rule needs now, if the load or utilisation was known.
    pub reactive_need: Option<u32>,
    /// Workers the severity action asks for, if any.
    pub anomaly_need: Option<u32>,
    /// Why.
    pub reason: Reason,
}

impl Decision {
    /// `target - current`: positive to scale out, negative to scale in.
    pub fn delta(&self) -> i64 {
        i64::from(self.target) - i64::from(self.current)
    }

    /// Whether the decision changes the worker count.
    pub fn is_change(&self) -> bool {
        self.target != self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_records_constraints() {
        let mut r = Reason::new(ReasonCode::Forecast);
        assert_eq!(r.constraints().count(), 0);
        r.add(Constraint::StepLimit);
        r.add(Constraint::MaxBound);
        assert!(r.has(Constraint::StepLimit));
        assert!(!r.has(Constraint::Cooldown));
        assert_eq!(r.to_string(), "Forecast+MaxBound+StepLimit");
    }
}
