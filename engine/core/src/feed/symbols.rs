//! The symbol table: symbol name → dense index, with each symbol's book depth and precision.
//!
//! Owns the names (allocated when a symbol is added, at start-up) and answers lookups by the symbol text of a frame without allocating.
//! Invariants: indices are dense and stable (`0..len`), names are unique, at most
//! [`MAX_SYMBOLS`] entries. It never changes a symbol's index once given.

/// Upper bound on symbols per engine core. Symbol indices travel as `u16` in events.
pub const MAX_SYMBOLS: usize = 1024;

/// Where a symbol's current precision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrecisionSource {
    /// Not known yet: book messages for the symbol cannot be applied.
    Unknown,
    /// From an `instrument` frame (`price_precision`, `qty_precision`).
    Instrument,
    /// Given at start-up (configuration, or a replay's plan).
    Configured,
}

/// A symbol's static facts.
#[derive(Debug, Clone)]
pub struct SymbolEntry {
    pub name: Box<str>,
    pub depth: usize,
    pub price_scale: u8,
    pub qty_scale: u8,
    pub precision: PrecisionSource,
}

/// Why a symbol could not be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    #[error("too many symbols (at most {MAX_SYMBOLS})")]
    Full,
}

/// Dense symbol table; see the module docs.
#[derive(Debug, Default, Clone)]
pub struct SymbolTable {
    entries: Vec<SymbolEntry>,
    /// Each entry's name as a [`short_key`] (or [`LONG_NAME`]), in entry order: a lookup
    /// compares one 16-byte word per entry instead of calling `memcmp`.
    keys: Vec<u128>,
}

/// The key of a name longer than [`short_key`] takes: never equal to a short key (whose last
/// byte is a length of at most 15).
const LONG_NAME: u128 = u128::MAX;

/// A name of at most 15 bytes as one word: its bytes, zero padding, and its length in the last
/// byte (so names differing only by trailing NUL bytes still differ). `None` for longer names.
#[inline]
fn short_key(name: &[u8]) -> Option<u128> {
    if name.len() > 15 {
        return None;
    }
    let mut key = [0u8; 16];
    for (k, &b) in key.iter_mut().zip(name) {
        *k = b;
    }
    key[15] = name.len() as u8;
    Some(u128::from_le_bytes(key))
}

impl SymbolTable {
    pub fn new() -> SymbolTable {
        SymbolTable {
            entries: Vec::new(),
            keys: Vec::new(),
        }
    }

    /// Index of `name`, if known. Linear over a few contiguous keys: for the tens of symbols one
    /// engine core carries this beats hashing the name (names over 15 bytes compare as text).
    #[inline]
    pub fn find(&self, name: &str) -> Option<usize> {
        match short_key(name.as_bytes()) {
            Some(key) => self.keys.iter().position(|&k| k == key),
            None => self.entries.iter().position(|e| *e.name == *name),
        }
    }

    /// Index of `name`, adding it with `depth` and unknown precision if new.
    pub fn find_or_add(&mut self, name: &str, depth: usize) -> Result<usize, SymbolError> {
        if let Some(i) = self.find(name) {
            return Ok(i);
        }
        if self.entries.len() >= MAX_SYMBOLS {
            return Err(SymbolError::Full);
        }
        self.keys
            .push(short_key(name.as_bytes()).unwrap_or(LONG_NAME));
        self.entries.push(SymbolEntry {
            name: name.into(),
            depth,
            price_scale: 0,
            qty_scale: 0,
            precision: PrecisionSource::Unknown,
        });
        Ok(self.entries.len() - 1)
    }

    #[inline]
    pub fn get(&self, index: usize) -> Option<&SymbolEntry> {
        self.entries.get(index)
    }

    #[inline]
    pub fn get_mut(&mut self, index: usize) -> Option<&mut SymbolEntry> {
        self.entries.get_mut(index)
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &SymbolEntry> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_dense_and_stable() {
        let mut t = SymbolTable::new();
        assert_eq!(t.find_or_add("BTC/USD", 10), Ok(0));
        assert_eq!(t.find_or_add("ETH/USD", 25), Ok(1));
        assert_eq!(t.find_or_add("BTC/USD", 1000), Ok(0));
        assert_eq!(t.get(0).map(|e| e.depth), Some(10));
        assert_eq!(t.find("ETH/USD"), Some(1));
        assert_eq!(t.find("XBT/USD"), None);
    }

    #[test]
    fn short_and_long_names_are_found_exactly() {
        let mut t = SymbolTable::new();
        let names = [
            "BTC/USD",
            "BTC/USD\0",
            "",
            "ABCDEFGHIJKLMNO",
            "ABCDEFGHIJKLMNOP",
            "A-VERY-LONG-SYMBOL/NAME",
        ];
        for (i, n) in names.iter().enumerate() {
            assert_eq!(t.find_or_add(n, 10), Ok(i));
        }
        for (i, n) in names.iter().enumerate() {
            assert_eq!(t.find(n), Some(i), "{n:?}");
        }
        assert_eq!(t.find("BTC/US"), None);
        assert_eq!(t.find("ABCDEFGHIJKLMNOQ"), None);
    }
}
