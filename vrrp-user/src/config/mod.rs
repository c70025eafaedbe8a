//! keepalived.conf compatibility: read an operator's existing file unchanged.
//!
//! [`syntax`] reads the language (comments, blocks, quotes, includes, definitions,
//! conditionals) into located nodes; [`interpret`] gives them meaning and validates them as
//! keepalived does; [`model`] is the result. [`summary`] is what `vrrpd -t` prints.

pub mod definitions;
pub mod interpret;
pub mod keywords;
pub mod model;
pub mod report;
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
    /// What keepalived reports as configuration errors and runs with its fallback applied.
    pub warnings: Vec<Diagnostic>,
    /// What keepalived only logs, and what vrrpd does not do that keepalived would (its
    /// other subsystems): reported, not counted as errors.
    pub notices: Vec<Diagnostic>,
}

/// Reads, interprets and validates a keepalived.conf.
pub fn load(path: &Path, options: &LexOptions) -> Result<Loaded, ConfigError> {
    let parsed = syntax::parse_file(path, options).map_err(ConfigError::Syntax)?;
    let interpreted = interpret::interpret(&parsed.nodes).map_err(ConfigError::Invalid)?;
    let mut warnings = parsed.warnings;
    warnings.extend(interpreted.warnings);
    let mut notices = parsed.notices;
    notices.extend(interpreted.notices);
    Ok(Loaded {
        config: interpreted.config,
        warnings,
        notices,
    })
}

/// `vrrpd -t --report`: the migration report for the file at `path`, and whether vrrpd runs it.
pub fn migration_report(path: &Path, options: &LexOptions) -> (String, bool) {
    let nodes = match syntax::parse_file(path, options) {
        Ok(parsed) => parsed.nodes,
        Err(error) => return (report::report(&[], &[&error], &[], &[]), false),
    };
    match load(path, options) {
        Ok(loaded) => {
            let warnings: Vec<&Diagnostic> = loaded.warnings.iter().collect();
            let notices: Vec<&Diagnostic> = loaded.notices.iter().collect();
            (report::report(&nodes, &[], &warnings, &notices), true)
        }
        Err(error) => (
            report::report(&nodes, &error.diagnostics(), &[], &[]),
            false,
        ),
    }
}
