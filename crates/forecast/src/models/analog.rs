//! The analog (nearest-neighbour) forecaster, an `auto` candidate: the futures of the past moments
//! whose recent shape was closest to the origin's, merged by their median step by step.
//!
//! A moment `t` (the values before `t` known) is described by the last three values and twice
//! the mean of the last twelve. From an origin `o`, the `K` moments of the last `LIBRARY` whose
//! futures are wholly known before `o` and whose description lies nearest the origin's (Euclidean;
//! of equal distances the more recent) are found, and step `j` is forecast as the median of their
//! values `j` steps on. Where a workload switches between levels (an idle VM and its bursts, a batch
//! job's on and off) this forecasts what followed such states before, which no smoothing model
//! and no seasonal copy does: on the shared series (`bench/backtest.sh`, fleet models on) `auto`
//! with it measured mean MASE 0.873 against 0.919 without it.

use crate::path::PathModel;
use prescale_math::median_sorted;
use std::cell::OnceCell;
use std::ops::Range;

/// Neighbours merged per forecast (k = 8 / 16 / 32 measured 0.900 / 0.884 / 0.891 with the whole
/// history as library and one weight on the mean).
const K: usize = 16;
/// Most past moments searched: one week of 5-minute steps (the whole 14-day history measured
/// 0.884, 3.5 days 0.893, one week 0.881).
const LIBRARY: usize = 2016;
/// Points of the recent mean in a moment's description.
const MEAN_WINDOW: usize = 12;
/// Weight of the recent mean against each of the last three values (1 measured 0.881, 2 0.873).
const MEAN_WEIGHT: f64 = 2.0;

/// The descriptions of moments `from..=end` (`from >= MEAN_WINDOW`), one column per value so
/// that an origin's distances to all of them are computed four or eight moments at a time.
struct Keys {
    from: usize,
    cols: [Vec<f64>; 4],
}

impl Keys {
    fn new(y: &[f64], from: usize, end: usize) -> Keys {
        let n = (end + 1).saturating_sub(from);
        let mut cols: [Vec<f64>; 4] = std::array::from_fn(|_| Vec::with_capacity(n));
        for t in from..=end {
            let mean = y[t - MEAN_WINDOW..t].iter().sum::<f64>() / MEAN_WINDOW as f64;
            let key = [y[t - 1], y[t - 2], y[t - 3], MEAN_WEIGHT * mean];
            for (c, v) in cols.iter_mut().zip(key) {
                c.push(v);
            }
        }
        Keys { from, cols }
    }

    /// The description of moment `t`.
    fn at(&self, t: usize) -> [f64; 4] {
        std::array::from_fn(|c| self.cols[c][t - self.from])
    }

    /// The [`K`] moments of `lo..=hi` nearest to `q` as (distance, moment), ascending, scanned
    /// from `hi` down, a later moment kept over an earlier one at an equal distance; slots no
    /// moment at a finite distance filled are `(inf, usize::MAX)`, at the end. `dist` is scratch.
    #[inline(always)]
    fn nearest(
        &self,
        q: &[f64; 4],
        lo: usize,
        hi: usize,
        dist: &mut Vec<f64>,
    ) -> [(f64, usize); K] {
        let (a, b) = (lo - self.from, hi + 1 - self.from);
        let [c0, c1, c2, c3] = &self.cols;
        let (c0, c1, c2, c3) = (&c0[a..b], &c1[a..b], &c2[a..b], &c3[a..b]);
        // one pass over the four columns (summed in column order, as the plain search does)
        dist.clear();
        dist.resize(b - a, 0.0);
        let sq = |v: f64, qc: f64| (v - qc) * (v - qc);
        for ((((d, v0), v1), v2), v3) in dist.iter_mut().zip(c0).zip(c1).zip(c2).zip(c3) {
            *d = 0.0 + sq(*v0, q[0]) + sq(*v1, q[1]) + sq(*v2, q[2]) + sq(*v3, q[3]);
        }
        // the K best so far, ascending, unfilled slots at infinity; a new one goes after those at
        // its distance (so of equal distances the later moment, met first, stays)
        let mut top = [(f64::INFINITY, usize::MAX); K];
        let offer = |top: &mut [(f64, usize); K], i: usize, d: f64| {
            if d < top[K - 1].0 {
                let mut j = K - 1;
                while j > 0 && top[j - 1].0 > d {
                    top[j] = top[j - 1];
                    j -= 1;
                }
                top[j] = (d, lo + i);
            }
        };
        // from the latest moment down, eight at a time: a block none of whose distances beats
        // the current K-th is passed over at once
        let tail = dist.len() % 8;
        for i in (dist.len() - tail..dist.len()).rev() {
            offer(&mut top, i, dist[i]);
        }
        for (b, block) in dist[..dist.len() - tail].chunks_exact(8).enumerate().rev() {
            let worst = top[K - 1].0;
            // comparisons without a dependency between them (a running minimum would chain)
            if !block.iter().fold(false, |any, &d| any | (d < worst)) {
                continue;
            }
            for (i, &d) in block.iter().enumerate().rev() {
                offer(&mut top, b * 8 + i, d);
            }
        }
        top
    }
}

/// Room for the compare-exchange pairs of [`batcher`] (Batcher's network for 16 has 63).
const NETWORK_ROOM: usize = K * K / 2;
/// [`batcher`]'s pairs and how many of them there are.
const BATCHER: ([(u8, u8); NETWORK_ROOM], usize) = batcher();
/// Batcher's odd-even merge sort of [`K`] inputs as compare-exchange pairs, in order.
const NETWORK: &[(u8, u8)] = BATCHER.0.split_at(BATCHER.1).0;

/// The pairs of Batcher's odd-even merge sort of [`K`] inputs (`K` a power of two) and their
/// count.
const fn batcher() -> ([(u8, u8); NETWORK_ROOM], usize) {
    let mut out = [(0u8, 0u8); NETWORK_ROOM];
    let (mut n, mut p) = (0, 1);
    while p < K {
        let mut k = p;
        while k >= 1 {
            let mut j = k % p;
            while j + k < K {
                let mut i = 0;
                while i < k && i + j + k < K {
                    if (i + j) / (2 * p) == (i + j + k) / (2 * p) {
                        out[n] = ((i + j) as u8, (i + j + k) as u8);
                        n += 1;
                    }
                    i += 1;
                }
                j += 2 * k;
            }
            k /= 2;
        }
        p *= 2;
    }
    (out, n)
}

/// The median of each column of `rows` ([`K`] rows of `h` values, row after row): the rows are
/// put through [`NETWORK`] column by column at once (a compare-exchange of two rows is `h`
/// independent minima and maxima), then each column's two middle values are averaged.
#[inline(always)]
fn column_medians(rows: &mut [f64], h: usize) -> Vec<f64> {
    for &(a, b) in NETWORK {
        let (lower, upper) = rows.split_at_mut(b as usize * h);
        let (ra, rb) = (&mut lower[a as usize * h..][..h], &mut upper[..h]);
        for (x, y) in ra.iter_mut().zip(rb.iter_mut()) {
            let (u, v) = (*x, *y);
            *x = u.min(v);
            *y = u.max(v);
        }
    }
    (0..h)
        .map(|j| {
            let mid = [rows[(K / 2 - 1) * h + j], rows[K / 2 * h + j]];
            median_sorted(&mid).unwrap_or(mid[0])
        })
        .collect()
}

/// Forecasts each step as the median of what followed the [`K`] nearest past moments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Analog;

/// What the search found at one fit's origins, kept for the next fit of the same series: the
/// [`K`] neighbours of each origin and a hash of every value they were found from. An origin's
/// neighbours depend only on the values before it, so a refit a few steps later searches only
/// its new origins (the rolling forecaster refits every 12 steps over 145 origins: 12 searched
/// instead of 145). 40 bytes an origin (5.7 KiB at 145).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Neighbours {
    h: usize,
    /// (origin's position in the whole series, each neighbour as `origin − moment`), ascending.
    found: Vec<(usize, [u16; K])>,
    /// The positions in the whole series whose values the neighbours were found from.
    span: Range<usize>,
    /// [`hash_values`] of those values.
    hash: u64,
    /// Where the data started when some origin's library was cut short by its start (a young
    /// series): those neighbours hold only for data starting there.
    cut_at: Option<usize>,
}

impl Neighbours {
    /// True when these were found at horizon `h` on the values `y` (its first at position
    /// `offset` of the whole series) still holds.
    fn hold_for(&self, y: &[f64], offset: usize, h: usize) -> bool {
        let Some(at) = self.span.start.checked_sub(offset) else {
            return false;
        };
        let len = self.span.len();
        self.h == h
            && self.cut_at.is_none_or(|c| c == offset)
            && !self.found.is_empty()
            && at + len <= y.len()
            && hash_values(&y[at..at + len]) == self.hash
    }

    /// How many origins' neighbours are kept.
    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        self.found.len()
    }

    /// The neighbours kept for the origin at `origin` of the whole series.
    fn of(&self, origin: usize) -> Option<&[u16; K]> {
        let i = self.found.binary_search_by_key(&origin, |f| f.0).ok()?;
        Some(&self.found[i].1)
    }
}

/// A hash of the values' bits (word by word, finished by splitmix64's mixer): whether the values
/// a [`Neighbours`] was found from are still the same, without keeping them.
fn hash_values(y: &[f64]) -> u64 {
    let h = y.iter().fold(y.len() as u64, |h, v| {
        (h.rotate_left(5) ^ v.to_bits()).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    });
    let h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// [`Analog`]'s paths (see [`PathModel::paths`] below), for the caller to compile as it needs.
/// With `memory` (the position of `y[0]` in the whole series, and what the last fit found), an
/// origin whose neighbours the last fit found on the same values reuses them, and `memory` is
/// replaced by what this call found; the paths are the same either way.
#[inline(always)]
fn paths_body(
    y: &[f64],
    origins: &[usize],
    h: usize,
    memory: Option<(usize, &mut Neighbours)>,
) -> Vec<Vec<f64>> {
    let clip = |o: usize| o.min(y.len());
    let end = origins.iter().map(|&o| clip(o)).max().unwrap_or(0);
    let start = origins.iter().map(|&o| clip(o)).min().unwrap_or(0);
    // moment t may serve origin o when t + h <= o and t > o - h - LIBRARY
    let from = (start + 1).saturating_sub(h + LIBRARY).max(MEAN_WINDOW);
    // computed only when some origin has to be searched
    let keys = OnceCell::new();
    let (offset, mut memory) = memory.map_or((0, None), |(at, m)| (at, Some(m)));
    if let Some(m) = memory.as_deref_mut().filter(|m| !m.hold_for(y, offset, h)) {
        m.found.clear();
    }
    // a neighbour is kept as its distance back from the origin, less than h + LIBRARY: a u16
    // unless h is past 63 000 steps, where nothing is kept
    if h + LIBRARY > 1 << 16 {
        memory = None;
    }
    // the kept origins whose neighbours serve again, and the neighbours searched for the others
    let (mut reused, mut fresh) = (Vec::new(), Vec::new());
    // the first value any kept origin's neighbours were found from; whether a library was cut short
    let (mut oldest, mut cut) = (usize::MAX, false);
    let (mut dist, mut rows) = (Vec::new(), vec![0.0; K * h]);
    let paths = origins
        .iter()
        .map(|&o| {
            let o = clip(o);
            let last = o.checked_sub(1).map_or(0.0, |i| y[i]);
            if o < MEAN_WINDOW + h {
                return vec![last; h];
            }
            let hi = o - h;
            let lo = (hi + 1).saturating_sub(LIBRARY).max(from);
            if hi < lo || hi + 1 - lo < K {
                return vec![last; h];
            }
            // what is found depends only on the values at `lo − MEAN_WINDOW .. o`, and on where
            // the data starts when that cut the library short
            let moments: [usize; K] = match memory.as_deref().and_then(|m| m.of(offset + o)) {
                Some(back) => {
                    reused.push(offset + o);
                    back.map(|b| o - usize::from(b))
                }
                None => {
                    let keys = keys.get_or_init(|| Keys::new(y, from, end));
                    let best = keys.nearest(&keys.at(o), lo, hi, &mut dist);
                    if best[K - 1].1 == usize::MAX {
                        // distances past f64's range (values beyond ~1e154): no neighbour is nearer
                        return vec![last; h];
                    }
                    let moments = best.map(|(_, t)| t);
                    if memory.is_some() {
                        // o − t < h + LIBRARY ≤ 2^16 (checked above where memory is kept)
                        fresh.push((offset + o, moments.map(|t| (o - t) as u16)));
                    }
                    moments
                }
            };
            oldest = oldest.min(lo - MEAN_WINDOW);
            cut |= hi + 1 < LIBRARY + lo;
            for (row, &t) in rows.chunks_exact_mut(h).zip(&moments) {
                row.copy_from_slice(&y[t..t + h]);
            }
            column_medians(&mut rows, h)
        })
        .collect();
    if let Some(m) = memory {
        // updated in place, so that refit after refit keeps the one allocation (a new one each
        // time grew the 10k-workload tick's memory by 18 KiB a workload, not 6)
        reused.sort_unstable();
        m.found.retain(|f| reused.binary_search(&f.0).is_ok());
        m.found.reserve_exact(fresh.len());
        m.found.extend(fresh);
        m.found.sort_unstable_by_key(|f| f.0);
        m.found.dedup_by_key(|f| f.0);
        if let Some(&(last, _)) = m.found.last() {
            m.h = h;
            m.span = offset + oldest..last;
            m.hash = hash_values(&y[oldest..last - offset]);
            m.cut_at = cut.then_some(offset);
        }
    }
    paths
}

/// [`paths_body`] compiled for AVX2 (the same arithmetic, four moments or steps at a time).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn paths_avx2(
    y: &[f64],
    origins: &[usize],
    h: usize,
    memory: Option<(usize, &mut Neighbours)>,
) -> Vec<Vec<f64>> {
    paths_body(y, origins, h, memory)
}

/// [`Analog`]'s paths, with AVX2 where the CPU has it; `memory` as in [`paths_body`].
pub(crate) fn paths_remembering(
    y: &[f64],
    origins: &[usize],
    h: usize,
    memory: Option<(usize, &mut Neighbours)>,
) -> Vec<Vec<f64>> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (detected just above)
        return unsafe { paths_avx2(y, origins, h, memory) };
    }
    paths_body(y, origins, h, memory)
}

impl PathModel for Analog {
    /// The descriptions of the moments any origin searches, and of the origins, are computed
    /// once; an origin with fewer than [`K`] past moments whose `h` steps are known forecasts its
    /// last value. With AVX2 where the CPU has it.
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        paths_remembering(y, origins, h, None)
    }
    fn spec(&self) -> String {
        format!("Analog[{K}]")
    }
    fn params(&self) -> Vec<(String, f64)> {
        vec![
            ("k".to_string(), K as f64),
            ("library".to_string(), LIBRARY as f64),
        ]
    }
    fn in_sample_mae(&self) -> Option<f64> {
        None
    }
}

/// A test series: whole numbers on a daily wave (288 steps) with noise and bursts; values repeat,
/// so equal distances are common.
#[cfg(test)]
pub(crate) fn bursty_wave(n: usize) -> Vec<f64> {
    (0..n)
        .map(|t| {
            let wave = ((t % 288) as f64 / 288.0 * std::f64::consts::TAU).sin() * 20.0;
            let burst = if (t * 7919) % 97 < 9 { 50.0 } else { 0.0 };
            (wave + burst + ((t * 31) % 7) as f64).round()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Off (0) for 20 to 40 steps, then on (10) for exactly 6: bursts whose start no model can
    /// know but whose length the past tells.
    fn bursts(n: usize) -> Vec<f64> {
        let mut y = Vec::with_capacity(n);
        let mut i = 0u64;
        while y.len() < n {
            i += 1;
            let off = 20 + (i * 7919 % 21) as usize;
            y.extend(std::iter::repeat_n(0.0, off));
            y.extend(std::iter::repeat_n(10.0, 6));
        }
        y.truncate(n);
        y
    }

    #[test]
    fn a_burst_is_forecast_to_last_as_long_as_bursts_did() {
        let y = bursts(3000);
        // an origin two steps into a burst
        let o = (2500..3000)
            .find(|&o| y[o - 1] == 10.0 && y[o - 2] == 10.0 && y[o - 3] == 0.0)
            .unwrap();
        let p = &Analog.paths(&y, &[o], 8)[0];
        assert_eq!(p, &[10.0, 10.0, 10.0, 10.0, 0.0, 0.0, 0.0, 0.0]);
        // naive would carry the burst on; a window median would call it over
        let off = (2500..3000).find(|&o| y[o - 1] == 0.0).unwrap();
        assert!(Analog.paths(&y, &[off], 3)[0].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn an_origin_reads_nothing_from_its_future_and_nothing_older_than_the_library() {
        let (o, h) = (4500, 12);
        // the oldest moment searched; its description reads the 12 values before it
        let oldest = o - h - LIBRARY + 1;
        // zeros, the origin after three 7s, and 20 earlier copies of that moment followed by 9s,
        // their moments starting at `first`
        let series = |first: usize| {
            let mut y = vec![0.0; 5000];
            y[o - 3..o].fill(7.0);
            for c in 0..20 {
                let t = first + c * 2 * (MEAN_WINDOW + h);
                y[t - 3..t].fill(7.0);
                y[t..t + h].fill(9.0);
            }
            y
        };
        let inside = series(oldest);
        assert_eq!(Analog.paths(&inside, &[o], h)[0], vec![9.0; h]);
        // the same copies wholly before the values the oldest moment's description reads
        let span = 19 * 2 * (MEAN_WINDOW + h);
        let outside = series(oldest - MEAN_WINDOW - h - span);
        assert_eq!(Analog.paths(&outside, &[o], h)[0], vec![0.0; h]);
        // and nothing after the origin is read
        let mut later = inside.clone();
        later[o..].fill(1e6);
        assert_eq!(
            Analog.paths(&later, &[o], h),
            Analog.paths(&inside, &[o], h)
        );
    }

    /// The search written plainly: every moment's distance, sorted (later first at equal
    /// distances), the median of the first `K` futures per step.
    fn reference(y: &[f64], o: usize, h: usize) -> Vec<f64> {
        let key = |t: usize| {
            let mean = y[t - MEAN_WINDOW..t].iter().sum::<f64>() / MEAN_WINDOW as f64;
            [y[t - 1], y[t - 2], y[t - 3], MEAN_WEIGHT * mean]
        };
        let q = key(o);
        let lo = (o + 1 - h).saturating_sub(LIBRARY).max(MEAN_WINDOW);
        let mut d: Vec<(f64, usize)> = (lo..=o - h)
            .map(|t| {
                let k = key(t);
                ((0..4).map(|c| (k[c] - q[c]) * (k[c] - q[c])).sum(), t)
            })
            .collect();
        d.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
        (0..h)
            .map(|j| {
                let v: Vec<f64> = d[..K].iter().map(|&(_, t)| y[t + j]).collect();
                prescale_math::median(&v).unwrap()
            })
            .collect()
    }

    #[test]
    fn paths_equal_the_plain_search() {
        let y = bursty_wave(4200);
        let origins: Vec<usize> = (3000..3200).chain([4200]).collect();
        for h in [1, 12, 27] {
            let paths = Analog.paths(&y, &origins, h);
            for (&o, p) in origins.iter().zip(&paths) {
                assert_eq!(p, &reference(&y, o, h), "origin {o}, h {h}");
            }
            // the baseline build of the same code, whichever one `paths` took here
            assert_eq!(paths_body(&y, &origins, h, None), paths);
        }
    }

    #[test]
    fn a_refit_reuses_the_neighbours_found_on_unchanged_values_and_only_those() {
        let y = bursty_wave(4400);
        let (h, window) = (27, 4032);
        // a sliding window refitted every 12 steps over its last 145 origins
        let fit = |end: usize, memory: Option<&mut Neighbours>| {
            let offset = end - window;
            let origins: Vec<usize> = (window - 144..=window).collect();
            paths_body(&y[offset..end], &origins, h, memory.map(|m| (offset, m)))
        };
        let mut memory = Neighbours::default();
        for end in (window..=4400).step_by(12) {
            assert_eq!(
                fit(end, Some(&mut memory)),
                fit(end, None),
                "window ending at {end}"
            );
            assert_eq!(memory.found.len(), 145, "window ending at {end}");
        }
        // a young series, its libraries cut short by its start, refitted as it grows
        let mut young = Neighbours::default();
        for end in (700..2400).step_by(12) {
            let origins: Vec<usize> = (end - 144..=end).collect();
            assert_eq!(
                paths_body(&y[..end], &origins, h, Some((0, &mut young))),
                paths_body(&y[..end], &origins, h, None),
                "young series of {end}"
            );
            assert_eq!(young.found.len(), 145, "young series of {end}");
        }
        // its neighbours hold only for data starting where it started: found on the data from
        // position 12, they are not used for the same positions of the data from position 0
        let origins: Vec<usize> = (1500 - 144..=1500).collect();
        let mut cut = Neighbours::default();
        paths_body(&y[12..1512], &origins, h, Some((12, &mut cut)));
        assert!(cut.cut_at == Some(12));
        for f in &mut cut.found {
            f.1 = [h as u16; K];
        }
        let same: Vec<usize> = origins.iter().map(|o| o + 12).collect();
        assert_eq!(
            paths_body(&y[..1524], &same, h, Some((0, &mut cut.clone()))),
            paths_body(&y[..1524], &same, h, None)
        );
        // (where it started, they are)
        assert_ne!(
            paths_body(&y[12..1524], &origins, h, Some((12, &mut cut))),
            paths_body(&y[12..1524], &origins, h, None)
        );
        // the neighbours kept are the ones used: spoiled, they change the next refit's paths ...
        let end = 4392;
        fit(end - 12, Some(&mut memory));
        let mut spoiled = memory.clone();
        for f in &mut spoiled.found {
            f.1 = [h as u16; K];
        }
        let plain = fit(end, None);
        let with_spoiled = fit(end, Some(&mut spoiled.clone()));
        assert_ne!(with_spoiled, plain);
        // ... the 12 new origins excepted, which are searched
        assert_eq!(with_spoiled[133..], plain[133..]);
        // but not when a value they were found from has changed since: all are searched again
        let mut changed = y.clone();
        changed[end - 200] += 1.0;
        let offset = end - window;
        let origins: Vec<usize> = (window - 144..=window).collect();
        let again = paths_body(
            &changed[offset..end],
            &origins,
            h,
            Some((offset, &mut spoiled)),
        );
        assert_eq!(again, paths_body(&changed[offset..end], &origins, h, None));
        // nor at another horizon
        let mut kept = memory.clone();
        let other = paths_body(&y[offset..end], &origins, 12, Some((offset, &mut kept)));
        assert_eq!(other, paths_body(&y[offset..end], &origins, 12, None));
    }

    #[test]
    fn the_network_sorts_every_column() {
        assert_eq!(NETWORK.len(), 63);
        let h = 5;
        let mut rows: Vec<f64> = (0..K * h)
            .map(|i| ((i * 7919 + 13) % 101) as f64 - 50.0)
            .collect();
        let columns: Vec<Vec<f64>> = (0..h)
            .map(|j| (0..K).map(|r| rows[r * h + j]).collect())
            .collect();
        let out = column_medians(&mut rows, h);
        for (j, c) in columns.iter().enumerate() {
            let mut sorted = c.clone();
            sorted.sort_by(f64::total_cmp);
            let got: Vec<f64> = (0..K).map(|r| rows[r * h + j]).collect();
            assert_eq!(got, sorted);
            assert_eq!(Some(out[j]), prescale_math::median(c));
        }
    }

    #[test]
    fn values_whose_distances_overflow_forecast_the_last_value() {
        // a ramp: every past moment differs from the origin's by at least 1e200 a value
        let y: Vec<f64> = (0..600).map(|t| t as f64 * 1e200).collect();
        let p = Analog.paths(&y, &[600], 12);
        assert_eq!(p[0], vec![y[599]; 12]);
        // a repeating pattern at the same size is still matched exactly (distance 0)
        let y: Vec<f64> = (0..600).map(|t| (t % 7) as f64 * 1e200).collect();
        let p = Analog.paths(&y, &[600], 7);
        assert_eq!(p[0], (600..607).map(|t| y[t - 7]).collect::<Vec<_>>());
    }

    #[test]
    fn too_short_a_past_forecasts_the_last_value() {
        let y: Vec<f64> = (0..40).map(|t| t as f64).collect();
        // 40 - 12 - 12 + 1 = 17 moments: enough; 39 - 24 + 1 = 16: enough; 38: 15, not
        assert_ne!(Analog.paths(&y, &[40], 12)[0], vec![39.0; 12]);
        assert_eq!(Analog.paths(&y, &[38], 12)[0], vec![37.0; 12]);
        assert_eq!(
            Analog.paths(&y, &[5, 0], 2),
            vec![vec![4.0; 2], vec![0.0; 2]]
        );
    }

    #[test]
    fn of_equal_distances_the_most_recent_moments_are_kept() {
        // identical descriptions everywhere (a constant), but different futures far back
        let mut y = vec![3.0; 2000];
        y[100] = 50.0;
        let p = &Analog.paths(&y, &[2000], 4)[0];
        assert_eq!(p, &vec![3.0; 4]);
        let mut dist = Vec::new();
        let keys = Keys::new(&y, MEAN_WINDOW, 2000);
        let best = keys.nearest(&keys.at(1900), MEAN_WINDOW, 1800, &mut dist);
        let mut got: Vec<usize> = best.iter().map(|b| b.1).collect();
        got.sort_unstable();
        assert_eq!(got, (1800 + 1 - K..=1800).collect::<Vec<_>>());
    }
}
