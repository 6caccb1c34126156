//! [`QueueModel`]: where a resting paper order stands in its price level's queue, and when the
//! recorded market reaches it. The recorded market never contains the strategy's own orders, so
//! the model is an assumption, stated here and in the README:
//!
//! - **`back`** (the default, conservative): a resting order joins the back of its level — the
//!   quantity displayed at its price on its side when it starts resting is *ahead* of it. A
//!   public trade at its price by a taker on the other side consumes the quantity ahead first;
//!   what the trade had beyond that fills the order. A new book state that shows less at its
//!   price than is ahead shrinks what is ahead to what is shown (cancellations are assumed to
//!   come from behind it, so they only move it up when the level has become smaller than its
//!   place). More joining the level later queue behind it.
//! - **`front`** (optimistic): nothing is ahead; every trade at its price fills it.
//! - **`cross`** (most conservative): trades are ignored; it fills only when the opposite side of
//!   the book crosses its price (the model of `kspin run`'s paper fills).
//!
//! Under every model a trade *through* the price (a sell below a resting buy, a buy above a
//! resting sell: the taker reached the order's price first) fills it up to the trade's quantity
//! (`back` and `front`), and a book state whose opposite side crosses the price fills it up to
//! the crossing quantity. Paper orders never consume the recorded liquidity: two of them can
//! fill against the same trade.
//!
//! Pure arithmetic on quantity mantissas: no allocation, no panic (saturating where sums could
//! overflow).

use kspin_api::{Price, Side};

/// See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueModel {
    #[default]
    Back,
    Front,
    Cross,
}

impl QueueModel {
    pub const ALL: [QueueModel; 3] = [QueueModel::Back, QueueModel::Front, QueueModel::Cross];

    /// The name in configuration and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            QueueModel::Back => "back",
            QueueModel::Front => "front",
            QueueModel::Cross => "cross",
        }
    }

    /// The model called `name`.
    pub fn parse(name: &str) -> Option<QueueModel> {
        QueueModel::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The quantity ahead of an order that starts resting where `displayed` is shown at its
    /// price on its side.
    pub fn join(self, displayed: i64) -> i64 {
        match self {
            QueueModel::Back => displayed.max(0),
            QueueModel::Front | QueueModel::Cross => 0,
        }
    }

    /// A public trade of `qty` at `price` by a taker on the other side of a resting order on
    /// `side` at `limit` with `remaining` open and `ahead` in front of it: how much of it fills
    /// (at most `remaining`); `ahead` shrinks by what the trade took from the queue.
    pub fn on_trade(
        self,
        side: Side,
        limit: Price,
        ahead: &mut i64,
        remaining: i64,
        price: Price,
        qty: i64,
    ) -> i64 {
        if self == QueueModel::Cross || remaining <= 0 || qty <= 0 {
            return 0;
        }
        let through = match side {
            Side::Buy => price < limit,
            Side::Sell => price > limit,
        };
        if through {
            *ahead = 0;
            return remaining.min(qty);
        }
        if price != limit {
            return 0;
        }
        let beyond = qty.saturating_sub(*ahead);
        *ahead = ahead.saturating_sub(qty).max(0);
        beyond.clamp(0, remaining)
    }

    /// A new book state shows `displayed` at the order's price on its side.
    pub fn on_depth(self, ahead: &mut i64, displayed: i64) {
        *ahead = (*ahead).min(displayed.max(0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUY: Side = Side::Buy;
    const L: Price = Price(100);

    #[test]
    fn back_of_the_queue_waits_for_the_quantity_ahead() {
        let m = QueueModel::Back;
        let mut ahead = m.join(10);
        assert_eq!(ahead, 10);
        // Trades at the price consume what is ahead, then fill.
        assert_eq!(m.on_trade(BUY, L, &mut ahead, 5, L, 4), 0);
        assert_eq!(ahead, 6);
        // The book then shows 6 at the price: consistent, nothing moves.
        m.on_depth(&mut ahead, 6);
        assert_eq!(ahead, 6);
        // Cancellations leave 3 shown: 3 of those ahead left.
        m.on_depth(&mut ahead, 3);
        assert_eq!(ahead, 3);
        // More joining behind does not push it back.
        m.on_depth(&mut ahead, 50);
        assert_eq!(ahead, 3);
        // A trade of 5: 3 for the queue, 2 for the order.
        assert_eq!(m.on_trade(BUY, L, &mut ahead, 5, L, 5), 2);
        assert_eq!(ahead, 0);
        // Capped at what remains.
        assert_eq!(m.on_trade(BUY, L, &mut ahead, 3, L, 9), 3);
        // Trades away from the price (above a buy) do not reach it; through it they do.
        assert_eq!(m.on_trade(BUY, L, &mut ahead, 3, Price(101), 9), 0);
        let mut ahead = m.join(10);
        assert_eq!(m.on_trade(BUY, L, &mut ahead, 3, Price(99), 2), 2);
        assert_eq!(ahead, 0);
        // A sell order mirrors it.
        let mut ahead = m.join(1);
        assert_eq!(m.on_trade(Side::Sell, L, &mut ahead, 4, Price(101), 2), 2);
        assert_eq!(m.on_trade(Side::Sell, L, &mut ahead, 4, Price(99), 2), 0);
    }

    #[test]
    fn front_fills_at_once_and_cross_ignores_trades() {
        let mut ahead = QueueModel::Front.join(10);
        assert_eq!(ahead, 0);
        assert_eq!(QueueModel::Front.on_trade(BUY, L, &mut ahead, 5, L, 4), 4);
        let mut ahead = QueueModel::Cross.join(10);
        assert_eq!(QueueModel::Cross.on_trade(BUY, L, &mut ahead, 5, L, 4), 0);
        assert_eq!(
            QueueModel::Cross.on_trade(BUY, L, &mut ahead, 5, Price(1), 4),
            0
        );
        for m in QueueModel::ALL {
            assert_eq!(QueueModel::parse(m.name()), Some(m));
        }
        assert_eq!(QueueModel::parse("middle"), None);
    }
}
