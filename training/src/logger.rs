//! TensorBoard scalars with CleanRL's tags, through tensorboard-rs, and the same scalars as a CSV
//! beside them (`scalars.csv`: `step,tag,value`) for a glance without TensorBoard.
//!
//! tensorboard-rs 0.5.9 leaves `add_text` and `add_hparams` unimplemented (they panic), so only
//! scalars are written; the resolved configuration is saved beside the event file instead.
//!
//! A resumed run continues from its last checkpoint, so the steps an interruption logged after
//! that checkpoint are logged again. TensorBoard's convention for this is a `SessionLog.START`
//! event: on reading one at step S it drops the earlier events at steps S and later, so the
//! curves do not zigzag. [`Logger::resume`] writes that event and drops the same rows from
//! `scalars.csv`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use tensorboard_proto::event::{Event, SessionLog, SessionLog_SessionStatus};
use tensorboard_rs::summary::scalar;
use tensorboard_rs::summary_writer::FileWriter;

use crate::error::TrainError;
use crate::run::{SCALARS_FILE, write_run_file};

/// Writes scalars to an event file and to `scalars.csv` in a run directory.
pub struct Logger {
    writer: FileWriter,
    csv: BufWriter<File>,
    csv_path: PathBuf,
    /// The first failure to write a CSV row, reported by [`Logger::flush`].
    csv_error: Option<std::io::Error>,
}

impl Logger {
    /// A logger writing `events.out.tfevents.*` and `scalars.csv` into `dir` (which must exist).
    pub fn new(dir: &Path) -> Result<Self, TrainError> {
        let csv_path = dir.join(SCALARS_FILE);
        let fresh = !csv_path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&csv_path)
            .map_err(|e| TrainError::write(&csv_path, e))?;
        let mut csv = BufWriter::new(file);
        if fresh {
            writeln!(csv, "step,tag,value").map_err(|e| TrainError::write(&csv_path, e))?;
        }
        Ok(Self { writer: FileWriter::new(dir), csv, csv_path, csv_error: None })
    }

    /// A logger for a run resumed from a checkpoint at `step`: what was logged after that step
    /// is superseded (a `SessionLog.START` for TensorBoard, the rows dropped from the CSV).
    pub fn resume(dir: &Path, step: u64) -> Result<Self, TrainError> {
        let csv_path = dir.join(SCALARS_FILE);
        if csv_path.exists() {
            let kept = rows_up_to(&csv_path, step).map_err(|e| TrainError::write(&csv_path, e))?;
            write_run_file(&csv_path, &kept)?;
        }
        let mut logger = Self::new(dir)?;
        let mut start = SessionLog::new();
        start.set_status(SessionLog_SessionStatus::START);
        let mut event = Event::new();
        event.set_session_log(start);
        logger.writer.add_event(&event, step as usize + 1);
        Ok(logger)
    }

    /// Records `value` under `tag` at `step` (environment steps, as CleanRL).
    pub fn scalar(&mut self, tag: &str, value: f64, step: u64) {
        if value.is_finite() {
            self.writer.add_summary(scalar(tag, value as f32), step as usize);
            if let Err(e) = writeln!(self.csv, "{step},{tag},{value}") {
                self.csv_error.get_or_insert(e);
            }
        }
    }

    /// Flushes the event file and the CSV.
    pub fn flush(&mut self) -> Result<(), TrainError> {
        self.writer.flush();
        match self.csv_error.take() {
            Some(e) => Err(TrainError::write(&self.csv_path, e)),
            None => self.csv.flush().map_err(|e| TrainError::write(&self.csv_path, e)),
        }
    }
}

/// The header and the rows of a `scalars.csv` logged at `step` or before.
fn rows_up_to(path: &Path, step: u64) -> std::io::Result<String> {
    let mut kept = String::new();
    for (i, line) in BufReader::new(File::open(path)?).lines().enumerate() {
        let line = line?;
        let row_step = line.split(',').next().and_then(|s| s.parse::<u64>().ok());
        if i == 0 || row_step.is_some_and(|s| s <= step) {
            kept.push_str(&line);
            kept.push('\n');
        }
    }
    Ok(kept)
}

/// Reads the rows of a run's `scalars.csv` with `tag`: (step, value), in the order logged.
pub fn read_scalars(dir: &Path, tag: &str) -> Vec<(u64, f64)> {
    let Ok(file) = File::open(dir.join(SCALARS_FILE)) else {
        return Vec::new();
    };
    BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| {
            let mut fields = line.splitn(3, ',');
            let step = fields.next()?.parse().ok()?;
            (fields.next()? == tag).then_some(())?;
            Some((step, fields.next()?.parse().ok()?))
        })
        .collect()
}
