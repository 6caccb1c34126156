//! Which symbols an engine shard carries. Several `kspin run --shard N` processes, each with its
//! own core, split the configured symbols and publish into the same subject space, so a consumer
//! sees one namespace whatever the shard count.
//!
//! Two ways to split: explicit lists (shard `N` carries exactly the symbols listed for it), or a
//! hash: shard `N` of `count` carries the symbols whose [`symbol_hash`] is `N` modulo `count`.
//! The hash is FNV-1a (64-bit) of the symbol's name, fixed here (not the standard library's
//! randomised hasher) so that every process, build and version assigns a symbol to the same
//! shard. Pure functions only.

/// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3: the published FNV
/// parameters).
pub fn symbol_hash(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The shard (of `count`) that carries `name` under hash sharding.
pub fn hash_shard(name: &str, count: usize) -> usize {
    if count == 0 {
        return 0;
    }
    (symbol_hash(name) % count as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fixed_and_splits_every_symbol_once() {
        // FNV-1a test vector: the empty string hashes to the offset basis, "a" to this.
        assert_eq!(symbol_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(symbol_hash("a"), 0xaf63_dc4c_8601_ec8c);
        let names = ["BTC/USD", "ETH/USD", "SOL/USD", "MINA/GBP", "XRP/EUR"];
        for count in 1..4 {
            for n in names {
                let s = hash_shard(n, count);
                assert!(s < count);
                assert_eq!(s, hash_shard(n, count));
            }
        }
        assert_eq!(hash_shard("BTC/USD", 0), 0);
    }
}
