//! Replaying files through a target: the corpus and crash directories of every target (the
//! `cargo test -p kspin-fuzz` regression test), and the stable-toolchain `main` of the
//! `fuzz_targets/` binaries (`cargo run -p kspin-fuzz --bin decode_frame -- FILE...`).
//!
//! Owns the layout: `corpus/<target>/` (seeds and what fuzzing found worth keeping) and
//! `artifacts/<target>/` (crash reproducers, where cargo-fuzz writes them), one input per file;
//! files whose name starts with `.` (such as `.gitkeep`) are not inputs. Invariants: a replay
//! runs every file even after one fails, and names every file that failed. It never writes.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::{fuzz_dir, Target, Verdict};

/// `corpus/<target>/`.
pub fn corpus_dir(target: &Target) -> PathBuf {
    fuzz_dir().join("corpus").join(target.name)
}

/// `artifacts/<target>/`: crash reproducers (cargo-fuzz's `-artifact_prefix`).
pub fn artifacts_dir(target: &Target) -> PathBuf {
    fuzz_dir().join("artifacts").join(target.name)
}

/// The input files of `dir`, sorted by name; none if it does not exist.
pub fn input_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if entry.file_type()?.is_file() && !hidden {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// What replaying some files gave.
#[derive(Debug, Default)]
pub struct ReplayReport {
    pub files: usize,
    pub accepted: usize,
    /// The files whose replay panicked (an invariant broke), with the panic message.
    pub failures: Vec<(PathBuf, String)>,
}

/// The message of a caught panic.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(panic without a message)".to_owned()
    }
}

/// Runs `target` over `files`, catching panics so that every file runs.
pub fn replay_files(target: &Target, files: &[PathBuf]) -> std::io::Result<ReplayReport> {
    let mut report = ReplayReport::default();
    for path in files {
        let input = std::fs::read(path)?;
        report.files += 1;
        match panic::catch_unwind(AssertUnwindSafe(|| (target.run)(&input))) {
            Ok(Verdict::Accepted) => report.accepted += 1,
            Ok(Verdict::Rejected) => {}
            Err(payload) => report
                .failures
                .push((path.clone(), panic_message(payload.as_ref()))),
        }
    }
    Ok(report)
}

/// The `main` of a `fuzz_targets/` binary built without cargo-fuzz: replays the files and
/// directories named on the command line (by default the target's corpus and artifacts) and
/// fails if any input breaks an invariant.
pub fn main(target: &Target) -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let roots = if args.is_empty() {
        vec![corpus_dir(target), artifacts_dir(target)]
    } else {
        args
    };
    let mut files = Vec::new();
    for root in roots {
        if root.is_dir() {
            match input_files(&root) {
                Ok(found) => files.extend(found),
                Err(e) => {
                    eprintln!("{}: {e}", root.display());
                    return ExitCode::FAILURE;
                }
            }
        } else {
            files.push(root);
        }
    }
    match replay_files(target, &files) {
        Ok(report) => {
            println!(
                "{}: {} inputs, {} accepted, {} failed",
                target.name,
                report.files,
                report.accepted,
                report.failures.len()
            );
            for (path, message) in &report.failures {
                println!("FAILED {}: {message}", path.display());
            }
            if report.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("{}: {e}", target.name);
            ExitCode::FAILURE
        }
    }
}
