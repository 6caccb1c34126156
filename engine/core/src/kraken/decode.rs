//! The decoder entry point: frame bytes in, a borrowed [`Message`] out.
//!
//! Owns [`Decoder`] and [`DecoderLimits`]. Invariants: all storage is allocated once in
//! [`Decoder::new`]; [`Decoder::decode`] never allocates for a valid frame, never panics on any
//! input, and returns a typed [`DecodeError`] for oversized, non-UTF-8, malformed, wrongly typed
//! or unknown frames. The returned message borrows the frame and the decoder until the next
//! call. Book and trade frames in the plain shape go through the hand scanner of `scan.rs`;
//! everything else (and anything the scanner declines) through sonic-rs driving the serde
//! visitors of `visit.rs`. Both give identical results. The scanner never recurses; before
//! sonic-rs runs, `nesting.rs` refuses frames nested deeper than
//! [`DecoderLimits::max_nesting`], so no frame can exhaust the stack.

use serde::de::DeserializeSeed;

use super::arena::{Arena, Texts, MAX_SPAN_OFFSET};
use super::error::DecodeError;
use super::message::{AckMsg, Message, PongMsg, RequestMsg, StatusMsg, SystemStatus, UpdateKind};
use super::nesting::{check_nesting, MAX_NESTING_LIMIT};
use super::private::{BalancesMsg, ExecutionsMsg, OrderMethod, OrderResponseMsg};
use super::scan::{self, Scanned};
use super::views::{BookMsg, InstrumentMsg, OhlcMsg, TickerMsg, TradeMsg};
use super::visit::{
    self, AckResult, Channel, Ctx, DataState, Envelope, EnvelopeSeed, StatusSlot, TOP,
};
use super::visit_private::{parse_order_result, OrderResult};

/// Sizes of the decoder's arena, fixed at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderLimits {
    /// Largest accepted frame in bytes (capped below 2 GiB).
    pub max_frame_len: usize,
    /// Book levels per frame, bids and asks of every symbol together.
    pub max_levels: usize,
    /// Symbols per `book` frame.
    pub max_books: usize,
    /// Trades per `trade` frame (a snapshot carries 50 per symbol).
    pub max_trades: usize,
    /// Symbols per `ticker` frame.
    pub max_tickers: usize,
    /// Candles per `ohlc` frame.
    pub max_candles: usize,
    /// Pairs per `instrument` frame (Kraken lists about 1,100 spot pairs in 2026).
    pub max_pairs: usize,
    /// Execution reports per `executions` frame (a snapshot lists every open order, up to 225
    /// per pair at the Pro tier, plus the last 50 fills: PROTOCOL.md §1.10, §4).
    pub max_executions: usize,
    /// Entries per `balances` frame.
    pub max_balances: usize,
    /// Orders per `batch_add` result (Kraken accepts 2..=15 per batch).
    pub max_order_refs: usize,
    /// Bytes of unescaped string text per frame (Kraken sends no escapes in practice).
    pub max_scratch: usize,
    /// Arrays and objects open at once (capped at [`MAX_NESTING_LIMIT`]); a deeper frame is
    /// [`DecodeError::TooDeep`] before any recursive parser sees it.
    pub max_nesting: usize,
}

impl DecoderLimits {
    /// The default [`DecoderLimits::max_levels`]: both sides of a depth-1000 snapshot (the
    /// largest `book` depth Kraken offers, PROTOCOL.md §1.4) plus margin.
    pub const DEFAULT_MAX_LEVELS: usize = 2 * 1000 + 256;
}

impl Default for DecoderLimits {
    /// Room for a depth-1000 snapshot of both sides plus margin (the largest `book` depth
    /// Kraken offers is 1000, PROTOCOL.md §1.4), a 50-trade snapshot for a few dozen symbols,
    /// and the full instrument list.
    fn default() -> Self {
        DecoderLimits {
            max_frame_len: 1 << 20,
            max_levels: Self::DEFAULT_MAX_LEVELS,
            max_books: 64,
            max_trades: 4096,
            max_tickers: 1024,
            max_candles: 4096,
            max_pairs: 2048,
            max_executions: 4096,
            max_balances: 1024,
            max_order_refs: 32,
            max_scratch: 4096,
            // Kraken nests at most 5 deep (see MAX_NESTING_LIMIT); room for new fields.
            max_nesting: 32,
        }
    }
}

/// The Kraken v2 decoder: one per connection, reused for every frame.
#[derive(Debug)]
pub struct Decoder {
    arena: Arena,
    /// Try the hand scanner (`scan.rs`) before sonic-rs for book and trade frames.
    fast_path: bool,
}

impl Decoder {
    /// Allocates the arena; the only allocation the decoder ever makes.
    pub fn new(limits: DecoderLimits) -> Decoder {
        let limits = DecoderLimits {
            max_frame_len: limits.max_frame_len.min(MAX_SPAN_OFFSET),
            max_levels: limits.max_levels.min(u32::MAX as usize),
            max_scratch: limits.max_scratch.min(MAX_SPAN_OFFSET),
            max_nesting: limits.max_nesting.min(MAX_NESTING_LIMIT),
            ..limits
        };
        Decoder {
            arena: Arena::new(limits),
            fast_path: true,
        }
    }

    /// A decoder that always uses the general sonic-rs path, never the book/trade scanner: the
    /// reference for differential tests and benchmarks. Results are identical, only slower.
    pub fn sonic_only(limits: DecoderLimits) -> Decoder {
        Decoder {
            fast_path: false,
            ..Decoder::new(limits)
        }
    }

    /// The limits in force (after capping).
    pub fn limits(&self) -> DecoderLimits {
        self.arena.limits
    }

    /// Decodes one text frame. The message borrows `frame` and the decoder until the next call.
    ///
    /// Inlined into the caller, so a frame the scanner accepts builds its message in the
    /// caller's frame rather than being returned through a 168-byte copy; every other frame goes
    /// to the general decoder, which is not inlined.
    #[inline]
    pub fn decode<'a>(&'a mut self, frame: &'a [u8]) -> Result<Message<'a>, DecodeError> {
        let max = self.arena.limits.max_frame_len;
        if frame.len() > max {
            return Err(DecodeError::Oversized {
                len: frame.len(),
                max,
            });
        }
        if self.fast_path {
            self.arena.clear_for_scan();
            // An accepted frame comes back as text without a second UTF-8 pass (~150
            // instructions per 210-byte book update, bench/results/engine_path.md): the scanner's
            // cursor proves it ASCII (`cursor.rs`, `Cur::into_text`).
            if let Some((scanned, text)) = scan::scan(&mut self.arena, frame) {
                let arena = &self.arena;
                let texts = Texts {
                    frame: text,
                    scratch: &arena.scratch,
                };
                return Ok(match scanned {
                    Scanned::Book(kind) => Message::Book(BookMsg {
                        kind,
                        texts,
                        books: &arena.books,
                        levels: &arena.levels,
                    }),
                    Scanned::Trade(kind) => Message::Trade(TradeMsg {
                        kind,
                        texts,
                        trades: &arena.trades,
                    }),
                });
            }
        }
        self.decode_general(frame)
    }

    /// The general decoder (sonic-rs and the serde visitors of `visit.rs`), for every frame the
    /// scanner did not accept (whatever it wrote to the arena is discarded first); `frame` is
    /// within the size limit.
    #[inline(never)]
    fn decode_general<'a>(&'a mut self, frame: &'a [u8]) -> Result<Message<'a>, DecodeError> {
        self.arena.clear();
        // sonic-rs skips unread values by recursion: bound the depth before it runs.
        check_nesting(frame, self.arena.limits.max_nesting)?;
        let text = core::str::from_utf8(frame).map_err(|_| DecodeError::Malformed)?;
        let parsed = {
            let mut ctx = Ctx::new(&mut self.arena, text);
            let env = parse_envelope(&mut ctx, text)?;
            let (ack, order) = finish_data(&mut ctx, &env)?;
            Parsed {
                env,
                ack,
                order,
                status: ctx.status,
                assets: ctx.assets,
            }
        };
        self.message(text, &parsed)
    }

    /// Builds the message view once parsing is over (the arena is only read from here on).
    fn message<'a>(
        &'a self,
        frame: &'a str,
        parsed: &Parsed<'a>,
    ) -> Result<Message<'a>, DecodeError> {
        let arena = &self.arena;
        let env = &parsed.env;
        let texts = Texts {
            frame,
            scratch: &arena.scratch,
        };
        if let Some(method) = env.method {
            return method_message(texts, arena, parsed, texts.get(method));
        }
        let channel = env.channel.ok_or(DecodeError::MissingField("channel"))?;
        let kind = || -> Result<UpdateKind, DecodeError> {
            match texts.opt(env.kind) {
                Some("snapshot") => Ok(UpdateKind::Snapshot),
                Some("update") => Ok(UpdateKind::Update),
                Some(_) => Err(DecodeError::WrongType("type")),
                None => Err(DecodeError::MissingField("type")),
            }
        };
        let need_data = || match env.data {
            DataState::Absent => Err(DecodeError::MissingField("data")),
            _ => Ok(()),
        };
        Ok(match channel {
            Channel::Heartbeat => Message::Heartbeat,
            Channel::Unknown => return Err(DecodeError::UnknownChannel),
            Channel::Book => {
                need_data()?;
                Message::Book(BookMsg {
                    kind: kind()?,
                    texts,
                    books: &arena.books,
                    levels: &arena.levels,
                })
            }
            Channel::Trade => {
                need_data()?;
                Message::Trade(TradeMsg {
                    kind: kind()?,
                    texts,
                    trades: &arena.trades,
                })
            }
            Channel::Ticker => {
                need_data()?;
                Message::Ticker(TickerMsg {
                    kind: kind()?,
                    texts,
                    tickers: &arena.tickers,
                })
            }
            Channel::Ohlc => {
                need_data()?;
                Message::Ohlc(OhlcMsg {
                    kind: kind()?,
                    timestamp: texts.opt(env.timestamp),
                    texts,
                    candles: &arena.candles,
                })
            }
            Channel::Instrument => {
                need_data()?;
                Message::Instrument(InstrumentMsg {
                    kind: kind()?,
                    assets: parsed.assets,
                    texts,
                    pairs: &arena.pairs,
                })
            }
            Channel::Executions => {
                need_data()?;
                Message::Executions(ExecutionsMsg {
                    kind: kind()?,
                    sequence: env.sequence,
                    texts,
                    reports: &arena.executions,
                })
            }
            Channel::Balances => {
                need_data()?;
                Message::Balances(BalancesMsg {
                    kind: kind()?,
                    texts,
                    balances: &arena.balances,
                })
            }
            Channel::Status => {
                let s = parsed.status.ok_or(DecodeError::MissingField("data"))?;
                Message::Status(StatusMsg {
                    system: SystemStatus::from_text(texts.get(s.system)),
                    api_version: texts.opt(s.api_version).unwrap_or(""),
                    connection_id: s.connection_id,
                    version: texts.opt(s.version).unwrap_or(""),
                })
            }
        })
    }
}

/// Runs sonic-rs over the whole frame.
fn parse_envelope<'de>(
    ctx: &mut Ctx<'_, 'de>,
    text: &'de str,
) -> Result<Envelope<'de>, DecodeError> {
    let mut de = sonic_rs::Deserializer::from_str(text);
    let env = EnvelopeSeed { ctx: &mut *ctx }
        .deserialize(&mut de)
        .map_err(|e| classify(ctx, &e))?;
    de.end().map_err(|_| DecodeError::Malformed)?;
    Ok(env)
}

/// What the parse phase produced, before the message view is built.
struct Parsed<'a> {
    env: Envelope<'a>,
    ack: Option<AckResult>,
    order: Option<OrderResult>,
    status: Option<StatusSlot>,
    assets: usize,
}

/// Parses what the envelope pass could not: `data` seen before `channel`, and the `result` of a
/// subscribe/unsubscribe ack or of an order-entry response (other methods' results are not
/// read).
fn finish_data<'de>(
    ctx: &mut Ctx<'_, 'de>,
    env: &Envelope<'de>,
) -> Result<(Option<AckResult>, Option<OrderResult>), DecodeError> {
    if let Some(m) = env.method {
        let name = ctx.text_of(m);
        let ack = name == "subscribe" || name == "unsubscribe";
        let order = OrderMethod::from_text(name).is_some();
        return match env.result {
            Some(raw) if ack => visit::parse_ack_result(ctx, raw)
                .map(|r| (Some(r), None))
                .map_err(|e| classify(ctx, &e)),
            Some(raw) if order => parse_order_result(ctx, raw)
                .map(|r| (None, Some(r)))
                .map_err(|e| classify(ctx, &e)),
            _ => Ok((None, None)),
        };
    }
    if let (DataState::Raw(raw), Some(channel)) = (env.data, env.channel) {
        if !matches!(channel, Channel::Heartbeat | Channel::Unknown) {
            visit::parse_raw_data(ctx, raw, channel).map_err(|e| classify(ctx, &e))?;
        }
    }
    Ok((None, None))
}

/// Turns a sonic-rs error into the precise error a visitor recorded, or a generic one.
#[cold]
fn classify(ctx: &Ctx<'_, '_>, e: &sonic_rs::Error) -> DecodeError {
    if let Some(err) = ctx.err {
        return err;
    }
    match e.classify() {
        sonic_rs::error::Category::TypeUnmatched if ctx.field == TOP => DecodeError::NotAnObject,
        sonic_rs::error::Category::TypeUnmatched => DecodeError::WrongType(ctx.field),
        _ => DecodeError::Malformed,
    }
}

/// Responses and requests: everything with a top-level `method`.
fn method_message<'a>(
    texts: Texts<'a>,
    arena: &'a Arena,
    parsed: &Parsed<'a>,
    method: &'a str,
) -> Result<Message<'a>, DecodeError> {
    let env = &parsed.env;
    let is_response = env.success.is_some()
        || env.result.is_some()
        || env.error.is_some()
        || env.time_in.is_some();
    let error = texts.opt(env.error);
    match method {
        "pong" => Ok(Message::Pong(PongMsg {
            req_id: env.req_id,
            success: env.success.unwrap_or(error.is_none()),
            error,
            time_in: texts.opt(env.time_in),
            time_out: texts.opt(env.time_out),
        })),
        "subscribe" | "unsubscribe" if is_response => {
            let mut ack = AckMsg {
                success: env.success.ok_or(DecodeError::MissingField("success"))?,
                req_id: env.req_id,
                error,
                time_in: texts.opt(env.time_in),
                time_out: texts.opt(env.time_out),
                ..AckMsg::default()
            };
            if let Some(r) = parsed.ack {
                ack.channel = texts.opt(r.channel);
                ack.symbol = texts.opt(r.symbol);
                ack.depth = r.depth;
                ack.snapshot = r.snapshot;
                ack.warnings_present = r.warnings_present;
            }
            Ok(if method == "subscribe" {
                Message::Subscribed(ack)
            } else {
                Message::Unsubscribed(ack)
            })
        }
        _ if !is_response => Ok(Message::Request(RequestMsg {
            method,
            req_id: env.req_id,
        })),
        _ => {
            let order_method = OrderMethod::from_text(method).ok_or(DecodeError::UnknownMethod)?;
            let result = parsed.order.unwrap_or_default();
            Ok(Message::OrderResponse(OrderResponseMsg {
                method: order_method,
                req_id: env.req_id,
                success: env.success.unwrap_or(error.is_none()),
                error,
                amend_id: texts.opt(result.amend_id),
                count: result.count,
                trigger_time: texts.opt(result.trigger_time),
                time_in: texts.opt(env.time_in),
                time_out: texts.opt(env.time_out),
                texts,
                orders: &arena.order_refs,
            }))
        }
    }
}
