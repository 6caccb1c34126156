//! `kspin run --nats` → a real JetStream (`nats-server -js` on loopback, temporary store) →
//! `kspin mirror`, end to end with the real binaries: every book message's checksum verified by
//! the mirror and its final books equal to the engine's; the server killed and restarted
//! mid-stream (lost messages show as gaps that the next snapshot heals, republishes are
//! de-duplicated, nothing acknowledged is missing); a bridge too slow for the feed (its lane
//! conflates, the mirror still verifies every book); two engine shards into one mirror; a
//! mirror joining mid-run asks for snapshots and is synced long before the periodic one.
//! Exact assertions on counts and books, none on speed. Skips only when `nats-server` is not
//! installed (and fails instead under CI, which installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use kspin_testkit::NatsServer;
use serde_json::Value;

const SYMBOLS: [&str; 3] = ["BTC/USD", "ETH/USD", "SOL/USD"];

fn config(dir: &Path, name: &str, url: &str, extra: &str) -> PathBuf {
    let text = format!(
        r#"
[venue]
url = "sim"
[venue.sim]
tls = false
rate = 2000
[engine]
lock_memory = false
[[subscription]]
symbols = ["BTC/USD", "ETH/USD", "SOL/USD"]
channels = ["book", "trade", "ticker"]
depth = 10
[nats]
url = "{url}"
snapshot_interval_ms = 300
{extra}
"#
    );
    let path = dir.join(name);
    std::fs::write(&path, text).expect("config written");
    path
}

fn kspin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kspin"))
}

fn json_of(output: &std::process::Output, what: &str) -> Value {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{what}: {stderr}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{what}: {e}: {stderr}"))
}

fn run(config: &Path, seconds: &str, extra: &[&str]) -> Value {
    let out = kspin()
        .args([
            "run",
            "--quiet",
            "--json",
            "--duration",
            seconds,
            "--config",
        ])
        .arg(config)
        .args(extra)
        .output()
        .expect("kspin run");
    json_of(&out, "kspin run")
}

fn mirror(url: &str, symbols: &[&str]) -> Value {
    let mut cmd = kspin();
    cmd.args(["mirror", "--nats", url, "--from", "start", "--drain"]);
    cmd.args(["--duration", "120", "--json"]);
    for s in symbols {
        cmd.args(["--symbol", s]);
    }
    json_of(&cmd.output().expect("kspin mirror"), "kspin mirror")
}

fn dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kspin-nats-cfg-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("dir");
    d
}

/// The mirror's book of every symbol equals the engine's final book and no checksum failed.
fn assert_books_equal(mirror: &Value, engine: &Value, symbols: &[&str]) {
    let m = mirror["symbols"].as_object().expect("symbols object");
    assert_eq!(m.len(), symbols.len(), "{mirror}");
    for s in symbols {
        let v = &m[*s];
        assert_eq!(v["checksum_mismatch"], 0, "{s}: {v}");
        assert!(v["checksum_ok"].as_u64().unwrap() > 0, "{s}: {v}");
        assert!(v["snapshots"].as_u64().unwrap() >= 1, "{s}: {v}");
        assert_eq!(v["synced"], true, "{s}: {v}");
        assert_eq!(engine["symbols"][*s]["state"], "live", "{s}");
        assert_eq!(
            v["checksum"], engine["symbols"][*s]["checksum"],
            "{s}: mirror book = engine book"
        );
    }
}

#[test]
fn published_books_are_rebuilt_and_verified_by_the_mirror() {
    let Some(server) = NatsServer::start("publish_mirror") else {
        return;
    };
    let d = dir("publish");
    let engine = run(&config(&d, "k.toml", &server.url(), ""), "2", &[]);
    let nats = &engine["nats"];
    assert_eq!(nats["lost"], 0, "{nats}");
    assert_eq!(nats["unsent_at_stop"], 0, "{nats}");
    assert_eq!(nats["stored"], nats["published"], "{nats}");
    assert!(nats["updates"].as_u64().unwrap() > 0, "{nats}");
    let all = mirror(&server.url(), &[]);
    // Every acknowledged message, once, nothing else.
    assert_eq!(all["messages"], nats["stored"], "{all}");
    assert_eq!(all["duplicates"], 0);
    assert_eq!(all["unparsable"], 0);
    assert_books_equal(&all, &engine, &SYMBOLS);
    for s in SYMBOLS {
        assert_eq!(all["symbols"][s]["gaps"], 0, "{s}");
    }
    // One symbol only: the same figures for it.
    let one = mirror(&server.url(), &["ETH/USD"]);
    assert_eq!(one["symbols"]["ETH/USD"], all["symbols"]["ETH/USD"]);
    assert_eq!(
        one["messages"], all["symbols"]["ETH/USD"]["messages"],
        "{one}"
    );
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn a_server_restart_mid_stream_loses_nothing_acknowledged_and_gaps_heal() {
    let Some(mut server) = NatsServer::start("restart") else {
        return;
    };
    let d = dir("restart");
    let cfg = config(
        &d,
        "k.toml",
        &server.url(),
        "give_up_after_ms = 300\nack_timeout_ms = 200\n",
    );
    let child = kspin()
        .args(["run", "--quiet", "--json", "--duration", "4", "--config"])
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kspin run");
    std::thread::sleep(Duration::from_millis(1200));
    server.kill();
    // Longer than give_up_after + ack_timeout: some messages are given up on.
    std::thread::sleep(Duration::from_millis(1000));
    server.restart();
    let engine = json_of(&child.wait_with_output().expect("run ends"), "kspin run");
    let nats = &engine["nats"];
    assert!(nats["lost"].as_u64().unwrap() > 0, "{nats}");
    let all = mirror(&server.url(), &[]);
    // No acknowledged message lost (some given up on may have been stored all the same).
    assert!(
        all["messages"].as_u64().unwrap() >= nats["stored"].as_u64().unwrap(),
        "{all} {nats}"
    );
    eprintln!("bridge: {nats}\nmirror: {all}");
    let symbols = all["symbols"].as_object().unwrap();
    let gaps: u64 = symbols.values().map(|v| v["gaps"].as_u64().unwrap()).sum();
    let healed: u64 = symbols
        .values()
        .map(|v| v["healed"].as_u64().unwrap())
        .sum();
    // The messages given up on leave gaps only if the server did not store them after all
    // (whether it did depends on where the kill fell): every missing one is a detected gap,
    // and every gap heals.
    let missing = nats["published"].as_u64().unwrap() > all["messages"].as_u64().unwrap();
    if missing {
        assert!(gaps > 0 && healed > 0, "{all} {nats}");
    }
    assert!(healed <= gaps, "{all}");
    // Healed to the end: every book synced, equal to the engine's, no checksum failed.
    assert_books_equal(&all, &engine, &SYMBOLS);
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn a_slow_bridge_is_conflated_and_the_mirror_still_verifies_every_book() {
    let Some(server) = NatsServer::start("slow") else {
        return;
    };
    let d = dir("slow");
    // A 64-event lane and one message in flight at a time, against 20,000 events/s: the
    // bridge cannot keep up, so its lane conflates and hands catch-up snapshots.
    let cfg = config(
        &d,
        "k.toml",
        &server.url(),
        "ring_capacity = 64\nmax_in_flight = 1\n",
    );
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("rate = 2000", "rate = 20000");
    std::fs::write(&cfg, text).unwrap();
    let engine = run(&cfg, "2", &[]);
    let nats = &engine["nats"];
    assert!(
        nats["lane"]["events_dropped"].as_u64().unwrap() > 0,
        "{nats}"
    );
    assert!(
        nats["lane"]["snapshots_handed"].as_u64().unwrap() > 0,
        "{nats}"
    );
    assert_eq!(nats["lost"], 0, "{nats}");
    assert_eq!(engine["checksum_mismatch"], 0);
    let all = mirror(&server.url(), &[]);
    assert_eq!(all["messages"], nats["stored"], "{all}");
    assert_books_equal(&all, &engine, &SYMBOLS);
    for s in SYMBOLS {
        // Conflation is not a gap: the bridge's sequence has no hole, the snapshots replace
        // the deltas the lane dropped.
        assert_eq!(all["symbols"][s]["gaps"], 0, "{s}");
    }
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn two_shards_publish_into_one_namespace() {
    let Some(server) = NatsServer::start("shards") else {
        return;
    };
    let d = dir("shards");
    let cfg = config(
        &d,
        "k.toml",
        &server.url(),
        "[sharding]\nshards = [[\"BTC/USD\"], [\"ETH/USD\", \"SOL/USD\"]]\n",
    );
    let spawn = |shard: &str| {
        kspin()
            .args([
                "run",
                "--quiet",
                "--json",
                "--duration",
                "2",
                "--shard",
                shard,
            ])
            .arg("--config")
            .arg(&cfg)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kspin run --shard")
    };
    let (a, b) = (spawn("0"), spawn("1"));
    let a = json_of(&a.wait_with_output().unwrap(), "shard 0");
    let b = json_of(&b.wait_with_output().unwrap(), "shard 1");
    let names = |v: &Value| {
        v["symbols"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&a), ["BTC/USD"]);
    assert_eq!(names(&b), ["ETH/USD", "SOL/USD"]);
    let all = mirror(&server.url(), &[]);
    let stored = a["nats"]["stored"].as_u64().unwrap() + b["nats"]["stored"].as_u64().unwrap();
    assert_eq!(all["messages"].as_u64().unwrap(), stored, "{all}");
    assert_books_equal(&all_for(&all, &["BTC/USD"]), &a, &["BTC/USD"]);
    assert_books_equal(
        &all_for(&all, &["ETH/USD", "SOL/USD"]),
        &b,
        &["ETH/USD", "SOL/USD"],
    );
    for s in SYMBOLS {
        assert_eq!(all["symbols"][s]["gaps"], 0, "{s}");
    }
    let _ = std::fs::remove_dir_all(d);
}

/// `report` with only `symbols` in its `symbols` object.
fn all_for(report: &Value, symbols: &[&str]) -> Value {
    let mut r = report.clone();
    r["symbols"]
        .as_object_mut()
        .unwrap()
        .retain(|k, _| symbols.contains(&k.as_str()));
    r
}

#[test]
fn a_mirror_asks_for_a_snapshot_instead_of_waiting_for_the_periodic_one() {
    let Some(server) = NatsServer::start("ask") else {
        return;
    };
    let d = dir("ask");
    // Periodic snapshots once a minute: a mirror joining mid-run has no book until then,
    // unless it asks.
    let cfg = config(&d, "k.toml", &server.url(), "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("snapshot_interval_ms = 300", "snapshot_interval_ms = 60000");
    std::fs::write(&cfg, text).unwrap();
    let child = kspin()
        .args(["run", "--quiet", "--json", "--duration", "5", "--config"])
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kspin run");
    // Join after the initial snapshots went out.
    std::thread::sleep(Duration::from_millis(1500));
    let out = kspin()
        .args(["mirror", "--nats", &server.url(), "--from", "new"])
        .args(["--duration", "2", "--json"])
        .output()
        .expect("kspin mirror");
    let joined = json_of(&out, "kspin mirror");
    let engine = json_of(&child.wait_with_output().expect("run ends"), "kspin run");
    let nats = &engine["nats"];
    for s in SYMBOLS {
        let v = &joined["symbols"][s];
        // Healed within the mirror's 2 s, long before the 60 s periodic snapshot.
        assert_eq!(v["synced"], true, "{s}: {v}");
        assert!(v["snapshot_requests"].as_u64().unwrap() >= 1, "{s}: {v}");
        assert!(v["snapshots"].as_u64().unwrap() >= 1, "{s}: {v}");
        assert_eq!(v["checksum_mismatch"], 0, "{s}: {v}");
    }
    assert!(
        nats["snapshot_requests"].as_u64().unwrap() >= SYMBOLS.len() as u64,
        "{nats}"
    );
    let _ = std::fs::remove_dir_all(d);
}
