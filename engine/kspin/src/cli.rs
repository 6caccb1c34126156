//! The `kspin` command line, as a library: [`main_with`] is the whole `kspin` executable with a
//! strategy [`Registry`] of the caller's choosing, so a user's own binary crate hosts its own
//! strategies with every subcommand (`run`, `replay --strategies`, `record`, `bench`, `sim`,
//! `top`, `tune`) exactly as the built-ins are hosted.
//!
//! Owns the argument grammar (clap) and the dispatch. Invariants: every command returns an exit
//! code (0 success; 1 a replay that found a mismatch or rejected data, or a soak that missed a
//! target; 2 a bad configuration or argument); none panics on bad input.

use std::ffi::OsString;

use clap::{Parser, Subcommand};
use kspin_api::Registry;

use crate::app;

/// kspin: a busy-polling, low-latency market-data and trading engine for Kraken spot.
#[derive(Debug, Parser)]
#[command(name = "kspin", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the engine: by default against the embedded simulated Kraken venue on loopback.
    Run(app::run::RunArgs),
    /// Rebuild and verify the books `kspin run --nats` publishes to NATS JetStream.
    Mirror(app::mirror::MirrorArgs),
    /// Run the simulated Kraken v2 venue alone (plain or TLS, rate, seed, faults).
    Sim(app::sim::SimArgs),
    /// Replay a capture (`kspin record`) or a JSON-lines recording through the engine-core path.
    Replay(app::replay::ReplayArgs),
    /// Fault soak: the engine against the simulated venue over TLS while faults of every class
    /// are injected, every published book compared with the venue's reference book.
    Soak(app::soak::SoakArgs),
    /// Run the engine and record every received frame into a capture file.
    Record(app::record::RecordArgs),
    /// Terminal dashboard of a running `kspin run --metrics`: books, trades, latency, strategy
    /// lanes, connection state, log lines.
    Top(app::top::TopArgs),
    /// Latency, floor, throughput and replay benchmarks (`kspin bench --help`).
    Bench(kspin_bench::harness::BenchArgs),
    /// List the strategies this executable can host (registry name and what each does).
    Strategies,
    /// Throw the kill switch of a live `kspin run`: every order cancelled, no new ones.
    Kill {
        /// Process id of the `kspin run` (printed at its start).
        #[arg(long)]
        pid: i32,
    },
    /// Host checks and jitter measurement for colocated deployment (`kspin tune --help`).
    #[command(disable_help_flag = true)]
    Tune {
        /// `check [--json] ...` or `jitter [--seconds S] ...`; see `kspin tune --help`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Runs `kspin` with `registry`'s strategies on the process's arguments, then exits with the
/// command's exit code. A user's `main` is one line:
///
/// ```no_run
/// let mut registry = kspin::builtin_registry();
/// // registry.register("my_strategy", "what it does", MyStrategy::from_params).unwrap();
/// kspin::main_with(registry)
/// ```
pub fn main_with(registry: Registry) -> ! {
    let code = run_with(std::env::args_os(), &registry);
    std::process::exit(code)
}

/// Parses `args` (the program name first) and runs the command; returns its exit code. Help and
/// version requests print and return 0; a bad argument prints clap's message and returns 2.
pub fn run_with<I, T>(args: I, registry: &Registry) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match &cli.command {
        Command::Run(args) => app::run::run(args, registry),
        Command::Sim(args) => app::sim::run_cli(args),
        Command::Mirror(args) => app::mirror::run(args, registry),
        Command::Replay(args) => app::replay::run(args, registry),
        Command::Record(args) => app::record::run(args),
        Command::Soak(args) => app::soak::run(args),
        Command::Top(args) => app::top::run(args),
        Command::Bench(args) => kspin_bench::harness::run(args),
        Command::Strategies => {
            for r in registry.iter() {
                println!("{:<16} {}", r.name, r.about);
            }
            0
        }
        Command::Tune { args } => kspin_tuning::cli::run(args),
        Command::Kill { pid } => match app::signals::send_kill(*pid) {
            Ok(()) => {
                eprintln!("kspin kill: kill switch sent to process {pid}");
                0
            }
            Err(e) => {
                eprintln!("kspin kill: process {pid}: {e}");
                2
            }
        },
    }
}
