//! Ctrl-C: a long command stops cleanly and says how to go on.
//!
//! `train` asks for a cooperative stop ([`cooperative`]): the first Ctrl-C lets the current
//! iteration finish and write a checkpoint, and the command then says how to resume. Every other
//! command (or `train` after its training part) prints the message set with [`on_interrupt`],
//! saying what was and was not written, and exits with code 130 as shells expect; a second
//! Ctrl-C always quits at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The exit code of a command ended by Ctrl-C (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

static MESSAGE: Mutex<String> = Mutex::new(String::new());
static COOPERATIVE: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);

/// Installs the handler (once, at start-up). A failure to install leaves Ctrl-C's default.
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        let flag = COOPERATIVE.lock().map(|c| c.clone()).unwrap_or(None);
        if let Some(flag) = flag
            && !flag.swap(true, Ordering::SeqCst)
        {
            eprintln!(
                "\nstopping after this iteration to write a checkpoint (Ctrl-C again to quit at once)"
            );
            return;
        }
        let message = MESSAGE.lock().map(|m| m.clone()).unwrap_or_default();
        if message.is_empty() {
            eprintln!("\ninterrupted");
        } else {
            eprintln!("\ninterrupted: {message}");
        }
        std::process::exit(i32::from(EXIT_INTERRUPTED));
    });
}

/// What to say when Ctrl-C ends the command from now on.
pub fn on_interrupt(message: impl Into<String>) {
    if let Ok(mut m) = MESSAGE.lock() {
        *m = message.into();
    }
}

/// A flag the first Ctrl-C sets instead of ending the process, until [`end_cooperative`].
pub fn cooperative() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    if let Ok(mut c) = COOPERATIVE.lock() {
        *c = Some(flag.clone());
    }
    flag
}

/// Ctrl-C ends the process again (with the [`on_interrupt`] message).
pub fn end_cooperative() {
    if let Ok(mut c) = COOPERATIVE.lock() {
        *c = None;
    }
}
