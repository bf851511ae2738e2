//! Pools of reusable resources: Lwt's `Lwt_pool`.
//!
//! A [`Pool`] holds at most `max` elements (connections, buffers, ...),
//! created lazily by a function you give. [`Pool::use_`] lends one element to
//! a function and takes it back when that function's promise resolves:
//!
//! - a free element is checked with the `validate` hook first; one that
//!   fails validation is disposed of and replaced by a new one (if `validate`
//!   rejects, the element is disposed of and the error reaches the caller);
//! - with no free element and fewer than `max` alive, a new one is created;
//!   otherwise the caller waits, first-in, first-out (cancelable);
//! - when the function's promise rejects, the `check` hook decides whether
//!   the element goes back to the pool or is disposed of;
//! - [`Pool::clear`] disposes of the free elements now and of the elements in
//!   use when they come back.
//!
//! Elements are handed out by value: the pool keeps its own copy, so `T` is
//! `Clone` and should be a cheap handle (an `Rc<Connection>`, a socket id).
//!
//! Deliberate differences from Lwt:
//! - `use` is a Rust keyword: the method is [`Pool::use_`].
//! - Hooks are set with builder methods ([`Pool::validate`], [`Pool::check`],
//!   [`Pool::dispose`]) instead of optional arguments; `check` returns its
//!   verdict instead of calling a continuation.
//! - A pool of size 0 is refused when created (Lwt's would make every
//!   caller wait forever).
//! - Whenever an element is disposed of (or fails to be created) while
//!   callers wait, a replacement is created for the oldest waiter, and the
//!   count of live elements stays exact. Lwt only does this after a failed
//!   validation, so a caller can wait forever after a failed `check` or
//!   behind a failed creation, and its replacement is not counted. An
//!   element that validation turns down is replaced for the caller that
//!   validated it, as in Lwt, so the pool never exceeds `max`.
//! - [`Pool::clear`] disposes of every free element even when one disposal
//!   fails (Lwt stops at the first failure, and the other elements are then
//!   neither in the pool nor disposed of, still counted against `max`).
//!
//! | Lwt | lwt-rs |
//! |---|---|
//! | `Lwt_pool.create n ?validate ?check ?dispose f` | [`create`], [`Pool::new`] + [`Pool::validate`], [`Pool::check`], [`Pool::dispose`] |
//! | `use p f` | [`Pool::use_`] |
//! | `clear p`, `wait_queue_length p` | [`Pool::clear`], [`Pool::wait_queue_length`] |

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use super::WaitQueue;
use crate::core::{apply, of_result, rejected, resolved, Error, Promise};

type CreateFn<T> = Rc<dyn Fn() -> Promise<T>>;
type ValidateFn<T> = Rc<dyn Fn(&T) -> Promise<bool>>;
type CheckFn<T> = Rc<dyn Fn(&T) -> bool>;
type DisposeFn<T> = Rc<dyn Fn(T) -> Promise<()>>;

struct Inner<T: 'static> {
    max: usize,
    create: CreateFn<T>,
    validate: RefCell<ValidateFn<T>>,
    check: RefCell<CheckFn<T>>,
    dispose: RefCell<DisposeFn<T>>,
    /// Set when the pool is cleared; elements in use compare the flag they
    /// saw when acquired.
    cleared: RefCell<Rc<Cell<bool>>>,
    /// Live elements: free, in use, or being created.
    count: Cell<usize>,
    free: RefCell<VecDeque<T>>,
    waiters: WaitQueue<T>,
}

/// A pool of at most `max` reusable elements (Lwt's `'a Lwt_pool.t`).
/// Cloning gives another handle on the same pool.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// let made = Rc::new(Cell::new(0));
/// let m = made.clone();
/// let pool = lwt::pool::Pool::new(1, move || {
///     m.set(m.get() + 1);
///     lwt::resolved(m.get())
/// })
/// .unwrap();
/// let a = pool.use_(|conn| lwt::resolved(conn * 10));
/// let b = pool.use_(|conn| lwt::resolved(conn * 100));
/// assert_eq!(a.state(), lwt::State::Fulfilled(10));
/// assert_eq!(b.state(), lwt::State::Fulfilled(100)); // the same element, reused
/// assert_eq!(made.get(), 1);
/// ```
pub struct Pool<T: Clone + 'static> {
    inner: Rc<Inner<T>>,
}

impl<T: Clone + 'static> Clone for Pool<T> {
    fn clone(&self) -> Self {
        Pool {
            inner: self.inner.clone(),
        }
    }
}

/// A pool of at most `max` elements made by `create` (Lwt's
/// `Lwt_pool.create`); see [`Pool::new`].
///
/// # Errors
/// [`ErrorKind::InvalidArgument`](crate::ErrorKind) if `max` is 0.
pub fn create<T: Clone + 'static>(max: usize, create: impl Fn() -> Promise<T> + 'static) -> Result<Pool<T>, Error> {
    Pool::new(max, create)
}

impl<T: Clone + 'static> Pool<T> {
    /// A pool of at most `max` elements, each made by `create` when needed.
    /// By default every free element is valid, an element whose user failed
    /// is kept, and disposing of an element does nothing.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind) if `max` is 0.
    pub fn new(max: usize, create: impl Fn() -> Promise<T> + 'static) -> Result<Pool<T>, Error> {
        if max == 0 {
            return Err(Error::invalid_argument(
                "lwt::pool::Pool::new: a pool needs room for at least one element",
            ));
        }
        Ok(Pool {
            inner: Rc::new(Inner {
                max,
                create: Rc::new(create),
                validate: RefCell::new(Rc::new(|_: &T| resolved(true))),
                check: RefCell::new(Rc::new(|_: &T| true)),
                dispose: RefCell::new(Rc::new(|_: T| resolved(()))),
                cleared: RefCell::new(Rc::new(Cell::new(false))),
                count: Cell::new(0),
                free: RefCell::new(VecDeque::new()),
                waiters: WaitQueue::default(),
            }),
        })
    }

    /// Sets the hook that decides, before reuse, whether a free element is
    /// still good (Lwt's `?validate`). A `false` disposes of it and makes a
    /// new one; a rejection disposes of it and rejects the caller.
    ///
    /// ```
    /// let pool = lwt::pool::Pool::new(1, || lwt::resolved(0u32))
    ///     .unwrap()
    ///     .validate(|n| lwt::resolved(*n == 0));
    /// assert_eq!(pool.use_(|n| lwt::resolved(n)).state(), lwt::State::Fulfilled(0));
    /// ```
    pub fn validate(self, f: impl Fn(&T) -> Promise<bool> + 'static) -> Self {
        *self.inner.validate.borrow_mut() = Rc::new(f);
        self
    }

    /// Sets the hook that decides, after its user's promise rejected, whether
    /// an element goes back to the pool (`true`) or is disposed of (Lwt's
    /// `?check`). A panic in it counts as `false`.
    pub fn check(self, f: impl Fn(&T) -> bool + 'static) -> Self {
        *self.inner.check.borrow_mut() = Rc::new(f);
        self
    }

    /// Sets the hook that releases an element the pool throws away (Lwt's
    /// `?dispose`).
    pub fn dispose(self, f: impl Fn(T) -> Promise<()> + 'static) -> Self {
        *self.inner.dispose.borrow_mut() = Rc::new(f);
        self
    }

    /// Lends an element to `f` and takes it back once `f`'s promise resolves;
    /// resolves like `f`'s promise. Waits, first-in, first-out, while all
    /// `max` elements are in use; canceling the wait leaves the queue.
    ///
    /// Rejects if creating or validating the element fails.
    pub fn use_<U: 'static>(&self, f: impl FnOnce(T) -> Promise<U> + 'static) -> Promise<U> {
        let pool = self.clone();
        self.acquire().bind(move |elt| {
            let cleared = pool.inner.cleared.borrow().clone();
            let kept = elt.clone();
            apply(f, elt).then(move |r| match r {
                Ok(v) => {
                    if cleared.get() {
                        pool.dispose_elt(kept).map(move |()| v)
                    } else {
                        pool.release(kept);
                        resolved(v)
                    }
                }
                Err(e) => pool.check_and_release(kept, cleared.get()).then(move |_| rejected(e)),
            })
        })
    }

    /// Disposes of every free element, one after another, and marks the
    /// elements in use to be disposed of when they come back; later callers
    /// get fresh elements (Lwt's `clear`). Rejects with the first disposal
    /// error, once every free element has been disposed of.
    pub fn clear(&self) -> Promise<()> {
        let elements: Vec<T> = self.inner.free.borrow_mut().drain(..).collect();
        let old = self.inner.cleared.replace(Rc::new(Cell::new(false)));
        old.set(true);
        let pool = self.clone();
        let first_error: Rc<RefCell<Option<Error>>> = Rc::new(RefCell::new(None));
        let errors = first_error.clone();
        crate::list::iter_s(
            move |e| {
                let errors = errors.clone();
                pool.dispose_elt(e).then(move |r| {
                    if let Err(e) = r {
                        errors.borrow_mut().get_or_insert(e);
                    }
                    resolved(())
                })
            },
            elements,
        )
        .bind(move |()| match first_error.borrow_mut().take() {
            Some(e) => rejected(e),
            None => resolved(()),
        })
    }

    /// How many callers wait for an element (Lwt's `wait_queue_length`).
    pub fn wait_queue_length(&self) -> usize {
        self.inner.waiters.len()
    }

    /// How many elements are alive: free, in use, or being created.
    pub fn size(&self) -> usize {
        self.inner.count.get()
    }

    /// The most elements this pool holds at once.
    pub fn max(&self) -> usize {
        self.inner.max
    }

    fn create_member(&self) -> Promise<T> {
        self.inner.count.set(self.inner.count.get() + 1);
        let create = self.inner.create.clone();
        let pool = self.clone();
        apply(move |()| create(), ()).catch(move |e| {
            pool.inner.count.set(pool.inner.count.get() - 1);
            // A caller may have queued behind this creation: the room it
            // waited for is free again.
            pool.replace_for_waiter();
            rejected(e)
        })
    }

    fn acquire(&self) -> Promise<T> {
        let free = self.inner.free.borrow_mut().pop_front();
        match free {
            Some(elt) => self.validate_and_return(elt),
            None if self.inner.count.get() < self.inner.max => self.create_member(),
            None => {
                let pool = self.clone();
                self.inner.waiters.wait().bind(move |elt| pool.validate_and_return(elt))
            }
        }
    }

    fn validate_and_return(&self, elt: T) -> Promise<T> {
        let validate = self.inner.validate.borrow().clone();
        let pool = self.clone();
        let kept = elt.clone();
        apply(move |e: T| validate(&e), elt).then(move |r| match r {
            Ok(true) => resolved(kept),
            Ok(false) => {
                // The replacement is this caller's (as in Lwt): giving one
                // to a waiter too would take the pool past `max`.
                let p = pool.clone();
                pool.dispose_only(kept).then(move |r| match r {
                    Ok(()) => p.create_member(),
                    Err(e) => {
                        p.replace_for_waiter();
                        rejected(e)
                    }
                })
            }
            Err(e) => pool.dispose_elt(kept).then(move |_| rejected(e)),
        })
    }

    /// Gives an element back: to the oldest waiter, or to the free list.
    fn release(&self, elt: T) {
        match self.inner.waiters.pop() {
            Some((r, ())) => r.wakeup_later(elt),
            None => self.inner.free.borrow_mut().push_back(elt),
        }
    }

    fn check_and_release(&self, elt: T, cleared: bool) -> Promise<()> {
        let check = self.inner.check.borrow().clone();
        let ok = catch_unwind(AssertUnwindSafe(|| check(&elt))).unwrap_or(false);
        if cleared || !ok {
            self.dispose_elt(elt)
        } else {
            self.release(elt);
            resolved(())
        }
    }

    /// Disposes of an element; then, if callers wait and there is room,
    /// makes a replacement for the oldest one.
    fn dispose_elt(&self, elt: T) -> Promise<()> {
        let pool = self.clone();
        self.dispose_only(elt).then(move |r| {
            pool.replace_for_waiter();
            of_result(r)
        })
    }

    /// Disposes of an element and forgets it, making no replacement.
    fn dispose_only(&self, elt: T) -> Promise<()> {
        let dispose = self.inner.dispose.borrow().clone();
        let pool = self.clone();
        apply(move |e: T| dispose(e), elt).then(move |r| {
            pool.inner.count.set(pool.inner.count.get() - 1);
            of_result(r)
        })
    }

    fn replace_for_waiter(&self) {
        if self.inner.waiters.is_empty() || self.inner.count.get() >= self.inner.max {
            return;
        }
        let Some((waiter, ())) = self.inner.waiters.pop() else {
            return;
        };
        let pool = self.clone();
        let made = self.create_member();
        made.on_any(
            {
                let waiter = waiter.clone();
                move |elt: &T| {
                    if waiter.is_pending() {
                        waiter.wakeup_later(elt.clone());
                    } else {
                        pool.release(elt.clone());
                    }
                }
            },
            move |e: &Error| {
                if waiter.is_pending() {
                    waiter.wakeup_later_exn(e.clone());
                }
            },
        );
    }
}

impl<T: Clone + 'static> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("max", &self.inner.max)
            .field("size", &self.size())
            .field("free", &self.inner.free.borrow().len())
            .field("waiting", &self.wait_queue_length())
            .finish()
    }
}
