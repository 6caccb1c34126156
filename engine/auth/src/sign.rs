//! Kraken REST request signing (https://docs.kraken.com/api/docs/guides/spot-rest-auth,
//! PROTOCOL.md §1.12): `API-Sign = base64(HMAC-SHA512(key = base64_decode(secret),
//! msg = uri_path + SHA256(nonce + post_data)))`.
//!
//! Owns [`sign_request`]. Invariants: the signature is computed with `ring`'s HMAC and SHA-256
//! (the crypto provider rustls already uses); neither the secret nor the signature is ever
//! formatted into an error.

use base64::Engine as _;
use ring::{digest, hmac};

use crate::secret::Secret;

/// Why a request could not be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The URI path does not start with `/0/private/` (only private endpoints are signed).
    #[error("only /0/private/ endpoints are signed")]
    NotPrivate,
    /// The secret is empty.
    #[error("the API secret is empty")]
    EmptySecret,
}

/// The `API-Sign` header for a POST of `post_data` (which must contain `nonce=<nonce>`) to
/// `uri_path`.
pub fn sign_request(
    uri_path: &str,
    nonce: u64,
    post_data: &str,
    secret: &Secret,
) -> Result<String, SignError> {
    if !uri_path.starts_with("/0/private/") {
        return Err(SignError::NotPrivate);
    }
    if secret.is_empty() {
        return Err(SignError::EmptySecret);
    }
    let mut sha = digest::Context::new(&digest::SHA256);
    sha.update(nonce.to_string().as_bytes());
    sha.update(post_data.as_bytes());
    let inner = sha.finish();
    let key = hmac::Key::new(hmac::HMAC_SHA512, secret.expose());
    let mut mac = hmac::Context::with_key(&key);
    mac.update(uri_path.as_bytes());
    mac.update(inner.as_ref());
    let tag = mac.sign();
    Ok(base64::engine::general_purpose::STANDARD.encode(tag.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_secret() -> Secret {
        let b64 = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
        Secret::new(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
    }

    /// Kraken's documented example (PROTOCOL.md §1.12, spot-rest-auth guide).
    #[test]
    fn the_documented_signature_reproduces() {
        let sig = sign_request(
            "/0/private/AddOrder",
            1_616_492_376_594,
            "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25",
            &doc_secret(),
        )
        .unwrap();
        assert_eq!(
            sig,
            "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
        );
    }

    #[test]
    fn public_paths_and_empty_secrets_are_refused() {
        assert_eq!(
            sign_request("/0/public/Time", 1, "nonce=1", &doc_secret()),
            Err(SignError::NotPrivate)
        );
        assert_eq!(
            sign_request("/0/private/X", 1, "nonce=1", &Secret::new(Vec::new())),
            Err(SignError::EmptySecret)
        );
    }
}
