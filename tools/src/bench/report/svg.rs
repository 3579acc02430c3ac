//! Line charts as inline SVG, with no script and no external asset.
//!
//! Three axis kinds cover the report's charts: linear, log10 (latency spans
//! decades) and "nines" — the percentile spectrum's `log10(1 / (1 - p))` axis,
//! on which 90 %, 99 %, 99.9 %, … are evenly spaced and the tail gets the room
//! it deserves. The page must render the same in any browser and in a file
//! viewer, so everything is plain `<polyline>`, `<line>` and `<text>`.

use std::fmt::Write as _;

/// How an axis maps values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Proportional.
    Linear,
    /// Decades.
    Log10,
    /// Percentiles (0..=100) on `log10(1/(1-p))`.
    Nines,
}

/// One line.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// `(x, y)` in data units.
    pub points: Vec<(f64, f64)>,
    /// Palette index.
    pub color: usize,
    /// Dashed line (a second measure of the same target).
    pub dashed: bool,
}

/// A chart to draw.
#[derive(Clone, Debug)]
pub struct Chart {
    /// Heading inside the SVG.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// X mapping.
    pub x_scale: Scale,
    /// Y mapping.
    pub y_scale: Scale,
    /// Lines.
    pub series: Vec<Series>,
}

/// Colour-blind-friendly palette (Okabe–Ito).
pub const PALETTE: &[&str] = &[
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
];

const W: f64 = 720.0;
const H: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 90.0;

/// Escape text for XML/HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Highest "nines" shown: 99.9999 %.
const MAX_NINES: f64 = 6.0;

fn nines(p: f64) -> f64 {
    let q = (p / 100.0).clamp(0.0, 1.0);
    if q >= 1.0 {
        return MAX_NINES;
    }
    (-(1.0 - q).log10()).min(MAX_NINES)
}

fn forward(scale: Scale, v: f64) -> Option<f64> {
    match scale {
        Scale::Linear => v.is_finite().then_some(v),
        Scale::Log10 => (v > 0.0 && v.is_finite()).then(|| v.log10()),
        Scale::Nines => v.is_finite().then(|| nines(v)),
    }
}

/// A tidy step for about `n` linear ticks over `span`.
fn nice_step(span: f64, n: f64) -> f64 {
    let raw = (span / n).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v.abs() >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Ticks as (transformed position, label) within [lo, hi] (transformed units).
fn ticks(scale: Scale, lo: f64, hi: f64) -> Vec<(f64, String)> {
    match scale {
        Scale::Linear => {
            let step = nice_step(hi - lo, 5.0);
            let mut v = (lo / step).ceil() * step;
            let mut out = Vec::new();
            while v <= hi + step * 1e-9 && out.len() < 20 {
                out.push((v, fmt_num(v)));
                v += step;
            }
            out
        }
        Scale::Log10 => {
            let mut out = Vec::new();
            let (a, b) = (lo.floor() as i32, hi.ceil() as i32);
            let dense = b - a <= 2;
            for e in a..=b {
                for m in [1.0, 2.0, 5.0] {
                    if m != 1.0 && !dense {
                        continue;
                    }
                    let t = (m * 10f64.powi(e)).log10();
                    if t >= lo - 1e-9 && t <= hi + 1e-9 {
                        out.push((t, fmt_num(10f64.powf(t))));
                    }
                }
            }
            out
        }
        Scale::Nines => {
            let labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"];
            labels
                .iter()
                .enumerate()
                .map(|(i, l)| (i as f64, (*l).to_string()))
                .filter(|(t, _)| *t <= hi + 1e-9)
                .collect()
        }
    }
}

/// Render `chart` as an `<svg>` element.
pub fn render(chart: &Chart) -> String {
    let pts: Vec<Vec<(f64, f64)>> = chart
        .series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter_map(|&(x, y)| {
                    Some((forward(chart.x_scale, x)?, forward(chart.y_scale, y)?))
                })
                .collect()
        })
        .collect();
    let all: Vec<(f64, f64)> = pts.iter().flatten().copied().collect();
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{t}"><rect x="0" y="0" width="{W}" height="{H}" fill="#fff"/><text x="{cx}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{t}</text>"##,
        t = esc(&chart.title),
        cx = W / 2.0
    );
    if all.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#888">no data</text></svg>"##,
            W / 2.0,
            H / 2.0
        );
        return svg;
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in &all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    match chart.x_scale {
        Scale::Nines => {
            x0 = 0.0;
            x1 = x1.ceil().max(2.0);
        }
        Scale::Log10 => {
            x0 = x0.floor();
            x1 = x1.ceil();
        }
        // Time and load axes start at zero.
        Scale::Linear => x0 = x0.min(0.0),
    }
    match chart.y_scale {
        Scale::Linear => {
            y0 = y0.min(0.0);
            y1 = if y1 > y0 { y1 * 1.05 } else { y0 + 1.0 };
        }
        _ => {
            y0 = y0.floor();
            y1 = y1.ceil();
        }
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
        x0 -= 1.0;
    }
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| TOP + ph - (y - y0) / (y1 - y0) * ph;
    // Grid and ticks.
    for (t, label) in ticks(chart.x_scale, x0, x1) {
        let x = sx(t);
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{b:.1}" stroke="#e5e5e5"/><text x="{x:.1}" y="{ty:.1}" text-anchor="middle" font-size="11">{l}</text>"##,
            b = TOP + ph,
            ty = TOP + ph + 15.0,
            l = esc(&label)
        );
    }
    for (t, label) in ticks(chart.y_scale, y0, y1) {
        let y = sy(t);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{r:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{tx:.1}" y="{ty:.1}" text-anchor="end" font-size="11">{l}</text>"##,
            r = LEFT + pw,
            tx = LEFT - 6.0,
            ty = y + 4.0,
            l = esc(&label)
        );
    }
    let _ = write!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/><text x="{cx:.1}" y="{xl:.1}" text-anchor="middle" font-size="12">{xlab}</text><text transform="translate(16 {cy:.1}) rotate(-90)" text-anchor="middle" font-size="12">{ylab}</text>"##,
        cx = LEFT + pw / 2.0,
        xl = TOP + ph + 34.0,
        cy = TOP + ph / 2.0,
        xlab = esc(&chart.x_label),
        ylab = esc(&chart.y_label)
    );
    // Lines.
    for (s, p) in chart.series.iter().zip(&pts) {
        let color = PALETTE
            .get(s.color % PALETTE.len())
            .copied()
            .unwrap_or("#000");
        let coords: Vec<String> = p
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let dash = if s.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = write!(
            svg,
            r#"<polyline class="series" data-series="{n}" fill="none" stroke="{color}" stroke-width="2"{dash} points="{pts}"/>"#,
            n = esc(&s.name),
            pts = coords.join(" ")
        );
        if p.len() <= 12 {
            for &(x, y) in p {
                let _ = write!(
                    svg,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"#,
                    sx(x),
                    sy(y)
                );
            }
        }
    }
    // Legend under the plot, wrapping every 3 entries.
    for (i, s) in chart.series.iter().enumerate() {
        let color = PALETTE
            .get(s.color % PALETTE.len())
            .copied()
            .unwrap_or("#000");
        let (col, row) = ((i % 3) as f64, (i / 3) as f64);
        let (lx, ly) = (LEFT + col * 220.0, TOP + ph + 52.0 + row * 16.0);
        let dash = if s.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = write!(
            svg,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{lx2:.1}" y2="{ly:.1}" stroke="{color}" stroke-width="2"{dash}/><text x="{tx:.1}" y="{ty:.1}" font-size="11">{n}</text>"#,
            lx2 = lx + 22.0,
            tx = lx + 28.0,
            ty = ly + 4.0,
            n = esc(&s.name)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(x: Scale, y: Scale, points: Vec<(f64, f64)>) -> Chart {
        Chart {
            title: "t <1>".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_scale: x,
            y_scale: y,
            series: vec![Series {
                name: "a&b".into(),
                points,
                color: 0,
                dashed: false,
            }],
        }
    }

    #[test]
    fn nines_axis_spaces_the_tail_evenly() {
        assert!((nines(90.0) - 1.0).abs() < 1e-9);
        assert!((nines(99.9) - 3.0).abs() < 1e-9);
        assert_eq!(nines(100.0), MAX_NINES);
        let svg = render(&chart(
            Scale::Nines,
            Scale::Log10,
            vec![(0.0, 0.1), (99.0, 1.0), (100.0, 20.0)],
        ));
        assert!(svg.contains(">99%<") && svg.contains(">99.9%<"));
        assert!(svg.contains("<polyline"));
        assert!(
            svg.contains("t &lt;1&gt;") && svg.contains("a&amp;b"),
            "text is escaped"
        );
    }

    #[test]
    fn points_land_inside_the_plot() {
        let svg = render(&chart(
            Scale::Linear,
            Scale::Linear,
            vec![(0.0, 5.0), (10.0, 50.0)],
        ));
        let pts = svg
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        for p in pts.split(' ') {
            let (x, y) = p.split_once(',').unwrap();
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!((LEFT..=W - RIGHT).contains(&x), "{x}");
            assert!((TOP..=H - BOTTOM).contains(&y), "{y}");
        }
    }

    #[test]
    fn empty_and_degenerate_data() {
        assert!(render(&chart(Scale::Linear, Scale::Log10, vec![])).contains("no data"));
        // Non-positive values cannot sit on a log axis: dropped, not drawn at -inf.
        let svg = render(&chart(
            Scale::Linear,
            Scale::Log10,
            vec![(1.0, 0.0), (2.0, 3.0)],
        ));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        let svg = render(&chart(Scale::Linear, Scale::Linear, vec![(1.0, 1.0)]));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn tick_labels() {
        assert_eq!(fmt_num(25_000.0), "25k");
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_num(2.5), "2.5");
        let t = ticks(Scale::Log10, -1.0, 1.0);
        assert!(t.iter().any(|(_, l)| l == "0.1") && t.iter().any(|(_, l)| l == "5"));
    }
}
