//! Holt–Winters additive exponential smoothing: ETS(A,A,A), ETS(A,Ad,A) and Holt's linear trend.

mod init;
mod params;

pub use params::HoltWintersParams;

use prescient_core::{Error, Forecast, Forecaster, Result, Timestamp, check_forecast_request};

use crate::interval::z_score;
use crate::optim::nelder_mead;

/// Bounds of the estimated `α`, `β` and `γ`.
const LOWER: f64 = 1e-4;
const UPPER: f64 = 1.0 - 1e-4;
/// Bounds of the estimated damping `φ` (Hyndman et al. 2008, §5.2).
const PHI_LOWER: f64 = 0.8;
const PHI_UPPER: f64 = 0.98;
/// Grid points for the starting values, spread over the free parameters.
const GRID_POINTS: f64 = 3000.0;
/// Nelder–Mead runs, from the best grid points.
const STARTS: usize = 5;

/// The smoothing parameters in ETS form (`γ = 0` without seasonality, `φ = 1` undamped).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Smoothing {
    alpha: f64,
    beta: f64,
    gamma: f64,
    phi: f64,
}

/// The filtered state after the last observation.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct State {
    level: f64,
    trend: f64,
    /// The seasonal components, a ring: `season[head]` is for the next observation (empty
    /// without seasonality).
    season: Vec<f64>,
    head: usize,
}

impl State {
    /// The state after observing `y`, or `None` if it is not finite.
    fn step(&self, y: f64, sm: &Smoothing) -> Option<(f64, f64, f64)> {
        let s = self.season.get(self.head).copied().unwrap_or(0.0);
        let damped = sm.phi * self.trend;
        let e = y - (self.level + damped + s);
        let level = self.level + damped + sm.alpha * e;
        let trend = damped + sm.beta * e;
        let season = s + sm.gamma * e;
        (level.is_finite() && trend.is_finite() && season.is_finite())
            .then_some((level, trend, season))
    }

    fn commit(&mut self, (level, trend, season): (f64, f64, f64)) {
        self.level = level;
        self.trend = trend;
        if let Some(s) = self.season.get_mut(self.head) {
            *s = season;
            self.head = (self.head + 1) % self.season.len();
        }
    }
}

/// Where the model is: filtering, or collecting observations to re-initialise after a reset.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
enum Phase {
    Ready(State),
    WarmingUp(Vec<f64>),
}

/// A fitted additive Holt–Winters model (ETS(A,A,A), or ETS(A,Ad,A) with a damped trend, or
/// Holt's linear trend without a period), made by [`HoltWintersParams::fit`].
///
/// `update` filters each new observation with the fitted parameters in `O(1)`; `predict_inplace`
/// gives the point forecasts `ℓ + (φ + … + φ^h)·b + s` and normal intervals from the analytic
/// variance of the state-space model (Hyndman et al. 2008, class 1):
///
/// ```text
/// v[h] = σ² · (1 + Σ_{j=1}^{h−1} c_j²),   c_j = α + β·(φ + φ² + … + φ^j) + γ·[j mod m = 0]
/// ```
///
/// (`φ + … + φ^j = j` undamped), with `σ² = SSE / (n − k)` from the fit, `k` counting the
/// estimated smoothing parameters and the initial states (level, trend and `m − 1` seasonals).
///
/// [`Forecaster::reset`] keeps the parameters and forgets the state: the model then collects
/// [`HoltWintersParams::min_history`] observations and re-initialises from them.
///
/// If a forecast would overflow `f64`, `predict_inplace` returns [`Error::NonFinite`] with the
/// (0-based) step as index, rather than a non-finite number.
///
/// # Example
///
/// ```
/// use prescient_core::{Forecaster, Timestamp};
/// use prescient_forecast::HoltWinters;
///
/// let y: Vec<f64> = (0..240)
///     .map(|t| 100.0 + 0.5 * t as f64 + 10.0 * (t as f64 * std::f64::consts::TAU / 24.0).sin())
///     .collect();
/// let mut model = HoltWinters::params(Some(24)).fit(&y[..200])?;
/// for (t, &v) in y.iter().enumerate().skip(200) {
///     model.update(Timestamp::from_secs(3600 * t as i64), v)?;
/// }
/// let f = model.predict(24, 0.95)?;
/// let truth = 100.0 + 0.5 * 240.0;
/// assert!((f.point[0] - truth).abs() < 1.0);
/// assert!(f.is_consistent());
/// # Ok::<(), prescient_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HoltWinters {
    params: HoltWintersParams,
    smoothing: Smoothing,
    sse: f64,
    sigma: f64,
    n_fit: usize,
    n_estimated: usize,
    phase: Phase,
    /// Observations accepted (the history, then the updates), for error indices.
    seen: usize,
}

impl HoltWinters {
    /// The settings of a model of seasonal period `period` in steps (`None`: Holt's linear
    /// trend, no seasonality), to refine and then [`fit`](HoltWintersParams::fit).
    ///
    /// # Example
    ///
    /// ```
    /// use prescient_forecast::HoltWinters;
    ///
    /// let y: Vec<f64> = (0..30).map(|t| 3.0 * t as f64).collect();
    /// let model = HoltWinters::params(None).fit(&y)?;
    /// assert!((model.trend().unwrap_or(0.0) - 3.0).abs() < 1e-6);
    /// # Ok::<(), prescient_core::Error>(())
    /// ```
    pub fn params(period: Option<usize>) -> HoltWintersParams {
        HoltWintersParams::new(period)
    }

    /// Fits a model whose settings were checked and whose history is finite and long enough.
    fn fit_checked(params: HoltWintersParams, history: &[f64]) -> Result<HoltWinters> {
        let n = history.len();
        let scale = scale_of(history);
        let y: Vec<f64> = history.iter().map(|v| v / scale).collect();
        let (level, trend, season) = init::heuristic(&y, params.period);
        let init = State {
            level,
            trend,
            season,
            head: 0,
        };

        let free = Free::of(&params);
        let d = free.count();
        let mut scratch = Vec::with_capacity(init.season.len());
        let mut objective = |u: &[f64]| sse(&y, &free.map(u), &init, &mut scratch);

        // Starting values: the best points of a grid over the free parameters, each polished
        // by Nelder–Mead, and the best result polished once more.
        let mut best = (vec![0.5; d], f64::INFINITY);
        if d > 0 {
            let levels = (GRID_POINTS.powf(1.0 / d as f64).floor() as usize).clamp(3, 300);
            let step = 0.99 / (levels - 1) as f64;
            let mut grid: Vec<(Vec<f64>, f64)> = Vec::new();
            let total = levels.pow(d as u32);
            for code in 0..total {
                let mut c = code;
                let u: Vec<f64> = (0..d)
                    .map(|_| {
                        let i = c % levels;
                        c /= levels;
                        0.005 + i as f64 * step
                    })
                    .collect();
                let v = objective(&u);
                grid.push((u, if v.is_nan() { f64::INFINITY } else { v }));
            }
            grid.sort_by(|a, b| a.1.total_cmp(&b.1));
            let max_evals = 300 * (d + 1);
            for (u0, _) in grid.iter().take(STARTS) {
                let run = nelder_mead(&mut objective, u0, max_evals);
                if run.1 < best.1 || best.1.is_infinite() && run.1.is_finite() {
                    best = run;
                }
            }
            let polished = nelder_mead(&mut objective, &best.0, max_evals);
            if polished.1 <= best.1 {
                best = polished;
            }
        }
        let smoothing = free.map(&best.0);

        let mut state = init;
        let mut sse_scaled = 0.0;
        for &v in &y {
            let s = state.season.get(state.head).copied().unwrap_or(0.0);
            let e = v - (state.level + smoothing.phi * state.trend + s);
            sse_scaled += e * e;
            match state.step(v, &smoothing) {
                Some(next) => state.commit(next),
                None => return Err(Error::NonFinite { index: n }),
            }
        }
        state.level *= scale;
        state.trend *= scale;
        state.season.iter_mut().for_each(|s| *s *= scale);

        let m = params.period.unwrap_or(0);
        let n_estimated = d + 2 + m.saturating_sub(1);
        let dof = n.saturating_sub(n_estimated).max(1) as f64;
        let sigma = scale * (sse_scaled / dof).sqrt();
        let finite = state.level.is_finite()
            && state.trend.is_finite()
            && state.season.iter().all(|s| s.is_finite())
            && sigma.is_finite();
        if !finite {
            return Err(Error::NonFinite { index: n });
        }
        Ok(HoltWinters {
            params,
            smoothing,
            sse: sse_scaled * scale * scale,
            sigma,
            n_fit: n,
            n_estimated,
            phase: Phase::Ready(state),
            seen: n,
        })
    }

    /// The settings the model was fitted with.
    pub fn settings(&self) -> &HoltWintersParams {
        &self.params
    }

    /// The seasonal period, in steps (`None` without seasonality).
    pub fn period(&self) -> Option<usize> {
        self.params.period
    }

    /// Whether the trend is damped.
    pub fn is_damped(&self) -> bool {
        self.params.damped
    }

    /// The level smoothing `α`.
    pub fn alpha(&self) -> f64 {
        self.smoothing.alpha
    }

    /// The trend smoothing `β`, in ETS form (`α` times the classic Holt–Winters `β*`).
    pub fn beta(&self) -> f64 {
        self.smoothing.beta
    }

    /// The seasonal smoothing `γ` (`None` without seasonality).
    pub fn gamma(&self) -> Option<f64> {
        self.params.period.map(|_| self.smoothing.gamma)
    }

    /// The trend damping `φ` (1 for an undamped trend).
    pub fn phi(&self) -> f64 {
        self.smoothing.phi
    }

    /// The in-sample sum of squared one-step errors over the fitted history (infinite only if
    /// the series' magnitude exceeds about 1e154).
    pub fn sse(&self) -> f64 {
        self.sse
    }

    /// The standard deviation of the one-step errors, `sqrt(SSE / (n − k))`.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// How many observations the model was fitted on.
    pub fn n_fit(&self) -> usize {
        self.n_fit
    }

    /// How many parameters the fit estimated: the free smoothing parameters and the initial
    /// states (the `k` of `σ² = SSE / (n − k)`).
    pub fn n_estimated(&self) -> usize {
        self.n_estimated
    }

    /// The current level (`None` while re-initialising after a reset).
    pub fn level(&self) -> Option<f64> {
        match &self.phase {
            Phase::Ready(s) => Some(s.level),
            Phase::WarmingUp(_) => None,
        }
    }

    /// The current trend (`None` while re-initialising after a reset).
    pub fn trend(&self) -> Option<f64> {
        match &self.phase {
            Phase::Ready(s) => Some(s.trend),
            Phase::WarmingUp(_) => None,
        }
    }

    /// The current seasonal components, the one for the next step first (empty without
    /// seasonality or while re-initialising after a reset).
    pub fn seasonals(&self) -> Vec<f64> {
        match &self.phase {
            Phase::Ready(s) => {
                let (a, b) = s.season.split_at(s.head);
                b.iter().chain(a).copied().collect()
            }
            Phase::WarmingUp(_) => Vec::new(),
        }
    }

    /// The state at the end of `y` with the fitted parameters, from the heuristic initial state.
    fn initialise(&self, y: &[f64]) -> Option<State> {
        let scale = scale_of(y);
        let scaled: Vec<f64> = y.iter().map(|v| v / scale).collect();
        let (level, trend, season) = init::heuristic(&scaled, self.params.period);
        let mut state = State {
            level,
            trend,
            season,
            head: 0,
        };
        for &v in &scaled {
            let next = state.step(v, &self.smoothing)?;
            state.commit(next);
        }
        state.level *= scale;
        state.trend *= scale;
        state.season.iter_mut().for_each(|s| *s *= scale);
        let finite = state.level.is_finite()
            && state.trend.is_finite()
            && state.season.iter().all(|s| s.is_finite());
        finite.then_some(state)
    }
}

impl Forecaster for HoltWinters {
    #[cfg(feature = "serde")]
    prescient_core::serde_state!();

    fn name(&self) -> &'static str {
        "holt_winters"
    }

    /// Filters `y` with the fitted parameters (`O(1)`; after a reset, re-initialises once
    /// enough observations arrived).
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
        match &mut self.phase {
            Phase::Ready(state) => {
                let next = state
                    .step(y, &self.smoothing)
                    .ok_or(Error::NonFinite { index })?;
                state.commit(next);
            }
            Phase::WarmingUp(buf) => {
                buf.push(y);
                if buf.len() >= self.params.min_history() {
                    let buf = std::mem::take(buf);
                    match self.initialise(&buf) {
                        Some(state) => self.phase = Phase::Ready(state),
                        None => {
                            let mut buf = buf;
                            buf.pop();
                            self.phase = Phase::WarmingUp(buf);
                            return Err(Error::NonFinite { index });
                        }
                    }
                }
            }
        }
        self.seen = self.seen.saturating_add(1);
        Ok(())
    }

    fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Ready(_))
    }

    fn predict_inplace(&self, horizon: usize, level: f64, out: &mut Forecast) -> Result<()> {
        check_forecast_request(horizon, level)?;
        let Phase::Ready(state) = &self.phase else {
            return Err(Error::NotReady(
                "holt-winters is re-initialising after a reset",
            ));
        };
        let z = z_score(level)?;
        let Smoothing {
            alpha,
            beta,
            gamma,
            phi,
        } = self.smoothing;
        let m = state.season.len();
        out.reset(horizon, level);
        // `phi_sum` is φ + … + φ^j for the previous step j; `var` the variance factor.
        let (mut phi_pow, mut phi_sum, mut var) = (1.0f64, 0.0f64, 1.0f64);
        for h in 1..=horizon {
            let j = h - 1;
            if j >= 1 {
                let seasonal = if m > 0 && j % m == 0 { gamma } else { 0.0 };
                let c = alpha + beta * phi_sum + seasonal;
                var += c * c;
            }
            phi_pow *= phi;
            phi_sum += phi_pow;
            let s = if m > 0 {
                state.season[(state.head + j) % m]
            } else {
                0.0
            };
            let point = state.level + phi_sum * state.trend + s;
            let half = z * self.sigma * var.sqrt();
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
        self.phase = Phase::WarmingUp(Vec::with_capacity(self.params.min_history()));
        self.seen = 0;
    }
}

/// A positive scale for `y`: its largest magnitude (1 for an all-zero series), so that the fit
/// works on values in `[−1, 1]` whatever the units.
fn scale_of(y: &[f64]) -> f64 {
    let s = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if s > 0.0 && s.is_finite() { s } else { 1.0 }
}

/// The sum of squared one-step errors of `y` from `init` with `sm` (`scratch` holds the
/// seasonals).
fn sse(y: &[f64], sm: &Smoothing, init: &State, scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend_from_slice(&init.season);
    let m = scratch.len();
    let (mut level, mut trend, mut total) = (init.level, init.trend, 0.0);
    for (i, &v) in y.iter().enumerate() {
        let s = if m > 0 { scratch[i % m] } else { 0.0 };
        let damped = sm.phi * trend;
        let e = v - (level + damped + s);
        total += e * e;
        level += damped + sm.alpha * e;
        trend = damped + sm.beta * e;
        if m > 0 {
            scratch[i % m] = s + sm.gamma * e;
        }
    }
    if total.is_finite() {
        total
    } else {
        f64::INFINITY
    }
}

/// Which smoothing parameters are estimated, and the fixed values of the others.
struct Free {
    alpha: Option<f64>,
    beta: Option<f64>,
    gamma: Option<f64>,
    phi: Option<f64>,
    seasonal: bool,
    damped: bool,
}

impl Free {
    fn of(p: &HoltWintersParams) -> Self {
        Free {
            alpha: p.alpha,
            beta: p.beta,
            gamma: p.gamma,
            phi: p.phi,
            seasonal: p.period.is_some(),
            damped: p.damped,
        }
    }

    /// The number of estimated parameters.
    fn count(&self) -> usize {
        usize::from(self.alpha.is_none())
            + usize::from(self.beta.is_none())
            + usize::from(self.seasonal && self.gamma.is_none())
            + usize::from(self.damped && self.phi.is_none())
    }

    /// The parameters for the point `u` of the unit cube, in the order α, β, γ, φ of the free
    /// ones; every point maps into the bounds with `β ≤ α` and `γ ≤ 1 − α`.
    fn map(&self, u: &[f64]) -> Smoothing {
        let mut u = u.iter().copied();
        let mut next = |lb: f64, ub: f64| lb + u.next().unwrap_or(0.5).clamp(0.0, 1.0) * (ub - lb);
        let alpha = match self.alpha {
            Some(a) => a,
            None => {
                let ub = UPPER.min(1.0 - self.gamma.unwrap_or(0.0));
                let lb = LOWER.min(ub).max(self.beta.unwrap_or(0.0));
                next(lb, ub.max(lb))
            }
        };
        let beta = match self.beta {
            Some(b) => b,
            None => {
                let ub = UPPER.min(alpha);
                next(LOWER.min(ub), ub)
            }
        };
        let gamma = match (self.seasonal, self.gamma) {
            (false, _) => 0.0,
            (true, Some(g)) => g,
            (true, None) => {
                let ub = UPPER.min(1.0 - alpha);
                next(LOWER.min(ub), ub)
            }
        };
        let phi = match (self.damped, self.phi) {
            (false, _) => 1.0,
            (true, Some(p)) => p,
            (true, None) => next(PHI_LOWER, PHI_UPPER),
        };
        Smoothing {
            alpha,
            beta,
            gamma,
            phi,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEASON: [f64; 6] = [4.0, -2.0, 1.0, -3.5, 0.5, 0.0];

    fn trend_season(n: usize, noise: f64) -> Vec<f64> {
        // A deterministic pseudo-noise keeps the test reproducible without a RNG.
        (0..n)
            .map(|t| {
                let wiggle = ((t as f64 * 12.9898).sin() * 43_758.545).rem_euclid(1.0) - 0.5;
                20.0 + 0.3 * t as f64 + SEASON[t % 6] + noise * wiggle
            })
            .collect()
    }

    fn invalid(p: HoltWintersParams) -> &'static str {
        match p.check() {
            Err(Error::InvalidParam { name, .. }) => {
                // `fit` applies the same rules.
                assert!(matches!(
                    p.fit(&trend_season(60, 0.0)),
                    Err(Error::InvalidParam { .. })
                ));
                name
            }
            other => panic!("expected an invalid parameter, got {other:?}"),
        }
    }

    #[test]
    fn period_must_be_at_least_two() {
        assert_eq!(invalid(HoltWinters::params(Some(0))), "period");
        assert_eq!(invalid(HoltWinters::params(Some(1))), "period");
    }

    #[test]
    fn alpha_must_be_in_zero_one() {
        for a in [0.0, -0.1, 1.5, f64::NAN] {
            assert_eq!(invalid(HoltWinters::params(Some(6)).alpha(a)), "alpha");
        }
    }

    #[test]
    fn beta_must_be_in_zero_one() {
        for b in [-0.1, 1.5, f64::NAN] {
            assert_eq!(invalid(HoltWinters::params(Some(6)).beta(b)), "beta");
        }
    }

    #[test]
    fn gamma_must_be_in_zero_one() {
        for g in [-0.1, 1.5, f64::NAN] {
            assert_eq!(invalid(HoltWinters::params(Some(6)).gamma(g)), "gamma");
        }
    }

    #[test]
    fn gamma_needs_a_period() {
        assert_eq!(invalid(HoltWinters::params(None).gamma(0.1)), "gamma");
    }

    #[test]
    fn phi_must_be_in_zero_one() {
        for p in [0.0, 1.01, f64::NAN] {
            assert_eq!(
                invalid(HoltWinters::params(Some(6)).damped(true).phi(p)),
                "phi"
            );
        }
    }

    #[test]
    fn phi_needs_a_damped_trend() {
        assert_eq!(invalid(HoltWinters::params(Some(6)).phi(0.9)), "phi");
    }

    #[test]
    fn beta_cannot_exceed_alpha() {
        assert_eq!(
            invalid(HoltWinters::params(Some(6)).alpha(0.2).beta(0.3)),
            "beta"
        );
    }

    #[test]
    fn gamma_cannot_exceed_one_minus_alpha() {
        assert_eq!(
            invalid(HoltWinters::params(Some(6)).alpha(0.8).gamma(0.3)),
            "gamma"
        );
    }

    #[test]
    fn beta_and_gamma_must_leave_room_for_alpha() {
        assert_eq!(
            invalid(HoltWinters::params(Some(6)).beta(0.6).gamma(0.5)),
            "gamma"
        );
    }

    #[test]
    fn valid_fixed_parameters_are_kept() {
        let model = HoltWinters::params(Some(6))
            .damped(true)
            .alpha(0.3)
            .beta(0.1)
            .gamma(0.2)
            .phi(0.9)
            .fit(&trend_season(60, 1.0))
            .unwrap();
        assert_eq!(
            (model.alpha(), model.beta(), model.gamma(), model.phi()),
            (0.3, 0.1, Some(0.2), 0.9)
        );
        assert_eq!(model.n_estimated(), 2 + 5);
    }

    #[test]
    fn estimated_parameters_respect_the_bounds() {
        for (fixed_beta, fixed_gamma) in [(None, None), (Some(0.5), None), (None, Some(0.7))] {
            let mut p = HoltWinters::params(Some(6)).damped(true);
            if let Some(b) = fixed_beta {
                p = p.beta(b);
            }
            if let Some(g) = fixed_gamma {
                p = p.gamma(g);
            }
            let model = p.fit(&trend_season(90, 3.0)).unwrap();
            let (a, b, g, phi) = (
                model.alpha(),
                model.beta(),
                model.gamma().unwrap(),
                model.phi(),
            );
            assert!((LOWER..=UPPER).contains(&a) || fixed_beta.is_some(), "{a}");
            assert!(b <= a + 1e-15 && g <= 1.0 - a + 1e-15, "{a} {b} {g}");
            assert!((PHI_LOWER..=PHI_UPPER).contains(&phi));
        }
    }

    #[test]
    fn non_finite_history_is_rejected_with_its_index() {
        let mut y = trend_season(60, 0.0);
        y[17] = f64::NAN;
        assert_eq!(
            HoltWinters::params(Some(6)).fit(&y),
            Err(Error::NonFinite { index: 17 })
        );
        y[17] = 1.0;
        y[3] = f64::NEG_INFINITY;
        assert_eq!(
            HoltWinters::params(Some(6)).fit(&y),
            Err(Error::NonFinite { index: 3 })
        );
    }

    #[test]
    fn short_history_is_rejected() {
        let y = trend_season(60, 0.0);
        assert_eq!(
            HoltWinters::params(Some(24)).fit(&y[..47]),
            Err(Error::NotEnoughData {
                needed: 48,
                got: 47
            })
        );
        assert_eq!(
            HoltWinters::params(None).fit(&y[..9]),
            Err(Error::NotEnoughData { needed: 10, got: 9 })
        );
        assert!(HoltWinters::params(Some(24)).fit(&y[..48]).is_ok());
    }

    #[test]
    fn recovers_linear_trend_and_season() {
        let y = trend_season(120, 0.0);
        let model = HoltWinters::params(Some(6)).fit(&y).unwrap();
        // As in statsmodels, the heuristic's level is that of the first moving-average point
        // (m/2 − 1 = 2 steps in), used as the level at the start: the first one-step error is
        // the trend over those 3 steps, 0.9, and the model has adapted after it.
        assert!((model.sse() - 0.81).abs() < 1e-3, "sse {}", model.sse());
        let f = model.predict(18, 0.9).unwrap();
        for (h, p) in f.point.iter().enumerate() {
            let t = 120 + h;
            let truth = 20.0 + 0.3 * t as f64 + SEASON[t % 6];
            assert!((p - truth).abs() < 1e-2, "step {}: {p} vs {truth}", h + 1);
        }
        assert!((model.trend().unwrap() - 0.3).abs() < 1e-3);
        let seasonals = model.seasonals();
        for (j, s) in seasonals.iter().enumerate() {
            assert!((s - SEASON[(120 + j) % 6]).abs() < 1e-2);
        }
    }

    #[test]
    fn noisy_trend_and_season_forecast_within_tolerance() {
        let y = trend_season(240, 2.0);
        let model = HoltWinters::params(Some(6)).fit(&y).unwrap();
        let f = model.predict(12, 0.95).unwrap();
        for (h, p) in f.point.iter().enumerate() {
            let t = 240 + h;
            let truth = 20.0 + 0.3 * t as f64 + SEASON[t % 6];
            assert!((p - truth).abs() < 1.0, "step {}: {p} vs {truth}", h + 1);
        }
        // The noise is uniform on [−1, 1]: σ ≈ 0.58.
        assert!(
            (model.sigma() - 0.58).abs() < 0.15,
            "sigma {}",
            model.sigma()
        );
        assert!(f.is_consistent());
    }

    #[test]
    fn holt_linear_without_season() {
        let y: Vec<f64> = (0..50).map(|t| 5.0 - 2.0 * t as f64).collect();
        let model = HoltWinters::params(None).fit(&y).unwrap();
        assert_eq!(model.gamma(), None);
        let f = model.predict(3, 0.8).unwrap();
        for (h, p) in f.point.iter().enumerate() {
            assert!((p - (5.0 - 2.0 * (50 + h) as f64)).abs() < 1e-6);
        }
    }

    #[test]
    fn variance_matches_the_closed_form_undamped() {
        // Hyndman et al. (2008), Table 6.1, ETS(A,A,A):
        // v_h = σ²[1 + (h−1){α² + αβh + β²h(2h−1)/6} + γk{2α + γ + βm(k+1)}], k = ⌊(h−1)/m⌋.
        let (alpha, beta, gamma, m) = (0.4, 0.1, 0.2, 6usize);
        let model = HoltWinters::params(Some(m))
            .alpha(alpha)
            .beta(beta)
            .gamma(gamma)
            .fit(&trend_season(90, 2.0))
            .unwrap();
        let sigma = model.sigma();
        let z = z_score(0.9).unwrap();
        let f = model.predict(20, 0.9).unwrap();
        for h in 1..=20usize {
            let hf = h as f64;
            let k = ((h - 1) / m) as f64;
            let v = 1.0
                + (hf - 1.0)
                    * (alpha * alpha
                        + alpha * beta * hf
                        + beta * beta * hf * (2.0 * hf - 1.0) / 6.0)
                + gamma * k * (2.0 * alpha + gamma + beta * m as f64 * (k + 1.0));
            let expected = z * sigma * v.sqrt();
            let got = f.upper[h - 1] - f.point[h - 1];
            assert!(
                (got - expected).abs() < 1e-9 * expected,
                "h {h}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn variance_matches_the_sum_damped() {
        let (alpha, beta, gamma, phi, m) = (0.5, 0.2, 0.3, 0.9, 4usize);
        let model = HoltWinters::params(Some(m))
            .damped(true)
            .alpha(alpha)
            .beta(beta)
            .gamma(gamma)
            .phi(phi)
            .fit(&trend_season(90, 2.0))
            .unwrap();
        let z = z_score(0.8).unwrap();
        let f = model.predict(10, 0.8).unwrap();
        for h in 1..=10usize {
            let mut v = 1.0;
            for j in 1..h {
                let phi_j: f64 = (1..=j).map(|i| phi.powi(i as i32)).sum();
                let c = alpha + beta * phi_j + if j % m == 0 { gamma } else { 0.0 };
                v += c * c;
            }
            let expected = z * model.sigma() * v.sqrt();
            let got = f.upper[h - 1] - f.point[h - 1];
            assert!((got - expected).abs() < 1e-9 * expected, "h {h}");
        }
        // The damped trend flattens: the trend's contribution converges to φ/(1−φ)·b.
        let far = model.predict(2000, 0.8).unwrap();
        let b = model.trend().unwrap();
        let s = model.seasonals();
        let limit = model.level().unwrap() + phi / (1.0 - phi) * b + s[(2000 - 1) % m];
        assert!((far.point[1999] - limit).abs() < 1e-6 * limit.abs().max(1.0));
    }

    #[test]
    fn update_matches_fitting_on_the_longer_history() {
        let y = trend_season(100, 2.0);
        let fixed = HoltWinters::params(Some(6))
            .alpha(0.3)
            .beta(0.05)
            .gamma(0.2);
        let full = fixed.fit(&y).unwrap();
        let mut streamed = fixed.fit(&y[..70]).unwrap();
        for (t, &v) in y.iter().enumerate().skip(70) {
            streamed.update(Timestamp::from_secs(t as i64), v).unwrap();
        }
        let (a, b) = (
            full.predict(8, 0.9).unwrap(),
            streamed.predict(8, 0.9).unwrap(),
        );
        for (p, q) in a.point.iter().zip(&b.point) {
            assert!((p - q).abs() < 1e-9 * p.abs());
        }
    }

    #[test]
    fn nan_update_errors_and_leaves_state_unchanged() {
        let mut model = HoltWinters::params(Some(6))
            .fit(&trend_season(60, 1.0))
            .unwrap();
        let before = model.clone();
        assert_eq!(
            model.update(Timestamp::EPOCH, f64::NAN),
            Err(Error::NonFinite { index: 60 })
        );
        assert!(model.update(Timestamp::EPOCH, f64::INFINITY).is_err());
        assert_eq!(model, before);
    }

    #[test]
    fn overflowing_update_errors_and_leaves_state_unchanged() {
        let mut model = HoltWinters::params(None)
            .alpha(1.0)
            .beta(1.0)
            .fit(&[1e308; 12])
            .unwrap();
        let before = model.clone();
        assert!(matches!(
            model.update(Timestamp::EPOCH, -1.7e308),
            Err(Error::NonFinite { .. })
        ));
        assert_eq!(model, before);
    }

    #[test]
    fn reset_keeps_parameters_and_reinitialises() {
        let y = trend_season(120, 1.0);
        let mut model = HoltWinters::params(Some(6)).fit(&y[..60]).unwrap();
        let (alpha, sigma) = (model.alpha(), model.sigma());
        model.reset();
        assert!(!model.is_ready());
        assert!(matches!(model.predict(1, 0.9), Err(Error::NotReady(_))));
        for (t, &v) in y
            .iter()
            .enumerate()
            .skip(60)
            .take(model.settings().min_history())
        {
            model.update(Timestamp::from_secs(t as i64), v).unwrap();
        }
        assert!(model.is_ready());
        assert_eq!((model.alpha(), model.sigma()), (alpha, sigma));
        let f = model.predict(6, 0.9).unwrap();
        let t = 60 + model.settings().min_history();
        let truth = 20.0 + 0.3 * t as f64 + SEASON[t % 6];
        assert!(
            (f.point[0] - truth).abs() < 3.0 * sigma,
            "{} vs {truth}",
            f.point[0]
        );
    }

    #[test]
    fn bad_requests_are_rejected() {
        let model = HoltWinters::params(Some(6))
            .fit(&trend_season(60, 1.0))
            .unwrap();
        assert!(model.predict(0, 0.9).is_err());
        assert!(model.predict(3, 1.0).is_err());
        assert!(model.predict(3, f64::NAN).is_err());
    }

    #[test]
    fn deterministic() {
        let y = trend_season(200, 3.0);
        let p = HoltWinters::params(Some(6)).damped(true);
        let (a, b) = (p.fit(&y).unwrap(), p.fit(&y).unwrap());
        assert_eq!(a, b);
        assert_eq!(a.predict(30, 0.8).unwrap(), b.predict(30, 0.8).unwrap());
    }

    #[test]
    fn scale_does_not_change_the_parameters() {
        let y = trend_season(120, 2.0);
        let big: Vec<f64> = y.iter().map(|v| v * 1e250).collect();
        let (a, b) = (
            HoltWinters::params(Some(6)).fit(&y).unwrap(),
            HoltWinters::params(Some(6)).fit(&big).unwrap(),
        );
        assert!((a.alpha() - b.alpha()).abs() < 1e-9);
        assert!((a.sigma() * 1e250 - b.sigma()).abs() < 1e-6 * b.sigma());
        assert!(b.predict(10, 0.9).unwrap().is_consistent());
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = f64> {
            prop_oneof![
                -1e3..1e3f64,
                -1e300..1e300f64,
                -1e-300..1e-300f64,
                Just(0.0),
                Just(1e300),
                Just(-1e300),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            #[test]
            fn prop_never_yields_non_finite(
                period in prop::option::of(2usize..6),
                damped in any::<bool>(),
                ys in proptest::collection::vec(value(), 0..40),
                more in proptest::collection::vec(value(), 0..10),
                horizon in 1usize..30,
                level in 0.01..0.999f64,
            ) {
                if let Ok(mut model) = HoltWinters::params(period).damped(damped).fit(&ys) {
                    if let Ok(f) = model.predict(horizon, level) {
                        prop_assert!(f.is_consistent());
                        prop_assert_eq!(f.len(), horizon);
                    }
                    for (t, &v) in more.iter().enumerate() {
                        let _ = model.update(Timestamp::from_secs(t as i64), v);
                    }
                    if let Ok(f) = model.predict(horizon, level) {
                        prop_assert!(f.is_consistent());
                    }
                }
            }

            #[test]
            fn prop_smooth_series_always_fit(
                period in 2usize..8,
                base in -1e6..1e6f64,
                amp in 0.0..1e3f64,
                slope in -10.0..10.0f64,
                n_periods in 2usize..6,
            ) {
                let n = (period * n_periods).max(HoltWinters::params(Some(period)).min_history());
                let ys: Vec<f64> = (0..n)
                    .map(|t| base + slope * t as f64 + amp * ((t % period) as f64).sqrt())
                    .collect();
                let model = HoltWinters::params(Some(period)).fit(&ys).unwrap();
                let f = model.predict(2 * period, 0.9).unwrap();
                prop_assert!(f.is_consistent());
            }
        }
    }
}
