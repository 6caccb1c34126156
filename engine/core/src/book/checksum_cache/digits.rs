//! The decimal digits of a level's price or quantity as CRC-32 remainders: the text the Kraken
//! checksum renders for a magnitude (its digits without leading zeros; none for 0), hashed
//! straight from the integer without rendering it byte by byte.
//!
//! Owns the conversion of a magnitude to digit words ([`digit_values`], built for a short
//! dependency chain) and their remainder appended to a prefix's ([`hash_digits`]).
//! Guarantees: exact for every `u64` (tests against the rendered text on both multiply
//! backends); no loop, no allocation, no panic.

use super::gf2::{reduce, shift32, Clmul};

/// `pm(T ‖ digits(v))` from `pm(T)`, and the digit count: the decimal digits of `v` with no
/// leading zeros (none for 0, as Kraken's "strip leading zeros" turns "0" into "").
/// `FROM_EMPTY` says `pm` is 0 (T empty), which saves a multiply.
///
/// `v` is cut into 8-digit chunks from the end, each converted without a loop
/// ([`digit_values`]) into one little-endian word; the first chunk's leading zero digits (its
/// low zero bytes; the digit count comes from the chunk's value, [`lead`]) are cleared to zero
/// bytes instead of `'0'`, which a polynomial ignores, so every chunk is one word. With `c_0`
/// the last chunk and `c_j` the one `j` chunks before it,
/// `pm(T ‖ digits) = pm(T)·x^(8·len) + Σ_j poly(c_j)·x^(64·j)`, reduced once; a word `c_j` with
/// `j > 0` is two 32-bit halves, `poly(c) = low(c)·x^32 + high(c)`, each multiplied by its
/// tabled power of `x`.
#[inline(always)]
pub(super) fn hash_digits<C: Clmul, const FROM_EMPTY: bool>(c: C, pm: u32, v: u64) -> (u32, usize) {
    const CHUNK: u64 = 100_000_000;
    if v == 0 {
        return (pm, 0);
    }
    #[inline(always)]
    fn word(n: u64) -> u64 {
        digit_values(n as u32) | ASCII_ZEROS
    }
    // `sum + poly(w)·x^(64·j)` for `j` of 1 or 2.
    #[inline(always)]
    fn add_at<C: Clmul>(c: C, sum: C::Sum, w: u64, j: usize) -> C::Sum {
        c.sum_clmul_halves(sum, w, [shift32(8 * j + 4), shift32(8 * j)])
    }
    // The sum's first term: pm(T)·x^(8·len). (Functions, not closures: a closure left out of
    // line would lose the caller's target features.)
    #[inline(always)]
    fn start<C: Clmul, const FROM_EMPTY: bool>(c: C, pm: u32, len: usize) -> C::Sum {
        if FROM_EMPTY {
            c.sum_zero()
        } else {
            c.sum_clmul(c.sum_zero(), pm, shift32(len))
        }
    }
    let start = |len: usize| start::<C, FROM_EMPTY>(c, pm, len);
    let (sum, len) = if v < CHUNK {
        let (w, n) = lead(v);
        (c.sum_word(start(n), w), n)
    } else if v < CHUNK * CHUNK {
        // Two chunks (the common long quantity), converted independently of each other.
        let low = digit_values((v % CHUNK) as u32);
        let (w, n) = lead(v / CHUNK);
        let sum = add_at(c, start(n + 8), w, 1);
        (c.sum_word(sum, low | ASCII_ZEROS), n + 8)
    } else {
        // u64::MAX / 10^16 = 1844: three chunks cover every u64.
        let high = v / CHUNK;
        let (w, n) = lead(high / CHUNK);
        let sum = add_at(c, add_at(c, start(n + 16), w, 2), word(high % CHUNK), 1);
        (c.sum_word(sum, word(v % CHUNK)), n + 16)
    };
    (reduce(c, c.sum_get(sum)), len)
}

/// The word of a first chunk `0 < n < 10^8` ([`digit_values`] with its leading '0's cleared)
/// and its digit count. The count comes from `n` itself, not from the digits, so the multiply
/// by `x^(8·len)` that needs it and the mask do not wait for the conversion.
#[inline(always)]
fn lead(n: u64) -> (u64, usize) {
    debug_assert!(0 < n && n < 100_000_000);
    let n = n as u32;
    let len = decimal_len(n);
    // `len` is 1 to 8: the shift is 0 to 56.
    let word = (digit_values(n) | ASCII_ZEROS) & u64::MAX.wrapping_shl(8 * (8 - len as u32));
    (word, len)
}

/// How many decimal digits `0 < n < 10^8` has: 1, plus one for each of 10, 100, …, 10^7 it
/// reaches (independent compares, no loop).
#[inline(always)]
fn decimal_len(n: u32) -> usize {
    const POWERS: [u32; 7] = [10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];
    1 + POWERS.iter().map(|&p| usize::from(n >= p)).sum::<usize>()
}

/// Eight ASCII `'0'`s as a word.
const ASCII_ZEROS: u64 = 0x3030_3030_3030_3030;

/// The 8 decimal digits of `n < 10^8`, zero-padded, as the bytes of a little-endian word (first
/// digit lowest), each byte the digit's value.
///
/// Written for a short dependency chain rather than few instructions (the checksum sits on the
/// frame path's critical path, and a paired wall-clock A/B is what decided this form over a
/// chained SWAR split and an SSE2 one: `bench/RESULTS.md`, hot path round 8, about 1 ns per
/// message). With `q_k = ⌊n / 10^k⌋`, the digit `k` places from the right is
/// `q_k - 10·q_{k+1}` (`q_8 = 0`), so the word is
/// `Σ_j (q_{7-j} - 10·q_{8-j})·2^(8j) = A - 10·(A << 8)` with `A = Σ_j q_{7-j}·2^(8j)`: the
/// `j = 0` term of the second sum is `q_8 = 0`, and modulo `2^64` the term `q_0·2^64` that
/// `A << 8` drops is 0. That is `A·(1 - 2560)`, wrapping. The seven
/// quotients are independent (each a multiply by a reciprocal and a shift, as the compiler
/// divides a `u32` by a constant), then a tree of adds and one multiply: by a count of the
/// latencies on the chain (this VM has no hardware counters to measure it), well under half
/// those of splitting into halves, quarters and digits one after the other. Exact for every
/// `n < 10^8` (the identity holds over the integers, and the word it equals is below `2^64`);
/// a test checks it against the rendered digits.
#[inline(always)]
fn digit_values(n: u32) -> u64 {
    debug_assert!(n < 100_000_000);
    let q = |d: u32| u64::from(n / d);
    // A = Σ_j q_{7-j}·2^(8j), summed as a tree (the terms overlap: adds, not ors).
    let a = (q(10_000_000).wrapping_add(q(1_000_000) << 8))
        .wrapping_add(q(100_000).wrapping_add(q(10_000) << 8) << 16)
        .wrapping_add(
            (q(1_000).wrapping_add(q(100) << 8))
                .wrapping_add(q(10).wrapping_add(u64::from(n) << 8) << 16)
                << 32,
        );
    a.wrapping_mul(1u64.wrapping_sub(2560))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n`'s 8 digits by division, one at a time: the reference.
    fn digits_by_division(mut n: u32) -> u64 {
        let mut word = 0u64;
        for byte in (0..8).rev() {
            word |= u64::from(n % 10) << (8 * byte);
            n /= 10;
        }
        word
    }

    /// Every 7th `n` below 10^8 (all of them take a while in a debug build), the ends of the
    /// range and every power of ten and its neighbours (where a digit carries); the rendered
    /// text for a sparser stride.
    #[test]
    fn digit_values_are_the_rendered_digits() {
        let powers = (0..8).flat_map(|k| {
            let p = 10u32.pow(k);
            [p - 1, p, p + 1]
        });
        for n in (0u32..100_000_000)
            .step_by(7)
            .chain(99_999_990..100_000_000)
            .chain(powers)
            .chain([12_345_678, 40_000_001, 90_909_090])
        {
            assert_eq!(digit_values(n), digits_by_division(n), "{n}");
        }
        for n in (0u32..100_000_000).step_by(9_973).chain([99_999_999]) {
            let ascii = (digit_values(n) | ASCII_ZEROS).to_le_bytes();
            assert_eq!(ascii, *format!("{n:08}").as_bytes(), "{n}");
        }
    }

    #[test]
    fn decimal_len_counts_the_digits() {
        for k in 1..8u32 {
            let p = 10u32.pow(k);
            assert_eq!(decimal_len(p - 1), k as usize, "{}", p - 1);
            assert_eq!(decimal_len(p), k as usize + 1, "{p}");
        }
        assert_eq!(decimal_len(1), 1);
        assert_eq!(decimal_len(99_999_999), 8);
        for n in (1u32..100_000_000).step_by(9_973) {
            assert_eq!(decimal_len(n), n.to_string().len(), "{n}");
        }
    }
}
