//! TLS trust and client configuration: which roots we trust and how the rustls client is set up.
//!
//! Owns [`TlsSettings`] and turns it into a `rustls::ClientConfig` at connect time (start-up or
//! reconnect, never on the hot loop). Invariants: certificate verification is always on — the
//! simulator is trusted by adding its certificate as an extra root, never by a "danger" verifier;
//! the protocol is TLS 1.3 only, because our zero-allocation record layer
//! (`tls_record.rs`) implements the TLS 1.3 record protocol and nothing older; session secrets are
//! made extractable (`enable_secret_extraction`) so the handshake can hand over to that layer;
//! session resumption is disabled (each connect is a full handshake, tickets are discarded).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use super::error::{NetError, TlsFailure};

/// Which certificates the client trusts and which name it verifies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// Extra trusted root certificate(s): either PEM text (starts with `-----BEGIN`) or a path to
    /// a PEM file, read at connect time. Used for the simulator's self-signed certificate.
    pub extra_root_pem: Option<String>,
    /// Trust the Mozilla root set bundled by `webpki-roots` (needed for the real Kraken endpoint).
    pub use_webpki_roots: bool,
    /// Verify (and send as SNI) this name instead of the endpoint's host, e.g. `localhost` when
    /// connecting to `127.0.0.1`.
    pub server_name_override: Option<String>,
}

impl TlsSettings {
    /// Settings for the real exchange: Mozilla roots, name from the URL.
    pub fn public_roots() -> TlsSettings {
        TlsSettings {
            extra_root_pem: None,
            use_webpki_roots: true,
            server_name_override: None,
        }
    }
}

/// Builds the client configuration. Allocates; call at connect time only.
pub(crate) fn client_config(settings: &TlsSettings) -> Result<Arc<ClientConfig>, NetError> {
    let mut roots = RootCertStore::empty();
    if settings.use_webpki_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if let Some(pem_or_path) = &settings.extra_root_pem {
        let pem: Vec<u8> = if pem_or_path.trim_start().starts_with("-----BEGIN") {
            pem_or_path.as_bytes().to_vec()
        } else {
            std::fs::read(pem_or_path)
                .map_err(|_| NetError::Tls(TlsFailure::Config("cannot read extra_root_pem file")))?
        };
        let mut added = 0usize;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|_| {
                NetError::Tls(TlsFailure::Config("malformed PEM in extra_root_pem"))
            })?;
            roots
                .add(cert)
                .map_err(|_| NetError::Tls(TlsFailure::Config("unusable root certificate")))?;
            added += 1;
        }
        if added == 0 {
            return Err(NetError::Tls(TlsFailure::Config(
                "extra_root_pem holds no certificate",
            )));
        }
    }
    if roots.is_empty() {
        return Err(NetError::Tls(TlsFailure::Config(
            "no trusted roots: enable use_webpki_roots or set extra_root_pem",
        )));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|_| NetError::Tls(TlsFailure::Config("TLS 1.3 not supported by provider")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.enable_secret_extraction = true;
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_empty_trust() {
        let err = client_config(&TlsSettings::default()).unwrap_err();
        assert!(matches!(err, NetError::Tls(TlsFailure::Config(_))));
    }

    #[test]
    fn builds_with_public_roots() {
        let cfg = client_config(&TlsSettings::public_roots()).unwrap();
        assert!(cfg.enable_secret_extraction);
    }

    #[test]
    fn rejects_garbage_pem_and_missing_file() {
        let s = TlsSettings {
            extra_root_pem: Some("-----BEGIN CERTIFICATE-----\nnot base64!\n".into()),
            ..TlsSettings::default()
        };
        assert!(matches!(
            client_config(&s),
            Err(NetError::Tls(TlsFailure::Config(_)))
        ));
        let s = TlsSettings {
            extra_root_pem: Some("/nonexistent/kspin.pem".into()),
            ..TlsSettings::default()
        };
        assert!(matches!(
            client_config(&s),
            Err(NetError::Tls(TlsFailure::Config(_)))
        ));
    }

    #[test]
    fn accepts_generated_certificate() {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let s = TlsSettings {
            extra_root_pem: Some(cert.pem()),
            ..TlsSettings::default()
        };
        client_config(&s).unwrap();
    }
}
