//! A policy as a configuration value: the short name (`"hpa@0.6"`, see [`PolicyKind`]'s `FromStr`)
//! or a table tagged by `kind` with the settings a user may tune, validated once while it is read:
//!
//! ```toml
//! policy = "predictive@0.02"
//! policy = { kind = "threshold", up = 1.3, down = 0.7, resize = 1.1 }
//! policy = { kind = "hpa", target = 0.6, tolerance = 0.05, stabilization_seconds = 120 }
//! policy = { kind = "predictive", budget = 0.02, stabilization_steps = 2 }
//! ```
//!
//! A field left out keeps its default; an unknown field or kind is an error naming it.

use crate::{HpaConfig, PolicyKind, PredictiveConfig, ThresholdConfig};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// The table form, tagged by `kind`.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Table {
    Hpa {
        target: Option<f64>,
        tolerance: Option<f64>,
        stabilization_seconds: Option<f64>,
    },
    Threshold {
        up: Option<f64>,
        down: Option<f64>,
        resize: Option<f64>,
        max_relative_width: Option<f64>,
        scale_in_cooldown_steps: Option<usize>,
    },
    Predictive {
        budget: Option<f64>,
        stabilization_steps: Option<usize>,
        fallback_target: Option<f64>,
    },
    Oracle,
    Static,
}

impl Table {
    /// The policy with these settings over the defaults, validated.
    fn into_kind(self) -> Result<PolicyKind, crate::PolicyError> {
        Ok(match self {
            Table::Hpa {
                target,
                tolerance,
                stabilization_seconds,
            } => {
                let d = HpaConfig::default();
                let c = HpaConfig {
                    target: target.unwrap_or(d.target),
                    tolerance: tolerance.unwrap_or(d.tolerance),
                    stabilization_seconds: stabilization_seconds.unwrap_or(d.stabilization_seconds),
                    ..d
                };
                c.validate()?;
                PolicyKind::Hpa(c)
            }
            Table::Threshold {
                up,
                down,
                resize,
                max_relative_width,
                scale_in_cooldown_steps,
            } => {
                let d = ThresholdConfig::default();
                let c = ThresholdConfig {
                    up: up.unwrap_or(d.up),
                    down: down.unwrap_or(d.down),
                    resize: resize.unwrap_or(d.resize),
                    max_relative_width: max_relative_width.unwrap_or(d.max_relative_width),
                    scale_in_cooldown_steps: scale_in_cooldown_steps
                        .unwrap_or(d.scale_in_cooldown_steps),
                };
                c.validate()?;
                PolicyKind::Threshold(c)
            }
            Table::Predictive {
                budget,
                stabilization_steps,
                fallback_target,
            } => {
                let mut c = PredictiveConfig::default();
                if let Some(b) = budget {
                    c.headroom.budget = b;
                }
                if let Some(s) = stabilization_steps {
                    c.stabilization_steps = s;
                }
                if let Some(t) = fallback_target {
                    c.fallback_target = t;
                }
                c.validate()?;
                PolicyKind::Predictive(c)
            }
            Table::Oracle => PolicyKind::Oracle,
            Table::Static => PolicyKind::Static,
        })
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = PolicyKind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a policy name such as \"hpa@0.6\" or a table with a `kind`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<PolicyKind, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PolicyKind, A::Error> {
        let table = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
        table.into_kind().map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for PolicyKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PolicyKind, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JSON value read as a policy (JSON stands in for TOML and the CRD's YAML: same serde path).
    fn read(json: &str) -> Result<PolicyKind, String> {
        serde_json::from_str::<PolicyKind>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn names_and_tables_give_the_same_policies() {
        assert_eq!(read(r#""hpa@0.6""#), Ok("hpa@0.6".parse().unwrap()));
        assert_eq!(
            read(r#"{"kind": "hpa", "target": 0.6}"#),
            Ok("hpa@0.6".parse().unwrap())
        );
        assert_eq!(
            read(r#"{"kind": "predictive", "budget": 0.02}"#),
            Ok("predictive@0.02".parse().unwrap())
        );
        assert_eq!(read(r#"{"kind": "oracle"}"#), Ok(PolicyKind::Oracle));
    }

    #[test]
    fn threshold_settings_are_configurable() {
        let k = read(r#"{"kind": "threshold", "up": 1.3, "down": 0.7}"#).unwrap();
        let PolicyKind::Threshold(c) = k else {
            panic!("not a threshold policy: {k:?}");
        };
        assert_eq!((c.up, c.down), (1.3, 0.7));
        assert_eq!(c.resize, ThresholdConfig::default().resize, "defaults kept");
        assert_eq!(k.label(), "threshold@1.3/0.7");
        assert_eq!(k.label().parse::<PolicyKind>(), Ok(k));
    }

    #[test]
    fn bad_tables_name_what_is_wrong() {
        let e = read(r#"{"kind": "threshold", "up": 0.5, "down": 0.7}"#).unwrap_err();
        assert!(e.contains("down") && e.contains("0 < down < up"), "{e}");
        let e = read(r#"{"kind": "threshold", "upp": 1.5}"#).unwrap_err();
        assert!(e.contains("upp"), "{e}");
        let e = read(r#"{"kind": "magic"}"#).unwrap_err();
        assert!(e.contains("magic"), "{e}");
        let e = read(r#"{"target": 0.5}"#).unwrap_err();
        assert!(e.contains("kind"), "{e}");
        let e = read(r#"{"kind": "hpa", "target": 2.0}"#).unwrap_err();
        assert!(e.contains("target"), "{e}");
        let e = read(r#""hpa@lots""#).unwrap_err();
        assert!(e.contains("not a number"), "{e}");
        assert!(read("7").is_err());
    }
}
