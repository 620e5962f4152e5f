//! The settings of the ARIMA models: a fixed order ([`ArimaParams`]) or the automatic order
//! search ([`AutoArimaParams`]).

use prescient_core::{Error, Result};

use super::estimate::Method;
use super::{Arima, ArimaOrder};

/// How an ARIMA model treats seasonality of the periods it is given.
///
/// The default, [`SeasonalStrategy::Decompose`], won on M4 Hourly on both accuracy and time
/// (the crate's README has the numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum SeasonalStrategy {
    /// Remove the seasonal components with STL (one period) or MSTL (several), fit a
    /// non-seasonal ARIMA to the seasonally adjusted series, and forecast the seasonal part by
    /// repeating its last period, as R's `forecast::stlf` does. The intervals are the ARIMA's,
    /// the seasonal part counting as known.
    #[default]
    Decompose,
    /// A seasonal ARIMA `(p, d, q)(P, D, Q)_m` on the first period; further periods are ignored.
    Sarima,
}

pub(crate) fn invalid<T>(name: &'static str, reason: String) -> Result<T> {
    Err(Error::InvalidParam { name, reason })
}

fn check_periods(periods: &[usize]) -> Result<()> {
    if let Some(&m) = periods.iter().find(|&&m| m < 2) {
        return invalid(
            "season",
            format!("a period must be at least 2 (use None for no seasonality), got {m}"),
        );
    }
    Ok(())
}

/// A refit window, if set, must hold the fewest observations a fit accepts.
fn check_window(window: Option<usize>, min_history: usize) -> Result<()> {
    match window {
        Some(w) if w < min_history => invalid(
            "window",
            format!("must be at least min_history = {min_history}, got {w}"),
        ),
        _ => Ok(()),
    }
}

/// The settings of an ARIMA model of a fixed order, made by [`Arima::params`] and fitted by
/// [`ArimaParams::fit`].
///
/// # Example
///
/// ```
/// use prescient_forecast::{Arima, ArimaOrder};
///
/// let params = Arima::params(ArimaOrder::new(1, 1, 1)).constant(true);
/// assert!(params.check().is_ok());
/// // A constant with two differences would be a quadratic trend: refused.
/// assert!(Arima::params(ArimaOrder::new(0, 2, 1)).constant(true).check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ArimaParams {
    pub(crate) order: ArimaOrder,
    pub(crate) constant: Option<bool>,
    pub(crate) method: Method,
    pub(crate) decompose: Vec<usize>,
    pub(crate) seasonal_windows: Option<Vec<usize>>,
    pub(crate) refit_every: Option<usize>,
    pub(crate) window: Option<usize>,
}

impl ArimaParams {
    pub(crate) fn new(order: ArimaOrder) -> Self {
        ArimaParams {
            order,
            constant: None,
            method: Method::CssMl,
            decompose: Vec::new(),
            seasonal_windows: None,
            refit_every: None,
            window: None,
        }
    }

    /// Whether the model has a constant: a mean without differencing, a drift with one
    /// difference (`d + D = 1`). Default: a mean when `d + D = 0`, no drift otherwise.
    pub fn constant(mut self, constant: bool) -> Self {
        self.constant = Some(constant);
        self
    }

    /// Estimates by the conditional sum of squares only (faster, approximate) instead of CSS
    /// start values followed by the exact likelihood.
    pub fn css_only(mut self, css: bool) -> Self {
        self.method = if css { Method::Css } else { Method::CssMl };
        self
    }

    /// Removes the seasonal components of these periods by STL/MSTL before fitting (the
    /// [`SeasonalStrategy::Decompose`] treatment); empty (the default) for none.
    pub fn decompose(mut self, periods: &[usize]) -> Self {
        self.decompose = periods.to_vec();
        self
    }

    /// The STL seasonal smoothing windows of the decomposition (see
    /// [`AutoArimaParams::seasonal_windows`]).
    pub fn seasonal_windows(mut self, windows: &[usize]) -> Self {
        self.seasonal_windows = Some(windows.to_vec());
        self
    }

    /// Re-estimates the coefficients after this many updates (0: never). Default: the longest
    /// decomposition or seasonal period, or 100 without one.
    pub fn refit_every(mut self, n: usize) -> Self {
        self.refit_every = Some(n);
        self
    }

    /// How many of the latest observations a re-estimation uses. Default: as many as the first
    /// fit had.
    pub fn window(mut self, n: usize) -> Self {
        self.window = Some(n);
        self
    }

    /// The order.
    pub fn order(&self) -> ArimaOrder {
        self.order
    }

    pub(crate) fn has_constant(&self) -> bool {
        self.constant.unwrap_or(self.order.d + self.order.sd == 0)
    }

    /// The fewest observations [`ArimaParams::fit`] accepts: the differencing span, the AR
    /// span, the coefficients and three more.
    pub fn min_history(&self) -> usize {
        let o = self.order;
        let m = o.season_len();
        o.d + m * o.sd + o.p + m * o.sp + o.p + o.q + o.sp + o.sq + 3
    }

    /// Checks every rule on the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when
    /// - the order has seasonal terms and a period below 2 (`period`);
    /// - a constant is asked for with `d + D ≥ 2` (`constant`);
    /// - a decomposition period is below 2 (`season`);
    /// - `window` is set below [`ArimaParams::min_history`].
    pub fn check(&self) -> Result<()> {
        self.order.check()?;
        if self.constant == Some(true) && self.order.d + self.order.sd >= 2 {
            return invalid(
                "constant",
                format!(
                    "needs d + D <= 1 (a constant with {} differences is a polynomial trend)",
                    self.order.d + self.order.sd
                ),
            );
        }
        check_periods(&self.decompose)?;
        check_window(self.window, self.min_history())
    }

    /// Checks the settings and fits the model on `history`.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidParam`] as [`ArimaParams::check`];
    /// - [`Error::NonFinite`] at the first NaN or infinite value of `history`;
    /// - [`Error::NotEnoughData`] when `history` is shorter than
    ///   [`ArimaParams::min_history`] or the estimation fails.
    ///
    /// # Example
    ///
    /// ```
    /// use prescient_core::Forecaster;
    /// use prescient_forecast::{Arima, ArimaOrder};
    ///
    /// // An AR(1) around 10, its noise from a small linear congruential generator.
    /// let mut state = 12345u64;
    /// let mut noise = || {
    ///     state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ///     (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    /// };
    /// let mut y = vec![10.0];
    /// for t in 1..500 {
    ///     y.push(10.0 + 0.6 * (y[t - 1] - 10.0) + noise());
    /// }
    /// let model = Arima::params(ArimaOrder::new(1, 0, 0)).fit(&y)?;
    /// assert!((model.ar()[0] - 0.6).abs() < 0.15);
    /// let f = model.predict(12, 0.95)?;
    /// assert!((f.point[11] - 10.0).abs() < 0.5);
    /// # Ok::<(), prescient_core::Error>(())
    /// ```
    pub fn fit(&self, history: &[f64]) -> Result<Arima> {
        self.check()?;
        if let Some(index) = history.iter().position(|y| !y.is_finite()) {
            return Err(Error::NonFinite { index });
        }
        Arima::fit_fixed(self.clone(), history)
    }
}

impl prescient_core::ForecastMethod for ArimaParams {
    fn name(&self) -> &'static str {
        "arima"
    }

    /// Fits on `history` with its gaps filled (see [`crate::history`]).
    fn fit(&self, history: &[f64]) -> Result<Box<dyn prescient_core::Forecaster>> {
        let history = crate::history::fill_gaps(history)?;
        Ok(Box::new(ArimaParams::fit(self, &history)?))
    }
}

/// The entry point of the automatic ARIMA: `AutoArima::params()` gives the settings.
///
/// See [`AutoArimaParams`] for the procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoArima;

impl AutoArima {
    /// The default settings of the automatic order search (no seasonality until
    /// [`AutoArimaParams::season`] gives a period).
    pub fn params() -> AutoArimaParams {
        AutoArimaParams::default()
    }
}

/// The settings of the automatic ARIMA (Hyndman and Khandakar 2008, R's `auto.arima`), made by
/// [`AutoArima::params`] and fitted by [`AutoArimaParams::fit`].
///
/// The procedure:
/// 1. with [`SeasonalStrategy::Decompose`] and a period, STL (MSTL for several periods) removes
///    the seasonal components; with [`SeasonalStrategy::Sarima`], the seasonal-strength test
///    chooses `D` (one seasonal difference when the STL seasonal strength exceeds 0.64);
/// 2. the KPSS test at level `alpha` chooses `d`, differencing while it rejects;
/// 3. the stepwise search (or, with `stepwise(false)`, every order up to `max_order`) minimises
///    the AICc over `p`, `q` (and `P`, `Q`) and the constant (a mean when `d + D = 0`, a drift
///    when `d + D = 1`), rejecting models with a root within 1.01 of the unit circle;
/// 4. each candidate is estimated by CSS start values then the exact Gaussian likelihood
///    through a Kalman filter (or, with `approximation`, by CSS only, the best candidates
///    being re-estimated exactly at the end).
///
/// # Example
///
/// ```
/// use prescient_forecast::AutoArima;
///
/// let params = AutoArima::params().season(Some(24)).max_p(3).stepwise(true);
/// assert!(params.check().is_ok());
/// assert!(AutoArima::params().season(Some(1)).check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AutoArimaParams {
    pub(crate) periods: Vec<usize>,
    pub(crate) strategy: SeasonalStrategy,
    pub(crate) max_p: usize,
    pub(crate) max_q: usize,
    pub(crate) max_sp: usize,
    pub(crate) max_sq: usize,
    pub(crate) max_order: usize,
    pub(crate) max_d: usize,
    pub(crate) max_sd: usize,
    pub(crate) d: Option<usize>,
    pub(crate) sd: Option<usize>,
    pub(crate) stepwise: bool,
    pub(crate) approximation: Option<bool>,
    pub(crate) allow_constant: bool,
    pub(crate) alpha: f64,
    pub(crate) refit_every: Option<usize>,
    pub(crate) window: Option<usize>,
    pub(crate) seasonal_windows: Option<Vec<usize>>,
}

impl Default for AutoArimaParams {
    fn default() -> Self {
        AutoArimaParams {
            periods: Vec::new(),
            strategy: SeasonalStrategy::default(),
            max_p: 5,
            max_q: 5,
            max_sp: 2,
            max_sq: 2,
            max_order: 5,
            max_d: 2,
            max_sd: 1,
            d: None,
            sd: None,
            stepwise: true,
            approximation: None,
            allow_constant: true,
            alpha: 0.05,
            refit_every: None,
            window: None,
            seasonal_windows: None,
        }
    }
}

impl AutoArimaParams {
    /// The STL seasonal smoothing windows, in cycles, one per period in increasing order (the
    /// last one repeats for further periods), for [`SeasonalStrategy::Decompose`]; an even
    /// window is made odd and one below 3 becomes 3. Default: R's `mstl` choice, 11, 15, 19, …
    /// Longer windows give a steadier seasonal pattern.
    pub fn seasonal_windows(mut self, windows: &[usize]) -> Self {
        self.seasonal_windows = Some(windows.to_vec());
        self
    }

    /// The seasonal period in steps (`None`, the default: no seasonality).
    pub fn season(mut self, period: Option<usize>) -> Self {
        self.periods = period.into_iter().collect();
        self
    }

    /// Several seasonal periods (24 and 168 for hourly data with daily and weekly cycles):
    /// MSTL removes them all with [`SeasonalStrategy::Decompose`]; a seasonal ARIMA uses the
    /// first.
    pub fn seasons(mut self, periods: &[usize]) -> Self {
        self.periods = periods.to_vec();
        self
    }

    /// How seasonality is treated (default [`SeasonalStrategy::Decompose`]).
    pub fn strategy(mut self, strategy: SeasonalStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// The largest AR order `p` searched (default 5).
    pub fn max_p(mut self, p: usize) -> Self {
        self.max_p = p;
        self
    }

    /// The largest MA order `q` searched (default 5).
    pub fn max_q(mut self, q: usize) -> Self {
        self.max_q = q;
        self
    }

    /// The largest seasonal AR order `P` searched (default 2; seasonal ARIMA only).
    pub fn max_seasonal_p(mut self, p: usize) -> Self {
        self.max_sp = p;
        self
    }

    /// The largest seasonal MA order `Q` searched (default 2; seasonal ARIMA only).
    pub fn max_seasonal_q(mut self, q: usize) -> Self {
        self.max_sq = q;
        self
    }

    /// The largest `p + q + P + Q` of the non-stepwise search (default 5).
    pub fn max_order(mut self, order: usize) -> Self {
        self.max_order = order;
        self
    }

    /// The most first differences the KPSS test may choose (default 2).
    pub fn max_d(mut self, d: usize) -> Self {
        self.max_d = d;
        self
    }

    /// The most seasonal differences the seasonal test may choose (default 1).
    pub fn max_seasonal_d(mut self, d: usize) -> Self {
        self.max_sd = d;
        self
    }

    /// Fixes `d` instead of testing for it.
    pub fn d(mut self, d: usize) -> Self {
        self.d = Some(d);
        self
    }

    /// Fixes `D` instead of testing for it (seasonal ARIMA only).
    pub fn seasonal_d(mut self, d: usize) -> Self {
        self.sd = Some(d);
        self
    }

    /// The stepwise search of Hyndman and Khandakar (default) or, with `false`, every order
    /// with `p + q + P + Q ≤ max_order`.
    pub fn stepwise(mut self, stepwise: bool) -> Self {
        self.stepwise = stepwise;
        self
    }

    /// Whether the search ranks candidates by their CSS fit (re-estimating the best exactly)
    /// instead of the exact likelihood. Default: as R's `auto.arima`, for more than 150
    /// observations or a seasonal ARIMA period above 12.
    pub fn approximation(mut self, approximation: bool) -> Self {
        self.approximation = Some(approximation);
        self
    }

    /// Whether a mean (`d + D = 0`) or drift (`d + D = 1`) may be included (default true).
    pub fn allow_constant(mut self, allow: bool) -> Self {
        self.allow_constant = allow;
        self
    }

    /// The significance level of the KPSS test, in `[0.01, 0.1]` (default 0.05).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// Re-runs the search after this many updates (0: never). Default: the longest period, or
    /// 100 observations without one. Between refits, updates only filter.
    pub fn refit_every(mut self, n: usize) -> Self {
        self.refit_every = Some(n);
        self
    }

    /// How many of the latest observations a refit uses. Default: as many as the first fit had.
    pub fn window(mut self, n: usize) -> Self {
        self.window = Some(n);
        self
    }

    /// The seasonal periods.
    pub fn periods(&self) -> &[usize] {
        &self.periods
    }

    /// The seasonal strategy.
    pub fn seasonal_strategy(&self) -> SeasonalStrategy {
        self.strategy
    }

    /// The fewest observations [`AutoArimaParams::fit`] accepts (4; a period longer than half
    /// the history is ignored).
    pub fn min_history(&self) -> usize {
        4
    }

    /// Checks every rule on the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when
    /// - a period is below 2 (`season`);
    /// - `alpha` is not in `[0.01, 0.1]`;
    /// - `max_d` exceeds 2 or `max_seasonal_d` exceeds 1, or a fixed `d` / `D` does;
    /// - `window` is set below [`AutoArimaParams::min_history`].
    pub fn check(&self) -> Result<()> {
        check_periods(&self.periods)?;
        if !(0.01..=0.1).contains(&self.alpha) {
            return invalid(
                "alpha",
                format!("must be in [0.01, 0.1], got {}", self.alpha),
            );
        }
        if self.max_d > 2 || self.d.is_some_and(|d| d > 2) {
            return invalid("max_d", "at most 2 differences are supported".into());
        }
        if self.max_sd > 1 || self.sd.is_some_and(|d| d > 1) {
            return invalid(
                "max_seasonal_d",
                "at most 1 seasonal difference is supported".into(),
            );
        }
        check_window(self.window, self.min_history())
    }

    /// Checks the settings, chooses the order on `history` and fits it.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidParam`] as [`AutoArimaParams::check`];
    /// - [`Error::NonFinite`] at the first NaN or infinite value of `history`;
    /// - [`Error::NotEnoughData`] when `history` is shorter than
    ///   [`AutoArimaParams::min_history`].
    ///
    /// # Example
    ///
    /// ```
    /// use prescient_core::Forecaster;
    /// use prescient_forecast::AutoArima;
    ///
    /// let y: Vec<f64> = (0..480)
    ///     .map(|t| {
    ///         let day = (t as f64 * std::f64::consts::TAU / 24.0).sin();
    ///         100.0 + 0.05 * t as f64 + 20.0 * day + ((t * 7919) % 13) as f64 * 0.3
    ///     })
    ///     .collect();
    /// let model = AutoArima::params().season(Some(24)).fit(&y)?;
    /// let f = model.predict(24, 0.95)?;
    /// assert!(f.is_consistent());
    /// println!("{} AICc {:.1}", model.order(), model.aicc());
    /// # Ok::<(), prescient_core::Error>(())
    /// ```
    pub fn fit(&self, history: &[f64]) -> Result<Arima> {
        self.check()?;
        if let Some(index) = history.iter().position(|y| !y.is_finite()) {
            return Err(Error::NonFinite { index });
        }
        Arima::fit_auto(self.clone(), history)
    }
}

impl prescient_core::ForecastMethod for AutoArimaParams {
    fn name(&self) -> &'static str {
        "arima"
    }

    /// Fits on `history` with its gaps filled (see [`crate::history`]).
    fn fit(&self, history: &[f64]) -> Result<Box<dyn prescient_core::Forecaster>> {
        let history = crate::history::fill_gaps(history)?;
        Ok(Box::new(AutoArimaParams::fit(self, &history)?))
    }
}
