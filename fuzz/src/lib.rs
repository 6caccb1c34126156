//! kspin-fuzz: the fuzz targets for everything in kspin that parses bytes from outside, as plain
//! library functions.
//!
//! Owns the six target bodies ([`targets`]), the table that names them ([`TARGETS`]), the seed
//! corpora's generator ([`seeds`]), a small stable-Rust mutation loop ([`shake`]) and the replay
//! of corpus and crash files ([`replay`]). Invariants: a target function takes any bytes, never
//! panics on input the engine must survive, and panics (the fuzzer's crash signal) only when an
//! engine invariant is broken; it keeps no state between calls that could change its verdict.
//! The `fuzz_targets/` binaries are thin wrappers: libFuzzer entry points under cargo-fuzz
//! (`--cfg fuzzing`), file replayers otherwise. Never linked into the engine.

pub mod replay;
pub mod seeds;
pub mod shake;
pub mod targets;

/// What a target made of one input. Fuzzing ignores it; the corpus replay uses it to check that
/// the seeds still reach past the first parser (a seed that is rejected up front tests little).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Some of the input was accepted: a frame decoded, a book was published, a record
    /// authenticated, a capture or config was read.
    Accepted,
    /// Everything was refused with a typed error.
    Rejected,
}

impl Verdict {
    /// `Accepted` if `accepted`.
    pub fn from_accepted(accepted: bool) -> Verdict {
        if accepted {
            Verdict::Accepted
        } else {
            Verdict::Rejected
        }
    }
}

/// A target: its name (the directory name under `corpus/` and `artifacts/`, and the cargo-fuzz
/// target name) and its body.
#[derive(Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]) -> Verdict,
}

/// Every target, in the order of `fuzz/README.md`.
pub const TARGETS: [Target; 6] = [
    Target {
        name: "decode_frame",
        run: targets::decode_frame,
    },
    Target {
        name: "book_sequence",
        run: targets::book_sequence,
    },
    Target {
        name: "ws_frames",
        run: targets::ws_frames,
    },
    Target {
        name: "tls_records",
        run: targets::tls_records,
    },
    Target {
        name: "capture_reader",
        run: targets::capture_reader,
    },
    Target {
        name: "config",
        run: targets::config,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}

/// The fuzz crate's directory (holding `corpus/`, `artifacts/`, `kraken.dict`).
pub fn fuzz_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
