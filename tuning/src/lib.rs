//! Host checks and tuning for a colocated kspin box (`kspin tune`, and the engine's start-up).
//!
//! - [`check`]: reads `/proc` and `/sys` (below any root, so tests use fake trees) and reports
//!   what on the host costs a busy-polling engine latency, with the wanted value and the fix.
//! - [`cores`]: validates the engine's core plan against the topology.
//! - [`process`]: start-up actions on the engine process itself: `mlockall`, pre-faulting,
//!   guarded `SCHED_FIFO`. Each returns a value saying what happened; none panics.
//! - [`jitter`]: measures per-core interruptions with a pinned TSC loop.
//! - [`cli`]: the `kspin tune` subcommand.
//!
//! Nothing in this crate writes to the host's configuration: checks read, fixes are printed,
//! and the scripts in `tuning/scripts/` change the host only when run with `--apply`. None of
//! this runs on the engine's hot path.

pub mod check;
pub mod cli;
pub mod cmdline;
pub mod cores;
pub mod cpuset;
pub mod host;
pub mod jitter;
pub mod process;
pub mod topology;
