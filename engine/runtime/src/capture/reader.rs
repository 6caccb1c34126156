//! Reading a capture back: the whole file in memory, its header, its valid records, and where a
//! torn tail (if any) starts; plus the engine configuration that replays it exactly as the live
//! core processed it.
//!
//! Owns the file's bytes. Invariants: only records that passed their CRC are ever returned, in
//! file order; a torn tail is reported ([`Capture::torn_bytes`]), never decoded. Reading is off the
//! hot path and may allocate.

use std::path::Path;

use super::format::{scan, CaptureHeader, CaptureSymbol, Record, Records};
use super::writer::CaptureError;
use crate::engine::EngineConfig;
use crate::plan::SymbolPlan;
use kspin_core::feed::{FeedMode, MismatchPolicy};
use kspin_core::kraken::DecoderLimits;

/// A capture file read into memory; see the module docs.
#[derive(Debug, Clone)]
pub struct Capture {
    bytes: Vec<u8>,
    header: CaptureHeader,
    first: usize,
    records: u64,
    torn_bytes: u64,
}

impl Capture {
    /// Reads and checks `path`.
    pub fn open(path: &Path) -> Result<Capture, CaptureError> {
        let bytes = std::fs::read(path).map_err(|source| CaptureError::Io {
            path: path.to_owned(),
            source,
        })?;
        Capture::from_bytes(bytes).map_err(|source| CaptureError::Format {
            path: path.to_owned(),
            source,
        })
    }

    /// Checks a capture already in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Capture, super::FormatError> {
        let report = scan(&bytes)?;
        let (_, first) = super::format::decode_header(&bytes)?;
        Ok(Capture {
            header: report.header,
            first,
            records: report.records,
            torn_bytes: report.torn_bytes,
            bytes,
        })
    }

    pub fn header(&self) -> &CaptureHeader {
        &self.header
    }

    /// Number of valid records.
    pub fn record_count(&self) -> u64 {
        self.records
    }

    /// Bytes after the last valid record (a torn tail; 0 for a cleanly closed file).
    pub fn torn_bytes(&self) -> u64 {
        self.torn_bytes
    }

    /// The valid records, in file order.
    pub fn records(&self) -> Records<'_> {
        Records::new(&self.bytes, self.first)
    }

    /// The received frames only, in file order.
    pub fn frames(&self) -> impl Iterator<Item = Record<'_>> {
        self.records()
            .filter(|r| r.kind == super::RecordKind::Frame)
    }

    /// The symbols as the live engine had them configured.
    pub fn symbol_plan(&self) -> Vec<SymbolPlan> {
        self.header.symbols.iter().map(symbol_plan).collect()
    }

    /// The engine configuration that replays this capture with [`crate::Engine::replay_frame`]
    /// exactly as the live core processed it: same symbols, depths and precisions, and the live
    /// feed mode (the recording holds the live run's resyncs, which the replay follows).
    pub fn engine_config(&self) -> EngineConfig {
        replay_engine_config(self.symbol_plan())
    }
}

/// The capture header's entry for a configured symbol.
pub fn capture_symbol(plan: &SymbolPlan) -> CaptureSymbol {
    CaptureSymbol {
        symbol: plan.symbol.clone(),
        depth: plan.depth,
        price_decimals: plan.precision.map(|p| p.0),
        qty_decimals: plan.precision.map(|p| p.1),
        book: plan.book,
        trade: plan.trade,
        ticker: plan.ticker,
    }
}

fn symbol_plan(s: &CaptureSymbol) -> SymbolPlan {
    SymbolPlan {
        symbol: s.symbol.clone(),
        depth: s.depth,
        book: s.book,
        trade: s.trade,
        ticker: s.ticker,
        precision: s.price_decimals.zip(s.qty_decimals),
    }
}

/// The engine configuration for replaying frames a live core recorded for `symbols`.
pub fn replay_engine_config(symbols: Vec<SymbolPlan>) -> EngineConfig {
    EngineConfig {
        symbols,
        decoder: DecoderLimits::default(),
        policy: MismatchPolicy::default(),
        mode: FeedMode::Live,
    }
}
