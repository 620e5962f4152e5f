//! A small bounded Nelder–Mead minimiser on the unit cube, for the smoothing parameters.
//!
//! Written here rather than taken from `argmin` because the problems are tiny (at most four
//! parameters, each in `[0, 1]`), the bounds are handled by projecting every trial point onto
//! the cube, and the whole thing is deterministic and allocation-light.

/// Minimises `f` over `[0, 1]^d` from the start `x0`, returning the best point and its value.
///
/// Non-finite values of `f` are treated as `+∞`.
pub(crate) fn nelder_mead<F>(f: &mut F, x0: &[f64], max_evals: usize) -> (Vec<f64>, f64)
where
    F: FnMut(&[f64]) -> f64,
{
    let d = x0.len();
    let mut eval = |x: &[f64], count: &mut usize| {
        *count += 1;
        let v = f(x);
        if v.is_nan() { f64::INFINITY } else { v }
    };
    let mut evals = 0usize;
    let start: Vec<f64> = x0.iter().map(|v| v.clamp(0.0, 1.0)).collect();
    if d == 0 {
        let v = eval(&start, &mut evals);
        return (start, v);
    }

    // The initial simplex: the start and one step of 0.1 along each axis (inwards at a bound).
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(d + 1);
    let v0 = eval(&start, &mut evals);
    simplex.push((start.clone(), v0));
    for i in 0..d {
        let mut x = start.clone();
        x[i] = if x[i] + 0.1 <= 1.0 {
            x[i] + 0.1
        } else {
            x[i] - 0.1
        };
        let v = eval(&x, &mut evals);
        simplex.push((x, v));
    }

    let project = |x: &mut Vec<f64>| x.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
    let mut centroid = vec![0.0; d];
    let mut trial = vec![0.0; d];
    while evals < max_evals {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (simplex[0].1, simplex[d].1);
        let size = simplex[1..]
            .iter()
            .flat_map(|(x, _)| x.iter().zip(&simplex[0].0).map(|(a, b)| (a - b).abs()))
            .fold(0.0f64, f64::max);
        if size < 1e-9 || (worst - best).abs() <= 1e-12 * best.abs().max(1e-300) && size < 1e-5 {
            break;
        }
        centroid.iter_mut().for_each(|c| *c = 0.0);
        for (x, _) in &simplex[..d] {
            centroid
                .iter_mut()
                .zip(x)
                .for_each(|(c, v)| *c += v / d as f64);
        }
        let along = |t: f64, out: &mut Vec<f64>, worst: &[f64]| {
            out.iter_mut()
                .zip(centroid.iter().zip(worst))
                .for_each(|(o, (c, w))| *o = c + t * (c - w));
            project(out);
        };
        let worst_x = simplex[d].0.clone();
        along(1.0, &mut trial, &worst_x);
        let fr = eval(&trial, &mut evals);
        if fr < best {
            let reflected = trial.clone();
            along(2.0, &mut trial, &worst_x);
            let fe = eval(&trial, &mut evals);
            simplex[d] = if fe < fr {
                (trial.clone(), fe)
            } else {
                (reflected, fr)
            };
        } else if fr < simplex[d - 1].1 {
            simplex[d] = (trial.clone(), fr);
        } else {
            let outside = fr < worst;
            along(if outside { 0.5 } else { -0.5 }, &mut trial, &worst_x);
            let fc = eval(&trial, &mut evals);
            if fc < fr.min(worst) {
                simplex[d] = (trial.clone(), fc);
            } else {
                // Shrink towards the best vertex.
                let best_x = simplex[0].0.clone();
                for (x, v) in simplex.iter_mut().skip(1) {
                    x.iter_mut()
                        .zip(&best_x)
                        .for_each(|(a, b)| *a = b + 0.5 * (*a - b));
                    *v = eval(x, &mut evals);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, v) = simplex.swap_remove(0);
    (x, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_an_interior_minimum() {
        let mut f = |x: &[f64]| (x[0] - 0.3).powi(2) + 10.0 * (x[1] - 0.7).powi(2);
        let (x, v) = nelder_mead(&mut f, &[0.9, 0.1], 2000);
        assert!(
            (x[0] - 0.3).abs() < 1e-4 && (x[1] - 0.7).abs() < 1e-4,
            "{x:?}"
        );
        assert!(v < 1e-8);
    }

    #[test]
    fn stays_in_the_cube_at_a_boundary_minimum() {
        let mut f = |x: &[f64]| (x[0] + 1.0).powi(2) + (x[1] - 2.0).powi(2);
        let (x, _) = nelder_mead(&mut f, &[0.5, 0.5], 2000);
        assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(x[0] < 1e-4 && x[1] > 1.0 - 1e-4, "{x:?}");
    }

    #[test]
    fn nan_is_treated_as_infinity() {
        let mut f = |x: &[f64]| {
            if x[0] > 0.5 {
                f64::NAN
            } else {
                (x[0] - 0.2).powi(2)
            }
        };
        let (x, v) = nelder_mead(&mut f, &[0.4], 500);
        assert!((x[0] - 0.2).abs() < 1e-4 && v.is_finite());
    }
}
