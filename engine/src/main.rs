//! The `kspin` executable: a thin dispatcher over the library's commands.

use clap::{Parser, Subcommand};

use kspin::app;

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
    /// Run the simulated Kraken v2 venue alone (plain or TLS, rate, seed, faults).
    Sim(kspin::sim::SimArgs),
    /// Replay a capture (`kspin record`) or a JSON-lines recording through the engine-core path.
    Replay(app::replay::ReplayArgs),
    /// Run the engine and record every received frame into a capture file.
    Record(app::record::RecordArgs),
    /// Latency, floor, throughput and replay benchmarks (`kspin bench --help`).
    Bench(app::bench::BenchArgs),
    /// Host checks and jitter measurement for colocated deployment (`kspin tune --help`).
    #[command(disable_help_flag = true)]
    Tune {
        /// `check [--json] ...` or `jitter [--seconds S] ...`; see `kspin tune --help`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Run(args) => app::run::run(args),
        Command::Sim(args) => kspin::sim::run_cli(args),
        Command::Replay(args) => app::replay::run(args),
        Command::Record(args) => app::record::run(args),
        Command::Bench(args) => app::bench::run(args),
        Command::Tune { args } => kspin_tuning::cli::run(args),
    };
    std::process::exit(code);
}
