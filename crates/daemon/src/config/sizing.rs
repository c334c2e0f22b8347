//! A parsed `resources` table (`[workload.resources]` or a PredictiveScaler's `spec.resources`)
//! into the controller's `ResourceSpec`: one conversion for both, unset fields taking its defaults.

use prescale_control::{ResourceKind, ResourceSpec, ResourceTarget};
use prescale_kube::{ResourceBound, ResourceSettings};

/// The sizing spec of `r`; fit length and instance types keep their defaults (none for types).
pub(crate) fn resource_spec(r: &ResourceSettings) -> ResourceSpec {
    let target = |kind: ResourceKind, b: &ResourceBound| {
        ResourceTarget::with_defaults(kind, b.metric.clone(), b.scale, b.min, b.max)
    };
    let d = ResourceSpec::default();
    ResourceSpec {
        cpu: r.cpu.as_ref().map(|b| target(ResourceKind::Cpu, b)),
        memory: r.memory.as_ref().map(|b| target(ResourceKind::Memory, b)),
        headroom: r.headroom.unwrap_or(d.headroom),
        tolerance: r.tolerance.unwrap_or(d.tolerance),
        stabilization: r.stabilization.unwrap_or(d.stabilization),
        ..d
    }
}

/// `"builtin"`, or a TOML file of `[[instance]]` tables.
pub(crate) fn instance_catalogue(
    source: &str,
) -> Result<prescale_policy::InstanceCatalogue, String> {
    if source == "builtin" {
        return Ok(prescale_policy::InstanceCatalogue::builtin());
    }
    let text = std::fs::read_to_string(source).map_err(|e| format!("reading {source:?}: {e}"))?;
    let cat: prescale_policy::InstanceCatalogue =
        toml::from_str(&text).map_err(|e| format!("{source}: {}", e.message().trim()))?;
    cat.validate().map_err(|e| format!("{source}: {e}"))?;
    Ok(cat)
}
