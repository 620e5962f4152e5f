//! A forecast combination chosen per series by a rolling-origin backtest, with conformal
//! prediction intervals calibrated on the backtest's errors.

use std::sync::Arc;

use prescient_core::{
    Error, Forecast, ForecastMethod, Forecaster, Result, Timestamp, check_forecast_request,
};

/// How the members' forecasts are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Combination {
    /// The plain mean of the members.
    Mean,
    /// The median of the members, step by step (robust to one member going astray).
    #[default]
    Median,
    /// A mean weighted by the inverse of each member's backtest error (its mean absolute
    /// error on the backtest windows), normalised to sum to 1.
    InverseError,
    /// The member with the lowest backtest error alone.
    Best,
}

/// The level of the members' intervals the conformal calibration is measured against.
const REFERENCE_LEVEL: f64 = 0.95;

/// The settings of an [`Ensemble`]: its members, how they are combined, and the backtest.
///
/// Fitting runs a rolling-origin backtest on the history: for each of the last
/// [`EnsembleParams::folds`] origins, spaced [`EnsembleParams::backtest_horizon`] apart, every
/// member is fitted on the history before the origin and forecasts the next
/// `backtest_horizon` values. The backtest errors give
///
/// - the combination weights ([`Combination::InverseError`], [`Combination::Best`]);
/// - the *conformal* calibration of the intervals: each backtest point's error, divided by the
///   half-width of the combined members' 95% interval on its side, is a non-conformity score;
///   a forecast's interval at level `L` is the combined 95% interval scaled by the scores'
///   `⌈(k + 1)·L⌉`-th smallest of `k` (split conformal prediction with normalised scores, as in
///   conformalised quantile regression). Its coverage holds whatever the members' own
///   intervals are worth, as long as the backtest errors are like the future ones.
///
/// Then every member is fitted on the whole history. A member that fails on a series is left
/// out of it; the fit fails only when every member does. A history too short for the backtest
/// gets equal weights and the members' own intervals.
///
/// # Example
///
/// ```
/// use prescient_core::{ForecastMethod, Forecaster};
/// use prescient_forecast::{Combination, EnsembleParams, Naive2Params, SeasonalNaiveParams};
///
/// let y: Vec<f64> = (0..24 * 20)
///     .map(|t| 100.0 + 30.0 * (t as f64 * std::f64::consts::TAU / 24.0).sin() + (t % 7) as f64)
///     .collect();
/// let params = EnsembleParams::new(vec![
///     Box::new(SeasonalNaiveParams::new(24)),
///     Box::new(Naive2Params::new(1)), // the plain naive forecast
/// ])
/// .combination(Combination::InverseError);
/// let model = params.fit(&y)?;
/// assert!(model.weights()[0] > model.weights()[1]); // the seasonal naive is far better here
/// let f = model.predict(48, 0.9)?;
/// assert!(f.is_consistent());
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Clone)]
pub struct EnsembleParams {
    name: &'static str,
    members: Vec<Arc<dyn ForecastMethod>>,
    combination: Combination,
    folds: usize,
    backtest_horizon: usize,
}

impl std::fmt::Debug for EnsembleParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnsembleParams")
            .field("name", &self.name)
            .field(
                "members",
                &self.members.iter().map(|m| m.name()).collect::<Vec<_>>(),
            )
            .field("combination", &self.combination)
            .field("folds", &self.folds)
            .field("backtest_horizon", &self.backtest_horizon)
            .finish()
    }
}

impl EnsembleParams {
    /// An ensemble of `members`, combined by their median, backtested on 2 folds of 48 steps.
    pub fn new(members: Vec<Box<dyn ForecastMethod>>) -> Self {
        EnsembleParams {
            name: "ensemble",
            members: members.into_iter().map(Arc::from).collect(),
            combination: Combination::default(),
            folds: 2,
            backtest_horizon: 48,
        }
    }

    /// One model with conformal intervals: `method`'s point forecasts, and its 95% intervals
    /// rescaled by the conformal quantile of its errors on a backtest of 1 fold (see
    /// [`EnsembleParams`]), reported under `method`'s name. For models whose own intervals are
    /// too narrow (in-sample errors understate out-of-sample ones), at the cost of one fit per
    /// fold.
    ///
    /// # Example
    ///
    /// ```
    /// use prescient_core::ForecastMethod;
    /// use prescient_forecast::{EnsembleParams, SeasonalNaiveParams};
    ///
    /// let conformal = EnsembleParams::conformal(Box::new(SeasonalNaiveParams::new(24)));
    /// assert_eq!(ForecastMethod::name(&conformal), "seasonal_naive");
    /// ```
    pub fn conformal(method: Box<dyn ForecastMethod>) -> Self {
        let name = method.name();
        EnsembleParams {
            name,
            folds: 1,
            ..EnsembleParams::new(vec![method])
        }
    }

    /// How the members are combined (default [`Combination::Median`]).
    pub fn combination(mut self, combination: Combination) -> Self {
        self.combination = combination;
        self
    }

    /// Backtest origins (default 2; 0 turns the backtest off).
    pub fn folds(mut self, folds: usize) -> Self {
        self.folds = folds;
        self
    }

    /// Steps forecast from each backtest origin, and the spacing of the origins (default 48).
    pub fn backtest_horizon(mut self, steps: usize) -> Self {
        self.backtest_horizon = steps;
        self
    }

    /// The members' names.
    pub fn member_names(&self) -> Vec<&'static str> {
        self.members.iter().map(|m| m.name()).collect()
    }

    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParam`] without members or with a backtest horizon of 0.
    pub fn check(&self) -> Result<()> {
        if self.members.is_empty() {
            return Err(Error::InvalidParam {
                name: "members",
                reason: "an ensemble needs at least one member".into(),
            });
        }
        if self.backtest_horizon == 0 {
            return Err(Error::InvalidParam {
                name: "backtest_horizon",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    /// Backtests and fits every member on `history` (gaps filled, see [`crate::history`]).
    ///
    /// # Errors
    ///
    /// As [`EnsembleParams::check`], and the first member's error when every member fails on
    /// the whole history.
    pub fn fit(&self, history: &[f64]) -> Result<Ensemble> {
        self.check()?;
        let y = crate::history::fill_gaps(history)?;
        let n = y.len();
        let k = self.members.len();
        let h = self.backtest_horizon;
        // Backtest: per member, its absolute errors; per point, what the calibration needs.
        let mut abs_err = vec![0.0; k];
        let mut counted = vec![0usize; k];
        let mut backtests: Vec<(usize, Vec<Option<Forecast>>)> = Vec::new();
        // Keep at least three backtest horizons (and 2·168 steps for weekly models) before the
        // earliest origin.
        for fold in (1..=self.folds).rev() {
            let Some(origin) = n.checked_sub(fold * h) else {
                continue;
            };
            if origin < (3 * h).max(336) {
                continue;
            }
            let past = &y[..origin];
            let forecasts: Vec<Option<Forecast>> = self
                .members
                .iter()
                .map(|m| m.fit(past).and_then(|f| f.predict(h, REFERENCE_LEVEL)).ok())
                .collect();
            for (j, f) in forecasts.iter().enumerate() {
                if let Some(f) = f {
                    for (p, a) in f.point.iter().zip(&y[origin..origin + h]) {
                        abs_err[j] += (p - a).abs();
                        counted[j] += 1;
                    }
                }
            }
            backtests.push((origin, forecasts));
        }
        // Fit on everything.
        let mut fitted: Vec<Option<Box<dyn Forecaster>>> = Vec::with_capacity(k);
        let mut first_error = None;
        for m in &self.members {
            match m.fit(&y) {
                Ok(f) => fitted.push(Some(f)),
                Err(e) => {
                    first_error.get_or_insert(e);
                    fitted.push(None);
                }
            }
        }
        if fitted.iter().all(Option::is_none) {
            return Err(first_error.unwrap_or(Error::NotReady("no member could be fitted")));
        }
        // A member is usable when it fitted on everything and, if there was a backtest, took
        // part in every fold of it (otherwise its error is not comparable).
        let folds_run = backtests.len();
        let full = folds_run * h;
        let usable: Vec<bool> = (0..k)
            .map(|j| fitted[j].is_some() && (folds_run == 0 || counted[j] == full))
            .collect();
        let usable = if usable.iter().any(|&u| u) {
            usable
        } else {
            fitted.iter().map(Option::is_some).collect()
        };
        let mae: Vec<f64> = (0..k)
            .map(|j| {
                if counted[j] > 0 {
                    abs_err[j] / counted[j] as f64
                } else {
                    f64::INFINITY
                }
            })
            .collect();
        let weights = combination_weights(self.combination, &usable, &mae, folds_run > 0);
        // Conformal scores of the combined forecast on the backtest.
        let mut scores = Vec::new();
        for (origin, forecasts) in &backtests {
            let members: Vec<(f64, &Forecast)> = forecasts
                .iter()
                .zip(&usable)
                .zip(&weights)
                .filter_map(|((f, &u), &w)| {
                    (u && w > 0.0)
                        .then_some(f.as_ref())
                        .flatten()
                        .map(|f| (w, f))
                })
                .collect();
            if members.is_empty() {
                continue;
            }
            for step in 0..h {
                let (p, lo, hi) = combine_step(self.combination, &members, step);
                let actual = y[origin + step];
                let s = if actual >= p {
                    ratio(actual - p, hi - p)
                } else {
                    ratio(p - actual, p - lo)
                };
                scores.push(s);
            }
        }
        scores.retain(|s| !s.is_nan());
        scores.sort_by(f64::total_cmp);
        Ok(Ensemble {
            name: self.name,
            names: self.member_names(),
            members: fitted,
            weights,
            combination: self.combination,
            backtest_mae: mae,
            scores,
        })
    }
}

impl ForecastMethod for EnsembleParams {
    fn name(&self) -> &'static str {
        self.name
    }

    fn fit(&self, history: &[f64]) -> Result<Box<dyn Forecaster>> {
        Ok(Box::new(EnsembleParams::fit(self, history)?))
    }
}

/// `num / den` as a non-conformity score: 0 for no error, +∞ for an error where the interval
/// has no width.
fn ratio(num: f64, den: f64) -> f64 {
    if num <= 0.0 {
        0.0
    } else if den > 0.0 {
        num / den
    } else {
        f64::INFINITY
    }
}

fn combination_weights(
    combination: Combination,
    usable: &[bool],
    mae: &[f64],
    backtested: bool,
) -> Vec<f64> {
    let k = usable.len();
    let equal = || -> Vec<f64> {
        let n = usable.iter().filter(|&&u| u).count().max(1) as f64;
        usable
            .iter()
            .map(|&u| if u { 1.0 / n } else { 0.0 })
            .collect()
    };
    if !backtested {
        return equal();
    }
    match combination {
        Combination::Mean | Combination::Median => equal(),
        Combination::InverseError => {
            // A perfect backtest (MAE 0) takes all the weight.
            let inv: Vec<f64> = (0..k)
                .map(|j| {
                    if !usable[j] {
                        0.0
                    } else if mae[j] > 0.0 {
                        1.0 / mae[j]
                    } else {
                        f64::INFINITY
                    }
                })
                .collect();
            let perfect = inv.iter().filter(|v| v.is_infinite()).count();
            if perfect > 0 {
                return inv
                    .iter()
                    .map(|v| {
                        if v.is_infinite() {
                            1.0 / perfect as f64
                        } else {
                            0.0
                        }
                    })
                    .collect();
            }
            let total: f64 = inv.iter().sum();
            if total > 0.0 && total.is_finite() {
                inv.iter().map(|v| v / total).collect()
            } else {
                equal()
            }
        }
        Combination::Best => {
            let best = (0..k)
                .filter(|&j| usable[j])
                .min_by(|&a, &b| mae[a].total_cmp(&mae[b]));
            match best {
                Some(b) => (0..k).map(|j| f64::from(u8::from(j == b))).collect(),
                None => equal(),
            }
        }
    }
}

/// The combined point and interval ends at `step` of the members' forecasts.
fn combine_step(
    combination: Combination,
    members: &[(f64, &Forecast)],
    step: usize,
) -> (f64, f64, f64) {
    match combination {
        Combination::Median => (
            median(members.iter().map(|(_, f)| f.point[step])),
            median(members.iter().map(|(_, f)| f.lower[step])),
            median(members.iter().map(|(_, f)| f.upper[step])),
        ),
        _ => {
            let total: f64 = members.iter().map(|(w, _)| w).sum();
            let total = if total > 0.0 { total } else { 1.0 };
            let mean = |g: fn(&Forecast, usize) -> f64| -> f64 {
                members.iter().map(|(w, f)| w * g(f, step)).sum::<f64>() / total
            };
            (
                mean(|f, s| f.point[s]),
                mean(|f, s| f.lower[s]),
                mean(|f, s| f.upper[s]),
            )
        }
    }
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// A fitted ensemble (see [`EnsembleParams`]).
///
/// `update` passes each observation to every member (a member that rejects it is dropped from
/// the combination); the weights and the calibration stay those of the fit.
pub struct Ensemble {
    name: &'static str,
    names: Vec<&'static str>,
    members: Vec<Option<Box<dyn Forecaster>>>,
    weights: Vec<f64>,
    combination: Combination,
    backtest_mae: Vec<f64>,
    /// The sorted conformal scores of the backtest.
    scores: Vec<f64>,
}

impl std::fmt::Debug for Ensemble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ensemble")
            .field("members", &self.names)
            .field("weights", &self.weights)
            .field("combination", &self.combination)
            .field("backtest_mae", &self.backtest_mae)
            .field("scores", &self.scores.len())
            .finish()
    }
}

impl Ensemble {
    /// The members' names, in the order of [`Ensemble::weights`].
    pub fn member_names(&self) -> &[&'static str] {
        &self.names
    }

    /// The combination weights (0 for a member left out); for [`Combination::Median`], equal
    /// weights over the members in use.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Each member's mean absolute error on the backtest (+∞ when it has none).
    pub fn backtest_mae(&self) -> &[f64] {
        &self.backtest_mae
    }

    /// How many backtest points calibrate the intervals (0: the members' own intervals).
    pub fn calibration_points(&self) -> usize {
        self.scores.len()
    }

    /// The conformal scale of the 95% member intervals for coverage `level` (1 without a
    /// backtest).
    fn scale(&self, level: f64) -> f64 {
        let k = self.scores.len();
        if k == 0 {
            return 1.0;
        }
        let rank = ((k + 1) as f64 * level).ceil() as usize;
        self.scores[rank.clamp(1, k) - 1]
    }
}

impl Forecaster for Ensemble {
    fn name(&self) -> &'static str {
        self.name
    }

    /// # Errors
    ///
    /// [`Error::NonFinite`] when `y` is not finite; no member is changed then.
    fn update(&mut self, ts: Timestamp, y: f64) -> Result<()> {
        self.update_with_covariates(ts, y, &[])
    }

    /// The most covariates a member takes.
    fn covariates(&self) -> usize {
        self.members
            .iter()
            .flatten()
            .map(|m| m.covariates())
            .max()
            .unwrap_or(0)
    }

    /// Each member that takes as many covariates as given gets them; the others get `y` alone.
    /// A member that fails is dropped from the ensemble.
    fn update_with_covariates(&mut self, ts: Timestamp, y: f64, covariates: &[f64]) -> Result<()> {
        if !y.is_finite() {
            return Err(Error::NonFinite { index: 0 });
        }
        for (slot, w) in self.members.iter_mut().zip(self.weights.iter_mut()) {
            if let Some(m) = slot {
                let fed = if m.covariates() > 0 && m.covariates() == covariates.len() {
                    m.update_with_covariates(ts, y, covariates)
                } else {
                    m.update(ts, y)
                };
                if fed.is_err() {
                    *slot = None;
                    *w = 0.0;
                }
            }
        }
        Ok(())
    }

    fn is_ready(&self) -> bool {
        self.members
            .iter()
            .zip(&self.weights)
            .any(|(m, &w)| w > 0.0 && m.as_ref().is_some_and(|m| m.is_ready()))
    }

    fn predict_inplace(&self, horizon: usize, level: f64, out: &mut Forecast) -> Result<()> {
        check_forecast_request(horizon, level)?;
        let calibrated = !self.scores.is_empty();
        let member_level = if calibrated { REFERENCE_LEVEL } else { level };
        let mut forecasts: Vec<(f64, Forecast)> = Vec::new();
        let mut first_error = None;
        for (m, &w) in self.members.iter().zip(&self.weights) {
            let Some(m) = m else { continue };
            if w <= 0.0 {
                continue;
            }
            match m.predict(horizon, member_level) {
                Ok(f) => forecasts.push((w, f)),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if forecasts.is_empty() {
            return Err(first_error.unwrap_or(Error::NotReady("no member can forecast")));
        }
        let members: Vec<(f64, &Forecast)> = forecasts.iter().map(|(w, f)| (*w, f)).collect();
        let scale = if calibrated { self.scale(level) } else { 1.0 };
        out.reset(horizon, level);
        for step in 0..horizon {
            let (p, lo, hi) = combine_step(self.combination, &members, step);
            let (lo, hi) = if scale.is_finite() {
                (p - scale * (p - lo).max(0.0), p + scale * (hi - p).max(0.0))
            } else {
                (f64::NAN, f64::NAN)
            };
            if !(p.is_finite() && lo.is_finite() && hi.is_finite()) {
                return Err(Error::NonFinite { index: step });
            }
            out.point.push(p);
            out.lower.push(lo);
            out.upper.push(hi);
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.members.iter_mut().flatten().for_each(|m| m.reset());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Naive2Params, SeasonalNaiveParams};

    fn series(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..n)
            .map(|t| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let e = ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 10.0;
                100.0 + 30.0 * (t as f64 * std::f64::consts::TAU / 24.0).sin() + e
            })
            .collect()
    }

    fn members() -> Vec<Box<dyn ForecastMethod>> {
        vec![
            Box::new(SeasonalNaiveParams::new(24)),
            Box::new(Naive2Params::new(1)),
        ]
    }

    #[test]
    fn best_picks_the_member_with_the_lower_backtest_error() {
        let y = series(24 * 30, 1);
        let model = EnsembleParams::new(members())
            .combination(Combination::Best)
            .fit(&y)
            .unwrap();
        assert_eq!(model.weights(), &[1.0, 0.0]);
        assert!(model.backtest_mae()[0] < model.backtest_mae()[1]);
        assert_eq!(model.calibration_points(), 96);
        let direct = SeasonalNaiveParams::new(24)
            .fit(&y)
            .unwrap()
            .predict(24, 0.9)
            .unwrap();
        assert_eq!(model.predict(24, 0.9).unwrap().point, direct.point);
    }

    #[test]
    fn conformal_intervals_cover_new_data_at_about_their_level() {
        // Many series from the same process: the share of the next 48 values inside the 80%
        // intervals must be near 80%.
        let (mut inside, mut total) = (0usize, 0usize);
        for seed in 0..40 {
            let y = series(24 * 30 + 48, seed);
            let (train, test) = y.split_at(24 * 30);
            let model = EnsembleParams::new(members())
                .combination(Combination::Mean)
                .fit(train)
                .unwrap();
            let f = model.predict(48, 0.8).unwrap();
            for ((a, lo), hi) in test.iter().zip(&f.lower).zip(&f.upper) {
                total += 1;
                inside += usize::from(lo <= a && a <= hi);
            }
        }
        let coverage = inside as f64 / total as f64;
        assert!((0.72..=0.88).contains(&coverage), "coverage {coverage}");
    }

    #[test]
    fn a_short_history_skips_the_backtest() {
        let y = series(100, 3);
        let model = EnsembleParams::new(members()).fit(&y).unwrap();
        assert_eq!(model.calibration_points(), 0);
        assert_eq!(model.weights(), &[0.5, 0.5]);
        assert!(model.predict(10, 0.95).unwrap().is_consistent());
    }

    #[test]
    fn failing_members_are_left_out_and_all_failing_is_an_error() {
        let y = series(24 * 30, 4);
        let with_bad = vec![
            Box::new(SeasonalNaiveParams::new(24)) as Box<dyn ForecastMethod>,
            Box::new(SeasonalNaiveParams::new(0)),
        ];
        let model = EnsembleParams::new(with_bad).fit(&y).unwrap();
        assert_eq!(model.weights(), &[1.0, 0.0]);
        let all_bad: Vec<Box<dyn ForecastMethod>> = vec![Box::new(SeasonalNaiveParams::new(0))];
        assert!(EnsembleParams::new(all_bad).fit(&y).is_err());
        assert!(EnsembleParams::new(vec![]).fit(&y).is_err());
    }

    #[test]
    fn update_reaches_every_member() {
        let y = series(24 * 30, 5);
        let mut model = EnsembleParams::new(members())
            .fit(&y[..y.len() - 1])
            .unwrap();
        model
            .update(Timestamp::from_secs(0), y[y.len() - 1])
            .unwrap();
        let direct = EnsembleParams::new(members()).fit(&y).unwrap();
        // Same members, same data: the point forecasts agree (the calibration may differ).
        assert_eq!(
            model.predict(5, 0.9).unwrap().point,
            direct.predict(5, 0.9).unwrap().point
        );
        assert!(model.update(Timestamp::from_secs(1), f64::NAN).is_err());
    }
}
