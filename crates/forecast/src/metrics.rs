//! Forecast error metrics (the one home of MASE, MSIS and coverage).
//!
//! Every function returns `None` for empty or mismatched inputs and for a non-positive scale.

/// True for a finite value above zero (NaN is not positive).
fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// Mean absolute scaled error: mean |actual − point| ÷ `scale` (e.g. in-sample naive MAE).
pub fn mase(actual: &[f64], point: &[f64], scale: f64) -> Option<f64> {
    if actual.is_empty() || actual.len() != point.len() || !positive(scale) {
        return None;
    }
    let mae = actual
        .iter()
        .zip(point)
        .map(|(a, p)| (a - p).abs())
        .sum::<f64>()
        / actual.len() as f64;
    Some(mae / scale)
}

/// Mean scaled interval score (Gneiting & Raftery 2007; M4): mean over points of
/// `(u − l) + (2/α)(l − y)·1[y < l] + (2/α)(y − u)·1[y > u]`, divided by `scale`.
pub fn msis(actual: &[f64], lower: &[f64], upper: &[f64], scale: f64, alpha: f64) -> Option<f64> {
    let n = actual.len();
    if n == 0 || lower.len() != n || upper.len() != n || !positive(scale) || !positive(alpha) {
        return None;
    }
    let total: f64 = actual
        .iter()
        .zip(lower.iter().zip(upper))
        .map(|(&y, (&l, &u))| {
            let mut s = u - l;
            if y < l {
                s += 2.0 / alpha * (l - y);
            }
            if y > u {
                s += 2.0 / alpha * (y - u);
            }
            s
        })
        .sum();
    Some(total / n as f64 / scale)
}

/// Share of actuals inside `[lower, upper]` (bounds included).
pub fn coverage(actual: &[f64], lower: &[f64], upper: &[f64]) -> Option<f64> {
    let n = actual.len();
    if n == 0 || lower.len() != n || upper.len() != n {
        return None;
    }
    let inside = actual
        .iter()
        .zip(lower.iter().zip(upper))
        .filter(|(&y, (&l, &u))| l <= y && y <= u)
        .count();
    Some(inside as f64 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        assert_eq!(mase(&[1.0, 2.0], &[2.0, 4.0], 0.5), Some(3.0));
        assert_eq!(mase(&[1.0], &[1.0], 0.0), None);
        assert_eq!(mase(&[], &[], 1.0), None);
        // widths 2; one point below by 1 (penalty 2/0.1*1 = 20), one above by 0.5 (10), one inside
        let m = msis(
            &[-1.0, 1.0, 2.5],
            &[0.0, 0.0, 0.0],
            &[2.0, 2.0, 2.0],
            2.0,
            0.1,
        )
        .unwrap();
        assert!((m - (6.0 + 20.0 + 10.0) / 3.0 / 2.0).abs() < 1e-12);
        assert_eq!(
            coverage(&[-1.0, 1.0, 2.0], &[0.0; 3], &[2.0; 3]),
            Some(2.0 / 3.0)
        );
        assert_eq!(coverage(&[1.0], &[0.0, 0.0], &[1.0]), None);
    }
}
