//! Lag polynomials: the partial-autocorrelation parametrisation that keeps the AR part
//! stationary and the MA part invertible, the expansion of the seasonal products, the root
//! check, differencing and ψ-weights.
//!
//! Conventions, as in R's `stats::arima`: the AR polynomial is `1 − φ₁B − … − φ_pB^p` and the
//! MA polynomial `1 + θ₁B + … + θ_qB^q`; slices hold `φ₁…φ_p` and `θ₁…θ_q`.

/// Maps unconstrained values to the coefficients of a stationary AR polynomial.
///
/// Each raw value goes through `tanh` to a partial autocorrelation in `(−1, 1)`, and the
/// Durbin–Levinson recursion turns the partial autocorrelations into AR coefficients (Jones
/// 1980; R's `partrans`). Every output is stationary, and every stationary polynomial has a
/// preimage, so an optimiser can roam over all of `ℝ^p`.
pub(crate) fn partrans(raw: &[f64], out: &mut [f64]) {
    let p = raw.len();
    debug_assert_eq!(out.len(), p);
    for (o, &r) in out.iter_mut().zip(raw) {
        *o = r.tanh();
    }
    // In-place Durbin–Levinson: after step j, out[..=j] are the AR(j+1) coefficients.
    for j in 1..p {
        let a = out[j];
        let (mut lo, mut hi) = (0usize, j - 1);
        while lo < hi {
            let (x, y) = (out[lo], out[hi]);
            out[lo] = x - a * y;
            out[hi] = y - a * x;
            lo += 1;
            hi -= 1;
        }
        if lo == hi {
            out[lo] -= a * out[lo];
        }
    }
}

/// The partial autocorrelations of the AR polynomial with coefficients `phi`, into `out`, or
/// `false` when the polynomial is not stationary (a partial autocorrelation reaches ±1).
///
/// The inverse of the Durbin–Levinson recursion of [`partrans`] (before the `tanh`); it is also
/// the Schur–Cohn stability test.
pub(crate) fn pacf_of(phi: &[f64], out: &mut [f64]) -> bool {
    let p = phi.len();
    debug_assert_eq!(out.len(), p);
    out.copy_from_slice(phi);
    for j in (1..p).rev() {
        let a = out[j];
        let denom = 1.0 - a * a;
        if (denom.is_nan() || denom <= 0.0) || !a.is_finite() {
            return false;
        }
        let (mut lo, mut hi) = (0usize, j - 1);
        while lo < hi {
            let (x, y) = (out[lo], out[hi]);
            out[lo] = (x + a * y) / denom;
            out[hi] = (y + a * x) / denom;
            lo += 1;
            hi -= 1;
        }
        if lo == hi {
            out[lo] = out[lo] * (1.0 + a) / denom;
        }
    }
    out.first().is_none_or(|&a| a.abs() < 1.0 && a.is_finite())
}

/// The unconstrained values whose [`partrans`] is `phi`, or `None` when `phi` is not stationary.
#[cfg(test)]
pub(crate) fn inv_partrans(phi: &[f64]) -> Option<Vec<f64>> {
    let mut out = vec![0.0; phi.len()];
    if !pacf_of(phi, &mut out) {
        return None;
    }
    // Keep the values finite: a partial autocorrelation of ±1 − 1e-16 would give atanh ≈ ±19.
    out.iter_mut()
        .for_each(|k| *k = k.clamp(-1.0 + 1e-12, 1.0 - 1e-12).atanh());
    Some(out)
}

/// Whether every root of the AR-style polynomial `1 − c₁z − … − c_kz^k` lies outside the circle
/// of radius `radius` (≥ 1). With `radius = 1` this is stationarity.
///
/// The roots of `1 − Σ cᵢ(ρz)^i` are those of the original divided by ρ, so the test is the
/// Schur–Cohn test on the rescaled coefficients.
pub(crate) fn roots_outside(coefs: &[f64], radius: f64) -> bool {
    // Trailing zeros do not add roots.
    let k = coefs.iter().rposition(|c| *c != 0.0).map_or(0, |i| i + 1);
    if k == 0 {
        return true;
    }
    let mut scaled: Vec<f64> = Vec::with_capacity(k);
    let mut pow = 1.0;
    for &c in &coefs[..k] {
        pow *= radius;
        scaled.push(c * pow);
    }
    let mut pacf = vec![0.0; k];
    pacf_of(&scaled, &mut pacf) && pacf.iter().all(|a| a.abs() < 1.0)
}

/// Multiplies a non-seasonal and a seasonal AR polynomial: `(1 − Σφᵢ B^i)(1 − Σ Φⱼ B^{mj})`,
/// returned as the coefficients `c` of `1 − Σ c_k B^k` (length `p + mP`).
pub(crate) fn expand_ar(phi: &[f64], sphi: &[f64], m: usize, out: &mut Vec<f64>) {
    let (p, sp) = (phi.len(), sphi.len());
    out.clear();
    out.resize(p + m * sp, 0.0);
    out[..p].copy_from_slice(phi);
    for (j, &s) in sphi.iter().enumerate() {
        let base = (j + 1) * m;
        out[base - 1] += s;
        for (i, &f) in phi.iter().enumerate() {
            out[base + i] -= f * s;
        }
    }
}

/// Multiplies a non-seasonal and a seasonal MA polynomial: `(1 + Σθᵢ B^i)(1 + Σ Θⱼ B^{mj})`,
/// returned as the coefficients `c` of `1 + Σ c_k B^k` (length `q + mQ`).
pub(crate) fn expand_ma(theta: &[f64], stheta: &[f64], m: usize, out: &mut Vec<f64>) {
    let (q, sq) = (theta.len(), stheta.len());
    out.clear();
    out.resize(q + m * sq, 0.0);
    out[..q].copy_from_slice(theta);
    for (j, &s) in stheta.iter().enumerate() {
        let base = (j + 1) * m;
        out[base - 1] += s;
        for (i, &t) in theta.iter().enumerate() {
            out[base + i] += t * s;
        }
    }
}

/// The coefficients `δ` of the differencing polynomial `(1 − B)^d (1 − B^m)^D = 1 + Σ δ_k B^k`
/// (length `d + mD`).
pub(crate) fn differencing(d: usize, sd: usize, m: usize) -> Vec<f64> {
    let mut poly = vec![1.0];
    let mut times = |lag: usize, count: usize| {
        for _ in 0..count {
            let mut next = vec![0.0; poly.len() + lag];
            for (i, &c) in poly.iter().enumerate() {
                next[i] += c;
                next[i + lag] -= c;
            }
            poly = next;
        }
    };
    times(1, d);
    if m > 0 {
        times(m, sd);
    }
    poly.remove(0);
    poly
}

/// `y` differenced by the polynomial `1 + Σ δ_k B^k`: `w_t = y_t + Σ δ_k y_{t−k}` for
/// `t ≥ len(δ)` (the first `len(δ)` values have no full past and are dropped).
pub(crate) fn apply_difference(y: &[f64], delta: &[f64]) -> Vec<f64> {
    let l = delta.len();
    if y.len() <= l {
        return Vec::new();
    }
    (l..y.len())
        .map(|t| {
            let mut w = y[t];
            for (k, &c) in delta.iter().enumerate() {
                if c != 0.0 {
                    w += c * y[t - k - 1];
                }
            }
            w
        })
        .collect()
}

/// The first `h` ψ-weights of `θ(B) / (φ(B)Δ(B))`: the MA(∞) form of the whole ARIMA model
/// including its differencing, `ψ₀ = 1`. `ar` holds the coefficients `c` of `1 − Σ c_k B^k` for
/// `φ(B)Δ(B)`, `ma` the coefficients of `1 + Σ θ_k B^k`.
pub(crate) fn psi_weights(ar: &[f64], ma: &[f64], h: usize) -> Vec<f64> {
    let mut psi = vec![0.0; h];
    if h == 0 {
        return psi;
    }
    psi[0] = 1.0;
    for j in 1..h {
        let mut v = ma.get(j - 1).copied().unwrap_or(0.0);
        for (i, &c) in ar.iter().enumerate().take(j) {
            v += c * psi[j - 1 - i];
        }
        psi[j] = v;
    }
    psi
}

/// The AR coefficients (in `1 − Σ c_k B^k` form) of `φ(B)·Δ(B)`, where `Δ = 1 + Σ δ_k B^k`.
pub(crate) fn integrate_ar(phi: &[f64], delta: &[f64]) -> Vec<f64> {
    // (1 − Σφᵢ Bⁱ)(1 + Σ δ_k B^k) = 1 + Σ_k (δ_k − φ_k − Σ φᵢ δ_{k−i}) B^k
    let n = phi.len() + delta.len();
    let mut full = vec![0.0; n + 1];
    full[0] = 1.0;
    let a: Vec<f64> = std::iter::once(1.0).chain(phi.iter().map(|f| -f)).collect();
    let b: Vec<f64> = std::iter::once(1.0).chain(delta.iter().copied()).collect();
    for (i, &x) in a.iter().enumerate() {
        for (j, &y) in b.iter().enumerate() {
            if i + j > 0 {
                full[i + j] += x * y;
            }
        }
    }
    full[1..].iter().map(|c| -c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partrans_round_trip() {
        let raw = [0.3, -1.2, 0.7, 2.0];
        let mut phi = [0.0; 4];
        partrans(&raw, &mut phi);
        assert!(roots_outside(&phi, 1.0));
        let back = inv_partrans(&phi).unwrap();
        for (a, b) in raw.iter().zip(&back) {
            assert!((a - b).abs() < 1e-9, "{raw:?} {back:?}");
        }
    }

    #[test]
    fn partrans_of_one_and_two() {
        let mut phi = [0.0];
        partrans(&[0.5], &mut phi);
        assert!((phi[0] - 0.5f64.tanh()).abs() < 1e-15);
        // AR(2) from PACF (k1, k2): φ1 = k1(1 − k2), φ2 = k2.
        let mut phi = [0.0; 2];
        partrans(&[0.4f64.atanh(), (-0.3f64).atanh()], &mut phi);
        assert!((phi[0] - 0.4 * 1.3).abs() < 1e-12);
        assert!((phi[1] + 0.3).abs() < 1e-12);
    }

    #[test]
    fn stationarity_and_radius() {
        assert!(roots_outside(&[0.5], 1.0));
        assert!(!roots_outside(&[1.0], 1.0));
        assert!(!roots_outside(&[1.2], 1.0));
        // Root of 1 − 0.995 z is at 1.005: stationary, but not outside 1.01.
        assert!(roots_outside(&[0.995], 1.0));
        assert!(!roots_outside(&[0.995], 1.01));
        // 1 − 1.5z + 0.56 z² = (1 − 0.7z)(1 − 0.8z): roots 1.43 and 1.25.
        assert!(roots_outside(&[1.5, -0.56], 1.2));
        assert!(!roots_outside(&[1.5, -0.56], 1.3));
        assert!(roots_outside(&[], 1.0));
        assert!(roots_outside(&[0.5, 0.0, 0.0], 1.0));
    }

    #[test]
    fn seasonal_expansion() {
        let mut out = Vec::new();
        expand_ar(&[0.5], &[0.3], 4, &mut out);
        assert_eq!(out, vec![0.5, 0.0, 0.0, 0.3, -0.15]);
        expand_ma(&[0.5], &[0.3], 4, &mut out);
        assert_eq!(out, vec![0.5, 0.0, 0.0, 0.3, 0.15]);
    }

    #[test]
    fn differencing_polynomials() {
        assert_eq!(differencing(1, 0, 0), vec![-1.0]);
        assert_eq!(differencing(2, 0, 0), vec![-2.0, 1.0]);
        assert_eq!(differencing(1, 1, 3), vec![-1.0, 0.0, -1.0, 1.0]);
        let y = [1.0, 4.0, 9.0, 16.0];
        assert_eq!(
            apply_difference(&y, &differencing(1, 0, 0)),
            vec![3.0, 5.0, 7.0]
        );
        assert_eq!(apply_difference(&y, &differencing(2, 0, 0)), vec![2.0, 2.0]);
    }

    #[test]
    fn psi_of_random_walk_and_ima() {
        // ARIMA(0,1,1) with θ = −0.5: ψ_j = 1 + θ = 0.5 for j ≥ 1.
        let ar = integrate_ar(&[], &differencing(1, 0, 0));
        assert_eq!(ar, vec![1.0]);
        let psi = psi_weights(&ar, &[-0.5], 4);
        assert_eq!(psi, vec![1.0, 0.5, 0.5, 0.5]);
        // AR(1): ψ_j = φ^j.
        let psi = psi_weights(&[0.5], &[], 4);
        assert_eq!(psi, vec![1.0, 0.5, 0.25, 0.125]);
    }
}
