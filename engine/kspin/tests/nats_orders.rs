//! A trading run on NATS, end to end with the real binaries and a real `nats-server -js` on
//! loopback: `kspin run --live` trades against the embedded simulated venue with the bridge on;
//! every fill and order update its strategy got is on the stream exactly once (counts equal to
//! the run's `trading`, the venue's and the strategy's own; fill ids distinct, numbered per order
//! and exactly those the run says it published); then
//! `kspin mirror --strategies` feeds a strategy from the stream through the same host as
//! `kspin run`: its book equals the engine's (checksums) and it saw what the same strategy saw
//! inside the run. Exact assertions, none on speed. Skips only when `nats-server` is not
//! installed (and fails instead under CI, which installs it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use kspin_testkit::NatsServer;
use serde_json::Value;

fn kspin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kspin"))
}

fn json_of(output: &std::process::Output, what: &str) -> Value {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{what}: {stderr}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{what}: {e}: {stderr}"))
}

fn dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kspin-nats-ord-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("dir");
    d
}

const SUBSCRIPTION: &str = r#"
[[subscription]]
symbols = ["BTC/USD"]
channels = ["book", "trade"]
depth = 10

[[strategy]]
name = "spread_monitor"
[strategy.params]
symbol = "BTC/USD"
"#;

/// The quoter trading live against the simulated venue (takes often, so it fills within a
/// short run), a spread monitor beside it, and the bridge.
fn trading_config(dir: &Path, url: &str) -> PathBuf {
    let text = format!(
        r#"
[venue]
url = "sim"
[venue.sim]
tls = false
rate = 2000
seed = 7
[engine]
lock_memory = false
{SUBSCRIPTION}
[[strategy]]
name = "quoter"
[strategy.params]
symbol = "BTC/USD"
qty = "0.001"
spread_bps = 10
requote_bps = 2
take_every = 200
max_position = "0.004"
min_requote_ms = 50

[trading]
mode = "live"
tier = "starter"
max_open_orders_per_pair = 10
[trading.limits]
max_order_qty = "0.002"
max_order_notional = "200"
max_position = "0.005"
price_band_bps = 100
max_open_orders = 4

[nats]
url = "{url}"
snapshot_interval_ms = 300
"#
    );
    let path = dir.join("trading.toml");
    std::fs::write(&path, text).expect("config written");
    path
}

#[test]
fn a_trading_runs_fills_are_on_nats_and_a_mirror_feeds_strategies_the_engines_books() {
    let Some(server) = NatsServer::start("orders") else {
        return;
    };
    let d = dir("orders");
    let cfg = trading_config(&d, &server.url());
    let run = kspin()
        .args(["run", "--live", "--quiet", "--json", "--duration", "3"])
        .arg("--config")
        .arg(&cfg)
        .output()
        .expect("kspin run");
    let engine = json_of(&run, "kspin run");
    let nats = &engine["nats"];
    let trading = &engine["trading"];
    let quoter = &engine["strategies"]["quoter"];
    assert_eq!(trading["mode"], "live");
    let fills = trading["fills"].as_u64().unwrap();
    assert!(fills > 0, "the run must trade: {trading}");
    // Every fill the session applied reached the strategy and the stream.
    assert_eq!(nats["fills"], fills, "{nats}");
    assert_eq!(engine["venue"]["fills"], fills, "{}", engine["venue"]);
    assert_eq!(quoter["summary"]["fills"], fills.to_string(), "{quoter}");
    assert_eq!(
        nats["fills"].as_u64().unwrap() + nats["order_updates"].as_u64().unwrap(),
        quoter["order_updates"].as_u64().unwrap(),
        "every order update the strategy got, once: {nats} {quoter}"
    );
    assert_eq!(nats["orders_dropped"], 0, "{nats}");
    assert_eq!(nats["lost"], 0, "{nats}");
    assert_eq!(nats["stored"], nats["published"], "{nats}");

    // The stream holds each of them once.
    let out = kspin()
        .args([
            "mirror",
            "--nats",
            &server.url(),
            "--from",
            "start",
            "--drain",
        ])
        .args(["--duration", "120", "--json"])
        .output()
        .expect("kspin mirror");
    let all = json_of(&out, "kspin mirror");
    let orders = &all["orders"];
    assert_eq!(orders["fills"], fills, "{orders}");
    assert_eq!(
        orders["messages"].as_u64().unwrap(),
        quoter["order_updates"].as_u64().unwrap(),
        "{orders}"
    );
    assert_eq!(
        (&orders["gaps"], &orders["duplicates"]),
        (&0.into(), &0.into())
    );
    assert_eq!(all["messages"], nats["stored"], "{all}");
    let ids: Vec<&str> = orders["fill_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids.len() as u64, fills);
    // Exactly the fills the run published, in the same order.
    assert_eq!(orders["fill_ids"], nats["fill_ids"], "{orders} {nats}");
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        ids.len(),
        "{ids:?}"
    );
    // `quoter:<client_id>:<n>`: each order's fills numbered 1, 2, ... in arrival order.
    let mut per_order: BTreeMap<&str, u32> = BTreeMap::new();
    for id in &ids {
        let mut parts = id.rsplitn(2, ':');
        let n: u32 = parts.next().unwrap().parse().unwrap();
        let order = parts.next().unwrap();
        assert!(order.starts_with("quoter:"), "{id}");
        let seen = per_order.entry(order).or_insert(0);
        *seen += 1;
        assert_eq!(n, *seen, "{id}");
    }

    // A mirror feeding the spread monitor: the same books and events as inside the run.
    let strategies = d.join("strategies.toml");
    std::fs::write(&strategies, SUBSCRIPTION).unwrap();
    let out = kspin()
        .args([
            "mirror",
            "--nats",
            &server.url(),
            "--from",
            "start",
            "--drain",
        ])
        .args(["--duration", "120", "--json", "--strategies"])
        .arg(&strategies)
        .output()
        .expect("kspin mirror --strategies");
    let fed = json_of(&out, "kspin mirror --strategies");
    let hosted = &fed["strategies"]["spread_monitor"];
    let inside = &engine["strategies"]["spread_monitor"];
    let checksum = &engine["symbols"]["BTC/USD"]["checksum"];
    assert_eq!(&hosted["books"]["BTC/USD"], checksum, "{hosted}");
    assert_eq!(&inside["books"]["BTC/USD"], checksum, "{inside}");
    assert_eq!(
        hosted["events_received"], hosted["events_published"],
        "{hosted}"
    );
    assert_eq!(hosted["assembly_faults"], 0, "{hosted}");
    let feed = &fed["feed"];
    assert_eq!(feed["started"], true, "{feed}");
    let mirrored = &fed["symbols"]["BTC/USD"];
    // Every verified book message reached the strategies, except periodic snapshots of a
    // book they already had.
    assert_eq!(
        feed["snapshots"].as_u64().unwrap() + feed["periodic_skipped"].as_u64().unwrap(),
        mirrored["snapshots"].as_u64().unwrap(),
        "{feed} {mirrored}"
    );
    assert_eq!(
        feed["snapshots"].as_u64().unwrap() + feed["updates"].as_u64().unwrap(),
        mirrored["checksum_ok"].as_u64().unwrap() - feed["periodic_skipped"].as_u64().unwrap(),
        "{feed} {mirrored}"
    );
    assert_eq!(feed["trades"], mirrored["trades"], "{feed} {mirrored}");
    // Nothing conflated on either side: the strategy saw exactly what it saw inside the run.
    let conflated = hosted["events_dropped"] != 0 || inside["events_dropped"] != 0;
    if !conflated {
        assert_eq!(hosted["summary"], inside["summary"], "{hosted} {inside}");
    }
    eprintln!("summaries compared: {}", !conflated);
    let _ = std::fs::remove_dir_all(d);
}
