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
    let mut queue = PAUSED.with(|q| {
        if q.queue.borrow().is_empty() {
            return None;
        }
        let mut queue = std::mem::take(&mut *q.spare.borrow_mut());
        std::mem::swap(&mut *q.queue.borrow_mut(), &mut queue);
        q.count.set(0);
        Some(queue)
    });
    let Some(queue) = queue.as_mut() else { return };
    for node in queue.drain(..) {
        // A canceled pause is already resolved: skip it.
        let _ = node.into_root().resolve(Ok(()));
    }
    let queue = std::mem::take(queue);
    PAUSED.with(|q| {
        let mut spare = q.spare.borrow_mut();
        if spare.capacity() < queue.capacity() {
            *spare = queue;
        }
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
    PAUSED.with(|q| !q.queue.borrow().is_empty())
}
