//! Channels: creation, the lock that serializes operations, the buffer and
//! the physical I/O under it, auto-flush, close and abort.
//!
//! # Shape
//!
//! A [`Channel`] handle is an `Rc` of a *wrapper* ([`Wrapper`]) that owns
//! the lock; every wrapper of a channel shares one [`Inner`] with the buffer,
//! the backend and the closed flag. There is one main wrapper per channel and
//! one temporary wrapper per running [`atomic`] block (nested blocks nest
//! wrappers), exactly Lwt's design: the temporary wrapper is what the block's
//! function receives, and the main wrapper stays locked until the block ends.
//!
//! # The lock
//!
//! A wrapper is `Idle`, `Busy` (an operation runs), `Atomic` (a block runs
//! on its child wrapper), `Handoff` (the lock was given to the first queued
//! operation, whose callback has not run yet) or `Invalid` (a temporary
//! wrapper after its block ended). An operation on an idle wrapper runs at
//! once — and when it can complete from the buffer it returns an already
//! resolved promise without allocating anything, which is what makes
//! `read_line` / `write_line` cheap. Otherwise it queues a resolver; `unlock`
//! hands the lock to the first queued operation that was not canceled,
//! keeping the FIFO order of Lwt's `primitive`.
//!
//! # The buffer and the backends
//!
//! Input data waits in `buf[ptr..max]`; output data in `buf[..ptr]`. A refill
//! (`fill`) only happens when the input buffer is empty, so nothing buffered
//! is ever at stake while a read is in flight. I/O goes to one of:
//! - a non-blocking descriptor (sockets, pipes): the system call runs in
//!   place on the channel's buffer, and on `EAGAIN` waits for readiness
//!   (`retry_io` of `lwt::unix`). The buffer never leaves the channel, so a
//!   canceled read or write loses nothing;
//! - a blocking descriptor (regular files, terminals) or user functions: the
//!   buffer is lent out by value (a worker thread cannot borrow it) and
//!   handed back with the result. If such an operation fails or is canceled
//!   without handing it back, a fresh buffer replaces it (for an output
//!   channel the unflushed data is then lost, and the operation reported
//!   the error);
//! - memory ([`of_bytes`]): the buffer is the data.
//!
//! # Abort
//!
//! While a physical read or write is pending, the channel keeps the
//! resolver of the promise the operation waits on, and a handle to the I/O
//! promise. [`abort`] (and [`close`] on an input channel) rejects that
//! resolver with [`ChannelClosed`] and cancels the I/O, as Lwt's
//! `abort_waiter` does with `pick`, but without a `pick` per I/O.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use super::ChannelClosed;
use crate::main::Dir;
use crate::unix::{self, FileDescr, SeekCommand};
use crate::{Error, Promise, Resolver};

/// The smallest buffer a channel may have (Lwt's `min_buffer_size`).
pub const MIN_BUFFER_SIZE: usize = 16;

/// The largest buffer a channel may have: 1 GiB, a sanity bound standing in
/// for OCaml's `Sys.max_string_length`.
const MAX_BUFFER_SIZE: usize = 1 << 30;

static DEFAULT_BUFFER_SIZE: AtomicUsize = AtomicUsize::new(4096);

/// Which side a channel is (Lwt's `mode` values, as data).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModeKind {
    /// An input channel: it is read.
    Input,
    /// An output channel: it is written.
    Output,
}

impl fmt::Display for ModeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModeKind::Input => "input",
            ModeKind::Output => "output",
        })
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Input {}
    impl Sealed for super::Output {}
}

/// The mode of a channel, as a type: [`Input`] or [`Output`].
pub trait Mode: sealed::Sealed + Copy + fmt::Debug + 'static {
    /// The mode as a value.
    const KIND: ModeKind;
}

/// The input mode (Lwt's `Lwt_io.input`): `open_file(Input, path)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Input;

/// The output mode (Lwt's `Lwt_io.output`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Output;

impl Mode for Input {
    const KIND: ModeKind = ModeKind::Input;
}

impl Mode for Output {
    const KIND: ModeKind = ModeKind::Output;
}

/// A read or write function under a channel made by [`make`]: called with
/// the channel's buffer, an offset and a length, it reads into (or writes
/// from) `buf[ofs..ofs + len]` and resolves to the buffer and the byte
/// count. For input, 0 means end of input.
pub type IoFn = Box<dyn FnMut(Vec<u8>, usize, usize) -> Promise<(Vec<u8>, usize)>>;

/// A seek function (Lwt's `?seek`): moves to an offset counted as the
/// command says and resolves to the new absolute position.
pub type SeekFn = Box<dyn FnMut(i64, SeekCommand) -> Promise<u64>>;

type CloseFn = Box<dyn FnOnce() -> Promise<()>>;

pub(super) enum Backend {
    /// A descriptor. Non-blocking ones are used in place through the
    /// poller; blocking ones (files) run their calls on worker threads.
    Fd(FileDescr),
    /// User functions (`make`). `None` while the function is being called.
    Custom(Option<IoFn>),
    /// The buffer is the whole data (`of_bytes`).
    Memory,
}

/// A physical read or write in progress, for `abort`.
enum Inflight {
    /// Waiting for its fd in the poller: `abort` fails the wait, and the
    /// operation then reports [`ChannelClosed`] (the channel is closed).
    Waiting(unix::Waiting),
    /// Through the poller: canceling the I/O promise interrupts it, and the
    /// operation then reports [`ChannelClosed`] (the channel is closed).
    Cancel(Promise<usize>),
    /// On a worker thread or in a user function, which may not be
    /// cancelable: the operation waits on `resolver`, which `abort` rejects
    /// at once; the I/O promise is canceled if it can be.
    Wake(Resolver<usize>, Promise<usize>, &'static str),
}

/// The state shared by every wrapper of a channel.
pub(super) struct Inner {
    pub(super) kind: ModeKind,
    /// `size` bytes, except while lent to a worker thread or a user function.
    pub(super) buf: RefCell<Vec<u8>>,
    pub(super) size: Cell<usize>,
    /// Input: next byte to read. Output: end of the buffered data.
    pub(super) ptr: Cell<usize>,
    /// Input: end of the buffered data. Output: unused.
    pub(super) max: Cell<usize>,
    /// Bytes moved by the backend so far (the position of its end).
    pub(super) offset: Cell<u64>,
    backend: RefCell<Backend>,
    seek: RefCell<Option<SeekFn>>,
    closed: Cell<bool>,
    close_fn: RefCell<Option<CloseFn>>,
    /// What the close function gave (shared by every later close).
    close_result: RefCell<Option<Promise<()>>>,
    /// The promise of an output `close` in progress (flush then close).
    closing: RefCell<Option<Promise<()>>>,
    auto_flushing: Cell<bool>,
    /// A physical read or write in flight through a lent buffer.
    lent: Cell<bool>,
    /// Operations waiting for the lent buffer to come back.
    lend_waiters: RefCell<Vec<Resolver<()>>>,
    /// The pending physical I/O, for `abort`: the resolver the operation
    /// waits on, the I/O promise to cancel, and the operation's name.
    inflight: RefCell<Option<Inflight>>,
    /// The main wrapper, for auto-flush (which must find the deepest one).
    main: RefCell<Weak<Wrapper>>,
    /// The wait in place whose continuation has not run yet (see
    /// [`wait_in_place`]): its number (0: none) and its promise's node.
    wait: Cell<(u64, usize)>,
    /// The lock that wait's continuation releases: the wait's number and
    /// the wrapper holding the lock.
    release: RefCell<Option<(u64, Rc<Wrapper>)>>,
    /// The last number given to a wait in place.
    waits: Cell<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lock {
    Idle,
    Busy,
    Atomic,
    Handoff,
    Invalid,
}

pub(super) struct Wrapper {
    pub(super) inner: Rc<Inner>,
    lock: Cell<Lock>,
    /// The temporary wrapper of the running `atomic` block.
    child: RefCell<Option<Rc<Wrapper>>>,
    queue: RefCell<VecDeque<Resolver<()>>>,
    is_main: bool,
}

/// A buffered channel of mode `M` (Lwt's `'mode channel`). Cheap to clone:
/// clones are handles to the same channel.
///
/// ```
/// use lwt::io::{self, Input};
/// let ic = io::of_bytes(Input, b"one\ntwo\n".to_vec());
/// let ic2 = ic.clone();
/// assert_eq!(lwt::main::run(io::read_line(&ic)).unwrap(), "one");
/// assert_eq!(lwt::main::run(io::read_line(&ic2)).unwrap(), "two");
/// ```
pub struct Channel<M: Mode> {
    pub(super) w: Rc<Wrapper>,
    _mode: PhantomData<M>,
}

/// A channel that is read (Lwt's `input_channel`).
pub type InputChannel = Channel<Input>;

/// A channel that is written (Lwt's `output_channel`).
pub type OutputChannel = Channel<Output>;

impl<M: Mode> Clone for Channel<M> {
    fn clone(&self) -> Self {
        Channel {
            w: self.w.clone(),
            _mode: PhantomData,
        }
    }
}

impl<M: Mode> fmt::Debug for Channel<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.w.inner;
        f.debug_struct("Channel")
            .field("mode", &i.kind)
            .field("buffer_size", &i.size.get())
            .field("closed", &i.closed.get())
            .field("lock", &self.w.lock.get())
            .finish()
    }
}

impl<M: Mode> Channel<M> {
    fn of_wrapper(w: Rc<Wrapper>) -> Channel<M> {
        Channel { w, _mode: PhantomData }
    }
}

// ---------------------------------------------------------------------------
// Errors

#[cold]
#[inline(never)]
pub(super) fn closed_error(kind: ModeKind, op: &'static str) -> Error {
    Error::new(ChannelClosed {
        mode: kind,
        operation: op,
    })
}

fn invalid_error(kind: ModeKind) -> Error {
    Error::failure(format!("temporary atomic {kind} channel no more valid"))
}

fn check_buffer_size(fun: &str, size: usize) -> Result<(), Error> {
    if size < MIN_BUFFER_SIZE {
        Err(Error::invalid_argument(format!(
            "lwt::io::{fun}: too small buffer size ({size}, the minimum is {MIN_BUFFER_SIZE})"
        )))
    } else if size > MAX_BUFFER_SIZE {
        Err(Error::invalid_argument(format!(
            "lwt::io::{fun}: too big buffer size ({size}, the maximum is {MAX_BUFFER_SIZE})"
        )))
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Promise helpers

/// The outcome of a promise that is already resolved, or the promise back.
///
/// Operations loop synchronously while their I/O completes at once (a read
/// of data already in the kernel, a write to a pipe with room) and only fall
/// back to callbacks when something really waits.
pub(super) fn take_now<T: 'static>(p: Promise<T>) -> Result<Result<T, Error>, Promise<T>> {
    if p.is_pending() {
        return Err(p);
    }
    let mut p = p;
    let mut cx = Context::from_waker(Waker::noop());
    match Pin::new(&mut p).poll(&mut cx) {
        Poll::Ready(r) => Ok(r),
        Poll::Pending => Err(p),
    }
}

// ---------------------------------------------------------------------------
// Creation

impl Inner {
    fn new(kind: ModeKind, buf: Vec<u8>, backend: Backend, close: Option<CloseFn>, seek: Option<SeekFn>) -> Inner {
        let size = buf.len();
        Inner {
            kind,
            buf: RefCell::new(buf),
            size: Cell::new(size),
            ptr: Cell::new(0),
            max: Cell::new(0),
            offset: Cell::new(0),
            backend: RefCell::new(backend),
            seek: RefCell::new(seek),
            closed: Cell::new(false),
            close_fn: RefCell::new(close),
            close_result: RefCell::new(None),
            closing: RefCell::new(None),
            auto_flushing: Cell::new(false),
            lent: Cell::new(false),
            lend_waiters: RefCell::new(Vec::new()),
            inflight: RefCell::new(None),
            main: RefCell::new(Weak::new()),
            wait: Cell::new((0, 0)),
            release: RefCell::new(None),
            waits: Cell::new(0),
        }
    }
}

impl Wrapper {
    fn new(inner: Rc<Inner>, is_main: bool) -> Wrapper {
        Wrapper {
            inner,
            lock: Cell::new(Lock::Idle),
            child: RefCell::new(None),
            queue: RefCell::new(VecDeque::new()),
            is_main,
        }
    }
}

fn new_channel<M: Mode>(inner: Inner) -> Channel<M> {
    let inner = Rc::new(inner);
    let w = Rc::new(Wrapper::new(inner.clone(), true));
    *inner.main.borrow_mut() = Rc::downgrade(&w);
    if M::KIND == ModeKind::Output {
        register_output(&w);
    }
    Channel::of_wrapper(w)
}

/// Options of a new channel (Lwt's optional arguments `?buffer`, `?close`
/// and `?seek` of `make` and `of_fd`).
///
/// ```
/// use lwt::io::{self, Builder, Output};
/// let sent = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
/// let s = sent.clone();
/// let oc = Builder::new(Output)
///     .buffer_size(64)
///     .make(move |buf: Vec<u8>, ofs, len| {
///         s.borrow_mut().extend_from_slice(&buf[ofs..ofs + len]);
///         lwt::resolved((buf, len))
///     })
///     .unwrap();
/// assert_eq!(io::buffer_size(&oc), 64);
/// lwt::main::run(io::write(&oc, "data").bind(move |()| io::close(&oc))).unwrap();
/// assert_eq!(&sent.borrow()[..], b"data");
/// ```
pub struct Builder<M: Mode> {
    buffer_size: Option<usize>,
    close: Option<CloseFn>,
    seek: Option<SeekFn>,
    _mode: PhantomData<M>,
}

impl<M: Mode> fmt::Debug for Builder<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("mode", &M::KIND)
            .field("buffer_size", &self.buffer_size)
            .field("close", &self.close.is_some())
            .field("seek", &self.seek.is_some())
            .finish()
    }
}

impl<M: Mode> Builder<M> {
    /// Starts the options of a channel of mode `mode`.
    pub fn new(mode: M) -> Builder<M> {
        let _ = mode;
        Builder {
            buffer_size: None,
            close: None,
            seek: None,
            _mode: PhantomData,
        }
    }

    /// The size of the channel's buffer (default: [`default_buffer_size`]);
    /// checked when the channel is made (at least [`MIN_BUFFER_SIZE`]).
    pub fn buffer_size(mut self, size: usize) -> Builder<M> {
        self.buffer_size = Some(size);
        self
    }

    /// What [`close`] does once the channel is flushed (Lwt's `?close`). For
    /// [`Builder::of_fd`] it replaces closing the descriptor.
    pub fn close_with(mut self, f: impl FnOnce() -> Promise<()> + 'static) -> Builder<M> {
        self.close = Some(Box::new(f));
        self
    }

    /// How the channel seeks, for [`set_position`] and [`length`] (Lwt's
    /// `?seek`). Without it those reject with a failure.
    pub fn seek_with(mut self, f: impl FnMut(i64, SeekCommand) -> Promise<u64> + 'static) -> Builder<M> {
        self.seek = Some(Box::new(f));
        self
    }

    fn size(&self, fun: &str) -> Result<usize, Error> {
        match self.buffer_size {
            Some(n) => check_buffer_size(fun, n).map(|()| n),
            None => Ok(default_buffer_size()),
        }
    }

    /// Makes a channel over a read or write function (Lwt's `make`); see
    /// [`IoFn`] for what it is called with. A function that reports a count
    /// outside `0..=len` makes the operation reject with a failure.
    pub fn make(
        self,
        io: impl FnMut(Vec<u8>, usize, usize) -> Promise<(Vec<u8>, usize)> + 'static,
    ) -> Result<Channel<M>, Error> {
        let size = self.size("make")?;
        Ok(custom_channel(size, Box::new(io), self.close, self.seek))
    }

    /// Makes a channel over a descriptor (Lwt's `of_fd`). Closing the
    /// channel closes the descriptor, unless [`Builder::close_with`] said
    /// otherwise; seeking uses `lseek` unless [`Builder::seek_with`] did.
    pub fn of_fd(self, fd: FileDescr) -> Result<Channel<M>, Error> {
        let size = self.size("of_fd")?;
        Ok(fd_channel(size, fd, self.close, self.seek))
    }
}

fn custom_channel<M: Mode>(size: usize, io: IoFn, close: Option<CloseFn>, seek: Option<SeekFn>) -> Channel<M> {
    let close = close.unwrap_or_else(|| Box::new(|| crate::resolved(())));
    new_channel(Inner::new(
        M::KIND,
        vec![0; size],
        Backend::Custom(Some(io)),
        Some(close),
        seek,
    ))
}

fn fd_channel<M: Mode>(size: usize, fd: FileDescr, close: Option<CloseFn>, seek: Option<SeekFn>) -> Channel<M> {
    let close: CloseFn = match close {
        Some(c) => c,
        None => {
            let fd = fd.clone();
            Box::new(move || close_fd(&fd))
        }
    };
    let seek: SeekFn = match seek {
        Some(s) => s,
        None => {
            let fd = fd.clone();
            Box::new(move |pos, cmd| unix::lseek(&fd, pos, cmd))
        }
    };
    new_channel(Inner::new(
        M::KIND,
        vec![0; size],
        Backend::Fd(fd),
        Some(close),
        Some(seek),
    ))
}

/// Closes `fd` unless it is closed already (a descriptor shared with user
/// code may have been closed under the channel; that is not an error of
/// closing the channel).
fn close_fd(fd: &FileDescr) -> Promise<()> {
    match fd.state() {
        unix::State::Closed => crate::resolved(()),
        _ => unix::close(fd),
    }
}

/// Makes a channel over a read or write function with the default options
/// (Lwt's `make`); see [`Builder`] for the others.
///
/// ```
/// use lwt::io::{self, Input};
/// // An input channel that produces "ab" forever, 2 bytes at a time.
/// let ic = io::make(Input, |mut buf: Vec<u8>, ofs, len| {
///     let n = len.min(2);
///     buf[ofs..ofs + n].copy_from_slice(&b"ab"[..n]);
///     lwt::resolved((buf, n))
/// });
/// assert_eq!(lwt::main::run(io::read_exactly(&ic, 5)).unwrap(), b"ababa");
/// ```
pub fn make<M: Mode>(
    mode: M,
    io: impl FnMut(Vec<u8>, usize, usize) -> Promise<(Vec<u8>, usize)> + 'static,
) -> Channel<M> {
    let _ = mode;
    custom_channel(default_buffer_size(), Box::new(io), None, None)
}

/// Makes a channel over a descriptor with the default options (Lwt's
/// `of_fd`): closing the channel closes the descriptor.
///
/// ```
/// use lwt::io::{self, Input, Output};
/// let (r, w) = lwt::unix::pipe().unwrap();
/// let (ic, oc) = (io::of_fd(Input, r), io::of_fd(Output, w));
/// let p = io::write_line(&oc, "via fds").bind(move |()| io::read_line(&ic));
/// assert_eq!(lwt::main::run(p).unwrap(), "via fds");
/// ```
pub fn of_fd<M: Mode>(mode: M, fd: FileDescr) -> Channel<M> {
    let _ = mode;
    fd_channel(default_buffer_size(), fd, None, None)
}

/// Makes a channel whose buffer is `data` (Lwt's `of_bytes`). An input
/// channel reads `data` then reaches its end; an output channel writes into
/// a buffer of `data.len()` bytes, and flushing it rejects with a failure
/// (the data can be read back with [`position`] and... nothing else: it is
/// mostly useful for input).
///
/// ```
/// use lwt::io::{self, Input};
/// let ic = io::of_bytes(Input, b"abc".to_vec());
/// assert_eq!(lwt::main::run(io::read_to_end(&ic)).unwrap(), b"abc");
/// ```
pub fn of_bytes<M: Mode>(mode: M, data: Vec<u8>) -> Channel<M> {
    let _ = mode;
    let len = data.len();
    let inner = Inner::new(
        M::KIND,
        data,
        Backend::Memory,
        Some(Box::new(|| crate::resolved(()))),
        None,
    );
    if M::KIND == ModeKind::Input {
        inner.max.set(len);
    }
    // Never auto-flushed (as in Lwt): flushing memory always fails.
    inner.auto_flushing.set(true);
    new_channel(inner)
}

/// An input channel that reads zero bytes forever (Lwt's `zero`).
///
/// ```
/// let z = lwt::io::zero();
/// assert_eq!(lwt::main::run(lwt::io::read_exactly(&z, 3)).unwrap(), vec![0, 0, 0]);
/// ```
pub fn zero() -> InputChannel {
    let io = |mut buf: Vec<u8>, ofs: usize, len: usize| {
        buf[ofs..ofs + len].fill(0);
        crate::resolved((buf, len))
    };
    custom_channel(MIN_BUFFER_SIZE, Box::new(io), None, None)
}

/// An output channel that discards everything written to it (Lwt's `null`).
///
/// ```
/// let n = lwt::io::null();
/// lwt::main::run(lwt::io::write(&n, "gone").bind(move |()| lwt::io::flush(&n))).unwrap();
/// ```
pub fn null() -> OutputChannel {
    let io = |buf: Vec<u8>, _ofs: usize, len: usize| crate::resolved((buf, len));
    custom_channel(MIN_BUFFER_SIZE, Box::new(io), None, None)
}

/// Makes a pipe and a channel on each end: (input, output) (Lwt's `pipe`).
/// Both ends are close-on-exec.
///
/// ```
/// let (ic, oc) = lwt::io::pipe().unwrap();
/// let p = lwt::io::write(&oc, "through")
///     .bind(move |()| lwt::io::close(&oc))
///     .bind(move |()| lwt::io::read_to_end(&ic));
/// assert_eq!(lwt::main::run(p).unwrap(), b"through");
/// ```
pub fn pipe() -> Result<(InputChannel, OutputChannel), Error> {
    let (r, w) = unix::pipe()?;
    Ok((of_fd(Input, r), of_fd(Output, w)))
}

thread_local! {
    static STDIO: (InputChannel, OutputChannel, OutputChannel) = {
        // The standard descriptors are never closed: closing the channel
        // only marks it closed (so errors can still be printed).
        let keep = || -> Option<CloseFn> { Some(Box::new(|| crate::resolved(()))) };
        let size = default_buffer_size();
        (
            fd_channel(size, unix::stdin(), keep(), None),
            fd_channel(size, unix::stdout(), keep(), None),
            fd_channel(size, unix::stderr(), keep(), None),
        )
    };
}

/// The standard input as a channel (Lwt's `stdin`); one per thread.
pub fn stdin() -> InputChannel {
    STDIO.with(|s| s.0.clone())
}

/// The standard output as a channel (Lwt's `stdout`); one per thread.
///
/// ```
/// lwt::main::run(lwt::io::write_line(&lwt::io::stdout(), "to stdout")).unwrap();
/// lwt::main::run(lwt::io::flush(&lwt::io::stdout())).unwrap();
/// ```
pub fn stdout() -> OutputChannel {
    STDIO.with(|s| s.1.clone())
}

/// The standard error as a channel (Lwt's `stderr`); one per thread.
pub fn stderr() -> OutputChannel {
    STDIO.with(|s| s.2.clone())
}

/// The buffer size of new channels (Lwt's `default_buffer_size`; 4096 at
/// start).
pub fn default_buffer_size() -> usize {
    DEFAULT_BUFFER_SIZE.load(Ordering::Relaxed)
}

/// Sets the buffer size of channels made from now on (Lwt's
/// `set_default_buffer_size`); a size below [`MIN_BUFFER_SIZE`] (or absurdly
/// large) is an invalid argument.
///
/// ```
/// assert!(lwt::io::set_default_buffer_size(8).is_err());
/// ```
pub fn set_default_buffer_size(size: usize) -> Result<(), Error> {
    check_buffer_size("set_default_buffer_size", size)?;
    DEFAULT_BUFFER_SIZE.store(size, Ordering::Relaxed);
    Ok(())
}

// ---------------------------------------------------------------------------
// The registry of output channels, for flush_all

thread_local! {
    static OUTPUTS: RefCell<Outputs> = const { RefCell::new(Outputs { list: Vec::new(), prune_at: 64, hooked: false }) };
}

struct Outputs {
    list: Vec<Weak<Wrapper>>,
    /// Dead entries are dropped when the list reaches this length.
    prune_at: usize,
    hooked: bool,
}

fn register_output(w: &Rc<Wrapper>) {
    // `try_with`: a channel made while the thread's locals are torn down is
    // simply not registered.
    let first = OUTPUTS.try_with(|o| {
        let mut o = o.borrow_mut();
        if o.list.len() >= o.prune_at {
            o.list.retain(|w| w.strong_count() > 0);
            o.prune_at = (o.list.len() * 2).max(64);
        }
        o.list.push(Rc::downgrade(w));
        !std::mem::replace(&mut o.hooked, true)
    });
    if first == Ok(true) {
        crate::main::at_exit(flush_all);
    }
}

/// Flushes every open output channel of this thread (Lwt's `flush_all`);
/// errors are ignored. It is registered as an exit hook
/// ([`lwt::main::at_exit`](crate::main::at_exit)) when the thread makes its
/// first output channel.
///
/// ```
/// let (ic, oc) = lwt::io::pipe().unwrap();
/// lwt::main::run(lwt::io::write(&oc, "pending")).unwrap();
/// assert_eq!(lwt::io::buffered(&oc), 7);
/// lwt::main::run(lwt::io::flush_all()).unwrap();
/// assert_eq!(lwt::io::buffered(&oc), 0);
/// # drop(ic);
/// ```
pub fn flush_all() -> Promise<()> {
    let live: Vec<Rc<Wrapper>> = OUTPUTS
        .try_with(|o| o.borrow().list.iter().filter_map(Weak::upgrade).collect())
        .unwrap_or_default();
    let flushes = live.into_iter().map(|w| {
        if w.inner.closed.get() {
            return crate::resolved(());
        }
        let ch: OutputChannel = Channel::of_wrapper(w);
        flush(&ch).catch(|_| crate::resolved(()))
    });
    crate::join(flushes.collect::<Vec<_>>())
}

// ---------------------------------------------------------------------------
// The lock

/// Runs `body` with the lock of `w` held, now if the channel is idle,
/// otherwise after the operations queued before it (Lwt's `primitive`).
/// `op` names the operation in errors.
pub(super) fn primitive<T: 'static>(
    w: &Rc<Wrapper>,
    op: &'static str,
    body: impl FnOnce(&Rc<Inner>) -> Promise<T> + 'static,
) -> Promise<T> {
    // An idle channel, the usual case: no closure to move into the queue's
    // path, and the unlock checks the queue (the body may run user code).
    if let Some(inner) = lock_now(w) {
        let p = body(inner);
        return continue_locked(w, p);
    }
    with_lock(w, op, Lock::Busy, move |w| body(&w.inner))
}

fn with_lock<T: 'static>(
    w: &Rc<Wrapper>,
    op: &'static str,
    as_state: Lock,
    body: impl FnOnce(&Rc<Wrapper>) -> Promise<T> + 'static,
) -> Promise<T> {
    let inner = &w.inner;
    if w.lock.get() == Lock::Invalid {
        return crate::rejected(invalid_error(inner.kind));
    }
    if inner.closed.get() {
        return crate::rejected(closed_error(inner.kind, op));
    }
    if w.lock.get() == Lock::Idle {
        w.lock.set(as_state);
        return run_locked(w.clone(), body);
    }
    // Busy: wait for our turn. A task, so that canceling a queued operation
    // drops it from the queue (unlock skips resolvers that are not pending).
    let (turn, resolver) = crate::task::<()>();
    w.queue.borrow_mut().push_back(resolver);
    let w = w.clone();
    turn.bind(move |()| {
        // The lock was handed to us (state `Handoff`).
        if w.lock.get() == Lock::Invalid {
            unlock(&w);
            return crate::rejected(invalid_error(w.inner.kind));
        }
        if w.inner.closed.get() {
            unlock(&w);
            return crate::rejected(closed_error(w.inner.kind, op));
        }
        w.lock.set(as_state);
        run_locked(w, body)
    })
}

fn run_locked<T: 'static>(w: Rc<Wrapper>, body: impl FnOnce(&Rc<Wrapper>) -> Promise<T> + 'static) -> Promise<T> {
    if w.inner.lent.get() {
        // A canceled operation left its buffer with a job that cannot be
        // interrupted (a blocking descriptor): wait until it comes back.
        let (back, r) = crate::wait::<()>();
        w.inner.lend_waiters.borrow_mut().push(r);
        return back.bind(move |()| run_locked(w, body));
    }
    let p = body(&w);
    finish_locked(w, p)
}

/// Releases the lock of `w` once `p` resolves (now if it is resolved).
fn finish_locked<T: 'static>(w: Rc<Wrapper>, p: Promise<T>) -> Promise<T> {
    if let Some(addr) = p.node_addr() {
        let (token, node) = w.inner.wait.get();
        if token != 0 && node == addr {
            // `p` is a wait in place: its continuation releases the lock.
            w.inner.wait.set((token, 0));
            let inner = w.inner.clone();
            *inner.release.borrow_mut() = Some((token, w));
            return p;
        }
    }
    // Attached before the caller can attach anything, the unlock runs
    // first when `p` resolves: whoever continues after `p` finds the lock
    // released, as if `p` were followed by a `then` (Lwt's `finalize`),
    // without its promise. One difference: if the operation is canceled,
    // the caller's `on_cancel` callbacks on it run before the unlock (cancel
    // callbacks come first), where Lwt runs them after. (Not for a wait in
    // place, above: its unlock comes with the wait's own cancellation.)
    p.when_done(move || unlock(&w));
    p
}

/// The fast path of operations that can complete from the buffer: takes
/// the lock if the channel is idle, open and has its buffer, and gives the
/// shared state. The caller then either completes at once and calls
/// [`release`], or continues with [`continue_locked`].
#[inline]
pub(super) fn lock_now(w: &Rc<Wrapper>) -> Option<&Rc<Inner>> {
    let inner = &w.inner;
    if w.lock.get() == Lock::Idle && !inner.closed.get() && !inner.lent.get() {
        w.lock.set(Lock::Busy);
        Some(inner)
    } else {
        None
    }
}

/// Releases a lock taken by [`lock_now`].
#[inline]
pub(super) fn release(w: &Rc<Wrapper>) {
    // Between `lock_now` and here no user code ran (the fast paths only copy
    // bytes), so nothing can have queued behind us: skip the queue.
    w.lock.set(Lock::Idle);
    let inner = &w.inner;
    if inner.kind == ModeKind::Output && !inner.auto_flushing.get() && inner.ptr.get() > 0 && !inner.closed.get() {
        start_auto_flush(inner);
    }
}

/// Finishes an operation started under [`lock_now`] with promise `p`.
pub(super) fn continue_locked<T: 'static>(w: &Rc<Wrapper>, p: Promise<T>) -> Promise<T> {
    finish_locked(w.clone(), p)
}

/// Releases the lock: hands it to the first queued operation that still
/// waits, or makes the wrapper idle and starts the auto-flusher.
fn unlock(w: &Rc<Wrapper>) {
    loop {
        let next = w.queue.borrow_mut().pop_front();
        match next {
            Some(r) if r.is_pending() => {
                if w.lock.get() != Lock::Invalid {
                    w.lock.set(Lock::Handoff);
                }
                r.wakeup_later(());
                return;
            }
            // Canceled while queued.
            Some(_) => continue,
            None => break,
        }
    }
    if w.lock.get() != Lock::Invalid {
        w.lock.set(Lock::Idle);
    }
    let inner = &w.inner;
    if inner.kind == ModeKind::Output && !inner.closed.get() && !inner.auto_flushing.get() && inner.ptr.get() > 0 {
        start_auto_flush(inner);
    }
}

/// The auto-flushers started and not run yet (see [`start_auto_flush`]).
struct ToFlush {
    /// Their channels, in the order they started.
    list: Vec<Rc<Wrapper>>,
    /// The pause that runs them, and the paused queue's generation when
    /// it was made (it will be woken while the generation stays the same).
    armed: Option<(Promise<()>, u64)>,
}

thread_local! {
    static TO_FLUSH: RefCell<ToFlush> = const { RefCell::new(ToFlush { list: Vec::new(), armed: None }) };
}

/// Flushes after the current turn, when the channel is idle (Lwt's
/// auto-flusher). If the channel is busy then, the operation running will
/// start the auto-flusher again when it unlocks.
///
/// Lwt makes one pause per channel. A server that writes a reply and then
/// flushes it starts the auto-flusher on every reply only for it to find
/// nothing left, so the channels share a pause instead: the ones started
/// before it is woken flush then, in the order they started. (So a channel
/// may flush a little earlier among the paused promises than with a pause
/// of its own; its data keeps its order.)
fn start_auto_flush(inner: &Rc<Inner>) {
    let Some(main) = inner.main.borrow().upgrade() else {
        return;
    };
    inner.auto_flushing.set(true);
    let arm = TO_FLUSH.try_with(|t| {
        let mut t = t.borrow_mut();
        t.list.push(main.clone());
        // Arm a pause unless one is queued and will be woken. One made at
        // an earlier generation was woken (or is being woken right now: the
        // new one then finds nothing to do), or was abandoned
        // (`abandon_paused`), and would never run.
        let generation = crate::core::paused_generation();
        !t.armed
            .as_ref()
            .is_some_and(|(p, g)| *g == generation && p.is_pending())
    });
    match arm {
        Ok(true) => {
            // Made with the table released: `pause` may call the pause
            // notifier, which may write to a channel.
            let generation = crate::core::paused_generation();
            let p = crate::pause();
            p.when_done(auto_flush_all);
            let _ = TO_FLUSH.try_with(|t| t.borrow_mut().armed = Some((p, generation)));
        }
        Ok(false) => {}
        // The thread is ending: a pause of its own.
        Err(_) => crate::pause().when_done(move || auto_flush(main)),
    }
}

/// Runs the auto-flushers queued by [`start_auto_flush`].
fn auto_flush_all() {
    let mut batch = TO_FLUSH
        .try_with(|t| std::mem::take(&mut t.borrow_mut().list))
        .unwrap_or_default();
    for main in batch.drain(..) {
        auto_flush(main);
    }
    // Gives the (now empty) vector back, so that its room is reused.
    let _ = TO_FLUSH.try_with(|t| {
        let mut t = t.borrow_mut();
        if t.list.is_empty() {
            t.list = batch;
        }
    });
}

fn auto_flush(main: Rc<Wrapper>) {
    let inner = main.inner.clone();
    inner.auto_flushing.set(false);
    if inner.closed.get() {
        return;
    }
    let mut w = main;
    loop {
        let child = w.child.borrow().clone();
        match (w.lock.get(), child) {
            (Lock::Atomic, Some(c)) => w = c,
            _ => break,
        }
    }
    if w.lock.get() != Lock::Idle || inner.ptr.get() == 0 || inner.lent.get() {
        return;
    }
    w.lock.set(Lock::Busy);
    // Errors are ignored here, as in Lwt: the data stays buffered and the
    // next explicit write, flush or close reports the problem. After a
    // failure the auto-flusher is not started again by this unlock (it
    // would fail again at every turn, keeping the loop spinning); the next
    // operation on the channel starts it, as in Lwt.
    let p = flush_total(&inner, "flush");
    let done = p.clone();
    p.when_done(move || {
        if done.is_rejected() {
            inner.auto_flushing.set(true);
            unlock(&w);
            inner.auto_flushing.set(false);
        } else {
            unlock(&w);
        }
    });
}

/// Runs `f` with exclusive use of the channel (Lwt's `atomic`): operations
/// others start meanwhile wait until the promise of `f` resolves. `f`
/// receives a temporary channel to use inside the block; after the block,
/// operations on it reject with a failure. Blocks can be nested.
///
/// Using the original channel inside the block waits for the block's end:
/// a deadlock if the block waits for it.
///
/// ```
/// use lwt::io;
/// let (ic, oc) = io::pipe().unwrap();
/// // Two writers; each block's lines stay together.
/// let a = io::atomic(&oc, |oc| {
///     io::write_line(&oc, "a1").bind(move |()| lwt::pause()).bind(move |()| io::write_line(&oc, "a2"))
/// });
/// let b = io::atomic(&oc, |oc| io::write_line(&oc, "b1"));
/// lwt::main::run(lwt::join(vec![a, b]).bind(move |()| io::close(&oc))).unwrap();
/// let text = lwt::main::run(io::read_to_end(&ic)).unwrap();
/// assert_eq!(text, b"a1\na2\nb1\n");
/// ```
pub fn atomic<M: Mode, T: 'static>(ch: &Channel<M>, f: impl FnOnce(Channel<M>) -> Promise<T> + 'static) -> Promise<T> {
    with_lock(&ch.w, "atomic", Lock::Atomic, move |w| {
        let tmp = Rc::new(Wrapper::new(w.inner.clone(), false));
        *w.child.borrow_mut() = Some(tmp.clone());
        let p = crate::apply(f, Channel::of_wrapper(tmp.clone()));
        let w = w.clone();
        p.then(move |r| {
            tmp.lock.set(Lock::Invalid);
            w.child.borrow_mut().take();
            // Operations still queued on the temporary channel are refused.
            let queued: Vec<Resolver<()>> = tmp.queue.borrow_mut().drain(..).collect();
            for q in queued {
                let _ = q.try_wakeup_result(Err(invalid_error(tmp.inner.kind)));
            }
            crate::of_result(r)
        })
    })
}

// ---------------------------------------------------------------------------
// Physical I/O (called with the lock held)

/// What an operation does after a physical read or write: carry on at
/// once with the outcome and its state (the I/O completed synchronously, the
/// common case), or later, through the promise (it waits).
pub(super) enum Step<S, T: 'static> {
    /// Done now: the byte count (or error), and the caller's state back.
    Now(Result<usize, Error>, S),
    /// Waiting: the promise of the continuation's result.
    Later(Promise<T>),
}

/// Makes pending physical I/O interruptible by `abort`, and resolves to its
/// outcome through `k`, with one callback (the I/O functions below are on
/// every operation's path, so they avoid extra promises).
fn pending_io<T: 'static>(
    inner: &Rc<Inner>,
    io: Promise<usize>,
    lent: bool,
    op: &'static str,
    k: impl FnOnce(Result<usize, Error>) -> Promise<T> + 'static,
) -> Promise<T> {
    let io = if lent {
        // Possibly not cancelable (a job): `abort` must not wait for it.
        let (out, resolver) = crate::task::<usize>();
        let handle = io.clone();
        out.on_cancel(move || handle.cancel());
        *inner.inflight.borrow_mut() = Some(Inflight::Wake(resolver.clone(), io.clone(), op));
        drop(io.then(move |r| {
            let _ = resolver.try_wakeup_result(r);
            crate::resolved(())
        }));
        out
    } else {
        *inner.inflight.borrow_mut() = Some(Inflight::Cancel(io.clone()));
        io
    };
    let i = inner.clone();
    io.then(move |r| k(io_outcome(&i, op, r)))
}

/// What a physical read or write that waited gives its operation: its
/// outcome, unless the channel was closed meanwhile.
fn io_outcome<T>(inner: &Inner, op: &'static str, r: Result<T, Error>) -> Result<T, Error> {
    inner.inflight.borrow_mut().take();
    // Whatever happened, a channel closed meanwhile reports that.
    if inner.closed.get() {
        Err(closed_error(inner.kind, op))
    } else {
        r
    }
}

/// Waits for `fd` to retry `action` in place, then continues with `k`
/// (in the same promise, see `unix::wait_io_then`); the wait can be
/// failed by `abort`.
///
/// # Releasing the lock from the continuation
/// The operation holding the lock usually returns this wait's promise as
/// its own. [`finish_locked`] would then attach the unlock to it as a
/// callback, and the caller's `bind` would be a second one: a list instead
/// of one inline callback, on every read or flush that waits. Instead,
/// `finish_locked` recognises the promise (by its node, recorded in
/// `Inner::wait`) and leaves the wrapper in `Inner::release`; the
/// continuation takes it and releases the lock once `k`'s promise
/// resolves, still before the caller's callbacks run. A wait dropped
/// without running its continuation (canceled) releases the lock as it is
/// dropped, during the cancellation, so the caller's `on_cancel` callbacks
/// find the lock released, as in Lwt. (A wait whose loop's thread is going
/// away releases nothing: nothing would run after it.) On the `echo`
/// benchmark, whose server reads from a socket channel and waits once per
/// round trip: 5,361 → 5,197 instructions per round trip.
///
/// Out of line: a refill or flush that waits is the rare case of the
/// operations that inline `buffer_io`, and with this inlined into them
/// `lines` (whose reads and writes almost never wait) ran 1.7% slower for
/// the same instruction count (0.716 against 0.703 s, alternating runs).
#[inline(never)]
fn wait_in_place<T: 'static>(
    inner: &Rc<Inner>,
    fd: FileDescr,
    dir: Dir,
    op: &'static str,
    action: impl FnMut(RawFd) -> io::Result<(usize, bool)> + 'static,
    k: impl FnOnce(Result<usize, Error>) -> Promise<T> + 'static,
) -> Promise<T> {
    let token = inner.waits.get() + 1;
    inner.waits.set(token);
    inner.wait.set((token, 0));
    let release = Release {
        inner: inner.clone(),
        token,
        armed: true,
    };
    let (p, waiting) = unix::wait_io_then(fd, dir, action, move |r| {
        let p = k(io_outcome(&release.inner, op, r));
        release.finish(p)
    });
    if let Some(w) = waiting {
        *inner.inflight.borrow_mut() = Some(Inflight::Waiting(w));
    }
    // Unless the continuation already ran (the fd was gone), the lock's
    // holder may hand it the unlock.
    if inner.wait.get().0 == token {
        inner.wait.set((token, p.node_addr().unwrap_or(0)));
    }
    p
}

/// The part of a wait in place's continuation that releases the lock, if
/// [`finish_locked`] handed it over (see [`wait_in_place`]).
struct Release {
    inner: Rc<Inner>,
    token: u64,
    /// The continuation has not run.
    armed: bool,
}

impl Release {
    /// The wrapper whose lock this wait releases, if it was handed over;
    /// and the wait is no longer one `finish_locked` may hand it to.
    fn take(&self) -> Option<Rc<Wrapper>> {
        let inner = &self.inner;
        if inner.wait.get().0 == self.token {
            inner.wait.set((0, 0));
        }
        let mut slot = inner.release.borrow_mut();
        if slot.as_ref().is_some_and(|(t, _)| *t == self.token) {
            slot.take().map(|(_, w)| w)
        } else {
            None
        }
    }

    /// The continuation's promise `p`, with the lock released once it
    /// resolves (now if it is resolved).
    fn finish<T: 'static>(mut self, p: Promise<T>) -> Promise<T> {
        self.armed = false;
        match self.take() {
            Some(w) if p.is_pending() => finish_locked(w, p),
            Some(w) => {
                unlock(&w);
                p
            }
            None => p,
        }
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        // The continuation never ran: the wait was canceled, or the
        // thread's loop is going away. In that last case nothing runs any
        // more (a dropped callback would not either).
        if !self.armed {
            return;
        }
        if let Some(w) = self.take() {
            if crate::main::existing_engine().is_some() {
                unlock(&w);
            }
        }
    }
}

fn bad_count(kind: ModeKind, request: usize, result: usize) -> Error {
    let what = match kind {
        ModeKind::Input => "read",
        ModeKind::Output => "write",
    };
    Error::failure(format!(
        "lwt::io: invalid result of the {what} function (request={request}, result={result})"
    ))
}

/// Lends the buffer to `call` (a worker-thread job or a user function) and
/// puts it back when it returns. Resolves to the byte count.
fn lend(
    inner: &Rc<Inner>,
    call: impl FnOnce(Vec<u8>) -> Promise<(Vec<u8>, usize)> + 'static,
    op: &'static str,
) -> Promise<usize> {
    if inner.lent.get() {
        // `run_locked` waits for a lent buffer before any operation starts,
        // so this only happens if an operation outlived its atomic block.
        return crate::rejected(Error::failure(format!(
            "lwt::io::{op}: the channel's buffer is still in use by another operation"
        )));
    }
    let size = inner.size.get();
    let buf = std::mem::take(&mut *inner.buf.borrow_mut());
    inner.lent.set(true);
    let i = inner.clone();
    let restore = move |buf: Option<Vec<u8>>| {
        i.lent.set(false);
        if buf.is_none() && i.kind == ModeKind::Output {
            // The buffered data went with the buffer: nothing is left to
            // flush (the fresh buffer's zeros are not data).
            i.ptr.set(0);
        }
        let mut b = buf.unwrap_or_default();
        if b.len() != size {
            b.resize(size, 0);
        }
        *i.buf.borrow_mut() = b;
        let waiters: Vec<Resolver<()>> = i.lend_waiters.borrow_mut().drain(..).collect();
        for w in waiters {
            w.wakeup_later(());
        }
        // If a canceled flush kept the auto-flusher from running, restart it.
        let idle = i.main.borrow().upgrade().is_some_and(|m| m.lock.get() == Lock::Idle);
        if i.kind == ModeKind::Output && idle && !i.closed.get() && !i.auto_flushing.get() && i.ptr.get() > 0 {
            start_auto_flush(&i);
        }
    };
    let p = call(buf);
    match take_now(p) {
        Ok(Ok((b, n))) => {
            restore(Some(b));
            crate::resolved(n)
        }
        Ok(Err(e)) => {
            restore(None);
            crate::rejected(e)
        }
        // `then` also runs when `p` is canceled (it rejects with Canceled),
        // so the buffer is always restored.
        Err(p) => p.then(move |r| match r {
            Ok((b, n)) => {
                restore(Some(b));
                crate::resolved(n)
            }
            Err(e) => {
                restore(None);
                crate::rejected(e)
            }
        }),
    }
}

/// A refill (`Input`) or a write of the first `len` buffered bytes
/// (`Output`) through a lent buffer: on a worker thread for a blocking `fd`,
/// or by the user's I/O function. Out of line, and not generic: the
/// generic steps that call it would each get a copy.
#[inline(never)]
fn lend_io(inner: &Rc<Inner>, fd: Option<FileDescr>, kind: ModeKind, len: usize, op: &'static str) -> Promise<usize> {
    match (fd, kind) {
        (Some(fd), ModeKind::Input) => lend(inner, move |b| unix::read(&fd, b, 0, len), op),
        (Some(fd), ModeKind::Output) => lend(inner, move |b| unix::write(&fd, b, 0, len), op),
        (None, _) => {
            let i = inner.clone();
            lend(inner, move |b| call_custom(&i, b, 0, len, op), op)
        }
    }
}

/// Calls the user's I/O function, catching a panic in it.
fn call_custom(inner: &Rc<Inner>, buf: Vec<u8>, ofs: usize, len: usize, op: &'static str) -> Promise<(Vec<u8>, usize)> {
    let f = match &mut *inner.backend.borrow_mut() {
        Backend::Custom(f) => f.take(),
        _ => None,
    };
    let Some(mut f) = f else {
        return crate::rejected(Error::failure(format!(
            "lwt::io::{op}: the channel's I/O function was called from inside itself"
        )));
    };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(buf, ofs, len)));
    if let Backend::Custom(slot) = &mut *inner.backend.borrow_mut() {
        *slot = Some(f);
    }
    match r {
        Ok(p) => p,
        Err(payload) => crate::rejected(Error::panic(super::panic_message(&*payload))),
    }
}

enum How {
    InPlace(FileDescr),
    Lend(Option<FileDescr>),
    Memory,
}

fn how(inner: &Inner) -> How {
    match &*inner.backend.borrow() {
        Backend::Fd(fd) if !fd.is_blocking() => How::InPlace(fd.clone()),
        Backend::Fd(fd) => How::Lend(Some(fd.clone())),
        Backend::Custom(_) => How::Lend(None),
        Backend::Memory => How::Memory,
    }
}

/// Refills the (empty) input buffer with one read: `Now` with the number of
/// bytes (0 at the end of input) and `state` back, or `Later` with the
/// promise of `k(state, n)`.
pub(super) fn fill_step<S: 'static, T: 'static>(
    inner: &Rc<Inner>,
    op: &'static str,
    state: S,
    k: impl FnOnce(S, usize) -> Promise<T> + 'static,
) -> Step<S, T> {
    let how = how(inner);
    if let How::Memory = how {
        // The data is all there is: the end of input, with the read
        // pointer left where it is (for `position` and `set_position`).
        return Step::Now(Ok(0), state);
    }
    inner.ptr.set(0);
    inner.max.set(0);
    buffer_io(
        inner,
        how,
        ModeKind::Input,
        inner.size.get(),
        op,
        state,
        k,
        read_buffer,
        filled,
    )
}

/// The physical read (`Input`) or write (`Output`) of a refill or a flush,
/// of `len` bytes, once the caller has handled a memory channel: in place
/// on a polled fd (`action`, tried now, then at each readiness edge), else
/// through a lent buffer. `note` records the count in the channel; then
/// `Now` with it and `state` back, or `Later` with the promise of
/// `k(state, n)`.
#[allow(clippy::too_many_arguments)]
#[inline]
fn buffer_io<S: 'static, T: 'static>(
    inner: &Rc<Inner>,
    how: How,
    kind: ModeKind,
    len: usize,
    op: &'static str,
    state: S,
    k: impl FnOnce(S, usize) -> Promise<T> + 'static,
    action: impl Fn(&Inner, RawFd, usize, bool) -> io::Result<(usize, bool)> + Copy + 'static,
    note: impl Fn(&Inner, usize, usize) -> Result<usize, Error> + Copy + 'static,
) -> Step<S, T> {
    if inner.closed.get() {
        // Closed by user code during the operation (a write function that
        // aborts its channel): no more physical I/O, as in Lwt.
        return Step::Now(Err(closed_error(inner.kind, op)), state);
    }
    let io = match how {
        How::InPlace(fd) => {
            let dir = match kind {
                ModeKind::Input => Dir::Read,
                ModeKind::Output => Dir::Write,
            };
            let sock = fd.is_stream_socket();
            // Tried in place first: I/O that goes through costs no promise.
            if let Some(r) = unix::try_now(&fd, dir, &mut |raw| action(inner, raw, len, sock)) {
                return Step::Now(r.and_then(|n| note(inner, len, n)), state);
            }
            let (i, j) = (inner.clone(), inner.clone());
            let wait = move |raw| action(&i, raw, len, sock);
            return Step::Later(wait_in_place(inner, fd, dir, op, wait, move |r| {
                resume(k, state, r.and_then(|n| note(&j, len, n)))
            }));
        }
        How::Lend(fd) => lend_io(inner, fd, kind, len, op),
        // The callers answer for memory channels themselves.
        How::Memory => crate::rejected(Error::failure("lwt::io: a memory channel has no physical I/O")),
    };
    match take_now(io) {
        Ok(r) => Step::Now(r.and_then(|n| note(inner, len, n)), state),
        Err(p) => {
            let i = inner.clone();
            Step::Later(pending_io(inner, p, true, op, move |r| {
                resume(k, state, r.and_then(|n| note(&i, len, n)))
            }))
        }
    }
}

/// Continues a step that waited: `k(state, n)`, or the error.
fn resume<S, T: 'static>(k: impl FnOnce(S, usize) -> Promise<T>, state: S, r: Result<usize, Error>) -> Promise<T> {
    match r {
        Ok(n) => k(state, n),
        Err(e) => crate::rejected(e),
    }
}

/// One read into the input buffer, in place: the count, and whether it was
/// short (see `unix::retry_io_short`).
fn read_buffer(inner: &Inner, raw: RawFd, size: usize, sock: bool) -> io::Result<(usize, bool)> {
    let mut b = inner.buf.borrow_mut();
    let len = size.min(b.len());
    let n = sys_read(raw, &mut b[..len], sock)?;
    Ok((n, n > 0 && n < len))
}

/// Takes note of `n` bytes read into the buffer (of `size` asked).
fn filled(inner: &Inner, size: usize, n: usize) -> Result<usize, Error> {
    if n > size {
        return Err(bad_count(ModeKind::Input, size, n));
    }
    inner.max.set(n);
    inner.offset.set(inner.offset.get() + n as u64);
    Ok(n)
}

/// Writes some of the buffered output: `Now` with the count written (at
/// least 1 when anything was buffered) and `state` back, or `Later` with the
/// promise of `k(state, n)`.
pub(super) fn flush_step<S: 'static, T: 'static>(
    inner: &Rc<Inner>,
    op: &'static str,
    state: S,
    k: impl FnOnce(S, usize) -> Promise<T> + 'static,
) -> Step<S, T> {
    let len = inner.ptr.get();
    if len == 0 {
        return Step::Now(Ok(0), state);
    }
    match how(inner) {
        How::Memory => {
            let e = Error::failure("lwt::io: cannot flush a channel made by lwt::io::of_bytes");
            Step::Now(Err(e), state)
        }
        how => buffer_io(inner, how, ModeKind::Output, len, op, state, k, write_buffer, flushed),
    }
}

/// One write of the first `len` buffered bytes, in place.
fn write_buffer(inner: &Inner, raw: RawFd, len: usize, sock: bool) -> io::Result<(usize, bool)> {
    let b = inner.buf.borrow();
    let len = len.min(b.len());
    Ok((sys_write(raw, &b[..len], sock)?, false))
}

/// Takes note of `n` bytes written out of the `len` first ones buffered:
/// the rest moves to the front.
fn flushed(inner: &Inner, len: usize, n: usize) -> Result<usize, Error> {
    if n > len || n == 0 {
        // 0 bytes for a non-empty request would make flushing loop forever.
        return Err(bad_count(ModeKind::Output, len, n));
    }
    let ptr = inner.ptr.get();
    if ptr >= n {
        inner.buf.borrow_mut().copy_within(n..ptr, 0);
        inner.ptr.set(ptr - n);
    } else {
        inner.ptr.set(0);
    }
    inner.offset.set(inner.offset.get() + n as u64);
    Ok(n)
}

/// Writes some of the buffered output; resolves to the count written (at
/// least 1 when anything was buffered).
pub(super) fn flush_some(inner: &Rc<Inner>, op: &'static str) -> Promise<usize> {
    match flush_step(inner, op, (), |(), n| crate::resolved(n)) {
        Step::Now(r, ()) => crate::of_result(r),
        Step::Later(p) => p,
    }
}

/// Whether large writes can skip the buffer (see [`write_direct`]).
pub(super) fn can_write_direct(inner: &Inner) -> bool {
    matches!(how(inner), How::InPlace(_))
}

/// Writes `data[ofs..ofs + len]` straight to a non-blocking descriptor,
/// bypassing the (empty) buffer: for writes at least as large as the
/// buffer, which would otherwise be copied through it piece by piece.
/// Resolves to the data and the count written.
pub(super) fn write_direct<B: AsRef<[u8]> + 'static>(
    inner: &Rc<Inner>,
    data: B,
    ofs: usize,
    len: usize,
    op: &'static str,
) -> Promise<(B, usize)> {
    let How::InPlace(fd) = how(inner) else {
        return crate::rejected(Error::failure(format!(
            "lwt::io::{op}: direct writes need a non-blocking descriptor"
        )));
    };
    // The data is the caller's (moved in), so a cancel that drops it loses
    // nothing of the channel's.
    let slot = Rc::new(RefCell::new(Some(data)));
    let s = slot.clone();
    let sock = fd.is_stream_socket();
    let io = unix::retry_io(fd, Dir::Write, move |raw| match &*s.borrow() {
        Some(d) => sys_write(raw, &d.as_ref()[ofs..ofs + len], sock),
        None => Err(io::Error::other("the data of a write was lost")),
    });
    let i = inner.clone();
    let done = move |n: usize| -> Result<(B, usize), Error> {
        if n > len || n == 0 {
            return Err(bad_count(ModeKind::Output, len, n));
        }
        i.offset.set(i.offset.get() + n as u64);
        match slot.borrow_mut().take() {
            Some(d) => Ok((d, n)),
            None => Err(Error::failure("lwt::io: the data of a write was lost")),
        }
    };
    match take_now(io) {
        Ok(r) => crate::of_result(r.and_then(done)),
        Err(p) => pending_io(inner, p, false, op, move |r| crate::of_result(r.and_then(done))),
    }
}

/// `read(2)` (`recv(2)` on a stream socket, see `unix::sys::read_or_recv`).
fn sys_read(fd: RawFd, buf: &mut [u8], stream_socket: bool) -> io::Result<usize> {
    unix::sys::read_or_recv(fd, buf, stream_socket)
}

/// `write(2)` (`send(2)` on a stream socket).
fn sys_write(fd: RawFd, buf: &[u8], stream_socket: bool) -> io::Result<usize> {
    unix::sys::write_or_send(fd, buf, stream_socket)
}

/// Writes out everything buffered.
pub(super) fn flush_total(inner: &Rc<Inner>, op: &'static str) -> Promise<()> {
    loop {
        if inner.ptr.get() == 0 {
            return crate::resolved(());
        }
        match flush_step(inner, op, inner.clone(), move |i, _| flush_total(&i, op)) {
            Step::Now(Ok(_), _) => continue,
            Step::Now(Err(e), _) => return crate::rejected(e),
            Step::Later(p) => return p,
        }
    }
}

// ---------------------------------------------------------------------------
// Flush, close, abort

/// Writes out everything buffered in the channel, after the operations
/// queued before (Lwt's `flush`).
///
/// ```
/// let (ic, oc) = lwt::io::pipe().unwrap();
/// lwt::main::run(lwt::io::write(&oc, "now")).unwrap();
/// lwt::main::run(lwt::io::flush(&oc)).unwrap();
/// assert_eq!(lwt::main::run(lwt::io::read(&ic, 16)).unwrap(), b"now");
/// ```
pub fn flush(oc: &OutputChannel) -> Promise<()> {
    primitive(&oc.w, "flush", |inner| flush_total(inner, "flush"))
}

/// Closes the channel (Lwt's `close`). An output channel first waits for the
/// operations queued before, and flushes (a flush error is ignored); an
/// input channel closes at once. Then the channel's close function runs
/// (for [`of_fd`], closing the descriptor) and the promise resolves with its
/// outcome. Closing again gives that same outcome.
///
/// Closing the temporary channel of an [`atomic`] block rejects with a
/// failure.
///
/// ```
/// let (ic, oc) = lwt::io::pipe().unwrap();
/// lwt::main::run(lwt::io::write(&oc, "bye")).unwrap();
/// lwt::main::run(lwt::io::close(&oc)).unwrap();   // flushes first
/// lwt::main::run(lwt::io::close(&oc)).unwrap();   // idempotent
/// assert!(lwt::io::is_closed(&oc));
/// assert_eq!(lwt::main::run(lwt::io::read_to_end(&ic)).unwrap(), b"bye");
/// ```
pub fn close<M: Mode>(ch: &Channel<M>) -> Promise<()> {
    let w = &ch.w;
    if !w.is_main {
        return crate::rejected(Error::failure(
            "lwt::io::close: cannot close a channel obtained via lwt::io::atomic",
        ));
    }
    let inner = &w.inner;
    if let Some(p) = inner.closing.borrow().clone() {
        return p;
    }
    if inner.closed.get() || inner.kind == ModeKind::Input {
        return abort_wrapper(w);
    }
    let main = w.clone();
    let p = primitive(w, "close", |inner| {
        flush_total(inner, "close").then(|_| crate::resolved(()))
    })
    .then(move |_| abort_wrapper(&main));
    // `p` may already be resolved; either way later closes share it.
    let p2 = p.clone();
    *inner.closing.borrow_mut() = Some(p2);
    p
}

/// Closes the channel at once, without flushing, and interrupts the read or
/// write in progress, which rejects with [`ChannelClosed`] (Lwt's `abort`).
/// Resolves like [`close`].
///
/// ```
/// let (ic, oc) = lwt::io::pipe().unwrap();
/// let pending = lwt::io::read_line(&ic);     // nothing to read yet
/// lwt::main::run(lwt::io::abort(&ic)).unwrap();
/// let e = lwt::main::run(pending).unwrap_err();
/// assert!(lwt::io::is_channel_closed(&e));
/// # drop(oc);
/// ```
pub fn abort<M: Mode>(ch: &Channel<M>) -> Promise<()> {
    if ch.w.lock.get() == Lock::Invalid {
        return crate::rejected(invalid_error(ch.w.inner.kind));
    }
    abort_wrapper(&ch.w)
}

fn abort_wrapper(w: &Rc<Wrapper>) -> Promise<()> {
    let inner = &w.inner;
    if let Some(p) = inner.close_result.borrow().clone() {
        return p;
    }
    inner.closed.set(true);
    // Interrupt the physical I/O in progress, if any. Borrows are released
    // before the resolver runs user callbacks.
    let inflight = inner.inflight.borrow_mut().take();
    match inflight {
        Some(Inflight::Waiting(w)) => w.fail(closed_error(inner.kind, "abort")),
        Some(Inflight::Cancel(io)) => io.cancel(),
        Some(Inflight::Wake(resolver, io, op)) => {
            let _ = resolver.try_wakeup_result(Err(closed_error(inner.kind, op)));
            io.cancel();
        }
        None => {}
    }
    let close_fn = inner.close_fn.borrow_mut().take();
    let result = match close_fn {
        Some(f) => crate::apply(|()| f(), ()),
        None => crate::resolved(()),
    };
    *inner.close_result.borrow_mut() = Some(result.clone());
    result
}

/// Whether the channel is closed (Lwt's `is_closed`).
pub fn is_closed<M: Mode>(ch: &Channel<M>) -> bool {
    ch.w.inner.closed.get()
}

/// Whether an operation is running or queued on the channel (Lwt's
/// `is_busy`).
pub fn is_busy<M: Mode>(ch: &Channel<M>) -> bool {
    !matches!(ch.w.lock.get(), Lock::Idle | Lock::Invalid)
}

/// The mode of the channel (Lwt's `mode`).
pub fn mode<M: Mode>(ch: &Channel<M>) -> ModeKind {
    ch.w.inner.kind
}

/// The number of bytes in the buffer (Lwt's `buffered`): for input, read
/// from the backend but not yet by the program; for output, written by the
/// program but not yet flushed.
pub fn buffered<M: Mode>(ch: &Channel<M>) -> usize {
    let i = &ch.w.inner;
    match i.kind {
        ModeKind::Input => i.max.get() - i.ptr.get(),
        ModeKind::Output => i.ptr.get(),
    }
}

/// The size of the channel's buffer (Lwt's `buffer_size`).
pub fn buffer_size<M: Mode>(ch: &Channel<M>) -> usize {
    ch.w.inner.size.get()
}

/// Changes the size of the channel's buffer (Lwt's `resize_buffer`). An
/// output channel is flushed first if its data would not fit; an input
/// channel cannot shrink below the data it holds (a failure).
///
/// ```
/// let (ic, oc) = lwt::io::pipe().unwrap();
/// lwt::main::run(lwt::io::resize_buffer(&ic, 65536)).unwrap();
/// assert_eq!(lwt::io::buffer_size(&ic), 65536);
/// assert!(lwt::main::run(lwt::io::resize_buffer(&oc, 4)).is_err());
/// ```
pub fn resize_buffer<M: Mode>(ch: &Channel<M>, size: usize) -> Promise<()> {
    if let Err(e) = check_buffer_size("resize_buffer", size) {
        return crate::rejected(e);
    }
    primitive(&ch.w, "resize_buffer", move |inner| {
        if matches!(&*inner.backend.borrow(), Backend::Memory) {
            return crate::rejected(Error::failure(
                "lwt::io::resize_buffer: cannot resize the buffer of a channel made by of_bytes",
            ));
        }
        let flushed = match inner.kind {
            ModeKind::Output if inner.ptr.get() > size => flush_total(inner, "resize_buffer"),
            _ => crate::resolved(()),
        };
        let i = inner.clone();
        flushed.bind(move |()| {
            let (start, end) = match i.kind {
                ModeKind::Input => (i.ptr.get(), i.max.get()),
                ModeKind::Output => (0, i.ptr.get()),
            };
            if end - start > size {
                return crate::fail_with("lwt::io::resize_buffer: cannot decrease buffer size");
            }
            let mut b = i.buf.borrow_mut();
            let mut nb = vec![0; size];
            nb[..end - start].copy_from_slice(&b[start..end]);
            *b = nb;
            i.size.set(size);
            if i.kind == ModeKind::Input {
                i.ptr.set(0);
                i.max.set(end - start);
            }
            crate::resolved(())
        })
    })
}

// ---------------------------------------------------------------------------
// Positions

/// The current position in the stream: bytes read by the program so far
/// for input, bytes written (flushed or not) for output (Lwt's `position`).
///
/// ```
/// let ic = lwt::io::of_bytes(lwt::io::Input, b"hello".to_vec());
/// lwt::main::run(lwt::io::read(&ic, 2)).unwrap();
/// assert_eq!(lwt::io::position(&ic), 2);
/// ```
pub fn position<M: Mode>(ch: &Channel<M>) -> u64 {
    let i = &ch.w.inner;
    match i.kind {
        ModeKind::Input => {
            if matches!(&*i.backend.borrow(), Backend::Memory) {
                i.ptr.get() as u64
            } else {
                i.offset.get() - (i.max.get() - i.ptr.get()) as u64
            }
        }
        ModeKind::Output => i.offset.get() + i.ptr.get() as u64,
    }
}

fn call_seek(inner: &Rc<Inner>, pos: i64, cmd: SeekCommand, op: &'static str) -> Promise<u64> {
    let Some(mut f) = inner.seek.borrow_mut().take() else {
        return crate::rejected(Error::failure(format!(
            "lwt::io::{op}: this channel does not support seeking"
        )));
    };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(pos, cmd)));
    *inner.seek.borrow_mut() = Some(f);
    match r {
        Ok(p) => p,
        Err(payload) => crate::rejected(Error::panic(super::panic_message(&*payload))),
    }
}

fn to_i64(v: u64, op: &str) -> Result<i64, Error> {
    i64::try_from(v).map_err(|_| Error::invalid_argument(format!("lwt::io::{op}: position {v} out of range")))
}

/// Moves to byte `pos` of the file (Lwt's `set_position`). An output channel
/// is flushed first; an input channel drops its buffer unless `pos` is
/// inside it. Channels without seeking reject with a failure.
///
/// ```
/// let path = std::env::temp_dir().join(format!("lwt-doc-setpos-{}", std::process::id()));
/// std::fs::write(&path, "0123456789").unwrap();
/// let p = lwt::io::open_file(lwt::io::Input, path.clone()).bind(|ic| {
///     lwt::io::set_position(&ic, 7).bind(move |()| lwt::io::read_to_end(&ic))
/// });
/// assert_eq!(lwt::main::run(p).unwrap(), b"789");
/// std::fs::remove_file(path).unwrap();
/// ```
pub fn set_position<M: Mode>(ch: &Channel<M>, pos: u64) -> Promise<()> {
    primitive(&ch.w, "set_position", move |inner| {
        let target = match to_i64(pos, "set_position") {
            Ok(t) => t,
            Err(e) => return crate::rejected(e),
        };
        match inner.kind {
            ModeKind::Output => {
                let i = inner.clone();
                flush_total(inner, "set_position").bind(move |()| {
                    let i2 = i.clone();
                    call_seek(&i, target, SeekCommand::Set, "set_position").map(move |p| i2.offset.set(p))
                })
            }
            ModeKind::Input => {
                if matches!(&*inner.backend.borrow(), Backend::Memory) {
                    // The buffer is the whole data (and `offset` is unused).
                    if pos > inner.max.get() as u64 {
                        return crate::fail_with("lwt::io::set_position: position past the end of the data");
                    }
                    inner.ptr.set(pos as usize);
                    return crate::resolved(());
                }
                let end = inner.offset.get();
                let start = end - (inner.max.get() as u64);
                if pos >= start && pos <= end {
                    // Inside the buffer: just move the read pointer.
                    inner.ptr.set((pos - start) as usize);
                    return crate::resolved(());
                }
                let i = inner.clone();
                call_seek(inner, target, SeekCommand::Set, "set_position").map(move |p| {
                    i.ptr.set(0);
                    i.max.set(0);
                    i.offset.set(p);
                })
            }
        }
    })
}

/// The length of the file under the channel, in bytes (Lwt's `length`). An
/// output channel is flushed first. Channels without seeking reject with a
/// failure.
pub fn length<M: Mode>(ch: &Channel<M>) -> Promise<u64> {
    primitive(&ch.w, "length", move |inner| {
        if matches!(&*inner.backend.borrow(), Backend::Memory) {
            return crate::resolved(inner.buf.borrow().len() as u64);
        }
        let flushed = match inner.kind {
            ModeKind::Output => flush_total(inner, "length"),
            ModeKind::Input => crate::resolved(()),
        };
        let i = inner.clone();
        flushed.bind(move |()| {
            let i2 = i.clone();
            call_seek(&i, 0, SeekCommand::End, "length").bind(move |len| {
                // Go back to where the backend was.
                let back = match to_i64(i2.offset.get(), "length") {
                    Ok(b) => b,
                    Err(e) => return crate::rejected(e),
                };
                call_seek(&i2, back, SeekCommand::Set, "length").map(move |_| len)
            })
        })
    })
}

// ---------------------------------------------------------------------------
// Dropping

impl Inner {
    /// Writes out what is buffered with plain system calls, without the
    /// loop: for channels that go away with data still buffered. Blocking
    /// descriptors are written until done; non-blocking ones until they
    /// would block (best effort: the rest is lost).
    fn flush_now(&self) {
        if self.kind != ModeKind::Output || self.closed.get() || self.lent.get() {
            return;
        }
        let len = self.ptr.get();
        if len == 0 {
            return;
        }
        let Ok(backend) = self.backend.try_borrow() else {
            return;
        };
        let Backend::Fd(fd) = &*backend else {
            return;
        };
        if !matches!(fd.state(), unix::State::Opened) {
            return;
        }
        let raw = fd.raw_fd();
        let Ok(mut buf) = self.buf.try_borrow_mut() else {
            return;
        };
        let len = len.min(buf.len());
        let mut done = 0;
        while done < len {
            match sys_write(raw, &buf[done..len], fd.is_stream_socket()) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        buf.copy_within(done..len, 0);
        self.ptr.set(len - done);
        self.offset.set(self.offset.get() + done as u64);
    }
}

impl Drop for Inner {
    /// An output channel over a descriptor that goes away with data still
    /// buffered writes it out (see `flush_now`).
    fn drop(&mut self) {
        self.flush_now();
    }
}

impl Drop for Outputs {
    /// When the thread ends (the main thread too, when the program returns
    /// from `main` or calls `std::process::exit`), the output channels still
    /// alive write what they buffered: Lwt's flush at exit, done without
    /// the loop. Channels can be kept alive past this point by callbacks the
    /// loop never ran (an auto-flush scheduled on the last turn), so their
    /// own `Drop` cannot be relied on.
    fn drop(&mut self) {
        for w in self.list.iter().filter_map(Weak::upgrade) {
            w.inner.flush_now();
        }
    }
}
