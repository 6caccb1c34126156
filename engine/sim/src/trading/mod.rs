//! The venue's trading side: Kraken's REST token endpoint, the authenticated WebSocket endpoint
//! (`wss://ws-auth.kraken.com/v2`) with `executions` and `balances`, order entry, and a matching
//! engine that trades the one simulated account against the simulated market.
//!
//! Owns the modules of that side: configuration ([`config`]), the token desk ([`token`]) and
//! the HTTP listener's connections ([`http`]), the exchange state and its pre-trade checks
//! ([`exchange`]), an order's life and fills ([`lifecycle`]), where orders meet the market
//! ([`matching`]), money ([`ledger`]), Kraken's rate limits ([`limits`]), request handling
//! ([`requests`], [`order_entry`], [`params`]), the authenticated sessions ([`session`]), frame
//! text ([`exec_frames`]), number and time text ([`decimal`]), ids and tokens ([`ids`]), and the
//! types they share ([`orders`]). Invariants: it shares no code with the engine (the signature
//! check calls `kspin_auth::sign_request`, the engine's signer, by design: a token request the
//! venue accepts is one the engine signed right); every client input, however bad, gets
//! Kraken's error answer and never a panic; the market model is never changed by trading (see
//! [`matching`]), so the public feed stays a function of the seed.

pub mod config;
pub mod decimal;
pub mod exchange;
pub mod exec_frames;
pub mod http;
pub mod ids;
pub mod ledger;
pub mod lifecycle;
pub mod limits;
pub mod matching;
pub mod order_entry;
pub mod orders;
pub mod params;
pub mod requests;
pub mod session;
pub mod token;

pub use config::{SimTradingConfig, TradingTier};
pub use exchange::{Exchange, Now};
pub use ledger::Balance;
pub use orders::{
    AccountEvent, ExecType, Fill, LedgerEntry, Liquidity, Order, OrderStatus, OrderType, Side,
    TimeInForce,
};
