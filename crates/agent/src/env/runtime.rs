//! A process's language runtime and version from its executable's name and path, its mapped libraries, its ELF sections and its environment.

use super::elf;
use regex::Regex;
use std::path::Path;
use std::sync::OnceLock;

/// Language runtimes the agent recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Runtime {
    Java,
    Go,
    Python,
    Node,
    Dotnet,
}

impl Runtime {
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Java => "java",
            Runtime::Go => "go",
            Runtime::Python => "python",
            Runtime::Node => "node",
            Runtime::Dotnet => "dotnet",
        }
    }
}

/// How the runtime was recognised (strongest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// A runtime library mapped into the process (libjvm, libpython, libcoreclr, libnode).
    Library,
    /// The executable's name (`java`, `python3.12`, `node`, `dotnet`).
    Executable,
    /// The Go linker's `.go.buildinfo` section (or `.gopclntab`) in the executable.
    GoBuildInfo,
    /// A Go runtime variable (`GOMAXPROCS`, `GOGC`, `GOMEMLIMIT`, `GODEBUG`) in the environment:
    /// weak, children of a Go program's shell inherit it.
    Environment,
}

/// A process's runtime and, where found, its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeInfo {
    pub runtime: Runtime,
    /// `17.0.9`, `go1.22.1`, `3.12`, `20.11.0`, `8.0.1`.
    pub version: Option<String>,
    pub evidence: Evidence,
}

/// What the agent read about one process for runtime detection.
#[derive(Debug, Default)]
pub struct ProcessFacts<'a> {
    /// The executable's path (`/proc/<pid>/exe` link target, " (deleted)" trimmed).
    pub exe: Option<&'a str>,
    /// `/proc/<pid>/maps`.
    pub maps: Option<&'a [u8]>,
    /// `/proc/<pid>/environ`.
    pub environ: Option<&'a [u8]>,
    /// The executable itself (`/proc/<pid>/exe` opened), for its ELF sections.
    pub exe_file: Option<&'a Path>,
}

fn re(cell: &'static OnceLock<Option<Regex>>, pattern: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(pattern).ok()).as_ref()
}

fn java_path_version(path: &str) -> Option<String> {
    static R: OnceLock<Option<Regex>> = OnceLock::new();
    re(
        &R,
        r"(?:java|jdk|jre|openjdk|temurin|zulu|corretto)[-_]?(\d+(?:\.\d+)*)",
    )?
    .captures(path)
    .map(|c| c[1].to_string())
}

fn python_version(path: &str) -> Option<String> {
    static R: OnceLock<Option<Regex>> = OnceLock::new();
    re(&R, r"python(\d+\.\d+)")?
        .captures(path)
        .map(|c| c[1].to_string())
}

fn dotnet_version(path: &str) -> Option<String> {
    static R: OnceLock<Option<Regex>> = OnceLock::new();
    re(&R, r"Microsoft\.NETCore\.App/(\d+\.\d+\.\d+[^/]*)/")?
        .captures(path)
        .map(|c| c[1].to_string())
}

fn node_version(path: &str) -> Option<String> {
    static R: OnceLock<Option<Regex>> = OnceLock::new();
    re(&R, r"node[-/]v?(\d+\.\d+\.\d+)")?
        .captures(path)
        .map(|c| c[1].to_string())
}

/// `JAVA_VERSION="17.0.9"` from the `release` file of the JDK a `libjvm.so` belongs to.
fn java_release_version(libjvm: &str) -> Option<String> {
    let home = libjvm
        .rfind("/jre/lib/")
        .or_else(|| libjvm.rfind("/lib/server/"))
        .or_else(|| libjvm.rfind("/lib/"))
        .map(|i| &libjvm[..i])?;
    let text = std::fs::read_to_string(Path::new(home).join("release")).ok()?;
    text.lines().find_map(|l| {
        l.strip_prefix("JAVA_VERSION=")
            .map(|v| v.trim().trim_matches('"').to_string())
            .filter(|v| !v.is_empty())
    })
}

/// The runtime a mapped library path names.
fn from_library(path: &str) -> Option<RuntimeInfo> {
    let file = path.rsplit('/').next().unwrap_or(path);
    let (runtime, version) = if file == "libjvm.so" {
        let v = java_release_version(path).or_else(|| java_path_version(path));
        (Runtime::Java, v)
    } else if file.starts_with("libpython") {
        (Runtime::Python, python_version(file))
    } else if file == "libcoreclr.so" {
        (Runtime::Dotnet, dotnet_version(path))
    } else if file.starts_with("libnode.so") {
        (Runtime::Node, node_version(path))
    } else {
        return None;
    };
    Some(RuntimeInfo {
        runtime,
        version,
        evidence: Evidence::Library,
    })
}

/// The runtime an executable's name names.
fn from_executable(exe: &str) -> Option<RuntimeInfo> {
    let name = exe.rsplit('/').next().unwrap_or(exe);
    let (runtime, version) = match name {
        "java" => (Runtime::Java, java_path_version(exe)),
        "node" | "nodejs" => (Runtime::Node, node_version(exe)),
        "dotnet" => (Runtime::Dotnet, None),
        n if n.starts_with("python") => (Runtime::Python, python_version(n)),
        _ => return None,
    };
    Some(RuntimeInfo {
        runtime,
        version,
        evidence: Evidence::Executable,
    })
}

/// Recognise a process's runtime; `None` when nothing says which.
pub fn detect(facts: &ProcessFacts<'_>) -> Option<RuntimeInfo> {
    if let Some(maps) = facts.maps {
        let text = String::from_utf8_lossy(maps);
        let lib = text
            .lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .find_map(from_library);
        if let Some(mut found) = lib {
            // The executable may name the version the library's path did not (python3.12 with a
            // static libpython, node under nvm).
            if found.version.is_none() {
                found.version = facts
                    .exe
                    .and_then(from_executable)
                    .filter(|e| e.runtime == found.runtime)
                    .and_then(|e| e.version);
            }
            return Some(found);
        }
    }
    if let Some(found) = facts.exe.and_then(from_executable) {
        return Some(found);
    }
    if let Some(found) = facts.exe_file.and_then(elf::go_build_info) {
        return Some(RuntimeInfo {
            runtime: Runtime::Go,
            version: found,
            evidence: Evidence::GoBuildInfo,
        });
    }
    let env = facts.environ?;
    let go_var = ["GOMAXPROCS", "GOGC", "GOMEMLIMIT", "GODEBUG"]
        .iter()
        .any(|k| crate::parse::environ_get(env, k).is_some());
    go_var.then_some(RuntimeInfo {
        runtime: Runtime::Go,
        version: None,
        evidence: Evidence::Environment,
    })
}
