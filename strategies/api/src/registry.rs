//! The strategy registry: registry names (the `name` of a `[[strategy]]` table in `kspin.toml`)
//! mapped to constructors from [`Params`].
//!
//! Owns [`Registry`], [`Registration`] and [`BuildError`]. A host builds each configured strategy
//! with [`Registry::build`]: it looks the name up, runs the constructor, then rejects any
//! parameter the constructor did not read, so an unknown name, a missing or malformed
//! parameter, or a typo in a key fails before anything runs, with a message naming the strategy
//! and the key. The built-ins (`kspin_strategies::builtins()`) and a user's own strategies
//! register the same way and are hosted the same way. Start-up only: it allocates.

use core::fmt;

use crate::{ParamError, Params, Strategy};

/// Builds a strategy from its parameters.
pub type Constructor = Box<dyn Fn(&Params) -> Result<Box<dyn Strategy>, ParamError> + Send + Sync>;

/// One registered strategy.
pub struct Registration {
    /// Registry name, used in `kspin.toml`.
    pub name: &'static str,
    /// One line for help texts and error messages.
    pub about: &'static str,
    build: Constructor,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("name", &self.name)
            .field("about", &self.about)
            .finish_non_exhaustive()
    }
}

/// Registered strategies, in registration order.
#[derive(Debug, Default)]
pub struct Registry {
    entries: Vec<Registration>,
}

/// Why a strategy could not be registered or built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    UnknownStrategy {
        name: String,
        registered: Vec<&'static str>,
    },
    Params {
        strategy: String,
        error: ParamError,
    },
    /// Two registrations under one name.
    Duplicate {
        name: &'static str,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::UnknownStrategy { name, registered } => {
                write!(f, "unknown strategy {name:?} (registered: ")?;
                for (i, n) in registered.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(n)?;
                }
                f.write_str(")")
            }
            BuildError::Params { strategy, error } => write!(f, "strategy {strategy:?}: {error}"),
            BuildError::Duplicate { name } => {
                write!(f, "strategy {name:?} is registered twice")
            }
        }
    }
}

impl std::error::Error for BuildError {}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers `constructor` under `name`. A name registered twice is refused.
    ///
    /// ```
    /// use kspin_api::{Context, Event, ParamError, Params, Registry, Strategy, StrategySummary};
    ///
    /// struct Quiet;
    /// impl Strategy for Quiet {
    ///     fn on_event(&mut self, _event: &Event, _ctx: &mut dyn Context) {}
    ///     fn summary(&self) -> StrategySummary {
    ///         StrategySummary::new()
    ///     }
    /// }
    /// fn quiet(_p: &Params) -> Result<Quiet, ParamError> {
    ///     Ok(Quiet)
    /// }
    ///
    /// let mut registry = Registry::new();
    /// registry.register("quiet", "does nothing", quiet).unwrap();
    /// assert!(registry.register("quiet", "again", quiet).is_err());
    /// assert_eq!(registry.names().collect::<Vec<_>>(), ["quiet"]);
    /// ```
    pub fn register<S, F>(
        &mut self,
        name: &'static str,
        about: &'static str,
        constructor: F,
    ) -> Result<&mut Registry, BuildError>
    where
        S: Strategy + 'static,
        F: Fn(&Params) -> Result<S, ParamError> + Send + Sync + 'static,
    {
        if self.lookup(name).is_some() {
            return Err(BuildError::Duplicate { name });
        }
        self.entries.push(Registration {
            name,
            about,
            build: Box::new(move |p| Ok(Box::new(constructor(p)?) as Box<dyn Strategy>)),
        });
        Ok(self)
    }

    /// Every registration of `other` added to this one (names must not clash).
    pub fn merge(&mut self, other: Registry) -> Result<&mut Registry, BuildError> {
        for entry in other.entries {
            if self.lookup(entry.name).is_some() {
                return Err(BuildError::Duplicate { name: entry.name });
            }
            self.entries.push(entry);
        }
        Ok(self)
    }

    /// The registration named `name`.
    pub fn lookup(&self, name: &str) -> Option<&Registration> {
        self.entries.iter().find(|r| r.name == name)
    }

    /// Registered names, in registration order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.iter().map(|r| r.name)
    }

    /// Every registration, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &Registration> + '_ {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Builds the strategy registered as `name` from `params`; see the module docs.
    pub fn build(&self, name: &str, params: &Params) -> Result<Box<dyn Strategy>, BuildError> {
        let reg = self
            .lookup(name)
            .ok_or_else(|| BuildError::UnknownStrategy {
                name: name.to_owned(),
                registered: self.names().collect(),
            })?;
        let wrap = |error| BuildError::Params {
            strategy: name.to_owned(),
            error,
        };
        let strategy = (reg.build)(params).map_err(wrap)?;
        params.finish().map_err(wrap)?;
        Ok(strategy)
    }
}
