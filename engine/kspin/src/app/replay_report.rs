//! What `kspin replay` found: [`ReplayReport`] (frames by kind, checksums, bad frames, refused
//! book messages by reason, updates dropped while a book was not live, books that ended not live,
//! per-symbol outcome, and the strategies' figures when they ran), its JSON and human renderings
//! (the strategies' part in `replay_text.rs`), and the exit code.
//!
//! Owns only figures copied out of the pipeline after the replay; it formats and allocates
//! freely (a command, not the engine core). Invariant: a replay that could not verify everything
//! it was given says so in its exit code (see [`ReplayReport::exit_code`]), never only in a
//! counter.

use std::collections::BTreeMap;

use kspin_api::FixedDisplay;
use kspin_core::feed::{RejectReason, SubscriptionState};
use kspin_core::kraken::DecodeError;
use kspin_core::{FrameKind, Pipeline};
use kspin_host::backtest::BacktestReport;
use kspin_runtime::capture::Capture;
use kspin_runtime::discover::{DepthSource, PrecisionSource};
use serde_json::{json, Value};

/// Bad frames kept with their line (record) number and reason.
const MAX_ERROR_LINES: usize = 50;

/// The figures of one replay, for printing or for tests.
#[derive(Debug, Clone)]
pub struct ReplayReport {
    pub file: String,
    /// Non-empty lines (JSON lines) or frame records (captures) read.
    pub lines: u64,
    /// Frames that decoded.
    pub frames: u64,
    pub frames_by_kind: BTreeMap<&'static str, u64>,
    pub book_messages: u64,
    pub checksum_ok: u64,
    pub checksum_mismatch: u64,
    /// Frames that did not decode, and records the recorder reported lost.
    pub errors: u64,
    /// Of `errors`, frames of a channel or method kspin does not handle (reported, not failed).
    pub unhandled: u64,
    /// (line, reason) of the first bad frames.
    pub error_lines: Vec<(u64, String)>,
    /// Book messages the feed refused to apply, by reason.
    pub rejected_messages: u64,
    pub rejected_by_reason: BTreeMap<&'static str, u64>,
    /// Book updates dropped because their book was not live (waiting for a snapshot).
    pub dropped_not_live: u64,
    /// Book messages that could not be applied because the symbol's precision was unknown.
    pub no_precision: u64,
    /// Symbols whose book held data at some point but did not end live.
    pub books_not_live: Vec<String>,
    /// Frames the recorder dropped (capture gaps).
    pub gaps: u64,
    pub symbols: Vec<SymbolReport>,
    /// `kspin run`'s per-strategy figures when `--strategies` drove strategies (with the
    /// backtest's figures when deterministic).
    pub strategies: Option<Value>,
    /// The deterministic replay's report, when `--strategies` ran one.
    pub backtest: Option<BacktestReport>,
    /// `--strategies` ran on strategy threads at the recorded pace (`--paced`).
    pub paced_strategies: bool,
    /// Plot files written (`--plot`).
    pub plots: Vec<String>,
}

/// Per-symbol figures of a replay.
#[derive(Debug, Clone)]
pub struct SymbolReport {
    pub symbol: String,
    pub depth: usize,
    pub depth_source: &'static str,
    pub price_decimals: u8,
    pub qty_decimals: u8,
    pub precision_source: &'static str,
    pub state: &'static str,
    pub book_messages: u64,
    pub checksum_ok: u64,
    pub checksum_mismatch: u64,
    pub rejected_messages: u64,
    pub dropped_not_live: u64,
    pub first_mismatch_line: Option<u64>,
    pub best_bid: Option<(String, String)>,
    pub best_ask: Option<(String, String)>,
}

/// Where each symbol's depth and precision came from, by symbol index.
pub type Provenance = Vec<(DepthSource, PrecisionSource)>;

impl ReplayReport {
    /// A report of `file` with nothing counted yet.
    pub fn empty(file: &str) -> ReplayReport {
        ReplayReport {
            file: file.to_owned(),
            lines: 0,
            frames: 0,
            frames_by_kind: BTreeMap::new(),
            book_messages: 0,
            checksum_ok: 0,
            checksum_mismatch: 0,
            errors: 0,
            unhandled: 0,
            error_lines: Vec::new(),
            rejected_messages: 0,
            rejected_by_reason: BTreeMap::new(),
            dropped_not_live: 0,
            no_precision: 0,
            books_not_live: Vec::new(),
            gaps: 0,
            symbols: Vec::new(),
            strategies: None,
            backtest: None,
            paced_strategies: false,
            plots: Vec::new(),
        }
    }

    /// A frame that did not decode, at `line`.
    pub fn bad_frame(&mut self, line: u64, error: &DecodeError) {
        self.errors += 1;
        if matches!(
            error,
            DecodeError::UnknownChannel | DecodeError::UnknownMethod
        ) {
            self.unhandled += 1;
        }
        self.note(line, error.to_string());
    }

    /// Something to show at `line` (kept for the first [`MAX_ERROR_LINES`]).
    pub fn note(&mut self, line: u64, reason: String) {
        if self.error_lines.len() < MAX_ERROR_LINES {
            self.error_lines.push((line, reason));
        }
    }

    /// A capture's gap record at `record_no`: the recorder dropped frames there.
    pub fn capture_gap(&mut self, record_no: u64) {
        self.gaps += 1;
        self.note(
            record_no,
            "the recorder dropped frames here (its ring was full)".into(),
        );
    }

    /// A capture whose last record was torn: its bytes after the last valid record are ignored.
    pub fn torn_tail(&mut self, capture: &Capture) {
        if capture.torn_bytes() > 0 {
            self.note(
                capture.record_count() + 1,
                format!(
                    "torn tail: {} bytes after the last valid record ignored",
                    capture.torn_bytes()
                ),
            );
        }
    }

    /// Copies the pipeline's counters and per-symbol outcome into the report.
    pub fn fill_from(&mut self, pipeline: &Pipeline, provenance: &Provenance) {
        let pc = pipeline.counters();
        self.frames = pc.frames - pc.decode_errors;
        for kind in FrameKind::ALL {
            let n = pc.decoded(kind);
            if n > 0 {
                self.frames_by_kind.insert(kind.name(), n);
            }
        }
        let feed = pipeline.feed();
        let c = feed.counters();
        self.book_messages = c.book_messages;
        self.checksum_ok = c.checksum_ok;
        self.checksum_mismatch = c.checksum_mismatch;
        self.rejected_messages = c.rejected_messages;
        self.rejected_by_reason = RejectReason::ALL
            .iter()
            .filter(|r| c.rejected_by_reason[r.index()] > 0)
            .map(|r| (r.name(), c.rejected_by_reason[r.index()]))
            .collect();
        self.dropped_not_live = c.dropped_not_live;
        self.no_precision = c.no_precision;
        for (i, (entry, (_, sb))) in feed.symbols().iter().zip(feed.books()).enumerate() {
            let level = |l: Option<(kspin_api::Price, kspin_api::Qty)>| {
                l.map(|(p, q)| {
                    (
                        FixedDisplay {
                            mantissa: p.0,
                            scale: entry.price_scale,
                        }
                        .to_string(),
                        FixedDisplay {
                            mantissa: q.0,
                            scale: entry.qty_scale,
                        }
                        .to_string(),
                    )
                })
            };
            let (depth_source, precision_source) = provenance
                .get(i)
                .copied()
                .unwrap_or((DepthSource::Configured, PrecisionSource::Configured));
            let had_data = sb.counters.book_messages > 0;
            if had_data && sb.state != SubscriptionState::Live {
                self.books_not_live.push(entry.name.to_string());
            }
            self.symbols.push(SymbolReport {
                symbol: entry.name.to_string(),
                depth: sb.book.depth(),
                depth_source: depth_source.name(),
                price_decimals: entry.price_scale,
                qty_decimals: entry.qty_scale,
                precision_source: precision_source.name(),
                state: sb.state.name(),
                book_messages: sb.counters.book_messages,
                checksum_ok: sb.counters.checksum_ok,
                checksum_mismatch: sb.counters.checksum_mismatch,
                rejected_messages: sb.counters.rejected_messages,
                dropped_not_live: sb.counters.dropped_not_live,
                first_mismatch_line: sb.first_mismatch.map(|(line, _, _)| line),
                best_bid: level(sb.book.best_bid()),
                best_ask: level(sb.book.best_ask()),
            });
        }
    }

    /// The exit code of `kspin replay`:
    /// - 2: nothing decodable (or the file could not be read, decided by the caller);
    /// - 1: something in the recording could not be verified: a checksum mismatch, a frame that
    ///   did not decode (other than a channel or method kspin does not handle), a book message
    ///   refused (any reason), an update dropped while its book was not live, a book message
    ///   with no known precision, a book that held data but did not end live, or frames the
    ///   recorder lost;
    /// - 0: every frame decoded and every book message was applied and verified.
    pub fn exit_code(&self) -> i32 {
        if self.frames == 0 {
            2
        } else if self.checksum_mismatch > 0
            || self.errors > self.unhandled
            || self.rejected_messages > 0
            || self.dropped_not_live > 0
            || self.no_precision > 0
            || !self.books_not_live.is_empty()
            || self.gaps > 0
        {
            1
        } else {
            0
        }
    }

    pub fn to_json(&self) -> Value {
        let symbols: serde_json::Map<String, Value> = self
            .symbols
            .iter()
            .map(|s| {
                (
                    s.symbol.clone(),
                    json!({
                        "depth": s.depth,
                        "depth_source": s.depth_source,
                        "book_messages": s.book_messages,
                        "checksum_ok": s.checksum_ok,
                        "checksum_mismatch": s.checksum_mismatch,
                        "rejected_messages": s.rejected_messages,
                        "dropped_not_live": s.dropped_not_live,
                        "best_bid": s.best_bid.as_ref().map(|b| b.0.clone()),
                        "best_bid_qty": s.best_bid.as_ref().map(|b| b.1.clone()),
                        "best_ask": s.best_ask.as_ref().map(|a| a.0.clone()),
                        "best_ask_qty": s.best_ask.as_ref().map(|a| a.1.clone()),
                        "price_decimals": s.price_decimals,
                        "qty_decimals": s.qty_decimals,
                        "precision_source": s.precision_source,
                        "state": s.state,
                        "first_mismatch_line": s.first_mismatch_line,
                    }),
                )
            })
            .collect();
        json!({
            "file": self.file,
            "frames": self.frames,
            "frames_by_kind": self.frames_by_kind,
            "book_messages": self.book_messages,
            "checksum_ok": self.checksum_ok,
            "checksum_mismatch": self.checksum_mismatch,
            "errors": self.errors,
            "unhandled_frames": self.unhandled,
            "error_lines": self.error_lines.iter().map(|(l, e)| json!({"line": l, "error": e})).collect::<Vec<_>>(),
            "rejected_messages": self.rejected_messages,
            "rejected_by_reason": self.rejected_by_reason,
            "dropped_not_live": self.dropped_not_live,
            "no_precision": self.no_precision,
            "books_not_live": self.books_not_live,
            "gaps": self.gaps,
            "exit_code": self.exit_code(),
            "symbols": symbols,
            "strategies": self.strategies,
            "backtest": self.backtest_json(),
            "plots": (!self.plots.is_empty()).then_some(&self.plots),
        })
    }

    /// How strategies ran: the deterministic replay's models and bounds, or `deterministic:
    /// false` for a paced replay; `null` without strategies.
    fn backtest_json(&self) -> Value {
        match &self.backtest {
            Some(b) => b.settings_json(),
            None if self.paced_strategies => {
                json!({"deterministic": false, "clock": "recorded timing"})
            }
            None => Value::Null,
        }
    }

    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let kinds: Vec<String> = self
            .frames_by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(out, "replay {}", self.file);
        let _ = writeln!(out, "frames: {} ({})", self.frames, kinds.join(", "));
        let _ = writeln!(
            out,
            "book messages: {}  checksums ok: {}  mismatched: {}  bad lines: {}",
            self.book_messages, self.checksum_ok, self.checksum_mismatch, self.errors
        );
        if self.rejected_messages > 0 {
            let reasons: Vec<String> = self
                .rejected_by_reason
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            let _ = writeln!(
                out,
                "book messages refused: {} ({})",
                self.rejected_messages,
                reasons.join(", ")
            );
        }
        if self.dropped_not_live > 0 || self.no_precision > 0 {
            let _ = writeln!(
                out,
                "updates dropped while their book was not live: {}  without a known precision: {}",
                self.dropped_not_live, self.no_precision
            );
        }
        if !self.books_not_live.is_empty() {
            let _ = writeln!(
                out,
                "books not live at the end: {}",
                self.books_not_live.join(", ")
            );
        }
        for (line, err) in &self.error_lines {
            let _ = writeln!(out, "  line {line}: {err}");
        }
        for s in &self.symbols {
            let side = |l: &Option<(String, String)>| match l {
                Some((p, q)) => format!("{p} x {q}"),
                None => "-".to_owned(),
            };
            let depth_note = match s.depth_source {
                "inferred" => " (inferred from the first snapshot)",
                "default" => " (default: no ack or snapshot)",
                _ => "",
            };
            let precision = match s.precision_source {
                "unknown" => "unknown".to_owned(),
                "inferred" => format!(
                    "{}:{} (inferred from the first snapshot)",
                    s.price_decimals, s.qty_decimals
                ),
                _ => format!("{}:{}", s.price_decimals, s.qty_decimals),
            };
            let _ = writeln!(
                out,
                "{}: depth {}{}, precision {}, checksums ok {} mismatched {}, state {}",
                s.symbol,
                s.depth,
                depth_note,
                precision,
                s.checksum_ok,
                s.checksum_mismatch,
                s.state
            );
            if let Some(line) = s.first_mismatch_line {
                let _ = writeln!(out, "  first mismatch at line {line}");
            }
            let _ = writeln!(
                out,
                "  best bid {}  best ask {}",
                side(&s.best_bid),
                side(&s.best_ask)
            );
        }
        if let Some(b) = &self.backtest {
            out.push_str(&super::replay_text::backtest_text(
                b,
                self.strategies.as_ref(),
            ));
        } else if let Some(strategies) = &self.strategies {
            out.push_str(&super::replay_text::paced_text(strategies));
        }
        for file in &self.plots {
            let _ = writeln!(out, "plot: {file}");
        }
        let _ = writeln!(out, "exit code {}", self.exit_code());
        out
    }
}
