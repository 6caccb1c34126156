//! Where the order link gets its WebSocket tokens: [`TokenSource`], implemented by
//! [`kspin_auth::TokenService`] (the HTTPS client on its own thread, live and against the
//! simulated venue) and by [`ScriptedTokens`] (tests on virtual time).
//!
//! Invariants: asking and polling never block or allocate on the engine core; a token crosses
//! as a `Copy` [`WsToken`] and a failure as a `Copy` [`TokenFailure`] (the full error text is
//! logged off the core by the service).

use std::collections::VecDeque;

use kspin_auth::{TokenFailure, TokenReply, TokenService, WsToken};

/// A source of fresh WebSocket tokens, asked once per connection attempt.
pub trait TokenSource {
    /// Asks for a token, answered later by [`TokenSource::poll`] with the same `seq`; `false`
    /// when a request is already waiting.
    fn request(&mut self, seq: u64) -> bool;
    /// The answer, once it arrived.
    fn poll(&mut self) -> Option<TokenReply>;
}

impl TokenSource for TokenService {
    fn request(&mut self, seq: u64) -> bool {
        TokenService::request(self, seq)
    }

    fn poll(&mut self) -> Option<TokenReply> {
        TokenService::poll(self)
    }
}

/// Answers requests from a script, at once (tests): each request takes the next scripted
/// result; when the script is empty every request gets `fallback`.
#[derive(Debug)]
pub struct ScriptedTokens {
    script: VecDeque<Result<WsToken, TokenFailure>>,
    fallback: Result<WsToken, TokenFailure>,
    pending: Option<u64>,
    /// Requests made so far.
    pub requests: u64,
}

impl ScriptedTokens {
    /// Every request answered with `token`.
    pub fn always(token: WsToken) -> ScriptedTokens {
        ScriptedTokens {
            script: VecDeque::new(),
            fallback: Ok(token),
            pending: None,
            requests: 0,
        }
    }

    /// The next requests answered from `script` in order, then `fallback`.
    pub fn scripted(
        script: impl IntoIterator<Item = Result<WsToken, TokenFailure>>,
        fallback: Result<WsToken, TokenFailure>,
    ) -> ScriptedTokens {
        ScriptedTokens {
            script: script.into_iter().collect(),
            fallback,
            pending: None,
            requests: 0,
        }
    }
}

impl TokenSource for ScriptedTokens {
    fn request(&mut self, seq: u64) -> bool {
        if self.pending.is_some() {
            return false;
        }
        self.requests += 1;
        self.pending = Some(seq);
        true
    }

    fn poll(&mut self) -> Option<TokenReply> {
        let seq = self.pending.take()?;
        let result = self.script.pop_front().unwrap_or(self.fallback);
        Some(TokenReply { seq, result })
    }
}
