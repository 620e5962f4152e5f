use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// One of NAB's three application profiles, which weight hits, false alarms and misses
/// differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Profile {
    /// `standard`: a false positive costs 0.11, a missed window 1.
    #[serde(rename = "standard")]
    Standard,
    /// `reward_low_FP_rate`: a false positive costs 0.22, a missed window 1.
    #[serde(rename = "reward_low_FP_rate")]
    RewardLowFpRate,
    /// `reward_low_FN_rate`: a false positive costs 0.11, a missed window 2.
    #[serde(rename = "reward_low_FN_rate")]
    RewardLowFnRate,
}

/// The weights of a [`Profile`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// `A_TP`: the credit for a detection at the very start of a window.
    pub true_positive: f64,
    /// `A_FP`: the cost of a false positive far from any window.
    pub false_positive: f64,
    /// `A_FN`: the cost of a window without a detection.
    pub false_negative: f64,
    /// `A_TN`: listed by NAB for completeness; no score uses it.
    pub true_negative: f64,
}

impl Profile {
    /// The three profiles, in the order `nab_score.py` reports them.
    pub const ALL: [Profile; 3] = [
        Profile::Standard,
        Profile::RewardLowFpRate,
        Profile::RewardLowFnRate,
    ];

    /// NAB's name for the profile (`standard`, `reward_low_FP_rate`, `reward_low_FN_rate`).
    pub const fn name(self) -> &'static str {
        match self {
            Profile::Standard => "standard",
            Profile::RewardLowFpRate => "reward_low_FP_rate",
            Profile::RewardLowFnRate => "reward_low_FN_rate",
        }
    }

    /// The profile's weights, exactly as NAB defines them.
    pub const fn weights(self) -> Weights {
        let (fp, fn_) = match self {
            Profile::Standard => (0.11, 1.0),
            Profile::RewardLowFpRate => (0.22, 1.0),
            Profile::RewardLowFnRate => (0.11, 2.0),
        };
        Weights {
            true_positive: 1.0,
            false_positive: fp,
            false_negative: fn_,
            true_negative: 1.0,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = Error;

    /// Parses NAB's name for a profile.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownProfile`] for any other name.
    fn from_str(s: &str) -> Result<Self, Error> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| Error::UnknownProfile(s.to_string()))
    }
}

/// NAB's scaled sigmoid `f(y) = 2 / (1 + exp(5 y)) - 1`, in (-1, 1) and decreasing, with
/// `f(y) = -1` for `y > 3`.
///
/// A detection at relative position `y` in a window (`-1` at its start, near 0 at its end)
/// earns `f(y) / f(-1)`; a false positive `y` window-widths after a window costs `f(y)`.
///
/// # Example
///
/// ```
/// use prescient_eval::nab::scaled_sigmoid;
///
/// assert_eq!(scaled_sigmoid(0.0), 0.0);
/// assert_eq!(scaled_sigmoid(3.5), -1.0);
/// assert!((scaled_sigmoid(-1.0) - 0.986_614_298_1).abs() < 1e-9);
/// ```
pub fn scaled_sigmoid(y: f64) -> f64 {
    if y > 3.0 {
        return -1.0;
    }
    2.0 / (1.0 + (5.0 * y).exp()) - 1.0
}

/// The length of NAB's probationary period for a file of `rows` rows:
/// `min(floor(0.15 rows), 750)`. Detections in these first rows are ignored.
///
/// # Example
///
/// ```
/// use prescient_eval::nab::probation_rows;
///
/// assert_eq!(probation_rows(4032), 604);
/// assert_eq!(probation_rows(22_695), 750);
/// ```
pub fn probation_rows(rows: usize) -> usize {
    // The same float product and floor as the reference, so that no row moves across the edge.
    let p = (0.15 * rows as f64).floor();
    if p >= 750.0 { 750 } else { p as usize }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_values() {
        assert_eq!(scaled_sigmoid(0.0), 0.0);
        assert_eq!(scaled_sigmoid(3.0), 2.0 / (1.0 + 15f64.exp()) - 1.0);
        assert_eq!(scaled_sigmoid(3.000_001), -1.0);
        assert_eq!(scaled_sigmoid(1e300), -1.0);
        assert_eq!(scaled_sigmoid(f64::NEG_INFINITY), 1.0);
        let f1 = 2.0 / (1.0 + (-5f64).exp()) - 1.0;
        assert_eq!(scaled_sigmoid(-1.0), f1);
        // Odd symmetry and monotonic decrease.
        for y in [-2.0, -1.0, -0.3, 0.1, 0.7, 2.9] {
            assert!((scaled_sigmoid(y) + scaled_sigmoid(-y)).abs() < 1e-15);
            assert!(scaled_sigmoid(y) > scaled_sigmoid(y + 0.01));
        }
    }

    #[test]
    fn probation_lengths() {
        assert_eq!(probation_rows(0), 0);
        assert_eq!(probation_rows(6), 0);
        assert_eq!(probation_rows(7), 1);
        assert_eq!(probation_rows(20), 3);
        assert_eq!(probation_rows(100), 15);
        assert_eq!(probation_rows(1538), 230);
        assert_eq!(probation_rows(4032), 604);
        assert_eq!(probation_rows(5000), 750);
        assert_eq!(probation_rows(4999), 749);
        assert_eq!(probation_rows(1_000_000), 750);
        for n in 0..20_000 {
            let exact = (15 * n / 100).min(750);
            let p = probation_rows(n);
            // Float rounding may only bite where 0.15 n is an integer.
            assert!(p == exact || (15 * n % 100 == 0 && p + 1 == exact), "{n}");
        }
    }

    #[test]
    fn profile_names_round_trip() {
        for p in Profile::ALL {
            assert_eq!(p.name().parse::<Profile>().unwrap(), p);
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.name())
            );
        }
        assert!(matches!(
            "Standard".parse::<Profile>(),
            Err(Error::UnknownProfile(_))
        ));
        assert_eq!(Profile::RewardLowFnRate.weights().false_negative, 2.0);
        assert_eq!(Profile::RewardLowFpRate.weights().false_positive, 0.22);
    }
}
