//! Global controls in the controls bucket: one JSON document under `global` (the mode and the
//! kill switches) that every instance applies, so one switch stops the whole fleet.

use crate::{Bus, BusError};
use async_nats::jetstream::kv;
use bytes::Bytes;

const GLOBAL_KEY: &str = "global";

/// The shared document and its revision.
#[derive(Clone)]
pub struct GlobalControls {
    kv: kv::Store,
}

impl GlobalControls {
    pub fn new(bus: &Bus) -> GlobalControls {
        GlobalControls {
            kv: bus.controls.clone(),
        }
    }

    /// The document and its revision; `None` when nobody has written it yet.
    pub async fn read(&self) -> Result<Option<(Vec<u8>, u64)>, BusError> {
        match self.kv.entry(GLOBAL_KEY).await {
            Ok(Some(e)) if e.operation == kv::Operation::Put => {
                Ok(Some((e.value.to_vec(), e.revision)))
            }
            Ok(_) => Ok(None),
            Err(e) => Err(BusError::nats("reading the global controls", e)),
        }
    }

    /// Writes the document expecting `revision` (`None`: only if absent); `Ok(None)` when someone
    /// wrote it in between (read it again and apply theirs).
    pub async fn write(
        &self,
        json: Vec<u8>,
        revision: Option<u64>,
    ) -> Result<Option<u64>, BusError> {
        let r = match revision {
            Some(rev) => self
                .kv
                .update(GLOBAL_KEY, Bytes::from(json), rev)
                .await
                .map_err(|e| {
                    (
                        e.kind() == kv::UpdateErrorKind::WrongLastRevision,
                        e.to_string(),
                    )
                }),
            None => self
                .kv
                .create(GLOBAL_KEY, Bytes::from(json))
                .await
                .map_err(|e| {
                    (
                        e.kind() == kv::CreateErrorKind::AlreadyExists,
                        e.to_string(),
                    )
                }),
        };
        match r {
            Ok(rev) => Ok(Some(rev)),
            Err((true, _)) => Ok(None),
            Err((false, e)) => Err(BusError::nats("writing the global controls", e)),
        }
    }
}
