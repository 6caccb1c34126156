//! `kspin mirror`: a remote consumer of `kspin run --nats`. Reads the JetStream stream,
//! rebuilds every book, verifies each Kraken checksum, detects sequence gaps and heals them at
//! the next snapshot, and prints per symbol `checksum_ok`, `checksum_mismatch`, `gaps` and
//! `snapshots` with a top-level `messages` count (`--json`: one object on stdout).
//!
//! Exit code: 0; 1 when a checksum mismatched; 2 when NATS or the stream could not be reached.

use std::time::Duration;

use kspin_nats::{run_mirror, MirrorConfig};
use serde_json::Value;

/// Arguments of `kspin mirror`.
#[derive(Debug, Clone, clap::Args)]
pub struct MirrorArgs {
    /// NATS server, `nats://host:port`.
    #[arg(long, value_name = "URL")]
    pub nats: String,
    /// Follow only this symbol (repeatable; every symbol by default).
    #[arg(long = "symbol", value_name = "S")]
    pub symbols: Vec<String>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: f64,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// JetStream stream to read (`[nats] stream` of the publishing engines).
    #[arg(long, default_value = "KSPIN")]
    pub stream: String,
    /// `new`: only messages published from now on (books appear at the next periodic
    /// snapshot); `start`: everything the stream holds.
    #[arg(long, value_name = "WHERE", default_value = "new", value_parser = ["new", "start"])]
    pub from: String,
    /// Stop as soon as the stream has been read to its end (with `--from start`: verify what a
    /// finished run published).
    #[arg(long)]
    pub drain: bool,
}

/// Runs `kspin mirror`; returns the exit code.
pub fn run(args: &MirrorArgs) -> i32 {
    let config = MirrorConfig {
        url: args.nats.clone(),
        stream: args.stream.clone(),
        symbols: args.symbols.clone(),
        duration: Duration::from_secs_f64(args.duration.max(0.0)),
        drain: args.drain,
        from_start: args.from == "start",
    };
    let verifier = match run_mirror(&config) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("kspin mirror: {e}");
            return 2;
        }
    };
    let report = verifier.report(&args.symbols);
    if args.json {
        println!("{report}");
    } else {
        print!("{}", text(&report));
    }
    let mismatched = report["symbols"].as_object().is_some_and(|s| {
        s.values()
            .any(|v| v["checksum_mismatch"].as_u64() != Some(0))
    });
    i32::from(mismatched)
}

fn text(r: &Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "kspin mirror: {} messages, {} duplicates dropped",
        r["messages"], r["duplicates"]
    );
    if let Some(symbols) = r["symbols"].as_object() {
        for (name, v) in symbols {
            let _ = writeln!(
                out,
                "  {name}: checksums ok {} mismatched {} | gaps {} healed {} | snapshots {} | synced {}",
                v["checksum_ok"], v["checksum_mismatch"], v["gaps"], v["healed"], v["snapshots"], v["synced"]
            );
        }
    }
    out
}
