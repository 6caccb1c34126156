//! A small mutation loop on the stable toolchain: shakes a target with mutated corpus inputs for
//! a time budget, for machines without nightly Rust (cargo-fuzz needs it for its sanitizer and
//! coverage flags). Run by the ignored test `shake_every_target` (fuzz/tests/shake.rs).
//!
//! Owns the mutators (byte flips, interesting values, insertions and deletions, splices,
//! dictionary tokens, line duplication and swaps) and a deterministic xorshift generator.
//! Invariants: deterministic for a given seed and budget of executions (time only decides when
//! to stop); panics inside the target are caught and returned with their input, never
//! propagated. It has no coverage feedback: inputs the target accepted are kept as further
//! parents, which is what steers it past the first parser. A stack overflow or an abort still
//! ends the process (cargo-fuzz would save that input; this loop cannot).

use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::replay::panic_message;
use crate::{Target, Verdict};

/// Longest input the loop builds (libFuzzer's default `-max_len` is 4096; recordings are larger).
const MAX_INPUT: usize = 64 << 10;
/// Accepted inputs kept as parents, beyond the seeds.
const MAX_KEPT: usize = 2048;
/// Distinct failures recorded before the loop stops.
const MAX_FAILURES: usize = 8;

/// xorshift64*: tiny, deterministic.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// What shaking one target did.
#[derive(Debug)]
pub struct ShakeReport {
    pub target: &'static str,
    pub executions: u64,
    pub accepted: u64,
    /// Accepted inputs kept as parents.
    pub kept: usize,
    /// Inputs whose run panicked, with the message (one per distinct message).
    pub failures: Vec<(Vec<u8>, String)>,
}

const INTERESTING: [&[u8]; 14] = [
    b"0",
    b"-1",
    b"1e400",
    b"18446744073709551616",
    b"4294967295",
    b"0.00000000000000000001",
    b"null",
    b"\"\"",
    b"[]",
    b"{}",
    b"\\u0000",
    b"\xff\xff\xff\xff",
    b"\x00\x00",
    b"\x7f\xff",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, pool: &[Vec<u8>], dict: &[Vec<u8>]) {
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = input.len();
        match rng.below(11) {
            0 if len > 0 => {
                let at = rng.below(len);
                input[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                input[at] = rng.next_u64() as u8;
            }
            2 if len > 0 => {
                // Delete a range.
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(64));
                input.drain(at..at + n);
            }
            3 if len > 0 => {
                // Duplicate a range.
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(256));
                let copy = input[at..at + n].to_vec();
                let to = rng.below(input.len() + 1);
                input.splice(to..to, copy);
            }
            4 if !dict.is_empty() => {
                let token = &dict[rng.below(dict.len())];
                let to = rng.below(len + 1);
                input.splice(to..to, token.iter().copied());
            }
            5 if !dict.is_empty() && len > 0 => {
                // Overwrite with a token.
                let token = &dict[rng.below(dict.len())];
                let at = rng.below(len);
                let end = (at + token.len()).min(len);
                input.splice(at..end, token.iter().copied());
            }
            6 => {
                let value = INTERESTING[rng.below(INTERESTING.len())];
                let to = rng.below(len + 1);
                input.splice(to..to, value.iter().copied());
            }
            7 if !pool.is_empty() => {
                // Splice: our head, another input's tail.
                let other = &pool[rng.below(pool.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                input.truncate(cut);
                input.extend_from_slice(&other[from..]);
            }
            8 => {
                // Duplicate, drop or swap whole lines (frames of a recording).
                let mut lines: Vec<Vec<u8>> =
                    input.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
                let n = lines.len();
                let (a, b) = (rng.below(n), rng.below(n));
                match rng.below(3) {
                    0 => {
                        let line = lines[a].clone();
                        lines.insert(b, line);
                    }
                    1 if n > 1 => {
                        lines.remove(a);
                    }
                    _ => lines.swap(a, b),
                }
                *input = lines.join(&b'\n');
            }
            9 if len > 0 => {
                // Change a digit: numbers are what books and checksums are made of.
                let digits: Vec<usize> = (0..len).filter(|&i| input[i].is_ascii_digit()).collect();
                if !digits.is_empty() {
                    let at = digits[rng.below(digits.len())];
                    input[at] = b'0' + rng.below(10) as u8;
                }
            }
            _ => {
                let to = rng.below(len + 1);
                input.insert(to, rng.next_u64() as u8);
            }
        }
        input.truncate(MAX_INPUT);
    }
}

/// Shakes `target` for `budget`, starting from `seeds` (which must not be empty).
pub fn shake(
    target: &Target,
    seeds: Vec<Vec<u8>>,
    dict: &[Vec<u8>],
    budget: Duration,
    rng_seed: u64,
) -> ShakeReport {
    let mut rng = Rng(rng_seed | 1);
    let mut pool = seeds;
    let seed_count = pool.len();
    let mut messages = HashSet::new();
    let mut report = ShakeReport {
        target: target.name,
        executions: 0,
        accepted: 0,
        kept: 0,
        failures: Vec::new(),
    };
    if pool.is_empty() {
        return report;
    }
    // The failures are reported with their messages: the default hook's printing (and
    // backtrace) of every caught panic would bury them.
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let start = Instant::now();
    while start.elapsed() < budget && report.failures.len() < MAX_FAILURES {
        let mut input = pool[rng.below(pool.len())].clone();
        mutate(&mut rng, &mut input, &pool, dict);
        report.executions += 1;
        match panic::catch_unwind(AssertUnwindSafe(|| (target.run)(&input))) {
            Ok(Verdict::Accepted) => {
                report.accepted += 1;
                // Keep a few accepted inputs as parents; replace old ones once full.
                if rng.below(16) == 0 {
                    if pool.len() < seed_count + MAX_KEPT {
                        pool.push(input);
                    } else {
                        let at = seed_count + rng.below(MAX_KEPT);
                        pool[at] = input;
                    }
                }
            }
            Ok(Verdict::Rejected) => {}
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                // One input per distinct message (its first line: no input text).
                let key = message.lines().next().unwrap_or_default().to_owned();
                if messages.insert(key) {
                    report.failures.push((input, message));
                }
            }
        }
    }
    panic::set_hook(hook);
    report.kept = pool.len() - seed_count;
    report
}

/// Reads a libFuzzer dictionary (`name="value"` lines with `\xNN`, `\\` and `\"` escapes).
pub fn read_dictionary(text: &str) -> Vec<Vec<u8>> {
    let mut tokens = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let (Some(open), Some(close)) = (line.find('"'), line.rfind('"')) else {
            continue;
        };
        if close <= open {
            continue;
        }
        let quoted = &line.as_bytes()[open + 1..close];
        let mut token = Vec::new();
        let mut i = 0;
        while i < quoted.len() {
            match quoted[i] {
                b'\\' if quoted.get(i + 1) == Some(&b'x') => {
                    let hex = quoted
                        .get(i + 2..i + 4)
                        .and_then(|h| std::str::from_utf8(h).ok());
                    if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        token.push(byte);
                    }
                    i += 4;
                }
                b'\\' if i + 1 < quoted.len() => {
                    token.push(quoted[i + 1]);
                    i += 2;
                }
                b => {
                    token.push(b);
                    i += 1;
                }
            }
        }
        tokens.push(token);
    }
    tokens
}
