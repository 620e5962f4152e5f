//! Naive2, the M4 competition's benchmark: the naive forecast of the seasonally adjusted series,
//! re-seasonalised.

use prescient_core::{
    Error, Forecast, ForecastMethod, Forecaster, Result, Timestamp, check_forecast_request,
};

use crate::interval::z_score;

/// The settings of a [`Naive2`] forecaster: the seasonal period and the critical value of the
/// seasonality test.
///
/// The M4 definition (Makridakis et al. 2020 and the organisers' `Benchmarks and Evaluation.R`):
///
/// - the series is *seasonal* when `n ≥ 3m` and the lag-`m` autocorrelation passes the 90% test
///   `|r_m| > 1.645·sqrt((1 + 2·Σ_{k<m} r_k²) / n)`, with the ACF computed up to R's default
///   lag `⌊10·log10 n⌋` (the series is not seasonal when that is below `m`);
/// - the seasonal indices come from a classical multiplicative decomposition: a centred `2×m`
///   moving average (an `m`-term one for odd `m`) as the trend, the mean ratio `y / trend` per
///   position in the cycle, normalised to mean 1;
/// - the forecast is the last seasonally adjusted value times the index of each future position.
///
/// A non-seasonal series (or one whose indices are not all positive and finite, which the M4
/// data never produce) gets the plain naive forecast.
///
/// # Example
///
/// ```
/// use prescient_core::Forecaster;
/// use prescient_forecast::Naive2Params;
///
/// let y: Vec<f64> = (0..96).map(|t| 100.0 * [1.0, 2.0, 1.0, 0.5][t % 4] * (1.0 + (t % 7) as f64 * 1e-3)).collect();
/// let model = Naive2Params::new(4).fit(&y)?;
/// let f = model.predict(4, 0.95)?;
/// assert!(f.point[1] > f.point[0] && f.point[3] < f.point[2]);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Naive2Params {
    /// The seasonal period, in steps (1: never seasonal).
    pub period: usize,
    /// The critical value of the seasonality test (M4: 1.645, a 90% test).
    pub critical: f64,
}

impl Naive2Params {
    /// The M4 settings for a period of `period` steps.
    pub fn new(period: usize) -> Self {
        Naive2Params {
            period,
            critical: 1.645,
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for a period of 0 or a critical value that is negative or not
    /// finite.
    pub fn check(&self) -> Result<()> {
        if self.period == 0 {
            return Err(Error::InvalidParam {
                name: "period",
                reason: "must be at least 1".into(),
            });
        }
        prescient_core::check_non_negative("critical", self.critical)?;
        Ok(())
    }

    /// Fits on `history`, with its gaps filled (see [`crate::history`]).
    ///
    /// # Errors
    ///
    /// As [`Naive2Params::check`], and [`Error::NotEnoughData`] without two finite values.
    pub fn fit(&self, history: &[f64]) -> Result<Naive2> {
        self.check()?;
        let y = crate::history::fill_gaps(history)?;
        if y.len() < 2 {
            return Err(Error::NotEnoughData {
                needed: 2,
                got: y.len(),
            });
        }
        let n = y.len();
        let m = self.period;
        let indices = if m > 1 && is_seasonal(&y, m, self.critical) {
            multiplicative_indices(&y, m).filter(|f| f.iter().all(|v| v.is_finite() && *v > 0.0))
        } else {
            None
        };
        let index_at = |t: usize| indices.as_ref().map_or(1.0, |f| f[t % m]);
        // σ of the naive forecast of the adjusted series: the RMS of its one-step changes.
        let mut sum_sq = 0.0;
        let scale = y
            .iter()
            .fold(0.0f64, |a, v| a.max(v.abs()))
            .max(f64::MIN_POSITIVE);
        for t in 1..n {
            let d = (y[t] / index_at(t) - y[t - 1] / index_at(t - 1)) / scale;
            sum_sq += d * d;
        }
        let sigma = scale * (sum_sq / (n - 1) as f64).sqrt();
        let level = y[n - 1] / index_at(n - 1);
        Ok(Naive2 {
            period: m,
            indices,
            level,
            position: n,
            sigma: if sigma.is_finite() { sigma } else { 0.0 },
        })
    }
}

impl ForecastMethod for Naive2Params {
    fn name(&self) -> &'static str {
        "naive2"
    }

    fn fit(&self, history: &[f64]) -> Result<Box<dyn Forecaster>> {
        Ok(Box::new(Naive2Params::fit(self, history)?))
    }
}

/// A fitted [`Naive2`] forecaster (see [`Naive2Params`]).
///
/// `update` moves the level to the new observation's adjusted value; the seasonal indices and σ
/// stay those of the fit. Intervals treat the adjusted series as a random walk with the
/// fitted σ (the RMS of its one-step changes), `level ± z·σ·sqrt(h)`, re-seasonalised.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Naive2 {
    period: usize,
    /// The seasonal indices by position in the cycle (`None`: not seasonal).
    indices: Option<Vec<f64>>,
    /// The last seasonally adjusted value.
    level: f64,
    /// The position of the next observation (0-based, from the start of the history).
    position: usize,
    sigma: f64,
}

impl Naive2 {
    /// Whether the seasonality test found the series seasonal.
    pub fn is_seasonal(&self) -> bool {
        self.indices.is_some()
    }

    /// The seasonal indices by position in the cycle (position 0 is the history's first value),
    /// if the series is seasonal.
    pub fn indices(&self) -> Option<&[f64]> {
        self.indices.as_deref()
    }

    fn index_at(&self, t: usize) -> f64 {
        self.indices.as_ref().map_or(1.0, |f| f[t % self.period])
    }
}

impl Forecaster for Naive2 {
    #[cfg(feature = "serde")]
    prescient_core::serde_state!();

    fn name(&self) -> &'static str {
        "naive2"
    }

    /// # Errors
    ///
    /// [`Error::NonFinite`] when `y` is not finite; the state is left as it was.
    fn update(&mut self, _ts: Timestamp, y: f64) -> Result<()> {
        if !y.is_finite() {
            return Err(Error::NonFinite {
                index: self.position,
            });
        }
        self.level = y / self.index_at(self.position);
        self.position += 1;
        Ok(())
    }

    fn is_ready(&self) -> bool {
        true
    }

    fn predict_inplace(&self, horizon: usize, level: f64, out: &mut Forecast) -> Result<()> {
        check_forecast_request(horizon, level)?;
        let z = z_score(level)?;
        out.reset(horizon, level);
        for h in 1..=horizon {
            let s = self.index_at(self.position + h - 1);
            let half = z * self.sigma * (h as f64).sqrt();
            let (p, lo, hi) = (
                self.level * s,
                (self.level - half) * s,
                (self.level + half) * s,
            );
            if !(p.is_finite() && lo.is_finite() && hi.is_finite()) {
                return Err(Error::NonFinite { index: h - 1 });
            }
            out.point.push(p);
            out.lower.push(lo);
            out.upper.push(hi);
        }
        Ok(())
    }

    fn reset(&mut self) {
        // Naive2 has nothing to forget but its level, which it cannot forecast without: it keeps
        // the last one and the indices (its "parameters").
    }
}

/// The M4 seasonality test (see [`Naive2Params`]).
pub(crate) fn is_seasonal(y: &[f64], m: usize, critical: f64) -> bool {
    let n = y.len();
    if m <= 1 || n < 3 * m {
        return false;
    }
    let lag_max = ((10.0 * (n as f64).log10()).floor() as usize).min(n - 1);
    if lag_max < m {
        return false;
    }
    let r = acf(y, m);
    let sum_sq: f64 = r[..m - 1].iter().map(|v| v * v).sum();
    let limit = critical / (n as f64).sqrt() * (1.0 + 2.0 * sum_sq).sqrt();
    r[m - 1].is_finite() && r[m - 1].abs() > limit
}

/// The sample autocorrelations `r_1 … r_lags` (demeaned, divisor `n`, as R's `acf`); NaN for a
/// constant series.
pub(crate) fn acf(y: &[f64], lags: usize) -> Vec<f64> {
    let n = y.len();
    let mean = y.iter().sum::<f64>() / n as f64;
    let d: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let denom: f64 = d.iter().map(|v| v * v).sum();
    (1..=lags)
        .map(|k| {
            if denom > 0.0 && k < n {
                d[..n - k]
                    .iter()
                    .zip(&d[k..])
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    / denom
            } else {
                f64::NAN
            }
        })
        .collect()
}

/// The classical multiplicative seasonal indices by position in the cycle (see
/// [`Naive2Params`]), or `None` when the series is shorter than the moving average.
pub(crate) fn multiplicative_indices(y: &[f64], m: usize) -> Option<Vec<f64>> {
    let n = y.len();
    let weights: Vec<f64> = if m % 2 == 0 {
        let mut w = vec![1.0 / m as f64; m + 1];
        w[0] = 0.5 / m as f64;
        w[m] = 0.5 / m as f64;
        w
    } else {
        vec![1.0 / m as f64; m]
    };
    let half = weights.len() / 2;
    if n < weights.len() {
        return None;
    }
    let mut sums = vec![0.0; m];
    let mut counts = vec![0usize; m];
    for t in half..n - half {
        let trend: f64 = weights.iter().zip(&y[t - half..]).map(|(w, v)| w * v).sum();
        let ratio = y[t] / trend;
        if ratio.is_finite() {
            sums[t % m] += ratio;
            counts[t % m] += 1;
        }
    }
    let figure: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| if c > 0 { s / c as f64 } else { f64::NAN })
        .collect();
    let mean = figure.iter().sum::<f64>() / m as f64;
    Some(figure.iter().map(|f| f / mean).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seasonal(n: usize) -> Vec<f64> {
        (0..n)
            .map(|t| {
                let s = [0.6, 1.0, 1.8, 0.6][t % 4];
                (100.0 + t as f64) * s + ((t * 7919) % 13) as f64 * 0.1
            })
            .collect()
    }

    #[test]
    fn indices_average_to_one_and_follow_the_pattern() {
        let y = seasonal(200);
        let f = multiplicative_indices(&y, 4).unwrap();
        assert!((f.iter().sum::<f64>() / 4.0 - 1.0).abs() < 1e-12);
        assert!(
            f[2] > f[1] && f[1] > f[0] && (f[0] - f[3]).abs() < 0.05,
            "{f:?}"
        );
    }

    #[test]
    fn forecast_is_the_adjusted_last_value_reseasonalised() {
        let y = seasonal(200);
        let model = Naive2Params::new(4).fit(&y).unwrap();
        assert!(model.is_seasonal());
        let f = model.predict(8, 0.95).unwrap();
        let idx = model.indices().unwrap();
        let level = y[199] / idx[199 % 4];
        for h in 1..=8 {
            assert!((f.point[h - 1] - level * idx[(199 + h) % 4]).abs() < 1e-9);
            assert!(f.lower[h - 1] < f.point[h - 1] && f.point[h - 1] < f.upper[h - 1]);
        }
    }

    #[test]
    fn a_short_or_unseasonal_series_gets_the_naive_forecast() {
        let y: Vec<f64> = (0..10).map(|t| t as f64).collect();
        let model = Naive2Params::new(4).fit(&y).unwrap();
        assert!(!model.is_seasonal());
        assert_eq!(model.predict(3, 0.9).unwrap().point, vec![9.0; 3]);
    }

    #[test]
    fn update_moves_the_level() {
        let y = seasonal(200);
        let mut model = Naive2Params::new(4).fit(&y[..196]).unwrap();
        for (i, &v) in y[196..].iter().enumerate() {
            model.update(Timestamp::from_secs(i as i64), v).unwrap();
        }
        let direct = Naive2Params::new(4).fit(&y).unwrap();
        // Same level; the indices differ slightly (fitted on 196 against 200 points).
        let (a, b) = (
            model.predict(1, 0.9).unwrap().point[0],
            direct.predict(1, 0.9).unwrap().point[0],
        );
        assert!((a - b).abs() / b < 0.02, "{a} {b}");
        assert!(model.update(Timestamp::from_secs(9), f64::NAN).is_err());
    }

    #[test]
    fn constant_series_has_no_nan() {
        let model = Naive2Params::new(4).fit(&[5.0; 40]).unwrap();
        let f = model.predict(6, 0.95).unwrap();
        assert!(f.point.iter().chain(&f.lower).all(|v| *v == 5.0));
    }

    #[test]
    fn bad_settings_are_errors() {
        assert!(Naive2Params::new(0).fit(&[1.0, 2.0]).is_err());
        assert!(Naive2Params::new(2).fit(&[1.0]).is_err());
    }
}
