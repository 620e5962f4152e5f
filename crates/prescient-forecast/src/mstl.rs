//! Decomposition forecasting with augurs: MSTL (or STL for one period) removes the seasonal
//! components, augurs' AutoETS forecasts the seasonally adjusted series, and the last cycle of
//! each seasonal component is added back (R's `stlf` / `mstl` + `forecast`).

use augurs::mstl::MSTLModel;
use augurs::{Fit as _, Predict as _};
use prescient_core::{
    Error, Forecast, ForecastMethod, Forecaster, Result, RingBuffer, Timestamp,
    check_forecast_request,
};

/// The settings of an [`Mstl`] forecaster: the seasonal periods, whether to model the
/// logarithm, how much history to keep and how often to refit.
///
/// The trend model is augurs' AutoETS over the non-seasonal ETS family (error, trend and
/// damping chosen by AICc). The seasonal components are forecast by repeating their last cycle,
/// so, as in R's `stlf`, the intervals are those of the adjusted series' ETS model.
///
/// With [`MstlParams::log`] the model is fitted to `ln y` and the forecasts and interval ends are
/// exponentiated back (a multiplicative decomposition: the right one for series whose daily
/// swing grows with their level); a history with a value ≤ 0 is then fitted on the original
/// scale instead.
///
/// # Example
///
/// ```
/// use prescient_core::Forecaster;
/// use prescient_forecast::MstlParams;
///
/// let y: Vec<f64> = (0..24 * 21)
///     .map(|t| 100.0 + 20.0 * (t as f64 * std::f64::consts::TAU / 24.0).sin())
///     .collect();
/// let model = MstlParams::new(vec![24, 168]).fit(&y)?;
/// let f = model.predict(24, 0.95)?;
/// assert!((f.point[6] - 120.0).abs() < 2.0);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MstlParams {
    periods: Vec<usize>,
    log: bool,
    window: usize,
    refit_every: usize,
    name: &'static str,
}

impl MstlParams {
    /// MSTL with the given seasonal periods (in steps), on the log scale, a history window of
    /// 2,000 steps and a refit every 24 steps.
    ///
    /// Periods whose two full cycles do not fit in a history are left out of that fit; with
    /// none left, the series is forecast by AutoETS alone.
    pub fn new(periods: Vec<usize>) -> Self {
        MstlParams {
            periods,
            log: true,
            window: 2000,
            refit_every: 24,
            name: "mstl",
        }
    }

    /// The same settings under another name (for reports and [`ForecastMethod::name`]).
    pub(crate) fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// Whether to fit the logarithm of the series (default true).
    pub fn log(mut self, log: bool) -> Self {
        self.log = log;
        self
    }

    /// The most recent observations kept and fitted on (default 2,000).
    pub fn window(mut self, window: usize) -> Self {
        self.window = window;
        self
    }

    /// Observations between refits of the online model (default 24).
    pub fn refit_every(mut self, refit_every: usize) -> Self {
        self.refit_every = refit_every;
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for a period below 2, a window below 8, or a refit interval of
    /// 0.
    pub fn check(&self) -> Result<()> {
        if let Some(p) = self.periods.iter().find(|&&p| p < 2) {
            return Err(Error::InvalidParam {
                name: "periods",
                reason: format!("every period must be at least 2, got {p}"),
            });
        }
        if self.window < 8 {
            return Err(Error::InvalidParam {
                name: "window",
                reason: format!("must be at least 8, got {}", self.window),
            });
        }
        if self.refit_every == 0 {
            return Err(Error::InvalidParam {
                name: "refit_every",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    /// Fits on the last [`MstlParams::window`] values of `history` (gaps filled, see
    /// [`crate::history`]).
    ///
    /// # Errors
    ///
    /// As [`MstlParams::check`]; [`Error::NotEnoughData`] with fewer than 8 values (a history
    /// shorter than two cycles of every period is fitted by AutoETS alone);
    /// [`Error::NonFinite`] when augurs fails on the series (its error is not kept).
    pub fn fit(&self, history: &[f64]) -> Result<Mstl> {
        self.check()?;
        let y = crate::history::fill_gaps(history)?;
        if y.len() < 8 {
            return Err(Error::NotEnoughData {
                needed: 8,
                got: y.len(),
            });
        }
        let start = y.len().saturating_sub(self.window);
        let mut kept = RingBuffer::new(self.window);
        y[start..].iter().for_each(|&v| {
            kept.push(v);
        });
        let fitted = fit_augurs(self, kept.make_contiguous())?;
        Ok(Mstl {
            params: self.clone(),
            history: kept,
            fitted,
            since_fit: 0,
            seen: y.len(),
        })
    }
}

impl ForecastMethod for MstlParams {
    fn name(&self) -> &'static str {
        self.name
    }

    fn fit(&self, history: &[f64]) -> Result<Box<dyn Forecaster>> {
        Ok(Box::new(MstlParams::fit(self, history)?))
    }
}

/// The part of a fit a forecast needs.
#[derive(Debug)]
struct Fitted {
    model: FittedModel,
    log: bool,
}

/// MSTL and its trend model, or AutoETS alone when no cycle fits twice in the history.
#[derive(Debug)]
enum FittedModel {
    Mstl(augurs::mstl::FittedMSTLModel),
    Ets(augurs::ets::FittedAutoETS),
}

impl FittedModel {
    fn predict(&self, horizon: usize, level: f64) -> Option<augurs::Forecast> {
        match self {
            FittedModel::Mstl(m) => m.predict(horizon, level).ok(),
            FittedModel::Ets(m) => m.predict(horizon, level).ok(),
        }
    }
}

fn fit_augurs(params: &MstlParams, y: &[f64]) -> Result<Fitted> {
    let log = params.log && y.iter().all(|v| *v > 0.0);
    let scaled: Vec<f64> = if log {
        y.iter().map(|v| v.ln()).collect()
    } else {
        y.to_vec()
    };
    let periods: Vec<usize> = params
        .periods
        .iter()
        .copied()
        .filter(|&p| 2 * p <= y.len())
        .collect();
    // augurs' errors say little a caller can act on: the fit failed on this series.
    let failed = || Error::NonFinite { index: y.len() };
    let model = if periods.is_empty() {
        FittedModel::Ets(
            augurs::ets::AutoETS::non_seasonal()
                .fit(&scaled)
                .map_err(|_| failed())?,
        )
    } else {
        let trend = augurs::ets::AutoETS::non_seasonal().into_trend_model();
        FittedModel::Mstl(
            MSTLModel::new(periods, trend)
                .fit(&scaled)
                .map_err(|_| failed())?,
        )
    };
    Ok(Fitted { model, log })
}

/// A fitted MSTL + AutoETS forecaster (see [`MstlParams`]).
///
/// `update` keeps the last [`MstlParams::window`] observations and refits every
/// [`MstlParams::refit_every`] of them; between refits the forecast continues from the last
/// fit's origin (the `k` steps seen since are skipped), so an update costs `O(1)` except at a
/// refit.
#[derive(Debug)]
pub struct Mstl {
    params: MstlParams,
    history: RingBuffer<f64>,
    fitted: Fitted,
    since_fit: usize,
    seen: usize,
}

impl Mstl {
    /// The settings this model was fitted with.
    pub fn settings(&self) -> &MstlParams {
        &self.params
    }

    /// Whether the last fit was on the log scale.
    pub fn is_log(&self) -> bool {
        self.fitted.log
    }
}

impl Forecaster for Mstl {
    fn name(&self) -> &'static str {
        self.params.name
    }

    /// # Errors
    ///
    /// [`Error::NonFinite`] when `y` is not finite (the state is left as it was); a failed
    /// refit keeps the previous fit and is not an error.
    fn update(&mut self, _ts: Timestamp, y: f64) -> Result<()> {
        if !y.is_finite() {
            return Err(Error::NonFinite { index: self.seen });
        }
        self.history.push(y);
        self.seen += 1;
        self.since_fit += 1;
        if self.since_fit >= self.params.refit_every {
            if let Ok(f) = fit_augurs(&self.params, self.history.make_contiguous()) {
                self.fitted = f;
                self.since_fit = 0;
            }
        }
        Ok(())
    }

    fn is_ready(&self) -> bool {
        true
    }

    fn predict_inplace(&self, horizon: usize, level: f64, out: &mut Forecast) -> Result<()> {
        check_forecast_request(horizon, level)?;
        let skip = self.since_fit;
        let f = self
            .fitted
            .model
            .predict(skip + horizon, level)
            .ok_or(Error::NonFinite { index: 0 })?;
        let back = |v: f64| if self.fitted.log { v.exp() } else { v };
        out.reset(horizon, level);
        for h in skip..skip + horizon {
            let p = back(f.point[h]);
            let (lo, hi) = match &f.intervals {
                Some(iv) => (back(iv.lower[h]), back(iv.upper[h])),
                None => (p, p),
            };
            if !(p.is_finite() && lo.is_finite() && hi.is_finite()) {
                return Err(Error::NonFinite { index: h - skip });
            }
            out.point.push(p);
            out.lower.push(lo.min(p));
            out.upper.push(hi.max(p));
        }
        Ok(())
    }

    fn reset(&mut self) {
        // The fit is the model's parameters; forgetting the observations would leave nothing to
        // forecast from, so `reset` only drops the history kept for the next refit.
        self.history.clear();
        self.since_fit = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily(n: usize, noise: u64) -> Vec<f64> {
        let mut state = noise;
        (0..n)
            .map(|t| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let e = ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 2.0;
                let day = (t as f64 * std::f64::consts::TAU / 24.0).sin();
                let week = if (t / 24) % 7 >= 5 { 0.7 } else { 1.0 };
                (200.0 + 0.1 * t as f64) * (1.0 + 0.3 * day) * week + e
            })
            .collect()
    }

    #[test]
    fn forecasts_a_daily_and_weekly_pattern() {
        let y = daily(24 * 7 * 5, 7);
        let (train, test) = y.split_at(y.len() - 48);
        let model = MstlParams::new(vec![24, 168]).fit(train).unwrap();
        assert!(model.is_log());
        let f = model.predict(48, 0.95).unwrap();
        let mape: f64 = f
            .point
            .iter()
            .zip(test)
            .map(|(p, y)| (p - y).abs() / y)
            .sum::<f64>()
            / 48.0;
        assert!(mape < 0.03, "MAPE {mape}");
        assert!(f.is_consistent());
    }

    #[test]
    fn update_between_refits_continues_the_old_forecast() {
        let y = daily(24 * 7 * 4, 3);
        let mut model = MstlParams::new(vec![24]).refit_every(1000).fit(&y).unwrap();
        let before = model.predict(10, 0.9).unwrap();
        for (i, &v) in y[..3].iter().enumerate() {
            model.update(Timestamp::from_secs(i as i64), v).unwrap();
        }
        let after = model.predict(7, 0.9).unwrap();
        assert_eq!(&before.point[3..], &after.point[..]);
        assert!(model.update(Timestamp::from_secs(0), f64::NAN).is_err());
    }

    #[test]
    fn non_positive_values_fall_back_to_the_original_scale() {
        let mut y = daily(24 * 10, 5);
        y[3] = -1.0;
        let model = MstlParams::new(vec![24]).fit(&y).unwrap();
        assert!(!model.is_log());
        assert!(model.predict(5, 0.8).unwrap().is_consistent());
    }

    #[test]
    fn too_short_or_bad_settings_are_errors() {
        assert!(MstlParams::new(vec![24]).fit(&[1.0; 7]).is_err());
        assert!(MstlParams::new(vec![1]).fit(&[1.0; 300]).is_err());
        assert!(
            MstlParams::new(vec![24])
                .refit_every(0)
                .fit(&[1.0; 300])
                .is_err()
        );
    }

    #[test]
    fn constant_series_is_finite() {
        let model = MstlParams::new(vec![24]).fit(&[5.0; 200]).unwrap();
        let f = model.predict(30, 0.95).unwrap();
        // augurs runs STL in f32: a relative error of a few 1e-7 of ln 5 is all there is.
        assert!(
            f.point.iter().all(|v| (v - 5.0).abs() < 1e-4),
            "{:?}",
            f.point
        );
    }
}
