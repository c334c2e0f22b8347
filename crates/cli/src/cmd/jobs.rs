//! Shared plumbing for commands that evaluate many series: collecting inputs and a parallel map.

use super::import::{read_all, short};
use crate::args::InputArgs;
use crate::progress;
use crate::suite::Suite;
use anyhow::{anyhow, bail, Result};
use prescale_core::Series;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Every series named by `paths` (or by a suite file), each with a display name (`file` or `file:metric`).
pub fn collect(args: &InputArgs) -> Result<Vec<(String, Series)>> {
    Ok(collect_families(args)?
        .into_iter()
        .map(|(_, name, s)| (name, s))
        .collect())
}

/// [`collect`] with the index of the input (suite entry) each series came from: its family.
pub fn collect_families(args: &InputArgs) -> Result<Vec<(usize, String, Series)>> {
    let inputs = match &args.suite {
        Some(path) => Suite::load(path)?.inputs(),
        None if args.paths.is_empty() => {
            bail!("no inputs: give CSV files or directories, or --suite FILE")
        }
        None => vec![(args.paths.clone(), args.read.clone())],
    };
    let mut out = Vec::new();
    for (family, (paths, read)) in inputs.iter().enumerate() {
        for (series, summary) in read_all(paths, read)? {
            let file = short(&summary.file);
            let many = series.len() > 1;
            for s in series {
                let name = if many {
                    format!("{file}:{}", s.key.metric)
                } else {
                    file.clone()
                };
                out.push((family, name, s));
            }
        }
    }
    if out.is_empty() {
        bail!("no series found in the given inputs");
    }
    Ok(out)
}

/// Applies `f` to every item on `threads` workers (default: all cores) with a progress bar; results keep
/// the input order. A failing item yields its error text rather than stopping the others.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: Option<usize>,
    what: &str,
    f: impl Fn(&T) -> Result<R, String> + Sync,
) -> Result<Vec<Result<R, String>>> {
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, items.len().max(1));
    let pb = progress::bar(items.len() as u64, what);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<R, String>>>> =
        Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                if let Ok(mut all) = results.lock() {
                    all[i] = Some(r);
                }
                pb.inc(1);
            });
        }
    });
    pb.finish_and_clear();
    let results = results
        .into_inner()
        .map_err(|_| anyhow!("a worker thread panicked"))?;
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not evaluated".into())))
        .collect())
}
