//! The MAP fit of Prophet's parameters: argmin's L-BFGS with a Moré–Thuente line search on the
//! log posterior of `prophet.stan`, stopped by Stan's convergence tests.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use argmin::core::{
    CostFunction, Error as ArgminError, Executor, Gradient, IterState, KV, LineSearch, Problem,
    Solver, State, TerminationReason, TerminationStatus,
};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use augurs_prophet::optimizer::{
    Data, Error as OptError, InitialParams, OptimizeOpts, OptimizedParams, Optimizer,
};
use augurs_prophet::{PositiveFloat, TrendIndicator};
use ndarray::Array1;

use super::posterior::{Layout, Model, Posterior, Trend};

type P = Array1<f64>;
type St = IterState<P, P, (), (), (), f64>;

/// Stan's defaults for `optimize` (L-BFGS), and Prophet's iteration limit.
const INIT_ALPHA: f64 = 1e-3;
const TOL_OBJ: f64 = 1e-12;
const TOL_REL_OBJ: f64 = 1e4;
const TOL_GRAD: f64 = 1e-8;
const TOL_REL_GRAD: f64 = 1e7;
const TOL_PARAM: f64 = 1e-8;
const HISTORY: usize = 5;
const MAX_ITERS: u64 = 10_000;

/// Prophet's maximum a posteriori fit in pure Rust: an [`Optimizer`] for
/// [`augurs_prophet::Prophet`].
///
/// It maximises the log posterior of Prophet's Stan model (`prophet.stan`: `k, m ~ N(0, 5)`,
/// `delta ~ Laplace(0, tau)`, `sigma_obs ~ N⁺(0, 0.5)`, `beta ~ N(0, sigmas)`, and
/// `y ~ N(trend ⊙ (1 + X_m beta) + X_a beta, sigma_obs)`, with linear, logistic or flat trend) in
/// Stan's unconstrained space (`log sigma_obs`), as `cmdstan optimize` does for Python Prophet:
/// L-BFGS (argmin's, history 5) with a Moré–Thuente line search, first step `1e-3` along the
/// gradient, started from the [`InitialParams`] given, and stopped by Stan's tests on the
/// objective's absolute and relative change, the gradient, the relative gradient and the
/// parameters' change (each taken from [`OptimizeOpts`] when set, else Stan's default). The
/// Jacobian of the `log` transform is added only when `opts.jacobian` is `Some(true)` (cmdstan's
/// `jacobian=1`; Python Prophet leaves it out).
///
/// Deterministic: the same data give bit-identical parameters, whatever the order of the
/// feature columns (augurs-prophet orders them by hashing), because the columns are put into a
/// canonical order first. `algorithm`, `seed` and `chain` of the options are ignored.
///
/// A failed line search (the objective was not finite along the search direction) restarts
/// L-BFGS from the best point with a fresh memory, as Stan resets its Hessian approximation;
/// a run that cannot improve any more stops there. The result is always the best point seen.
///
/// [`Optimizer::optimize`] returns only the parameters; the details of the last fit (log
/// posterior, iterations) are kept and given by [`MapOptimizer::last_fit`], shared by the
/// optimiser's clones (a [`augurs_prophet::Prophet`] owns its optimiser: keep a clone).
#[derive(Debug, Clone)]
pub struct MapOptimizer {
    history: Option<usize>,
    max_iters: Option<u64>,
    gram: bool,
    last: Arc<Mutex<Option<MapFit>>>,
}

impl Default for MapOptimizer {
    fn default() -> Self {
        MapOptimizer {
            history: None,
            max_iters: None,
            gram: true,
            last: Arc::new(Mutex::new(None)),
        }
    }
}

/// What a MAP fit found, with the numbers of the search.
#[derive(Debug, Clone)]
pub struct MapFit {
    /// The parameters, as [`Optimizer::optimize`] returns them: in Prophet's scaled units (`y`
    /// divided by its scale, time running from 0 to 1 over the fitted history).
    pub params: OptimizedParams,
    /// The log posterior at the optimum, constants dropped: what cmdstan reports as `lp__`.
    pub log_posterior: f64,
    /// L-BFGS iterations, over all restarts.
    pub iterations: u64,
    /// Evaluations of the objective and its gradient.
    pub evaluations: usize,
    /// Fresh L-BFGS runs after a failed line search.
    pub restarts: usize,
    /// Whether a convergence test stopped the search (rather than the iteration limit or a line
    /// search that could not improve).
    pub converged: bool,
    /// What stopped the search: Stan's convergence test that passed (`"absolute objective"`,
    /// `"relative objective"`, `"gradient"`, `"relative gradient"`, `"parameters"`),
    /// `"iterations"`, or `"line search"`.
    pub stopped_by: &'static str,
}

impl MapOptimizer {
    /// The optimiser with Stan's settings (L-BFGS history 5; at most 10,000 iterations, as
    /// Python Prophet asks of Stan).
    pub fn new() -> Self {
        MapOptimizer::default()
    }

    /// The L-BFGS history size (Stan's `history_size`, default 5); at least 1. Overrides
    /// `history_size` of the [`OptimizeOpts`].
    pub fn history(mut self, m: usize) -> Self {
        self.history = Some(m.max(1));
        self
    }

    /// The iteration limit (default 10,000). Overrides `iter` of the [`OptimizeOpts`].
    pub fn max_iters(mut self, n: u64) -> Self {
        self.max_iters = Some(n.max(1));
        self
    }

    /// The details of the last fit made by this optimiser or one of its clones.
    pub fn last_fit(&self) -> Option<MapFit> {
        self.last.lock().ok().and_then(|g| g.clone())
    }

    /// The same settings, with a report slot of its own.
    pub(crate) fn detached(&self) -> Self {
        MapOptimizer {
            last: Arc::new(Mutex::new(None)),
            ..self.clone()
        }
    }

    /// Evaluates with the general `O(T·K)` path even where the precomputed quadratic form
    /// applies (for tests and measurements).
    #[cfg(test)]
    pub(crate) fn without_gram(mut self) -> Self {
        self.gram = false;
        self
    }

    /// Fits Prophet's parameters to `data` from `init`, and reports the search.
    ///
    /// # Errors
    ///
    /// When the data are inconsistent (lengths, `K = 0`), when `init` does not match them, or
    /// when the objective is not finite at `init`.
    pub fn fit(
        &self,
        init: &InitialParams,
        data: &Data,
        opts: &OptimizeOpts,
    ) -> Result<MapFit, OptError> {
        let (model, prepared) = Prepared::new(data, init, opts.jacobian.unwrap_or(false))?;
        let post = Posterior::new(model, self.gram);
        let lay = post.layout();
        let tol = Tolerances {
            obj: opts.tol_obj.unwrap_or(TOL_OBJ),
            rel_obj: opts.tol_rel_obj.unwrap_or(TOL_REL_OBJ) * f64::EPSILON,
            grad: opts.tol_grad.unwrap_or(TOL_GRAD),
            rel_grad: opts.tol_rel_grad.unwrap_or(TOL_REL_GRAD) * f64::EPSILON,
            param: opts.tol_param.unwrap_or(TOL_PARAM),
        };
        let history = self
            .history
            .or(opts.history_size.map(|h| h as usize))
            .unwrap_or(HISTORY)
            .max(1);
        let max_iters = self
            .max_iters
            .or(opts.iter.map(u64::from))
            .unwrap_or(MAX_ITERS)
            .max(1);
        let init_alpha = opts.init_alpha.filter(|a| *a > 0.0).unwrap_or(INIT_ALPHA);

        let problem = Objective {
            post: &post,
            buf: RefCell::new(vec![0.0; lay.len()]),
        };
        let mut x = Array1::from(prepared.x0.clone());
        let mut best_cost = problem.eval_cost(x.as_slice().unwrap_or(&[]));
        if !best_cost.is_finite() {
            return Err(OptError::static_str(
                "the log posterior is not finite at the initial parameters",
            ));
        }
        let (mut iterations, mut restarts, mut converged) = (0u64, 0usize, false);
        let mut stopped_by;
        loop {
            let linesearch = StanLineSearch::new(init_alpha);
            let lbfgs = LBFGS::new(linesearch, history)
                .with_tolerance_grad(tol.grad)
                .and_then(|l| l.with_tolerance_cost(0.0))
                .map_err(argmin_error)?;
            let solver = StanLbfgs {
                inner: lbfgs,
                tol,
                prev: None,
                memory: VecDeque::with_capacity(history),
                history,
                passed: "",
            };
            let left = max_iters.saturating_sub(iterations).max(1);
            let start = x.clone();
            // A fresh problem for each run: argmin's L-BFGS drops its problem when a line search
            // fails.
            let obj = Objective {
                post: &post,
                buf: RefCell::new(vec![0.0; lay.len()]),
            };
            let res = Executor::new(obj, solver)
                .configure(|s| s.param(start).max_iters(left))
                .run()
                .map_err(argmin_error)?;
            stopped_by = res.solver.passed;
            let state = res.state;
            iterations += state.get_iter();
            let run_best = state.get_best_cost();
            let start_cost = best_cost;
            if run_best < best_cost {
                if let Some(p) = state.get_best_param() {
                    x = p.clone();
                }
                best_cost = run_best;
            }
            match state.get_termination_reason() {
                Some(TerminationReason::SolverConverged) => {
                    converged = true;
                    break;
                }
                Some(TerminationReason::SolverExit(_)) => {
                    // A failed line search: Stan resets its Hessian approximation and goes on,
                    // and gives up when the search fails again right after a reset. Here: a
                    // fresh L-BFGS from the best point, unless this run could not improve on
                    // its start.
                    stopped_by = "line search";
                    if best_cost >= start_cost || iterations >= max_iters {
                        break;
                    }
                    restarts += 1;
                }
                _ => {
                    stopped_by = "iterations";
                    break;
                }
            }
        }
        let xs = x
            .as_slice()
            .map(<[f64]>::to_vec)
            .unwrap_or_else(|| x.to_vec());
        let params = prepared.params(&post, &xs)?;
        Ok(MapFit {
            params,
            log_posterior: -post.value(&xs),
            iterations,
            evaluations: post.evaluations(),
            restarts,
            converged,
            stopped_by,
        })
    }
}

impl Optimizer for MapOptimizer {
    fn optimize(
        &self,
        init: &InitialParams,
        data: &Data,
        opts: &OptimizeOpts,
    ) -> Result<OptimizedParams, OptError> {
        let fit = self.fit(init, data, opts)?;
        let params = fit.params.clone();
        if let Ok(mut slot) = self.last.lock() {
            *slot = Some(fit);
        }
        Ok(params)
    }
}

fn argmin_error(e: ArgminError) -> OptError {
    OptError::string(e.to_string())
}

/// Stan's convergence tolerances, the relative ones already multiplied by machine epsilon.
#[derive(Debug, Clone, Copy)]
struct Tolerances {
    obj: f64,
    rel_obj: f64,
    grad: f64,
    rel_grad: f64,
    param: f64,
}

// ---------------------------------------------------------------- data

/// How the optimiser's form of the data maps back to the caller's, and where to start.
struct Prepared {
    /// `rows[i]`: the original row of sorted row `i`.
    rows: Vec<usize>,
    /// `cols[c]`: the original column of canonical column `c`.
    cols: Vec<usize>,
    x0: Vec<f64>,
}

impl Prepared {
    /// The data in the optimiser's form, and the mapping back.
    fn new(
        data: &Data,
        init: &InitialParams,
        jacobian: bool,
    ) -> Result<(Model, Prepared), OptError> {
        let n = data.y.len();
        let s = data.t_change.len();
        let k = usize::try_from(data.K).unwrap_or(0);
        let bad = |what: &str| OptError::string(format!("inconsistent Prophet data: {what}"));
        if n == 0 || data.t.len() != n || usize::try_from(data.T).ok() != Some(n) {
            return Err(bad("T, y and t"));
        }
        if usize::try_from(data.S).ok() != Some(s) {
            return Err(bad("S and t_change"));
        }
        if k == 0
            || data.X.len() != n * k
            || data.sigmas.len() != k
            || data.s_a.len() != k
            || data.s_m.len() != k
        {
            return Err(bad("K, X, sigmas, s_a and s_m"));
        }
        let trend = match data.trend_indicator {
            TrendIndicator::Linear => Trend::Linear,
            TrendIndicator::Logistic => Trend::Logistic,
            TrendIndicator::Flat => Trend::Flat,
        };
        if trend == Trend::Logistic
            && (data.cap.len() != n || data.cap.iter().any(|c| !c.is_finite()))
        {
            return Err(bad("cap"));
        }
        if init.delta.len() != s || init.beta.len() != k {
            return Err(bad("the initial delta and beta"));
        }
        let finite = data
            .y
            .iter()
            .chain(&data.t)
            .chain(&data.X)
            .all(|v| v.is_finite())
            && data.t_change.iter().all(|v| v.is_finite());
        if !finite {
            return Err(bad("a non-finite y, t, X or t_change"));
        }

        // Rows by time (stable), columns in a canonical order: by kind, prior scale, then values.
        let mut rows: Vec<usize> = (0..n).collect();
        if data.t.windows(2).any(|w| w[1] < w[0]) {
            rows.sort_by(|&a, &b| data.t[a].total_cmp(&data.t[b]));
        }
        let col = |c: usize, i: usize| data.X[rows[i] * k + c];
        let mut cols: Vec<usize> = (0..k).collect();
        cols.sort_by(|&a, &b| {
            (data.s_a[a], data.s_m[a])
                .cmp(&(data.s_a[b], data.s_m[b]))
                .then(data.sigmas[a].total_cmp(&data.sigmas[b]))
                .then_with(|| {
                    (0..n)
                        .map(|i| col(a, i).total_cmp(&col(b, i)))
                        .find(|o| o.is_ne())
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
        });
        let mut x = vec![0.0; n * k];
        for (c, &oc) in cols.iter().enumerate() {
            for i in 0..n {
                x[c * n + i] = col(oc, i);
            }
        }
        let model = Model {
            trend,
            t: rows.iter().map(|&i| data.t[i]).collect(),
            y: rows.iter().map(|&i| data.y[i]).collect(),
            cap: if trend == Trend::Logistic {
                rows.iter().map(|&i| data.cap[i]).collect()
            } else {
                Vec::new()
            },
            t_change: data.t_change.clone(),
            x,
            n_features: k,
            s_a: cols.iter().map(|&c| f64::from(data.s_a[c])).collect(),
            s_m: cols.iter().map(|&c| f64::from(data.s_m[c])).collect(),
            beta_prec: cols
                .iter()
                .map(|&c| {
                    let sd = *data.sigmas[c];
                    1.0 / (sd * sd)
                })
                .collect(),
            tau: *data.tau,
            jacobian,
        };
        let lay = Layout { s, k };
        let mut x0 = vec![0.0; lay.len()];
        x0[Layout::K] = init.k;
        x0[Layout::M] = init.m;
        x0[Layout::DELTA..Layout::DELTA + s].copy_from_slice(&init.delta);
        x0[lay.sigma()] = init.sigma_obs.ln();
        for (c, &oc) in cols.iter().enumerate() {
            x0[lay.beta() + c] = init.beta[oc];
        }
        if x0.iter().any(|v| !v.is_finite()) {
            return Err(bad("non-finite initial parameters"));
        }
        Ok((model, Prepared { rows, cols, x0 }))
    }

    /// The parameters at `x`, in the caller's row and column order.
    fn params(&self, post: &Posterior, x: &[f64]) -> Result<OptimizedParams, OptError> {
        let lay = post.layout();
        let sorted = post.trend(x);
        let mut trend = vec![0.0; sorted.len()];
        for (i, &r) in self.rows.iter().enumerate() {
            trend[r] = sorted[i];
        }
        let mut beta = vec![0.0; lay.k];
        for (c, &oc) in self.cols.iter().enumerate() {
            beta[oc] = x[lay.beta() + c];
        }
        let sigma = x[lay.sigma()].exp();
        let sigma_obs = PositiveFloat::try_new(sigma).map_err(|_| {
            OptError::string(format!("the fitted sigma_obs is not positive: {sigma}"))
        })?;
        Ok(OptimizedParams {
            k: x[Layout::K],
            m: x[Layout::M],
            sigma_obs,
            delta: x[Layout::DELTA..Layout::DELTA + lay.s].to_vec(),
            beta,
            trend,
        })
    }
}

// ---------------------------------------------------------------- argmin glue

/// The posterior as an argmin problem (cost and gradient share one evaluation).
struct Objective<'a> {
    post: &'a Posterior,
    buf: RefCell<Vec<f64>>,
}

impl Objective<'_> {
    fn eval_cost(&self, x: &[f64]) -> f64 {
        let mut buf = self.buf.borrow_mut();
        self.post.eval(x, &mut buf)
    }
}

impl CostFunction for Objective<'_> {
    type Param = P;
    type Output = f64;

    fn cost(&self, p: &P) -> Result<f64, ArgminError> {
        let c = match p.as_slice() {
            Some(x) => self.eval_cost(x),
            None => self.eval_cost(&p.to_vec()),
        };
        // Non-finite values make the line search fail, which restarts L-BFGS.
        Ok(if c.is_nan() { f64::INFINITY } else { c })
    }
}

impl Gradient for Objective<'_> {
    type Param = P;
    type Gradient = P;

    fn gradient(&self, p: &P) -> Result<P, ArgminError> {
        let mut g = Array1::zeros(p.len());
        let owned;
        let x = match p.as_slice() {
            Some(x) => x,
            None => {
                owned = p.to_vec();
                &owned
            }
        };
        if let Some(gs) = g.as_slice_mut() {
            self.post.eval(x, gs);
        }
        Ok(g)
    }
}

/// Moré–Thuente whose first search of a run starts at Stan's `init_alpha` along the gradient,
/// and later ones at the full L-BFGS step; a search that ends without meeting the strong Wolfe
/// conditions (argmin's Moré–Thuente also stops when its interval of uncertainty gets too
/// narrow) is a failure, as in Stan, so that L-BFGS restarts rather than take the step.
///
/// L-BFGS sets the search direction on its own line search before cloning it for each search,
/// so counting the directions here is enough to tell the first search from the others.
#[derive(Clone)]
struct StanLineSearch {
    inner: MoreThuenteLineSearch<P, P, f64>,
    init_alpha: f64,
    searches: usize,
    direction: Option<P>,
    /// The start of the current search: point, objective, directional derivative.
    start: Option<(P, f64, f64)>,
}

/// The strong Wolfe constants of argmin's Moré–Thuente and of Stan.
const C1: f64 = 1e-4;
const C2: f64 = 0.9;

impl StanLineSearch {
    fn new(init_alpha: f64) -> Self {
        StanLineSearch {
            inner: MoreThuenteLineSearch::new(),
            init_alpha,
            searches: 0,
            direction: None,
            start: None,
        }
    }

    /// Whether the end point of a search meets the strong Wolfe conditions.
    fn wolfe(&self, state: &St) -> bool {
        let (Some((x0, f0, dg0)), Some(d)) = (&self.start, &self.direction) else {
            return false;
        };
        let (Some(x), Some(g)) = (state.get_param(), state.get_gradient()) else {
            return false;
        };
        let f = state.get_cost();
        let dd = d.dot(d);
        if !(f.is_finite() && dd > 0.0) {
            return false;
        }
        let alpha = (x - x0).dot(d) / dd;
        alpha > 0.0 && f <= f0 + C1 * alpha * dg0 && g.dot(d).abs() <= C2 * dg0.abs()
    }
}

impl LineSearch<P, f64> for StanLineSearch {
    fn search_direction(&mut self, direction: P) {
        let alpha = if self.searches == 0 {
            self.init_alpha
        } else {
            1.0
        };
        self.searches += 1;
        // Only a non-positive alpha is rejected, and neither is.
        let _ = self.inner.initial_step_length(alpha);
        self.inner.search_direction(direction.clone());
        self.direction = Some(direction);
    }

    fn initial_step_length(&mut self, alpha: f64) -> Result<(), ArgminError> {
        self.inner.initial_step_length(alpha)
    }
}

impl<O> Solver<O, St> for StanLineSearch
where
    MoreThuenteLineSearch<P, P, f64>: Solver<O, St>,
{
    fn name(&self) -> &str {
        "More-Thuente"
    }

    fn init(
        &mut self,
        problem: &mut Problem<O>,
        state: St,
    ) -> Result<(St, Option<KV>), ArgminError> {
        self.start = match (state.get_param(), state.get_gradient(), &self.direction) {
            (Some(x), Some(g), Some(d)) => Some((x.clone(), state.get_cost(), g.dot(d))),
            _ => None,
        };
        self.inner.init(problem, state)
    }

    fn next_iter(
        &mut self,
        problem: &mut Problem<O>,
        state: St,
    ) -> Result<(St, Option<KV>), ArgminError> {
        let (state, kv) = self.inner.next_iter(problem, state)?;
        if state.terminated() && !self.wolfe(&state) {
            return Err(ArgminError::msg(
                "the line search ended without meeting the strong Wolfe conditions",
            ));
        }
        Ok((state, kv))
    }

    fn terminate(&mut self, state: &St) -> TerminationStatus {
        self.inner.terminate(state)
    }
}

/// argmin's L-BFGS with Stan's convergence tests added.
struct StanLbfgs {
    inner: LBFGS<StanLineSearch, P, P, f64>,
    tol: Tolerances,
    /// The point and gradient before the last iteration (L-BFGS takes them out of the state).
    prev: Option<(P, P)>,
    /// The last steps and gradient changes, as in L-BFGS's memory, for Stan's relative
    /// gradient `gᵀ H⁻¹ g`.
    memory: VecDeque<(P, P)>,
    history: usize,
    /// The convergence test that stopped the run.
    passed: &'static str,
}

impl<O> Solver<O, St> for StanLbfgs
where
    LBFGS<StanLineSearch, P, P, f64>: Solver<O, St>,
{
    fn name(&self) -> &str {
        "L-BFGS"
    }

    fn init(
        &mut self,
        problem: &mut Problem<O>,
        state: St,
    ) -> Result<(St, Option<KV>), ArgminError> {
        self.inner.init(problem, state)
    }

    fn next_iter(
        &mut self,
        problem: &mut Problem<O>,
        state: St,
    ) -> Result<(St, Option<KV>), ArgminError> {
        self.prev = state
            .get_param()
            .cloned()
            .zip(state.get_gradient().cloned());
        self.inner.next_iter(problem, state)
    }

    fn terminate(&mut self, state: &St) -> TerminationStatus {
        self.remember(state);
        let test = self.test(state);
        if test.is_empty() {
            TerminationStatus::NotTerminated
        } else {
            self.passed = test;
            TerminationStatus::Terminated(TerminationReason::SolverConverged)
        }
    }
}

impl StanLbfgs {
    /// Adds the last step to the memory (when it has positive curvature, as L-BFGS does).
    fn remember(&mut self, state: &St) {
        let (Some((xp, gp)), Some(x), Some(g)) =
            (&self.prev, state.get_param(), state.get_gradient())
        else {
            return;
        };
        let (s, y) = (x - xp, g - gp);
        if s.dot(&y) > 0.0 {
            if self.memory.len() == self.history {
                self.memory.pop_front();
            }
            self.memory.push_back((s, y));
        }
    }

    /// `gᵀ H⁻¹ g` with the L-BFGS inverse Hessian of the memory (two-loop recursion).
    fn g_hinv_g(&self, g: &P) -> Option<f64> {
        let (s_last, y_last) = self.memory.back()?;
        let gamma = s_last.dot(y_last) / y_last.dot(y_last);
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(self.memory.len());
        for (s, y) in self.memory.iter().rev() {
            let rho = 1.0 / y.dot(s);
            let a = rho * s.dot(&q);
            q.scaled_add(-a, y);
            alphas.push((a, rho));
        }
        q *= gamma;
        for ((s, y), (a, rho)) in self.memory.iter().zip(alphas.into_iter().rev()) {
            let b = rho * y.dot(&q);
            q.scaled_add(a - b, s);
        }
        Some(g.dot(&q))
    }

    /// The name of Stan's convergence test that `state` passes, or `""`.
    fn test(&self, state: &St) -> &'static str {
        let (Some(g), Some(x)) = (state.get_gradient(), state.get_param()) else {
            return "";
        };
        let gnorm = g.dot(g).sqrt();
        if gnorm < self.tol.grad {
            return "gradient";
        }
        let (f, f_prev) = (state.get_cost(), state.get_prev_cost());
        if !f_prev.is_finite() || !f.is_finite() {
            return "";
        }
        let change = (f_prev - f).abs();
        if change < self.tol.obj {
            return "absolute objective";
        }
        if change / f_prev.abs().max(f.abs()).max(1.0) < self.tol.rel_obj {
            return "relative objective";
        }
        if let Some((xp, _)) = &self.prev {
            let s = x - xp;
            if s.dot(&s).sqrt() < self.tol.param {
                return "parameters";
            }
        }
        if let Some(ghg) = self.g_hinv_g(g) {
            if ghg.abs() / f.abs().max(1.0) < self.tol.rel_grad {
                return "relative gradient";
            }
        }
        ""
    }
}
