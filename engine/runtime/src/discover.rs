//! Learning a recording's symbol plan before replaying it: which symbols it holds, at which
//! depth and precision, so that a replay configures its pipeline exactly as the live engine was
//! configured (a fixed symbol table, known scales) and the per-message path needs no
//! replay-only branches.
//!
//! Owns [`discover_plan`] and the provenance it reports ([`DepthSource`], [`PrecisionSource`]).
//! Rules, per symbol, in order of first appearance in a `book` subscribe ack or `book` frame:
//! - depth: `--depth` if given; else the first subscribe ack's `depth`; else the smallest depth
//!   Kraken supports that holds the first snapshot's longest side (a snapshot holds `depth`
//!   levels unless the book is thinner); else 10, Kraken's default (PROTOCOL.md §1.4);
//! - precision: a `--precision` override; else the first `instrument` frame naming the pair;
//!   else the most decimals written in the first snapshot (trailing zeros are kept on the wire,
//!   §1.1, so this is the pair's precision whenever any level uses its last decimal); else
//!   unknown (its book messages are then counted, never applied).
//!
//! A decoding pass over frames before anything is timed: it allocates freely and never runs on
//! the engine core.

use kspin_core::book::SUPPORTED_DEPTHS;
use kspin_core::kraken::{Decoder, DecoderLimits, Message, UpdateKind};

use crate::plan::SymbolPlan;

/// Kraken's default `book` depth when a subscription names none (PROTOCOL.md §1.4).
pub const DEFAULT_DEPTH: u16 = 10;

/// Where a discovered symbol's depth came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepthSource {
    /// `--depth N` (or a capture header).
    Configured,
    /// The exchange's subscribe ack.
    Ack,
    /// The number of levels in the first snapshot.
    Inferred,
    /// Neither an ack nor a snapshot: Kraken's default.
    Default,
}

impl DepthSource {
    pub fn name(self) -> &'static str {
        match self {
            DepthSource::Configured => "configured",
            DepthSource::Ack => "ack",
            DepthSource::Inferred => "inferred",
            DepthSource::Default => "default",
        }
    }
}

/// Where a discovered symbol's precision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrecisionSource {
    /// `--precision SYMBOL=P:Q` (or a capture header).
    Configured,
    /// An `instrument` frame in the recording.
    Instrument,
    /// The decimals written in the first snapshot.
    Inferred,
    /// Nothing said: the symbol's book messages cannot be applied.
    Unknown,
}

impl PrecisionSource {
    pub fn name(self) -> &'static str {
        match self {
            PrecisionSource::Configured => "configured",
            PrecisionSource::Instrument => "instrument",
            PrecisionSource::Inferred => "inferred",
            PrecisionSource::Unknown => "unknown",
        }
    }
}

/// One discovered symbol: its plan and where its depth and precision came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredSymbol {
    pub plan: SymbolPlan,
    pub depth_source: DepthSource,
    pub precision_source: PrecisionSource,
}

/// What the caller already knows: a forced depth and per-symbol precision overrides.
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    pub depth: Option<u16>,
    /// `(symbol, price_decimals, qty_decimals)`.
    pub precision: Vec<(String, u8, u8)>,
}

#[derive(Debug, Default)]
struct Seen {
    symbol: String,
    ack_depth: Option<u16>,
    snapshot_levels: Option<usize>,
    instrument: Option<(u8, u8)>,
    written: Option<(u8, u8)>,
    trade: bool,
    ticker: bool,
}

/// Learns the plan of a recording's `frames`; see the module docs. Frames that do not decode
/// are skipped here (the replay reports them).
pub fn discover_plan<'a>(
    frames: impl IntoIterator<Item = &'a [u8]>,
    options: &DiscoverOptions,
) -> Vec<DiscoveredSymbol> {
    let mut decoder = Decoder::new(DecoderLimits::default());
    let mut seen: Vec<Seen> = options
        .precision
        .iter()
        .map(|(s, _, _)| Seen {
            symbol: s.clone(),
            ..Seen::default()
        })
        .collect();
    let mut instruments: Vec<(String, u8, u8)> = Vec::new();
    fn entry<'s>(seen: &'s mut Vec<Seen>, symbol: &str) -> &'s mut Seen {
        let i = match seen.iter().position(|s| s.symbol == symbol) {
            Some(i) => i,
            None => {
                seen.push(Seen {
                    symbol: symbol.to_owned(),
                    ..Seen::default()
                });
                seen.len() - 1
            }
        };
        &mut seen[i]
    }
    for frame in frames {
        let Ok(msg) = decoder.decode(frame) else {
            continue;
        };
        match msg {
            Message::Subscribed(ack) if ack.success && ack.channel == Some("book") => {
                if let Some(symbol) = ack.symbol {
                    let s = entry(&mut seen, symbol);
                    s.ack_depth = s.ack_depth.or(ack.depth);
                }
            }
            Message::Book(book) => {
                for data in book.iter() {
                    let s = entry(&mut seen, data.symbol);
                    if book.kind == UpdateKind::Snapshot && s.snapshot_levels.is_none() {
                        s.snapshot_levels = Some(data.bids.len().max(data.asks.len()));
                        let levels = data.bids.iter().chain(data.asks.iter());
                        s.written = Some(levels.fold((0, 0), |(p, q), l| {
                            (p.max(l.price.scale), q.max(l.qty.scale))
                        }));
                    }
                }
            }
            Message::Instrument(instrument) => {
                for pair in instrument.iter() {
                    if !instruments.iter().any(|(s, _, _)| s == pair.symbol) {
                        instruments.push((
                            pair.symbol.to_owned(),
                            pair.price_precision,
                            pair.qty_precision,
                        ));
                    }
                }
            }
            Message::Trade(trades) => {
                for t in trades.iter() {
                    if let Some(s) = seen.iter_mut().find(|s| s.symbol == t.symbol) {
                        s.trade = true;
                    }
                }
            }
            Message::Ticker(tickers) => {
                for t in tickers.iter() {
                    if let Some(s) = seen.iter_mut().find(|s| s.symbol == t.symbol) {
                        s.ticker = true;
                    }
                }
            }
            _ => {}
        }
    }
    for s in &mut seen {
        s.instrument = instruments
            .iter()
            .find(|(name, _, _)| *name == s.symbol)
            .map(|&(_, p, q)| (p, q));
    }
    seen.into_iter()
        .map(|s| {
            let (depth, depth_source) = match (options.depth, s.ack_depth, s.snapshot_levels) {
                (Some(d), _, _) => (d, DepthSource::Configured),
                (None, Some(d), _) => (d, DepthSource::Ack),
                (None, None, Some(levels)) => (
                    SUPPORTED_DEPTHS
                        .iter()
                        .copied()
                        .find(|&d| usize::from(d) >= levels)
                        .unwrap_or(SUPPORTED_DEPTHS[SUPPORTED_DEPTHS.len() - 1]),
                    DepthSource::Inferred,
                ),
                (None, None, None) => (DEFAULT_DEPTH, DepthSource::Default),
            };
            let configured = options
                .precision
                .iter()
                .find(|(name, _, _)| *name == s.symbol)
                .map(|&(_, p, q)| (p, q));
            let (precision, precision_source) = match (configured, s.instrument, s.written) {
                (Some(p), _, _) => (Some(p), PrecisionSource::Configured),
                (None, Some(p), _) => (Some(p), PrecisionSource::Instrument),
                (None, None, Some(p)) => (Some(p), PrecisionSource::Inferred),
                (None, None, None) => (None, PrecisionSource::Unknown),
            };
            DiscoveredSymbol {
                plan: SymbolPlan {
                    symbol: s.symbol,
                    depth,
                    book: true,
                    trade: s.trade,
                    ticker: s.ticker,
                    precision,
                },
                depth_source,
                precision_source,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discover(lines: &[&str], options: &DiscoverOptions) -> Vec<DiscoveredSymbol> {
        discover_plan(lines.iter().map(|l| l.as_bytes()), options)
    }

    const SNAP: &str = r#"{"channel":"book","type":"snapshot","data":[{"symbol":"MINA/GBP","bids":[{"price":0.2800,"qty":1.50000000}],"asks":[{"price":0.2810,"qty":2.00000000}],"checksum":1}]}"#;

    #[test]
    fn ack_depth_beats_the_snapshot_and_instrument_beats_written_decimals() {
        let ack = r#"{"method":"subscribe","result":{"channel":"book","depth":25,"snapshot":true,"symbol":"MINA/GBP"},"success":true,"time_in":"2026-08-16T23:37:05.1Z","time_out":"2026-08-16T23:37:05.1Z"}"#;
        let instrument = r#"{"channel":"instrument","type":"snapshot","data":{"assets":[],"pairs":[{"symbol":"MINA/GBP","base":"MINA","quote":"GBP","status":"online","qty_precision":8,"qty_increment":1e-08,"price_precision":5,"cost_precision":5,"marginable":false,"has_index":false,"cost_min":0.5,"tick_size":0.00001,"price_increment":0.00001,"qty_min":1}]}}"#;
        let d = discover(&[SNAP, ack, instrument], &DiscoverOptions::default());
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].plan.depth, d[0].depth_source), (25, DepthSource::Ack));
        assert_eq!(
            (d[0].plan.precision, d[0].precision_source),
            (Some((5, 8)), PrecisionSource::Instrument)
        );
    }

    #[test]
    fn inferred_from_the_first_snapshot_unless_forced() {
        let d = discover(&[SNAP], &DiscoverOptions::default());
        assert_eq!(
            (d[0].plan.depth, d[0].depth_source),
            (10, DepthSource::Inferred)
        );
        assert_eq!(
            (d[0].plan.precision, d[0].precision_source),
            (Some((4, 8)), PrecisionSource::Inferred)
        );
        let forced = DiscoverOptions {
            depth: Some(100),
            precision: vec![("MINA/GBP".into(), 6, 8), ("XRP/USD".into(), 5, 8)],
        };
        let d = discover(&[SNAP], &forced);
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].plan.depth, d[0].depth_source),
            (100, DepthSource::Configured)
        );
        assert_eq!(d[0].precision_source, PrecisionSource::Configured);
        assert_eq!(d[0].plan.precision, Some((6, 8)));
        assert_eq!(d[1].plan.symbol, "XRP/USD");
    }

    #[test]
    fn nothing_known_is_the_default_depth_and_unknown_precision() {
        let update = r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[],"checksum":1}]}"#;
        let d = discover(&[update, "not json"], &DiscoverOptions::default());
        assert_eq!(
            (d[0].plan.depth, d[0].depth_source),
            (10, DepthSource::Default)
        );
        assert_eq!(
            (d[0].plan.precision, d[0].precision_source),
            (None, PrecisionSource::Unknown)
        );
    }
}
