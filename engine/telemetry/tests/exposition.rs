//! The telemetry path end to end, without a socket: a genuine Kraken recording and generated
//! trades go through the engine's own pipeline (`Engine::replay_frame`) with the taps attached;
//! the collector reads the taps; the snapshot's books equal the engine's books exactly; its
//! Prometheus text names only `kspin_` metrics, carries the per-book counters the engine counted,
//! and passes `promtool check metrics` (Debian package `prometheus`, installed by `.ci/run`);
//! `/snapshot` JSON reads back into the same snapshot.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use kspin_api::FixedDisplay;
use kspin_runtime::capture::reader::replay_engine_config;
use kspin_runtime::telemetry::taps;
use kspin_runtime::{CoreStats, Engine, NoStrategies, SymbolPlan, TapConfig};
use kspin_telemetry::{Collector, CollectorSetup, Snapshot};

const RECORDING: &str = include_str!("../../testdata/vectors/real_minagbp_d25_2026-08-16.jsonl");

fn trade(i: u64) -> String {
    let side = if i % 2 == 0 { "buy" } else { "sell" };
    format!(
        r#"{{"channel":"trade","type":"update","data":[{{"symbol":"MINA/GBP","side":"{side}","price":0.{:04},"qty":{}.5,"ord_type":"market","trade_id":{i},"timestamp":"2026-08-16T10:00:0{}.123456Z"}}]}}"#,
        3_000 + i,
        i + 1,
        i % 10
    )
}

/// Runs the recording and `trades` trades through an engine with taps; returns the collector's
/// snapshot and the engine.
fn run(trades: u64) -> (Snapshot, Engine<NoStrategies>) {
    let plan = vec![SymbolPlan {
        symbol: "MINA/GBP".into(),
        depth: 25,
        book: true,
        trade: true,
        ticker: false,
        precision: Some((4, 8)),
    }];
    let (clock, _mock) = quanta::Clock::mock();
    let mut engine = Engine::new(&replay_engine_config(plan), NoStrategies, clock.clone()).unwrap();
    let (mut books, trade_tap, reader) = taps(1, &TapConfig::default()).unwrap();
    engine.set_trade_tap(trade_tap);
    for line in RECORDING.lines().filter(|l| !l.trim().is_empty()) {
        engine.replay_frame(line.as_bytes(), 0);
    }
    for i in 0..trades {
        engine.replay_frame(trade(i).as_bytes(), 0);
    }
    engine.discard_requests();
    books.publish_all_books(engine.pipeline().feed());
    let mut collector = Collector::new(CollectorSetup {
        version: "test".into(),
        symbols: vec!["MINA/GBP".into()],
        tape_len: 4,
        log_len: 8,
        history_len: 8,
        ..CollectorSetup::default()
    })
    .with_taps(reader);
    let stats = CoreStats {
        feed: *engine.pipeline().feed().counters(),
        pipeline: *engine.pipeline().counters(),
        latency: engine.latency().buckets(),
        ..CoreStats::default()
    };
    collector.absorb_core(&stats);
    collector.poll();
    (collector.snapshot(), engine)
}

#[test]
fn the_snapshot_holds_the_engines_books_and_tape() {
    let (snap, mut engine) = run(6);
    let feed = engine.pipeline().feed();
    let sb = feed.book(0).unwrap();
    let book = &snap.books[0];
    assert_eq!(book.symbol, "MINA/GBP");
    assert_eq!(book.state, "live");
    assert_eq!(book.checksum_ok, sb.counters.checksum_ok);
    assert_eq!(book.checksum_ok, 30);
    assert_eq!(book.checksum_mismatch, 0);
    assert_eq!(book.trades, 6);
    let (ps, qs) = (sb.book.price_scale(), sb.book.qty_scale());
    let text = |m: i64, s: u8| {
        FixedDisplay {
            mantissa: m,
            scale: s,
        }
        .to_string()
    };
    let want_bids: Vec<[String; 2]> = sb
        .book
        .bids()
        .iter()
        .take(10)
        .map(|(p, q)| [text(p.0, ps), text(q.0, qs)])
        .collect();
    let want_asks: Vec<[String; 2]> = sb
        .book
        .asks()
        .iter()
        .take(10)
        .map(|(p, q)| [text(p.0, ps), text(q.0, qs)])
        .collect();
    assert_eq!(book.bids, want_bids);
    assert_eq!(book.asks, want_asks);
    assert_eq!(book.best_bid.as_deref(), Some(want_bids[0][0].as_str()));
    assert_eq!(book.bid_levels as usize, sb.book.bids().len());
    // The tape keeps the last four trades, oldest first, exactly as sent.
    let ids: Vec<u64> = snap.tape.iter().map(|t| t.trade_id).collect();
    assert_eq!(ids, [2, 3, 4, 5]);
    assert_eq!(snap.tape[3].side, "sell");
    assert_eq!(snap.tape[3].price, "0.3005");
    assert_eq!(snap.tape[3].qty, "6.5");
    assert_eq!(snap.tape[3].time, "2026-08-16T10:00:05.123456Z");
    assert_eq!(snap.engine.trades, 6);
    assert_eq!(
        snap.latency.read_to_published.count(),
        engine.latency().total().len()
    );
}

#[test]
fn snapshot_json_reads_back() {
    let (snap, _) = run(3);
    let json = serde_json::to_string(&snap).unwrap();
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, snap);
}

#[test]
fn prometheus_text_is_valid_and_names_kspin_metrics_only() {
    let (snap, _) = run(3);
    let text = kspin_telemetry::prom::render(&Arc::new(snap));
    for line in text.lines() {
        let name = match line.strip_prefix("# ") {
            Some(rest) => rest.split(' ').nth(1).unwrap_or(""),
            None => line.split(['{', ' ']).next().unwrap_or(""),
        };
        assert!(name.starts_with("kspin_"), "{line}");
    }
    assert!(
        text.contains("kspin_book_checksum_ok_total{symbol=\"MINA/GBP\"} 30\n"),
        "{text}"
    );
    assert!(
        text.contains("kspin_book_trades_total{symbol=\"MINA/GBP\"} 3\n"),
        "{text}"
    );
    assert!(
        text.contains("kspin_book_live{symbol=\"MINA/GBP\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("kspin_engine_latency_seconds_bucket{le=\"+Inf\"}"),
        "{text}"
    );
    promtool_check(&text);
}

/// `promtool check metrics` on `text`: must exit 0.
fn promtool_check(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("promtool not found ({e}): install the Debian package `prometheus`; skipping the promtool check here (CI installs it)");
            return;
        }
        Err(e) => panic!("promtool: {e} (CI installs the Debian package `prometheus`)"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The example Grafana dashboard (`ops/grafana/kspin.json`) queries only metrics this crate
/// exports: every `kspin_…` name in its expressions is a family of a full exposition (books,
/// strategies with positions and rejects, live trading, host checks).
#[test]
fn the_grafana_dashboard_queries_exported_metrics_only() {
    use kspin_telemetry::model::{HostCheck, StrategyView, TradingView};
    let (mut snap, _) = run(3);
    snap.strategies = vec![StrategyView {
        name: "quoter".into(),
        positions: [("MINA/GBP".to_owned(), "1.5".to_owned())].into(),
        rejects_by_reason: [("risk_position".to_owned(), 1)].into(),
        ..StrategyView::default()
    }];
    snap.trading = Some(TradingView {
        positions: [("MINA/GBP".to_owned(), "-2".to_owned())].into(),
        rejects_by_reason: [("rate_limited".to_owned(), 1)].into(),
        ..TradingView::default()
    });
    snap.host_checks = vec![HostCheck {
        id: "cmdline.isolcpus".into(),
        verdict: "fail".into(),
        ..HostCheck::default()
    }];
    let text = kspin_telemetry::prom::render(&Arc::new(snap));
    let families: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .collect();
    let exported = |name: &str| {
        families.iter().any(|(f, kind)| {
            *f == name
                || (*kind == "histogram"
                    && ["_bucket", "_sum", "_count"]
                        .iter()
                        .any(|s| name.strip_suffix(s) == Some(*f)))
        })
    };
    let dashboard: serde_json::Value =
        serde_json::from_str(include_str!("../../../ops/grafana/kspin.json")).unwrap();
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().into_iter().flatten() {
            exprs.push(t["expr"].as_str().unwrap().to_owned());
        }
    }
    assert!(exprs.len() >= 20, "{exprs:?}");
    let mut checked = 0;
    for expr in &exprs {
        let mut rest = expr.as_str();
        while let Some(at) = rest.find("kspin_") {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(exported(&name), "{name} (in {expr}) is not exported");
            checked += 1;
            rest = &rest[at + name.len()..];
        }
    }
    assert!(
        checked >= exprs.len(),
        "every expression names a kspin metric"
    );
}
