//! Per-symbol subscription state, the mismatch policy and the feed's counters.
//!
//! Owns only plain data: the state enum, the policy, and counter structs that the runtime reads
//! for its status line and summary. Never allocates, never does I/O.

/// Where one `book` subscription stands.
///
/// ```text
///  Inactive ─subscribe─► AwaitingSnapshot ─snapshot ok─► Live ─mismatch─► Unsubscribing
///                             ▲                                               │ unsubscribe ack
///                             └────────────── subscribe sent ◄────────────────┘
/// ```
/// Updates are applied only in `Live` (and `Unvalidated`); in every other state they are dropped
/// and counted, so a late frame of an old subscription can never touch the new book: the new
/// book starts from the snapshot that follows the new subscribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionState {
    /// No subscription (initial state of a passive replay, or after an unsubscribe).
    Inactive,
    /// Subscribed (or resubscribed); waiting for the snapshot. Updates are dropped.
    AwaitingSnapshot,
    /// Book verified by its last checksum; updates are applied and checked.
    Live,
    /// A resync is under way: unsubscribe sent, waiting for its ack. Updates are dropped.
    Unsubscribing,
    /// The mismatch policy gave up validating: updates are applied and forwarded, checksums
    /// counted and never acted on; the book is reported stale, never live.
    Unvalidated,
    /// The mismatch policy halted this symbol: nothing is applied.
    Halted,
}

impl SubscriptionState {
    /// Whether a strategy may trust this book: only a book whose last checksum matched.
    /// (`Unvalidated` keeps streaming but is never live: DESIGN.md invariant 4.)
    #[inline]
    pub fn is_live(self) -> bool {
        self == SubscriptionState::Live
    }

    /// Stable short name, for summaries.
    pub fn name(self) -> &'static str {
        match self {
            SubscriptionState::Inactive => "inactive",
            SubscriptionState::AwaitingSnapshot => "awaiting_snapshot",
            SubscriptionState::Live => "live",
            SubscriptionState::Unsubscribing => "resyncing",
            SubscriptionState::Unvalidated => "unvalidated",
            SubscriptionState::Halted => "halted",
        }
    }
}

/// What to do once a symbol has failed its checksum `max_mismatches` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MismatchAction {
    /// Resync every time (the default).
    KeepResyncing,
    /// Stop validating the symbol: apply updates, count mismatches, never resync.
    StopValidating,
    /// Halt the symbol (and report it; the runtime may halt the engine).
    Halt,
}

/// The mismatch policy of a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MismatchPolicy {
    pub action: MismatchAction,
    /// Mismatches per symbol after which `action` applies; below it the feed always resyncs.
    pub max_mismatches: u32,
}

impl Default for MismatchPolicy {
    fn default() -> Self {
        MismatchPolicy {
            action: MismatchAction::KeepResyncing,
            max_mismatches: 10,
        }
    }
}

/// Whether the feed drives subscriptions (live) or only follows a recording (replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeedMode {
    /// Live connection: a mismatch asks the runtime to unsubscribe and resubscribe the symbol.
    #[default]
    Live,
    /// Replay of a recording: nothing can be sent; a mismatch waits for the next snapshot.
    Passive,
}

/// Why the feed refused to apply a book message (the book then resyncs, as for a mismatch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// A price with more decimals than the pair's precision.
    PriceTooPrecise,
    /// A negative price.
    PriceNegative,
    /// A price that does not fit the fixed-point mantissa.
    PriceOverflow,
    /// A price that is not a number.
    PriceInvalid,
    /// A price of zero.
    ZeroPrice,
    /// A quantity with more decimals than the pair's precision.
    QtyTooPrecise,
    /// A negative quantity.
    QtyNegative,
    /// A quantity that does not fit the fixed-point mantissa.
    QtyOverflow,
    /// A quantity that is not a number.
    QtyInvalid,
    /// A live book message without a checksum (Kraken's v2 book always carries one).
    NoChecksum,
    /// More levels in one message than the engine's level buffer holds.
    TooManyLevels,
}

/// Number of [`RejectReason`]s.
pub const REJECT_REASONS: usize = 11;

impl RejectReason {
    /// Every reason, by index.
    pub const ALL: [RejectReason; REJECT_REASONS] = [
        RejectReason::PriceTooPrecise,
        RejectReason::PriceNegative,
        RejectReason::PriceOverflow,
        RejectReason::PriceInvalid,
        RejectReason::ZeroPrice,
        RejectReason::QtyTooPrecise,
        RejectReason::QtyNegative,
        RejectReason::QtyOverflow,
        RejectReason::QtyInvalid,
        RejectReason::NoChecksum,
        RejectReason::TooManyLevels,
    ];

    /// The reason a book refused a message.
    pub fn of(error: &crate::book::BookError) -> RejectReason {
        use crate::book::BookError;
        use kspin_api::FixedError;
        match *error {
            BookError::BadPrice { error, .. } => match error {
                FixedError::TooPrecise => RejectReason::PriceTooPrecise,
                FixedError::Negative => RejectReason::PriceNegative,
                FixedError::Overflow => RejectReason::PriceOverflow,
                FixedError::Empty | FixedError::Invalid => RejectReason::PriceInvalid,
            },
            BookError::BadQty { error, .. } => match error {
                FixedError::TooPrecise => RejectReason::QtyTooPrecise,
                FixedError::Negative => RejectReason::QtyNegative,
                FixedError::Overflow => RejectReason::QtyOverflow,
                FixedError::Empty | FixedError::Invalid => RejectReason::QtyInvalid,
            },
            BookError::ZeroPrice { .. } => RejectReason::ZeroPrice,
            BookError::TooManyLevels { .. } => RejectReason::TooManyLevels,
        }
    }

    /// Stable short name, for reports and `--json`.
    pub fn name(self) -> &'static str {
        match self {
            RejectReason::PriceTooPrecise => "price_too_precise",
            RejectReason::PriceNegative => "price_negative",
            RejectReason::PriceOverflow => "price_overflow",
            RejectReason::PriceInvalid => "price_invalid",
            RejectReason::ZeroPrice => "zero_price",
            RejectReason::QtyTooPrecise => "qty_too_precise",
            RejectReason::QtyNegative => "qty_negative",
            RejectReason::QtyOverflow => "qty_overflow",
            RejectReason::QtyInvalid => "qty_invalid",
            RejectReason::NoChecksum => "no_checksum",
            RejectReason::TooManyLevels => "too_many_levels",
        }
    }

    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Counters of one symbol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SymbolCounters {
    pub book_messages: u64,
    pub snapshots: u64,
    pub checksum_ok: u64,
    pub checksum_mismatch: u64,
    pub resyncs: u64,
    pub dropped_not_live: u64,
    pub rejected_messages: u64,
    /// `rejected_messages` by [`RejectReason::index`].
    pub rejected_by_reason: [u64; REJECT_REASONS],
    pub absent_deletes: u64,
    pub crossed: u64,
    pub capacity_evictions: u64,
    pub trades: u64,
    pub tickers: u64,
}

/// Counters of the whole feed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedCounters {
    pub frames: u64,
    pub book_messages: u64,
    pub checksum_ok: u64,
    pub checksum_mismatch: u64,
    pub resyncs: u64,
    pub trades: u64,
    pub tickers: u64,
    pub ohlc: u64,
    pub heartbeats: u64,
    pub statuses: u64,
    pub pongs: u64,
    pub acks: u64,
    pub error_acks: u64,
    pub instruments: u64,
    pub requests: u64,
    /// Messages of the authenticated connection (executions, balances, order responses) that
    /// reached the market-data feed, which ignores them.
    pub private: u64,
    pub unknown_symbol: u64,
    pub no_precision: u64,
    pub rejected_messages: u64,
    /// `rejected_messages` by [`RejectReason::index`].
    pub rejected_by_reason: [u64; REJECT_REASONS],
    pub dropped_not_live: u64,
}
