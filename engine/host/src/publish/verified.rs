//! The bus fed with market data verified elsewhere: book states, trades, tickers and stale /
//! live notices that arrive already converted and checked (a `kspin mirror` rebuilding books
//! from NATS), handed to every lane exactly as the feed's callbacks hand the engine's own
//! ([`super::feed_sink`] converts the feed's callbacks and calls these). A child module of
//! [`super`], so it works on the bus's own fields.
//!
//! Invariants: the same as the feed's path (all or nothing per message, conflation of lagging
//! lanes, `BookLive` after the snapshot that follows [`Bus::verified_live`]); the caller hands
//! only book states it verified. Never allocates, locks or blocks; no panic on input (unknown
//! symbols are counted).

use kspin_api::wire::{WireEvent, WireKind, WireMeta};
use kspin_api::{BookStale, StaleReason as WireStale, Ticker, Trade};

use super::Bus;
use kspin_core::book::{FixedLevel, OrderBook};

impl Bus {
    /// A verified book message of `symbol` (the bus's index): `book` is the state after it,
    /// `levels` its levels as applied (bids, then asks; ignored for a snapshot), `time_ns` its
    /// exchange time (ns since the Unix epoch, 0: none).
    pub fn verified_book(
        &mut self,
        symbol: usize,
        book: &OrderBook,
        levels: &[FixedLevel],
        snapshot: bool,
        time_ns: u64,
    ) {
        let Some(id) = self.visible_symbol(symbol) else {
            return;
        };
        self.versions[symbol] = self.versions[symbol].wrapping_add(1);
        self.scales[symbol] = (book.price_scale(), book.qty_scale());
        self.book_time_ns[symbol] = time_ns;
        self.observe(time_ns);
        if snapshot {
            self.publish_snapshot(id, book);
        } else {
            self.publish_update(id, book, levels);
        }
    }

    /// The book of `symbol` is verified again: the next snapshot is followed by `BookLive`.
    pub fn verified_live(&mut self, symbol: usize) {
        if self.precision.is_frozen(symbol) {
            return;
        }
        if let Some(flag) = self.going_live.get_mut(symbol) {
            *flag = true;
        }
    }

    /// The book of `symbol` can no longer be trusted, for `reason`.
    pub fn verified_stale(&mut self, symbol: usize, reason: WireStale) {
        // A frozen symbol was made stale for strategies when it froze, with its own reason.
        let Some(id) = self.visible_symbol(symbol) else {
            return;
        };
        self.stale_reasons[symbol] = reason;
        self.versions[symbol] = self.versions[symbol].wrapping_add(1);
        let stamps = self.stamps();
        for lane in &mut self.lanes {
            if !lane.lagging() && lane.events.reserve(1) {
                let kind = WireKind::BookStale(BookStale { symbol: id, reason });
                lane.push(WireEvent::new(stamps.recv, stamps.publish, kind));
                lane.told_live[symbol] = false;
            } else {
                lane.counters.events_dropped += 1;
                lane.mark_dirty(symbol);
                lane.hand_off(id, None, false, reason, stamps);
                self.attention |= lane.lagging();
            }
        }
    }

    /// A public trade (its `symbol` is the bus's index; `time_ns` its exchange time).
    pub fn verified_trade(&mut self, trade: Trade) {
        if self.visible_symbol(trade.symbol.index()).is_none() {
            return;
        }
        self.observe(trade.time_ns);
        let stamps = self.stamps();
        let event = WireEvent::new(stamps.recv, stamps.publish, WireKind::Trade(trade));
        for lane in &mut self.lanes {
            lane.offer(event);
        }
    }

    /// A ticker update with its exchange time (`time_ns`, 0: none, the market clock is used).
    pub fn verified_ticker(&mut self, ticker: Ticker, time_ns: u64) {
        if self.visible_symbol(ticker.symbol.index()).is_none() {
            return;
        }
        self.observe(time_ns);
        let stamps = self.stamps();
        let event = WireEvent::new(stamps.recv, stamps.publish, WireKind::Ticker(ticker));
        let meta = WireMeta {
            time_ns: if time_ns == 0 {
                stamps.time_ns
            } else {
                time_ns
            },
            fee: kspin_api::Decimal::ZERO,
        };
        for lane in &mut self.lanes {
            lane.offer_with_meta(meta, event);
        }
    }
}
