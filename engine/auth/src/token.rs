//! The WebSocket token: REST `POST /0/private/GetWebSocketsToken`, signed, over HTTPS (ureq over
//! rustls with ring, the same TLS stack as the engine's connections), answered with
//! `{"error":[],"result":{"token":"…","expires":900}}` (PROTOCOL.md §1.12).
//!
//! Owns [`TokenClient`] (the agent, the endpoint, a [`NonceSource`]) and [`WsToken`] (the token
//! in a fixed-size buffer, `Copy`, so it can cross to the engine core through a ring without
//! allocating there). Invariants: certificates are always verified (the public web PKI, or a
//! given root such as the simulated venue's self-signed certificate: there is no switch that
//! disables verification); a fresh nonce for every request; errors name what failed (the host
//! unreachable, an HTTP status, Kraken's error text such as `EAPI:Invalid key`, an unreadable
//! answer) and never carry the secret, the signature or the token.

use std::sync::Arc;
use std::time::Duration;

use crate::credentials::Credentials;
use crate::nonce::NonceSource;
use crate::sign::{sign_request, SignError};

/// The private endpoint that hands out WebSocket tokens.
pub const TOKEN_PATH: &str = "/0/private/GetWebSocketsToken";
/// Longest token accepted (Kraken's are 43 base64 characters).
pub const WS_TOKEN_MAX: usize = 128;

/// A WebSocket token; `Debug` is redacted. See the module docs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct WsToken {
    bytes: [u8; WS_TOKEN_MAX],
    len: u8,
    /// Seconds the token stays usable before a connection subscribes with it.
    pub expires_s: u32,
}

impl WsToken {
    /// A token from its text; `None` if it is empty, longer than [`WS_TOKEN_MAX`] or not
    /// printable ASCII (it is written into JSON requests as is).
    pub fn new(text: &str, expires_s: u32) -> Option<WsToken> {
        let b = text.as_bytes();
        if b.is_empty()
            || b.len() > WS_TOKEN_MAX
            || !b
                .iter()
                .all(|c| c.is_ascii_graphic() && *c != b'"' && *c != b'\\')
        {
            return None;
        }
        let mut bytes = [0u8; WS_TOKEN_MAX];
        bytes[..b.len()].copy_from_slice(b);
        Some(WsToken {
            bytes,
            len: b.len() as u8,
            expires_s,
        })
    }

    /// The token text (for the `token` field of requests; never log it).
    pub fn as_str(&self) -> &str {
        // Only printable ASCII is ever stored (checked in `new`).
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl std::fmt::Debug for WsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WsToken(<redacted>, expires {} s)", self.expires_s)
    }
}

/// Why a token could not be fetched. No variant carries the secret, signature or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token endpoint {url} unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("token endpoint answered HTTP {status}")]
    Http { status: u16 },
    #[error("Kraken refused the token request: {0}")]
    Venue(String),
    #[error("unreadable token response: {0}")]
    BadResponse(String),
    #[error("signing: {0}")]
    Sign(#[from] SignError),
    #[error("token endpoint: {0}")]
    Config(String),
}

/// What the engine core is told when a token could not be had (the full error is logged off the
/// core).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenFailure {
    /// The endpoint could not be reached or answered with an HTTP error.
    Unreachable,
    /// Kraken refused the request (bad key, bad signature, permission, nonce).
    Refused,
    /// The answer could not be read.
    BadResponse,
}

impl TokenError {
    pub fn failure(&self) -> TokenFailure {
        match self {
            TokenError::Unreachable { .. } | TokenError::Http { .. } => TokenFailure::Unreachable,
            TokenError::Venue(_) | TokenError::Sign(_) | TokenError::Config(_) => {
                TokenFailure::Refused
            }
            TokenError::BadResponse(_) => TokenFailure::BadResponse,
        }
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    #[serde(default)]
    error: Vec<String>,
    result: Option<TokenResult>,
}

#[derive(serde::Deserialize)]
struct TokenResult {
    token: String,
    #[serde(default)]
    expires: u32,
}

/// Fetches WebSocket tokens; see the module docs.
pub struct TokenClient {
    base_url: String,
    agent: ureq::Agent,
    nonces: NonceSource,
}

impl std::fmt::Debug for TokenClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl TokenClient {
    /// A client for `base_url` (`https://api.kraken.com`, or the simulated venue's
    /// `https://127.0.0.1:PORT`), trusting `extra_root_pem` when given (and then only it), else
    /// the public web PKI; every request gives up after `timeout`.
    pub fn new(
        base_url: &str,
        extra_root_pem: Option<&str>,
        timeout: Duration,
    ) -> Result<TokenClient, TokenError> {
        let roots = match extra_root_pem {
            Some(pem) => {
                let mut certs = Vec::new();
                for item in ureq::tls::parse_pem(pem.as_bytes()) {
                    match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
                        Ok(_) => {}
                        Err(e) => return Err(TokenError::Config(format!("trusted root: {e}"))),
                    }
                }
                if certs.is_empty() {
                    return Err(TokenError::Config(
                        "trusted root: no certificate in the PEM".into(),
                    ));
                }
                ureq::tls::RootCerts::Specific(Arc::new(certs))
            }
            None => ureq::tls::RootCerts::WebPki,
        };
        let tls = ureq::tls::TlsConfig::builder().root_certs(roots).build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(TokenClient {
            base_url: base_url.trim_end_matches('/').to_owned(),
            agent,
            nonces: NonceSource::new(),
        })
    }

    /// Asks for a fresh token (blocking: call it off the engine core).
    pub fn fetch(&self, credentials: &Credentials) -> Result<WsToken, TokenError> {
        let nonce = self.nonces.next();
        let body = format!("nonce={nonce}");
        let sign = sign_request(TOKEN_PATH, nonce, &body, credentials.secret())?;
        let url = format!("{}{TOKEN_PATH}", self.base_url);
        let response = self
            .agent
            .post(&url)
            .header("API-Key", credentials.api_key())
            .header("API-Sign", &sign)
            .content_type("application/x-www-form-urlencoded; charset=utf-8")
            .send(body.as_bytes());
        let mut response = response.map_err(|e| TokenError::Unreachable {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .map_err(|e| TokenError::BadResponse(e.to_string()))?;
        let parsed: Result<TokenResponse, _> = serde_json::from_str(&text);
        match parsed {
            Ok(r) if !r.error.is_empty() => Err(TokenError::Venue(r.error.join(", "))),
            Ok(TokenResponse {
                result: Some(result),
                ..
            }) if status == 200 => WsToken::new(&result.token, result.expires).ok_or_else(|| {
                TokenError::BadResponse("the token is not printable ASCII or too long".into())
            }),
            _ if status != 200 => Err(TokenError::Http { status }),
            Ok(_) => Err(TokenError::BadResponse("no result in the answer".into())),
            Err(e) => Err(TokenError::BadResponse(format!("not JSON: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bounded_and_redacted() {
        let t = WsToken::new("G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY", 900).unwrap();
        assert_eq!(t.as_str(), "G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY");
        assert!(!format!("{t:?}").contains("G38a"));
        assert!(WsToken::new("", 1).is_none());
        assert!(WsToken::new("has\"quote", 1).is_none());
        assert!(WsToken::new(&"x".repeat(WS_TOKEN_MAX + 1), 1).is_none());
    }

    #[test]
    fn an_unreachable_endpoint_is_a_clear_error() {
        let client = TokenClient::new("https://127.0.0.1:9", None, Duration::from_secs(2)).unwrap();
        let creds = Credentials::new("KEY", "c2VjcmV0", "test").unwrap();
        let e = client.fetch(&creds).unwrap_err();
        assert_eq!(e.failure(), TokenFailure::Unreachable);
        assert!(e.to_string().contains("unreachable"), "{e}");
    }
}
