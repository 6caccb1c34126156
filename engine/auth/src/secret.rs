//! [`Secret`]: the decoded API secret, zeroised when dropped and redacted wherever it could be
//! printed.
//!
//! Invariants: the bytes are only reachable through [`Secret::expose`], which the signer calls;
//! `Debug` prints `Secret(<redacted>)`; there is no `Display`, `Clone` copies into another
//! zeroising buffer.

use zeroize::Zeroizing;

/// The API secret's bytes (base64-decoded); see the module docs.
#[derive(Clone)]
pub struct Secret {
    bytes: Zeroizing<Vec<u8>>,
}

impl Secret {
    /// Takes ownership of `bytes` (they are zeroised when the secret is dropped).
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret {
            bytes: Zeroizing::new(bytes),
        }
    }

    /// The raw key for HMAC; only the signer should call this.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_bytes() {
        let s = Secret::new(b"hunter2".to_vec());
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.expose(), b"hunter2");
    }
}
