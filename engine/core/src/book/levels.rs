//! [`LevelBuf`]: one book message's levels converted once to the pair's precision, for the book
//! to apply and the publisher to forward without converting again.
//!
//! Owns a fixed-capacity buffer of [`FixedLevel`]s, allocated once. Invariants: it never grows
//! (a message with more levels than the capacity is refused, [`LevelBuf::push`] returns `false`);
//! its content is one message's levels in message order, bids first, exactly as applied. Never
//! allocates after construction.

use kspin_api::{Price, Qty};

use super::side::SideKind;

/// One level of a book message at the pair's precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedLevel {
    pub side: SideKind,
    pub price: Price,
    pub qty: Qty,
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct LevelBuf {
    /// Every slot, written before it is read (`len` counts the written ones).
    slots: Box<[FixedLevel]>,
    len: usize,
}

impl LevelBuf {
    /// A buffer for messages of up to `capacity` levels. Start-up only.
    pub fn with_capacity(capacity: usize) -> LevelBuf {
        let empty = FixedLevel {
            side: SideKind::Bid,
            price: Price(0),
            qty: Qty(0),
        };
        LevelBuf {
            slots: vec![empty; capacity].into_boxed_slice(),
            len: 0,
        }
    }

    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends a level; `false` (and nothing appended) when the buffer is full.
    #[inline]
    pub fn push(&mut self, level: FixedLevel) -> bool {
        match self.slots.get_mut(self.len) {
            Some(slot) => {
                *slot = level;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    #[inline]
    pub fn as_slice(&self) -> &[FixedLevel] {
        self.slots.get(..self.len).unwrap_or_default()
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_buffer_refuses_and_never_grows() {
        let mut b = LevelBuf::with_capacity(2);
        let l = FixedLevel {
            side: SideKind::Bid,
            price: Price(1),
            qty: Qty(1),
        };
        assert!(b.push(l) && b.push(l));
        assert!(!b.push(l));
        assert_eq!(b.len(), 2);
        b.clear();
        assert!(b.is_empty() && b.capacity() == 2);
    }
}
