//! [`TokenService`]: the thread that fetches WebSocket tokens for the engine core, so the core
//! never performs a DNS lookup, a TLS handshake or a blocking read for one.
//!
//! The core asks with a [`TokenRequest`] (a sequence number) and later polls for the
//! [`TokenReply`] carrying the same number: a `Copy` [`crate::WsToken`] or a `Copy`
//! [`crate::TokenFailure`]; the full error text goes to the service's log callback, off the core.
//! Invariants: one request in flight at a time per service; the thread ends when its handle is
//! dropped; replies are never lost (a reply channel of one message, each request answered once).

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use crate::credentials::Credentials;
use crate::token::{TokenClient, TokenFailure, WsToken};

/// A request for a fresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRequest {
    pub seq: u64,
}

/// The answer to the request with the same `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenReply {
    pub seq: u64,
    pub result: Result<WsToken, TokenFailure>,
}

/// The engine core's handle on the token thread; see the module docs.
pub struct TokenService {
    requests: Option<SyncSender<TokenRequest>>,
    replies: Receiver<TokenReply>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService").finish_non_exhaustive()
    }
}

impl TokenService {
    /// Starts the thread. `log` receives each failure's full text (on the service thread).
    pub fn spawn(
        client: TokenClient,
        credentials: Credentials,
        log: impl Fn(&str) + Send + 'static,
    ) -> std::io::Result<TokenService> {
        let (req_tx, req_rx) = mpsc::sync_channel::<TokenRequest>(1);
        let (rep_tx, rep_rx) = mpsc::sync_channel::<TokenReply>(1);
        let thread = std::thread::Builder::new()
            .name("kspin-token".into())
            .spawn(move || {
                while let Ok(request) = req_rx.recv() {
                    let result = client.fetch(&credentials).map_err(|e| {
                        log(&format!("websocket token: {e}"));
                        e.failure()
                    });
                    if rep_tx
                        .send(TokenReply {
                            seq: request.seq,
                            result,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
            })?;
        Ok(TokenService {
            requests: Some(req_tx),
            replies: rep_rx,
            thread: Some(thread),
        })
    }

    /// Asks for a token; `false` if a request is already waiting (never blocks).
    pub fn request(&self, seq: u64) -> bool {
        self.requests
            .as_ref()
            .is_some_and(|tx| tx.try_send(TokenRequest { seq }).is_ok())
    }

    /// The reply, if it has arrived (never blocks).
    pub fn poll(&self) -> Option<TokenReply> {
        self.replies.try_recv().ok()
    }
}

impl Drop for TokenService {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
