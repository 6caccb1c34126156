//! The token desk behind `POST /0/private/GetWebSocketsToken` (PROTOCOL.md §1.12): checks the
//! `API-Key`, the `API-Sign` signature and the nonce exactly as Kraken does, issues WebSocket
//! tokens and tells the authenticated endpoint whether a token is good.
//!
//! Owns the venue's key pair, the last accepted nonce and the issued tokens. Rules: the key must
//! be the configured one (`EAPI:Invalid key`); the signature must equal
//! `kspin_auth::sign_request` over the URI path, the nonce and the body with the configured
//! secret (`EAPI:Invalid signature`); the body's `nonce` must be greater than every nonce
//! accepted before for the key (`EAPI:Invalid nonce`); a token is good while younger than the
//! configured lifetime (900 s), and for as long as a connection that subscribed with it stays
//! open ("it does not expire once a successful Websockets connection and private subscription
//! has been made and is maintained"). Invariants: checks run in that order and a refused
//! request changes nothing (its nonce is not recorded); tokens are 43 random base64 characters
//! from the OS's random source; no token, secret or signature is ever logged or formatted into
//! an error. It never does I/O besides reading the random source.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kspin_auth::{sign_request, Credentials, TOKEN_PATH};

use super::ids::random_base64;

/// Kraken's error texts for the token endpoint.
pub const INVALID_KEY: &str = "EAPI:Invalid key";
pub const INVALID_SIGNATURE: &str = "EAPI:Invalid signature";
pub const INVALID_NONCE: &str = "EAPI:Invalid nonce";
/// When the random source fails (never expected).
pub const UNAVAILABLE: &str = "EService:Unavailable";

/// Tokens kept at most; the oldest expired ones go first.
const MAX_TOKENS: usize = 4_096;

/// See the module docs.
pub struct TokenDesk {
    credentials: Credentials,
    last_nonce: Option<u64>,
    tokens: HashMap<String, Instant>,
    ttl: Duration,
}

impl std::fmt::Debug for TokenDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenDesk")
            .field("credentials", &self.credentials)
            .field("tokens", &self.tokens.len())
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// The `nonce` of a form body (`nonce=123&otp=...`), if present and a u64.
fn form_nonce(body: &str) -> Option<u64> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "nonce")
        .and_then(|(_, v)| {
            (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .then(|| v.parse().ok())
                .flatten()
        })
}

impl TokenDesk {
    pub fn new(credentials: Credentials, ttl: Duration) -> TokenDesk {
        TokenDesk {
            credentials,
            last_nonce: None,
            tokens: HashMap::new(),
            ttl,
        }
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Seconds a token stays usable before a subscription (`expires` in the answer).
    pub fn ttl_secs(&self) -> u64 {
        self.ttl.as_secs()
    }

    /// Answers one token request: the token, or Kraken's error text.
    pub fn request(
        &mut self,
        api_key: Option<&str>,
        api_sign: Option<&str>,
        body: &str,
        now: Instant,
    ) -> Result<String, &'static str> {
        if api_key.map(str::trim) != Some(self.credentials.api_key()) {
            return Err(INVALID_KEY);
        }
        let Some(nonce) = form_nonce(body) else {
            return Err(INVALID_NONCE);
        };
        let expected = sign_request(TOKEN_PATH, nonce, body, self.credentials.secret())
            .map_err(|_| INVALID_SIGNATURE)?;
        let given = api_sign.map(str::trim).unwrap_or("");
        if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return Err(INVALID_SIGNATURE);
        }
        if self.last_nonce.is_some_and(|last| nonce <= last) {
            return Err(INVALID_NONCE);
        }
        let token = random_base64(32, false).ok_or(UNAVAILABLE)?;
        self.last_nonce = Some(nonce);
        self.prune(now);
        self.tokens.insert(token.clone(), now);
        Ok(token)
    }

    /// Whether `token` was issued here and is still usable: younger than the lifetime, or
    /// `held` (a connection that subscribed with it is still open).
    pub fn is_valid(&self, token: &str, now: Instant, held: bool) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|issued| held || now.saturating_duration_since(*issued) < self.ttl)
    }

    fn prune(&mut self, now: Instant) {
        if self.tokens.len() < MAX_TOKENS {
            return;
        }
        let ttl = self.ttl;
        self.tokens
            .retain(|_, issued| now.saturating_duration_since(*issued) < ttl);
        while self.tokens.len() >= MAX_TOKENS {
            let oldest = self
                .tokens
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.tokens.remove(&k),
                None => break,
            };
        }
    }
}

/// Byte comparison whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desk() -> TokenDesk {
        let c = Credentials::new("KEY", "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", "test").unwrap();
        TokenDesk::new(c, Duration::from_secs(900))
    }

    fn signed(d: &TokenDesk, nonce: u64) -> (String, String) {
        let body = format!("nonce={nonce}");
        let sign = sign_request(TOKEN_PATH, nonce, &body, d.credentials().secret()).unwrap();
        (body, sign)
    }

    #[test]
    fn key_signature_and_nonce_are_checked_in_order() {
        let mut d = desk();
        let now = Instant::now();
        let (body, sign) = signed(&d, 10);
        assert_eq!(
            d.request(Some("OTHER"), Some(&sign), &body, now),
            Err(INVALID_KEY)
        );
        assert_eq!(d.request(None, Some(&sign), &body, now), Err(INVALID_KEY));
        assert_eq!(
            d.request(Some("KEY"), Some("AAAA"), &body, now),
            Err(INVALID_SIGNATURE)
        );
        assert_eq!(
            d.request(Some("KEY"), Some(&sign), "nonce=11", now),
            Err(INVALID_SIGNATURE)
        );
        assert_eq!(
            d.request(Some("KEY"), Some(&sign), "x=1", now),
            Err(INVALID_NONCE)
        );
        let token = d.request(Some("KEY"), Some(&sign), &body, now).unwrap();
        assert_eq!(token.len(), 43);
        // The same nonce again, and a smaller one, are refused.
        assert_eq!(
            d.request(Some("KEY"), Some(&sign), &body, now),
            Err(INVALID_NONCE)
        );
        let (body9, sign9) = signed(&d, 9);
        assert_eq!(
            d.request(Some("KEY"), Some(&sign9), &body9, now),
            Err(INVALID_NONCE)
        );
        let (body11, sign11) = signed(&d, 11);
        assert!(d.request(Some("KEY"), Some(&sign11), &body11, now).is_ok());
        // Validity: fresh, expired, or held by a subscribed connection.
        assert!(d.is_valid(&token, now, false));
        let late = now + Duration::from_secs(900);
        assert!(!d.is_valid(&token, late, false));
        assert!(d.is_valid(&token, late, true));
        assert!(!d.is_valid("nope", now, true));
        assert!(!format!("{d:?}").contains(&token));
    }
}
