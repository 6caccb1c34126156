//! Outgoing Kraken requests, rendered once at start-up, and the bounded queue of requests the feed
//! asks for while frames are being read.
//!
//! Owns every request the engine core can send: the initial subscriptions (grouped per channel and
//! depth), a per-symbol unsubscribe/subscribe pair for resyncs, and a buffer for `ping`. Because
//! the subscriptions are fixed by the configuration, their bytes are rendered once with
//! `kraken::request` and replayed on every (re)connect: sending never allocates.
//! Invariants: the pending queue never grows past the capacity fixed at construction (each symbol
//! has at most one pending unsubscribe and one pending subscribe); a full queue drops and counts.

use crate::plan::SymbolPlan;
use kspin_core::kraken::request::{
    write_ping, write_subscribe, write_unsubscribe, Subscription, WriteError,
};

/// One request the runtime must send after the current read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingRequest {
    /// Resync step 1: unsubscribe this symbol's book.
    UnsubscribeBook(usize),
    /// Resync step 2: subscribe this symbol's book again.
    SubscribeBook(usize),
}

/// Request ids: fixed per kind so that acks can be told apart in captures. Kraken echoes `req_id`
/// and does not require uniqueness (PROTOCOL.md §1.1).
pub const REQ_ID_INSTRUMENT: u64 = 1;
pub const REQ_ID_BOOK: u64 = 2;
pub const REQ_ID_TRADE: u64 = 3;
pub const REQ_ID_TICKER: u64 = 4;
/// Resync requests carry `REQ_ID_RESYNC_BASE + symbol index`, so an error ack (which names no
/// symbol, PROTOCOL.md §1.3) can still be attributed to its symbol.
pub const REQ_ID_RESYNC_BASE: u64 = 1_000;

/// The symbol a resync request id belongs to, if it is one.
pub fn resync_symbol(req_id: u64, symbols: usize) -> Option<usize> {
    let index = req_id.checked_sub(REQ_ID_RESYNC_BASE)?;
    usize::try_from(index).ok().filter(|&i| i < symbols)
}

/// A symbol's resync requests: (unsubscribe its book, subscribe its book).
pub type ResyncPair = (Box<[u8]>, Box<[u8]>);

/// The pre-rendered requests; see the module docs.
#[derive(Debug, Clone)]
pub struct Requests {
    /// `instrument` subscribe (sent first when some symbol has no configured precision).
    pub instrument: Box<[u8]>,
    /// Book subscriptions, one per depth.
    pub books: Vec<Box<[u8]>>,
    /// Trade and ticker subscriptions.
    pub others: Vec<Box<[u8]>>,
    /// Per symbol index: (unsubscribe book, subscribe book); empty when the symbol has no book.
    pub resync: Vec<ResyncPair>,
    ping_buf: Box<[u8]>,
    pending: Vec<PendingRequest>,
    pending_cap: usize,
    pub dropped: u64,
}

impl Requests {
    /// Renders every request for `plan` (symbol index = position in `plan`).
    pub fn render(plan: &[SymbolPlan]) -> Result<Requests, WriteError> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut take =
            |sub: &Subscription<'_>, unsubscribe: bool| -> Result<Box<[u8]>, WriteError> {
                let n = if unsubscribe {
                    write_unsubscribe(&mut buf, sub)?
                } else {
                    write_subscribe(&mut buf, sub)?
                };
                Ok(buf[..n].to_vec().into_boxed_slice())
            };
        let instrument = take(
            &Subscription {
                channel: "instrument",
                symbols: &[],
                depth: None,
                snapshot: Some(true),
                req_id: Some(REQ_ID_INSTRUMENT),
            },
            false,
        )?;
        let mut depths: Vec<u16> = plan.iter().filter(|p| p.book).map(|p| p.depth).collect();
        depths.sort_unstable();
        depths.dedup();
        let mut books = Vec::new();
        for depth in depths {
            let symbols: Vec<&str> = plan
                .iter()
                .filter(|p| p.book && p.depth == depth)
                .map(|p| p.symbol.as_str())
                .collect();
            books.push(take(
                &Subscription {
                    channel: "book",
                    symbols: &symbols,
                    depth: Some(depth),
                    snapshot: Some(true),
                    req_id: Some(REQ_ID_BOOK),
                },
                false,
            )?);
        }
        let mut others = Vec::new();
        let trades: Vec<&str> = plan
            .iter()
            .filter(|p| p.trade)
            .map(|p| p.symbol.as_str())
            .collect();
        if !trades.is_empty() {
            others.push(take(
                &Subscription {
                    channel: "trade",
                    symbols: &trades,
                    depth: None,
                    snapshot: Some(false),
                    req_id: Some(REQ_ID_TRADE),
                },
                false,
            )?);
        }
        let tickers: Vec<&str> = plan
            .iter()
            .filter(|p| p.ticker)
            .map(|p| p.symbol.as_str())
            .collect();
        if !tickers.is_empty() {
            others.push(take(
                &Subscription {
                    channel: "ticker",
                    symbols: &tickers,
                    depth: None,
                    snapshot: Some(true),
                    req_id: Some(REQ_ID_TICKER),
                },
                false,
            )?);
        }
        let mut resync = Vec::with_capacity(plan.len());
        for (index, p) in plan.iter().enumerate() {
            if !p.book {
                resync.push((Box::default(), Box::default()));
                continue;
            }
            let symbols = [p.symbol.as_str()];
            let sub = Subscription {
                channel: "book",
                symbols: &symbols,
                depth: Some(p.depth),
                snapshot: Some(true),
                req_id: Some(REQ_ID_RESYNC_BASE + index as u64),
            };
            let unsub = Subscription {
                snapshot: None,
                ..sub
            };
            resync.push((take(&unsub, true)?, take(&sub, false)?));
        }
        let pending_cap = 2 * plan.len() + 8;
        Ok(Requests {
            instrument,
            books,
            others,
            resync,
            ping_buf: vec![0u8; 128].into_boxed_slice(),
            pending: Vec::with_capacity(pending_cap),
            pending_cap,
            dropped: 0,
        })
    }

    /// Queues a request (no allocation: the queue's capacity is fixed).
    #[inline]
    pub fn push(&mut self, request: PendingRequest) {
        if self.pending.contains(&request) {
            return;
        }
        if self.pending.len() < self.pending_cap {
            self.pending.push(request);
        } else {
            self.dropped += 1;
        }
    }

    /// Hands each pending request's bytes to `send`, oldest first; keeps those `send` refused.
    pub fn drain(&mut self, mut send: impl FnMut(PendingRequest, &[u8]) -> bool) {
        let mut kept = 0;
        for i in 0..self.pending.len() {
            let request = self.pending[i];
            let bytes: &[u8] = match request {
                PendingRequest::UnsubscribeBook(s) => {
                    self.resync.get(s).map(|r| &*r.0).unwrap_or(&[])
                }
                PendingRequest::SubscribeBook(s) => {
                    self.resync.get(s).map(|r| &*r.1).unwrap_or(&[])
                }
            };
            if bytes.is_empty() || send(request, bytes) {
                continue;
            }
            self.pending[kept] = request;
            kept += 1;
        }
        self.pending.truncate(kept);
    }

    #[inline]
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Forgets pending requests (the connection they were meant for is gone).
    pub fn clear_pending(&mut self) {
        self.pending.clear();
    }

    /// A `ping` request with `req_id`.
    pub fn ping(&mut self, req_id: u64) -> &[u8] {
        match write_ping(&mut self.ping_buf, Some(req_id)) {
            Ok(n) => &self.ping_buf[..n],
            Err(_) => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Vec<SymbolPlan> {
        let p = |s: &str, depth, trade| SymbolPlan {
            symbol: s.into(),
            depth,
            book: true,
            trade,
            ticker: false,
            precision: None,
        };
        vec![
            p("BTC/USD", 10, true),
            p("ETH/USD", 25, false),
            p("SOL/USD", 10, true),
        ]
    }

    #[test]
    fn groups_book_subscriptions_by_depth() {
        let r = Requests::render(&plan()).unwrap();
        let books: Vec<String> = r
            .books
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        assert_eq!(books.len(), 2);
        assert!(
            books[0].contains(r#""symbol":["BTC/USD","SOL/USD"]"#)
                && books[0].contains(r#""depth":10"#),
            "{}",
            books[0]
        );
        assert!(books[1].contains(r#""symbol":["ETH/USD"]"#) && books[1].contains(r#""depth":25"#));
        let trade = String::from_utf8_lossy(&r.others[0]).into_owned();
        assert!(
            trade.contains(r#""channel":"trade""#) && trade.contains(r#"["BTC/USD","SOL/USD"]"#)
        );
        let unsub = String::from_utf8_lossy(&r.resync[1].0).into_owned();
        assert!(
            unsub.contains(r#""method":"unsubscribe""#) && unsub.contains("ETH/USD"),
            "{unsub}"
        );
    }

    #[test]
    fn pending_queue_is_bounded_and_deduplicated() {
        let mut r = Requests::render(&plan()).unwrap();
        r.push(PendingRequest::UnsubscribeBook(1));
        r.push(PendingRequest::UnsubscribeBook(1));
        r.push(PendingRequest::SubscribeBook(0));
        let mut sent = Vec::new();
        r.drain(|req, bytes| {
            sent.push((req, !bytes.is_empty()));
            req != PendingRequest::SubscribeBook(0) // the second one does not fit now
        });
        assert_eq!(
            sent,
            vec![
                (PendingRequest::UnsubscribeBook(1), true),
                (PendingRequest::SubscribeBook(0), true)
            ]
        );
        assert!(r.has_pending());
        for i in 0..100 {
            r.push(PendingRequest::SubscribeBook(i));
        }
        // Capacity 2 * 3 + 8 = 14 with one kept: SubscribeBook(0) is a duplicate, 13 more fit,
        // the other 86 are dropped and counted.
        assert_eq!(r.dropped, 86);
    }
}
