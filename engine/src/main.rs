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
    /// Replay a recording of Kraken v2 frames through the decoder, books and checksums.
    Replay(app::replay::ReplayArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Replay(args) => app::replay::run(args),
    };
    std::process::exit(code);
}
