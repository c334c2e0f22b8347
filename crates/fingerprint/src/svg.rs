//! Self-contained SVG scatter plot of a 2-D map, coloured by cluster (no plotting dependency).

use std::fmt::Write;

/// Colours of clusters 0, 1, 2, … (cycled); noise is grey.
const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
    "#17becf", "#393b79",
];
const NOISE: &str = "#9e9e9e";
const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 540.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

/// Escapes text for SVG element content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn colour(cluster: Option<u32>) -> &'static str {
    cluster.map_or(NOISE, |c| PALETTE[c as usize % PALETTE.len()])
}

/// Axis range covering `values` with a 5 % margin (a unit range around a single value).
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
    if !lo.is_finite() {
        return (-1.0, 1.0);
    }
    let span = hi - lo;
    if span <= 0.0 || !span.is_finite() {
        return (lo - 1.0, lo + 1.0);
    }
    (lo - 0.05 * span, hi + 0.05 * span)
}

/// Scatter plot of labelled points: axes with ticks, one colour per cluster, a legend and a hover
/// `<title>` per point. Points with non-finite coordinates are left out.
pub fn scatter_svg(points: &[(String, [f64; 2], Option<u32>)], title: &str) -> String {
    let (x0, x1) = range(points.iter().map(|p| p.1[0]));
    let (y0, y1) = range(points.iter().map(|p| p.1[1]));
    let pw = WIDTH - LEFT - RIGHT;
    let ph = HEIGHT - TOP - BOTTOM;
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| TOP + ph - (y - y0) / (y1 - y0) * ph;

    let mut s = String::new();
    // Writing to a String cannot fail; the results are ignored deliberately.
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"#,
        LEFT + pw / 2.0,
        escape(title)
    );
    // Axes and ticks.
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>"##
    );
    for i in 0..=4 {
        let f = i as f64 / 4.0;
        let (xv, yv) = (x0 + f * (x1 - x0), y0 + f * (y1 - y0));
        let (px, py) = (sx(xv), sy(yv));
        let _ = writeln!(
            s,
            r##"<line x1="{px:.1}" y1="{b:.1}" x2="{px:.1}" y2="{b2:.1}" stroke="#444"/><text x="{px:.1}" y="{ty:.1}" text-anchor="middle">{xv:.3}</text>"##,
            b = TOP + ph,
            b2 = TOP + ph + 5.0,
            ty = TOP + ph + 18.0,
        );
        let _ = writeln!(
            s,
            r##"<line x1="{l:.1}" y1="{py:.1}" x2="{LEFT}" y2="{py:.1}" stroke="#444"/><text x="{tx:.1}" y="{ty:.1}" text-anchor="end">{yv:.3}</text>"##,
            l = LEFT - 5.0,
            tx = LEFT - 8.0,
            ty = py + 4.0,
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">component 1</text><text x="14" y="{}" text-anchor="middle" transform="rotate(-90 14 {})">component 2</text>"#,
        LEFT + pw / 2.0,
        HEIGHT - 10.0,
        TOP + ph / 2.0,
        TOP + ph / 2.0,
    );
    // Points, each with a hover title.
    for (label, [x, y], cluster) in points {
        if !(x.is_finite() && y.is_finite()) {
            continue;
        }
        let group = cluster.map_or_else(|| "noise".to_string(), |c| format!("cluster {c}"));
        let _ = writeln!(
            s,
            r#"<circle cx="{:.2}" cy="{:.2}" r="5" fill="{}" fill-opacity="0.85" stroke="white"><title>{} ({}) [{:.4}, {:.4}]</title></circle>"#,
            sx(*x),
            sy(*y),
            colour(*cluster),
            escape(label),
            group,
            x,
            y
        );
    }
    // Legend: clusters in order, then noise.
    let mut groups: Vec<Option<u32>> = points.iter().map(|p| p.2).collect();
    groups.sort_by_key(|g| g.map_or(u64::MAX, u64::from));
    groups.dedup();
    for (i, g) in groups.iter().enumerate() {
        let y = TOP + 10.0 + 18.0 * i as f64;
        let lx = WIDTH - RIGHT + 15.0;
        let name = g.map_or_else(|| "noise".to_string(), |c| format!("cluster {c}"));
        let _ = writeln!(
            s,
            r#"<circle cx="{lx}" cy="{y}" r="5" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            colour(*g),
            lx + 10.0,
            y + 4.0,
            name
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_has_points_legend_and_escaped_titles() {
        let pts = vec![
            ("web<1>".to_string(), [0.0, 1.0], Some(0)),
            ("db&2".to_string(), [2.0, -1.0], Some(1)),
            ("odd".to_string(), [1.0, 0.0], None),
        ];
        let svg = scatter_svg(&pts, "Fleet \"map\"");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<title>").count(), 3);
        assert!(svg.contains("web&lt;1&gt;") && svg.contains("db&amp;2"));
        assert!(svg.contains("Fleet &quot;map&quot;"));
        assert!(svg.contains(PALETTE[0]) && svg.contains(PALETTE[1]) && svg.contains(NOISE));
        assert!(svg.contains(">noise</text>"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn empty_and_single_point_plots_are_well_formed() {
        let svg = scatter_svg(&[], "empty");
        assert!(svg.contains("</svg>") && !svg.contains("NaN"));
        let one = scatter_svg(&[("a".into(), [3.0, 3.0], Some(12))], "one");
        assert!(one.contains("<circle") && !one.contains("NaN"));
    }
}
