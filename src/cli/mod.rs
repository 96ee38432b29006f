//! The subcommands of the `handoff` command line, one module each.

pub mod bench;
pub mod calibrate;
pub mod eval;
pub mod policies;
pub mod scenarios;
pub mod simulate;
pub mod table;
pub mod train;

use std::path::Path;

use handoff_env::Scenario;
use indicatif::{ProgressBar, ProgressStyle};

/// A failure to report as a one-line message with exit code 2 (bad input) or 1 (other).
#[derive(Debug)]
pub struct CliError {
    /// The message, without the `error: ` prefix.
    pub message: String,
    /// The process exit code.
    pub code: u8,
}

impl CliError {
    /// Bad input from the user: exit code 2.
    pub fn input(message: impl std::fmt::Display) -> Self {
        Self { message: message.to_string(), code: 2 }
    }

    /// A failure while running (for example an unwritable output file): exit code 1.
    pub fn runtime(message: impl std::fmt::Display) -> Self {
        Self { message: message.to_string(), code: 1 }
    }
}

/// Loads a scenario by built-in name or path, applying a `--days` override and revalidating.
pub fn load_scenario(name: &str, days: Option<u32>) -> Result<Scenario, CliError> {
    let mut scenario = Scenario::load(name).map_err(CliError::input)?;
    if let Some(d) = days {
        scenario.days = d;
        scenario.validate("--days").map_err(CliError::input)?;
    }
    Ok(scenario)
}

/// Writes `text` to `path` atomically (a temporary file, then a rename).
pub fn write_atomic(path: &Path, text: &str) -> Result<(), CliError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| CliError::runtime(format!("{}: {e}", path.display())))
}

/// A progress bar on standard error, hidden when it is not a terminal.
pub fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}
