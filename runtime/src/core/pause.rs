//! Pausing: Lwt's `pause` and the paused queue the event loop empties.
//!
//! `pause()` gives a pending, cancelable promise and queues it. Nothing
//! resolves it but [`wakeup_paused`], which the event loop calls once per
//! iteration: it takes the queue as it is, resolves those promises in the
//! order they were made, and leaves pauses made meanwhile for next time.
//! That is how a long computation lets I/O in: `compute().bind(|_| pause())`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::node::{HowToCancel, Node};
use super::promise::Promise;
use super::rc::NodeRef;

type Notifier = Rc<dyn Fn(usize)>;

/// The paused queue and what goes with it, in one thread-local: `pause` and
/// `wakeup_paused` run once per turn of a pause loop, so every access counts.
///
/// The queue is double-buffered: `pause` pushes onto `bufs[cur]`; a wakeup
/// flips `cur` and walks the other buffer in place, so the pauses its
/// callbacks make go to the next wakeup. Nothing is moved: swapping the
/// vectors themselves copied them with wide loads of just-written lengths,
/// a store-forwarding stall in every turn of a pause loop.
struct Paused {
    bufs: [RefCell<Vec<NodeRef<()>>>; 2],
    /// The buffer `pause` pushes onto (0 or 1).
    cur: Cell<usize>,
    /// A wakeup is walking the other buffer: a nested wakeup (from a
    /// callback) must not flip the buffers under it.
    waking: Cell<bool>,
    /// Pauses made since the last wakeup; non-zero exactly when the queue
    /// is not empty (both are reset together).
    count: Cell<usize>,
    /// Bumped each time the queued pauses leave the queue, woken or
    /// abandoned: a pause made at generation `g` is still queued while the
    /// generation is `g` (see [`generation`]).
    generation: Cell<u64>,
    has_notifier: Cell<bool>,
    notifier: RefCell<Option<Notifier>>,
}

thread_local! {
    static PAUSED: Paused = const {
        Paused {
            bufs: [RefCell::new(Vec::new()), RefCell::new(Vec::new())],
            cur: Cell::new(0),
            waking: Cell::new(false),
            count: Cell::new(0),
            generation: Cell::new(0),
            has_notifier: Cell::new(false),
            notifier: RefCell::new(None),
        }
    };
}

/// A promise that the next [`wakeup_paused`] fulfils (Lwt's `pause`).
///
/// ```
/// let p = lwt::pause();
/// assert!(p.is_pending());
/// lwt::wakeup_paused();
/// assert!(p.is_fulfilled());
/// ```
pub fn pause() -> Promise<()> {
    let node = Node::alloc(HowToCancel::this());
    let notify = PAUSED.with(|q| {
        q.bufs[q.cur.get()].borrow_mut().push(node.clone());
        let n = q.count.get() + 1;
        q.count.set(n);
        if q.has_notifier.get() {
            q.notifier.borrow().clone().map(|f| (f, n))
        } else {
            None
        }
    });
    if let Some((f, n)) = notify {
        super::hook::guarded(|| f(n));
    }
    Promise::from_node(node)
}

/// Fulfils every promise paused so far, oldest first (Lwt's
/// `wakeup_paused`); also resumes async tasks woken from other threads.
pub fn wakeup_paused() {
    super::direct::poll_remote();
    PAUSED.with(|q| {
        // `count` is non-zero exactly when the queue is not empty (both are
        // reset together), and reading it costs no borrow.
        if q.count.get() == 0 {
            return;
        }
        q.count.set(0);
        q.generation.set(q.generation.get() + 1);
        if q.waking.get() {
            return wakeup_nested(q);
        }
        let i = q.cur.get();
        q.cur.set(1 - i);
        q.waking.set(true);
        struct Waking<'a>(&'a Cell<bool>);
        impl Drop for Waking<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        let _waking = Waking(&q.waking);
        let (base, len) = {
            let mut batch = q.bufs[i].borrow_mut();
            let len = batch.len();
            // The loop takes over the nodes: the vector forgets them first,
            // so a panic escaping a callback leaks the rest instead of
            // freeing them twice.
            // SAFETY: nothing is dropped or exposed; the slots stay as they
            // are until the loop below reads each of them once.
            unsafe { batch.set_len(0) };
            (batch.as_ptr(), len)
        };
        // SAFETY: buffer `i` is not pushed to or resized until the loop ends:
        // `pause` pushes onto the other one, and a nested wakeup does not
        // flip them (`waking`); so `base` stays valid for `len` reads.
        for k in 0..len {
            let node = unsafe { std::ptr::read(base.add(k)) };
            // A canceled pause is already resolved: resolving it is a no-op.
            let _ = node.into_root().resolve(Ok(()));
        }
    });
}

/// A wakeup called from a callback of a running wakeup: takes the pauses
/// made since (the current buffer) without flipping the buffers.
#[cold]
fn wakeup_nested(q: &Paused) {
    let batch = std::mem::take(&mut *q.bufs[q.cur.get()].borrow_mut());
    for node in batch {
        let _ = node.into_root().resolve(Ok(()));
    }
}

/// How many pauses were made since the last [`wakeup_paused`] (Lwt's
/// `paused_count`; canceling a pause does not lower it, as in Lwt).
pub fn paused_count() -> usize {
    PAUSED.with(|q| q.count.get())
}

/// Sets the function called with the new count after every [`pause`] (Lwt's
/// `register_pause_notifier`); it may itself pause.
pub fn register_pause_notifier(f: impl Fn(usize) + 'static) {
    PAUSED.with(|q| {
        *q.notifier.borrow_mut() = Some(Rc::new(f));
        q.has_notifier.set(true);
    });
}

/// Forgets every paused promise; they stay pending forever (Lwt's
/// `abandon_paused`, used after `fork`).
pub fn abandon_paused() {
    let q = PAUSED.with(|q| {
        q.count.set(0);
        q.generation.set(q.generation.get() + 1);
        std::mem::take(&mut *q.bufs[q.cur.get()].borrow_mut())
    });
    drop(q);
}

/// The queue's generation: a pause made now is still waiting to be woken
/// exactly as long as this stays the same (a wakeup or `abandon_paused`
/// changes it). For the runtime's own pauses, which must know whether an
/// earlier one will still be woken.
pub(crate) fn generation() -> u64 {
    PAUSED.with(|q| q.generation.get())
}

/// Whether pauses are queued.
pub(crate) fn has_paused() -> bool {
    PAUSED.with(|q| q.count.get() != 0)
}
