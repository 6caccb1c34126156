//! `CachePadded<T>` owns one value aligned and padded to a "false-sharing unit" so that two
//! values written by different cores never share a cache line (or, on x86_64, a pair of lines).
//! Invariant: `align_of::<CachePadded<T>>()` is [`CACHE_PAD_BYTES`] and the size is a multiple of
//! it. It never changes the value's semantics: it only derefs to it.

use core::ops::{Deref, DerefMut};

/// Alignment of [`CachePadded`] on this target, in bytes.
///
/// x86_64: 128. Cache lines are 64 bytes, but the L2 "spatial prefetcher" fetches lines in
/// 128-byte-aligned pairs (Intel 64 and IA-32 Architectures Optimization Reference Manual,
/// section "Data Prefetching" / L2 streamer and spatial prefetcher), so two hot values 64 bytes
/// apart still ping-pong between cores. crossbeam-utils' `CachePadded` uses 128 on x86_64 for the
/// same reason (it cites the same manual). aarch64: 128 as well (Apple M-series and Neoverse
/// use 128-byte lines or pairs, as crossbeam also notes). Other targets: 64, the common line size.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub const CACHE_PAD_BYTES: usize = 128;
/// Alignment of [`CachePadded`] on this target, in bytes (64: the common cache-line size).
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub const CACHE_PAD_BYTES: usize = 64;

/// A value padded and aligned to [`CACHE_PAD_BYTES`] to prevent false sharing.
#[cfg_attr(
    any(target_arch = "x86_64", target_arch = "aarch64"),
    repr(C, align(128))
)]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    repr(C, align(64))
)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CachePadded<T> {
    value: T,
}

impl<T> CachePadded<T> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Self {
        Self { value }
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for CachePadded<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::AtomicUsize;

    #[test]
    fn alignment_and_size_are_one_pad_unit() {
        assert_eq!(
            core::mem::align_of::<CachePadded<AtomicUsize>>(),
            CACHE_PAD_BYTES
        );
        assert_eq!(
            core::mem::size_of::<CachePadded<AtomicUsize>>(),
            CACHE_PAD_BYTES
        );
        assert_eq!(
            core::mem::size_of::<CachePadded<[u8; 129]>>(),
            2 * CACHE_PAD_BYTES
        );
    }

    #[test]
    fn two_padded_fields_never_share_a_unit() {
        #[repr(C)]
        struct Pair {
            a: CachePadded<AtomicUsize>,
            b: CachePadded<AtomicUsize>,
        }
        let pair = Pair {
            a: CachePadded::new(AtomicUsize::new(0)),
            b: CachePadded::new(AtomicUsize::new(0)),
        };
        let a = &*pair.a as *const AtomicUsize as usize;
        let b = &*pair.b as *const AtomicUsize as usize;
        assert_eq!(a % CACHE_PAD_BYTES, 0);
        assert_eq!(b - a, CACHE_PAD_BYTES);
    }

    #[test]
    fn deref_reaches_the_value() {
        let mut padded = CachePadded::new(41_u64);
        *padded += 1;
        assert_eq!(*padded, 42);
        assert_eq!(padded.into_inner(), 42);
    }
}
