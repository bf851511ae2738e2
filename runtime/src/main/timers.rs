//! The timer queue of one loop: timers sorted into one-millisecond buckets,
//! over a slab of live timers.
//!
//! Why this shape:
//! - A timer with deadline `d` goes into the bucket of `d` rounded *up* to
//!   the millisecond, and a bucket fires once the clock has passed its end.
//!   So a timer is never early, and at most 1 ms late — the resolution
//!   `epoll_wait` has anyway. The buckets sit in a `BTreeMap` keyed by that
//!   millisecond: with a million concurrent sleepers there are only as many
//!   buckets as distinct milliseconds, so setting a timer is a short tree
//!   walk plus a `Vec` push, and firing one is a sequential scan. (A binary
//!   heap of a million timers was measured first: its `pop`, twenty cache
//!   misses deep, took 40% of the `many_sleeps` benchmark.)
//! - Within a bucket, timers are sorted by (deadline, sequence number) when
//!   it fires; across buckets the order follows from the rounding. Timers
//!   with equal deadlines therefore fire in the order they were set.
//! - Cancellation must free the timer at once (a canceled `sleep` holds its
//!   resolver and therefore its promise). Searching a bucket would be O(n),
//!   so a canceled timer is removed from the *slab* only (its resolver is
//!   dropped right away) and its bucket entry becomes a 24-byte tombstone,
//!   skipped when the bucket fires. So that `with_timeout` in a tight loop
//!   (every call cancels a timer that would fire much later) cannot grow the
//!   buckets without bound, they are swept whenever tombstones outnumber the
//!   live timers: O(n) every Θ(n) cancellations, O(1) amortized.
//! - Deadlines are nanoseconds since the loop's creation (`u64`, enough for
//!   five centuries), computed from `Instant::now()` when the timer is set,
//!   never from a cached loop time, so the full delay always elapses.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use slab::Slab;

use crate::Resolver;

const MS: u64 = 1_000_000;

#[derive(Clone, Copy)]
struct Entry {
    deadline: u64,
    seq: u64,
    key: usize,
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
    buckets: BTreeMap<u64, Vec<Entry>>,
    live: Slab<Live>,
    tombstones: usize,
    next_seq: u64,
    /// Emptied bucket vectors kept for reuse: freeing a large block makes
    /// glibc consolidate every free small block (`malloc_consolidate`), which
    /// with a million freed promises cost a third of `many_sleeps`.
    spare: Vec<Vec<Entry>>,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            epoch: Instant::now(),
            buckets: BTreeMap::new(),
            live: Slab::new(),
            tombstones: 0,
            next_seq: 0,
            spare: Vec::new(),
        }
    }

    /// Nanoseconds from the epoch to `t`.
    fn ns(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    fn is_live(live: &Slab<Live>, e: &Entry) -> bool {
        live.get(e.key).is_some_and(|l| l.seq == e.seq)
    }

    /// Sets a timer resolving `resolver` once `delay` has elapsed from now.
    pub(crate) fn add(&mut self, delay: Duration, resolver: Resolver<()>) -> TimerId {
        let now = self.ns(Instant::now());
        let d = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
        let deadline = now.saturating_add(d);
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = self.live.insert(Live { seq, resolver });
        let bucket = deadline.div_ceil(MS);
        let spare = &mut self.spare;
        self.buckets
            .entry(bucket)
            .or_insert_with(|| spare.pop().unwrap_or_default())
            .push(Entry { deadline, seq, key });
        TimerId { key, seq }
    }

    /// Forgets a timer that has not fired; its resolver is dropped now.
    pub(crate) fn cancel(&mut self, id: TimerId) -> Option<Resolver<()>> {
        if self.live.get(id.key).is_none_or(|l| l.seq != id.seq) {
            return None;
        }
        let removed = self.live.remove(id.key);
        self.tombstones += 1;
        if self.tombstones > 64 && self.tombstones > self.live.len() {
            let live = &self.live;
            self.buckets.retain(|_, v| {
                v.retain(|e| Self::is_live(live, e));
                !v.is_empty()
            });
            self.tombstones = 0;
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

    /// How long until the earliest bucket is due (zero if overdue).
    pub(crate) fn next_timeout(&mut self, now: Instant) -> Option<Duration> {
        // Buckets holding only tombstones would wake the loop for nothing.
        while let Some(entry) = self.buckets.first_entry() {
            if entry.get().iter().any(|e| Self::is_live(&self.live, e)) {
                let end = entry.key().saturating_mul(MS);
                return Some(Duration::from_nanos(end.saturating_sub(self.ns(now))));
            }
            self.tombstones -= entry.remove().len();
        }
        None
    }

    /// Moves the resolvers of every timer whose bucket has ended by `now`
    /// into `out`, in (deadline, setting order).
    pub(crate) fn expire<W: From<Resolver<()>>>(&mut self, now: Instant, out: &mut Vec<W>) {
        let now = self.ns(now);
        while let Some(entry) = self.buckets.first_entry() {
            if entry.key().saturating_mul(MS) > now {
                break;
            }
            let mut due = entry.remove();
            // Often sorted already (timers are set in time order). The keys
            // are unique, so an unstable sort is deterministic, and it sorts
            // in place: a stable sort's scratch buffer is a large allocation,
            // which makes glibc consolidate its free lists (slow, see above).
            if !due.is_sorted_by_key(|e| (e.deadline, e.seq)) {
                due.sort_unstable_by_key(|e| (e.deadline, e.seq));
            }
            for e in due.drain(..) {
                if Self::is_live(&self.live, &e) {
                    out.push(self.live.remove(e.key).resolver.into());
                } else {
                    self.tombstones -= 1;
                }
            }
            if self.spare.len() < 16 {
                self.spare.push(due);
            }
        }
    }

    /// Stored entries including tombstones (for the leak tests below).
    #[cfg(test)]
    fn stored(&self) -> usize {
        self.buckets.values().map(Vec::len).sum()
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
        assert!(t.stored() <= 2 * 10 + 65, "kept {} entries", t.stored());
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
        let mut out: Vec<Resolver<()>> = Vec::new();
        let later = Instant::now() + Duration::from_secs(1);
        t.expire(later, &mut out);
        assert_eq!(out.len(), 5);
        // Resolve in the order returned and check each promise in turn.
        for (i, r) in out.into_iter().enumerate() {
            r.wakeup(());
            assert!(ps[i].is_fulfilled());
            assert!(ps[i + 1..].iter().all(|p| p.is_pending()));
        }
    }
}
