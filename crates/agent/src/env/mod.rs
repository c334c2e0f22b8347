//! Environment metadata: the host's hardware and software and each workload's language runtime, typed.
//!
//! [`HostEnvironment::detect`] reads `/proc/cpuinfo`, `/proc/meminfo`, `/proc/sys/kernel/osrelease`,
//! `/sys/fs/cgroup` and the container markers (`/.dockerenv`, `/run/.containerenv`, pid 1's
//! `container=` variable and cgroup paths, Kubernetes' service-account mount and variables);
//! [`runtime::detect`] recognises a process's language runtime. The agent keeps both and reports
//! them as one `environment_info` point per workload (value 1, the facts as labels), the shape of a
//! Prometheus info metric.

pub mod elf;
pub mod host;
pub mod runtime;

pub use host::{CgroupVersion, ContainerRuntime, CpuInfo};
pub use runtime::{Evidence, Runtime, RuntimeInfo};

use std::path::{Path, PathBuf};
use thiserror::Error;

/// A metadata file that could not be used.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EnvError {
    #[error("{file}:{line}: {reason}")]
    Malformed {
        file: PathBuf,
        line: usize,
        reason: String,
    },
}

impl EnvError {
    pub(crate) fn malformed(file: &Path, line: usize, reason: &str) -> EnvError {
        EnvError::Malformed {
            file: file.to_path_buf(),
            line,
            reason: reason.to_string(),
        }
    }
}

/// Where the metadata is read from (the real roots are `/proc`, `/sys` and `/`).
#[derive(Debug, Clone)]
pub struct Roots {
    pub proc: PathBuf,
    pub sys: PathBuf,
    pub fs: PathBuf,
}

/// The machine the agent runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEnvironment {
    pub cpu: Option<CpuInfo>,
    /// Total memory in bytes.
    pub memory_bytes: Option<u64>,
    /// Kernel release (`uname -r`).
    pub kernel: Option<String>,
    /// Architecture the agent was built for (`x86_64`, `aarch64`).
    pub arch: &'static str,
    pub cgroup: CgroupVersion,
    /// The container runtime the agent runs under; `None` on a bare host.
    pub container: Option<ContainerRuntime>,
    /// Whether the agent runs in a Kubernetes pod.
    pub kubernetes: bool,
    /// Files that were there but malformed (unreadable ones just leave their field `None`).
    pub problems: Vec<EnvError>,
}

impl HostEnvironment {
    /// Read everything once; never fails, a missing or malformed source leaves its field empty
    /// (malformed ones are listed in `problems`).
    pub fn detect(roots: &Roots) -> HostEnvironment {
        let mut problems = Vec::new();
        let read = |p: &Path| std::fs::read_to_string(p).ok();
        let cpuinfo = roots.proc.join("cpuinfo");
        let cpu = read(&cpuinfo).and_then(|t| {
            host::parse_cpuinfo(&t, &cpuinfo)
                .map_err(|e| problems.push(e))
                .ok()
        });
        let meminfo = roots.proc.join("meminfo");
        let memory_bytes = read(&meminfo).and_then(|t| {
            host::parse_meminfo_total(&t, &meminfo)
                .map_err(|e| problems.push(e))
                .ok()
        });
        let kernel = read(&roots.proc.join("sys/kernel/osrelease"))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let (container, kubernetes) = container(roots);
        HostEnvironment {
            cpu,
            memory_bytes,
            kernel,
            arch: std::env::consts::ARCH,
            cgroup: host::cgroup_version(&roots.sys),
            container,
            kubernetes,
            problems,
        }
    }

    /// The CPU flags of [`host::NOTABLE_FLAGS`] this host has, comma-separated.
    pub fn notable_flags(&self) -> String {
        let Some(cpu) = &self.cpu else {
            return String::new();
        };
        host::NOTABLE_FLAGS
            .iter()
            .filter(|f| cpu.flags.iter().any(|g| g == *f))
            .copied()
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The facts as label pairs (empty ones left out), the same for every workload of the host.
    pub fn labels(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(cpu) = &self.cpu {
            if let Some(m) = &cpu.model {
                out.push(("cpu_model", m.clone()));
            }
            if let Some(v) = &cpu.vendor {
                out.push(("cpu_vendor", v.clone()));
            }
            out.push(("cpu_logical", cpu.logical.to_string()));
            if let Some(c) = cpu.physical_cores {
                out.push(("cpu_cores", c.to_string()));
            }
            let flags = self.notable_flags();
            if !flags.is_empty() {
                out.push(("cpu_features", flags));
            }
        }
        if let Some(m) = self.memory_bytes {
            out.push(("memory_bytes", m.to_string()));
        }
        if let Some(k) = &self.kernel {
            out.push(("kernel", k.clone()));
        }
        out.push(("arch", self.arch.to_string()));
        out.push(("cgroup", self.cgroup.as_str().to_string()));
        out.push((
            "container",
            self.container
                .as_ref()
                .map_or("none", ContainerRuntime::as_str)
                .to_string(),
        ));
        out.push(("kubernetes", self.kubernetes.to_string()));
        out
    }
}

/// The container runtime and whether this is a Kubernetes pod.
fn container(roots: &Roots) -> (Option<ContainerRuntime>, bool) {
    let init_env = std::fs::read(roots.proc.join("1/environ")).unwrap_or_default();
    let has = |k: &str| crate::parse::environ_get(&init_env, k).is_some();
    let kubernetes = has("KUBERNETES_SERVICE_HOST")
        || roots
            .fs
            .join("var/run/secrets/kubernetes.io/serviceaccount")
            .is_dir();
    let cgroup_runtime = ["1/cgroup", "self/cgroup"].iter().find_map(|f| {
        let text = std::fs::read_to_string(roots.proc.join(f)).ok()?;
        text.lines()
            .filter_map(|l| l.splitn(3, ':').nth(2))
            .find_map(host::runtime_in_cgroup)
    });
    let runtime = if roots.fs.join(".dockerenv").exists() {
        Some(ContainerRuntime::Docker)
    } else if roots.fs.join("run/.containerenv").exists() {
        Some(ContainerRuntime::Podman)
    } else if let Some(r) = cgroup_runtime {
        Some(r)
    } else {
        crate::parse::environ_get(&init_env, "container")
            .map(|v| host::runtime_in_environ(&String::from_utf8_lossy(v)))
    };
    (runtime, kubernetes)
}

#[cfg(test)]
mod tests;
