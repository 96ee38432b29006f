//! The event queue: events in time order, ties broken by insertion order.

use dary_heap::QuaternaryHeap;
use std::cmp::Ordering;

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

/// An event as stored in the queue: 24 bytes, ordered by one 128-bit key.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The bits of a non-negative time, which order like the times themselves.
    time_bits: u64,
    /// Insertion order (for deterministic ties) shifted left by 8, with the kind in the low byte.
    seq_kind: u64,
    slot: u32,
    tag: u32,
}

impl Entry {
    /// The order of events: time, then insertion order.
    #[inline(always)]
    fn key(&self) -> u128 {
        (u128::from(self.time_bits) << 64) | u128::from(self.seq_kind)
    }
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
    /// Reversed, so that the max-heap pops the earliest event first and a sorted bucket ends
    /// with it.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

/// Width of a calendar bucket, seconds. Most events are due within a minute (replies, typing), so
/// a bucket of one second holds a handful of events even at the study's peak.
const BUCKET_S: f64 = 1.0;
/// Buckets in the calendar: events due within this many bucket widths (17 minutes) go straight
/// to their bucket; later ones (shift changes, far patience checks) wait in a small heap. A ring
/// of 4,096 buckets was 2-3 % slower on the whole study (its memory goes cold between laps), one
/// of 256 about 4 % slower (more events through the heap).
const BUCKETS: u64 = 1024;
/// Events per bucket width from which the calendar is used: below it most buckets are empty and
/// the ring's memory goes cold between visits (64 environments of `small`, 0.3 events a second
/// each, stepped 20 % slower with calendars than with heaps).
const CALENDAR_MIN_EVENTS_PER_BUCKET: f64 = 1.0;

/// Future events, earliest first, ties in insertion order.
///
/// Two structures keep that order: a 4-ary heap, and for busy runs a calendar queue (Brown,
/// 1988) of one-second buckets. [`EventQueue::for_rate`] chooses by the run's expected event
/// rate; both pop exactly the same sequence.
#[derive(Debug, Clone)]
pub struct EventQueue {
    backing: Backing,
    next_seq: u64,
}

/// The structure behind a queue. The heap is 4-ary (`dary_heap`, the standard library's binary
/// heap generalised to four children): its pop descends half as many levels, which on quiet
/// runs' few dozen pending events cost fewer mispredicted branches than the binary heap's
/// (`simulate --scenario small`, one core: 8 % faster) although it executes about as many
/// instructions.
#[derive(Debug, Clone)]
enum Backing {
    Heap(QuaternaryHeap<Entry>),
    Calendar(Box<Calendar>),
}

impl Default for EventQueue {
    /// A queue on a 4-ary heap.
    fn default() -> Self {
        Self { backing: Backing::Heap(QuaternaryHeap::new()), next_seq: 0 }
    }
}

impl EventQueue {
    /// A queue for a run expected to process `events_per_s` events per simulated second: a
    /// calendar when its buckets would mostly be occupied, else a 4-ary heap.
    pub fn for_rate(events_per_s: f64) -> Self {
        if events_per_s * BUCKET_S >= CALENDAR_MIN_EVENTS_PER_BUCKET {
            Self::calendar()
        } else {
            Self::default()
        }
    }

    /// A queue on a calendar, whatever the rate (for benchmarks and tests).
    pub fn calendar() -> Self {
        Self { backing: Backing::Calendar(Box::default()), next_seq: 0 }
    }

    /// Whether the queue is a calendar (for tests).
    pub fn is_calendar(&self) -> bool {
        matches!(self.backing, Backing::Calendar(_))
    }

    /// Empties the queue, keeping its memory.
    pub fn clear(&mut self) {
        match &mut self.backing {
            Backing::Heap(heap) => heap.clear(),
            Backing::Calendar(calendar) => calendar.clear(),
        }
        self.next_seq = 0;
    }

    /// Schedules an event at a non-negative, finite `time`, no earlier than the last event
    /// popped.
    #[inline(always)]
    pub fn push(&mut self, time: f64, kind: EventKind, slot: u32, tag: u32) {
        debug_assert!(time.is_finite() && time >= 0.0, "event time {time}");
        // +0.0 so that -0.0 orders as zero
        let time_bits = (time + 0.0).to_bits();
        let seq_kind = (self.next_seq << 8) | kind as u64;
        self.next_seq += 1;
        let entry = Entry { time_bits, seq_kind, slot, tag };
        match &mut self.backing {
            Backing::Heap(heap) => heap.push(entry),
            Backing::Calendar(calendar) => calendar.push(entry),
        }
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<Event> {
        let e = match &mut self.backing {
            Backing::Heap(heap) => heap.pop(),
            Backing::Calendar(calendar) => calendar.pop(),
        }?;
        Some(Event {
            time: f64::from_bits(e.time_bits),
            kind: EventKind::ALL[(e.seq_kind & 0xff) as usize],
            slot: e.slot,
            tag: e.tag,
        })
    }
}

/// A calendar queue of one-second buckets over the next 17 minutes, with a 4-ary heap for
/// later events. Pushing an event is appending it to its bucket; the bucket being drained is kept
/// sorted (descending, popped from its end), so an event is sorted among the few of its second
/// rather than sifted through a heap of every chat in flight.
#[derive(Debug, Clone)]
struct Calendar {
    /// The ring of buckets: absolute bucket `b` lives at `b % BUCKETS`.
    buckets: Vec<Vec<Entry>>,
    /// Which ring positions hold events, a bit each, so that sparse traffic skips empty
    /// seconds a word at a time.
    occupied: [u64; (BUCKETS / 64) as usize],
    /// The absolute bucket being drained; it is sorted, the others are not.
    current: u64,
    /// Events in the ring.
    in_calendar: usize,
    /// Events due at or after the ring's end.
    later: QuaternaryHeap<Entry>,
}

impl Default for Calendar {
    fn default() -> Self {
        Self {
            buckets: vec![Vec::new(); BUCKETS as usize],
            occupied: [0; (BUCKETS / 64) as usize],
            current: 0,
            in_calendar: 0,
            later: QuaternaryHeap::new(),
        }
    }
}

/// Sorts a bucket with its earliest event last: an insertion sort on the entries' keys, as a
/// bucket holds the few events of one second.
fn sort_earliest_last(events: &mut [Entry]) {
    for i in 1..events.len() {
        let entry = events[i];
        let k = entry.key();
        let mut j = i;
        while j > 0 && events[j - 1].key() < k {
            events[j] = events[j - 1];
            j -= 1;
        }
        events[j] = entry;
    }
}

/// The absolute bucket of a non-negative time: monotone in the time. The conversion goes
/// through `i64`, whose saturating cast is a few instructions shorter than `u64`'s on x86-64
/// and equal to it for every time the simulator schedules (non-negative, below 2^63 buckets).
#[inline]
fn bucket_of(time_bits: u64) -> u64 {
    (f64::from_bits(time_bits) * (1.0 / BUCKET_S)) as i64 as u64
}

impl Calendar {
    fn clear(&mut self) {
        if self.in_calendar > 0 {
            self.buckets.iter_mut().for_each(Vec::clear);
            self.occupied = [0; (BUCKETS / 64) as usize];
        }
        self.later.clear();
        self.current = 0;
        self.in_calendar = 0;
    }

    #[inline(always)]
    fn push(&mut self, entry: Entry) {
        let bucket = bucket_of(entry.time_bits);
        debug_assert!(bucket >= self.current, "event scheduled before the current bucket");
        if bucket >= self.current + BUCKETS {
            self.later.push(entry);
            return;
        }
        self.in_calendar += 1;
        let position = (bucket % BUCKETS) as usize;
        self.occupied[position / 64] |= 1 << (position % 64);
        let events = &mut self.buckets[position];
        if bucket == self.current {
            // the drained bucket stays sorted with its earliest event last
            let at = events.partition_point(|e| e < &entry);
            events.insert(at, entry);
        } else {
            events.push(entry);
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<Entry> {
        loop {
            let position = (self.current % BUCKETS) as usize;
            let events = &mut self.buckets[position];
            if let Some(e) = events.pop() {
                if events.is_empty() {
                    self.occupied[position / 64] &= !(1 << (position % 64));
                }
                self.in_calendar -= 1;
                return Some(e);
            }
            // every later event lies beyond the ring, so the next occupied bucket is the earliest
            self.current = if self.in_calendar > 0 {
                self.next_occupied()
            } else {
                bucket_of(self.later.peek()?.time_bits)
            };
            self.take_due_later();
            // Entry orders earliest greatest: ascending order puts the earliest event last
            sort_earliest_last(&mut self.buckets[(self.current % BUCKETS) as usize]);
        }
    }

    /// The first occupied bucket after the current one (the ring holds an event).
    fn next_occupied(&self) -> u64 {
        let start = ((self.current + 1) % BUCKETS) as usize;
        let words = self.occupied.len();
        // the start's own word from its bit on, the other words whole, then the start's word
        // below its bit
        let first = self.occupied[start / 64] & (!0u64 << (start % 64));
        let found = if first != 0 {
            (start / 64) * 64 + first.trailing_zeros() as usize
        } else {
            (1..=words)
                .map(|k| (start / 64 + k) % words)
                .find(|&w| self.occupied[w] != 0)
                .map(|w| w * 64 + self.occupied[w].trailing_zeros() as usize)
                .expect("the ring holds an event")
        };
        let ahead = (found + BUCKETS as usize - start) % BUCKETS as usize;
        self.current + 1 + ahead as u64
    }

    /// Moves the later events that now fall inside the ring into their buckets.
    fn take_due_later(&mut self) {
        let end = self.current + BUCKETS;
        while let Some(&entry) = self.later.peek() {
            let bucket = bucket_of(entry.time_bits);
            if bucket >= end {
                break;
            }
            self.later.pop();
            let position = (bucket % BUCKETS) as usize;
            self.occupied[position / 64] |= 1 << (position % 64);
            self.buckets[position].push(entry);
            self.in_calendar += 1;
        }
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

    /// Both backings pop exactly what the standard library's binary heap of the same events
    /// pops, with events pushed between pops at the current time, within the calendar's ring and
    /// far beyond it (and after gaps that empty the ring).
    #[test]
    fn pops_what_a_binary_heap_pops() {
        let calendar = EventQueue::calendar();
        assert!(calendar.is_calendar());
        pops_as_a_binary_heap(calendar);
        let heap = EventQueue::default();
        assert!(!heap.is_calendar());
        pops_as_a_binary_heap(heap);
    }

    fn pops_as_a_binary_heap(mut queue: EventQueue) {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        let mut heap = std::collections::BinaryHeap::new();
        let mut seq = 0u64;
        let mut now = 0.0f64;
        let mut popped = 0;
        for round in 0..200_000u32 {
            let pushes = if heap.is_empty() { 1 } else { rng.random_range(0..3) };
            for _ in 0..pushes {
                let delay = match rng.random_range(0..10) {
                    0 => 0.0,
                    1 => rng.random_range(0..3) as f64,
                    2 => rng.random_range(3_000.0..20_000.0),
                    _ => rng.random_range(0.0..90.0),
                };
                let kind = EventKind::ALL[rng.random_range(0..8)];
                queue.push(now + delay, kind, round, pushes);
                let time_bits = (now + delay).to_bits();
                heap.push(Entry {
                    time_bits,
                    seq_kind: (seq << 8) | kind as u64,
                    slot: round,
                    tag: pushes,
                });
                seq += 1;
            }
            if rng.random_range(0..2) == 0 {
                let (a, b) = (queue.pop().unwrap(), heap.pop().unwrap());
                assert_eq!(a.time.to_bits(), b.time_bits);
                assert_eq!((a.kind as u64, a.slot, a.tag), (b.seq_kind & 0xff, b.slot, b.tag));
                now = a.time;
                popped += 1;
            }
        }
        while let Some(b) = heap.pop() {
            let a = queue.pop().unwrap();
            assert_eq!((a.time.to_bits(), a.slot, a.tag), (b.time_bits, b.slot, b.tag));
            popped += 1;
        }
        assert!(queue.pop().is_none());
        assert!(popped > 200_000);
        queue.clear();
        queue.push(1.5, EventKind::Hour, 9, 0);
        assert_eq!(queue.pop().map(|e| e.slot), Some(9));
    }
}
