//! Outgoing requests: subscribe, unsubscribe and ping, written as JSON into a caller-provided
//! buffer.
//!
//! Owns [`Subscription`], [`write_subscribe`], [`write_unsubscribe`], [`write_ping`] and
//! [`WriteError`]. Invariants: the writers never allocate; they write into `&mut [u8]` and
//! return the length, or [`WriteError::BufferTooSmall`] leaving the buffer's content
//! unspecified; strings are JSON-escaped, so any channel or symbol text yields valid JSON. The
//! bytes are written by the shared cursor in `json_out.rs`.

use super::json_out::JsonOut;

/// Why a request could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The buffer cannot hold the request.
    #[error("request does not fit the buffer")]
    BufferTooSmall,
    /// A decimal with more places than [`kspin_api::fixed::MAX_SCALE`] cannot be written
    /// exactly; only order entry writes decimals, the writers here never return it.
    #[error("decimal has more places than can be written exactly")]
    ScaleTooLarge,
}

/// What to (un)subscribe: `{"channel":..,"symbol":[..],"depth":..,"snapshot":..}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription<'s> {
    pub channel: &'s str,
    /// Empty: no `symbol` member (the `instrument` channel takes none).
    pub symbols: &'s [&'s str],
    pub depth: Option<u16>,
    pub snapshot: Option<bool>,
    pub req_id: Option<u64>,
}

fn write_subscription(
    buf: &mut [u8],
    method: &str,
    sub: &Subscription<'_>,
) -> Result<usize, WriteError> {
    let mut out = JsonOut::new(buf);
    out.raw(b"{\"method\":")?;
    out.string(method)?;
    out.raw(b",\"params\":{\"channel\":")?;
    out.string(sub.channel)?;
    if !sub.symbols.is_empty() {
        out.raw(b",\"symbol\":[")?;
        for (i, symbol) in sub.symbols.iter().enumerate() {
            if i > 0 {
                out.raw(b",")?;
            }
            out.string(symbol)?;
        }
        out.raw(b"]")?;
    }
    if let Some(depth) = sub.depth {
        out.raw(b",\"depth\":")?;
        out.u64(u64::from(depth))?;
    }
    if let Some(snapshot) = sub.snapshot {
        out.raw(if snapshot {
            b",\"snapshot\":true"
        } else {
            b",\"snapshot\":false"
        })?;
    }
    out.raw(b"}")?;
    if let Some(id) = sub.req_id {
        out.raw(b",\"req_id\":")?;
        out.u64(id)?;
    }
    out.raw(b"}")?;
    Ok(out.len())
}

/// Writes `{"method":"subscribe","params":{...},"req_id":N}`; returns the length.
pub fn write_subscribe(buf: &mut [u8], sub: &Subscription<'_>) -> Result<usize, WriteError> {
    write_subscription(buf, "subscribe", sub)
}

/// Writes `{"method":"unsubscribe","params":{...},"req_id":N}`; returns the length.
pub fn write_unsubscribe(buf: &mut [u8], sub: &Subscription<'_>) -> Result<usize, WriteError> {
    write_subscription(buf, "unsubscribe", sub)
}

/// Writes `{"method":"ping","req_id":N}` (or without `req_id`); returns the length.
pub fn write_ping(buf: &mut [u8], req_id: Option<u64>) -> Result<usize, WriteError> {
    let mut out = JsonOut::new(buf);
    out.raw(b"{\"method\":\"ping\"")?;
    if let Some(id) = req_id {
        out.raw(b",\"req_id\":")?;
        out.u64(id)?;
    }
    out.raw(b"}")?;
    Ok(out.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(buf: &[u8], len: usize) -> &str {
        core::str::from_utf8(&buf[..len]).unwrap()
    }

    #[test]
    fn writes_book_subscribe_exactly() {
        let mut buf = [0u8; 256];
        let sub = Subscription {
            channel: "book",
            symbols: &["BTC/USD", "MINA/GBP"],
            depth: Some(25),
            snapshot: Some(true),
            req_id: Some(18_446_744_073_709_551_615),
        };
        let n = write_subscribe(&mut buf, &sub).unwrap();
        assert_eq!(
            text(&buf, n),
            r#"{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD","MINA/GBP"],"depth":25,"snapshot":true},"req_id":18446744073709551615}"#
        );
        let n = write_unsubscribe(
            &mut buf,
            &Subscription {
                depth: None,
                snapshot: None,
                req_id: None,
                ..sub
            },
        )
        .unwrap();
        assert_eq!(
            text(&buf, n),
            r#"{"method":"unsubscribe","params":{"channel":"book","symbol":["BTC/USD","MINA/GBP"]}}"#
        );
        let n = write_subscribe(
            &mut buf,
            &Subscription {
                channel: "instrument",
                symbols: &[],
                depth: None,
                snapshot: Some(false),
                req_id: Some(0),
            },
        )
        .unwrap();
        assert_eq!(
            text(&buf, n),
            r#"{"method":"subscribe","params":{"channel":"instrument","snapshot":false},"req_id":0}"#
        );
    }

    #[test]
    fn writes_ping_and_escapes_strings() {
        let mut buf = [0u8; 64];
        let n = write_ping(&mut buf, Some(101)).unwrap();
        assert_eq!(text(&buf, n), r#"{"method":"ping","req_id":101}"#);
        let n = write_ping(&mut buf, None).unwrap();
        assert_eq!(text(&buf, n), r#"{"method":"ping"}"#);
        let sub = Subscription {
            channel: "a\"b\\c\n\u{1}",
            symbols: &[],
            depth: None,
            snapshot: None,
            req_id: None,
        };
        let n = write_subscribe(&mut buf, &sub).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        assert_eq!(json["params"]["channel"], "a\"b\\c\n\u{1}");
    }

    #[test]
    fn too_small_buffer_is_an_error_at_every_length() {
        let sub = Subscription {
            channel: "book",
            symbols: &["BTC/USD"],
            depth: Some(10),
            snapshot: Some(true),
            req_id: Some(7),
        };
        let mut big = [0u8; 256];
        let full = write_subscribe(&mut big, &sub).unwrap();
        for len in 0..full {
            let mut small = vec![0u8; len];
            assert_eq!(
                write_subscribe(&mut small, &sub),
                Err(WriteError::BufferTooSmall)
            );
        }
        let mut exact = vec![0u8; full];
        assert_eq!(write_subscribe(&mut exact, &sub), Ok(full));
    }
}
