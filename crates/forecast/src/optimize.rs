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
    let mut nm = NelderMead::new(x0, lower, upper, opts);
    while let Some(x) = nm.ask() {
        let v = f(x);
        nm.tell(v);
    }
    nm.minimum()
}

/// What the next objective value told to a [`NelderMead`] is for.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Vertex `i` of the initial simplex (0: the start).
    Init(usize),
    Reflect,
    /// The expansion, with the reflected point and its value.
    Expand {
        xr: Vec<f64>,
        fr: f64,
    },
    /// A contraction (outside or inside) after the reflected value `fr`.
    Contract {
        outside: bool,
        fr: f64,
    },
    /// Vertex `i` (1..=d) of a shrunk simplex.
    Shrink(usize),
    Done,
}

/// [`nelder_mead`] as an ask/tell state machine, so that several minimizations can run in
/// lockstep and have their objective evaluated together (one pass over the data for all of
/// them). The sequence of points asked is exactly the one `nelder_mead` evaluates.
#[derive(Debug, Clone, PartialEq)]
pub struct NelderMead {
    lower: Vec<f64>,
    upper: Vec<f64>,
    opts: NelderMeadOptions,
    simplex: Vec<(Vec<f64>, f64)>,
    centroid: Vec<f64>,
    /// The point whose value is asked.
    pending: Vec<f64>,
    phase: Phase,
    evals: usize,
}

impl NelderMead {
    /// A minimization of a function over the box `[lower, upper]` from `x0` (clamped into the
    /// box); all slices must have the same length.
    pub fn new(x0: &[f64], lower: &[f64], upper: &[f64], opts: NelderMeadOptions) -> Self {
        let mut nm = NelderMead {
            lower: lower.to_vec(),
            upper: upper.to_vec(),
            opts,
            simplex: Vec::with_capacity(x0.len() + 1),
            centroid: vec![0.0; x0.len()],
            pending: x0.to_vec(),
            phase: Phase::Init(0),
            evals: 0,
        };
        nm.clamp_pending();
        nm
    }

    /// The point whose objective value is wanted next; `None` once the minimization is over.
    pub fn ask(&self) -> Option<&[f64]> {
        (self.phase != Phase::Done).then_some(self.pending.as_slice())
    }

    /// Writes to `out` (cleared first) the points that may be asked right after the pending one,
    /// before any value is told: the rest of the initial simplex or of a shrink (all of them
    /// will be asked), or after a reflection the expansion and both contractions (at most one of
    /// them will be). Each is computed as [`NelderMead::tell`] will compute it, so a value
    /// evaluated ahead for one of them can be told when it is asked. Nothing ahead while an
    /// expansion or a contraction is pending (the next reflection depends on its value).
    /// Returns whether every point written will be asked (false after a reflection).
    pub fn ask_ahead(&self, out: &mut Vec<Vec<f64>>) -> bool {
        out.clear();
        let d = self.centroid.len();
        match self.phase {
            Phase::Init(i) if d > 0 => {
                let start = self.simplex.first().map_or(&self.pending, |(x, _)| x);
                out.extend((i..d).map(|k| self.init_vertex(start, k)));
                true
            }
            Phase::Reflect => {
                for t in [GAMMA, RHO, -RHO] {
                    let mut x = self.along(t, d);
                    self.clamp(&mut x);
                    out.push(x);
                }
                false
            }
            Phase::Shrink(i) => {
                out.extend(self.simplex.iter().skip(i + 1).map(|(x, _)| x.clone()));
                true
            }
            _ => true,
        }
    }

    /// Takes the objective value at the point last asked (non-finite counts as +∞).
    pub fn tell(&mut self, value: f64) {
        let v = if value.is_finite() {
            value
        } else {
            f64::INFINITY
        };
        let d = self.centroid.len();
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Done => {}
            Phase::Init(i) => {
                self.evals += 1;
                self.simplex.push((self.pending.clone(), v));
                if d == 0 {
                    return;
                }
                if i < d {
                    self.pending = self.init_vertex(&self.simplex[0].0, i);
                    self.phase = Phase::Init(i + 1);
                } else {
                    self.iterate();
                }
            }
            Phase::Reflect => {
                self.evals += 1;
                let fr = v;
                if fr < self.simplex[0].1 {
                    let xr = std::mem::take(&mut self.pending);
                    self.pending = self.along(GAMMA, d);
                    self.clamp_pending();
                    self.phase = Phase::Expand { xr, fr };
                } else if fr < self.simplex[d - 1].1 {
                    self.simplex[d] = (std::mem::take(&mut self.pending), fr);
                    self.iterate();
                } else {
                    let outside = fr < self.simplex[d].1;
                    self.pending = self.along(if outside { RHO } else { -RHO }, d);
                    self.clamp_pending();
                    self.phase = Phase::Contract { outside, fr };
                }
            }
            Phase::Expand { xr, fr } => {
                self.evals += 1;
                self.simplex[d] = if v < fr {
                    (std::mem::take(&mut self.pending), v)
                } else {
                    (xr, fr)
                };
                self.iterate();
            }
            Phase::Contract { outside, fr } => {
                self.evals += 1;
                let threshold = if outside { fr } else { self.simplex[d].1 };
                if v < threshold {
                    self.simplex[d] = (std::mem::take(&mut self.pending), v);
                    self.iterate();
                } else {
                    let x_best = self.simplex[0].0.clone();
                    for (x, _) in self.simplex.iter_mut().skip(1) {
                        for (v, b) in x.iter_mut().zip(&x_best) {
                            *v = b + SIGMA * (*v - b);
                        }
                    }
                    self.pending = self.simplex[1].0.clone();
                    self.phase = Phase::Shrink(1);
                }
            }
            Phase::Shrink(i) => {
                self.evals += 1;
                self.simplex[i].1 = v;
                if i < d {
                    self.pending = self.simplex[i + 1].0.clone();
                    self.phase = Phase::Shrink(i + 1);
                } else {
                    self.iterate();
                }
            }
        }
    }

    /// The best point found (the start before anything was told).
    pub fn minimum(mut self) -> Minimum {
        self.simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        match self.simplex.is_empty() {
            true => Minimum {
                x: self.pending,
                f: f64::INFINITY,
                evals: self.evals,
            },
            false => {
                let (x, f) = self.simplex.swap_remove(0);
                Minimum {
                    x,
                    f,
                    evals: self.evals,
                }
            }
        }
    }

    /// Starts the next iteration (a reflection) or ends the minimization.
    fn iterate(&mut self) {
        if self.evals >= self.opts.max_evals {
            return; // phase stays Done
        }
        let d = self.centroid.len();
        self.simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let best = self.simplex[0].1;
        let worst = self.simplex[d].1;
        let tol = self.opts.f_tol;
        if worst.is_finite() && (worst - best).abs() <= tol * (best.abs() + tol) {
            return;
        }
        self.centroid.iter_mut().for_each(|c| *c = 0.0);
        for (x, _) in &self.simplex[..d] {
            for (c, v) in self.centroid.iter_mut().zip(x) {
                *c += v / d as f64;
            }
        }
        self.pending = self.along(ALPHA, d);
        self.clamp_pending();
        self.phase = Phase::Reflect;
    }

    /// `c + t (c − worst)` from the centroid `c` away from the worst vertex.
    fn along(&self, t: f64, d: usize) -> Vec<f64> {
        self.centroid
            .iter()
            .zip(&self.simplex[d].0)
            .map(|(c, w)| c + t * (c - w))
            .collect()
    }

    /// The initial simplex's vertex that steps coordinate `i` of `start` towards its roomier
    /// side.
    fn init_vertex(&self, start: &[f64], i: usize) -> Vec<f64> {
        let mut x = start.to_vec();
        let (lo, hi) = (self.lower[i], self.upper[i]);
        let step = self.opts.step * (hi - lo);
        x[i] = if hi - x[i] >= x[i] - lo {
            x[i] + step
        } else {
            x[i] - step
        };
        self.clamp(&mut x);
        x
    }

    fn clamp(&self, x: &mut [f64]) {
        for ((v, lo), hi) in x.iter_mut().zip(&self.lower).zip(&self.upper) {
            *v = v.clamp(*lo, *hi);
        }
    }

    fn clamp_pending(&mut self) {
        let mut x = std::mem::take(&mut self.pending);
        self.clamp(&mut x);
        self.pending = x;
    }
}

/// Reflection, expansion, contraction and shrink coefficients.
const ALPHA: f64 = 1.0;
const GAMMA: f64 = 2.0;
const RHO: f64 = 0.5;
const SIGMA: f64 = 0.5;

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

    /// The loop `NelderMead` replaced, kept as the reference of the points it must ask.
    fn reference_loop<F>(
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

    #[test]
    fn the_state_machine_asks_the_points_of_the_loop_it_replaced() {
        type Objective = fn(&[f64]) -> f64;
        let objectives: [(Objective, usize); 5] = [
            (|x| (x[0] - 0.3).powi(2) + 2.0 * (x[1] + 0.5).powi(2), 2),
            (
                |x| 100.0 * (x[1] - x[0] * x[0]).powi(2) + (1.0 - x[0]).powi(2),
                2,
            ),
            (|x| (x[0] - 5.0).powi(2), 1),
            // flat regions and infinities force contractions and shrinks
            (
                |x| {
                    if x[0] + x[1] > 0.5 {
                        f64::INFINITY
                    } else {
                        (x[0] * 3.0).floor() + x[2].abs()
                    }
                },
                3,
            ),
            (|_| 1.0, 0),
        ];
        for (k, (f, d)) in objectives.into_iter().enumerate() {
            for (max_evals, f_tol, step) in [(7, 1e-7, 0.1), (120, 1e-6, 0.15), (500, 1e-14, 0.3)] {
                let opts = NelderMeadOptions {
                    max_evals,
                    f_tol,
                    step,
                };
                let (x0, lo, hi) = (vec![0.2; d], vec![-1.0; d], vec![1.0; d]);
                let mut want_points = Vec::new();
                let want = reference_loop(
                    |x| {
                        want_points.push(x.to_vec());
                        f(x)
                    },
                    &x0,
                    &lo,
                    &hi,
                    opts,
                );
                let mut got_points = Vec::new();
                let got = nelder_mead(
                    |x| {
                        got_points.push(x.to_vec());
                        f(x)
                    },
                    &x0,
                    &lo,
                    &hi,
                    opts,
                );
                assert_eq!(got_points, want_points, "objective {k}, {opts:?}");
                assert_eq!(got, want, "objective {k}, {opts:?}");
            }
        }
    }

    #[test]
    fn minimizations_in_lockstep_end_as_each_alone() {
        let fs: [fn(&[f64]) -> f64; 2] = [
            |x| (x[0] - 0.3).powi(2) + 2.0 * (x[1] + 0.5).powi(2),
            |x| 100.0 * (x[1] - x[0] * x[0]).powi(2) + (1.0 - x[0]).powi(2),
        ];
        let opts = NelderMeadOptions::default();
        let (lo, hi) = ([-2.0, -2.0], [2.0, 2.0]);
        let mut runs: Vec<NelderMead> = fs
            .iter()
            .map(|_| NelderMead::new(&[0.0, 0.0], &lo, &hi, opts))
            .collect();
        loop {
            let asked: Vec<(usize, Vec<f64>)> = runs
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.ask().map(|x| (i, x.to_vec())))
                .collect();
            if asked.is_empty() {
                break;
            }
            for (i, x) in asked {
                runs[i].tell(fs[i](&x));
            }
        }
        for (r, f) in runs.into_iter().zip(fs) {
            assert_eq!(r.minimum(), nelder_mead(f, &[0.0, 0.0], &lo, &hi, opts));
        }
    }

    #[test]
    fn points_asked_ahead_are_the_points_asked_next() {
        // A driver that evaluates the pending point and every point asked ahead in one round,
        // then tells values for as long as the points asked were evaluated: the same points and
        // minimum as one evaluation at a time, in fewer rounds, and every initial or shrunk
        // vertex and every expansion or contraction found among the points asked ahead.
        type Objective = fn(&[f64]) -> f64;
        let objectives: [(Objective, usize); 5] = [
            (|x| (x[0] - 0.3).powi(2) + 2.0 * (x[1] + 0.5).powi(2), 2),
            (
                |x| 100.0 * (x[1] - x[0] * x[0]).powi(2) + (1.0 - x[0]).powi(2),
                2,
            ),
            (|x| (x[0] - 5.0).powi(2), 1),
            (
                |x| {
                    if x[0] + x[1] > 0.5 {
                        f64::INFINITY
                    } else {
                        (x[0] * 3.0).floor() + x[2].abs()
                    }
                },
                3,
            ),
            (|_| 1.0, 0),
        ];
        for (k, (f, d)) in objectives.into_iter().enumerate() {
            for (max_evals, f_tol, step) in [(7, 1e-7, 0.1), (120, 1e-6, 0.15), (500, 1e-14, 0.3)] {
                let opts = NelderMeadOptions {
                    max_evals,
                    f_tol,
                    step,
                };
                let (x0, lo, hi) = (vec![0.2; d], vec![-1.0; d], vec![1.0; d]);
                let mut want_points = Vec::new();
                let want = nelder_mead(
                    |x| {
                        want_points.push(x.to_vec());
                        f(x)
                    },
                    &x0,
                    &lo,
                    &hi,
                    opts,
                );
                let mut nm = NelderMead::new(&x0, &lo, &hi, opts);
                let (mut got_points, mut rounds, mut ahead) = (Vec::new(), 0, Vec::new());
                while let Some(x) = nm.ask() {
                    rounds += 1;
                    let mut round = vec![x.to_vec()];
                    let certain = nm.ask_ahead(&mut ahead);
                    assert_eq!(certain, !matches!(nm.phase, Phase::Reflect));
                    round.append(&mut ahead);
                    let values: Vec<f64> = round.iter().map(|x| f(x)).collect();
                    while let Some(x) = nm.ask() {
                        let Some(i) = round.iter().position(|z| z.as_slice() == x) else {
                            break;
                        };
                        got_points.push(x.to_vec());
                        nm.tell(values[i]);
                    }
                }
                assert_eq!(got_points, want_points, "objective {k}, {opts:?}");
                assert_eq!(nm.minimum(), want, "objective {k}, {opts:?}");
                assert!(
                    rounds < want_points.len() || want_points.len() <= 1,
                    "objective {k}"
                );
            }
        }
    }

    #[test]
    fn the_points_asked_ahead_follow_the_phase() {
        // Each phase's points ahead, checked after every value told on an objective of
        // pseudo-random values and infinities (contractions fail and the simplex shrinks): the
        // rest of the initial simplex or of a shrink (all asked next, in order), the expansion
        // and the contractions after a reflection (one of them asked next, or a new reflection).
        let f = |x: &[f64]| {
            if x[0] + x[1] > 0.5 {
                f64::INFINITY
            } else {
                // pseudo-random values: contractions often fail
                ((x[0] * 12.9898 + x[1] * 78.233 + x[2]).sin() * 43758.5453).fract()
            }
        };
        let opts = NelderMeadOptions {
            max_evals: 500,
            f_tol: 1e-14,
            step: 0.3,
        };
        let d = 3;
        let mut nm = NelderMead::new(&[0.2; 3], &[-1.0; 3], &[1.0; 3], opts);
        let (mut ahead, mut seen_shrink) = (Vec::new(), false);
        while let Some(x) = nm.ask() {
            let x = x.to_vec();
            nm.ask_ahead(&mut ahead);
            let phase = nm.phase.clone();
            nm.tell(f(&x));
            let next = nm.ask().map(<[f64]>::to_vec);
            match phase {
                Phase::Init(i) if i < d => assert_eq!(next.as_ref(), ahead.first()),
                Phase::Shrink(i) if i < d => {
                    seen_shrink = true;
                    assert_eq!(next.as_ref(), ahead.first());
                }
                Phase::Reflect => {
                    assert_eq!(ahead.len(), 3);
                    if let (Some(n), Phase::Expand { .. } | Phase::Contract { .. }) =
                        (&next, &nm.phase)
                    {
                        assert!(ahead.contains(n), "{n:?} not in {ahead:?}");
                    }
                }
                _ => assert!(ahead.is_empty(), "{phase:?}: {ahead:?}"),
            }
        }
        assert!(seen_shrink, "the objective should force a shrink");
    }
}
