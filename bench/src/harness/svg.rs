//! A hand-written SVG of latency percentile distributions: one line per series, latency (log
//! scale) against percentile (log scale of 1/(1-p), 0 % to 99.999 %), the way HdrHistogram's
//! plotter draws them. No plotting dependency; the output is a self-contained file.
//!
//! Pure function of finished histograms; never runs during a measurement.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 520.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 260.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
/// Rightmost percentile drawn: 99.999 % (x = log10(1/(1-p)) = 5).
const X_DECADES: f64 = 5.0;
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The plot (see the module docs); `series` are (label, histogram in ns). Empty histograms are
/// listed in the legend as "(no samples)".
pub fn percentile_plot(
    title: &str,
    subtitle: &str,
    series: &[(String, &Histogram<u64>)],
) -> String {
    let mut lo = f64::MAX;
    let mut hi = f64::MIN;
    for (_, h) in series.iter().filter(|(_, h)| !h.is_empty()) {
        lo = lo.min(h.min().max(1) as f64);
        hi = hi.max(h.max().max(1) as f64);
    }
    if lo > hi {
        (lo, hi) = (100.0, 10_000.0);
    }
    let y_lo = lo.log10().floor();
    let y_hi = (hi.log10().ceil()).max(y_lo + 1.0);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x_of = |decades: f64| LEFT + plot_w * decades.clamp(0.0, X_DECADES) / X_DECADES;
    let y_of = |ns: f64| TOP + plot_h * (1.0 - (ns.max(1.0).log10() - y_lo) / (y_hi - y_lo));

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="22" font-size="16" font-weight="bold">{}</text>"#,
        escape(title)
    );
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="40" fill="#555">{}</text>"##,
        escape(subtitle)
    );
    // Grid and axes.
    let percent_labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"];
    for (d, label) in percent_labels.iter().enumerate() {
        let x = x_of(d as f64);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 18.0
        );
    }
    let mut e = y_lo;
    while e <= y_hi + 1e-9 {
        let ns = 10f64.powf(e);
        let y = y_of(ns);
        let label = if ns >= 1e6 {
            format!("{} ms", ns / 1e6)
        } else if ns >= 1e3 {
            format!("{} µs", ns / 1e3)
        } else {
            format!("{ns} ns")
        };
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0
        );
        e += 1.0;
    }
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 18.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18,{:.1}) rotate(-90)" text-anchor="middle">latency (log scale)</text>"#,
        TOP + plot_h / 2.0
    );
    // Series.
    for (i, (label, h)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let ly = TOP + 10.0 + 20.0 * i as f64;
        let lx = LEFT + plot_w + 14.0;
        let legend = if h.is_empty() {
            format!("{label} (no samples)")
        } else {
            label.clone()
        };
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 22.0,
            lx + 28.0,
            ly + 4.0,
            escape(&legend)
        );
        if h.is_empty() {
            continue;
        }
        let mut points = String::new();
        for v in h.iter_quantiles(5) {
            let q = v.quantile_iterated_to();
            let decades = if q >= 1.0 {
                X_DECADES
            } else {
                (1.0 / (1.0 - q)).log10()
            };
            let ns = h.highest_equivalent(v.value_iterated_to()) as f64;
            let _ = write!(points, "{:.1},{:.1} ", x_of(decades), y_of(ns));
            if decades >= X_DECADES {
                break;
            }
        }
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            points.trim_end()
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_one_line_per_series_and_a_legend() {
        let mut a = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).unwrap();
        for v in 1..=10_000u64 {
            a.record(500 + v).unwrap();
        }
        let empty = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).unwrap();
        let svg = percentile_plot(
            "wire → published",
            "2 cores <test>",
            &[("kspin".into(), &a), ("floor".into(), &empty)],
        );
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(svg.contains("floor (no samples)"));
        assert!(svg.contains("2 cores &lt;test&gt;"));
        assert!(svg.contains("99.999%"));
    }
}
