//! kspin engine library.
