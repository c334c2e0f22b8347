//! The self-contained HTML report of `prescale simulate`: per series, demand vs ready capacity per policy
//! (violations marked) and the predictive policy's learned headroom, as inline SVG with a time axis
//! (time since the trace's start) and round, readable ticks on both axes.

use prescale_replay::SimResult;
use std::fmt::Write;

const PALETTE: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
];
const W: f64 = 1000.0;
const H: f64 = 300.0;
/// Margins around the plot area: room for the value labels (left), the title (top), and the
/// violation marks, time labels and axis title (bottom).
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 66.0;
/// About this many ticks on each axis.
const Y_TICKS: usize = 5;
const X_TICKS: usize = 8;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// At most ~`max` points per line: each bucket keeps its largest value, so peaks stay visible.
fn bucketed(values: &[f64], max: usize) -> Vec<(usize, f64)> {
    let stride = values.len().div_ceil(max.max(1)).max(1);
    values
        .chunks(stride)
        .enumerate()
        .map(|(i, c)| {
            (
                i * stride,
                c.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            )
        })
        .collect()
}

/// The x position of step `x` of `steps`.
fn px(x: f64, steps: usize) -> f64 {
    LEFT + x * (W - LEFT - RIGHT) / steps.max(1) as f64
}

/// The y position of value `y` on an axis from 0 to `ymax`.
fn py(y: f64, ymax: f64) -> f64 {
    H - BOTTOM - (y / ymax).clamp(0.0, 1.05) * (H - BOTTOM - TOP)
}

fn polyline(points: &[(usize, f64)], steps: usize, ymax: f64, colour: &str, width: f64) -> String {
    let mut d = String::new();
    for (i, (x, y)) in points.iter().enumerate() {
        let (x, y) = (px(*x as f64, steps), py(*y, ymax));
        let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "" } else { " " });
    }
    format!("<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"{width}\" points=\"{d}\"/>")
}

/// A round tick spacing (1, 2, 2.5 or 5 × 10ⁿ) giving about `count` ticks over `span`.
fn nice_step(span: f64, count: usize) -> f64 {
    let raw = span / count.max(1) as f64;
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let f = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|&f| norm <= f)
        .unwrap_or(10.0);
    f * mag
}

/// The value axis for data up to `max`: its top (a round number at or above `max`) and ticks.
fn value_ticks(max: f64) -> (f64, Vec<f64>) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let step = nice_step(max, Y_TICKS);
    let n = (max / step - 1e-9).ceil().max(1.0) as usize;
    (
        (n as f64) * step,
        (0..=n).map(|i| i as f64 * step).collect(),
    )
}

/// A tick value in few characters: `0`, `0.25`, `40`, `1.5k`, `2M`.
fn short_number(v: f64) -> String {
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    let a = v.abs();
    for (unit, scale) in [("G", 1e9), ("M", 1e6), ("k", 1e3)] {
        if a >= scale {
            return format!("{}{unit}", trim(format!("{:.2}", v / scale)));
        }
    }
    trim(format!("{v:.3}"))
}

/// Round spacings for time ticks, in seconds.
const TIME_STEPS: [f64; 20] = [
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    10800.0, 21600.0, 43200.0, 86400.0, 172_800.0, 604_800.0,
];

/// Tick times (seconds since the start) for a span of `total_s`: a round spacing, about
/// [`X_TICKS`] of them.
fn time_ticks(total_s: f64) -> Vec<f64> {
    if !(total_s.is_finite() && total_s > 0.0) {
        return vec![0.0];
    }
    let step = TIME_STEPS
        .into_iter()
        .find(|&s| total_s / s <= X_TICKS as f64)
        .unwrap_or_else(|| (total_s / X_TICKS as f64 / 604_800.0).ceil() * 604_800.0);
    (0..)
        .map(|i| i as f64 * step)
        .take_while(|&t| t <= total_s + 1e-9)
        .collect()
}

/// A time since the start: `0`, `45s`, `5m`, `1h 30m`, `6h`, `1d`, `2d 12h`.
fn duration_label(secs: f64) -> String {
    let s = secs.round() as i64;
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "m"), (sec, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect();
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join(" ")
    }
}

/// Both axes with their ticks, light grid lines and labels; `ymax` must come from
/// [`value_ticks`].
fn axes(ymax: f64, yticks: &[f64], steps: usize, step_seconds: f64, ylabel: &str) -> String {
    let (b, r) = (H - BOTTOM, W - RIGHT);
    let mut out = String::new();
    for &v in yticks {
        let y = py(v, ymax);
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{r}\" y2=\"{y:.1}\" stroke=\"#eee\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            y + 4.0,
            short_number(v)
        );
    }
    let total = steps as f64 * step_seconds;
    for t in time_ticks(total) {
        let x = px(t / step_seconds.max(1e-9), steps);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{b}\" stroke=\"#f3f3f3\"/>\
             <line x1=\"{x:.1}\" y1=\"{b}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            b + 4.0,
            b + 42.0,
            duration_label(t)
        );
    }
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#333\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b}\" stroke=\"#333\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">time since the trace's start ({} steps of {})</text>\
         <text x=\"{LEFT}\" y=\"16\" font-size=\"12\">{ylabel}</text>",
        (LEFT + r) / 2.0,
        H - 8.0,
        steps,
        duration_label(step_seconds),
    );
    out
}

/// One series' section.
fn section(name: &str, demand: &[f64], r: &SimResult) -> String {
    let steps = demand.len();
    let c = r.capacity_per_replica;
    let mut ymax = demand.iter().copied().fold(0.0, f64::max);
    for p in &r.policies {
        if p.name == "static" {
            continue;
        }
        ymax = ymax.max(
            p.trace
                .ready
                .iter()
                .map(|&n| n as f64 * c)
                .fold(0.0, f64::max),
        );
    }
    let (ymax, yticks) = value_ticks(ymax);
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\">");
    svg.push_str(&axes(
        ymax,
        &yticks,
        steps,
        r.step_seconds,
        "demand (black) and ready capacity per policy; marks below the axis = under-provisioned steps",
    ));
    let mut legend = String::new();
    for (i, p) in r.policies.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let cap: Vec<f64> = p.trace.ready.iter().map(|&n| n as f64 * c).collect();
        svg.push_str(&polyline(&bucketed(&cap, 1500), steps, ymax, colour, 1.2));
        let y = H - BOTTOM + 6.0 + 3.0 * (i % 8) as f64;
        for (t, _) in p.trace.violation.iter().enumerate().filter(|(_, v)| **v) {
            let x = px(t as f64, steps);
            let _ = write!(
                svg,
                "<line x1=\"{x:.1}\" y1=\"{y}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{colour}\"/>",
                y + 3.0
            );
        }
        let m = &p.metrics;
        let _ = write!(
            legend,
            "<tr><td><span style=\"color:{colour}\">■</span> {}</td><td>{:.2}</td><td>{:.2}</td><td>{:.1}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.name),
            m.under_pct,
            m.unserved_pct,
            m.cost,
            m.cost_vs_oracle.map_or("-".into(), |x| format!("{x:.3}")),
            m.actions
        );
    }
    svg.push_str(&polyline(&bucketed(demand, 1500), steps, ymax, "#000", 0.8));
    svg.push_str("</svg>");
    let mut html = format!(
        "<section><h2>{}</h2><p>{steps} steps of {} s, capacity per replica {c:.4}, {} forecaster fits</p>{svg}\
         <table><tr><th>policy</th><th>under %</th><th>unserved %</th><th>replica-h</th><th>cost/oracle</th><th>actions</th></tr>{legend}</table>",
        escape(name),
        r.step_seconds,
        r.fits
    );
    for (i, p) in r.policies.iter().enumerate() {
        let h: Vec<f64> = p
            .trace
            .headroom
            .iter()
            .map(|x| x.unwrap_or(f64::NAN))
            .collect();
        if h.iter().all(|x| x.is_nan()) {
            continue;
        }
        let pts: Vec<(usize, f64)> = h
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(t, v)| (t, *v))
            .collect();
        let (hmax, hticks) = value_ticks(pts.iter().map(|p| p.1).fold(0.0, f64::max));
        let stride = pts.len().div_ceil(1500).max(1);
        let pts: Vec<(usize, f64)> = pts.into_iter().step_by(stride).collect();
        let _ = write!(
            html,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\">{}{}</svg>",
            axes(
                hmax,
                &hticks,
                steps,
                r.step_seconds,
                &format!("learned headroom of {} over time", escape(&p.name))
            ),
            polyline(&pts, steps, hmax, PALETTE[i % PALETTE.len()], 1.5)
        );
    }
    html.push_str("</section>");
    html
}

/// The whole page: a totals table and one section per series.
pub fn render(
    title: &str,
    totals_rows: &[Vec<String>],
    series: &[(String, Vec<f64>, SimResult)],
) -> String {
    let mut html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>body{{font-family:sans-serif;margin:2em}}\
         table{{border-collapse:collapse;margin:.5em 0 2em}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}\
         td:first-child{{text-align:left}}svg{{display:block;border:1px solid #eee;max-width:100%;height:auto}}</style></head><body><h1>{t}</h1>\
         <h2>Totals (mean over series)</h2><table><tr><th>policy</th><th>under %</th><th>unserved %</th><th>replica-h</th><th>cost/oracle</th><th>actions</th></tr>",
        t = escape(title)
    );
    for r in totals_rows {
        html.push_str("<tr>");
        for c in r {
            let _ = write!(html, "<td>{}</td>", escape(c));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    for (name, demand, r) in series {
        html.push_str(&section(name, demand, r));
    }
    html.push_str("</body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_ticks_are_round_and_cover_the_data() {
        assert_eq!(
            value_ticks(1234.567),
            (1250.0, vec![0.0, 250.0, 500.0, 750.0, 1000.0, 1250.0])
        );
        assert_eq!(value_ticks(1.1).1, vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.25]);
        assert_eq!(value_ticks(0.0).0, 1.0);
        assert_eq!(value_ticks(f64::NAN).0, 1.0);
        assert_eq!(nice_step(10.0, 5), 2.0);
        assert_eq!(short_number(0.0), "0");
        assert_eq!(short_number(0.25), "0.25");
        assert_eq!(short_number(40.0), "40");
        assert_eq!(short_number(1500.0), "1.5k");
        assert_eq!(short_number(2_000_000.0), "2M");
    }

    #[test]
    fn the_time_axis_reads_in_round_durations() {
        // Seven days at 5 minutes: a tick a day.
        let t = time_ticks(7.0 * 86_400.0);
        assert_eq!(t.len(), 8);
        assert_eq!(t[1], 86_400.0);
        assert_eq!(duration_label(t[1]), "1d");
        // Two hours at 1 minute: every 15 minutes.
        assert_eq!(time_ticks(7200.0)[1], 900.0);
        assert_eq!(duration_label(900.0), "15m");
        assert_eq!(duration_label(0.0), "0");
        assert_eq!(duration_label(1.5 * 86_400.0), "1d 12h");
        assert_eq!(duration_label(90.0), "1m 30s");
        // Half a year: whole weeks.
        let t = time_ticks(182.0 * 86_400.0);
        assert!(t.len() <= X_TICKS + 1 && t[1] % 604_800.0 == 0.0, "{t:?}");
        let svg = axes(1400.0, &[0.0, 700.0, 1400.0], 2016, 300.0, "demand");
        assert!(svg.contains(">1.4k<") && svg.contains(">700<"), "{svg}");
        assert!(
            svg.contains(">6d<") && svg.contains("time since the trace's start (2016 steps of 5m)"),
            "{svg}"
        );
    }

    #[test]
    fn buckets_keep_peaks() {
        let v: Vec<f64> = (0..10).map(|i| if i == 7 { 9.0 } else { 1.0 }).collect();
        let b = bucketed(&v, 2);
        assert_eq!(b, vec![(0, 1.0), (5, 9.0)]);
        assert_eq!(escape("<a&b>"), "&lt;a&amp;b&gt;");
    }
}
