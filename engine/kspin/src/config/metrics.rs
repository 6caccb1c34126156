//! `[metrics]`: where `kspin run` serves its Prometheus `/metrics` endpoint (and the `/snapshot`
//! that `kspin top` reads).
//!
//! Owns [`MetricsConfig`] and the address rules. Invariants: nothing is served unless asked for
//! (`listen` here or `--metrics` on the command line, which wins); an address without a host is
//! bound on loopback (`127.0.0.1`), so exposing the endpoint beyond the machine takes an explicit
//! host; an address that does not parse is refused naming the key.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::Deserialize;

use super::{invalid, ConfigError};

/// The port of `kspin run --metrics` without an address, and of `kspin top` without one.
pub const DEFAULT_METRICS_PORT: u16 = 9184;

/// `[metrics]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// `HOST:PORT`, `:PORT` or `PORT` (loopback); unset: no endpoint.
    pub listen: Option<String>,
    /// Seconds the endpoint keeps serving the final figures after the run ended (so that a last
    /// scrape sees what the summary says); a second SIGINT/SIGTERM ends it early. 0: none.
    pub linger_s: f64,
}

/// Resolves `text` to a socket address: `PORT` and `:PORT` are loopback.
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    let t = text.trim();
    let port_only = t.strip_prefix(':').unwrap_or(t);
    if let Ok(port) = port_only.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Ok(addr) = t.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Some(port) = t.strip_prefix("localhost:") {
        if let Ok(port) = port.parse::<u16>() {
            return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
        }
    }
    Err(format!(
        "{text:?} is not an address: use HOST:PORT (e.g. 127.0.0.1:{DEFAULT_METRICS_PORT}), :PORT or PORT"
    ))
}

impl MetricsConfig {
    /// Checks `listen` and `linger_s`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=86_400.0).contains(&self.linger_s) {
            return Err(invalid(
                "metrics.linger_s",
                format!("{} is not between 0 and 86400 seconds", self.linger_s),
            ));
        }
        match &self.listen {
            Some(l) => parse_listen(l)
                .map(|_| ())
                .map_err(|reason| invalid("metrics.listen", reason)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let lo = |p| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), p);
        assert_eq!(parse_listen("9184"), Ok(lo(9184)));
        assert_eq!(parse_listen(":0"), Ok(lo(0)));
        assert_eq!(parse_listen("localhost:9"), Ok(lo(9)));
        assert_eq!(
            parse_listen("0.0.0.0:9184").unwrap().to_string(),
            "0.0.0.0:9184"
        );
        assert_eq!(parse_listen("[::1]:80").unwrap().to_string(), "[::1]:80");
        assert!(parse_listen("here").is_err());
        assert!(parse_listen("1.2.3.4").is_err());
        let bad = MetricsConfig {
            listen: Some("nope".into()),
            ..MetricsConfig::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("metrics.listen: "));
    }
}
