//! The `kspin tune` subcommand: `check` (host report, text or JSON) and `jitter` (per-core
//! interruption measurement). Parses its own arguments by hand and returns the exit code.
//!
//! Reads the host and prints; it never changes host settings. Exit codes: `check` 0 when no item
//! fails and 1 when one does; `jitter` 0 on success and 1 when the measurement could not run;
//! 2 for a usage error in either.

use std::path::PathBuf;
use std::time::Duration;

use crate::check::{run_checks, CheckInput};
use crate::cpuset::CpuSet;
use crate::host::HostFs;
use crate::jitter::{measure, CoreJitter, JitterConfig};
use crate::topology;

/// Usage text of `kspin tune`.
pub const USAGE: &str = "\
usage: kspin tune check [--json] [--root PATH] [--engine-core N] [--strategy-cores LIST] [--sample-ms MS]
       kspin tune jitter [--seconds S] [--cores LIST] [--threshold-ns NS] [--json]

check   report every host setting that costs a busy-polling engine latency, with the value
        found, the value wanted for the given cores, and the fix. Reads only, never writes.
          --json               machine-readable output
          --root PATH          check a host tree below PATH instead of / (default /)
          --engine-core N      the engine's core
          --strategy-cores L   the strategy cores, a CPU list such as 2-3,5
          --sample-ms MS       sample /proc/interrupts over MS ms to see interrupts hit the
                               hot cores (default 500; 0 skips)
        exit code 0 when nothing fails, 1 when an item fails, 2 on a usage error
jitter  spin a TSC loop pinned on each core (all at once) and report gaps above a threshold
          --seconds S          how long (default 5; fractions allowed)
          --cores LIST         cores to measure (default: every core this process may use)
          --threshold-ns NS    smallest gap counted as an interruption (default 500)
          --json               machine-readable output
";

/// Default IRQ sample of `kspin tune check`, ms.
const DEFAULT_SAMPLE_MS: u64 = 500;

#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Check { input: CheckInput, json: bool },
    Jitter { cfg: JitterConfig, json: bool },
}

/// Runs `kspin tune` with its own arguments (everything after `tune`) and returns the exit code.
pub fn run(args: &[String]) -> i32 {
    match parse(args) {
        Err(msg) => {
            emit_err(&format!("kspin tune: {msg}\n{USAGE}"));
            2
        }
        Ok(Command::Help) => {
            emit(USAGE);
            0
        }
        Ok(Command::Check { input, json }) => {
            let report = run_checks(&input);
            if json {
                emit(&format!("{:#}\n", report.to_json()));
            } else {
                emit(&report.render_text());
            }
            i32::from(report.has_fail())
        }
        Ok(Command::Jitter { cfg, json }) => match measure(&cfg) {
            Ok(results) => {
                if json {
                    emit(&format!("{:#}\n", jitter_json(&cfg, &results)));
                } else {
                    emit(&jitter_text(&cfg, &results));
                }
                0
            }
            Err(e) => {
                emit_err(&format!("kspin tune jitter: {e}\n"));
                1
            }
        },
    }
}

/// Writes to stdout, ignoring errors: a closed pipe (`| head`) must not panic the tool.
fn emit(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Writes to stderr, ignoring errors.
fn emit_err(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

fn parse(args: &[String]) -> Result<Command, String> {
    let Some((sub, rest)) = args.split_first() else {
        return Err("missing subcommand (check or jitter)".to_string());
    };
    match sub.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help),
        "check" => {
            let mut input = CheckInput::host();
            input.irq_sample = Some(Duration::from_millis(DEFAULT_SAMPLE_MS));
            let mut json = false;
            let mut flags = rest.iter();
            while let Some(flag) = flags.next() {
                let mut value = |f: &str| {
                    flags
                        .next()
                        .cloned()
                        .ok_or_else(|| format!("{f} needs a value"))
                };
                match flag.as_str() {
                    "--json" => json = true,
                    "-h" | "--help" => return Ok(Command::Help),
                    "--root" => input.root = PathBuf::from(value(flag)?),
                    "--engine-core" => {
                        input.engine_core = Some(number(flag, &value(flag)?)? as usize)
                    }
                    "--strategy-cores" => input.strategy_cores = cpu_list(flag, &value(flag)?)?,
                    "--sample-ms" => {
                        let ms = number(flag, &value(flag)?)?;
                        input.irq_sample = (ms > 0).then(|| Duration::from_millis(ms));
                    }
                    other => return Err(format!("unknown check argument {other:?}")),
                }
            }
            Ok(Command::Check { input, json })
        }
        "jitter" => {
            let mut cfg = JitterConfig::default();
            let mut json = false;
            let mut flags = rest.iter();
            while let Some(flag) = flags.next() {
                let mut value = |f: &str| {
                    flags
                        .next()
                        .cloned()
                        .ok_or_else(|| format!("{f} needs a value"))
                };
                match flag.as_str() {
                    "--json" => json = true,
                    "-h" | "--help" => return Ok(Command::Help),
                    "--seconds" => {
                        let text = value(flag)?;
                        let secs: f64 = text
                            .parse()
                            .ok()
                            .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 3600.0)
                            .ok_or_else(|| {
                                format!("--seconds wants 0 < S <= 3600, got {text:?}")
                            })?;
                        cfg.duration = Duration::from_secs_f64(secs);
                    }
                    "--cores" => cfg.cores = cpu_list(flag, &value(flag)?)?,
                    "--threshold-ns" => cfg.threshold_ns = number(flag, &value(flag)?)?.max(1),
                    other => return Err(format!("unknown jitter argument {other:?}")),
                }
            }
            Ok(Command::Jitter { cfg, json })
        }
        other => Err(format!("unknown subcommand {other:?} (check or jitter)")),
    }
}

fn number(flag: &str, text: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .map_err(|_| format!("{flag} wants a non-negative integer, got {text:?}"))
}

fn cpu_list(flag: &str, text: &str) -> Result<Vec<usize>, String> {
    CpuSet::parse_list(text)
        .map(|s| s.iter().collect())
        .map_err(|_| format!("{flag} wants a CPU list such as 2-3,5, got {text:?}"))
}

/// The run conditions printed with jitter figures.
fn conditions() -> (String, String, String) {
    let fs = HostFs::new("/");
    let online = topology::online_cpus(&fs).map_or_else(|e| e.short(), |s| s.to_string());
    let isolated = fs
        .read_cpu_list(&format!("{}/isolated", topology::CPU_DIR))
        .map_or_else(|e| e.short(), |s| s.to_string());
    let clocksource = fs
        .read_trimmed("/sys/devices/system/clocksource/clocksource0/current_clocksource")
        .unwrap_or_else(|e| e.short());
    (online, isolated, clocksource)
}

fn jitter_text(cfg: &JitterConfig, results: &[CoreJitter]) -> String {
    use std::fmt::Write as _;
    let (online, isolated, clocksource) = conditions();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "kspin tune jitter: {} core(s) spinning at once for {:.3} s, gaps >= {} ns counted; \
         online cpus {online}, isolated {isolated}, clocksource {clocksource}",
        results.len(),
        cfg.duration.as_secs_f64(),
        cfg.threshold_ns
    );
    let _ = writeln!(
        out,
        "{:>4} {:>6} {:>12} {:>7} {:>8} {:>9} {:>7} {:>9} {:>9} {:>10} {:>11}",
        "core",
        "pinned",
        "iterations",
        "loop_ns",
        "gaps",
        "gaps/s",
        "lost_%",
        "p50_ns",
        "p99_ns",
        "p99.9_ns",
        "max_ns"
    );
    for r in results {
        let secs = r.elapsed_ns.max(1) as f64 / 1e9;
        let lost = 100.0 * r.gap_total_ns as f64 / r.elapsed_ns.max(1) as f64;
        let _ = writeln!(
            out,
            "{:>4} {:>6} {:>12} {:>7} {:>8} {:>9.1} {:>7.3} {:>9} {:>9} {:>10} {:>11}",
            r.core,
            if r.pinned { "yes" } else { "NO" },
            r.iterations,
            r.min_gap_ns,
            r.gaps,
            r.gaps as f64 / secs,
            lost,
            r.p50_ns,
            r.p99_ns,
            r.p999_ns,
            r.max_ns
        );
    }
    let _ = writeln!(
        out,
        "loop_ns is the loop's own cost (shortest gap); a well isolated core shows few gaps/s and a \
         p99.9 within a few us. Percentiles are over the counted gaps only."
    );
    out
}

fn jitter_json(cfg: &JitterConfig, results: &[CoreJitter]) -> serde_json::Value {
    let (online, isolated, clocksource) = conditions();
    serde_json::json!({
        "seconds": cfg.duration.as_secs_f64(),
        "threshold_ns": cfg.threshold_ns,
        "online_cpus": online,
        "isolated_cpus": isolated,
        "clocksource": clocksource,
        "cores": results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_check_arguments() {
        let Ok(Command::Check { input, json }) = parse(&args(
            "check --json --root /tmp/x --engine-core 2 --strategy-cores 3-4 --sample-ms 0",
        )) else {
            panic!("not a check command");
        };
        assert!(json);
        assert_eq!(input.root, PathBuf::from("/tmp/x"));
        assert_eq!(input.engine_core, Some(2));
        assert_eq!(input.strategy_cores, vec![3, 4]);
        assert_eq!(input.irq_sample, None);
        let Ok(Command::Check { input, json }) = parse(&args("check")) else {
            panic!("not a check command");
        };
        assert!(!json);
        assert_eq!(input.irq_sample, Some(Duration::from_millis(500)));
    }

    #[test]
    fn parses_jitter_arguments() {
        let Ok(Command::Jitter { cfg, json }) = parse(&args(
            "jitter --seconds 0.25 --cores 0,1 --threshold-ns 200 --json",
        )) else {
            panic!("not a jitter command");
        };
        assert!(json);
        assert_eq!(cfg.duration, Duration::from_millis(250));
        assert_eq!(cfg.cores, vec![0, 1]);
        assert_eq!(cfg.threshold_ns, 200);
    }

    #[test]
    fn usage_errors_are_exit_code_2() {
        for bad in [
            "",
            "frobnicate",
            "check --engine-core",
            "check --engine-core x",
            "check --strategy-cores 3-1",
            "check --bogus",
            "jitter --seconds 0",
            "jitter --seconds nan",
            "jitter --cores a",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?}");
            assert_eq!(run(&args(bad)), 2, "{bad:?}");
        }
        assert_eq!(run(&args("--help")), 0);
        assert_eq!(run(&args("check --help")), 0);
    }
}
