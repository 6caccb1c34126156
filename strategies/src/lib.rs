//! Built-in strategies for kspin, written only against the `kspin-api` contract (placeholder).
