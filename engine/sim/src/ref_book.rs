//! The venue's reference book: the oracle that engine-vs-venue tests compare against.
//!
//! Owns [`RefBook`] (one ordered map per side, price mantissa → quantity mantissa, truncated to
//! the subscribed depth) and Kraken's v2 checksum computed the way the protocol page words it:
//! from the decimal *text* the venue writes on the wire ([`decimal_text`]), with the point and
//! leading zeros removed, top 10 asks ascending then top 10 bids descending, CRC32 over the
//! concatenation ([`crc32`], a bitwise implementation of the IEEE polynomial). Invariants: it
//! shares no code with `kspin-core` (no array book, no digit arithmetic, no `crc32fast`), so a
//! bug in the engine's book or checksum cannot hide behind the same bug here; it is deliberately
//! simple rather than fast. It never does I/O.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use kspin_api::{Price, Qty};

/// Levels per side that Kraken's v2 checksum covers, whatever the depth (PROTOCOL.md §2.1).
pub const CHECKSUM_LEVELS: usize = 10;

/// The book a correct client subscribed at `depth` holds; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefBook {
    depth: usize,
    price_decimals: u8,
    qty_decimals: u8,
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
}

impl RefBook {
    pub fn new(depth: usize, price_decimals: u8, qty_decimals: u8) -> RefBook {
        RefBook {
            depth,
            price_decimals,
            qty_decimals,
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
        }
    }

    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Applies a snapshot (replacing both sides) or an update (each level in order: quantity 0
    /// deletes, anything else sets), then truncates each side to the depth: Kraken's v2 rules
    /// (PROTOCOL.md §3).
    pub fn apply(&mut self, snapshot: bool, bids: &[(Price, Qty)], asks: &[(Price, Qty)]) {
        if snapshot {
            self.bids.clear();
            self.asks.clear();
        }
        for (side, levels) in [(&mut self.bids, bids), (&mut self.asks, asks)] {
            for &(price, qty) in levels {
                if qty.0 == 0 {
                    side.remove(&price.0);
                } else {
                    side.insert(price.0, qty.0);
                }
            }
        }
        while self.bids.len() > self.depth {
            self.bids.pop_first();
        }
        while self.asks.len() > self.depth {
            self.asks.pop_last();
        }
    }

    /// Bids, best (highest) first.
    pub fn bids(&self) -> impl Iterator<Item = (Price, Qty)> + '_ {
        self.bids.iter().rev().map(|(&p, &q)| (Price(p), Qty(q)))
    }

    /// Asks, best (lowest) first.
    pub fn asks(&self) -> impl Iterator<Item = (Price, Qty)> + '_ {
        self.asks.iter().map(|(&p, &q)| (Price(p), Qty(q)))
    }

    pub fn bid_count(&self) -> usize {
        self.bids.len()
    }

    pub fn ask_count(&self) -> usize {
        self.asks.len()
    }

    /// The worst bid kept (the lowest), if any.
    pub fn worst_bid(&self) -> Option<Price> {
        self.bids.keys().next().map(|&p| Price(p))
    }

    /// The worst ask kept (the highest), if any.
    pub fn worst_ask(&self) -> Option<Price> {
        self.asks.keys().next_back().map(|&p| Price(p))
    }

    /// The text Kraken's checksum covers (PROTOCOL.md §2.1).
    pub fn checksum_text(&self) -> String {
        let mut text = String::new();
        let asks = self.asks().take(CHECKSUM_LEVELS);
        let bids = self.bids().take(CHECKSUM_LEVELS);
        for (price, qty) in asks.chain(bids) {
            text.push_str(&checksum_digits(&decimal_text(
                price.0,
                self.price_decimals,
            )));
            text.push_str(&checksum_digits(&decimal_text(qty.0, self.qty_decimals)));
        }
        text
    }

    /// Kraken's v2 checksum of the book.
    pub fn checksum(&self) -> u32 {
        crc32(self.checksum_text().as_bytes())
    }
}

/// A mantissa as the venue writes it on the wire: `decimals` digits after the point, trailing
/// zeros kept, at least one digit before it (`2800, 4` → `"0.2800"`).
pub fn decimal_text(mantissa: i64, decimals: u8) -> String {
    let mut out = String::new();
    push_decimal_text(&mut out, mantissa, decimals);
    out
}

/// Appends [`decimal_text`] to `out`.
pub fn push_decimal_text(out: &mut String, mantissa: i64, decimals: u8) {
    let unit = 10u128.pow(u32::from(decimals));
    let magnitude = u128::from(mantissa.unsigned_abs());
    if mantissa < 0 {
        out.push('-');
    }
    let _ = write!(out, "{}", magnitude / unit);
    if decimals > 0 {
        let _ = write!(
            out,
            ".{:0width$}",
            magnitude % unit,
            width = usize::from(decimals)
        );
    }
}

/// A decimal text as the checksum wants it: the point removed, then leading zeros stripped
/// (`"0.00100000"` → `"100000"`).
pub fn checksum_digits(text: &str) -> String {
    let digits: String = text.chars().filter(|&c| c != '.').collect();
    digits.trim_start_matches('0').to_owned()
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, initial value and final XOR
/// 0xFFFFFFFF: zlib's `crc32`, which PROTOCOL.md §2.1 names), one bit at a time.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(text: &[(&str, &str)], pd: u8, qd: u8) -> Vec<(Price, Qty)> {
        let mantissa = |s: &str, d: u8| -> i64 {
            let (int, frac) = s.split_once('.').unwrap_or((s, ""));
            let frac = format!("{frac:0<width$}", width = usize::from(d));
            format!("{int}{frac}").parse().unwrap()
        };
        text.iter()
            .map(|&(p, q)| (Price(mantissa(p, pd)), Qty(mantissa(q, qd))))
            .collect()
    }

    #[test]
    fn crc32_is_zlibs() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn decimal_text_keeps_trailing_zeros() {
        assert_eq!(decimal_text(2800, 4), "0.2800");
        assert_eq!(decimal_text(452852, 1), "45285.2");
        assert_eq!(decimal_text(100000, 8), "0.00100000");
        assert_eq!(decimal_text(-5, 2), "-0.05");
        assert_eq!(decimal_text(7, 0), "7");
        assert_eq!(checksum_digits("0.00100000"), "100000");
        assert_eq!(checksum_digits("45285.2"), "452852");
    }

    /// Kraken's documented worked example (PROTOCOL.md §2.1): 3310070434, and the docs'
    /// verbatim asks and bids strings.
    #[test]
    fn documented_example_verifies() {
        let bids = levels(
            &[
                ("45283.5", "0.10000000"),
                ("45283.4", "1.54582015"),
                ("45282.1", "0.10000000"),
                ("45281.0", "0.10000000"),
                ("45280.3", "1.54592586"),
                ("45279.0", "0.07990000"),
                ("45277.6", "0.03310103"),
                ("45277.5", "0.30000000"),
                ("45277.3", "1.54602737"),
                ("45276.6", "0.15445238"),
            ],
            1,
            8,
        );
        let asks = levels(
            &[
                ("45285.2", "0.00100000"),
                ("45286.4", "1.54571953"),
                ("45286.6", "1.54571109"),
                ("45289.6", "1.54560911"),
                ("45290.2", "0.15890660"),
                ("45291.8", "1.54553491"),
                ("45294.7", "0.04454749"),
                ("45296.1", "0.35380000"),
                ("45297.5", "0.09945542"),
                ("45299.5", "0.18772827"),
            ],
            1,
            8,
        );
        let mut book = RefBook::new(10, 1, 8);
        book.apply(true, &bids, &asks);
        let text = book.checksum_text();
        assert_eq!(
            text,
            "45285210000045286415457195345286615457110945289615456091145290215890660452918154553491452947445474945296135380000452975994554245299518772827\
             452835100000004528341545820154528211000000045281010000000452803154592586452790799000045277633101034527753000000045277315460273745276615445238"
        );
        assert_eq!(book.checksum(), 3_310_070_434);
    }

    #[test]
    fn updates_delete_set_and_truncate_to_depth() {
        let mut book = RefBook::new(2, 1, 1);
        book.apply(
            true,
            &[(Price(100), Qty(1)), (Price(99), Qty(2))],
            &[(Price(101), Qty(3))],
        );
        // A better bid pushes the worst beyond the depth; a delete removes; a set replaces.
        book.apply(
            false,
            &[
                (Price(100), Qty(0)),
                (Price(102), Qty(5)),
                (Price(98), Qty(4)),
            ],
            &[(Price(101), Qty(7)), (Price(103), Qty(1))],
        );
        assert_eq!(
            book.bids().collect::<Vec<_>>(),
            [(Price(102), Qty(5)), (Price(99), Qty(2))]
        );
        assert_eq!(
            book.asks().collect::<Vec<_>>(),
            [(Price(101), Qty(7)), (Price(103), Qty(1))]
        );
        assert_eq!(
            (book.worst_bid(), book.worst_ask()),
            (Some(Price(99)), Some(Price(103)))
        );
    }
}
