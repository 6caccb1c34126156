//! Lock-free single-producer single-consumer ring (placeholder: see issue 4).
