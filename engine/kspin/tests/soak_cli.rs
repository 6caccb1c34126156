//! The short fault soak CI runs: `kspin soak --faults 12 --seed 3 --json` against the simulated
//! venue over TLS. Twelve faults cover every class once (the soak's first pass) plus one; the
//! targets are exact: every fault injected and recovered, every published book equal to the
//! venue's reference book after the same frame (none unverifiable), no panic, no strategy
//! replica divergence, Kraken's reconnect limits respected, and the disconnects the faults
//! cause named by their causes. The long run (10,000 faults) is in the README.

use std::process::{Command, Stdio};

use serde_json::Value;

const KSPIN: &str = env!("CARGO_BIN_EXE_kspin");

const CLASSES: [&str; 11] = [
    "drop",
    "stall",
    "corrupt_checksum",
    "malformed_frame",
    "oversized_frame",
    "deep_nesting",
    "truncated_tls_record",
    "close_without_close_notify",
    "maintenance",
    "burst",
    "slow_strategy",
];

#[test]
fn a_short_soak_meets_every_target() {
    let out = Command::new(KSPIN)
        .args(["soak", "--faults", "12", "--seed", "3", "--json", "--quiet"])
        .stdin(Stdio::null())
        .output()
        .expect("kspin runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let r: Value = serde_json::from_slice(&out.stdout).expect("one JSON report");
    assert_eq!(out.status.code(), Some(0), "{r}\n{stderr}");
    let n = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("{k} in {r}"));
    assert_eq!(r["passed"], true, "{r}");
    assert_eq!(n("faults_injected_total"), 12);
    for class in CLASSES {
        assert!(
            r["faults_injected"][class].as_u64() >= Some(1),
            "{class} never injected: {r}"
        );
    }
    assert_eq!(n("recoveries"), 12, "{r}");
    assert_eq!(n("unrecovered"), 0);
    assert_eq!(
        (n("wrong_books_published"), n("books_unverifiable")),
        (0, 0)
    );
    assert!(n("books_checked") > 0);
    assert_eq!(n("panics"), 0);
    assert_eq!(r["reconnect_limits"]["respected"], true, "{r}");
    assert!(r["reconnect_limits"]["max_attempts_in_10_min"].as_u64() <= Some(150));
    assert!(n("reconnects") >= 1);
    assert!(n("max_recovery_ms") >= 5_000, "maintenance waits 5 s: {r}");
    assert!(n("rss_start_kb") > 0 && n("rss_end_kb") > 0);
    assert_eq!(r["strategy"]["replica_resnapshots"], 0);
    assert_eq!(r["strategy"]["assembly_faults"], 0);
    // Causes: the venue's close without close_notify starts with a WebSocket close 1001; the
    // oversized frame exceeds the frame limit.
    let cause = |k: &str| r["disconnects_by_cause"][k].as_u64().unwrap_or(0);
    assert_eq!(
        cause("websocket_close_1001"),
        r["faults_injected"]["close_without_close_notify"]
            .as_u64()
            .unwrap_or(0)
    );
    assert_eq!(
        cause("frame_too_large"),
        r["faults_injected"]["oversized_frame"]
            .as_u64()
            .unwrap_or(0)
    );
    // Every book message verified was published and checked.
    assert_eq!(n("checksum_ok"), n("books_checked"));
}
