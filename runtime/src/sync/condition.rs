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

use std::fmt;

use super::mutex::Mutex;
use super::WaitQueue;
use crate::core::{of_result, rejected, Error, Promise};

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
    waiters: WaitQueue<T>,
}

impl<T: 'static> Clone for Condition<T> {
    fn clone(&self) -> Self {
        Condition {
            waiters: self.waiters.clone(),
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
        }
    }

    /// Waits for the next notification; the promise is cancelable, and
    /// canceling it removes the waiter.
    pub fn wait(&self) -> Promise<T> {
        self.waiters.wait()
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
        let waiter = self.waiters.wait();
        // Cannot fail: the mutex is locked.
        let _ = mutex.unlock();
        let m = mutex.clone();
        // `finalize` with the re-lock as cleanup, written out so that a free
        // mutex costs no extra promise, nor a second callback call.
        waiter.then(move |r| {
            if m.try_lock() {
                return of_result(r);
            }
            m.lock().then(move |relocked| match relocked {
                Ok(()) => of_result(r),
                Err(e) => rejected(e),
            })
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
        if let Some((r, ())) = self.waiters.pop() {
            r.wakeup_later(v);
        }
    }

    /// Rejects every current waiter with `e`, oldest first.
    pub fn broadcast_exn(&self, e: Error) {
        self.waiters.drain_each(|(r, ())| r.wakeup_later_exn(e.clone()));
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
        self.waiters.drain_each(|(r, ())| r.wakeup_later(v.clone()));
    }
}

impl<T: 'static> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition").field("waiters", &self.waiters()).finish()
    }
}
