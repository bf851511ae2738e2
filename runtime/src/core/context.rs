//! The per-thread state of the resolution loop.
//!
//! Lwt runs callbacks on the stack of whoever resolved the promise. That is
//! what makes `wakeup` synchronous, and also what overflows the stack when a
//! long chain of binds waits on one promise (Lwt 5.6 segfaults at 100,000).
//! We keep Lwt's shape — callbacks run right away — but count how deeply
//! callback runs are nested. Past [`MAX_DEPTH`] the run is put on a queue
//! instead, and the outermost run empties that queue before it returns. So:
//!
//! - when `wakeup` returns, every callback it caused has run (rule 6 holds);
//! - the stack never holds more than `MAX_DEPTH` nested runs, whatever the
//!   length of the chain (10,000,000-deep chains resolve on a 2 MiB stack);
//! - only runs nested deeper than the limit change order, and they still run
//!   before the outermost resolution returns.
//!
//! `wakeup_later` uses the same queue with a limit of one (it defers whenever
//! it is called from inside a callback), exactly Lwt's rule 7.
//!
//! Immediate binds (a bind on an already-fulfilled promise calls its callback
//! at once, as in Lwt) are counted too: a recursive loop over resolved
//! promises would otherwise grow the stack without bound, since Rust has no
//! guaranteed tail calls.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

/// How many callback runs may nest on the stack before further ones are queued.
/// 42 is Lwt's own default nesting limit.
pub(crate) const MAX_DEPTH: u32 = 42;

type Job = Box<dyn FnOnce()>;

struct Ctx {
    depth: Cell<u32>,
    deferred: RefCell<VecDeque<Job>>,
    live: Cell<usize>,
    /// Set while the deferred queue is being emptied, so that a nested
    /// outermost exit does not start a second drain.
    draining: Cell<bool>,
}

thread_local! {
    static CTX: Ctx = const {
        Ctx {
            depth: Cell::new(0),
            deferred: RefCell::new(VecDeque::new()),
            live: Cell::new(0),
            draining: Cell::new(false),
        }
    };
}

/// Restores the depth if a job unwinds (user code is guarded, but hooks the
/// user installs might not be).
struct DepthGuard(u32);

impl Drop for DepthGuard {
    fn drop(&mut self) {
        CTX.with(|c| c.depth.set(self.0));
    }
}

/// Runs `job` now if the nesting depth allows it, or queues it otherwise.
/// Returns `None` when it was queued.
#[inline]
pub(crate) fn run_nested<R>(job: impl FnOnce() -> R) -> R {
    let d = CTX.with(|c| {
        let d = c.depth.get();
        c.depth.set(d + 1);
        d
    });
    let guard = DepthGuard(d);
    let r = job();
    drop(guard);
    if d == 0 {
        drain();
    }
    r
}

/// Whether a new nested run would exceed the limit.
#[inline]
pub(crate) fn too_deep() -> bool {
    CTX.with(|c| c.depth.get() >= MAX_DEPTH)
}

/// Whether some callback is running on this thread right now.
#[inline]
pub(crate) fn in_callback() -> bool {
    CTX.with(|c| c.depth.get() > 0)
}

/// Queues a job to run when the outermost run unwinds. If nothing is
/// running, runs the queue at once.
pub(crate) fn defer(job: Job) {
    let idle = CTX.with(|c| {
        c.deferred.borrow_mut().push_back(job);
        c.depth.get() == 0
    });
    if idle {
        drain();
    }
}

/// Runs `job` now (nested) or queues it if the stack is already deep.
#[inline]
pub(crate) fn run_or_defer(job: impl FnOnce() + 'static) {
    if too_deep() {
        defer(Box::new(job));
    } else {
        run_nested(job);
    }
}

/// Empties the deferred queue, from the outermost level.
fn drain() {
    let start = CTX.with(|c| {
        if c.draining.get() || c.deferred.borrow().is_empty() {
            false
        } else {
            c.draining.set(true);
            true
        }
    });
    if !start {
        super::direct::run_ready_tasks();
        return;
    }
    struct Draining;
    impl Drop for Draining {
        fn drop(&mut self) {
            CTX.with(|c| {
                c.draining.set(false);
                c.depth.set(0);
            });
        }
    }
    let _g = Draining;
    loop {
        let job = CTX.with(|c| c.deferred.borrow_mut().pop_front());
        match job {
            Some(job) => {
                CTX.with(|c| c.depth.set(1));
                job();
            }
            None => break,
        }
    }
    drop(_g);
    super::direct::run_ready_tasks();
}

/// Counts a promise node created.
#[inline]
pub(crate) fn node_created() {
    CTX.with(|c| c.live.set(c.live.get() + 1));
}

/// Counts a promise node freed.
#[inline]
pub(crate) fn node_dropped() {
    // `try_with`: nodes may be dropped while the thread's locals are torn down.
    let _ = CTX.try_with(|c| c.live.set(c.live.get().wrapping_sub(1)));
}

/// The number of promise nodes alive on this thread.
///
/// Promises that were resolved when created (such as `resolved(v)`) need no
/// node and are not counted. Tests use this to check that loops run in
/// constant memory.
pub fn live_promises() -> usize {
    CTX.with(|c| c.live.get())
}
