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
//!
//! Speed: every bind passes through here, so the counters live in a
//! thread-local without a destructor (no lazy-registration check on access),
//! and "is there queued work?" is one flag, checked only at the outermost
//! exit.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

use super::freelist;

/// How many callback runs may nest on the stack before further ones are queued.
/// 42 is Lwt's own default nesting limit.
pub(crate) const MAX_DEPTH: u32 = 42;

/// A deferred piece of work: a `Box<dyn FnOnce()>` whose memory comes from
/// the per-thread free lists (`freelist.rs`) instead of `malloc`.
///
/// Every `wakeup_later` past the first level queues one (a mutex hand-over
/// does, each turn), so the allocator showed as a tenth of a mutex ping-pong.
/// Calling a `dyn FnOnce` needs the closure by value, which only `Box` can
/// give; so the block holds an `Option` of the closure, and [`Run`] takes it
/// out and calls it in place.
pub(crate) struct Job(NonNull<dyn Run>);

/// What a [`Job`] holds: work done once (a closure taken out and called, or
/// a callback run whose state was written straight into the block, see
/// [`Job::new_in`]). Once `run` has started, what is left in the block
/// owns nothing, even if it unwinds: the block is then given back without
/// a drop (that spared a second call through the table per job).
pub(crate) trait Run {
    /// Does the work; called at most once.
    fn run(&mut self);
}

impl<F: FnOnce()> Run for Option<F> {
    fn run(&mut self) {
        if let Some(f) = self.take() {
            f()
        }
    }
}

impl Job {
    /// A job that calls `f`.
    pub(crate) fn new<F: FnOnce() + 'static>(f: F) -> Job {
        Job(freelist::boxed(Some(f)))
    }

    /// A job whose state `init` writes in place into the job's fresh block
    /// (a pointer to uninitialized memory sized for an `R`). Building the
    /// state on the stack and moving it in would copy it through the stack
    /// right after writing it: a store-forwarding stall on the hot path of
    /// every deferred wakeup.
    ///
    /// # Safety
    /// `init` must initialize the whole `R` before it returns, and must not
    /// unwind.
    #[inline(always)]
    pub(crate) unsafe fn new_in<R: Run + 'static>(init: impl FnOnce(*mut R)) -> Job {
        const { assert!(std::mem::size_of::<R>() > 0, "a job's state has a size") };
        let p = freelist::alloc(std::alloc::Layout::new::<R>(), false).cast::<R>();
        init(p.as_ptr());
        Job(p)
    }

    /// Does the work, then frees the block (also if it panics).
    pub(crate) fn run(self) {
        /// Gives the block back, undropped (see [`Run`]).
        struct Free(NonNull<dyn Run>);
        impl Drop for Free {
            fn drop(&mut self) {
                // SAFETY: the block came from the free lists with the layout
                // its metadata gives, and is not used after.
                unsafe {
                    let layout = std::alloc::Layout::for_value(self.0.as_ref());
                    if layout.size() != 0 {
                        freelist::dealloc(self.0.cast(), layout, false);
                    }
                }
            }
        }
        let free = Free(ManuallyDrop::new(self).0);
        // SAFETY: the block holds a live `Run` value, owned by this job,
        // run once.
        unsafe { (*free.0.as_ptr()).run() }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: the block came from `freelist::boxed` or `new_in` (the
        // same size class for the same type) and is dropped once.
        unsafe { freelist::drop_boxed(self.0) }
    }
}

/// The hot counters: plain `Cell`s, so the thread-local needs no destructor.
struct Fast {
    depth: Cell<u32>,
    /// Deferred jobs or ready tasks may be waiting (cleared when drained).
    work: Cell<bool>,
    draining: Cell<bool>,
}

thread_local! {
    static FAST: Fast = const {
        Fast {
            depth: Cell::new(0),
            work: Cell::new(false),
            draining: Cell::new(false),
        }
    };
    static DEFERRED: RefCell<VecDeque<Job>> = const { RefCell::new(VecDeque::new()) };
}

/// Enters one level of callback nesting; `None` if that would be too deep.
#[inline]
pub(crate) fn enter() -> Option<u32> {
    FAST.with(|c| {
        let d = c.depth.get();
        if d >= MAX_DEPTH {
            None
        } else {
            c.depth.set(d + 1);
            Some(d)
        }
    })
}

/// Leaves a level entered with [`enter`]; the outermost exit runs queued work.
#[inline]
pub(crate) fn leave(d: u32) {
    let run = FAST.with(|c| {
        c.depth.set(d);
        d == 0 && c.work.get()
    });
    if run {
        drain();
    }
}

/// Leaves a nesting level when dropped, also if a job unwinds (user code is
/// guarded, but hooks the user installs might not be).
pub(crate) struct Leave(pub(crate) u32);

impl Drop for Leave {
    #[inline]
    fn drop(&mut self) {
        leave(self.0);
    }
}

/// Runs `job` nested one level deeper (even past the limit).
#[inline]
pub(crate) fn run_nested<R>(job: impl FnOnce() -> R) -> R {
    let d = FAST.with(|c| {
        let d = c.depth.get();
        c.depth.set(d + 1);
        d
    });
    let _leave = Leave(d);
    job()
}

/// Whether some callback is running on this thread right now.
#[inline]
pub(crate) fn in_callback() -> bool {
    FAST.with(|c| c.depth.get() > 0)
}

/// Marks that queued work is waiting for the outermost exit.
#[inline]
pub(crate) fn note_work() {
    FAST.with(|c| c.work.set(true));
}

/// Queues a job to run when the outermost run unwinds. If nothing is
/// running, runs the queue at once.
pub(crate) fn defer(job: Job) {
    DEFERRED.with(|q| q.borrow_mut().push_back(job));
    let idle = FAST.with(|c| {
        c.work.set(true);
        c.depth.get() == 0
    });
    if idle {
        drain();
    }
}

/// Runs `job` now (nested) or queues it if the stack is already deep.
pub(crate) fn run_job_or_defer(job: Job) {
    match enter() {
        Some(d) => {
            let _leave = Leave(d);
            job.run();
        }
        None => defer(job),
    }
}

/// Empties the deferred queue and polls ready tasks, from the outermost level.
fn drain() {
    let start = FAST.with(|c| {
        if c.draining.get() {
            false
        } else {
            c.draining.set(true);
            c.work.set(false);
            true
        }
    });
    if !start {
        return;
    }
    struct Draining;
    impl Drop for Draining {
        fn drop(&mut self) {
            FAST.with(|c| {
                c.draining.set(false);
                c.depth.set(0);
            });
        }
    }
    let _g = Draining;
    loop {
        let job = DEFERRED.with(|q| q.borrow_mut().pop_front());
        match job {
            Some(job) => {
                FAST.with(|c| c.depth.set(1));
                job.run();
            }
            None => {
                FAST.with(|c| c.depth.set(0));
                // Tasks woken by the jobs above; they may queue more jobs.
                super::direct::run_ready_tasks();
                let more = DEFERRED.with(|q| !q.borrow().is_empty());
                if !more {
                    break;
                }
            }
        }
    }
}

/// The number of promise nodes alive on this thread.
///
/// Promises that were resolved when created (such as `resolved(v)`) need no
/// node and are not counted. Tests use this to check that loops run in
/// constant memory.
pub fn live_promises() -> usize {
    super::freelist::blocks_out()
}

#[cfg(test)]
mod tests {
    use super::Job;
    use crate::core::testing::Probe;
    use std::cell::Cell;
    use std::rc::Rc;

    #[test]
    fn a_job_runs_once_and_drops_its_captures_once() {
        let (runs, drops) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let (r, p) = (runs.clone(), Probe::new(&drops));
        Job::new(move || {
            let _keep = &p;
            r.set(r.get() + 1);
        })
        .run();
        assert_eq!((runs.get(), drops.get()), (1, 1));
        // Never run: the captures are still dropped, once.
        let p = Probe::new(&drops);
        drop(Job::new(move || drop(p)));
        assert_eq!((runs.get(), drops.get()), (1, 2));
        // Big and zero-sized closures take the same road.
        let big = [1u64; 40];
        let r = runs.clone();
        Job::new(move || r.set(r.get() + big.iter().sum::<u64>() as u32)).run();
        Job::new(|| ()).run();
        assert_eq!(runs.get(), 41);
    }

    #[test]
    fn a_job_that_panics_still_frees_its_block() {
        let drops = Rc::new(Cell::new(0));
        let p = Probe::new(&drops);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            Job::new(move || {
                let _keep = p;
                panic!("job panics");
            })
            .run()
        }));
        assert!(r.is_err());
        assert_eq!(drops.get(), 1);
    }
}
