//! Prophet's log posterior (`prophet.stan`) as a negative log density over the unconstrained
//! parameters, with its analytic gradient.
//!
//! The parameter vector is Stan's, in Stan's order, with `sigma_obs` through its log (Stan's
//! transform for `real<lower=0>`):
//!
//! ```text
//! x = [k, m, delta_1 … delta_S, log sigma_obs, beta_1 … beta_K]
//! ```
//!
//! and the objective is minus the model block of `prophet.stan` with Stan's `~` constants dropped
//! (so `-nlp` equals the `lp__` that `cmdstan optimize` reports, checked in the tests):
//!
//! ```text
//! nlp = k²/50 + m²/50 + Σ|delta|/tau + 2 sigma² + Σ beta²/(2 s²)
//!       + T log sigma + Σ (y - mu)² / (2 sigma²)        [- log sigma with the Jacobian]
//! mu  = trend ⊙ (1 + X_m beta) + X_a beta
//! ```
//!
//! Two evaluation paths:
//!
//! - **general**: `O(T·K + S)` per evaluation, for every trend (linear, logistic, flat) and
//!   feature mode. The linear trend and its gradient use running sums over the changepoint
//!   segments (the changepoint matrix `A` is a staircase), the logistic one a reverse pass over
//!   the segment offsets.
//! - **Gram**: when the mean is linear in the parameters (linear or flat trend, no multiplicative
//!   feature), `mu = Z θ` with `θ = (k, m, delta, beta)`, and the sum of squares is a quadratic
//!   form in `θ` whose matrix `ZᵀZ` is built once per fit, in `O(T·K² + S²)`, from sums over the
//!   changepoint segments. An evaluation then costs `O((S + K)²)`, independent of `T`. The
//!   quadratic is expanded around a ridge least-squares point `θ0`, so that the sum of squares is
//!   not a small difference of large numbers.

// Index loops walk several arrays of one length together, as the formulas do.
#![allow(clippy::needless_range_loop)]

use std::cell::RefCell;

/// The trend of the model (`trend_indicator` of `prophet.stan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trend {
    Linear,
    Logistic,
    Flat,
}

/// Prophet's data, rows sorted by time and feature columns in a canonical order.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub(crate) trend: Trend,
    /// Scaled times, ascending.
    pub(crate) t: Vec<f64>,
    pub(crate) y: Vec<f64>,
    /// Scaled capacities (logistic trend only; empty otherwise).
    pub(crate) cap: Vec<f64>,
    pub(crate) t_change: Vec<f64>,
    /// Feature columns, column-major (`x[c * n + i]`).
    pub(crate) x: Vec<f64>,
    pub(crate) n_features: usize,
    pub(crate) s_a: Vec<f64>,
    pub(crate) s_m: Vec<f64>,
    /// Prior precisions of the coefficients, `1 / sigmas²`.
    pub(crate) beta_prec: Vec<f64>,
    pub(crate) tau: f64,
    pub(crate) jacobian: bool,
}

/// Where each block of parameters sits in `x`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub(crate) s: usize,
    pub(crate) k: usize,
}

impl Layout {
    pub(crate) const K: usize = 0;
    pub(crate) const M: usize = 1;
    pub(crate) const DELTA: usize = 2;
    pub(crate) fn sigma(self) -> usize {
        2 + self.s
    }
    pub(crate) fn beta(self) -> usize {
        3 + self.s
    }
    pub(crate) fn len(self) -> usize {
        3 + self.s + self.k
    }
}

/// The quadratic form of the sum of squares when the mean is linear in `θ`.
#[derive(Debug, Clone)]
struct Gram {
    /// `ZᵀZ`, `l × l`, row-major.
    g: Vec<f64>,
    l: usize,
    theta0: Vec<f64>,
    /// `Zᵀ r0` with `r0 = y - Z θ0`.
    b0: Vec<f64>,
    /// `r0ᵀ r0`.
    c0: f64,
}

#[derive(Debug, Clone, Default)]
struct Scratch {
    trend: Vec<f64>,
    xa: Vec<f64>,
    xm: Vec<f64>,
    /// The trend's adjoint, then scratch.
    gbar: Vec<f64>,
    /// Logistic segments: rates, offsets and their adjoints.
    kappa: Vec<f64>,
    mu: Vec<f64>,
    kbar: Vec<f64>,
    mbar: Vec<f64>,
    /// Gram path: `d = θ - θ0` and `G d`.
    d: Vec<f64>,
    gd: Vec<f64>,
    /// The last point evaluated, its cost and gradient.
    memo_x: Vec<f64>,
    memo_cost: f64,
    memo_grad: Vec<f64>,
    memo_valid: bool,
}

/// Prophet's negative log posterior, ready to evaluate.
#[derive(Debug)]
pub(crate) struct Posterior {
    model: Model,
    layout: Layout,
    n: usize,
    /// `starts[j]`: the first row where changepoint `j` is active (Stan's `A` matrix).
    starts: Vec<usize>,
    gram: Option<Gram>,
    scratch: RefCell<Scratch>,
    evaluations: std::cell::Cell<usize>,
}

impl Posterior {
    /// Prepares the posterior of `model` (rows sorted by `t`).
    pub(crate) fn new(model: Model, use_gram: bool) -> Posterior {
        let n = model.t.len();
        let layout = Layout {
            s: model.t_change.len(),
            k: model.n_features,
        };
        // Stan's get_changepoint_matrix: column j switches on at the first row, not before the
        // previous column's, whose time reaches t_change[j].
        let mut starts = Vec::with_capacity(layout.s);
        let mut i = 0usize;
        for &tc in &model.t_change {
            while i < n && model.t[i] < tc {
                i += 1;
            }
            starts.push(i);
        }
        let linear_mean = model.trend != Trend::Logistic && model.s_m.iter().all(|&v| v == 0.0);
        let mut post = Posterior {
            n,
            starts,
            gram: None,
            scratch: RefCell::new(Scratch::default()),
            evaluations: std::cell::Cell::new(0),
            layout,
            model,
        };
        {
            let mut s = post.scratch.borrow_mut();
            s.trend = vec![0.0; n];
            s.xa = vec![0.0; n];
            s.xm = vec![0.0; n];
            s.gbar = vec![0.0; n];
            let segs = layout.s + 1;
            s.kappa = vec![0.0; segs];
            s.mu = vec![0.0; segs];
            s.kbar = vec![0.0; segs];
            s.mbar = vec![0.0; segs];
            s.memo_x = vec![0.0; layout.len()];
            s.memo_grad = vec![0.0; layout.len()];
        }
        if use_gram && linear_mean {
            post.gram = Some(post.build_gram());
            let l = 2 + layout.s + layout.k;
            let mut s = post.scratch.borrow_mut();
            s.d = vec![0.0; l];
            s.gd = vec![0.0; l];
        }
        post
    }

    pub(crate) fn layout(&self) -> Layout {
        self.layout
    }

    /// Whether evaluations use the precomputed quadratic form.
    #[cfg(test)]
    pub(crate) fn uses_gram(&self) -> bool {
        self.gram.is_some()
    }

    /// How many distinct points were evaluated.
    pub(crate) fn evaluations(&self) -> usize {
        self.evaluations.get()
    }

    /// The negative log posterior at `x`, and its gradient into `grad`.
    ///
    /// Non-finite results are reported as they are (the caller decides what to do with them).
    pub(crate) fn eval(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let mut s = self.scratch.borrow_mut();
        if s.memo_valid && s.memo_x.as_slice() == x {
            grad.copy_from_slice(&s.memo_grad);
            return s.memo_cost;
        }
        self.evaluations.set(self.evaluations.get() + 1);
        let cost = match &self.gram {
            Some(gram) => self.eval_gram(gram, x, grad, &mut s),
            None => self.eval_general(x, grad, &mut s),
        };
        s.memo_x.copy_from_slice(x);
        s.memo_grad.copy_from_slice(grad);
        s.memo_cost = cost;
        s.memo_valid = true;
        cost
    }

    /// The negative log posterior at `x` (no gradient, no memo: for reports and tests).
    pub(crate) fn value(&self, x: &[f64]) -> f64 {
        let mut grad = vec![0.0; x.len()];
        let mut s = self.scratch.borrow_mut();
        self.eval_general(x, &mut grad, &mut s)
    }

    /// The prior terms and their gradient (everything but the likelihood and `log sigma`).
    fn priors(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let lay = self.layout;
        let (k, m) = (x[Layout::K], x[Layout::M]);
        let mut nlp = (k * k + m * m) / 50.0;
        grad[Layout::K] = k / 25.0;
        grad[Layout::M] = m / 25.0;
        let inv_tau = 1.0 / self.model.tau;
        let mut l1 = 0.0;
        for j in 0..lay.s {
            let d = x[Layout::DELTA + j];
            l1 += d.abs();
            // Stan's derivative of fabs is 0 at 0.
            grad[Layout::DELTA + j] = if d > 0.0 {
                inv_tau
            } else if d < 0.0 {
                -inv_tau
            } else {
                0.0
            };
        }
        nlp += l1 * inv_tau;
        let b0 = lay.beta();
        let mut ridge = 0.0;
        for c in 0..lay.k {
            let b = x[b0 + c];
            let p = self.model.beta_prec[c];
            ridge += p * b * b;
            grad[b0 + c] = p * b;
        }
        nlp + 0.5 * ridge
    }

    /// Adds the `sigma` terms for a sum of squares `sse` and returns them; writes the gradient
    /// with respect to `log sigma`. `inv_s2` is `1 / sigma²`.
    fn sigma_terms(&self, u: f64, sse: f64, grad: &mut [f64]) -> f64 {
        let n = self.n as f64;
        let sigma2 = (2.0 * u).exp();
        let inv_s2 = (-2.0 * u).exp();
        let jac = if self.model.jacobian { 1.0 } else { 0.0 };
        grad[self.layout.sigma()] = 4.0 * sigma2 + n - sse * inv_s2 - jac;
        2.0 * sigma2 + (n - jac) * u + 0.5 * sse * inv_s2
    }

    fn eval_general(&self, x: &[f64], grad: &mut [f64], s: &mut Scratch) -> f64 {
        let lay = self.layout;
        let n = self.n;
        let md = &self.model;
        let mut nlp = self.priors(x, grad);
        let u = x[lay.sigma()];
        let inv_s2 = (-2.0 * u).exp();
        let beta = &x[lay.beta()..lay.len()];
        let Scratch {
            trend,
            xa,
            xm,
            gbar,
            kappa,
            mu,
            ..
        } = s;
        self.trend_into(x, trend, kappa, mu);
        xa.iter_mut().for_each(|v| *v = 0.0);
        xm.iter_mut().for_each(|v| *v = 0.0);
        for c in 0..lay.k {
            let col = &md.x[c * n..(c + 1) * n];
            let (a, m) = (md.s_a[c] * beta[c], md.s_m[c] * beta[c]);
            if a != 0.0 {
                xa.iter_mut().zip(col).for_each(|(p, v)| *p += a * v);
            }
            if m != 0.0 {
                xm.iter_mut().zip(col).for_each(|(p, v)| *p += m * v);
            }
        }
        // Residuals into xa (no longer needed), the trend adjoint into gbar.
        let mut sse = 0.0;
        for i in 0..n {
            let f = 1.0 + xm[i];
            let r = md.y[i] - trend[i] * f - xa[i];
            sse += r * r;
            xa[i] = r;
            gbar[i] = -r * f * inv_s2;
        }
        nlp += self.sigma_terms(u, sse, grad);
        // Coefficients: d mu / d beta_c = (s_a + s_m trend) X_c.
        let b0 = lay.beta();
        for c in 0..lay.k {
            let col = &md.x[c * n..(c + 1) * n];
            let mut acc = 0.0;
            if md.s_a[c] != 0.0 {
                acc += md.s_a[c] * dot(col, xa);
            }
            if md.s_m[c] != 0.0 {
                let mut a2 = 0.0;
                for i in 0..n {
                    a2 += col[i] * xa[i] * trend[i];
                }
                acc += md.s_m[c] * a2;
            }
            grad[b0 + c] -= acc * inv_s2;
        }
        self.trend_gradient(s, grad);
        nlp
    }

    /// The trend at every row into `out` (logistic: segment rates and offsets into `kappa`, `mu`).
    fn trend_into(&self, x: &[f64], out: &mut [f64], kappa: &mut [f64], mu: &mut [f64]) {
        let md = &self.model;
        let (k, m) = (x[Layout::K], x[Layout::M]);
        let delta = &x[Layout::DELTA..Layout::DELTA + self.layout.s];
        match md.trend {
            Trend::Flat => out.iter_mut().for_each(|v| *v = m),
            Trend::Linear => {
                let (mut kc, mut mc) = (k, m);
                let mut j = 0;
                for i in 0..self.n {
                    while j < self.starts.len() && self.starts[j] <= i {
                        kc += delta[j];
                        mc -= md.t_change[j] * delta[j];
                        j += 1;
                    }
                    out[i] = kc * md.t[i] + mc;
                }
            }
            Trend::Logistic => {
                kappa[0] = k;
                mu[0] = m;
                for j in 1..=self.layout.s {
                    kappa[j] = kappa[j - 1] + delta[j - 1];
                    let sj = md.t_change[j - 1];
                    mu[j] = sj - (sj - mu[j - 1]) * kappa[j - 1] / kappa[j];
                }
                let mut j = 0;
                for i in 0..self.n {
                    while j < self.starts.len() && self.starts[j] <= i {
                        j += 1;
                    }
                    out[i] = md.cap[i] * sigmoid(kappa[j] * (md.t[i] - mu[j]));
                }
            }
        }
    }

    /// Adds the likelihood's gradient with respect to `k`, `m` and `delta`, given the trend's
    /// adjoint in `s.gbar`.
    fn trend_gradient(&self, s: &mut Scratch, grad: &mut [f64]) {
        let md = &self.model;
        let n = self.n;
        let sc = self.layout.s;
        match md.trend {
            Trend::Flat => {
                grad[Layout::M] += s.gbar.iter().sum::<f64>();
            }
            Trend::Linear => {
                // Suffix sums of gbar and gbar·t, read off at each changepoint's first row.
                let (mut sg, mut sgt) = (0.0, 0.0);
                let mut i = n;
                for j in (0..sc).rev() {
                    while i > self.starts[j] {
                        i -= 1;
                        sg += s.gbar[i];
                        sgt += s.gbar[i] * md.t[i];
                    }
                    grad[Layout::DELTA + j] += sgt - md.t_change[j] * sg;
                }
                while i > 0 {
                    i -= 1;
                    sg += s.gbar[i];
                    sgt += s.gbar[i] * md.t[i];
                }
                grad[Layout::K] += sgt;
                grad[Layout::M] += sg;
            }
            Trend::Logistic => {
                let Scratch {
                    gbar,
                    kappa,
                    mu,
                    kbar,
                    mbar,
                    trend,
                    ..
                } = s;
                kbar.iter_mut().for_each(|v| *v = 0.0);
                mbar.iter_mut().for_each(|v| *v = 0.0);
                let mut j = 0;
                for i in 0..n {
                    while j < self.starts.len() && self.starts[j] <= i {
                        j += 1;
                    }
                    let cap = md.cap[i];
                    let sg = if cap != 0.0 { trend[i] / cap } else { 0.0 };
                    let zbar = gbar[i] * cap * sg * (1.0 - sg);
                    kbar[j] += zbar * (md.t[i] - mu[j]);
                    mbar[j] -= zbar * kappa[j];
                }
                for j in (1..=sc).rev() {
                    let sj = md.t_change[j - 1];
                    let c = sj - mu[j - 1];
                    let (k0, k1) = (kappa[j - 1], kappa[j]);
                    kbar[j] += mbar[j] * c * k0 / (k1 * k1);
                    grad[Layout::DELTA + j - 1] += kbar[j];
                    kbar[j - 1] += kbar[j] - mbar[j] * c / k1;
                    mbar[j - 1] += mbar[j] * k0 / k1;
                }
                grad[Layout::K] += kbar[0];
                grad[Layout::M] += mbar[0];
            }
        }
    }

    /// The trend at every row for the parameters `x`, in scaled units.
    pub(crate) fn trend(&self, x: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.n];
        let segs = self.layout.s + 1;
        let (mut kappa, mut mu) = (vec![0.0; segs], vec![0.0; segs]);
        self.trend_into(x, &mut out, &mut kappa, &mut mu);
        out
    }

    // ---------------------------------------------------------------- Gram path

    /// Index of `θ` entry `i` in `x` (θ skips `log sigma`).
    fn theta_index(&self, i: usize) -> usize {
        if i < 2 + self.layout.s { i } else { i + 1 }
    }

    fn build_gram(&self) -> Gram {
        let md = &self.model;
        let (n, sc, kf) = (self.n, self.layout.s, self.layout.k);
        let l = 2 + sc + kf;
        let linear = md.trend == Trend::Linear;
        // Additive feature columns (zero where a column is not additive).
        let xcol = |c: usize| &md.x[c * n..(c + 1) * n];
        let sa: Vec<f64> = md.s_a.clone();

        // Suffix sums from each changepoint's first row: of 1, t, t², and per column of X and tX.
        let mut t0 = vec![0.0; sc + 1];
        let mut t1 = vec![0.0; sc + 1];
        let mut t2 = vec![0.0; sc + 1];
        let mut xs = vec![0.0; (sc + 1) * kf];
        let mut xt = vec![0.0; (sc + 1) * kf];
        // Index sc holds the sums over all rows; j < sc those from starts[j].
        {
            let (mut a0, mut a1, mut a2) = (0.0, 0.0, 0.0);
            let mut i = n;
            // Changepoints, descending.
            for j in (0..sc).rev() {
                while i > self.starts[j] {
                    i -= 1;
                    let ti = md.t[i];
                    a0 += 1.0;
                    a1 += ti;
                    a2 += ti * ti;
                }
                t0[j] = a0;
                t1[j] = a1;
                t2[j] = a2;
            }
            while i > 0 {
                i -= 1;
                let ti = md.t[i];
                a0 += 1.0;
                a1 += ti;
                a2 += ti * ti;
            }
            t0[sc] = a0;
            t1[sc] = a1;
            t2[sc] = a2;
            for c in 0..kf {
                if sa[c] == 0.0 {
                    continue;
                }
                let col = xcol(c);
                let (mut b0, mut b1) = (0.0, 0.0);
                let mut i = n;
                for j in (0..sc).rev() {
                    while i > self.starts[j] {
                        i -= 1;
                        b0 += col[i];
                        b1 += col[i] * md.t[i];
                    }
                    xs[j * kf + c] = b0;
                    xt[j * kf + c] = b1;
                }
                while i > 0 {
                    i -= 1;
                    b0 += col[i];
                    b1 += col[i] * md.t[i];
                }
                xs[sc * kf + c] = b0;
                xt[sc * kf + c] = b1;
            }
        }

        let mut g = vec![0.0; l * l];
        let mut set = |a: usize, b: usize, v: f64| {
            g[a * l + b] = v;
            g[b * l + a] = v;
        };
        let (ik, im, id, ib) = (0usize, 1usize, 2usize, 2 + sc);
        if linear {
            set(ik, ik, t2[sc]);
            set(ik, im, t1[sc]);
        }
        set(im, im, t0[sc]);
        if linear {
            for b in 0..sc {
                let sb = md.t_change[b];
                set(ik, id + b, t2[b] - sb * t1[b]);
                set(im, id + b, t1[b] - sb * t0[b]);
                for a in 0..=b {
                    // Rows active in both: from the later start, which is b's (the starts
                    // never decrease).
                    let sa_ = md.t_change[a];
                    let v = t2[b] - (sa_ + sb) * t1[b] + sa_ * sb * t0[b];
                    set(id + a, id + b, v);
                }
            }
        }
        for c in 0..kf {
            if sa[c] == 0.0 {
                continue;
            }
            if linear {
                set(ik, ib + c, sa[c] * xt[sc * kf + c]);
                for j in 0..sc {
                    let v = xt[j * kf + c] - md.t_change[j] * xs[j * kf + c];
                    set(id + j, ib + c, sa[c] * v);
                }
            }
            set(im, ib + c, sa[c] * xs[sc * kf + c]);
            for d in 0..=c {
                if sa[d] == 0.0 {
                    continue;
                }
                set(ib + d, ib + c, sa[c] * sa[d] * dot(xcol(c), xcol(d)));
            }
        }

        // θ0: ridge least squares, (G + λI) θ0 = Zᵀy.
        let zty = self.zt_times(&md.y);
        let maxdiag = (0..l).map(|i| g[i * l + i]).fold(0.0f64, f64::max);
        let lambda = 1e-10 * maxdiag.max(1e-300);
        let mut a = g.clone();
        for i in 0..l {
            a[i * l + i] += lambda;
        }
        let theta0 = cholesky_solve(&mut a, l, &zty).unwrap_or_else(|| vec![0.0; l]);
        let theta0: Vec<f64> = theta0
            .into_iter()
            .map(|v| if v.is_finite() { v } else { 0.0 })
            .collect();
        // r0 = y - Z θ0.
        let mut x0 = vec![0.0; self.layout.len()];
        for (i, &v) in theta0.iter().enumerate() {
            x0[self.theta_index(i)] = v;
        }
        let mut r0 = self.trend(&x0);
        for (r, y) in r0.iter_mut().zip(&md.y) {
            *r = y - *r;
        }
        for c in 0..kf {
            let b = sa[c] * theta0[ib + c];
            if b != 0.0 {
                r0.iter_mut().zip(xcol(c)).for_each(|(r, v)| *r -= b * v);
            }
        }
        let b0 = self.zt_times(&r0);
        let c0 = dot(&r0, &r0);
        Gram {
            g,
            l,
            theta0,
            b0,
            c0,
        }
    }

    /// `Zᵀ v` for the linear-mean design `Z = [t, 1, (t - s_j)₊, s_a ⊙ X]`.
    fn zt_times(&self, v: &[f64]) -> Vec<f64> {
        let md = &self.model;
        let (n, sc, kf) = (self.n, self.layout.s, self.layout.k);
        let mut out = vec![0.0; 2 + sc + kf];
        let linear = md.trend == Trend::Linear;
        let (mut sv, mut svt) = (0.0, 0.0);
        let mut i = n;
        for j in (0..sc).rev() {
            while i > self.starts[j] {
                i -= 1;
                sv += v[i];
                svt += v[i] * md.t[i];
            }
            if linear {
                out[2 + j] = svt - md.t_change[j] * sv;
            }
        }
        while i > 0 {
            i -= 1;
            sv += v[i];
            svt += v[i] * md.t[i];
        }
        if linear {
            out[0] = svt;
        }
        out[1] = sv;
        for c in 0..kf {
            if md.s_a[c] != 0.0 {
                out[2 + sc + c] = md.s_a[c] * dot(&md.x[c * n..(c + 1) * n], v);
            }
        }
        out
    }

    fn eval_gram(&self, gram: &Gram, x: &[f64], grad: &mut [f64], s: &mut Scratch) -> f64 {
        let mut nlp = self.priors(x, grad);
        let l = gram.l;
        for i in 0..l {
            s.d[i] = x[self.theta_index(i)] - gram.theta0[i];
        }
        // G d, with G symmetric and row-major.
        for a in 0..l {
            s.gd[a] = dot(&gram.g[a * l..(a + 1) * l], &s.d);
        }
        // h = b0 - G d = Zᵀ r; SSE = c0 - dᵀ(b0 + h).
        let mut quad = 0.0;
        for a in 0..l {
            let h = gram.b0[a] - s.gd[a];
            quad += s.d[a] * (gram.b0[a] + h);
            s.gd[a] = h;
        }
        let sse = (gram.c0 - quad).max(0.0);
        let u = x[self.layout.sigma()];
        let inv_s2 = (-2.0 * u).exp();
        nlp += self.sigma_terms(u, sse, grad);
        for a in 0..l {
            grad[self.theta_index(a)] -= s.gd[a] * inv_s2;
        }
        nlp
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// A dot product with four accumulators (vectorises, and is deterministic).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let chunks = n / 4;
    for c in 0..chunks {
        let i = 4 * c;
        acc[0] += a[i] * b[i];
        acc[1] += a[i + 1] * b[i + 1];
        acc[2] += a[i + 2] * b[i + 2];
        acc[3] += a[i + 3] * b[i + 3];
    }
    let mut tail = 0.0;
    for i in 4 * chunks..n {
        tail += a[i] * b[i];
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Solves `A x = b` for a symmetric positive definite `A` (`l × l`, row-major, overwritten by
/// its Cholesky factor); `None` if `A` is not numerically positive definite.
fn cholesky_solve(a: &mut [f64], l: usize, b: &[f64]) -> Option<Vec<f64>> {
    for j in 0..l {
        let mut d = a[j * l + j];
        for k in 0..j {
            d -= a[j * l + k] * a[j * l + k];
        }
        if d.is_nan() || d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j * l + j] = d;
        for i in j + 1..l {
            let mut v = a[i * l + j];
            for k in 0..j {
                v -= a[i * l + k] * a[j * l + k];
            }
            a[i * l + j] = v / d;
        }
    }
    let mut z = b.to_vec();
    for i in 0..l {
        let mut v = z[i];
        for k in 0..i {
            v -= a[i * l + k] * z[k];
        }
        z[i] = v / a[i * l + i];
    }
    for i in (0..l).rev() {
        let mut v = z[i];
        for k in i + 1..l {
            v -= a[k * l + i] * z[k];
        }
        z[i] = v / a[i * l + i];
    }
    Some(z)
}
