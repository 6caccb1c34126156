//! The [`Strategy`] trait a user implements, and the [`StrategySummary`] it reports at the end
//! of a run.
//!
//! A strategy is built once at start-up from its [`crate::Params`] (see the registry in
//! `kspin-strategies`), moved to its pinned core, and then only called: `on_start`, `on_event`
//! for every event in ring order, `on_stop`, `summary`. It must not allocate, block or do I/O in
//! `on_event`: size every buffer in its constructor.

use crate::context::Context;
use crate::event::Event;
use crate::fixed::FixedDisplay;
use core::fmt;

/// A trading or analytics strategy. Only [`Strategy::on_event`] and [`Strategy::summary`] are
/// required.
pub trait Strategy: Send {
    /// Called once on the strategy's core before the first event (set timers here).
    fn on_start(&mut self, ctx: &mut dyn Context) {
        let _ = ctx;
    }

    /// Called for every event, in order. The books in `ctx` reflect exactly this event.
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context);

    /// Called once when the run ends (after the last event).
    fn on_stop(&mut self, ctx: &mut dyn Context) {
        let _ = ctx;
    }

    /// A few named figures for the run summary.
    fn summary(&self) -> StrategySummary;
}

/// Figures one summary holds.
pub const MAX_FIGURES: usize = 12;

/// One named figure: `value * 10^-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figure {
    pub name: &'static str,
    pub value: i64,
    pub scale: u8,
}

/// Up to [`MAX_FIGURES`] named integer figures. `Copy`, no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrategySummary {
    figures: [Figure; MAX_FIGURES],
    len: u8,
}

impl Default for StrategySummary {
    fn default() -> StrategySummary {
        StrategySummary::new()
    }
}

impl StrategySummary {
    pub const fn new() -> StrategySummary {
        StrategySummary {
            figures: [Figure {
                name: "",
                value: 0,
                scale: 0,
            }; MAX_FIGURES],
            len: 0,
        }
    }

    /// Adds a figure (dropped beyond [`MAX_FIGURES`]).
    pub const fn with(mut self, name: &'static str, value: i64, scale: u8) -> StrategySummary {
        let i = self.len as usize;
        if i < MAX_FIGURES {
            self.figures[i] = Figure { name, value, scale };
            self.len += 1;
        }
        self
    }

    /// A count (scale 0).
    pub const fn count(self, name: &'static str, value: u64) -> StrategySummary {
        let v = if value > i64::MAX as u64 {
            i64::MAX
        } else {
            value as i64
        };
        self.with(name, v, 0)
    }

    pub fn figures(&self) -> &[Figure] {
        &self.figures[..self.len as usize]
    }

    /// The figure named `name`.
    pub fn get(&self, name: &str) -> Option<Figure> {
        self.figures().iter().find(|f| f.name == name).copied()
    }
}

/// `name=value name=value ...`
impl fmt::Display for StrategySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, fig) in self.figures().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(
                f,
                "{}={}",
                fig.name,
                FixedDisplay {
                    mantissa: fig.value,
                    scale: fig.scale
                }
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_formats_and_caps() {
        let s = StrategySummary::new()
            .count("trades", 3)
            .with("vwap", 100_005, 2);
        assert_eq!(s.to_string(), "trades=3 vwap=1000.05");
        assert_eq!(s.get("vwap").map(|f| f.value), Some(100_005));
        let mut big = StrategySummary::new();
        for _ in 0..MAX_FIGURES + 3 {
            big = big.count("x", 1);
        }
        assert_eq!(big.figures().len(), MAX_FIGURES);
    }
}
