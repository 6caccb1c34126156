//! The venue's TLS identity: a self-signed certificate for `localhost` and `127.0.0.1`, made
//! with rcgen at start-up, and the rustls server configuration that presents it.
//!
//! Owns the certificate (PEM and DER) and its private key. Invariants: the key never leaves this
//! module except inside the rustls configuration; clients trust the venue through the PEM (their
//! own root store), never by disabling verification. It never reads keys from disk.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;

use super::SimError;

/// Names the certificate is valid for: the venue binds only to 127.0.0.1, and `url()` uses
/// `localhost` for `wss://` so that SNI carries a DNS name as it does against Kraken.
pub const CERT_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// TLS records buffered per connection before writes report `WouldBlock` (rustls's own default
/// is 64 KiB; a larger buffer rides out short client pauses at high rates).
const TLS_BUFFER_LIMIT: usize = 1 << 20;

/// A freshly generated self-signed certificate.
pub struct VenueCert {
    pub pem: String,
    pub der: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl std::fmt::Debug for VenueCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VenueCert")
            .field("pem", &self.pem)
            .finish_non_exhaustive()
    }
}

impl VenueCert {
    pub fn generate() -> Result<VenueCert, SimError> {
        let names: Vec<String> = CERT_NAMES.iter().map(|s| s.to_string()).collect();
        let ck = rcgen::generate_simple_self_signed(names)
            .map_err(|e| SimError::Certificate(e.to_string()))?;
        Ok(VenueCert {
            pem: ck.cert.pem(),
            der: ck.cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()),
        })
    }

    /// A rustls server configuration (ring provider, TLS 1.2 and 1.3) presenting this certificate.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, SimError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(SimError::Tls)?
            .with_no_client_auth()
            .with_single_cert(
                vec![self.der.clone()],
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )
            .map_err(SimError::Tls)?;
        Ok(Arc::new(config))
    }
}

/// A server-side TLS session for one accepted connection.
pub fn server_session(config: &Arc<ServerConfig>) -> Result<rustls::ServerConnection, SimError> {
    let mut conn = rustls::ServerConnection::new(config.clone()).map_err(SimError::Tls)?;
    conn.set_buffer_limit(Some(TLS_BUFFER_LIMIT));
    Ok(conn)
}
