//! A centre's chat log, in the schema of handoff's own chats CSV, read one row at a time
//! (every value checked, every error naming the file, the line and the column). A scenario
//! replays a log's arrivals as a [`crate::scenario::Trace`].

use std::collections::HashMap;
use std::path::Path;

use crate::ending::Ending;

/// Why a log could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LogError {
    /// The file could not be opened or read.
    #[error("{file}: {message}")]
    Io {
        /// The log's path.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// The file has no header or no rows.
    #[error("{file}: the log is empty (a header and at least one chat are needed)")]
    Empty {
        /// The log's path.
        file: String,
    },
    /// A required column is missing from the header.
    #[error(
        "{file}: missing column {column} (required: arrival_s or arrival, first_wait_s, duration_s, ending)"
    )]
    MissingColumn {
        /// The log's path.
        file: String,
        /// The column.
        column: String,
    },
    /// A row could not be read.
    #[error("{file}: line {line}: {message}")]
    Row {
        /// The log's path.
        file: String,
        /// The row's line in the file (the header is line 1).
        line: u64,
        /// What is wrong with it, naming the column.
        message: String,
    },
    /// The fitted values do not make a valid scenario on the base, or the base is unknown.
    #[error("{0}")]
    Scenario(String),
}

/// The columns a log must have; the arrival may be `arrival_s` or `arrival` (ISO 8601).
pub const REQUIRED: [&str; 4] = ["arrival_s", "first_wait_s", "duration_s", "ending"];

/// The optional columns the fit reads, by the chats CSV's names; any other column is ignored.
pub const OPTIONAL: [&str; 7] =
    ["ai_eligible", "escalation", "rating", "retrial", "worker", "worker_messages", "wait_s"];

/// One chat of a log, as the fit reads it (or one simulated chat, [`crate::ChatRecord::log_row`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogRow {
    /// Arrival, seconds from a midnight (the start of the run, or 1970-01-01 for ISO times).
    pub arrival_s: f64,
    /// From arrival to the first reply taken up, or to leaving before one, seconds.
    pub first_wait_s: f64,
    /// From arrival to the end, seconds.
    pub duration_s: f64,
    /// How the chat ended.
    pub ending: Ending,
    /// Whether the issue was AI-eligible, when the log says.
    pub ai_eligible: Option<bool>,
    /// Whether the AI handled the chat, when the log says (a non-empty `escalation`).
    pub ai_involved: Option<bool>,
    /// The star rating, when the customer rated.
    pub rating: Option<u8>,
    /// Whether the customer came back, when the log says.
    pub retrial: Option<bool>,
    /// The worker who answered, as a dense index of the log's worker names.
    pub worker: Option<u32>,
    /// Messages the workers wrote in the chat, when the log says.
    pub worker_messages: Option<u32>,
}

/// Which of the optional columns a log has.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Columns {
    /// Arrivals as ISO 8601 times (`arrival`) rather than seconds (`arrival_s`).
    pub iso_arrival: bool,
    /// The optional columns present, by name.
    pub optional: Vec<&'static str>,
}

impl Columns {
    /// Whether the log has the optional column `name`.
    pub fn has(&self, name: &str) -> bool {
        self.optional.contains(&name)
    }
}

/// Positions of the columns in the header.
struct Layout {
    arrival: usize,
    first_wait: usize,
    duration: usize,
    ending: usize,
    ai_eligible: Option<usize>,
    escalation: Option<usize>,
    rating: Option<usize>,
    retrial: Option<usize>,
    worker: Option<usize>,
    worker_messages: Option<usize>,
}

/// Reads the log at `path` row by row, calling `on_row` for each; returns the columns found
/// and the number of rows read. Memory holds one row and the worker names, not the log.
///
/// A log with an `arm` column (a `simulate --csv` file holds both of the study's arms) is read
/// for one arm: `arm` names it; without it, a log that holds more than one arm is refused.
pub fn read_log(
    path: &Path,
    arm: Option<&str>,
    mut on_row: impl FnMut(&LogRow),
) -> Result<(Columns, u64), LogError> {
    let file = path.display().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| LogError::Io { file: file.clone(), message: e.to_string() })?;
    let header = reader
        .headers()
        .map_err(|e| LogError::Io { file: file.clone(), message: e.to_string() })?
        .clone();
    if header.is_empty() || header.iter().all(str::is_empty) {
        return Err(LogError::Empty { file });
    }
    let find = |name: &str| header.iter().position(|h| h == name);
    let (arrival, iso_arrival) = match (find("arrival_s"), find("arrival")) {
        (Some(i), _) => (i, false),
        (None, Some(i)) => (i, true),
        (None, None) => {
            return Err(LogError::MissingColumn { file, column: "arrival_s (or arrival)".into() });
        }
    };
    let required = |name: &str| {
        find(name)
            .ok_or_else(|| LogError::MissingColumn { file: file.clone(), column: name.into() })
    };
    let layout = Layout {
        arrival,
        first_wait: required("first_wait_s")?,
        duration: required("duration_s")?,
        ending: required("ending")?,
        ai_eligible: find("ai_eligible"),
        escalation: find("escalation"),
        rating: find("rating"),
        retrial: find("retrial"),
        worker: find("worker"),
        worker_messages: find("worker_messages"),
    };
    let columns = Columns {
        iso_arrival,
        optional: OPTIONAL.into_iter().filter(|c| find(c).is_some()).collect(),
    };
    let arm_column = find("arm");
    if let (Some(wanted), None) = (arm, arm_column) {
        return Err(LogError::MissingColumn {
            file,
            column: format!("arm (--arm {wanted} selects rows by it)"),
        });
    }
    let mut first_arm: Option<String> = None;
    let mut workers: HashMap<String, u32> = HashMap::new();
    let mut record = csv::StringRecord::new();
    let (mut rows, mut line) = (0u64, 1u64);
    loop {
        // the header is line 1
        line += 1;
        let more = reader.read_record(&mut record).map_err(|e| LogError::Row {
            file: file.clone(),
            line,
            message: e.to_string(),
        })?;
        if !more {
            break;
        }
        if let Some(i) = arm_column {
            let this = record.get(i).unwrap_or("");
            match (arm, &first_arm) {
                (Some(wanted), _) if this != wanted => continue,
                (None, Some(first)) if this != first => {
                    return Err(LogError::Row {
                        file,
                        line,
                        message: format!(
                            "arm: \"{this}\" after \"{first}\": the log holds more than one arm; \
                             fit one with --arm"
                        ),
                    });
                }
                (None, None) => first_arm = Some(this.to_string()),
                _ => {}
            }
        }
        let row = parse_row(&record, &layout, iso_arrival, &mut workers)
            .map_err(|message| LogError::Row { file: file.clone(), line, message })?;
        on_row(&row);
        rows += 1;
    }
    if rows == 0 {
        return match arm {
            Some(wanted) => Err(LogError::Row {
                file,
                line,
                message: format!("arm: no row of arm \"{wanted}\""),
            }),
            None => Err(LogError::Empty { file }),
        };
    }
    Ok((columns, rows))
}

fn parse_row(
    record: &csv::StringRecord,
    layout: &Layout,
    iso_arrival: bool,
    workers: &mut HashMap<String, u32>,
) -> Result<LogRow, String> {
    let field = |i: usize| record.get(i).unwrap_or("");
    let arrival_s = if iso_arrival {
        iso_seconds(field(layout.arrival))?
    } else {
        number(field(layout.arrival), "arrival_s")?
    };
    let first_wait_s = non_negative(field(layout.first_wait), "first_wait_s")?;
    let duration_s = non_negative(field(layout.duration), "duration_s")?;
    // the CSV rounds both to milliseconds; a first wait longer than the chat is an error
    if first_wait_s > duration_s + 0.0015 {
        return Err(format!(
            "first_wait_s: {first_wait_s} is longer than the chat (duration_s {duration_s})"
        ));
    }
    let label = field(layout.ending);
    let ending = Ending::from_label(label).ok_or_else(|| {
        let allowed: Vec<&str> = Ending::ALL.iter().map(|e| e.label()).collect();
        format!("ending: \"{label}\" is not one of {}", allowed.join(", "))
    })?;
    let optional = |i: Option<usize>| i.map(field).filter(|s| !s.is_empty());
    let ai_eligible = optional(layout.ai_eligible).map(|s| flag(s, "ai_eligible")).transpose()?;
    let ai_involved = layout.escalation.map(|i| !field(i).is_empty());
    let rating = optional(layout.rating)
        .map(|s| match s.parse::<u8>() {
            Ok(r @ 1..=5) => Ok(r),
            _ => Err(format!("rating: \"{s}\" is not a whole number of stars from 1 to 5")),
        })
        .transpose()?;
    let retrial = optional(layout.retrial).map(|s| flag(s, "retrial")).transpose()?;
    let worker_messages = optional(layout.worker_messages)
        .map(|s| {
            s.parse::<u32>()
                .map_err(|_| format!("worker_messages: \"{s}\" is not a whole number of messages"))
        })
        .transpose()?;
    let worker = optional(layout.worker).map(|name| {
        let next = workers.len() as u32;
        *workers.entry(name.to_string()).or_insert(next)
    });
    Ok(LogRow {
        arrival_s,
        first_wait_s,
        duration_s,
        ending,
        ai_eligible,
        ai_involved,
        rating,
        retrial,
        worker,
        worker_messages,
    })
}

fn number(text: &str, column: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!("{column}: \"{text}\" is not a number")),
    }
}

fn non_negative(text: &str, column: &str) -> Result<f64, String> {
    let x = number(text, column)?;
    if x < 0.0 {
        return Err(format!("{column}: {text} is negative (a chat cannot end before it arrives)"));
    }
    Ok(x)
}

fn flag(text: &str, column: &str) -> Result<bool, String> {
    match text {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(format!("{column}: \"{text}\" is not 0, 1, true or false")),
    }
}

/// Seconds from 1970-01-01T00:00 of the clock as written (an offset or zone is ignored: the
/// hour of the day is the centre's own).
fn iso_seconds(text: &str) -> Result<f64, String> {
    let at: jiff::civil::DateTime = text
        .parse()
        .map_err(|e| format!("arrival: \"{text}\" is not an ISO 8601 date and time ({e})"))?;
    let epoch = jiff::civil::date(1970, 1, 1).at(0, 0, 0, 0);
    let span = at.duration_since(epoch).as_secs_f64();
    Ok(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_count_seconds_from_a_midnight_of_the_clock_as_written() {
        let a = iso_seconds("2024-08-01T09:30:00").unwrap();
        let b = iso_seconds("2024-08-01 09:30:00+08:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.rem_euclid(86_400.0), 9.5 * 3600.0);
        assert!(iso_seconds("yesterday").unwrap_err().contains("yesterday"));
    }
}
