//! A fake /proc tree in a temporary directory, written by hand for the agent's tests.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// One process as the fake tree shows it.
#[derive(Debug, Clone)]
pub struct Proc {
    pub comm: String,
    pub flags: u64,
    pub utime: u64,
    pub stime: u64,
    pub threads: u64,
    pub starttime: u64,
    pub rss_pages: u64,
    pub ctx: (u64, u64),
    /// rchar, wchar, syscr, syscw, read_bytes, write_bytes
    pub io: Option<[u64; 6]>,
    pub fds: usize,
    pub cgroup: String,
    pub cmdline: String,
    pub environ: Vec<(String, String)>,
    pub netns: Option<u64>,
    /// schedstat: run ns, run-queue wait ns, timeslices
    pub schedstat: (u64, u64, u64),
}

impl Proc {
    pub fn new(comm: &str) -> Self {
        Proc {
            comm: comm.into(),
            flags: 4194560,
            utime: 0,
            stime: 0,
            threads: 1,
            starttime: 100,
            rss_pages: 256,
            ctx: (0, 0),
            io: Some([0; 6]),
            fds: 3,
            cgroup: "0::/\n".into(),
            cmdline: comm.into(),
            environ: Vec::new(),
            netns: None,
            schedstat: (0, 0, 0),
        }
    }
}

pub struct FakeProc {
    pub dir: tempfile::TempDir,
}

impl FakeProc {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("sys/kernel")).unwrap();
        fs::write(dir.path().join("sys/kernel/hostname"), "fakehost\n").unwrap();
        // Non-process entries every real /proc has.
        fs::create_dir_all(dir.path().join("sys/net")).unwrap();
        fs::write(dir.path().join("uptime"), "100.00 50.00\n").unwrap();
        FakeProc { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn pdir(&self, pid: u32) -> PathBuf {
        self.dir.path().join(pid.to_string())
    }

    pub fn put(&self, pid: u32, p: &Proc) {
        let d = self.pdir(pid);
        fs::create_dir_all(d.join("fd")).unwrap();
        fs::create_dir_all(d.join("ns")).unwrap();
        fs::create_dir_all(d.join("net")).unwrap();
        let stat = format!(
            "{pid} ({}) S 1 {pid} {pid} 0 -1 {} 10 0 0 0 {} {} 0 0 20 0 {} 0 {} 123456 {} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
            p.comm, p.flags, p.utime, p.stime, p.threads, p.starttime, p.rss_pages
        );
        fs::write(d.join("stat"), stat).unwrap();
        fs::write(d.join("comm"), format!("{}\n", p.comm)).unwrap();
        let (run, wait, slices) = p.schedstat;
        fs::write(d.join("schedstat"), format!("{run} {wait} {slices}\n")).unwrap();
        fs::write(
            d.join("status"),
            format!(
                "Name:\t{}\nState:\tS (sleeping)\nThreads:\t{}\nvoluntary_ctxt_switches:\t{}\nnonvoluntary_ctxt_switches:\t{}\n",
                p.comm, p.threads, p.ctx.0, p.ctx.1
            ),
        )
        .unwrap();
        match p.io {
            Some([rc, wc, sr, sw, rb, wb]) => fs::write(
                d.join("io"),
                format!("rchar: {rc}\nwchar: {wc}\nsyscr: {sr}\nsyscw: {sw}\nread_bytes: {rb}\nwrite_bytes: {wb}\ncancelled_write_bytes: 0\n"),
            )
            .unwrap(),
            None => {
                let _ = fs::remove_file(d.join("io"));
            }
        }
        for entry in fs::read_dir(d.join("fd")).unwrap() {
            fs::remove_file(entry.unwrap().path()).unwrap();
        }
        for i in 0..p.fds {
            fs::write(d.join("fd").join(i.to_string()), "").unwrap();
        }
        fs::write(d.join("cgroup"), &p.cgroup).unwrap();
        fs::write(d.join("cmdline"), p.cmdline.replace(' ', "\0") + "\0").unwrap();
        let env: Vec<u8> = p
            .environ
            .iter()
            .flat_map(|(k, v)| format!("{k}={v}\0").into_bytes())
            .collect();
        fs::write(d.join("environ"), env).unwrap();
        let link = d.join("ns/net");
        let _ = fs::remove_file(&link);
        if let Some(ns) = p.netns {
            std::os::unix::fs::symlink(format!("net:[{ns}]"), &link).unwrap();
        }
    }

    pub fn net_dev(&self, pid: u32, rx: u64, tx: u64) {
        let text = format!(
            "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo: 999 1 0 0 0 0 0 0 999 1 0 0 0 0 0 0\n  eth0: {rx} 10 0 0 0 0 0 0 {tx} 10 0 0 0 0 0 0\n"
        );
        fs::write(self.pdir(pid).join("net/dev"), text).unwrap();
    }

    pub fn write(&self, pid: u32, file: &str, text: &str) {
        fs::write(self.pdir(pid).join(file), text).unwrap();
    }

    pub fn remove(&self, pid: u32) {
        fs::remove_dir_all(self.pdir(pid)).unwrap();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}
