//! Fault injection: the fault kinds, their compact textual spec and the schedule that fires them.
//!
//! Grammar (one `--fault` each; documented for users in the README, "Fault grammar"):
//!
//! ```text
//! spec  := kind "@" when
//! when  := DURATION               once, that long after the venue started       (5s, 250ms)
//!        | "every:" DURATION      periodically, first one period after start     (every:10s)
//!        | "every:" COUNT         after every COUNT market events                (every:1000)
//! kind  := "drop"                 close every TCP connection abruptly (no WebSocket close)
//!        | "stall:" DURATION      send nothing (and read nothing) for that long, sockets stay open
//!        | "corrupt" [":" SYMBOL] next book message of SYMBOL (default: a random subscribed
//!                                 symbol) carries a wrong checksum; the book itself stays right
//!        | "malformed"            send one frame that is not JSON
//!        | "deep" [":" COUNT]     send one valid frame nesting COUNT arrays (default 80000)
//!        | "oversized" [":" SIZE] send one valid frame of SIZE bytes (default 2MiB)
//!        | "tls-no-close-notify"  WebSocket close, then TCP close without TLS close_notify
//!        | "truncate"             cut every connection in the middle of a TLS record (plain:
//!                                 in the middle of a frame), without close_notify
//!        | "maintenance:" DURATION  status `maintenance`, market frozen, then status `online`
//!        | "refuse:" DURATION     close the listener: connections are refused, then accepted again
//!        | "burst" [":" FACTOR "x"] [":" DURATION]  message rate × FACTOR (default 10) for
//!                                 DURATION (default 1s)
//!        | "ack-delay:" DURATION [":" DURATION]   trading side: every answer to order entry
//!                                 (add/amend/cancel/batch/cancel_all/cancel_all_orders_after)
//!                                 is held back by the first DURATION, for the second DURATION
//!                                 (default 10s); the orders are processed at once, so their
//!                                 `executions` events reach the client before the answer
//!        | "reject:" COUNT [":" TEXT]  trading side: the next COUNT orders (an `add_order`, or
//!                                 a whole `batch_add`) that pass validation are refused with
//!                                 TEXT (default `EService:Unavailable`; any text without `@`)
//!        | "auth-drop"            trading side: cut every authenticated connection (no
//!                                 WebSocket close); open orders stay at the venue and keep
//!                                 filling against the market, the dead man's switch keeps
//!                                 running, and a reconnecting client's `executions` snapshot
//!                                 shows the truth (`snap_trades: true` adds the fills)
//! DURATION := NUMBER ("ms" | "s" | "m")   NUMBER may have decimals: 1.5s
//! SIZE     := NUMBER ["B" | "KiB" | "MiB" | "KB" | "MB"]
//! ```
//!
//! Owns the parsed specs and their firing state. Invariants: a parse error names the whole bad
//! spec; a spec fires at most once per `when` occurrence; the schedule never consumes the
//! market's randomness. It never performs a fault itself (the venue loop does).

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Largest oversized frame the venue will build (bounded memory; well above Kraken-sized frames).
pub const MAX_OVERSIZED: usize = 64 << 20;
/// Default oversized frame: 2 MiB.
pub const DEFAULT_OVERSIZED: usize = 2 << 20;
/// Default burst factor ("a burst ×10 the normal rate").
pub const DEFAULT_BURST_FACTOR: u32 = 10;
/// Default nesting of the `deep` fault: the 80,000 `[` that once overflowed the engine's stack.
pub const DEFAULT_DEEP: usize = 80_000;
/// Deepest `deep` fault frame (two bytes per level, well under [`MAX_OVERSIZED`]).
pub const MAX_DEEP: usize = 4_000_000;
/// Default burst length.
pub const DEFAULT_BURST: Duration = Duration::from_secs(1);
/// How long `ack-delay` stays in force by default.
pub const DEFAULT_ACK_DELAY_WINDOW: Duration = Duration::from_secs(10);
/// The text `reject` refuses orders with by default.
pub const DEFAULT_REJECT_TEXT: &str = "EService:Unavailable";

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    Drop,
    Stall(Duration),
    /// `None`: a random symbol among those with book subscribers.
    Corrupt(Option<String>),
    Malformed,
    /// One valid heartbeat frame with an array nested this many levels deep.
    Deep(usize),
    Oversized(usize),
    TlsNoCloseNotify,
    /// Every connection cut in the middle of a record (TLS) or a frame (plain).
    Truncate,
    Maintenance(Duration),
    Refuse(Duration),
    Burst {
        factor: u32,
        duration: Duration,
    },
    /// Trading answers held back by `delay` for `duration`.
    AckDelay {
        delay: Duration,
        duration: Duration,
    },
    /// The next `count` orders refused with `text`.
    Reject {
        count: u32,
        text: String,
    },
    /// Every authenticated connection cut.
    AuthDrop,
}

/// When a fault fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultWhen {
    /// Once, this long after the venue started.
    At(Duration),
    /// Every period, the first one period after start.
    Every(Duration),
    /// After every N market events.
    EveryEvents(u64),
}

/// One configured fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpec {
    pub kind: FaultKind,
    pub when: FaultWhen,
}

/// A spec that did not parse; the message names the spec and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad fault spec `{spec}`: {reason}")]
pub struct FaultParseError {
    pub spec: String,
    pub reason: String,
}

/// Parses `1.5s`, `250ms`, `2m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (num, unit_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1u64)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1_000)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000)
    } else {
        return Err(format!("duration `{text}` needs a unit: ms, s or m"));
    };
    let micros = parse_scaled(num, unit_ms * 1_000)
        .ok_or_else(|| format!("duration `{text}` is not a number with a unit"))?;
    Ok(Duration::from_micros(micros))
}

/// Parses `2MiB`, `512KiB`, `1MB`, `1000B`, `4096`.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let units: [(&str, u64); 5] = [
        ("KiB", 1 << 10),
        ("MiB", 1 << 20),
        ("KB", 1_000),
        ("MB", 1_000_000),
        ("B", 1),
    ];
    let (num, mult) = units
        .iter()
        .find_map(|&(u, m)| text.strip_suffix(u).map(|n| (n, m)))
        .unwrap_or((text, 1));
    let bytes = parse_scaled(num, mult).ok_or_else(|| format!("size `{text}` is not a size"))?;
    if bytes as usize > MAX_OVERSIZED {
        return Err(format!(
            "size `{text}` exceeds the {MAX_OVERSIZED}-byte limit"
        ));
    }
    Ok(bytes as usize)
}

/// `digits[.digits] * mult`, exact in integers, or `None`.
fn parse_scaled(num: &str, mult: u64) -> Option<u64> {
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let whole = int.parse::<u64>().ok()?.checked_mul(mult)?;
    let mut part = 0u64;
    if !frac.is_empty() {
        let f = frac.parse::<u64>().ok()?;
        part = (f as u128 * mult as u128 / 10u128.pow(frac.len() as u32)) as u64;
    }
    whole.checked_add(part)
}

fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1_000 == 0 {
        format!("{}s", ms / 1_000)
    } else {
        format!("{ms}ms")
    }
}

impl FromStr for FaultSpec {
    type Err = FaultParseError;

    fn from_str(spec: &str) -> Result<FaultSpec, FaultParseError> {
        let bad = |reason: String| FaultParseError {
            spec: spec.to_owned(),
            reason,
        };
        let (kind_text, when_text) = spec
            .rsplit_once('@')
            .ok_or_else(|| bad("missing `@when` (e.g. `drop@5s`)".into()))?;
        let when = if let Some(rest) = when_text.strip_prefix("every:") {
            if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
                match rest.parse::<u64>() {
                    Ok(n) if n > 0 => FaultWhen::EveryEvents(n),
                    _ => return Err(bad(format!("event count `{rest}` must be 1 or more"))),
                }
            } else {
                let d = parse_duration(rest).map_err(&bad)?;
                if d.is_zero() {
                    return Err(bad("a period must be longer than zero".into()));
                }
                FaultWhen::Every(d)
            }
        } else {
            FaultWhen::At(parse_duration(when_text).map_err(&bad)?)
        };
        let (name, args) = kind_text.split_once(':').unwrap_or((kind_text, ""));
        let need_duration = |args: &str| -> Result<Duration, FaultParseError> {
            if args.is_empty() {
                return Err(bad(format!("`{name}` needs a duration, e.g. `{name}:3s`")));
            }
            parse_duration(args).map_err(&bad)
        };
        let no_args = |kind: FaultKind| {
            if args.is_empty() {
                Ok(kind)
            } else {
                Err(bad(format!("`{name}` takes no argument")))
            }
        };
        let kind = match name {
            "drop" => no_args(FaultKind::Drop)?,
            "malformed" => no_args(FaultKind::Malformed)?,
            "tls-no-close-notify" => no_args(FaultKind::TlsNoCloseNotify)?,
            "truncate" => no_args(FaultKind::Truncate)?,
            "stall" => FaultKind::Stall(need_duration(args)?),
            "maintenance" => FaultKind::Maintenance(need_duration(args)?),
            "refuse" => FaultKind::Refuse(need_duration(args)?),
            "corrupt" => match args {
                "" | "*" => FaultKind::Corrupt(None),
                s if s.contains('/') && !s.contains(char::is_whitespace) => {
                    FaultKind::Corrupt(Some(s.to_owned()))
                }
                s => return Err(bad(format!("`{s}` is not a symbol like BTC/USD"))),
            },
            "deep" => FaultKind::Deep(if args.is_empty() {
                DEFAULT_DEEP
            } else {
                match args.parse::<usize>() {
                    Ok(n) if (1..=MAX_DEEP).contains(&n) => n,
                    _ => return Err(bad(format!("nesting `{args}` must be 1..={MAX_DEEP}"))),
                }
            }),
            "oversized" => FaultKind::Oversized(if args.is_empty() {
                DEFAULT_OVERSIZED
            } else {
                parse_size(args).map_err(&bad)?
            }),
            "burst" => {
                let mut factor = DEFAULT_BURST_FACTOR;
                let mut duration = DEFAULT_BURST;
                for part in args.split(':').filter(|p| !p.is_empty()) {
                    if let Some(f) = part.strip_suffix('x') {
                        factor = match f.parse::<u32>() {
                            Ok(f) if (1..=1_000).contains(&f) => f,
                            _ => {
                                return Err(bad(format!("burst factor `{part}` must be 1x..1000x")))
                            }
                        };
                    } else {
                        duration = parse_duration(part).map_err(&bad)?;
                    }
                }
                FaultKind::Burst { factor, duration }
            }
            "auth-drop" => no_args(FaultKind::AuthDrop)?,
            "ack-delay" => {
                let (delay, window) = args.split_once(':').unwrap_or((args, ""));
                let delay = need_duration(delay)?;
                let duration = if window.is_empty() {
                    DEFAULT_ACK_DELAY_WINDOW
                } else {
                    parse_duration(window).map_err(&bad)?
                };
                FaultKind::AckDelay { delay, duration }
            }
            "reject" => {
                let (count, text) = args.split_once(':').unwrap_or((args, ""));
                let count = match count.parse::<u32>() {
                    Ok(n) if n > 0 && count.bytes().all(|b| b.is_ascii_digit()) => n,
                    _ => {
                        return Err(bad(
                            "`reject` needs a count of 1 or more, e.g. `reject:3`".into()
                        ))
                    }
                };
                let text = if text.is_empty() {
                    DEFAULT_REJECT_TEXT.to_owned()
                } else {
                    text.to_owned()
                };
                FaultKind::Reject { count, text }
            }
            other => {
                return Err(bad(format!(
                    "unknown fault `{other}` (drop, stall, corrupt, malformed, deep, oversized, \
                     tls-no-close-notify, truncate, maintenance, refuse, burst, ack-delay, reject, \
                     auth-drop)"
                )))
            }
        };
        Ok(FaultSpec { kind, when })
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::Drop => f.write_str("drop"),
            FaultKind::Stall(d) => write!(f, "stall:{}", fmt_duration(*d)),
            FaultKind::Corrupt(None) => f.write_str("corrupt"),
            FaultKind::Corrupt(Some(s)) => write!(f, "corrupt:{s}"),
            FaultKind::Malformed => f.write_str("malformed"),
            FaultKind::Deep(n) => write!(f, "deep:{n}"),
            FaultKind::Oversized(n) => write!(f, "oversized:{n}B"),
            FaultKind::TlsNoCloseNotify => f.write_str("tls-no-close-notify"),
            FaultKind::Truncate => f.write_str("truncate"),
            FaultKind::Maintenance(d) => write!(f, "maintenance:{}", fmt_duration(*d)),
            FaultKind::Refuse(d) => write!(f, "refuse:{}", fmt_duration(*d)),
            FaultKind::Burst { factor, duration } => {
                write!(f, "burst:{factor}x:{}", fmt_duration(*duration))
            }
            FaultKind::AckDelay { delay, duration } => write!(
                f,
                "ack-delay:{}:{}",
                fmt_duration(*delay),
                fmt_duration(*duration)
            ),
            FaultKind::Reject { count, text } => write!(f, "reject:{count}:{text}"),
            FaultKind::AuthDrop => f.write_str("auth-drop"),
        }
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.when {
            FaultWhen::At(d) => write!(f, "{}@{}", self.kind, fmt_duration(d)),
            FaultWhen::Every(d) => write!(f, "{}@every:{}", self.kind, fmt_duration(d)),
            FaultWhen::EveryEvents(n) => write!(f, "{}@every:{n}", self.kind),
        }
    }
}

/// Firing state of the configured faults.
#[derive(Debug)]
pub struct FaultSchedule {
    entries: Vec<(FaultSpec, Option<Instant>, u64)>,
}

impl FaultSchedule {
    pub fn new(specs: &[FaultSpec], start: Instant) -> FaultSchedule {
        let entries = specs
            .iter()
            .map(|s| {
                let (at, next_events) = match s.when {
                    FaultWhen::At(d) | FaultWhen::Every(d) => (Some(start + d), 0),
                    FaultWhen::EveryEvents(n) => (None, n),
                };
                (s.clone(), at, next_events)
            })
            .collect();
        FaultSchedule { entries }
    }

    /// Pushes into `due` every fault whose time or event count has come.
    pub fn poll(&mut self, now: Instant, market_events: u64, due: &mut Vec<FaultKind>) {
        for (spec, at, next_events) in &mut self.entries {
            match spec.when {
                FaultWhen::At(_) => {
                    if at.is_some_and(|t| now >= t) {
                        *at = None;
                        due.push(spec.kind.clone());
                    }
                }
                FaultWhen::Every(period) => {
                    if let Some(t) = at {
                        if now >= *t {
                            // Skip missed periods rather than firing a backlog.
                            while *t <= now {
                                *t += period;
                            }
                            due.push(spec.kind.clone());
                        }
                    }
                }
                FaultWhen::EveryEvents(n) => {
                    if market_events >= *next_events {
                        *next_events = market_events - market_events % n + n;
                        due.push(spec.kind.clone());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> FaultSpec {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_documented_examples() {
        let secs = Duration::from_secs;
        assert_eq!(p("drop@5s").kind, FaultKind::Drop);
        assert_eq!(p("drop@5s").when, FaultWhen::At(secs(5)));
        assert_eq!(p("stall:3s@10s").kind, FaultKind::Stall(secs(3)));
        assert_eq!(
            p("corrupt:BTC/USD@2s").kind,
            FaultKind::Corrupt(Some("BTC/USD".into()))
        );
        assert_eq!(p("corrupt@2s").kind, FaultKind::Corrupt(None));
        assert_eq!(p("malformed@every:1000").when, FaultWhen::EveryEvents(1000));
        assert_eq!(p("oversized:2MiB@4s").kind, FaultKind::Oversized(2 << 20));
        assert_eq!(p("oversized@4s").kind, FaultKind::Oversized(2 << 20));
        assert_eq!(
            p("tls-no-close-notify@6s").kind,
            FaultKind::TlsNoCloseNotify
        );
        assert_eq!(p("maintenance:7s@8s").kind, FaultKind::Maintenance(secs(7)));
        assert_eq!(p("refuse:5s@3s").kind, FaultKind::Refuse(secs(5)));
        assert_eq!(
            p("burst:10x:2s@4s").kind,
            FaultKind::Burst {
                factor: 10,
                duration: secs(2)
            }
        );
        assert_eq!(
            p("burst@every:1.5s"),
            FaultSpec {
                kind: FaultKind::Burst {
                    factor: 10,
                    duration: secs(1)
                },
                when: FaultWhen::Every(Duration::from_millis(1500))
            }
        );
        assert_eq!(
            p("drop@250ms").when,
            FaultWhen::At(Duration::from_millis(250))
        );
        assert_eq!(
            p("ack-delay:300ms@2s").kind,
            FaultKind::AckDelay {
                delay: Duration::from_millis(300),
                duration: DEFAULT_ACK_DELAY_WINDOW
            }
        );
        assert_eq!(
            p("ack-delay:1s:30s@2s").kind,
            FaultKind::AckDelay {
                delay: secs(1),
                duration: secs(30)
            }
        );
        assert_eq!(
            p("reject:3@1s").kind,
            FaultKind::Reject {
                count: 3,
                text: DEFAULT_REJECT_TEXT.into()
            }
        );
        assert_eq!(
            p("reject:2:EOrder:Insufficient funds@every:5s").kind,
            FaultKind::Reject {
                count: 2,
                text: "EOrder:Insufficient funds".into()
            }
        );
        assert_eq!(p("auth-drop@4s").kind, FaultKind::AuthDrop);
        assert_eq!(p("truncate@every:3s").kind, FaultKind::Truncate);
        for s in [
            "stall:3s@10s",
            "burst:4x:2s@every:3s",
            "malformed@every:7",
            "drop@250ms",
            "ack-delay:250ms:2s@1s",
            "reject:4:EOrder:Insufficient funds@3s",
            "auth-drop@every:2s",
        ] {
            assert_eq!(p(&p(s).to_string()), p(s), "{s}");
        }
    }

    #[test]
    fn errors_name_the_bad_spec() {
        for (s, needle) in [
            ("drop", "missing `@when`"),
            ("explode@1s", "unknown fault `explode`"),
            ("stall@1s", "needs a duration"),
            ("drop@5", "needs a unit"),
            ("drop:x@5s", "takes no argument"),
            ("oversized:lots@1s", "not a size"),
            ("oversized:1GiB@1s", "not a size"),
            ("malformed@every:0", "1 or more"),
            ("burst:0x@1s", "burst factor"),
            ("corrupt:BTCUSD@1s", "not a symbol"),
            ("ack-delay@1s", "needs a duration"),
            ("ack-delay:x@1s", "needs a unit"),
            ("reject:0@1s", "count of 1 or more"),
            ("reject@1s", "count of 1 or more"),
            ("auth-drop:1@1s", "takes no argument"),
        ] {
            let e = s.parse::<FaultSpec>().unwrap_err();
            assert_eq!(e.spec, s);
            let msg = e.to_string();
            assert!(msg.contains(&format!("`{s}`")), "{msg}");
            assert!(msg.contains(needle), "{s}: {msg}");
        }
    }

    #[test]
    fn schedule_fires_once_periodically_and_by_events() {
        let t0 = Instant::now();
        let specs = [
            p("drop@1s"),
            p("malformed@every:10"),
            p("stall:1s@every:2s"),
        ];
        let mut sched = FaultSchedule::new(&specs, t0);
        let mut due = Vec::new();
        sched.poll(t0, 0, &mut due);
        assert!(due.is_empty());
        sched.poll(t0 + Duration::from_millis(1500), 9, &mut due);
        assert_eq!(due, vec![FaultKind::Drop]);
        due.clear();
        sched.poll(t0 + Duration::from_millis(1600), 25, &mut due);
        assert_eq!(due, vec![FaultKind::Malformed]);
        due.clear();
        sched.poll(t0 + Duration::from_millis(1700), 29, &mut due);
        assert!(due.is_empty());
        sched.poll(t0 + Duration::from_secs(7), 30, &mut due);
        assert_eq!(
            due,
            vec![
                FaultKind::Malformed,
                FaultKind::Stall(Duration::from_secs(1))
            ]
        );
        due.clear();
        sched.poll(t0 + Duration::from_millis(7500), 31, &mut due);
        assert!(due.is_empty());
    }
}
