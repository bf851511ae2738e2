//! Worker threads for blocking work: Lwt's `Lwt_preemptive`.
//!
//! [`detach`] runs a closure on a pool thread and gives a promise of its
//! result; the loop thread keeps running meanwhile. From inside such a
//! closure, [`run_in_main`] runs promise code back on the loop thread and
//! waits for it.
//!
//! ```
//! let p = lwt::preemptive::detach(|| (1..=10u64).product::<u64>());
//! assert_eq!(lwt::main::run(p).unwrap(), 3_628_800);
//! ```
//!
//! How it works: the pool is process-wide (a mutex-protected FIFO queue and
//! a condition variable). A finished job posts its result to the inbox of
//! the loop that started it, which wakes that loop's `mio::Poll` through a
//! `mio::Waker`; the loop thread, which alone owns the promise, resolves it.
//!
//! # Differences from Lwt
//!
//! - The limit set by [`set_max_number_of_threads_queued`] is enforced:
//!   when every thread is busy and that many jobs already wait, `detach`
//!   returns a promise rejected with a [`Failure`](crate::ErrorKind::Failure)
//!   saying so (Lwt stores the number and never reads it).
//! - A panic in the closure rejects the promise with a
//!   [`Panic`](crate::ErrorKind::Panic) error (Lwt: the exception).
//! - Threads above the minimum exit after 10 seconds without work (Lwt's
//!   threads never exit), so an idle program does not keep them.
//! - A maximum of 0 threads is refused (in Lwt it makes `detach` hang).
//! - [`run_in_main`] returns a `Result` instead of raising; a rejection that
//!   carried a user-defined error comes back as a
//!   [`Failure`](crate::ErrorKind::Failure) with that error's message, since
//!   errors cannot cross threads.

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::main::remote::{Message, Remote};
use crate::{Error, ErrorKind, Promise};

type Job = Box<dyn FnOnce() + Send>;

/// How long a thread above the minimum waits for work before exiting.
const IDLE_EXIT: Duration = Duration::from_secs(10);

struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    min: usize,
    max: usize,
    max_queued: usize,
    initialized: bool,
}

/// A pool of worker threads with bounds and a bounded FIFO queue.
///
/// Two pools exist: the one of [`detach`] (Lwt_preemptive's, default bounds
/// 0..4) and the one of the `lwt::unix` jobs (file and name operations,
/// Lwt_unix's, see [`crate::unix::set_pool_size`]).
pub(crate) struct Pool {
    name: &'static str,
    state: Mutex<PoolState>,
    work: Condvar,
}

/// Why a job could not be started.
pub(crate) enum SubmitError {
    QueueFull(usize),
    Spawn(io::Error),
}

impl SubmitError {
    fn into_error(self, pool: &str) -> Error {
        match self {
            SubmitError::QueueFull(n) => Error::failure(format!(
                "{pool}: job queue full ({n} jobs already waiting for a thread)"
            )),
            SubmitError::Spawn(e) => Error::io(e),
        }
    }
}

impl Pool {
    pub(crate) const fn new(name: &'static str, min: usize, max: usize, max_queued: usize, initialized: bool) -> Pool {
        Pool {
            name,
            state: Mutex::new(PoolState {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                min,
                max,
                max_queued,
                initialized,
            }),
            work: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // Jobs run outside the lock and never panic inside it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts `job` on an idle thread, a new thread, or queues it.
    fn submit(&'static self, job: Job) -> Result<(), SubmitError> {
        let mut st = self.lock();
        let ready = st.ready_idle();
        if ready > st.queue.len() {
            st.queue.push_back(job);
            let surplus = st.threads > st.max;
            drop(st);
            // With surplus threads about to leave, wake them all: the ones
            // that leave first cannot take the job, the others will.
            if surplus {
                self.work.notify_all();
            } else {
                self.work.notify_one();
            }
            return Ok(());
        }
        if st.threads < st.max {
            st.threads += 1;
            drop(st);
            return self.spawn(Some(job)).map_err(SubmitError::Spawn);
        }
        if st.waiting() < st.max_queued {
            st.queue.push_back(job);
            return Ok(());
        }
        Err(SubmitError::QueueFull(st.max_queued))
    }

    /// Starts one thread (already counted in `threads`).
    fn spawn(&'static self, first: Option<Job>) -> io::Result<()> {
        let r = std::thread::Builder::new()
            .name(self.name.to_string())
            .spawn(move || self.worker(first));
        if let Err(e) = r {
            self.lock().threads -= 1;
            return Err(e);
        }
        Ok(())
    }

    fn worker(&'static self, first: Option<Job>) {
        if let Some(job) = first {
            job();
        }
        let mut st = self.lock();
        loop {
            // Surplus threads (the maximum was lowered) leave before taking
            // work, so the jobs queued behind the new maximum stay queued.
            if st.threads > st.max {
                break;
            }
            if let Some(job) = st.queue.pop_front() {
                drop(st);
                job();
                st = self.lock();
                continue;
            }
            st.idle += 1;
            let (g, t) = self.work.wait_timeout(st, IDLE_EXIT).unwrap_or_else(|e| e.into_inner());
            st = g;
            st.idle -= 1;
            if t.timed_out() && st.queue.is_empty() && st.threads > st.min {
                break;
            }
        }
        st.threads -= 1;
        let more = !st.queue.is_empty();
        drop(st);
        if more {
            // Pass on a wake-up this thread may have consumed.
            self.work.notify_one();
        }
    }

    pub(crate) fn set_bounds(&'static self, min: usize, max: usize) -> Result<(), Error> {
        if max == 0 || min > max {
            return Err(Error::invalid_argument(format!(
                "{}: set_bounds({min}, {max}): need 0 <= min <= max and max >= 1",
                self.name
            )));
        }
        let missing = {
            let mut st = self.lock();
            st.min = min;
            st.max = max;
            st.initialized = true;
            let missing = min.saturating_sub(st.threads);
            st.threads += missing;
            missing
        };
        // Threads above a lowered maximum exit when they next look for work.
        self.work.notify_all();
        for _ in 0..missing {
            self.spawn(None).map_err(Error::io)?;
        }
        Ok(())
    }

    pub(crate) fn bounds(&self) -> (usize, usize) {
        let st = self.lock();
        (st.min, st.max)
    }

    fn simple_init(&'static self) {
        let init = self.lock().initialized;
        if !init {
            // Lwt's `simple_init`: bounds 0..4 unless set before.
            let _ = self.set_bounds(0, 4);
        }
    }

    pub(crate) fn set_max_queued(&self, n: usize) {
        self.lock().max_queued = n;
    }

    pub(crate) fn max_queued(&self) -> usize {
        self.lock().max_queued
    }

    /// (threads, busy threads, queued jobs).
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let st = self.lock();
        (st.threads, st.threads - st.idle, st.waiting())
    }
}

impl PoolState {
    /// Idle threads that will take a job: idle ones minus those about to
    /// leave because the maximum was lowered.
    fn ready_idle(&self) -> usize {
        self.idle.saturating_sub(self.threads.saturating_sub(self.max))
    }

    /// Queued jobs that no idle thread is about to take.
    fn waiting(&self) -> usize {
        self.queue.len().saturating_sub(self.ready_idle())
    }
}

static DETACH_POOL: Pool = Pool::new("lwt-preemptive", 0, 4, 1000, false);

thread_local! {
    /// On a worker thread running a job: the inbox of the loop that posted it.
    static CURRENT_LOOP: RefCell<Option<Arc<Remote>>> = const { RefCell::new(None) };
}

/// Sets [`CURRENT_LOOP`] for the duration of a job.
struct LoopScope;

impl LoopScope {
    fn enter(remote: Arc<Remote>) -> LoopScope {
        CURRENT_LOOP.with(|c| *c.borrow_mut() = Some(remote));
        LoopScope
    }
}

impl Drop for LoopScope {
    fn drop(&mut self) {
        let _ = CURRENT_LOOP.try_with(|c| c.borrow_mut().take());
    }
}

fn panic_text(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_string()
    }
}

/// Runs `f` on a thread of `pool` and returns a promise of its result,
/// resolved on the calling loop thread. A panic in `f` rejects the promise.
pub(crate) fn submit_job<T: Send + 'static>(pool: &'static Pool, f: impl FnOnce() -> T + Send + 'static) -> Promise<T> {
    let engine = match crate::main::engine() {
        Ok(e) => e,
        Err(e) => return crate::rejected(Error::io(e)),
    };
    let (p, r) = crate::wait::<T>();
    let key = engine.add_job(Box::new(move |payload: Box<dyn Any + Send>| {
        match payload.downcast::<Result<T, String>>() {
            Ok(res) => match *res {
                Ok(v) => r.wakeup(v),
                Err(msg) => r.wakeup_exn(Error::panic(msg)),
            },
            Err(_) => r.wakeup_exn(Error::failure("lwt: job completed with a mistyped result")),
        }
    }));
    let remote = engine.remote.clone();
    let job: Job = Box::new(move || {
        let _scope = LoopScope::enter(remote.clone());
        let res: Result<T, String> = catch_unwind(AssertUnwindSafe(f)).map_err(|p| panic_text(&*p));
        // If the loop thread is gone, nobody waits for the result.
        let _ = remote.post(Message::Done(key, Box::new(res)));
    });
    match pool.submit(job) {
        Ok(()) => p,
        Err(e) => {
            engine.remove_job(key);
            crate::rejected(e.into_error(pool.name))
        }
    }
}

/// Runs `f` on a worker thread and returns a promise of its result (Lwt's
/// `detach`).
///
/// The promise is not cancelable: the thread cannot be interrupted. A panic
/// in `f` rejects it with a [`Panic`](crate::ErrorKind::Panic) error. If all
/// threads are busy the job waits in a FIFO queue; if the queue already
/// holds [`get_max_number_of_threads_queued`] jobs, the promise is rejected.
/// The first call sets the bounds to 0..4 unless they were set before
/// ([`simple_init`]).
///
/// ```
/// let p = lwt::preemptive::detach(|| std::thread::current().name().map(String::from));
/// let name = lwt::main::run(p).unwrap();
/// assert_eq!(name.as_deref(), Some("lwt-preemptive"));
///
/// let p = lwt::preemptive::detach(|| -> u8 { panic!("boom") });
/// assert_eq!(lwt::main::run(p).unwrap_err().kind(), lwt::ErrorKind::Panic);
/// ```
pub fn detach<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Promise<T> {
    DETACH_POOL.simple_init();
    submit_job(&DETACH_POOL, f)
}

/// An [`Error`] taken apart so it can cross threads.
struct SendableError {
    kind: ErrorKind,
    message: String,
    io: Option<io::Error>,
}

impl SendableError {
    fn of(e: &Error) -> SendableError {
        SendableError {
            kind: e.kind(),
            message: e.message(),
            io: e.io_error().map(|io| match io.raw_os_error() {
                Some(code) => io::Error::from_raw_os_error(code),
                None => io::Error::new(io.kind(), io.to_string()),
            }),
        }
    }

    fn into_error(self) -> Error {
        match self.kind {
            ErrorKind::Canceled => Error::canceled(),
            ErrorKind::Timeout => Error::timeout(),
            ErrorKind::Io => match self.io {
                Some(io) => Error::io(io),
                None => Error::io(io::Error::other(self.message)),
            },
            ErrorKind::InvalidArgument => Error::invalid_argument(self.message),
            ErrorKind::Panic => Error::panic(self.message),
            _ => Error::failure(self.message),
        }
    }
}

fn current_loop() -> Option<Arc<Remote>> {
    CURRENT_LOOP.with(|c| c.borrow().clone())
}

/// Runs `f` on the loop thread that started the current job, waits for its
/// promise to resolve, and returns the outcome (Lwt's `run_in_main`).
///
/// Call it from inside a [`detach`]ed closure. Called anywhere else — on a
/// loop thread, where waiting would deadlock, or on a thread that no loop
/// started — it returns a [`Failure`](crate::ErrorKind::Failure) at once.
///
/// ```
/// let p = lwt::preemptive::detach(|| {
///     lwt::preemptive::run_in_main(|| lwt::pause().map(|()| 20)).unwrap() + 1
/// });
/// assert_eq!(lwt::main::run(p).unwrap(), 21);
/// ```
pub fn run_in_main<T: Send + 'static>(f: impl FnOnce() -> Promise<T> + Send + 'static) -> Result<T, Error> {
    let Some(remote) = current_loop() else {
        return Err(Error::failure(
            "lwt::preemptive::run_in_main: not called from a detached job \
             (on a loop thread it would deadlock)",
        ));
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<T, SendableError>>(1);
    let request = Box::new(move || {
        let p = crate::catch(f, crate::rejected);
        drop(p.then(move |r| {
            // The worker may have given up waiting (it cannot: it blocks).
            let _ = tx.send(r.map_err(|e| SendableError::of(&e)));
            crate::resolved(())
        }));
    });
    if remote.post(Message::Run(request)).is_err() {
        return Err(Error::failure("lwt::preemptive::run_in_main: the loop thread is gone"));
    }
    match rx.recv() {
        Ok(r) => r.map_err(SendableError::into_error),
        Err(_) => Err(Error::failure("lwt::preemptive::run_in_main: the loop thread is gone")),
    }
}

/// Runs `f` on the loop thread without waiting for it (Lwt's
/// `run_in_main_dont_wait`); if its promise rejects (or `f` panics),
/// `handler` gets the error, on the loop thread.
///
/// From a detached job it targets the loop that started the job; from any
/// other thread it targets that thread's own loop (the call then acts on an
/// iteration of that loop).
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
/// let n = Arc::new(AtomicU32::new(0));
/// let n2 = n.clone();
/// let p = lwt::preemptive::detach(move || {
///     lwt::preemptive::run_in_main_dont_wait(
///         move || { n2.fetch_add(1, Ordering::SeqCst); lwt::resolved(()) },
///         |_| {},
///     )
///     .is_ok()
/// });
/// assert!(lwt::main::run(p).unwrap());
/// lwt::main::run(lwt::pause()).unwrap();
/// assert_eq!(n.load(Ordering::SeqCst), 1);
/// ```
pub fn run_in_main_dont_wait(
    f: impl FnOnce() -> Promise<()> + Send + 'static,
    handler: impl FnOnce(Error) + Send + 'static,
) -> Result<(), Error> {
    let remote = match current_loop() {
        Some(r) => r,
        None => crate::main::engine().map_err(Error::io)?.remote.clone(),
    };
    let request = Box::new(move || {
        let p = crate::catch(f, crate::rejected);
        p.on_failure(move |e| handler(e.clone()));
    });
    remote
        .post(Message::Run(request))
        .map_err(|_| Error::failure("lwt::preemptive::run_in_main_dont_wait: the loop thread is gone"))
}

/// Sets the minimum and maximum number of worker threads (Lwt's
/// `set_bounds`); starts threads up to the new minimum.
///
/// Returns an [`InvalidArgument`](crate::ErrorKind::InvalidArgument) error
/// if `min > max` or `max == 0`.
///
/// ```
/// lwt::preemptive::set_bounds((1, 8)).unwrap();
/// assert_eq!(lwt::preemptive::get_bounds(), (1, 8));
/// assert!(lwt::preemptive::set_bounds((3, 2)).is_err());
/// ```
pub fn set_bounds((min, max): (usize, usize)) -> Result<(), Error> {
    DETACH_POOL.set_bounds(min, max)
}

/// The current (minimum, maximum) number of worker threads.
pub fn get_bounds() -> (usize, usize) {
    DETACH_POOL.bounds()
}

/// Sets the bounds (Lwt's `init min max log`; there is no log function).
pub fn init(min: usize, max: usize) -> Result<(), Error> {
    set_bounds((min, max))
}

/// Sets the bounds to 0..4 unless they were already set (Lwt's
/// `simple_init`; [`detach`] calls it).
pub fn simple_init() {
    DETACH_POOL.simple_init();
}

/// Sets how many jobs may wait for a thread before [`detach`] rejects new
/// ones (default 1000).
pub fn set_max_number_of_threads_queued(n: usize) {
    DETACH_POOL.set_max_queued(n);
}

/// How many jobs may wait for a thread.
pub fn get_max_number_of_threads_queued() -> usize {
    DETACH_POOL.max_queued()
}

/// The number of worker threads alive.
pub fn nbthreads() -> usize {
    DETACH_POOL.counts().0
}

/// The number of worker threads running a job.
pub fn nbthreadsbusy() -> usize {
    DETACH_POOL.counts().1
}

/// The number of jobs waiting for a thread.
pub fn nbthreadsqueued() -> usize {
    DETACH_POOL.counts().2
}
