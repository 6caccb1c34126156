//! `kspin run` trading live against the embedded simulated venue, as a user runs it: the mode
//! contract (`mode = "live"` and `--live`), a run with a sentinel key pair whose every output is
//! searched for the secret, bad credentials refused with a clear message, and a token endpoint
//! that is unreachable or answers nonsense reported without a crash.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use serde_json::Value;

const KSPIN: &str = env!("CARGO_BIN_EXE_kspin");

/// A live config trading SOL/USD with sma_cross (market orders on every crossover).
const LIVE: &str = r#"
[venue.sim]
rate = 400
[engine]
lock_memory = false
[[subscription]]
symbols = ["SOL/USD"]
channels = ["book", "trade"]
depth = 10
[[strategy]]
name = "sma_cross"
core = 1
params = { symbol = "SOL/USD", qty = "0.5", interval = "200ms", fast = 2, slow = 3 }
[trading]
mode = "live"
[trading.limits]
max_order_qty = "5"
max_order_notional = "5000"
max_position = "20"
"#;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kspin-trading-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn kspin(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(KSPIN);
    cmd.args(args)
        .stdin(Stdio::null())
        .env_remove("KRAKEN_API_KEY")
        .env_remove("KRAKEN_API_SECRET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("kspin runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn summary(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

#[test]
fn live_needs_the_config_and_the_flag() {
    let dir = scratch("mode");
    let live = write(&dir, "live.toml", LIVE);
    let cfg = live.to_str().unwrap();
    let o = kspin(&["run", "--config", cfg, "--duration", "1"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("live trading also needs --live"),
        "{}",
        text(&o)
    );
    let paper = write(
        &dir,
        "paper.toml",
        &LIVE.replace("mode = \"live\"", "mode = \"paper\""),
    );
    let o = kspin(
        &[
            "run",
            "--config",
            paper.to_str().unwrap(),
            "--live",
            "--duration",
            "1",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("trades on paper"), "{}", text(&o));
}

#[test]
fn a_sentinel_secret_appears_in_no_output_and_no_capture() {
    let dir = scratch("sentinel");
    let cfg = write(&dir, "live.toml", LIVE);
    let key = "SENTINELKEYabcdefghijklmnopqrstuvwxyz0123456789";
    let raw_secret = "kspin-sentinel-secret-never-print-0123456789abcdef";
    let secret = base64::engine::general_purpose::STANDARD.encode(raw_secret);
    let env = [
        ("KRAKEN_API_KEY", key),
        ("KRAKEN_API_SECRET", secret.as_str()),
    ];
    let o = kspin(
        &[
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--live",
            "--duration",
            "4",
            "--json",
        ],
        &env,
    );
    let all = text(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    let s = summary(&o);
    let t = &s["trading"];
    assert_eq!(t["mode"], "live");
    assert_eq!(t["link"]["token_failures"], 0, "{all}");
    assert!(
        t["orders_sent"].as_u64().unwrap() > 0,
        "the strategy traded: {t}"
    );
    assert!(t["fills"].as_u64().unwrap() > 0, "{t}");
    // The key may show as its first characters only; the secret never, in any form.
    for needle in [key, &secret, raw_secret, &secret[..16]] {
        assert!(!all.contains(needle), "{needle:?} printed:\n{all}");
    }
    assert!(all.contains("key SENT…"), "{all}");
    // A capture of the same configuration holds nothing of it either.
    let capture = dir.join("run.kcap");
    let o = kspin(
        &[
            "record",
            capture.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
            "--duration",
            "2",
        ],
        &env,
    );
    let all = text(&o);
    assert_eq!(o.status.code(), Some(0), "{all}");
    let mut bytes = Vec::new();
    std::fs::File::open(&capture)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    let haystack = String::from_utf8_lossy(&bytes);
    for needle in [key, &secret, raw_secret] {
        assert!(!haystack.contains(needle) && !all.contains(needle));
    }
}

#[test]
fn bad_credentials_are_refused_with_a_clear_message() {
    let dir = scratch("creds");
    let cfg = write(&dir, "live.toml", LIVE);
    let cfg = cfg.to_str().unwrap();
    let run =
        |env: &[(&str, &str)]| kspin(&["run", "--config", cfg, "--live", "--duration", "1"], env);
    let o = run(&[("KRAKEN_API_KEY", "k")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("credentials:"), "{}", text(&o));
    let o = run(&[
        ("KRAKEN_API_KEY", "k"),
        ("KRAKEN_API_SECRET", "not base64!"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("base64"), "{}", text(&o));
    assert!(
        !text(&o).contains("not base64!"),
        "the secret's text is not echoed"
    );
    // A credentials file anyone can read is refused.
    let creds = write(
        &dir,
        "creds.toml",
        "api_key = \"k\"\napi_secret = \"c2VjcmV0\"\n",
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let with_file = write(
        &dir,
        "file.toml",
        &LIVE.replace(
            "mode = \"live\"",
            &format!(
                "mode = \"live\"\ncredentials = {:?}",
                creds.to_str().unwrap()
            ),
        ),
    );
    let o = kspin(
        &[
            "run",
            "--config",
            with_file.to_str().unwrap(),
            "--live",
            "--duration",
            "1",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("group or others"), "{}", text(&o));
    assert!(!text(&o).contains("c2VjcmV0"));
}

/// Answers every connection with `response`, on a thread, until the process ends.
fn fake_http(response: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    port
}

#[test]
fn an_unreachable_or_nonsensical_token_endpoint_is_reported_not_fatal() {
    let dir = scratch("token");
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nonsense = fake_http(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 24\r\nConnection: close\r\n\r\n{\"error\":[],\"result\":{}}",
    );
    for (port, expect) in [
        (closed, "unreachable"),
        (nonsense, "unreadable token response"),
    ] {
        let cfg = write(
            &dir,
            &format!("t{port}.toml"),
            &LIVE.replace(
                "mode = \"live\"",
                &format!("mode = \"live\"\nrest_url = \"http://127.0.0.1:{port}\""),
            ),
        );
        let o = kspin(
            &[
                "run",
                "--config",
                cfg.to_str().unwrap(),
                "--live",
                "--duration",
                "2",
                "--json",
            ],
            &[],
        );
        let all = text(&o);
        assert_eq!(o.status.code(), Some(0), "{all}");
        assert!(all.contains(expect), "{expect}: {all}");
        let t = &summary(&o)["trading"];
        assert!(t["link"]["token_failures"].as_u64().unwrap() >= 1, "{t}");
        assert_eq!(t["link"]["connects"], 0);
        // Orders the strategy sent were refused, not lost.
        assert_eq!(t["orders_sent"], 0);
    }
}
