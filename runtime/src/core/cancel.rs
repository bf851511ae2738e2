//! Cancellation: Lwt's `cancel`, `protected`, `no_cancel`, `wrap_in_cancelable`.
//!
//! Each pending promise knows how it would be canceled (see
//! `HowToCancel` in `node.rs`). `cancel` walks that graph backwards from the
//! promise it is given — through binds to what they wait on, through joins
//! and picks to all their inputs — and collects the cancelable promises at
//! the ends. It works in two phases, as Lwt does: first every target is
//! marked rejected with `Canceled`, then their callbacks run (a target
//! whose cancellation is intercepted, see `how_to_cancel.rs`, is not
//! marked: its interceptor is called in the second phase). A target
//! reachable twice is canceled once. The walk uses an explicit stack, so a
//! ten-million-long chain cancels without recursion.

use std::collections::HashSet;

use super::callback::{Callback, Expire};
use super::context;
use super::node::{HowToCancel, Node};
use super::promise::Promise;
use super::rc::{AnyNode, NodeRef};
use super::state::{FULFILLED, REJECTED, TAKEN};

pub(crate) fn cancel_erased(start: AnyNode) {
    let mut work = vec![start];
    let mut marked: Vec<context::Job> = Vec::new();
    // A cycle in the cancel graph is possible (a bind whose callback returns
    // a promise that waits on the bind itself); never visit a node twice.
    let mut seen: HashSet<*const ()> = HashSet::new();
    while let Some(n) = work.pop() {
        if !seen.insert(n.addr()) {
            continue;
        }
        n.cancel_step(&mut work, &mut marked);
    }
    for job in marked {
        context::run_job_or_defer(job);
    }
}

/// The copy a forwarding callback resolves.
struct CopyOf<T: 'static>(NodeRef<T>);

impl<T: 'static> Expire for CopyOf<T> {
    /// A copy already resolved (canceled, mostly) needs nothing more: a
    /// long-lived input drops the callback as it gets new ones, so canceled
    /// `protected` copies do not pile up on it (Lwt's issue 181). The tag is
    /// read as is: a copy that became a proxy counts as live.
    fn expired(&self) -> bool {
        matches!(self.0.tag(), FULFILLED | REJECTED | TAKEN)
    }
}

/// Forwards the outcome of `p` to `out` (if `out` is still pending).
fn forward<T: 'static>(p: &NodeRef<T>, out: NodeRef<T>) {
    p.add_callback(Callback::expiring(CopyOf(out), |out, node: &NodeRef<T>| {
        let root = out.0.root();
        if root.is_pending() {
            let outcome = node.take_outcome();
            let _ = root.resolve(outcome);
        }
    }));
}

fn mirror<T: 'static>(p: Promise<T>, how: impl FnOnce(&NodeRef<T>) -> HowToCancel) -> Promise<T> {
    let Some(root) = p.root() else { return p };
    if !root.is_pending() {
        return p;
    }
    let out = Node::alloc(how(&root));
    forward(&root, out.clone());
    Promise::from_node(out)
}

/// A cancelable copy of `p` that shields `p` from cancellation: canceling
/// the copy rejects only the copy (Lwt's `protected`). A resolved `p` is
/// returned as is.
///
/// ```
/// let (p, r) = lwt::wait::<u8>();
/// let q = lwt::protected(p.clone());
/// q.cancel();
/// assert!(q.is_canceled() && p.is_pending());
/// r.wakeup(1);
/// assert!(q.is_canceled());
/// ```
pub fn protected<T: 'static>(p: Promise<T>) -> Promise<T> {
    mirror(p, |_| HowToCancel::this())
}

/// A copy of `p` that [`Promise::cancel`] cannot cancel (Lwt's `no_cancel`);
/// it still ends canceled if `p` itself is canceled.
pub fn no_cancel<T: 'static>(p: Promise<T>) -> Promise<T> {
    mirror(p, |_| HowToCancel::not())
}

/// A cancelable copy of `p`: canceling it cancels it and `p` (Lwt's
/// `wrap_in_cancelable`).
pub fn wrap_in_cancelable<T: 'static>(p: Promise<T>) -> Promise<T> {
    let Some(root) = p.root() else { return p };
    if !root.is_pending() {
        return p;
    }
    let out = Node::alloc(HowToCancel::this());
    let inner: AnyNode = root.erase();
    out.add_callback(Callback::cancel(move || cancel_erased(inner)));
    forward(&root, out.clone());
    Promise::from_node(out)
}
