//! Instance types (name, vCPU, memory, hourly price) and the cheapest one that fits a request: the
//! cost side of sizing, shared by `prescale recommend` (cold start) and the live loop.
//!
//! A burstable type (AWS t-family: `burstable = true`, `baseline_cpu_share = 0.2`) sustains only
//! its CPU-credit baseline of each vCPU; the rest is a burst paid for with credits. Instance choice
//! counts only the baseline as capacity ([`InstanceType::sustained_vcpu`]), so a t3.small (2 vCPU
//! at a 20 % baseline: 0.4 sustained) no longer wins a sustained 1.5-core load by catalogue size.

use serde::{Deserialize, Serialize};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// One machine type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceType {
    pub name: String,
    pub vcpu: f64,
    pub memory_gib: f64,
    pub hourly_price: f64,
    /// A burstable type: sustains only `baseline_cpu_share` of each vCPU (false when omitted).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub burstable: bool,
    /// A burstable type's baseline share of each vCPU, in (0, 1] (AWS: t3.small 0.2); required
    /// with `burstable = true`, refused without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_cpu_share: Option<f64>,
}

impl InstanceType {
    /// The vCPUs it sustains: all of them, or a burstable type's baseline share of them.
    pub fn sustained_vcpu(&self) -> f64 {
        match (self.burstable, self.baseline_cpu_share) {
            (true, Some(share)) => self.vcpu * share,
            _ => self.vcpu,
        }
    }

    /// Why its burstable settings are refused, if they are.
    pub fn burstable_problem(&self) -> Option<&'static str> {
        match (self.burstable, self.baseline_cpu_share) {
            (true, None) => Some("burstable = true needs baseline_cpu_share (e.g. 0.2)"),
            (false, Some(_)) => Some("baseline_cpu_share is given without burstable = true"),
            (true, Some(s)) if !(s.is_finite() && s > 0.0 && s <= 1.0) => {
                Some("baseline_cpu_share is a share of each vCPU, must be within (0, 1]")
            }
            _ => None,
        }
    }
}

/// A catalogue, as read from TOML: `[[instance]]` tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceCatalogue {
    #[serde(rename = "instance")]
    pub instances: Vec<InstanceType>,
}

impl InstanceCatalogue {
    /// A small built-in list: AWS general-purpose, compute and memory types with illustrative
    /// us-east-1 on-demand Linux prices (USD/h). Configure your own for real decisions.
    pub fn builtin() -> Self {
        let t = |name: &str, vcpu: f64, memory_gib: f64, hourly_price: f64| InstanceType {
            name: name.to_string(),
            vcpu,
            memory_gib,
            hourly_price,
            burstable: false,
            baseline_cpu_share: None,
        };
        // AWS's t3 baseline per vCPU (EC2 user guide, "Key concepts and definitions for
        // burstable performance instances"): t3.small and t3.medium 20 %.
        let burst = |mut i: InstanceType, share: f64| {
            i.burstable = true;
            i.baseline_cpu_share = Some(share);
            i
        };
        InstanceCatalogue {
            instances: vec![
                burst(t("t3.small", 2.0, 2.0, 0.0208), 0.2),
                burst(t("t3.medium", 2.0, 4.0, 0.0416), 0.2),
                t("c6i.large", 2.0, 4.0, 0.085),
                t("m6i.large", 2.0, 8.0, 0.096),
                t("r6i.large", 2.0, 16.0, 0.126),
                t("c6i.xlarge", 4.0, 8.0, 0.17),
                t("m6i.xlarge", 4.0, 16.0, 0.192),
                t("r6i.xlarge", 4.0, 32.0, 0.252),
                t("c6i.2xlarge", 8.0, 16.0, 0.34),
                t("m6i.2xlarge", 8.0, 32.0, 0.384),
                t("r6i.2xlarge", 8.0, 64.0, 0.504),
                t("m6i.4xlarge", 16.0, 64.0, 0.768),
            ],
        }
    }

    /// Every entry needs a name and finite, positive vCPU and memory and a non-negative price; a
    /// burstable one its baseline share.
    pub fn validate(&self) -> Result<(), crate::PolicyError> {
        if self.instances.is_empty() {
            return Err(crate::error::invalid(
                "instance catalogue",
                "[]",
                "lists no instance",
            ));
        }
        for i in &self.instances {
            let ok = !i.name.trim().is_empty()
                && i.vcpu.is_finite()
                && i.vcpu > 0.0
                && i.memory_gib.is_finite()
                && i.memory_gib > 0.0
                && i.hourly_price.is_finite()
                && i.hourly_price >= 0.0;
            if !ok {
                return Err(crate::error::invalid(
                    "instance type",
                    &i.name,
                    "needs a name, vcpu > 0, memory_gib > 0 and hourly_price >= 0",
                ));
            }
            if let Some(why) = i.burstable_problem() {
                let share = i
                    .baseline_cpu_share
                    .map_or("none".to_string(), |s| s.to_string());
                return Err(crate::error::invalid(
                    "instance type",
                    format!("{} (baseline_cpu_share {share})", i.name),
                    why,
                ));
            }
        }
        Ok(())
    }

    /// The cheapest type sustaining at least `cpu_cores` vCPU ([`InstanceType::sustained_vcpu`])
    /// with `memory_bytes` of memory (ties: fewer vCPU, less memory, then name); `None` when
    /// nothing fits.
    pub fn cheapest_fit(&self, cpu_cores: f64, memory_bytes: f64) -> Option<&InstanceType> {
        self.instances
            .iter()
            .filter(|i| i.sustained_vcpu() >= cpu_cores && i.memory_gib * GIB >= memory_bytes)
            .min_by(|a, b| {
                a.hourly_price
                    .total_cmp(&b.hourly_price)
                    .then(a.vcpu.total_cmp(&b.vcpu))
                    .then(a.memory_gib.total_cmp(&b.memory_gib))
                    .then(a.name.cmp(&b.name))
            })
    }
}

/// Where a type's capacity figure for a workload came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapacitySource {
    /// The workload itself was measured on the type.
    Measured,
    /// Similar workloads were measured on it.
    Borrowed,
    /// Nobody was: the catalogue's vCPU alone.
    Catalogue,
}

impl CapacitySource {
    pub fn as_str(self) -> &'static str {
        match self {
            CapacitySource::Measured => "measured",
            CapacitySource::Borrowed => "borrowed",
            CapacitySource::Catalogue => "catalogue",
        }
    }
}

/// How much work a core of one type does for a workload relative to the cores it runs on now
/// (1.6: a core there does 1.6× the work), and where the figure came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeSpeed {
    pub instance: String,
    pub speed: f64,
    pub source: CapacitySource,
    /// How the figure was arrived at, in words.
    pub basis: String,
}

impl InstanceCatalogue {
    /// The cheapest type one replica fits when a type's cores do `speed` times the work of the
    /// cores `cpu_cores` was measured on (a type without a speed: 1, catalogue size alone), with
    /// its speed (ties as [`InstanceCatalogue::cheapest_fit`]); `None` when nothing fits. Speeds
    /// must be finite and above 0 (checked by whoever takes them in).
    pub fn cheapest_fit_by_speed<'a>(
        &'a self,
        cpu_cores: f64,
        memory_bytes: f64,
        speeds: &'a [TypeSpeed],
    ) -> Option<(&'a InstanceType, Option<&'a TypeSpeed>)> {
        self.instances
            .iter()
            .map(|i| {
                (
                    i,
                    speeds
                        .iter()
                        .find(|s| s.instance.eq_ignore_ascii_case(&i.name)),
                )
            })
            .filter(|(i, s)| {
                let speed = s.map_or(1.0, |s| s.speed);
                i.sustained_vcpu() >= cpu_cores / speed && i.memory_gib * GIB >= memory_bytes
            })
            .min_by(|(a, _), (b, _)| {
                a.hourly_price
                    .total_cmp(&b.hourly_price)
                    .then(a.vcpu.total_cmp(&b.vcpu))
                    .then(a.memory_gib.total_cmp(&b.memory_gib))
                    .then(a.name.cmp(&b.name))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_faster_core_lets_a_smaller_type_fit() {
        let c = InstanceCatalogue::builtin();
        // 2.5 cores measured where the workload runs: c6i.xlarge by size alone.
        assert_eq!(c.cheapest_fit(2.5, 6.0 * GIB).unwrap().name, "c6i.xlarge");
        let speed = |name: &str, speed: f64| TypeSpeed {
            instance: name.into(),
            speed,
            source: CapacitySource::Borrowed,
            basis: String::new(),
        };
        let speeds = [speed("c6i.large", 1.3), speed("m6i.large", 0.5)];
        let (t, s) = c.cheapest_fit_by_speed(2.5, 3.0 * GIB, &speeds).unwrap();
        assert_eq!((t.name.as_str(), s.unwrap().speed), ("c6i.large", 1.3));
        // t3.medium is cheaper, but sustains 0.4 of its 2 vCPU: it fits 0.3 cores, not 1.5.
        let (t, s) = c.cheapest_fit_by_speed(0.3, 3.0 * GIB, &speeds).unwrap();
        assert_eq!((t.name.as_str(), s), ("t3.medium", None));
        let (t, _) = c.cheapest_fit_by_speed(1.5, 3.0 * GIB, &speeds).unwrap();
        assert_eq!(t.name, "c6i.large");
    }

    #[test]
    fn cheapest_that_fits() {
        let c = InstanceCatalogue::builtin();
        c.validate().unwrap();
        // A burstable type counts its baseline only: t3.small sustains 0.4 vCPU.
        assert_eq!(c.cheapest_fit(0.4, 1.0 * GIB).unwrap().name, "t3.small");
        assert_eq!(c.cheapest_fit(0.5, 1.0 * GIB).unwrap().name, "c6i.large");
        assert_eq!(c.cheapest_fit(0.3, 3.0 * GIB).unwrap().name, "t3.medium");
        assert_eq!(c.cheapest_fit(2.0, 3.0 * GIB).unwrap().name, "c6i.large");
        assert_eq!(c.cheapest_fit(2.5, 6.0 * GIB).unwrap().name, "c6i.xlarge");
        assert_eq!(c.cheapest_fit(3.0, 20.0 * GIB).unwrap().name, "r6i.xlarge");
        assert_eq!(c.cheapest_fit(2.0, 12.0 * GIB).unwrap().name, "r6i.large");
        assert!(c.cheapest_fit(64.0, 1.0).is_none());
    }

    #[test]
    fn ties_go_to_the_smaller_then_the_name() {
        let t = |n: &str, v: f64| InstanceType {
            name: n.into(),
            vcpu: v,
            memory_gib: 8.0,
            hourly_price: 1.0,
            burstable: false,
            baseline_cpu_share: None,
        };
        let c = InstanceCatalogue {
            instances: vec![t("b", 4.0), t("z", 2.0), t("a", 2.0)],
        };
        assert_eq!(c.cheapest_fit(1.0, 0.0).unwrap().name, "a");
        let bad = InstanceCatalogue {
            instances: vec![t("x", 0.0)],
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn burstable_settings_are_read_and_bad_ones_refused() {
        let c: InstanceCatalogue = toml::from_str(
            "[[instance]]\nname = \"t3.large\"\nvcpu = 2\nmemory_gib = 8\nhourly_price = 0.0832\n\
             burstable = true\nbaseline_cpu_share = 0.3\n",
        )
        .unwrap();
        c.validate().unwrap();
        assert!((c.instances[0].sustained_vcpu() - 0.6).abs() < 1e-12);
        for (extra, want) in [
            ("burstable = true\n", "needs baseline_cpu_share"),
            ("baseline_cpu_share = 0.2\n", "without burstable"),
            ("burstable = true\nbaseline_cpu_share = 1.5\n", "(0, 1]"),
            ("burstable = true\nbaseline_cpu_share = 0\n", "(0, 1]"),
        ] {
            let c: InstanceCatalogue = toml::from_str(&format!(
                "[[instance]]\nname = \"t3.x\"\nvcpu = 2\nmemory_gib = 8\nhourly_price = 0.1\n{extra}"
            ))
            .unwrap();
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(want) && e.contains("t3.x"), "{extra}: {e}");
        }
    }
}
