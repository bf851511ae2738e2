//! The engine of one loop thread: a `mio::Poll` with the fd waiters, the
//! timers, the table of jobs running on worker threads, and the signal
//! handlers (Lwt_engine's role, with one backend).
//!
//! Ownership rule that everything here follows: the engine is a thread-local
//! `Rc`, its tables sit in `RefCell`s, and **no user code ever runs while a
//! table is borrowed**. `iter` first collects what became ready (resolvers,
//! completions) into local vectors, releases every borrow, then resolves. A
//! callback can therefore freely register, cancel, close or sleep again.

use std::any::Any;
use std::cell::{Cell, OnceCell, RefCell};
use std::io;
use std::os::fd::RawFd;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use super::remote::{Message, Remote};
use super::timers::{TimerId, Timers};
use crate::core::{freelist, Interceptor};
use crate::{Error, Promise, Resolver};

/// The token of the `mio::Waker`; fd registrations use their slab keys.
const WAKER: Token = Token(usize::MAX);

/// How many iterations may skip the OS poll while there is ready work.
///
/// When callbacks keep pausing, the loop never blocks; asking the kernel for
/// fd readiness on every iteration would cost one `epoll_wait` syscall per
/// iteration, which dominates a pause-only loop (it is what makes tokio's
/// `yield_now` slow). So while there is ready work, the loop polls the OS
/// with a zero timeout only every `OS_POLL_INTERVAL` iterations — and not at
/// all while no fd waiter is registered, since then there is nothing to
/// learn from the kernel. Timers (a clock read) and worker-thread
/// completions (an atomic load) are still checked on *every* iteration, so
/// only fd readiness is delayed, by at most `OS_POLL_INTERVAL - 1` iterations.
pub(crate) const OS_POLL_INTERVAL: u32 = 16;

/// A waiter on one direction of one fd.
struct Waiter {
    id: u64,
    on_ready: OnReady,
}

/// What a waiter does when its direction becomes ready.
enum OnReady {
    /// Fulfils a promise of `()` (`wait_read`, `connect`, ...).
    Resolve(Resolver<()>),
    /// Retries an I/O call in place (see [`Retry`]).
    Retry(RetryBox),
}

/// An I/O call that waits for its fd: `retry` runs its system call again
/// once the direction is ready.
///
/// Why not a promise of readiness with the retry bound to it: an I/O wait is
/// the one pending step of every non-blocking call, and a `bind` on the
/// readiness promise costs a second promise node, its callback and its
/// storage snapshot, per wait. A retry object is one allocation (a block of
/// the promise free lists, see [`RetryBox`]), resolves the call's own
/// promise directly, and stays registered (no new waiter) if the readiness
/// was spurious.
///
/// # Canceling a waiting call
///
/// The call's promise is made with the fd's [`Interceptor`] (one per
/// registration, in its [`IoEntry`]) rather than as a `task()` with an
/// `on_cancel` hook: canceling it calls the interceptor with the promise's
/// address, which finds the call by [`Retry::addr`] among the fd's waiters,
/// or among the calls already collected for this iteration (`ready`), takes
/// it out and [`Retry::cancel`]s it. So a wait costs a reference count of
/// the interceptor, where the hook cost a block of the free lists, its
/// capture and its release: echo_raw, 3,684 -> 3,574 instructions per round
/// trip. The promise is rejected in the second phase of `cancel` (when
/// the interceptor runs) rather than the first; nothing of the call can
/// run in between.
pub(crate) trait Retry {
    /// Tries the call again: `true` once it resolved its promise, `false` if
    /// the call would still block (it is then registered again).
    fn retry(&mut self) -> bool;
    /// The fd left the poller (closed or aborted): rejects with `e`.
    fn fail(&mut self, e: Error);
    /// The address of the call's promise, as its interceptor is given it.
    fn addr(&self) -> *const ();
    /// The call's promise was canceled: rejects it with `Canceled`, and
    /// nothing of the call runs.
    fn cancel(&mut self);
}

/// A `Box<dyn Retry>` whose memory comes from the per-thread free lists of
/// the promise core: every I/O wait makes one, so a `malloc` and a `free`
/// per wait showed in the echo profile.
pub(crate) struct RetryBox(NonNull<dyn Retry>);

impl RetryBox {
    pub(crate) fn new<R: Retry + 'static>(call: R) -> RetryBox {
        RetryBox(freelist::boxed(call))
    }

    /// [`Retry::retry`]; the box back if the call would still block.
    fn retry(mut self) -> Option<RetryBox> {
        // SAFETY: the box owns a live object.
        if unsafe { self.0.as_mut() }.retry() {
            None
        } else {
            Some(self)
        }
    }

    /// [`Retry::fail`], then frees the box.
    fn fail(mut self, e: Error) {
        // SAFETY: the box owns a live object.
        unsafe { self.0.as_mut() }.fail(e)
    }

    /// [`Retry::addr`].
    fn addr(&self) -> *const () {
        // SAFETY: the box owns a live object.
        unsafe { self.0.as_ref() }.addr()
    }

    /// [`Retry::cancel`], then frees the box.
    fn cancel(mut self) {
        // SAFETY: the box owns a live object.
        unsafe { self.0.as_mut() }.cancel()
    }
}

impl Drop for RetryBox {
    fn drop(&mut self) {
        // SAFETY: the block came from `freelist::boxed` and is dropped once.
        unsafe { freelist::drop_boxed(self.0) }
    }
}

/// What became ready in one iteration, to run once no table is borrowed.
pub(crate) enum Wake {
    /// A promise to fulfil.
    Resolve(Resolver<()>),
    /// An I/O call to retry; registered again under `key`, `dir` and `id`
    /// (so that canceling still finds it) if it would still block.
    Retry {
        key: usize,
        dir: Dir,
        id: u64,
        call: RetryBox,
    },
    /// Taken out: run already, or canceled while waiting its turn.
    Done,
}

impl From<Resolver<()>> for Wake {
    fn from(r: Resolver<()>) -> Wake {
        Wake::Resolve(r)
    }
}

/// A waiter removed with its fd (by `deregister`), to reject.
pub(crate) struct Orphaned(OnReady);

impl Orphaned {
    /// Rejects the waiter's promise with `e`.
    pub(crate) fn fail(self, e: Error) {
        match self.0 {
            OnReady::Resolve(r) => r.wakeup_exn(e),
            OnReady::Retry(call) => call.fail(e),
        }
    }
}

struct IoEntry {
    readers: Vec<Waiter>,
    writers: Vec<Waiter>,
    /// What the poller last told about the fd, shared with its handle.
    readiness: Rc<Readiness>,
    /// Cancels the retried calls waiting on this fd (see [`Retry`]).
    cancel: Rc<Interceptor>,
}

/// What is known about the readiness of one registered fd, shared between
/// the engine (which sets it from the poller's events) and the fd's handle
/// (which clears it when a call shows the fd is not ready any more).
///
/// # Why
///
/// The poller is edge-triggered: it reports a change once, whether or not
/// anybody waits at that moment. Without a memory of those reports, every
/// I/O call must first try its system call to learn whether the fd is
/// ready, and a call that comes when the fd is known to be drained pays a
/// failed syscall (`EAGAIN`) before it waits. With it, a call on a
/// registered fd whose direction is known not ready waits at once.
///
/// A direction is marked ready by every event of the poller that would wake
/// its waiters (readable, hang-up, error), and not ready by a call that
/// failed with `EAGAIN`, or by a *short read* on a TCP socket, which shows
/// the kernel's receive queue was emptied (this is what tokio does too).
/// Marking "not ready" is only ever done right after a syscall that showed
/// it, and any data arriving later makes the kernel queue a new edge, so a
/// direction marked not ready always gets an event when it becomes ready:
/// the memory can cost a syscall when stale the other way, never a hang.
///
/// The end of the input (a hang-up) and errors are remembered for good, as
/// tokio does: a read that returned the last bytes before a FIN is short,
/// yet the next one returns 0 at once, and no new edge would announce it.
///
/// A TCP read stops short before urgent (out-of-band) data even when more
/// is queued after it; TCP fds are therefore registered for priority events
/// too, and once one was seen (urgent data arrived) short reads no longer
/// count as "drained" on that fd.
#[derive(Debug)]
pub(crate) struct Readiness {
    bits: Cell<u8>,
}

impl Readiness {
    const READ: u8 = 1;
    const WRITE: u8 = 2;
    /// A short read shows the receive queue is empty (a TCP socket).
    const SHORT_READ_DRAINS: u8 = 4;
    /// Urgent data was seen: short reads prove nothing any more.
    const URGENT: u8 = 8;
    /// The input ended or the fd has an error: reads never wait again.
    const READ_CLOSED: u8 = 16;
    /// The output was shut or the fd has an error: writes never wait again.
    const WRITE_CLOSED: u8 = 32;
    /// A stream socket: reads and writes may use `recv` / `send`.
    const STREAM_SOCKET: u8 = 64;

    /// Both directions possibly ready, nothing known about the fd's kind.
    pub(crate) fn new() -> Readiness {
        Readiness {
            bits: Cell::new(Self::READ | Self::WRITE),
        }
    }

    fn bit(dir: Dir) -> u8 {
        match dir {
            Dir::Read => Self::READ,
            Dir::Write => Self::WRITE,
        }
    }

    /// The bits that make a call in direction `dir` try its syscall.
    fn bits_ready(dir: Dir) -> u8 {
        match dir {
            Dir::Read => Self::READ | Self::READ_CLOSED,
            Dir::Write => Self::WRITE | Self::WRITE_CLOSED,
        }
    }

    /// Whether direction `dir` may be ready (a call should try the syscall).
    #[inline]
    pub(crate) fn may_be_ready(&self, dir: Dir) -> bool {
        self.bits.get() & Self::bits_ready(dir) != 0
    }

    /// A call in direction `dir` failed with `EAGAIN`.
    #[inline]
    pub(crate) fn clear(&self, dir: Dir) {
        self.bits.set(self.bits.get() & !Self::bit(dir));
    }

    /// A read returned fewer bytes than asked for (and more than 0).
    #[inline]
    pub(crate) fn short_read(&self) {
        let b = self.bits.get();
        if b & (Self::SHORT_READ_DRAINS | Self::URGENT) == Self::SHORT_READ_DRAINS {
            self.bits.set(b & !Self::READ);
        }
    }

    /// Forgets what was learnt (the fd left the poller): both directions
    /// possibly ready again.
    pub(crate) fn reset(&self) {
        self.bits
            .set(Self::READ | Self::WRITE | (self.bits.get() & Self::STREAM_SOCKET));
    }

    /// Whether the fd is known to be a stream socket, on which `recv(2)` and
    /// `send(2)` without flags do what `read(2)` and `write(2)` do, on a
    /// shorter path through the kernel (no VFS layer, no fsnotify hooks).
    /// Known once the fd was registered.
    #[inline]
    pub(crate) fn is_stream_socket(&self) -> bool {
        self.bits.get() & Self::STREAM_SOCKET != 0
    }

    /// Records what one event of the poller says.
    fn record(&self, ev: &mio::event::Event) {
        let err = ev.is_error();
        let mut b = 0;
        if ev.is_priority() {
            b |= Self::URGENT;
        }
        if ev.is_readable() {
            b |= Self::READ;
        }
        if ev.is_read_closed() || err {
            b |= Self::READ | Self::READ_CLOSED;
        }
        if ev.is_writable() {
            b |= Self::WRITE;
        }
        if ev.is_write_closed() || err {
            b |= Self::WRITE | Self::WRITE_CLOSED;
        }
        self.set(b);
    }

    fn set(&self, bits: u8) {
        self.bits.set(self.bits.get() | bits);
    }
}

impl Waiter {
    fn wake(self, key: usize, dir: Dir) -> Wake {
        match self.on_ready {
            OnReady::Resolve(r) => Wake::Resolve(r),
            OnReady::Retry(call) => Wake::Retry {
                key,
                dir,
                id: self.id,
                call,
            },
        }
    }
}

/// Which readiness an fd waiter waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    Read,
    Write,
}

type Completion = Box<dyn FnOnce(Box<dyn Any + Send>)>;
type SignalHandler = Rc<dyn Fn(i32)>;

pub(crate) struct Engine {
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    pub(crate) remote: Arc<Remote>,
    io: RefCell<Slab<IoEntry>>,
    readers: Cell<usize>,
    writers: Cell<usize>,
    timers: RefCell<Timers>,
    jobs: RefCell<Slab<Completion>>,
    signals: RefCell<Slab<(i32, SignalHandler)>>,
    skipped_polls: Cell<u32>,
    next_waiter: Cell<u64>,
    /// What one iteration made ready; kept between iterations so its
    /// (possibly large) buffer is not freed and reallocated each time.
    /// It stays here while it is worked through (from `next_ready` on), so
    /// that canceling a call collected in it finds the call.
    ready: RefCell<Vec<Wake>>,
    /// The first entry of `ready` not yet run.
    next_ready: Cell<usize>,
}

thread_local! {
    /// Set once, at first use, and never replaced: a thread has one engine
    /// for its whole life, so a waiter's `(key, dir, id)` always names a
    /// waiter of the engine that is there when it is canceled.
    static ENGINE: OnceCell<Rc<Engine>> = const { OnceCell::new() };
}

/// The engine of the calling thread, created on first use.
pub(crate) fn engine() -> io::Result<Rc<Engine>> {
    with_engine(Rc::clone)
}

/// Calls `f` with the engine of the calling thread, created on first use.
///
/// The I/O wait path uses this rather than [`engine`]: lending the engine
/// saves the count traffic of an `Rc` clone and its drop on every wait.
#[inline]
pub(crate) fn with_engine<R>(f: impl FnOnce(&Rc<Engine>) -> R) -> io::Result<R> {
    let r = ENGINE.try_with(|slot| match slot.get() {
        Some(e) => Ok(f(e)),
        None => make_engine(slot).map(f),
    });
    match r {
        Ok(r) => r,
        Err(_) => Err(io::Error::other("the event loop of this thread is gone")),
    }
}

#[cold]
fn make_engine(slot: &OnceCell<Rc<Engine>>) -> io::Result<&Rc<Engine>> {
    let e = Rc::new(Engine::new()?);
    let remote = e.remote.clone();
    crate::core::set_remote_wake_notifier(Arc::new(move || remote.wake()));
    Ok(slot.get_or_init(|| e))
}

/// [`Engine::wait_io`] on the engine of the calling thread.
pub(crate) fn wait_io(key: usize, dir: Dir) -> Promise<()> {
    with_engine(|e| e.wait_io(key, dir)).unwrap_or_else(|e| crate::rejected(Error::io(e)))
}

/// [`Engine::wait_retry`] on the engine of the calling thread (the
/// promise is rejected if the thread's loop is gone).
#[inline]
pub(crate) fn wait_retry<T: 'static>(
    key: usize,
    dir: Dir,
    make: impl FnOnce(Resolver<T>) -> RetryBox,
) -> (Promise<T>, Option<u64>) {
    // `make` is lent, not moved, into the closure: it holds the whole call
    // (with a channel's continuation, a few hundred bytes), and moving it
    // through the closures cost two `memcpy`s per wait (echo: 4,797 ->
    // 4,708 instructions per round trip; echo_raw: 3,574 -> 3,528).
    let mut make = Some(make);
    with_engine(|e| e.wait_retry(key, dir, &mut make)).unwrap_or_else(|e| (crate::rejected(Error::io(e)), None))
}

/// The engine of the calling thread if it exists (never creates one).
pub(crate) fn existing_engine() -> Option<Rc<Engine>> {
    ENGINE.try_with(|slot| slot.get().cloned()).ok().flatten()
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.remote.close();
        crate::unix::signals::forget_remote(&self.remote);
    }
}

impl Engine {
    fn new() -> io::Result<Engine> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        Ok(Engine {
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(256)),
            remote: Arc::new(Remote::new(waker)),
            io: RefCell::new(Slab::new()),
            readers: Cell::new(0),
            writers: Cell::new(0),
            timers: RefCell::new(Timers::new()),
            jobs: RefCell::new(Slab::new()),
            signals: RefCell::new(Slab::new()),
            skipped_polls: Cell::new(0),
            next_waiter: Cell::new(0),
            ready: RefCell::new(Vec::new()),
            next_ready: Cell::new(0),
        })
    }

    // ----- fds -------------------------------------------------------------

    /// Registers `fd` with the poller for both directions (edge-triggered,
    /// so registering both costs nothing while nobody waits); the poller's
    /// events are recorded in `readiness`. `Ok(None)` means the kernel
    /// cannot poll this kind of fd (a regular file): it is then always
    /// ready.
    pub(crate) fn register(&self, fd: RawFd, readiness: &Rc<Readiness>) -> io::Result<Option<usize>> {
        let (stream, tcp) = stream_kind(fd);
        let mut interest = Interest::READABLE | Interest::WRITABLE;
        if tcp {
            interest |= Interest::PRIORITY;
        }
        let mut io = self.io.borrow_mut();
        let entry = io.vacant_entry();
        let key = entry.key();
        let r = self
            .poll
            .borrow()
            .registry()
            .register(&mut SourceFd(&fd), Token(key), interest);
        match r {
            Ok(()) => {
                if stream {
                    readiness.set(Readiness::STREAM_SOCKET);
                }
                if tcp {
                    readiness.set(Readiness::SHORT_READ_DRAINS);
                }
                entry.insert(IoEntry {
                    readers: Vec::new(),
                    writers: Vec::new(),
                    readiness: readiness.clone(),
                    cancel: Rc::new(Interceptor::new(move |node| {
                        if let Some(e) = existing_engine() {
                            e.cancel_call(key, node);
                        }
                    })),
                });
                Ok(Some(key))
            }
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes `fd` from the poller and returns its waiters (to be rejected
    /// by the caller, outside any borrow).
    pub(crate) fn deregister(&self, key: usize, fd: RawFd) -> Vec<Orphaned> {
        let _ = self.poll.borrow().registry().deregister(&mut SourceFd(&fd));
        let Some(entry) = self.io.borrow_mut().try_remove(key) else {
            return Vec::new();
        };
        entry.readiness.reset();
        self.readers.set(self.readers.get() - entry.readers.len());
        self.writers.set(self.writers.get() - entry.writers.len());
        entry
            .readers
            .into_iter()
            .chain(entry.writers)
            .map(|w| Orphaned(w.on_ready))
            .collect()
    }

    /// A cancelable promise fulfilled at the next readiness edge of the fd
    /// registered under `key`. Canceling it removes the waiter.
    pub(crate) fn wait_io(&self, key: usize, dir: Dir) -> Promise<()> {
        let (p, r) = crate::task::<()>();
        match self.add_waiter(key, dir, OnReady::Resolve(r)) {
            Ok(id) => {
                self.remove_on_cancel(&p, key, dir, id);
                p
            }
            Err(_) => crate::rejected(Error::io(io::Error::from_raw_os_error(libc::EBADF))),
        }
    }

    /// Registers the call that `make` builds around the resolver of its
    /// promise, to be retried at the next readiness edge of the fd
    /// registered under `key`; canceling the promise removes it (see
    /// [`Retry`]). If the fd is not registered any more, the call is failed
    /// with `EBADF`. Returns the promise and the waiter's id, for
    /// [`Engine::fail_waiter`].
    pub(crate) fn wait_retry<T: 'static>(
        &self,
        key: usize,
        dir: Dir,
        make: &mut Option<impl FnOnce(Resolver<T>) -> RetryBox>,
    ) -> (Promise<T>, Option<u64>) {
        let Some(make) = make.take() else {
            return (
                crate::rejected(Error::failure(
                    "lwt: internal error: an I/O wait's call was already taken",
                )),
                None,
            );
        };
        // No user code runs while the table is borrowed: making a promise
        // and a retry object is the runtime's own work.
        let mut io = self.io.borrow_mut();
        let Some(entry) = io.get_mut(key) else {
            drop(io);
            let (p, out) = crate::task::<T>();
            make(out).fail(Error::io(io::Error::from_raw_os_error(libc::EBADF)));
            return (p, None);
        };
        let (p, out) = crate::core::intercepted::<T>(&entry.cancel);
        let id = self.next_waiter.get();
        self.next_waiter.set(id + 1);
        let on_ready = OnReady::Retry(make(out));
        self.push_waiter(entry, dir, Waiter { id, on_ready });
        (p, Some(id))
    }

    /// The interceptor of the fd registered under `key`: the retried call
    /// whose promise is at `node` was canceled. Takes it off the fd, or out
    /// of this iteration's `ready` entries, and rejects it.
    fn cancel_call(&self, key: usize, node: *const ()) {
        let found = self.take_call(key, node).or_else(|| self.take_ready_call(node));
        // Rejected here, outside the tables' borrows.
        if let Some(call) = found {
            call.cancel();
        }
    }

    fn take_call(&self, key: usize, node: *const ()) -> Option<RetryBox> {
        let mut io = self.io.borrow_mut();
        let entry = io.get_mut(key)?;
        for (list, count) in [(&mut entry.readers, &self.readers), (&mut entry.writers, &self.writers)] {
            let at = list
                .iter()
                .position(|w| matches!(&w.on_ready, OnReady::Retry(c) if c.addr() == node));
            if let Some(i) = at {
                count.set(count.get() - 1);
                if let OnReady::Retry(c) = list.swap_remove(i).on_ready {
                    return Some(c);
                }
            }
        }
        None
    }

    fn take_ready_call(&self, node: *const ()) -> Option<RetryBox> {
        let mut ready = self.ready.borrow_mut();
        let from = self.next_ready.get().min(ready.len());
        let w = ready[from..]
            .iter_mut()
            .find(|w| matches!(w, Wake::Retry { call, .. } if call.addr() == node))?;
        match std::mem::replace(w, Wake::Done) {
            Wake::Retry { call, .. } => Some(call),
            _ => None,
        }
    }

    /// Takes the waiter `id` (from [`Engine::wait_retry`]) off its fd and
    /// fails it with `e`, if it still waits (`abort` of a channel).
    pub(crate) fn fail_waiter(&self, key: usize, dir: Dir, id: u64, e: Error) {
        if let Some(w) = self.take_waiter(key, dir, id) {
            match w.on_ready {
                OnReady::Retry(call) => call.fail(e),
                OnReady::Resolve(r) => {
                    let _ = r.try_wakeup_result(Err(e));
                }
            }
        }
    }

    fn add_waiter(&self, key: usize, dir: Dir, on_ready: OnReady) -> Result<u64, OnReady> {
        let id = self.next_waiter.get();
        self.next_waiter.set(id + 1);
        self.put_waiter(key, dir, id, on_ready).map(|()| id)
    }

    fn put_waiter(&self, key: usize, dir: Dir, id: u64, on_ready: OnReady) -> Result<(), OnReady> {
        let mut io = self.io.borrow_mut();
        let Some(entry) = io.get_mut(key) else {
            return Err(on_ready);
        };
        self.push_waiter(entry, dir, Waiter { id, on_ready });
        Ok(())
    }

    /// Adds `w` to the waiters of `entry` in direction `dir`, and counts it.
    #[inline]
    fn push_waiter(&self, entry: &mut IoEntry, dir: Dir, w: Waiter) {
        let (list, count) = match dir {
            Dir::Read => (&mut entry.readers, &self.readers),
            Dir::Write => (&mut entry.writers, &self.writers),
        };
        list.push(w);
        count.set(count.get() + 1);
    }

    /// Makes canceling `p` remove the waiter `(key, dir, id)`.
    ///
    /// The hook finds the engine through the thread-local slot when it
    /// runs, rather than keeping a `Weak` to it: the engine of a thread is
    /// never replaced (see `ENGINE`), canceling is rare, and every wait
    /// paid a weak count up and down for it (echo_raw: 4,073 -> 3,903
    /// instructions per round trip, with [`with_engine`]).
    fn remove_on_cancel<T: 'static>(&self, p: &Promise<T>, key: usize, dir: Dir, id: u64) {
        p.on_cancel(move || {
            if let Some(e) = existing_engine() {
                e.remove_waiter(key, dir, id);
            }
        });
    }

    fn remove_waiter(&self, key: usize, dir: Dir, id: u64) {
        // Dropped here, outside the table's borrow (with its resolver).
        drop(self.take_waiter(key, dir, id));
    }

    fn take_waiter(&self, key: usize, dir: Dir, id: u64) -> Option<Waiter> {
        let removed = {
            let mut io = self.io.borrow_mut();
            let entry = io.get_mut(key)?;
            let list = match dir {
                Dir::Read => &mut entry.readers,
                Dir::Write => &mut entry.writers,
            };
            list.iter().position(|w| w.id == id).map(|i| list.swap_remove(i))
        };
        if removed.is_some() {
            let c = match dir {
                Dir::Read => &self.readers,
                Dir::Write => &self.writers,
            };
            c.set(c.get() - 1);
        }
        removed
    }

    /// The number of waiters for readability / writability.
    pub(crate) fn io_counts(&self) -> (usize, usize) {
        (self.readers.get(), self.writers.get())
    }

    // ----- timers ----------------------------------------------------------

    /// A cancelable promise fulfilled once `d` has elapsed.
    pub(crate) fn sleep(self: &Rc<Self>, d: Duration) -> Promise<()> {
        let (p, r) = crate::task::<()>();
        let id = self.timers.borrow_mut().add(d, r);
        let weak = Rc::downgrade(self);
        p.on_cancel(move || {
            if let Some(e) = weak.upgrade() {
                e.cancel_timer(id);
            }
        });
        p
    }

    fn cancel_timer(&self, id: TimerId) {
        let r = self.timers.borrow_mut().cancel(id);
        drop(r);
    }

    /// The number of live timers.
    pub(crate) fn timer_count(&self) -> usize {
        self.timers.borrow().len()
    }

    // ----- jobs ------------------------------------------------------------

    /// Records what to do when job `key` completes; the worker posts
    /// `Message::Done(key, payload)`.
    pub(crate) fn add_job(&self, on_done: Completion) -> usize {
        self.jobs.borrow_mut().insert(on_done)
    }

    /// Forgets a job that could not be started.
    pub(crate) fn remove_job(&self, key: usize) {
        let c = self.jobs.borrow_mut().try_remove(key);
        drop(c);
    }

    /// The number of jobs posted by this loop and not yet completed.
    pub(crate) fn job_count(&self) -> usize {
        self.jobs.borrow().len()
    }

    // ----- signals ---------------------------------------------------------

    /// How many signal handlers this loop has installed.
    pub(crate) fn signal_handler_count(&self) -> usize {
        self.signals.borrow().len()
    }

    pub(crate) fn add_signal_handler(&self, sig: i32, f: SignalHandler) -> (usize, bool) {
        let mut s = self.signals.borrow_mut();
        let first = !s.iter().any(|(_, (n, _))| *n == sig);
        (s.insert((sig, f)), first)
    }

    /// Removes a handler; returns its signal and whether it was the last
    /// one for that signal in this loop.
    pub(crate) fn remove_signal_handler(&self, key: usize) -> Option<(i32, bool)> {
        let mut s = self.signals.borrow_mut();
        let (sig, f) = s.try_remove(key)?;
        let last = !s.iter().any(|(_, (n, _))| *n == sig);
        drop(s);
        drop(f);
        Some((sig, last))
    }

    fn dispatch_signal(&self, sig: i32) {
        let handlers: Vec<SignalHandler> = self
            .signals
            .borrow()
            .iter()
            .filter(|(_, (n, _))| *n == sig)
            .map(|(_, (_, f))| f.clone())
            .collect();
        for f in handlers {
            // A panicking handler becomes a rejection sent to the async
            // exception hook, as an exception escaping a Lwt signal handler
            // would reach `!Lwt.async_exception_hook`.
            crate::async_(move || {
                f(sig);
                crate::resolved(())
            });
        }
    }

    // ----- the iteration ---------------------------------------------------

    /// One engine iteration: poll the OS (blocking only if `block`), then
    /// resolve the fd waiters, due timers and completed jobs.
    pub(crate) fn iter(&self, block: bool) {
        let waiting_io = self.readers.get() + self.writers.get() > 0;
        let skipped = self.skipped_polls.get();
        let os_poll = block || (waiting_io && skipped + 1 >= OS_POLL_INTERVAL);
        if !os_poll {
            self.skipped_polls.set(skipped + 1);
            // The turn of a pause loop: no poll due, no timer set, no
            // message from a worker. Nothing to collect, so skip the rest.
            if self.timers.borrow().is_empty() && !self.remote.has_pending() {
                return;
            }
        }
        {
            // Collecting runs no user code, so `ready` stays borrowed.
            let mut ready = self.ready.borrow_mut();
            if os_poll {
                self.skipped_polls.set(0);
                let timeout = if !block || self.remote.has_pending() {
                    Some(Duration::ZERO)
                } else {
                    self.timers.borrow_mut().next_timeout(Instant::now())
                };
                self.poll_os(timeout, &mut ready);
            }
            if !self.timers.borrow().is_empty() {
                // Timers set by the callbacks fired below go in after this
                // collection, so a `sleep(0)` loop cannot keep one iteration
                // busy.
                self.timers.borrow_mut().expire(Instant::now(), &mut ready);
            }
        }
        // Each entry is taken out (leaving `Done`) before it runs, so a
        // panic escaping a callback drops nothing twice; a nested iteration
        // (from a callback) goes on with the same entries, in order.
        while let Some(w) = self.next_wake() {
            match w {
                Wake::Resolve(r) => r.wakeup(()),
                Wake::Retry { key, dir, id, call } => {
                    // Spurious readiness: wait again, as the same waiter.
                    if let Some(call) = call.retry() {
                        if let Err(OnReady::Retry(call)) = self.put_waiter(key, dir, id, OnReady::Retry(call)) {
                            call.fail(Error::io(io::Error::from_raw_os_error(libc::EBADF)));
                        }
                    }
                }
                Wake::Done => {}
            }
        }
        if self.remote.has_pending() {
            self.handle_messages();
        }
    }

    /// The next entry of `ready` to run; empties `ready` once all ran.
    #[inline]
    fn next_wake(&self) -> Option<Wake> {
        let mut ready = self.ready.borrow_mut();
        let i = self.next_ready.get();
        if i < ready.len() {
            self.next_ready.set(i + 1);
            Some(std::mem::replace(&mut ready[i], Wake::Done))
        } else {
            ready.clear();
            self.next_ready.set(0);
            None
        }
    }

    fn poll_os(&self, timeout: Option<Duration>, ready: &mut Vec<Wake>) {
        let mut events = self.events.borrow_mut();
        if let Err(e) = self.poll.borrow_mut().poll(&mut events, timeout) {
            // EINTR (a signal arrived) just ends this poll early. Any other
            // error would be a bug in how we drive epoll; there is nothing
            // to recover, and the next iteration polls again.
            debug_assert_eq!(e.kind(), io::ErrorKind::Interrupted, "poll: {e}");
            return;
        }
        let mut io = self.io.borrow_mut();
        for ev in events.iter() {
            if ev.token() == WAKER {
                continue;
            }
            let key = ev.token().0;
            let Some(entry) = io.get_mut(key) else {
                continue;
            };
            // Errors and hang-ups wake both directions: the retried syscall
            // then reports the error or end of file. An edge of a direction
            // nobody waits on is the common case (a socket registered for
            // both directions reports "writable" with every "readable"),
            // so the empty list is looked at here, not in a call.
            let err = ev.is_error();
            entry.readiness.record(ev);
            if !entry.readers.is_empty() && (ev.is_readable() || ev.is_read_closed() || err) {
                self.readers.set(self.readers.get() - entry.readers.len());
                take_waiters(&mut entry.readers, key, Dir::Read, ready);
            }
            if !entry.writers.is_empty() && (ev.is_writable() || ev.is_write_closed() || err) {
                self.writers.set(self.writers.get() - entry.writers.len());
                take_waiters(&mut entry.writers, key, Dir::Write, ready);
            }
        }
    }

    fn handle_messages(&self) {
        for m in self.remote.take() {
            match m {
                Message::Done(key, payload) => {
                    let c = self.jobs.borrow_mut().try_remove(key);
                    if let Some(c) = c {
                        c(payload);
                    }
                }
                Message::Run(f) => f(),
                Message::Signal(sig) => self.dispatch_signal(sig),
            }
        }
    }
}

/// Moves the waiters of one direction of an fd to `ready`, in order. One
/// waiter is the usual case, and popping it is cheaper than a `drain`.
fn take_waiters(list: &mut Vec<Waiter>, key: usize, dir: Dir, ready: &mut Vec<Wake>) {
    match list.len() {
        0 => {}
        1 => {
            if let Some(w) = list.pop() {
                ready.push(w.wake(key, dir));
            }
        }
        _ => ready.extend(list.drain(..).map(|w| w.wake(key, dir))),
    }
}

/// Whether `fd` is a stream socket, and whether it is a TCP socket (an
/// IPv4 or IPv6 stream socket): the only kind on which a short read is
/// taken to mean "drained" (see [`Readiness`]). Unix stream sockets are
/// left out of that: a read stops short of a message that carries
/// descriptors or credentials.
fn stream_kind(fd: RawFd) -> (bool, bool) {
    let int = |name| crate::unix::sys::getsockopt_int(fd, libc::SOL_SOCKET, name).ok();
    if int(libc::SO_TYPE) != Some(libc::SOCK_STREAM) {
        return (false, false);
    }
    (
        true,
        matches!(int(libc::SO_DOMAIN), Some(libc::AF_INET) | Some(libc::AF_INET6)),
    )
}
