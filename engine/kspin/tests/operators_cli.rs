//! The operators' view of a running `kspin` end to end, on loopback:
//! - `kspin run --live --metrics` (the trading configuration against the embedded venue, plus a
//!   chatty `whale_alert`): `/metrics` scraped with a real HTTP client passes `promtool check
//!   metrics` (Debian package `prometheus`) and, scraped after the run (`--metrics-linger`),
//!   equals the `--json` summary figure for figure; `kspin top` attached to it in a real terminal
//!   (tmux) shows its books, connections and strategy lanes, and quits on `q`; the console shows
//!   a rate-limited share of the strategy log lines, exactly those the metrics say were shown,
//!   while `--log-file` (JSON) gets every one of them;
//! - `kspin run --tui` in a real terminal (tmux) draws the dashboard in-process and still prints
//!   its `--json` summary.
//!
//! `promtool` and `tmux` are Debian packages that `.ci/run` installs; without them a developer's
//! run skips those checks (with a note), CI fails instead.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::Value;

const KSPIN: &str = env!("CARGO_BIN_EXE_kspin");
/// Generous bound for anything to happen on a loaded 2-core machine (a hang fails, never a
/// slow pass).
const BUDGET: Duration = Duration::from_secs(90);

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kspin-ops-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether `tool` can be run; outside CI a missing tool skips the check with a note.
fn have(tool: &str, package: &str) -> bool {
    let found = Command::new(tool)
        .arg(if tool == "tmux" { "-V" } else { "--version" })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} missing: .ci/run installs the Debian package `{package}`"
        );
        eprintln!("{tool} not found: install the Debian package `{package}`; skipping that check");
    }
    found
}

/// A `kspin` child, killed (by its own id) when dropped.
struct Kspin {
    child: Child,
    stdout: BufReader<ChildStdout>,
    stderr: Receiver<String>,
    /// Every stderr line read so far.
    seen: Vec<String>,
}

impl Kspin {
    fn spawn(args: &[&str]) -> Kspin {
        let mut child = Command::new(KSPIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kspin starts");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Kspin {
            child,
            stdout,
            stderr: rx,
            seen: Vec::new(),
        }
    }

    /// Reads stderr until a line satisfies `f`; returns what `f` made of it.
    fn wait_stderr<T>(&mut self, what: &str, f: impl Fn(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + BUDGET;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.stderr.recv_timeout(left).unwrap_or_else(|_| {
                panic!("no {what} on kspin's stderr:\n{}", self.seen.join("\n"))
            });
            self.seen.push(line);
            if let Some(t) = f(self.seen.last().unwrap()) {
                return t;
            }
        }
    }

    /// The rest of stderr, after the process exited.
    fn drain_stderr(&mut self) {
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
    }
}

impl Drop for Kspin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(addr: &str, path: &str) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut response = agent
        .get(&format!("http://{addr}{path}"))
        .call()
        .unwrap_or_else(|e| panic!("GET http://{addr}{path}: {e}"));
    assert_eq!(response.status(), 200);
    response.body_mut().read_to_string().unwrap()
}

/// `promtool check metrics` on `text` (skipped where promtool is missing, outside CI).
fn promtool_check(text: &str) {
    if !have("promtool", "prometheus") {
        return;
    }
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Prometheus text exposition: `name` → labels → value.
type Samples = HashMap<String, Vec<(BTreeMap<String, String>, f64)>>;

fn parse_exposition(text: &str) -> Samples {
    let mut out: Samples = HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect(line);
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.strip_suffix('}').expect(line)),
            None => (series, ""),
        };
        let labels = labels
            .split("\",")
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once("=\"").expect(line);
                (k.to_owned(), v.trim_end_matches('"').to_owned())
            })
            .collect();
        let value = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().expect(line),
        };
        out.entry(name.to_owned())
            .or_default()
            .push((labels, value));
    }
    out
}

/// The value of `name` with exactly `labels` (panics when absent).
fn sample(m: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    m.get(name)
        .and_then(|v| v.iter().find(|(l, _)| *l == want))
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no {name}{labels:?} in the exposition"))
}

/// A tmux server of our own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `command` in a detached 140×40 session named `s`.
    fn start(name: &str, command: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("kspin-test-{}-{name}", std::process::id()),
        };
        let ok = Command::new("tmux")
            .args(["-L", &tmux.socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-s", "s", "-x", "140", "-y", "40", command])
            .env("TERM", "xterm-256color")
            .status()
            .unwrap();
        assert!(ok.success(), "tmux new-session");
        tmux
    }

    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap()
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "s"]).stdout).into_owned()
    }

    /// Waits until the screen shows every one of `want`; returns it.
    fn wait_screen(&self, want: &[&str]) -> String {
        let deadline = Instant::now() + BUDGET;
        loop {
            let screen = self.screen();
            if want.iter().all(|w| screen.contains(w)) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {want:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until the session's command has exited (tmux closes the session).
    fn wait_exit(&self) {
        let deadline = Instant::now() + BUDGET;
        while self.cmd(&["has-session", "-t", "s"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "still running:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

/// The trading configuration of the repository with a chatty logging strategy added.
fn live_config(dir: &Path) -> PathBuf {
    let base = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../kspin.trading.toml"),
    )
    .unwrap();
    let path = dir.join("live.toml");
    std::fs::write(
        &path,
        format!("{base}\n[[strategy]]\nname = \"whale_alert\"\n[strategy.params]\nmin_notional = \"500\"\n"),
    )
    .unwrap();
    path
}

#[test]
fn a_live_run_serves_metrics_that_promtool_accepts_and_that_match_its_summary() {
    let dir = scratch("live");
    let cfg = live_config(&dir);
    let log = dir.join("kspin.log.json");
    let mut run = Kspin::spawn(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--live",
        // Long enough for `kspin top` to attach while it streams on a loaded 2-core machine
        // (4 s was not: the engine had stopped before the dashboard drew).
        "--duration",
        "10",
        "--json",
        "--metrics",
        "127.0.0.1:0",
        "--metrics-linger",
        "120",
        "--log-file",
        log.to_str().unwrap(),
        "--log-format",
        "json",
    ]);
    let addr = run.wait_stderr("metrics address", |l| {
        // `kspin: metrics at http://ADDR/metrics (kspin top --metrics ADDR)`
        l.strip_prefix("kspin: metrics at http://")
            .and_then(|r| r.split_once("/metrics"))
            .map(|(a, _)| a.to_owned())
    });
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");

    // While it runs: the book goes live and the order path gets ready.
    let deadline = Instant::now() + BUDGET;
    loop {
        let snap: Value = serde_json::from_str(&get(&addr, "/snapshot")).unwrap();
        let live = snap["books"][0]["live"] == true;
        let ready = snap["connections"][1]["up"] == true;
        if live && ready {
            break;
        }
        assert!(Instant::now() < deadline, "{snap}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let running = get(&addr, "/metrics");
    promtool_check(&running);

    // `kspin top` in a real terminal, attached through the endpoint.
    if have("tmux", "tmux") {
        let top = Tmux::start("top", &format!("{KSPIN} top --metrics {addr}"));
        let screen = top.wait_screen(&[
            "market data: streaming",
            "trading: ready",
            " BTC/USD live spread ",
            "bid qty",
            "quoter",
            "whale_alert",
            "received",
            "[whale_alert] whale BTC/USD",
        ]);
        assert!(screen.contains(&format!("http://{addr}")), "{screen}");
        top.cmd(&["send-keys", "-t", "s", "q"]);
        top.wait_exit();
    }
    // One frame as text, for scripts.
    let once = Command::new(KSPIN)
        .args(["top", "--metrics", &addr, "--once", "140x40"])
        .output()
        .unwrap();
    assert!(once.status.success());
    let once = String::from_utf8_lossy(&once.stdout);
    assert!(once.contains(" BTC/USD live spread "), "{once}");

    // The run ends: its summary, then the final figures stay served.
    let mut line = String::new();
    run.stdout.read_line(&mut line).unwrap();
    let s: Value = serde_json::from_str(&line).expect("the JSON summary");
    run.wait_stderr("the linger notice", |l| {
        l.starts_with("kspin: serving the final metrics")
            .then_some(())
    });
    let text = get(&addr, "/metrics");
    promtool_check(&text);
    for l in text.lines() {
        let name = match l.strip_prefix("# ") {
            Some(rest) => rest.split(' ').nth(1).unwrap_or(""),
            None => l.split(['{', ' ']).next().unwrap_or(""),
        };
        assert!(name.starts_with("kspin_"), "{l}");
    }
    let m = parse_exposition(&text);
    let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("{k} in {s}")) as f64;
    let md = [("connection", "market_data")];
    assert_eq!(
        sample(&m, "kspin_connection_frames_total", &md),
        n("frames")
    );
    assert_eq!(
        sample(&m, "kspin_connection_connects_total", &md),
        n("connects")
    );
    assert_eq!(
        sample(&m, "kspin_connection_disconnects_total", &md),
        n("disconnects")
    );
    assert_eq!(sample(&m, "kspin_connection_up", &md), 0.0, "stopped");
    for (metric, key) in [
        ("kspin_engine_book_messages_total", "book_messages"),
        ("kspin_engine_checksum_ok_total", "checksum_ok"),
        ("kspin_engine_checksum_mismatch_total", "checksum_mismatch"),
        ("kspin_engine_resyncs_total", "resyncs"),
        ("kspin_engine_trades_total", "trades"),
    ] {
        assert_eq!(sample(&m, metric, &[]), n(key), "{metric} vs {key}");
    }
    // By kind: the kinds sum to the summary's total.
    let decode: f64 = m
        .get("kspin_engine_decode_errors_total")
        .map_or(0.0, |v| v.iter().map(|(_, x)| x).sum());
    assert_eq!(decode, n("decode_errors"));
    assert!(n("checksum_ok") > 100.0, "{s}");
    assert_eq!(
        sample(&m, "kspin_engine_latency_seconds_count", &[]),
        s["latency_ns"]["samples"].as_u64().unwrap() as f64
    );
    // The frame latency and the read → published stage span are the same samples, every frame
    // but those whose record the monitor's ring could not take (counted, and in neither).
    assert_eq!(
        s["latency_ns"]["samples"], s["stages_ns"]["read_to_published"]["samples"],
        "{s}"
    );
    assert_eq!(
        s["latency_ns"]["samples"].as_u64().unwrap() as f64 + n("stage_records_dropped"),
        n("frames"),
        "{s}"
    );
    assert_eq!(
        sample(&m, "kspin_telemetry_dropped_total", &[("ring", "stages")]),
        n("stage_records_dropped")
    );
    let book = &s["symbols"]["BTC/USD"];
    let sym = [("symbol", "BTC/USD")];
    for (metric, key) in [
        ("kspin_book_messages_total", "book_messages"),
        ("kspin_book_checksum_ok_total", "checksum_ok"),
        ("kspin_book_checksum_mismatch_total", "checksum_mismatch"),
        ("kspin_book_resyncs_total", "resyncs"),
        ("kspin_book_trades_total", "trades"),
    ] {
        assert_eq!(
            sample(&m, metric, &sym),
            book[key].as_u64().unwrap() as f64,
            "{metric}"
        );
    }
    for (metric, key) in [
        ("kspin_book_best_bid", "best_bid"),
        ("kspin_book_best_ask", "best_ask"),
    ] {
        let exact: f64 = book[key].as_str().unwrap().parse().unwrap();
        assert_eq!(sample(&m, metric, &sym), exact, "{metric}");
    }
    assert_eq!(sample(&m, "kspin_book_live", &sym), 1.0);
    for (name, st) in s["strategies"].as_object().unwrap() {
        let lane = [("strategy", name.as_str())];
        for key in [
            "events_offered",
            "events_published",
            "events_received",
            "events_dropped",
            "snapshots_handed",
            "resnapshots",
            "lag_episodes",
            "order_updates",
            "intents",
            "fills",
        ] {
            let metric = format!("kspin_strategy_{key}_total");
            assert_eq!(
                sample(&m, &metric, &lane),
                st[key].as_u64().unwrap() as f64,
                "{metric}{lane:?}"
            );
        }
        assert_eq!(sample(&m, "kspin_strategy_events_queued", &lane), 0.0);
    }
    let t = &s["trading"];
    assert_eq!(t["mode"], "live");
    for key in [
        "orders_sent",
        "requests_sent",
        "acks",
        "fills",
        "cancels",
        "amends",
        "reconciliations",
    ] {
        let metric = format!("kspin_trading_{key}_total");
        assert_eq!(
            sample(&m, &metric, &[]),
            t[key].as_u64().unwrap() as f64,
            "{metric}"
        );
    }
    assert!(t["orders_sent"].as_u64().unwrap() > 0, "{t}");
    assert_eq!(
        sample(&m, "kspin_trading_open_orders", &[]),
        t["open_orders"].as_u64().unwrap() as f64
    );
    assert_eq!(sample(&m, "kspin_trading_killed", &[]), 0.0);
    for (reason, count) in t["rejects"].as_object().unwrap() {
        let count = count.as_u64().unwrap() as f64;
        let got = m
            .get("kspin_trading_rejects_total")
            .and_then(|v| v.iter().find(|(l, _)| l.get("reason") == Some(reason)))
            .map_or(0.0, |(_, v)| *v);
        assert_eq!(got, count, "rejects {reason}");
    }
    let position: f64 = t["positions"]["BTC/USD"].as_str().unwrap().parse().unwrap();
    assert_eq!(sample(&m, "kspin_trading_position", &sym), position);
    assert_eq!(
        sample(&m, "kspin_trading_tick_to_trade_seconds_count", &[]),
        t["tick_to_trade_ns"]["samples"].as_u64().unwrap() as f64
    );

    // The logs: the console showed exactly the lines the metrics say it showed, a burst and then
    // about one a second (the rest summarised); the log file has every one of them.
    let whale = [("strategy", "whale_alert")];
    let written = sample(&m, "kspin_strategy_log_lines_total", &whale);
    let held = sample(&m, "kspin_strategy_log_lines_suppressed_total", &whale);
    let shown = run
        .seen
        .iter()
        .filter(|l| l.starts_with("  [whale_alert] ") && !l.contains(" more log line(s) "))
        .count() as f64;
    assert_eq!(shown, written - held, "{}", run.seen.join("\n"));
    let seconds = s["duration_s"].as_f64().unwrap();
    assert!(
        shown <= 5.0 + seconds.ceil() + 1.0,
        "{shown} in {seconds} s"
    );
    assert!(written > 3.0 * shown, "{written} lines, {shown} shown");
    // Stop the linger (our own child), then read the log file the writer flushed on exit.
    // SAFETY: `kill` on the id of our own child process, which has not been waited for yet.
    unsafe {
        libc::kill(run.child.id() as libc::pid_t, libc::SIGINT);
    }
    let status = run.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    run.drain_stderr();
    assert!(
        run.seen
            .iter()
            .any(|l| l.contains("[whale_alert]") && l.contains(" more log line(s) ")),
        "a summary of the lines held back:\n{}",
        run.seen.join("\n")
    );
    let file = std::fs::read_to_string(&log).unwrap();
    let events: Vec<Value> = file
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let in_file = events
        .iter()
        .filter(|e| e["target"] == "kspin::strategy" && e["strategy"] == "whale_alert")
        .count() as f64;
    assert_eq!(in_file, written);
    assert!(
        events
            .iter()
            .any(|e| e["target"] == "kspin::engine" && e["message"] == "connected"),
        "{file}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kspin_run_tui_draws_the_dashboard_in_its_terminal() {
    if !have("tmux", "tmux") {
        return;
    }
    let dir = scratch("tui");
    let summary = dir.join("summary.json");
    let stderr = dir.join("stderr.txt");
    let tui = Tmux::start(
        "tui",
        &format!(
            // Long enough for a loaded machine to show everything; `q` ends it once it has.
            "{KSPIN} run --tui --duration 120 --json > {} 2> {}",
            summary.display(),
            stderr.display()
        ),
    );
    let screen = tui.wait_screen(&[
        "in-process",
        "market data: streaming",
        " BTC/USD live spread ",
        "whale_alert",
        "candles",
        "trades",
        "latency",
        "books live 4/4",
    ]);
    assert!(screen.contains("q quit"), "{screen}");
    tui.cmd(&["send-keys", "-t", "s", "q"]);
    tui.wait_exit();
    let text = std::fs::read_to_string(&summary).unwrap();
    let s: Value = serde_json::from_str(&text).expect("the JSON summary after the dashboard");
    for (symbol, b) in s["symbols"].as_object().unwrap() {
        assert_eq!(b["state"], "live", "{symbol}");
    }
    // The console went to the dashboard's pane, not over it; what came after is in the file.
    let err = std::fs::read_to_string(&stderr).unwrap();
    assert!(!err.contains("[whale_alert]"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
