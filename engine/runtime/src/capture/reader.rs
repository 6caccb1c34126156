//! Reading a capture back: the whole file in memory, its header, its valid records, and where a
//! torn tail (if any) starts; plus the engine-core configuration that replays it exactly as the
//! live core processed it.
//!
//! Owns the file's bytes. Invariants: only records that passed their CRC are ever returned, in
//! file order; a torn tail is reported ([`Capture::torn_bytes`]), never decoded. Reading is off the
//! hot path and may allocate.

use std::path::Path;
use std::time::Duration;

use super::format::{scan, CaptureHeader, CaptureSymbol, Record, Records};
use super::writer::CaptureError;
use crate::plan::SymbolPlan;
use crate::{BackoffPolicy, CoreConfig};
use kspin_core::feed::MismatchPolicy;
use kspin_core::kraken::DecoderLimits;
use kspin_net::{ConnLimits, Endpoint, TlsSettings};

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

    /// An engine-core configuration that replays this capture with
    /// [`crate::EngineCore::replay_frame`] exactly as the live core processed it (same
    /// symbols, depths and precisions; the endpoint is never connected to).
    pub fn replay_core_config(&self) -> CoreConfig {
        replay_core_config(self.symbol_plan())
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

/// A core configuration for replaying frames of `symbols` without a connection.
pub fn replay_core_config(symbols: Vec<SymbolPlan>) -> CoreConfig {
    CoreConfig {
        // Never connected to: replay drives the core with `replay_frame` only.
        endpoint: Endpoint {
            host: "127.0.0.1".into(),
            port: 9,
            path: "/v2".into(),
            tls: false,
        },
        tls: TlsSettings {
            extra_root_pem: None,
            use_webpki_roots: false,
            server_name_override: None,
        },
        limits: ConnLimits::default(),
        symbols,
        stall_timeout: Duration::from_secs(3600),
        ping_interval: Duration::from_secs(3600),
        connect_timeout: Duration::from_secs(3600),
        resync_timeout: Duration::from_secs(3600),
        backoff: BackoffPolicy::default(),
        policy: MismatchPolicy::default(),
        watch_instrument: false,
        decoder: DecoderLimits::default(),
        seed: 0,
    }
}
