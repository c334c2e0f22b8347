//! What every fleet model shares: its held-out residual table (kept sorted and bounded, read as a
//! band and as one accuracy figure) and its versioned JSON (read only when the format matches and
//! the version is not newer than this build's).

use super::FleetError;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Held-out residuals kept per step.
const RESIDUALS_KEPT: usize = 2000;

/// Sorts each step's residuals and keeps at most [`RESIDUALS_KEPT`], evenly spaced in rank.
pub(crate) fn keep_sorted(residuals: &mut [Vec<f64>]) {
    for r in residuals {
        r.sort_by(f64::total_cmp);
        if r.len() > RESIDUALS_KEPT {
            let n = r.len();
            *r = (0..RESIDUALS_KEPT)
                .map(|k| r[k * (n - 1) / (RESIDUALS_KEPT - 1)])
                .collect();
        }
    }
}

/// Mean absolute residual over every step; `None` without any.
pub(crate) fn mean_abs(residuals: &[Vec<f64>]) -> Option<f64> {
    let (sum, n) = residuals
        .iter()
        .flatten()
        .fold((0.0, 0usize), |(s, n), r| (s + r.abs(), n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// Parses `text` as a model of `format`, refusing another format and a version above `version`.
pub(crate) fn from_json<T: DeserializeOwned>(
    text: &str,
    format: &str,
    version: u32,
) -> Result<T, FleetError> {
    #[derive(Deserialize)]
    struct Header {
        format: String,
        version: u32,
    }
    let head: Header = serde_json::from_str(text).map_err(|e| FleetError::Format(e.to_string()))?;
    if head.format != format {
        return Err(FleetError::Format(format!(
            "format is {:?}, expected {format:?}",
            head.format
        )));
    }
    if head.version > version {
        return Err(FleetError::NewerVersion {
            found: head.version,
            supported: version,
        });
    }
    serde_json::from_str(text).map_err(|e| FleetError::Format(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn residuals_are_sorted_and_bounded() {
        let mut r = vec![
            (0..5000).rev().map(f64::from).collect::<Vec<_>>(),
            vec![2.0, -1.0],
        ];
        keep_sorted(&mut r);
        assert_eq!(r[0].len(), RESIDUALS_KEPT);
        assert_eq!((r[0][0], r[0][RESIDUALS_KEPT - 1]), (0.0, 4999.0));
        assert!(r[0].windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(r[1], vec![-1.0, 2.0]);
        assert_eq!(mean_abs(&[vec![-1.0, 3.0]]), Some(2.0));
        assert_eq!(mean_abs(&[]), None);
    }
}
