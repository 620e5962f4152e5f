use std::fmt;

/// A point in time: milliseconds since the Unix epoch, UTC.
///
/// prescient never reads the clock: the host passes the time of every sample, so that a replay,
/// a simulation and a live service run exactly the same code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// A timestamp from milliseconds since the epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    /// A timestamp from whole seconds since the epoch (saturating at the ends of the range).
    pub const fn from_secs(s: i64) -> Self {
        Timestamp(s.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Seconds since the epoch, with fractions.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// This timestamp moved by `secs` seconds (negative moves back), saturating at the ends of the
    /// range; a non-finite `secs` leaves it unchanged.
    pub fn add_secs(self, secs: f64) -> Self {
        if !secs.is_finite() {
            return self;
        }
        let ms = (secs * 1000.0).round();
        // `as` saturates for floats beyond the i64 range.
        Timestamp(self.0.saturating_add(ms as i64))
    }

    /// Seconds from `earlier` to `self` (negative when `earlier` is later).
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        // The i64 difference is exact unless it overflows; only then is the (slower) i128 one
        // needed. Both convert the same integer to f64.
        let ms = match self.0.checked_sub(earlier.0) {
            Some(d) => d as f64,
            None => (self.0 as i128 - earlier.0 as i128) as f64,
        };
        ms / 1000.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.div_euclid(1000);
        let ms = self.0.rem_euclid(1000);
        if ms == 0 {
            write!(f, "{s}s")
        } else {
            write!(f, "{s}.{ms:03}s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_ignores_non_finite() {
        let t = Timestamp::from_secs(10);
        assert_eq!(t.add_secs(1.5).as_millis(), 11_500);
        assert_eq!(t.add_secs(f64::NAN), t);
        assert_eq!(
            Timestamp::from_millis(i64::MAX).add_secs(1.0).as_millis(),
            i64::MAX
        );
        assert_eq!(t.add_secs(1e300).as_millis(), i64::MAX);
        assert_eq!(Timestamp::from_secs(12).secs_since(t), 2.0);
        assert_eq!(t.secs_since(Timestamp::from_secs(12)), -2.0);
        let (lo, hi) = (
            Timestamp::from_millis(i64::MIN),
            Timestamp::from_millis(i64::MAX),
        );
        assert_eq!(hi.secs_since(lo), (2.0f64.powi(64) - 1.0) / 1000.0);
        assert_eq!(lo.secs_since(hi), -(2.0f64.powi(64) - 1.0) / 1000.0);
    }

    #[test]
    fn display_shows_seconds() {
        assert_eq!(Timestamp::from_millis(1500).to_string(), "1.500s");
        assert_eq!(Timestamp::from_secs(-2).to_string(), "-2s");
    }
}
