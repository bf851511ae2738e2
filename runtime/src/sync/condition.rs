//! Condition variables for promises: Lwt's `Lwt_condition`.
//!
//! A [`Condition`] is a queue of promises waiting for a notification that
//! carries a value. [`Condition::signal`] wakes the oldest waiter,
//! [`Condition::broadcast`] wakes them all, [`Condition::broadcast_exn`]
//! rejects them all. A notification nobody waits for is lost: signals are not
//! sticky. [`Condition::wait_with_mutex`] releases a held [`Mutex`] while
//! waiting and takes it back before its promise resolves, as Lwt's
//! `wait ~mutex` does.
//!
//! Deliberate differences from Lwt:
//! - `wait ?mutex c` is two methods, [`Condition::wait`] and
//!   [`Condition::wait_with_mutex`].
//! - Waiting with a mutex that is not locked rejects at once with
//!   [`ErrorKind::InvalidArgument`](crate::ErrorKind) (Lwt goes on and
//!   later takes a lock it never released).
//!
//! | Lwt | lwt-rs |
//! |---|---|
//! | `Lwt_condition.create ()` | [`create()`], [`Condition::new`] |
//! | `wait c`, `wait ~mutex c` | [`Condition::wait`], [`Condition::wait_with_mutex`] |
//! | `signal c v`, `broadcast c v`, `broadcast_exn c e` | [`Condition::signal`], [`Condition::broadcast`], [`Condition::broadcast_exn`] |

use std::cell::OnceCell;
use std::fmt;
use std::rc::Rc;

use super::mutex::Mutex;
use super::WaitQueue;
use crate::core::{intercepted, of_result, rejected, Error, Interceptor, Promise, Resolver};

/// A condition variable whose notifications carry a `T` (Lwt's
/// `'a Lwt_condition.t`). Cloning gives another handle on the same condition.
///
/// ```
/// let c = lwt::condition::Condition::<&str>::new();
/// let w = c.wait();
/// c.signal("ready");
/// assert_eq!(w.state(), lwt::State::Fulfilled("ready"));
/// ```
pub struct Condition<T: 'static = ()> {
    /// The waiters, each with the mutex it waits with, if any.
    waiters: WaitQueue<T, Option<Mutex>>,
    /// What a cancel of a `wait_with_mutex` promise does (see
    /// [`relock`]); made at the first such wait, shared by all.
    interceptor: OnceCell<Rc<Interceptor>>,
}

impl<T: 'static> Clone for Condition<T> {
    fn clone(&self) -> Self {
        Condition {
            waiters: self.waiters.clone(),
            interceptor: self.interceptor.clone(),
        }
    }
}

impl<T: 'static> Default for Condition<T> {
    fn default() -> Self {
        Condition::new()
    }
}

/// A new condition with no waiter (Lwt's `Lwt_condition.create`).
pub fn create<T: 'static>() -> Condition<T> {
    Condition::new()
}

impl<T: 'static> Condition<T> {
    /// A new condition with no waiter.
    pub fn new() -> Condition<T> {
        Condition {
            waiters: WaitQueue::lazy(),
            interceptor: OnceCell::new(),
        }
    }

    /// Waits for the next notification; the promise is cancelable, and
    /// canceling it removes the waiter.
    pub fn wait(&self) -> Promise<T> {
        self.waiters.push(None)
    }

    /// Waits for the next notification, releasing `mutex` (which the caller
    /// must hold) meanwhile; the promise resolves only once the mutex is
    /// taken again, whether the wait ended with a value, an error or a
    /// cancellation (Lwt's `wait ~mutex`).
    ///
    /// ```
    /// let m = lwt::mutex::Mutex::new();
    /// let c = lwt::condition::Condition::new();
    /// let _ = m.lock();
    /// let w = c.wait_with_mutex(&m);
    /// assert!(!m.is_locked());
    /// c.signal(7);
    /// assert_eq!(w.state(), lwt::State::Fulfilled(7));
    /// assert!(m.is_locked());
    /// ```
    pub fn wait_with_mutex(&self, mutex: &Mutex) -> Promise<T> {
        if !mutex.is_locked() {
            return rejected(Error::invalid_argument(
                "lwt::condition::Condition::wait_with_mutex: the mutex is not locked",
            ));
        }
        // One promise, whose cancellation the condition intercepts: a
        // canceled wait takes the mutex back before it rejects, as Lwt's
        // `finalize` does, without a second promise to run that cleanup.
        let (p, r) = intercepted(self.interceptor());
        let waiter = self.waiters.enqueue(p, r, Some(mutex.clone()));
        // Cannot fail: the mutex is locked.
        let _ = mutex.unlock();
        waiter
    }

    /// The interceptor of `wait_with_mutex` promises: takes a canceled one
    /// out of the queue and settles it once it holds its mutex again. If
    /// the waiter is no longer queued, a notification has taken it out
    /// and wins (in Lwt too the cancel then comes too late).
    ///
    /// It keeps the queue alive, so a waiter still takes its mutex back
    /// when canceled after every handle on the condition is gone (the
    /// invariant `with_lock` around a wait relies on). The price: a waiter
    /// that is never resolved nor canceled, once both it and the condition
    /// are dropped, is a reference cycle (queue, waiter, interceptor) that
    /// is never freed.
    fn interceptor(&self) -> &Rc<Interceptor> {
        self.interceptor.get_or_init(|| {
            let waiters = self.waiters.clone();
            Rc::new(Interceptor::new(move |node| {
                if let Some((r, Some(m))) = waiters.remove_where(|r| r.addr() == node) {
                    relock(r, m, Err(Error::canceled()));
                }
            }))
        })
    }

    /// Wakes the oldest waiter with `v`; does nothing if nobody waits.
    ///
    /// ```
    /// let c = lwt::condition::Condition::new();
    /// c.signal(1); // lost: nobody waits
    /// let w = c.wait();
    /// assert!(w.is_pending());
    /// ```
    pub fn signal(&self, v: T) {
        if let Some((r, m)) = self.waiters.pop() {
            notify(r, m, Ok(v));
        }
    }

    /// Rejects every current waiter with `e`, oldest first.
    pub fn broadcast_exn(&self, e: Error) {
        self.waiters.drain_each(|(r, m)| notify(r, m, Err(e.clone())));
    }

    /// How many promises wait on this condition.
    pub fn waiters(&self) -> usize {
        self.waiters.len()
    }
}

impl<T: Clone + 'static> Condition<T> {
    /// Wakes every current waiter with a copy of `v`, oldest first.
    ///
    /// ```
    /// let c = lwt::condition::Condition::new();
    /// let (a, b) = (c.wait(), c.wait());
    /// c.broadcast(5);
    /// assert_eq!((a.state(), b.state()), (lwt::State::Fulfilled(5), lwt::State::Fulfilled(5)));
    /// ```
    pub fn broadcast(&self, v: T) {
        self.waiters.drain_each(|(r, m)| notify(r, m, Ok(v.clone())));
    }
}

impl<T: 'static> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition").field("waiters", &self.waiters()).finish()
    }
}

/// Hands a notification to a waiter: a plain one at once (Lwt's
/// `wakeup_later`); one that waits with a mutex, at the time `wakeup_later`
/// would run its callbacks, once it has taken the mutex back.
fn notify<T: 'static>(r: Resolver<T>, m: Option<Mutex>, outcome: Result<T, Error>) {
    match m {
        None => r.wakeup_later_result(outcome),
        Some(m) => r.run_later(move |r| relock(r, m, outcome)),
    }
}

/// Settles the waiter `r` with `outcome` once it holds `m` again: at once
/// if `m` is free, otherwise when `m` is handed to it, after the waiters
/// queued before it. Until then the waiter follows that lock, so canceling
/// it now cancels the lock.
fn relock<T: 'static>(r: Resolver<T>, m: Mutex, outcome: Result<T, Error>) {
    if !r.is_pending() {
        return;
    }
    if m.try_lock() {
        let _ = r.try_wakeup_result(outcome);
    } else {
        r.resolve_with(outcome, move |o| {
            m.lock().then(move |relocked| match relocked {
                Ok(()) => of_result(o),
                Err(e) => rejected(e),
            })
        });
    }
}
