//! Reading scenario TOML: one-line parse errors, the `base =` line, merging a file or
//! overrides into a base.

use serde::Deserialize;

use super::Scenario;
use crate::error::ScenarioError;

/// A TOML parse error of `text` on one line: the line number, the line itself and the parser's
/// message (toml's own rendering spans several lines).
pub fn toml_error_line(text: &str, e: &toml::de::Error) -> String {
    let line = e.span().map(|span| text[..span.start].matches('\n').count() + 1);
    match line {
        Some(line) => format!(
            "line {line} (`{}`): {}",
            text.lines().nth(line - 1).unwrap_or("").trim(),
            e.message().trim_end()
        ),
        None => e.message().trim_end().to_string(),
    }
}

/// `text` with its top-level `base = ...` line blanked out (a comment of the same lines), so
/// that the rest parses as a scenario of its own with its line numbers unchanged.
pub(super) fn without_base_line(text: &str) -> String {
    let mut in_table = false;
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            in_table |= trimmed.starts_with('[');
            let is_base =
                trimmed.strip_prefix("base").is_some_and(|rest| rest.trim_start().starts_with('='));
            if !in_table && is_base { "#" } else { line }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The scenario a merged table holds (a base with a file's values, or with overrides), not yet
/// validated; `source` names it in a parse error.
pub(super) fn from_table(table: toml::Table, source: &str) -> Result<Scenario, ScenarioError> {
    Scenario::deserialize(toml::Value::Table(table)).map_err(|e| ScenarioError::Parse {
        source_name: source.to_string(),
        message: one_line(e.message().trim_end()),
    })
}

/// `message` on one line: the parser quotes the offending text, which may hold line breaks.
pub(super) fn one_line(message: &str) -> String {
    message.replace('\r', "\\r").replace('\n', "\\n")
}

/// Writes every value of `changes` into `base`, merging tables field by field.
pub(super) fn merge_tables(base: &mut toml::Table, changes: toml::Table) {
    for (key, value) in changes {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(change)) => {
                merge_tables(inner, change)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}
