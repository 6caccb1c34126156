//! The two kinds of side: [`BookSide`] (which half of a book a level is on) and [`Side`] (the
//! direction of an order or of a trade's taker).
//!
//! Both are one byte so that they pack into the small fields of wire events. Nothing here
//! allocates or panics.

/// Which half of an order book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookSide {
    Bid,
    Ask,
}

impl BookSide {
    /// The other half.
    #[inline]
    pub const fn opposite(self) -> BookSide {
        match self {
            BookSide::Bid => BookSide::Ask,
            BookSide::Ask => BookSide::Bid,
        }
    }
}

/// Direction of an order, or of a trade's taker (Kraken `trade.side`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    #[inline]
    pub const fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// The book side an order of this direction rests on (a buy rests on the bids).
    #[inline]
    pub const fn resting_side(self) -> BookSide {
        match self {
            Side::Buy => BookSide::Bid,
            Side::Sell => BookSide::Ask,
        }
    }

    /// `+1` for buys, `-1` for sells: the sign of the position change.
    #[inline]
    pub const fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }

    /// Lower-case Kraken spelling (`buy` / `sell`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}
