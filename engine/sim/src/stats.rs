//! The venue's counters: what it sent, to whom, which faults fired, and what the trading side
//! did (tokens, orders by outcome and refusal reason, fills, cancels, dead man's switch).
//!
//! Owns one relaxed atomic per counter, shared between the venue thread (the only writer) and the
//! handle (reader). Invariants: counters only grow; a [`VenueStats`] is a plain copy taken at one
//! moment (fields read one by one, so not a transaction). It never blocks.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// A copy of the venue's counters.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct VenueStats {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl VenueStats {
            /// Every counter with its name, in declaration order (for summaries).
            pub fn named(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name),)*]
            }
        }

        /// The live counters (see the module docs).
        #[derive(Debug, Default)]
        pub struct StatsCounters {
            $(pub $name: AtomicU64,)*
        }

        impl StatsCounters {
            pub fn snapshot(&self) -> VenueStats {
                VenueStats { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters! {
    /// TCP connections accepted.
    connections_accepted,
    /// WebSocket handshakes completed.
    connections_open,
    /// Connections ended (by the client, a fault, an error or stop).
    connections_closed,
    /// Connections closed because their write buffer was full (a client not reading).
    connections_dropped_slow,
    /// TLS or WebSocket handshakes that failed or timed out.
    handshakes_failed,
    /// Text requests received.
    requests,
    /// `status` frames sent.
    status_frames,
    /// `heartbeat` frames sent.
    heartbeats,
    /// `instrument` snapshots sent.
    instrument_snapshots,
    /// `book` snapshots sent.
    book_snapshots,
    /// `book` updates sent.
    book_updates,
    /// `trade` frames sent (snapshots and updates).
    trade_frames,
    /// `ticker` frames sent (snapshots and updates).
    ticker_frames,
    /// Successful subscribe/unsubscribe acks.
    acks,
    /// Error acks.
    error_acks,
    /// `pong` answers.
    pongs,
    /// Malformed (non-JSON) frames sent by the fault.
    malformed_frames,
    /// Deeply nested frames sent by the `deep` fault.
    deep_frames,
    /// Oversized frames sent by the fault.
    oversized_frames,
    /// Text bytes handed to WebSocket (payload, before framing and TLS).
    bytes_sent,
    /// Market events (steps of the order-flow model).
    market_events,
    /// Faults fired (each kind counts once per firing).
    faults_fired,
    /// Book frames sent with a deliberately wrong checksum.
    checksums_corrupted,
    /// Connections cut by `drop` or `tls-no-close-notify`.
    connections_cut,
    /// Times the listener was closed by `refuse`.
    refuse_windows,
    /// Requests to the REST listener (well formed or not).
    rest_requests,
    /// REST requests answered 400, 404 or 405.
    rest_bad_requests,
    /// WebSocket tokens issued.
    tokens_issued,
    /// Token requests refused (bad key, signature or nonce).
    tokens_refused,
    /// Connections accepted on the authenticated listener.
    auth_connections,
    /// Authenticated connections cut by `auth-drop`.
    auth_drops,
    /// Trading requests (order entry and private subscriptions).
    trading_requests,
    /// Trading requests refused for a missing, unknown or expired token.
    auth_refused,
    /// Successful answers to trading requests.
    trading_acks,
    /// `executions` frames sent (snapshots and updates).
    execution_frames,
    /// `balances` frames sent (snapshots and updates).
    balance_frames,
    /// Orders placed (each order of a batch counts).
    orders_placed,
    /// Orders checked with `validate: true` and not placed.
    orders_validated,
    /// Orders amended.
    orders_amended,
    /// Orders cancelled by the client (`cancel_order`, `cancel_all`, `batch_cancel`).
    orders_cancelled,
    /// Unfilled rests of market and IOC orders cancelled.
    remainders_cancelled,
    /// Fills of the account's orders.
    fills,
    /// GTD orders expired.
    orders_expired,
    /// `cancel_all_orders_after` requests.
    dead_man_requests,
    /// Orders cancelled by the dead man's switch.
    dead_man_cancels,
    /// Refused: bad arguments, unknown pair, precision, minimums, duplicate `cl_ord_id`.
    rejected_invalid,
    /// Refused: `EOrder:Unknown order`.
    rejected_unknown_order,
    /// Refused: `EOrder:Post only order`.
    rejected_post_only,
    /// Refused: `EOrder:Insufficient funds`.
    rejected_funds,
    /// Refused: `EOrder:Orders limit exceeded`.
    rejected_orders_limit,
    /// Refused: `EOrder:Rate limit exceeded` (any transaction).
    rejected_rate_limit,
    /// Refused by the `reject` fault.
    rejected_fault,
    /// Refused: maintenance (`EService:Unavailable`) or an elapsed deadline.
    rejected_unavailable,
}

impl StatsCounters {
    /// Adds `n` to a counter.
    #[inline]
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
