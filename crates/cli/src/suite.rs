//! Backtest suites: a TOML file listing inputs, each with its own read options, evaluated as one set.
//!
//! ```toml
//! root = "../../shared/data"            # relative to this file; inputs are relative to root
//! [[input]]
//! path = "nab_realAWSCloudwatch"
//! [[input]]
//! path = "nasa_http_1995/nasa_requests_per_minute.csv"
//! resample = "5m"
//! agg = "sum"
//! ```

use crate::args::{AggArg, ReadArgs, ShapeArg};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    root: Option<PathBuf>,
    input: Vec<SuiteInput>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteInput {
    path: PathBuf,
    format: Option<String>,
    column: Option<String>,
    interval: Option<String>,
    resample: Option<String>,
    agg: Option<String>,
    #[serde(default)]
    skip_bad: bool,
}

/// A loaded suite with paths resolved.
pub struct Suite {
    inputs: Vec<(Vec<PathBuf>, ReadArgs)>,
}

impl Suite {
    pub fn load(path: &Path) -> Result<Suite> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading suite {}", path.display()))?;
        let file: SuiteFile =
            toml::from_str(&text).with_context(|| format!("parsing suite {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let root = base.join(file.root.unwrap_or_default());
        if !root.exists() {
            bail!(
                "suite {}: data root {} does not exist",
                path.display(),
                root.display()
            );
        }
        let mut inputs = Vec::new();
        for (i, inp) in file.input.into_iter().enumerate() {
            let at = || format!("suite {} input {}", path.display(), i + 1);
            let shape = match inp.format.as_deref() {
                None => None,
                Some("nab") => Some(ShapeArg::Nab),
                Some("bitbrains") => Some(ShapeArg::Bitbrains),
                Some("wide") => Some(ShapeArg::Wide),
                Some("long") => Some(ShapeArg::Long),
                Some(other) => bail!(
                    "{}: unknown format {other:?} (nab, bitbrains, wide, long)",
                    at()
                ),
            };
            let agg = match inp.agg.as_deref() {
                None | Some("mean") => AggArg::Mean,
                Some("sum") => AggArg::Sum,
                Some("max") => AggArg::Max,
                Some("last") => AggArg::Last,
                Some(other) => bail!("{}: unknown agg {other:?} (sum, mean, max, last)", at()),
            };
            let read = ReadArgs {
                shape,
                workload: None,
                interval: inp.interval,
                columns: inp.column.into_iter().collect(),
                skip_bad: inp.skip_bad,
                resample: inp.resample,
                agg,
            };
            inputs.push((vec![root.join(inp.path)], read));
        }
        Ok(Suite { inputs })
    }

    pub fn inputs(self) -> Vec<(Vec<PathBuf>, ReadArgs)> {
        self.inputs
    }
}
