//! The nesting guard: refuses a frame whose JSON nests deeper than a fixed bound before any
//! recursive parser sees it.
//!
//! Owns [`check_nesting`] and [`MAX_NESTING_LIMIT`]. Invariants: it never recurses, never
//! allocates and never panics; it accepts every frame whose arrays and objects nest at most `max`
//! deep and refuses every frame (valid JSON or not) in which more than `max` brackets are open at
//! once outside strings. It does not validate JSON: that is the parser's job.
//!
//! Why it exists: serde deserializers, sonic-rs included, skip values they do not read by
//! recursion, one stack frame per level. A frame of 80,000 `[` (80 KB, well under the frame
//! limit) overflows any thread's stack and aborts the process, which no `Result` can catch. The
//! bound is kspin's own, so it holds whatever version of the parser is linked.

use super::error::DecodeError;

/// The largest nesting bound a decoder may be configured with. Far below what overflows a
/// 2 MiB thread stack in sonic-rs's value skipping (measured: thousands of levels), and far
/// above what Kraken sends: a v2 book frame nests 5 deep (envelope → `data` → book →
/// `bids` → level, PROTOCOL.md §1.4), `instrument` 4 (§1.8).
pub const MAX_NESTING_LIMIT: usize = 128;

/// Checks that no more than `max` arrays and objects are open at once outside strings.
///
/// Cost: one vectorisable pass counting `[` and `{` bytes; only a frame holding more than `max`
/// of them in total (a big snapshot, the instrument list, or an attack) gets the exact,
/// string-aware pass.
#[inline]
pub(crate) fn check_nesting(frame: &[u8], max: usize) -> Result<(), DecodeError> {
    let opens = frame.iter().filter(|&&b| b == b'[' || b == b'{').count();
    if opens <= max {
        return Ok(());
    }
    exact_nesting(frame, max)
}

/// The exact pass: tracks strings (with `\` escapes) and the open-bracket count.
#[cold]
fn exact_nesting(frame: &[u8], max: usize) -> Result<(), DecodeError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in frame {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(DecodeError::TooDeep { max });
                }
            }
            // An unbalanced close is the parser's error to report, not ours.
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nested(open: &str, close: &str, n: usize) -> String {
        format!("{}{}", open.repeat(n), close.repeat(n))
    }

    #[test]
    fn kraken_frames_pass() {
        let book = br#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1.0,"qty":2.0}],"asks":[],"checksum":1}]}"#;
        assert_eq!(check_nesting(book, 5), Ok(()));
        assert_eq!(check_nesting(book, 4), Err(DecodeError::TooDeep { max: 4 }));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let frame = format!(r#"{{"a":"{}","b":"\"[[[["}}"#, "[".repeat(1000));
        assert_eq!(check_nesting(frame.as_bytes(), 2), Ok(()));
        let escaped_backslash = br#"{"a":"\\","b":[[[]]]}"#;
        assert_eq!(
            check_nesting(escaped_backslash, 3),
            Err(DecodeError::TooDeep { max: 3 })
        );
        assert_eq!(check_nesting(escaped_backslash, 4), Ok(()));
    }

    #[test]
    fn siblings_are_not_depth() {
        let wide = format!("[{}]", vec!["[]"; 10_000].join(","));
        assert_eq!(check_nesting(wide.as_bytes(), 2), Ok(()));
    }

    #[test]
    fn deep_frames_are_refused_at_the_first_excess_bracket() {
        let deep = format!(
            r#"{{"channel":"heartbeat","x":{}}}"#,
            nested("[", "]", 80_000)
        );
        assert_eq!(
            check_nesting(deep.as_bytes(), 32),
            Err(DecodeError::TooDeep { max: 32 })
        );
        let unbalanced = "{".repeat(80_000);
        assert_eq!(
            check_nesting(unbalanced.as_bytes(), 32),
            Err(DecodeError::TooDeep { max: 32 })
        );
    }

    /// The reference: the maximum depth of a well-formed JSON tree built by the strategy.
    #[derive(Debug, Clone)]
    enum Tree {
        Leaf(String),
        Array(Vec<Tree>),
        Object(Vec<(String, Tree)>),
    }

    impl Tree {
        fn depth(&self) -> usize {
            match self {
                Tree::Leaf(_) => 0,
                Tree::Array(v) => 1 + v.iter().map(Tree::depth).max().unwrap_or(0),
                Tree::Object(v) => 1 + v.iter().map(|(_, t)| t.depth()).max().unwrap_or(0),
            }
        }
        fn text(&self) -> String {
            match self {
                Tree::Leaf(s) => serde_json::to_string(s).unwrap_or_default(),
                Tree::Array(v) => {
                    let items: Vec<String> = v.iter().map(Tree::text).collect();
                    format!("[{}]", items.join(","))
                }
                Tree::Object(v) => {
                    let items: Vec<String> = v
                        .iter()
                        .map(|(k, t)| {
                            format!(
                                "{}:{}",
                                serde_json::to_string(k).unwrap_or_default(),
                                t.text()
                            )
                        })
                        .collect();
                    format!("{{{}}}", items.join(","))
                }
            }
        }
    }

    fn tree() -> impl Strategy<Value = Tree> {
        let leaf = "[\\[\\]{}\"\\\\a-z]{0,6}".prop_map(Tree::Leaf);
        leaf.prop_recursive(12, 64, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Tree::Array),
                prop::collection::vec(("[\\[{\"\\\\a-z]{0,4}", inner), 0..4).prop_map(Tree::Object),
            ]
        })
    }

    proptest! {
        #[test]
        fn agrees_with_the_tree_depth(t in tree(), max in 0usize..14) {
            let text = t.text();
            let expected = if t.depth() <= max { Ok(()) } else { Err(DecodeError::TooDeep { max }) };
            prop_assert_eq!(check_nesting(text.as_bytes(), max), expected);
        }
    }
}
