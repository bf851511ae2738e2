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
struct Paused {
    queue: RefCell<Vec<NodeRef<()>>>,
    /// The previous queue, kept to reuse its allocation.
    spare: RefCell<Vec<NodeRef<()>>>,
    /// Pauses made since the last wakeup; non-zero exactly when the queue
    /// is not empty (both are reset together).
    count: Cell<usize>,
    has_notifier: Cell<bool>,
    notifier: RefCell<Option<Notifier>>,
}

thread_local! {
    static PAUSED: Paused = const {
        Paused {
            queue: RefCell::new(Vec::new()),
            spare: RefCell::new(Vec::new()),
            count: Cell::new(0),
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
        q.queue.borrow_mut().push(node.clone());
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
        // The queue is swapped for the spare allocation, so pauses made by
        // the callbacks below wait for the next call.
        let mut batch = q.queue.replace(q.spare.take());
        let len = batch.len();
        let base = batch.as_ptr();
        // The loop takes over the nodes: the vector forgets them first, so a
        // panic escaping a callback leaks the rest instead of freeing twice.
        // SAFETY: `batch` is local and not resized until the loop ends, so
        // its buffer stays valid, and each of the `len` slots is read once.
        unsafe { batch.set_len(0) };
        for i in 0..len {
            let node = unsafe { std::ptr::read(base.add(i)) };
            // A canceled pause is already resolved: resolving it is a no-op.
            let _ = node.into_root().resolve(Ok(()));
        }
        // Keep the emptied allocation for the swap after next (a nested
        // call may have left one there already; either will do).
        q.spare.replace(batch);
    });
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
        std::mem::take(&mut *q.queue.borrow_mut())
    });
    drop(q);
}

/// Whether pauses are queued.
pub(crate) fn has_paused() -> bool {
    PAUSED.with(|q| q.count.get() != 0)
}
