//! The order search of Hyndman and Khandakar (2008), as R's `forecast::auto.arima` runs it.

use super::ArimaOrder;
use super::estimate::{Estimate, Method, Prepared, estimate};
use super::kpss::{is_constant, ndiffs, nsdiffs};
use super::params::AutoArimaParams;
use super::poly::{apply_difference, differencing};

/// The most models the stepwise search estimates (R's `nmodels`).
const MAX_MODELS: usize = 94;

/// What the search chose.
#[derive(Debug, Clone)]
pub(crate) enum Choice {
    /// An estimated model.
    Model(Estimate),
    /// The differenced series is constant: `(0, d, 0)(0, D, 0)` with that constant as the mean
    /// of the differenced series (when `d + D ≤ 1`) and no noise.
    Constant { order: ArimaOrder, mu: f64 },
}

/// A model of the search: its order and whether it has a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    p: usize,
    q: usize,
    sp: usize,
    sq: usize,
    constant: bool,
}

/// Runs the automatic procedure on `z` (already seasonally adjusted if it was decomposed),
/// with `m` the seasonal ARIMA period (≤ 1 for none). `None` only if no model at all could be
/// estimated.
pub(crate) fn auto_arima(z: &[f64], params: &AutoArimaParams, m: usize) -> Option<Choice> {
    let n = z.len();
    let seasonal = m > 1;
    let m_eff = if seasonal { m } else { 0 };
    if is_constant(z) {
        return Some(Choice::Constant {
            order: ArimaOrder::new(0, 0, 0),
            mu: z.first().copied().unwrap_or(0.0),
        });
    }
    // Seasonal differences, then first differences.
    let sd = if !seasonal {
        0
    } else if let Some(sd) = params.sd {
        sd
    } else if n <= 2 * m {
        0
    } else {
        nsdiffs(z, m, params.max_sd)
    };
    let after_sd = apply_difference(z, &differencing(0, sd, m_eff));
    let d = match params.d {
        Some(d) => d,
        None => ndiffs(&after_sd, params.alpha, params.max_d),
    };
    let mut order0 = ArimaOrder::new(0, d, 0);
    if seasonal {
        order0 = order0.with_seasonal(0, sd, 0, m);
    }
    let w = apply_difference(z, &differencing(d, sd, m_eff));
    if w.len() < 2 || is_constant(&w) {
        let mu = if d + sd <= 1 {
            w.first().copied().unwrap_or(0.0)
        } else {
            0.0
        };
        return Some(Choice::Constant { order: order0, mu });
    }

    let allow_constant = params.allow_constant && d + sd <= 1;
    let nw = w.len();
    let mut max_p = params.max_p.min(n / 3);
    let mut max_q = params.max_q.min(n / 3);
    let (mut max_sp, mut max_sq) = (0, 0);
    if seasonal {
        max_sp = params.max_sp.min(n / 3 / m);
        max_sq = params.max_sq.min(n / 3 / m);
        max_p = max_p.min(m - 1);
        max_q = max_q.min(m - 1);
    }
    let approximation = params
        .approximation
        .unwrap_or(n > 150 || (seasonal && m > 12));
    let method = if approximation {
        Method::Css
    } else {
        Method::CssMl
    };

    let prep_c = if allow_constant {
        Prepared::new(&w, true)
    } else {
        None
    };
    let prep_0 = Prepared::new(&w, false)?;
    let prep_for = |constant: bool| -> &Prepared {
        match (&prep_c, constant) {
            (Some(p), true) => p,
            _ => &prep_0,
        }
    };

    // R's offset puts the CSS criterion on the likelihood's scale: the ML fit of the order
    // without ARMA terms (with a mean only when undifferenced, as `arima`'s default).
    let offset = if approximation {
        let mean = d + sd == 0 && allow_constant;
        estimate(prep_for(mean), order0, mean, Method::Ml, 0.0, None)
            .map(|e| -2.0 * e.loglik - nw as f64 * e.log_sigma2_ml)
            .unwrap_or(0.0)
    } else {
        0.0
    };

    let mut tried: Vec<(Key, f64)> = Vec::new();
    let mut fits: Vec<Estimate> = Vec::new();
    let mut fit = |key: Key, tried: &mut Vec<(Key, f64)>| -> f64 {
        let order = ArimaOrder {
            p: key.p,
            q: key.q,
            sp: key.sp,
            sq: key.sq,
            ..order0
        };
        let est = estimate(
            prep_for(key.constant),
            order,
            key.constant,
            method,
            offset,
            None,
        );
        let ic = est.as_ref().map_or(f64::INFINITY, |e| e.ic);
        tried.push((key, ic));
        if let Some(e) = est {
            fits.push(e);
        }
        ic
    };

    let seen = |tried: &[(Key, f64)], key: Key| tried.iter().any(|(k, _)| *k == key);
    if params.stepwise {
        let start = |v: usize, max: usize| v.min(max);
        let (sp0, sq0) = if n < 10 { (0, 0) } else { (1, 1) };
        let (p0, q0) = if n < 10 { (1, 1) } else { (2, 2) };
        let mut best = Key {
            p: start(p0, max_p),
            q: start(q0, max_q),
            sp: start(sp0, max_sp),
            sq: start(sq0, max_sq),
            constant: allow_constant,
        };
        let mut best_ic = fit(best, &mut tried);
        let mut consider =
            |key: Key, tried: &mut Vec<(Key, f64)>, best: &mut Key, best_ic: &mut f64| {
                if seen(tried, key) || tried.len() >= MAX_MODELS {
                    return false;
                }
                let ic = fit(key, tried);
                if ic < *best_ic {
                    *best_ic = ic;
                    *best = key;
                    true
                } else {
                    false
                }
            };
        let c = allow_constant;
        let base = Key {
            p: 0,
            q: 0,
            sp: 0,
            sq: 0,
            constant: c,
        };
        consider(base, &mut tried, &mut best, &mut best_ic);
        if max_p > 0 || max_sp > 0 {
            let k = Key {
                p: usize::from(max_p > 0),
                sp: usize::from(seasonal && max_sp > 0),
                ..base
            };
            consider(k, &mut tried, &mut best, &mut best_ic);
        }
        if max_q > 0 || max_sq > 0 {
            let k = Key {
                q: usize::from(max_q > 0),
                sq: usize::from(seasonal && max_sq > 0),
                ..base
            };
            consider(k, &mut tried, &mut best, &mut best_ic);
        }
        if c {
            let k = Key {
                constant: false,
                ..base
            };
            consider(k, &mut tried, &mut best, &mut best_ic);
        }
        // Move to the first neighbour that improves, until none does.
        loop {
            if tried.len() >= MAX_MODELS {
                break;
            }
            let b = best;
            let mut neighbours: Vec<Key> = Vec::with_capacity(17);
            let step = |v: usize, delta: i32, max: usize| -> Option<usize> {
                let nv = v as i64 + i64::from(delta);
                (nv >= 0 && nv as usize <= max).then_some(nv as usize)
            };
            for (dsp, dsq) in [
                (-1, 0),
                (0, -1),
                (1, 0),
                (0, 1),
                (-1, -1),
                (-1, 1),
                (1, -1),
                (1, 1),
            ] {
                if let (Some(sp), Some(sq)) = (step(b.sp, dsp, max_sp), step(b.sq, dsq, max_sq)) {
                    neighbours.push(Key { sp, sq, ..b });
                }
            }
            for (dp, dq) in [
                (-1, 0),
                (0, -1),
                (1, 0),
                (0, 1),
                (-1, -1),
                (-1, 1),
                (1, -1),
                (1, 1),
            ] {
                if let (Some(p), Some(q)) = (step(b.p, dp, max_p), step(b.q, dq, max_q)) {
                    neighbours.push(Key { p, q, ..b });
                }
            }
            if allow_constant {
                neighbours.push(Key {
                    constant: !b.constant,
                    ..b
                });
            }
            let mut improved = false;
            for k in neighbours {
                if k == b {
                    continue;
                }
                if consider(k, &mut tried, &mut best, &mut best_ic) {
                    improved = true;
                    break;
                }
            }
            if !improved {
                break;
            }
        }
    } else {
        for p in 0..=max_p {
            for q in 0..=max_q {
                for sp in 0..=max_sp {
                    for sq in 0..=max_sq {
                        if p + q + sp + sq > params.max_order {
                            continue;
                        }
                        for constant in [true, false] {
                            if constant && !allow_constant {
                                continue;
                            }
                            fit(
                                Key {
                                    p,
                                    q,
                                    sp,
                                    sq,
                                    constant,
                                },
                                &mut tried,
                            );
                        }
                    }
                }
            }
        }
    }

    // The winner by the criterion; with the approximation, re-estimate the candidates exactly
    // in the order of their CSS criterion until one is acceptable.
    let mut ranked: Vec<Estimate> = fits;
    ranked.sort_by(|a, b| a.ic.total_cmp(&b.ic));
    if approximation {
        for cand in &ranked {
            if !cand.ic.is_finite() {
                break;
            }
            let exact = estimate(
                prep_for(cand.constant),
                cand.order,
                cand.constant,
                Method::CssMl,
                0.0,
                None,
            );
            if let Some(e) = exact.filter(|e| e.ic.is_finite()) {
                return Some(Choice::Model(e));
            }
        }
    } else if let Some(best) = ranked.into_iter().next().filter(|e| e.ic.is_finite()) {
        return Some(Choice::Model(best));
    }
    // Nothing acceptable: the plain differenced model, exactly.
    let constant = allow_constant;
    estimate(prep_for(constant), order0, constant, Method::Ml, 0.0, None).map(Choice::Model)
}
