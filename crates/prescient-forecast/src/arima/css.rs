//! The conditional sum of squares (CSS): the residuals of the ARMA recursion started from zero
//! innovations after the first `p` observations, as in R's `arima(method = "CSS")`.
//!
//! It needs no covariance and costs `O(n·(p + q))` with the zero coefficients of the seasonal
//! products skipped, so it gives the start values of the exact likelihood and, with
//! `approximation`, the criterion of the order search. Like the Kalman filter it concentrates
//! the mean out: the residuals are linear in `μ`, so the residuals of the data and of a column
//! of ones give the least-squares `μ` in closed form.

/// Scratch space for the CSS of one series.
#[derive(Debug, Clone, Default)]
pub(crate) struct Css {
    ey: Vec<f64>,
    e1: Vec<f64>,
    ar: Vec<(usize, f64)>,
    ma: Vec<(usize, f64)>,
}

/// The CSS at its least-squares mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CssValue {
    /// The sum of squared residuals.
    pub(crate) ssq: f64,
    /// The residuals counted (`n − p`).
    pub(crate) n: usize,
    /// The least-squares mean (0 without a mean).
    pub(crate) mu: f64,
}

impl CssValue {
    /// `½ ln(ssq / n)`, R's CSS objective.
    pub(crate) fn objective(&self) -> f64 {
        0.5 * (self.ssq / self.n as f64).ln()
    }
}

impl Css {
    /// The CSS of `x` under AR coefficients `phi` and MA coefficients `theta` (expanded, any
    /// seasonal factors multiplied in), `None` if there are no residuals or they overflow.
    pub(crate) fn value(
        &mut self,
        x: &[f64],
        phi: &[f64],
        theta: &[f64],
        mean: bool,
    ) -> Option<CssValue> {
        let n = x.len();
        let ncond = phi.len();
        if n <= ncond {
            return None;
        }
        self.ar.clear();
        self.ar.extend(
            phi.iter()
                .enumerate()
                .filter(|(_, c)| **c != 0.0)
                .map(|(i, c)| (i + 1, *c)),
        );
        self.ma.clear();
        self.ma.extend(
            theta
                .iter()
                .enumerate()
                .filter(|(_, c)| **c != 0.0)
                .map(|(i, c)| (i + 1, *c)),
        );
        let one_minus: f64 = 1.0 - phi.iter().sum::<f64>();
        self.ey.clear();
        self.ey.resize(n, 0.0);
        self.e1.clear();
        self.e1.resize(n, 0.0);
        let (mut syy, mut sy1, mut s11) = (0.0f64, 0.0f64, 0.0f64);
        for t in ncond..n {
            let mut ey = x[t];
            for &(lag, c) in &self.ar {
                ey -= c * x[t - lag];
            }
            let mut e1 = one_minus;
            for &(lag, c) in &self.ma {
                if lag > t {
                    break;
                }
                ey -= c * self.ey[t - lag];
                e1 -= c * self.e1[t - lag];
            }
            self.ey[t] = ey;
            self.e1[t] = e1;
            syy += ey * ey;
            sy1 += ey * e1;
            s11 += e1 * e1;
        }
        let mu = if mean && s11 > 0.0 { sy1 / s11 } else { 0.0 };
        let ssq = (syy - mu * sy1).max(0.0);
        (ssq.is_finite() && mu.is_finite()).then_some(CssValue {
            ssq,
            n: n - ncond,
            mu,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ar1_css_is_least_squares() {
        let x = [1.0, 2.0, 1.5, 0.5, 1.0];
        let mut css = Css::default();
        let v = css.value(&x, &[0.5], &[], false).unwrap();
        let want: f64 = (1..5).map(|t| (x[t] - 0.5 * x[t - 1]).powi(2)).sum();
        assert!((v.ssq - want).abs() < 1e-12);
        assert_eq!(v.n, 4);
    }

    #[test]
    fn mean_is_concentrated() {
        let x = [3.0, 5.0, 4.0, 6.0];
        let mut css = Css::default();
        let v = css.value(&x, &[], &[], true).unwrap();
        assert!((v.mu - 4.5).abs() < 1e-12);
        assert!((v.ssq - 5.0).abs() < 1e-12);
        // MA(1) with the mean: residuals of x − μ with e_t = x_t − μ − θ e_{t−1}.
        let theta = 0.4;
        let v = css.value(&x, &[], &[theta], true).unwrap();
        let ssq_at = |mu: f64| {
            let mut e = 0.0;
            let mut s = 0.0;
            for &xt in &x {
                e = xt - mu - theta * e;
                s += e * e;
            }
            s
        };
        assert!((v.ssq - ssq_at(v.mu)).abs() < 1e-10);
        assert!(ssq_at(v.mu + 1e-3) > v.ssq && ssq_at(v.mu - 1e-3) > v.ssq);
    }
}
