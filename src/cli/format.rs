//! How the command line shows things: aligned tables, numbers and progress bars.

use indicatif::{ProgressBar, ProgressStyle};

/// Renders rows (the first is the header) with columns padded to their widest cell: the first
/// column left-aligned, the others right-aligned.
pub fn table(rows: &[Vec<String>]) -> String {
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
                if c == 0 {
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

/// `x` with `decimals` decimals, `n/a` when it is not finite.
pub fn fixed(x: f64, decimals: usize) -> String {
    if x.is_finite() { format!("{x:.decimals$}") } else { "n/a".into() }
}

/// `x` with `decimals` decimals, or none from 1,000 on (returns of long episodes), `n/a` when
/// it is not finite.
pub fn compact(x: f64, decimals: usize) -> String {
    if x.is_finite() && x.abs() >= 1000.0 { format!("{x:.0}") } else { fixed(x, decimals) }
}

/// A share as a percentage with one decimal and no sign, `n/a` when it is not finite.
pub fn percent_number(share: f64) -> String {
    fixed(100.0 * share, 1)
}

/// A share as a percentage with one decimal and its sign: `12.5 %`.
pub fn percent(share: f64) -> String {
    format!("{:.1} %", 100.0 * share)
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

/// A progress bar of training steps, with throughput and recent return in its message.
pub fn steps_bar(len: u64, prefix: String) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {human_pos}/{human_len} steps ({elapsed}, eta {eta}) {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(prefix);
    bar
}
