//! The primitives the ring is built on: atomics, fences, `Arc` and the slot cell. Normally the
//! standard library's; under `--cfg loom` (the model-checking test, `tests/loom_model.rs`)
//! loom's instrumented versions, so loom explores every interleaving and memory ordering the
//! ring's code allows.
//!
//! Owns only re-exports and [`SlotCell`], an `UnsafeCell` reached through closures (the shape
//! loom's cell needs to track each access). It adds no cost to a normal build: every method is
//! an inlined pointer hand-over.

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{fence, AtomicU32, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU32, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

/// A slot: interior mutability whose every access goes through a closure given the raw pointer.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct SlotCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> SlotCell<T> {
    pub(crate) fn new(value: T) -> SlotCell<T> {
        SlotCell(core::cell::UnsafeCell::new(value))
    }

    /// Hands `f` a pointer through which it may write the slot (the caller owns it).
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }

    /// Hands `f` a pointer through which it may read the slot (the caller owns it).
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }
}

/// A slot, tracked by loom.
#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct SlotCell<T>(loom::cell::UnsafeCell<T>);

#[cfg(loom)]
impl<T> SlotCell<T> {
    pub(crate) fn new(value: T) -> SlotCell<T> {
        SlotCell(loom::cell::UnsafeCell::new(value))
    }

    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        self.0.with_mut(f)
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        self.0.with(f)
    }
}
