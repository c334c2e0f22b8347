//! prescale's own series (forecast paths with their bands), named by prescale-remote's naming module
//! so `/metrics` and remote-write export agree.

use prescale_core::{SeriesKey, Timestamp};
use prescale_remote::naming::{self, PromSample};
use prescale_store::{Store, StoreError};
use std::collections::{BTreeMap, HashMap};

/// Every stored series' latest forecast, each path step stamped with its own time. Only the keys
/// that have a forecast are visited (not every series: at 10k series, listing them with their
/// sample counts scanned the whole store on every scrape).
pub fn forecast_samples(store: &Store) -> Result<Vec<PromSample>, StoreError> {
    let mut out = Vec::new();
    for key in store.forecast_keys()? {
        if let Some(f) = store.latest_forecast(&key)? {
            out.extend(naming::forecast_samples(
                &f.key,
                &f.forecast,
                f.issued_at,
                f.step,
            ));
        }
    }
    Ok(out)
}

/// Latest forecasts issued after what `pushed` remembers, as (key, issued_at, samples).
pub fn new_forecasts(
    store: &Store,
    pushed: &HashMap<SeriesKey, Timestamp>,
) -> Result<Vec<(SeriesKey, Timestamp, Vec<PromSample>)>, StoreError> {
    let mut out = Vec::new();
    for key in store.forecast_keys()? {
        if let Some(f) = store.latest_forecast(&key)? {
            if pushed.get(&f.key).is_some_and(|t| *t >= f.issued_at) {
                continue;
            }
            let samples = naming::forecast_samples(&f.key, &f.forecast, f.issued_at, f.step);
            out.push((f.key, f.issued_at, samples));
        }
    }
    Ok(out)
}

/// One sample per forecast path for a scrape: the first step at or after `now`, or the last step
/// when the whole forecast lies in the past.
pub fn current(samples: Vec<PromSample>, now: Timestamp) -> Vec<PromSample> {
    let mut pick: BTreeMap<Vec<(String, String)>, PromSample> = BTreeMap::new();
    for s in samples {
        let id: Vec<(String, String)> = s.labels.clone().into_iter().collect();
        match pick.get(&id) {
            None => {
                pick.insert(id, s);
            }
            Some(best) => {
                let better = match (best.ts >= now, s.ts >= now) {
                    (true, true) => s.ts < best.ts,
                    (false, true) => true,
                    (true, false) => false,
                    (false, false) => s.ts > best.ts,
                };
                if better {
                    pick.insert(id, s);
                }
            }
        }
    }
    pick.into_values().collect()
}

/// The text `/metrics` appends after the daemon's own metrics.
pub fn exposition(store: &Store, now: Timestamp) -> Result<String, StoreError> {
    let samples = current(forecast_samples(store)?, now);
    if samples.is_empty() {
        return Ok(String::new());
    }
    Ok(naming::exposition(&samples, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::Labels;

    fn s(bound: &str, ts: i64, v: f64) -> PromSample {
        let mut labels = Labels::new();
        labels.insert("bound".into(), bound.into());
        PromSample {
            name: naming::FORECAST.into(),
            labels,
            ts: Timestamp(ts),
            value: v,
        }
    }

    #[test]
    fn picks_the_step_covering_now() {
        let got = current(
            vec![
                s("point", 10, 1.0),
                s("point", 20, 2.0),
                s("point", 30, 3.0),
                s("upper", 5, 9.0),
            ],
            Timestamp(15),
        );
        let vals: Vec<f64> = got.iter().map(|p| p.value).collect();
        assert_eq!(vals, vec![2.0, 9.0]);
    }
}
