//! What `kspin top` draws: one frame from a [`Snapshot`] — a header with the connection, resync
//! and latency state, each book's top levels with its spread, the trade tape, the latency
//! percentiles over time, the strategies' lanes, and the log lines.
//!
//! Owns the layout and the [`ViewState`] (scroll position, the source's name and health, console
//! lines captured in-process). Invariants: a pure function of the snapshot and the state (the
//! layout tests draw it on ratatui's `TestBackend`); it never blocks, never touches the engine
//! and never fails on a snapshot with missing parts (absent books, no strategies, no trading) or
//! a tiny terminal.

use std::collections::VecDeque;

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Dataset, GraphType, Paragraph, Row, Table,
};
use ratatui::Frame;

use kspin_telemetry::model::{BookView, LatencyPoint, Snapshot};

/// Levels shown per side of a book.
pub const BOOK_LEVELS: usize = 5;
/// Narrowest book panel.
const BOOK_WIDTH: u16 = 38;

/// What the view remembers between frames.
#[derive(Debug, Clone, Default)]
pub struct ViewState {
    /// Where the snapshot comes from (`http://…` or `in-process`).
    pub source: String,
    /// The last fetch failed: why (the last good snapshot stays on screen).
    pub error: Option<String>,
    /// First book shown (← / → scroll).
    pub book_offset: usize,
    /// Console lines captured in-process (`kspin run --tui`), oldest first.
    pub console: VecDeque<String>,
}

/// Draws one frame.
pub fn draw(f: &mut Frame<'_>, s: &Snapshot, st: &ViewState) {
    let area = f.area();
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            // Connections and engine figures; a third line for a failed fetch.
            Constraint::Length(4 + u16::from(st.error.is_some())),
            Constraint::Length(BOOK_LEVELS as u16 + 4),
            Constraint::Min(6),
            Constraint::Length(8),
            Constraint::Length(1),
        ])
        .split(area);
    draw_header(f, rows[0], s, st);
    draw_books(f, rows[1], s, st);
    let middle = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([
            Constraint::Percentage(36),
            Constraint::Percentage(24),
            Constraint::Percentage(40),
        ])
        .split(rows[2]);
    draw_tape(f, middle[0], s);
    draw_latency(f, middle[1], s);
    draw_strategies(f, middle[2], s);
    draw_logs(f, rows[3], s, st);
    let help = Paragraph::new(Line::from(vec![
        Span::styled(" q", Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(" quit  "),
        Span::styled("←/→", Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(" books  "),
        Span::raw(st.source.clone()),
    ]));
    f.render_widget(help, rows[4]);
}

/// `ns` as a short duration.
pub fn fmt_ns(ns: u64) -> String {
    if ns >= 1_000_000 {
        format!("{:.2}ms", ns as f64 / 1e6)
    } else if ns >= 1_000 {
        format!("{:.1}µs", ns as f64 / 1e3)
    } else {
        format!("{ns}ns")
    }
}

fn state_style(up: bool) -> Style {
    if up {
        Style::default().fg(Color::Green)
    } else {
        Style::default().fg(Color::Yellow)
    }
}

fn draw_header(f: &mut Frame<'_>, area: Rect, s: &Snapshot, st: &ViewState) {
    let e = &s.engine;
    let mut lines = Vec::new();
    let mut conn_spans = Vec::new();
    for c in &s.connections {
        let causes: Vec<String> = c
            .disconnects_by_cause
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        conn_spans.push(Span::raw(format!("{}: ", c.name.replace('_', " "))));
        conn_spans.push(Span::styled(c.state.clone(), state_style(c.up)));
        conn_spans.push(Span::raw(format!(
            " connects {} disconnects {}{} reconnects {}   ",
            c.connects,
            c.disconnects,
            if causes.is_empty() {
                String::new()
            } else {
                format!(" ({})", causes.join(", "))
            },
            c.reconnects
        )));
    }
    if s.stopped {
        conn_spans.push(Span::styled(
            "engine stopped",
            Style::default().fg(Color::Red),
        ));
    }
    lines.push(Line::from(conn_spans));
    lines.push(Line::from(format!(
        "books live {}/{} resyncing {} | resyncs {} | checksums ok {} mismatched {} | decode errors {} | {:.0} msg/s | latency p50 {} p99 {} max {}",
        e.books_live,
        e.subscribed,
        e.books_resyncing,
        e.resyncs,
        e.checksum_ok,
        e.checksum_mismatch,
        e.decode_errors,
        e.frames_per_s,
        fmt_ns(s.latency.last.p50_ns),
        fmt_ns(s.latency.last.p99_ns),
        fmt_ns(s.latency.last.max_ns),
    )));
    if let Some(err) = &st.error {
        lines.push(Line::styled(
            format!("cannot read {}: {err}", st.source),
            Style::default().fg(Color::Red),
        ));
    }
    let title = format!(
        " kspin {} — up {:.0}s — {} ",
        s.version, s.uptime_s, st.source
    );
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

fn draw_books(f: &mut Frame<'_>, area: Rect, s: &Snapshot, st: &ViewState) {
    if s.books.is_empty() {
        f.render_widget(
            Paragraph::new("no books")
                .block(Block::default().borders(Borders::ALL).title(" books ")),
            area,
        );
        return;
    }
    let fit = usize::from((area.width / BOOK_WIDTH).max(1));
    let first = st.book_offset.min(s.books.len().saturating_sub(1));
    let shown: Vec<&BookView> = s.books.iter().skip(first).take(fit).collect();
    let cols = Layout::default()
        .direction(Direction::Horizontal)
        .constraints(vec![Constraint::Ratio(1, shown.len() as u32); shown.len()])
        .split(area);
    let more = s.books.len() - first - shown.len();
    for (i, (b, rect)) in shown.iter().zip(cols.iter()).enumerate() {
        let last = i + 1 == shown.len();
        draw_book(f, *rect, b, if last { more } else { 0 });
    }
}

fn draw_book(f: &mut Frame<'_>, area: Rect, b: &BookView, more: usize) {
    let spread = b.spread.as_deref().unwrap_or("-");
    let mut title = vec![
        Span::raw(format!(" {} ", b.symbol)),
        Span::styled(b.state.clone(), state_style(b.live)),
        Span::raw(format!(" spread {spread} ")),
    ];
    if more > 0 {
        title.push(Span::raw(format!("(+{more} →) ")));
    }
    let rows = (0..BOOK_LEVELS).map(|i| {
        let bid = b.bids.get(i);
        let ask = b.asks.get(i);
        Row::new(vec![
            Cell::from(bid.map_or(String::new(), |l| l[1].clone())),
            Cell::from(bid.map_or(String::new(), |l| l[0].clone()))
                .style(Style::default().fg(Color::Green)),
            Cell::from(ask.map_or(String::new(), |l| l[0].clone()))
                .style(Style::default().fg(Color::Red)),
            Cell::from(ask.map_or(String::new(), |l| l[1].clone())),
        ])
    });
    let table = Table::new(rows, [Constraint::Ratio(1, 4); 4])
        .header(
            Row::new(vec!["bid qty", "bid", "ask", "ask qty"])
                .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Line::from(title)),
        );
    f.render_widget(table, area);
}

fn draw_tape(f: &mut Frame<'_>, area: Rect, s: &Snapshot) {
    let height = usize::from(area.height.saturating_sub(2));
    let rows = s.tape.iter().rev().take(height).map(|t| {
        let time = t
            .time
            .split('T')
            .nth(1)
            .map_or(t.time.as_str(), |x| x.get(..12).unwrap_or(x));
        let style = if t.side == "buy" {
            Style::default().fg(Color::Green)
        } else {
            Style::default().fg(Color::Red)
        };
        Row::new(vec![
            Cell::from(time.to_owned()),
            Cell::from(t.symbol.clone()),
            Cell::from(t.side.clone()).style(style),
            Cell::from(t.price.clone()),
            Cell::from(t.qty.clone()),
        ])
    });
    let table = Table::new(
        rows,
        [
            // 12 + 8 + 4 + 2 × 10 and four gaps: the 48 columns inside 36% of 140.
            Constraint::Length(12),
            Constraint::Length(8),
            Constraint::Length(4),
            Constraint::Min(6),
            Constraint::Min(6),
        ],
    )
    .block(Block::default().borders(Borders::ALL).title(" trades "));
    f.render_widget(table, area);
}

fn draw_latency(f: &mut Frame<'_>, area: Rect, s: &Snapshot) {
    let points: &[LatencyPoint] = &s.latency.history;
    let us = |ns: u64| ns as f64 / 1e3;
    let p50: Vec<(f64, f64)> = points.iter().map(|p| (p.at_s, us(p.p50_ns))).collect();
    let p99: Vec<(f64, f64)> = points.iter().map(|p| (p.at_s, us(p.p99_ns))).collect();
    let (x0, x1) = match (points.first(), points.last()) {
        (Some(a), Some(b)) if b.at_s > a.at_s => (a.at_s, b.at_s),
        (Some(a), _) => (a.at_s, a.at_s + 1.0),
        _ => (0.0, 1.0),
    };
    let top = p99.iter().map(|p| p.1).fold(1.0f64, f64::max) * 1.1;
    let datasets = vec![
        Dataset::default()
            .name("p50")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::default().fg(Color::Cyan))
            .data(&p50),
        Dataset::default()
            .name("p99")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::default().fg(Color::Magenta))
            .data(&p99),
    ];
    let chart = Chart::new(datasets)
        .block(Block::default().borders(Borders::ALL).title(format!(
            " latency µs (p50 {} p99 {}) ",
            fmt_ns(s.latency.last.p50_ns),
            fmt_ns(s.latency.last.p99_ns)
        )))
        .x_axis(Axis::default().bounds([x0, x1]))
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels(vec![Span::raw("0"), Span::raw(format!("{top:.0}"))]),
        );
    f.render_widget(chart, area);
}

fn draw_strategies(f: &mut Frame<'_>, area: Rect, s: &Snapshot) {
    let rows = s.strategies.iter().map(|v| {
        let lag = if v.lagging {
            Cell::from("LAG").style(Style::default().fg(Color::Red))
        } else {
            Cell::from("ok").style(Style::default().fg(Color::Green))
        };
        Row::new(vec![
            Cell::from(v.name.clone()),
            Cell::from(v.events_received.to_string()),
            Cell::from(v.events_dropped.to_string()),
            Cell::from(v.queued.to_string()),
            lag,
            Cell::from(v.intents.to_string()),
            Cell::from(v.rejects.to_string()),
        ])
    });
    let table = Table::new(
        rows,
        [
            // 10 + 8 + 7 + 5 + 3 + 7 + 7 and six gaps: the 54 columns inside 40% of 140.
            Constraint::Min(10),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(5),
            Constraint::Length(3),
            Constraint::Length(7),
            Constraint::Length(7),
        ],
    )
    .header(
        Row::new(vec![
            "strategy", "received", "dropped", "queue", "lag", "intents", "rejects",
        ])
        .style(Style::default().add_modifier(Modifier::BOLD)),
    )
    .block(Block::default().borders(Borders::ALL).title(" strategies "));
    f.render_widget(table, area);
}

fn draw_logs(f: &mut Frame<'_>, area: Rect, s: &Snapshot, st: &ViewState) {
    let height = usize::from(area.height.saturating_sub(2));
    let mut lines: Vec<Line<'_>> = Vec::new();
    let console = st.console.iter().rev().take(height / 2).collect::<Vec<_>>();
    let logs = s
        .logs
        .iter()
        .rev()
        .take(height - console.len())
        .collect::<Vec<_>>();
    for l in logs.into_iter().rev() {
        lines.push(Line::from(vec![
            Span::styled(
                format!("[{}] ", l.strategy),
                Style::default().fg(Color::Cyan),
            ),
            Span::raw(l.text.clone()),
        ]));
    }
    for c in console.into_iter().rev() {
        lines.push(Line::styled(
            c.clone(),
            Style::default().fg(Color::DarkGray),
        ));
    }
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" logs ")),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use kspin_telemetry::model::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn snapshot() -> Snapshot {
        let book = |sym: &str, bid: &str, ask: &str| BookView {
            symbol: sym.into(),
            state: "live".into(),
            live: true,
            depth: 25,
            best_bid: Some(bid.into()),
            best_ask: Some(ask.into()),
            spread: Some("0.1".into()),
            bids: vec![[bid.into(), "1.5".into()], ["99.8".into(), "2".into()]],
            asks: vec![[ask.into(), "0.25".into()]],
            checksum_ok: 10,
            ..BookView::default()
        };
        Snapshot {
            version: "0.1.0".into(),
            uptime_s: 12.0,
            engine: EngineView {
                books_live: 2,
                subscribed: 2,
                checksum_ok: 20,
                ..EngineView::default()
            },
            connections: vec![ConnectionView {
                name: "market_data".into(),
                state: "streaming".into(),
                up: true,
                connects: 1,
                ..ConnectionView::default()
            }],
            books: vec![
                book("BTC/USD", "99.9", "100.0"),
                book("ETH/USD", "9.9", "10.0"),
            ],
            strategies: vec![StrategyView {
                name: "whale_alert".into(),
                events_received: 1234,
                events_dropped: 5,
                lagging: true,
                ..StrategyView::default()
            }],
            latency: LatencyView {
                last: LatencyPoint {
                    at_s: 2.0,
                    p50_ns: 3_100,
                    p99_ns: 9_800,
                    max_ns: 20_000,
                    samples: 10,
                },
                history: vec![
                    LatencyPoint {
                        at_s: 1.0,
                        p50_ns: 3_000,
                        p99_ns: 9_000,
                        max_ns: 10_000,
                        samples: 10,
                    },
                    LatencyPoint {
                        at_s: 2.0,
                        p50_ns: 3_100,
                        p99_ns: 9_800,
                        max_ns: 20_000,
                        samples: 10,
                    },
                ],
                ..LatencyView::default()
            },
            tape: vec![TradeView {
                symbol: "BTC/USD".into(),
                side: "buy".into(),
                price: "100.0".into(),
                qty: "0.5".into(),
                time: "2026-08-16T10:00:01.123456Z".into(),
                trade_id: 7,
            }],
            logs: vec![LogLine {
                strategy: "whale_alert".into(),
                text: "whale BTC/USD notional=50000".into(),
            }],
            ..Snapshot::default()
        }
    }

    fn render(s: &Snapshot, st: &ViewState, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw(f, s, st)).unwrap();
        t.backend().to_string()
    }

    #[test]
    fn every_panel_shows_its_figures() {
        let st = ViewState {
            source: "http://127.0.0.1:9184".into(),
            ..ViewState::default()
        };
        let screen = render(&snapshot(), &st, 140, 40);
        for want in [
            "market data: streaming connects 1",
            "books live 2/2",
            "latency p50 3.1µs p99 9.8µs",
            " BTC/USD live spread 0.1 ",
            " ETH/USD live spread 0.1 ",
            "bid qty",
            "99.9",
            "100.0",
            "0.25",
            "10:00:01.123",
            "whale_alert",
            "1234",
            "LAG",
            "[whale_alert] whale BTC/USD notional=50000",
            "http://127.0.0.1:9184",
        ] {
            assert!(screen.contains(want), "missing {want:?} in\n{screen}");
        }
    }

    #[test]
    fn books_that_do_not_fit_scroll() {
        let mut s = snapshot();
        for i in 0..6 {
            let mut b = s.books[0].clone();
            b.symbol = format!("SYM{i}/USD");
            s.books.push(b);
        }
        let st = ViewState::default();
        let screen = render(&s, &st, 80, 40);
        // Two panels of 38+ columns fit in 80: the rest is announced.
        assert!(screen.contains(" BTC/USD live"), "{screen}");
        assert!(screen.contains(" ETH/USD live"), "{screen}");
        assert!(screen.contains("(+6 →)"), "{screen}");
        assert!(!screen.contains("SYM0/USD"), "{screen}");
        let scrolled = render(
            &s,
            &ViewState {
                book_offset: 2,
                ..st
            },
            80,
            40,
        );
        assert!(scrolled.contains(" SYM0/USD live"), "{scrolled}");
    }

    #[test]
    fn an_empty_snapshot_and_a_tiny_terminal_draw() {
        let st = ViewState {
            error: Some("connection refused".into()),
            source: "http://127.0.0.1:1".into(),
            ..ViewState::default()
        };
        let screen = render(&Snapshot::default(), &st, 100, 30);
        assert!(screen.contains("no books"), "{screen}");
        assert!(
            screen.contains("cannot read http://127.0.0.1:1: connection refused"),
            "{screen}"
        );
        render(&snapshot(), &st, 10, 5);
    }
}
