//! How a chat ended: the label every chat record, chat log, CSV and report uses.

use serde::Serialize;

/// How a chat ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// The issue was resolved.
    Resolved,
    /// The customer left while waiting.
    Abandoned,
    /// The customer gave up after unproductive replies.
    GaveUp,
    /// The worker closed the chat without resolving it (low effort).
    ClosedUnresolved,
}

impl Ending {
    /// Every ending, in the order of their labels in error messages.
    pub const ALL: [Ending; 4] =
        [Ending::Resolved, Ending::Abandoned, Ending::GaveUp, Ending::ClosedUnresolved];

    /// The ending a CSV or JSON label names, `None` for any other text.
    pub fn from_label(label: &str) -> Option<Ending> {
        Self::ALL.into_iter().find(|e| e.label() == label)
    }

    /// The label used in CSV and JSON.
    pub fn label(self) -> &'static str {
        match self {
            Ending::Resolved => "resolved",
            Ending::Abandoned => "abandoned",
            Ending::GaveUp => "gave_up",
            Ending::ClosedUnresolved => "closed_unresolved",
        }
    }
}
