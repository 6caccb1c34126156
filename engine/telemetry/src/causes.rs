//! Why connections ended: each connection's `disconnects` split by cause, from the counters the
//! engine core already keeps.
//!
//! Owns the cause tables. Invariant: the causes of a connection sum to its `disconnects` (what no
//! listed counter explains is `dropped`: the venue closed, a read or write failed, TLS or
//! WebSocket errors). A new cause the core counts is one line in its table.

use std::collections::BTreeMap;

use kspin_runtime::trading::LinkCounters;
use kspin_runtime::CoreCounters;

/// A cause and the counter that counts it.
type Cause<C> = (&'static str, fn(&C) -> u64);

/// Market data: causes the core counts separately (each also counted in `disconnects`).
pub const MARKET_DATA_CAUSES: &[Cause<CoreCounters>] = &[
    ("stall", |c| c.stalls),
    ("resync_timeout", |c| c.resync_timeouts),
];

/// Trading: causes the link counts separately (each also counted in `disconnects`).
pub const TRADING_CAUSES: &[Cause<LinkCounters>] = &[
    ("stall", |c| c.stalls),
    ("subscribe_refused", |c| c.subscribe_refused),
];

fn split<C>(c: &C, disconnects: u64, table: &[Cause<C>]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut explained = 0u64;
    for (name, count) in table {
        let n = count(c).min(disconnects.saturating_sub(explained));
        explained += n;
        out.insert((*name).to_owned(), n);
    }
    out.insert("dropped".to_owned(), disconnects - explained);
    out
}

/// Market-data disconnects by cause.
pub fn market_data_causes(c: &CoreCounters) -> BTreeMap<String, u64> {
    split(c, c.disconnects, MARKET_DATA_CAUSES)
}

/// Trading disconnects by cause.
pub fn trading_causes(c: &LinkCounters) -> BTreeMap<String, u64> {
    split(c, c.disconnects, TRADING_CAUSES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_sum_to_disconnects() {
        let c = CoreCounters {
            disconnects: 5,
            stalls: 2,
            resync_timeouts: 1,
            ..CoreCounters::default()
        };
        let by = market_data_causes(&c);
        assert_eq!(by["stall"], 2);
        assert_eq!(by["resync_timeout"], 1);
        assert_eq!(by["dropped"], 2);
        assert_eq!(by.values().sum::<u64>(), 5);
        // A counter ahead of `disconnects` (read mid-update) never makes the sum exceed it.
        let odd = CoreCounters {
            disconnects: 1,
            stalls: 3,
            ..CoreCounters::default()
        };
        assert_eq!(market_data_causes(&odd).values().sum::<u64>(), 1);
    }
}
