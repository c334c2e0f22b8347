//! The pricing catalogue: per instance type its on-demand, reserved (committed) and spot prices
//! (a fixed price or a price history, with an interruption rate), read from TOML and validated once.
//!
//! ```toml
//! region = "us-east-1"
//! currency = "USD"
//! [[instance]]
//! name = "m5.large"
//! vcpu = 2
//! memory_gib = 8
//! on_demand = 0.096                                       # per hour
//! reserved = 0.062                                        # effective per hour of a commitment
//! spot = { price = 0.037, interruption_rate = 0.10 }      # or price_history = "m5.large.csv"
//! # burstable = true, baseline_cpu_share = 0.2            # a t-family type: its CPU-credit baseline
//! ```
//!
//! `interruption_rate` is the share of spot instances reclaimed per month (AWS Spot Advisor's
//! "frequency of interruption"; take the upper end of its band). A price history is a CSV of
//! `time,price` rows (Unix seconds, price per hour; a header line is allowed), read by the caller
//! (this crate does no I/O) through the loader handed to [`PricingCatalogue::parse`].
//!
//! Every error names where it is: the line in the catalogue, the instance, the field and the value.

use crate::instances::{InstanceCatalogue, InstanceType};
use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

/// Hours in a month as the interruption rate counts them (365 × 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Why a pricing catalogue (or a purchase setting against it) was refused.
#[derive(Debug, Error, PartialEq)]
pub enum PricingError {
    /// The TOML does not parse or does not have the catalogue's shape (unknown key, wrong type,
    /// missing field).
    #[error("{}: {message}", at_line(line, text))]
    Syntax {
        /// 1-based line of the problem, when the parser knows it.
        line: Option<usize>,
        /// That line's text (it names the key).
        text: Option<String>,
        message: String,
    },
    /// A field of an instance has a value out of range.
    #[error("line {line}: instance {instance:?}: {field} = {value}: {reason}")]
    Field {
        line: usize,
        instance: String,
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    /// The catalogue lists no instance.
    #[error("the pricing catalogue lists no [[instance]]")]
    Empty,
    /// A spot price history file could not be read or is malformed.
    #[error("line {line}: instance {instance:?}: spot.price_history {file:?}: {reason}")]
    History {
        line: usize,
        instance: String,
        file: String,
        reason: String,
    },
    /// A purchase setting names an instance type the catalogue does not have.
    #[error("instance type {name:?} is not in the pricing catalogue (it has: {})", known.join(", "))]
    UnknownInstance { name: String, known: Vec<String> },
    /// A purchase setting is out of range.
    #[error("purchase setting {field} = {value}: {reason}")]
    Setting {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
}

fn at_line(line: &Option<usize>, text: &Option<String>) -> String {
    match (line, text) {
        (Some(l), Some(t)) => format!("line {l} ({t:?})"),
        (Some(l), None) => format!("line {l}"),
        _ => "pricing catalogue".to_string(),
    }
}

/// A validated catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct PricingCatalogue {
    pub region: Option<String>,
    pub currency: Option<String>,
    /// Where the prices come from (free text, e.g. a URL).
    pub source: Option<String>,
    /// When they were taken (free text, e.g. `2024-06`).
    pub as_of: Option<String>,
    pub instances: Vec<PricedInstance>,
}

/// One instance type's prices (per hour, in the catalogue's currency).
#[derive(Debug, Clone, PartialEq)]
pub struct PricedInstance {
    pub name: String,
    pub vcpu: f64,
    pub memory_gib: f64,
    pub on_demand: f64,
    /// Effective hourly price of committed capacity (reserved instance, savings plan); `None`
    /// when the type cannot be committed to.
    pub reserved: Option<f64>,
    /// `None` when the type is not bought on the spot market.
    pub spot: Option<Spot>,
    /// A burstable type's baseline share of each vCPU (`burstable = true`,
    /// `baseline_cpu_share`), in (0, 1]; `None` for a type whose vCPUs are all sustained.
    pub burstable_baseline: Option<f64>,
    /// 1-based line of its `[[instance]]` table.
    pub line: usize,
}

/// Spot terms of one instance type.
#[derive(Debug, Clone, PartialEq)]
pub struct Spot {
    pub price: SpotPrice,
    /// Share of spot instances reclaimed per month, in [0, 1].
    pub interruption_rate: f64,
}

/// A fixed spot price, or one that follows a recorded history.
#[derive(Debug, Clone, PartialEq)]
pub enum SpotPrice {
    Fixed(f64),
    History(SpotPriceHistory),
}

/// Recorded spot prices: `(Unix seconds, price per hour)`, in time order, each holding until the
/// next.
#[derive(Debug, Clone, PartialEq)]
pub struct SpotPriceHistory {
    points: Vec<(i64, f64)>,
}

impl Spot {
    /// The chance that one running spot instance is reclaimed within a step of `step_seconds`:
    /// `1 − (1 − rate)^(step hours / hours per month)`.
    pub fn step_hazard(&self, step_seconds: f64) -> f64 {
        let r = self.interruption_rate.clamp(0.0, 1.0);
        if r >= 1.0 {
            return 1.0;
        }
        let months = (step_seconds / 3600.0 / HOURS_PER_MONTH).max(0.0);
        1.0 - (1.0 - r).powf(months)
    }

    /// The spot price `offset_seconds` after the start of a replay (a history is laid over the
    /// replay from its first entry and repeated when the replay is longer).
    pub fn price_at(&self, offset_seconds: f64) -> f64 {
        match &self.price {
            SpotPrice::Fixed(p) => *p,
            SpotPrice::History(h) => h.price_at(offset_seconds),
        }
    }

    /// The price a plan counts on: the fixed price, or the history's time-weighted mean.
    pub fn planning_price(&self) -> f64 {
        match &self.price {
            SpotPrice::Fixed(p) => *p,
            SpotPrice::History(h) => h.mean(),
        }
    }
}

impl SpotPriceHistory {
    /// Parses `time,price` rows (Unix seconds, a non-negative finite price); blank lines and
    /// `#` comments are skipped and a first line that does not parse as numbers is taken as a
    /// header. Needs at least one row, times strictly increasing.
    pub fn parse_csv(text: &str) -> Result<SpotPriceHistory, String> {
        let mut points: Vec<(i64, f64)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut cols = line.split(',').map(str::trim);
            let (t, p) = (cols.next().unwrap_or(""), cols.next().unwrap_or(""));
            let parsed = t
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite())
                .zip(p.parse::<f64>().ok());
            let Some((t, p)) = parsed else {
                if points.is_empty() && i == first_content_line(text) {
                    continue; // a header
                }
                return Err(format!(
                    "line {}: {line:?} is not `unix_seconds,price`",
                    i + 1
                ));
            };
            if !(p.is_finite() && p >= 0.0) {
                return Err(format!(
                    "line {}: price = {p}: must be finite and >= 0",
                    i + 1
                ));
            }
            let t = t.round() as i64;
            if points.last().is_some_and(|&(last, _)| t <= last) {
                return Err(format!(
                    "line {}: time {t} is not after the previous row's",
                    i + 1
                ));
            }
            points.push((t, p));
        }
        if points.is_empty() {
            return Err("has no `unix_seconds,price` row".into());
        }
        Ok(SpotPriceHistory { points })
    }

    /// The recorded points.
    pub fn points(&self) -> &[(i64, f64)] {
        &self.points
    }

    /// The price `offset_seconds` after the first entry, the history repeating past its last.
    pub fn price_at(&self, offset_seconds: f64) -> f64 {
        let first = self.points[0].0;
        let span = self.points[self.points.len() - 1].0 - first;
        if span <= 0 || !offset_seconds.is_finite() {
            return self.points[0].1;
        }
        let at = first + (offset_seconds.max(0.0) as i64).rem_euclid(span);
        let i = self.points.partition_point(|&(t, _)| t <= at);
        self.points[i.saturating_sub(1)].1
    }

    /// The time-weighted mean price over the history (its only price when it has one row).
    pub fn mean(&self) -> f64 {
        let span = self.points[self.points.len() - 1].0 - self.points[0].0;
        if span <= 0 {
            return self.points[0].1;
        }
        let weighted: f64 = self
            .points
            .windows(2)
            .map(|w| w[0].1 * (w[1].0 - w[0].0) as f64)
            .sum();
        weighted / span as f64
    }
}

fn first_content_line(text: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim();
            !l.is_empty() && !l.starts_with('#')
        })
        .unwrap_or(0)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    region: Option<String>,
    currency: Option<String>,
    source: Option<String>,
    as_of: Option<String>,
    #[serde(rename = "instance", default)]
    instances: Vec<Spanned<RawInstance>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstance {
    name: String,
    vcpu: f64,
    memory_gib: f64,
    on_demand: f64,
    reserved: Option<f64>,
    spot: Option<RawSpot>,
    #[serde(default)]
    burstable: bool,
    baseline_cpu_share: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpot {
    price: Option<f64>,
    price_history: Option<String>,
    interruption_rate: f64,
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl PricingCatalogue {
    /// Parses and validates a catalogue. `load_history` reads a spot price history file named in
    /// it (the name as written; resolving it, e.g. beside the catalogue, is the caller's job) and
    /// says why when it cannot.
    pub fn parse(
        text: &str,
        mut load_history: impl FnMut(&str) -> Result<String, String>,
    ) -> Result<PricingCatalogue, PricingError> {
        let raw: RawCatalogue = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            PricingError::Syntax {
                line,
                text: line
                    .and_then(|l| text.lines().nth(l - 1))
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty()),
                message: e.message().trim().to_string(),
            }
        })?;
        if raw.instances.is_empty() {
            return Err(PricingError::Empty);
        }
        let mut instances: Vec<PricedInstance> = Vec::with_capacity(raw.instances.len());
        for spanned in raw.instances {
            let line = line_of(text, spanned.span().start);
            let r = spanned.into_inner();
            let field =
                |field: &'static str, value: String, reason: &'static str| PricingError::Field {
                    line,
                    instance: r.name.clone(),
                    field,
                    value,
                    reason,
                };
            if r.name.trim().is_empty() {
                return Err(field("name", format!("{:?}", r.name), "must not be empty"));
            }
            if instances.iter().any(|i| i.name == r.name) {
                return Err(field("name", format!("{:?}", r.name), "is listed twice"));
            }
            let positive = |v: f64| v.is_finite() && v > 0.0;
            let price = |v: f64| v.is_finite() && v >= 0.0;
            if !positive(r.vcpu) {
                return Err(field("vcpu", r.vcpu.to_string(), "must be finite and > 0"));
            }
            if !positive(r.memory_gib) {
                return Err(field(
                    "memory_gib",
                    r.memory_gib.to_string(),
                    "must be finite and > 0",
                ));
            }
            if !price(r.on_demand) {
                return Err(field(
                    "on_demand",
                    r.on_demand.to_string(),
                    "a price must be finite and >= 0",
                ));
            }
            if let Some(v) = r.reserved.filter(|&v| !price(v)) {
                return Err(field(
                    "reserved",
                    v.to_string(),
                    "a price must be finite and >= 0",
                ));
            }
            let burstable_baseline = match (r.burstable, r.baseline_cpu_share) {
                (false, None) => None,
                (true, Some(share)) if share.is_finite() && share > 0.0 && share <= 1.0 => {
                    Some(share)
                }
                (true, Some(share)) => {
                    return Err(field(
                        "baseline_cpu_share",
                        share.to_string(),
                        "a share of each vCPU, must be within (0, 1]",
                    ))
                }
                (true, None) => return Err(field(
                    "burstable",
                    "true".into(),
                    "a burstable type needs baseline_cpu_share (its CPU-credit baseline, e.g. 0.2)",
                )),
                (false, Some(share)) => {
                    return Err(field(
                        "baseline_cpu_share",
                        share.to_string(),
                        "is given without burstable = true",
                    ))
                }
            };
            let spot = match &r.spot {
                None => None,
                Some(s) => {
                    let rate = s.interruption_rate;
                    if !(rate.is_finite() && (0.0..=1.0).contains(&rate)) {
                        return Err(field(
                            "spot.interruption_rate",
                            rate.to_string(),
                            "a share of instances per month, must be within 0..=1",
                        ));
                    }
                    let price = match (s.price, &s.price_history) {
                        (Some(p), None) if price(p) => SpotPrice::Fixed(p),
                        (Some(p), None) => {
                            return Err(field(
                                "spot.price",
                                p.to_string(),
                                "a price must be finite and >= 0",
                            ))
                        }
                        (None, Some(file)) => {
                            let history = load_history(file)
                                .and_then(|text| SpotPriceHistory::parse_csv(&text))
                                .map_err(|reason| PricingError::History {
                                    line,
                                    instance: r.name.clone(),
                                    file: file.clone(),
                                    reason,
                                })?;
                            SpotPrice::History(history)
                        }
                        (Some(p), Some(f)) => {
                            return Err(field(
                                "spot",
                                format!("price = {p}, price_history = {f:?}"),
                                "give either price or price_history, not both",
                            ))
                        }
                        (None, None) => {
                            return Err(field("spot", "{}".into(), "needs price or price_history"))
                        }
                    };
                    Some(Spot {
                        price,
                        interruption_rate: rate,
                    })
                }
            };
            instances.push(PricedInstance {
                name: r.name,
                vcpu: r.vcpu,
                memory_gib: r.memory_gib,
                on_demand: r.on_demand,
                reserved: r.reserved,
                spot,
                burstable_baseline,
                line,
            });
        }
        Ok(PricingCatalogue {
            region: raw.region,
            currency: raw.currency,
            source: raw.source,
            as_of: raw.as_of,
            instances,
        })
    }

    /// The instance type called `name`.
    pub fn instance(&self, name: &str) -> Result<&PricedInstance, PricingError> {
        self.instances
            .iter()
            .find(|i| i.name == name)
            .ok_or_else(|| PricingError::UnknownInstance {
                name: name.to_string(),
                known: self.instances.iter().map(|i| i.name.clone()).collect(),
            })
    }

    /// The same types as a sizing catalogue priced on demand (for `cheapest_fit`).
    pub fn on_demand_catalogue(&self) -> InstanceCatalogue {
        InstanceCatalogue {
            instances: self
                .instances
                .iter()
                .map(|i| InstanceType {
                    name: i.name.clone(),
                    vcpu: i.vcpu,
                    memory_gib: i.memory_gib,
                    hourly_price: i.on_demand,
                    burstable: i.burstable_baseline.is_some(),
                    baseline_cpu_share: i.burstable_baseline,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
region = "us-east-1"
currency = "USD"

[[instance]]
name = "m5.large"
vcpu = 2
memory_gib = 8
on_demand = 0.096
reserved = 0.062
spot = { price = 0.037, interruption_rate = 0.1 }

[[instance]]
name = "c5.large"
vcpu = 2
memory_gib = 4
on_demand = 0.085
spot = { price_history = "c5.csv", interruption_rate = 0.05 }
"#;

    fn no_files(name: &str) -> Result<String, String> {
        Err(format!("no file {name}"))
    }

    fn history(name: &str) -> Result<String, String> {
        assert_eq!(name, "c5.csv");
        Ok("time,price\n1000,0.03\n1600,0.06\n2200,0.03\n".into())
    }

    #[test]
    fn a_good_catalogue_parses_with_lines_and_a_history() {
        let c = PricingCatalogue::parse(GOOD, history).unwrap();
        assert_eq!(c.region.as_deref(), Some("us-east-1"));
        let m5 = c.instance("m5.large").unwrap();
        assert_eq!(
            (m5.line, m5.on_demand, m5.reserved),
            (5, 0.096, Some(0.062))
        );
        let c5 = c.instance("c5.large").unwrap();
        assert_eq!(c5.line, 13);
        let spot = c5.spot.as_ref().unwrap();
        assert_eq!(spot.price_at(0.0), 0.03);
        assert_eq!(spot.price_at(700.0), 0.06);
        assert_eq!(spot.price_at(1300.0), 0.03); // wrapped: 1300 mod 1200 = 100
        assert!((spot.planning_price() - 0.045).abs() < 1e-12);
        assert_eq!(c.on_demand_catalogue().instances[1].hourly_price, 0.085);
    }

    #[test]
    fn hazard_per_step_from_the_monthly_rate() {
        let s = Spot {
            price: SpotPrice::Fixed(0.0),
            interruption_rate: 0.1,
        };
        let month = HOURS_PER_MONTH * 3600.0;
        assert!((s.step_hazard(month) - 0.1).abs() < 1e-12);
        // Two half-months compound to the month's rate.
        let half = s.step_hazard(month / 2.0);
        assert!((1.0 - (1.0 - half) * (1.0 - half) - 0.1).abs() < 1e-12);
        let all = Spot {
            interruption_rate: 1.0,
            ..s
        };
        assert_eq!(all.step_hazard(300.0), 1.0);
    }

    fn err(text: &str) -> String {
        PricingCatalogue::parse(text, no_files)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_negative_price_is_named_with_its_line_instance_and_field() {
        let text = GOOD.replace("reserved = 0.062", "reserved = -0.062");
        assert_eq!(
            err(&text),
            "line 5: instance \"m5.large\": reserved = -0.062: a price must be finite and >= 0"
        );
        let text = GOOD.replace("on_demand = 0.085", "on_demand = -1");
        assert!(err(&text).starts_with("line 13: instance \"c5.large\": on_demand = -1"));
        let text = GOOD.replace("price = 0.037", "price = -0.037");
        assert!(err(&text).contains("spot.price = -0.037"));
    }

    #[test]
    fn a_spot_rate_over_one_is_refused() {
        let text = GOOD.replace("interruption_rate = 0.1 }", "interruption_rate = 1.5 }");
        assert_eq!(
            err(&text),
            "line 5: instance \"m5.large\": spot.interruption_rate = 1.5: a share of instances per month, must be within 0..=1"
        );
    }

    #[test]
    fn malformed_toml_names_its_line() {
        let text = GOOD.replace("vcpu = 2\nmemory_gib = 4", "vcpu = 2\nmemory_gib = = 4");
        let e = err(&text);
        assert!(e.starts_with("line 16 (\"memory_gib = = 4\"):"), "{e}");
        let e = err(&GOOD.replace("on_demand = 0.096", "on_demand = \"cheap\""));
        assert_eq!(
            e,
            "line 9 (\"on_demand = \\\"cheap\\\"\"): invalid type: string \"cheap\", expected f64"
        );
        let e = err(&GOOD.replace("reserved = 0.062", "reserve = 0.062"));
        assert!(e.contains("reserve"), "{e}");
        let e = err(&GOOD.replace("vcpu = 2\nmemory_gib = 8\n", "vcpu = 2\n"));
        assert!(e.contains("memory_gib"), "{e}");
        assert_eq!(
            err("region = \"x\"\n"),
            "the pricing catalogue lists no [[instance]]"
        );
    }

    #[test]
    fn a_burstable_type_counts_its_baseline_only_in_instance_choice() {
        let text = format!(
            "{GOOD}\n[[instance]]\nname = \"t3.small\"\nvcpu = 2\nmemory_gib = 2\non_demand = 0.0208\n\
             burstable = true\nbaseline_cpu_share = 0.2\n"
        );
        let c = PricingCatalogue::parse(&text, history).unwrap();
        assert_eq!(
            c.instance("t3.small").unwrap().burstable_baseline,
            Some(0.2)
        );
        assert_eq!(c.instance("m5.large").unwrap().burstable_baseline, None);
        let bad = |t: &str| PricingCatalogue::parse(t, history).unwrap_err().to_string();
        let sizing = c.on_demand_catalogue();
        sizing.validate().unwrap();
        const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
        // One sustained core: t3.small is cheapest by size (2 vCPU) but sustains 0.4.
        assert_eq!(sizing.cheapest_fit(1.0, GIB).unwrap().name, "c5.large");
        assert_eq!(sizing.cheapest_fit(0.4, GIB).unwrap().name, "t3.small");
        let e = bad(&text.replace("baseline_cpu_share = 0.2", "baseline_cpu_share = 2"));
        assert_eq!(
            e,
            "line 20: instance \"t3.small\": baseline_cpu_share = 2: a share of each vCPU, must be within (0, 1]"
        );
        let e = bad(&text.replace("baseline_cpu_share = 0.2\n", ""));
        assert!(
            e.contains("burstable = true: a burstable type needs baseline_cpu_share"),
            "{e}"
        );
        let e = bad(&text.replace("burstable = true\n", ""));
        assert!(e.contains("without burstable = true"), "{e}");
        // The example catalogue marks its t-family burstable: none wins a sustained core.
        let example =
            PricingCatalogue::parse(include_str!("../../../docs/pricing.example.toml"), no_files)
                .unwrap();
        let t: Vec<&PricedInstance> = example
            .instances
            .iter()
            .filter(|i| i.name.starts_with("t3."))
            .collect();
        assert!(!t.is_empty() && t.iter().all(|i| i.burstable_baseline.is_some()));
        let sizing = example.on_demand_catalogue();
        assert_eq!(sizing.cheapest_fit(1.0, GIB).unwrap().name, "c5.large");
        assert_eq!(sizing.cheapest_fit(0.3, GIB).unwrap().name, "t3.small");
    }

    #[test]
    fn unknown_instance_types_and_bad_histories_are_named() {
        let c = PricingCatalogue::parse(GOOD, history).unwrap();
        assert_eq!(
            c.instance("m9.huge").unwrap_err().to_string(),
            "instance type \"m9.huge\" is not in the pricing catalogue (it has: m5.large, c5.large)"
        );
        assert_eq!(
            err(GOOD),
            "line 13: instance \"c5.large\": spot.price_history \"c5.csv\": no file c5.csv"
        );
        let bad = PricingCatalogue::parse(GOOD, |_| Ok("1000,0.03\n900,0.04\n".into()));
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("line 2: time 900 is not after"));
        let neg = PricingCatalogue::parse(GOOD, |_| Ok("1000,-0.03\n".into()));
        assert!(neg.unwrap_err().to_string().contains("price = -0.03"));
        let both = GOOD.replace("price = 0.037,", "price = 0.037, price_history = \"x\",");
        assert!(err(&both).contains("either price or price_history"));
        let dup = GOOD.replace("c5.large", "m5.large");
        assert!(err(&dup).contains("listed twice"));
    }
}
