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

struct Queue<T: 'static, P: 'static> {
    next_id: u64,
    /// Ids strictly increase from front to back; a removed waiter leaves a
    /// hole (`None`) until it reaches the front, so removal needs no shifting.
    entries: VecDeque<(u64, Option<Entry<T, P>>)>,
    live: usize,
}

impl<T: 'static, P: 'static> Queue<T, P> {
    fn trim_front(&mut self) {
        while matches!(self.entries.front(), Some((_, None))) {
            self.entries.pop_front();
        }
    }

    fn remove(&mut self, id: u64) -> Option<Entry<T, P>> {
        let i = self.entries.binary_search_by_key(&id, |(k, _)| *k).ok()?;
        let e = self.entries[i].1.take();
        if e.is_some() {
            self.live -= 1;
        }
        self.trim_front();
        e
    }
}

/// A FIFO queue of cancelable waiters: the waiting list behind every blocking
/// operation of this module and of streams.
///
/// [`WaitQueue::push`] makes a [`task`] and queues its resolver; canceling the
/// task removes the entry. [`WaitQueue::pop`] returns the oldest waiter that is
/// still pending, skipping any that were resolved some other way.
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
        WaitQueue {
            q: Rc::new(RefCell::new(Queue {
                next_id: 0,
                entries: VecDeque::new(),
                live: 0,
            })),
        }
    }
}

impl<T: 'static, P: 'static> WaitQueue<T, P> {
    /// Queues a new waiter carrying `payload`; its promise is cancelable, and
    /// canceling it takes it out of the queue (dropping the payload).
    pub(crate) fn push(&self, payload: P) -> Promise<T> {
        let (p, r) = task::<T>();
        let id = {
            let mut q = self.q.borrow_mut();
            let id = q.next_id;
            q.next_id += 1;
            q.entries.push_back((id, Some((r, payload))));
            q.live += 1;
            id
        };
        let weak: Weak<RefCell<Queue<T, P>>> = Rc::downgrade(&self.q);
        p.on_cancel(move || {
            if let Some(q) = weak.upgrade() {
                let removed = q.borrow_mut().remove(id);
                // Dropped here, outside the borrow: the payload may run code.
                drop(removed);
            }
        });
        p
    }

    /// The oldest waiter still pending, taken out of the queue.
    pub(crate) fn pop(&self) -> Option<Entry<T, P>> {
        loop {
            let e = {
                let mut q = self.q.borrow_mut();
                let e = loop {
                    match q.entries.pop_front() {
                        None => break None,
                        Some((_, None)) => continue,
                        Some((_, Some(e))) => break Some(e),
                    }
                };
                if e.is_some() {
                    q.live -= 1;
                }
                q.trim_front();
                e
            };
            match e {
                None => return None,
                // Marked canceled, its cancel callback not run yet (the two
                // phases of `cancel`): never hand it anything.
                Some((r, _)) if !r.is_pending() => continue,
                Some(e) => return Some(e),
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
                let e = q.entries.pop_front().and_then(|(_, e)| e);
                if e.is_some() {
                    q.live -= 1;
                }
                q.trim_front();
                e
            };
            match e {
                Some((r, p)) if r.is_pending() => f((r, p)),
                _ => {}
            }
        }
    }

    /// How many waiters are queued.
    pub(crate) fn len(&self) -> usize {
        self.q.borrow().live
    }

    /// Whether no waiter is queued.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.q.borrow().live == 0
    }
}

impl<T: 'static> WaitQueue<T, ()> {
    /// Queues a new waiter with no payload.
    pub(crate) fn wait(&self) -> Promise<T> {
        self.push(())
    }
}
