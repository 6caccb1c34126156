//! The stable-toolchain mutation loop over every target (see `kspin_fuzz::shake`): for machines
//! without nightly Rust. `KSPIN_SHAKE_SECS` sets the seconds per target (default 15); failing
//! inputs are written under the test's temporary directory and the test fails naming them.
//!
//! `cargo test -p kspin-fuzz --release --test shake -- --ignored --nocapture`

use std::time::Duration;

use kspin_fuzz::replay::{artifacts_dir, corpus_dir, input_files};
use kspin_fuzz::shake::{read_dictionary, shake};
use kspin_fuzz::TARGETS;

#[test]
#[ignore = "runs for KSPIN_SHAKE_SECS (default 15) seconds per target"]
fn shake_every_target() {
    let secs: u64 = std::env::var("KSPIN_SHAKE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let dict_text = std::fs::read_to_string(kspin_fuzz::fuzz_dir().join("kraken.dict")).unwrap();
    let dict = read_dictionary(&dict_text);
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("shake");
    let mut failed = Vec::new();
    for (i, target) in TARGETS.iter().enumerate() {
        let mut seeds = Vec::new();
        for dir in [corpus_dir(target), artifacts_dir(target)] {
            for path in input_files(&dir).unwrap() {
                seeds.push(std::fs::read(path).unwrap());
            }
        }
        let report = shake(
            target,
            seeds,
            &dict,
            Duration::from_secs(secs),
            0x6b73_7069_6e00 + i as u64,
        );
        println!(
            "{}: {} executions ({}/s), {} accepted, {} kept, {} failures",
            report.target,
            report.executions,
            report.executions / secs.max(1),
            report.accepted,
            report.kept,
            report.failures.len()
        );
        for (n, (input, message)) in report.failures.iter().enumerate() {
            let dir = out.join(target.name);
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("crash-{n}"));
            std::fs::write(&path, input).unwrap();
            println!(
                "  FAILED {}: {}",
                path.display(),
                message.lines().next().unwrap_or("")
            );
            failed.push(path);
        }
    }
    assert!(failed.is_empty(), "failing inputs written: {failed:?}");
}
