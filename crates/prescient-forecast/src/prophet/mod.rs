//! A Prophet-style forecaster: augurs-prophet's model, fitted by this crate's pure-Rust MAP
//! optimiser (feature `prophet`).
//!
//! The model is Prophet's (Taylor & Letham 2018), as `augurs-prophet` implements it: a
//! piecewise-linear (or logistic, or flat) trend with changepoints, Fourier seasonalities,
//! holidays and events, and extra regressors. Python Prophet fits it with Stan's L-BFGS; here
//! [`MapOptimizer`] maximises the same log posterior with argmin's L-BFGS, in Rust, with no Stan
//! and no WASM runtime, deterministically.
//!
//! [`ProphetParams`] holds the settings and fits a [`ProphetForecaster`] on a history;
//! the forecaster then takes observations one at a time ([`Forecaster::update`]) and refits
//! every [`refit_every`](ProphetParams::refit_every) observations. For what the streaming
//! interface cannot carry (extra regressors, whose future values a forecast needs; conditional
//! seasonalities), use augurs-prophet's [`Prophet`] directly with a [`MapOptimizer`].

mod map;
mod posterior;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::num::NonZeroU32;

pub use augurs_prophet::{
    FeatureMode, GrowthType, Holiday, HolidayOccurrence, PositiveFloat, PredictionData,
    Predictions, Prophet, ProphetOptions, Regressor, Scaling, Seasonality, SeasonalityOption,
    TrainingData,
};
pub use map::{MapFit, MapOptimizer};

use augurs_prophet::optimizer::OptimizeOpts;
use prescient_core::{
    Error, Forecast, ForecastMethod, Forecaster, Result, Timestamp, check_forecast_request,
};

use crate::interval::z_score;

/// 2000-01-01 00:00:00 UTC, in seconds since the Unix epoch: the timestamp given to the first
/// value of a history without timestamps, as the peer harness does for M4 (which has no dates).
pub const DEFAULT_START_SECS: i64 = 946_684_800;

/// A seasonality of the user's, beyond the daily, weekly and yearly ones.
#[derive(Debug, Clone, PartialEq)]
pub struct SeasonalitySpec {
    /// The period, in days (`1.0 / 24.0` for an hourly cycle).
    pub period_days: f64,
    /// The number of Fourier pairs.
    pub fourier_order: u32,
    /// The scale of the coefficients' normal prior (default: the model's
    /// [`seasonality_prior_scale`](ProphetParams::seasonality_prior_scale)).
    pub prior_scale: Option<f64>,
    /// Additive or multiplicative (default: the model's
    /// [`seasonality_mode`](ProphetParams::seasonality_mode)).
    pub mode: Option<FeatureMode>,
}

impl SeasonalitySpec {
    /// A seasonality of `period_days` with `fourier_order` Fourier pairs.
    pub fn new(period_days: f64, fourier_order: u32) -> Self {
        SeasonalitySpec {
            period_days,
            fourier_order,
            prior_scale: None,
            mode: None,
        }
    }

    /// With a prior scale of its own.
    pub fn prior_scale(mut self, scale: f64) -> Self {
        self.prior_scale = Some(scale);
        self
    }

    /// With a mode of its own.
    pub fn mode(mut self, mode: FeatureMode) -> Self {
        self.mode = Some(mode);
        self
    }
}

/// The settings of a Prophet model: fit a [`ProphetForecaster`] with
/// [`fit`](ProphetParams::fit) or [`fit_with_timestamps`](ProphetParams::fit_with_timestamps).
///
/// The defaults are those of the M4 peer harness (`Prophet(daily_seasonality=True,
/// weekly_seasonality=True, yearly_seasonality=False)`) and otherwise Python Prophet's: linear
/// growth, 25 changepoints over the first 80 % of the history with prior scale 0.05, additive
/// seasonalities with prior scale 10 (daily of Fourier order 4, weekly of order 3), holidays
/// with prior scale 10, `AbsMax` scaling, MAP (no Jacobian). A history without timestamps is taken as hourly from
/// [`DEFAULT_START_SECS`] (2000-01-01 00:00 UTC), as the peer harness does.
///
/// # Example
///
/// ```
/// use prescient_core::{ForecastMethod, Forecaster, Timestamp};
/// use prescient_forecast::ProphetParams;
///
/// // Three weeks of hourly load: a daily cycle on a slow trend.
/// let y: Vec<f64> = (0..504)
///     .map(|t| 200.0 + 0.1 * t as f64 + 30.0 * (t as f64 * std::f64::consts::TAU / 24.0).sin()
///         + ((t * 7919 % 101) as f64 / 101.0 - 0.5))
///     .collect();
/// let mut model = ProphetParams::new().fit(&y[..480])?;
/// for (t, &v) in y.iter().enumerate().skip(480) {
///     model.update(Timestamp::from_secs(3600 * t as i64), v)?;
/// }
/// let f = model.predict(24, 0.95)?;
/// assert!(f.is_consistent());
/// assert!((f.point[0] - (200.0 + 0.1 * 504.0)).abs() < 2.0);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ProphetParams {
    options: ProphetOptions,
    seasonalities: Vec<(String, SeasonalitySpec)>,
    logistic: Option<(f64, f64)>,
    step_secs: i64,
    start_secs: i64,
    refit_every: usize,
    max_history: usize,
    optimizer: MapOptimizer,
    /// The first setter that was given an invalid value.
    invalid: Option<(&'static str, String)>,
}

impl Default for ProphetParams {
    fn default() -> Self {
        ProphetParams::new()
    }
}

impl ProphetParams {
    /// The default settings (see the type's documentation).
    pub fn new() -> Self {
        let options = ProphetOptions {
            daily_seasonality: SeasonalityOption::Manual(true),
            weekly_seasonality: SeasonalityOption::Manual(true),
            yearly_seasonality: SeasonalityOption::Manual(false),
            uncertainty_samples: 0,
            // Python Prophet's; augurs-prophet's default is 100.
            holidays_prior_scale: PositiveFloat::try_new(10.0)
                .unwrap_or_else(|_| PositiveFloat::one()),
            ..ProphetOptions::default()
        };
        ProphetParams {
            options,
            seasonalities: Vec::new(),
            logistic: None,
            step_secs: 3600,
            start_secs: DEFAULT_START_SECS,
            refit_every: 24,
            max_history: 4032,
            optimizer: MapOptimizer::new(),
            invalid: None,
        }
    }

    /// Settings from augurs-prophet's options, in full (growth, changepoints, seasonalities,
    /// holidays, priors, scaling, estimation).
    ///
    /// `uncertainty_samples` and `interval_width` are ignored: intervals are analytic (see
    /// [`ProphetForecaster`]). Logistic growth needs its capacity from
    /// [`logistic`](ProphetParams::logistic).
    pub fn with_options(options: ProphetOptions) -> Self {
        ProphetParams {
            options,
            ..ProphetParams::new()
        }
    }

    /// The augurs-prophet options the model is built with.
    pub fn options(&self) -> &ProphetOptions {
        &self.options
    }

    fn positive(&mut self, name: &'static str, v: f64) -> Option<PositiveFloat> {
        match PositiveFloat::try_new(v) {
            Ok(p) if v.is_finite() => Some(p),
            _ => {
                self.invalid
                    .get_or_insert((name, format!("must be positive and finite, got {v}")));
                None
            }
        }
    }

    /// The daily seasonality (default: on, Fourier order 4).
    pub fn daily_seasonality(mut self, opt: SeasonalityOption) -> Self {
        self.options.daily_seasonality = opt;
        self
    }

    /// The weekly seasonality (default: on, Fourier order 3).
    pub fn weekly_seasonality(mut self, opt: SeasonalityOption) -> Self {
        self.options.weekly_seasonality = opt;
        self
    }

    /// The yearly seasonality (default: off).
    pub fn yearly_seasonality(mut self, opt: SeasonalityOption) -> Self {
        self.options.yearly_seasonality = opt;
        self
    }

    /// Adds a seasonality named `name`.
    pub fn seasonality(mut self, name: impl Into<String>, spec: SeasonalitySpec) -> Self {
        self.seasonalities.push((name.into(), spec));
        self
    }

    /// Adds a holiday or event: its occurrences get a coefficient of their own.
    pub fn holiday(mut self, name: impl Into<String>, holiday: Holiday) -> Self {
        self.options.holidays.insert(name.into(), holiday);
        self
    }

    /// Additive or multiplicative holidays (default: as the seasonalities).
    pub fn holidays_mode(mut self, mode: FeatureMode) -> Self {
        self.options.holidays_mode = Some(mode);
        self
    }

    /// The prior scale of the holidays' coefficients (default 10, Python Prophet's).
    pub fn holidays_prior_scale(mut self, scale: f64) -> Self {
        if let Some(p) = self.positive("holidays_prior_scale", scale) {
            self.options.holidays_prior_scale = p;
        }
        self
    }

    /// The number of potential changepoints (default 25).
    pub fn n_changepoints(mut self, n: u32) -> Self {
        self.options.n_changepoints = n;
        self
    }

    /// The share of the history in which changepoints are placed (default 0.8), in `(0, 1]`.
    pub fn changepoint_range(mut self, range: f64) -> Self {
        if !(range > 0.0 && range <= 1.0) {
            self.invalid.get_or_insert((
                "changepoint_range",
                format!("must be in (0, 1], got {range}"),
            ));
        } else if let Some(p) = self.positive("changepoint_range", range) {
            self.options.changepoint_range = p;
        }
        self
    }

    /// The scale `tau` of the changepoints' Laplace prior (default 0.05): larger gives a more
    /// flexible trend.
    pub fn changepoint_prior_scale(mut self, scale: f64) -> Self {
        if let Some(p) = self.positive("changepoint_prior_scale", scale) {
            self.options.changepoint_prior_scale = p;
        }
        self
    }

    /// The scale of the seasonal coefficients' normal prior (default 10).
    pub fn seasonality_prior_scale(mut self, scale: f64) -> Self {
        if let Some(p) = self.positive("seasonality_prior_scale", scale) {
            self.options.seasonality_prior_scale = p;
        }
        self
    }

    /// Additive (default) or multiplicative seasonalities.
    pub fn seasonality_mode(mut self, mode: FeatureMode) -> Self {
        self.options.seasonality_mode = mode;
        self
    }

    /// Logistic growth, saturating at `cap` above `floor` (both constant).
    pub fn logistic(mut self, cap: f64, floor: f64) -> Self {
        if !(cap.is_finite() && floor.is_finite() && cap > floor) {
            self.invalid.get_or_insert((
                "cap",
                format!("must be finite and above a finite floor, got cap {cap}, floor {floor}"),
            ));
        }
        self.options.growth = GrowthType::Logistic;
        self.logistic = Some((cap, floor));
        self
    }

    /// A flat trend (no growth).
    pub fn flat(mut self) -> Self {
        self.options.growth = GrowthType::Flat;
        self.logistic = None;
        self
    }

    /// Seconds between consecutive observations (default 3600): the spacing of a history
    /// without timestamps, and of the observations after the history.
    pub fn step_secs(mut self, secs: i64) -> Self {
        if secs <= 0 {
            self.invalid
                .get_or_insert(("step_secs", format!("must be positive, got {secs}")));
        }
        self.step_secs = secs;
        self
    }

    /// The time of the first value of a history without timestamps (default
    /// [`DEFAULT_START_SECS`]); it sets the phase of the daily and weekly seasonalities.
    pub fn start(mut self, ts: Timestamp) -> Self {
        self.start_secs = ts.as_millis().div_euclid(1000);
        self
    }

    /// Refit after this many observations taken by [`Forecaster::update`] (default 24, once a
    /// day for hourly data); 0 never refits. Between refits the forecast origin still
    /// advances: the fitted curve is extrapolated from the newest observation's time.
    pub fn refit_every(mut self, n: usize) -> Self {
        self.refit_every = n;
        self
    }

    /// The most recent observations kept for refits, and fitted by [`fit`](Self::fit)
    /// (default 4032, 24 weeks of hourly data); at least 2.
    pub fn max_history(mut self, n: usize) -> Self {
        if n < 2 {
            self.invalid
                .get_or_insert(("max_history", format!("must be at least 2, got {n}")));
        }
        self.max_history = n;
        self
    }

    /// The MAP optimiser's settings.
    pub fn optimizer(mut self, optimizer: MapOptimizer) -> Self {
        self.optimizer = optimizer;
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for the first invalid value given to a setter, or for a
    /// custom seasonality with a non-positive period or a zero Fourier order.
    pub fn check(&self) -> Result<()> {
        if let Some((name, reason)) = &self.invalid {
            return Err(Error::InvalidParam {
                name,
                reason: reason.clone(),
            });
        }
        if self.options.growth == GrowthType::Logistic && self.logistic.is_none() {
            return Err(Error::InvalidParam {
                name: "cap",
                reason: "logistic growth needs `.logistic(cap, floor)`".into(),
            });
        }
        for (name, s) in &self.seasonalities {
            let bad = !(s.period_days.is_finite() && s.period_days > 0.0)
                || s.fourier_order == 0
                || s.prior_scale.is_some_and(|p| !(p.is_finite() && p > 0.0));
            if bad {
                return Err(Error::InvalidParam {
                    name: "seasonality",
                    reason: format!(
                        "{name}: needs a positive period, a positive Fourier order and a \
                         positive prior scale, got {s:?}"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Fits a model on `history`: equally spaced values, oldest first, at
    /// [`step_secs`](Self::step_secs) from [`start`](Self::start).
    ///
    /// Prophet is a regression on time, so a non-finite value is a gap that is simply left out
    /// of the fit (Prophet's own treatment of missing values), not interpolated; the forecast
    /// origin stays one step after the history's last position. Only the last
    /// [`max_history`](Self::max_history) values are used.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] for invalid settings, [`Error::NotEnoughData`] for fewer than two
    /// finite values.
    pub fn fit(&self, history: &[f64]) -> Result<ProphetForecaster> {
        self.check()?;
        let ds: Vec<i64> = (0..history.len())
            .map(|i| {
                self.start_secs
                    .saturating_add((i as i64).saturating_mul(self.step_secs))
            })
            .collect();
        ProphetForecaster::fit_new(self.clone(), ds, history.to_vec())
    }

    /// Fits a model on values observed at `timestamps` (strictly increasing, whole seconds
    /// used). Later observations are taken [`step_secs`](Self::step_secs) apart.
    ///
    /// # Errors
    ///
    /// As [`fit`](Self::fit); [`Error::SchemaMismatch`] when the lengths differ,
    /// [`Error::OutOfOrder`] or [`Error::Duplicate`] for timestamps that do not increase.
    pub fn fit_with_timestamps(
        &self,
        timestamps: &[Timestamp],
        history: &[f64],
    ) -> Result<ProphetForecaster> {
        self.check()?;
        if timestamps.len() != history.len() {
            return Err(Error::SchemaMismatch {
                expected: timestamps.len(),
                got: history.len(),
            });
        }
        for w in timestamps.windows(2) {
            let (a, b) = (
                w[0].as_millis().div_euclid(1000),
                w[1].as_millis().div_euclid(1000),
            );
            if b < a {
                return Err(Error::OutOfOrder {
                    last: w[0],
                    got: w[1],
                });
            }
            if b == a {
                return Err(Error::Duplicate { ts: w[1] });
            }
        }
        let ds = timestamps
            .iter()
            .map(|t| t.as_millis().div_euclid(1000))
            .collect();
        ProphetForecaster::fit_new(self.clone(), ds, history.to_vec())
    }

    /// The augurs-prophet model these settings describe, unfitted, and a clone of its
    /// optimiser (which shares its fit report).
    fn build(&self) -> Result<(Prophet<MapOptimizer>, MapOptimizer)> {
        let mut options = self.options.clone();
        options.uncertainty_samples = 0;
        let optimizer = self.optimizer.detached();
        let mut model = Prophet::new(options, optimizer.clone());
        for (name, s) in &self.seasonalities {
            let order = NonZeroU32::new(s.fourier_order).ok_or_else(|| Error::InvalidParam {
                name: "seasonality",
                reason: format!("{name}: the Fourier order must be positive"),
            })?;
            let period =
                PositiveFloat::try_new(s.period_days).map_err(|_| Error::InvalidParam {
                    name: "seasonality",
                    reason: format!("{name}: the period must be positive"),
                })?;
            let mut seas = Seasonality::new(period, order);
            if let Some(p) = s.prior_scale.and_then(|p| PositiveFloat::try_new(p).ok()) {
                seas = seas.with_prior_scale(p);
            }
            if let Some(m) = s.mode {
                seas = seas.with_mode(m);
            }
            model
                .add_seasonality(name.clone(), seas)
                .map_err(prophet_error)?;
        }
        Ok((model, optimizer))
    }

    /// The mode of the component `name` of the predictions (a seasonality or a holiday).
    fn mode_of(&self, name: &str, holiday: bool) -> FeatureMode {
        let global = self.options.seasonality_mode;
        if holiday {
            return self.options.holidays_mode.unwrap_or(global);
        }
        self.seasonalities
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, s)| s.mode)
            .unwrap_or(global)
    }
}

impl ForecastMethod for ProphetParams {
    fn name(&self) -> &'static str {
        "prophet"
    }

    fn fit(&self, history: &[f64]) -> Result<Box<dyn Forecaster>> {
        Ok(Box::new(ProphetParams::fit(self, history)?))
    }
}

/// An augurs-prophet error as one of ours.
fn prophet_error(e: augurs_prophet::Error) -> Error {
    match e {
        augurs_prophet::Error::NotEnoughData => Error::NotEnoughData { needed: 2, got: 0 },
        other => Error::InvalidParam {
            name: "prophet",
            reason: other.to_string(),
        },
    }
}

/// A fitted model and what the intervals need from the fit.
#[derive(Debug, Clone)]
struct Fitted {
    prophet: Prophet<MapOptimizer>,
    report: MapFit,
    /// Scaled time: `t = (ds - t_start) / t_scale`, with `t = 1` at the end of the fit.
    t_start: i64,
    t_scale: f64,
    y_scale: f64,
}

/// A fitted Prophet model that forecasts from its newest observation (made by
/// [`ProphetParams::fit`]).
///
/// **Forecasts.** [`predict_inplace`](Forecaster::predict_inplace) forecasts the `horizon` steps
/// after the newest observation with augurs-prophet's model (trend, seasonalities, holidays).
///
/// **Intervals** are analytic and deterministic, where Python Prophet simulates: Prophet's
/// predictive noise is `N(0, sigma_obs)`, and its trend uncertainty comes from new changepoints
/// after the history, a Poisson process of rate `S` (the number of changepoints) per unit of
/// scaled time, with Laplace(0, λ) rate changes, `λ = mean |delta| + 1e-8`. For a linear trend
/// such a compound Poisson process has mean 0 and variance `2 S λ² (t − 1)³ / 3` at scaled time
/// `t > 1`; a logistic trend is linearised (times `(g (1 − g / cap))²`), a flat trend has none,
/// and multiplicative terms scale it by `(1 + mult)²`. The interval is the point forecast ±
/// `z · sqrt(sigma_obs² + trend variance)` in the data's units.
///
/// **Streaming.** [`update`](Forecaster::update) appends an observation one
/// [`step_secs`](ProphetParams::step_secs) after the previous one (its timestamp argument is
/// not read: the model keeps its own clock), keeps the last
/// [`max_history`](ProphetParams::max_history) observations, and refits on them every
/// [`refit_every`](ProphetParams::refit_every) observations; a refit that fails keeps the
/// previous fit. [`reset`](Forecaster::reset) forgets the observations and the fit, and the
/// model refits once it has `refit_every` new observations (at least 2).
#[derive(Debug, Clone)]
pub struct ProphetForecaster {
    params: ProphetParams,
    fitted: Option<Fitted>,
    /// The observations kept for refits (timestamps in seconds; NaN for gaps of the history).
    ds: VecDeque<i64>,
    y: VecDeque<f64>,
    /// The newest observation's time, in seconds.
    last_ds: i64,
    since_fit: usize,
    seen: usize,
}

impl ProphetForecaster {
    fn fit_new(params: ProphetParams, mut ds: Vec<i64>, mut y: Vec<f64>) -> Result<Self> {
        let Some(&last_ds) = ds.last() else {
            return Err(Error::NotEnoughData { needed: 2, got: 0 });
        };
        let seen = y.len();
        if y.len() > params.max_history {
            let cut = y.len() - params.max_history;
            ds.drain(..cut);
            y.drain(..cut);
        }
        let mut model = ProphetForecaster {
            params,
            fitted: None,
            ds: ds.into(),
            y: y.into(),
            last_ds,
            since_fit: 0,
            seen,
        };
        model.fitted = Some(model.refit()?);
        Ok(model)
    }

    /// Fits on the kept observations.
    fn refit(&self) -> Result<Fitted> {
        let (ds, y): (Vec<i64>, Vec<f64>) = self
            .ds
            .iter()
            .zip(&self.y)
            .filter(|(_, y)| y.is_finite())
            .map(|(d, y)| (*d, *y))
            .unzip();
        if y.len() < 2 {
            return Err(Error::NotEnoughData {
                needed: 2,
                got: y.len(),
            });
        }
        let (t_start, t_end) = (ds[0], ds[ds.len() - 1]);
        let p = &self.params;
        let y_scale = y_scale_of(&y, p.logistic, p.options.scaling);
        let n = y.len();
        let mut data = TrainingData::new(ds, y).map_err(prophet_error)?;
        if let Some((cap, floor)) = p.logistic {
            data = data
                .with_cap(vec![cap; n])
                .and_then(|d| d.with_floor(vec![floor; n]))
                .map_err(prophet_error)?;
        }
        let (mut prophet, optimizer) = p.build()?;
        prophet
            .fit(data, OptimizeOpts::default())
            .map_err(prophet_error)?;
        let report = optimizer
            .last_fit()
            .ok_or(Error::NotReady("prophet: the optimiser reported no fit"))?;
        Ok(Fitted {
            prophet,
            report,
            t_start,
            t_scale: (t_end - t_start) as f64,
            y_scale,
        })
    }

    /// The settings the model was made with.
    pub fn settings(&self) -> &ProphetParams {
        &self.params
    }

    /// The fitted augurs-prophet model (for its components, or predictions at any times), or
    /// `None` after a [`reset`](Forecaster::reset) until the next refit.
    pub fn prophet(&self) -> Option<&Prophet<MapOptimizer>> {
        self.fitted.as_ref().map(|f| &f.prophet)
    }

    /// The last fit's parameters and search (log posterior, iterations), or `None` after a
    /// reset until the next refit.
    pub fn fit_report(&self) -> Option<&MapFit> {
        self.fitted.as_ref().map(|f| &f.report)
    }

    /// The newest observation's time (the forecast origin), in seconds since the epoch.
    pub fn origin_secs(&self) -> i64 {
        self.last_ds
    }

    /// How many observations the model keeps for refits.
    pub fn n_kept(&self) -> usize {
        self.y.len()
    }
}

/// The scale augurs-prophet divides `y` by (its `initialize_scales`).
fn y_scale_of(y: &[f64], logistic: Option<(f64, f64)>, scaling: Scaling) -> f64 {
    let scale = match (logistic, scaling) {
        (Some((_, floor)), Scaling::AbsMax) => {
            y.iter().map(|v| (v - floor).abs()).fold(0.0, f64::max)
        }
        (Some((cap, floor)), Scaling::MinMax) => cap - floor,
        (None, Scaling::AbsMax) => y.iter().map(|v| v.abs()).fold(0.0, f64::max),
        (None, Scaling::MinMax) => {
            let (lo, hi) = y
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                    (l.min(v), h.max(v))
                });
            hi - lo
        }
    };
    if scale == 0.0 { 1.0 } else { scale }
}

impl Forecaster for ProphetForecaster {
    fn name(&self) -> &'static str {
        "prophet"
    }

    fn update(&mut self, _ts: Timestamp, y: f64) -> Result<()> {
        if !y.is_finite() {
            return Err(Error::NonFinite { index: self.seen });
        }
        self.last_ds = self.last_ds.saturating_add(self.params.step_secs);
        self.ds.push_back(self.last_ds);
        self.y.push_back(y);
        while self.y.len() > self.params.max_history {
            self.ds.pop_front();
            self.y.pop_front();
        }
        self.seen += 1;
        self.since_fit += 1;
        let due = if self.fitted.is_some() {
            self.params.refit_every > 0 && self.since_fit >= self.params.refit_every
        } else {
            self.since_fit >= self.params.refit_every.max(2)
        };
        if due {
            self.since_fit = 0;
            if let Ok(f) = self.refit() {
                self.fitted = Some(f);
            }
        }
        Ok(())
    }

    fn is_ready(&self) -> bool {
        self.fitted.is_some()
    }

    fn predict_inplace(&self, horizon: usize, level: f64, out: &mut Forecast) -> Result<()> {
        check_forecast_request(horizon, level)?;
        let Some(fit) = &self.fitted else {
            return Err(Error::NotReady("prophet: no fit since the last reset"));
        };
        let z = z_score(level)?;
        let step = self.params.step_secs;
        let ds: Vec<i64> = (1..=horizon as i64)
            .map(|h| self.last_ds.saturating_add(h.saturating_mul(step)))
            .collect();
        let mut data = PredictionData::new(ds.clone());
        if let Some((cap, floor)) = self.params.logistic {
            data = data
                .with_cap(vec![cap; horizon])
                .and_then(|d| d.with_floor(vec![floor; horizon]))
                .map_err(prophet_error)?;
        }
        let pred = fit.prophet.predict(data).map_err(prophet_error)?;

        // yhat = trend (1 + multiplicative) + additive, summed in name order so that the result
        // does not depend on augurs-prophet's hash-map order.
        let mut add = vec![0.0; horizon];
        let mut mult = vec![0.0; horizon];
        let mut comps: Vec<(&String, bool)> = pred
            .seasonalities
            .keys()
            .map(|k| (k, false))
            .chain(pred.holidays.keys().map(|k| (k, true)))
            .collect();
        comps.sort();
        for (name, holiday) in comps {
            let fp = if holiday {
                &pred.holidays[name]
            } else {
                &pred.seasonalities[name]
            };
            let target = match self.params.mode_of(name, holiday) {
                FeatureMode::Additive => &mut add,
                FeatureMode::Multiplicative => &mut mult,
            };
            target.iter_mut().zip(&fp.point).for_each(|(a, v)| *a += v);
        }

        let rep = &fit.report.params;
        let n_cp = rep.delta.len();
        let lambda =
            rep.delta.iter().map(|d| d.abs()).sum::<f64>() / rep.delta.len().max(1) as f64 + 1e-8;
        let sigma = *rep.sigma_obs * fit.y_scale;
        let growth = self.params.options.growth;
        out.reset(horizon, level);
        for h in 0..horizon {
            let trend = pred.trend.point[h];
            let point = trend * (1.0 + mult[h]) + add[h];
            let t = (ds[h] - fit.t_start) as f64 / fit.t_scale;
            let beyond = (t - 1.0).max(0.0);
            let var_rate = 2.0 * n_cp as f64 * lambda * lambda * beyond.powi(3) / 3.0;
            let slope = match growth {
                GrowthType::Linear => 1.0,
                GrowthType::Flat => 0.0,
                GrowthType::Logistic => {
                    let (cap, floor) = self.params.logistic.unwrap_or((1.0, 0.0));
                    let c = (cap - floor) / fit.y_scale;
                    let g = (trend - floor) / fit.y_scale;
                    (g * (1.0 - g / c)).abs()
                }
            };
            let sd_trend = fit.y_scale * slope * var_rate.sqrt() * (1.0 + mult[h]).abs();
            let sd = sigma.hypot(sd_trend);
            if !(point.is_finite() && sd.is_finite()) {
                return Err(Error::NonFinite { index: h });
            }
            out.push(point, point - z * sd, point + z * sd);
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.fitted = None;
        self.ds.clear();
        self.y.clear();
        self.since_fit = 0;
    }
}
