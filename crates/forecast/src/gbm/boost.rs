//! Boosting with the pinball loss: each tree splits on the loss's negative gradient and its leaves
//! take the `quantile` of the current residuals of their rows (the exact line search of this loss).

use super::bins::Binned;
use super::tree::{grow, GrowParams, Tree};
use super::{GbmError, Matrix};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Training parameters, checked by `Booster::fit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoostParams {
    /// Number of trees.
    pub rounds: usize,
    /// Shrinkage of each tree's leaf values.
    pub learning_rate: f64,
    pub max_depth: usize,
    /// Fewest rows in a leaf.
    pub min_leaf: usize,
    /// L2 penalty in the split gain.
    pub lambda: f64,
    /// Share of rows each tree is grown on.
    pub subsample: f64,
    /// Bins per feature (3..=256, missing included).
    pub max_bins: usize,
    pub seed: u64,
}

impl Default for BoostParams {
    fn default() -> Self {
        BoostParams {
            rounds: 150,
            learning_rate: 0.1,
            max_depth: 6,
            min_leaf: 40,
            lambda: 1.0,
            subsample: 0.5,
            max_bins: 128,
            seed: 7,
        }
    }
}

impl BoostParams {
    fn validate(&self) -> Result<(), GbmError> {
        let bad = |field, value: String, reason| {
            Err(GbmError::InvalidParam {
                field,
                value,
                reason,
            })
        };
        if self.rounds == 0 {
            return bad("rounds", "0".into(), "at least one tree");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad("learning_rate", self.learning_rate.to_string(), "in (0, 1]");
        }
        if self.max_depth == 0 || self.max_depth > 16 {
            return bad("max_depth", self.max_depth.to_string(), "in 1..=16");
        }
        if self.min_leaf == 0 {
            return bad("min_leaf", "0".into(), "at least 1");
        }
        if !(self.lambda >= 0.0 && self.lambda.is_finite()) {
            return bad("lambda", self.lambda.to_string(), "finite and not negative");
        }
        if !(self.subsample > 0.0 && self.subsample <= 1.0) {
            return bad("subsample", self.subsample.to_string(), "in (0, 1]");
        }
        if !(3..=256).contains(&self.max_bins) {
            return bad("max_bins", self.max_bins.to_string(), "in 3..=256");
        }
        Ok(())
    }
}

/// A trained quantile booster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Booster {
    /// The quantile of the target this model predicts.
    pub quantile: f64,
    /// Features per row.
    pub features: usize,
    base: f64,
    trees: Vec<Tree>,
}

impl Booster {
    /// Fits `rounds` trees to predict the `quantile` of `y` given the rows of `x`.
    pub fn fit(x: &Matrix, y: &[f64], quantile: f64, p: &BoostParams) -> Result<Booster, GbmError> {
        p.validate()?;
        if !(quantile > 0.0 && quantile < 1.0) {
            return Err(GbmError::InvalidParam {
                field: "quantile",
                value: quantile.to_string(),
                reason: "in (0, 1)",
            });
        }
        let n = x.rows();
        if n == 0 {
            return Err(GbmError::NoRows);
        }
        if n != y.len() {
            return Err(GbmError::Shape {
                rows: n,
                targets: y.len(),
            });
        }
        if let Some(index) = y.iter().position(|v| !v.is_finite()) {
            return Err(GbmError::NonFiniteTarget {
                index,
                value: y[index],
            });
        }
        let binned = Binned::new(x, p.max_bins);
        let base = quantile_of(&mut y.to_vec(), quantile);
        let mut f = vec![base; n];
        let mut grad = vec![0.0; n];
        let mut rng = StdRng::seed_from_u64(p.seed);
        let grow_params = GrowParams {
            max_depth: p.max_depth,
            min_leaf: p.min_leaf,
            lambda: p.lambda,
        };
        let mut trees = Vec::with_capacity(p.rounds);
        let mut buf = Vec::new();
        for _ in 0..p.rounds {
            for i in 0..n {
                grad[i] = if y[i] > f[i] {
                    quantile
                } else {
                    quantile - 1.0
                };
            }
            let rows: Vec<u32> = if p.subsample < 1.0 {
                (0..n as u32)
                    .filter(|_| rng.gen::<f64>() < p.subsample)
                    .collect()
            } else {
                (0..n as u32).collect()
            };
            if rows.is_empty() {
                continue;
            }
            let mut leaf = |rows: &[u32]| {
                buf.clear();
                buf.extend(rows.iter().map(|&r| y[r as usize] - f[r as usize]));
                p.learning_rate * quantile_of(&mut buf, quantile)
            };
            let tree = grow(&binned, &grad, rows, &grow_params, &mut leaf);
            for (i, fi) in f.iter_mut().enumerate() {
                *fi += tree.predict_binned(&binned, i);
            }
            trees.push(tree);
        }
        Ok(Booster {
            quantile,
            features: x.cols(),
            base,
            trees,
        })
    }

    /// The predicted quantile for one row of raw features (NaN = missing).
    pub fn predict(&self, x: &[f64]) -> Result<f64, GbmError> {
        if x.len() != self.features {
            return Err(GbmError::FeatureCount {
                expected: self.features,
                got: x.len(),
            });
        }
        Ok(self
            .trees
            .iter()
            .fold(self.base, |acc, t| acc + t.predict(x)))
    }

    /// The predicted quantile of every row of `x`, tree by tree (each tree stays in cache while
    /// it is walked for all rows).
    pub fn predict_many(&self, x: &Matrix) -> Result<Vec<f64>, GbmError> {
        if x.cols() != self.features {
            return Err(GbmError::FeatureCount {
                expected: self.features,
                got: x.cols(),
            });
        }
        let mut out = vec![self.base; x.rows()];
        for t in &self.trees {
            for (i, o) in out.iter_mut().enumerate() {
                *o += t.predict(x.row(i));
            }
        }
        Ok(out)
    }

    /// Number of trees.
    pub fn trees(&self) -> usize {
        self.trees.len()
    }

    /// Checks a loaded model: every split points at children after it (so every walk ends at a
    /// leaf) and reads a feature the model has.
    pub fn check(&self) -> Result<(), GbmError> {
        for (tree, t) in self.trees.iter().enumerate() {
            if let Some((node, child)) = t.bad_link() {
                return Err(GbmError::MalformedTree { tree, node, child });
            }
        }
        match self.trees.iter().filter_map(Tree::max_feature).max() {
            Some(f) if f >= self.features => Err(GbmError::FeatureCount {
                expected: self.features,
                got: f + 1,
            }),
            _ => Ok(()),
        }
    }
}

/// The `q` quantile (lower order statistic) of `v`, reordering it; 0 for an empty slice.
fn quantile_of(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let k = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    let (_, x, _) = v.select_nth_unstable_by(k, f64::total_cmp);
    *x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piecewise(x: f64) -> f64 {
        if x < 0.3 {
            1.0
        } else if x < 0.7 {
            5.0
        } else {
            -2.0
        }
    }

    #[test]
    fn recovers_a_piecewise_function_of_a_feature() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut x = Matrix::new(2);
        let mut y = Vec::new();
        for _ in 0..4000 {
            let (a, noise): (f64, f64) = (rng.gen(), rng.gen());
            x.push(&[a, noise]).unwrap();
            y.push(piecewise(a) + 0.1 * (rng.gen::<f64>() - 0.5));
        }
        let p = BoostParams {
            rounds: 60,
            ..BoostParams::default()
        };
        let m = Booster::fit(&x, &y, 0.5, &p).unwrap();
        for a in [0.05, 0.2, 0.4, 0.6, 0.8, 0.95] {
            let got = m.predict(&[a, 0.5]).unwrap();
            assert!((got - piecewise(a)).abs() < 0.1, "f({a}) = {got}");
        }
    }

    #[test]
    fn upper_quantile_sits_above_the_median() {
        let mut rng = StdRng::seed_from_u64(2);
        let mut x = Matrix::new(1);
        let mut y = Vec::new();
        for _ in 0..4000 {
            let a: f64 = rng.gen();
            x.push(&[a]).unwrap();
            // uniform on [0, 2a]: median a, 90% quantile 1.8a
            y.push(a + 2.0 * a * (rng.gen::<f64>() - 0.5));
        }
        let p = BoostParams {
            rounds: 80,
            ..BoostParams::default()
        };
        let q90 = Booster::fit(&x, &y, 0.9, &p).unwrap();
        let q50 = Booster::fit(&x, &y, 0.5, &p).unwrap();
        let a = 0.8;
        let (hi, mid) = (q90.predict(&[a]).unwrap(), q50.predict(&[a]).unwrap());
        assert!((mid - a).abs() < 0.08, "median {mid}");
        assert!((hi - 1.8 * a).abs() < 0.1, "q90 {hi}");
        let covered = (0..x.rows())
            .filter(|&i| y[i] <= q90.predict(x.row(i)).unwrap())
            .count() as f64
            / x.rows() as f64;
        assert!((covered - 0.9).abs() < 0.03, "in-sample coverage {covered}");
    }

    #[test]
    fn many_rows_predict_as_one_by_one() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut x = Matrix::new(2);
        let mut y = Vec::new();
        for _ in 0..500 {
            let (a, b): (f64, f64) = (rng.gen(), rng.gen());
            x.push(&[a, if b < 0.2 { f64::NAN } else { b }]).unwrap();
            y.push(a * 3.0 + b);
        }
        let m = Booster::fit(&x, &y, 0.5, &BoostParams::default()).unwrap();
        assert_eq!(
            m.check(),
            Ok(()),
            "a grown tree's children follow their parent"
        );
        let many = m.predict_many(&x).unwrap();
        for (i, v) in many.iter().enumerate() {
            assert_eq!(*v, m.predict(x.row(i)).unwrap());
        }
    }

    #[test]
    fn a_loaded_tree_with_a_cycle_is_refused() {
        use super::super::tree::Node;
        let cyclic = Tree {
            nodes: vec![
                Node::Split {
                    feature: 0,
                    threshold: 0.5,
                    bin: 0,
                    left: 1,
                    right: 0,
                },
                Node::Leaf(1.0),
            ],
        };
        assert_eq!(cyclic.bad_link(), Some((0, 0)));
        let m = Booster {
            quantile: 0.5,
            features: 1,
            base: 0.0,
            trees: vec![cyclic],
        };
        assert_eq!(
            m.check(),
            Err(GbmError::MalformedTree {
                tree: 0,
                node: 0,
                child: 0
            })
        );
    }

    #[test]
    fn missing_values_take_the_left_branch_consistently() {
        let mut x = Matrix::new(1);
        let mut y = Vec::new();
        for i in 0..600 {
            let v = if i % 3 == 0 { f64::NAN } else { i as f64 };
            x.push(&[v]).unwrap();
            y.push(if v.is_nan() { 10.0 } else { 0.0 });
        }
        let m = Booster::fit(&x, &y, 0.5, &BoostParams::default()).unwrap();
        assert!((m.predict(&[f64::NAN]).unwrap() - 10.0).abs() < 0.5);
        assert!(m.predict(&[300.0]).unwrap().abs() < 0.5);
    }

    #[test]
    fn bad_input_is_named() {
        let mut x = Matrix::new(2);
        assert_eq!(
            x.push(&[1.0]),
            Err(GbmError::FeatureCount {
                expected: 2,
                got: 1
            })
        );
        assert_eq!(
            x.push(&[1.0, f64::INFINITY]),
            Err(GbmError::InfiniteFeature { row: 0, feature: 1 })
        );
        let p = BoostParams::default();
        assert_eq!(Booster::fit(&x, &[], 0.5, &p), Err(GbmError::NoRows));
        x.push(&[1.0, 2.0]).unwrap();
        assert!(matches!(
            Booster::fit(&x, &[f64::NAN], 0.5, &p),
            Err(GbmError::NonFiniteTarget { index: 0, .. })
        ));
        assert!(matches!(
            Booster::fit(&x, &[1.0], 1.0, &p),
            Err(GbmError::InvalidParam {
                field: "quantile",
                ..
            })
        ));
        assert!(matches!(
            Booster::fit(&x, &[1.0, 2.0], 0.5, &p),
            Err(GbmError::Shape { .. })
        ));
    }
}
