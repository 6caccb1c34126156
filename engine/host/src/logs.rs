//! [`LogDrain`]: the consumer end of every strategy's log ring, for the runtime's monitor thread.
//! It formats records (`LogRecord::display` with the symbol table) off the hot cores.
//!
//! Owns the log consumers and the symbol table. Invariants: draining never blocks a strategy
//! (the rings are SPSC; a strategy whose ring is full drops and counts records itself); records
//! of one strategy come out in the order they were logged. It allocates (formatting) and is
//! never used on the engine core or a strategy core.

use std::fmt::Write as _;
use std::io;

use kspin_api::{LogRecord, SymbolInfo};
use kspin_ring::Consumer;

/// Every strategy's log ring; see the module docs.
#[derive(Debug)]
pub struct LogDrain {
    symbols: Vec<SymbolInfo>,
    sources: Vec<(String, Consumer<LogRecord>)>,
    line: String,
}

impl LogDrain {
    pub(super) fn new(symbols: Vec<SymbolInfo>) -> LogDrain {
        LogDrain {
            symbols,
            sources: Vec::new(),
            line: String::with_capacity(256),
        }
    }

    pub(super) fn add(&mut self, strategy: &str, logs: Consumer<LogRecord>) {
        self.sources.push((strategy.to_owned(), logs));
    }

    /// Forgets the most recently added source (a tap's: it logs nothing).
    pub(super) fn remove_last(&mut self) {
        self.sources.pop();
    }

    /// Strategies drained.
    pub fn strategies(&self) -> usize {
        self.sources.len()
    }

    /// Takes up to `max_per_strategy` records from each ring and hands each to `out` as
    /// `(strategy name, record, formatted text)`. Returns how many were taken.
    pub fn drain(
        &mut self,
        max_per_strategy: usize,
        mut out: impl FnMut(&str, &LogRecord, &str),
    ) -> usize {
        let mut total = 0;
        let symbols = &self.symbols;
        let line = &mut self.line;
        for (name, ring) in &mut self.sources {
            total += ring.pop_batch(
                |record| {
                    line.clear();
                    // Writing into a String cannot fail.
                    let _ = write!(line, "{}", record.display(symbols));
                    out(name, &record, line);
                },
                max_per_strategy,
            );
        }
        total
    }

    /// Writes every waiting record as `strategy: text` lines. Returns how many were written.
    pub fn drain_to(&mut self, writer: &mut impl io::Write) -> io::Result<usize> {
        let mut result = Ok(());
        let mut total = 0;
        loop {
            let n = self.drain(1024, |name, _, text| {
                if result.is_ok() {
                    result = writeln!(writer, "{name}: {text}");
                }
            });
            total += n;
            if n == 0 {
                break;
            }
        }
        result.map(|()| total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kspin_api::{LogSchema, SymbolId};

    static SPREAD: LogSchema = LogSchema::new("spread", ["bps", "", "", ""]);

    #[test]
    fn formats_in_order_with_the_strategy_name() {
        let mut drain = LogDrain::new(vec![SymbolInfo::new(0, "BTC/USD", 1, 8, 10)]);
        let (mut a_tx, a_rx) = kspin_ring::spsc(8);
        let (mut b_tx, b_rx) = kspin_ring::spsc(8);
        drain.add("a", a_rx);
        drain.add("b", b_rx);
        for v in [15, 25] {
            a_tx.try_push(LogRecord::new(&SPREAD, Some(SymbolId(0))).value(v, 1))
                .unwrap();
        }
        b_tx.try_push(LogRecord::new(&SPREAD, None).value(3, 0))
            .unwrap();
        let mut out = Vec::new();
        assert_eq!(drain.drain_to(&mut out).unwrap(), 3);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a: spread BTC/USD bps=1.5\na: spread BTC/USD bps=2.5\nb: spread bps=3\n"
        );
        assert_eq!(drain.drain(10, |_, _, _| {}), 0);
    }
}
