//! GRU and LSTM cells over a sequence with backpropagation through time, and the linear head that
//! reads the last hidden state (plus a per-step seasonal skip input) into the forecast path.
//!
//! Parameters live in one flat vector: input weights `W` (`G·H × I`), recurrent weights `U`
//! (`G·H × H`), biases `b` (`G·H`), then the head: `Wo` (`O × H`), the skip weights `a` (`O`) and
//! `bo` (`O`); `G` is 3 for a GRU (update, reset, candidate) and 4 for an LSTM (input, forget,
//! output, cell).

use serde::{Deserialize, Serialize};

/// Which recurrent cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    Gru,
    Lstm,
}

impl CellKind {
    /// Gates per hidden unit.
    pub fn gates(self) -> usize {
        match self {
            CellKind::Gru => 3,
            CellKind::Lstm => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CellKind::Gru => "gru",
            CellKind::Lstm => "lstm",
        }
    }
}

/// Sizes of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    pub kind: CellKind,
    /// Inputs per time step.
    pub inputs: usize,
    pub hidden: usize,
    /// Outputs (steps ahead).
    pub outputs: usize,
}

impl Shape {
    fn gh(&self) -> usize {
        self.kind.gates() * self.hidden
    }
    fn w(&self) -> usize {
        0
    }
    fn u(&self) -> usize {
        self.gh() * self.inputs
    }
    fn b(&self) -> usize {
        self.u() + self.gh() * self.hidden
    }
    fn wo(&self) -> usize {
        self.b() + self.gh()
    }
    fn a(&self) -> usize {
        self.wo() + self.outputs * self.hidden
    }
    fn bo(&self) -> usize {
        self.a() + self.outputs
    }

    /// Length of the flat parameter vector.
    pub fn params(&self) -> usize {
        self.bo() + self.outputs
    }

    /// Starting weights: uniform in ±1/√H from `uniform` (values in [0, 1)); an LSTM's forget bias 1.
    pub fn init(&self, mut uniform: impl FnMut() -> f64) -> Vec<f64> {
        let r = 1.0 / (self.hidden as f64).sqrt();
        let mut p: Vec<f64> = (0..self.params())
            .map(|_| (uniform() * 2.0 - 1.0) * r)
            .collect();
        for v in &mut p[self.b()..self.wo()] {
            *v = 0.0;
        }
        if self.kind == CellKind::Lstm {
            let h = self.hidden;
            for v in &mut p[self.b() + h..self.b() + 2 * h] {
                *v = 1.0;
            }
        }
        for v in &mut p[self.a()..] {
            *v = 0.0;
        }
        p
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// What the backward pass needs of one step.
#[derive(Debug, Clone, Default)]
struct Step {
    h_prev: Vec<f64>,
    c_prev: Vec<f64>,
    /// Gate activations, `G·H` (GRU: z, r, n; LSTM: i, f, o, g).
    gates: Vec<f64>,
    /// GRU: `U_n h_prev`; LSTM: `tanh(c)`.
    extra: Vec<f64>,
}

/// A forward pass kept for the backward one.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    steps: Vec<Step>,
    h: Vec<f64>,
}

/// `out[k] = Σ_i m[(row0 + k)·cols + i] · v[i]` for `k < n`.
fn matvec_add(m: &[f64], row0: usize, cols: usize, v: &[f64], out: &mut [f64]) {
    for (k, o) in out.iter_mut().enumerate() {
        let row = &m[(row0 + k) * cols..(row0 + k + 1) * cols];
        *o += row.iter().zip(v).map(|(a, b)| a * b).sum::<f64>();
    }
}

/// Runs the cell over `xs` (each `inputs` long) and the head; returns the outputs. `skip[j]` is the
/// seasonal skip input of output `j`.
pub fn forward(s: &Shape, p: &[f64], xs: &[Vec<f64>], skip: &[f64], trace: &mut Trace) -> Vec<f64> {
    let (h, i_n) = (s.hidden, s.inputs);
    let gh = s.gh();
    let w = &p[s.w()..s.u()];
    let u = &p[s.u()..s.b()];
    let b = &p[s.b()..s.wo()];
    let mut hs = vec![0.0; h];
    let mut cs = vec![0.0; h];
    trace.steps.clear();
    for x in xs {
        let mut a = b.to_vec();
        matvec_add(w, 0, i_n, x, &mut a);
        let mut step = Step {
            h_prev: hs.clone(),
            c_prev: cs.clone(),
            gates: vec![0.0; gh],
            extra: vec![0.0; h],
        };
        match s.kind {
            CellKind::Gru => {
                // z and r see U h; the candidate sees r ⊙ (U_n h)
                matvec_add(u, 0, h, &hs, &mut a[..2 * h]);
                let mut un = vec![0.0; h];
                matvec_add(u, 2 * h, h, &hs, &mut un);
                for k in 0..h {
                    let z = sigmoid(a[k]);
                    let r = sigmoid(a[h + k]);
                    let n = (a[2 * h + k] + r * un[k]).tanh();
                    step.gates[k] = z;
                    step.gates[h + k] = r;
                    step.gates[2 * h + k] = n;
                    hs[k] = (1.0 - z) * n + z * step.h_prev[k];
                }
                step.extra = un;
            }
            CellKind::Lstm => {
                matvec_add(u, 0, h, &hs, &mut a);
                for k in 0..h {
                    let ig = sigmoid(a[k]);
                    let fg = sigmoid(a[h + k]);
                    let og = sigmoid(a[2 * h + k]);
                    let g = a[3 * h + k].tanh();
                    cs[k] = fg * step.c_prev[k] + ig * g;
                    let tc = cs[k].tanh();
                    hs[k] = og * tc;
                    step.gates[k] = ig;
                    step.gates[h + k] = fg;
                    step.gates[2 * h + k] = og;
                    step.gates[3 * h + k] = g;
                    step.extra[k] = tc;
                }
            }
        }
        trace.steps.push(step);
    }
    let wo = &p[s.wo()..s.a()];
    let mut y = p[s.bo()..s.bo() + s.outputs].to_vec();
    matvec_add(wo, 0, h, &hs, &mut y);
    for (j, v) in y.iter_mut().enumerate() {
        *v += p[s.a() + j] * skip.get(j).copied().unwrap_or(0.0);
    }
    trace.h = hs;
    y
}

/// Adds to `grad` the gradient of `Σ_j dy[j] · y[j]` for the pass in `trace` over `xs`.
pub fn backward(
    s: &Shape,
    p: &[f64],
    xs: &[Vec<f64>],
    skip: &[f64],
    trace: &Trace,
    dy: &[f64],
    grad: &mut [f64],
) {
    let (h, i_n) = (s.hidden, s.inputs);
    let gh = s.gh();
    // the head
    let mut dh = vec![0.0; h];
    for (j, &d) in dy.iter().enumerate() {
        for k in 0..h {
            grad[s.wo() + j * h + k] += d * trace.h[k];
            dh[k] += d * p[s.wo() + j * h + k];
        }
        grad[s.a() + j] += d * skip.get(j).copied().unwrap_or(0.0);
        grad[s.bo() + j] += d;
    }
    let u = &p[s.u()..s.b()];
    let mut dc = vec![0.0; h];
    let mut da = vec![0.0; gh];
    for (step, x) in trace.steps.iter().zip(xs).rev() {
        let mut dh_prev = vec![0.0; h];
        match s.kind {
            CellKind::Gru => {
                let mut dun = vec![0.0; h];
                for k in 0..h {
                    let (z, r, n) = (step.gates[k], step.gates[h + k], step.gates[2 * h + k]);
                    let dn = dh[k] * (1.0 - z);
                    let dz = dh[k] * (step.h_prev[k] - n);
                    dh_prev[k] += dh[k] * z;
                    let dan = dn * (1.0 - n * n);
                    let dr = dan * step.extra[k];
                    dun[k] = dan * r;
                    da[k] = dz * z * (1.0 - z);
                    da[h + k] = dr * r * (1.0 - r);
                    da[2 * h + k] = dan;
                }
                // U_z, U_r from da; U_n from dun
                for (g, dg) in [(0, &da[..h]), (1, &da[h..2 * h]), (2, &dun[..])] {
                    for (k, &d) in dg.iter().enumerate() {
                        let row = (g * h + k) * h;
                        for j in 0..h {
                            grad[s.u() + row + j] += d * step.h_prev[j];
                            dh_prev[j] += u[row + j] * d;
                        }
                    }
                }
            }
            CellKind::Lstm => {
                for k in 0..h {
                    let (ig, fg, og, g) = (
                        step.gates[k],
                        step.gates[h + k],
                        step.gates[2 * h + k],
                        step.gates[3 * h + k],
                    );
                    let tc = step.extra[k];
                    let d_o = dh[k] * tc;
                    let dck = dc[k] + dh[k] * og * (1.0 - tc * tc);
                    let di = dck * g;
                    let dg = dck * ig;
                    let df = dck * step.c_prev[k];
                    dc[k] = dck * fg;
                    da[k] = di * ig * (1.0 - ig);
                    da[h + k] = df * fg * (1.0 - fg);
                    da[2 * h + k] = d_o * og * (1.0 - og);
                    da[3 * h + k] = dg * (1.0 - g * g);
                }
                for (r, &d) in da.iter().enumerate() {
                    let row = r * h;
                    for j in 0..h {
                        grad[s.u() + row + j] += d * step.h_prev[j];
                        dh_prev[j] += u[row + j] * d;
                    }
                }
            }
        }
        for (r, &d) in da.iter().enumerate() {
            grad[s.b() + r] += d;
            for (i, xi) in x.iter().enumerate().take(i_n) {
                grad[s.w() + r * i_n + i] += d * xi;
            }
        }
        dh = dh_prev;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The analytic gradient of a linear loss of the outputs matches central differences.
    fn gradient_check(kind: CellKind) {
        let s = Shape {
            kind,
            inputs: 2,
            hidden: 3,
            outputs: 2,
        };
        let mut seed = 42u64;
        let mut p = s.init(|| lcg(&mut seed));
        // non-zero head and biases so every path carries gradient
        for v in p.iter_mut() {
            if *v == 0.0 {
                *v = lcg(&mut seed) - 0.5;
            }
        }
        let xs: Vec<Vec<f64>> = (0..5)
            .map(|_| vec![lcg(&mut seed) * 2.0 - 1.0, lcg(&mut seed) - 0.5])
            .collect();
        let skip = [0.3, -0.7];
        let dy = [0.9, -0.4];
        let loss = |p: &[f64]| -> f64 {
            let y = forward(&s, p, &xs, &skip, &mut Trace::default());
            y.iter().zip(&dy).map(|(a, b)| a * b).sum()
        };
        let mut trace = Trace::default();
        forward(&s, &p, &xs, &skip, &mut trace);
        let mut grad = vec![0.0; s.params()];
        backward(&s, &p, &xs, &skip, &trace, &dy, &mut grad);
        let eps = 1e-6;
        for i in 0..s.params() {
            let keep = p[i];
            p[i] = keep + eps;
            let up = loss(&p);
            p[i] = keep - eps;
            let down = loss(&p);
            p[i] = keep;
            let numeric = (up - down) / (2.0 * eps);
            assert!(
                (numeric - grad[i]).abs() < 1e-6 * (1.0 + numeric.abs()),
                "{kind:?} parameter {i}: analytic {} numeric {numeric}",
                grad[i]
            );
        }
    }

    #[test]
    fn gru_gradient_matches_finite_differences() {
        gradient_check(CellKind::Gru);
    }

    #[test]
    fn lstm_gradient_matches_finite_differences() {
        gradient_check(CellKind::Lstm);
    }

    #[test]
    fn layout_covers_every_parameter_once() {
        let s = Shape {
            kind: CellKind::Lstm,
            inputs: 2,
            hidden: 4,
            outputs: 3,
        };
        assert_eq!(s.params(), 16 * 2 + 16 * 4 + 16 + 3 * 4 + 3 + 3);
    }
}
