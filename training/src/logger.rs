//! TensorBoard scalars with CleanRL's tags, through tensorboard-rs.
//!
//! tensorboard-rs 0.5.9 leaves `add_text` and `add_hparams` unimplemented (they panic), so only
//! scalars are written; the resolved configuration is saved beside the event file instead.

use std::path::Path;

use tensorboard_rs::summary_writer::SummaryWriter;

/// Writes scalars to an event file in a run directory.
pub struct Logger {
    writer: SummaryWriter,
}

impl Logger {
    /// A logger writing `events.out.tfevents.*` into `dir` (which must exist).
    pub fn new(dir: &Path) -> Self {
        Self { writer: SummaryWriter::new(dir) }
    }

    /// Records `value` under `tag` at `step` (environment steps, as CleanRL).
    pub fn scalar(&mut self, tag: &str, value: f64, step: u64) {
        if value.is_finite() {
            self.writer.add_scalar(tag, value as f32, step as usize);
        }
    }

    /// Flushes the event file.
    pub fn flush(&mut self) {
        self.writer.flush();
    }
}
