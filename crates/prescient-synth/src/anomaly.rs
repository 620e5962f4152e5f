use prescient_core::Timestamp;

use crate::rng::Rng;

/// What kind of anomaly a label marks, and what its [`Anomaly::magnitude`] means.
///
/// The first three change the load itself; the last three are service-side faults that leave the
/// load alone and show only in the metrics of a [`ServiceModel`](crate::ServiceModel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum AnomalyKind {
    /// A sudden surge of load (a retry storm, a bot); magnitude: the load multiplier at its peak,
    /// greater than 1.
    LoadSpike,
    /// A sudden loss of load (an upstream outage, a broken client); magnitude: the load
    /// multiplier at its trough, in [0, 1).
    LoadDrop,
    /// An abrupt, persistent change of level (a misrouted region); magnitude: the load multiplier
    /// from its start to the end of the series, positive and not 1. The label covers only the
    /// first `end − start` seconds, after which the new level is the new normal.
    LevelShift,
    /// Slower responses at the same load (a bad deploy); magnitude: the latency multiplier,
    /// greater than 1.
    LatencyRegression,
    /// Memory rising steadily until a restart at the end of the window; magnitude: the fraction
    /// of memory added by the end, in (0, 1].
    MemoryLeak,
    /// A burst of failed requests at the same load; magnitude: the error rate added, in (0, 1].
    ErrorBurst,
}

impl AnomalyKind {
    /// Every kind, in declaration order.
    pub const ALL: [AnomalyKind; 6] = [
        AnomalyKind::LoadSpike,
        AnomalyKind::LoadDrop,
        AnomalyKind::LevelShift,
        AnomalyKind::LatencyRegression,
        AnomalyKind::MemoryLeak,
        AnomalyKind::ErrorBurst,
    ];

    /// Whether this kind changes the load series (the others show only in service metrics).
    pub fn affects_load(self) -> bool {
        matches!(
            self,
            AnomalyKind::LoadSpike | AnomalyKind::LoadDrop | AnomalyKind::LevelShift
        )
    }

    /// Whether `magnitude` is meaningful for this kind.
    pub fn is_valid_magnitude(self, m: f64) -> bool {
        if !m.is_finite() {
            return false;
        }
        match self {
            AnomalyKind::LoadSpike | AnomalyKind::LatencyRegression => m > 1.0 && m <= 1e3,
            AnomalyKind::LoadDrop => (0.0..1.0).contains(&m),
            AnomalyKind::LevelShift => m > 0.0 && m != 1.0 && m <= 1e3,
            AnomalyKind::MemoryLeak | AnomalyKind::ErrorBurst => m > 0.0 && m <= 1.0,
        }
    }

    /// The valid range of the magnitude, for error messages.
    pub(crate) fn magnitude_range(self) -> &'static str {
        match self {
            AnomalyKind::LoadSpike | AnomalyKind::LatencyRegression => "in (1, 1000]",
            AnomalyKind::LoadDrop => "in [0, 1)",
            AnomalyKind::LevelShift => "in (0, 1000] and not 1",
            AnomalyKind::MemoryLeak | AnomalyKind::ErrorBurst => "in (0, 1]",
        }
    }

    /// A random duration in seconds and magnitude typical of this kind, for random placement.
    pub(crate) fn draw(self, rng: &mut Rng) -> (f64, f64) {
        match self {
            AnomalyKind::LoadSpike => (rng.uniform_in(300.0, 1_200.0), rng.uniform_in(2.0, 4.0)),
            AnomalyKind::LoadDrop => (rng.uniform_in(600.0, 1_800.0), rng.uniform_in(0.1, 0.4)),
            AnomalyKind::LevelShift => {
                let up = rng.uniform() < 0.5;
                // Symmetric in log space: up by 1.3–1.6×, or down by as much.
                let m = rng.uniform_in(1.3, 1.6);
                let m = if up { m } else { 1.0 / m };
                (rng.uniform_in(3_600.0, 7_200.0), m)
            }
            AnomalyKind::LatencyRegression => {
                (rng.uniform_in(1_800.0, 5_400.0), rng.uniform_in(2.0, 5.0))
            }
            AnomalyKind::MemoryLeak => {
                (rng.uniform_in(10_800.0, 28_800.0), rng.uniform_in(0.3, 0.5))
            }
            AnomalyKind::ErrorBurst => (rng.uniform_in(300.0, 1_200.0), rng.uniform_in(0.05, 0.25)),
        }
    }
}

/// A labelled anomaly: what it is, when, and how strong.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Anomaly {
    /// What kind of anomaly.
    pub kind: AnomalyKind,
    /// The first instant of the labelled window.
    pub start: Timestamp,
    /// The end of the labelled window (exclusive).
    pub end: Timestamp,
    /// How strong; see [`AnomalyKind`] for the meaning per kind.
    pub magnitude: f64,
}

impl Anomaly {
    /// Whether `ts` lies in the labelled window `[start, end)`.
    pub fn contains(&self, ts: Timestamp) -> bool {
        self.start <= ts && ts < self.end
    }

    /// Length of the labelled window in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.end.secs_since(self.start)
    }

    /// How far through its window `ts` is, from 0 at the start to 1 at the end (clamped).
    pub fn progress(&self, ts: Timestamp) -> f64 {
        let d = self.duration_secs();
        if d > 0.0 {
            (ts.secs_since(self.start) / d).clamp(0.0, 1.0)
        } else {
            1.0
        }
    }
}

/// A legitimate flash crowd: the load rises smoothly to `1 + magnitude` times its level and
/// falls back. Not an anomaly; a detector that flags it is wrong, a planner should scale for it.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Burst {
    /// When the ramp up begins.
    pub start: Timestamp,
    /// When the ramp down ends (exclusive).
    pub end: Timestamp,
    /// The peak increase as a fraction of the load.
    pub magnitude: f64,
}

impl Burst {
    /// Whether `ts` lies in `[start, end)`.
    pub fn contains(&self, ts: Timestamp) -> bool {
        self.start <= ts && ts < self.end
    }
}

/// A legitimate, persistent change of level (not an anomaly).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RegimeChange {
    /// When the change starts ramping in (over 30 min).
    pub at: Timestamp,
    /// The factor the level is multiplied by once the change has ramped in.
    pub factor: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    #[test]
    fn drawn_magnitudes_are_valid() {
        let mut rng = Rng::new(5, Stream::Anomalies);
        for _ in 0..200 {
            for kind in AnomalyKind::ALL {
                let (d, m) = kind.draw(&mut rng);
                assert!(d > 0.0);
                assert!(kind.is_valid_magnitude(m), "{kind:?} {m}");
            }
        }
    }

    #[test]
    fn window_is_half_open_and_progress_is_clamped() {
        let a = Anomaly {
            kind: AnomalyKind::MemoryLeak,
            start: Timestamp::from_secs(100),
            end: Timestamp::from_secs(200),
            magnitude: 0.3,
        };
        assert!(a.contains(Timestamp::from_secs(100)));
        assert!(!a.contains(Timestamp::from_secs(200)));
        assert_eq!(a.progress(Timestamp::from_secs(150)), 0.5);
        assert_eq!(a.progress(Timestamp::from_secs(500)), 1.0);
        assert_eq!(a.progress(Timestamp::from_secs(0)), 0.0);
    }
}
