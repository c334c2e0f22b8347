//! A small box-bounded Nelder–Mead minimizer (own code; parameters are clamped into the box).

/// Limits of one minimization.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NelderMeadOptions {
    /// Most objective evaluations.
    pub max_evals: usize,
    /// Stop when the spread of objective values across the simplex falls below this (relative).
    pub f_tol: f64,
    /// Initial simplex step as a fraction of each box width.
    pub step: f64,
}

impl Default for NelderMeadOptions {
    fn default() -> Self {
        NelderMeadOptions {
            max_evals: 200,
            f_tol: 1e-7,
            step: 0.1,
        }
    }
}

/// Result of a minimization.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub f: f64,
    pub evals: usize,
}

/// Minimizes `f` over the box `[lower, upper]` from `x0` (clamped into the box). Non-finite objective
/// values count as +∞. All slices must have the same length.
pub fn nelder_mead<F>(
    mut f: F,
    x0: &[f64],
    lower: &[f64],
    upper: &[f64],
    opts: NelderMeadOptions,
) -> Minimum
where
    F: FnMut(&[f64]) -> f64,
{
    let d = x0.len();
    let clamp = |x: &mut Vec<f64>| {
        for ((v, lo), hi) in x.iter_mut().zip(lower).zip(upper) {
            *v = v.clamp(*lo, *hi);
        }
    };
    let mut evals = 0usize;
    let mut eval = |x: &[f64], evals: &mut usize| {
        *evals += 1;
        let v = f(x);
        if v.is_finite() {
            v
        } else {
            f64::INFINITY
        }
    };
    let mut start = x0.to_vec();
    clamp(&mut start);
    if d == 0 {
        let fx = eval(&start, &mut evals);
        return Minimum {
            x: start,
            f: fx,
            evals,
        };
    }
    // initial simplex: step towards the roomier side of each coordinate
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(d + 1);
    let f0 = eval(&start, &mut evals);
    simplex.push((start.clone(), f0));
    for i in 0..d {
        let mut x = start.clone();
        let width = upper[i] - lower[i];
        let step = opts.step * width;
        x[i] = if upper[i] - x[i] >= x[i] - lower[i] {
            x[i] + step
        } else {
            x[i] - step
        };
        clamp(&mut x);
        let fx = eval(&x, &mut evals);
        simplex.push((x, fx));
    }
    let (alpha, gamma, rho, sigma) = (1.0, 2.0, 0.5, 0.5);
    while evals < opts.max_evals {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let best = simplex[0].1;
        let worst = simplex[d].1;
        if worst.is_finite() && (worst - best).abs() <= opts.f_tol * (best.abs() + opts.f_tol) {
            break;
        }
        let mut centroid = vec![0.0; d];
        for (x, _) in &simplex[..d] {
            for (c, v) in centroid.iter_mut().zip(x) {
                *c += v / d as f64;
            }
        }
        let along = |t: f64, worst: &[f64]| -> Vec<f64> {
            centroid
                .iter()
                .zip(worst)
                .map(|(c, w)| c + t * (c - w))
                .collect()
        };
        let mut xr = along(alpha, &simplex[d].0);
        clamp(&mut xr);
        let fr = eval(&xr, &mut evals);
        if fr < simplex[0].1 {
            let mut xe = along(gamma, &simplex[d].0);
            clamp(&mut xe);
            let fe = eval(&xe, &mut evals);
            simplex[d] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < simplex[d - 1].1 {
            simplex[d] = (xr, fr);
        } else {
            let (mut xc, outside) = if fr < simplex[d].1 {
                (along(rho, &simplex[d].0), true)
            } else {
                (along(-rho, &simplex[d].0), false)
            };
            clamp(&mut xc);
            let fc = eval(&xc, &mut evals);
            let threshold = if outside { fr } else { simplex[d].1 };
            if fc < threshold {
                simplex[d] = (xc, fc);
            } else {
                let x_best = simplex[0].0.clone();
                for (x, fx) in simplex.iter_mut().skip(1) {
                    for (v, b) in x.iter_mut().zip(&x_best) {
                        *v = b + sigma * (*v - b);
                    }
                    *fx = eval(x, &mut evals);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, f) = simplex.swap_remove(0);
    Minimum { x, f, evals }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_quadratic_minimum() {
        let m = nelder_mead(
            |x| (x[0] - 0.3).powi(2) + 2.0 * (x[1] + 0.5).powi(2),
            &[0.0, 0.0],
            &[-1.0, -1.0],
            &[1.0, 1.0],
            NelderMeadOptions {
                max_evals: 500,
                f_tol: 1e-14,
                step: 0.2,
            },
        );
        assert!((m.x[0] - 0.3).abs() < 1e-4, "{:?}", m);
        assert!((m.x[1] + 0.5).abs() < 1e-4, "{:?}", m);
    }

    #[test]
    fn respects_bounds() {
        let m = nelder_mead(
            |x| (x[0] - 5.0).powi(2),
            &[0.5],
            &[0.0],
            &[1.0],
            NelderMeadOptions::default(),
        );
        assert!((m.x[0] - 1.0).abs() < 1e-6);
        assert!(m.evals <= NelderMeadOptions::default().max_evals + 2);
    }

    #[test]
    fn rosenbrock_within_budget() {
        let m = nelder_mead(
            |x| 100.0 * (x[1] - x[0] * x[0]).powi(2) + (1.0 - x[0]).powi(2),
            &[-1.2, 1.0],
            &[-2.0, -2.0],
            &[2.0, 2.0],
            NelderMeadOptions {
                max_evals: 2000,
                f_tol: 1e-16,
                step: 0.1,
            },
        );
        assert!(m.f < 1e-6, "{:?}", m);
    }
}
