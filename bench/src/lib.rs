//! Shared helpers for kspin's benchmarks (placeholder).
