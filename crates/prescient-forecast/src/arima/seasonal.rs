//! The seasonal decomposition of [`SeasonalStrategy::Decompose`](super::SeasonalStrategy):
//! STL for one period, MSTL for several (Bandara, Hyndman and Bergmeir 2021), both from
//! `stlrs` with R's `mstl` defaults (seasonal windows 11, 15, … from the shortest period,
//! no robustness iterations), and the seasonal pattern the forecasts repeat.

/// The most steps the combined seasonal pattern may have (the least common multiple of the
/// periods).
pub(crate) const MAX_PATTERN: usize = 100_000;

/// A seasonally adjusted series and the seasonal values of the steps after it.
#[derive(Debug, Clone)]
pub(crate) struct Decomposition {
    /// `y` minus its seasonal components.
    pub(crate) adjusted: Vec<f64>,
    /// The seasonal part of the next `len` steps, repeating: for each component, its last
    /// period; summed over the components (`len` = least common multiple of the periods).
    pub(crate) pattern: Vec<f64>,
    /// The periods used (those with at least two full cycles in `y`).
    pub(crate) periods: Vec<usize>,
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The periods of `periods` that `n` observations can decompose (two full cycles), sorted and
/// without repeats, and their least common multiple (`None` when it exceeds [`MAX_PATTERN`]).
pub(crate) fn usable_periods(periods: &[usize], n: usize) -> (Vec<usize>, Option<usize>) {
    let mut ps: Vec<usize> = periods
        .iter()
        .copied()
        .filter(|&p| p >= 2 && n >= 2 * p)
        .collect();
    ps.sort_unstable();
    ps.dedup();
    let mut lcm = 1usize;
    for &p in &ps {
        lcm = match (lcm / gcd(lcm, p)).checked_mul(p) {
            Some(l) if l <= MAX_PATTERN => l,
            _ => return (ps, None),
        };
    }
    (ps, Some(lcm))
}

/// Decomposes `y` by (M)STL on the usable `periods`; `None` when no period is usable or the
/// decomposition fails (the caller then models `y` itself).
pub(crate) fn decompose(
    y: &[f64],
    periods: &[usize],
    windows: Option<&[usize]>,
) -> Option<Decomposition> {
    let n = y.len();
    let (ps, lcm) = usable_periods(periods, n);
    let lcm = lcm?;
    if ps.is_empty() {
        return None;
    }
    let mut params = stlrs::MstlParams::new();
    if let Some(w) = windows {
        let w: Vec<usize> = (0..ps.len())
            .map(|i| w.get(i).or(w.last()).copied().unwrap_or(11))
            .collect();
        params.seasonal_lengths(&w);
    }
    let fit = params.fit(y, &ps).ok()?;
    let components = fit.seasonal();
    let mut adjusted = y.to_vec();
    for comp in components {
        for (a, s) in adjusted.iter_mut().zip(comp) {
            *a -= s;
        }
    }
    let mut pattern = vec![0.0; lcm];
    for (comp, &p) in components.iter().zip(&ps) {
        let last = &comp[n - p..];
        for (i, v) in pattern.iter_mut().enumerate() {
            *v += last[i % p];
        }
    }
    let finite = adjusted.iter().chain(&pattern).all(|v| v.is_finite());
    finite.then_some(Decomposition {
        adjusted,
        pattern,
        periods: ps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_need_two_cycles() {
        assert_eq!(usable_periods(&[168, 24], 300), (vec![24], Some(24)));
        assert_eq!(usable_periods(&[24, 168], 400), (vec![24, 168], Some(168)));
        assert_eq!(usable_periods(&[7, 24], 400), (vec![7, 24], Some(168)));
    }

    #[test]
    fn a_clean_cycle_is_removed() {
        let y: Vec<f64> = (0..240)
            .map(|t| 10.0 + [3.0, -1.0, -2.0, 0.0][t % 4])
            .collect();
        let dec = decompose(&y, &[4], None).unwrap();
        assert!(dec.adjusted.iter().all(|a| (a - 10.0).abs() < 1e-6));
        assert_eq!(dec.pattern.len(), 4);
        // The series ends at t = 239 (phase 3): the next step has phase 0.
        assert!((dec.pattern[0] - 3.0).abs() < 1e-6);
    }
}
