//! The write-ahead log of live appends: one `wal_log` row per committed batch, its samples grouped
//! by series and compressed with the chunk codec, so that an acknowledged append costs one row insert
//! and one commit. `head.rs` keeps the log decoded in memory and flushes it into chunks.

use crate::bits::{get_varint, put_varint, unzigzag, zigzag};
use crate::chunk_codec;
use crate::error::{invalid, Context, StoreError};
use prescale_core::Sample;
use rusqlite::{params, Connection};

/// One series' part of a batch: its samples (time-ordered, unique) and the samples among them that
/// were new to the series when written (count, earliest, latest).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    pub(crate) id: i64,
    pub(crate) samples: Vec<Sample>,
    pub(crate) new_n: u64,
    pub(crate) new_span: Option<(i64, i64)>,
}

/// The body of one log row: the number of runs, then per run the series id, the new count, the new
/// span (when the count is not 0), the chunk's length and the chunk.
pub(crate) fn encode(runs: &[Run]) -> Vec<u8> {
    let mut out = Vec::with_capacity(runs.iter().map(|r| r.samples.len() * 3 + 16).sum());
    put_varint(&mut out, runs.len() as u64);
    for r in runs {
        put_varint(&mut out, zigzag(r.id));
        put_varint(&mut out, r.new_n);
        if r.new_n > 0 {
            let (first, last) = r.new_span.unwrap_or((0, 0));
            put_varint(&mut out, zigzag(first));
            put_varint(&mut out, zigzag(last));
        }
        let chunk = chunk_codec::encode(&r.samples);
        put_varint(&mut out, chunk.len() as u64);
        out.extend_from_slice(&chunk);
    }
    out
}

/// Decodes a log row's body.
pub(crate) fn decode(seq: i64, body: &[u8], context: &str) -> Result<Vec<Run>, StoreError> {
    let bad = |what: &str| invalid(context, format!("write-ahead log row {seq}: {what}"));
    let mut at = 0;
    let n = get_varint(body, &mut at).ok_or_else(|| bad("no run count"))?;
    let mut runs = Vec::with_capacity(usize::try_from(n.min(1 << 16)).unwrap_or(0));
    for _ in 0..n {
        let id = unzigzag(get_varint(body, &mut at).ok_or_else(|| bad("run cut short"))?);
        let new_n = get_varint(body, &mut at).ok_or_else(|| bad("run cut short"))?;
        let new_span = if new_n > 0 {
            let first = get_varint(body, &mut at).ok_or_else(|| bad("run cut short"))?;
            let last = get_varint(body, &mut at).ok_or_else(|| bad("run cut short"))?;
            Some((unzigzag(first), unzigzag(last)))
        } else {
            None
        };
        let len = get_varint(body, &mut at).ok_or_else(|| bad("run cut short"))?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| at.checked_add(l))
            .filter(|&e| e <= body.len())
            .ok_or_else(|| bad("chunk length past the end"))?;
        let samples =
            chunk_codec::decode(&body[at..end]).map_err(|e| bad(&format!("series {id}: {e}")))?;
        at = end;
        runs.push(Run {
            id,
            samples,
            new_n,
            new_span,
        });
    }
    Ok(runs)
}

/// Writes one log row.
pub(crate) fn insert(
    conn: &Connection,
    seq: i64,
    body: &[u8],
    context: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO wal_log (seq, body) VALUES (?1, ?2)")
        .ctx(context)?
        .execute(params![seq, body])
        .ctx(context)?;
    Ok(())
}

/// The log rows after `seq`, in order.
pub(crate) fn rows_after(
    conn: &Connection,
    seq: i64,
    context: &str,
) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
    // No ORDER BY: a cached statement with one is re-prepared at every use (see chunks.rs).
    let mut rows = conn
        .prepare_cached("SELECT seq, body FROM wal_log WHERE seq > ?1")
        .ctx(context)?
        .query_map(params![seq], |r| Ok((r.get(0)?, r.get(1)?)))
        .ctx(context)?
        .collect::<Result<Vec<(i64, Vec<u8>)>, _>>()
        .ctx(context)?;
    rows.sort_unstable_by_key(|r| r.0);
    Ok(rows)
}

/// The last log row moved into chunks (rows up to it are gone).
pub(crate) fn flushed(conn: &Connection, context: &str) -> Result<i64, StoreError> {
    conn.prepare_cached("SELECT flushed FROM log_state WHERE id = 1")
        .ctx(context)?
        .query_row([], |r| r.get(0))
        .ctx(context)
}

/// Empties the log after its rows up to `last` were moved into chunks.
pub(crate) fn truncate(conn: &Connection, last: i64, context: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM wal_log WHERE seq <= ?1")
        .ctx(context)?
        .execute(params![last])
        .ctx(context)?;
    conn.prepare_cached("UPDATE log_state SET flushed = ?1 WHERE id = 1")
        .ctx(context)?
        .execute(params![last])
        .ctx(context)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::Timestamp;

    #[test]
    fn bodies_round_trip_and_damage_is_an_error() {
        let s = |ts, value| Sample {
            ts: Timestamp(ts),
            value,
        };
        let runs = vec![
            Run {
                id: 7,
                samples: vec![s(1000, 1.5), s(2000, 2.5)],
                new_n: 1,
                new_span: Some((2000, 2000)),
            },
            Run {
                id: 1 << 40,
                samples: vec![s(-5, f64::NAN)],
                new_n: 0,
                new_span: None,
            },
        ];
        let body = encode(&runs);
        let back = decode(1, &body, "t").unwrap();
        assert_eq!(back[0], runs[0]);
        assert_eq!((back[1].id, back[1].samples.len()), (1 << 40, 1));
        for cut in 0..body.len() {
            assert!(decode(1, &body[..cut], "t").is_err(), "cut at {cut}");
        }
    }
}
