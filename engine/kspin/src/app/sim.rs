//! `kspin sim`: command-line arguments and the foreground runner of a simulated venue.
//!
//! Owns argument parsing (clap) and the process-level run: start the venue, print its URL and
//! certificate path, serve until Ctrl-C / SIGTERM or `--duration`, print the counters. Invariants:
//! every bad argument (including a bad `--fault` spec, whose message names the spec) becomes an
//! exit code and a message, never a panic.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kspin_sim::config::{SimConfig, DEFAULT_RATE};
use kspin_sim::fault::{parse_duration, FaultSpec};
use kspin_sim::handle::SimVenue;
use kspin_sim::pacer::PacingMode;

use super::signals;

/// Port `kspin sim` listens on unless told otherwise (a fixed port so that a second terminal's
/// `kspin run` can find it; 0 picks an ephemeral one).
pub const DEFAULT_CLI_PORT: u16 = 8790;

/// Exit code for a bad argument or a venue that cannot start.
pub const EXIT_CONFIG: i32 = 2;

/// Arguments of `kspin sim`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// TCP port on 127.0.0.1 (0 = ephemeral).
    #[arg(long, default_value_t = DEFAULT_CLI_PORT)]
    pub port: u16,
    /// Serve wss:// with a self-signed certificate for localhost and 127.0.0.1.
    #[arg(long)]
    pub tls: bool,
    /// Market events per second across all symbols.
    #[arg(long, default_value_t = DEFAULT_RATE)]
    pub rate: u32,
    /// Market seed: the same seed gives the same book and trade events.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Comma-separated symbols (default: every pair the venue lists).
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// A fault to inject, e.g. `drop@5s`, `stall:3s@10s`, `corrupt:BTC/USD@2s`,
    /// `malformed@every:1000`, `oversized:2MiB@4s`, `tls-no-close-notify@6s`,
    /// `maintenance:7s@8s`, `refuse:5s@3s`, `burst:10x:2s@4s` (repeatable).
    #[arg(long = "fault", value_name = "SPEC")]
    pub faults: Vec<FaultSpec>,
    /// Stop after this long (e.g. `30s`, `2m`); default: until Ctrl-C.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Write the certificate PEM here (with --tls; default: a file in the temp directory).
    #[arg(long)]
    pub cert_out: Option<PathBuf>,
    /// Events sent back to back per pacing tick (bursty feed at the same average rate).
    #[arg(long, default_value_t = 1)]
    pub batch: u32,
    /// Ignore --rate and send as fast as the loop can (throughput runs).
    #[arg(long)]
    pub max_rate: bool,
    /// Idle time before a subscribed connection gets a heartbeat.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub heartbeat: Duration,
}

impl SimArgs {
    /// The venue configuration these arguments describe.
    pub fn to_config(&self) -> SimConfig {
        let cert_out = match (&self.cert_out, self.tls) {
            (Some(p), _) => Some(p.clone()),
            (None, true) => {
                Some(std::env::temp_dir().join(format!("kspin-sim-{}.pem", std::process::id())))
            }
            (None, false) => None,
        };
        SimConfig {
            port: self.port,
            tls: self.tls,
            rate_per_sec: self.rate,
            seed: self.seed,
            symbols: self.symbols.clone(),
            faults: self.faults.clone(),
            heartbeat: self.heartbeat,
            cert_out,
            batch: self.batch,
            pacing: if self.max_rate {
                PacingMode::MaxRate
            } else {
                PacingMode::Sleep
            },
            start_paused: false,
            ..SimConfig::default()
        }
    }
}

/// Runs `kspin sim` in the foreground; returns the process exit code.
pub fn run_cli(args: &SimArgs) -> i32 {
    let cfg = args.to_config();
    let venue = match SimVenue::start(cfg.clone()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("kspin sim: {e}");
            return EXIT_CONFIG;
        }
    };
    signals::install();
    println!("kspin sim: serving {}", venue.url());
    if let Some(path) = venue.cert_path() {
        println!("kspin sim: certificate (PEM) written to {}", path.display());
    }
    let symbols: Vec<&str> = venue.pairs().iter().map(|p| p.symbol).collect();
    println!(
        "kspin sim: seed {} rate {}/s symbols {}",
        cfg.seed,
        if args.max_rate {
            "max".to_owned()
        } else {
            cfg.rate_per_sec.to_string()
        },
        symbols.join(",")
    );
    for f in &cfg.faults {
        println!("kspin sim: fault {f}");
    }
    let started = Instant::now();
    while !signals::interrupted() {
        if args.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = venue.stats();
    venue.stop();
    println!("kspin sim: stopped; {stats:?}");
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    #[test]
    fn parses_arguments_and_names_bad_fault_specs() {
        let cli = Cli::try_parse_from([
            "sim",
            "--port",
            "0",
            "--tls",
            "--symbols",
            "BTC/USD,ETH/USD",
            "--fault",
            "drop@5s",
            "--fault",
            "burst:10x:2s@4s",
            "--duration",
            "1.5s",
        ])
        .unwrap();
        let cfg = cli.sim.to_config();
        assert_eq!(cfg.symbols, ["BTC/USD", "ETH/USD"]);
        assert_eq!(cfg.faults.len(), 2);
        assert!(cfg.tls && cfg.cert_out.is_some());
        assert_eq!(cli.sim.duration, Some(Duration::from_millis(1500)));
        let err = Cli::try_parse_from(["sim", "--fault", "explode@1s"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("bad fault spec `explode@1s`"), "{err}");
    }

    #[test]
    fn a_short_run_serves_and_stops() {
        let cli = Cli::try_parse_from(["sim", "--port", "0", "--duration", "50ms"]).unwrap();
        assert_eq!(run_cli(&cli.sim), 0);
        let bad = Cli::try_parse_from(["sim", "--port", "0", "--symbols", "XBT/USD"]).unwrap();
        assert_eq!(run_cli(&bad.sim), EXIT_CONFIG);
    }
}
