//! A parsed `resources` table (`[workload.resources]` or a PredictiveScaler's `spec.resources`)
//! into the controller's `ResourceSpec`: one conversion for both, unset fields taking its defaults.

use super::validate::Check;
use prescale_control::heap::HeapRule;
use prescale_control::{ResourceKind, ResourceSpec, ResourceTarget};
use prescale_kube::{ResourceBound, ResourceSettings};
use serde::Deserialize;

/// `[workload.resources.memory_runtime]`: how a Go or JVM heap estimate sizes memory (see
/// `prescale_control::heap`); every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryRuntimeConfig {
    /// GOGC when the runtime does not export it (default 100).
    pub go_gogc_percent: Option<f64>,
    /// JVM live data's target share of the heap after GC (default 0.7).
    pub jvm_occupancy: Option<f64>,
    /// JVM `MaxRAMPercentage` / 100, when the heap follows the container's memory.
    pub jvm_max_ram_fraction: Option<f64>,
    /// Memory beyond the heap per replica, a Kubernetes quantity (default 32Mi Go, 256Mi JVM).
    pub non_heap: Option<String>,
}

/// The heap rule of `f`, problems reported under `path` (its range checks run with the spec's).
pub(super) fn heap_rule(c: &mut Check, path: &str, f: MemoryRuntimeConfig) -> HeapRule {
    let d = HeapRule::default();
    let non_heap_bytes = f.non_heap.as_deref().and_then(|q| {
        prescale_kube::quantity::parse_memory_bytes(q)
            .map(|b| b as f64)
            .map_err(|e| c.fail(format!("{path}.non_heap"), e.to_string()))
            .ok()
    });
    HeapRule {
        go_gogc_percent: f.go_gogc_percent.unwrap_or(d.go_gogc_percent),
        jvm_occupancy: f.jvm_occupancy.unwrap_or(d.jvm_occupancy),
        jvm_max_ram_fraction: f.jvm_max_ram_fraction,
        non_heap_bytes,
    }
}

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
