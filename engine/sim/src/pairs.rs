//! The venue's instrument table: the pairs it can trade, with Kraken's precisions.
//!
//! Owns a static table only. Invariants: `start_mid` is a mantissa at `price_precision` decimals
//! and leaves room for at least a few hundred bid ticks above zero; `typical_qty` is a mantissa at
//! `qty_precision`. Precisions follow Kraken's `instrument` channel (PROTOCOL.md §1.8 and the
//! checksum table in Kraken's sample client, §2.1: BTC/USD price 1 qty 8, ETH/USD 2/8) and the
//! captured MINA/GBP (4/8) and ALGO/USD (5/8) frames in `testdata/vectors/`. Mid prices are
//! plausible round figures, not market data.

/// One tradable pair of the simulated venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimPair {
    pub symbol: &'static str,
    pub base: &'static str,
    pub quote: &'static str,
    /// Decimals of a price (`price_precision` in the instrument channel).
    pub price_precision: u8,
    /// Decimals of a quantity (`qty_precision`).
    pub qty_precision: u8,
    /// Starting mid price, mantissa at `price_precision`.
    pub start_mid: i64,
    /// A typical resting quantity, mantissa at `qty_precision`.
    pub typical_qty: i64,
    /// Largest gap between adjacent deep-book levels, in ticks (sparse books for coarse ticks).
    pub max_gap_ticks: i64,
    /// `qty_min` as Kraken prints it (exponent notation below 1e-4, as on the wire).
    pub qty_min: &'static str,
    /// `cost_min` as printed.
    pub cost_min: &'static str,
}

const PAIRS: [SimPair; 7] = [
    SimPair {
        symbol: "BTC/USD",
        base: "BTC",
        quote: "USD",
        price_precision: 1,
        qty_precision: 8,
        start_mid: 672_345,
        typical_qty: 5_000_000,
        max_gap_ticks: 12,
        qty_min: "5e-05",
        cost_min: "0.5",
    },
    SimPair {
        symbol: "ETH/USD",
        base: "ETH",
        quote: "USD",
        price_precision: 2,
        qty_precision: 8,
        start_mid: 341_255,
        typical_qty: 150_000_000,
        max_gap_ticks: 8,
        qty_min: "0.002",
        cost_min: "0.5",
    },
    SimPair {
        symbol: "SOL/USD",
        base: "SOL",
        quote: "USD",
        price_precision: 2,
        qty_precision: 8,
        start_mid: 15_012,
        typical_qty: 2_500_000_000,
        max_gap_ticks: 3,
        qty_min: "0.02",
        cost_min: "0.5",
    },
    SimPair {
        symbol: "MINA/GBP",
        base: "MINA",
        quote: "GBP",
        price_precision: 4,
        qty_precision: 8,
        start_mid: 2_805,
        typical_qty: 420_774_770_000,
        max_gap_ticks: 3,
        qty_min: "5",
        cost_min: "0.45",
    },
    SimPair {
        symbol: "ALGO/USD",
        base: "ALGO",
        quote: "USD",
        price_precision: 5,
        qty_precision: 8,
        start_mid: 12_290,
        typical_qty: 500_000_000_000,
        max_gap_ticks: 2,
        qty_min: "5",
        cost_min: "0.5",
    },
    SimPair {
        symbol: "DOGE/USD",
        base: "XDG",
        quote: "USD",
        price_precision: 7,
        qty_precision: 8,
        start_mid: 1_234_567,
        typical_qty: 1_000_000_000_000,
        max_gap_ticks: 40,
        qty_min: "50",
        cost_min: "0.5",
    },
    SimPair {
        symbol: "XRP/EUR",
        base: "XRP",
        quote: "EUR",
        price_precision: 5,
        qty_precision: 8,
        start_mid: 51_234,
        typical_qty: 80_000_000_000,
        max_gap_ticks: 4,
        qty_min: "2",
        cost_min: "0.5",
    },
];

/// Whether an asset is a fiat currency of the table (USD, EUR, GBP).
pub fn is_fiat(asset: &str) -> bool {
    matches!(asset, "USD" | "EUR" | "GBP")
}

/// Decimals the venue keeps balances, ledger amounts, costs and fees of `asset` in: the
/// `precision` of the asset in the `instrument` channel (4 for fiat, 10 for crypto, as Kraken
/// lists them).
pub fn asset_precision(asset: &str) -> u8 {
    if is_fiat(asset) {
        4
    } else {
        10
    }
}

/// Every pair the venue knows, in a fixed order (the default symbol set).
pub fn instruments() -> &'static [SimPair] {
    &PAIRS
}

/// The pair named `symbol`, if the venue lists it.
pub fn find_pair(symbol: &str) -> Option<&'static SimPair> {
    PAIRS.iter().find(|p| p.symbol == symbol)
}

impl SimPair {
    /// `price_increment` as Kraken prints it (`0.1`, `0.0001`, `1e-05`, `1e-07`).
    pub fn increment_text(precision: u8) -> String {
        if precision == 0 {
            "1".to_owned()
        } else if precision <= 4 {
            format!("0.{}1", "0".repeat(precision as usize - 1))
        } else {
            format!("1e-{precision:02}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut scales: Vec<u8> = instruments().iter().map(|p| p.price_precision).collect();
        scales.sort_unstable();
        scales.dedup();
        assert!(scales.len() >= 4, "several price scales");
        for p in instruments() {
            assert!(p.start_mid > 1_000, "{}: room for bid levels", p.symbol);
            assert!(p.typical_qty > 0 && p.max_gap_ticks >= 1);
            assert_eq!(find_pair(p.symbol), Some(p));
        }
        assert_eq!(find_pair("XBT/USD"), None);
        assert_eq!(SimPair::increment_text(1), "0.1");
        assert_eq!(SimPair::increment_text(4), "0.0001");
        assert_eq!(SimPair::increment_text(8), "1e-08");
    }
}
