//! Range checks that name the file and the field.

use super::Window;
use crate::error::ScenarioError;

/// Range checks that name the file and the field.
pub(super) struct Validator<'a> {
    /// The file or source named in every error.
    pub(super) source: &'a str,
}

impl Validator<'_> {
    pub(super) fn fail(&self, field: &str, message: &str) -> Result<(), ScenarioError> {
        Err(ScenarioError::Invalid {
            source_name: self.source.to_string(),
            field: field.to_string(),
            message: message.to_string(),
        })
    }

    pub(super) fn range(
        &mut self,
        field: &str,
        value: f64,
        lo: f64,
        hi: f64,
    ) -> Result<(), ScenarioError> {
        if value.is_finite() && value >= lo && value <= hi {
            Ok(())
        } else {
            self.fail(field, &format!("{value} is out of range (allowed {lo} to {hi})"))
        }
    }

    pub(super) fn hourly(
        &mut self,
        field: &str,
        values: &[f64],
        hi: f64,
    ) -> Result<(), ScenarioError> {
        if values.len() != 24 {
            return self.fail(
                field,
                &format!("has {} values (allowed: exactly 24, one per hour)", values.len()),
            );
        }
        for (h, &x) in values.iter().enumerate() {
            self.range(&format!("{field}[{h}]"), x, 0.0, hi)?;
        }
        Ok(())
    }

    pub(super) fn windows(
        &mut self,
        field: &str,
        windows: &[Window],
        surge: bool,
    ) -> Result<(), ScenarioError> {
        for (k, win) in windows.iter().enumerate() {
            let f = format!("{field}[{k}]");
            self.range(&format!("{f}.start_hour"), win.start_hour, 0.0, 24.0)?;
            self.range(&format!("{f}.end_hour"), win.end_hour, win.start_hour, 24.0)?;
            if surge {
                self.range(&format!("{f}.multiplier"), win.multiplier, 0.0, 1000.0)?;
            } else if win.multiplier != 1.0 {
                return self.fail(&format!("{f}.multiplier"), "only surges take a multiplier");
            }
        }
        Ok(())
    }
}
