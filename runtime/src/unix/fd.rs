//! File descriptors and the I/O calls on them.
//!
//! How a call runs depends on the descriptor's mode, as in Lwt:
//! - **non-blocking** (sockets and pipes): the system call is tried at once;
//!   on `EAGAIN` the call waits for the next readiness edge of the fd in the
//!   loop's `mio::Poll` and tries again. That wait is cancelable: canceling
//!   the call's promise removes the waiter. The loop remembers what the
//!   poller reported about each registered fd (`Readiness` in the engine),
//!   so a call on an fd known to be drained waits without the failed
//!   syscall first; and the waiting call is retried in place by the engine
//!   (`Retry`), without a promise of readiness bound to a retry. Once the
//!   fd is registered and known to be a stream socket, reads and writes use
//!   `recv(2)` / `send(2)` without flags, which do the same on a shorter
//!   path through the kernel.
//! - **blocking** (regular files, terminals, the standard descriptors): the
//!   call runs as a job on a worker thread, so the loop never blocks. Such a
//!   promise is not cancelable (the thread cannot be interrupted).
//!
//! Buffers are owned and given back: `read(&fd, buf, ofs, len)` resolves to
//! `(buf, n)`. That is how a buffer can be lent to a worker thread or kept
//! across a wait without borrowing problems (OCaml's GC'd `bytes` need no
//! such care). If the promise is canceled the buffer is dropped with it.

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::Rc;

use super::sys;
use crate::main::{with_engine, Dir, Readiness, Retry, RetryBox};
use crate::{Error, Promise, Resolver};

/// The state of a [`FileDescr`] (Lwt_unix's `state`).
#[derive(Clone, Debug)]
pub enum State {
    /// Open and usable.
    Opened,
    /// Closed by [`close`]; every call rejects with `EBADF`.
    Closed,
    /// Aborted by [`abort`]; every call rejects with the given error.
    Aborted(Error),
}

/// Whether the fd is registered with the loop's poller.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reg {
    No,
    Key(usize),
    /// The kernel cannot poll it (a regular file): always ready.
    Unpollable,
}

struct Inner {
    raw: RawFd,
    fd: RefCell<Option<OwnedFd>>,
    /// False for the standard descriptors, which we never close on drop.
    close_on_drop: bool,
    state: RefCell<State>,
    blocking: Cell<bool>,
    reg: Cell<Reg>,
    /// What the poller told about the fd while registered (see
    /// [`Readiness`]); shared with the engine's entry.
    readiness: Rc<Readiness>,
    /// Jobs running on a worker thread with this fd's number.
    in_flight: Cell<u32>,
    /// A close that waits for `in_flight` to reach 0.
    deferred_close: RefCell<Option<(OwnedFd, Resolver<()>)>>,
}

/// A file descriptor used through the event loop (Lwt_unix's `file_descr`).
///
/// Cloning gives another handle to the same descriptor. The descriptor is
/// closed by [`close`], or when the last handle is dropped (a deliberate
/// difference: Lwt relies on an explicit close). Handles belong to the
/// thread that made them.
#[derive(Clone)]
pub struct FileDescr(Rc<Inner>);

impl std::fmt::Debug for FileDescr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDescr")
            .field("fd", &self.0.raw)
            .field("state", &*self.0.state.borrow())
            .field("blocking", &self.0.blocking.get())
            .finish()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Reg::Key(key) = self.reg.get() {
            if let Some(e) = crate::main::existing_engine() {
                drop(e.deregister(key, self.raw));
            }
        }
        if let Some(fd) = self.fd.get_mut().take() {
            if self.close_on_drop {
                drop(fd);
            } else {
                let _ = fd.into_raw_fd();
            }
        }
    }
}

/// `EBADF` as an [`Error`].
pub(crate) fn ebadf() -> Error {
    Error::io(io::Error::from_raw_os_error(libc::EBADF))
}

/// Guesses the mode as Lwt does: FIFOs and sockets are non-blocking,
/// everything else (files, terminals, devices) blocking.
fn guess_blocking(fd: RawFd) -> bool {
    match sys::stat(None, fd, true) {
        Ok(st) => {
            let kind = st.st_mode & libc::S_IFMT;
            !(kind == libc::S_IFIFO || kind == libc::S_IFSOCK)
        }
        Err(_) => true,
    }
}

impl FileDescr {
    fn make(fd: OwnedFd, blocking: bool, close_on_drop: bool) -> FileDescr {
        FileDescr(Rc::new(Inner {
            raw: fd.as_raw_fd(),
            fd: RefCell::new(Some(fd)),
            close_on_drop,
            state: RefCell::new(State::Opened),
            blocking: Cell::new(blocking),
            reg: Cell::new(Reg::No),
            readiness: Rc::new(Readiness::new()),
            in_flight: Cell::new(0),
            deferred_close: RefCell::new(None),
        }))
    }

    /// Wraps an fd we just created in non-blocking mode.
    pub(crate) fn nonblocking(fd: OwnedFd) -> FileDescr {
        FileDescr::make(fd, false, true)
    }

    /// The underlying descriptor number (Lwt's `unix_file_descr`); it stays
    /// owned by this handle.
    pub fn raw_fd(&self) -> RawFd {
        self.0.raw
    }

    /// The state: opened, closed or aborted.
    pub fn state(&self) -> State {
        self.0.state.borrow().clone()
    }

    /// Whether calls on this fd run on worker threads (Lwt's `blocking`,
    /// without the promise: the mode is known when the handle is made).
    pub fn is_blocking(&self) -> bool {
        self.0.blocking.get()
    }

    /// The descriptor number if the fd is usable (Lwt's `check_descriptor`).
    pub(crate) fn check(&self) -> Result<RawFd, Error> {
        match &*self.0.state.borrow() {
            State::Opened => Ok(self.0.raw),
            State::Closed => Err(ebadf()),
            State::Aborted(e) => Err(e.clone()),
        }
    }

    /// Runs `f` with a borrow of the open descriptor.
    pub(crate) fn with_fd<R>(&self, f: impl FnOnce(BorrowedFd<'_>) -> io::Result<R>) -> Result<R, Error> {
        self.check()?;
        let guard = self.0.fd.borrow();
        let fd = guard.as_ref().ok_or_else(ebadf)?;
        f(fd.as_fd()).map_err(Error::io)
    }

    /// A promise fulfilled at the next readiness edge in direction `dir`.
    pub(crate) fn wait_ready(&self, dir: Dir) -> Promise<()> {
        match self.registration() {
            Ok(Some(key)) => crate::main::wait_io(key, dir),
            Ok(None) => crate::resolved(()),
            Err(e) => crate::rejected(e),
        }
    }

    /// The fd's key in the loop's poller, registering the fd on first use;
    /// `None` if the kernel cannot poll it (always ready). A registered fd
    /// needs no look at the engine here: the key is all a wait needs.
    #[inline]
    fn registration(&self) -> Result<Option<usize>, Error> {
        match self.0.reg.get() {
            Reg::Key(k) => Ok(Some(k)),
            Reg::Unpollable => Ok(None),
            Reg::No => self.register(),
        }
    }

    #[cold]
    fn register(&self) -> Result<Option<usize>, Error> {
        match with_engine(|engine| engine.register(self.0.raw, &self.0.readiness)) {
            Ok(Ok(Some(k))) => {
                self.0.reg.set(Reg::Key(k));
                Ok(Some(k))
            }
            Ok(Ok(None)) => {
                self.0.reg.set(Reg::Unpollable);
                Ok(None)
            }
            Ok(Err(e)) | Err(e) => Err(Error::io(e)),
        }
    }

    /// Whether the fd is known to be a stream socket (see
    /// [`Readiness::is_stream_socket`]).
    #[inline]
    pub(crate) fn is_stream_socket(&self) -> bool {
        self.0.readiness.is_stream_socket()
    }

    /// Removes the fd from the poller and rejects its waiters with `err`.
    fn drop_waiters(&self, err: &Error) {
        if let Reg::Key(key) = self.0.reg.replace(Reg::No) {
            if let Some(e) = crate::main::existing_engine() {
                for w in e.deregister(key, self.0.raw) {
                    w.fail(err.clone());
                }
            }
        }
    }
}

/// Makes a [`FileDescr`] of an OS descriptor (Lwt's `of_unix_file_descr`).
///
/// `blocking`: the mode, or `None` to guess it (FIFOs and sockets are
/// non-blocking, anything else blocking). With `set_flags`, the fd's
/// `O_NONBLOCK` flag is set to match the mode.
///
/// ```
/// use std::os::fd::OwnedFd;
/// let file: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
/// let fd = lwt::unix::of_unix_file_descr(file, None, true);
/// assert!(fd.is_blocking());
/// ```
pub fn of_unix_file_descr(fd: OwnedFd, blocking: Option<bool>, set_flags: bool) -> FileDescr {
    let raw = fd.as_raw_fd();
    let blocking = blocking.unwrap_or_else(|| guess_blocking(raw));
    if set_flags {
        // Setting the flag can only fail on a bad fd, which an OwnedFd is not.
        let _ = sys::set_nonblocking(raw, !blocking);
    }
    FileDescr::make(fd, blocking, true)
}

thread_local! {
    static STD: [FileDescr; 3] = [0, 1, 2].map(|n| {
        FileDescr::make(sys::owned(n), true, false)
    });
}

/// The standard input, in blocking mode; its flags are never changed and it
/// is not closed when dropped (Lwt's `stdin`).
pub fn stdin() -> FileDescr {
    STD.with(|s| s[0].clone())
}

/// The standard output (see [`stdin`]).
pub fn stdout() -> FileDescr {
    STD.with(|s| s[1].clone())
}

/// The standard error (see [`stdin`]).
pub fn stderr() -> FileDescr {
    STD.with(|s| s[2].clone())
}

/// Whether the fd is in blocking mode, as a promise (Lwt's `blocking`).
pub fn blocking(fd: &FileDescr) -> Promise<bool> {
    match fd.check() {
        Ok(_) => crate::resolved(fd.is_blocking()),
        Err(e) => crate::rejected(e),
    }
}

/// Switches the fd to blocking (calls on worker threads) or non-blocking
/// (calls through the poller) mode; with `set_flags`, also sets or clears
/// `O_NONBLOCK` (Lwt's `set_blocking`).
///
/// ```
/// let (r, _w) = lwt::unix::pipe().unwrap();
/// assert!(!r.is_blocking());
/// lwt::unix::set_blocking(&r, true, true).unwrap();
/// assert!(r.is_blocking());
/// ```
pub fn set_blocking(fd: &FileDescr, blocking: bool, set_flags: bool) -> Result<(), Error> {
    let raw = fd.check()?;
    if set_flags {
        sys::set_nonblocking(raw, !blocking).map_err(Error::io)?;
    }
    fd.0.blocking.set(blocking);
    Ok(())
}

/// Closes the fd (Lwt's `close`). Pending waits reject with `EBADF`, as do
/// later calls. Closing a closed fd rejects with `EBADF`.
///
/// If jobs still use the fd on worker threads, the close waits for them, so
/// the descriptor number cannot be reused under their feet.
///
/// ```
/// let (r, w) = lwt::unix::pipe().unwrap();
/// lwt::main::run(lwt::unix::close(&w)).unwrap();
/// assert!(matches!(w.state(), lwt::unix::State::Closed));
/// assert!(lwt::main::run(lwt::unix::close(&w)).is_err());
/// # drop(r);
/// ```
pub fn close(fd: &FileDescr) -> Promise<()> {
    if matches!(*fd.0.state.borrow(), State::Closed) {
        return crate::rejected(ebadf());
    }
    *fd.0.state.borrow_mut() = State::Closed;
    fd.drop_waiters(&ebadf());
    let Some(owned) = fd.0.fd.borrow_mut().take() else {
        return crate::rejected(ebadf());
    };
    if fd.0.in_flight.get() > 0 {
        let (p, r) = crate::wait();
        *fd.0.deferred_close.borrow_mut() = Some((owned, r));
        return p;
    }
    if fd.is_blocking() {
        // close(2) of a file may block (NFS flushes): a job, as in Lwt.
        super::job(move || sys::close(owned.into_raw_fd()))
    } else {
        crate::of_result(sys::close(owned.into_raw_fd()).map_err(Error::io))
    }
}

/// Makes every pending and future call on the fd reject with `err` (Lwt's
/// `abort`). Does nothing on a closed fd; the fd stays open until closed.
pub fn abort(fd: &FileDescr, err: Error) {
    if matches!(*fd.0.state.borrow(), State::Closed) {
        return;
    }
    *fd.0.state.borrow_mut() = State::Aborted(err.clone());
    fd.drop_waiters(&err);
}

/// Runs `f` with the fd's number on a worker thread; the fd stays open
/// until every such job has finished.
pub(crate) fn fd_job<T: Send + 'static>(
    fd: &FileDescr,
    f: impl FnOnce(RawFd) -> io::Result<T> + Send + 'static,
) -> Promise<T> {
    let raw = match fd.check() {
        Ok(r) => r,
        Err(e) => return crate::rejected(e),
    };
    let inner = fd.0.clone();
    inner.in_flight.set(inner.in_flight.get() + 1);
    super::job(move || f(raw)).then(move |r| {
        inner.in_flight.set(inner.in_flight.get() - 1);
        if inner.in_flight.get() == 0 {
            let pending = inner.deferred_close.borrow_mut().take();
            if let Some((owned, resolver)) = pending {
                resolver.wakeup_result(sys::close(owned.into_raw_fd()).map_err(Error::io));
            }
        }
        crate::of_result(r)
    })
}

/// Tries `action` now and, while it reports `EAGAIN`, again after each
/// readiness edge in direction `dir` (Lwt's `wrap_syscall` for non-blocking
/// fds). `EINTR` retries at once.
///
/// On a registered fd whose direction is known not to be ready (an earlier
/// call saw `EAGAIN` or drained it, and no event came since: see
/// [`Readiness`]), the call waits for the next edge without trying the
/// syscall first.
pub(crate) fn retry_io<T: 'static>(
    fd: FileDescr,
    dir: Dir,
    mut action: impl FnMut(RawFd) -> io::Result<T> + 'static,
) -> Promise<T> {
    retry_io_short(fd, dir, move |raw| action(raw).map(|v| (v, false)))
}

/// [`retry_io`] for an action that also tells whether it was a *short
/// read* (more than 0 bytes, fewer than asked for), which on some fds shows
/// they are drained.
pub(crate) fn retry_io_short<T: 'static>(
    fd: FileDescr,
    dir: Dir,
    mut action: impl FnMut(RawFd) -> io::Result<(T, bool)> + 'static,
) -> Promise<T> {
    match try_now(&fd, dir, &mut action) {
        Some(r) => crate::of_result(r),
        None => wait_io(fd, dir, action),
    }
}

/// The first try of [`retry_io_short`], for callers that can do it without
/// building the retried call: runs `action` now unless the fd is known not
/// to be ready in direction `dir`. `None` if the call must wait for an edge
/// (then [`wait_io`]).
pub(crate) fn try_now<T>(
    fd: &FileDescr,
    dir: Dir,
    action: &mut impl FnMut(RawFd) -> io::Result<(T, bool)>,
) -> Option<Result<T, Error>> {
    let raw = match fd.check() {
        Ok(r) => r,
        Err(e) => return Some(Err(e)),
    };
    let known_idle = matches!(fd.0.reg.get(), Reg::Key(_)) && !fd.0.readiness.may_be_ready(dir);
    if known_idle {
        None
    } else {
        try_io(fd, raw, dir, action)
    }
}

/// The rest of [`retry_io_short`] once [`try_now`] said to wait: registers
/// the call with the engine, which retries it at each readiness edge.
pub(crate) fn wait_io<T: 'static>(
    fd: FileDescr,
    dir: Dir,
    action: impl FnMut(RawFd) -> io::Result<(T, bool)> + 'static,
) -> Promise<T> {
    match fd.registration() {
        Ok(Some(key)) => {
            let make = move |out| RetryBox::new(RetryCall { fd, dir, action, out });
            crate::main::wait_retry(key, dir, make).0
        }
        // Never blocks (a regular file): try again.
        Ok(None) => crate::resolved(()).bind(move |()| retry_io_short(fd, dir, action)),
        Err(e) => crate::rejected(e),
    }
}

/// [`wait_io`] with `k` applied to the call's outcome, in one promise: for
/// the channels of `lwt::io`, whose waits would otherwise be a promise for
/// the call and a `then` promise for what they do with its result. Also
/// gives a handle with which the wait can be failed (`abort`), when there
/// is a wait. `k` runs with no keys set (see `Resolver::resolve_with`).
pub(crate) fn wait_io_then<T: 'static, U: 'static>(
    fd: FileDescr,
    dir: Dir,
    action: impl FnMut(RawFd) -> io::Result<(T, bool)> + 'static,
    k: impl FnOnce(Result<T, Error>) -> Promise<U> + 'static,
) -> (Promise<U>, Option<Waiting>) {
    match fd.registration() {
        Ok(Some(key)) => {
            let make = move |out| {
                RetryBox::new(RetryThen {
                    fd,
                    dir,
                    action,
                    k: Some(k),
                    out,
                    _outcome: std::marker::PhantomData,
                })
            };
            let (p, id) = crate::main::wait_retry(key, dir, make);
            (p, id.map(|id| Waiting { key, dir, id }))
        }
        // Never blocks (a regular file), or cannot wait: no wait to fail.
        Ok(None) => (retry_io_short(fd, dir, action).then(k), None),
        Err(e) => (crate::rejected(e).then(k), None),
    }
}

/// A call waiting in the engine (from [`wait_io_then`]). It names the
/// waiter in the thread's engine, which is never replaced.
pub(crate) struct Waiting {
    key: usize,
    dir: Dir,
    id: u64,
}

impl Waiting {
    /// Stops the wait: the call's continuation gets `e` instead of its
    /// outcome. Does nothing if the call is done.
    pub(crate) fn fail(&self, e: Error) {
        if let Some(engine) = crate::main::existing_engine() {
            engine.fail_waiter(self.key, self.dir, self.id, e);
        }
    }
}

/// One more try of a waiting call: `None` if it would still block.
fn attempt<T>(
    fd: &FileDescr,
    dir: Dir,
    action: &mut impl FnMut(RawFd) -> io::Result<(T, bool)>,
) -> Option<Result<T, Error>> {
    match fd.check() {
        Ok(raw) => try_io(fd, raw, dir, action),
        Err(e) => Some(Err(e)),
    }
}

/// Runs `action` once (again on `EINTR`): `None` if it would block.
#[inline]
fn try_io<T>(
    fd: &FileDescr,
    raw: RawFd,
    dir: Dir,
    action: &mut impl FnMut(RawFd) -> io::Result<(T, bool)>,
) -> Option<Result<T, Error>> {
    loop {
        match action(raw) {
            Ok((v, short)) => {
                if short {
                    fd.0.readiness.short_read();
                }
                return Some(Ok(v));
            }
            // The raw errno first: the system calls report it as is, and
            // comparing it is cheaper than `io::Error::kind`, which maps
            // every errno through a table (32 instructions per echo round
            // trip, one `EAGAIN` each). Errors built otherwise (no errno)
            // still go through `kind`.
            Err(e) => match e.raw_os_error() {
                Some(c) if c == libc::EAGAIN || c == libc::EWOULDBLOCK => {
                    fd.0.readiness.clear(dir);
                    return None;
                }
                Some(libc::EINTR) => continue,
                Some(_) => return Some(Err(Error::io(e))),
                None => match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => {
                        fd.0.readiness.clear(dir);
                        return None;
                    }
                    _ => return Some(Err(Error::io(e))),
                },
            },
        }
    }
}

/// A call of [`retry_io_short`] waiting for its fd, registered with the
/// engine: retried in place at each readiness edge, it resolves `out`.
struct RetryCall<T: 'static, F> {
    fd: FileDescr,
    dir: Dir,
    action: F,
    out: crate::Resolver<T>,
}

impl<T: 'static, F: FnMut(RawFd) -> io::Result<(T, bool)> + 'static> Retry for RetryCall<T, F> {
    fn retry(&mut self) -> bool {
        // Canceled after the edge was collected: the call must not run
        // (it would consume data nobody receives).
        if !self.out.is_pending() {
            return true;
        }
        match attempt(&self.fd, self.dir, &mut self.action) {
            Some(r) => {
                let _ = self.out.try_wakeup_result(r);
                true
            }
            None => false,
        }
    }

    fn fail(&mut self, e: Error) {
        let _ = self.out.try_wakeup_result(Err(e));
    }

    fn addr(&self) -> *const () {
        self.out.addr()
    }

    fn cancel(&mut self) {
        let _ = self.out.try_wakeup_result(Err(Error::canceled()));
    }
}

/// A call of [`wait_io_then`] waiting for its fd: as a [`RetryCall`], but
/// it resolves `out` like `k` of the outcome.
struct RetryThen<T: 'static, U: 'static, F, K> {
    fd: FileDescr,
    dir: Dir,
    action: F,
    k: Option<K>,
    out: crate::Resolver<U>,
    _outcome: std::marker::PhantomData<fn(T)>,
}

impl<T, U, F, K> RetryThen<T, U, F, K>
where
    T: 'static,
    U: 'static,
    F: FnMut(RawFd) -> io::Result<(T, bool)> + 'static,
    K: FnOnce(Result<T, Error>) -> Promise<U> + 'static,
{
    fn finish(&mut self, r: Result<T, Error>) {
        if let Some(k) = self.k.take() {
            self.out.resolve_with(r, k);
        }
    }
}

impl<T, U, F, K> Retry for RetryThen<T, U, F, K>
where
    T: 'static,
    U: 'static,
    F: FnMut(RawFd) -> io::Result<(T, bool)> + 'static,
    K: FnOnce(Result<T, Error>) -> Promise<U> + 'static,
{
    fn retry(&mut self) -> bool {
        // Canceled: the call must not run, nor its continuation.
        if !self.out.is_pending() {
            return true;
        }
        match attempt(&self.fd, self.dir, &mut self.action) {
            Some(r) => {
                self.finish(r);
                true
            }
            None => false,
        }
    }

    fn fail(&mut self, e: Error) {
        self.finish(Err(e));
    }

    fn addr(&self) -> *const () {
        self.out.addr()
    }

    fn cancel(&mut self) {
        // Not through `k`: a canceled call's continuation never runs.
        self.k = None;
        let _ = self.out.try_wakeup_result(Err(Error::canceled()));
    }
}

/// Runs `action` on a worker thread for blocking fds, through the poller
/// otherwise. `state` (a buffer) goes to whichever runs the call. For a
/// read, `asked` gives the byte count requested, so that a short read can
/// be noticed (see [`retry_io_short`]).
///
/// `action` gets the fd, whether it is known to be a stream socket (so that
/// it may use `recv` / `send`), and the state.
///
/// `asked`, `action` and `finish` are type parameters (closures without
/// captures, of size 0), not function pointers: so they are inlined into
/// the call and its retry, and take no room in the retry object (echo_raw:
/// 3,903 -> 3,684 instructions per round trip).
#[inline]
fn io_call<S, R, Q, A, F>(fd: &FileDescr, dir: Dir, state: S, asked: Q, action: A, finish: F) -> Promise<R>
where
    S: Send + 'static,
    R: Send + 'static,
    Q: Fn(&S) -> Option<usize> + Copy + Send + 'static,
    A: Fn(RawFd, bool, &mut S) -> io::Result<usize> + Copy + Send + 'static,
    F: Fn(S, usize) -> R + Copy + Send + 'static,
{
    if fd.is_blocking() {
        let mut state = state;
        fd_job(fd, move |raw| {
            let v = action(raw, false, &mut state)?;
            Ok(finish(state, v))
        })
    } else {
        let sock = fd.is_stream_socket();
        // The first try works on `state` in place: no closure to box, no
        // count traffic on the fd, no promise when it succeeds.
        let mut state = state;
        let first = try_now(fd, dir, &mut |raw| {
            let n = action(raw, sock, &mut state)?;
            Ok((n, asked(&state).is_some_and(|len| n > 0 && n < len)))
        });
        match first {
            Some(Ok(n)) => return crate::resolved(finish(state, n)),
            Some(Err(e)) => return crate::rejected(e),
            None => {}
        }
        let mut slot = Some(state);
        wait_io(fd.clone(), dir, move |raw| {
            let s = slot
                .as_mut()
                .ok_or_else(|| io::Error::other("buffer already returned"))?;
            let n = action(raw, sock, s)?;
            let short = asked(s).is_some_and(|len| n > 0 && n < len);
            let s = slot.take().ok_or_else(|| io::Error::other("buffer already returned"))?;
            Ok((finish(s, n), short))
        })
    }
}

/// For [`io_call`]: the buffer and the count, from a state made of the
/// buffer and its range (the result is built in the call itself rather
/// than by a `map` on its promise: one promise step less per call).
fn buf_and_count<B, X, Y>((b, _, _): (B, X, Y), n: usize) -> (B, usize) {
    (b, n)
}

/// [`buf_and_count`] for a state that also has a file offset.
fn buf_and_count_at<B, X, Y, Z>((b, _, _, _): (B, X, Y, Z), n: usize) -> (B, usize) {
    (b, n)
}

/// For [`io_call`]: the state and the count as they are.
fn state_and_count<S>(s: S, n: usize) -> (S, usize) {
    (s, n)
}

/// For [`io_call`]: no short-read detection.
fn not_a_read<S>(_: &S) -> Option<usize> {
    None
}

/// Checks `ofs..ofs + len` against a buffer of `size` bytes.
pub(crate) fn check_range(name: &str, size: usize, ofs: usize, len: usize) -> Result<(), Error> {
    match ofs.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(Error::invalid_argument(format!(
            "lwt::unix::{name}: range {ofs}+{len} outside a buffer of {size} bytes"
        ))),
    }
}

/// Reads up to `len` bytes into `buf[ofs..]` (Lwt's `read`). Resolves to the
/// buffer and the number of bytes read; 0 means end of file.
///
/// A range outside the buffer rejects with
/// [`InvalidArgument`](crate::ErrorKind::InvalidArgument).
///
/// ```
/// let (r, w) = lwt::unix::pipe().unwrap();
/// let p = lwt::unix::write(&w, b"hello", 0, 5)
///     .bind(move |_| lwt::unix::read(&r, vec![0u8; 16], 0, 16));
/// let (buf, n) = lwt::main::run(p).unwrap();
/// assert_eq!(&buf[..n], b"hello");
/// ```
pub fn read<B: AsMut<[u8]> + Send + 'static>(
    fd: &FileDescr,
    mut buf: B,
    ofs: usize,
    len: usize,
) -> Promise<(B, usize)> {
    if let Err(e) = check_range("read", buf.as_mut().len(), ofs, len) {
        return crate::rejected(e);
    }
    io_call(
        fd,
        Dir::Read,
        (buf, ofs, len),
        |(_, _, l)| Some(*l),
        |raw, sock, (b, o, l)| sys::read_or_recv(raw, &mut b.as_mut()[*o..*o + *l], sock),
        buf_and_count,
    )
}

/// Writes up to `len` bytes of `buf[ofs..]` (Lwt's `write`). Resolves to the
/// buffer and the number of bytes written, which may be fewer than `len`.
///
/// ```
/// let (r, w) = lwt::unix::pipe().unwrap();
/// let (_, n) = lwt::main::run(lwt::unix::write(&w, "abc".to_string(), 1, 2)).unwrap();
/// assert_eq!(n, 2);
/// let (buf, n) = lwt::main::run(lwt::unix::read(&r, [0u8; 4], 0, 4)).unwrap();
/// assert_eq!(&buf[..n], b"bc");
/// ```
pub fn write<B: AsRef<[u8]> + Send + 'static>(fd: &FileDescr, buf: B, ofs: usize, len: usize) -> Promise<(B, usize)> {
    if let Err(e) = check_range("write", buf.as_ref().len(), ofs, len) {
        return crate::rejected(e);
    }
    io_call(
        fd,
        Dir::Write,
        (buf, ofs, len),
        not_a_read,
        |raw, sock, (b, o, l)| sys::write_or_send(raw, &b.as_ref()[*o..*o + *l], sock),
        buf_and_count,
    )
}

/// Reads at `file_offset` without moving the file position (Lwt's `pread`).
pub fn pread<B: AsMut<[u8]> + Send + 'static>(
    fd: &FileDescr,
    mut buf: B,
    ofs: usize,
    len: usize,
    file_offset: u64,
) -> Promise<(B, usize)> {
    if let Err(e) = check_range("pread", buf.as_mut().len(), ofs, len) {
        return crate::rejected(e);
    }
    io_call(
        fd,
        Dir::Read,
        (buf, ofs, len, file_offset),
        not_a_read,
        |raw, _, (b, o, l, fo)| sys::pread(raw, &mut b.as_mut()[*o..*o + *l], *fo),
        buf_and_count_at,
    )
}

/// Writes at `file_offset` without moving the file position (Lwt's `pwrite`).
///
/// ```
/// let dir = std::env::temp_dir().join(format!("lwt-doc-pwrite-{}", std::process::id()));
/// let p = lwt::unix::openfile(&dir, &[lwt::unix::OpenFlag::Rdwr, lwt::unix::OpenFlag::Creat], 0o600)
///     .bind(|fd| {
///         lwt::unix::pwrite(&fd, b"xyz", 0, 3, 10)
///             .bind(move |_| lwt::unix::pread(&fd, vec![0; 3], 0, 3, 10))
///     });
/// let (buf, n) = lwt::main::run(p).unwrap();
/// assert_eq!(&buf[..n], b"xyz");
/// std::fs::remove_file(&dir).unwrap();
/// ```
pub fn pwrite<B: AsRef<[u8]> + Send + 'static>(
    fd: &FileDescr,
    buf: B,
    ofs: usize,
    len: usize,
    file_offset: u64,
) -> Promise<(B, usize)> {
    if let Err(e) = check_range("pwrite", buf.as_ref().len(), ofs, len) {
        return crate::rejected(e);
    }
    io_call(
        fd,
        Dir::Write,
        (buf, ofs, len, file_offset),
        not_a_read,
        |raw, _, (b, o, l, fo)| sys::pwrite(raw, &b.as_ref()[*o..*o + *l], *fo),
        buf_and_count_at,
    )
}

/// Reads into several buffers with one `readv(2)` (Lwt's `readv`); fills
/// them in order and resolves to the buffers and the total byte count. At
/// most [`IOV_MAX`] buffers are used per call.
///
/// ```
/// let (r, w) = lwt::unix::pipe().unwrap();
/// lwt::main::run(lwt::unix::write(&w, b"abcdef", 0, 6)).unwrap();
/// let (bufs, n) = lwt::main::run(lwt::unix::readv(&r, vec![vec![0; 2], vec![0; 10]])).unwrap();
/// assert_eq!((n, &bufs[0][..], &bufs[1][..4]), (6, &b"ab"[..], &b"cdef"[..]));
/// ```
pub fn readv(fd: &FileDescr, bufs: Vec<Vec<u8>>) -> Promise<(Vec<Vec<u8>>, usize)> {
    io_call(
        fd,
        Dir::Read,
        bufs,
        not_a_read,
        |raw, _, bufs| {
            let mut slices: Vec<&mut [u8]> = bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
            sys::readv(raw, &mut slices)
        },
        state_and_count,
    )
}

/// Writes several buffers with one `writev(2)` (Lwt's `writev`); resolves to
/// the buffers and the total byte count written. At most [`IOV_MAX`]
/// buffers are used per call.
pub fn writev<B: AsRef<[u8]> + Send + 'static>(fd: &FileDescr, bufs: Vec<B>) -> Promise<(Vec<B>, usize)> {
    io_call(
        fd,
        Dir::Write,
        bufs,
        not_a_read,
        |raw, _, bufs| {
            let slices: Vec<&[u8]> = bufs.iter().map(|b| b.as_ref()).collect();
            sys::writev(raw, &slices)
        },
        state_and_count,
    )
}

/// The most buffers one [`readv`] or [`writev`] call uses (Lwt's
/// `IO_vectors.system_limit`).
pub const IOV_MAX: usize = sys::IOV_MAX;

/// Whether the fd can be read without blocking right now (Lwt's `readable`).
pub fn readable(fd: &FileDescr) -> Result<bool, Error> {
    let raw = fd.check()?;
    sys::poll_now(raw, sys::POLLIN).map_err(Error::io)
}

/// Whether the fd can be written without blocking right now (Lwt's `writable`).
pub fn writable(fd: &FileDescr) -> Result<bool, Error> {
    let raw = fd.check()?;
    sys::poll_now(raw, sys::POLLOUT).map_err(Error::io)
}

/// Resolves when the fd is readable (Lwt's `wait_read`): at once if it is
/// already, otherwise at its next readiness event. Cancelable.
///
/// ```
/// let (r, w) = lwt::unix::pipe().unwrap();
/// let ready = lwt::unix::wait_read(&r);
/// assert!(ready.is_pending());
/// lwt::main::run(lwt::unix::write(&w, b"x", 0, 1)).unwrap();
/// lwt::main::run(ready).unwrap();
/// ```
pub fn wait_read(fd: &FileDescr) -> Promise<()> {
    wait_dir(fd, Dir::Read)
}

/// Resolves when the fd is writable (Lwt's `wait_write`). Cancelable.
pub fn wait_write(fd: &FileDescr) -> Promise<()> {
    wait_dir(fd, Dir::Write)
}

fn wait_dir(fd: &FileDescr, dir: Dir) -> Promise<()> {
    let ready = match dir {
        Dir::Read => readable(fd),
        Dir::Write => writable(fd),
    };
    match ready {
        Ok(true) => crate::resolved(()),
        Ok(false) => fd.wait_ready(dir),
        Err(e) => crate::rejected(e),
    }
}

/// Makes a pipe; both ends are non-blocking and close-on-exec (Lwt's
/// `pipe`). Returns (read end, write end).
pub fn pipe() -> Result<(FileDescr, FileDescr), Error> {
    let (r, w) = sys::pipe().map_err(Error::io)?;
    Ok((FileDescr::nonblocking(r), FileDescr::nonblocking(w)))
}

/// Makes a pipe whose read end is a [`FileDescr`] and whose write end is a
/// plain blocking descriptor, e.g. for a child process (Lwt's `pipe_in`).
pub fn pipe_in() -> Result<(FileDescr, OwnedFd), Error> {
    let (r, w) = sys::pipe().map_err(Error::io)?;
    sys::set_nonblocking(w.as_raw_fd(), false).map_err(Error::io)?;
    Ok((FileDescr::nonblocking(r), w))
}

/// Makes a pipe whose write end is a [`FileDescr`] and whose read end is a
/// plain blocking descriptor (Lwt's `pipe_out`). Returns (read end, write end).
pub fn pipe_out() -> Result<(OwnedFd, FileDescr), Error> {
    let (r, w) = sys::pipe().map_err(Error::io)?;
    sys::set_nonblocking(r.as_raw_fd(), false).map_err(Error::io)?;
    Ok((r, FileDescr::nonblocking(w)))
}

/// Whether the fd is a terminal (Lwt's `isatty`).
pub fn isatty(fd: &FileDescr) -> Promise<bool> {
    match fd.check() {
        Ok(raw) => crate::resolved(sys::isatty(raw)),
        Err(e) => crate::rejected(e),
    }
}

/// Sets or clears the close-on-exec flag (Lwt's `set_close_on_exec` /
/// `clear_close_on_exec`).
pub fn set_close_on_exec(fd: &FileDescr, on: bool) -> Result<(), Error> {
    let raw = fd.check()?;
    sys::set_cloexec(raw, on).map_err(Error::io)
}

/// Whether `O_NONBLOCK` is set on the fd right now (a check on the flag;
/// [`FileDescr::is_blocking`] tells how lwt runs calls on it).
pub fn has_nonblock_flag(fd: &FileDescr) -> Result<bool, Error> {
    let raw = fd.check()?;
    sys::is_nonblocking(raw).map_err(Error::io)
}
