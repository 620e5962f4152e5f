use prescient_core::{FeatureExtractor, Result, RingBuffer, Timestamp};

/// The rate of change of a metric, in units per second, over the last `lag` values.
///
/// Uses the samples' own timestamps, so irregular sampling gives the right slope. Features, in
/// order: `rate` = (x_t − x_{t−lag}) / (t − t_lag) and `accel`, the change of that rate per
/// second between the last two updates. Both are 0 until two values with different timestamps
/// were seen.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RateOfChange {
    history: RingBuffer<(Timestamp, f64)>,
    rate: f64,
    accel: f64,
}

impl RateOfChange {
    /// The rate over the last `lag` steps (`lag = 1`: the first difference).
    ///
    /// # Errors
    ///
    /// [`prescient_core::Error::InvalidParam`] when `lag` is 0.
    pub fn new(lag: usize) -> Result<Self> {
        let lag = crate::check_window("lag", lag)?;
        Ok(RateOfChange {
            history: RingBuffer::new(lag + 1),
            rate: 0.0,
            accel: 0.0,
        })
    }

    /// The current rate, in units per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The current change of the rate, in units per second squared.
    pub fn acceleration(&self) -> f64 {
        self.accel
    }
}

/// `later − earlier` in seconds: the milliseconds times 10⁻³ rather than divided by 10³, which
/// differs only by rounding and saves two divisions of every update (a hot path: every load
/// metric of every tick).
fn secs_between(later: Timestamp, earlier: Timestamp) -> f64 {
    let ms = match later.as_millis().checked_sub(earlier.as_millis()) {
        Some(d) => d as f64,
        None => (i128::from(later.as_millis()) - i128::from(earlier.as_millis())) as f64,
    };
    ms * 1e-3
}

fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

impl FeatureExtractor for RateOfChange {
    fn names(&self) -> Vec<String> {
        vec!["rate".into(), "accel".into()]
    }

    fn len(&self) -> usize {
        2
    }

    /// Takes a finite `x` at a `ts` later than the previous one; anything else is ignored.
    fn update(&mut self, ts: Timestamp, x: f64) {
        if !x.is_finite() || self.history.back().is_some_and(|&(t, _)| ts <= t) {
            return;
        }
        let prev_ts = self.history.back().map(|&(t, _)| t);
        self.history.push((ts, x));
        let Some(&(t0, x0)) = self.history.front() else {
            return;
        };
        let dt = secs_between(ts, t0);
        if dt > 0.0 {
            let rate = finite_or_zero((x - x0) / dt);
            if let Some(p) = prev_ts {
                let step = secs_between(ts, p);
                if self.history.len() > 2 && step > 0.0 {
                    self.accel = finite_or_zero((rate - self.rate) / step);
                }
            }
            self.rate = rate;
        }
    }

    fn extract_inplace(&self, out: &mut [f64]) {
        out[0] = self.rate;
        out[1] = self.accel;
    }

    fn reset(&mut self) {
        self.history.clear();
        self.rate = 0.0;
        self.accel = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_cannot_be_zero() {
        assert!(RateOfChange::new(0).is_err());
    }

    #[test]
    fn slope_of_a_line_and_its_acceleration() {
        let mut r = RateOfChange::new(2).unwrap();
        // x = t² / 100 sampled every 10 s: the rate over two steps is the slope at the middle.
        for i in 0..6 {
            let t = 10.0 * i as f64;
            r.update(Timestamp::from_secs(10 * i), t * t / 100.0);
        }
        // Between t = 30 and t = 50: (25 − 9) / 20 = 0.8 units per second.
        assert!((r.rate() - 0.8).abs() < 1e-12);
        // The rate grows by 0.2 every 10 s.
        assert!((r.acceleration() - 0.02).abs() < 1e-12);
    }

    #[test]
    fn ignores_stale_and_non_finite_samples() {
        let mut r = RateOfChange::new(1).unwrap();
        r.update(Timestamp::from_secs(10), 1.0);
        r.update(Timestamp::from_secs(20), 2.0);
        r.update(Timestamp::from_secs(15), 100.0);
        r.update(Timestamp::from_secs(20), 100.0);
        r.update(Timestamp::from_secs(30), f64::NAN);
        assert_eq!(r.rate(), 0.1);
    }

    #[test]
    fn huge_values_give_no_infinity() {
        let mut r = RateOfChange::new(1).unwrap();
        r.update(Timestamp::from_millis(0), -f64::MAX);
        r.update(Timestamp::from_millis(1), f64::MAX);
        assert!(r.extract().iter().all(|v| v.is_finite()));
    }
}
