//! The timer queue of one loop: a binary heap of deadlines over a slab of live
//! timers.
//!
//! Why this shape:
//! - A heap gives O(log n) insertion and removal of the earliest deadline
//!   with 24 bytes per entry, which keeps a million concurrent sleepers
//!   cheap (the `many_sleeps` benchmark). A hashed wheel (tokio) would be
//!   faster for huge counts of far-apart timers but is much more code.
//! - Cancellation must free the timer at once (a canceled `sleep` holds its
//!   resolver and therefore its promise). Removing an arbitrary heap entry is
//!   O(n), so a canceled timer is removed from the *slab* only (its resolver
//!   is dropped right away) and its heap entry becomes a tombstone that is
//!   skipped when it reaches the top. So that `with_timeout` in a tight loop
//!   (every call cancels a timer that would fire much later) cannot grow the
//!   heap without bound, the heap is rebuilt without tombstones whenever they
//!   outnumber the live timers; that costs O(n) every Θ(n) cancellations,
//!   i.e. O(1) amortized.
//! - Each timer gets a sequence number. The heap orders by (deadline,
//!   sequence), so timers with equal deadlines fire in the order they were
//!   set; the sequence number also tells a tombstone from a newer timer that
//!   reuses the same slab slot.
//! - Deadlines are nanoseconds since the loop's creation (`u64`, enough for
//!   five centuries), computed from `Instant::now()` when the timer is set,
//!   never from a cached loop time, so a timer can never fire before its
//!   full delay has elapsed since the call.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use slab::Slab;

use crate::Resolver;

#[derive(Clone, Copy, PartialEq, Eq)]
struct HeapEntry {
    deadline: u64,
    seq: u64,
    key: usize,
}

impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: `BinaryHeap` is a max-heap and we want the earliest first.
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}

impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

struct Live {
    seq: u64,
    resolver: Resolver<()>,
}

/// Identifies a set timer, for cancellation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerId {
    key: usize,
    seq: u64,
}

pub(crate) struct Timers {
    epoch: Instant,
    heap: BinaryHeap<HeapEntry>,
    live: Slab<Live>,
    next_seq: u64,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            epoch: Instant::now(),
            heap: BinaryHeap::new(),
            live: Slab::new(),
            next_seq: 0,
        }
    }

    /// Nanoseconds from the epoch to `t`.
    fn ns(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Sets a timer resolving `resolver` once `delay` has elapsed from now.
    pub(crate) fn add(&mut self, delay: Duration, resolver: Resolver<()>) -> TimerId {
        let now = self.ns(Instant::now());
        let d = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
        let deadline = now.saturating_add(d);
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = self.live.insert(Live { seq, resolver });
        self.heap.push(HeapEntry { deadline, seq, key });
        TimerId { key, seq }
    }

    /// Forgets a timer that has not fired; its resolver is dropped now.
    pub(crate) fn cancel(&mut self, id: TimerId) -> Option<Resolver<()>> {
        let matches = self.live.get(id.key).is_some_and(|l| l.seq == id.seq);
        if !matches {
            return None;
        }
        let removed = self.live.remove(id.key);
        if self.heap.len() > 64 && self.heap.len() > 2 * self.live.len() {
            let live = &self.live;
            self.heap.retain(|e| live.get(e.key).is_some_and(|l| l.seq == e.seq));
        }
        Some(removed.resolver)
    }

    /// The number of live (set, not fired, not canceled) timers.
    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Drops tombstones from the top of the heap so `peek` sees a live timer.
    fn skip_dead(&mut self) {
        while let Some(top) = self.heap.peek() {
            if self.live.get(top.key).is_some_and(|l| l.seq == top.seq) {
                return;
            }
            self.heap.pop();
        }
    }

    /// How long until the earliest live timer is due (zero if overdue).
    pub(crate) fn next_timeout(&mut self, now: Instant) -> Option<Duration> {
        self.skip_dead();
        let top = self.heap.peek()?;
        let now = self.ns(now);
        Some(Duration::from_nanos(top.deadline.saturating_sub(now)))
    }

    /// The sequence number the next timer will get: timers set from now on
    /// (by callbacks of the timers being fired) wait for the next iteration.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Moves the resolvers of every timer due at `now` and set before
    /// `seq_limit` into `out`, earliest deadline first, ties in setting order.
    pub(crate) fn expire(&mut self, now: Instant, seq_limit: u64, out: &mut Vec<Resolver<()>>) {
        let now = self.ns(now);
        while let Some(top) = self.heap.peek().copied() {
            if top.deadline > now {
                break;
            }
            let alive = self.live.get(top.key).is_some_and(|l| l.seq == top.seq);
            if alive && top.seq >= seq_limit {
                break;
            }
            self.heap.pop();
            if alive {
                out.push(self.live.remove(top.key).resolver);
            }
        }
    }

    /// Heap entries including tombstones (for the leak tests of this module).
    #[cfg(test)]
    fn heap_len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tombstones_are_compacted() {
        let mut t = Timers::new();
        let keep: Vec<_> = (0..10).map(|_| crate::wait::<()>().1).collect();
        for r in keep {
            t.add(Duration::from_secs(3600), r);
        }
        for _ in 0..100_000 {
            let (_, r) = crate::wait::<()>();
            let id = t.add(Duration::from_secs(3600), r);
            assert!(t.cancel(id).is_some());
        }
        assert_eq!(t.len(), 10);
        assert!(t.heap_len() <= 2 * 10 + 65, "heap kept {} entries", t.heap_len());
    }

    #[test]
    fn equal_deadlines_expire_in_setting_order() {
        let mut t = Timers::new();
        let mut ps = Vec::new();
        for _ in 0..5 {
            let (p, r) = crate::wait::<()>();
            t.add(Duration::ZERO, r);
            ps.push(p);
        }
        let mut out = Vec::new();
        let later = Instant::now() + Duration::from_secs(1);
        t.expire(later, u64::MAX, &mut out);
        assert_eq!(out.len(), 5);
        // Resolve in the order returned and check each promise in turn.
        for (i, r) in out.into_iter().enumerate() {
            r.wakeup(());
            assert!(ps[i].is_fulfilled());
            assert!(ps[i + 1..].iter().all(|p| p.is_pending()));
        }
    }
}
