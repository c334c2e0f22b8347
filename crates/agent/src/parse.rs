//! Allocation-free parsers for the /proc files the agent reads (stat, status, schedstat, io, cgroup, net/dev).

/// A file did not have the shape the kernel writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

/// The fields of `/proc/<pid>/stat` the agent uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat<'a> {
    pub comm: &'a [u8],
    pub state: u8,
    pub flags: u64,
    pub utime: u64,
    pub stime: u64,
    pub num_threads: u64,
    pub starttime: u64,
    pub rss_pages: u64,
}

/// `PF_KTHREAD` in the stat flags: a kernel thread.
pub const PF_KTHREAD: u64 = 0x0020_0000;

impl Stat<'_> {
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }
}

/// Parse an unsigned decimal; `None` on anything else (empty, sign, overflow).
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// Parse `/proc/<pid>/stat`. The command name sits in parentheses and may itself hold spaces and
/// parentheses, so the fields start after the *last* `)`.
pub fn parse_stat(buf: &[u8]) -> Result<Stat<'_>, Malformed> {
    let open = buf
        .iter()
        .position(|&b| b == b'(')
        .ok_or(Malformed("stat: no '('"))?;
    let close = buf
        .iter()
        .rposition(|&b| b == b')')
        .ok_or(Malformed("stat: no ')'"))?;
    if close < open {
        return Err(Malformed("stat: ')' before '('"));
    }
    let comm = &buf[open + 1..close];
    let rest = buf.get(close + 1..).ok_or(Malformed("stat: truncated"))?;
    // Field n of proc(5) (1-based) is token n-3 after the command.
    let mut state = None;
    let (mut flags, mut utime, mut stime, mut threads, mut start, mut rss) =
        (None, None, None, None, None, None);
    for (i, tok) in rest
        .split(|&b| b == b' ' || b == b'\n')
        .filter(|t| !t.is_empty())
        .enumerate()
    {
        match i {
            0 => state = tok.first().copied(),
            6 => flags = parse_u64(tok),
            11 => utime = parse_u64(tok),
            12 => stime = parse_u64(tok),
            17 => threads = parse_u64(tok),
            19 => start = parse_u64(tok),
            21 => {
                // rss is a signed long; a negative value never occurs in practice: clamp to 0.
                rss = if tok.first() == Some(&b'-') {
                    tok.get(1..).and_then(parse_u64).map(|_| 0)
                } else {
                    parse_u64(tok)
                };
                break;
            }
            _ => {}
        }
    }
    Ok(Stat {
        comm,
        state: state.ok_or(Malformed("stat: no state"))?,
        flags: flags.ok_or(Malformed("stat: bad flags"))?,
        utime: utime.ok_or(Malformed("stat: bad utime"))?,
        stime: stime.ok_or(Malformed("stat: bad stime"))?,
        num_threads: threads.ok_or(Malformed("stat: bad num_threads"))?,
        starttime: start.ok_or(Malformed("stat: bad starttime"))?,
        rss_pages: rss.ok_or(Malformed("stat: bad rss"))?,
    })
}

/// Context-switch counts from `/proc/<pid>/status` (voluntary, involuntary).
pub fn parse_status_ctxt(buf: &[u8]) -> Result<(u64, u64), Malformed> {
    let mut vol = None;
    let mut invol = None;
    for line in buf.split(|&b| b == b'\n') {
        if let Some(v) = line.strip_prefix(b"voluntary_ctxt_switches:") {
            vol = parse_u64(trim(v));
        } else if let Some(v) = line.strip_prefix(b"nonvoluntary_ctxt_switches:") {
            invol = parse_u64(trim(v));
        }
    }
    match (vol, invol) {
        (Some(v), Some(i)) => Ok((v, i)),
        _ => Err(Malformed("status: no ctxt_switches lines")),
    }
}

/// `/proc/<pid>/schedstat`: the scheduler's view of a thread (the main thread for a process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Schedstat {
    /// Nanoseconds on a CPU (`sum_exec_runtime`; brought up to date at scheduler events and
    /// ticks, so a thread running right now lags by up to one tick).
    pub run_ns: u64,
    /// Nanoseconds spent runnable, waiting on a run queue.
    pub wait_ns: u64,
    /// Times the thread was put on a CPU (every switch in, voluntary or not).
    pub timeslices: u64,
}

/// Parse `/proc/<pid>/schedstat` (`run_ns wait_ns timeslices`).
pub fn parse_schedstat(buf: &[u8]) -> Result<Schedstat, Malformed> {
    let mut it = buf
        .split(|&b| b == b' ' || b == b'\n')
        .filter(|t| !t.is_empty());
    let mut next = |what| it.next().and_then(parse_u64).ok_or(Malformed(what));
    Ok(Schedstat {
        run_ns: next("schedstat: bad run time")?,
        wait_ns: next("schedstat: bad wait time")?,
        timeslices: next("schedstat: bad timeslices")?,
    })
}

/// `/proc/<pid>/io` counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Io {
    /// Bytes passed to read-like calls (page cache hits included).
    pub rchar: u64,
    /// Bytes passed to write-like calls.
    pub wchar: u64,
    pub syscr: u64,
    pub syscw: u64,
    /// Bytes fetched from the block layer.
    pub read_bytes: u64,
    /// Bytes sent to the block layer (at write-back, possibly after the writer is gone).
    pub write_bytes: u64,
}

/// Parse `/proc/<pid>/io`; every one of the six fields must be present.
pub fn parse_io(buf: &[u8]) -> Result<Io, Malformed> {
    let mut io = Io::default();
    let mut seen = 0u8;
    for line in buf.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (key, val) = (&line[..colon], trim(&line[colon + 1..]));
        let slot = match key {
            b"rchar" => (&mut io.rchar, 1),
            b"wchar" => (&mut io.wchar, 2),
            b"syscr" => (&mut io.syscr, 4),
            b"syscw" => (&mut io.syscw, 8),
            b"read_bytes" => (&mut io.read_bytes, 16),
            b"write_bytes" => (&mut io.write_bytes, 32),
            _ => continue,
        };
        *slot.0 = parse_u64(val).ok_or(Malformed("io: bad number"))?;
        seen |= slot.1;
    }
    if seen == 63 {
        Ok(io)
    } else {
        Err(Malformed("io: missing fields"))
    }
}

/// Total received and transmitted bytes in a `/proc/<pid>/net/dev`, loopback excluded.
pub fn parse_net_dev(buf: &[u8]) -> Result<(u64, u64), Malformed> {
    let (mut rx, mut tx) = (0u64, 0u64);
    let mut interfaces = 0;
    for line in buf.split(|&b| b == b'\n').skip(2) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = trim(&line[..colon]);
        let mut fields = line[colon + 1..]
            .split(|&b| b == b' ')
            .filter(|t| !t.is_empty());
        let r = fields.next().and_then(parse_u64);
        let t = fields.nth(7).and_then(parse_u64);
        let (Some(r), Some(t)) = (r, t) else {
            return Err(Malformed("net/dev: bad interface line"));
        };
        interfaces += 1;
        if name != b"lo" {
            rx = rx.saturating_add(r);
            tx = tx.saturating_add(t);
        }
    }
    if interfaces == 0 {
        return Err(Malformed("net/dev: no interfaces"));
    }
    Ok((rx, tx))
}

/// The inode in a namespace link such as `net:[4026531840]`.
pub fn parse_ns_link(link: &[u8]) -> Option<u64> {
    let start = link.iter().position(|&b| b == b'[')? + 1;
    let end = link.iter().rposition(|&b| b == b']')?;
    parse_u64(link.get(start..end)?)
}

fn non_root(p: &Option<String>) -> Option<&str> {
    p.as_deref().filter(|p| *p != "/")
}

/// The cgroup paths of one process: the unified (v2) one and, on v1, per controller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cgroups {
    /// `0::<path>` — the whole story on a pure v2 host; often `/` on a v1 hybrid one.
    pub unified: Option<String>,
    /// `name=systemd` hierarchy (v1).
    pub systemd: Option<String>,
    /// `memory` controller hierarchy (v1).
    pub memory: Option<String>,
    /// `cpu` / `cpuacct` hierarchy (v1).
    pub cpu: Option<String>,
    /// The first other non-root path.
    pub other: Option<String>,
}

impl Cgroups {
    /// The path rules match against: the unified one unless it is the root, then memory, cpu,
    /// systemd, any other; `/` when the process is in no cgroup but the root.
    pub fn path(&self) -> &str {
        non_root(&self.unified)
            .or_else(|| non_root(&self.memory))
            .or_else(|| non_root(&self.cpu))
            .or_else(|| non_root(&self.systemd))
            .or_else(|| non_root(&self.other))
            .unwrap_or("/")
    }

    /// The path systemd placed the process in (`name=systemd` on v1, unified on v2).
    pub fn systemd_path(&self) -> &str {
        non_root(&self.systemd)
            .or_else(|| non_root(&self.unified))
            .unwrap_or("/")
    }
}

/// Parse `/proc/<pid>/cgroup` (`id:controllers:path` per line, v1 hybrid or v2).
pub fn parse_cgroup(buf: &[u8]) -> Result<Cgroups, Malformed> {
    let text = std::str::from_utf8(buf).map_err(|_| Malformed("cgroup: not UTF-8"))?;
    let mut cg = Cgroups::default();
    let mut lines = 0;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let mut parts = line.splitn(3, ':');
        let (Some(_id), Some(ctrl), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Malformed("cgroup: line without two ':'"));
        };
        if !path.starts_with('/') {
            return Err(Malformed("cgroup: path is not absolute"));
        }
        lines += 1;
        let path = path.to_string();
        if ctrl.is_empty() {
            cg.unified = Some(path);
        } else if ctrl == "name=systemd" {
            cg.systemd = Some(path);
        } else if ctrl.split(',').any(|c| c == "memory") {
            cg.memory = Some(path);
        } else if ctrl.split(',').any(|c| c == "cpu" || c == "cpuacct") {
            if cg.cpu.is_none() {
                cg.cpu = Some(path);
            }
        } else if cg.other.is_none() && path != "/" {
            cg.other = Some(path);
        }
    }
    if lines == 0 {
        return Err(Malformed("cgroup: empty"));
    }
    Ok(cg)
}

/// The innermost systemd unit (`*.service` or `*.scope`) in a cgroup path.
pub fn systemd_unit(path: &str) -> Option<&str> {
    path.rsplit('/')
        .find(|c| c.ends_with(".service") || c.ends_with(".scope"))
}

/// Look up one variable in a `/proc/<pid>/environ` (NUL-separated `KEY=VALUE`).
pub fn environ_get<'a>(buf: &'a [u8], name: &str) -> Option<&'a [u8]> {
    buf.split(|&b| b == 0).find_map(|entry| {
        entry
            .strip_prefix(name.as_bytes())
            .and_then(|rest| rest.strip_prefix(b"="))
    })
}

/// A command line with its NUL separators turned into spaces (trailing NUL dropped).
pub fn cmdline_text(buf: &[u8]) -> String {
    let end = buf.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    String::from_utf8_lossy(&buf[..end]).replace('\0', " ")
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    &s[start..end.max(start)]
}

#[cfg(test)]
mod tests;
