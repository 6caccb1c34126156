//! The research loop's contracts, through the `kspin` executable: `kspin record CAPTURE --config
//! CONFIG --duration N` records market data from a configuration whose `[trading]` says `mode =
//! "live"` (recording never trades, so it needs no `--live`), and `kspin replay CAPTURE
//! --strategies CONFIG --json` replays it on the deterministic backtest: byte-identical JSON
//! every time (with a seeded latency jitter too), fills, fees and PnL per strategy, the live
//! pre-trade refusals by reason, SVG plots with `--plot`, and `--paced` saying it is not
//! deterministic, the human summaries, and `kspin run --quiet` keeping strategy logs. Offline:
//! the embedded simulated venue on 127.0.0.1; no timing assertion.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const KSPIN: &str = env!("CARGO_BIN_EXE_kspin");

/// A trading configuration: three `sma_cross` on short candles so that they trade within
/// seconds — market orders on BTC/USD, limit orders on ETH/USD, and one whose order size is above
/// its own limit (every order refused by the pre-trade checks).
const CONFIG: &str = r#"
[venue]
url = "sim"
[venue.sim]
rate = 3000
seed = 11

[[subscription]]
symbols = ["BTC/USD", "ETH/USD"]
channels = ["book", "trade"]
depth = 10

[[strategy]]
name = "sma_cross"
[strategy.params]
symbol = "BTC/USD"
qty = "0.01"
interval = "100ms"
fast = 1
slow = 2

[[strategy]]
name = "sma_cross"
[strategy.params]
symbol = "ETH/USD"
qty = "0.5"
interval = "100ms"
fast = 1
slow = 2
order_type = "limit"

[[strategy]]
name = "sma_cross"
[strategy.params]
symbol = "BTC/USD"
qty = "0.02"
interval = "100ms"
fast = 1
slow = 2
[strategy.limits]
max_order_qty = "0.01"

[trading]
mode = "live"
[trading.limits]
max_order_qty = "1"
max_order_notional = "1000000"
max_position = "10"

[replay]
latency_us = 500
"#;

fn kspin(args: &[&str]) -> Output {
    let out = Command::new(KSPIN).args(args).output().expect("run kspin");
    assert!(
        out.status.success(),
        "kspin {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("kspin-backtest-{}-{name}", std::process::id()))
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

#[test]
fn a_recorded_trading_configuration_replays_deterministically_with_fills_and_a_report() {
    let config = temp("trading.toml");
    let capture = temp("capture.kcap");
    let plots = temp("plots");
    std::fs::write(&config, CONFIG).unwrap();

    // Recording ignores `mode = "live"`: market data only, no --live needed.
    let recorded = kspin(&[
        "record",
        path(&capture),
        "--config",
        path(&config),
        "--duration",
        "3",
        "--json",
        "--quiet",
    ]);
    assert!(json(&recorded)["frames"].as_u64().unwrap() > 1_000);

    let replay = |extra: &[&str]| {
        let mut args = vec![
            "replay",
            path(&capture),
            "--strategies",
            path(&config),
            "--json",
        ];
        args.extend_from_slice(extra);
        kspin(&args)
    };
    let first = replay(&[]);
    let second = replay(&[]);
    assert_eq!(
        first.stdout, second.stdout,
        "two replays of one capture give byte-identical JSON"
    );
    let report = json(&first);
    assert_eq!(report["checksum_mismatch"], 0);
    assert_eq!(report["backtest"]["deterministic"], true);
    assert_eq!(report["backtest"]["latency_ns"], 500_000);
    assert_eq!(report["backtest"]["queue"], "back");
    let s = &report["strategies"];

    // Market orders on BTC/USD: filled, with fees and PnL in USD.
    let btc = &s["sma_cross"];
    assert!(btc["fills"].as_u64().unwrap() > 0, "{btc}");
    for key in [
        "fees",
        "realized_pnl",
        "unrealized_pnl",
        "max_position",
        "max_drawdown",
    ] {
        let v = btc[key]["BTC/USD"]
            .as_str()
            .unwrap_or_else(|| panic!("{key}: {btc}"));
        assert!(v.parse::<f64>().is_ok(), "{key} = {v:?}");
    }
    assert_ne!(btc["fees"]["BTC/USD"], "0", "taker fees are charged");
    assert_eq!(btc["max_position"]["BTC/USD"], "0.01");
    assert_eq!(
        btc["rejects"].as_object().unwrap().len(),
        kspin_api::RejectReason::COUNT
    );
    // The strategy's own count of fills agrees with the venue's.
    assert_eq!(
        btc["summary"]["fills"].as_str().unwrap(),
        btc["fills"].to_string()
    );

    // Limit orders on ETH/USD went to the venue.
    let eth = &s["sma_cross#2"];
    assert!(eth["intents"].as_u64().unwrap() > 0, "{eth}");
    assert!(eth["fees"]["ETH/USD"].is_string(), "{eth}");

    // Orders above the strategy's own size limit: each refused, as live would, never filled.
    let refused = &s["sma_cross#3"];
    let intents = refused["intents"].as_u64().unwrap();
    assert!(intents > 0, "{refused}");
    assert_eq!(refused["rejects"]["risk_order_qty"].as_u64(), Some(intents));
    assert_eq!(refused["fills"], 0);

    // The human summary shows the same per strategy.
    let human =
        String::from_utf8(kspin(&["replay", path(&capture), "--strategies", path(&config)]).stdout)
            .unwrap();
    for line in [
        "strategies: deterministic backtest in exchange time; order latency 500.00µs",
        "  sma_cross: events received ",
        "  sma_cross#3: events received ",
        "    BTC/USD: position ",
        "    ETH/USD: position ",
    ] {
        assert!(human.contains(line), "{line:?} in\n{human}");
    }
    assert!(
        human.contains(&format!("rejects {intents} (risk_order_qty {intents})")),
        "{human}"
    );
    assert!(human.contains("| max drawdown "), "{human}");

    // A seeded jitter is deterministic too.
    let jitter = ["--latency-jitter-us", "400", "--seed", "9"];
    assert_eq!(replay(&jitter).stdout, replay(&jitter).stdout);

    // Plots: PnL and position per strategy and symbol traded, as SVG.
    let plotted = json(&replay(&["--plot", path(&plots)]));
    let files: Vec<&str> = plotted["plots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for name in [
        "pnl-sma_cross-BTC-USD.svg",
        "position-sma_cross-BTC-USD.svg",
    ] {
        let file = plots.join(name);
        assert!(files.contains(&path(&file)), "{files:?}");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    }

    // --paced keeps the recorded timing and says it is not deterministic.
    let paced = replay(&["--paced"]);
    assert_eq!(json(&paced)["backtest"]["deterministic"], false);
    assert!(String::from_utf8_lossy(&paced.stderr).contains("not deterministic"));

    for f in [&config, &capture] {
        let _ = std::fs::remove_file(f);
    }
    let _ = std::fs::remove_dir_all(&plots);
}

/// `kspin run --quiet` hides the per-second status lines only: the strategies' log lines still
/// print, and the human summary shows each strategy's counts and figures.
#[test]
fn run_quiet_hides_status_lines_only_and_the_summary_shows_each_strategy() {
    let config = temp("quiet.toml");
    std::fs::write(
        &config,
        r#"
[venue]
url = "sim"
[venue.sim]
rate = 3000
seed = 11
[engine]
lock_memory = false
[[subscription]]
symbols = ["BTC/USD"]
channels = ["book", "trade"]
depth = 10
[[strategy]]
name = "spread_monitor"
params = { symbol = "BTC/USD", levels = 5, log_every = 100 }
[[strategy]]
name = "sma_cross"
params = { symbol = "BTC/USD", qty = "0.01", interval = "100ms", fast = 1, slow = 2 }
"#,
    )
    .unwrap();
    let out = kspin(&[
        "run",
        "--config",
        path(&config),
        "--duration",
        "2",
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("  [spread_monitor] spread BTC/USD")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("msg/s"),
        "a status line under --quiet:\n{stderr}"
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    for line in [
        "  strategy sma_cross: events published ",
        "  strategy spread_monitor: events published ",
        "    figures: candles=",
        "    figures: book_changes=",
        "  trading (paper): orders sent ",
    ] {
        assert!(summary.contains(line), "{line:?} in\n{summary}");
    }
    let _ = std::fs::remove_file(&config);
}
