//! The per-chat CSV of `handoff simulate --chats-csv`, written atomically.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::outcome::ChatRecord;

/// The CSV header.
pub const HEADER: &str = "chat_id,arm,arrival_s,ai_eligible,escalation,ending,duration_s,\
first_wait_s,wait_s,\
intervention_delay_s,worker_messages,ai_replies,human_replies,effort,frustration,satisfaction,\
rating,retrial_prob,retrial,reward,concurrency,switch_aways,retrial_of,worker";

/// Writes one row per chat to a temporary file, renamed into place by [`ChatCsv::finish`]; a
/// writer dropped unfinished (a failed write) removes its temporary file, leaving any earlier
/// file at `path` as it was.
#[derive(Debug)]
pub struct ChatCsv {
    out: BufWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
}

impl ChatCsv {
    /// Starts the file at `path` (written to `path.tmp` until finished).
    pub fn create(path: &Path) -> io::Result<Self> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut out = BufWriter::new(File::create(&tmp)?);
        writeln!(out, "{HEADER}")?;
        Ok(Self { out, tmp, path: path.to_path_buf() })
    }

    /// Writes one chat of `arm`.
    pub fn write(&mut self, arm: &str, r: &ChatRecord) -> io::Result<()> {
        write_row(&mut self.out, arm, r)
    }

    /// Flushes and renames the file into place.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        std::fs::rename(&self.tmp, &self.path)
    }
}

/// Writes the row of one chat of `arm`, as the file has it (with its line end), to `out`.
pub fn write_row(out: &mut impl Write, arm: &str, r: &ChatRecord) -> io::Result<()> {
    let delay = r.intervention_delay_s.map(|d| format!("{d:.3}")).unwrap_or_default();
    let rating = r.rating.map(|s| s.to_string()).unwrap_or_default();
    let retrial_of = r.retrial_of.map(|id| id.to_string()).unwrap_or_default();
    let worker = r.worker.map(|w| w.to_string()).unwrap_or_default();
    writeln!(
        out,
        "{},{arm},{:.3},{},{},{},{:.3},{:.3},{:.3},{delay},{},{},{},{:.4},{:.4},{:.4},{rating},{:.4},{},{:.5},{:.4},{},{retrial_of},{worker}",
        r.chat_id,
        r.arrival_s,
        u8::from(r.ai_eligible),
        r.escalation_label(),
        r.ending.label(),
        r.duration_s,
        r.first_wait_s,
        r.wait_s,
        r.worker_messages,
        r.ai_replies,
        r.human_replies,
        r.effort,
        r.frustration,
        r.satisfaction,
        r.retrial_prob,
        u8::from(r.retrial),
        r.reward,
        r.concurrency,
        r.switch_aways,
    )
}

impl Drop for ChatCsv {
    fn drop(&mut self) {
        // after `finish` the temporary file is gone and this does nothing
        let _ = std::fs::remove_file(&self.tmp);
    }
}
