//! Windows for the stages above: from the embedded store, or from a Prometheus-compatible server,
//! chosen by `[store] kind` (the same code above either).

use crate::config::{DaemonConfig, StoreKind};
use crate::error::DaemonError;
use prescale_core::WindowSource;
use prescale_remote::{ClientOptions, PromClient, PromWindowSource, RemoteLayout};
use prescale_store::Store;

/// The window source the config selects: the embedded file, or the raw series prescale remote-writes
/// to the server (named by prescale-remote's naming module).
pub fn window_source(cfg: &DaemonConfig) -> Result<Box<dyn WindowSource + Send>, DaemonError> {
    Ok(match &cfg.store {
        StoreKind::Embedded => Box::new(Store::open(&cfg.db)?),
        StoreKind::Prometheus { url, .. } => Box::new(PromWindowSource::new(
            PromClient::new(url, ClientOptions::default())?,
            RemoteLayout::Raw,
        )),
    })
}
