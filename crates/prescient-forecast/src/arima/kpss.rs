//! Unit-root and seasonality tests that choose the differencing orders.
//!
//! - `d`: the KPSS test (Kwiatkowski, Phillips, Schmidt and Shin 1992) for level stationarity,
//!   repeated on the differenced series while it rejects, as R's `forecast::ndiffs` does;
//! - `D`: the seasonal-strength heuristic of R's `forecast::nsdiffs(test = "seas")`: one
//!   seasonal difference when the STL seasonal strength exceeds 0.64.

/// The KPSS level-stationarity statistic of `x` with `lags` Bartlett-weighted autocovariances
/// in the long-run variance (statsmodels' `kpss(x, "c", nlags=lags)`, urca's `ur.kpss`).
///
/// `None` for fewer than two values or a constant series.
pub(crate) fn kpss_statistic(x: &[f64], lags: usize) -> Option<f64> {
    let n = x.len();
    if n < 2 {
        return None;
    }
    // The statistic does not depend on the units: work in units of the largest magnitude so
    // that no square overflows or underflows.
    let big = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if !(big > 0.0 && big.is_finite()) {
        return None;
    }
    let scaled: Vec<f64> = x.iter().map(|v| v / big).collect();
    let x = &scaled[..];
    let mean = x.iter().sum::<f64>() / n as f64;
    let mut eta = 0.0;
    let mut s = 0.0;
    let mut gamma0 = 0.0;
    for &v in x {
        let e = v - mean;
        s += e;
        eta += s * s;
        gamma0 += e * e;
    }
    let mut lrv = gamma0;
    for k in 1..=lags.min(n - 1) {
        let w = 1.0 - k as f64 / (lags as f64 + 1.0);
        let g: f64 = (k..n).map(|t| (x[t] - mean) * (x[t - k] - mean)).sum();
        lrv += 2.0 * w * g;
    }
    let nf = n as f64;
    let lrv = lrv / nf;
    if (lrv.is_nan() || lrv <= 0.0) || !lrv.is_finite() {
        return None;
    }
    Some(eta / (nf * nf) / lrv)
}

/// The lag truncation R's `ndiffs` and statsforecast use: `⌊3√n / 13⌋`.
pub(crate) fn kpss_lags(n: usize) -> usize {
    (3.0 * (n as f64).sqrt() / 13.0).floor() as usize
}

/// The KPSS (level) critical value at significance `alpha`, interpolated linearly in the
/// table of Kwiatkowski et al. (1992) the way statsmodels interpolates its p-values.
pub(crate) fn kpss_critical(alpha: f64) -> f64 {
    const TABLE: [(f64, f64); 4] = [(0.10, 0.347), (0.05, 0.463), (0.025, 0.574), (0.01, 0.739)];
    let alpha = alpha.clamp(0.01, 0.10);
    for w in TABLE.windows(2) {
        let ((a0, c0), (a1, c1)) = (w[0], w[1]);
        if alpha <= a0 && alpha >= a1 {
            return c0 + (c1 - c0) * (a0 - alpha) / (a0 - a1);
        }
    }
    0.463
}

/// Whether every value of `x` is the same (an empty series counts as constant).
pub(crate) fn is_constant(x: &[f64]) -> bool {
    x.first().is_none_or(|&f| x.iter().all(|&v| v == f))
}

/// The number of first differences (at most `max_d`) that make `x` level-stationary by KPSS at
/// significance `alpha` (R's `ndiffs(x, test = "kpss")`).
pub(crate) fn ndiffs(x: &[f64], alpha: f64, max_d: usize) -> usize {
    let crit = kpss_critical(alpha);
    let rejects = |x: &[f64]| kpss_statistic(x, kpss_lags(x.len())).is_some_and(|s| s > crit);
    if is_constant(x) {
        return 0;
    }
    let mut d = 0;
    let mut cur = x.to_vec();
    while d < max_d && rejects(&cur) {
        d += 1;
        cur = cur.windows(2).map(|w| w[1] - w[0]).collect();
        if is_constant(&cur) {
            return d;
        }
    }
    d
}

/// The seasonal strength `max(0, 1 − Var(R) / Var(S + R))` of an STL decomposition of `x` with
/// period `m` (R's `seas.heuristic`), `None` if the decomposition fails.
pub(crate) fn seasonal_strength(x: &[f64], m: usize) -> Option<f64> {
    let fit = stlrs::MstlParams::new().fit(x, &[m]).ok()?;
    let seasonal = fit.seasonal().first()?;
    let remainder = fit.remainder();
    let var = |it: &mut dyn Iterator<Item = f64>| {
        let v: Vec<f64> = it.collect();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)
    };
    let vr = var(&mut remainder.iter().copied());
    let vsr = var(&mut remainder.iter().zip(seasonal).map(|(r, s)| r + s));
    if vsr.is_nan() || vsr <= 0.0 {
        return Some(0.0);
    }
    Some((1.0 - vr / vsr).clamp(0.0, 1.0))
}

/// The number of seasonal differences (at most `max_sd`) by the seasonal-strength test.
pub(crate) fn nsdiffs(x: &[f64], m: usize, max_sd: usize) -> usize {
    if m < 2 || is_constant(x) || x.len() < 2 * m + 1 {
        return 0;
    }
    let mut sd = 0;
    let mut cur = x.to_vec();
    while sd < max_sd && seasonal_strength(&cur, m).is_some_and(|s| s > 0.64) {
        sd += 1;
        cur = (m..cur.len()).map(|t| cur[t] - cur[t - m]).collect();
        if is_constant(&cur) || cur.len() < 2 * m + 1 {
            break;
        }
    }
    sd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_values() {
        assert!((kpss_critical(0.05) - 0.463).abs() < 1e-12);
        assert!((kpss_critical(0.01) - 0.739).abs() < 1e-12);
        assert!((kpss_critical(0.075) - 0.405).abs() < 1e-12);
    }

    #[test]
    fn constant_series_has_no_statistic() {
        assert!(kpss_statistic(&[2.0; 10], 2).is_none());
        assert_eq!(ndiffs(&[2.0; 10], 0.05, 2), 0);
    }
}
