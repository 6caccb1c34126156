//! The venue's book tap: for every book frame (snapshot or update) queued on a connection, the
//! reference book a correct client holds right after applying it, keyed by the connection's
//! `connection_id` (from its `status` frame) and the frame's sequence number on that connection
//! (1 = the `status` frame, then every text frame in send order).
//!
//! It lets a soak compare every book the engine publishes with the venue's [`crate::RefBook`] at
//! the same point: the engine counts text frames per connection, and after the book message in
//! frame `seq` of connection `id` it asks [`BookTap::take`] for the reference. Owns the entries
//! not yet taken, per connection, each connection's queue bounded ([`TAP_CAPACITY`]; older
//! entries are dropped and counted, never grown past). Invariants: the venue thread records an
//! entry after the frame is queued and before it can reach the socket, so a client never asks
//! for a frame the tap has not seen; entries of one connection are in frame order. It costs the
//! venue a copy of the levels per book frame, so it is off unless `SimConfig::book_tap` is set.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use kspin_api::{Price, Qty};

use crate::ref_book::RefBook;

/// Entries kept per connection before the oldest are dropped (a client that lags this far
/// behind the venue is disconnected as too slow long before).
pub const TAP_CAPACITY: usize = 1 << 18;

/// The reference book after one book frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapEntry {
    /// The frame's sequence number on its connection.
    pub seq: u64,
    /// The venue's symbol index (the order of `SimConfig::symbols`).
    pub symbol: usize,
    /// Bids, best first, and asks, best first: every level the subscribed depth holds.
    pub bids: Vec<(Price, Qty)>,
    pub asks: Vec<(Price, Qty)>,
}

#[derive(Debug, Default)]
struct TapState {
    conns: HashMap<u64, VecDeque<TapEntry>>,
    dropped: u64,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct BookTap {
    state: Mutex<TapState>,
}

impl BookTap {
    pub fn new() -> BookTap {
        BookTap::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, TapState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Venue side: frame `seq` of connection `connection_id` carried a book message for
    /// `symbol`, after which a correct client holds `book`.
    pub fn record(&self, connection_id: u64, seq: u64, symbol: usize, book: &RefBook) {
        let entry = TapEntry {
            seq,
            symbol,
            bids: book.bids().collect(),
            asks: book.asks().collect(),
        };
        let mut state = self.state();
        let queue = state.conns.entry(connection_id).or_default();
        let overflow = queue.len() >= TAP_CAPACITY;
        if overflow {
            queue.pop_front();
        }
        queue.push_back(entry);
        state.dropped += u64::from(overflow);
    }

    /// Client side: the reference after frame `seq` of `connection_id`, if that frame carried
    /// a book message; entries of earlier frames of that connection are discarded.
    pub fn take(&self, connection_id: u64, seq: u64) -> Option<TapEntry> {
        let mut state = self.state();
        let queue = state.conns.get_mut(&connection_id)?;
        while queue.front().is_some_and(|e| e.seq < seq) {
            queue.pop_front();
        }
        if queue.front().is_some_and(|e| e.seq == seq) {
            queue.pop_front()
        } else {
            None
        }
    }

    /// Forgets every connection but `connection_id` (the client moved on to it).
    pub fn keep_only(&self, connection_id: u64) {
        self.state().conns.retain(|id, _| *id == connection_id);
    }

    /// Entries dropped because a connection's queue was full.
    pub fn dropped(&self) -> u64 {
        self.state().dropped
    }

    /// Entries held now (all connections).
    pub fn held(&self) -> usize {
        self.state().conns.values().map(VecDeque::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_by_connection_and_sequence_discarding_older_frames() {
        let tap = BookTap::new();
        let mut book = RefBook::new(10, 1, 8);
        book.apply(true, &[(Price(10), Qty(1))], &[(Price(11), Qty(2))]);
        tap.record(7, 2, 0, &book);
        tap.record(7, 5, 1, &book);
        tap.record(9, 3, 0, &book);
        assert_eq!(tap.take(7, 3), None, "frame 3 carried no book");
        let e = tap.take(7, 5).expect("frame 5");
        assert_eq!((e.seq, e.symbol), (5, 1));
        assert_eq!(e.bids, [(Price(10), Qty(1))]);
        assert_eq!(e.asks, [(Price(11), Qty(2))]);
        assert_eq!(tap.held(), 1);
        tap.keep_only(7);
        assert_eq!((tap.held(), tap.take(9, 3)), (0, None));
    }
}
