//! A fixed-capacity FIFO of bytes (`start..end` window over one boxed slice) used for the
//! outgoing WebSocket and TLS bytes.
//!
//! Owns one buffer, handed in at construction (recycled across connections) and never grown. Invariant:
//! `start <= end <= buf.len()`; the window resets to 0 when it drains and is compacted (one
//! `copy_within`) only when the tail lacks room. Never allocates, never panics on a full queue:
//! callers ask for room and get `None`.

pub(crate) struct ByteQueue {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl ByteQueue {
    #[cfg(test)]
    pub(crate) fn new(capacity: usize) -> ByteQueue {
        ByteQueue::with_buffer(vec![0; capacity].into_boxed_slice())
    }

    /// An empty queue over a recycled buffer (its old contents are never read).
    pub(crate) fn with_buffer(buf: Box<[u8]>) -> ByteQueue {
        ByteQueue {
            buf,
            start: 0,
            end: 0,
        }
    }

    /// Gives back the buffer (for the next connection).
    pub(crate) fn into_buffer(self) -> Box<[u8]> {
        self.buf
    }

    /// Bytes waiting to be consumed.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Total free bytes (after compaction).
    pub(crate) fn free(&self) -> usize {
        self.buf.len() - (self.end - self.start)
    }

    /// Drops `n` bytes from the front.
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.start);
        self.start += n.min(self.end - self.start);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// A writable tail of at least `min` bytes (compacting if needed), or `None` if the queue
    /// cannot hold that many more bytes. Commit what was written with [`ByteQueue::commit`].
    pub(crate) fn spare(&mut self, min: usize) -> Option<&mut [u8]> {
        if self.buf.len() - self.end < min {
            if self.free() < min {
                return None;
            }
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        Some(&mut self.buf[self.end..])
    }

    /// Marks `n` bytes of the last [`ByteQueue::spare`] as queued.
    pub(crate) fn commit(&mut self, n: usize) {
        debug_assert!(self.end + n <= self.buf.len());
        self.end = (self.end + n).min(self.buf.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_with_compaction() {
        let mut q = ByteQueue::new(8);
        q.spare(5).unwrap()[..5].copy_from_slice(b"hello");
        q.commit(5);
        assert_eq!(q.pending(), b"hello");
        q.consume(3);
        assert_eq!(q.free(), 6);
        // 4 bytes do not fit after `end` (3 left) but do after compaction.
        q.spare(4).unwrap()[..4].copy_from_slice(b"abcd");
        q.commit(4);
        assert_eq!(q.pending(), b"loabcd");
        assert!(q.spare(3).is_none());
        q.consume(6);
        assert!(q.is_empty());
        assert_eq!(q.spare(8).unwrap().len(), 8);
    }
}
