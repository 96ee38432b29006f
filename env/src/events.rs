//! The event queue: a binary heap ordered by time, ties broken by insertion order.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// What happens at an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The next chat arrives.
    Arrival,
    /// A customer has written a message (`slot`, valid for chat generation `tag`).
    CustomerMessage,
    /// A worker has written a reply (`slot`, generation `tag`; the worker is the chat's handler).
    WorkerReply,
    /// The AI has written a reply (`slot`, valid while the chat's AI epoch is `tag`).
    AiReply,
    /// A waiting customer's patience runs out (`slot`, valid while the wait epoch is `tag`).
    Abandon,
    /// A new hour starts: staffing changes.
    Hour,
}

/// A scheduled event.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    /// When it happens, seconds.
    pub time: f64,
    /// Insertion order, for deterministic ties.
    pub seq: u64,
    /// What happens.
    pub kind: EventKind,
    /// The chat slot concerned.
    pub slot: u32,
    /// A generation or epoch that must still match when the event fires.
    pub tag: u32,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Event {
    /// Reversed, so that the max-heap pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.time.total_cmp(&self.time).then_with(|| other.seq.cmp(&self.seq))
    }
}

/// Future events, earliest first.
#[derive(Debug, Default)]
pub struct EventQueue {
    heap: BinaryHeap<Event>,
    next_seq: u64,
}

impl EventQueue {
    /// Empties the queue, keeping its memory.
    pub fn clear(&mut self) {
        self.heap.clear();
        self.next_seq = 0;
    }

    /// Schedules an event.
    #[inline]
    pub fn push(&mut self, time: f64, kind: EventKind, slot: u32, tag: u32) {
        self.heap.push(Event { time, seq: self.next_seq, kind, slot, tag });
        self.next_seq += 1;
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<Event> {
        self.heap.pop()
    }

    /// Events scheduled and not yet fired.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut q = EventQueue::default();
        q.push(5.0, EventKind::Hour, 0, 0);
        q.push(1.0, EventKind::Hour, 1, 0);
        q.push(5.0, EventKind::Hour, 2, 0);
        q.push(0.5, EventKind::Hour, 3, 0);
        let order: Vec<u32> = std::iter::from_fn(|| q.pop()).map(|e| e.slot).collect();
        assert_eq!(order, vec![3, 1, 0, 2]);
    }
}
