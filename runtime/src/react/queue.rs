//! The priority queue of an update step: scheduled nodes, lowest rank first.
//!
//! React uses a binary heap. Ranks are small integers, though, and a step
//! schedules whole groups of the same rank (all the dependents of a node),
//! so a *bucket queue* does the same job for a fraction of the cost: one
//! FIFO bucket per rank, and a bitmap of the non-empty buckets whose lowest
//! set bit is the next rank to run. Ranks beyond the buckets (chains more
//! than a thousand nodes deep) go to a binary heap, which is only looked at
//! when every bucket is empty: every bucketed rank is below every heaped
//! one. Delayed nodes (rank `DELAYED`) wait in a list of their own; they run
//! only once the step is otherwise done.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::rc::Rc;

use super::graph::{Node, DELAYED};

/// Ranks below this have a bucket.
const BUCKETS: usize = 1024;
const WORDS: usize = BUCKETS / 64;

struct Entry {
    rank: u32,
    seq: u64,
    node: Rc<dyn Node>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.rank == other.rank && self.seq == other.seq
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    // BinaryHeap is a max-heap: the lowest rank, then the oldest entry, is
    // the greatest.
    fn cmp(&self, other: &Self) -> Ordering {
        other.rank.cmp(&self.rank).then(other.seq.cmp(&self.seq))
    }
}

/// One rank's FIFO: `items[head..]` are waiting.
struct Bucket {
    items: Vec<Option<Rc<dyn Node>>>,
    head: usize,
}

pub(crate) struct Queue {
    buckets: Vec<Bucket>,
    bits: [u64; WORDS],
    /// No word below this one has a bit set.
    low: usize,
    /// How many nodes wait in the buckets.
    bucketed: usize,
    high: BinaryHeap<Entry>,
    seq: u64,
    delayed: Vec<Rc<dyn Node>>,
}

impl Queue {
    pub(crate) const fn new() -> Queue {
        Queue {
            buckets: Vec::new(),
            bits: [0; WORDS],
            low: WORDS,
            bucketed: 0,
            high: BinaryHeap::new(),
            seq: 0,
            delayed: Vec::new(),
        }
    }

    /// Queues `n` at its current rank.
    #[inline]
    pub(crate) fn push(&mut self, n: Rc<dyn Node>) {
        let rank = n.header().rank.get();
        self.push_at(n, rank);
    }

    /// Queues `n`, whose rank is `rank`.
    #[inline(always)]
    pub(crate) fn push_at(&mut self, n: Rc<dyn Node>, rank: u32) {
        if rank == DELAYED {
            self.delayed.push(n);
            return;
        }
        let r = rank as usize;
        if r < BUCKETS {
            if self.buckets.len() <= r {
                self.grow(r);
            }
            self.buckets[r].items.push(Some(n));
            let w = r / 64;
            self.bits[w] |= 1u64 << (r % 64);
            if w < self.low {
                self.low = w;
            }
            self.bucketed += 1;
        } else {
            self.seq += 1;
            self.high.push(Entry {
                rank,
                seq: self.seq,
                node: n,
            });
        }
    }

    /// The next node to run: lowest rank first, first queued first within a
    /// rank. Delayed nodes are not returned (see [`Queue::take_delayed`]).
    #[inline(always)]
    pub(crate) fn pop(&mut self) -> Option<Rc<dyn Node>> {
        if self.bucketed > 0 {
            while self.low < WORDS {
                let word = self.bits[self.low];
                if word != 0 {
                    let r = self.low * 64 + word.trailing_zeros() as usize;
                    let bucket = &mut self.buckets[r];
                    let n = bucket.items[bucket.head].take();
                    bucket.head += 1;
                    if bucket.head == bucket.items.len() {
                        bucket.items.clear();
                        bucket.head = 0;
                        self.bits[self.low] &= !(1u64 << (r % 64));
                    }
                    self.bucketed -= 1;
                    return n;
                }
                self.low += 1;
            }
        }
        self.high.pop().map(|e| e.node)
    }

    #[cold]
    fn grow(&mut self, r: usize) {
        self.buckets.resize_with(r + 1, || Bucket {
            items: Vec::new(),
            head: 0,
        });
    }

    /// Whether delayed nodes were reached.
    #[inline]
    pub(crate) fn has_delayed(&self) -> bool {
        !self.delayed.is_empty()
    }

    /// The delayed nodes reached in this step.
    pub(crate) fn take_delayed(&mut self) -> Vec<Rc<dyn Node>> {
        std::mem::take(&mut self.delayed)
    }

    /// Everything queued, in no particular order; the queue is left empty.
    pub(crate) fn drain_all(&mut self) -> Vec<Rc<dyn Node>> {
        let mut all = Vec::new();
        for b in &mut self.buckets {
            all.extend(b.items.drain(..).flatten());
            b.head = 0;
        }
        self.bits = [0; WORDS];
        self.low = WORDS;
        self.bucketed = 0;
        all.extend(std::mem::take(&mut self.high).into_iter().map(|e| e.node));
        all.append(&mut self.delayed);
        all
    }

    /// Re-files every queued node under its current rank (ranks went up).
    pub(crate) fn rebuild(&mut self) {
        // Keep the order within each rank: drain in pop order.
        let mut all = Vec::new();
        while let Some(n) = self.pop() {
            all.push(n);
        }
        let delayed = std::mem::take(&mut self.delayed);
        for n in all {
            self.push(n);
        }
        self.delayed = delayed;
    }
}
