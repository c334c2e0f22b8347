//! `[workload.purchase]`: the pricing catalogue and purchase settings a workload's decisions are
//! priced with (the mix each would buy is recorded and exported; nothing is bought), read and
//! validated once into `prescale_control::purchase_mix::PurchaseMixSpec`.

use super::validate::Check;
use super::workload::Origin;
use prescale_control::purchase_mix::PurchaseMixSpec;
use prescale_policy::{PricingCatalogue, PurchaseSpec};
use serde::Deserialize;
use std::path::Path;

/// `[workload.purchase]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurchaseConfig {
    /// The pricing catalogue (TOML, as `prescale simulate --pricing` reads, e.g.
    /// `docs/pricing.example.toml`); spot price histories are read beside it.
    pub pricing: String,
    /// The catalogue's type one replica runs on (default: its first `[[instance]]`).
    pub instance_type: Option<String>,
    /// The workload tolerates spot interruptions (default false: no spot).
    pub interruptible: Option<bool>,
    /// Highest share of the replicas bought on spot, 0–1 (default 1).
    pub max_spot_share: Option<f64>,
}

/// The pricing catalogue at `path` (spot price histories read beside it), or what is wrong with
/// it, naming the file (and the line, when the text is at fault).
pub(super) fn read_catalogue(path: &str) -> Result<PricingCatalogue, String> {
    let file = Path::new(path);
    let text = std::fs::read_to_string(file).map_err(|e| format!("reading {path:?}: {e}"))?;
    let dir = file.parent().unwrap_or(Path::new("."));
    PricingCatalogue::parse(&text, |name| {
        let p = dir.join(name);
        std::fs::read_to_string(&p).map_err(|e| format!("reading {}: {e}", p.display()))
    })
    .map_err(|e| format!("{path}: {e}"))
}

/// The purchase settings of `f`, problems reported at `origin`'s paths
/// (`workload[i].purchase.pricing`); `None` when they cannot be used.
pub(super) fn purchase(
    c: &mut Check,
    origin: Origin,
    f: PurchaseConfig,
) -> Option<PurchaseMixSpec> {
    let catalogue = read_catalogue(&f.pricing)
        .map_err(|e| c.fail(origin.at("purchase.pricing"), e))
        .ok()?;
    let instance = match &f.instance_type {
        Some(name) => catalogue
            .instance(name)
            .map_err(|e| c.fail(origin.at("purchase.instance_type"), e.to_string()))
            .ok()?,
        None => &catalogue.instances[0],
    };
    let spec = PurchaseSpec {
        interruptible: f.interruptible.unwrap_or(false),
        max_spot_share: f.max_spot_share.unwrap_or(1.0),
        ..PurchaseSpec::new(instance.name.clone())
    };
    if let Err(e) = spec.validate() {
        c.fail(origin.at("purchase.max_spot_share"), e.to_string());
        return None;
    }
    if spec.interruptible && instance.spot.is_none() {
        c.fail(
            origin.at("purchase.interruptible"),
            format!(
                "instance type {:?} has no spot terms in {} (line {})",
                instance.name, f.pricing, instance.line
            ),
        );
        return None;
    }
    Some(PurchaseMixSpec {
        instance: instance.clone(),
        spec,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{registry, BASE};
    use super::super::workload::{Origin, WorkloadConfig};
    use prescale_control::Mode;

    fn example() -> String {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/pricing.example.toml")
            .to_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn a_purchase_table_reaches_the_workload_and_bad_ones_are_named() {
        let text = format!(
            "{BASE}[purchase]\npricing = {:?}\ninstance_type = \"c5.large\"\ninterruptible = true\nmax_spot_share = 0.5\n",
            example()
        );
        let w = toml::from_str::<WorkloadConfig>(&text)
            .unwrap()
            .validate(Origin::File(0), Mode::ForecastOnly, &registry())
            .unwrap();
        let p = w.purchase.unwrap();
        assert_eq!(p.instance.name, "c5.large");
        assert!(p.spec.interruptible);
        assert_eq!(p.spec.max_spot_share, 0.5);
        // The first entry when no type is named.
        let first = format!("{BASE}[purchase]\npricing = {:?}\n", example());
        let w = toml::from_str::<WorkloadConfig>(&first)
            .unwrap()
            .validate(Origin::File(0), Mode::ForecastOnly, &registry())
            .unwrap();
        assert_eq!(w.purchase.unwrap().instance.name, "m5.large");

        for (table, path, says) in [
            (
                "pricing = \"/nonexistent/prices.toml\"".to_string(),
                "workload[2].purchase.pricing",
                "/nonexistent/prices.toml",
            ),
            (
                format!("pricing = {:?}\ninstance_type = \"m9.huge\"", example()),
                "workload[2].purchase.instance_type",
                "m9.huge",
            ),
            (
                format!("pricing = {:?}\nmax_spot_share = 1.5", example()),
                "workload[2].purchase.max_spot_share",
                "1.5",
            ),
        ] {
            let text = format!("{BASE}[purchase]\n{table}\n");
            let problems = toml::from_str::<WorkloadConfig>(&text)
                .unwrap()
                .validate(Origin::File(2), Mode::ForecastOnly, &registry())
                .unwrap_err();
            assert!(
                problems
                    .iter()
                    .any(|p| p.path == path && p.message.contains(says)),
                "{path}: {problems:?}"
            );
        }
        // A catalogue with a negative price is refused naming its line and field.
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.toml");
        std::fs::write(
            &bad,
            "[[instance]]\nname = \"x\"\nvcpu = 2\nmemory_gib = 8\non_demand = -1\n",
        )
        .unwrap();
        let text = format!("{BASE}[purchase]\npricing = {:?}\n", bad.to_str().unwrap());
        let problems = toml::from_str::<WorkloadConfig>(&text)
            .unwrap()
            .validate(Origin::File(0), Mode::ForecastOnly, &registry())
            .unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.path == "workload[0].purchase.pricing"
                    && p.message.contains("line 1")
                    && p.message.contains("on_demand = -1")),
            "{problems:?}"
        );
    }

    #[test]
    fn the_catalogues_scalers_may_name_are_read_once_and_bad_ones_named() {
        use crate::config::DaemonConfig;
        let good = format!(
            "[kubernetes]\npredictive_scalers = true\npricing = {{ aws = {:?} }}\n",
            example()
        );
        let c = DaemonConfig::from_toml(&good).unwrap();
        let scalers = c.kubernetes.scalers.unwrap();
        assert_eq!(scalers.pricing.get("aws"), Some(&example()));

        let missing = format!(
            "[kubernetes]\npredictive_scalers = true\npricing = {{ aws = {:?}, gcp = \"/nonexistent/gcp.toml\" }}\n",
            example()
        );
        let e = DaemonConfig::from_toml(&missing).unwrap_err().to_string();
        assert!(
            e.contains("kubernetes.pricing.gcp") && e.contains("/nonexistent/gcp.toml"),
            "{e}"
        );
        assert!(!e.contains("kubernetes.pricing.aws"), "{e}");

        let unused = format!("[kubernetes]\npricing = {{ aws = {:?} }}\n", example());
        let e = DaemonConfig::from_toml(&unused).unwrap_err().to_string();
        assert!(
            e.contains("kubernetes.pricing") && e.contains("predictive_scalers"),
            "{e}"
        );
    }
}
