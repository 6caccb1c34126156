//! kspin-auth: what authenticated trading needs before a byte reaches the exchange, all of it off
//! the engine core.
//!
//! Owns the API credentials ([`Credentials`], read from `KRAKEN_API_KEY` / `KRAKEN_API_SECRET` or
//! a file that only its owner can read; the secret zeroised on drop and never printed), Kraken's
//! REST request signing ([`sign_request`]: HMAC-SHA512 over the URI path and SHA-256 of nonce and
//! body, exactly as the auth guide says, tested against its documented example), strictly
//! increasing nonces ([`NonceSource`]), and the client that fetches a WebSocket token with REST
//! `GetWebSocketsToken` over HTTPS (ureq over rustls, [`TokenClient`]), run on its own thread by
//! [`TokenService`] so the engine core only ever sees a fixed-size [`WsToken`] through a ring.
//!
//! Invariants: no secret, signature or token text appears in any `Debug`, `Display`, error or
//! log output of this crate; nothing here runs on the engine core or blocks it.

#![forbid(unsafe_code)]

mod credentials;
mod nonce;
mod secret;
mod service;
mod sign;
mod token;

pub use credentials::{Credentials, CredentialsError, API_KEY_ENV, API_SECRET_ENV};
pub use nonce::NonceSource;
pub use secret::Secret;
pub use service::{TokenReply, TokenRequest, TokenService};
pub use sign::{sign_request, SignError};
pub use token::{TokenClient, TokenError, TokenFailure, WsToken, TOKEN_PATH, WS_TOKEN_MAX};
