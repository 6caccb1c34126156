//! `kspin bench latency --json` end to end, short: the venue, the engine core, the strategy host
//! and the floor clients run, the stamps join, and the report has the figures users script
//! against. Asserts presence and counts, never speed (the machine is shared and noisy).

use std::process::Command;

use serde_json::Value;

#[test]
fn latency_reports_wire_to_strategy_with_every_stage_and_writes_its_files() {
    let out = std::env::temp_dir().join(format!("kspin-bench-test-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_kspin"))
        .args([
            "bench",
            "latency",
            "--json",
            "--runs",
            "1",
            "--seconds",
            "0.5",
            "--warmup",
            "0.3",
            "--rate",
            "2000",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("kspin runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("clocksource"),
        "run conditions printed: {stderr}"
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(report["bench"], "latency");
    let latency = &report["latency_ns"];
    for phase in ["kspin", "kspin_recording"] {
        let p = &latency[phase];
        for span in [
            "wire_to_received",
            "wire_to_returned",
            "wire_to_published",
            "wire_to_read",
            "read_to_decoded",
            "decoded_to_applied",
            "applied_to_published",
            "published_to_received",
            "received_to_returned",
        ] {
            for q in ["p50", "p90", "p99", "p99_9", "p99_99", "max"] {
                assert!(
                    p[span][q].as_u64().is_some_and(|v| v > 0),
                    "{phase}.{span}.{q}: {p}"
                );
            }
        }
        assert_eq!(p["checksum_mismatch"], 0, "{phase}");
        let samples = p["samples_per_run"][0].as_u64().unwrap();
        let reached = p["strategy_samples_per_run"][0].as_u64().unwrap();
        assert!(
            samples > 0 && reached > 0 && reached <= samples,
            "{phase}: {p}"
        );
    }
    for phase in ["floor", "floor_spin"] {
        assert!(latency[phase]["wire_to_read"]["p50"]
            .as_u64()
            .is_some_and(|v| v > 0));
    }
    let summary = &latency["summary"];
    for key in [
        "kspin_wire_to_strategy_p50",
        "strategy_overhead_over_spin_floor_p50_ns",
        "kspin_wire_to_published_p50",
        "overhead_over_floor_p50_ns",
        "recording_p50_delta_ns",
    ] {
        assert!(summary[key].is_i64(), "{key}: {summary}");
    }
    assert!(summary["target_wire_to_strategy_p50_met"].is_boolean());
    // One round cannot show the floor is stable: never "met", whatever the figures.
    assert_eq!(summary["rounds"], 1, "{summary}");
    assert_eq!(summary["verdict"], "unreliable", "{summary}");
    assert_eq!(summary["strategy_verdict"], "unreliable", "{summary}");
    assert_eq!(summary["target_p50_met"], false, "{summary}");
    for key in [
        "floor_spin_p50_per_round",
        "kspin_wire_to_published_p50_per_round",
        "paired_overhead_over_spin_floor_p50_ns_per_round",
    ] {
        assert_eq!(summary[key].as_array().map(Vec::len), Some(1), "{key}");
    }
    for key in ["median", "min", "max", "q1", "q3"] {
        assert!(summary["paired_overhead_over_spin_floor_p50_ns"][key].is_i64());
    }
    // The strategy thread is listed with its core.
    let threads = report["threads"].as_array().unwrap();
    assert!(threads
        .iter()
        .any(|t| t["text"].as_str().unwrap_or("").contains("latency_probe")));
    // One .hgrm per reported span, and the plot.
    let files: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(files
        .iter()
        .any(|f| f.ends_with("latency-kspin-wire_to_received.hgrm")));
    assert!(files.iter().any(|f| f.ends_with("latency.svg")));
    for f in &files {
        assert!(std::fs::metadata(f).is_ok_and(|m| m.len() > 0), "{f}");
    }
    let svg = std::fs::read_to_string(out.join("latency.svg")).unwrap();
    assert!(svg.contains("kspin wire→strategy"));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn tick_to_trade_reports_the_engine_share_and_the_baseline() {
    let out = std::env::temp_dir().join(format!("kspin-t2t-test-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_kspin"))
        .args([
            "bench",
            "tick-to-trade",
            "--json",
            "--runs",
            "1",
            "--seconds",
            "0.5",
            "--warmup",
            "0.3",
            "--rate",
            "2000",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("kspin runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("clocksource"),
        "run conditions printed: {stderr}"
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(report["bench"], "tick-to-trade");
    for key in [
        "tick_to_trade_ns",
        "engine_ns",
        "baseline_ns",
        "engine_before_write_ns",
    ] {
        for q in ["p50", "p99", "p99_9", "max"] {
            assert!(
                report[key][q].as_u64().is_some_and(|v| v > 0),
                "{key}.{q}: {report}"
            );
        }
    }
    assert!(report["orders"].as_u64().unwrap() > 0);
    assert_eq!(report["order_rejects"], 0);
    assert!(report["ratio_p50_to_baseline"].as_f64().unwrap() > 0.0);
    for step in [
        "read_to_decoded_ns",
        "dequeued_to_risk_passed_ns",
        "encoded_to_written_ns",
    ] {
        assert!(report[step]["count"].as_u64().unwrap() > 0, "{step}");
    }
    let files = report["files"].as_array().unwrap();
    assert!(files
        .iter()
        .any(|f| f.as_str().unwrap().ends_with("tick_to_trade-engine.hgrm")));
    let _ = std::fs::remove_dir_all(&out);
}
