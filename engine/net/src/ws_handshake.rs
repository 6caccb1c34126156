//! The WebSocket opening handshake (RFC 6455 §4.1): the HTTP upgrade request and the check of the
//! server's 101 response.
//!
//! Owns the request bytes, our `Sec-WebSocket-Key` and the bytes of the response received so far.
//! Uses tungstenite for what it does well here — request generation (`generate_request`, which
//! also makes the random key), response parsing (`TryParse for Response`, httparse) and the
//! accept-key derivation; the status/header checks are written out below because tungstenite's
//! own checker is private to its blocking `ClientHandshake`. Runs once per connection, before the
//! hot loop, so it may allocate. Never reads the socket itself.

use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::{generate_request, Response};
use tungstenite::handshake::derive_accept_key;
use tungstenite::handshake::machine::TryParse;

use super::endpoint::Endpoint;
use super::error::{HandshakeFailure, NetError};

/// Upper bound on the HTTP response head we accept (the 101 answer is a few hundred bytes).
const MAX_RESPONSE_LEN: usize = 16 * 1024;

/// State of one opening handshake.
pub(crate) struct WsHandshake {
    key: String,
    response: Vec<u8>,
}

impl WsHandshake {
    /// Builds the upgrade request for `endpoint`; returns the handshake state and the bytes to send.
    pub(crate) fn start(endpoint: &Endpoint) -> Result<(WsHandshake, Vec<u8>), NetError> {
        let request = endpoint
            .url()
            .into_client_request()
            .map_err(|_| NetError::Handshake(HandshakeFailure::Request))?;
        let (bytes, key) = generate_request(request)
            .map_err(|_| NetError::Handshake(HandshakeFailure::Request))?;
        Ok((
            WsHandshake {
                key,
                response: Vec::with_capacity(1024),
            },
            bytes,
        ))
    }

    /// Appends received bytes. Returns `Ok(Some(n))` once the response head is complete and valid,
    /// where `n` is how many of the bytes received so far belong to it: the rest (see
    /// [`WsHandshake::leftover`]) are the first WebSocket frames.
    pub(crate) fn receive(&mut self, bytes: &[u8]) -> Result<Option<usize>, NetError> {
        self.response.extend_from_slice(bytes);
        let parsed = Response::try_parse(&self.response)
            .map_err(|_| NetError::Handshake(HandshakeFailure::Malformed))?;
        let Some((head_len, response)) = parsed else {
            if self.response.len() > MAX_RESPONSE_LEN {
                return Err(NetError::Handshake(HandshakeFailure::ResponseTooLarge));
            }
            return Ok(None);
        };
        self.verify(&response)?;
        Ok(Some(head_len))
    }

    /// Bytes after the response head (valid after `receive` returned `Some(head_len)`).
    pub(crate) fn leftover(&self, head_len: usize) -> &[u8] {
        self.response.get(head_len..).unwrap_or(&[])
    }

    fn verify(&self, response: &Response) -> Result<(), NetError> {
        let status = response.status().as_u16();
        if status != 101 {
            return Err(NetError::Handshake(HandshakeFailure::Status(status)));
        }
        let headers = response.headers();
        let header_text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if !header_text("Upgrade").is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket")) {
            return Err(NetError::Handshake(HandshakeFailure::MissingUpgrade));
        }
        let has_upgrade_token = header_text("Connection").is_some_and(|v| {
            v.split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
        });
        if !has_upgrade_token {
            return Err(NetError::Handshake(HandshakeFailure::MissingConnection));
        }
        let expected = derive_accept_key(self.key.as_bytes());
        if header_text("Sec-WebSocket-Accept").map(str::trim) != Some(expected.as_str()) {
            return Err(NetError::Handshake(HandshakeFailure::AcceptMismatch));
        }
        // We offer no extensions; a server that enables one (e.g. permessage-deflate) would set
        // RSV bits our decoder rejects, so refuse it here with a clearer error (RFC 6455 §4.1).
        if headers.contains_key("Sec-WebSocket-Extensions") {
            return Err(NetError::Handshake(HandshakeFailure::UnrequestedExtension));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> (WsHandshake, String) {
        let ep = Endpoint::parse("ws://127.0.0.1:9001/v2").unwrap();
        let (hs, req) = WsHandshake::start(&ep).unwrap();
        (hs, String::from_utf8(req).unwrap())
    }

    fn response(accept: &str, extra: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
        )
    }

    #[test]
    fn request_has_the_rfc_headers() {
        let (hs, req) = start();
        assert!(req.starts_with("GET /v2 HTTP/1.1\r\n"), "{req}");
        assert!(req.contains("Host: 127.0.0.1:9001\r\n"));
        assert!(req.contains("Upgrade: websocket\r\n"));
        assert!(req.contains("Sec-WebSocket-Version: 13\r\n"));
        assert!(req.contains(&format!("Sec-WebSocket-Key: {}\r\n", hs.key)));
        assert!(req.ends_with("\r\n\r\n"));
        let kraken = Endpoint::parse("wss://ws.kraken.com/v2").unwrap();
        let req = String::from_utf8(WsHandshake::start(&kraken).unwrap().1).unwrap();
        assert!(req.contains("Host: ws.kraken.com\r\n"), "{req}");
    }

    #[test]
    fn accepts_valid_response_in_pieces_and_keeps_leftover() {
        let (mut hs, _) = start();
        let accept = derive_accept_key(hs.key.as_bytes());
        let mut bytes = response(&accept, "").into_bytes();
        let head = bytes.len();
        bytes.extend_from_slice(&[0x81, 0x01, b'x']);
        let (a, b) = bytes.split_at(10);
        assert_eq!(hs.receive(a).unwrap(), None);
        assert_eq!(hs.receive(b).unwrap(), Some(head));
        assert_eq!(hs.leftover(head), &[0x81, 0x01, b'x']);
    }

    #[test]
    fn rejects_bad_responses() {
        let (mut hs, _) = start();
        let r = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            hs.receive(r.as_bytes()).unwrap_err(),
            NetError::Handshake(HandshakeFailure::Status(403))
        );
        let (mut hs, _) = start();
        assert_eq!(
            hs.receive(response("bogus", "").as_bytes()).unwrap_err(),
            NetError::Handshake(HandshakeFailure::AcceptMismatch)
        );
        let (mut hs, _) = start();
        let accept = derive_accept_key(hs.key.as_bytes());
        let r = response(&accept, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
        assert_eq!(
            hs.receive(r.as_bytes()).unwrap_err(),
            NetError::Handshake(HandshakeFailure::UnrequestedExtension)
        );
        let (mut hs, _) = start();
        assert_eq!(
            hs.receive(b"garbage\r\n\r\n").unwrap_err(),
            NetError::Handshake(HandshakeFailure::Malformed)
        );
        let (mut hs, _) = start();
        let big = vec![b'a'; MAX_RESPONSE_LEN + 1];
        assert!(hs.receive(b"HTTP/1.1 101 OK\r\nX: ").unwrap().is_none());
        assert_eq!(
            hs.receive(&big).unwrap_err(),
            NetError::Handshake(HandshakeFailure::ResponseTooLarge)
        );
    }
}
