//! The bus as the feed's [`FeedSink`]: each verified book message, trade, ticker, stale or live
//! notice, status and precision change becomes wire events on every lane (see the parent
//! module's invariants); and as a pipeline's [`FrameSink`], so `Pipeline::on_frame(payload,
//! stamp, &mut bus)` stamps each frame's events with its `recv_tsc`. The lanes are fed through
//! [`super::verified`], which a mirror of NATS uses too. A child module of
//! [`super`], so it works on the bus's own fields. Never allocates, locks or blocks; no panic on
//! input.

use kspin_api::{
    ConnectionStatus, Link, LinkState, Price, Qty, StaleReason as WireStale, SystemStatus, Ticker,
    Trade, TradeOrderType,
};

use super::Bus;
use kspin_core::book::{ApplyReport, FixedLevel, OrderBook};
use kspin_core::feed::{FeedSink, StaleReason};
use kspin_core::kraken::{self, BookData, StatusMsg, UpdateKind};
use kspin_core::FrameSink;

fn wire_stale(reason: StaleReason) -> WireStale {
    match reason {
        StaleReason::ChecksumMismatch | StaleReason::BadMessage => WireStale::ChecksumMismatch,
        StaleReason::Disconnected => WireStale::Disconnected,
        StaleReason::Halted => WireStale::Unsubscribed,
    }
}

impl Bus {
    /// An RFC3339 exchange timestamp as ns since the Unix epoch (0 when absent or unreadable).
    #[inline]
    fn exchange_ns(&mut self, timestamp: Option<&str>) -> u64 {
        timestamp
            .and_then(|t| self.times.parse(t))
            .map_or(0, |t| u64::try_from(t).unwrap_or(0))
    }
}

impl FeedSink for Bus {
    fn book_updated(
        &mut self,
        symbol: usize,
        book: &OrderBook,
        data: &BookData<'_>,
        levels: &[FixedLevel],
        kind: UpdateKind,
        _report: &ApplyReport,
    ) {
        let snapshot = matches!(kind, UpdateKind::Snapshot);
        let time_ns = self.exchange_ns(data.timestamp);
        self.verified_book(symbol, book, levels, snapshot, time_ns);
    }

    fn book_live(&mut self, symbol: usize, _book: &OrderBook) {
        self.verified_live(symbol);
    }

    fn book_stale(&mut self, symbol: usize, reason: StaleReason) {
        self.verified_stale(symbol, wire_stale(reason));
    }

    fn trade(&mut self, symbol: usize, trade: &kraken::Trade<'_>) {
        let Some(id) = self.visible_symbol(symbol) else {
            return;
        };
        let (ps, qs) = self.scales[symbol];
        let (Ok(price), Ok(qty)) = (
            Price::from_decimal(trade.price, ps),
            Qty::from_decimal(trade.qty, qs),
        ) else {
            self.counters.unconvertible += 1;
            return;
        };
        let time_ns = self.exchange_ns(Some(trade.timestamp));
        self.verified_trade(Trade {
            symbol: id,
            side: match trade.side {
                kraken::Side::Buy => kspin_api::Side::Buy,
                kraken::Side::Sell => kspin_api::Side::Sell,
            },
            ord_type: match trade.ord_type {
                kraken::OrdType::Market => TradeOrderType::Market,
                // Kraken only sends `limit` or `market`; an absent type reads as limit.
                kraken::OrdType::Limit | kraken::OrdType::Other => TradeOrderType::Limit,
            },
            price,
            qty,
            trade_id: trade.trade_id,
            time_ns,
        });
    }

    fn ticker(&mut self, symbol: usize, ticker: &kraken::Ticker<'_>) {
        let Some(id) = self.visible_symbol(symbol) else {
            return;
        };
        let (ps, qs) = self.scales[symbol];
        let converted = (
            Price::from_decimal(ticker.bid, ps),
            Price::from_decimal(ticker.ask, ps),
            Price::from_decimal(ticker.last, ps),
            Qty::from_decimal(ticker.volume, qs),
        );
        let (Ok(bid), Ok(ask), Ok(last), Ok(volume)) = converted else {
            self.counters.unconvertible += 1;
            return;
        };
        let t = Ticker {
            symbol: id,
            bid,
            ask,
            last,
            volume,
        };
        let time_ns = self.exchange_ns(ticker.timestamp);
        self.verified_ticker(t, time_ns);
    }

    /// Freezes the symbol for strategies while its precision differs from theirs: each lane
    /// gets `BookStale{PrecisionChanged}` (right away when its ring has room, else through the
    /// catch-up path: it is owed, never lost) and nothing more of the symbol. Back at their
    /// scales it thaws: the engine's book is resyncing then, and its next live snapshot is
    /// handed with `BookLive`.
    fn precision_changed(&mut self, symbol: usize, price_scale: u8, qty_scale: u8) {
        let Some(id) = self.symbol_index(symbol) else {
            return;
        };
        let Some(frozen) = self
            .precision
            .engine_scales(symbol, (price_scale, qty_scale))
        else {
            return;
        };
        self.versions[symbol] = self.versions[symbol].wrapping_add(1);
        if !frozen {
            // A notice still owed after the thaw says what the strategy's book now is: resyncing.
            self.stale_reasons[symbol] = WireStale::ChecksumMismatch;
            return;
        }
        self.counters.precision_changes += 1;
        let reason = WireStale::PrecisionChanged;
        self.stale_reasons[symbol] = reason;
        let stamps = self.stamps();
        for lane in &mut self.lanes {
            lane.owe_stale(symbol);
            self.attention |= lane.hand_off_or_defer(id, None, false, reason, stamps);
        }
    }

    fn status(&mut self, status: &StatusMsg<'_>) {
        self.publish_connection(ConnectionStatus {
            link: Link::Public,
            state: LinkState::Connected,
            system: SystemStatus::from(status.system),
        });
    }
}

impl FrameSink for Bus {
    #[inline]
    fn frame_begin(&mut self, stamp: u64, _payload: &[u8]) {
        self.set_frame_tsc(stamp);
    }
}
