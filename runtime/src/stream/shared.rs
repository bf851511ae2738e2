//! The machinery behind a stream: its source, its read cursors and their
//! buffers, and the waiters of readers that found nothing to read.
//!
//! A stream value ([`super::Stream`]) is a handle on one *cursor*. Every
//! cursor of a source has its own buffer (a `VecDeque`) of elements it has
//! not read yet; [`super::Stream::clone_stream`] adds a cursor whose buffer is
//! a copy of the original's, and from then on the source appends a copy of
//! every new element to each cursor. With a single cursor (the usual case),
//! an element is moved in on push and moved out on read: no copy, no
//! allocation, and no promise when a reader finds the element already there.
//!
//! A reader that finds its buffer empty registers a waiter (a cancelable
//! [`task`](crate::task)) on its cursor. New data, the end of the stream, or a
//! failed pull wake every waiter of the cursor (as Lwt's push signal does);
//! each of them then reads again, and whoever finds nothing waits again.
//!
//! Nothing here calls user code or resolves a promise while a `RefCell` is
//! borrowed: a callback that reads the stream again never finds it busy.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use crate::core::{apply, wait, wrap, Error, Promise, Resolver};
use crate::list::now;
use crate::sync::WaitQueue;

/// Copies an element for a second cursor.
pub(super) type Cloner<T> = fn(&T) -> T;

pub(super) type PullFn<T> = Box<dyn FnMut() -> Promise<Option<T>>>;
pub(super) type DirectFn<T> = Box<dyn FnMut() -> Option<T>>;

/// One read cursor: what it has not read yet, and who waits for more.
pub(super) struct Slot<T: 'static> {
    id: u64,
    pub(super) buf: VecDeque<T>,
    waiters: WaitQueue<()>,
}

/// A pusher blocked on a full bounded stream: its element and resolver.
pub(super) struct Blocked<T: 'static> {
    pub(super) value: T,
    pub(super) resolver: Resolver<()>,
    pub(super) id: u64,
}

pub(super) enum Source<T: 'static> {
    /// Pulls with a promise-returning function (Lwt's `from`). The function
    /// is taken out while it runs, so a source reading its own stream gets
    /// an error instead of a double borrow.
    From { f: Option<PullFn<T>>, in_flight: bool },
    /// Pulls with a plain function (Lwt's `from_direct`).
    FromDirect { f: Option<DirectFn<T>> },
    /// Fed by a [`super::Pusher`] (Lwt's `create`).
    Push,
    /// Fed by a [`super::BoundedPush`] (Lwt's `create_bounded`).
    Bounded {
        size: usize,
        blocked: Option<Blocked<T>>,
        next_id: u64,
    },
}

pub(super) struct Shared<T: 'static> {
    slots: RefCell<Vec<Slot<T>>>,
    next_slot: Cell<u64>,
    pub(super) source: RefCell<Source<T>>,
    bounded: bool,
    closed: Cell<bool>,
    closed_signal: RefCell<Option<(Promise<()>, Resolver<()>)>>,
    pub(super) cloner: Cell<Option<Cloner<T>>>,
    /// What `set_reference` keeps alive for as long as the stream lives.
    pub(super) reference: RefCell<Option<Box<dyn Any>>>,
}

/// What a cursor can read right now.
pub(super) enum Avail {
    /// This many elements are buffered (at least the number asked for, or
    /// fewer because the stream ended).
    Ready(usize),
    /// Nothing more until some event: wait on the cursor.
    Pending,
    /// The source failed; the stream goes on (Lwt's rule 48).
    Failed(Error),
}

/// The outcome of reading one element without waiting.
pub(super) enum Polled<T> {
    Item(T),
    End,
    Pending,
    Failed(Error),
}

impl<T: 'static> Shared<T> {
    pub(super) fn new(source: Source<T>) -> Rc<Shared<T>> {
        let bounded = matches!(source, Source::Bounded { .. });
        Rc::new(Shared {
            slots: RefCell::new(Vec::new()),
            next_slot: Cell::new(0),
            source: RefCell::new(source),
            bounded,
            closed: Cell::new(false),
            closed_signal: RefCell::new(None),
            cloner: Cell::new(None),
            reference: RefCell::new(None),
        })
    }

    pub(super) fn is_bounded(&self) -> bool {
        self.bounded
    }

    /// Adds a cursor that has `buf` left to read.
    pub(super) fn add_slot(&self, buf: VecDeque<T>) -> u64 {
        let id = self.next_slot.get();
        self.next_slot.set(id + 1);
        self.slots.borrow_mut().push(Slot {
            id,
            buf,
            waiters: WaitQueue::lazy(),
        });
        id
    }

    pub(super) fn remove_slot(&self, id: u64) {
        let (removed, none_left) = match self.slots.try_borrow_mut() {
            Ok(mut slots) => {
                let removed = slots.iter().position(|s| s.id == id).map(|i| slots.swap_remove(i));
                (removed, slots.is_empty())
            }
            Err(_) => (None, false),
        };
        // The buffered elements are dropped here, outside the borrow.
        drop(removed);
        if none_left {
            // Nobody reads the stream any more: a push blocked on a full
            // bounded stream is let through, its element going away as a
            // later push's would.
            let blocked = match self.source.try_borrow_mut() {
                Ok(mut src) => match &mut *src {
                    Source::Bounded { blocked, .. } => blocked.take(),
                    _ => None,
                },
                Err(_) => None,
            };
            if let Some(b) = blocked {
                let Blocked { value, resolver, .. } = b;
                drop(value);
                if resolver.is_pending() {
                    resolver.wakeup_later(());
                }
            }
        }
    }

    /// Runs `f` on the cursor `id` (`None` if it is gone).
    pub(super) fn with_slot<R>(&self, id: u64, f: impl FnOnce(&mut Slot<T>) -> R) -> Option<R> {
        let mut slots = self.slots.borrow_mut();
        let slot = if slots.len() == 1 && slots[0].id == id {
            &mut slots[0]
        } else {
            slots.iter_mut().find(|s| s.id == id)?
        };
        Some(f(slot))
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// The promise resolved when the end is enqueued (Lwt's `closed`).
    pub(super) fn closed_promise(&self) -> Promise<()> {
        if self.closed.get() {
            return crate::core::resolved(());
        }
        let mut signal = self.closed_signal.borrow_mut();
        let (p, _) = signal.get_or_insert_with(wait);
        p.clone()
    }

    /// Appends a new element to every cursor and wakes their readers.
    #[inline]
    pub(super) fn append(&self, x: T) {
        let mut slots = self.slots.borrow_mut();
        if slots.len() == 1 {
            // The usual case: one reader, no copy.
            let s = &mut slots[0];
            s.buf.push_back(x);
            if s.waiters.is_empty() {
                return;
            }
            let q = s.waiters.clone();
            drop(slots);
            wake(&q);
            return;
        }
        drop(slots);
        self.append_slow(x);
    }

    fn append_slow(&self, x: T) {
        let mut to_wake = Vec::new();
        let dropped = {
            let mut slots = self.slots.borrow_mut();
            let n = slots.len();
            if n == 0 {
                Some(x)
            } else {
                if let Some(copy) = self.cloner.get() {
                    for s in &mut slots[..n - 1] {
                        s.buf.push_back(copy(&x));
                    }
                }
                slots[n - 1].buf.push_back(x);
                for s in slots.iter() {
                    if !s.waiters.is_empty() {
                        to_wake.push(s.waiters.clone());
                    }
                }
                None
            }
        };
        // Nobody reads this stream any more: the element goes away.
        drop(dropped);
        wake_all(to_wake);
    }

    /// How many elements the first cursor has unread (`None` with no
    /// cursor left); bounded streams have exactly one cursor.
    pub(super) fn first_len(&self) -> Option<usize> {
        self.slots.borrow().first().map(|s| s.buf.len())
    }

    /// Wakes every waiting reader of every cursor.
    pub(super) fn wake_readers(&self) {
        let queues: Vec<WaitQueue<()>> = self.slots.borrow().iter().map(|s| s.waiters.clone()).collect();
        wake_all(queues);
    }

    /// Enqueues the end of the stream: wakes every reader, rejects a blocked
    /// bounded pusher with `Closed`, resolves [`Shared::closed_promise`].
    pub(super) fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        let blocked = match &mut *self.source.borrow_mut() {
            Source::Bounded { blocked, .. } => blocked.take(),
            _ => None,
        };
        let to_wake: Vec<WaitQueue<()>> = self.slots.borrow().iter().map(|s| s.waiters.clone()).collect();
        let signal = self.closed_signal.borrow_mut().take();
        if let Some(b) = blocked {
            if b.resolver.is_pending() {
                b.resolver.wakeup_later_exn(Error::new(super::Closed));
            }
        }
        wake_all(to_wake);
        if let Some((_, r)) = signal {
            if r.is_pending() {
                r.wakeup(());
            }
        }
    }

    /// A pull failed: every reader waiting on it receives the error.
    fn fail_waiters(&self, e: Error) {
        let queues: Vec<WaitQueue<()>> = self.slots.borrow().iter().map(|s| s.waiters.clone()).collect();
        for q in queues {
            q.drain_each(|(r, ())| r.wakeup_later_exn(e.clone()));
        }
    }

    /// After a reader took an element from a bounded stream: moves the
    /// blocked pusher's element into the buffer if there is room now.
    pub(super) fn refill(&self) {
        let moved = {
            let mut src = self.source.borrow_mut();
            let Source::Bounded { size, blocked, .. } = &mut *src else {
                return;
            };
            if blocked.is_none() {
                return;
            }
            let mut slots = self.slots.borrow_mut();
            match slots.first_mut() {
                Some(s) if s.buf.len() < *size => match blocked.take() {
                    Some(b) => {
                        s.buf.push_back(b.value);
                        Some(b.resolver)
                    }
                    None => None,
                },
                _ => None,
            }
        };
        if let Some(r) = moved {
            if r.is_pending() {
                r.wakeup_later(());
            }
        }
    }
}

/// Wakes every reader waiting on one cursor.
fn wake(q: &WaitQueue<()>) {
    q.drain_each(|(r, ())| r.wakeup_later(()));
}

fn wake_all(queues: Vec<WaitQueue<()>>) {
    for q in &queues {
        wake(q);
    }
}

/// A handle on one cursor; dropping the last handle removes the cursor.
pub(super) struct Handle<T: 'static> {
    pub(super) shared: Rc<Shared<T>>,
    pub(super) id: u64,
}

impl<T: 'static> Drop for Handle<T> {
    fn drop(&mut self) {
        self.shared.remove_slot(self.id);
    }
}

enum Pull<T: 'static> {
    Direct(Option<DirectFn<T>>),
    From(Option<PullFn<T>>),
    Unblock(T, Resolver<()>),
}

impl<T: 'static> Handle<T> {
    pub(super) fn new(shared: Rc<Shared<T>>, buf: VecDeque<T>) -> Rc<Handle<T>> {
        let id = shared.add_slot(buf);
        Rc::new(Handle { shared, id })
    }

    fn buffered(&self) -> usize {
        self.shared.with_slot(self.id, |s| s.buf.len()).unwrap_or(0)
    }

    /// Makes at least `n` elements available without waiting, pulling from
    /// the source as needed; says how many are buffered, or that the reader
    /// must wait, or that the source failed.
    pub(super) fn ensure(&self, n: usize) -> Avail {
        loop {
            let have = self.buffered();
            if have >= n || self.shared.is_closed() {
                return Avail::Ready(have);
            }
            let pull = {
                let mut src = self.shared.source.borrow_mut();
                match &mut *src {
                    Source::Push => return Avail::Pending,
                    Source::Bounded { blocked, .. } => match blocked.take() {
                        Some(b) => Pull::Unblock(b.value, b.resolver),
                        None => return Avail::Pending,
                    },
                    Source::FromDirect { f } => Pull::Direct(f.take()),
                    Source::From { in_flight: true, .. } => return Avail::Pending,
                    Source::From { f, .. } => Pull::From(f.take()),
                }
            };
            match pull {
                Pull::Unblock(x, r) => {
                    // Readers want more than the bound allows (a size-0
                    // stream, or `npeek` past the size): take the blocked
                    // element now.
                    self.shared.append(x);
                    if r.is_pending() {
                        r.wakeup_later(());
                    }
                }
                Pull::Direct(None) | Pull::From(None) => {
                    return Avail::Failed(Error::invalid_argument(
                        "lwt::stream: the stream's source function read its own stream",
                    ))
                }
                Pull::Direct(Some(mut f)) => {
                    let p = wrap(&mut f);
                    if let Source::FromDirect { f: slot } = &mut *self.shared.source.borrow_mut() {
                        *slot = Some(f);
                    }
                    match now(p) {
                        Ok(Ok(Some(x))) => self.shared.append(x),
                        Ok(Ok(None)) => self.shared.close(),
                        Ok(Err(e)) => return Avail::Failed(e),
                        Err(_) => return Avail::Pending,
                    }
                }
                Pull::From(Some(mut f)) => {
                    let p = apply(|()| f(), ());
                    let pending = match now(p) {
                        Ok(outcome) => {
                            self.put_back(f, false);
                            match outcome {
                                Ok(Some(x)) => self.shared.append(x),
                                Ok(None) => self.shared.close(),
                                Err(e) => return Avail::Failed(e),
                            }
                            continue;
                        }
                        Err(pending) => pending,
                    };
                    self.put_back(f, true);
                    let shared = self.shared.clone();
                    let done = pending.then(move |r| {
                        if let Source::From { in_flight, .. } = &mut *shared.source.borrow_mut() {
                            *in_flight = false;
                        }
                        match r {
                            Ok(Some(x)) => shared.append(x),
                            Ok(None) => shared.close(),
                            Err(e) => shared.fail_waiters(e),
                        }
                        crate::core::resolved(())
                    });
                    drop(done);
                    return Avail::Pending;
                }
            }
        }
    }

    fn put_back(&self, f: PullFn<T>, in_flight_now: bool) {
        if let Source::From { f: slot, in_flight } = &mut *self.shared.source.borrow_mut() {
            *slot = Some(f);
            *in_flight = in_flight_now;
        }
    }

    /// Takes the first buffered element (a bounded stream then lets a
    /// blocked pusher in).
    pub(super) fn take_front(&self) -> Option<T> {
        let x = self.shared.with_slot(self.id, |s| s.buf.pop_front()).flatten();
        if x.is_some() && self.shared.is_bounded() {
            self.shared.refill();
        }
        x
    }

    /// Puts an element back in front, as if it had not been read.
    pub(super) fn unget(&self, x: T) {
        let _ = self.shared.with_slot(self.id, |s| s.buf.push_front(x));
    }

    /// Reads one element if that needs no waiting.
    #[inline]
    pub(super) fn poll(&self) -> Polled<T> {
        let fast = self.shared.with_slot(self.id, |s| s.buf.pop_front()).flatten();
        if let Some(x) = fast {
            if self.shared.is_bounded() {
                self.shared.refill();
            }
            return Polled::Item(x);
        }
        match self.ensure(1) {
            Avail::Ready(0) => Polled::End,
            Avail::Ready(_) => match self.take_front() {
                Some(x) => Polled::Item(x),
                None => Polled::End,
            },
            Avail::Pending => Polled::Pending,
            Avail::Failed(e) => Polled::Failed(e),
        }
    }

    /// A promise fulfilled when something happens on this cursor (new data,
    /// the end) or rejected when a pull fails. Cancelable.
    pub(super) fn wait(&self) -> Promise<()> {
        match self.shared.with_slot(self.id, |s| s.waiters.clone()) {
            Some(q) => q.wait(),
            None => crate::core::resolved(()),
        }
    }

    /// Replaces this cursor's buffer (used by `parse` to rewind).
    pub(super) fn set_buffer(&self, buf: VecDeque<T>) {
        let old = self.shared.with_slot(self.id, |s| std::mem::replace(&mut s.buf, buf));
        drop(old);
    }

    /// Takes this cursor's buffer out.
    pub(super) fn take_buffer(&self) -> VecDeque<T> {
        self.shared
            .with_slot(self.id, |s| std::mem::take(&mut s.buf))
            .unwrap_or_default()
    }
}
