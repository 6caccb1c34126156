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
///
/// The bytes are read as two overlapping words (8 and 8 bytes from 8 on, 4 and 4 from 4 on), the
/// second shifted right past the bytes the first already holds: no per-byte loop and no `memcpy`
/// call for a name's variable length.
#[inline]
fn short_key(name: &[u8]) -> Option<u128> {
    let n = name.len();
    if n > 15 {
        return None;
    }
    // The `W` bytes at `at` (zeros if the name is shorter, which the length tests below rule
    // out), first byte least significant.
    fn word<const W: usize>(name: &[u8], at: usize) -> u64 {
        let mut w = [0u8; 8];
        if let (Some(dst), Some(src)) = (w.get_mut(..W), name.get(at..at + W)) {
            dst.copy_from_slice(src);
        }
        u64::from_le_bytes(w)
    }
    let bytes = if n >= 8 {
        // Bytes 8..n are the top n − 8 bytes of the word at n − 8 (none when n = 8: the shift
        // by 64 is out of range and gives 0).
        let high = word::<8>(name, n - 8)
            .checked_shr(8 * (16 - n as u32))
            .unwrap_or(0);
        u128::from(word::<8>(name, 0)) | u128::from(high) << 64
    } else if n >= 4 {
        let high = (word::<4>(name, n - 4) as u32)
            .checked_shr(8 * (8 - n as u32))
            .unwrap_or(0);
        u128::from(word::<4>(name, 0)) | u128::from(high) << 32
    } else {
        name.iter()
            .enumerate()
            .fold(0u128, |k, (i, &b)| k | u128::from(b) << (8 * i))
    };
    Some(bytes | (n as u128) << 120)
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
            None => self.find_long(name),
        }
    }

    /// [`SymbolTable::find`] for a name too long for a [`short_key`]: out of line, so the
    /// common lookup keeps no registers for a text compare.
    #[cold]
    #[inline(never)]
    fn find_long(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|e| *e.name == *name)
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

    /// The entry, to change its depth or precision. Its `name` must stay as added: lookups compare
    /// a key computed from it at [`SymbolTable::find_or_add`].
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
    use proptest::prelude::*;

    /// The byte-at-a-time key [`short_key`] must equal.
    fn short_key_bytewise(name: &[u8]) -> Option<u128> {
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

    proptest! {
        /// Every length from empty to past the limit, any bytes.
        #[test]
        fn short_key_equals_the_bytewise_key(
            name in proptest::collection::vec(any::<u8>(), 0..20),
        ) {
            prop_assert_eq!(short_key(&name), short_key_bytewise(&name));
        }
    }

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
