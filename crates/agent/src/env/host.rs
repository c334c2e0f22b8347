//! Host metadata from /proc and /sys: CPU model and flags, cores, memory, kernel, cgroup version, container runtime.

use super::EnvError;
use std::path::Path;

/// CPU features worth a label (a workload's speed depends on them); the full list is in `cpu_flags`.
pub const NOTABLE_FLAGS: [&str; 14] = [
    "avx512f",
    "avx512_fp16",
    "avx512_bf16",
    "amx_tile",
    "avx2",
    "avx",
    "fma",
    "sse4_2",
    "aes",
    "sha_ni",
    "asimd",
    "sve",
    "sve2",
    "hypervisor",
];

/// What `/proc/cpuinfo` says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuInfo {
    /// `model name` (x86), else `Hardware`/`CPU part` (Arm).
    pub model: Option<String>,
    /// `vendor_id` (x86) or `CPU implementer` (Arm).
    pub vendor: Option<String>,
    /// `flags` (x86) or `Features` (Arm) of the first processor.
    pub flags: Vec<String>,
    /// Logical processors listed.
    pub logical: usize,
    /// Distinct (physical id, core id) pairs, where the file has them.
    pub physical_cores: Option<usize>,
}

/// Parse `/proc/cpuinfo` (x86 and Arm layouts). Lines without a `:` are refused with their number.
pub fn parse_cpuinfo(text: &str, file: &Path) -> Result<CpuInfo, EnvError> {
    let mut info = CpuInfo::default();
    let mut cores = std::collections::BTreeSet::new();
    let mut physical: Option<&str> = None;
    let mut part: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            physical = None;
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(EnvError::malformed(
                file,
                i + 1,
                "no ':' between key and value",
            ));
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "processor" => info.logical += 1,
            "model name" | "Hardware" if info.model.is_none() && !value.is_empty() => {
                info.model = Some(value.to_string())
            }
            "vendor_id" | "CPU implementer" if info.vendor.is_none() => {
                info.vendor = Some(value.to_string())
            }
            "CPU part" if part.is_none() => part = Some(value.to_string()),
            "flags" | "Features" if info.flags.is_empty() => {
                info.flags = value.split_whitespace().map(str::to_string).collect()
            }
            "physical id" => physical = Some(value),
            "core id" => {
                cores.insert((physical.unwrap_or("0").to_string(), value.to_string()));
            }
            _ => {}
        }
    }
    if info.logical == 0 {
        return Err(EnvError::malformed(file, 1, "no `processor` entries"));
    }
    if info.model.is_none() {
        info.model = part.map(|p| format!("CPU part {p}"));
    }
    info.physical_cores = (!cores.is_empty()).then_some(cores.len());
    Ok(info)
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
pub fn parse_meminfo_total(text: &str, file: &Path) -> Result<u64, EnvError> {
    for (i, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix("MemTotal:") else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let kib = parts
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| EnvError::malformed(file, i + 1, "MemTotal is not a number"))?;
        return match parts.next() {
            Some("kB") | None => kib
                .checked_mul(1024)
                .ok_or_else(|| EnvError::malformed(file, i + 1, "MemTotal overflows")),
            Some(unit) => Err(EnvError::malformed(
                file,
                i + 1,
                &format!("MemTotal in unknown unit {unit:?}"),
            )),
        };
    }
    Err(EnvError::malformed(file, 0, "no MemTotal line"))
}

/// Which cgroup hierarchy the host mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    /// Unified hierarchy only.
    V2,
    /// v1 controllers with a v2 `unified` mount beside them.
    Hybrid,
    /// v1 controllers only.
    V1,
    /// No cgroup file system found.
    None,
}

impl CgroupVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupVersion::V2 => "v2",
            CgroupVersion::Hybrid => "hybrid",
            CgroupVersion::V1 => "v1",
            CgroupVersion::None => "none",
        }
    }
}

/// The cgroup version from what `<sys>/fs/cgroup` holds.
pub fn cgroup_version(sys_root: &Path) -> CgroupVersion {
    let cg = sys_root.join("fs/cgroup");
    if cg.join("cgroup.controllers").is_file() {
        CgroupVersion::V2
    } else if cg.join("unified/cgroup.controllers").is_file() {
        CgroupVersion::Hybrid
    } else if cg.join("memory").is_dir() || cg.join("cpu").is_dir() {
        CgroupVersion::V1
    } else {
        CgroupVersion::None
    }
}

/// The container runtime the agent itself runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerRuntime {
    Docker,
    Podman,
    Containerd,
    CriO,
    Lxc,
    SystemdNspawn,
    /// Named by `container=` in pid 1's environment but not one of the above.
    Other(String),
}

impl ContainerRuntime {
    pub fn as_str(&self) -> &str {
        match self {
            ContainerRuntime::Docker => "docker",
            ContainerRuntime::Podman => "podman",
            ContainerRuntime::Containerd => "containerd",
            ContainerRuntime::CriO => "cri-o",
            ContainerRuntime::Lxc => "lxc",
            ContainerRuntime::SystemdNspawn => "systemd-nspawn",
            ContainerRuntime::Other(s) => s,
        }
    }
}

/// The runtime named by a cgroup path (`/docker/<id>`, `cri-containerd-<id>.scope`, ...).
pub fn runtime_in_cgroup(path: &str) -> Option<ContainerRuntime> {
    if path.contains("cri-containerd") || path.contains("/containerd/") {
        Some(ContainerRuntime::Containerd)
    } else if path.contains("crio-") {
        Some(ContainerRuntime::CriO)
    } else if path.contains("libpod") {
        Some(ContainerRuntime::Podman)
    } else if path.contains("/docker/") || path.contains("docker-") {
        Some(ContainerRuntime::Docker)
    } else if path.contains("/lxc/") || path.contains("lxc.payload") {
        Some(ContainerRuntime::Lxc)
    } else if path.contains("machine.slice/machine-") {
        Some(ContainerRuntime::SystemdNspawn)
    } else {
        None
    }
}

/// The runtime named by `container=` in pid 1's environment (podman, systemd-nspawn, lxc set it).
pub fn runtime_in_environ(value: &str) -> ContainerRuntime {
    match value {
        "docker" => ContainerRuntime::Docker,
        "podman" => ContainerRuntime::Podman,
        "lxc" | "lxc-libvirt" => ContainerRuntime::Lxc,
        "systemd-nspawn" => ContainerRuntime::SystemdNspawn,
        "crio" | "cri-o" => ContainerRuntime::CriO,
        "containerd" => ContainerRuntime::Containerd,
        other => ContainerRuntime::Other(other.to_string()),
    }
}
