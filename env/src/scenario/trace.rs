//! A log's arrivals, replayed by a scenario in place of the Poisson process.

use std::path::Path;
use std::sync::Arc;

use super::DAY_S;
use crate::log::{LogError, read_log};

/// Whole days from the midnight before the first arrival to the midnight after the last (times
/// in seconds from a midnight): the days a log covers.
pub fn whole_days(first_arrival_s: f64, last_arrival_s: f64) -> u32 {
    let first = (first_arrival_s / DAY_S).floor();
    let last = (last_arrival_s / DAY_S).floor();
    (last - first + 1.0) as u32
}

/// A log's arrivals, replayed by a scenario (`arrivals.trace`) in place of the Poisson
/// process: times in seconds from the midnight of the log's first day, in order, with each
/// chat's AI-eligibility where the log marks it. Shared by every copy of the scenario.
#[derive(Clone, PartialEq)]
pub struct Trace {
    times: Arc<[f64]>,
    eligible: Option<Arc<[bool]>>,
    days: u32,
    digest: String,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Trace {{ arrivals: {}, days: {} }}", self.times.len(), self.days)
    }
}

impl Trace {
    /// Reads the arrivals of the log at `path` (the rows of `arm`, when given). Memory holds
    /// the arrival times, 9 bytes a chat.
    pub fn read(path: &Path, arm: Option<&str>) -> Result<Self, LogError> {
        let mut rows: Vec<(f64, Option<bool>)> = Vec::new();
        let (columns, _) = read_log(path, arm, |row| rows.push((row.arrival_s, row.ai_eligible)))?;
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (first, last) = (rows[0].0, rows[rows.len() - 1].0);
        let origin = (first / DAY_S).floor() * DAY_S;
        let times: Arc<[f64]> = rows.iter().map(|r| r.0 - origin).collect();
        let eligible: Option<Arc<[bool]>> =
            columns.has("ai_eligible").then(|| rows.iter().map(|r| r.1.unwrap_or(false)).collect());
        let mut bytes = Vec::with_capacity(times.len() * 9);
        for (i, t) in times.iter().enumerate() {
            bytes.extend_from_slice(&t.to_bits().to_le_bytes());
            bytes.push(eligible.as_ref().map_or(2, |e| u8::from(e[i])));
        }
        Ok(Self {
            times,
            eligible,
            days: whole_days(first, last),
            digest: crate::digest::digest(&bytes),
        })
    }

    /// A hash of the arrivals and their eligibility: the trace's part of the scenario's
    /// fingerprint, the same for the same arrivals wherever the file lies.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Arrivals in the trace.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether the trace has no arrivals (a read trace always has some).
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Whole days from the first arrival's midnight to the last arrival's day's end.
    pub fn days(&self) -> u32 {
        self.days
    }

    /// The `i`-th arrival, seconds from the midnight of the first day.
    pub fn time(&self, i: usize) -> f64 {
        self.times[i]
    }

    /// Whether the `i`-th chat was AI-eligible, when the log marks it.
    pub fn eligible(&self, i: usize) -> Option<bool> {
        self.eligible.as_ref().map(|e| e[i])
    }
}
