//! Decoder errors: one small `Copy` enum for everything a frame can do wrong.
//!
//! Owns [`DecodeError`]. Invariants: every variant is `Copy` and carries only `'static` names, so
//! returning an error never allocates on kspin's side and the caller can count errors by
//! [`DecodeError::kind`]. It never formats anything on the hot path (the `Display` impl is for
//! the logging side).

use kspin_api::FixedError;

/// Why a frame could not be decoded. The frame is dropped; the connection goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame is longer than [`crate::kraken::DecoderLimits::max_frame_len`].
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    Oversized { len: usize, max: usize },
    /// Arrays and objects nested deeper than [`crate::kraken::DecoderLimits::max_nesting`].
    #[error("JSON nested deeper than {max} levels")]
    TooDeep { max: usize },
    /// Not JSON (syntax error, truncated, invalid UTF-8, trailing garbage).
    #[error("malformed JSON")]
    Malformed,
    /// Valid JSON whose top level is not an object.
    #[error("top level is not a JSON object")]
    NotAnObject,
    /// A `channel` this decoder does not know (for example `level3`).
    #[error("unknown channel")]
    UnknownChannel,
    /// A response `method` this decoder does not know (order entry responses, for example).
    #[error("unknown method")]
    UnknownMethod,
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field holds the wrong JSON type or an unknown enumeration value.
    #[error("field `{0}` has the wrong type or value")]
    WrongType(&'static str),
    /// A number field whose text is not an exact number in range.
    #[error("field `{field}` is not a valid number: {error}")]
    BadNumber {
        field: &'static str,
        error: FixedError,
    },
    /// The frame holds more items of one kind than the preallocated arena has room for.
    #[error("arena full: too many {0}")]
    ArenaFull(&'static str),
    /// A string with escapes did not fit the bounded unescape scratch of the decoder.
    #[error("escaped string in `{0}` does not fit the scratch buffer")]
    EscapedString(&'static str),
}

impl DecodeError {
    /// A stable short name for counters and logs (never changes between releases).
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Oversized { .. } => "oversized",
            DecodeError::TooDeep { .. } => "too_deep",
            DecodeError::Malformed => "malformed",
            DecodeError::NotAnObject => "not_an_object",
            DecodeError::UnknownChannel => "unknown_channel",
            DecodeError::UnknownMethod => "unknown_method",
            DecodeError::MissingField(_) => "missing_field",
            DecodeError::WrongType(_) => "wrong_type",
            DecodeError::BadNumber { .. } => "bad_number",
            DecodeError::ArenaFull(_) => "arena_full",
            DecodeError::EscapedString(_) => "escaped_string",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_distinct_and_stable() {
        let all = [
            DecodeError::Oversized { len: 2, max: 1 },
            DecodeError::TooDeep { max: 1 },
            DecodeError::Malformed,
            DecodeError::NotAnObject,
            DecodeError::UnknownChannel,
            DecodeError::UnknownMethod,
            DecodeError::MissingField("x"),
            DecodeError::WrongType("x"),
            DecodeError::BadNumber {
                field: "x",
                error: FixedError::Invalid,
            },
            DecodeError::ArenaFull("x"),
            DecodeError::EscapedString("x"),
        ];
        let mut kinds: Vec<&str> = all.iter().map(DecodeError::kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), all.len());
        assert_eq!(
            DecodeError::Oversized { len: 2, max: 1 }.kind(),
            "oversized"
        );
    }
}
