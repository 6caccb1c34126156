//! Where to connect: `ws://` / `wss://` URLs parsed into host, port, path and whether TLS is used.
//!
//! Owns only the parsed pieces; never resolves names or touches the network. Parsing is strict
//! and small: scheme, host (name, IPv4 or bracketed IPv6), optional port, optional path+query.
//! No user-info, no fragments (RFC 6455 §3 forbids fragments in WebSocket URIs).

use super::error::NetError;

/// Default port of `ws://` (RFC 6455 §3, the HTTP port).
const WS_DEFAULT_PORT: u16 = 80;
/// Default port of `wss://` (RFC 6455 §3, the HTTPS port).
const WSS_DEFAULT_PORT: u16 = 443;

/// A parsed WebSocket endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or IP literal, without brackets for IPv6.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Path and query, always starting with `/`.
    pub path: String,
    /// `true` for `wss://`.
    pub tls: bool,
}

impl Endpoint {
    /// Parses `ws://host[:port][/path[?query]]` or `wss://...`.
    pub fn parse(url: &str) -> Result<Endpoint, NetError> {
        let (tls, rest) = if let Some(rest) = strip_prefix_ignore_case(url, "wss://") {
            (true, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(url, "ws://") {
            (false, rest)
        } else {
            return Err(NetError::Url("scheme must be ws:// or wss://"));
        };
        if rest.contains('#') {
            return Err(NetError::Url("fragments are not allowed"));
        }
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        if authority.contains('@') {
            return Err(NetError::Url("user info is not supported"));
        }
        let default_port = if tls {
            WSS_DEFAULT_PORT
        } else {
            WS_DEFAULT_PORT
        };
        let (host, port_text) = if let Some(after_bracket) = authority.strip_prefix('[') {
            let end = after_bracket
                .find(']')
                .ok_or(NetError::Url("unclosed [ in IPv6 host"))?;
            let host = &after_bracket[..end];
            let tail = &after_bracket[end + 1..];
            let port = match tail.strip_prefix(':') {
                Some(p) => Some(p),
                None if tail.is_empty() => None,
                None => return Err(NetError::Url("junk after IPv6 host")),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(NetError::Url("empty host"));
        }
        let port = match port_text {
            None => default_port,
            Some(p) => p.parse::<u16>().map_err(|_| NetError::Url("bad port"))?,
        };
        if port == 0 {
            return Err(NetError::Url("port 0"));
        }
        Ok(Endpoint {
            host: host.to_string(),
            port,
            path,
            tls,
        })
    }

    /// The URL again, in canonical form (used to build the HTTP upgrade request, whose `Host`
    /// header is the URL's authority: the scheme's default port is left out, as browsers do).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        let default_port = if self.tls {
            WSS_DEFAULT_PORT
        } else {
            WS_DEFAULT_PORT
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default_port {
            format!("{scheme}://{host}{}", self.path)
        } else {
            format!("{scheme}://{host}:{}{}", self.port, self.path)
        }
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kraken_url() {
        let e = Endpoint::parse("wss://ws.kraken.com/v2").unwrap();
        assert_eq!(
            e,
            Endpoint {
                host: "ws.kraken.com".into(),
                port: 443,
                path: "/v2".into(),
                tls: true
            }
        );
        assert_eq!(e.url(), "wss://ws.kraken.com/v2");
    }

    #[test]
    fn parses_plain_with_port_and_query() {
        let e = Endpoint::parse("ws://127.0.0.1:9001?a=b").unwrap();
        assert_eq!(e.host, "127.0.0.1");
        assert_eq!(e.port, 9001);
        assert_eq!(e.path, "/?a=b");
        assert!(!e.tls);
        assert_eq!(Endpoint::parse("ws://h").unwrap().path, "/");
        assert_eq!(Endpoint::parse("ws://h").unwrap().port, 80);
    }

    #[test]
    fn parses_ipv6() {
        let e = Endpoint::parse("wss://[::1]:8443/x").unwrap();
        assert_eq!(e.host, "::1");
        assert_eq!(e.port, 8443);
        assert_eq!(e.url(), "wss://[::1]:8443/x");
    }

    #[test]
    fn rejects_bad_urls() {
        for bad in [
            "http://x",
            "ws://",
            "ws://:80",
            "ws://h:0",
            "ws://h:99999",
            "ws://h/#f",
            "ws://u@h",
            "ws://[::1",
            "ws://[::1]x",
        ] {
            assert!(
                matches!(Endpoint::parse(bad), Err(NetError::Url(_))),
                "{bad}"
            );
        }
    }
}
