//! `kspin top`: a terminal dashboard of a running engine. It attaches through the engine's
//! metrics endpoint (`GET /snapshot`, the JSON of the same snapshot `/metrics` exposes) or runs
//! in-process (`kspin run --tui`, reading the snapshot the operators' thread publishes), and
//! redraws at a fixed rate.
//!
//! Owns the command ([`TopArgs`], [`run`]), the redraw loop ([`dashboard`]) and its snapshot
//! sources ([`Source`]). Invariants: it never touches the engine core — it reads snapshots that
//! other threads (or another process) built; a failed fetch keeps the last snapshot on screen and
//! says why; the terminal is restored on every exit path ([`terminal`]).

pub mod terminal;
pub mod view;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::backend::Backend;
use ratatui::Terminal;

use kspin_telemetry::{SharedSnapshot, Snapshot};

use crate::config::metrics::{parse_listen, DEFAULT_METRICS_PORT};
use view::ViewState;

/// Arguments of `kspin top`.
#[derive(Debug, Clone, clap::Args)]
pub struct TopArgs {
    /// The engine's metrics address (`kspin run --metrics ADDR`): HOST:PORT, :PORT or PORT.
    #[arg(long, value_name = "ADDR", default_value_t = format!("127.0.0.1:{DEFAULT_METRICS_PORT}"))]
    pub metrics: String,
    /// Redraw interval in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 250)]
    pub interval_ms: u64,
    /// Print one frame as text on stdout and exit (scripts, tests): COLSxROWS, e.g. 140x40.
    #[arg(long, value_name = "COLSxROWS")]
    pub once: Option<String>,
}

/// Where snapshots come from.
pub enum Source {
    /// Another process's `GET /snapshot`.
    Http { url: String, agent: ureq::Agent },
    /// This process's operators' thread.
    Shared(SharedSnapshot),
}

impl Source {
    /// An HTTP source for the metrics address `addr`.
    pub fn http(addr: &str) -> Result<Source, String> {
        let addr = parse_listen(addr)?;
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(2)))
            .build();
        Ok(Source::Http {
            url: format!("http://{addr}/snapshot"),
            agent: config.into(),
        })
    }

    /// What the view calls the source.
    pub fn name(&self) -> String {
        match self {
            Source::Http { url, .. } => url.trim_end_matches("/snapshot").to_owned(),
            Source::Shared(_) => "in-process".to_owned(),
        }
    }

    /// The latest snapshot.
    pub fn fetch(&self) -> Result<Arc<Snapshot>, String> {
        match self {
            Source::Http { url, agent } => {
                let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
                let body = response
                    .body_mut()
                    .read_to_string()
                    .map_err(|e| e.to_string())?;
                serde_json::from_str::<Snapshot>(&body)
                    .map(Arc::new)
                    .map_err(|e| format!("not a kspin snapshot: {e}"))
            }
            Source::Shared(shared) => Ok(match shared.lock() {
                Ok(s) => Arc::clone(&s),
                Err(poisoned) => Arc::clone(&poisoned.into_inner()),
            }),
        }
    }
}

/// Runs `kspin top`; returns the exit code.
pub fn run(args: &TopArgs) -> i32 {
    let source = match Source::http(&args.metrics) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kspin top: --metrics: {e}");
            return 2;
        }
    };
    if let Some(size) = &args.once {
        return match once(&source, size) {
            Ok(text) => {
                print!("{text}");
                0
            }
            Err(e) => {
                eprintln!("kspin top: {e}");
                1
            }
        };
    }
    let interval = Duration::from_millis(args.interval_ms.max(20));
    match terminal::Screen::open() {
        Ok(mut screen) => {
            let mut state = ViewState {
                source: source.name(),
                ..ViewState::default()
            };
            let result = dashboard(
                screen.terminal(),
                &source,
                &mut state,
                interval,
                &|| false,
                &mut |_| {},
            );
            drop(screen);
            match result {
                Ok(_) => 0,
                Err(e) => {
                    eprintln!("kspin top: {e}");
                    1
                }
            }
        }
        Err(e) => {
            eprintln!("kspin top: cannot open the terminal: {e}");
            1
        }
    }
}

/// One frame of `source` at `size` (`COLSxROWS`) as text.
fn once(source: &Source, size: &str) -> Result<String, String> {
    let (w, h) = size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u16>().ok()?, h.parse::<u16>().ok()?)))
        .filter(|(w, h)| *w > 0 && *h > 0)
        .ok_or_else(|| format!("--once {size:?}: write COLSxROWS, e.g. 140x40"))?;
    let snapshot = source
        .fetch()
        .map_err(|e| format!("{}: {e}", source.name()))?;
    let state = ViewState {
        source: source.name(),
        ..ViewState::default()
    };
    let mut t =
        Terminal::new(ratatui::backend::TestBackend::new(w, h)).map_err(|e| e.to_string())?;
    t.draw(|f| view::draw(f, &snapshot, &state))
        .map_err(|e| e.to_string())?;
    let mut text = String::new();
    let buffer = t.backend().buffer();
    for y in 0..h {
        let line: String = (0..w).map(|x| buffer[(x, y)].symbol()).collect();
        text.push_str(line.trim_end());
        text.push('\n');
    }
    Ok(text)
}

/// How the redraw loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The user quit (`q`, Esc, Ctrl-C).
    Quit,
    /// `stop()` said so.
    Stopped,
}

/// The redraw loop: `before_frame` (the caller's chance to update the state), fetch, draw, then
/// keys until the next frame is due. Ends on `q`, Esc, Ctrl-C, or when `stop()` says so.
pub fn dashboard<B: Backend>(
    terminal: &mut Terminal<B>,
    source: &Source,
    state: &mut ViewState,
    interval: Duration,
    stop: &dyn Fn() -> bool,
    before_frame: &mut dyn FnMut(&mut ViewState),
) -> std::io::Result<Exit> {
    let mut last = Arc::new(Snapshot::default());
    loop {
        let frame_at = Instant::now();
        before_frame(state);
        match source.fetch() {
            Ok(s) => {
                last = s;
                state.error = None;
            }
            Err(e) => state.error = Some(e),
        }
        terminal.draw(|f| view::draw(f, &last, state))?;
        let due = frame_at + interval;
        loop {
            if stop() {
                return Ok(Exit::Stopped);
            }
            let left = due.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if !event::poll(left.min(Duration::from_millis(50)))? {
                continue;
            }
            let Event::Key(k) = event::read()? else {
                continue;
            };
            if k.kind != KeyEventKind::Press {
                continue;
            }
            match k.code {
                KeyCode::Char('q') | KeyCode::Esc => return Ok(Exit::Quit),
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                    return Ok(Exit::Quit)
                }
                KeyCode::Right => {
                    state.book_offset =
                        (state.book_offset + 1).min(last.books.len().saturating_sub(1));
                    break;
                }
                KeyCode::Left => {
                    state.book_offset = state.book_offset.saturating_sub(1);
                    break;
                }
                _ => {}
            }
        }
    }
}
