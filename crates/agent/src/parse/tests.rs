//! Known-answer tests for the /proc parsers, including malformed input.

use super::*;

const STAT: &[u8] = b"1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 3 0 98765 123456789 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

#[test]
fn stat_fields() {
    let s = parse_stat(STAT).unwrap();
    assert_eq!(s.comm, b"my (odd) cmd");
    assert_eq!(s.state, b'S');
    assert_eq!(s.utime, 250);
    assert_eq!(s.stime, 75);
    assert_eq!(s.num_threads, 3);
    assert_eq!(s.starttime, 98765);
    assert_eq!(s.rss_pages, 2560);
    assert!(!s.is_kernel_thread());
}

#[test]
fn stat_kernel_thread_flag() {
    let line = b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    assert!(parse_stat(line).unwrap().is_kernel_thread());
}

#[test]
fn stat_this_process() {
    let buf = std::fs::read("/proc/self/stat").unwrap();
    let s = parse_stat(&buf).unwrap();
    assert!(s.num_threads >= 1);
    assert!(s.rss_pages > 0);
}

#[test]
fn stat_malformed() {
    assert!(parse_stat(b"").is_err());
    assert!(parse_stat(b"12 (x").is_err());
    assert!(parse_stat(b"12 x) S 1 2").is_err());
    assert!(parse_stat(b"12 (x) S 1 2 3").is_err());
    assert!(parse_stat(b"12 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 1 0 0 20 0 1 0 5 0 0").is_err());
}

#[test]
fn numbers() {
    assert_eq!(parse_u64(b"0"), Some(0));
    assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_u64(b"18446744073709551616"), None);
    assert_eq!(parse_u64(b"-1"), None);
    assert_eq!(parse_u64(b""), None);
    assert_eq!(parse_u64(b"1 "), None);
}

#[test]
fn status_ctxt() {
    let s =
        b"Name:\tx\nThreads:\t1\nvoluntary_ctxt_switches:\t42\nnonvoluntary_ctxt_switches:\t7\n";
    assert_eq!(parse_status_ctxt(s), Ok((42, 7)));
    assert!(parse_status_ctxt(b"Name:\tx\n").is_err());
    assert!(
        parse_status_ctxt(b"voluntary_ctxt_switches:\tx\nnonvoluntary_ctxt_switches:\t7\n")
            .is_err()
    );
}

#[test]
fn io_fields() {
    let s = b"rchar: 10\nwchar: 20\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n";
    let io = parse_io(s).unwrap();
    assert_eq!(
        io,
        Io {
            rchar: 10,
            wchar: 20,
            syscr: 3,
            syscw: 4,
            read_bytes: 4096,
            write_bytes: 8192
        }
    );
    assert!(parse_io(b"rchar: 10\n").is_err());
    assert!(
        parse_io(b"rchar: x\nwchar: 20\nsyscr: 3\nsyscw: 4\nread_bytes: 1\nwrite_bytes: 1\n")
            .is_err()
    );
}

#[test]
fn net_dev_excludes_loopback() {
    let s = b"Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    6386      58    0    0    0     0          0         0     6386      58    0    0    0     0       0          0
  eth0: 1000   10138    0    0    0     0          0         0   2000    6585    0    0    0     0       0          0
  eth1: 5   1    0    0    0     0          0         0   7    1    0    0    0     0       0          0
";
    assert_eq!(parse_net_dev(s), Ok((1005, 2007)));
    assert!(parse_net_dev(b"a\nb\n").is_err());
    assert!(parse_net_dev(b"a\nb\n eth0: 1 2 3\n").is_err());
}

#[test]
fn ns_link() {
    assert_eq!(parse_ns_link(b"net:[4026531840]"), Some(4026531840));
    assert_eq!(parse_ns_link(b"net:[]"), None);
    assert_eq!(parse_ns_link(b"garbage"), None);
}

#[test]
fn cgroup_v1_hybrid() {
    let s = b"12:memory:/kubepods/burstable/podabc/0123\n11:cpu,cpuacct:/kubepods/burstable/podabc/0123\n1:name=systemd:/system.slice/containerd.service\n0::/\n";
    let cg = parse_cgroup(s).unwrap();
    assert_eq!(cg.path(), "/kubepods/burstable/podabc/0123");
    assert_eq!(cg.systemd_path(), "/system.slice/containerd.service");
    assert_eq!(systemd_unit(cg.systemd_path()), Some("containerd.service"));
}

#[test]
fn cgroup_v2() {
    let cg = parse_cgroup(b"0::/system.slice/nginx.service\n").unwrap();
    assert_eq!(cg.path(), "/system.slice/nginx.service");
    assert_eq!(systemd_unit(cg.systemd_path()), Some("nginx.service"));
    let root = parse_cgroup(b"0::/\n").unwrap();
    assert_eq!(root.path(), "/");
    assert_eq!(systemd_unit(root.path()), None);
    assert!(parse_cgroup(b"").is_err());
    assert!(parse_cgroup(b"nonsense\n").is_err());
    assert!(parse_cgroup(b"0::relative\n").is_err());
}

#[test]
fn environ_and_cmdline() {
    let env = b"PATH=/bin\0PRESCALE_WORKLOAD=web\0PRESCALE=x\0";
    assert_eq!(environ_get(env, "PRESCALE_WORKLOAD"), Some(&b"web"[..]));
    assert_eq!(environ_get(env, "PRESCALE"), Some(&b"x"[..]));
    assert_eq!(environ_get(env, "HOME"), None);
    assert_eq!(
        cmdline_text(b"python3\0-c\0print(1)\0"),
        "python3 -c print(1)"
    );
    assert_eq!(cmdline_text(b""), "");
}

mod props {
    use super::super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_stat(&bytes);
            let _ = parse_status_ctxt(&bytes);
            let _ = parse_io(&bytes);
            let _ = parse_net_dev(&bytes);
            let _ = parse_cgroup(&bytes);
            let _ = parse_ns_link(&bytes);
            let _ = environ_get(&bytes, "A");
            let _ = cmdline_text(&bytes);
        }

        #[test]
        fn stat_survives_any_command_name(comm in "[ -~]{0,15}", utime in any::<u32>(), threads in 1u32..10_000, start in any::<u32>()) {
            let line = format!("77 ({comm}) R 1 1 1 0 -1 0 0 0 0 0 {utime} 5 0 0 20 0 {threads} 0 {start} 100 42 0\n");
            let s = parse_stat(line.as_bytes()).unwrap();
            prop_assert_eq!(s.comm, comm.as_bytes());
            prop_assert_eq!(s.utime, u64::from(utime));
            prop_assert_eq!(s.num_threads, u64::from(threads));
            prop_assert_eq!(s.starttime, u64::from(start));
            prop_assert_eq!(s.rss_pages, 42);
        }
    }
}

#[test]
fn schedstat_fields() {
    assert_eq!(
        parse_schedstat(b"123456789 2468905 17\n"),
        Ok(Schedstat {
            run_ns: 123_456_789,
            wait_ns: 2_468_905,
            timeslices: 17
        })
    );
    let own = std::fs::read("/proc/self/schedstat").unwrap();
    assert!(parse_schedstat(&own).is_ok());
    assert!(parse_schedstat(b"").is_err());
    assert!(parse_schedstat(b"1 2\n").is_err());
    assert!(parse_schedstat(b"1 -2 3\n").is_err());
}
