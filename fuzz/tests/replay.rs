//! Every corpus file and every crash reproducer of every target, replayed through the target
//! functions on the stable toolchain: what fuzzing once found stays fixed, and the seeds keep
//! reaching past the first parser.

use kspin_fuzz::replay::{artifacts_dir, corpus_dir, input_files, replay_files};
use kspin_fuzz::TARGETS;

#[test]
fn every_corpus_and_crash_file_replays_cleanly() {
    let mut failures = Vec::new();
    for target in &TARGETS {
        let corpus = input_files(&corpus_dir(target)).unwrap();
        let crashes = input_files(&artifacts_dir(target)).unwrap();
        assert!(!corpus.is_empty(), "{}: empty corpus", target.name);
        let corpus_report = replay_files(target, &corpus).unwrap();
        let crash_report = replay_files(target, &crashes).unwrap();
        println!(
            "{}: {} corpus files ({} accepted), {} crash reproducers",
            target.name, corpus_report.files, corpus_report.accepted, crash_report.files
        );
        // A corpus that no longer gets past the first parser (say, TLS seeds sealed with an old
        // key) would fuzz only the error paths.
        assert!(
            corpus_report.accepted > 0,
            "{}: no corpus file is accepted any more; regenerate the seeds (fuzz/README.md)",
            target.name
        );
        failures.extend(corpus_report.failures);
        failures.extend(crash_report.failures);
    }
    assert!(
        failures.is_empty(),
        "inputs that break an invariant:\n{}",
        failures
            .iter()
            .map(|(path, message)| format!("{}: {message}", path.display()))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_deep_nesting_regression_is_in_the_crash_sets() {
    let frame = kspin_fuzz::seeds::deep_nesting_frame();
    for name in ["decode_frame", "book_sequence"] {
        let target = kspin_fuzz::target(name).unwrap();
        let found = input_files(&artifacts_dir(&target))
            .unwrap()
            .iter()
            .any(|path| std::fs::read(path).unwrap() == frame);
        assert!(
            found,
            "{name}: the 80,000-deep frame is missing from its artifacts"
        );
    }
}

#[test]
fn the_committed_seeds_are_the_generated_ones() {
    // A seed whose generator changed (a key, a format) must be regenerated, not left stale.
    let mut stale = Vec::new();
    for seed in kspin_fuzz::seeds::seeds().unwrap() {
        let target = kspin_fuzz::target(seed.target).unwrap();
        let path = corpus_dir(&target).join(&seed.name);
        if std::fs::read(&path).ok().as_deref() != Some(&seed.bytes[..]) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "seeds differ from their generator; run `cargo test -p kspin-fuzz -- --ignored write_seed_corpora`:\n{}",
        stale.join("\n")
    );
}

/// Rewrites the generated seeds and regression inputs (fuzzing's own corpus files are kept).
#[test]
#[ignore = "writes into fuzz/corpus and fuzz/artifacts; run when a seed generator changes"]
fn write_seed_corpora() {
    let written = kspin_fuzz::seeds::write_all(&kspin_fuzz::fuzz_dir()).unwrap();
    println!("wrote {} files", written.len());
}
