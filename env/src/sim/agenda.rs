//! The work that is due before the next event: decisions and joins the last events made due,
//! taken in one fixed order.

use std::collections::VecDeque;

/// A piece of due work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Due {
    /// A worker with a free slot while chats are queued: which queued chat to take.
    Assign(u32),
    /// A worker coming on duty this hour, who joins before the next one does.
    Join(u32),
    /// A chat (by slot) that arrived or was escalated: where to route it.
    Route(u32),
    /// A worker free to write: which chat to answer next.
    Attend(u32),
}

/// Due work in four first-in first-out queues, taken in the order of [`Due`]'s variants:
/// assignments first (a slot freed by the last event is filled before anything else sees the
/// worker's load), then joins, routes and attention. `len` counts them all, so the simulator's
/// loop asks one question per event when nothing is due (the common case).
#[derive(Debug, Clone, Default)]
pub(super) struct Agenda {
    assigns: VecDeque<u32>,
    joining: VecDeque<u32>,
    routes: VecDeque<u32>,
    ready: VecDeque<u32>,
    len: usize,
}

impl Agenda {
    /// The next piece of due work, if any.
    #[inline]
    pub(super) fn next(&mut self) -> Option<Due> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        let due = if let Some(worker) = self.assigns.pop_front() {
            Due::Assign(worker)
        } else if let Some(worker) = self.joining.pop_front() {
            Due::Join(worker)
        } else if let Some(slot) = self.routes.pop_front() {
            Due::Route(slot)
        } else {
            Due::Attend(self.ready.pop_front().expect("the count covers the four queues"))
        };
        Some(due)
    }

    /// An assign decision for `worker`; `first` puts it ahead of those already waiting.
    pub(super) fn assign(&mut self, worker: u32, first: bool) {
        if first {
            self.assigns.push_front(worker);
        } else {
            self.assigns.push_back(worker);
        }
        self.len += 1;
    }

    /// Workers coming on duty, in order.
    pub(super) fn join(&mut self, workers: impl IntoIterator<Item = u32>) {
        let before = self.joining.len();
        self.joining.extend(workers);
        self.len += self.joining.len() - before;
    }

    /// A route decision for the chat in `slot`.
    pub(super) fn route(&mut self, slot: u32) {
        self.routes.push_back(slot);
        self.len += 1;
    }

    /// An attend decision for `worker`.
    pub(super) fn attend(&mut self, worker: u32) {
        self.ready.push_back(worker);
        self.len += 1;
    }

    /// Nothing due.
    pub(super) fn clear(&mut self) {
        self.assigns.clear();
        self.joining.clear();
        self.routes.clear();
        self.ready.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_come_first_then_joins_routes_and_attention_each_in_order() {
        let mut agenda = Agenda::default();
        agenda.attend(7);
        agenda.route(3);
        agenda.join([10, 11]);
        agenda.assign(1, false);
        agenda.assign(2, true);
        agenda.route(4);
        let taken: Vec<Due> = std::iter::from_fn(|| agenda.next()).collect();
        use Due::*;
        assert_eq!(
            taken,
            [Assign(2), Assign(1), Join(10), Join(11), Route(3), Route(4), Attend(7)]
        );
        agenda.route(5);
        agenda.clear();
        assert_eq!(agenda.next(), None);
    }
}
