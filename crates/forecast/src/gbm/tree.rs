//! One regression tree grown depth-first on gradient histograms (the smaller child's histogram is
//! built, the larger one's is the parent's minus it).

use super::bins::{Binned, MAX_BINS};
use serde::{Deserialize, Serialize};

/// A node: a leaf value or a split on one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Node {
    Leaf(f64),
    Split {
        feature: u32,
        /// Left when the value is missing or at most this.
        threshold: f64,
        /// The same rule on the training bins.
        #[serde(skip)]
        bin: u8,
        left: u32,
        right: u32,
    },
}

/// A tree; node 0 is the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The leaf value for raw features `x`.
    pub fn predict(&self, x: &[f64]) -> f64 {
        let mut i = 0usize;
        loop {
            match self.nodes.get(i) {
                Some(Node::Leaf(v)) => return *v,
                Some(Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                    ..
                }) => {
                    let v = x.get(*feature as usize).copied().unwrap_or(f64::NAN);
                    i = if v.is_nan() || v <= *threshold {
                        *left
                    } else {
                        *right
                    } as usize;
                }
                None => return 0.0,
            }
        }
    }

    /// The leaf value for row `row` of the binned training data.
    pub fn predict_binned(&self, b: &Binned, row: usize) -> f64 {
        let mut i = 0usize;
        loop {
            match &self.nodes[i] {
                Node::Leaf(v) => return *v,
                Node::Split {
                    feature,
                    bin,
                    left,
                    right,
                    ..
                } => {
                    i = if b.column(*feature as usize)[row] <= *bin {
                        *left
                    } else {
                        *right
                    } as usize;
                }
            }
        }
    }

    /// The first split whose child is not a later node of this tree (growing appends children
    /// after their parent, so a well-formed tree has none): `(node, child)`.
    pub fn bad_link(&self) -> Option<(usize, usize)> {
        self.nodes.iter().enumerate().find_map(|(i, n)| match n {
            Node::Split { left, right, .. } => [*left, *right]
                .into_iter()
                .map(|c| c as usize)
                .find(|&c| c <= i || c >= self.nodes.len())
                .map(|c| (i, c)),
            Node::Leaf(_) => None,
        })
    }

    /// Largest feature index any split reads, if any.
    pub fn max_feature(&self) -> Option<usize> {
        self.nodes
            .iter()
            .filter_map(|n| match n {
                Node::Split { feature, .. } => Some(*feature as usize),
                Node::Leaf(_) => None,
            })
            .max()
    }
}

/// How trees are grown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GrowParams {
    pub max_depth: usize,
    pub min_leaf: usize,
    /// L2 penalty on the split gain's child sums.
    pub lambda: f64,
}

/// Row × feature visits above which a histogram is built on [`HIST_THREADS`] threads.
const PARALLEL_WORK: usize = 200_000;
/// Threads a large histogram is built on.
const HIST_THREADS: usize = 2;

/// Gradient sums and counts per (feature, bin).
struct Hist {
    g: Vec<f64>,
    n: Vec<u32>,
}

impl Hist {
    fn build(b: &Binned, grad: &[f64], rows: &[u32]) -> Hist {
        let cols = b.cuts.len();
        let mut h = Hist {
            g: vec![0.0; cols * MAX_BINS],
            n: vec![0; cols * MAX_BINS],
        };
        let fill = |first: usize, g: &mut [f64], n: &mut [u32]| {
            for (k, (hg, hn)) in g
                .chunks_mut(MAX_BINS)
                .zip(n.chunks_mut(MAX_BINS))
                .enumerate()
            {
                let col = b.column(first + k);
                for &r in rows {
                    let bin = col[r as usize] as usize;
                    hg[bin] += grad[r as usize];
                    hn[bin] += 1;
                }
            }
        };
        if rows.len() * cols < PARALLEL_WORK {
            fill(0, &mut h.g, &mut h.n);
        } else {
            // features split across threads: each fills its own columns, so the sums are the same
            // whatever the thread count
            let per = cols.div_ceil(HIST_THREADS) * MAX_BINS;
            std::thread::scope(|scope| {
                for (t, (g, n)) in h.g.chunks_mut(per).zip(h.n.chunks_mut(per)).enumerate() {
                    let fill = &fill;
                    scope.spawn(move || fill(t * per / MAX_BINS, g, n));
                }
            });
        }
        h
    }

    fn minus(&self, other: &Hist) -> Hist {
        Hist {
            g: self.g.iter().zip(&other.g).map(|(a, b)| a - b).collect(),
            n: self.n.iter().zip(&other.n).map(|(a, b)| a - b).collect(),
        }
    }
}

struct Best {
    feature: usize,
    bin: u8,
    gain: f64,
}

fn best_split(b: &Binned, h: &Hist, total_g: f64, total_n: usize, p: &GrowParams) -> Option<Best> {
    let parent = total_g * total_g / (total_n as f64 + p.lambda);
    let mut best: Option<Best> = None;
    for f in 0..b.cuts.len() {
        let nb = b.bins_of(f);
        let (hg, hn) = (&h.g[f * MAX_BINS..], &h.n[f * MAX_BINS..]);
        let (mut gl, mut nl) = (0.0, 0usize);
        for k in 0..nb.saturating_sub(1) {
            gl += hg[k];
            nl += hn[k] as usize;
            let nr = total_n - nl;
            if nl < p.min_leaf {
                continue;
            }
            if nr < p.min_leaf {
                break;
            }
            let gr = total_g - gl;
            let gain = gl * gl / (nl as f64 + p.lambda) + gr * gr / (nr as f64 + p.lambda) - parent;
            if gain > 1e-12 && best.as_ref().is_none_or(|x| gain > x.gain) {
                best = Some(Best {
                    feature: f,
                    bin: k as u8,
                    gain,
                });
            }
        }
    }
    best
}

/// Grows a tree on `rows` with negative gradients `grad`; `leaf` gives each leaf's value from its rows.
pub(crate) fn grow(
    b: &Binned,
    grad: &[f64],
    rows: Vec<u32>,
    p: &GrowParams,
    leaf: &mut dyn FnMut(&[u32]) -> f64,
) -> Tree {
    let mut tree = Tree { nodes: Vec::new() };
    let hist = Hist::build(b, grad, &rows);
    grow_node(&mut tree, b, grad, rows, hist, 0, p, leaf);
    tree
}

#[allow(clippy::too_many_arguments)]
fn grow_node(
    tree: &mut Tree,
    b: &Binned,
    grad: &[f64],
    rows: Vec<u32>,
    hist: Hist,
    depth: usize,
    p: &GrowParams,
    leaf: &mut dyn FnMut(&[u32]) -> f64,
) -> u32 {
    let id = tree.nodes.len() as u32;
    tree.nodes.push(Node::Leaf(0.0));
    let split = if depth < p.max_depth && rows.len() >= 2 * p.min_leaf {
        let total_g: f64 = rows.iter().map(|&r| grad[r as usize]).sum();
        best_split(b, &hist, total_g, rows.len(), p)
    } else {
        None
    };
    let Some(s) = split else {
        tree.nodes[id as usize] = Node::Leaf(leaf(&rows));
        return id;
    };
    let col = b.column(s.feature);
    let (l, r): (Vec<u32>, Vec<u32>) = rows.iter().partition(|&&i| col[i as usize] <= s.bin);
    drop(rows);
    let (small_left, small) = if l.len() <= r.len() {
        (true, &l)
    } else {
        (false, &r)
    };
    let h_small = Hist::build(b, grad, small);
    let h_large = hist.minus(&h_small);
    drop(hist);
    let (hl, hr) = if small_left {
        (h_small, h_large)
    } else {
        (h_large, h_small)
    };
    let left = grow_node(tree, b, grad, l, hl, depth + 1, p, leaf);
    let right = grow_node(tree, b, grad, r, hr, depth + 1, p, leaf);
    tree.nodes[id as usize] = Node::Split {
        feature: s.feature as u32,
        threshold: b.threshold(s.feature, s.bin),
        bin: s.bin,
        left,
        right,
    };
    id
}
