//! Estimating the coefficients of one ARIMA order: CSS start values, then the exact Gaussian
//! likelihood, both minimised by argmin's L-BFGS over the unconstrained parametrisation.

use std::cell::{Cell, RefCell};

use argmin::core::{CostFunction, Executor, Gradient};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use ndarray::Array1;

use super::ArimaOrder;
use super::css::Css;
use super::kalman::{ArmaFilter, ArmaState};
use super::poly::{expand_ar, expand_ma, partrans, roots_outside};

/// How the coefficients are estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) enum Method {
    /// Conditional sum of squares only (fast, approximate).
    Css,
    /// CSS for the start values, then the exact likelihood (R's default, `"CSS-ML"`).
    CssMl,
    /// The exact likelihood from zero start values.
    Ml,
}

/// The objective's value where the model cannot be evaluated (the optimiser then steps back).
const PENALTY: f64 = 1e10;
/// Central-difference step of the numerical gradient, in the unconstrained parameters.
const GRAD_STEP: f64 = 1e-5;
/// L-BFGS stops when the gradient norm or the change of the objective falls below these. The
/// objective is `½ ln σ²` (plus the log-determinant term), so a change of 1e-8 moves the
/// log-likelihood by about `n·1e-8`, far below what separates two models.
const TOL_GRAD: f64 = 1e-5;
const TOL_COST: f64 = 1e-8;
/// Iterations of L-BFGS per stage.
const MAX_ITERS: u64 = 100;
/// Objective evaluations one minimisation may spend per iteration and parameter: argmin's line
/// search has no iteration limit of its own, and on a pathological likelihood surface (a fuzzed
/// history of four values near 1e250) it never stopped. A normal fit spends a few evaluations
/// per iteration and parameter (the gradient's two, a line search's few); the budget only stops
/// a search that has lost its way, keeping the best point seen.
const EVALS_PER_ITER_AND_PARAM: usize = 40;
/// Roots closer to the unit circle than this make a model unacceptable to the search (R's
/// `auto.arima` rule: such a model forecasts badly and its likelihood is unreliable).
pub(crate) const MIN_ROOT: f64 = 1.01;

/// A differenced series, standardised for the optimiser: `x = (w − center) / scale`.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) x: Vec<f64>,
    pub(crate) center: f64,
    pub(crate) scale: f64,
}

impl Prepared {
    /// Standardises `w`: centred on its mean when the model has a constant, divided by its
    /// standard deviation; `None` for fewer than 2 values or a constant `w`.
    pub(crate) fn new(w: &[f64], constant: bool) -> Option<Prepared> {
        let n = w.len();
        if n < 2 {
            return None;
        }
        // Divide by the largest magnitude first so that neither the sum nor the squares
        // overflow, whatever the units.
        let big = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if !(big > 0.0 && big.is_finite()) {
            return None;
        }
        let mean = w.iter().map(|v| v / big).sum::<f64>() / n as f64;
        let var = w
            .iter()
            .map(|v| (v / big - mean) * (v / big - mean))
            .sum::<f64>()
            / n as f64;
        let mean = mean * big;
        let scale = var.sqrt() * big;
        if !(scale > 0.0 && scale.is_finite()) {
            return None;
        }
        let center = if constant { mean } else { 0.0 };
        Some(Prepared {
            x: w.iter().map(|v| (v - center) / scale).collect(),
            center,
            scale,
        })
    }
}

/// Turns unconstrained parameters into expanded AR and MA coefficients.
#[derive(Debug, Clone)]
pub(crate) struct Expander {
    order: ArimaOrder,
    phi: Vec<f64>,
    theta: Vec<f64>,
    sphi: Vec<f64>,
    stheta: Vec<f64>,
    pub(crate) ar: Vec<f64>,
    pub(crate) ma: Vec<f64>,
}

impl Expander {
    pub(crate) fn new(order: ArimaOrder) -> Self {
        Expander {
            order,
            phi: vec![0.0; order.p],
            theta: vec![0.0; order.q],
            sphi: vec![0.0; order.sp],
            stheta: vec![0.0; order.sq],
            ar: Vec::new(),
            ma: Vec::new(),
        }
    }

    /// Loads `raw` (`[ar p][ma q][sar P][sma Q]`): AR parts through [`partrans`], MA parts
    /// through its negative, so every point is stationary and invertible.
    pub(crate) fn load(&mut self, raw: &[f64]) {
        let o = self.order;
        let (ar, rest) = raw.split_at(o.p);
        let (ma, rest) = rest.split_at(o.q);
        let (sar, sma) = rest.split_at(o.sp);
        partrans(ar, &mut self.phi);
        partrans(ma, &mut self.theta);
        self.theta.iter_mut().for_each(|t| *t = -*t);
        partrans(sar, &mut self.sphi);
        partrans(sma, &mut self.stheta);
        self.stheta.iter_mut().for_each(|t| *t = -*t);
        let m = o.season_len();
        expand_ar(&self.phi, &self.sphi, m, &mut self.ar);
        expand_ma(&self.theta, &self.stheta, m, &mut self.ma);
    }

    /// The natural coefficients of the last load: `φ`, `θ`, `Φ`, `Θ` in that order.
    pub(crate) fn coefficients(&self) -> Vec<f64> {
        self.phi
            .iter()
            .chain(&self.theta)
            .chain(&self.sphi)
            .chain(&self.stheta)
            .copied()
            .collect()
    }

    /// Whether every AR and MA root of the last load lies outside the circle of radius
    /// [`MIN_ROOT`] (seasonal factors checked on `B^m`).
    pub(crate) fn roots_ok(&self) -> bool {
        let m = self.order.season_len() as i32;
        let neg = |v: &[f64]| -> Vec<f64> { v.iter().map(|t| -t).collect() };
        roots_outside(&self.phi, MIN_ROOT)
            && roots_outside(&neg(&self.theta), MIN_ROOT)
            && roots_outside(&self.sphi, MIN_ROOT.powi(m.max(1)))
            && roots_outside(&neg(&self.stheta), MIN_ROOT.powi(m.max(1)))
    }
}

/// The result of estimating one order on a prepared series.
#[derive(Debug, Clone)]
pub(crate) struct Estimate {
    pub(crate) order: ArimaOrder,
    pub(crate) constant: bool,
    /// Unconstrained parameters (for warm starts).
    pub(crate) raw: Vec<f64>,
    /// `φ`, `θ`, `Φ`, `Θ`.
    pub(crate) coef: Vec<f64>,
    /// The mean of the differenced series, in the data's units (0 without a constant).
    pub(crate) mu: f64,
    /// The innovation standard deviation in the data's units, `sqrt(ssq / (n − k + 1))` as
    /// `auto.arima` has it.
    pub(crate) sigma: f64,
    /// `ln(ssq / n)` in the data's units (R's `sigma2` of `arima`, used by the CSS offset).
    pub(crate) log_sigma2_ml: f64,
    /// The Gaussian log-likelihood in the data's units (NaN for CSS).
    pub(crate) loglik: f64,
    pub(crate) aic: f64,
    pub(crate) aicc: f64,
    pub(crate) bic: f64,
    /// The search criterion: AICc, or its CSS approximation, or +∞ when the model is
    /// unacceptable (a root within [`MIN_ROOT`] of the unit circle, or a failed fit).
    pub(crate) ic: f64,
    /// Observations of the differenced series.
    pub(crate) nobs: usize,
}

/// Estimates `order` (with a constant or not) on the prepared differenced series.
///
/// `offset` is R's correction that puts the CSS criterion on the likelihood's scale
/// (`−2 loglik − n ln σ²` of the ML fit of the order without ARMA terms); it is used only by
/// [`Method::Css`]. `start`, when given, replaces the zero start values.
pub(crate) fn estimate(
    prep: &Prepared,
    order: ArimaOrder,
    constant: bool,
    method: Method,
    offset: f64,
    start: Option<&[f64]>,
) -> Option<Estimate> {
    let k = order.p + order.q + order.sp + order.sq;
    let x = &prep.x;
    let n = x.len();
    let expander = RefCell::new(Expander::new(order));
    let css = RefCell::new(Css::default());
    let m = order.season_len();
    let (nar, nma) = (order.p + m * order.sp, order.q + m * order.sq);
    if n <= nar + 1 {
        return None;
    }
    let filter = RefCell::new(ArmaFilter::new(nar, nma));

    let css_objective = |raw: &[f64]| -> f64 {
        let mut e = expander.borrow_mut();
        e.load(raw);
        css.borrow_mut()
            .value(x, &e.ar, &e.ma, constant)
            .map_or(PENALTY, |v| v.objective())
    };
    let ml_objective = |raw: &[f64]| -> f64 {
        let mut e = expander.borrow_mut();
        e.load(raw);
        let mut f = filter.borrow_mut();
        if !f.set(&e.ar, &e.ma) {
            return PENALTY;
        }
        f.run(x, constant).map_or(PENALTY, |l| l.objective())
    };

    let zeros = vec![0.0; k];
    let x0 = start.filter(|s| s.len() == k).unwrap_or(&zeros);
    let raw = match method {
        Method::Css => minimise(&css_objective, x0).0,
        Method::CssMl => {
            let (c, _) = minimise(&css_objective, x0);
            // A CSS optimum on the edge of the region is a poor start; come in a little.
            let c: Vec<f64> = c.iter().map(|v| v.clamp(-4.0, 4.0)).collect();
            minimise(&ml_objective, &c).0
        }
        Method::Ml => minimise(&ml_objective, x0).0,
    };

    let mut e = expander.into_inner();
    e.load(&raw);
    let coef = e.coefficients();
    let roots_ok = e.roots_ok();
    let npar = k + usize::from(constant) + 1;
    let nf = n as f64;
    // Variances stay in logarithms (and σ as a root) so that data near 1e±200 neither
    // overflow nor underflow: the data's variance is `scale²` times the standardised one.
    let log_s2 = 2.0 * prep.scale.ln();
    let (mu_scaled, ssq, loglik, aic) = match method {
        Method::Css => {
            let v = css.into_inner().value(x, &e.ar, &e.ma, constant)?;
            if v.ssq.is_nan() || v.ssq <= 0.0 {
                return None;
            }
            let log_sigma2 = (v.ssq / v.n as f64).ln() + log_s2;
            let aic = offset + nf * log_sigma2 + 2.0 * npar as f64;
            (v.mu, v.ssq, f64::NAN, aic)
        }
        Method::CssMl | Method::Ml => {
            let mut f = filter.into_inner();
            if !f.set(&e.ar, &e.ma) {
                return None;
            }
            let lik = f.run(x, constant)?;
            if lik.ssq.is_nan() || lik.ssq <= 0.0 {
                return None;
            }
            let loglik = lik.loglik() - nf * prep.scale.ln();
            (lik.mu, lik.ssq, loglik, -2.0 * loglik + 2.0 * npar as f64)
        }
    };
    let npf = npar as f64;
    let aicc = if nf - npf - 1.0 > 0.0 {
        aic + 2.0 * npf * (npf + 1.0) / (nf - npf - 1.0)
    } else {
        f64::INFINITY
    };
    let bic = aic + npf * (nf.ln() - 2.0);
    let dof = (nf - npf + 1.0).max(1.0);
    let sigma = (ssq / dof).sqrt() * prep.scale;
    let log_sigma2_ml = (ssq / nf).ln() + log_s2;
    let mu = if constant {
        prep.center + prep.scale * mu_scaled
    } else {
        0.0
    };
    let finite = aicc.is_finite() && sigma.is_finite() && mu.is_finite();
    Some(Estimate {
        order,
        constant,
        raw,
        coef,
        mu,
        sigma,
        log_sigma2_ml,
        loglik,
        aic,
        aicc,
        bic,
        ic: if finite && roots_ok {
            aicc
        } else {
            f64::INFINITY
        },
        nobs: n,
    })
}

/// The filtered state after the last value of the differenced series `w` under the estimated
/// model (in the data's units, the mean removed), or `None` if the filter fails.
pub(crate) fn final_state(w: &[f64], est: &Estimate) -> Option<ArmaState> {
    let mut e = Expander::new(est.order);
    e.load(&est.raw);
    let mut f = ArmaFilter::new(e.ar.len(), e.ma.len());
    if !f.set(&e.ar, &e.ma) {
        return None;
    }
    // Filter in units of the largest deviation, so that squares cannot overflow.
    let s = magnitude(w.iter().map(|v| v - est.mu));
    let x: Vec<f64> = w.iter().map(|v| (v - est.mu) / s).collect();
    f.run(&x, false)?;
    let mut state = f.state();
    state.scale(s);
    state.is_finite().then_some(state)
}

/// The largest magnitude of `values`, or 1 when it is zero or not finite: a safe divisor.
pub(crate) fn magnitude(values: impl Iterator<Item = f64>) -> f64 {
    let m = values.fold(0.0f64, |m, v| m.max(v.abs()));
    if m > 0.0 && m.is_finite() { m } else { 1.0 }
}

/// An objective for argmin: the value, a central-difference gradient, and the best point seen
/// (kept whatever the line search does).
struct Objective<'a> {
    f: &'a dyn Fn(&[f64]) -> f64,
    best: &'a RefCell<(Vec<f64>, f64)>,
    scratch: RefCell<Vec<f64>>,
    evals: Cell<usize>,
    budget: usize,
}

impl Objective<'_> {
    /// An error that ends the solver's run once the evaluation budget is spent.
    fn check_budget(&self) -> Result<(), argmin::core::Error> {
        if self.evals.get() >= self.budget {
            return Err(argmin::core::Error::msg("evaluation budget spent"));
        }
        Ok(())
    }

    fn eval(&self, x: &[f64]) -> f64 {
        self.evals.set(self.evals.get() + 1);
        let v = (self.f)(x);
        let v = if v.is_finite() { v } else { PENALTY };
        let mut best = self.best.borrow_mut();
        if v < best.1 {
            best.0.clear();
            best.0.extend_from_slice(x);
            best.1 = v;
        }
        v
    }
}

impl CostFunction for Objective<'_> {
    type Param = Array1<f64>;
    type Output = f64;

    fn cost(&self, p: &Self::Param) -> Result<f64, argmin::core::Error> {
        self.check_budget()?;
        let mut x = self.scratch.borrow_mut();
        x.clear();
        x.extend(p.iter().copied());
        Ok(self.eval(&x))
    }
}

impl Gradient for Objective<'_> {
    type Param = Array1<f64>;
    type Gradient = Array1<f64>;

    fn gradient(&self, p: &Self::Param) -> Result<Self::Gradient, argmin::core::Error> {
        self.check_budget()?;
        let mut x = self.scratch.borrow_mut();
        x.clear();
        x.extend(p.iter().copied());
        let mut g = Array1::zeros(x.len());
        for i in 0..x.len() {
            let xi = x[i];
            x[i] = xi + GRAD_STEP;
            let up = self.eval(&x);
            x[i] = xi - GRAD_STEP;
            let down = self.eval(&x);
            x[i] = xi;
            g[i] = (up - down) / (2.0 * GRAD_STEP);
        }
        Ok(g)
    }
}

/// Minimises `f` from `x0` by L-BFGS (More–Thuente line search) with a numerical gradient;
/// returns the best point seen and its value.
pub(crate) fn minimise(f: &dyn Fn(&[f64]) -> f64, x0: &[f64]) -> (Vec<f64>, f64) {
    let best = RefCell::new((x0.to_vec(), f64::INFINITY));
    let objective = Objective {
        f,
        best: &best,
        scratch: RefCell::new(Vec::with_capacity(x0.len())),
        evals: Cell::new(0),
        budget: MAX_ITERS as usize * EVALS_PER_ITER_AND_PARAM * (x0.len() + 1),
    };
    let v0 = objective.eval(x0);
    if x0.is_empty() || v0 >= PENALTY {
        return best.into_inner();
    }
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7)
        .with_tolerance_grad(TOL_GRAD)
        .and_then(|s| s.with_tolerance_cost(TOL_COST));
    if let Ok(solver) = solver {
        // Every point the solver evaluates passes through `Objective::eval`, which keeps the
        // best; the solver's own result (or error) adds nothing to it.
        let _ = Executor::new(objective, solver)
            .configure(|s| s.param(Array1::from(x0.to_vec())).max_iters(MAX_ITERS))
            .timer(false)
            .run();
    }
    best.into_inner()
}
