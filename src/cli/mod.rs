//! The subcommands of the `handoff` command line: each module has the subcommand's arguments
//! (`XArgs`, clap derive) and its `run`, which returns the text for standard output.

pub mod bench;
pub mod calibrate;
pub mod eval;
pub mod explain;
pub mod fit_logs;
pub mod format;
pub mod interrupt;
pub mod lookahead;
pub mod policies;
pub mod replay;
pub mod runs;
pub mod scenarios;
pub mod simulate;
pub mod train;
pub mod tune;

use std::path::{Path, PathBuf};

use handoff_agents::CentreRequest;
use handoff_env::Scenario;

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

impl From<handoff_training::TrainError> for CliError {
    /// Exit 2 when the user's input caused the error, else 1.
    fn from(e: handoff_training::TrainError) -> Self {
        if e.is_input() { CliError::input(e) } else { CliError::runtime(e) }
    }
}

/// The scenario a command runs on, its length and its size: the one definition of
/// `--scenario`, `--days` and `--scale` for the commands that take all three.
#[derive(Debug, Clone, clap::Args)]
pub struct CentreArgs {
    /// A built-in scenario (`handoff scenarios`) or the path of a scenario TOML file.
    #[arg(long, default_value = handoff_env::scenario::DEFAULT_SCENARIO)]
    pub scenario: String,
    /// Simulated days per episode, overriding the scenario's (1 to 3650).
    #[arg(long, allow_hyphen_values = true, value_parser = days())]
    pub days: Option<u32>,
    /// Scale workers and arrivals by this factor (same load per worker), for quicker runs.
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true, value_parser = scale)]
    pub scale: f64,
}

impl CentreArgs {
    /// The scenario with `--days` and `--scale` applied ([`load_centre`]).
    pub fn load(&self) -> Result<Scenario, CliError> {
        load_centre(&self.scenario, self.days, self.scale)
    }
}

/// `--threads`: the one definition of the flag for the commands that run episodes in parallel,
/// and the pool it asks for.
#[derive(Debug, Clone, clap::Args)]
pub struct ThreadsArg {
    /// Threads to run episodes on (default: every core). Results do not depend on it.
    #[arg(long, allow_hyphen_values = true, value_parser = threads_parser())]
    pub threads: Option<usize>,
}

/// `--threads`'s range, [`handoff_eval::THREADS`], as Python checks it too.
fn threads_parser() -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    let range = handoff_eval::THREADS;
    whole_number::<usize>(*range.start() as u64, *range.end() as u64)
}

impl ThreadsArg {
    /// A thread pool of `--threads` threads, or of every core.
    pub fn pool(&self) -> Result<rayon::ThreadPool, CliError> {
        let mut pool = rayon::ThreadPoolBuilder::new();
        if let Some(n) = self.threads {
            pool = pool.num_threads(n);
        }
        pool.build().map_err(CliError::runtime)
    }
}

/// The centre a command runs on: the scenario `name` over `days` (when given), scaled by
/// `scale`, validated once with its fallback checked ([`CentreRequest`]); what it cannot
/// deliver as asked (staffing the roster cannot cover, hours with chats and no one on duty
/// after scaling) is a warning on standard error.
pub fn load_centre(name: &str, days: Option<u32>, scale: f64) -> Result<Scenario, CliError> {
    let request = CentreRequest { days, scale, ..CentreRequest::new(name) };
    let centre = request.build("--days").map_err(CliError::input)?;
    for warning in &centre.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(centre.scenario)
}

/// [`load_centre`] at the scenario's own size.
pub fn load_scenario(name: &str, days: Option<u32>) -> Result<Scenario, CliError> {
    load_centre(name, days, 1.0)
}

/// What `handoff --version` prints after the name: the release, the model version and the
/// default scenario's fingerprint (`handoff scenarios` lists every scenario's).
pub fn version_text() -> &'static str {
    static TEXT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let default = Scenario::builtin(handoff_env::scenario::DEFAULT_SCENARIO)
            .expect("the default scenario is built in");
        format!(
            "{} (model version {}; {} fingerprint {})",
            env!("CARGO_PKG_VERSION"),
            handoff_env::MODEL_VERSION,
            default.name,
            default.fingerprint()
        )
    });
    &TEXT
}

/// Reads a seed: a whole number from 0 to 2^64 - 1 (negative numbers get this message too, not
/// clap's "unexpected argument").
pub fn parse_seed(text: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .map_err(|_| format!("\"{text}\" is not a seed (whole numbers from 0 to {})", u64::MAX))
}

/// The `--days` values a command accepts: 1 to 3650 (ten years), as scenarios allow.
pub const MAX_DAYS: u64 = 3650;

/// The value parser of a flag that takes a whole number from `min` to `max`: a negative, a
/// fraction or a value out of range is refused with the allowed range (clap's own parser says
/// "invalid digit", or takes `-5` for a flag). Declare the flag with `allow_hyphen_values` so
/// that `--seeds -5` reaches it.
pub fn whole_number<T: TryFrom<u64>>(
    min: u64,
    max: u64,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |text: &str| {
        let allowed = if max == u64::MAX {
            format!("allowed {min} or more")
        } else {
            format!("allowed {min} to {max}")
        };
        match text.trim().parse::<i128>() {
            Ok(n) if n >= i128::from(min) && n <= i128::from(max) => {
                T::try_from(n as u64).map_err(|_| format!("{text} is out of range ({allowed})"))
            }
            Ok(_) => Err(format!("{text} is out of range ({allowed})")),
            Err(_) => Err(format!("\"{text}\" is not a whole number ({allowed})")),
        }
    }
}

/// The value parser of `--scale` and `--fit-scale`: a factor on workers and arrivals that
/// [`handoff_env::scenario::check_scale`] accepts.
pub fn scale(text: &str) -> Result<f64, String> {
    let scale: f64 = text.trim().parse().map_err(|_| format!("\"{text}\" is not a number"))?;
    handoff_env::scenario::check_scale(scale)?;
    Ok(scale)
}

/// The value parser of `--days`: 1 to [`MAX_DAYS`].
pub fn days() -> impl Fn(&str) -> Result<u32, String> + Clone + Send + Sync + 'static {
    whole_number(1, MAX_DAYS)
}

/// Serialises a report as pretty JSON with a final newline.
pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("reports serialise") + "\n"
}

/// The temporary file beside `path` that an atomic write goes through.
fn temporary(path: &Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    PathBuf::from(tmp)
}

/// Writes `text` to `path` atomically (a temporary file, then a rename).
pub fn write_atomic(path: &Path, text: &str) -> Result<(), CliError> {
    write_all_atomic(&[(path, text.to_string())])
}

/// Writes every output, all or nothing: each goes to a temporary file beside its target, and
/// only once all of them are written are they renamed into place, so a failure replaces no
/// earlier file.
pub fn write_all_atomic(outputs: &[(&Path, String)]) -> Result<(), CliError> {
    let fail =
        |path: &Path, e: std::io::Error| CliError::runtime(format!("{}: {e}", path.display()));
    for (i, (path, text)) in outputs.iter().enumerate() {
        if let Err(e) = std::fs::write(temporary(path), text) {
            for (written, _) in &outputs[..=i] {
                let _ = std::fs::remove_file(temporary(written));
            }
            return Err(fail(path, e));
        }
    }
    for (path, _) in outputs {
        std::fs::rename(temporary(path), path).map_err(|e| fail(path, e))?;
    }
    Ok(())
}

/// Checks, before any work, that every output (the flag that names it, its path) can be
/// written (its temporary file can be created), so that a long run does not end on an
/// unwritable path; the error names the flag.
pub fn check_writable(outputs: &[(&str, &Path)]) -> Result<(), CliError> {
    for (flag, path) in outputs {
        let tmp = temporary(path);
        std::fs::write(&tmp, "")
            .and_then(|()| std::fs::remove_file(&tmp))
            .map_err(|e| CliError::runtime(format!("{flag} {}: {e}", path.display())))?;
    }
    Ok(())
}
