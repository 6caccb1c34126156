//! The hot-path crates' dependency trees hold no CLI parser, no TOML parser, no certificate
//! generator, no WebSocket server and no async runtime (`../shared/DESIGN.md`, "Crates"): the
//! things the executable, the simulated venue and the tests need stay out of what the engine core
//! links. Checked with `cargo tree` itself (normal dependencies, offline: a test run has already
//! fetched everything), so a dependency added to one of these crates, or reaching them through
//! another crate, fails here.

use std::process::Command;

/// The crates an engine core links.
const HOT_PATH_CRATES: [&str; 5] = [
    "kspin-core",
    "kspin-net",
    "kspin-ring",
    "kspin-runtime",
    "kspin-host",
];

/// Packages none of them may depend on, directly or not. tungstenite is allowed (its frame
/// codec is used by `kspin-net`); its server side lives in the simulated venue.
const FORBIDDEN: [&str; 9] = [
    "clap",
    "toml",
    "rcgen",
    "tokio",
    "async-std",
    "smol",
    "futures-executor",
    "tokio-tungstenite",
    "kspin-sim",
];

#[test]
fn hot_path_crates_link_no_cli_config_certificate_server_or_async_runtime() {
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    for krate in HOT_PATH_CRATES {
        let out = Command::new(env!("CARGO"))
            .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
            .args(["--manifest-path", workspace, "-p", krate])
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "cargo tree -p {krate} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tree = String::from_utf8_lossy(&out.stdout);
        let found: Vec<&str> = tree
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .filter(|name| FORBIDDEN.contains(name))
            .collect();
        assert!(found.is_empty(), "{krate} depends on {found:?}:\n{tree}");
        assert!(
            tree.lines().any(|l| l.starts_with(krate)),
            "cargo tree -p {krate} printed no tree:\n{tree}"
        );
    }
}
