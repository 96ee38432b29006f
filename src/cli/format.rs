//! How the command line shows things: aligned tables, numbers and progress bars.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub use handoff_eval::report::fixed;

/// Renders rows (the first is the header) with columns padded to their widest cell: the first
/// column left-aligned, the others right-aligned.
pub fn table(rows: &[Vec<String>]) -> String {
    table_with_text(rows, &[])
}

/// [`table`] with the columns `text` (indices) left-aligned too, for words rather than numbers.
pub fn table_with_text(rows: &[Vec<String>], text: &[usize]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, s)| {
                if c == 0 || text.contains(&c) {
                    format!("{s:<w$}", w = widths[c])
                } else {
                    format!("{s:>w$}", w = widths[c])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out
}

/// Escapes text for XML and HTML, in content and in quoted attributes.
pub fn escape_markup(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// `n` days, in words: "1 day", "17 days".
pub fn days(n: u32) -> String {
    if n == 1 { "1 day".to_string() } else { format!("{n} days") }
}

/// A parameter's value for reading: at most four decimals, trailing zeros dropped
/// (`1.7238`, `0.5`, `4`).
pub fn short(x: f64) -> String {
    let text = format!("{x:.4}");
    let text =
        if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
    if text == "-0" { "0".to_string() } else { text.to_string() }
}

/// A share as a percentage with one decimal and its sign: `12.5 %`.
pub fn percent(share: f64) -> String {
    format!("{:.1} %", 100.0 * share)
}

/// How often long work reports a line when standard error is not a terminal (a log, CI).
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Progress of long work on standard error: a bar on a terminal; elsewhere (a log, CI) a plain
/// line every ten seconds, so that a long job is never silent.
pub struct Progress {
    bar: Option<ProgressBar>,
    log: Option<LineLog>,
}

/// The plain-line progress of [`Progress`] away from a terminal.
struct LineLog {
    what: String,
    len: AtomicU64,
    pos: AtomicU64,
    message: Mutex<String>,
    started: Instant,
    last: Mutex<Instant>,
    printed: AtomicBool,
}

impl Progress {
    fn new(len: u64, what: &str, style: ProgressStyle, prefix: Option<String>) -> Self {
        if !std::io::stderr().is_terminal() {
            let now = Instant::now();
            let log = LineLog {
                what: what.to_string(),
                len: AtomicU64::new(len),
                pos: AtomicU64::new(0),
                message: Mutex::new(String::new()),
                started: now,
                last: Mutex::new(now),
                printed: AtomicBool::new(false),
            };
            return Self { bar: None, log: Some(log) };
        }
        let bar = ProgressBar::new(len);
        bar.set_style(style);
        match prefix {
            Some(p) => bar.set_prefix(p),
            None => bar.set_message(what.to_string()),
        }
        Self { bar: Some(bar), log: None }
    }

    /// Advances by `n`.
    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
        if let Some(log) = &self.log {
            log.pos.fetch_add(n, Ordering::Relaxed);
            log.maybe_print();
        }
    }

    /// Sets the position.
    pub fn set_position(&self, pos: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(pos);
        }
        if let Some(log) = &self.log {
            log.pos.store(pos, Ordering::Relaxed);
            log.maybe_print();
        }
    }

    /// Sets the total.
    pub fn set_length(&self, len: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(len);
        }
        if let Some(log) = &self.log {
            log.len.store(len, Ordering::Relaxed);
        }
    }

    /// Sets the message shown after the bar (or at the end of each line).
    pub fn set_message(&self, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.clone());
        }
        if let Some(log) = &self.log
            && let Ok(mut m) = log.message.lock()
        {
            *m = message;
        }
    }

    /// Ends the progress: the bar is cleared; a log that reported gets a last line.
    pub fn finish_and_clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if let Some(log) = &self.log
            && log.printed.load(Ordering::Relaxed)
        {
            log.print();
        }
    }
}

impl LineLog {
    fn maybe_print(&self) {
        let Ok(mut last) = self.last.try_lock() else { return };
        if last.elapsed() >= LOG_EVERY {
            *last = Instant::now();
            self.printed.store(true, Ordering::Relaxed);
            self.print();
        }
    }

    fn print(&self) {
        let (pos, len) = (self.pos.load(Ordering::Relaxed), self.len.load(Ordering::Relaxed));
        let message = self.message.lock().map(|m| m.clone()).unwrap_or_default();
        let share = if len > 0 { 100.0 * pos as f64 / len as f64 } else { 0.0 };
        let elapsed = self.started.elapsed().as_secs();
        let mut line = format!("{}: {pos}/{len} ({share:.0} %), {elapsed} s", self.what);
        if !message.is_empty() {
            line.push_str(&format!(", {message}"));
        }
        eprintln!("{line}");
    }
}

/// Progress of `len` units of work called `what`.
pub fn progress_bar(len: u64, what: &str) -> Progress {
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed}, eta {eta})")
        .expect("valid template")
        .progress_chars("=> ");
    Progress::new(len, what, style, None)
}

/// Progress of training in `unit`s (environment steps, training episodes), with throughput
/// in its message.
pub fn steps_bar(len: u64, prefix: String, unit: &str) -> Progress {
    let template = format!(
        "{{prefix}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit} ({{elapsed}}, eta {{eta}}) {{msg}}"
    );
    let style =
        ProgressStyle::with_template(&template).expect("valid template").progress_chars("=> ");
    let what = format!("{prefix} {unit}");
    Progress::new(len, &what, style, Some(prefix))
}

/// Draws a chart's legend as every plot of the command line does (a white, bordered box at
/// `position`).
pub fn draw_legend<'a, DB, CT>(
    chart: &mut plotters::chart::ChartContext<'a, DB, CT>,
    position: plotters::chart::SeriesLabelPosition,
) -> Result<(), super::CliError>
where
    DB: plotters::prelude::DrawingBackend + 'a,
    CT: plotters::coord::CoordTranslate,
{
    use plotters::style::{BLACK, Color, WHITE};
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| super::CliError::runtime(format!("plotting: {e}")))
}
