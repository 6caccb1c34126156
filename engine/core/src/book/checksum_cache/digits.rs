//! The decimal digits of a level's price or quantity as CRC-32 remainders: the text the Kraken
//! checksum renders for a magnitude (its digits without leading zeros; none for 0), hashed
//! straight from the integer without rendering it byte by byte.
//!
//! Owns the conversion of a magnitude to digit words ([`digit_values`]; two chunks at once in
//! one SSE2 register on x86_64, [`digit_values_pair`]) and their remainder appended to a
//! prefix's ([`hash_digits`]). Guarantees: exact for every `u64` (tests against
//! the rendered text on both multiply backends); no loop, no allocation, no panic.

use super::gf2::{reduce, shift32, Clmul};

/// `pm(T ‖ digits(v))` from `pm(T)`, and the digit count: the decimal digits of `v` with no
/// leading zeros (none for 0, as Kraken's "strip leading zeros" turns "0" into "").
/// `FROM_EMPTY` says `pm` is 0 (T empty), which saves a multiply.
///
/// `v` is cut into 8-digit chunks from the end, each converted without a loop
/// ([`digit_values`]) into one little-endian word; the first chunk's leading zero digits (its
/// low zero bytes, which also give the digit count) are cleared to zero bytes instead of `'0'`,
/// which a polynomial ignores, so every chunk is one word. With `c_0` the last chunk and `c_j`
/// the one `j` chunks before it, `pm(T ‖ digits) = pm(T)·x^(8·len) + Σ_j poly(c_j)·x^(64·j)`,
/// reduced once; a word `c_j` with `j > 0` is two 32-bit halves,
/// `poly(c) = low(c)·x^32 + high(c)`, each multiplied by its tabled power of `x`.
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
    // The word of the first chunk `0 < n < 10^8` with its leading '0's cleared, and its digit
    // count: its leading zero digits are its low zero bytes (a digit's byte is its value).
    #[inline(always)]
    fn lead(n: u64) -> (u64, usize) {
        lead_digits(digit_values(n as u32))
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
        // Both chunks' digits at once (the common long quantity).
        let (high, low) = digit_values_pair((v / CHUNK) as u32, (v % CHUNK) as u32);
        let (w, n) = lead_digits(high);
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

/// The word of a first chunk from its [`digit_values`] `d` (of a chunk `0 < n < 10^8`), with
/// its leading '0's cleared, and its digit count: its leading zero digits are its low zero bytes
/// (a digit's byte is its value).
#[inline(always)]
fn lead_digits(d: u64) -> (u64, usize) {
    // Some digit of n > 0 is not 0, so `zeros < 8`; the wrapping shift keeps even an
    // impossible 8 from panicking.
    let zeros = d.trailing_zeros() / 8;
    let word = (d | ASCII_ZEROS) & u64::MAX.wrapping_shl(8 * zeros);
    (word, 8 - zeros as usize)
}

/// Eight ASCII `'0'`s as a word.
const ASCII_ZEROS: u64 = 0x3030_3030_3030_3030;

/// The 8 decimal digits of `n < 10^8`, zero-padded, as the bytes of a little-endian word (first
/// digit lowest), each byte the digit's value. Branch-free "SIMD within a register": the two
/// 4-digit halves go into the two 32-bit lanes of a u64, each lane is split into two 2-digit
/// values (16-bit lanes), and each of those into two digits (8-bit lanes), by multiplying by a
/// scaled reciprocal and shifting. Exactness (checked for every lane value by a test):
/// `(x * 10486) >> 20 == x / 100` for `x < 10^4`, `(x * 103) >> 10 == x / 10` for `x < 100`,
/// and no lane's product reaches the next lane (`9999 * 10486 < 2^27`, `99 * 103 < 2^14`).
///
/// Each split puts the quotient `q` in the low lane and the remainder `v - q·d` in the high one,
/// `q | (v - q·d) << s`; the two have no bit in common, so that is the sum
/// `(v << s) + q·(1 - d·2^s)` (shifts distribute over differences modulo 2^64), which wrapping
/// arithmetic computes with one multiply by a constant and one add.
#[inline(always)]
fn digit_values(n: u32) -> u64 {
    debug_assert!(n < 100_000_000);
    // `v·2^s + q·(1 - d·2^s)`, wrapping: see above.
    let split = |v: u64, q: u64, d: u64, s: u32| {
        (v << s).wrapping_add(q.wrapping_mul(1u64.wrapping_sub(d << s)))
    };
    // Little-endian: the first digits go in the low lane.
    let x = split(u64::from(n), u64::from(n / 10_000), 10_000, 32);
    let hundreds = ((x * 10_486) >> 20) & 0x0000_007F_0000_007F;
    let pairs = split(x, hundreds, 100, 16);
    let tens = ((pairs * 103) >> 10) & 0x000F_000F_000F_000F;
    split(pairs, tens, 10, 8)
}

/// `(digit_values(high), digit_values(low))` for `high, low < 10^8`: on x86_64 both at once in
/// the two 64-bit lanes of one SSE2 register (part of the x86_64 baseline, so no detection),
/// with the same three splits as [`digit_values`] done per lane: `/10^4` by a 32×32→64 multiply
/// by the reciprocal `0xD1B7_1759 / 2^45` (exact for every u32, as compilers divide), `/100` of
/// the 32-bit lanes' values `x < 10^4` by the 16-bit high multiply `(x · 5243) >> 19`, and `/10`
/// of the 16-bit lanes' values `x < 100` by `(x · 103) >> 10` in a 16-bit low multiply
/// (`99 · 103 < 2^16`). Tests check the `/100` and `/10` reciprocals over their whole ranges,
/// the `/10^4` one over a stride of the chunks' range, and the pair against [`digit_values`].
/// Elsewhere, [`digit_values`] twice.
#[inline(always)]
fn digit_values_pair(high: u32, low: u32) -> (u64, u64) {
    debug_assert!(high < 100_000_000 && low < 100_000_000);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_cvtsi128_si64, _mm_cvtsi32_si128, _mm_mul_epu32, _mm_mulhi_epu16, _mm_mullo_epi16,
            _mm_or_si128, _mm_set1_epi16, _mm_set1_epi32, _mm_set1_epi64x, _mm_slli_epi16,
            _mm_slli_epi32, _mm_slli_epi64, _mm_srli_epi16, _mm_srli_epi64, _mm_sub_epi16,
            _mm_sub_epi64, _mm_unpackhi_epi64, _mm_unpacklo_epi64,
        };
        // SAFETY: SSE2 is part of the x86_64 baseline; no memory is touched.
        unsafe {
            // Lane 0: `low`, lane 1: `high`, each zero-extended from 32 bits.
            let n = _mm_unpacklo_epi64(
                _mm_cvtsi32_si128(low as i32),
                _mm_cvtsi32_si128(high as i32),
            );
            let q = _mm_srli_epi64(_mm_mul_epu32(n, _mm_set1_epi64x(0xD1B7_1759)), 45);
            let r = _mm_sub_epi64(n, _mm_mul_epu32(q, _mm_set1_epi64x(10_000)));
            // Per 64-bit lane: the first four digits' value in the low 32 bits, the last
            // four's in the high (little-endian: first digits lowest).
            let x = _mm_or_si128(q, _mm_slli_epi64(r, 32));
            // Each 32-bit lane `x < 10^4` sits in its low 16 bits (the high 16 are 0, and so is
            // the factor there): quotient by 100 in the low 16 bits, remainder in the high.
            let h = _mm_srli_epi16(_mm_mulhi_epu16(x, _mm_set1_epi32(5243)), 3);
            let r = _mm_sub_epi16(x, _mm_mullo_epi16(h, _mm_set1_epi32(100)));
            let pairs = _mm_or_si128(h, _mm_slli_epi32(r, 16));
            // Each 16-bit lane `p < 100`: quotient by 10 in its low byte, remainder in the high.
            let t = _mm_srli_epi16(_mm_mullo_epi16(pairs, _mm_set1_epi16(103)), 10);
            let r = _mm_sub_epi16(pairs, _mm_mullo_epi16(t, _mm_set1_epi16(10)));
            let d = _mm_or_si128(t, _mm_slli_epi16(r, 8));
            (
                _mm_cvtsi128_si64(_mm_unpackhi_epi64(d, d)) as u64,
                _mm_cvtsi128_si64(d) as u64,
            )
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        (digit_values(high), digit_values(low))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_reciprocals_are_exact_for_every_lane_value() {
        for x in 0u64..10_000 {
            assert_eq!((x * 10_486) >> 20, x / 100, "{x}");
            assert!(x * 10_486 < 1 << 32);
        }
        for x in 0u64..100 {
            assert_eq!((x * 103) >> 10, x / 10, "{x}");
            assert!(x * 103 < 1 << 16);
        }
        // The pair's reciprocals: /10^4 of every u32 the pair may see, /100 of every 16-bit
        // lane value below 10^4.
        for x in (0u64..100_000_000)
            .step_by(7)
            .chain(99_999_990..100_000_000)
        {
            assert_eq!((x * 0xD1B7_1759) >> 45, x / 10_000, "{x}");
        }
        for x in 0u64..10_000 {
            assert_eq!((x * 5243) >> 19, x / 100, "{x}");
        }
        let strided = (0u32..100_000_000).step_by(9_973);
        for n in [
            0u32, 1, 9, 10, 1234, 10_000, 12_345_678, 99_999_999, 40_000_001,
        ]
        .into_iter()
        .chain(strided)
        {
            let ascii = (digit_values(n) | ASCII_ZEROS).to_le_bytes();
            assert_eq!(ascii, *format!("{n:08}").as_bytes());
            let other = 99_999_999 - n;
            assert_eq!(
                digit_values_pair(n, other),
                (digit_values(n), digit_values(other)),
                "{n}"
            );
            assert_eq!(
                digit_values_pair(other, n),
                (digit_values(other), digit_values(n)),
                "{n}"
            );
        }
    }
}
