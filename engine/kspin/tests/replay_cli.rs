//! `kspin replay` end to end: the vendored vectors through the real decoder → feed → book →
//! checksum path, exact figures, injected corruption, bad lines and exit codes.

use std::path::PathBuf;
use std::process::Command;

use kspin::app::replay::{replay_text, ReplayArgs, ReplayReport};

fn vector_path(name: &str) -> PathBuf {
    [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "testdata",
        "vectors",
        name,
    ]
    .iter()
    .collect()
}

fn args(file: PathBuf) -> ReplayArgs {
    ReplayArgs {
        file,
        json: false,
        depth: None,
        precision: Vec::new(),
        paced: false,
        strategies: None,
        latency_us: None,
        latency_jitter_us: None,
        seed: None,
        queue: None,
        plot: None,
        timings: false,
    }
}

fn replay(name: &str, tweak: impl FnOnce(&mut ReplayArgs)) -> ReplayReport {
    let path = vector_path(name);
    let text = std::fs::read(&path).unwrap();
    let mut a = args(path);
    tweak(&mut a);
    replay_text(name, &text, &a).unwrap()
}

fn replay_bytes(text: &str) -> ReplayReport {
    replay_text("inline", text.as_bytes(), &args(PathBuf::from("inline"))).unwrap()
}

#[test]
fn mina_gbp_recording_verifies_all_30_checksums_with_exact_final_book() {
    let r = replay("real_minagbp_d25_2026-08-16.jsonl", |_| {});
    assert_eq!(
        (
            r.frames,
            r.book_messages,
            r.checksum_ok,
            r.checksum_mismatch,
            r.errors
        ),
        (33, 30, 30, 0, 0)
    );
    assert_eq!(r.exit_code(), 0);
    let s = &r.symbols[0];
    assert_eq!(
        (s.symbol.as_str(), s.depth, s.depth_source),
        ("MINA/GBP", 25, "ack")
    );
    assert_eq!(
        (s.price_decimals, s.qty_decimals, s.precision_source),
        (4, 8, "inferred")
    );
    assert_eq!(s.best_bid, Some(("0.0286".into(), "74198.19125726".into())));
    assert_eq!(s.best_ask, Some(("0.0288".into(), "32416.38964164".into())));
    let j = r.to_json();
    assert_eq!(j["checksum_ok"], 30);
    assert_eq!(j["symbols"]["MINA/GBP"]["best_bid"], "0.0286");
    assert_eq!(j["symbols"]["MINA/GBP"]["depth"], 25);
}

#[test]
fn every_book_vector_verifies() {
    let cases: [(&str, u64); 4] = [
        ("real_algousd_d10_2024-10-03.jsonl", 2),
        ("real_btcusdt_d25_snapshot.jsonl", 1),
        ("docs_spot-ws-book-v2_example.jsonl", 1),
        ("docs_websocket-v2-book_MATICUSD_example.jsonl", 2),
    ];
    for (name, ok) in cases {
        let r = replay(name, |_| {});
        assert_eq!(
            (r.checksum_ok, r.checksum_mismatch, r.errors),
            (ok, 0, 0),
            "{name}"
        );
    }
    let btc = replay("real_btcusdt_d25_snapshot.jsonl", |_| {});
    assert_eq!(
        (btc.symbols[0].depth, btc.symbols[0].depth_source),
        (25, "inferred")
    );
}

#[test]
fn precision_and_depth_flags_override() {
    let r = replay("docs_websocket-v2-book_MATICUSD_example.jsonl", |a| {
        a.precision = vec!["MATIC/USD=4:8".into()]
    });
    let matic = r.symbols.iter().find(|s| s.symbol == "MATIC/USD").unwrap();
    assert_eq!(
        (matic.precision_source, matic.checksum_ok),
        ("configured", 2)
    );
    // The wrong precision makes every checksum fail (and the prices do not fit 3 decimals).
    let wrong = replay("docs_websocket-v2-book_MATICUSD_example.jsonl", |a| {
        a.precision = vec!["MATIC/USD=5:8".into()]
    });
    assert_eq!((wrong.checksum_ok, wrong.checksum_mismatch), (0, 1));
    assert_eq!(wrong.exit_code(), 1);
    let deep = replay("real_minagbp_d25_2026-08-16.jsonl", |a| a.depth = Some(100));
    assert_eq!(
        (deep.symbols[0].depth, deep.symbols[0].depth_source),
        (100, "configured")
    );
}

#[test]
fn a_corrupted_checksum_is_reported_at_its_line_and_the_book_waits_for_a_snapshot() {
    let text = std::fs::read_to_string(vector_path("real_minagbp_d25_2026-08-16.jsonl")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // Line 10 is a book update; change its checksum.
    let at = lines[9].find("\"checksum\":").unwrap() + "\"checksum\":".len();
    let end = at + lines[9][at..].find(|c: char| !c.is_ascii_digit()).unwrap();
    let wrong = lines[9][at..end].parse::<u32>().unwrap().wrapping_add(1);
    lines[9].replace_range(at..end, &wrong.to_string());
    let r = replay_bytes(&lines.join("\n"));
    assert_eq!(r.checksum_mismatch, 1);
    assert_eq!(r.symbols[0].first_mismatch_line, Some(10));
    assert_eq!(
        r.checksum_ok, 6,
        "snapshot (line 3) and updates on lines 5..=9 verified; later updates wait for a snapshot"
    );
    assert_eq!(r.symbols[0].state, "awaiting_snapshot");
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn bad_lines_are_reported_with_their_number_and_the_replay_goes_on() {
    let text = std::fs::read_to_string(vector_path("real_algousd_d10_2024-10-03.jsonl")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(1, "{not json");
    lines.insert(3, r#"{"channel":"book","type":"update","data":[{"symbol":"ALGO/USD","bids":[{"price":"x","qty":1}],"asks":[],"checksum":1}]}"#);
    let r = replay_bytes(&lines.join("\n"));
    assert_eq!(r.errors, 2);
    assert_eq!(
        r.error_lines.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        vec![2, 4]
    );
    assert_eq!((r.checksum_ok, r.checksum_mismatch), (2, 0));
    // Two frames could not be verified: the replay says so in its exit code.
    assert_eq!(r.exit_code(), 1);
    let clean = replay("real_algousd_d10_2024-10-03.jsonl", |_| {});
    assert_eq!(clean.exit_code(), 0);
}

/// A level the book refuses (here a price with more decimals than the pair's precision) sends
/// the book to wait for a snapshot that never comes: the report names the refusal by reason,
/// counts every later update dropped, lists the book as not live, and exits 1.
#[test]
fn refused_levels_and_dropped_updates_are_reported_and_fail_the_replay() {
    let text = std::fs::read_to_string(vector_path("real_minagbp_d25_2026-08-16.jsonl")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert!(lines[6].contains(r#""price":0.0278,"#));
    lines[6] = lines[6].replace(r#""price":0.0278,"#, r#""price":0.02781,"#);
    let r = replay_bytes(&lines.join("\n"));
    // The snapshot and two updates verify before line 7 (the fourth book message).
    assert_eq!(
        (r.checksum_ok, r.checksum_mismatch, r.rejected_messages),
        (3, 0, 1)
    );
    assert_eq!(
        r.rejected_by_reason.iter().collect::<Vec<_>>(),
        [(&"price_too_precise", &1)]
    );
    assert_eq!(r.dropped_not_live, 30 - 3 - 1);
    assert_eq!(r.books_not_live, ["MINA/GBP"]);
    assert_eq!(r.symbols[0].state, "awaiting_snapshot");
    assert_eq!(r.exit_code(), 1);
    let j = r.to_json();
    assert_eq!(j["rejected_by_reason"]["price_too_precise"], 1);
    assert_eq!(j["dropped_not_live"], 26);
    assert_eq!(j["books_not_live"][0], "MINA/GBP");
    assert_eq!(j["exit_code"], 1);

    // A negative quantity is refused for its own reason.
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[6] = lines[6].replace(r#""qty":13018.62844188"#, r#""qty":-13018.62844188"#);
    let r = replay_bytes(&lines.join("\n"));
    assert_eq!(
        r.rejected_by_reason.iter().collect::<Vec<_>>(),
        [(&"qty_negative", &1)]
    );
    assert_eq!(r.exit_code(), 1);
}

/// An 80,000-deep frame, once inside a book update's `data` and once in an unknown field of a
/// heartbeat, used to overflow the stack and abort `kspin replay` (exit 134). Now each is one
/// counted bad line and the recording around them still verifies 30 of 30.
#[test]
fn deeply_nested_frames_are_bad_lines_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(80_000), "]".repeat(80_000));
    let text = std::fs::read_to_string(vector_path("real_minagbp_d25_2026-08-16.jsonl")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.insert(
        10,
        format!(
            r#"{{"channel":"book","type":"update","data":[{{"symbol":"MINA/GBP","bids":{deep},"asks":[],"checksum":1}}]}}"#
        ),
    );
    lines.insert(5, format!(r#"{{"channel":"heartbeat","x":{deep}}}"#));
    let path = std::env::temp_dir().join(format!("kspin-deep-{}.jsonl", std::process::id()));
    std::fs::write(&path, lines.join("\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kspin"))
        .args(["replay", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(out.status.code().is_some(), "killed by a signal: {out:?}");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["errors"], 2);
    assert_eq!(j["checksum_ok"], 30);
    assert_eq!(j["checksum_mismatch"], 0);
    let lines: Vec<u64> = j["error_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [6, 12]);
    assert!(j["error_lines"][0]["error"]
        .as_str()
        .unwrap()
        .contains("nested deeper than 32"));
}

#[test]
fn a_file_with_no_frame_is_exit_2() {
    assert_eq!(replay_bytes("garbage\nmore garbage\n").exit_code(), 2);
}

#[test]
fn the_binary_prints_json_and_sets_exit_codes() {
    let exe = env!("CARGO_BIN_EXE_kspin");
    let out = Command::new(exe)
        .args(["replay", "--json"])
        .arg(vector_path("real_minagbp_d25_2026-08-16.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "frames",
        "book_messages",
        "checksum_ok",
        "checksum_mismatch",
        "errors",
        "symbols",
    ] {
        assert!(j.get(key).is_some(), "missing {key}");
    }
    for key in [
        "depth",
        "checksum_ok",
        "checksum_mismatch",
        "best_bid",
        "best_ask",
    ] {
        assert!(
            j["symbols"]["MINA/GBP"].get(key).is_some(),
            "missing symbols.*.{key}"
        );
    }
    let missing = Command::new(exe)
        .args(["replay", "/nonexistent/kspin.jsonl"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));
}
