//! kspin engine library.
pub mod kraken;
