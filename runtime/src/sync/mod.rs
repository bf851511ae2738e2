//! Synchronisation between promises and shared resources: Lwt's
//! `Lwt_mutex`, `Lwt_condition`, `Lwt_mvar`, `Lwt_pool` and `Lwt_switch`.
//!
//! Each module is re-exported at the crate root under its Lwt name
//! (`lwt::mutex`, `lwt::condition`, `lwt::mvar`, `lwt::pool`, `lwt::switch`).
//!
//! Every blocking operation here queues a *cancelable* waiter (a
//! [`task`](crate::task())) in first-in, first-out order, as Lwt does (its rule
//! 52): the resource is handed straight to the oldest waiter, and canceling a
//! waiter removes it from the queue, so it never receives the resource. The
//! handles ([`mutex::Mutex`], [`condition::Condition`], ...) are cheap to clone
//! and every clone refers to the same object, like a value shared in OCaml.

pub mod condition;
pub mod mutex;
pub mod mvar;
pub mod pool;
pub mod switch;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use crate::core::{task, Promise, Resolver};

/// One queued waiter: its resolver and what it carries (a value to put, ...).
type Entry<T, P> = (Resolver<T>, P);

/// How long a lazy queue may grow before its first sweep of canceled
/// waiters (see [`WaitQueue::lazy`]).
const FIRST_SWEEP: usize = 32;

struct Queue<T: 'static, P: 'static> {
    next_id: u64,
    /// Ids strictly increase from front to back; a removed waiter leaves a
    /// hole (`None`) until it reaches the front, so removal needs no shifting.
    entries: VecDeque<(u64, Option<Entry<T, P>>)>,
    /// Eager queues: how many entries are not holes. Lazy queues leave it
    /// at 0: they cannot know when a waiter is canceled.
    live: usize,
    /// `None` for an eager queue; for a lazy one, the length at which
    /// [`WaitQueue::push`] next sweeps out the canceled waiters.
    sweep_at: Option<usize>,
}

/// Whether an entry still waits: not a hole, and not resolved (the queue
/// holds the only resolver, so a resolved waiter was canceled).
fn waiting<T: 'static, P: 'static>(e: &Option<Entry<T, P>>) -> bool {
    matches!(e, Some((r, _)) if r.is_pending())
}

impl<T: 'static, P: 'static> Queue<T, P> {
    /// Pops the holes at the front; a lazy queue pops its canceled waiters
    /// there too.
    fn trim_front(&mut self) {
        if self.sweep_at.is_none() {
            while matches!(self.entries.front(), Some((_, None))) {
                self.entries.pop_front();
            }
        } else {
            while matches!(self.entries.front(), Some((_, e)) if !waiting(e)) {
                self.entries.pop_front();
            }
        }
    }

    fn remove(&mut self, id: u64) -> Option<Entry<T, P>> {
        let i = self.entries.binary_search_by_key(&id, |(k, _)| *k).ok()?;
        self.remove_at(i)
    }

    fn remove_at(&mut self, i: usize) -> Option<Entry<T, P>> {
        let e = self.entries[i].1.take();
        if e.is_some() && self.sweep_at.is_none() {
            self.live -= 1;
        }
        self.trim_front();
        // Holes at the back go too, so that removals from the back (see
        // `WaitQueue::remove_where`) do not walk past earlier ones.
        while matches!(self.entries.back(), Some((_, None))) {
            self.entries.pop_back();
        }
        e
    }

    /// Takes the front entry out, hole or not.
    fn pop_front(&mut self) -> Option<Entry<T, P>> {
        let e = self.entries.pop_front().and_then(|(_, e)| e);
        if e.is_some() && self.sweep_at.is_none() {
            self.live -= 1;
        }
        if !self.entries.is_empty() {
            self.trim_front();
        }
        e
    }
}

/// A FIFO queue of cancelable waiters: the waiting list behind every blocking
/// operation of this module and of streams.
///
/// [`WaitQueue::push`] makes a [`task`] and queues its resolver.
/// [`WaitQueue::pop`] returns the oldest waiter that is still pending,
/// skipping any that were resolved some other way (canceled).
///
/// What happens to a canceled waiter depends on the queue:
/// - an *eager* queue (the default) registers an `on_cancel` callback with
///   every waiter, which takes the entry out at once and drops its payload
///   (the value an `Mvar::put` wanted to store, for instance);
/// - a *lazy* queue ([`WaitQueue::lazy`], for waiters without payload)
///   registers nothing. A canceled waiter stays queued, already resolved,
///   until `pop`, `is_empty` or `len` walks past it, or until a `push` finds
///   the queue twice as long as after its last sweep and drops every
///   canceled entry (so the queue stays within twice its live waiters plus
///   [`FIRST_SWEEP`], whatever the number of cancellations). This saves, on
///   every wait, the cancel callback, the weak reference it holds, and the
///   callback list that the waiter's promise then needs (an allocation):
///   most of what a wait costs outside the promise itself. The price is
///   that `len` walks the queue, which is fine for a count that is only
///   looked at, not used on a hot path.
///
/// Either way, a canceled waiter is never handed anything, and `is_empty`
/// and `len` never count it.
pub(crate) struct WaitQueue<T: 'static, P: 'static = ()> {
    q: Rc<RefCell<Queue<T, P>>>,
}

impl<T: 'static, P: 'static> Clone for WaitQueue<T, P> {
    fn clone(&self) -> Self {
        WaitQueue { q: self.q.clone() }
    }
}

impl<T: 'static, P: 'static> Default for WaitQueue<T, P> {
    fn default() -> Self {
        WaitQueue::with_sweep(None)
    }
}

impl<T: 'static, P: 'static> WaitQueue<T, P> {
    fn with_sweep(sweep_at: Option<usize>) -> Self {
        WaitQueue {
            q: Rc::new(RefCell::new(Queue {
                next_id: 0,
                entries: VecDeque::new(),
                live: 0,
                sweep_at,
            })),
        }
    }

    /// Queues a new waiter carrying `payload`; its promise is cancelable, and
    /// canceling it takes it out of the queue (dropping the payload) at
    /// once in an eager queue, later in a lazy one.
    pub(crate) fn push(&self, payload: P) -> Promise<T> {
        let (p, r) = task::<T>();
        self.enqueue(p, r, payload)
    }

    /// Queues the waiter `(p, r)`, a `task()` or a promise whose
    /// cancellation its maker intercepts, carrying `payload`; returns `p`.
    pub(crate) fn enqueue(&self, p: Promise<T>, r: Resolver<T>, payload: P) -> Promise<T> {
        let (id, eager) = {
            let mut q = self.q.borrow_mut();
            if let Some(at) = q.sweep_at {
                if q.entries.len() >= at {
                    q.entries.retain(|(_, e)| waiting(e));
                    q.sweep_at = Some(FIRST_SWEEP.max(2 * q.entries.len()));
                }
            } else {
                q.live += 1;
            }
            let id = q.next_id;
            q.next_id += 1;
            q.entries.push_back((id, Some((r, payload))));
            (id, q.sweep_at.is_none())
        };
        if eager {
            let weak: Weak<RefCell<Queue<T, P>>> = Rc::downgrade(&self.q);
            p.on_cancel(move || {
                if let Some(q) = weak.upgrade() {
                    let removed = q.borrow_mut().remove(id);
                    // Dropped here, outside the borrow: the payload may run code.
                    drop(removed);
                }
            });
        }
        p
    }

    /// The oldest waiter still pending, taken out of the queue.
    #[inline]
    pub(crate) fn pop(&self) -> Option<Entry<T, P>> {
        // The common case of a mutex's unlock: nobody waits.
        if self.q.borrow().entries.is_empty() {
            return None;
        }
        self.pop_slow()
    }

    #[inline(never)]
    fn pop_slow(&self) -> Option<Entry<T, P>> {
        loop {
            let e = {
                let mut q = self.q.borrow_mut();
                if q.entries.is_empty() {
                    return None;
                }
                q.pop_front()
            };
            match e {
                // Canceled, with its cancel callback not run yet (the two
                // phases of `cancel`) or in a lazy queue: never hand it
                // anything. Its payload is dropped here, outside the borrow.
                Some((r, _)) if !r.is_pending() => continue,
                Some(e) => return Some(e),
                // A hole (never at the front, but harmless).
                None => continue,
            }
        }
    }

    /// Takes out, oldest first, every waiter that was queued when the call
    /// started, and gives each one still pending to `f`. Waiters queued by
    /// `f` itself stay for next time.
    pub(crate) fn drain_each(&self, mut f: impl FnMut(Entry<T, P>)) {
        let limit = self.q.borrow().next_id;
        loop {
            let e = {
                let mut q = self.q.borrow_mut();
                match q.entries.front() {
                    Some((id, _)) if *id < limit => {}
                    _ => return,
                }
                q.pop_front()
            };
            match e {
                Some((r, p)) if r.is_pending() => f((r, p)),
                _ => {}
            }
        }
    }

    /// Takes out a waiter still pending for which `f` holds (there is at
    /// most one: `f` looks for a given promise). The search goes inwards
    /// from both ends at once, so canceling waiters oldest first or newest
    /// first (a shutdown, a burst of timeouts) costs each a few steps, not
    /// a walk of the queue.
    pub(crate) fn remove_where(&self, f: impl Fn(&Resolver<T>) -> bool) -> Option<Entry<T, P>> {
        let mut q = self.q.borrow_mut();
        let hit = |e: &Option<Entry<T, P>>| matches!(e, Some((r, _)) if r.is_pending() && f(r));
        let (mut front, mut back) = (0, q.entries.len());
        while front < back {
            if hit(&q.entries[front].1) {
                return q.remove_at(front);
            }
            front += 1;
            if front < back {
                back -= 1;
                if hit(&q.entries[back].1) {
                    return q.remove_at(back);
                }
            }
        }
        None
    }

    /// How many waiters are queued (canceled ones not counted).
    pub(crate) fn len(&self) -> usize {
        let q = self.q.borrow();
        if q.sweep_at.is_none() {
            q.live
        } else {
            q.entries.iter().filter(|(_, e)| waiting(e)).count()
        }
    }

    /// Whether no waiter is queued (canceled ones not counted).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        let mut q = self.q.borrow_mut();
        if q.sweep_at.is_none() {
            q.live == 0
        } else if q.entries.is_empty() {
            true
        } else {
            q.trim_front();
            q.entries.is_empty()
        }
    }
}

impl<T: 'static, P: 'static> WaitQueue<T, P> {
    /// A lazy queue (see the type's doc): canceled waiters are dropped when
    /// the queue next walks past them, not at once. Only for payloads whose
    /// late drop nobody can see (none, or a handle on a shared object).
    pub(crate) fn lazy() -> Self {
        WaitQueue::with_sweep(Some(FIRST_SWEEP))
    }
}

impl<T: 'static> WaitQueue<T, ()> {
    /// Queues a new waiter with no payload.
    pub(crate) fn wait(&self) -> Promise<T> {
        self.push(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored<T: 'static, P: 'static>(q: &WaitQueue<T, P>) -> usize {
        q.q.borrow().entries.len()
    }

    #[test]
    fn a_lazy_queue_skips_and_does_not_count_canceled_waiters() {
        let q = WaitQueue::<u8>::lazy();
        let a = q.wait();
        let b = q.wait();
        let c = q.wait();
        a.cancel();
        c.cancel();
        assert_eq!(q.len(), 1);
        assert!(!q.is_empty());
        let (r, ()) = q.pop().expect("b waits");
        r.wakeup(2);
        assert_eq!(b.state(), crate::core::State::Fulfilled(2));
        assert!(q.pop().is_none(), "c was canceled");
        assert!(q.is_empty());
        assert_eq!(stored(&q), 0);
    }

    #[test]
    fn is_empty_drops_canceled_waiters_at_the_front() {
        let q = WaitQueue::<()>::lazy();
        let ws: Vec<_> = (0..3).map(|_| q.wait()).collect();
        for w in &ws {
            w.cancel();
        }
        assert_eq!(stored(&q), 3, "nothing is removed when canceled");
        assert!(q.is_empty());
        assert_eq!(stored(&q), 0);
    }

    #[test]
    fn drain_each_skips_canceled_waiters_of_a_lazy_queue() {
        let q = WaitQueue::<u8>::lazy();
        let ws: Vec<_> = (0..4).map(|_| q.wait()).collect();
        ws[1].cancel();
        let mut n = 0;
        q.drain_each(|(r, ())| {
            n += 1;
            r.wakeup(n);
        });
        assert_eq!(n, 3);
        assert_eq!(ws[3].state(), crate::core::State::Fulfilled(3));
        assert!(ws[1].is_canceled());
    }

    #[test]
    fn a_lazy_queue_stays_within_twice_its_live_waiters() {
        // Waiters canceled and never popped (a wait raced against a timeout,
        // in a loop) must not pile up.
        let q = WaitQueue::<()>::lazy();
        let live: Vec<_> = (0..100).map(|_| q.wait()).collect();
        for _ in 0..100_000 {
            let w = q.wait();
            w.cancel();
            assert!(stored(&q) <= 2 * live.len() + 1);
        }
        let q = WaitQueue::<()>::lazy();
        for _ in 0..100_000 {
            q.wait().cancel();
            assert!(stored(&q) <= FIRST_SWEEP + 1);
        }
        assert_eq!(q.len(), 0);
        // The live waiters of the first queue are all still there, in order.
        drop(q);
        assert!(live.iter().all(|w| w.is_pending()));
    }

    #[test]
    fn remove_where_from_either_end_leaves_no_holes_behind() {
        let q = WaitQueue::<u8>::lazy();
        let ws: Vec<_> = (0..6).map(|_| q.wait()).collect();
        let addrs: Vec<_> =
            q.q.borrow()
                .entries
                .iter()
                .map(|(_, e)| e.as_ref().unwrap().0.addr())
                .collect();
        // Newest first, then oldest first: each found at an end.
        for &a in addrs[3..].iter().rev().chain(&addrs[..2]) {
            let (r, ()) = q.remove_where(|r| r.addr() == a).expect("queued");
            r.wakeup(1);
        }
        assert_eq!(stored(&q), 1, "only the live waiter is stored");
        assert!(q.remove_where(|r| r.addr() == addrs[0]).is_none(), "gone already");
        let (r, ()) = q.pop().expect("the third waiter");
        r.wakeup(3);
        assert_eq!(ws[2].state(), crate::core::State::Fulfilled(3));
        assert_eq!(stored(&q), 0);
    }

    #[test]
    fn an_eager_queue_removes_a_canceled_waiter_at_once() {
        let q = WaitQueue::<u8, String>::default();
        let a = q.push("a".to_string());
        let _b = q.push("b".to_string());
        a.cancel();
        assert_eq!(stored(&q), 1);
        assert_eq!(q.len(), 1);
        let (_, payload) = q.pop().expect("b waits");
        assert_eq!(payload, "b");
    }
}
