use crate::{Score, Severity, Timestamp};

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

/// The closest earlier moment of the workload, by fingerprint.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RegimeMatch {
    /// When the workload last looked like this.
    pub ts: Timestamp,
    /// The distance between the two fingerprints (in standardised feature units).
    pub distance: f64,
    /// Workers ready then.
    pub workers: u32,
    /// Workers the load needed then (the reactive rule on the load), if known.
    pub needed: Option<u32>,
}

/// What the workload fingerprint said at one tick: how far the workload is from its recent
/// history, and when it last looked like this.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RegimeNote {
    /// The calibrated regime-change score: how unusual the current fingerprint is against
    /// recent history.
    pub score: Score,
    /// The severity of that score.
    pub severity: Severity,
    /// Whether the regime detector raised an alert at this tick.
    pub alert: bool,
    /// The closest stored moment older than the store's exclusion, if any.
    pub nearest: Option<RegimeMatch>,
}

impl RegimeNote {
    /// A sentence for logs and reports, relative to `now`: `"fingerprint close to Mon 09:15
    /// UTC (3.0 days ago), which needed 14 workers; regime score 0.412"`.
    pub fn describe(&self, now: Timestamp) -> String {
        let mut s = String::new();
        if let Some(m) = &self.nearest {
            s.push_str(&format!(
                "fingerprint close to {} ({} ago), which ",
                weekday_time(m.ts),
                ago(now.secs_since(m.ts))
            ));
            match m.needed {
                Some(n) => s.push_str(&format!("needed {n} workers")),
                None => s.push_str(&format!("ran {} workers", m.workers)),
            }
            s.push_str("; ");
        }
        s.push_str(&format!("regime score {:.3}", self.score.value()));
        if self.alert {
            s.push_str(&format!(" ({:?} regime change)", self.severity).to_lowercase());
        }
        s
    }
}

/// `"Mon 09:15 UTC"`: the day of the week and the time of day of `ts` (UTC).
fn weekday_time(ts: Timestamp) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let secs = ts.as_millis().div_euclid(1000);
    let day = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02} UTC",
        DAYS[day.rem_euclid(7) as usize],
        of_day / 3600,
        (of_day % 3600) / 60
    )
}

/// `"40 min"`, `"5.0 h"`, `"3.0 days"`.
fn ago(secs: f64) -> String {
    if secs < 5_400.0 {
        format!("{:.0} min", secs / 60.0)
    } else if secs < 2.0 * 86_400.0 {
        format!("{:.1} h", secs / 3_600.0)
    } else {
        format!("{:.1} days", secs / 86_400.0)
    }
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
    /// What the workload fingerprint said, when the `Scaler` computes one.
    pub regime: Option<RegimeNote>,
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

    /// The decision as a sentence for logs and reports: `"2 → 5 workers (Forecast+StepLimit);
    /// fingerprint close to Mon 09:15 UTC (7.0 days ago), which needed 14 workers; regime score
    /// 0.412"`.
    pub fn explain(&self) -> String {
        let mut s = format!(
            "{} → {} workers ({})",
            self.current, self.target, self.reason
        );
        if let Some(r) = &self.regime {
            s.push_str("; ");
            s.push_str(&r.describe(self.ts));
        }
        s
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

    #[test]
    fn regime_note_names_the_moment_and_its_workers() {
        // 1970-01-05 was a Monday; 09:15 that day.
        let then = Timestamp::from_secs(4 * 86_400 + 9 * 3_600 + 15 * 60);
        let now = then.add_secs(3.0 * 86_400.0);
        let note = RegimeNote {
            score: Score::new(0.4125),
            severity: Severity::None,
            alert: false,
            nearest: Some(RegimeMatch {
                ts: then,
                distance: 0.3,
                workers: 12,
                needed: Some(14),
            }),
        };
        assert_eq!(
            note.describe(now),
            "fingerprint close to Mon 09:15 UTC (3.0 days ago), which needed 14 workers; \
             regime score 0.412"
        );
        let alert = RegimeNote {
            alert: true,
            severity: Severity::High,
            nearest: None,
            ..note
        };
        assert_eq!(
            alert.describe(now),
            "regime score 0.412 (high regime change)"
        );
        // Before the epoch, days and times still come out right: 1969-12-31 23:59 was a Wednesday.
        assert_eq!(weekday_time(Timestamp::from_secs(-60)), "Wed 23:59 UTC");
        assert_eq!(ago(600.0), "10 min");
        assert_eq!(ago(7_200.0), "2.0 h");
    }
}
