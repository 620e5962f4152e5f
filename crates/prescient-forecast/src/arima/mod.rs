//! ARIMA models: a fixed order ([`ArimaParams`]) and the automatic order search
//! ([`AutoArima`]), fitted by the exact Gaussian likelihood, with a seasonal treatment by
//! decomposition (STL/MSTL) or seasonal ARIMA.
//!
//! Everything is written here (see `../shared/DEPENDENCIES.md`: no crate on the registry does
//! it well); only the optimiser (argmin's L-BFGS) and the decomposition (`stlrs`) come from
//! elsewhere. The pieces follow R's `stats::arima` and `forecast::auto.arima` (and
//! statsforecast's port of them):
//!
//! - `poly`: the partial-autocorrelation parametrisation (AR stationary, MA invertible for every
//!   value of the optimiser's variables), seasonal products, root checks, ψ-weights;
//! - `kalman`: Harvey's state-space form, the exact likelihood with the mean concentrated out,
//!   the one-step state update and the state forecast;
//! - `css`: the conditional sum of squares (start values, and the search's approximation);
//! - `estimate`: CSS then maximum likelihood for one order;
//! - `kpss`: the KPSS test for `d`, the seasonal-strength test for `D`;
//! - `search`: the Hyndman–Khandakar stepwise search by AICc;
//! - `seasonal`: the STL/MSTL decomposition and the repeated seasonal pattern.

mod css;
mod estimate;
mod kalman;
mod kpss;
mod params;
mod poly;
mod search;
mod seasonal;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fmt;

use prescient_core::{Error, Forecast, Forecaster, Result, Timestamp, check_forecast_request};

use crate::interval::z_score;
use estimate::{Estimate, Expander, Prepared, estimate, final_state};
use kalman::ArmaState;
use poly::{apply_difference, differencing, integrate_ar, psi_weights};
use search::Choice;

pub use params::{ArimaParams, AutoArima, AutoArimaParams, SeasonalStrategy};

/// An ARIMA order `(p, d, q)(P, D, Q)_m`.
///
/// # Example
///
/// ```
/// use prescient_forecast::ArimaOrder;
///
/// let order = ArimaOrder::new(1, 1, 1).with_seasonal(0, 1, 1, 24);
/// assert_eq!(order.to_string(), "ARIMA(1,1,1)(0,1,1)[24]");
/// assert_eq!(ArimaOrder::new(2, 0, 0).to_string(), "ARIMA(2,0,0)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ArimaOrder {
    /// AR order `p`.
    pub p: usize,
    /// Differences `d`.
    pub d: usize,
    /// MA order `q`.
    pub q: usize,
    /// Seasonal AR order `P`.
    pub sp: usize,
    /// Seasonal differences `D`.
    pub sd: usize,
    /// Seasonal MA order `Q`.
    pub sq: usize,
    /// Seasonal period `m` (0 without seasonal terms).
    pub period: usize,
}

impl ArimaOrder {
    /// The non-seasonal order `(p, d, q)`.
    pub const fn new(p: usize, d: usize, q: usize) -> Self {
        ArimaOrder {
            p,
            d,
            q,
            sp: 0,
            sd: 0,
            sq: 0,
            period: 0,
        }
    }

    /// The same order with seasonal part `(P, D, Q)` of period `m`.
    pub const fn with_seasonal(self, sp: usize, sd: usize, sq: usize, period: usize) -> Self {
        ArimaOrder {
            sp,
            sd,
            sq,
            period,
            ..self
        }
    }

    /// Whether the order has seasonal terms.
    pub fn is_seasonal(&self) -> bool {
        self.sp + self.sd + self.sq > 0
    }

    /// The period the seasonal terms act at (0 without them).
    pub(crate) fn season_len(&self) -> usize {
        if self.is_seasonal() { self.period } else { 0 }
    }

    pub(crate) fn check(&self) -> Result<()> {
        if self.is_seasonal() && self.period < 2 {
            return params::invalid(
                "period",
                format!(
                    "seasonal terms need a period of at least 2, got {}",
                    self.period
                ),
            );
        }
        Ok(())
    }
}

impl fmt::Display for ArimaOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ARIMA({},{},{})", self.p, self.d, self.q)?;
        if self.is_seasonal() {
            write!(f, "({},{},{})[{}]", self.sp, self.sd, self.sq, self.period)?;
        }
        Ok(())
    }
}

/// What a refit runs again.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
enum Settings {
    Fixed(ArimaParams),
    Auto(AutoArimaParams),
}

impl Settings {
    fn min_history(&self) -> usize {
        match self {
            Settings::Fixed(p) => p.min_history(),
            Settings::Auto(p) => p.min_history(),
        }
    }

    fn window(&self) -> Option<usize> {
        match self {
            Settings::Fixed(p) => p.window,
            Settings::Auto(p) => p.window,
        }
    }

    /// The longest seasonal period the settings mention (0 for none).
    fn longest_period(&self) -> usize {
        match self {
            Settings::Fixed(p) => p
                .decompose
                .iter()
                .copied()
                .chain([p.order.season_len()])
                .max()
                .unwrap_or(0),
            Settings::Auto(p) => p.periods.iter().copied().max().unwrap_or(0),
        }
    }

    fn refit_every(&self) -> usize {
        let set = match self {
            Settings::Fixed(p) => p.refit_every,
            Settings::Auto(p) => p.refit_every,
        };
        set.unwrap_or(match self.longest_period() {
            0 => DEFAULT_REFIT,
            m => m,
        })
    }
}

/// Updates between refits without a seasonal period.
const DEFAULT_REFIT: usize = 100;

/// The estimated model.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Model {
    order: ArimaOrder,
    constant: bool,
    /// `φ`, `θ`, `Φ`, `Θ`.
    coef: Vec<f64>,
    /// The mean of the differenced series (0 without a constant).
    mu: f64,
    /// The innovation standard deviation.
    sigma: f64,
    loglik: f64,
    aic: f64,
    aicc: f64,
    bic: f64,
    nobs: usize,
    /// The decomposition periods used (empty without a decomposition).
    periods: Vec<usize>,
    /// The differencing polynomial `Δ(B) = 1 + Σ δ_k B^k`.
    delta: Vec<f64>,
    /// `φ(B)Φ(B^m)Δ(B)` as `1 − Σ c_k B^k`, and `θ(B)Θ(B^m)`, for the ψ-weights.
    psi_ar: Vec<f64>,
    psi_ma: Vec<f64>,
}

/// What moves with every observation.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Live {
    /// The filter's state (of the differenced, mean-adjusted, seasonally adjusted series).
    state: ArmaState,
    /// The last `len(δ)` values of the modelled (seasonally adjusted) series, oldest first.
    recent: VecDeque<f64>,
    /// The seasonal values of the next steps, repeating (empty without a decomposition), and
    /// the index of the next step's.
    pattern: Vec<f64>,
    head: usize,
}

/// A fitted ARIMA model, made by [`ArimaParams::fit`] or [`AutoArimaParams::fit`].
///
/// `update` runs one step of the Kalman filter with the new observation (after seasonal
/// adjustment and differencing) in `O(r²)`; every `refit_every` updates the model is
/// re-estimated on the latest `window` observations (re-running the order search when it came
/// from [`AutoArima`]); a refit that fails keeps the current model. `predict_inplace` gives the
/// filter's point forecasts, integrated and re-seasonalised, and normal intervals from the
/// ψ-weights of the whole model including its differencing:
///
/// ```text
/// v[h] = σ² · (ψ₀² + … + ψ_{h−1}²),   ψ(B) = θ(B)Θ(B^m) / (φ(B)Φ(B^m)(1 − B)^d(1 − B^m)^D)
/// ```
///
/// The seasonal pattern of a decomposition counts as known: the intervals are the ARIMA's on
/// the adjusted series.
///
/// [`Forecaster::reset`] keeps the settings and forgets the state and history: the model
/// collects observations again and refits once it has enough.
///
/// # Example
///
/// ```
/// use prescient_core::{Forecaster, Timestamp};
/// use prescient_forecast::AutoArima;
///
/// let y: Vec<f64> = (0..600)
///     .map(|t| 50.0 + 10.0 * (t as f64 * std::f64::consts::TAU / 24.0).sin() + ((t * 31) % 7) as f64)
///     .collect();
/// let mut model = AutoArima::params().season(Some(24)).fit(&y[..576])?;
/// for (t, &v) in y.iter().enumerate().skip(576) {
///     model.update(Timestamp::from_secs(3600 * t as i64), v)?;
/// }
/// let f = model.predict(48, 0.95)?;
/// assert!(f.is_consistent());
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Arima {
    settings: Settings,
    model: Model,
    live: Option<Live>,
    /// The latest observations (at most `window`), for refits.
    history: VecDeque<f64>,
    window: usize,
    refit_every: usize,
    since_fit: usize,
    /// Observations accepted (the history, then the updates), for error indices.
    seen: usize,
}

impl Arima {
    /// The settings of a model of the fixed `order`, to refine and then
    /// [`fit`](ArimaParams::fit).
    pub fn params(order: ArimaOrder) -> ArimaParams {
        ArimaParams::new(order)
    }

    pub(crate) fn fit_fixed(params: ArimaParams, history: &[f64]) -> Result<Arima> {
        Arima::fit_settings(Settings::Fixed(params), history)
    }

    pub(crate) fn fit_auto(params: AutoArimaParams, history: &[f64]) -> Result<Arima> {
        Arima::fit_settings(Settings::Auto(params), history)
    }

    fn fit_settings(settings: Settings, history: &[f64]) -> Result<Arima> {
        let needed = settings.min_history();
        if history.len() < needed {
            return Err(Error::NotEnoughData {
                needed,
                got: history.len(),
            });
        }
        let (model, live) = build(&settings, history)?;
        let window = settings.window().unwrap_or(history.len()).max(needed);
        let start = history.len().saturating_sub(window);
        Ok(Arima {
            refit_every: settings.refit_every(),
            settings,
            model,
            live: Some(live),
            history: history[start..].iter().copied().collect(),
            window,
            since_fit: 0,
            seen: history.len(),
        })
    }

    /// The order of the model.
    pub fn order(&self) -> ArimaOrder {
        self.model.order
    }

    /// The AR coefficients `φ₁ … φ_p` (the polynomial `1 − φ₁B − … − φ_pB^p`).
    pub fn ar(&self) -> &[f64] {
        let o = self.model.order;
        &self.model.coef[..o.p]
    }

    /// The MA coefficients `θ₁ … θ_q` (the polynomial `1 + θ₁B + … + θ_qB^q`).
    pub fn ma(&self) -> &[f64] {
        let o = self.model.order;
        &self.model.coef[o.p..o.p + o.q]
    }

    /// The seasonal AR coefficients `Φ₁ … Φ_P`.
    pub fn seasonal_ar(&self) -> &[f64] {
        let o = self.model.order;
        &self.model.coef[o.p + o.q..o.p + o.q + o.sp]
    }

    /// The seasonal MA coefficients `Θ₁ … Θ_Q`.
    pub fn seasonal_ma(&self) -> &[f64] {
        let o = self.model.order;
        &self.model.coef[o.p + o.q + o.sp..]
    }

    /// The constant: the mean of the differenced series. Without differencing it is the mean
    /// of the series; with `d = 1` the drift per step; with `D = 1` (and `d = 0`) the drift
    /// per season. `None` when the model has no constant.
    pub fn constant(&self) -> Option<f64> {
        self.model.constant.then_some(self.model.mu)
    }

    /// The innovation variance `σ²` (the sum of squared one-step errors over `n − k + 1`, `k`
    /// counting the estimated coefficients, the constant and `σ²`, as `auto.arima` has it).
    pub fn sigma2(&self) -> f64 {
        self.model.sigma * self.model.sigma
    }

    /// The maximised Gaussian log-likelihood of the differenced series (NaN for a CSS-only fit
    /// or a constant series).
    pub fn loglik(&self) -> f64 {
        self.model.loglik
    }

    /// Akaike's criterion `−2 log L + 2k`.
    pub fn aic(&self) -> f64 {
        self.model.aic
    }

    /// The corrected AIC, `AIC + 2k(k + 1)/(n − k − 1)`, the search's criterion.
    pub fn aicc(&self) -> f64 {
        self.model.aicc
    }

    /// The Bayesian criterion `AIC + k(ln n − 2)`.
    pub fn bic(&self) -> f64 {
        self.model.bic
    }

    /// Observations of the differenced series the coefficients were estimated on.
    pub fn nobs(&self) -> usize {
        self.model.nobs
    }

    /// The periods whose seasonal components were removed by STL/MSTL before fitting (empty
    /// without a decomposition).
    pub fn decomposed_periods(&self) -> &[usize] {
        &self.model.periods
    }

    /// Updates between refits (0: never).
    pub fn refit_interval(&self) -> usize {
        self.refit_every
    }

    /// Refits on the kept history, replacing the model if the fit succeeds.
    fn refit(&mut self) -> bool {
        let y: Vec<f64> = self.history.iter().copied().collect();
        match build(&self.settings, &y) {
            Ok((model, live)) => {
                self.model = model;
                self.live = Some(live);
                true
            }
            Err(_) => false,
        }
    }

    /// How many observations a warm-up after a reset collects before it fits.
    fn warm_up_len(&self) -> usize {
        let need = self
            .settings
            .min_history()
            .max(2 * self.settings.longest_period() + 1);
        need.min(self.window)
    }
}

/// Fits the settings on `y`: decomposition, order choice, estimation, state.
fn build(settings: &Settings, y: &[f64]) -> Result<(Model, Live)> {
    let not_enough = || Error::NotEnoughData {
        needed: settings.min_history(),
        got: y.len(),
    };
    let periods: &[usize] = match settings {
        Settings::Fixed(p) => &p.decompose,
        Settings::Auto(p) if p.strategy == SeasonalStrategy::Decompose => &p.periods,
        Settings::Auto(_) => &[],
    };
    let windows = match settings {
        Settings::Auto(p) => p.seasonal_windows.as_deref(),
        Settings::Fixed(p) => p.seasonal_windows.as_deref(),
    };
    let (z, pattern, used) = match seasonal::decompose(y, periods, windows) {
        Some(dec) => (dec.adjusted, dec.pattern, dec.periods),
        None => (y.to_vec(), Vec::new(), Vec::new()),
    };
    let choice = match settings {
        Settings::Auto(p) => {
            let m = match p.strategy {
                SeasonalStrategy::Sarima => p.periods.first().copied().unwrap_or(0),
                SeasonalStrategy::Decompose => 0,
            };
            search::auto_arima(&z, p, m).ok_or_else(not_enough)?
        }
        Settings::Fixed(p) => {
            let o = p.order;
            let delta = differencing(o.d, o.sd, o.season_len());
            let w = apply_difference(&z, &delta);
            let constant = p.has_constant();
            match Prepared::new(&w, constant) {
                None => Choice::Constant {
                    order: o,
                    mu: if constant {
                        w.first().copied().unwrap_or(0.0)
                    } else {
                        0.0
                    },
                },
                Some(prep) => Choice::Model(
                    estimate(&prep, o, constant, p.method, 0.0, None).ok_or_else(not_enough)?,
                ),
            }
        }
    };
    let (model, state) = match choice {
        Choice::Model(est) => {
            let holdout = if used.is_empty() {
                None
            } else {
                holdout_sigma(y, &used, windows, &est)
            };
            let (mut model, state) = model_of(&z, est, used).ok_or_else(not_enough)?;
            if let Some(h) = holdout {
                model.sigma = model.sigma.max(h);
            }
            (model, state)
        }
        Choice::Constant { order, mu } => constant_model(order, mu, used),
    };
    let l = model.delta.len();
    let recent: VecDeque<f64> = z[z.len().saturating_sub(l)..].iter().copied().collect();
    if recent.len() < l {
        return Err(not_enough());
    }
    Ok((
        model,
        Live {
            state,
            recent,
            pattern,
            head: 0,
        },
    ))
}

/// The standard deviation of the one-step errors over the last stretch of `y` (a week of
/// hours, or the pattern's length if longer) when the decomposition is fitted without that
/// stretch and its seasonal part is the repeated pattern, as in a forecast.
fn holdout_sigma(
    y: &[f64],
    periods: &[usize],
    windows: Option<&[usize]>,
    est: &Estimate,
) -> Option<f64> {
    let n = y.len();
    let longest = periods.iter().copied().max()?;
    let (_, lcm) = seasonal::usable_periods(periods, n);
    let k = lcm?.max(HOLDOUT).min(n / 4);
    if k == 0 || n < k + 2 * longest {
        return None;
    }
    let dec = seasonal::decompose(&y[..n - k], periods, windows)?;
    if dec.periods != periods {
        return None;
    }
    let mut z = dec.adjusted;
    let pl = dec.pattern.len();
    z.extend((0..k).map(|i| y[n - k + i] - dec.pattern[i % pl]));
    let o = est.order;
    let delta = differencing(o.d, o.sd, o.season_len());
    let w = apply_difference(&z, &delta);
    let from = (n - k).checked_sub(delta.len())?;
    let s = estimate::magnitude(w.iter().map(|v| v - est.mu));
    let x: Vec<f64> = w.iter().map(|v| (v - est.mu) / s).collect();
    let mut e = Expander::new(o);
    e.load(&est.raw);
    let mut f = kalman::ArmaFilter::new(e.ar.len(), e.ma.len());
    if !f.set(&e.ar, &e.ma) {
        return None;
    }
    let tail = f.tail_ssq(&x, from)?;
    let sigma = (tail / k as f64).sqrt() * s;
    sigma.is_finite().then_some(sigma)
}

/// Observations held out to measure the one-step error of a decomposed model (a week of
/// hourly data).
const HOLDOUT: usize = 168;

/// The model and final state of an estimate on the modelled series `z`.
fn model_of(z: &[f64], est: Estimate, periods: Vec<usize>) -> Option<(Model, ArmaState)> {
    let o = est.order;
    let delta = differencing(o.d, o.sd, o.season_len());
    let w = apply_difference(z, &delta);
    let state = final_state(&w, &est)?;
    let mut e = Expander::new(o);
    e.load(&est.raw);
    let psi_ar = integrate_ar(&e.ar, &delta);
    let model = Model {
        order: o,
        constant: est.constant,
        coef: est.coef,
        mu: est.mu,
        sigma: est.sigma,
        loglik: est.loglik,
        aic: est.aic,
        aicc: est.aicc,
        bic: est.bic,
        nobs: est.nobs,
        periods,
        delta,
        psi_ar,
        psi_ma: e.ma,
    };
    Some((model, state))
}

/// The model of a series whose differenced values are all `mu`: no noise.
fn constant_model(order: ArimaOrder, mu: f64, periods: Vec<usize>) -> (Model, ArmaState) {
    let delta = differencing(order.d, order.sd, order.season_len());
    let k = order.p + order.q + order.sp + order.sq;
    let model = Model {
        order,
        constant: mu != 0.0 && order.d + order.sd <= 1,
        coef: vec![0.0; k],
        mu,
        sigma: 0.0,
        loglik: f64::NAN,
        aic: f64::NAN,
        aicc: f64::NAN,
        bic: f64::NAN,
        nobs: 0,
        periods,
        psi_ar: integrate_ar(&[], &delta),
        delta,
        psi_ma: Vec::new(),
    };
    (model, ArmaState::white_noise())
}

impl Forecaster for Arima {
    #[cfg(feature = "serde")]
    prescient_core::serde_state!();

    fn name(&self) -> &'static str {
        "arima"
    }

    /// Filters `y` (one Kalman step, `O(r²)`); every `refit_every` updates, refits on the
    /// latest `window` observations. After a reset, collects observations and fits once there
    /// are enough.
    ///
    /// # Errors
    ///
    /// [`Error::NonFinite`], with the stream position of `y` (counting the fitted history) as
    /// index, when `y` is NaN or infinite or the new state would overflow; the state is left as
    /// it was.
    fn update(&mut self, _ts: Timestamp, y: f64) -> Result<()> {
        let index = self.seen;
        if !y.is_finite() {
            return Err(Error::NonFinite { index });
        }
        if let Some(live) = &mut self.live {
            let s = if live.pattern.is_empty() {
                0.0
            } else {
                live.pattern[live.head]
            };
            let z = y - s;
            let mut w = z;
            let l = live.recent.len();
            for (k, &c) in self.model.delta.iter().enumerate() {
                w += c * live.recent[l - 1 - k];
            }
            let next = live
                .state
                .step(w - self.model.mu)
                .ok_or(Error::NonFinite { index })?;
            live.state = next;
            if l > 0 {
                live.recent.pop_front();
                live.recent.push_back(z);
            }
            if !live.pattern.is_empty() {
                live.head = (live.head + 1) % live.pattern.len();
            }
        }
        self.history.push_back(y);
        while self.history.len() > self.window {
            self.history.pop_front();
        }
        self.seen = self.seen.saturating_add(1);
        self.since_fit += 1;
        if self.live.is_none() {
            if self.history.len() >= self.warm_up_len() && self.refit() {
                self.since_fit = 0;
            }
        } else if self.refit_every > 0 && self.since_fit >= self.refit_every {
            // A failed refit keeps the current model; try again after another interval.
            self.refit();
            self.since_fit = 0;
        }
        Ok(())
    }

    fn is_ready(&self) -> bool {
        self.live.is_some()
    }

    fn predict_inplace(&self, horizon: usize, level: f64, out: &mut Forecast) -> Result<()> {
        check_forecast_request(horizon, level)?;
        let Some(live) = &self.live else {
            return Err(Error::NotReady(
                "arima is collecting observations after a reset",
            ));
        };
        let z = z_score(level)?;
        let m = &self.model;
        let mut wf = Vec::with_capacity(horizon);
        live.state.forecast(horizon, &mut wf);
        let psi = psi_weights(&m.psi_ar, &m.psi_ma, horizon);
        let mut past: Vec<f64> = live.recent.iter().copied().collect();
        past.reserve(horizon);
        out.reset(horizon, level);
        let mut var = 0.0;
        for (j, (&wj, &pj)) in wf.iter().zip(&psi).enumerate() {
            let mut zf = m.mu + wj;
            let t = past.len();
            for (k, &c) in m.delta.iter().enumerate() {
                zf -= c * past[t - 1 - k];
            }
            past.push(zf);
            let s = if live.pattern.is_empty() {
                0.0
            } else {
                live.pattern[(live.head + j) % live.pattern.len()]
            };
            var += pj * pj;
            let point = zf + s;
            let half = z * m.sigma * var.sqrt();
            let (lower, upper) = (point - half, point + half);
            if !(point.is_finite() && half.is_finite() && lower.is_finite() && upper.is_finite()) {
                out.reset(0, level);
                return Err(Error::NonFinite { index: j });
            }
            out.push(point, lower.min(point), upper.max(point));
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.live = None;
        self.history.clear();
        self.since_fit = 0;
        self.seen = 0;
    }
}
