//! The state-space form of an ARMA model, its exact Gaussian likelihood by the Kalman filter,
//! the one-observation state update and the forecast of the state.
//!
//! The form is Harvey's (1989), the one R's `stats::arima` uses (Gardner, Harvey and Phillips
//! 1980): with `r = max(p, q + 1)`,
//!
//! ```text
//! x[t]   = Z a[t],                  Z = (1, 0, …, 0)
//! a[t+1] = T a[t] + R ε[t+1],       T = [φ | I_{r−1} over 0],   R = (1, θ₁, …, θ_{r−1})ᵀ
//! ```
//!
//! and `ε ~ N(0, σ²)`. The series is differenced before it reaches the filter, so every state
//! is stationary and the filter starts from the exact stationary covariance
//! `P₀ = T P₀ Tᵀ + R Rᵀ` (in units of `σ²`), which the doubling algorithm finds in
//! `O(r³ log)`; the filter itself costs `O(r²)` per observation and drops to `O(r)` once the
//! one-step variance has converged (it tends to `σ²` for an invertible model, and from then on
//! the gain is `R`): R's `arima0` "fast recursions".
//!
//! The mean `μ` of the differenced series is concentrated out: the filter is linear in the
//! data, so the innovations of `x − μ` are `v(x) − μ·v(1)`, where `v(1)` are those of a column
//! of ones run through the same gains. The generalised-least-squares `μ` and the sum of squares
//! at it come from three running sums, and `σ²` is concentrated out as usual: the likelihood
//! the optimiser sees depends on the AR and MA coefficients only.

/// Below this distance from 1 (in units of `σ²`) the one-step variance counts as converged.
const STEADY_TOL: f64 = 1e-11;
/// The most doubling steps for the stationary covariance (each squares the transition).
const MAX_DOUBLINGS: usize = 80;

/// What one pass of the filter over a series gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Likelihood {
    /// `Σ v²/F` at the estimated mean.
    pub(crate) ssq: f64,
    /// `Σ ln F`.
    pub(crate) sumlog: f64,
    /// Observations used.
    pub(crate) n: usize,
    /// The estimated mean of the series (0 without a mean).
    pub(crate) mu: f64,
}

impl Likelihood {
    /// The concentrated objective `½ ln(ssq/n) + ½ Σ ln F / n` (R's `armafn`).
    pub(crate) fn objective(&self) -> f64 {
        let n = self.n as f64;
        0.5 * (self.ssq / n).ln() + 0.5 * self.sumlog / n
    }

    /// The maximised Gaussian log-likelihood, with `σ² = ssq/n`.
    pub(crate) fn loglik(&self) -> f64 {
        let n = self.n as f64;
        -0.5 * (n * ((self.ssq / n).ln() + 1.0 + (2.0 * std::f64::consts::PI).ln()) + self.sumlog)
    }
}

/// An ARMA model in state-space form, with the scratch space of its filter.
///
/// Made once per order; [`ArmaFilter::set`] loads new coefficients without allocating.
#[derive(Debug, Clone)]
pub(crate) struct ArmaFilter {
    r: usize,
    /// `φ` padded with zeros to length `r`.
    phi: Vec<f64>,
    /// `R = (1, θ₁, …)` padded with zeros to length `r`.
    rvec: Vec<f64>,
    /// The stationary covariance `P₀` (row-major `r × r`).
    p0: Vec<f64>,
    // Scratch.
    pn: Vec<f64>,
    g: Vec<f64>,
    a: Vec<f64>,
    a1: Vec<f64>,
    an: Vec<f64>,
    an1: Vec<f64>,
    m1: Vec<f64>,
    m2: Vec<f64>,
    m3: Vec<f64>,
}

impl ArmaFilter {
    /// A filter for ARMA(`p`, `q`) (already expanded with any seasonal factors).
    pub(crate) fn new(p: usize, q: usize) -> Self {
        let r = p.max(q + 1);
        let z = |len: usize| vec![0.0; len];
        ArmaFilter {
            r,
            phi: z(r),
            rvec: z(r),
            p0: z(r * r),
            pn: z(r * r),
            g: z(r),
            a: z(r),
            a1: z(r),
            an: z(r),
            an1: z(r),
            m1: z(r * r),
            m2: z(r * r),
            m3: z(r * r),
        }
    }

    /// Loads the coefficients `φ` (length at most `r`) and `θ` (at most `r − 1`) and computes
    /// the stationary covariance; `false` when it does not converge (a non-stationary `φ`).
    pub(crate) fn set(&mut self, phi: &[f64], theta: &[f64]) -> bool {
        let r = self.r;
        debug_assert!(phi.len() <= r && theta.len() < r);
        self.phi.fill(0.0);
        self.phi[..phi.len()].copy_from_slice(phi);
        self.rvec.fill(0.0);
        self.rvec[0] = 1.0;
        self.rvec[1..=theta.len()].copy_from_slice(theta);
        self.stationary_covariance()
    }

    /// `P₀ = Σ_k T^k R Rᵀ (T^k)ᵀ` by doubling: `P ← P + A P Aᵀ`, `A ← A²`.
    fn stationary_covariance(&mut self) -> bool {
        let r = self.r;
        let (p, a, t1, t2) = (&mut self.p0, &mut self.m1, &mut self.m2, &mut self.m3);
        for i in 0..r {
            for j in 0..r {
                p[i * r + j] = self.rvec[i] * self.rvec[j];
            }
        }
        if r == 1 {
            let f = self.phi[0];
            let denom = 1.0 - f * f;
            if denom.is_nan() || denom <= 0.0 {
                return false;
            }
            p[0] = 1.0 / denom;
            return p[0].is_finite();
        }
        // A = T.
        a.fill(0.0);
        for i in 0..r {
            a[i * r] = self.phi[i];
            if i + 1 < r {
                a[i * r + i + 1] = 1.0;
            }
        }
        for _ in 0..MAX_DOUBLINGS {
            // t1 = A P, t2 = t1 Aᵀ.
            matmul(a, p, t1, r);
            matmul_bt(t1, a, t2, r);
            let mut change = 0.0f64;
            let mut size = 0.0f64;
            for (pi, ti) in p.iter_mut().zip(t2.iter()) {
                *pi += ti;
                change = change.max(ti.abs());
                size = size.max(pi.abs());
            }
            if !size.is_finite() {
                return false;
            }
            if change <= 1e-16 * size {
                return true;
            }
            matmul(a, a, t1, r);
            std::mem::swap(a, t1);
        }
        false
    }

    /// Runs the filter over `x` (optionally estimating its mean by GLS) and returns the
    /// concentrated likelihood, or `None` if a one-step variance is not positive and finite.
    ///
    /// Afterwards [`ArmaFilter::state`] holds the filtered state after the last observation.
    pub(crate) fn run(&mut self, x: &[f64], mean: bool) -> Option<Likelihood> {
        self.run_impl(x, mean, x.len()).map(|(lik, _)| lik)
    }

    /// Runs the filter over `x` (mean already removed) and returns the sum of the squared
    /// standardised one-step errors `v²/F` from index `from` on.
    pub(crate) fn tail_ssq(&mut self, x: &[f64], from: usize) -> Option<f64> {
        self.run_impl(x, false, from).map(|(_, tail)| tail)
    }

    fn run_impl(&mut self, x: &[f64], mean: bool, from: usize) -> Option<(Likelihood, f64)> {
        let r = self.r;
        let mut tail = 0.0f64;
        self.a.fill(0.0);
        self.a1.fill(0.0);
        self.pn.copy_from_slice(&self.p0);
        let mut steady = false;
        let (mut syy, mut sy1, mut s11) = (0.0f64, 0.0f64, 0.0f64);
        // Σ ln F as the logarithm of a running product, flushed before it leaves the range
        // where it is exact: one logarithm per hundred steps instead of one per step.
        let (mut sumlog, mut prod) = (0.0f64, 1.0f64);
        for (t, &xt) in x.iter().enumerate() {
            if t == 0 {
                self.an.fill(0.0);
                self.an1.fill(0.0);
            } else {
                let (a0, b0) = (self.a[0], self.a1[0]);
                for i in 0..r - 1 {
                    self.an[i] = self.phi[i] * a0 + self.a[i + 1];
                    self.an1[i] = self.phi[i] * b0 + self.a1[i + 1];
                }
                self.an[r - 1] = self.phi[r - 1] * a0;
                self.an1[r - 1] = self.phi[r - 1] * b0;
            }
            let v = xt - self.an[0];
            let v1 = 1.0 - self.an1[0];
            if steady {
                for i in 0..r {
                    self.a[i] = self.an[i] + self.rvec[i] * v;
                    self.a1[i] = self.an1[i] + self.rvec[i] * v1;
                }
                syy += v * v;
                sy1 += v * v1;
                s11 += v1 * v1;
                if t >= from {
                    tail += v * v;
                }
            } else {
                let f = self.pn[0];
                if !(f > 0.0 && f.is_finite()) {
                    return None;
                }
                let inv = 1.0 / f;
                // The gain direction: the first row of the (upper-triangular) prediction.
                self.g.copy_from_slice(&self.pn[..r]);
                for i in 0..r {
                    let k = self.g[i] * inv;
                    self.a[i] = self.an[i] + k * v;
                    self.a1[i] = self.an1[i] + k * v1;
                }
                syy += v * v * inv;
                sy1 += v * v1 * inv;
                s11 += v1 * v1 * inv;
                if t >= from {
                    tail += v * v * inv;
                }
                prod *= f;
                if !(1e-100..=1e100).contains(&prod) {
                    sumlog += prod.ln();
                    prod = 1.0;
                }
                advance_cov(&mut self.pn, &self.g, inv, &self.rvec, r);
                if (f - 1.0).abs() < STEADY_TOL {
                    steady = true;
                }
            }
        }
        sumlog += prod.ln();
        if steady {
            // The prediction covariance is R Rᵀ in the steady state.
            for i in 0..r {
                for j in i..r {
                    self.pn[i * r + j] = self.rvec[i] * self.rvec[j];
                }
            }
        }
        let mu = if mean && s11 > 0.0 { sy1 / s11 } else { 0.0 };
        let ssq = (syy - mu * sy1).max(0.0);
        // The state of x − μ.
        for i in 0..r {
            self.a[i] -= mu * self.a1[i];
        }
        let lik = Likelihood {
            ssq,
            sumlog,
            n: x.len(),
            mu,
        };
        (ssq.is_finite() && sumlog.is_finite() && mu.is_finite()).then_some((lik, tail))
    }

    /// The filtered state after the last [`ArmaFilter::run`]: the mean-adjusted state and the
    /// covariance of the next prediction (in units of `σ²`).
    pub(crate) fn state(&self) -> ArmaState {
        let r = self.r;
        let mut pn = self.pn.clone();
        for i in 0..r {
            for j in 0..i {
                pn[i * r + j] = pn[j * r + i];
            }
        }
        ArmaState {
            phi: self.phi.clone(),
            rvec: self.rvec.clone(),
            a: self.a.clone(),
            pn,
        }
    }
}

/// `out = a b` for row-major `r × r` matrices.
fn matmul(a: &[f64], b: &[f64], out: &mut [f64], r: usize) {
    out.fill(0.0);
    for i in 0..r {
        for k in 0..r {
            let aik = a[i * r + k];
            if aik != 0.0 {
                for j in 0..r {
                    out[i * r + j] += aik * b[k * r + j];
                }
            }
        }
    }
}

/// `out = a bᵀ` for row-major `r × r` matrices.
fn matmul_bt(a: &[f64], b: &[f64], out: &mut [f64], r: usize) {
    for i in 0..r {
        for j in 0..r {
            let mut s = 0.0;
            for k in 0..r {
                s += a[i * r + k] * b[j * r + k];
            }
            out[i * r + j] = s;
        }
    }
}

/// Moves the prediction covariance one step on, in place, after an observation with
/// prediction covariance `pn` (upper triangle), first row `g` and `F = g₀ = 1/inv`.
///
/// The observation is exact (no measurement noise), so the filtered covariance
/// `P = Pn − g gᵀ/F` has a zero first row and column, and with the companion transition the
/// next prediction `T P Tᵀ + R Rᵀ` is just `P` shifted up and left plus `R Rᵀ`:
///
/// ```text
/// Pn'[i][j] = Pn[i+1][j+1] − g[i+1]·g[j+1]/F + R[i]·R[j]   (terms past r − 1 are zero)
/// ```
///
/// which costs `r(r+1)/2` multiply-adds and needs no `φ` at all. Ascending rows read only
/// entries not yet overwritten.
#[inline]
fn advance_cov(pn: &mut [f64], g: &[f64], inv: f64, rvec: &[f64], r: usize) {
    for i in 0..r {
        let ri = rvec[i];
        let gi = if i + 1 < r { g[i + 1] * inv } else { 0.0 };
        for j in i..r {
            let base = if j + 1 < r {
                pn[(i + 1) * r + j + 1] - gi * g[j + 1]
            } else {
                0.0
            };
            pn[i * r + j] = base + ri * rvec[j];
        }
    }
}

/// The filtered state of a fitted ARMA model after its last observation, for updates and
/// forecasts: the state of the differenced, mean-adjusted series and the covariance of the next
/// one-step prediction (in units of `σ²`, full symmetric).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct ArmaState {
    phi: Vec<f64>,
    rvec: Vec<f64>,
    a: Vec<f64>,
    pn: Vec<f64>,
}

impl ArmaState {
    /// The state vector.
    #[cfg(test)]
    pub(crate) fn a(&self) -> &[f64] {
        &self.a
    }

    /// Multiplies the state (not the covariance, which is relative to `σ²`) by `s`.
    pub(crate) fn scale(&mut self, s: f64) {
        self.a.iter_mut().for_each(|v| *v *= s);
    }

    /// The state of white noise (no AR or MA terms).
    pub(crate) fn white_noise() -> ArmaState {
        ArmaState {
            phi: vec![0.0],
            rvec: vec![1.0],
            a: vec![0.0],
            pn: vec![1.0],
        }
    }

    /// Whether every number in the state is finite.
    pub(crate) fn is_finite(&self) -> bool {
        self.a.iter().chain(&self.pn).all(|v| v.is_finite())
    }

    /// Takes the next observation `x` (mean-adjusted): one predict and update step of the
    /// filter. Returns the new state, leaving `self` as it was, or `None` if it is not finite.
    pub(crate) fn step(&self, x: f64) -> Option<ArmaState> {
        let r = self.a.len();
        let f = self.pn[0];
        if !(f > 0.0 && f.is_finite()) {
            return None;
        }
        let mut next = self.clone();
        let a0 = self.a[0];
        for i in 0..r {
            let after = if i + 1 < r { self.a[i + 1] } else { 0.0 };
            next.a[i] = self.phi[i] * a0 + after;
        }
        let v = x - next.a[0];
        let g: Vec<f64> = self.pn[..r].to_vec();
        for (ai, gi) in next.a.iter_mut().zip(&g) {
            *ai += gi / f * v;
        }
        advance_cov(&mut next.pn, &g, 1.0 / f, &self.rvec, r);
        for i in 0..r {
            for j in 0..i {
                next.pn[i * r + j] = next.pn[j * r + i];
            }
        }
        next.is_finite().then_some(next)
    }

    /// The point forecasts of the next `h` values (mean-adjusted) into `out`.
    pub(crate) fn forecast(&self, h: usize, out: &mut Vec<f64>) {
        let r = self.a.len();
        let mut a = self.a.clone();
        let mut an = vec![0.0; r];
        out.clear();
        for _ in 0..h {
            for i in 0..r {
                let next = if i + 1 < r { a[i + 1] } else { 0.0 };
                an[i] = self.phi[i] * a[0] + next;
            }
            std::mem::swap(&mut a, &mut an);
            out.push(a[0]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stationary_covariance_of_ar1_and_ma1() {
        let mut f = ArmaFilter::new(1, 0);
        assert!(f.set(&[0.5], &[]));
        assert!((f.p0[0] - 1.0 / 0.75).abs() < 1e-14);
        // MA(1): r = 2, state (x_t, θ ε_t): P0 = [[1+θ², θ], [θ, θ²]].
        let mut f = ArmaFilter::new(0, 1);
        assert!(f.set(&[], &[0.4]));
        let want = [1.16, 0.4, 0.4, 0.16];
        for (a, b) in f.p0.iter().zip(want) {
            assert!((a - b).abs() < 1e-14, "{:?}", f.p0);
        }
        // AR(2): Var x = (1 − φ2) / ((1 + φ2)((1 − φ2)² − φ1²)).
        let (p1, p2) = (0.5, 0.3);
        let mut f = ArmaFilter::new(2, 0);
        assert!(f.set(&[p1, p2], &[]));
        let var = (1.0 - p2) / ((1.0 + p2) * ((1.0 - p2) * (1.0 - p2) - p1 * p1));
        assert!((f.p0[0] - var).abs() < 1e-12);
    }

    #[test]
    fn non_stationary_is_refused() {
        let mut f = ArmaFilter::new(1, 0);
        assert!(!f.set(&[1.0], &[]));
        let mut f = ArmaFilter::new(2, 0);
        assert!(!f.set(&[1.2, 0.1], &[]));
    }

    #[test]
    fn white_noise_likelihood_is_the_plain_one() {
        let x = [1.0, -2.0, 0.5, 3.0];
        let mut f = ArmaFilter::new(0, 0);
        assert!(f.set(&[], &[]));
        let lik = f.run(&x, false).unwrap();
        assert!((lik.ssq - 14.25).abs() < 1e-12);
        assert!(lik.sumlog.abs() < 1e-12);
        let lik = f.run(&x, true).unwrap();
        assert!((lik.mu - 0.625).abs() < 1e-12);
    }

    #[test]
    fn step_matches_a_longer_run() {
        let x = [0.3, -0.1, 0.8, 0.2, -0.5, 0.4, 0.1];
        let mut f = ArmaFilter::new(2, 1);
        assert!(f.set(&[0.4, -0.2], &[0.3]));
        f.run(&x[..6], false).unwrap();
        let stepped = f.state().step(x[6]).unwrap();
        f.run(&x, false).unwrap();
        let full = f.state();
        for (a, b) in stepped.a.iter().zip(&full.a) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}
