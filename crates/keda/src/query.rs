//! Reads a ScaledObject trigger's `scalerMetadata` into a validated [`ScalerQuery`].
//!
//! Keys (KEDA passes the whole trigger metadata, `scalerAddress` included, so unknown keys are ignored):
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `workload` | `namespace/name` of the ScaledObject | prescale workload id |
//! | `metric` | `demand` | which predicted metric to serve |
//! | `quantile` | `upper` | `point` (forecast path) or `upper` (top of the interval) |
//! | `targetSize` | required | demand one replica serves (> 0): KEDA computes `ceil(value / targetSize)` |
//! | `activationThreshold` | `0` | active (scale from zero) while the value is above this |
//! | `metricName` | `prescale-<metric>` | metric name reported to KEDA/HPA |

use crate::error::MetadataError;
use crate::proto::ScaledObjectRef;

/// Which point of the predicted distribution to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantile {
    /// The point forecast at the lead time.
    Point,
    /// The upper bound of the forecast interval at the lead time.
    Upper,
}

/// A validated request: what to look up and how KEDA should turn it into replicas.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalerQuery {
    pub workload: String,
    pub metric: String,
    pub quantile: Quantile,
    pub target_size: f64,
    pub activation_threshold: f64,
    pub metric_name: String,
}

impl ScalerQuery {
    /// Validates the metadata of `r`; errors name the offending key.
    pub fn from_ref(r: &ScaledObjectRef) -> Result<Self, MetadataError> {
        let md = &r.scaler_metadata;
        let get = |k: &str| md.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());

        let workload =
            match get("workload") {
                Some(w) => w.to_owned(),
                None if !r.name.is_empty() => {
                    if r.namespace.is_empty() {
                        r.name.clone()
                    } else {
                        format!("{}/{}", r.namespace, r.name)
                    }
                }
                None => return Err(MetadataError::Missing {
                    key: "workload",
                    hint: "set it, or send the ScaledObject's name so `namespace/name` can be used",
                }),
            };
        let metric = get("metric").unwrap_or("demand").to_owned();
        let quantile = match get("quantile") {
            None => Quantile::Upper,
            Some(q) if q.eq_ignore_ascii_case("upper") => Quantile::Upper,
            Some(q) if q.eq_ignore_ascii_case("point") => Quantile::Point,
            Some(q) => {
                return Err(MetadataError::Invalid {
                    key: "quantile",
                    value: q.to_owned(),
                    reason: "expected `point` or `upper`",
                })
            }
        };
        let target_size = match get("targetSize") {
            None => {
                return Err(MetadataError::Missing {
                    key: "targetSize",
                    hint: "the demand one replica serves, a number > 0",
                })
            }
            Some(v) => parse_number("targetSize", v)?,
        };
        if target_size <= 0.0 {
            return Err(MetadataError::Invalid {
                key: "targetSize",
                value: target_size.to_string(),
                reason: "must be > 0",
            });
        }
        let activation_threshold = match get("activationThreshold") {
            None => 0.0,
            Some(v) => parse_number("activationThreshold", v)?,
        };
        let metric_name = match get("metricName") {
            Some(n) => n.to_owned(),
            None => default_metric_name(&metric),
        };
        Ok(ScalerQuery {
            workload,
            metric,
            quantile,
            target_size,
            activation_threshold,
            metric_name,
        })
    }
}

fn parse_number(key: &'static str, value: &str) -> Result<f64, MetadataError> {
    match value.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => Err(MetadataError::Invalid {
            key,
            value: value.to_owned(),
            reason: "must be a finite number",
        }),
        Err(_) => Err(MetadataError::Invalid {
            key,
            value: value.to_owned(),
            reason: "not a number",
        }),
    }
}

/// `prescale-<metric>` lower-cased, with anything outside `[a-z0-9.-]` replaced by `-`
/// (Kubernetes metric names are DNS-label-like).
fn default_metric_name(metric: &str) -> String {
    let clean: String = metric
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("prescale-{clean}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn r(md: &[(&str, &str)]) -> ScaledObjectRef {
        ScaledObjectRef {
            name: "web".into(),
            namespace: "shop".into(),
            scaler_metadata: md
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
        }
    }

    #[test]
    fn defaults_apply() {
        let q =
            ScalerQuery::from_ref(&r(&[("targetSize", "50"), ("scalerAddress", "x:1")])).unwrap();
        assert_eq!(q.workload, "shop/web");
        assert_eq!(q.metric, "demand");
        assert_eq!(q.quantile, Quantile::Upper);
        assert_eq!(q.target_size, 50.0);
        assert_eq!(q.activation_threshold, 0.0);
        assert_eq!(q.metric_name, "prescale-demand");
    }

    #[test]
    fn explicit_keys_win() {
        let q = ScalerQuery::from_ref(&r(&[
            ("workload", "api"),
            ("metric", "HTTP_rps"),
            ("quantile", "point"),
            ("targetSize", "2.5"),
            ("activationThreshold", "1"),
        ]))
        .unwrap();
        assert_eq!(q.workload, "api");
        assert_eq!(q.quantile, Quantile::Point);
        assert_eq!(q.target_size, 2.5);
        assert_eq!(q.activation_threshold, 1.0);
        assert_eq!(q.metric_name, "prescale-http-rps");
    }

    #[test]
    fn errors_name_the_key() {
        let e = ScalerQuery::from_ref(&r(&[])).unwrap_err();
        assert!(e.to_string().contains("`targetSize`"), "{e}");
        for (k, v) in [
            ("targetSize", "0"),
            ("targetSize", "-1"),
            ("targetSize", "abc"),
            ("targetSize", "inf"),
        ] {
            let e = ScalerQuery::from_ref(&r(&[(k, v)])).unwrap_err();
            assert!(e.to_string().contains("`targetSize`"), "{e}");
        }
        let e = ScalerQuery::from_ref(&r(&[("targetSize", "1"), ("quantile", "p99")])).unwrap_err();
        assert!(
            e.to_string().contains("`quantile`") && e.to_string().contains("p99"),
            "{e}"
        );
        let e = ScalerQuery::from_ref(&r(&[("targetSize", "1"), ("activationThreshold", "NaN")]))
            .unwrap_err();
        assert!(e.to_string().contains("`activationThreshold`"), "{e}");
        let mut nameless = r(&[("targetSize", "1")]);
        nameless.name.clear();
        let e = ScalerQuery::from_ref(&nameless).unwrap_err();
        assert!(e.to_string().contains("`workload`"), "{e}");
    }
}
