//! The `kspin` executable end to end, and an unreachable venue in-process:
//! - `kspin run --config` with a bad file exits 2 with a message naming the key, never a panic;
//! - the core pointed at a closed port keeps retrying with backoff and counts connect failures,
//!   and `kspin run` against it exits cleanly after `--duration`;
//! - `kspin sim` (TLS, faults) in one process and `kspin run --config` pointed at it in another:
//!   the engine rides out a drop and a corrupted checksum and ends with every book live and every
//!   applied message verified.

mod engine_support;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use engine_support::*;
use kspin::feed::SubscriptionState;
use kspin::net::{Endpoint, TlsSettings};
use serde_json::Value;

const KSPIN: &str = env!("CARGO_BIN_EXE_kspin");

/// A fresh directory under the system temp directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kspin-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run_kspin(args: &[&str]) -> Output {
    Command::new(KSPIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("kspin runs")
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn bad_configuration_exits_2_naming_the_key() {
    let dir = scratch("badcfg");
    let cases: [(&str, &str); 10] = [
        ("[venue.sim]\nrate = \"fast\"\n", "rate"),
        (
            "[venue]\nurl = \"wss://127.0.0.1:1/v2\"\ntrust_pem = \"/nonexistent/venue.pem\"\n",
            "venue.trust_pem",
        ),
        ("[backoff]\njitter = 2.0\n", "backoff.jitter"),
        (
            "[engine]\nstall_timeout_ms = 0\n",
            "engine.stall_timeout_ms",
        ),
        ("[engine]\nstall_timout_ms = 100\n", "stall_timout_ms"),
        ("[mismatch]\naction = \"explode\"\n", "mismatch.action"),
        (
            "[[subscription]]\nsymbols = [\"BTC/USD\"]\ndepth = 7\n",
            "subscription[0].depth",
        ),
        (
            "[[subscription]]\nsymbols = [\"BTC/USD\"]\nchannels = [\"candles\"]\n",
            "subscription[0].channels",
        ),
        ("[venue]\nurl = \"http://127.0.0.1/\"\n", "venue.url"),
        ("[venue.sim]\nfaults = [\"explode@1s\"]\n", "explode@1s"),
    ];
    for (i, (text, key)) in cases.iter().enumerate() {
        let path = write(&dir, &format!("bad{i}.toml"), text);
        let out = run_kspin(&["run", "--config", path.to_str().unwrap(), "--duration", "1"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        assert!(
            stderr.contains(key),
            "{text}: the message should name {key}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let missing = dir.join("missing.toml");
    let out = run_kspin(&["run", "--config", missing.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot read") && stderr.contains("missing.toml"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unreachable_venue_is_retried_with_backoff_and_counted() {
    let port = closed_port();
    let endpoint = Endpoint::parse(&format!("ws://127.0.0.1:{port}/v2")).unwrap();
    let tls = TlsSettings {
        extra_root_pem: None,
        use_webpki_roots: false,
        server_name_override: None,
    };
    let mut cfg = core_config_for(endpoint, tls, &[("BTC/USD", 10)]);
    // Two instant retries, then an hour: the attempts stop at exactly three.
    cfg.backoff.instant_retries = 2;
    cfg.backoff.initial = Duration::from_secs(3_600);
    cfg.backoff.max = Duration::from_secs(3_600);
    let mut core = core(cfg);
    poll_until(&mut core, "three refused attempts", |c| {
        c.counters().connect_failures == 3
    });
    poll_for(&mut core, Duration::from_millis(300));
    let c = *core.counters();
    assert_eq!(c.connect_failures, 3, "{}", describe(&core));
    assert_eq!((c.connects, c.reconnects, c.disconnects), (0, 0, 0));
    assert_eq!(
        c.connect_failures_by_cause.named().collect::<Vec<_>>(),
        [("connect_failed", 3)]
    );
    assert_eq!(core.publisher().links_up, 0);
    assert_eq!(
        core.feed().book(0).unwrap().state,
        SubscriptionState::Inactive
    );
    let s = core.snapshot();
    assert_eq!(s.link, kspin::runtime::LinkState::Waiting);
}

#[test]
fn kspin_run_against_a_closed_port_exits_cleanly() {
    let dir = scratch("closed");
    let port = closed_port();
    let cfg = write(
        &dir,
        "closed.toml",
        &format!(
            "[venue]\nurl = \"ws://127.0.0.1:{port}/v2\"\nwebpki_roots = false\n\
             [engine]\nlock_memory = false\n\
             [backoff]\ninitial_ms = 50\nmax_ms = 200\njitter = 0.0\n\
             [[subscription]]\nsymbols = [\"BTC/USD\"]\nchannels = [\"book\"]\ndepth = 10\n\
             precision = {{ \"BTC/USD\" = \"1:8\" }}\n"
        ),
    );
    let out = run_kspin(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--duration",
        "2",
        "--json",
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let summary: Value = serde_json::from_slice(&out.stdout).expect("one JSON summary");
    assert!(
        summary["connect_failures"].as_u64().unwrap() >= 4,
        "{summary}"
    );
    assert_eq!(summary["connects"], 0);
    assert_eq!(summary["frames"], 0);
    assert_eq!(summary["symbols"]["BTC/USD"]["state"], "inactive");
    assert_eq!(
        summary["connect_failures_by_cause"],
        serde_json::json!({"connect_failed": summary["connect_failures"]}),
        "{summary}"
    );
    assert_eq!(summary["disconnects_by_cause"], serde_json::json!({}));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_rejected_certificate_is_counted_and_never_retried_at_once() {
    // Over real sockets: the venue presents its certificate; the core trusts another venue's.
    let real = venue(true, &["BTC/USD"], 100, false);
    let impostor = venue(true, &["BTC/USD"], 100, false);
    let (endpoint, mut tls) = endpoint_of(&real);
    tls.extra_root_pem = impostor.cert_pem().map(str::to_owned);
    let mut cfg = core_config_for(endpoint, tls, &[("BTC/USD", 10)]);
    // Three instant retries for other failures, then an hour: a certificate failure gets none.
    cfg.core.backoff.initial = Duration::from_secs(3_600);
    cfg.core.backoff.max = Duration::from_secs(3_600);
    let mut core = core(cfg);
    poll_until(&mut core, "the rejected certificate", |c| {
        c.counters().connect_failures == 1
    });
    poll_for(&mut core, Duration::from_millis(300));
    let c = *core.counters();
    assert_eq!(c.connect_failures, 1, "{}", describe(&core));
    assert_eq!(
        c.connect_failures_by_cause.named().collect::<Vec<_>>(),
        [("certificate_rejected", 1)]
    );
    assert_eq!((c.connects, c.disconnects), (0, 0));
    assert_eq!(real.stats().connections_open, 0);

    // `kspin run` says so in its JSON and loudly on stderr.
    let dir = scratch("certificate");
    let trust = write(
        &dir,
        "impostor.pem",
        impostor.cert_pem().unwrap_or_default(),
    );
    let cfg = write(
        &dir,
        "certificate.toml",
        &format!(
            "[venue]\nurl = \"wss://127.0.0.1:{}/v2\"\nwebpki_roots = false\ntrust_pem = {:?}\n\
             [engine]\nlock_memory = false\n\
             [backoff]\ninitial_ms = 3600000\nmax_ms = 3600000\njitter = 0.0\n\
             [[subscription]]\nsymbols = [\"BTC/USD\"]\nchannels = [\"book\"]\ndepth = 10\n\
             precision = {{ \"BTC/USD\" = \"1:8\" }}\n",
            real.local_addr().port(),
            trust.display().to_string()
        ),
    );
    let out = run_kspin(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--duration",
        "1.5",
        "--json",
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let summary: Value = serde_json::from_slice(&out.stdout).expect("one JSON summary");
    assert_eq!(
        summary["connect_failures_by_cause"],
        serde_json::json!({"certificate_rejected": 1}),
        "{summary}"
    );
    assert_eq!(summary["connects"], 0);
    assert!(
        stderr.contains("was REJECTED (1 time(s) so far)"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `kspin sim` child, killed (by its own id) when dropped.
struct SimProcess(Child);

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn kspin_run_recovers_from_faults_of_a_separate_kspin_sim() {
    let dir = scratch("twoproc");
    let pem = dir.join("venue.pem");
    let mut sim = SimProcess(
        Command::new(KSPIN)
            .args([
                "sim",
                "--port",
                "0",
                "--tls",
                "--cert-out",
                pem.to_str().unwrap(),
                "--rate",
                "1000",
                "--symbols",
                "BTC/USD,ETH/USD,DOGE/USD",
                "--heartbeat",
                "200ms",
                "--fault",
                "corrupt:ETH/USD@1s",
                "--fault",
                "drop@4s",
                "--duration",
                "60s",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("kspin sim starts"),
    );
    // `kspin sim: serving wss://localhost:PORT/v2`
    let stdout = sim.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + BUDGET;
    let url = loop {
        let line = lines.next().expect("sim output").unwrap();
        if let Some(url) = line.strip_prefix("kspin sim: serving ") {
            break url.to_owned();
        }
        assert!(Instant::now() < deadline, "no URL from kspin sim");
    };
    let port: u16 = url
        .trim_end_matches("/v2")
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // The certificate names 127.0.0.1 as well as localhost: connect by address.
    let cfg = write(
        &dir,
        "run.toml",
        &format!(
            "[venue]\nurl = \"wss://127.0.0.1:{port}/v2\"\ntrust_pem = \"{}\"\nwebpki_roots = false\n\
             [engine]\nlock_memory = false\nstall_timeout_ms = 2000\n\
             [backoff]\ninitial_ms = 50\nmax_ms = 500\n\
             [[subscription]]\nsymbols = [\"BTC/USD\", \"ETH/USD\"]\nchannels = [\"book\", \"trade\"]\ndepth = 10\n\
             [[subscription]]\nsymbols = [\"DOGE/USD\"]\nchannels = [\"book\"]\ndepth = 100\n",
            pem.display()
        ),
    );
    let out = run_kspin(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--duration",
        "7",
        "--json",
        "--quiet",
    ]);
    // Stop the venue (SIGTERM to the child we started) and read its final counters line.
    // SAFETY: `kill` on the id of our own child process, which has not been waited for yet.
    unsafe {
        libc::kill(sim.0.id() as libc::pid_t, libc::SIGTERM);
    }
    let venue_stats = lines
        .map_while(Result::ok)
        .find(|l| l.starts_with("kspin sim: stopped;"))
        .expect("kspin sim prints its counters when stopped");
    drop(sim);
    let venue = |k: &str| -> u64 {
        let at = venue_stats.find(&format!("{k}: ")).expect(k) + k.len() + 2;
        venue_stats[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let s: Value = serde_json::from_slice(&out.stdout).expect("one JSON summary");
    let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("{k} in {s}"));
    // The drop: one disconnect, then a reconnect; the venue saw the same.
    assert_eq!(n("disconnects"), 1, "{s}");
    assert_eq!(n("connects"), 2, "{s}");
    // The drop cut TCP under TLS: no close_notify; our own stop at the end is counted too.
    assert_eq!(
        s["disconnects_by_cause"],
        serde_json::json!({"eof_without_close_notify": 1, "local_stop": 1}),
        "{s}"
    );
    assert_eq!(venue("connections_cut"), 1, "{venue_stats}");
    assert_eq!(venue("connections_open"), 2, "{venue_stats}");
    assert_eq!(venue("checksums_corrupted"), 1, "{venue_stats}");
    assert_eq!(n("connect_failures"), 0, "{s}");
    // The corruption: one mismatch, one resync of that one symbol.
    assert_eq!((n("checksum_mismatch"), n("resyncs")), (1, 1), "{s}");
    assert_eq!(s["symbols"]["ETH/USD"]["resyncs"], 1);
    assert_eq!(s["symbols"]["BTC/USD"]["resyncs"], 0);
    assert_eq!(s["symbols"]["DOGE/USD"]["resyncs"], 0);
    assert_eq!((n("decode_errors"), n("error_acks")), (0, 0), "{s}");
    // Every applied message was verified: book messages are exactly those checked (ok or
    // mismatched) plus those dropped while a book waited for its snapshot.
    assert!(n("checksum_ok") > 1_000, "{s}");
    assert_eq!(
        n("book_messages"),
        n("checksum_ok") + n("checksum_mismatch") + n("dropped_not_live"),
        "{s}"
    );
    for symbol in ["BTC/USD", "ETH/USD", "DOGE/USD"] {
        assert_eq!(s["symbols"][symbol]["state"], "live", "{symbol}: {s}");
        assert_eq!(
            s["symbols"][symbol]["checksum_mismatch"],
            u64::from(symbol == "ETH/USD")
        );
    }
    assert_eq!(s["symbols"]["DOGE/USD"]["depth"], 100);
    let _ = std::fs::remove_dir_all(&dir);
}
