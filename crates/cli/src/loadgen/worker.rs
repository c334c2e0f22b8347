//! `prescale demo-worker`: one replica of the demo's workload; pulls units from `demo-load` and
//! spends the CPU and time each asks for. Exits when the generator closes the connection.

use super::{IDLE, NEXT, WORK};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Connects (retrying for up to `connect_for`), then works until the generator goes away.
pub fn run(addr: SocketAddr, connect_for: Duration) -> Result<()> {
    let deadline = Instant::now() + connect_for;
    let conn = loop {
        match TcpStream::connect(addr) {
            Ok(c) => break c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e).with_context(|| format!("connecting to demo-load at {addr}")),
        }
    };
    conn.set_nodelay(true)?;
    let mut out = conn.try_clone()?;
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    loop {
        if out.write_all(format!("{NEXT}\n").as_bytes()).is_err() {
            return Ok(());
        }
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return Ok(());
        }
        let mut words = line.split_whitespace();
        match words.next() {
            Some(w) if w == IDLE => {}
            Some(w) if w == WORK => {
                let mut num = || -> Result<u64> {
                    let v = words.next().context("short `work` line")?;
                    v.parse().with_context(|| format!("`work` field {v:?}"))
                };
                let (cpu_us, wait_us) = (num()?, num()?);
                burn(Duration::from_micros(cpu_us));
                std::thread::sleep(Duration::from_micros(wait_us));
            }
            _ => bail!("unexpected line from demo-load: {line:?}"),
        }
    }
}

/// Spins for `d` (the unit's CPU share).
fn burn(d: Duration) {
    let until = Instant::now() + d;
    let mut x = 0u64;
    while Instant::now() < until {
        for i in 0..256u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
        }
        std::hint::black_box(x);
    }
}
