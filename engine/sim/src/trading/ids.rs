//! Kraken-shaped identifiers: order ids `OK4GJX-KSTLS-7DZZO5`, execution and amend ids
//! `TGBB7L-HT5LX-J3BZ4A`, ledger ids `LAICKV-NMQSR-ZO5IJD` (6-5-6 upper-case letters and digits,
//! the first one naming the kind), and the venue's WebSocket tokens.
//!
//! Owns the id generator (the venue's seeded PRNG on its own stream, so the same seed gives the
//! same ids and the market's randomness is never consumed) and token generation (the OS's
//! random source: a token is a credential, never predictable from the seed). Invariants: ids
//! are unique per venue (checked, regenerated on the astronomically unlikely clash); it never
//! does I/O besides reading the random source.

use std::collections::HashSet;

use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};

use super::super::rng::SimRng;

const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Generates ids; see the module docs.
#[derive(Debug)]
pub struct IdGen {
    rng: SimRng,
    issued: HashSet<String>,
}

impl IdGen {
    pub fn new(seed: u64) -> IdGen {
        IdGen {
            rng: SimRng::derived(seed, 0x7472_6164_6573),
            issued: HashSet::new(),
        }
    }

    /// A fresh id starting with `kind` (`'O'` orders, `'T'` executions and amends, `'L'`
    /// ledger entries).
    pub fn next(&mut self, kind: char) -> String {
        loop {
            let mut id = String::with_capacity(19);
            id.push(kind);
            for i in 1..17 {
                if i == 6 || i == 11 {
                    id.push('-');
                }
                id.push(ALPHABET[self.rng.below(ALPHABET.len() as u64) as usize] as char);
            }
            if self.issued.insert(id.clone()) {
                return id;
            }
        }
    }
}

/// Whether `s` has the shape of an id from [`IdGen::next`] with `kind`.
pub fn is_kraken_id(s: &str, kind: char) -> bool {
    let b = s.as_bytes();
    b.len() == 19
        && b[0] == kind as u8
        && b[6] == b'-'
        && b[12] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 6 || i == 12 || ALPHABET.contains(c))
}

/// `n` random bytes from the OS, base64 without padding (a 32-byte token is 43 characters like
/// Kraken's); `None` if the random source fails.
pub fn random_base64(n: usize, pad: bool) -> Option<String> {
    let mut bytes = vec![0u8; n];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(if pad {
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    } else {
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(&bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_krakens_shape_and_are_reproducible() {
        let mut a = IdGen::new(5);
        let mut b = IdGen::new(5);
        let ids: Vec<String> = (0..100).map(|_| a.next('O')).collect();
        assert!(ids.iter().all(|id| is_kraken_id(id, 'O')), "{ids:?}");
        assert_eq!(ids[0], b.next('O'));
        let unique: HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        assert!(is_kraken_id("OK4GJX-KSTLS-7DZZO5", 'O'));
        assert!(!is_kraken_id("OK4GJX-KSTLS-7DZZO", 'O'));
        assert!(!is_kraken_id("TK4GJX-KSTLS-7DZZO5", 'O'));
        let t = random_base64(32, false).unwrap();
        assert_eq!(t.len(), 43);
        assert_ne!(t, random_base64(32, false).unwrap());
    }
}
