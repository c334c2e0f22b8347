//! Estimation of ETS parameters: heuristic initial states, likelihood, Nelder–Mead, AICc.

use super::recursion::EtsState;
use super::spec::{ErrorType, EtsParams, EtsSpec, SeasonType, TrendType};
use crate::optimize::{NelderMead, NelderMeadOptions};
use prescale_math::{least_squares_slope, mean};

/// Points one round of [`fit_specs`] evaluates together at most, ahead-asked ones included, by
/// the kind of pass they go through ([`pass_kind`]): non-seasonal with additive errors, with
/// multiplicative ones (the lanes of [`flat_pass`]; additive ones at most 4 beside
/// multiplicative ones), seasonal.
const LANES: [usize; 3] = [8, 4, 8];

/// The kind of pass a form's likelihood goes through: 0 non-seasonal with additive errors, 1
/// non-seasonal with multiplicative errors, 2 seasonal.
fn pass_kind(spec: &EtsSpec) -> usize {
    match (spec.season, spec.error) {
        (SeasonType::None, ErrorType::Additive) => 0,
        (SeasonType::None, ErrorType::Multiplicative) => 1,
        _ => 2,
    }
}

/// Parameter bounds (Hyndman et al.: usual region, with beta and gamma scaled by alpha).
const LO: f64 = 1e-4;
const HI: f64 = 0.9999;
const PHI_LO: f64 = 0.8;
const PHI_HI: f64 = 0.98;

/// A fitted ETS form on one window.
#[derive(Debug, Clone, PartialEq)]
pub struct EtsFit {
    pub spec: EtsSpec,
    pub params: EtsParams,
    pub init: EtsState,
    pub aicc: f64,
    pub mae: f64,
}

/// Initial states by simple heuristics (statsforecast-like): seasonal indices from the first full
/// cycles, level and trend from a regression over the first `max(10, 2m)` deseasonalized points.
pub fn initial_state(spec: &EtsSpec, y: &[f64]) -> Option<EtsState> {
    let m = spec.m();
    let season = match spec.season {
        SeasonType::None => Vec::new(),
        kind => {
            let cycles = (y.len() / m).min(4);
            if cycles < 2 {
                return None;
            }
            let mut s = vec![0.0; m];
            for c in 0..cycles {
                let chunk = &y[c * m..(c + 1) * m];
                let cm = mean(chunk)?;
                for (si, &v) in s.iter_mut().zip(chunk) {
                    *si += if kind == SeasonType::Additive {
                        v - cm
                    } else if cm > 0.0 {
                        v / cm
                    } else {
                        1.0
                    } / cycles as f64;
                }
            }
            normalize_season(&mut s, kind);
            s
        }
    };
    let maxn = y.len().min(10.max(2 * m));
    let sa: Vec<f64> = y[..maxn]
        .iter()
        .enumerate()
        .map(|(i, &v)| match spec.season {
            SeasonType::None => v,
            SeasonType::Additive => v - season[i % m],
            SeasonType::Multiplicative => v / season[i % m],
        })
        .collect();
    let ybar = mean(&sa)?;
    let (level, trend) = match spec.trend {
        TrendType::None => (ybar, 0.0),
        _ => {
            let b = least_squares_slope(&sa).unwrap_or(0.0);
            // intercept at index 0, moved one step back so the first forecast is the intercept
            let intercept = ybar - b * (maxn as f64 - 1.0) / 2.0;
            (intercept - b, b)
        }
    };
    Some(EtsState {
        level,
        trend,
        season,
        pos: 0,
    })
}

fn normalize_season(s: &mut [f64], kind: SeasonType) {
    let Some(m) = mean(s) else { return };
    match kind {
        SeasonType::Additive => s.iter_mut().for_each(|v| *v -= m),
        SeasonType::Multiplicative if m > 0.0 => s.iter_mut().for_each(|v| *v /= m),
        _ => {}
    }
}

/// `−2 log L` up to a constant shared by all forms, and the mean absolute one-step error.
pub fn neg2_loglik(spec: &EtsSpec, p: &EtsParams, init: &EtsState, y: &[f64]) -> (f64, f64) {
    let mut run = LikRun::new(spec, *p, init);
    neg2_logliks(std::slice::from_mut(&mut run), y, true);
    run.result(y.len())
}

/// The likelihood of several forms or parameter sets in one pass over `y` each: a run's
/// recursion is a chain of dependent operations (latency-bound), so independent runs side by
/// side keep the core's units busy. Non-seasonal runs go through [`flat_pass`], up to eight
/// with additive errors beside up to four with multiplicative ones (whose sums cost more) in
/// each pass; seasonal ones point by point together. With `mae` the runs' absolute errors are
/// summed too (else [`LikRun::result`]'s error is not theirs; [`LikRun::lik`] is). Every run's
/// arithmetic is exactly that of running it alone.
fn neg2_logliks(runs: &mut [LikRun<'_>], y: &[f64], mae: bool) {
    neg2_logliks_on(Isa::detect(), runs, y, mae)
}

/// [`neg2_logliks`] with the non-seasonal passes compiled for `isa`.
fn neg2_logliks_on(isa: Isa, runs: &mut [LikRun<'_>], y: &[f64], mae: bool) {
    let (mut additive, mut mult, mut seasonal) = (Vec::new(), Vec::new(), Vec::new());
    for run in runs.iter_mut() {
        match (run.spec.season, run.spec.error) {
            (SeasonType::None, ErrorType::Additive) => additive.push(run),
            (SeasonType::None, ErrorType::Multiplicative) => mult.push(run),
            _ => seasonal.push(run),
        }
    }
    let (mut a_chunks, mut m_chunks) = (additive.chunks_mut(8), mult.chunks_mut(4));
    loop {
        let (a, m) = match (a_chunks.next(), m_chunks.next()) {
            (None, None) => break,
            (a, m) => (a.unwrap_or_default(), m.unwrap_or_default()),
        };
        if mae {
            // once per fit: each kind in a pass of its own
            flat_passes(isa, a, &mut [], y, true);
            flat_passes(isa, &mut [], m, y, true);
        } else {
            flat_passes(isa, a, m, y, false);
        }
    }
    if seasonal.is_empty() {
        return;
    }
    for &v in y {
        for run in seasonal.iter_mut() {
            if !run.failed {
                run.push(v);
            }
        }
    }
}

/// One [`flat_pass`] of the lanes fitting `add` (at most 8) and `mult` (at most 4), none when
/// both are empty. The widths were measured (ns per point, AVX2, additive + multiplicative
/// lanes): 1+0 5.6, 8+0 5.8, 0+1 5.9, 0+2 6.7, 0+4 6.8, 1+4 7.6, 2+4 9.0, 4+1 7.8, 4+4 7.8,
/// 8+4 11.7; so a multiplicative lane beside others takes a pass of four, and two additive
/// ones beside them four.
fn flat_passes(
    isa: Isa,
    add: &mut [&mut LikRun<'_>],
    mult: &mut [&mut LikRun<'_>],
    y: &[f64],
    mae: bool,
) {
    let wm = match (add.len(), mult.len()) {
        (_, 0) => 0,
        (0, 1) => 1,
        _ => 4,
    };
    let wa = match add.len() {
        2 if wm > 0 => 4,
        n @ 0..=2 => n,
        3 | 4 => 4,
        _ => 8,
    };
    macro_rules! widths {
        ($(($wa:literal, $wm:literal)),*) => {
            match (wa, wm, mae) {
                (0, 0, _) => {}
                $(
                    ($wa, $wm, false) => flat_pass::<$wa, $wm, false>(isa, add, mult, y),
                    ($wa, $wm, true) => flat_pass::<$wa, $wm, true>(isa, add, mult, y),
                )*
                _ => unreachable!("the widths are those listed"),
            }
        };
    }
    widths!(
        (1, 0),
        (2, 0),
        (4, 0),
        (8, 0),
        (0, 1),
        (0, 4),
        (1, 4),
        (4, 4),
        (8, 4)
    );
}

/// The instructions a [`flat_pass`] is compiled for: the same arithmetic either way (Rust
/// never fuses a product and a sum, and every vector operation rounds as its scalar one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isa {
    /// The target's baseline (SSE2 on x86-64).
    Portable,
    /// AVX2: four lanes to a register instead of two.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2,
}

impl Isa {
    /// The widest this CPU runs.
    fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Isa::Avx2;
        }
        Isa::Portable
    }
}

/// The recursion's constants and state of `W` non-seasonal runs, lanes past the runs repeating
/// the first (their results are dropped). Every trend is written `t = l + φ b`,
/// `b ← d b + β e` (φ = d = 0 and β = 0 without a trend, φ = d = 1 for an additive one), the
/// same values as [`EtsState::update`]: the products by 0 and 1 are exact (a trend of 0 stays 0
/// while the errors are finite; a non-finite error makes the likelihood non-finite either way).
struct Lanes<const W: usize> {
    phi: [f64; W],
    damp: [f64; W],
    alpha: [f64; W],
    beta: [f64; W],
    level: [f64; W],
    trend: [f64; W],
}

impl<const W: usize> Lanes<W> {
    fn new(runs: &[&mut LikRun<'_>]) -> Self {
        let mut l = Lanes {
            phi: [0.0; W],
            damp: [0.0; W],
            alpha: [0.0; W],
            beta: [0.0; W],
            level: [0.0; W],
            trend: [0.0; W],
        };
        let Some(first) = runs.first() else { return l };
        for k in 0..W {
            let r = runs.get(k).unwrap_or(first);
            (l.phi[k], l.damp[k], l.beta[k]) = match r.spec.trend {
                TrendType::None => (0.0, 0.0, 0.0),
                TrendType::Additive => (1.0, 1.0, r.p.beta),
                TrendType::Damped => (r.p.phi, r.p.phi, r.p.beta),
            };
            (l.alpha[k], l.level[k], l.trend[k]) = (r.p.alpha, r.s.level, r.s.trend);
        }
        l
    }

    /// One point through every lane: the one-step forecasts `μ` and errors.
    #[inline(always)]
    fn step(&mut self, v: f64) -> ([f64; W], [f64; W]) {
        let (mut mu, mut err) = ([0.0; W], [0.0; W]);
        for k in 0..W {
            let t = self.level[k] + self.phi[k] * self.trend[k];
            let e = v - t;
            self.level[k] = t + self.alpha[k] * e;
            self.trend[k] = self.damp[k] * self.trend[k] + self.beta[k] * e;
            (mu[k], err[k]) = (t, e);
        }
        (mu, err)
    }

    /// Writes the lanes' final states back to their runs.
    fn store(&self, runs: &mut [&mut LikRun<'_>]) {
        for (k, r) in runs.iter_mut().enumerate() {
            r.s.level = self.level[k];
            r.s.trend = if r.spec.trend == TrendType::None {
                0.0
            } else {
                self.trend[k]
            };
        }
    }
}

/// Pushes `y` through up to `WA` non-seasonal runs with additive errors (`add`) and up to `WM`
/// with multiplicative ones (`mult`), their states in registers, as [`LikRun::push`] would run
/// each: the recursion of every lane, then its sums, point by point in the points' order. The
/// sums are off the recursion's chain, so they fill the units the chain leaves idle. Without
/// `MAE` only the sums the likelihood needs are taken (additive: squared errors; multiplicative:
/// squared relative errors and Σ ln μ, not the squared errors).
fn flat_pass<const WA: usize, const WM: usize, const MAE: bool>(
    isa: Isa,
    add: &mut [&mut LikRun<'_>],
    mult: &mut [&mut LikRun<'_>],
    y: &[f64],
) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx2` only where the CPU has AVX2 (`Isa::detect`)
        Isa::Avx2 => unsafe { flat_pass_avx2::<WA, WM, MAE>(add, mult, y) },
        _ => flat_pass_body::<WA, WM, MAE>(add, mult, y),
    }
}

/// [`flat_pass_body`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn flat_pass_avx2<const WA: usize, const WM: usize, const MAE: bool>(
    add: &mut [&mut LikRun<'_>],
    mult: &mut [&mut LikRun<'_>],
    y: &[f64],
) {
    flat_pass_body::<WA, WM, MAE>(add, mult, y)
}

/// [`flat_pass`]'s work, inlined into each instruction set's copy.
#[inline(always)]
fn flat_pass_body<const WA: usize, const WM: usize, const MAE: bool>(
    add: &mut [&mut LikRun<'_>],
    mult: &mut [&mut LikRun<'_>],
    y: &[f64],
) {
    let (mut a, mut m) = (Lanes::<WA>::new(add), Lanes::<WM>::new(mult));
    let (mut a_sse, mut a_abs) = ([0.0; WA], [0.0; WA]);
    let (mut m_sse, mut m_abs, mut rel2) = ([0.0; WM], [0.0; WM], [0.0; WM]);
    let (mut log_mu, mut prod) = ([0.0; WM], [1.0; WM]);
    let mut failed = [false; WM];
    for &v in y {
        let (_, err) = a.step(v);
        for k in 0..WA {
            let e = err[k];
            a_sse[k] += e * e;
            if MAE {
                a_abs[k] += e.abs();
            }
        }
        if WM == 0 {
            continue;
        }
        let (mu, err) = m.step(v);
        let (mut old, mut mend) = ([0.0; WM], false);
        for k in 0..WM {
            let (t, e) = (mu[k], err[k]);
            if MAE {
                m_sse[k] += e * e;
                m_abs[k] += e.abs();
            }
            let r = e / t;
            rel2[k] += r * r;
            failed[k] |= t <= 0.0;
            // Σ ln μ as LikRun::push keeps it: the product goes on while μ and it stay in
            // range; the rare other steps are mended below
            let p = prod[k] * t;
            let ok = (1e-100..=1e100).contains(&t) & (1e-200..=1e200).contains(&p);
            mend |= !(ok | failed[k]);
            (old[k], prod[k]) = (prod[k], p);
        }
        if mend {
            for k in 0..WM {
                if !failed[k] {
                    (prod[k], log_mu[k]) = log_out(mu[k], old[k], prod[k], log_mu[k]);
                }
            }
        }
    }
    a.store(add);
    for (k, r) in add.iter_mut().enumerate() {
        (r.sse, r.abs) = (a_sse[k], a_abs[k]);
    }
    m.store(mult);
    for (k, r) in mult.iter_mut().enumerate() {
        (r.sse, r.abs, r.rel2) = (m_sse[k], m_abs[k], rel2[k]);
        (r.log_mu, r.prod, r.failed) = (log_mu[k], prod[k], failed[k]);
    }
}

/// The rare step of [`flat_pass`]'s Σ ln μ, for each live multiplicative lane whose `μ` or
/// product left its range: logs the product with `μ` when `μ` fits the product's range (and
/// restarts it), else `μ` alone (the product before it stays). Out of line and cold so that
/// the compiler does not compute logarithms on every point to save the branch (it did: a
/// sixth of a replay went to `ln`).
#[cold]
#[inline(never)]
fn log_out(t: f64, old: f64, p: f64, log_mu: f64) -> (f64, f64) {
    if (1e-100..=1e100).contains(&t) && (1e-200..=1e200).contains(&p) {
        (p, log_mu)
    } else if (1e-100..=1e100).contains(&t) {
        (1.0, log_mu + p.ln())
    } else {
        (old, log_mu + t.ln())
    }
}

/// One likelihood evaluation in progress: the recursion's state and the running sums.
struct LikRun<'a> {
    spec: &'a EtsSpec,
    p: EtsParams,
    s: EtsState,
    sse: f64,
    rel2: f64,
    log_mu: f64,
    abs: f64,
    /// Σ ln μ as the ln of running products: one ln per ~a hundred points instead of one per
    /// point (the logarithm was a third of a replay's time). A product leaves [1e-200, 1e200]
    /// rarely; a μ outside [1e-100, 1e100] is logged on its own so no product can overflow.
    prod: f64,
    /// A multiplicative-error form met a forecast `μ <= 0`: no likelihood.
    failed: bool,
}

impl<'a> LikRun<'a> {
    fn new(spec: &'a EtsSpec, p: EtsParams, init: &EtsState) -> Self {
        LikRun {
            spec,
            p,
            s: init.clone(),
            sse: 0.0,
            rel2: 0.0,
            log_mu: 0.0,
            abs: 0.0,
            prod: 1.0,
            failed: false,
        }
    }

    #[inline]
    fn push(&mut self, v: f64) {
        let mu = self.s.update(self.spec, &self.p, v);
        let e = v - mu;
        self.sse += e * e;
        self.abs += e.abs();
        if self.spec.error == ErrorType::Multiplicative {
            if mu <= 0.0 {
                self.failed = true;
                return;
            }
            self.rel2 += (e / mu) * (e / mu);
            if (1e-100..=1e100).contains(&mu) {
                self.prod *= mu;
                if !(1e-200..=1e200).contains(&self.prod) {
                    self.log_mu += self.prod.ln();
                    self.prod = 1.0;
                }
            } else {
                self.log_mu += mu.ln();
            }
        }
    }

    /// `(−2 log L, mean absolute error)` after `n` points; infinite when it failed. The error
    /// is the run's only when its absolute errors were summed (a pass with `mae`, or
    /// [`LikRun::push`]).
    fn result(&self, n: usize) -> (f64, f64) {
        let lik = self.lik(n);
        if self.failed {
            return (lik, f64::INFINITY);
        }
        (lik, self.abs / n as f64)
    }

    /// `−2 log L` after `n` points; infinite when it failed.
    fn lik(&self, n: usize) -> f64 {
        if self.failed {
            return f64::INFINITY;
        }
        let log_mu = self.log_mu + self.prod.ln();
        let n = n as f64;
        match self.spec.error {
            ErrorType::Additive => n * (self.sse / n).max(f64::MIN_POSITIVE).ln(),
            ErrorType::Multiplicative => {
                n * (self.rel2 / n).max(f64::MIN_POSITIVE).ln() + 2.0 * log_mu
            }
        }
    }
}

/// Maps the free parameter vector (alpha, beta*, gamma*, phi as applicable) to smoothing parameters.
fn params_from(spec: &EtsSpec, x: &[f64]) -> EtsParams {
    let mut it = x.iter().copied();
    let alpha = it.next().unwrap_or(0.5);
    let mut p = EtsParams {
        alpha,
        beta: 0.0,
        gamma: 0.0,
        phi: 1.0,
    };
    if spec.trend != TrendType::None {
        p.beta = alpha * it.next().unwrap_or(0.1);
    }
    if spec.season != SeasonType::None {
        p.gamma = (1.0 - alpha) * it.next().unwrap_or(0.05);
    }
    if spec.trend == TrendType::Damped {
        p.phi = it.next().unwrap_or(0.95);
    }
    p
}

/// Fits one ETS form to `y` by minimizing `−2 log L` with Nelder–Mead; `None` when it cannot be fitted.
pub fn fit_spec(spec: EtsSpec, y: &[f64], max_evals: usize) -> Option<EtsFit> {
    fit_specs(&[spec], y, max_evals).pop()
}

/// Fits each form of `specs` to `y` as [`fit_spec`] would, the forms' minimizations run in
/// lockstep so that each round evaluates all their likelihoods in one pass over `y`. Returns the
/// forms that could be fitted, in the order given.
pub fn fit_specs(specs: &[EtsSpec], y: &[f64], max_evals: usize) -> Vec<EtsFit> {
    let opts = NelderMeadOptions {
        max_evals,
        f_tol: 1e-6,
        step: 0.15,
    };
    let mut forms: Vec<(&EtsSpec, EtsState, NelderMead)> = specs
        .iter()
        .filter_map(|spec| {
            let init = initial_state(spec, y)?;
            let (x0, lo, hi) = search_box(spec);
            Some((spec, init, NelderMead::new(&x0, &lo, &hi, opts)))
        })
        .collect();
    // Each round evaluates every form's pending point and, up to `LANES` of each kind of pass,
    // the points its minimization will ask next (the rest of an initial simplex or a shrink) or
    // may (the expansion and contractions after a reflection; not for seasonal forms with
    // multiplicative errors, whose point-by-point runs cost the most), then tells each form its
    // values for as long as it asks points evaluated this round. A point's likelihood does not
    // depend on its company, so the points asked and the values told are those of one
    // evaluation at a time: only the number of passes over `y` changes.
    // (form, point) evaluated this round
    let mut asked: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut ahead = Vec::new();
    let mut batch = Vec::new();
    loop {
        asked.clear();
        for (i, (_, _, nm)) in forms.iter().enumerate() {
            if let Some(x) = nm.ask() {
                asked.push((i, x.to_vec()));
            }
        }
        if asked.is_empty() {
            break;
        }
        let mut used = [0; 3];
        for (i, _) in &asked {
            used[pass_kind(forms[*i].0)] += 1;
        }
        for k in 0..asked.len() {
            let i = asked[k].0;
            let kind = pass_kind(forms[i].0);
            // additive lanes beside multiplicative ones: a pass of 4 + 4 costs 8.1 ns a point
            // against 11.6 for 8 + 4, which outweighs the rounds the fewer points ahead add
            // (counted over replay_30d 1: passes weighted by those costs 4.9% lower)
            let cap = if kind == 0 && used[1] > 0 {
                4
            } else {
                LANES[kind]
            };
            if used[kind] >= cap {
                continue;
            }
            let certain = forms[i].2.ask_ahead(&mut ahead);
            if !certain && kind == 2 && forms[i].0.error == ErrorType::Multiplicative {
                continue;
            }
            let room = cap - used[kind];
            let before = asked.len();
            asked.extend(ahead.drain(..).take(room).map(|x| (i, x)));
            used[kind] += asked.len() - before;
        }
        batch.clear();
        batch.extend(asked.iter().map(|(i, x)| {
            // the form's `&EtsSpec` itself: the runs must not borrow `forms`
            let spec: &EtsSpec = forms[*i].0;
            LikRun::new(spec, params_from(spec, x), &forms[*i].1)
        }));
        neg2_logliks(&mut batch, y, false);
        for (i, (_, _, nm)) in forms.iter_mut().enumerate() {
            while let Some(x) = nm.ask() {
                let Some(k) = asked.iter().position(|(f, z)| *f == i && same_bits(z, x)) else {
                    break;
                };
                nm.tell(batch[k].lik(y.len()));
            }
        }
    }
    let (mut heads, mut runs) = (Vec::new(), Vec::new());
    for (spec, init, nm) in forms {
        runs.push(LikRun::new(spec, params_from(spec, &nm.minimum().x), &init));
        heads.push((spec, init));
    }
    neg2_logliks(&mut runs, y, true);
    heads
        .into_iter()
        .zip(runs)
        .filter_map(|((spec, init), run)| {
            let (lik, mae) = run.result(y.len());
            if !lik.is_finite() {
                return None;
            }
            let n = y.len() as f64;
            let k = (spec.n_smoothing() + spec.n_states() + 1) as f64;
            let aicc = if n - k - 1.0 > 0.0 {
                lik + 2.0 * k + 2.0 * k * (k + 1.0) / (n - k - 1.0)
            } else {
                f64::INFINITY
            };
            Some(EtsFit {
                spec: *spec,
                params: run.p,
                init,
                aicc,
                mae,
            })
        })
        .collect()
}

/// Whether two parameter vectors are the same bits.
fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Starting point and box of the free parameters (alpha, beta*, gamma*, phi as applicable).
fn search_box(spec: &EtsSpec) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut x0, mut lo, mut hi) = (vec![0.2], vec![LO], vec![HI]);
    if spec.trend != TrendType::None {
        x0.push(0.1);
        lo.push(LO);
        hi.push(HI);
    }
    if spec.season != SeasonType::None {
        x0.push(0.05);
        lo.push(LO);
        hi.push(HI);
    }
    if spec.trend == TrendType::Damped {
        x0.push(0.95);
        lo.push(PHI_LO);
        hi.push(PHI_HI);
    }
    (x0, lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_ses_alpha_on_random_walk_like_data() {
        // y follows an exact SES recursion with alpha 0.6 and deterministic shocks
        let mut level = 10.0;
        let mut y = Vec::new();
        let mut state = 12345u64;
        for _ in 0..600 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let e = ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5;
            y.push(level + e);
            level += 0.6 * e;
        }
        let spec = EtsSpec::non_seasonal(ErrorType::Additive, TrendType::None);
        let fit = fit_spec(spec, &y, 200).unwrap();
        assert!((fit.params.alpha - 0.6).abs() < 0.1, "{:?}", fit.params);
        assert!(fit.aicc.is_finite());
    }

    #[test]
    fn the_log_likelihood_sums_logs_through_products_without_loss() {
        // Multiplicative errors over levels from 1e-120 to 1e120: the product form must equal
        // the per-point sum of logs (to rounding), with no overflow or underflow.
        let spec = EtsSpec::non_seasonal(ErrorType::Multiplicative, TrendType::None);
        let p = EtsParams {
            alpha: 0.3,
            beta: 0.0,
            gamma: 0.0,
            phi: 1.0,
        };
        for scale in [1e-120, 1e-3, 1.0, 1e50, 1e120] {
            let y: Vec<f64> = (0..500)
                .map(|t| scale * (1.0 + 0.2 * ((t * 7 % 13) as f64 / 13.0)))
                .collect();
            let init = initial_state(&spec, &y).unwrap();
            let (lik, _) = neg2_loglik(&spec, &p, &init, &y);
            // The reference: the same recursion, one ln per point.
            let mut s = init.clone();
            let (mut rel2, mut log_mu) = (0.0, 0.0);
            for &v in &y {
                let mu = s.update(&spec, &p, v);
                rel2 += ((v - mu) / mu).powi(2);
                log_mu += mu.ln();
            }
            let n = y.len() as f64;
            let want = n * (rel2 / n).ln() + 2.0 * log_mu;
            assert!(lik.is_finite(), "{scale}: {lik}");
            assert!(
                (lik - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{scale}: {lik} vs {want}"
            );
        }
    }

    #[test]
    fn seasonal_initial_state_is_normalized() {
        let y: Vec<f64> = (0..48)
            .map(|t| 10.0 + [1.0, -1.0, 2.0, -2.0][t % 4])
            .collect();
        let spec = EtsSpec {
            error: ErrorType::Additive,
            trend: TrendType::None,
            season: SeasonType::Additive,
            period: 4,
        };
        let s = initial_state(&spec, &y).unwrap();
        assert_eq!(s.season, vec![1.0, -1.0, 2.0, -2.0]);
        assert!((s.level - 10.0).abs() < 1e-12);
    }

    /// The likelihood point by point through `LikRun::push` alone.
    fn push_loglik(spec: &EtsSpec, p: &EtsParams, init: &EtsState, y: &[f64]) -> (f64, f64) {
        let mut run = LikRun::new(spec, *p, init);
        for &v in y {
            if !run.failed {
                run.push(v);
            }
        }
        run.result(y.len())
    }

    /// `fit_specs` as it was without the lockstep: one form and one point at a time, nothing
    /// evaluated ahead. The reference for the rounds that also evaluate points asked ahead.
    fn reference_fit_specs(specs: &[EtsSpec], y: &[f64], max_evals: usize) -> Vec<EtsFit> {
        let opts = NelderMeadOptions {
            max_evals,
            f_tol: 1e-6,
            step: 0.15,
        };
        specs
            .iter()
            .filter_map(|spec| {
                let init = initial_state(spec, y)?;
                let (x0, lo, hi) = search_box(spec);
                let mut nm = NelderMead::new(&x0, &lo, &hi, opts);
                while let Some(x) = nm.ask() {
                    let (lik, _) = push_loglik(spec, &params_from(spec, x), &init, y);
                    nm.tell(lik);
                }
                let p = params_from(spec, &nm.minimum().x);
                let (lik, mae) = push_loglik(spec, &p, &init, y);
                if !lik.is_finite() {
                    return None;
                }
                let n = y.len() as f64;
                let k = (spec.n_smoothing() + spec.n_states() + 1) as f64;
                let aicc = if n - k - 1.0 > 0.0 {
                    lik + 2.0 * k + 2.0 * k * (k + 1.0) / (n - k - 1.0)
                } else {
                    f64::INFINITY
                };
                Some(EtsFit {
                    spec: *spec,
                    params: p,
                    init,
                    aicc,
                    mae,
                })
            })
            .collect()
    }

    fn fit_bits(fits: &[EtsFit]) -> Vec<(String, [u64; 6])> {
        fits.iter()
            .map(|f| {
                let p = f.params;
                let b = [p.alpha, p.beta, p.gamma, p.phi, f.aicc, f.mae].map(f64::to_bits);
                (f.spec.to_string(), b)
            })
            .collect()
    }

    #[test]
    fn fits_with_points_asked_ahead_equal_one_point_at_a_time() {
        // Every form of the full search (seasonal ones included), alone and together, on
        // series like the replays' (a daily wave with bursts, a trend, a series crossing zero,
        // a constant one): the same parameters, AICc and error, bit for bit.
        let mut rng = prescale_math::SplitMix64(5);
        let wave: Vec<f64> = (0..1024)
            .map(|t| {
                let burst = if rng.uniform() < 0.02 { 300.0 } else { 0.0 };
                120.0
                    + 50.0 * (t as f64 * std::f64::consts::TAU / 288.0).sin()
                    + 8.0 * rng.normal()
                    + burst
            })
            .collect();
        let trend: Vec<f64> = (0..600)
            .map(|t| 10.0 + 0.05 * t as f64 + rng.uniform())
            .collect();
        let crossing: Vec<f64> = (0..500)
            .map(|t| 3.0 * (t as f64 / 30.0).sin() + rng.uniform() - 0.5)
            .collect();
        let hourly: Vec<f64> = (0..400)
            .map(|t| 20.0 + 5.0 * ((t % 12) as f64) + rng.uniform())
            .collect();
        for (y, season) in [
            (&wave, None),
            (&trend, None),
            (&crossing, Some(12)),
            (&hourly, Some(12)),
            (&vec![4.0; 300], None),
        ] {
            let specs = super::super::EtsSearch::full(season).candidates(y);
            for max_evals in [5, 120] {
                let want = reference_fit_specs(&specs, y, max_evals);
                assert_eq!(fit_bits(&fit_specs(&specs, y, max_evals)), fit_bits(&want));
                assert_eq!(fit_specs(&specs, y, max_evals), want);
                for spec in &specs {
                    let alone = fit_specs(std::slice::from_ref(spec), y, max_evals);
                    let want = reference_fit_specs(std::slice::from_ref(spec), y, max_evals);
                    assert_eq!(fit_bits(&alone), fit_bits(&want), "{spec}");
                }
            }
        }
    }

    #[test]
    fn runs_side_by_side_equal_each_run_point_by_point() {
        // Every non-seasonal form, parameter sets from the search box's corners and inside,
        // data positive (multiplicative forms) and crossing zero (they fail): the kernel's
        // likelihood and error, bit for bit, against LikRun::push alone, whatever the company.
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let positive: Vec<f64> = (0..700)
            .map(|t| 50.0 + 10.0 * (t as f64 / 40.0).sin() + 5.0 * next())
            .collect();
        let crossing: Vec<f64> = (0..700)
            .map(|t| 3.0 * (t as f64 / 30.0).sin() + next() - 0.5)
            .collect();
        let tiny: Vec<f64> = positive.iter().map(|v| v * 1e-150).collect();
        for y in [&positive, &crossing, &tiny] {
            let mut specs = Vec::new();
            for error in [ErrorType::Additive, ErrorType::Multiplicative] {
                for trend in [TrendType::None, TrendType::Additive, TrendType::Damped] {
                    specs.push(EtsSpec::non_seasonal(error, trend));
                }
            }
            let mut cases = Vec::new();
            for spec in &specs {
                for x in [
                    [LO, LO, PHI_LO],
                    [HI, HI, PHI_HI],
                    [next(), next(), 0.9],
                    [0.2, 0.1, 0.95],
                ] {
                    let mut free = vec![x[0]];
                    if spec.trend != TrendType::None {
                        free.push(x[1]);
                    }
                    if spec.trend == TrendType::Damped {
                        free.push(x[2]);
                    }
                    cases.push((spec, params_from(spec, &free)));
                }
            }
            let want: Vec<(f64, f64)> = cases
                .iter()
                .map(|(spec, p)| {
                    let init = initial_state(spec, y).unwrap();
                    let mut run = LikRun::new(spec, *p, &init);
                    for &v in y.iter() {
                        if !run.failed {
                            run.push(v);
                        }
                    }
                    run.result(y.len())
                })
                .collect();
            // companies mixing additive and multiplicative errors in one pass (a chunk of 5
            // or 7 crosses from one kind to the other), up to passes of 8 beside 4 and more
            // runs than one pass holds
            for company in [1, 3, 5, 7, 9, 12, cases.len()] {
                for (group, want) in cases.chunks(company).zip(want.chunks(company)) {
                    let inits: Vec<EtsState> = group
                        .iter()
                        .map(|(s, _)| initial_state(s, y).unwrap())
                        .collect();
                    let isas = [Isa::Portable, Isa::detect()];
                    for (mae, isa) in [true, false].into_iter().flat_map(|m| isas.map(|i| (m, i))) {
                        let mut runs: Vec<LikRun<'_>> = group
                            .iter()
                            .zip(&inits)
                            .map(|((s, p), i)| LikRun::new(s, *p, i))
                            .collect();
                        neg2_logliks_on(isa, &mut runs, y, mae);
                        for ((run, w), (spec, p)) in runs.iter().zip(want).zip(group) {
                            let got = run.result(y.len());
                            assert_eq!(
                                got.0.to_bits(),
                                w.0.to_bits(),
                                "{spec:?} {p:?} mae {mae} {isa:?}: {got:?} vs {w:?}"
                            );
                            assert_eq!(run.lik(y.len()).to_bits(), w.0.to_bits());
                            if mae {
                                assert_eq!(
                                    got.1.to_bits(),
                                    w.1.to_bits(),
                                    "{spec:?} {p:?}: {got:?} vs {w:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
