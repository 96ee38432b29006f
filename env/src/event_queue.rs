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
    /// Check whether a waiting customer's patience has run out (`slot`, generation `tag`).
    Abandon,
    /// A new hour starts: staffing changes.
    Hour,
    /// A worker's hold ends (`slot` is the worker, valid while the hold's token is `tag`).
    HoldOver,
    /// A customer comes back with a retrial (`slot` indexes the simulator's pending returns).
    Return,
}

impl EventKind {
    /// Every kind, indexed by its discriminant.
    const ALL: [EventKind; 8] = [
        EventKind::Arrival,
        EventKind::CustomerMessage,
        EventKind::WorkerReply,
        EventKind::AiReply,
        EventKind::Abandon,
        EventKind::Hour,
        EventKind::HoldOver,
        EventKind::Return,
    ];
}

/// A scheduled event.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    /// When it happens, seconds.
    pub time: f64,
    /// What happens.
    pub kind: EventKind,
    /// The chat slot concerned.
    pub slot: u32,
    /// A generation or epoch that must still match when the event fires.
    pub tag: u32,
}

/// An event as stored in the heap: 24 bytes, ordered by one integer comparison per field.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The bits of a non-negative time, which order like the times themselves.
    time_bits: u64,
    /// Insertion order (for deterministic ties) shifted left by 8, with the kind in the low byte.
    seq_kind: u64,
    slot: u32,
    tag: u32,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed, so that the max-heap pops the earliest event first.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time_bits, other.seq_kind).cmp(&(self.time_bits, self.seq_kind))
    }
}

/// Future events, earliest first.
#[derive(Debug, Default, Clone)]
pub struct EventQueue {
    heap: BinaryHeap<Entry>,
    next_seq: u64,
}

impl EventQueue {
    /// Empties the queue, keeping its memory.
    pub fn clear(&mut self) {
        self.heap.clear();
        self.next_seq = 0;
    }

    /// Schedules an event at a non-negative, finite `time`.
    #[inline]
    pub fn push(&mut self, time: f64, kind: EventKind, slot: u32, tag: u32) {
        debug_assert!(time.is_finite() && time >= 0.0, "event time {time}");
        // +0.0 so that -0.0 orders as zero
        let time_bits = (time + 0.0).to_bits();
        let seq_kind = (self.next_seq << 8) | kind as u64;
        self.heap.push(Entry { time_bits, seq_kind, slot, tag });
        self.next_seq += 1;
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<Event> {
        self.heap.pop().map(|e| Event {
            time: f64::from_bits(e.time_bits),
            kind: EventKind::ALL[(e.seq_kind & 0xff) as usize],
            slot: e.slot,
            tag: e.tag,
        })
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
