//! The event loop: Lwt's `Lwt_main`, with the engine of `Lwt_engine` inside.
//!
//! [`run`] drives the loop of the calling thread until a promise resolves and
//! returns its outcome. Each iteration, as in Lwt:
//!
//! 1. the [enter-iteration hooks](enter_iter_hooks) run;
//! 2. the engine polls the operating system through one `mio::Poll`, blocking
//!    only if no paused callback or remotely woken task is waiting, then
//!    resolves the fd waiters that became ready, the timers that are due, and
//!    the jobs that worker threads finished (those wake the poll through a
//!    `mio::Waker`);
//! 3. [`wakeup_paused`](crate::wakeup_paused) resumes the callbacks paused so
//!    far ([`yield_`] / [`pause`](crate::pause));
//! 4. the [leave-iteration hooks](leave_iter_hooks) run.
//!
//! ```
//! use std::time::Duration;
//! let p = lwt::unix::sleep(Duration::from_millis(1)).map(|()| 42);
//! assert_eq!(lwt::main::run(p).unwrap(), 42);
//! ```
//!
//! # How often the loop looks at the OS
//!
//! When callbacks keep pausing, the loop never blocks. It still checks the
//! timers (one clock read, only if timers exist) and the worker-thread inbox
//! (one atomic load) on every iteration, but it asks the kernel for fd
//! readiness (a zero-timeout `epoll_wait`) only every 16 iterations, and not
//! at all while no fd waiter is registered. So a pause-only loop costs no
//! system call per iteration, and fd readiness is seen at most 15 iterations
//! late, never starved. When nothing is ready, the loop blocks in
//! `epoll_wait` until the next timer, fd event or worker completion.
//!
//! # Differences from Lwt
//!
//! - There is one loop **per thread** (promises are `!Send`); `run` on two
//!   threads at once runs two independent loops.
//! - A nested `run` returns `Err` (a [`Failure`](crate::ErrorKind::Failure)
//!   with the message of Lwt's `Failure`) instead of raising.
//! - Rust has no reliable process-exit hook for thread-local, `!Send`
//!   closures, so the [exit hooks](exit_hooks) run when the program calls
//!   [`exit`] or [`run_exit_hooks`] (the `#[lwt::main]` attribute does so
//!   after `main` returns), not from `Stdlib.at_exit`.
//! - A single backend (mio: epoll or kqueue); there is no pluggable engine.

mod engine;
mod hooks;
pub(crate) mod remote;
mod timers;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

pub(crate) use engine::{
    engine, existing_engine, wait_io, wait_retry, with_engine, Dir, Engine, Readiness, Retry, RetryBox,
};
pub use hooks::HookId;
use hooks::Hooks;

use crate::{Error, Promise};

/// The message of the error returned by a nested [`run`].
const NESTED: &str = "Nested calls to lwt::main::run are not allowed";

type IterHook = Rc<dyn Fn()>;
type ExitHook = Box<dyn FnOnce() -> Promise<()>>;

thread_local! {
    static RUNNING: Cell<bool> = const { Cell::new(false) };
    static ENTER: Hooks<IterHook> = const { Hooks::new() };
    static LEAVE: Hooks<IterHook> = const { Hooks::new() };
    static EXIT: Hooks<ExitHook> = const { Hooks::new() };
}

/// Marks the loop as running and clears the mark however `run` ends (even
/// if a hook panics), so a later `run` is not refused.
struct RunningGuard(bool);

impl RunningGuard {
    fn enter() -> RunningGuard {
        RunningGuard(RUNNING.with(|r| r.replace(true)))
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        let prev = self.0;
        let _ = RUNNING.try_with(|r| r.set(prev));
    }
}

/// Runs the event loop of this thread until `p` resolves, and returns its
/// value or its rejection (Lwt's `Lwt_main.run`).
///
/// If `p` can never resolve — nothing is ready and nothing is registered
/// that could resolve it (no timer, I/O wait, worker job, child wait, signal
/// handler or async task) — `run` returns a failure instead of blocking
/// forever, as Lwt would.
///
/// If `p` is already resolved no iteration runs. Calling `run` from inside a
/// callback of a running loop returns `Err` with a
/// [`Failure`](crate::ErrorKind::Failure) at once: the loop is not
/// reentrant (the outer loop is unaffected).
///
/// ```
/// let (p, r) = lwt::wait::<&str>();
/// lwt::async_(move || {
///     lwt::pause().map(move |()| r.wakeup("done"))
/// });
/// assert_eq!(lwt::main::run(p).unwrap(), "done");
///
/// let nested = lwt::pause().map(|()| lwt::main::run(lwt::resolved(1)));
/// let inner = lwt::main::run(nested).unwrap();
/// assert!(inner.unwrap_err().message().contains("Nested calls"));
/// ```
pub fn run<T: 'static>(p: Promise<T>) -> Result<T, Error> {
    if RUNNING.with(Cell::get) {
        return Err(Error::failure(NESTED));
    }
    let engine = engine().map_err(Error::io)?;
    let _guard = RunningGuard::enter();
    drive(&engine, p)
}

/// The loop itself, without the nesting check.
fn drive<T: 'static>(engine: &Engine, p: Promise<T>) -> Result<T, Error> {
    let slot: Rc<RefCell<Option<Result<T, Error>>>> = Rc::new(RefCell::new(None));
    let s = slot.clone();
    // The promise `then` returns only matters for its side effect on `slot`.
    drop(p.then(move |r| {
        *s.borrow_mut() = Some(r);
        crate::resolved(())
    }));
    loop {
        if let Some(r) = slot.borrow_mut().take() {
            return r;
        }
        let ready = crate::core::has_ready_work();
        if !ready && stuck(engine) {
            return Err(Error::failure(STUCK));
        }
        iteration(engine, ready);
    }
}

const STUCK: &str = "lwt::main::run: the promise can never resolve: nothing is left that could resolve it \
                     (no pause, timer, I/O wait, job, child wait, signal handler or async task is pending)";

/// Whether the loop would block forever: nothing is ready and nothing is
/// registered that could ever make something ready.
///
/// Lwt blocks forever here (`Lwt_main.run (fst (Lwt.wait ()))` is its
/// "run forever" idiom). We report it instead, as Go reports "all
/// goroutines are asleep": a program in this state can only hang. The test
/// is conservative: anything that another thread or the OS might complete —
/// fd waits, timers, jobs on worker threads (the only senders of
/// `run_in_main`), child waits, signal handlers, and async tasks (a foreign
/// future may be woken from any thread) — keeps the loop waiting.
///
/// The caller has already checked that no pause or woken task is ready.
fn stuck(engine: &Engine) -> bool {
    engine.io_counts() == (0, 0)
        && engine.timer_count() == 0
        && engine.job_count() == 0
        && engine.signal_handler_count() == 0
        && crate::unix::wait_count() == 0
        && crate::core::live_tasks() == 0
        && !engine.remote.has_pending()
}

/// Runs the hooks of `which`; whether there were any.
fn call_hooks(which: &'static std::thread::LocalKey<Hooks<IterHook>>) -> bool {
    if which.with(Hooks::is_empty) {
        return false;
    }
    for h in which.with(Hooks::snapshot) {
        h();
    }
    true
}

/// One turn of the loop. `ready` is what `has_ready_work` said just before;
/// it is asked again only if an enter hook ran (a hook may pause).
fn iteration(engine: &Engine, ready: bool) {
    let ready = if call_hooks(&ENTER) {
        crate::core::has_ready_work()
    } else {
        ready
    };
    engine.iter(!ready);
    crate::wakeup_paused();
    call_hooks(&LEAVE);
}

/// Pauses until the next loop iteration (Lwt's deprecated `Lwt_main.yield`,
/// the same as [`pause`](crate::pause)).
///
/// ```
/// let p = lwt::main::yield_();
/// assert!(p.is_pending());
/// lwt::main::run(p).unwrap();
/// ```
pub fn yield_() -> Promise<()> {
    crate::pause()
}

/// Forgets every paused promise (Lwt's `abandon_yielded_and_paused`).
pub fn abandon_yielded_and_paused() {
    crate::abandon_paused();
}

macro_rules! iter_hooks {
    ($name:ident, $key:ident, $when:literal) => {
        #[doc = concat!("Hooks called ", $when, " of every loop iteration (Lwt_main's `", stringify!($name), "`).")]
        ///
        /// Hooks are per thread; they run in list order.
        pub mod $name {
            use super::{$key, HookId};
            use std::rc::Rc;

            /// Adds a hook to run before the others.
            pub fn add_first(f: impl Fn() + 'static) -> HookId {
                $key.with(|h| h.add_first(Rc::new(f)))
            }

            /// Adds a hook to run after the others.
            pub fn add_last(f: impl Fn() + 'static) -> HookId {
                $key.with(|h| h.add_last(Rc::new(f)))
            }

            /// Removes a hook (nothing happens if it was already removed).
            pub fn remove(id: HookId) {
                $key.with(|h| h.remove(id))
            }

            /// Removes every hook of this list.
            pub fn remove_all() {
                $key.with(|h| h.remove_all())
            }
        }
    };
}

iter_hooks!(enter_iter_hooks, ENTER, "at the start");
iter_hooks!(leave_iter_hooks, LEAVE, "at the end");

/// Hooks run once when the program exits through [`exit`] or
/// [`run_exit_hooks`] (Lwt_main's `Exit_hooks`).
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// let ran = Rc::new(Cell::new(0));
/// let r = ran.clone();
/// lwt::main::exit_hooks::add_last(move || { r.set(r.get() + 1); lwt::resolved(()) });
/// lwt::main::run_exit_hooks();
/// lwt::main::run_exit_hooks(); // hooks run once
/// assert_eq!(ran.get(), 1);
/// ```
pub mod exit_hooks {
    use super::{HookId, EXIT};
    use crate::Promise;

    /// Adds a hook to run before the others.
    pub fn add_first(f: impl FnOnce() -> Promise<()> + 'static) -> HookId {
        EXIT.with(|h| h.add_first(Box::new(f)))
    }

    /// Adds a hook to run after the others.
    pub fn add_last(f: impl FnOnce() -> Promise<()> + 'static) -> HookId {
        EXIT.with(|h| h.add_last(Box::new(f)))
    }

    /// Removes a hook (nothing happens if it was already removed).
    pub fn remove(id: HookId) {
        EXIT.with(|h| h.remove(id))
    }

    /// Removes every exit hook.
    pub fn remove_all() {
        EXIT.with(|h| h.remove_all())
    }
}

/// Registers `f` to run at exit, before the hooks registered earlier
/// (Lwt's `Lwt_main.at_exit`, i.e. `Exit_hooks.add_first`).
pub fn at_exit(f: impl FnOnce() -> Promise<()> + 'static) -> HookId {
    exit_hooks::add_first(f)
}

/// Runs the exit hooks of this thread, in order, each to completion, and
/// empties the list. Their failures are ignored, as in Lwt.
///
/// It may be called from inside a running loop (the hooks are then driven by
/// a nested loop, which is allowed here because the program is ending).
pub fn run_exit_hooks() {
    let Ok(engine) = engine() else { return };
    // Hooks may register more hooks; run until the list stays empty.
    loop {
        let hooks = EXIT.with(Hooks::take_all);
        if hooks.is_empty() {
            return;
        }
        let _guard = RunningGuard::enter();
        for h in hooks {
            let p = crate::catch(h, |_| crate::resolved(()));
            let _ = drive(&engine, p);
        }
    }
}

/// Runs the exit hooks, then exits the process with `code`.
pub fn exit(code: i32) -> ! {
    run_exit_hooks();
    std::process::exit(code)
}

/// The number of pending waits for readability on this thread's loop
/// (Lwt_engine's `readable_count`).
///
/// ```
/// assert_eq!(lwt::main::readable_count(), 0);
/// ```
pub fn readable_count() -> usize {
    existing_engine().map_or(0, |e| e.io_counts().0)
}

/// The number of pending waits for writability (Lwt_engine's `writable_count`).
pub fn writable_count() -> usize {
    existing_engine().map_or(0, |e| e.io_counts().1)
}

/// The number of live timers: sleeps set and neither fired nor canceled
/// (Lwt_engine's `timer_count`).
///
/// ```
/// use std::time::Duration;
/// let s = lwt::unix::sleep(Duration::from_secs(60));
/// assert_eq!(lwt::main::timer_count(), 1);
/// s.cancel();
/// assert_eq!(lwt::main::timer_count(), 0);
/// ```
pub fn timer_count() -> usize {
    existing_engine().map_or(0, |e| e.timer_count())
}

/// The number of jobs this thread's loop has running or queued on worker
/// threads ([`detach`](crate::preemptive::detach) calls and Unix jobs).
pub fn job_count() -> usize {
    existing_engine().map_or(0, |e| e.job_count())
}
