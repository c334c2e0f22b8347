//! Fixture /proc and /sys files for the host metadata, runtimes from maps and names, a synthetic Go ELF.

use super::*;
use std::fs;

const X86: &str = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz\nphysical id\t: 0\ncore id\t\t: 0\nflags\t\t: fpu sse4_2 avx avx2 avx512f aes hypervisor\n\nprocessor\t: 1\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz\nphysical id\t: 0\ncore id\t\t: 0\nflags\t\t: fpu sse4_2 avx avx2 avx512f aes hypervisor\n\nprocessor\t: 2\nphysical id\t: 0\ncore id\t\t: 1\n\n";
const ARM: &str = "processor\t: 0\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd evtstrm aes sha2 crc32 sve\nCPU implementer\t: 0x41\nCPU part\t: 0xd40\n\nprocessor\t: 1\nFeatures\t: fp asimd evtstrm aes sha2 crc32 sve\n";

fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

#[test]
fn cpuinfo_x86_and_arm() {
    let c = host::parse_cpuinfo(X86, &p("/proc/cpuinfo")).unwrap();
    assert_eq!(
        c.model.as_deref(),
        Some("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz")
    );
    assert_eq!(c.vendor.as_deref(), Some("GenuineIntel"));
    assert_eq!(c.logical, 3);
    assert_eq!(
        c.physical_cores,
        Some(2),
        "two hyperthreads of core 0, core 1"
    );
    assert!(c.flags.iter().any(|f| f == "avx512f"));
    let a = host::parse_cpuinfo(ARM, &p("/proc/cpuinfo")).unwrap();
    assert_eq!(a.model.as_deref(), Some("CPU part 0xd40"));
    assert_eq!(a.vendor.as_deref(), Some("0x41"));
    assert_eq!(a.logical, 2);
    assert_eq!(a.physical_cores, None);
    assert!(a.flags.iter().any(|f| f == "sve"));
}

#[test]
fn malformed_files_name_the_file_and_line() {
    let e = host::parse_cpuinfo("processor\t: 0\ngarbage line\n", &p("/proc/cpuinfo")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/proc/cpuinfo:2: no ':' between key and value"
    );
    let e = host::parse_cpuinfo("", &p("/x/cpuinfo")).unwrap_err();
    assert!(e.to_string().contains("no `processor` entries"));
    let m = p("/proc/meminfo");
    assert_eq!(
        host::parse_meminfo_total("MemTotal:       1024 kB\n", &m),
        Ok(1 << 20)
    );
    let e = host::parse_meminfo_total("MemFree: 1 kB\nMemTotal: lots kB\n", &m).unwrap_err();
    assert_eq!(e.to_string(), "/proc/meminfo:2: MemTotal is not a number");
    let e = host::parse_meminfo_total("MemTotal: 5 MB\n", &m).unwrap_err();
    assert!(e.to_string().contains("unknown unit \"MB\""));
    let e = host::parse_meminfo_total("MemTotal: 18446744073709551615 kB\n", &m).unwrap_err();
    assert!(e.to_string().contains("overflows"));
}

fn tree() -> (tempfile::TempDir, Roots) {
    let dir = tempfile::tempdir().unwrap();
    let roots = Roots {
        proc: dir.path().join("proc"),
        sys: dir.path().join("sys"),
        fs: dir.path().join("root"),
    };
    for d in [
        roots.proc.join("sys/kernel"),
        roots.proc.join("1"),
        roots.sys.join("fs/cgroup"),
        roots.fs.clone(),
    ] {
        fs::create_dir_all(d).unwrap();
    }
    fs::write(roots.proc.join("cpuinfo"), X86).unwrap();
    fs::write(roots.proc.join("meminfo"), "MemTotal:       2048 kB\n").unwrap();
    fs::write(roots.proc.join("sys/kernel/osrelease"), "6.8.0-1009-aws\n").unwrap();
    (dir, roots)
}

#[test]
fn a_kubernetes_node_with_containerd_and_cgroup_v2() {
    let (_dir, roots) = tree();
    fs::write(
        roots.sys.join("fs/cgroup/cgroup.controllers"),
        "cpu memory\n",
    )
    .unwrap();
    fs::write(
        roots.proc.join("1/cgroup"),
        "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-abc.scope\n",
    )
    .unwrap();
    fs::write(
        roots.proc.join("1/environ"),
        "PATH=/bin\0KUBERNETES_SERVICE_HOST=10.0.0.1\0",
    )
    .unwrap();
    let h = HostEnvironment::detect(&roots);
    assert_eq!(h.memory_bytes, Some(2 << 20));
    assert_eq!(h.kernel.as_deref(), Some("6.8.0-1009-aws"));
    assert_eq!(h.cgroup, CgroupVersion::V2);
    assert_eq!(h.container, Some(ContainerRuntime::Containerd));
    assert!(h.kubernetes);
    assert_eq!(h.notable_flags(), "avx512f,avx2,avx,sse4_2,aes,hypervisor");
    let labels = h.labels();
    assert!(labels.contains(&("container", "containerd".to_string())));
    assert!(labels.contains(&("cpu_cores", "2".to_string())));
    assert!(h.problems.is_empty());
}

#[test]
fn docker_podman_nspawn_and_a_bare_host() {
    let (_dir, roots) = tree();
    fs::create_dir_all(roots.sys.join("fs/cgroup/memory")).unwrap();
    fs::create_dir_all(roots.sys.join("fs/cgroup/unified")).unwrap();
    fs::write(roots.sys.join("fs/cgroup/unified/cgroup.controllers"), "").unwrap();
    let h = HostEnvironment::detect(&roots);
    assert_eq!(
        (h.container.clone(), h.kubernetes),
        (None, false),
        "bare host"
    );
    assert_eq!(h.cgroup, CgroupVersion::Hybrid);
    fs::write(roots.proc.join("1/environ"), "container=systemd-nspawn\0").unwrap();
    assert_eq!(
        HostEnvironment::detect(&roots).container,
        Some(ContainerRuntime::SystemdNspawn)
    );
    fs::write(
        roots.proc.join("1/cgroup"),
        "12:memory:/docker/0123abcd\n0::/\n",
    )
    .unwrap();
    assert_eq!(
        HostEnvironment::detect(&roots).container,
        Some(ContainerRuntime::Docker)
    );
    fs::create_dir_all(roots.fs.join("run")).unwrap();
    fs::write(
        roots.fs.join("run/.containerenv"),
        "engine=\"podman-4.9\"\n",
    )
    .unwrap();
    assert_eq!(
        HostEnvironment::detect(&roots).container,
        Some(ContainerRuntime::Podman)
    );
    fs::write(roots.proc.join("meminfo"), "MemTotal: x kB\n").unwrap();
    let h = HostEnvironment::detect(&roots);
    assert_eq!(h.memory_bytes, None);
    assert_eq!(h.problems.len(), 1, "{:?}", h.problems);
}

#[test]
fn runtimes_from_maps_names_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("usr/lib/jvm/java-17-openjdk-amd64");
    fs::create_dir_all(home.join("lib/server")).unwrap();
    fs::write(
        home.join("release"),
        "IMPLEMENTOR=\"Eclipse\"\nJAVA_VERSION=\"17.0.9\"\n",
    )
    .unwrap();
    let jvm = home.join("lib/server/libjvm.so");
    let maps = format!(
        "7f00-7f01 r-xp 00000000 08:01 1234 {}\n7f02-7f03 r--p 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6\n",
        jvm.display()
    );
    let f = runtime::ProcessFacts {
        exe: Some("/usr/lib/jvm/java-17-openjdk-amd64/bin/java"),
        maps: Some(maps.as_bytes()),
        ..Default::default()
    };
    let r = runtime::detect(&f).unwrap();
    assert_eq!(
        (r.runtime, r.version.as_deref(), r.evidence),
        (Runtime::Java, Some("17.0.9"), Evidence::Library)
    );
    // Without the release file: the version in the path.
    let maps = "1-2 r-xp 0 0:0 1 /opt/jdk-21.0.2/lib/server/libjvm.so\n";
    let f = runtime::ProcessFacts {
        maps: Some(maps.as_bytes()),
        ..Default::default()
    };
    assert_eq!(
        runtime::detect(&f).unwrap().version.as_deref(),
        Some("21.0.2")
    );

    let cases: [(&str, &str, Runtime, Option<&str>); 5] = [
        (
            "/usr/bin/python3.12",
            "1-2 r-xp 0 0:0 1 /usr/lib/libpython3.12.so.1.0\n",
            Runtime::Python,
            Some("3.12"),
        ),
        (
            "/usr/local/bin/python3.11",
            "",
            Runtime::Python,
            Some("3.11"),
        ),
        (
            "/home/u/.nvm/versions/node/v20.11.0/bin/node",
            "",
            Runtime::Node,
            Some("20.11.0"),
        ),
        (
            "/usr/share/dotnet/dotnet",
            "1-2 r-xp 0 0:0 1 /usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.1/libcoreclr.so\n",
            Runtime::Dotnet,
            Some("8.0.1"),
        ),
        ("/usr/bin/node", "", Runtime::Node, None),
    ];
    for (exe, maps, want, version) in cases {
        let f = runtime::ProcessFacts {
            exe: Some(exe),
            maps: Some(maps.as_bytes()),
            ..Default::default()
        };
        let r = runtime::detect(&f).unwrap_or_else(|| panic!("{exe}"));
        assert_eq!((r.runtime, r.version.as_deref()), (want, version), "{exe}");
    }
    let env = b"HOME=/root\0GOMAXPROCS=4\0";
    let f = runtime::ProcessFacts {
        exe: Some("/srv/api"),
        environ: Some(env),
        ..Default::default()
    };
    let r = runtime::detect(&f).unwrap();
    assert_eq!(
        (r.runtime, r.evidence),
        (Runtime::Go, Evidence::Environment)
    );
    let f = runtime::ProcessFacts {
        exe: Some("/usr/sbin/nginx"),
        environ: Some(b"A=1\0"),
        ..Default::default()
    };
    assert_eq!(runtime::detect(&f), None);
}

/// A minimal little-endian ELF64 with the given sections (name, contents).
fn elf64(sections: &[(&str, &[u8])]) -> Vec<u8> {
    let mut names = vec![0u8];
    let mut name_at = Vec::new();
    for (n, _) in sections.iter().chain([(".shstrtab", &[][..])].iter()) {
        name_at.push(names.len() as u32);
        names.extend_from_slice(n.as_bytes());
        names.push(0);
    }
    let mut body = vec![0u8; 64];
    let mut offsets = Vec::new();
    for (_, data) in sections {
        offsets.push((body.len() as u64, data.len() as u64));
        body.extend_from_slice(data);
    }
    offsets.push((body.len() as u64, names.len() as u64));
    body.extend_from_slice(&names);
    let shoff = body.len() as u64;
    body.extend_from_slice(&[0u8; 64]); // the null section
    for (i, (off, size)) in offsets.iter().enumerate() {
        let mut e = [0u8; 64];
        e[0..4].copy_from_slice(&name_at[i].to_le_bytes());
        e[24..32].copy_from_slice(&off.to_le_bytes());
        e[32..40].copy_from_slice(&size.to_le_bytes());
        body.extend_from_slice(&e);
    }
    body[0..4].copy_from_slice(b"\x7fELF");
    body[4] = 2;
    body[5] = 1;
    body[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
    body[0x3A..0x3C].copy_from_slice(&64u16.to_le_bytes());
    let count = offsets.len() as u16 + 1;
    body[0x3C..0x3E].copy_from_slice(&count.to_le_bytes());
    body[0x3E..0x40].copy_from_slice(&(count - 1).to_le_bytes());
    body
}

#[test]
fn go_version_from_the_buildinfo_section() {
    let mut info = b"\xff Go buildinf:".to_vec();
    info.extend_from_slice(&[8, 2]);
    info.resize(32, 0);
    info.push(8);
    info.extend_from_slice(b"go1.22.1");
    info.extend_from_slice(b"\x00path\tgithub.com/x/api");
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("api");
    fs::write(
        &bin,
        elf64(&[(".text", b"\x90\x90"), (".go.buildinfo", &info)]),
    )
    .unwrap();
    assert_eq!(elf::go_build_info(&bin), Some(Some("go1.22.1".to_string())));
    let f = runtime::ProcessFacts {
        exe: Some("/srv/api"),
        exe_file: Some(&bin),
        ..Default::default()
    };
    let r = runtime::detect(&f).unwrap();
    assert_eq!(
        (r.runtime, r.evidence),
        (Runtime::Go, Evidence::GoBuildInfo)
    );

    let old = elf64(&[(".gopclntab", b"x")]);
    fs::write(&bin, old).unwrap();
    assert_eq!(
        elf::go_build_info(&bin),
        Some(None),
        "Go without an inline version"
    );
    fs::write(&bin, elf64(&[(".text", b"x")])).unwrap();
    assert_eq!(elf::go_build_info(&bin), None, "not Go");
    for junk in [
        &b""[..],
        b"\x7fELF",
        b"#!/bin/sh\necho hi\n",
        &[0xffu8; 200],
    ] {
        fs::write(&bin, junk).unwrap();
        assert_eq!(elf::go_build_info(&bin), None);
    }
    let mut cut = elf64(&[(".go.buildinfo", &info)]);
    cut.truncate(cut.len() - 10);
    fs::write(&bin, cut).unwrap();
    assert_eq!(elf::go_build_info(&bin), None, "truncated section table");
    assert_eq!(
        elf::buildinfo_version(b"\xff Go buildinf:\x08\x00"),
        None,
        "pointer layout"
    );
}
