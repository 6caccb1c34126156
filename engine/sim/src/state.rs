//! The venue's shared market state: the true market, the depth views clients subscribe to, and
//! the exchange that trades the simulated account against that market.
//!
//! Owns the [`Market`], one [`DepthView`] per (symbol, depth) that has at least one
//! subscriber, and the [`Exchange`] when the trading side runs (in the same mutex, so an order
//! is always matched against the book clients were last sent). Invariants: a view exists exactly while its subscriber count is > 0; every view
//! equals the market's top N after each step (see `depth_view`), so [`MarketState::book_levels`]
//! answers "what a correct client holds now" from the view, or, with no view, from the market's
//! top N directly (the same thing). Lives behind the venue's one mutex; never does I/O.

use kspin_api::{Price, Qty};

use super::depth_view::DepthView;
use super::market::{BookSideKind, Market};
use super::trading::Exchange;

/// A view and how many subscriptions use it.
#[derive(Debug)]
pub struct ViewSlot {
    pub view: DepthView,
    pub subscribers: u32,
}

/// See the module docs.
#[derive(Debug)]
pub struct MarketState {
    pub market: Market,
    pub views: Vec<ViewSlot>,
    pub seed: u64,
    pub exchange: Option<Exchange>,
}

/// Bids and asks, best first.
pub type Levels = (Vec<(Price, Qty)>, Vec<(Price, Qty)>);

impl MarketState {
    pub fn new(market: Market, seed: u64, exchange: Option<Exchange>) -> MarketState {
        MarketState {
            market,
            views: Vec::new(),
            seed,
            exchange,
        }
    }

    pub fn view_index(&self, symbol: usize, depth: u16) -> Option<usize> {
        self.views
            .iter()
            .position(|s| s.view.symbol() == symbol && s.view.depth() == depth)
    }

    /// Adds a subscriber to the (symbol, depth) view, creating it from the market if needed.
    pub fn subscribe_view(&mut self, symbol: usize, depth: u16) -> Option<usize> {
        if let Some(i) = self.view_index(symbol, depth) {
            self.views[i].subscribers += 1;
            return Some(i);
        }
        let sym = self.market.symbol(symbol)?;
        self.views.push(ViewSlot {
            view: DepthView::new(symbol, depth, sym, self.seed),
            subscribers: 1,
        });
        Some(self.views.len() - 1)
    }

    /// Removes a subscriber; the view goes when its last subscriber does.
    pub fn unsubscribe_view(&mut self, symbol: usize, depth: u16) {
        if let Some(i) = self.view_index(symbol, depth) {
            let slot = &mut self.views[i];
            slot.subscribers = slot.subscribers.saturating_sub(1);
            if slot.subscribers == 0 {
                self.views.swap_remove(i);
            }
        }
    }

    /// The book a correct client subscribed at `depth` holds now.
    pub fn book_levels(&self, symbol: usize, depth: u16) -> Option<Levels> {
        if let Some(i) = self.view_index(symbol, depth) {
            let book = self.views[i].view.book();
            return Some((book.bids().collect(), book.asks().collect()));
        }
        let sym = self.market.symbol(symbol)?;
        let mut bids = Vec::new();
        let mut asks = Vec::new();
        sym.top(BookSideKind::Bid, depth as usize, &mut bids);
        sym.top(BookSideKind::Ask, depth as usize, &mut asks);
        Some((bids, asks))
    }
}
