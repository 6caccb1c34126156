//! `kspin replay --plot DIR`: each strategy's PnL and position over time, per symbol it traded,
//! as SVG files drawn with `plotters` (SVG backend only, no system fonts: text is written as SVG
//! `<text>` and laid out with plotters' built-in size estimate).
//!
//! Files: `pnl-{strategy}-{symbol}.svg` (net PnL: realised + unrealised marked to the mid − fees,
//! in the quote currency) and `position-{strategy}-{symbol}.svg` (base units, a step at each
//! fill), against seconds of exchange time since the replay's start; `/` and other characters
//! unfit for a file name become `-`. The exact figures are the report's; the plots draw them as
//! `f64` (drawing only), with long series thinned to each pixel column's lowest and highest value
//! so that no spike is lost.
//!
//! Runs after the replay, allocates freely; never part of a measurement.

use std::path::Path;

use kspin_host::backtest::BacktestReport;
use kspin_host::report_keys;
use plotters::prelude::*;

const WIDTH: u32 = 900;
const HEIGHT: u32 = 480;
/// Points kept per series before thinning to [`COLUMNS`] columns.
const MAX_POINTS: usize = 4_000;
const COLUMNS: usize = 1_500;
const LINE: RGBColor = RGBColor(0x1f, 0x77, 0xb4);

/// A name fit for a file: ASCII letters, digits, `_`, `.` and `-`; anything else becomes `-`.
fn file_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `mantissa × 10^-scale` for drawing.
fn to_f64(mantissa: i128, scale: u8) -> f64 {
    mantissa as f64 / 10f64.powi(i32::from(scale))
}

/// At most [`MAX_POINTS`] points: longer series keep each column's first, lowest, highest and
/// last point, in time order.
fn thin(points: Vec<(f64, f64)>, span: f64) -> Vec<(f64, f64)> {
    if points.len() <= MAX_POINTS || span <= 0.0 {
        return points;
    }
    let mut out = Vec::with_capacity(COLUMNS * 4);
    let mut column: Vec<(f64, f64)> = Vec::new();
    let mut current = 0usize;
    let flush = |column: &mut Vec<(f64, f64)>, out: &mut Vec<(f64, f64)>| {
        let (Some(&first), Some(&last)) = (column.first(), column.last()) else {
            return;
        };
        let lowest = column
            .iter()
            .copied()
            .fold(first, |a, p| if p.1 < a.1 { p } else { a });
        let highest = column
            .iter()
            .copied()
            .fold(first, |a, p| if p.1 > a.1 { p } else { a });
        let mut keep = [first, lowest, highest, last];
        keep.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.extend(keep);
        column.clear();
    };
    for p in points {
        let c = ((p.0 / span) * COLUMNS as f64) as usize;
        if c != current {
            flush(&mut column, &mut out);
            current = c;
        }
        column.push(p);
    }
    flush(&mut column, &mut out);
    out
}

/// A value that holds until its next change, from 0 at time 0 to `span`: a step at each point.
fn steps(points: impl Iterator<Item = (f64, f64)>, span: f64) -> Vec<(f64, f64)> {
    let mut out = vec![(0.0, 0.0)];
    let mut last = 0.0;
    for (x, y) in points {
        out.push((x, last));
        out.push((x, y));
        last = y;
    }
    out.push((span, last));
    out
}

/// One line plot of `points` (seconds, value) into `path`.
fn line_plot(
    path: &Path,
    title: &str,
    y_desc: &str,
    points: &[(f64, f64)],
    span: f64,
) -> Result<(), String> {
    let (mut lo, mut hi) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    if lo > hi {
        (lo, hi) = (0.0, 0.0);
    }
    let pad = ((hi - lo) * 0.08)
        .max(hi.abs().max(lo.abs()) * 0.01)
        .max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    let draw = || -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..span.max(1e-9), lo..hi)?;
        chart
            .configure_mesh()
            .x_desc("seconds since the replay's start (exchange time)")
            .y_desc(y_desc)
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()?;
        chart.draw_series(LineSeries::new(
            points.iter().copied(),
            LINE.stroke_width(2),
        ))?;
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes the plots of every strategy and symbol traded into `dir` (created if missing);
/// returns the files written.
pub fn write_plots(dir: &Path, report: &BacktestReport) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let (start, end) = report.span_ns;
    let seconds = |t: u64| t.saturating_sub(start) as f64 / 1e9;
    let span = seconds(end);
    let mut files = Vec::new();
    for (i, key) in report_keys(&report.strategies).iter().enumerate() {
        let Some(ledger) = report.ledgers.get(i) else {
            continue;
        };
        for (symbol, l) in report.symbols.iter().zip(&ledger.symbols) {
            if !l.traded {
                continue;
            }
            let stem = format!("{}-{}", file_part(key), file_part(&symbol.name));
            let quote = symbol.name.split('/').nth(1).unwrap_or("quote currency");
            let base = symbol.name.split('/').next().unwrap_or("base units");

            let equity = l
                .equity_series
                .iter()
                .map(|&(t, e)| (seconds(t), to_f64(e, l.equity_scale())));
            let path = dir.join(format!("pnl-{stem}.svg"));
            let pnl = steps(equity, span);
            line_plot(
                &path,
                &format!(
                    "{key} on {}: net PnL (realised + unrealised − fees)",
                    symbol.name
                ),
                &format!("PnL ({quote})"),
                &thin(pnl, span),
                span,
            )?;
            files.push(path.display().to_string());

            let position = steps(
                l.position_series
                    .iter()
                    .map(|&(t, p)| (seconds(t), to_f64(i128::from(p), l.qty_scale()))),
                span,
            );
            let path = dir.join(format!("position-{stem}.svg"));
            line_plot(
                &path,
                &format!("{key} on {}: position", symbol.name),
                &format!("position ({base})"),
                &thin(position, span),
                span,
            )?;
            files.push(path.display().to_string());
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_thinning() {
        assert_eq!(file_part("sma_cross#2"), "sma_cross-2");
        assert_eq!(file_part("BTC/USD"), "BTC-USD");
        let points: Vec<(f64, f64)> = (0..100_000)
            .map(|i| (i as f64 / 1000.0, if i == 5_000 { 99.0 } else { 0.0 }))
            .collect();
        let thinned = thin(points, 100.0);
        assert!(thinned.len() <= COLUMNS * 4 + 4);
        assert!(thinned.iter().any(|p| p.1 == 99.0), "the spike is kept");
        assert!(
            thinned.windows(2).all(|w| w[0].0 <= w[1].0),
            "in time order"
        );
    }
}
