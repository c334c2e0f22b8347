//! Samples at rest: per series, disjoint time-ordered chunks of at most [`CHUNK_SAMPLES`] samples,
//! each one compressed row of `chunks` (see `chunk_codec.rs`), keyed by (series, first time).

use crate::chunk_codec;
use crate::error::{invalid, Context, StoreError};
use prescale_core::Sample;
use rusqlite::{params, Connection};

/// Samples per chunk when a run is cut into chunks.
pub(crate) const CHUNK_SAMPLES: usize = 1024;

/// The chunks of series ?1 that may hold times in ?2..=?3: from the one that starts at or before
/// ?2 (or the first one after it) up to those starting at ?3.
const OVERLAPPING: &str = "
SELECT start_ts, end_ts, n, data FROM chunks
WHERE series_id = ?1 AND start_ts <= ?3
  AND start_ts >= COALESCE((SELECT start_ts FROM chunks WHERE series_id = ?1 AND start_ts <= ?2
                            ORDER BY start_ts DESC LIMIT 1), ?2)
ORDER BY start_ts";

/// One stored chunk, still encoded.
pub(crate) struct Stored {
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) n: i64,
    pub(crate) data: Vec<u8>,
}

/// Decodes one stored chunk, appending to `out`.
pub(crate) fn decode(
    id: i64,
    chunk: &Stored,
    out: &mut Vec<Sample>,
    context: &str,
) -> Result<(), StoreError> {
    let before = out.len();
    chunk_codec::decode_into(&chunk.data, out).map_err(|e| {
        invalid(
            context,
            format!("stored chunk of series {id} at {}: {e}", chunk.start),
        )
    })?;
    if i64::try_from(out.len() - before).ok() != Some(chunk.n) {
        return Err(invalid(
            context,
            format!(
                "stored chunk of series {id} at {} holds {} samples, its row says {}",
                chunk.start,
                out.len() - before,
                chunk.n
            ),
        ));
    }
    Ok(())
}

/// The stored chunks of series `id` that may hold times in `from..=to`, in time order.
pub(crate) fn overlapping(
    conn: &Connection,
    id: i64,
    from: i64,
    to: i64,
    context: &str,
) -> Result<Vec<Stored>, StoreError> {
    conn.prepare_cached(OVERLAPPING)
        .ctx(context)?
        .query_map(params![id, from, to], |r| {
            Ok(Stored {
                start: r.get(0)?,
                end: r.get(1)?,
                n: r.get(2)?,
                data: r.get(3)?,
            })
        })
        .ctx(context)?
        .collect::<Result<Vec<_>, _>>()
        .ctx(context)
}

/// The stored samples of series `id` with `from <= ts <= to`, in time order.
pub(crate) fn range(
    conn: &Connection,
    id: i64,
    from: i64,
    to: i64,
    context: &str,
) -> Result<Vec<Sample>, StoreError> {
    if from > to {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for c in overlapping(conn, id, from, to, context)? {
        decode(id, &c, &mut out, context)?;
    }
    out.retain(|s| s.ts.0 >= from && s.ts.0 <= to);
    Ok(out)
}

/// The last `n` stored samples of series `id` with `ts <= to`, in time order.
pub(crate) fn tail(
    conn: &Connection,
    id: i64,
    to: i64,
    n: usize,
    context: &str,
) -> Result<Vec<Sample>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT start_ts, end_ts, n, data FROM chunks WHERE series_id = ?1 AND start_ts <= ?2
             ORDER BY start_ts DESC",
        )
        .ctx(context)?;
    let mut rows = stmt.query(params![id, to]).ctx(context)?;
    // Chunks newest first; each decoded one is put before the ones already read.
    let mut parts: Vec<Vec<Sample>> = Vec::new();
    let mut have = 0usize;
    while have < n {
        let Some(r) = rows.next().ctx(context)? else {
            break;
        };
        let c = Stored {
            start: r.get(0).ctx(context)?,
            end: r.get(1).ctx(context)?,
            n: r.get(2).ctx(context)?,
            data: r.get(3).ctx(context)?,
        };
        let mut part = Vec::new();
        decode(id, &c, &mut part, context)?;
        part.retain(|s| s.ts.0 <= to);
        have += part.len();
        parts.push(part);
    }
    let mut out: Vec<Sample> = parts.into_iter().rev().flatten().collect();
    let cut = out.len().saturating_sub(n);
    out.drain(..cut);
    Ok(out)
}

/// The latest stored time of series `id`.
pub(crate) fn last_ts(
    conn: &Connection,
    id: i64,
    context: &str,
) -> Result<Option<i64>, StoreError> {
    conn.prepare_cached(
        "SELECT MAX(end_ts) FROM (SELECT end_ts FROM chunks WHERE series_id = ?1
                                  ORDER BY start_ts DESC LIMIT 1)",
    )
    .ctx(context)?
    .query_row(params![id], |r| r.get(0))
    .ctx(context)
}

/// The earliest and latest stored times of series `id`.
pub(crate) fn span(
    conn: &Connection,
    id: i64,
    context: &str,
) -> Result<Option<(i64, i64)>, StoreError> {
    let first: Option<i64> = conn
        .prepare_cached("SELECT MIN(start_ts) FROM chunks WHERE series_id = ?1")
        .ctx(context)?
        .query_row(params![id], |r| r.get(0))
        .ctx(context)?;
    Ok(match (first, last_ts(conn, id, context)?) {
        (Some(f), Some(l)) => Some((f, l)),
        _ => None,
    })
}

/// Writes time-ordered unique samples as chunks of at most [`CHUNK_SAMPLES`].
pub(crate) fn insert_run(
    conn: &Connection,
    id: i64,
    samples: &[Sample],
    context: &str,
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO chunks (series_id, start_ts, end_ts, n, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .ctx(context)?;
    for piece in samples.chunks(CHUNK_SAMPLES) {
        let (Some(first), Some(last)) = (piece.first(), piece.last()) else {
            continue;
        };
        let data = chunk_codec::encode(piece);
        stmt.execute(params![id, first.ts.0, last.ts.0, piece.len() as i64, data])
            .ctx(context)?;
    }
    Ok(())
}

/// Deletes the chunks of series `id` starting in `from..=to`.
pub(crate) fn delete_starting(
    conn: &Connection,
    id: i64,
    from: i64,
    to: i64,
    context: &str,
) -> Result<usize, StoreError> {
    conn.prepare_cached("DELETE FROM chunks WHERE series_id = ?1 AND start_ts BETWEEN ?2 AND ?3")
        .ctx(context)?
        .execute(params![id, from, to])
        .ctx(context)
}

/// What [`merge`] did: samples new to the series (with their span) and samples that overwrote a
/// stored value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Merged {
    pub(crate) inserted: usize,
    pub(crate) replaced: usize,
    pub(crate) first_new: Option<i64>,
    pub(crate) last_new: Option<i64>,
}

impl Merged {
    fn new_at(&mut self, ts: i64) {
        self.inserted += 1;
        self.first_new = Some(self.first_new.map_or(ts, |f| f.min(ts)));
        self.last_new = Some(self.last_new.map_or(ts, |l| l.max(ts)));
    }
}

/// Writes time-ordered unique samples into the chunks of series `id`: a time already stored takes
/// the new value. Only the chunks their span touches are rewritten (for appends in time order, the
/// last one); chunks stay disjoint and ordered.
pub(crate) fn merge(
    conn: &Connection,
    id: i64,
    new: &[Sample],
    context: &str,
) -> Result<Merged, StoreError> {
    let mut merged = Merged::default();
    let (Some(lo), Some(hi)) = (new.first(), new.last()) else {
        return Ok(merged);
    };
    let mut touched = overlapping(conn, id, lo.ts.0, hi.ts.0, context)?;
    // A full chunk that ends before the new samples stays as it is (appends in time order).
    if touched
        .first()
        .is_some_and(|c| c.end < lo.ts.0 && c.n >= CHUNK_SAMPLES as i64)
    {
        touched.remove(0);
    }
    let (Some(first), Some(last)) = (touched.first(), touched.last()) else {
        for s in new {
            merged.new_at(s.ts.0);
        }
        insert_run(conn, id, new, context)?;
        return Ok(merged);
    };
    let (first_start, last_start) = (first.start, last.start);
    let mut old = Vec::new();
    for c in &touched {
        decode(id, c, &mut old, context)?;
    }
    let mut out = Vec::with_capacity(old.len() + new.len());
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) if o.ts == n.ts => {
                merged.replaced += 1;
                out.push(*n);
                i += 1;
                j += 1;
            }
            (Some(o), Some(n)) if o.ts < n.ts => {
                out.push(*o);
                i += 1;
            }
            (Some(o), None) => {
                out.push(*o);
                i += 1;
            }
            (_, Some(n)) => {
                merged.new_at(n.ts.0);
                out.push(*n);
                j += 1;
            }
            (None, None) => break,
        }
    }
    delete_starting(conn, id, first_start, last_start, context)?;
    insert_run(conn, id, &out, context)?;
    Ok(merged)
}
