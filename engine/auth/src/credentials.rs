//! The API key pair: from the environment (`KRAKEN_API_KEY`, `KRAKEN_API_SECRET`) or from a file
//! named in the configuration (`[trading] credentials = "PATH"`), a TOML file with `api_key` and
//! `api_secret` that only its owner may read.
//!
//! Owns [`Credentials`] and [`CredentialsError`]. Invariants: a file readable by group or others
//! is refused before it is read; the secret is base64-decoded into a [`Secret`] (zeroised on drop)
//! and the text it came from is zeroised too; no error message, `Debug` or `Display` contains the
//! secret (the public key is shown only by its first characters).
//!
//! Reading a file (`Credentials::from_file`, `Credentials::load`) is behind the `credentials-file`
//! feature, which the `kspin` executable enables: crates that link this one only to sign and fetch
//! tokens (the runtime) then carry no TOML parser.

#[cfg(feature = "credentials-file")]
use std::path::Path;
use std::path::PathBuf;

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::secret::Secret;

/// Environment variable holding the public API key.
pub const API_KEY_ENV: &str = "KRAKEN_API_KEY";
/// Environment variable holding the base64 API secret.
pub const API_SECRET_ENV: &str = "KRAKEN_API_SECRET";

/// Why credentials could not be loaded. No variant carries the secret.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("no API credentials: set {API_KEY_ENV} and {API_SECRET_ENV}, or [trading] credentials = \"PATH\"")]
    Missing,
    #[error("{API_KEY_ENV} is set but {API_SECRET_ENV} is not (or the other way round)")]
    Incomplete,
    #[error("credentials file {path} is readable by group or others (mode {mode:o}); run: chmod 600 {path}")]
    FileTooOpen { path: PathBuf, mode: u32 },
    #[error("credentials file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("{source_name}: the API secret is not valid base64")]
    SecretNotBase64 { source_name: String },
    #[error("{source_name}: the API key is empty")]
    EmptyKey { source_name: String },
}

/// An API key pair; see the module docs.
#[derive(Clone)]
pub struct Credentials {
    api_key: String,
    secret: Secret,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.key_hint())
            .field("secret", &self.secret)
            .finish()
    }
}

#[cfg(feature = "credentials-file")]
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    api_key: String,
    api_secret: String,
}

impl Credentials {
    /// Builds credentials from the public key and the base64 secret text.
    pub fn new(
        api_key: &str,
        secret_base64: &str,
        source_name: &str,
    ) -> Result<Credentials, CredentialsError> {
        if api_key.trim().is_empty() {
            return Err(CredentialsError::EmptyKey {
                source_name: source_name.to_owned(),
            });
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(secret_base64.trim())
            .map_err(|_| CredentialsError::SecretNotBase64 {
                source_name: source_name.to_owned(),
            })?;
        Ok(Credentials {
            api_key: api_key.trim().to_owned(),
            secret: Secret::new(bytes),
        })
    }

    /// From `KRAKEN_API_KEY` and `KRAKEN_API_SECRET`; `Ok(None)` when neither is set.
    pub fn from_env() -> Result<Option<Credentials>, CredentialsError> {
        let key = std::env::var(API_KEY_ENV).ok();
        let secret = std::env::var(API_SECRET_ENV).ok().map(Zeroizing::new);
        match (key, secret) {
            (None, None) => Ok(None),
            (Some(key), Some(secret)) => {
                Credentials::new(&key, &secret, "the environment").map(Some)
            }
            _ => Err(CredentialsError::Incomplete),
        }
    }

    /// From a TOML file with `api_key` and `api_secret`, refused unless only its owner can read it
    /// (feature `credentials-file`).
    #[cfg(feature = "credentials-file")]
    pub fn from_file(path: &Path) -> Result<Credentials, CredentialsError> {
        check_private(path)?;
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|e| CredentialsError::File {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })?,
            );
        let parsed: CredentialsFile =
            toml::from_str(&text).map_err(|e| CredentialsError::File {
                path: path.to_owned(),
                // toml's message may quote the offending line: keep only its position.
                reason: format!(
                    "not a TOML file with api_key and api_secret ({})",
                    e.span()
                        .map_or("".into(), |s| format!("at byte {}", s.start))
                ),
            })?;
        let secret = Zeroizing::new(parsed.api_secret);
        Credentials::new(&parsed.api_key, &secret, &path.display().to_string())
    }

    /// The environment first, else `file` when given; an error when neither holds credentials
    /// (feature `credentials-file`).
    #[cfg(feature = "credentials-file")]
    pub fn load(file: Option<&Path>) -> Result<Credentials, CredentialsError> {
        if let Some(c) = Credentials::from_env()? {
            return Ok(c);
        }
        match file {
            Some(path) => Credentials::from_file(path),
            None => Err(CredentialsError::Missing),
        }
    }

    /// The public API key (sent as the `API-Key` header).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The secret, for signing.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The first characters of the public key, for logs ("AbCd…").
    pub fn key_hint(&self) -> String {
        let head: String = self.api_key.chars().take(4).collect();
        format!("{head}…")
    }
}

#[cfg(all(unix, feature = "credentials-file"))]
fn check_private(path: &Path) -> Result<(), CredentialsError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| CredentialsError::File {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CredentialsError::FileTooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(all(not(unix), feature = "credentials-file"))]
fn check_private(_path: &Path) -> Result<(), CredentialsError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "credentials-file")]
    use std::os::unix::fs::PermissionsExt;

    const SECRET: &str = "c2VudGluZWwtc2VjcmV0LWJ5dGVz"; // "sentinel-secret-bytes"

    #[cfg(feature = "credentials-file")]
    fn write(name: &str, text: &str, mode: u32) -> PathBuf {
        let path = std::env::temp_dir().join(format!("kspin-cred-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    #[cfg(feature = "credentials-file")]
    fn a_private_file_loads_and_an_open_one_is_refused() {
        let text = format!("api_key = \"KEY123456\"\napi_secret = \"{SECRET}\"\n");
        let ok = write("ok.toml", &text, 0o600);
        let c = Credentials::from_file(&ok).unwrap();
        assert_eq!(c.api_key(), "KEY123456");
        assert_eq!(c.secret().expose(), b"sentinel-secret-bytes");
        let open = write("open.toml", &text, 0o644);
        let e = Credentials::from_file(&open).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("readable by group or others (mode 644)"),
            "{msg}"
        );
        assert!(msg.contains("chmod 600"), "{msg}");
        let _ = std::fs::remove_file(ok);
        let _ = std::fs::remove_file(open);
    }

    #[test]
    fn nothing_prints_the_secret() {
        let c = Credentials::new("KEY123456", SECRET, "test").unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains(SECRET) && !shown.contains("sentinel"),
            "{shown}"
        );
        assert!(
            !shown.contains("KEY123456"),
            "only a hint of the key: {shown}"
        );
        let bad = Credentials::new("KEY", "not base64 !!! sentinel", "test").unwrap_err();
        assert!(!bad.to_string().contains("sentinel"));
    }

    #[test]
    #[cfg(feature = "credentials-file")]
    fn a_garbled_file_is_refused_without_quoting_it() {
        let text = "api_key = \"K\"\napi_secret = sentinel-unquoted\n";
        let path = write("garbled.toml", text, 0o600);
        let e = Credentials::from_file(&path).unwrap_err().to_string();
        assert!(!e.contains("sentinel"), "{e}");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn missing_and_incomplete_are_named() {
        #[cfg(feature = "credentials-file")]
        assert!(matches!(
            Credentials::load(None),
            Err(CredentialsError::Missing) | Ok(_)
        ));
        assert!(Credentials::new("", SECRET, "x").is_err());
    }
}
