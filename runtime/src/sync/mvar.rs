//! Mailbox variables: Lwt's `Lwt_mvar`.
//!
//! An [`Mvar`] holds at most one value. [`Mvar::put`] stores a value, or waits
//! while the variable is full; [`Mvar::take`] removes the value, or waits
//! while it is empty. Waiting writers and readers are served first-in,
//! first-out: a `put` into an empty variable with waiting readers hands the
//! value straight to the oldest reader, and a `take` from a full variable
//! promotes the oldest waiting writer's value. Both waits are cancelable, and
//! canceling one removes it from its queue (a canceled writer's value is
//! dropped, never stored).
//!
//! Deliberate differences from Lwt: none in behaviour; the variable is a
//! handle ([`Mvar`] is `Clone`, every clone is the same variable).
//!
//! | Lwt | lwt-rs |
//! |---|---|
//! | `Lwt_mvar.create v`, `create_empty ()` | [`create`], [`create_empty`], [`Mvar::new`], [`Mvar::empty`] |
//! | `put m v`, `take m` | [`Mvar::put`], [`Mvar::take`] |
//! | `take_available m`, `is_empty m` | [`Mvar::take_available`], [`Mvar::is_empty`] |

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use super::WaitQueue;
use crate::core::{resolved, Promise};

struct Inner<T: 'static> {
    contents: RefCell<Option<T>>,
    /// Writers waiting for room, each with the value it wants to put.
    writers: WaitQueue<(), T>,
    /// Readers waiting for a value.
    readers: WaitQueue<T>,
}

/// A variable that is empty or holds one `T` (Lwt's `'a Lwt_mvar.t`).
/// Cloning gives another handle on the same variable.
///
/// ```
/// let m = lwt::mvar::Mvar::empty();
/// let got = m.take();
/// assert!(got.is_pending());
/// let _ = m.put("hello");
/// assert_eq!(got.state(), lwt::State::Fulfilled("hello"));
/// assert!(m.is_empty());
/// ```
pub struct Mvar<T: 'static> {
    inner: Rc<Inner<T>>,
}

impl<T: 'static> Clone for Mvar<T> {
    fn clone(&self) -> Self {
        Mvar {
            inner: self.inner.clone(),
        }
    }
}

/// A variable holding `v` (Lwt's `Lwt_mvar.create`).
pub fn create<T: 'static>(v: T) -> Mvar<T> {
    Mvar::new(v)
}

/// An empty variable (Lwt's `Lwt_mvar.create_empty`).
pub fn create_empty<T: 'static>() -> Mvar<T> {
    Mvar::empty()
}

impl<T: 'static> Mvar<T> {
    fn make(contents: Option<T>) -> Mvar<T> {
        Mvar {
            inner: Rc::new(Inner {
                contents: RefCell::new(contents),
                writers: WaitQueue::default(),
                readers: WaitQueue::default(),
            }),
        }
    }

    /// A variable holding `v`.
    pub fn new(v: T) -> Mvar<T> {
        Mvar::make(Some(v))
    }

    /// An empty variable.
    pub fn empty() -> Mvar<T> {
        Mvar::make(None)
    }

    /// Puts `v` into the variable. If it is empty, the oldest waiting reader
    /// receives `v` directly (or the variable stores it) and the promise is
    /// already fulfilled; if it is full, the promise waits, queued behind
    /// earlier writers, until `v` has been stored.
    ///
    /// ```
    /// let m = lwt::mvar::Mvar::new(1);
    /// let put = m.put(2);
    /// assert!(put.is_pending());
    /// assert_eq!(m.take_available(), Some(1));
    /// assert!(put.is_fulfilled());
    /// assert_eq!(m.take_available(), Some(2));
    /// ```
    pub fn put(&self, v: T) -> Promise<()> {
        if self.inner.contents.borrow().is_some() {
            return self.inner.writers.push(v);
        }
        match self.inner.readers.pop() {
            Some((r, ())) => r.wakeup_later(v),
            None => *self.inner.contents.borrow_mut() = Some(v),
        }
        resolved(())
    }

    /// Takes the value out: at once if there is one (the oldest waiting
    /// writer's value then takes its place), otherwise when a `put` comes,
    /// queued behind earlier readers.
    pub fn take(&self) -> Promise<T> {
        match self.take_available() {
            Some(v) => resolved(v),
            None => self.inner.readers.wait(),
        }
    }

    /// Takes the value out if there is one, without waiting (Lwt's
    /// `take_available`).
    pub fn take_available(&self) -> Option<T> {
        let v = self.inner.contents.borrow_mut().take()?;
        if let Some((r, next)) = self.inner.writers.pop() {
            *self.inner.contents.borrow_mut() = Some(next);
            r.wakeup_later(());
        }
        Some(v)
    }

    /// Whether the variable holds no value.
    pub fn is_empty(&self) -> bool {
        self.inner.contents.borrow().is_none()
    }
}

impl<T: 'static> fmt::Debug for Mvar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mvar")
            .field("empty", &self.is_empty())
            .field("writers", &self.inner.writers.len())
            .field("readers", &self.inner.readers.len())
            .finish()
    }
}
