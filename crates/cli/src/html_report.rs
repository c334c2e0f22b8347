//! The self-contained HTML report of `prescale simulate`: per series, demand vs ready capacity per policy
//! (violations marked) and the predictive policy's learned headroom, as inline SVG.

use prescale_replay::SimResult;
use std::fmt::Write;

const PALETTE: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
];
const W: f64 = 1000.0;
const H: f64 = 260.0;
const PAD: f64 = 40.0;

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

fn polyline(points: &[(usize, f64)], steps: usize, ymax: f64, colour: &str, width: f64) -> String {
    let xs = (W - 2.0 * PAD) / steps.max(1) as f64;
    let mut d = String::new();
    for (i, (x, y)) in points.iter().enumerate() {
        let px = PAD + *x as f64 * xs;
        let py = H - PAD - (y / ymax).clamp(0.0, 1.05) * (H - 2.0 * PAD);
        let _ = write!(d, "{}{px:.1},{py:.1}", if i == 0 { "" } else { " " });
    }
    format!("<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"{width}\" points=\"{d}\"/>")
}

fn axes(ymax: f64, steps: usize, ylabel: &str) -> String {
    format!(
        "<line x1=\"{PAD}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#333\"/><line x1=\"{PAD}\" y1=\"{PAD}\" x2=\"{PAD}\" y2=\"{b}\" stroke=\"#333\"/>\
         <text x=\"4\" y=\"{t}\" font-size=\"11\">{ymax:.3}</text><text x=\"4\" y=\"{b}\" font-size=\"11\">0</text>\
         <text x=\"{r}\" y=\"{lb}\" font-size=\"11\" text-anchor=\"end\">step {steps}</text>\
         <text x=\"{PAD}\" y=\"14\" font-size=\"12\">{ylabel}</text>",
        b = H - PAD,
        r = W - PAD,
        t = PAD + 4.0,
        lb = H - PAD + 16.0,
    )
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
    let ymax = if ymax > 0.0 { ymax } else { 1.0 };
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\">");
    svg.push_str(&axes(
        ymax,
        steps,
        "demand (black) and ready capacity per policy; ticks below = under-provisioned steps",
    ));
    let mut legend = String::new();
    for (i, p) in r.policies.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let cap: Vec<f64> = p.trace.ready.iter().map(|&n| n as f64 * c).collect();
        svg.push_str(&polyline(&bucketed(&cap, 1500), steps, ymax, colour, 1.2));
        let xs = (W - 2.0 * PAD) / steps.max(1) as f64;
        let y = H - PAD + 4.0 + 3.0 * i as f64;
        for (t, _) in p.trace.violation.iter().enumerate().filter(|(_, v)| **v) {
            let x = PAD + t as f64 * xs;
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
        let hmax = pts.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-9) * 1.1;
        let stride = pts.len().div_ceil(1500).max(1);
        let pts: Vec<(usize, f64)> = pts.into_iter().step_by(stride).collect();
        let _ = write!(
            html,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\">{}{}</svg>",
            axes(hmax, steps, &format!("learned headroom of {} over time", escape(&p.name))),
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
    #[test]
    fn buckets_keep_peaks() {
        let v: Vec<f64> = (0..10).map(|i| if i == 7 { 9.0 } else { 1.0 }).collect();
        let b = super::bucketed(&v, 2);
        assert_eq!(b, vec![(0, 1.0), (5, 9.0)]);
        assert_eq!(super::escape("<a&b>"), "&lt;a&amp;b&gt;");
    }
}
