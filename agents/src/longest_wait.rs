//! `longest-wait-first`: first come, first served across a worker's chats, the default
//! discipline of queueing theory and of most chat consoles.
//!
//! Routes as deployed (AI-eligible chats to the AI, an escalation to its supervisor unless
//! another worker holds fewer chats); a worker always answers the customer who has waited longest and never steps into an AI chat of
//! their own accord. Against `study-treatment` it isolates the value of human-initiated takeovers.

use handoff_env::{DecisionKind, Observation, Policy};

use crate::pick::{longest_wait_or_wait, route_as_deployed, take_in_order};

/// The deployment without human-initiated takeovers.
#[derive(Debug, Clone, Default)]
pub struct LongestWaitFirst;

impl Policy for LongestWaitFirst {
    fn name(&self) -> &str {
        "longest-wait-first"
    }

    fn act(&mut self, obs: &Observation) -> usize {
        match obs.kind {
            DecisionKind::Route => route_as_deployed(obs),
            DecisionKind::Attend => longest_wait_or_wait(obs),
            DecisionKind::Assign => take_in_order(obs),
        }
    }
}
