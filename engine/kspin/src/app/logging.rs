//! Structured logs for `kspin run`: a `tracing` subscriber with two outputs, each behind a
//! non-blocking writer (`tracing-appender`, its own thread): the console (stderr; human, or JSON
//! with `--log-format json`) and, with `--log-file`, a file that receives every event — strategy
//! log lines included — in the chosen format.
//!
//! Owns the subscriber set-up ([`init`]), the console's rate limit for engine events
//! ([`ConsoleFilter`]: per call site, a burst then one a second; the rest counted) and the
//! strategies' console limiter ([`StrategyConsole`]: per strategy, the same budget, and a summary
//! of what it held back). Invariants: nothing here runs on the engine core or a strategy core
//! (events are derived from the counters the core publishes, strategy lines are formatted on the
//! operators' thread); a slow terminal or disk never blocks a caller (the writers drop when
//! their queue is full); the console never shows strategy lines through `tracing` (it prints
//! them rate-limited itself), the file gets them all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{Event, Level, Metadata, Subscriber};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::Layer;

/// Target of every strategy log line (to the file only; the console prints them itself).
pub const STRATEGY_TARGET: &str = "kspin::strategy";
/// Target of configuration warnings already printed on the console at start-up (file only).
pub const CONFIG_TARGET: &str = "kspin::config";
/// Lines of one kind the console shows at once before the rate limit.
pub const CONSOLE_BURST: f64 = 5.0;
/// Lines per second of one kind the console shows once the burst is spent.
pub const CONSOLE_PER_SECOND: f64 = 1.0;
/// How often the console summarises what it held back.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event: level, message, `field=value` pairs.
    #[default]
    Human,
    /// One JSON object per event: `timestamp`, `level`, `target`, `message` and the fields.
    Json,
}

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("--log-file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

/// Keeps the writers' threads alive; dropping it flushes what they hold.
pub struct LogGuard {
    _console: Option<WorkerGuard>,
    _file: Option<WorkerGuard>,
    /// Engine events the console held back (all of them are in the file).
    pub console_suppressed: Arc<AtomicU64>,
    /// The log file, if any.
    pub file: Option<PathBuf>,
    /// Whether this call installed the process's subscriber (a second `kspin run` in the same
    /// process keeps the first one's).
    pub installed: bool,
}

/// A token bucket: `burst` at once, then `per_second`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub(crate) fn new(now: Instant) -> Bucket {
        Bucket {
            tokens: CONSOLE_BURST,
            at: now,
        }
    }

    /// Takes a token if there is one at `now`.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + dt * CONSOLE_PER_SECOND).min(CONSOLE_BURST);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The console's filter: INFO and above, not the targets printed elsewhere, and at most a burst
/// then one a second per call site (the rest counted in `suppressed`).
pub struct ConsoleFilter {
    buckets: Mutex<HashMap<tracing::callsite::Identifier, Bucket>>,
    suppressed: Arc<AtomicU64>,
    /// The least severe level shown (INFO; WARN with `--quiet`).
    level: Level,
}

impl ConsoleFilter {
    fn wanted(&self, meta: &Metadata<'_>) -> bool {
        *meta.level() <= self.level
            && meta.target() != STRATEGY_TARGET
            && meta.target() != CONFIG_TARGET
    }
}

impl<S: Subscriber> Filter<S> for ConsoleFilter {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        self.wanted(meta)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        if self.wanted(meta) {
            // Sometimes: `event_enabled` rate-limits each event.
            tracing::subscriber::Interest::sometimes()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn event_enabled(&self, event: &Event<'_>, _cx: &Context<'_, S>) -> bool {
        let now = Instant::now();
        let id = event.metadata().callsite();
        let allowed = match self.buckets.lock() {
            Ok(mut b) => b.entry(id).or_insert_with(|| Bucket::new(now)).take(now),
            Err(_) => true,
        };
        if !allowed {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
        }
        allowed
    }
}

/// Installs the process's subscriber: the console in `format` (warnings and errors only when
/// `quiet`), and `file` (every event) in `format`. With a subscriber already installed (a second
/// run in one process) it keeps that one and says so in [`LogGuard::installed`].
pub fn init(format: LogFormat, file: Option<&Path>, quiet: bool) -> Result<LogGuard, LogError> {
    let suppressed = Arc::new(AtomicU64::new(0));
    let (console_writer, console_guard) = tracing_appender::non_blocking(std::io::stderr());
    let console_filter = ConsoleFilter {
        buckets: Mutex::new(HashMap::new()),
        suppressed: Arc::clone(&suppressed),
        level: if quiet { Level::WARN } else { Level::INFO },
    };
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let console = match format {
        LogFormat::Human => tracing_subscriber::fmt::layer()
            .with_writer(console_writer)
            .with_ansi(colours)
            .with_target(false)
            .without_time()
            .compact()
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(console_writer)
            .json()
            .flatten_event(true)
            .boxed(),
    }
    .with_filter(console_filter);
    let (file_layer, file_guard) = match file {
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| LogError::File {
                    path: path.display().to_string(),
                    source,
                })?;
            let (writer, guard) = tracing_appender::non_blocking(f);
            let layer = match format {
                LogFormat::Human => tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .with_ansi(false)
                    .boxed(),
                LogFormat::Json => tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .json()
                    .flatten_event(true)
                    .boxed(),
            }
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    let subscriber = tracing_subscriber::registry()
        .with(console)
        .with(file_layer);
    let installed = tracing::subscriber::set_global_default(subscriber).is_ok();
    Ok(LogGuard {
        _console: Some(console_guard),
        _file: file_guard,
        console_suppressed: suppressed,
        file: file.map(Path::to_path_buf),
        installed,
    })
}

/// Per strategy: how the console budget and the held-back lines stand.
#[derive(Debug)]
struct StrategyBudget {
    bucket: Bucket,
    held_back: u64,
    written: u64,
}

/// Prints strategy log lines on the console within the rate limit and summarises the rest every
/// [`SUMMARY_EVERY`]; see the module docs.
pub struct StrategyConsole {
    budgets: HashMap<String, StrategyBudget>,
    last_summary: Instant,
    /// Where the held-back lines are (the log file), for the summary line.
    file: Option<PathBuf>,
    /// Whether to print at all (false while a terminal dashboard owns the screen).
    pub enabled: bool,
}

impl StrategyConsole {
    pub fn new(file: Option<PathBuf>, now: Instant) -> StrategyConsole {
        StrategyConsole {
            budgets: HashMap::new(),
            last_summary: now,
            file,
            enabled: true,
        }
    }

    /// The log file the held-back lines are in, if any.
    pub fn file_name(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// One line of `strategy`; returns whether the console showed it (`out` got it).
    pub fn line(
        &mut self,
        strategy: &str,
        text: &str,
        now: Instant,
        out: &mut dyn FnMut(&str),
    ) -> bool {
        let b = self
            .budgets
            .entry(strategy.to_owned())
            .or_insert_with(|| StrategyBudget {
                bucket: Bucket::new(now),
                held_back: 0,
                written: 0,
            });
        b.written += 1;
        if self.enabled && b.bucket.take(now) {
            out(&format!("  [{strategy}] {text}"));
            true
        } else {
            b.held_back += 1;
            false
        }
    }

    /// Every [`SUMMARY_EVERY`] (or at once with `force`): one line per strategy whose lines
    /// were held back since the last summary.
    pub fn summarise(&mut self, now: Instant, force: bool, out: &mut dyn FnMut(&str)) {
        let since = now.saturating_duration_since(self.last_summary);
        if !force && since < SUMMARY_EVERY {
            return;
        }
        self.last_summary = now;
        let mut names: Vec<&String> = self.budgets.keys().collect();
        names.sort();
        let mut lines = Vec::new();
        for name in names {
            let b = &self.budgets[name];
            if b.held_back > 0 {
                let where_ = match &self.file {
                    Some(f) => format!("all of them are in {}", f.display()),
                    None => "--log-file FILE keeps them all".to_owned(),
                };
                lines.push(format!(
                    "  [{name}] {} more log line(s) in the last {:.0}s not shown ({} written; {where_})",
                    b.held_back,
                    since.as_secs_f64(),
                    b.written,
                ));
            }
        }
        for b in self.budgets.values_mut() {
            b.held_back = 0;
            b.written = 0;
        }
        if self.enabled {
            for l in &lines {
                out(l);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_a_second() {
        let t0 = Instant::now();
        let mut b = Bucket::new(t0);
        let shown = (0..100).filter(|_| b.take(t0)).count();
        assert_eq!(shown, CONSOLE_BURST as usize);
        assert!(!b.take(t0 + Duration::from_millis(500)));
        assert!(b.take(t0 + Duration::from_millis(1000)));
        assert!(!b.take(t0 + Duration::from_millis(1001)));
    }

    #[test]
    fn strategy_lines_are_limited_per_strategy_and_summarised() {
        let t0 = Instant::now();
        let mut c = StrategyConsole::new(Some("/tmp/k.log".into()), t0);
        let out = std::cell::RefCell::new(Vec::<String>::new());
        let mut print = |l: &str| out.borrow_mut().push(l.to_owned());
        // 175 lines a second for 10 s (the default run's whale alerts), and a quiet strategy.
        let mut shown = 0;
        for i in 0..1750u64 {
            let now = t0 + Duration::from_micros(i * 1_000_000 / 175);
            shown += usize::from(c.line("whale_alert", "whale", now, &mut print));
            if i % 350 == 0 {
                shown += usize::from(c.line("candles", "candle", now, &mut print));
            }
        }
        assert_eq!(shown, out.borrow().len());
        // Per strategy: the burst plus about one a second.
        let whales = out
            .borrow()
            .iter()
            .filter(|l| l.starts_with("  [whale_alert]"))
            .count();
        assert!((14..=16).contains(&whales), "{whales}");
        assert_eq!(
            out.borrow()
                .iter()
                .filter(|l| l.starts_with("  [candles]"))
                .count(),
            5
        );
        out.borrow_mut().clear();
        c.summarise(t0 + Duration::from_secs(10), false, &mut print);
        let lines = out.borrow().clone();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with(&format!("  [whale_alert] {} more log line(s) in the last 10s not shown (1750 written; all of them are in /tmp/k.log)", 1750 - whales)), "{lines:?}");
        out.borrow_mut().clear();
        c.summarise(t0 + Duration::from_secs(11), false, &mut print);
        c.summarise(t0 + Duration::from_secs(12), true, &mut print);
        let lines = out.borrow().clone();
        assert!(lines.is_empty(), "nothing held back since: {lines:?}");
    }
}
