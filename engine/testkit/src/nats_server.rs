//! A real `nats-server` with JetStream for tests: started on a free loopback port with a
//! temporary store directory, killed (SIGKILL, like a crash) and restarted on the same port and
//! store, stopped and its directory removed on drop.
//!
//! The server is the Debian package `nats-server`, which `.ci/run` installs when missing. When
//! it is absent [`NatsServer::start`] returns `None` after printing why, and the calling test
//! returns early: that is the only case a NATS test skips (and never under `CI`, where it
//! fails instead).

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The executable tests look for (Debian: `/usr/sbin/nats-server`, on root's PATH).
pub const NATS_SERVER: &str = "nats-server";

/// A running server; see the module docs.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: PathBuf,
}

fn executable() -> Option<PathBuf> {
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([
            "/usr/sbin".into(),
            "/usr/bin".into(),
            "/usr/local/bin".into(),
        ]);
    candidates
        .map(|d| d.join(NATS_SERVER))
        .find(|p| p.is_file())
}

impl NatsServer {
    /// Starts a server (`-js`, loopback, a fresh store under the temp dir named after `test`)
    /// and waits until it accepts connections; `None` (with a message) when `nats-server` is
    /// not installed.
    pub fn start(test: &str) -> Option<NatsServer> {
        if executable().is_none() {
            // CI installs it (.ci/run): there a missing server is a failure, not a skip.
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: `{NATS_SERVER}` is not installed, and CI must install it (.ci/run)"
            );
            eprintln!(
                "SKIPPED {test}: `{NATS_SERVER}` is not installed (Debian package nats-server; .ci/run installs it)"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let store =
            std::env::temp_dir().join(format!("kspin-nats-{test}-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&store);
        std::fs::create_dir_all(&store).expect("store directory");
        let mut server = NatsServer {
            child: None,
            port,
            store,
        };
        server.spawn();
        Some(server)
    }

    fn spawn(&mut self) {
        let exe = executable().expect("nats-server present");
        let child = Command::new(exe)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(&self.store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        let until = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < until, "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server as a crash would (SIGKILL) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and store (after [`Self::kill`]).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}
