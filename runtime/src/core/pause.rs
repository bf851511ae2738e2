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

type Notifier = Rc<dyn Fn(usize)>;

thread_local! {
    static PAUSED: RefCell<Vec<Rc<Node<()>>>> = const { RefCell::new(Vec::new()) };
    // The previous queue, kept to reuse its allocation.
    static SPARE: RefCell<Vec<Rc<Node<()>>>> = const { RefCell::new(Vec::new()) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
    static NOTIFIER: RefCell<Option<Notifier>> = const { RefCell::new(None) };
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
    let node = Node::new(HowToCancel::This);
    PAUSED.with(|q| q.borrow_mut().push(node.clone()));
    let n = COUNT.with(|c| {
        let n = c.get() + 1;
        c.set(n);
        n
    });
    let notifier = NOTIFIER.with(|f| f.borrow().clone());
    if let Some(f) = notifier {
        super::hook::guarded(|| f(n));
    }
    Promise::from_node(node)
}

/// Fulfils every promise paused so far, oldest first (Lwt's
/// `wakeup_paused`); also resumes async tasks woken from other threads.
pub fn wakeup_paused() {
    super::direct::poll_remote();
    let mut queue = SPARE.with(|s| std::mem::take(&mut *s.borrow_mut()));
    PAUSED.with(|q| std::mem::swap(&mut *q.borrow_mut(), &mut queue));
    COUNT.with(|c| c.set(0));
    for node in queue.drain(..) {
        // A canceled pause is already resolved: skip it.
        let _ = node.root().resolve(Ok(()));
    }
    SPARE.with(|s| {
        let mut s = s.borrow_mut();
        if s.capacity() < queue.capacity() {
            *s = queue;
        }
    });
}

/// How many pauses were made since the last [`wakeup_paused`] (Lwt's
/// `paused_count`; canceling a pause does not lower it, as in Lwt).
pub fn paused_count() -> usize {
    COUNT.with(Cell::get)
}

/// Sets the function called with the new count after every [`pause`] (Lwt's
/// `register_pause_notifier`); it may itself pause.
pub fn register_pause_notifier(f: impl Fn(usize) + 'static) {
    NOTIFIER.with(|n| *n.borrow_mut() = Some(Rc::new(f)));
}

/// Forgets every paused promise; they stay pending forever (Lwt's
/// `abandon_paused`, used after `fork`).
pub fn abandon_paused() {
    let q = PAUSED.with(|q| std::mem::take(&mut *q.borrow_mut()));
    COUNT.with(|c| c.set(0));
    drop(q);
}

/// Whether pauses are queued.
pub(crate) fn has_paused() -> bool {
    PAUSED.with(|q| !q.borrow().is_empty())
}
