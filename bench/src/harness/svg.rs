//! The SVG of latency percentile distributions, drawn with `plotters` (SVG backend only, no
//! system fonts: text is written as SVG `<text>` and laid out with plotters' built-in size
//! estimate): one line per series, latency (log scale) against percentile (log scale of
//! 1/(1-p), 0 % to 99.999 %), the way HdrHistogram's plotter draws them.
//!
//! Pure function of finished histograms; never runs during a measurement.

use hdrhistogram::Histogram;
use plotters::prelude::*;

const WIDTH: u32 = 900;
const HEIGHT: u32 = 520;
/// Rightmost percentile drawn: 99.999 % (x = log10(1/(1-p)) = 5).
const X_DECADES: f64 = 5.0;
const PERCENT_LABELS: [&str; 6] = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"];
const COLOURS: [RGBColor; 8] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// A latency in ns as a short label (`500 ns`, `2 µs`, `1.5 ms`).
fn ns_label(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{} µs", ns / 1e3)
    } else {
        format!("{ns} ns")
    }
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
    let y_lo = 10f64.powf(lo.log10().floor());
    let y_hi = 10f64.powf(hi.log10().ceil()).max(y_lo * 10.0);
    let mut svg = String::new();
    // Drawing into a String cannot fail for I/O reasons; a plotting error leaves what was drawn.
    let _ = draw(&mut svg, title, subtitle, series, (y_lo, y_hi));
    svg
}

fn draw(
    out: &mut String,
    title: &str,
    subtitle: &str,
    series: &[(String, &Histogram<u64>)],
    (y_lo, y_hi): (f64, f64),
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let root = SVGBackend::with_string(out, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(48);
    header.draw(&Text::new(
        title.to_owned(),
        (80, 8),
        ("sans-serif", 18).into_font().style(FontStyle::Bold),
    ))?;
    header.draw(&Text::new(
        subtitle.to_owned(),
        (80, 30),
        ("sans-serif", 13)
            .into_font()
            .color(&RGBColor(0x55, 0x55, 0x55)),
    ))?;
    let mut chart = ChartBuilder::on(&body)
        .margin_right(20)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..X_DECADES, (y_lo..y_hi).log_scale())?;
    chart
        .configure_mesh()
        .x_labels(PERCENT_LABELS.len())
        .x_label_formatter(&|x| {
            let i = x.round().clamp(0.0, X_DECADES) as usize;
            PERCENT_LABELS.get(i).copied().unwrap_or("").to_owned()
        })
        .y_label_formatter(&|ns| ns_label(*ns))
        .x_desc("percentile")
        .y_desc("latency (log scale)")
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .draw()?;
    for (i, (label, h)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let legend = if h.is_empty() {
            format!("{label} (no samples)")
        } else {
            label.clone()
        };
        let mut points = Vec::new();
        if !h.is_empty() {
            for v in h.iter_quantiles(5) {
                let q = v.quantile_iterated_to();
                let decades = if q >= 1.0 {
                    X_DECADES
                } else {
                    (1.0 / (1.0 - q)).log10().min(X_DECADES)
                };
                let ns = (h.highest_equivalent(v.value_iterated_to()) as f64).max(y_lo);
                points.push((decades, ns));
                if decades >= X_DECADES {
                    break;
                }
            }
        }
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(legend)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(0x99, 0x99, 0x99))
        .draw()?;
    root.present()?;
    Ok(())
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
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("floor (no samples)"));
        assert!(svg.contains("2 cores &lt;test&gt;"));
        assert!(svg.contains("99.999%"));
        assert!(svg.contains("percentile"));
        // The series with samples is a line with many points; the empty one draws none.
        let longest = svg
            .split("<polyline")
            .skip(1)
            .map(|p| {
                p.split("points=\"")
                    .nth(1)
                    .map_or(0, |pts| pts.split(' ').count())
            })
            .max()
            .unwrap_or(0);
        assert!(longest > 20, "{svg}");
    }
}
