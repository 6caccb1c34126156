//! Host checks and tuning for colocated deployment (placeholder: see issue 6).
