//! [`FrameWriter`]: the Kraken v2 text frames the test harness feeds the engine — book snapshots
//! and updates carrying the checksum the feed will verify, trades, tickers, `status` and
//! `instrument` messages — written into one preallocated buffer, cleared and reused per frame.
//!
//! Owns the buffer, the symbol table and one scratch [`OrderBook`] per symbol: the engine's own
//! book type, to which each book frame's levels are applied (bids then asks, in order, then the
//! truncation to depth) so that the frame carries the CRC32 of exactly the book the engine will
//! hold after it. Invariants: numbers are written exactly, as mantissas at the symbol's scales;
//! after construction writing a frame allocates nothing unless the frame is longer than any
//! before it. It never reads a clock (the harness tells it the scripted time) and never decides
//! what the engine does with a frame.

use core::fmt::Write as _;

use kspin_api::{FixedDisplay, Price, Qty, Side, SymbolInfo, SystemStatus, Ticker};
use kspin_core::book::{OrderBook, SideKind};

/// Bytes reserved for the frame text up front (a snapshot of 1000 levels a side fits).
const FRAME_CAPACITY: usize = 1 << 17;

/// Whether a book frame replaces the book or amends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BookFrame {
    Snapshot,
    Update,
}

/// See the module docs.
pub(crate) struct FrameWriter {
    text: String,
    symbols: Vec<SymbolInfo>,
    mirrors: Vec<OrderBook>,
    /// The exchange timestamp book and ticker frames carry (ns since the Unix epoch; 0: none).
    now_ns: u64,
}

impl FrameWriter {
    pub(crate) fn new(symbols: &[SymbolInfo]) -> FrameWriter {
        FrameWriter {
            text: String::with_capacity(FRAME_CAPACITY),
            mirrors: symbols
                .iter()
                .map(|s| OrderBook::new(usize::from(s.depth), s.price_scale, s.qty_scale))
                .collect(),
            symbols: symbols.to_vec(),
            now_ns: 0,
        }
    }

    /// The exchange time the next book and ticker frames carry (the harness's scripted clock).
    pub(crate) fn set_now(&mut self, now_ns: u64) {
        self.now_ns = now_ns;
    }

    /// The last frame written.
    pub(crate) fn text(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// A `book` frame of symbol `s` with `bids` and `asks` (`(price, qty)` mantissas, in message
    /// order; qty 0 removes a level) and the checksum of the book after them.
    pub(crate) fn book(
        &mut self,
        s: usize,
        kind: BookFrame,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) {
        let mirror = &mut self.mirrors[s];
        if kind == BookFrame::Snapshot {
            mirror.clear();
        }
        for &(p, q) in bids {
            let _ = mirror.apply_level(SideKind::Bid, Price(p), Qty(q));
        }
        for &(p, q) in asks {
            let _ = mirror.apply_level(SideKind::Ask, Price(p), Qty(q));
        }
        mirror.truncate_to_depth();
        let checksum = mirror.checksum();
        self.book_text(s, kind, bids, asks, checksum);
    }

    /// An empty `book` update of symbol `s` whose checksum is not the book's: the feed finds a
    /// mismatch.
    pub(crate) fn bad_checksum(&mut self, s: usize) {
        let checksum = !self.mirrors[s].checksum();
        self.book_text(s, BookFrame::Update, &[], &[], checksum);
    }

    fn book_text(
        &mut self,
        s: usize,
        kind: BookFrame,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
        checksum: u32,
    ) {
        let info = &self.symbols[s];
        let (ps, qs) = (info.price_scale, info.qty_scale);
        let text = &mut self.text;
        text.clear();
        let kind = match kind {
            BookFrame::Snapshot => "snapshot",
            BookFrame::Update => "update",
        };
        // Writing into a String cannot fail.
        let _ = write!(
            text,
            r#"{{"channel":"book","type":"{kind}","data":[{{"symbol":"{}","bids":"#,
            info.name
        );
        levels(text, bids, ps, qs);
        text.push_str(r#","asks":"#);
        levels(text, asks, ps, qs);
        let _ = write!(text, r#","checksum":{checksum}"#);
        if self.now_ns > 0 {
            text.push_str(r#","timestamp":""#);
            rfc3339(text, self.now_ns);
            text.push('"');
        }
        text.push_str("}]}");
    }

    /// A `trade` frame: one trade of symbol `s` at exchange time `time_ns`.
    pub(crate) fn trade(
        &mut self,
        s: usize,
        side: Side,
        price: i64,
        qty: i64,
        trade_id: u64,
        time_ns: u64,
    ) {
        let info = &self.symbols[s];
        let text = &mut self.text;
        text.clear();
        let side = match side {
            Side::Buy => "buy",
            Side::Sell => "sell",
        };
        let _ = write!(
            text,
            r#"{{"channel":"trade","type":"update","data":[{{"symbol":"{}","side":"{side}","price":{},"qty":{},"ord_type":"market","trade_id":{trade_id},"timestamp":""#,
            info.name,
            fixed(price, info.price_scale),
            fixed(qty, info.qty_scale),
        );
        rfc3339(text, time_ns);
        text.push_str(r#""}]}"#);
    }

    /// A `ticker` frame for `ticker.symbol` (the fields a [`Ticker`] does not carry are 0, or
    /// the last price).
    pub(crate) fn ticker(&mut self, s: usize, ticker: &Ticker) {
        let info = &self.symbols[s];
        let (ps, qs) = (info.price_scale, info.qty_scale);
        let last = fixed(ticker.last.0, ps);
        let text = &mut self.text;
        text.clear();
        let _ = write!(
            text,
            r#"{{"channel":"ticker","type":"update","data":[{{"symbol":"{}","bid":{},"bid_qty":0,"ask":{},"ask_qty":0,"last":{last},"volume":{},"vwap":{last},"low":{last},"high":{last},"change":0,"change_pct":0"#,
            info.name,
            fixed(ticker.bid.0, ps),
            fixed(ticker.ask.0, ps),
            fixed(ticker.volume.0, qs),
        );
        if self.now_ns > 0 {
            text.push_str(r#","timestamp":""#);
            rfc3339(text, self.now_ns);
            text.push('"');
        }
        text.push_str("}]}");
    }

    /// A `status` frame announcing `system` (not `Unknown`, which Kraken never sends).
    pub(crate) fn status(&mut self, system: SystemStatus) {
        let system = match system {
            SystemStatus::Online | SystemStatus::Unknown => "online",
            SystemStatus::Maintenance => "maintenance",
            SystemStatus::CancelOnly => "cancel_only",
            SystemStatus::PostOnly => "post_only",
        };
        self.text.clear();
        let _ = write!(
            self.text,
            r#"{{"channel":"status","type":"update","data":[{{"api_version":"v2","connection_id":1,"system":"{system}","version":"2.0.0"}}]}}"#
        );
    }

    /// An `instrument` frame giving symbol `s` the precision `price_scale` / `qty_scale`.
    pub(crate) fn instrument(&mut self, s: usize, price_scale: u8, qty_scale: u8) {
        let info = &self.symbols[s];
        let (base, quote) = info
            .name
            .split_once('/')
            .unwrap_or((info.name.as_str(), "USD"));
        let text = &mut self.text;
        text.clear();
        let _ = write!(
            text,
            r#"{{"channel":"instrument","type":"update","data":{{"pairs":[{{"symbol":"{}","base":"{base}","quote":"{quote}","status":"online","price_precision":{price_scale},"qty_precision":{qty_scale},"price_increment":{},"qty_increment":{},"qty_min":{}}}]}}}}"#,
            info.name,
            fixed(1, price_scale),
            fixed(1, qty_scale),
            fixed(1, qty_scale),
        );
    }
}

fn fixed(mantissa: i64, scale: u8) -> FixedDisplay {
    FixedDisplay { mantissa, scale }
}

/// `[{"price":..,"qty":..},...]`.
fn levels(text: &mut String, levels: &[(i64, i64)], price_scale: u8, qty_scale: u8) {
    text.push('[');
    for (i, &(p, q)) in levels.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        let _ = write!(
            text,
            r#"{{"price":{},"qty":{}}}"#,
            fixed(p, price_scale),
            fixed(q, qty_scale)
        );
    }
    text.push(']');
}

/// `time_ns` (since the Unix epoch) as Kraken writes timestamps, to the nanosecond.
fn rfc3339(text: &mut String, time_ns: u64) {
    let secs = time_ns / 1_000_000_000;
    let nanos = time_ns % 1_000_000_000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let in_day = secs % 86_400;
    let _ = write!(
        text,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    );
}

/// The date `days` after 1970-01-01 (proleptic Gregorian; H. Hinnant's `civil_from_days`, the
/// inverse of the decoder's `days_from_civil`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kspin_core::kraken::time::parse_rfc3339_nanos;
    use kspin_core::kraken::{Decoder, DecoderLimits, Message};

    #[test]
    fn timestamps_read_back_to_the_nanosecond() {
        for t in [
            0,
            1,
            999_999_999,
            1_696_613_755_440_295_000,
            1_709_164_800_123_456_789, // 2024-02-29
            951_782_400_000_000_000,   // 2000-02-29
            4_102_444_800_000_000_000, // 2100-01-01
        ] {
            let mut text = String::new();
            rfc3339(&mut text, t);
            assert_eq!(parse_rfc3339_nanos(&text), Some(t as i64), "{text}");
        }
    }

    #[test]
    fn every_frame_decodes_and_books_carry_the_engine_checksum() {
        let symbols = [SymbolInfo::new(0, "BTC/USD", 1, 8, 10)];
        let mut w = FrameWriter::new(&symbols);
        let mut decoder = Decoder::new(DecoderLimits::default());
        w.book(
            0,
            BookFrame::Snapshot,
            &[(1000, 5), (999, 100_000_000)],
            &[(1001, 2)],
        );
        let mut engine = OrderBook::new(10, 1, 8);
        match decoder.decode(w.text()).expect("book decodes") {
            Message::Book(msg) => {
                let data = msg.get(0);
                let bids = data.bids.iter().map(|l| (l.price, l.qty));
                let asks = data.asks.iter().map(|l| (l.price, l.qty));
                engine
                    .apply(kspin_core::book::ApplyMode::Snapshot, bids, asks)
                    .expect("levels fit");
                assert_eq!(data.checksum, Some(engine.checksum()));
            }
            other => panic!("{other:?}"),
        }
        w.trade(0, Side::Sell, 1000, 3, 7, 1_000_000_001);
        assert!(matches!(decoder.decode(w.text()), Ok(Message::Trade(_))));
        let ticker = Ticker {
            symbol: kspin_api::SymbolId(0),
            bid: Price(1),
            ask: Price(2),
            last: Price(3),
            volume: Qty(4),
        };
        w.ticker(0, &ticker);
        assert!(matches!(decoder.decode(w.text()), Ok(Message::Ticker(_))));
        w.status(SystemStatus::PostOnly);
        assert!(matches!(decoder.decode(w.text()), Ok(Message::Status(_))));
        w.instrument(0, 2, 8);
        assert!(matches!(
            decoder.decode(w.text()),
            Ok(Message::Instrument(_))
        ));
        w.bad_checksum(0);
        assert!(matches!(decoder.decode(w.text()), Ok(Message::Book(_))));
    }
}
