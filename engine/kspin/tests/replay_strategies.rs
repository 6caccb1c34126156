//! `kspin replay CAPTURE --strategies`: a capture recorded from a live run against the simulated
//! venue, replayed through `EngineCore<Bus>` with real strategy threads; every strategy receives
//! exactly the events offered to it minus the counted drops, and every checksum verifies.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kspin::app::replay::replay_capture;
use kspin::capture::reader::capture_symbol;
use kspin::capture::{start_recording, CaptureHeader, OpenMode, Recording};
use kspin::config::{StrategyConfig, SymbolPlan};
use kspin::net::{ConnLimits, Endpoint, TlsSettings, WsTransport};
use kspin::runtime::{EngineCore, NoStrategies};
use kspin::sim::{instruments, SimConfig, SimVenue};

fn plan() -> Vec<SymbolPlan> {
    ["BTC/USD", "ETH/USD"]
        .iter()
        .map(|s| {
            let pair = instruments().iter().find(|p| p.symbol == *s).unwrap();
            SymbolPlan {
                symbol: (*s).into(),
                depth: 10,
                book: true,
                trade: true,
                ticker: false,
                precision: Some((pair.price_precision, pair.qty_precision)),
            }
        })
        .collect()
}

#[test]
fn a_replayed_capture_drives_strategies_with_exact_accounting() {
    let venue = SimVenue::start(SimConfig {
        rate_per_sec: 4_000,
        seed: 5,
        symbols: vec!["BTC/USD".into(), "ETH/USD".into()],
        ..SimConfig::default()
    })
    .unwrap();
    let mut cfg = kspin::runtime::CoreConfig::new(plan());
    let transport = WsTransport::new(
        &Endpoint::parse(&venue.url()).unwrap(),
        &TlsSettings::default(),
        ConnLimits::default(),
    )
    .unwrap();
    cfg.stall_timeout = Duration::from_secs(30);
    cfg.connect_timeout = Duration::from_secs(10);
    let path: PathBuf =
        std::env::temp_dir().join(format!("kspin-test-{}-strategies.kcap", std::process::id()));
    let header = CaptureHeader {
        venue: venue.url(),
        symbols: plan().iter().map(capture_symbol).collect(),
        started_unix_ns: 0,
        writer: "replay_strategies test".into(),
    };
    let clock = quanta::Clock::new();
    let (producer, recorder) =
        start_recording(&path, &header, OpenMode::Create, 8 << 20, clock.clone()).unwrap();
    let mut live = EngineCore::new(
        cfg,
        Recording::new(NoStrategies, producer, clock.clone()),
        transport,
        clock,
    )
    .unwrap();
    let started = Instant::now();
    while live.feed().counters().checksum_ok < 1_000 {
        live.poll();
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "live run did not progress"
        );
    }
    venue.stop();
    recorder.finish().unwrap();

    let strategies: Vec<StrategyConfig> = ["spread_monitor", "whale_alert"]
        .iter()
        .map(|name| {
            let params = if *name == "spread_monitor" {
                "symbol = \"BTC/USD\"\nlog_every = 100000"
            } else {
                "min_notional = \"1000000000\""
            };
            toml::from_str(&format!("name = \"{name}\"\n[params]\n{params}\n")).unwrap()
        })
        .collect();
    let bytes = std::fs::read(&path).unwrap();
    let report = replay_capture(
        "test.kcap",
        bytes,
        false,
        &kspin::builtin_registry(),
        &strategies,
    )
    .unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(report.checksum_mismatch, 0);
    assert_eq!(report.checksum_ok, live.feed().counters().checksum_ok);
    let s = report.strategies.expect("strategies ran");
    for name in ["spread_monitor", "whale_alert"] {
        let v = &s[name];
        let (offered, dropped, received) = (
            v["events_offered"].as_u64().unwrap(),
            v["events_dropped"].as_u64().unwrap(),
            v["events_received"].as_u64().unwrap(),
        );
        assert!(received > 0, "{name}: {v}");
        assert_eq!(received, offered - dropped, "{name}: {v}");
    }
    assert!(
        s["spread_monitor"]["summary"]["book_changes"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
}
