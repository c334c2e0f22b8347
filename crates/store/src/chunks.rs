//! Samples at rest: per series, disjoint time-ordered chunks of at most [`CHUNK_SAMPLES`] samples,
//! each one compressed row of `chunks` (see `chunk_codec.rs`), keyed by (series, first time).
//! Samples appended in time order grow the series' newest chunk in place until it is full, encoding
//! only the new samples (the encoder's state at the chunk's end is kept in memory, [`OpenChunks`]).

use crate::chunk_codec::{self, Resume};
use crate::error::{invalid, Context, StoreError};
use prescale_core::Sample;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::hash::BuildHasher;

/// Samples per chunk when a run is cut into chunks, and the most an appended chunk grows to.
pub(crate) const CHUNK_SAMPLES: usize = 1024;
/// A chunk holding at least this many samples that ends before merged samples is left as it is.
pub(crate) const OPEN_SAMPLES: usize = 256;

/// Where a series' newest chunk stands: the chunk (its start, size and a hash of its bytes, so a
/// chunk rewritten by any other path is never appended to from a stale state) and its encoder's
/// state at the end.
#[derive(Debug, Clone)]
pub(crate) struct Open {
    start: i64,
    n: i64,
    hash: u64,
    resume: Resume,
}

/// Newest-chunk states by series id, kept by a handle between flushes.
pub(crate) type OpenChunks = HashMap<i64, Open, foldhash::fast::RandomState>;

fn data_hash(data: &[u8]) -> u64 {
    // Fixed seed: a state is compared only with hashes this process made. foldhash, not SipHash:
    // every flush hashes each appended chunk twice.
    foldhash::fast::FixedState::with_seed(0x5eed_c4a9_0f1e_77d3).hash_one(data)
}

// The key of `chunks` is (series_id, start_ts DESC), so its index hands a series' chunks newest
// first. The hot statements below read that order without `ORDER BY` or aggregates: rusqlite's
// statement cache clears bindings when a statement goes back to it, and SQLite then re-prepares any
// statement whose plan looked at a bound value (every `ORDER BY`/`MAX` one here), at every use.

/// The start of the chunk of series ?1 holding ?2, if one starts at or before it (newest first).
const STARTING_BEFORE: &str =
    "SELECT start_ts FROM chunks WHERE series_id = ?1 AND start_ts <= ?2 LIMIT 1";
/// The chunks of series ?1 starting in ?2..=?3 (newest first).
const STARTING_IN: &str = "
SELECT start_ts, end_ts, n, data FROM chunks WHERE series_id = ?1 AND start_ts BETWEEN ?2 AND ?3";
/// The chunks of series ?1 starting at or before ?2, newest first.
const NEWEST_FIRST: &str = "
SELECT start_ts, end_ts, n, data FROM chunks WHERE series_id = ?1 AND start_ts <= ?2";
/// The newest chunk of series ?1.
const NEWEST: &str = "SELECT start_ts, end_ts, n, data FROM chunks WHERE series_id = ?1 LIMIT 1";
/// The end of the newest chunk of series ?1.
const LAST_END: &str = "SELECT end_ts FROM chunks WHERE series_id = ?1 LIMIT 1";

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
    let first: Option<i64> = conn
        .prepare_cached(STARTING_BEFORE)
        .ctx(context)?
        .query_row(params![id, from], |r| r.get(0))
        .optional()
        .ctx(context)?;
    let from = first.unwrap_or(from);
    if from > to {
        return Ok(Vec::new());
    }
    conn.prepare_cached(STARTING_IN)
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
        .map(|mut v| {
            v.sort_unstable_by_key(|c| c.start);
            v
        })
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
    let mut stmt = conn.prepare_cached(NEWEST_FIRST).ctx(context)?;
    let mut rows = stmt.query(params![id, to]).ctx(context)?;
    // Chunks newest first; each decoded one is put before the ones already read.
    let mut parts: Vec<Vec<Sample>> = Vec::new();
    let mut have = 0usize;
    let mut previous: Option<i64> = None;
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
        if previous.is_some_and(|p| c.start >= p) {
            return Err(invalid(context, "chunks did not come newest first"));
        }
        previous = Some(c.start);
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
    conn.prepare_cached(LAST_END)
        .ctx(context)?
        .query_row(params![id], |r| r.get(0))
        .optional()
        .ctx(context)
}

/// The earliest and latest stored times of series `id`.
pub(crate) fn span(
    conn: &Connection,
    id: i64,
    context: &str,
) -> Result<Option<(i64, i64)>, StoreError> {
    let first: Option<i64> = conn
        .prepare("SELECT MIN(start_ts) FROM chunks WHERE series_id = ?1")
        .ctx(context)?
        .query_row(params![id], |r| r.get(0))
        .ctx(context)?;
    Ok(match (first, last_ts(conn, id, context)?) {
        (Some(f), Some(l)) => Some((f, l)),
        _ => None,
    })
}

/// Writes time-ordered unique samples as chunks of at most [`CHUNK_SAMPLES`]; where the last one
/// stands.
pub(crate) fn insert_run(
    conn: &Connection,
    id: i64,
    samples: &[Sample],
    context: &str,
) -> Result<Option<Open>, StoreError> {
    write_run(
        conn,
        "INSERT INTO chunks (series_id, start_ts, end_ts, n, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        id,
        samples,
        context,
    )
}

fn write_run(
    conn: &Connection,
    sql: &str,
    id: i64,
    samples: &[Sample],
    context: &str,
) -> Result<Option<Open>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).ctx(context)?;
    let mut open = None;
    for piece in samples.chunks(CHUNK_SAMPLES) {
        let (Some(first), Some(last)) = (piece.first(), piece.last()) else {
            continue;
        };
        let (data, resume) = chunk_codec::encode_resumable(piece);
        stmt.execute(params![id, first.ts.0, last.ts.0, piece.len() as i64, data])
            .ctx(context)?;
        open = resume.map(|resume| Open {
            start: first.ts.0,
            n: piece.len() as i64,
            hash: data_hash(&data),
            resume,
        });
    }
    Ok(open)
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
/// newest one grows, see [`append_after`]); chunks stay disjoint and ordered. `open`: the states of
/// newest chunks this handle wrote (kept up to date here).
pub(crate) fn merge(
    conn: &Connection,
    id: i64,
    new: &[Sample],
    open: &mut OpenChunks,
    context: &str,
) -> Result<Merged, StoreError> {
    let mut merged = Merged::default();
    let (Some(lo), Some(hi)) = (new.first(), new.last()) else {
        return Ok(merged);
    };
    if let Some(done) = append_after(conn, id, new, open, context)? {
        return Ok(done);
    }
    // The newest chunk may be rewritten below: its next append starts from its bytes.
    open.remove(&id);
    let mut touched = overlapping(conn, id, lo.ts.0, hi.ts.0, context)?;
    // A chunk holding enough that ends before the new samples stays as it is (appends in time
    // order).
    if touched
        .first()
        .is_some_and(|c| c.end < lo.ts.0 && c.n >= OPEN_SAMPLES as i64)
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

/// [`merge`] when every new sample comes after the series' newest chunk (appends in time order), or
/// nothing is stored. While the newest chunk has room for them, the new samples are appended to it:
/// only they are encoded when `open` holds that chunk's state (its bytes as written here), else the
/// chunk is decoded and encoded again with them (after a restart, or when they do not fit its mode);
/// a full chunk is followed by a new one. `None`: samples overlap stored ones.
fn append_after(
    conn: &Connection,
    id: i64,
    new: &[Sample],
    open: &mut OpenChunks,
    context: &str,
) -> Result<Option<Merged>, StoreError> {
    let (Some(lo), Some(hi)) = (new.first(), new.last()) else {
        return Ok(None);
    };
    let newest = conn
        .prepare_cached(NEWEST)
        .ctx(context)?
        .query_row(params![id], |r| {
            Ok(Stored {
                start: r.get(0)?,
                end: r.get(1)?,
                n: r.get(2)?,
                data: r.get(3)?,
            })
        })
        .optional()
        .ctx(context)?;
    if newest.as_ref().is_some_and(|c| c.end >= lo.ts.0) {
        return Ok(None);
    }
    let mut merged = Merged::default();
    for s in new {
        merged.new_at(s.ts.0);
    }
    let c = match newest {
        Some(c) if usize::try_from(c.n).is_ok_and(|n| n + new.len() <= CHUNK_SAMPLES) => c,
        _ => {
            match insert_run(conn, id, new, context)? {
                Some(o) => open.insert(id, o),
                None => open.remove(&id),
            };
            return Ok(Some(merged));
        }
    };
    let appended = match open.get(&id) {
        Some(o) if o.start == c.start && o.n == c.n && o.hash == data_hash(&c.data) => {
            chunk_codec::append(&c.data, &o.resume, new)
        }
        _ => None,
    };
    let (data, resume) = match appended {
        Some(done) => done,
        None => {
            let mut all = Vec::with_capacity(c.n as usize + new.len());
            decode(id, &c, &mut all, context)?;
            all.extend_from_slice(new);
            match chunk_codec::encode_resumable(&all) {
                (data, Some(resume)) => (data, resume),
                (_, None) => return Err(invalid(context, "an appended chunk encoded empty")),
            }
        }
    };
    let n = c.n + new.len() as i64;
    conn.prepare_cached(
        "UPDATE chunks SET end_ts = ?3, n = ?4, data = ?5 WHERE series_id = ?1 AND start_ts = ?2",
    )
    .ctx(context)?
    .execute(params![id, c.start, hi.ts.0, n, data])
    .ctx(context)?;
    open.insert(
        id,
        Open {
            start: c.start,
            n,
            hash: data_hash(&data),
            resume,
        },
    );
    Ok(Some(merged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::Timestamp;

    fn s(ts: i64) -> Sample {
        Sample {
            ts: Timestamp(ts),
            value: ts as f64,
        }
    }

    #[test]
    fn reads_find_the_right_chunks_among_many() {
        let store = crate::open::Store::open_in_memory().unwrap();
        let conn = &store.conn;
        conn.execute_batch(
            "INSERT INTO series (id, workload, metric, labels) VALUES (1, 'w', 'm', '{}')",
        )
        .unwrap();
        // 5000 samples at 0, 10, 20, ...: five chunks.
        let all: Vec<Sample> = (0..5000).map(|i| s(i * 10)).collect();
        insert_run(conn, 1, &all, "t").unwrap();
        assert_eq!(last_ts(conn, 1, "t").unwrap(), Some(49_990));
        assert_eq!(span(conn, 1, "t").unwrap(), Some((0, 49_990)));
        let got = range(conn, 1, 10_235, 30_000, "t").unwrap();
        assert_eq!(got.first().map(|x| x.ts.0), Some(10_240));
        assert_eq!(got.last().map(|x| x.ts.0), Some(30_000));
        assert_eq!(got.len(), 1977);
        let t = tail(conn, 1, 20_005, 1500, "t").unwrap();
        assert_eq!(t.len(), 1500);
        assert_eq!(t.last().map(|x| x.ts.0), Some(20_000));
        // A late sample into the middle and a replacement: only touched chunks are rewritten.
        let m = merge(
            conn,
            1,
            &[
                s(20_005),
                Sample {
                    ts: Timestamp(20_010),
                    value: -1.0,
                },
            ],
            &mut OpenChunks::default(),
            "t",
        )
        .unwrap();
        assert_eq!((m.inserted, m.replaced), (1, 1));
        let whole = range(conn, 1, i64::MIN, i64::MAX, "t").unwrap();
        assert_eq!(whole.len(), 5001);
        assert!(whole.windows(2).all(|w| w[0].ts < w[1].ts));
        assert_eq!(
            whole.iter().find(|x| x.ts.0 == 20_010).map(|x| x.value),
            Some(-1.0)
        );
    }

    fn sizes(conn: &Connection, id: i64) -> Vec<i64> {
        let mut v: Vec<(i64, i64)> = conn
            .prepare("SELECT start_ts, n FROM chunks WHERE series_id = ?1")
            .unwrap()
            .query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        v.sort_unstable();
        v.into_iter().map(|(_, n)| n).collect()
    }

    #[test]
    fn appends_grow_the_newest_chunk_until_it_is_full() {
        let store = crate::open::Store::open_in_memory().unwrap();
        let conn = &store.conn;
        conn.execute_batch(
            "INSERT INTO series (id, workload, metric, labels) VALUES (1, 'w', 'm', '{}')",
        )
        .unwrap();
        // 40 flushes of 33 samples: the first a chunk, each later one appended to it (only the
        // new samples encoded) until 31 x 33 = 1023 samples; the 32nd does not fit and starts the
        // next chunk.
        let mut open = OpenChunks::default();
        let all: Vec<Sample> = (0..40 * 33).map(|i| s(i * 10)).collect();
        for (k, batch) in all.chunks(33).enumerate() {
            let m = merge(conn, 1, batch, &mut open, "t").unwrap();
            assert_eq!((m.inserted, m.replaced), (33, 0));
            assert_eq!(open.get(&1).map(|o| o.n), sizes(conn, 1).last().copied());
            assert_eq!(sizes(conn, 1).iter().sum::<i64>(), 33 * (k as i64 + 1));
        }
        assert_eq!(sizes(conn, 1), [1023, 297]);
        assert_eq!(range(conn, 1, i64::MIN, i64::MAX, "t").unwrap(), all);

        // Without the state (another handle, a restart) the chunk is decoded and encoded again.
        let more: Vec<Sample> = (1320..1353).map(|i| s(i * 10)).collect();
        merge(conn, 1, &more, &mut OpenChunks::default(), "t").unwrap();
        assert_eq!(sizes(conn, 1), [1023, 330]);
        // A stale state (the chunk was rewritten since) is refused: the bytes decide.
        let later: Vec<Sample> = (1353..1386).map(|i| s(i * 10)).collect();
        merge(conn, 1, &later, &mut open, "t").unwrap();
        let mut whole = all.clone();
        whole.extend_from_slice(&more);
        whole.extend_from_slice(&later);
        assert_eq!(range(conn, 1, i64::MIN, i64::MAX, "t").unwrap(), whole);
        assert_eq!(open.get(&1).map(|o| o.n), Some(363));

        // A late sample into a closed chunk and a replacement in the newest: still merged.
        let m = merge(
            conn,
            1,
            &[
                s(15),
                Sample {
                    ts: Timestamp(13_850),
                    value: -1.0,
                },
            ],
            &mut open,
            "t",
        )
        .unwrap();
        assert_eq!((m.inserted, m.replaced), (1, 1));
        assert!(open.is_empty());
        let got = range(conn, 1, i64::MIN, i64::MAX, "t").unwrap();
        assert_eq!(got.len(), whole.len() + 1);
        assert!(got.windows(2).all(|w| w[0].ts < w[1].ts));
        assert_eq!(
            got.iter().find(|x| x.ts.0 == 13_850).map(|x| x.value),
            Some(-1.0)
        );
        // A value off the chunk's decimal exponent: the chunk is encoded again with it, and the
        // next appends continue from there.
        let odd = [Sample {
            ts: Timestamp(13_860),
            value: 0.125,
        }];
        merge(conn, 1, &odd, &mut open, "t").unwrap();
        let next: Vec<Sample> = (1387..1400).map(|i| s(i * 10)).collect();
        merge(conn, 1, &next, &mut open, "t").unwrap();
        let tail = range(conn, 1, 13_860, i64::MAX, "t").unwrap();
        assert_eq!(tail[0].value, 0.125);
        assert_eq!(&tail[1..], &next[..]);
        // A batch larger than a chunk: chunks of its own.
        let big: Vec<Sample> = (2000..4100).map(|i| s(i * 10)).collect();
        merge(conn, 1, &big, &mut open, "t").unwrap();
        assert_eq!(sizes(conn, 1).last(), Some(&52));
    }
}
