//! The engine's Kraken client order ids: 128 bits that name the run, the order-table slot, the
//! strategy and the strategy's own [`ClientOrderId`], written as a short UUID.
//!
//! Owns [`ClOrdIdCodec`], [`ClOrdId`] and [`ClOrdIdMatch`]. Kraken's `cl_ord_id` accepts a
//! "Short UUID: `da8e4ad59b78481c93e589746b0cf91f` 32 hex characters with no dashes" (add_order
//! page, https://docs.kraken.com/api/docs/websocket-v2/add_order, saved as `add_order.md`). The
//! 32 lowercase hex digits are, most significant first: `run` (8 digits), `slot` (4),
//! `strategy` (4), `client_id` (16). Invariants: [`ClOrdIdCodec::encode`] always yields exactly
//! 32 lowercase hex digits; [`ClOrdIdCodec::decode`] round-trips them, never panics and never
//! allocates, whatever the text. It never chooses the run prefix (the caller draws it at
//! start-up) and never checks that a slot or strategy exists.
//!
//! Decoding is case-insensitive: the encoder only writes lowercase, but Kraken documents no case
//! for a short UUID and a UUID's hex digits are case-insensitive by definition (RFC 4122 §3), so
//! an id echoed back in uppercase is still ours. Any other shape (a long UUID with dashes, free
//! text, another length, a non-hex character) is [`ClOrdIdMatch::Foreign`].

use core::fmt;

use kspin_api::ClientOrderId;

/// Length of a short UUID: "32 hex characters with no dashes" (add_order.md, `cl_ord_id`).
pub const CL_ORD_ID_LEN: usize = 32;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A `cl_ord_id` as the engine sends it: 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClOrdId([u8; CL_ORD_ID_LEN]);

impl ClOrdId {
    /// The id as text, ready for [`super::writer::AddOrder::cl_ord_id`].
    pub fn as_str(&self) -> &str {
        // Only `encode` builds one, from ASCII hex digits, so this never falls back.
        core::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The id's 32 ASCII bytes.
    pub const fn as_bytes(&self) -> &[u8; CL_ORD_ID_LEN] {
        &self.0
    }
}

impl fmt::Debug for ClOrdId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClOrdId({})", self.as_str())
    }
}

impl fmt::Display for ClOrdId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a `cl_ord_id` seen on the wire is to this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClOrdIdMatch {
    /// Sent by this run: its slot, strategy and the strategy's client order id.
    Ours {
        slot: u16,
        strategy: u16,
        client_id: ClientOrderId,
    },
    /// A short UUID with another run prefix: a previous run of the engine, or another client
    /// that happens to use short UUIDs.
    OtherRun { run: u32 },
    /// Not 32 hex digits: a long UUID, free text, or anything else.
    Foreign,
}

/// Encodes and decodes this run's client order ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClOrdIdCodec {
    run: u32,
}

impl ClOrdIdCodec {
    /// A codec for the run whose random prefix is `run` (drawn once at start-up, so that ids of
    /// a previous run still open at Kraken are told apart as [`ClOrdIdMatch::OtherRun`]).
    pub const fn new(run: u32) -> Self {
        ClOrdIdCodec { run }
    }

    /// This run's prefix.
    pub const fn run(&self) -> u32 {
        self.run
    }

    /// The id of `client_id`, placed by `strategy` in order-table slot `slot`.
    pub fn encode(&self, slot: u16, strategy: u16, client_id: ClientOrderId) -> ClOrdId {
        let bits = (u128::from(self.run) << 96)
            | (u128::from(slot) << 80)
            | (u128::from(strategy) << 64)
            | u128::from(client_id.0);
        let mut out = [0u8; CL_ORD_ID_LEN];
        for (i, digit) in out.iter_mut().rev().enumerate() {
            let nibble = (bits >> (4 * i)) & 0xf;
            *digit = HEX.get(nibble as usize).copied().unwrap_or(b'0');
        }
        ClOrdId(out)
    }

    /// What `text` is to this run; see [`ClOrdIdMatch`].
    pub fn decode(&self, text: &str) -> ClOrdIdMatch {
        let Some(bits) = parse_short_uuid(text.as_bytes()) else {
            return ClOrdIdMatch::Foreign;
        };
        let run = (bits >> 96) as u32;
        if run != self.run {
            return ClOrdIdMatch::OtherRun { run };
        }
        ClOrdIdMatch::Ours {
            slot: (bits >> 80) as u16,
            strategy: (bits >> 64) as u16,
            client_id: ClientOrderId(bits as u64),
        }
    }
}

/// The 128 bits of exactly 32 hex digits (either case), else `None`.
fn parse_short_uuid(text: &[u8]) -> Option<u128> {
    if text.len() != CL_ORD_ID_LEN {
        return None;
    }
    text.iter().try_fold(0u128, |acc, &c| {
        let nibble = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        Some((acc << 4) | u128::from(nibble))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_fields_in_order_as_lowercase_hex() {
        let codec = ClOrdIdCodec::new(0xdead_beef);
        let id = codec.encode(0x0102, 0xa0b0, ClientOrderId(0x0123_4567_89ab_cdef));
        assert_eq!(id.as_str(), "deadbeef0102a0b00123456789abcdef");
        assert_eq!(id.to_string(), "deadbeef0102a0b00123456789abcdef");
        assert_eq!(
            format!("{id:?}"),
            "ClOrdId(deadbeef0102a0b00123456789abcdef)"
        );
        assert_eq!(
            ClOrdIdCodec::new(0).encode(0, 0, ClientOrderId(0)).as_str(),
            "00000000000000000000000000000000"
        );
        assert_eq!(
            ClOrdIdCodec::new(u32::MAX)
                .encode(u16::MAX, u16::MAX, ClientOrderId(u64::MAX))
                .as_bytes(),
            b"ffffffffffffffffffffffffffffffff"
        );
    }

    #[test]
    fn decodes_ours_other_runs_and_foreign_ids() {
        let codec = ClOrdIdCodec::new(0xdead_beef);
        let ours = ClOrdIdMatch::Ours {
            slot: 0x0102,
            strategy: 0xa0b0,
            client_id: ClientOrderId(0x0123_4567_89ab_cdef),
        };
        assert_eq!(codec.decode("deadbeef0102a0b00123456789abcdef"), ours);
        assert_eq!(codec.decode("DEADBEEF0102A0B00123456789ABCDEF"), ours);
        assert_eq!(
            codec.decode("da8e4ad59b78481c93e589746b0cf91f"),
            ClOrdIdMatch::OtherRun { run: 0xda8e_4ad5 }
        );
        for foreign in [
            "",
            "6d1b345e-2821-40e2-ad83-4ecb18a06876",
            "arb-20240509-00010",
            "deadbeef0102a0b00123456789abcde",
            "deadbeef0102a0b00123456789abcdef0",
            "deadbeef0102a0b00123456789abcdeg",
            "deadbeef0102a0b0 123456789abcdef",
            "+eadbeef0102a0b00123456789abcdef",
            "déadbeef0102a0b00123456789abcde",
        ] {
            assert_eq!(codec.decode(foreign), ClOrdIdMatch::Foreign, "{foreign:?}");
        }
    }

    proptest! {
        #[test]
        fn round_trips(run: u32, other: u32, slot: u16, strategy: u16, client: u64) {
            let codec = ClOrdIdCodec::new(run);
            let id = codec.encode(slot, strategy, ClientOrderId(client));
            prop_assert_eq!(id.as_str().len(), 32);
            prop_assert!(id.as_bytes().iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
            prop_assert_eq!(
                codec.decode(id.as_str()),
                ClOrdIdMatch::Ours { slot, strategy, client_id: ClientOrderId(client) }
            );
            prop_assert_eq!(
                codec.decode(&id.as_str().to_uppercase()),
                ClOrdIdMatch::Ours { slot, strategy, client_id: ClientOrderId(client) }
            );
            if other != run {
                prop_assert_eq!(
                    ClOrdIdCodec::new(other).decode(id.as_str()),
                    ClOrdIdMatch::OtherRun { run }
                );
            }
        }

        #[test]
        fn decode_never_panics(text in any::<String>(), hexish in "[0-9a-fA-F-]{0,40}") {
            let codec = ClOrdIdCodec::new(7);
            let _ = codec.decode(&text);
            let m = codec.decode(&hexish);
            let is_short_uuid = hexish.len() == 32 && !hexish.contains('-');
            prop_assert_eq!(m != ClOrdIdMatch::Foreign, is_short_uuid);
        }
    }
}
