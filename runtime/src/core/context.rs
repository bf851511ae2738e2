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

use std::cell::Cell;
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
///
/// The block starts with a link ([`Linked`]), so that the deferred queue is
/// a list threaded through the jobs themselves (see [`defer`]).
pub(crate) struct Job(NonNull<dyn Run>);

/// The link to the next job of the deferred queue.
type Link = Cell<Option<NonNull<dyn Run>>>;

/// A job's block: the queue's link first (`repr(C)`, so it is found at the
/// block's address whatever the job's type), then the job's state.
#[repr(C)]
struct Linked<R> {
    next: Link,
    state: R,
}

impl<R: Run> Run for Linked<R> {
    #[inline(always)]
    fn run(&mut self) {
        self.state.run()
    }
}

/// The link of the job whose block is at `p`.
///
/// # Safety
/// `p` is a live block made by [`Job::new`] or [`Job::new_in`].
#[inline(always)]
unsafe fn link<'a>(p: NonNull<dyn Run>) -> &'a Link {
    // SAFETY: every job's block is a `Linked<_>`, whose first field, at
    // offset 0, is the link.
    unsafe { &*p.cast::<Link>().as_ptr() }
}

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
        Job(freelist::boxed(Linked {
            next: Cell::new(None),
            state: Some(f),
        }))
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
        let p = freelist::alloc(std::alloc::Layout::new::<Linked<R>>(), false).cast::<Linked<R>>();
        // SAFETY: the block is fresh, sized and aligned for a `Linked<R>`;
        // the link is written here, the state by `init` (the caller's
        // promise).
        unsafe {
            std::ptr::addr_of_mut!((*p.as_ptr()).next).write(Cell::new(None));
            init(std::ptr::addr_of_mut!((*p.as_ptr()).state));
        }
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
    /// The deferred queue: the first and last job, linked through their
    /// blocks (see [`defer`]).
    head: Cell<Option<NonNull<dyn Run>>>,
    tail: Cell<Option<NonNull<dyn Run>>>,
}

thread_local! {
    static FAST: Fast = const {
        Fast {
            depth: Cell::new(0),
            work: Cell::new(false),
            draining: Cell::new(false),
            head: Cell::new(None),
            tail: Cell::new(None),
        }
    };
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
///
/// The queue is a list threaded through the jobs' own blocks, its ends in
/// the destructor-free thread-local of the counters. It was a
/// `RefCell<VecDeque<Job>>` in a thread-local of its own: every push and pop
/// paid that thread-local's registration check, the borrow flag, and the
/// ring's wrap-around: about 50 instructions, 4% of a mutex hand-over. A
/// thread-local without a destructor cannot drop the jobs still queued
/// when its thread ends; none are then, since the outermost run empties the
/// queue before it returns (a job that panicked out of [`drain`] leaves the
/// rest for the next run), and a job left anyway is leaked, not run.
pub(crate) fn defer(job: Job) {
    let p = ManuallyDrop::new(job).0;
    let idle = FAST.with(|c| {
        match c.tail.get() {
            // SAFETY: the tail is a queued job, alive until it is popped.
            Some(t) => unsafe { link(t) }.set(Some(p)),
            None => c.head.set(Some(p)),
        }
        c.tail.set(Some(p));
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
                // A job that panicked out of the loop leaves the rest
                // queued: the next outermost exit runs them.
                if c.head.get().is_some() {
                    c.work.set(true);
                }
            });
        }
    }
    let _g = Draining;
    loop {
        let job = FAST.with(|c| {
            let h = c.head.get()?;
            // SAFETY: the head is a queued job; popping hands its ownership
            // (taken over by `defer`) back to a `Job`.
            let next = unsafe { link(h) }.replace(None);
            c.head.set(next);
            if next.is_none() {
                c.tail.set(None);
            }
            Some(Job(h))
        });
        match job {
            Some(job) => {
                FAST.with(|c| c.depth.set(1));
                job.run();
            }
            None => {
                FAST.with(|c| c.depth.set(0));
                // Tasks woken by the jobs above; they may queue more jobs.
                super::direct::run_ready_tasks();
                let more = FAST.with(|c| c.head.get().is_some());
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
    use super::{defer, run_nested, Job};
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

    #[test]
    fn deferred_jobs_run_in_order_after_the_outermost_run_also_those_queued_by_jobs() {
        let log = Rc::new(std::cell::RefCell::new(Vec::new()));
        let push = |l: &Rc<std::cell::RefCell<Vec<u32>>>, n: u32| {
            let l = l.clone();
            move || l.borrow_mut().push(n)
        };
        run_nested(|| {
            defer(Job::new(push(&log, 1)));
            let l = log.clone();
            let (three, four) = (push(&log, 3), push(&log, 4));
            defer(Job::new(move || {
                l.borrow_mut().push(2);
                defer(Job::new(three));
                defer(Job::new(four));
            }));
            assert!(log.borrow().is_empty(), "nothing runs while a run is on the stack");
        });
        assert_eq!(*log.borrow(), [1, 2, 3, 4]);
        // With nothing running, a job runs at once.
        defer(Job::new(push(&log, 5)));
        assert_eq!(*log.borrow(), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_deferred_job_that_panics_leaves_the_rest_queued_for_the_next_run() {
        let ran = Rc::new(Cell::new(0));
        let drops = Rc::new(Cell::new(0));
        let r = ran.clone();
        let probe = Probe::new(&drops);
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_nested(|| {
                defer(Job::new(|| panic!("deferred job panics")));
                defer(Job::new(move || {
                    let _keep = probe;
                    r.set(r.get() + 1)
                }));
            })
        }));
        assert!(out.is_err());
        assert_eq!(
            (ran.get(), drops.get()),
            (0, 0),
            "the second job waits, unrun and alive"
        );
        // The next outermost exit empties the queue.
        run_nested(|| ());
        assert_eq!((ran.get(), drops.get()), (1, 1));
    }
}
