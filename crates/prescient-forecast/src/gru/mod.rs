//! A small GRU forecaster, trained per series or globally across many series.
//!
//! The network is one GRU layer (see `cell`) that reads a window of the recent past in chunks
//! (by default 14 steps of 24 hourly values), and a linear head that maps its last state to all
//! `horizon` future values at once (a direct multi-step forecast, no feedback of its own
//! errors). Windows are normalised one by one (`window`), so one set of weights serves series
//! of any level; a global model trained on many series is what makes a network competitive on
//! short series like M4 Hourly's, where a per-series model has a few hundred windows to learn
//! from.
//!
//! The weights are shared: a [`GruModel`] is an `Arc` inside, and every per-series
//! [`GruForecaster`] made from it holds a clone of that `Arc` and its own bounded input window.

mod cell;
mod params;
mod train;
mod window;

use std::sync::Arc;

use prescient_core::{
    Error, Forecast, Forecaster, Result, RingBuffer, Timestamp, check_forecast_request,
};

pub use params::GruParams;

use cell::{Net, Tape};
use window::{Shape, encode, from_unit};

/// Fewest residuals an interval quantile is taken from: with fewer validation windows than
/// this (a per-series model has one), the residuals of neighbouring horizon steps are pooled.
const MIN_POOL: usize = 40;

/// How one network of the ensemble trained.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MemberReport {
    /// Epochs run (fewer than the setting when early stopping ended training).
    pub epochs: usize,
    /// The epoch whose weights were kept (the best on validation; the last without it).
    pub best_epoch: usize,
    /// Mean absolute error on the normalised scale over the last epoch's mini-batches.
    pub train_loss: f64,
    /// The kept weights' mean absolute error on the validation windows (NaN without them).
    pub validation_loss: f64,
}

/// How a model trained.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TrainReport {
    /// One entry per network of the ensemble.
    pub members: Vec<MemberReport>,
    /// The ensemble's mean absolute error on the validation windows, on the normalised (log)
    /// scale; `None` without validation.
    pub validation_loss: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Inner {
    shape: Shape,
    nets: Vec<Net>,
    /// Per horizon step, the sorted normalised residuals its interval quantiles come from.
    residuals: Vec<Vec<f64>>,
    report: TrainReport,
}

/// A trained GRU: the weights of one or more networks (an ensemble is averaged), the window
/// geometry, and the residuals the intervals come from. Cheap to clone (the weights are behind
/// an `Arc`); make a per-series forecaster with [`GruModel::forecaster`].
///
/// # Intervals
///
/// After training, the model forecasts every series' held-out tail (its last `horizon`
/// values) and keeps the errors on the normalised scale, `u_true − u_forecast` (a log ratio),
/// per horizon step. The interval of coverage `level` at step `h` is the forecast times
/// `exp` of the empirical `(1 − level)/2` and `(1 + level)/2` quantiles of step `h`'s errors
/// (ranks `⌊(n + 1)(1 − level)/2⌋` and `⌈(n + 1)(1 + level)/2⌉`, as in split conformal
/// prediction). With fewer than 40 series the errors of neighbouring steps are pooled until 40
/// are. Beyond the trained horizon (recursive forecasts), round `k` reuses the quantiles widened
/// by `√k`.
///
/// # Example
///
/// ```
/// use prescient_core::{Forecaster, Timestamp};
/// use prescient_forecast::GruParams;
///
/// let series: Vec<Vec<f64>> = (1..=4)
///     .map(|k| (0..300).map(|t| k as f64 * (20.0 + (t % 12) as f64)).collect())
///     .collect();
/// let refs: Vec<&[f64]> = series.iter().map(|s| s.as_slice()).collect();
/// let params = GruParams::new().input(48).chunk(12).season(12).level(12).horizon(12)
///     .hidden(8).epochs(2).steps_per_epoch(10).batch_size(32).ensemble(1);
/// let model = params.fit_global(&refs)?;
///
/// // Two forecasters share the weights; each keeps its own window.
/// let mut a = model.forecaster(&series[0])?;
/// let b = model.forecaster(&series[3])?;
/// a.update(Timestamp::from_secs(300), 20.0)?;
/// let (fa, fb) = (a.predict(12, 0.9)?, b.predict(12, 0.9)?);
/// assert!(fa.is_consistent() && fb.is_consistent());
/// assert!(fb.point[0] > fa.point[0]);
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GruModel {
    inner: Arc<Inner>,
}

#[cfg(feature = "serde")]
impl serde::Serialize for GruModel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.inner.serialize(s)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for GruModel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let inner = Inner::deserialize(d)?;
        inner.check().map_err(serde::de::Error::custom)?;
        Ok(GruModel {
            inner: Arc::new(inner),
        })
    }
}

#[cfg(feature = "serde")]
impl Inner {
    /// Whether the parts agree with each other (for weights read from outside).
    fn check(&self) -> std::result::Result<(), String> {
        let sh = &self.shape;
        if sh.chunk == 0 || sh.horizon == 0 || sh.input == 0 || sh.input % sh.chunk != 0 {
            return Err(format!("inconsistent window shape {sh:?}"));
        }
        if sh.level == 0 || sh.level > sh.input || sh.season > sh.input {
            return Err(format!("inconsistent window shape {sh:?}"));
        }
        if self.nets.is_empty() || self.residuals.len() != sh.horizon {
            return Err("no network, or residuals not one list per horizon step".into());
        }
        for net in &self.nets {
            if net.input != sh.width()
                || net.output != sh.horizon
                || net.hidden == 0
                || net.w.len() != Net::len_for(net.input, net.hidden, net.output)
                || net.w.iter().any(|w| !w.is_finite())
            {
                return Err("a network's sizes do not match the window shape".into());
            }
        }
        Ok(())
    }
}

/// Sorted residuals per horizon step, pooled over neighbouring steps until there are
/// [`MIN_POOL`] of them (or all steps are pooled).
fn pooled_residuals(residuals: &[f64], horizon: usize) -> Vec<Vec<f64>> {
    let n = residuals.len() / horizon.max(1);
    (0..horizon)
        .map(|h| {
            let mut w = 0;
            while n * (h.min(w) + (horizon - 1 - h).min(w) + 1) < MIN_POOL && w < horizon {
                w += 1;
            }
            let lo = h.saturating_sub(w);
            let hi = (h + w).min(horizon - 1);
            let mut pool: Vec<f64> = (0..n)
                .flat_map(|i| {
                    residuals[i * horizon + lo..=i * horizon + hi]
                        .iter()
                        .copied()
                })
                .filter(|e| e.is_finite())
                .collect();
            pool.sort_by(f64::total_cmp);
            pool
        })
        .collect()
}

/// The `(lower, upper)` quantiles of coverage `level` of a sorted sample (0 when empty).
fn quantile_pair(sorted: &[f64], level: f64) -> (f64, f64) {
    let n = sorted.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let rank_lo = ((n + 1) as f64 * (1.0 - level) / 2.0).floor() as usize;
    let rank_hi = ((n + 1) as f64 * (1.0 + level) / 2.0).ceil() as usize;
    let at = |rank: usize| sorted[rank.clamp(1, n) - 1];
    (at(rank_lo).min(0.0), at(rank_hi).max(0.0))
}

impl GruModel {
    fn new(shape: Shape, trained: train::Trained) -> Self {
        let residuals = pooled_residuals(&trained.residuals, shape.horizon);
        GruModel {
            inner: Arc::new(Inner {
                shape,
                nets: trained.nets,
                residuals,
                report: trained.report,
            }),
        }
    }

    /// A forecaster for one series whose past is `history` (gaps filled as
    /// [`crate::history`] says), sharing this model's weights. It forecasts from one step after
    /// the history's last value, and is ready once it holds one input window.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] when the model expects covariates (use
    /// [`GruModel::forecaster_with_covariates`]); [`Error::NotEnoughData`] when no value of the
    /// history is finite.
    pub fn forecaster(&self, history: &[f64]) -> Result<GruForecaster> {
        if self.covariates() > 0 {
            return Err(Error::InvalidParam {
                name: "covariates",
                reason: "the model expects covariates: use forecaster_with_covariates".into(),
            });
        }
        self.forecaster_with_covariates(history, &[])
    }

    /// As [`GruModel::forecaster`], with the covariates of the history's positions
    /// (`history.len() × d` values, row-major; see [`GruParams::fit_global_with_covariates`]).
    ///
    /// # Errors
    ///
    /// As [`GruModel::forecaster`], and [`Error::InvalidParam`] when `covariates` has the
    /// wrong length or a non-finite value.
    pub fn forecaster_with_covariates(
        &self,
        history: &[f64],
        covariates: &[f64],
    ) -> Result<GruForecaster> {
        let d = self.covariates();
        if covariates.len() != history.len() * d || covariates.iter().any(|c| !c.is_finite()) {
            return Err(Error::InvalidParam {
                name: "covariates",
                reason: format!(
                    "expected {} finite values ({} positions × {d}), got {}",
                    history.len() * d,
                    history.len(),
                    covariates.len()
                ),
            });
        }
        let filled = crate::history::fill_gaps(history)?;
        let dropped = history.len() - filled.len();
        let input = self.input();
        let mut f = GruForecaster {
            model: self.clone(),
            values: RingBuffer::new(input),
            covariates: RingBuffer::new(input * d),
            seen: 0,
        };
        let start = filled.len().saturating_sub(input);
        for &y in &filled[start..] {
            f.values.push(y);
        }
        for &c in &covariates[(dropped + start) * d..] {
            f.covariates.push(c);
        }
        f.seen = filled.len();
        Ok(f)
    }

    /// Values per input window.
    pub fn input(&self) -> usize {
        self.inner.shape.input
    }

    /// Steps forecast at once.
    pub fn horizon(&self) -> usize {
        self.inner.shape.horizon
    }

    /// Covariates per time step (0 when the model takes none).
    pub fn covariates(&self) -> usize {
        self.inner.shape.covariates
    }

    /// Networks in the ensemble.
    pub fn ensemble(&self) -> usize {
        self.inner.nets.len()
    }

    /// Weights per network.
    pub fn weights(&self) -> usize {
        self.inner.nets.first().map_or(0, |n| n.w.len())
    }

    /// How training went.
    pub fn report(&self) -> &TrainReport {
        &self.inner.report
    }

    /// The forecast on the normalised scale of one window (`input` values and their
    /// covariates) into `u`; returns the window's scale.
    fn predict_unit(&self, input: &[f64], covariates: &[f64], u: &mut [f64]) -> f64 {
        let inner = &*self.inner;
        let sh = &inner.shape;
        let mut x = vec![0.0; sh.encoded_len()];
        let s = encode(sh, input, covariates, &mut x, u);
        let mut tape = Tape::default();
        let k = 1.0 / inner.nets.len().max(1) as f64;
        for net in &inner.nets {
            net.forward(&x, 1, sh.steps(), &mut tape);
            for (u, y) in u.iter_mut().zip(&tape.out) {
                *u += k * y;
            }
        }
        s
    }
}

/// Calendar covariates of the time `ts` (UTC): the hour of the day and the day of the week,
/// each as a point on the unit circle (`sin`, `cos`), so that 23:00 is next to midnight.
///
/// # Example
///
/// ```
/// use prescient_core::Timestamp;
/// use prescient_forecast::gru_calendar;
///
/// // 1970-01-01T06:00Z, a Thursday: a quarter of the way round the day.
/// let c = gru_calendar(Timestamp::from_secs(6 * 3600));
/// assert!((c[0] - 1.0).abs() < 1e-12 && c[1].abs() < 1e-12);
/// ```
pub fn calendar(ts: Timestamp) -> [f64; 4] {
    let secs = ts.as_secs_f64();
    let day = (secs / 86_400.0).rem_euclid(1.0);
    // 1970-01-01 was a Thursday; weeks here start on Monday.
    let week = ((secs / 86_400.0 + 3.0) / 7.0).rem_euclid(1.0);
    let tau = std::f64::consts::TAU;
    [
        (tau * day).sin(),
        (tau * day).cos(),
        (tau * week).sin(),
        (tau * week).cos(),
    ]
}

/// A per-series GRU forecaster: a shared [`GruModel`] and the series' last input window.
///
/// `update` appends an observation (`O(1)`, memory bounded by the input window); `predict`
/// runs the network on the window, `O(weights · ensemble)`. Forecasts longer than the model's
/// horizon are recursive: the forecast values are appended to the window (with the last
/// covariates repeated) and the network runs again.
///
/// # Example
///
/// ```
/// use prescient_core::{Forecaster, Timestamp};
/// use prescient_forecast::GruParams;
///
/// let y: Vec<f64> = (0..400).map(|t| 100.0 + 30.0 * ((t % 24) as f64 / 4.0).sin()).collect();
/// let params = GruParams::new().input(96).horizon(24).hidden(8).epochs(2).ensemble(1);
/// let mut model = params.fit(&y)?;
/// model.update(Timestamp::from_secs(400 * 3600), 110.0)?;
/// let f = model.predict(60, 0.95)?; // 24 direct steps, then recursive
/// assert_eq!(f.len(), 60);
/// assert!(f.is_consistent());
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GruForecaster {
    model: GruModel,
    values: RingBuffer<f64>,
    covariates: RingBuffer<f64>,
    seen: usize,
}

impl GruForecaster {
    /// The shared model.
    pub fn model(&self) -> &GruModel {
        &self.model
    }

    /// Observations taken (the history's included).
    pub fn len(&self) -> usize {
        self.seen
    }

    /// Whether no observation was taken.
    pub fn is_empty(&self) -> bool {
        self.seen == 0
    }
}

impl Forecaster for GruForecaster {
    #[cfg(feature = "serde")]
    prescient_core::serde_state!();

    fn name(&self) -> &'static str {
        "gru"
    }

    /// Appends `y` to the input window.
    ///
    /// # Errors
    ///
    /// [`Error::NonFinite`] when `y` is not finite; [`Error::InvalidParam`] when the model
    /// expects covariates (use [`Forecaster::update_with_covariates`]). The state is left
    /// as it was.
    fn update(&mut self, ts: Timestamp, y: f64) -> Result<()> {
        if self.model.covariates() > 0 {
            return Err(Error::InvalidParam {
                name: "covariates",
                reason: "the model expects covariates: use update_with_covariates".into(),
            });
        }
        self.update_with_covariates(ts, y, &[])
    }

    fn covariates(&self) -> usize {
        self.model.covariates()
    }

    /// Appends `y` and the covariates of its position (as many as the model's
    /// [`GruModel::covariates`]) to the input window.
    ///
    /// # Errors
    ///
    /// [`Error::NonFinite`] when `y` is not finite, [`Error::InvalidParam`] when `covariates`
    /// has the wrong length or a non-finite value; the state is left as it was.
    fn update_with_covariates(&mut self, _ts: Timestamp, y: f64, covariates: &[f64]) -> Result<()> {
        if !y.is_finite() {
            return Err(Error::NonFinite { index: self.seen });
        }
        let d = self.model.covariates();
        if covariates.len() != d || covariates.iter().any(|c| !c.is_finite()) {
            return Err(Error::InvalidParam {
                name: "covariates",
                reason: format!("expected {d} finite covariates, got {:?}", covariates),
            });
        }
        self.values.push(y);
        for &c in covariates {
            self.covariates.push(c);
        }
        self.seen = self.seen.saturating_add(1);
        Ok(())
    }

    fn is_ready(&self) -> bool {
        let sh = &self.model.inner.shape;
        self.values.len() == sh.input && self.covariates.len() == sh.input * sh.covariates
    }

    fn predict_inplace(&self, horizon: usize, level: f64, out: &mut Forecast) -> Result<()> {
        check_forecast_request(horizon, level)?;
        if !self.is_ready() {
            return Err(Error::NotReady(
                "the gru forecaster needs one input window of observations",
            ));
        }
        let inner = &*self.model.inner;
        let (input, o, d) = (
            inner.shape.input,
            inner.shape.horizon,
            inner.shape.covariates,
        );
        let mut window: Vec<f64> = self.values.iter().copied().collect();
        let mut covs: Vec<f64> = self.covariates.iter().copied().collect();
        let quantiles: Vec<(f64, f64)> = inner
            .residuals
            .iter()
            .map(|r| quantile_pair(r, level))
            .collect();
        let mut u = vec![0.0; o];
        out.reset(horizon, level);
        let mut round = 0usize;
        while out.len() < horizon {
            let s = self.model.predict_unit(&window, &covs, &mut u);
            let take = (horizon - out.len()).min(o);
            let widen = ((round + 1) as f64).sqrt();
            for (h, &uh) in u.iter().enumerate().take(take) {
                let (lo, hi) = quantiles.get(h).copied().unwrap_or((0.0, 0.0));
                let point = from_unit(uh, s);
                let lower = from_unit(uh + lo * widen, s);
                let upper = from_unit(uh + hi * widen, s);
                if !(point.is_finite() && lower.is_finite() && upper.is_finite()) {
                    let index = out.len();
                    out.reset(0, level);
                    return Err(Error::NonFinite { index });
                }
                out.push(point, lower.min(point), upper.max(point));
            }
            if out.len() < horizon {
                window.extend_from_slice(&out.point[out.len() - take..]);
                window.drain(..window.len() - input);
                if d > 0 {
                    let last = covs[covs.len() - d..].to_vec();
                    for _ in 0..take {
                        covs.extend_from_slice(&last);
                    }
                    covs.drain(..covs.len() - input * d);
                }
            }
            round += 1;
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.values.clear();
        self.covariates.clear();
        self.seen = 0;
    }
}

#[cfg(test)]
mod tests;

/// A trained global model is a forecasting method that needs no fitting: `fit` gives a
/// per-series [`GruForecaster`] sharing the weights (see [`GruModel::forecaster`]).
impl prescient_core::ForecastMethod for GruModel {
    fn name(&self) -> &'static str {
        "gru"
    }

    fn fit(&self, history: &[f64]) -> Result<Box<dyn Forecaster>> {
        Ok(Box::new(self.forecaster(history)?))
    }
}
