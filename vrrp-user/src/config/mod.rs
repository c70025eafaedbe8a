//! keepalived.conf compatibility: read an operator's existing file unchanged.
//!
//! [`syntax`] reads the language (comments, blocks, quotes, includes, definitions,
//! conditionals) into located nodes; [`interpret`] gives them meaning and validates them as
//! keepalived does; [`model`] is the result. [`summary`] is what `vrrpd -t` prints.

pub mod interpret;
pub mod model;
pub mod summary;
pub mod syntax;

use std::path::Path;

use thiserror::Error;

pub use model::Config;
pub use syntax::{Diagnostic, LexOptions};

/// Why a configuration cannot be used. Each message starts with `file:line:col:`.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{0}")]
    Syntax(Diagnostic),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Diagnostic>),
}

impl ConfigError {
    /// Every located problem.
    pub fn diagnostics(&self) -> Vec<&Diagnostic> {
        match self {
            ConfigError::Syntax(diagnostic) => vec![diagnostic],
            ConfigError::Invalid(diagnostics) => diagnostics.iter().collect(),
        }
    }
}

/// A configuration that was read and validated, with the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Diagnostic>,
}

/// Reads, interprets and validates a keepalived.conf.
pub fn load(path: &Path, options: &LexOptions) -> Result<Loaded, ConfigError> {
    let nodes = syntax::parse_file(path, options).map_err(ConfigError::Syntax)?;
    let interpreted = interpret::interpret(&nodes).map_err(ConfigError::Invalid)?;
    Ok(Loaded {
        config: interpreted.config,
        warnings: interpreted.warnings,
    })
}
