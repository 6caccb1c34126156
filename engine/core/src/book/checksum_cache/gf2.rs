//! Arithmetic on CRC-32 remainders (IEEE 802.3, the polynomial `crc32fast` and Kraken use),
//! for combining the CRCs of separately hashed pieces of a text without re-reading the text.
//!
//! Representation ("reflected", as the CRC register itself): a `u32` is a polynomial of degree
//! < 32 over GF(2) whose bit `i` is the coefficient of `x^(31-i)`; a `u64` is one of degree < 64
//! whose bit `k` is the coefficient of `x^(63-k)`. Read as a little-endian word, 8 bytes of text
//! are then the polynomial of those 8 bytes as CRC-32 reads them (first byte, least significant
//! bit first, at the highest degree), so leading zero bytes do not change a word's polynomial.
//!
//! Owns: the carry-less multiply ([`Clmul`], by `pclmulqdq` when the CPU has it — detected once,
//! by [`Pclmul::detect`] — or a portable loop), the reduction of a `u64` modulo `P` (Barrett,
//! [`reduce`]), the table of shifts `x^(8n-1) mod P` ([`shift`]; [`shift_signed`] for short
//! shifts either way) and that of their products by the CRC's initial register
//! ([`ones_shifted`]). Guarantees: results are
//! exact for every input (unit tests against a bitwise reference and `crc32fast`); nothing
//! allocates or panics; the tables are computed at compile time.
//!
//! The identities the checksum cache builds on, with `pm(T)` the polynomial of text `T` modulo
//! `P` and `reg(s, T)` the CRC register after `T` from register `s`:
//! `pm(A ‖ B) = pm(A)·x^(8|B|) + pm(B)`, `reg(s, T) = s·x^(8|T|) + pm(T)·x^32`, and
//! `crc32(T) = !reg(!0, T)`.

/// The CRC-32 polynomial `P` without its `x^32` term, reflected.
const POLY: u32 = 0xEDB8_8320;

/// `a · x mod P`.
const fn mul_x(a: u32) -> u32 {
    (a >> 1) ^ (POLY & 0u32.wrapping_sub(a & 1))
}

/// `a · x^-1 mod P` (`x` is invertible: `P` has a constant term), the inverse of [`mul_x`].
const fn div_x(a: u32) -> u32 {
    if a >> 31 == 1 {
        ((a ^ POLY) << 1) | 1
    } else {
        a << 1
    }
}

/// Entries of the shift table: every byte count the checksum cache shifts by (a side's text,
/// at most 380 bytes, plus the 4 bytes of `x^32`), with room to spare; a power of two, so that
/// an index is kept in the table by one mask.
pub(super) const SHIFTS: usize = 512;

/// `SHIFT[n] = x^(8n-1) mod P`: [`Clmul::clmul`] multiplies by an extra `x`, so a remainder
/// `clmul`-ed with `SHIFT[n]` is that remainder times `x^(8n)`, as a `u64` polynomial.
static SHIFT: [u32; SHIFTS] = {
    let mut t = [0u32; SHIFTS];
    // x^0 is bit 31; x^-1 from it.
    t[0] = div_x(1 << 31);
    let mut n = 1;
    while n < SHIFTS {
        let mut a = t[n - 1];
        let mut b = 0;
        while b < 8 {
            a = mul_x(a);
            b += 1;
        }
        t[n] = a;
        n += 1;
    }
    t
};

/// `ONES_SHIFTED[n] = clmul(0xFFFF_FFFF, SHIFT[n])`: the CRC's initial register `!0` times
/// `x^(8n)`, unreduced (the register's share after `n` bytes), for [`ones_shifted`].
static ONES_SHIFTED: [u64; SHIFTS] = {
    let mut t = [0u64; SHIFTS];
    let mut n = 0;
    while n < SHIFTS {
        // The carry-less product, one bit of the table's factor at a time.
        let b = SHIFT[n] as u64;
        let mut r = 0u64;
        let mut i = 0;
        while i < 32 {
            if b >> i & 1 == 1 {
                r ^= 0xFFFF_FFFF << i;
            }
            i += 1;
        }
        t[n] = r;
        n += 1;
    }
    t
};

/// `clmul(0xFFFF_FFFF, shift(n))` from a table; `n` is taken modulo the table's size, as in
/// [`shift`].
#[inline(always)]
pub(super) fn ones_shifted(n: usize) -> u64 {
    debug_assert!(n < SHIFTS, "shift by {n} bytes");
    ONES_SHIFTED[n & (SHIFTS - 1)]
}

/// `x^(8n-1) mod P` (see [`SHIFT`]); `n` is taken modulo the table's size, which every caller's
/// `n` is below (a debug assertion checks).
#[inline(always)]
pub(super) fn shift(n: usize) -> u64 {
    debug_assert!(n < SHIFTS, "shift by {n} bytes");
    u64::from(SHIFT[n & (SHIFTS - 1)])
}

/// [`shift`] as a `u32` (the table's own width).
#[inline(always)]
pub(super) fn shift32(n: usize) -> u32 {
    debug_assert!(n < SHIFTS, "shift by {n} bytes");
    SHIFT[n & (SHIFTS - 1)]
}

/// [`shift32`] without the mask that keeps `n` in the table, for callers that bound `n` by
/// construction.
///
/// # Safety
/// `n < SHIFTS`.
#[inline(always)]
pub(super) unsafe fn shift32_in_table(n: usize) -> u32 {
    debug_assert!(n < SHIFTS, "shift by {n} bytes");
    // SAFETY: `n < SHIFTS`, the table's length (the caller's contract).
    unsafe { *SHIFT.get_unchecked(n) }
}

/// Byte counts [`shift_signed`] covers either way: a level's text is at most 38 bytes.
const SIGNED: usize = 64;

/// `SHIFT_SIGNED[SIGNED + d] = x^(8d-1) mod P` for `-SIGNED <= d < SIGNED`: [`SHIFT`] extended
/// to negative byte counts (`x` is invertible modulo `P`), for taking bytes out of a text's
/// middle.
static SHIFT_SIGNED: [u32; 2 * SIGNED] = {
    let mut t = [0u32; 2 * SIGNED];
    t[SIGNED] = SHIFT[0];
    let mut n = SIGNED;
    while n + 1 < 2 * SIGNED {
        t[n + 1] = SHIFT[n + 1 - SIGNED];
        n += 1;
    }
    let mut n = SIGNED;
    while n > 0 {
        let mut a = t[n];
        let mut b = 0;
        while b < 8 {
            a = div_x(a);
            b += 1;
        }
        t[n - 1] = a;
        n -= 1;
    }
    t
};

/// `x^(8d-1) mod P` for a byte count `d` of either sign, `|d| < 64` (a debug assertion checks;
/// others are taken modulo the table): `clmul(r, shift_signed(d))` is `r·x^(8d)`, as
/// [`shift`] for `d >= 0`.
#[inline(always)]
pub(super) fn shift_signed(d: isize) -> u64 {
    debug_assert!(d.unsigned_abs() < SIGNED, "shift by {d} bytes");
    u64::from(SHIFT_SIGNED[(d + SIGNED as isize) as usize & (2 * SIGNED - 1)])
}

/// `P` with its `x^32` term, reflected to 33 bits (bit 0 is `x^32`).
const P_FULL: u64 = ((POLY as u64) << 1) | 1;

/// Barrett's constant `floor(x^64 / P)`, reflected to 33 bits: computed by long division in the
/// plain (unreflected) representation, then bit-reversed.
const MU: u64 = {
    // P unreflected: x^32 + 0x04C11DB7.
    let p: u128 = (1 << 32) | 0x04C1_1DB7;
    let mut rem: u128 = 1 << 64;
    let mut q: u64 = 0;
    let mut d = 32;
    loop {
        if rem >> (32 + d) & 1 == 1 {
            q |= 1 << d;
            rem ^= p << d;
        }
        if d == 0 {
            break;
        }
        d -= 1;
    }
    q.reverse_bits() >> 31
};

/// A carry-less (GF(2) polynomial) multiply.
pub(super) trait Clmul: Copy {
    /// A running sum of products, kept where the multiply leaves them (a vector register for
    /// `pclmulqdq`), so that summing many products moves no value between register files.
    type Sum: Copy;

    /// The low 64 bits of the carry-less product of `a` and `b`. In the reflected representation,
    /// for `a`, `b` below 2^32 the `u64` result is the polynomial `x · a · b`.
    fn clmul(self, a: u64, b: u64) -> u64;

    /// The empty sum.
    fn sum_zero(self) -> Self::Sum;

    /// `sum + clmul(a, b)`.
    fn sum_clmul(self, sum: Self::Sum, a: u32, b: u32) -> Self::Sum;

    /// The sum as a `u64` polynomial.
    fn sum_get(self, sum: Self::Sum) -> u64;

    /// `sum + w`, `w` a `u64` polynomial.
    fn sum_word(self, sum: Self::Sum, w: u64) -> Self::Sum;

    /// `sum + clmul(low, k[0]) + clmul(high, k[1])`, `low` and `high` the 32-bit halves of `w`.
    fn sum_clmul_halves(self, sum: Self::Sum, w: u64, k: [u32; 2]) -> Self::Sum;
}

/// Portable carry-less multiply, for CPUs without `pclmulqdq`: one step per bit of `b`, which
/// every caller keeps below 2^33.
#[derive(Clone, Copy, Debug)]
pub(super) struct Portable;

impl Clmul for Portable {
    type Sum = u64;

    #[inline(always)]
    fn clmul(self, a: u64, b: u64) -> u64 {
        debug_assert!(b < 1 << 33);
        let mut r = 0u64;
        let mut i = 0;
        while i < 33 {
            r ^= a.wrapping_shl(i) & 0u64.wrapping_sub((b >> i) & 1);
            i += 1;
        }
        r
    }

    #[inline(always)]
    fn sum_zero(self) -> u64 {
        0
    }

    #[inline(always)]
    fn sum_clmul(self, sum: u64, a: u32, b: u32) -> u64 {
        sum ^ self.clmul(u64::from(a), u64::from(b))
    }

    #[inline(always)]
    fn sum_get(self, sum: u64) -> u64 {
        sum
    }

    #[inline(always)]
    fn sum_word(self, sum: u64, w: u64) -> u64 {
        sum ^ w
    }

    #[inline(always)]
    fn sum_clmul_halves(self, sum: u64, w: u64, k: [u32; 2]) -> u64 {
        let sum = self.sum_clmul(sum, w as u32, k[0]);
        self.sum_clmul(sum, (w >> 32) as u32, k[1])
    }
}

/// The `pclmulqdq` instruction. A value exists only once [`Pclmul::detect`] found the
/// instruction on this CPU, so holding one is the proof that using it is sound.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub(super) struct Pclmul(());

#[cfg(target_arch = "x86_64")]
impl Pclmul {
    /// `Some` when the CPU has `pclmulqdq` (runtime detection; call it once, off the hot path).
    pub(super) fn detect() -> Option<Pclmul> {
        if std::arch::is_x86_feature_detected!("pclmulqdq") {
            Some(Pclmul(()))
        } else {
            None
        }
    }
}

#[cfg(target_arch = "x86_64")]
impl Clmul for Pclmul {
    type Sum = std::arch::x86_64::__m128i;

    #[inline(always)]
    fn sum_zero(self) -> Self::Sum {
        // SAFETY: SSE2 is part of the x86_64 baseline; no memory is touched.
        unsafe { std::arch::x86_64::_mm_setzero_si128() }
    }

    #[inline(always)]
    fn sum_clmul(self, sum: Self::Sum, a: u32, b: u32) -> Self::Sum {
        use std::arch::x86_64::{_mm_clmulepi64_si128, _mm_cvtsi32_si128, _mm_xor_si128};
        // SAFETY: as in `clmul`: `self` proves pclmulqdq, SSE2 is baseline, no memory is touched.
        // `_mm_cvtsi32_si128` zeroes the upper bits, so the product is that of `a` and `b`.
        unsafe {
            let p = _mm_clmulepi64_si128(
                _mm_cvtsi32_si128(a as i32),
                _mm_cvtsi32_si128(b as i32),
                0x00,
            );
            _mm_xor_si128(sum, p)
        }
    }

    #[inline(always)]
    fn sum_get(self, sum: Self::Sum) -> u64 {
        // SAFETY: SSE2 is part of the x86_64 baseline; no memory is touched.
        unsafe { std::arch::x86_64::_mm_cvtsi128_si64(sum) as u64 }
    }

    #[inline(always)]
    fn sum_word(self, sum: Self::Sum, w: u64) -> Self::Sum {
        use std::arch::x86_64::{_mm_cvtsi64_si128, _mm_xor_si128};
        // SAFETY: SSE2 is part of the x86_64 baseline; no memory is touched.
        unsafe { _mm_xor_si128(sum, _mm_cvtsi64_si128(w as i64)) }
    }

    /// The halves go to the two 64-bit lanes of one register, the factors to the two lanes of
    /// another (one constant when `k` is), and one multiply takes each lane pair.
    #[inline(always)]
    fn sum_clmul_halves(self, sum: Self::Sum, w: u64, k: [u32; 2]) -> Self::Sum {
        use std::arch::x86_64::{
            _mm_clmulepi64_si128, _mm_cvtsi64_si128, _mm_set_epi64x, _mm_setzero_si128,
            _mm_unpacklo_epi32, _mm_xor_si128,
        };
        // SAFETY: as in `clmul`: `self` proves pclmulqdq, SSE2 is baseline, no memory is touched.
        // Interleaving with zeros leaves each half alone in its lane's low 32 bits.
        unsafe {
            let halves = _mm_unpacklo_epi32(_mm_cvtsi64_si128(w as i64), _mm_setzero_si128());
            let k = _mm_set_epi64x(i64::from(k[1]), i64::from(k[0]));
            let low = _mm_clmulepi64_si128(halves, k, 0x00);
            let high = _mm_clmulepi64_si128(halves, k, 0x11);
            _mm_xor_si128(sum, _mm_xor_si128(low, high))
        }
    }

    #[inline(always)]
    fn clmul(self, a: u64, b: u64) -> u64 {
        use std::arch::x86_64::{_mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_cvtsi64_si128};
        // SAFETY: `self` exists only if `Pclmul::detect` found pclmulqdq on this CPU (its field
        // is private), and SSE2 is part of the x86_64 baseline. No memory is touched.
        unsafe {
            let p = _mm_clmulepi64_si128(
                _mm_cvtsi64_si128(a as i64),
                _mm_cvtsi64_si128(b as i64),
                0x00,
            );
            _mm_cvtsi128_si64(p) as u64
        }
    }
}

/// `v mod P` for the `u64` polynomial `v`, by Barrett reduction: two multiplies, no division.
/// (`v · x^32 mod P` is the CRC register after the 8 bytes `v` from register 0.)
#[inline(always)]
pub(super) fn reduce<C: Clmul>(c: C, v: u64) -> u32 {
    let t1 = c.clmul(v & 0xFFFF_FFFF, MU);
    let t2 = c.clmul(t1 & 0xFFFF_FFFF, P_FULL);
    ((v ^ t2) >> 32) as u32
}

/// `pm(text)` (the polynomial of `text` modulo `P`) one bit at a time, from the definition: the
/// reference the fast paths are tested against.
#[cfg(test)]
pub(super) fn pm_of(text: &[u8]) -> u32 {
    let mut pm = 0u32;
    for &byte in text {
        for bit in 0..8 {
            // pm(T ‖ b) = pm(T)·x + b; the constant term is bit 31.
            pm = mul_x(pm) ^ (u32::from(byte >> bit & 1) << 31);
        }
    }
    pm
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CRC register after `bytes` from `reg`, one bit at a time (the definition).
    fn reg_bitwise(mut reg: u32, bytes: &[u8]) -> u32 {
        for &b in bytes {
            reg ^= u32::from(b);
            for _ in 0..8 {
                reg = (reg >> 1) ^ (POLY & 0u32.wrapping_sub(reg & 1));
            }
        }
        reg
    }

    fn lcg(x: &mut u64) -> u64 {
        *x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *x ^ (*x >> 29)
    }

    #[test]
    fn constants_are_the_known_ones() {
        assert_eq!(P_FULL, 0x1_DB71_0641);
        assert_eq!(MU, 0x1_F701_1641);
        for a in [1u32, 2, 0x8000_0000, POLY, 0xDEAD_BEEF, u32::MAX] {
            assert_eq!(div_x(mul_x(a)), a);
            assert_eq!(mul_x(div_x(a)), a);
        }
        // SHIFT[n] · x = x^(8n): x^0 is bit 31, x^32 mod P is P's low terms.
        assert_eq!(mul_x(SHIFT[0]), 1 << 31);
        assert_eq!(mul_x(SHIFT[4]), POLY);
    }

    #[test]
    fn portable_and_pclmul_multiply_alike() {
        let mut x = 7u64;
        for _ in 0..20_000 {
            let a = lcg(&mut x);
            let b = lcg(&mut x) & ((1 << 33) - 1);
            let a32 = a & 0xFFFF_FFFF;
            // The low 64 bits of the true product, bit by bit.
            let mut want = 0u64;
            for i in 0..64 {
                if b >> i & 1 == 1 {
                    want ^= a.wrapping_shl(i);
                }
            }
            assert_eq!(Portable.clmul(a, b), want);
            // A running sum of two products is their xor.
            let (x32, y32) = (a as u32, b as u32);
            let two = Portable.clmul(a32, u64::from(y32)) ^ Portable.clmul(u64::from(y32), a32);
            let sum = |s| Portable.sum_clmul(Portable.sum_clmul(s, x32, y32), y32, x32);
            assert_eq!(Portable.sum_get(sum(Portable.sum_zero())), two);
            assert_eq!(Portable.sum_get(Portable.sum_word(sum(0), b)), two ^ b);
            let halves =
                Portable.clmul(a32, u64::from(y32)) ^ Portable.clmul(a >> 32, u64::from(x32));
            assert_eq!(Portable.sum_clmul_halves(0, a, [y32, x32]), halves);
            #[cfg(target_arch = "x86_64")]
            if let Some(p) = Pclmul::detect() {
                assert_eq!(p.clmul(a, b), want);
                assert_eq!(p.clmul(a32, b), Portable.clmul(a32, b));
                let sum = p.sum_clmul(p.sum_clmul(p.sum_zero(), x32, y32), y32, x32);
                assert_eq!(p.sum_get(sum), two);
                let halves = Portable.sum_clmul_halves(7, a, [y32, x32]);
                assert_eq!(
                    p.sum_get(p.sum_clmul_halves(p.sum_word(p.sum_zero(), 7), a, [y32, x32])),
                    halves
                );
                assert_eq!(p.sum_get(p.sum_word(sum, b)), two ^ b);
            }
        }
    }

    #[test]
    fn reduce_is_the_crc_register_of_eight_bytes() {
        let mut x = 11u64;
        let check = |v: u64| {
            // reduce(v) · x^32 = the register after the 8 bytes from 0.
            let want = reg_bitwise(0, &v.to_le_bytes());
            let got = |r: u32| reduce_times_x32(r);
            assert_eq!(got(reduce(Portable, v)), want, "{v:#x}");
            #[cfg(target_arch = "x86_64")]
            if let Some(p) = Pclmul::detect() {
                assert_eq!(reduce(p, v), reduce(Portable, v), "{v:#x}");
            }
        };
        for v in [0, 1, u64::MAX, 1 << 63, 0xFFFF_FFFF, P_FULL, MU] {
            check(v);
        }
        for _ in 0..20_000 {
            check(lcg(&mut x));
        }
    }

    /// `r · x^32 mod P` by 32 multiplications by `x`.
    fn reduce_times_x32(mut r: u32) -> u32 {
        for _ in 0..32 {
            r = mul_x(r);
        }
        r
    }

    #[test]
    fn ones_shifted_is_the_product() {
        for n in 0..SHIFTS {
            assert_eq!(
                ones_shifted(n),
                Portable.clmul(0xFFFF_FFFF, shift(n)),
                "{n}"
            );
        }
    }

    #[test]
    fn shifts_append_zero_bytes() {
        // clmul(r, SHIFT[n]) reduced is r · x^(8n): the register after n zero bytes from r.
        let mut x = 3u64;
        for n in 0..SHIFTS {
            let r = lcg(&mut x) as u32;
            let want = reg_bitwise(r, &vec![0u8; n]);
            assert_eq!(
                reduce(Portable, Portable.clmul(u64::from(r), shift(n))),
                want
            );
        }
    }

    #[test]
    fn signed_shifts_extend_shifts_and_undo_them() {
        let mut x = 13u64;
        for d in 0..SIGNED {
            assert_eq!(shift_signed(d as isize), shift(d), "{d}");
            // r·x^(-8d)·x^(8d) = r.
            let r = lcg(&mut x) as u32;
            let c = Portable;
            let down = reduce(c, c.clmul(u64::from(r), shift_signed(-(d as isize))));
            assert_eq!(reduce(c, c.clmul(u64::from(down), shift(d))), r, "{d}");
        }
    }

    #[test]
    fn the_reference_pm_times_x32_is_the_crc_register_from_zero() {
        let mut x = 9u64;
        for len in 0..100 {
            let text: Vec<u8> = (0..len).map(|_| lcg(&mut x) as u8).collect();
            assert_eq!(reduce_times_x32(pm_of(&text)), reg_bitwise(0, &text));
        }
    }

    #[test]
    fn combining_pieces_gives_crc32fast_of_the_whole() {
        // crc32(A ‖ B) from the registers of the pieces, for random texts cut at random points.
        let mut x = 5u64;
        for _ in 0..2_000 {
            let len = (lcg(&mut x) % 300) as usize;
            let text: Vec<u8> = (0..len).map(|_| lcg(&mut x) as u8).collect();
            let cut = (lcg(&mut x) as usize) % (len + 1);
            let (a, b) = text.split_at(cut);
            let reg_a = reg_bitwise(!0, a);
            let reg0_b = reg_bitwise(0, b);
            let c = Portable;
            let got = !(reduce(c, c.clmul(u64::from(reg_a), shift(b.len()))) ^ reg0_b);
            assert_eq!(got, crc32fast::hash(&text));
        }
    }
}
