//! kspin-testkit: what kspin's test suites share, so that each exists once.
//!
//! Owns the counting allocator of every zero-allocation test ([`alloc_count`], installed in a
//! test binary with [`install_counting_allocator!`]) and the location of the vendored Kraken
//! recordings and documented examples ([`vectors_dir`], [`vector`]), and a real `nats-server`
//! for the NATS tests ([`NatsServer`]). Test support only: it
//! allocates and panics freely outside the allocator itself.

pub mod alloc_count;
pub mod nats_server;

pub use alloc_count::{
    allocated_bytes, allocs, counting, frees, live_bytes, take_allocations, CountingAllocator,
};
pub use nats_server::NatsServer;

/// Installs [`CountingAllocator`] as the calling test binary's global allocator.
#[macro_export]
macro_rules! install_counting_allocator {
    () => {
        #[global_allocator]
        static KSPIN_TESTKIT_ALLOCATOR: $crate::CountingAllocator = $crate::CountingAllocator;
    };
}

/// The directory of the vendored Kraken vectors (`engine/testdata/vectors`, see its `ORIGIN.md`).
pub fn vectors_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("testdata")
        .join("vectors")
}

/// The path of one vendored vector file.
pub fn vector(name: &str) -> std::path::PathBuf {
    vectors_dir().join(name)
}

/// The text of one vendored vector file.
pub fn vector_text(name: &str) -> String {
    let path = vector(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
