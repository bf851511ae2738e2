//! Creating pending promises and resolving them: Lwt's `wait`, `task` and
//! the `wakeup*` family.
//!
//! `wakeup` runs the promise's callbacks on the caller's stack before it
//! returns; `wakeup_later` does the same at top level but, when called from
//! inside a callback, only sets the state and queues the callbacks until the
//! outermost resolution finishes (Lwt's rules 6–8).

use std::rc::Rc;

use super::error::Error;
use super::hook::protect;
use super::node::{HowToCancel, Interceptor, Node};
use super::promise::{become_, Promise};
use super::rc::NodeRef;
use super::state::View;

/// The write side of a pending promise (Lwt's `'a Lwt.u`).
///
/// Resolving a promise that is already resolved is a programming error and
/// panics with a message naming the function, as Lwt raises
/// `Invalid_argument`; resolving a promise that was canceled is silently
/// ignored, as in Lwt.
pub struct Resolver<T: 'static> {
    node: NodeRef<T>,
}

/// A pending promise and its resolver; [`Promise::cancel`] does nothing to
/// it (Lwt's `wait`).
///
/// ```
/// let (p, r) = lwt::wait::<i32>();
/// p.cancel();
/// assert!(p.is_pending());
/// r.wakeup(1);
/// assert_eq!(p.state(), lwt::State::Fulfilled(1));
/// ```
pub fn wait<T: 'static>() -> (Promise<T>, Resolver<T>) {
    make(HowToCancel::not())
}

/// A pending promise and its resolver; [`Promise::cancel`] rejects it with
/// [`Error::canceled`] (Lwt's `task`).
///
/// ```
/// let (p, _r) = lwt::task::<i32>();
/// p.cancel();
/// assert!(p.is_canceled());
/// ```
pub fn task<T: 'static>() -> (Promise<T>, Resolver<T>) {
    make(HowToCancel::this())
}

/// A pending promise and its resolver whose cancellation `i` intercepts
/// (crate-internal; see `how_to_cancel.rs`): [`Promise::cancel`] leaves it
/// pending and calls `i` with [`Resolver::addr`]; the resolver's holder
/// then settles it.
pub(crate) fn intercepted<T: 'static>(i: &Rc<Interceptor>) -> (Promise<T>, Resolver<T>) {
    make(HowToCancel::intercepted(i.clone()))
}

fn make<T: 'static>(how: HowToCancel) -> (Promise<T>, Resolver<T>) {
    let node = Node::alloc(how);
    node.resolver_added();
    (Promise::from_node(node.clone()), Resolver { node })
}

impl<T: 'static> Resolver<T> {
    /// Fulfils the promise now, running its callbacks before returning.
    ///
    /// # Panics
    /// If the promise is already resolved (and not canceled).
    pub fn wakeup(&self, v: T) {
        self.resolve("wakeup", Ok(v), false)
    }

    /// Rejects the promise now (Lwt's `wakeup_exn`).
    ///
    /// # Panics
    /// If the promise is already resolved (and not canceled).
    pub fn wakeup_exn(&self, e: Error) {
        self.resolve("wakeup_exn", Err(e), false)
    }

    /// Resolves the promise now with `r` (Lwt's `wakeup_result`).
    ///
    /// # Panics
    /// If the promise is already resolved (and not canceled).
    pub fn wakeup_result(&self, r: Result<T, Error>) {
        self.resolve("wakeup_result", r, false)
    }

    /// Fulfils the promise; its callbacks are queued if a callback is running.
    ///
    /// # Panics
    /// If the promise is already resolved (and not canceled).
    pub fn wakeup_later(&self, v: T) {
        self.resolve("wakeup_later", Ok(v), true)
    }

    /// Rejects the promise; callbacks queued if a callback is running.
    ///
    /// # Panics
    /// If the promise is already resolved (and not canceled).
    pub fn wakeup_later_exn(&self, e: Error) {
        self.resolve("wakeup_later_exn", Err(e), true)
    }

    /// Resolves the promise with `r`; callbacks queued if a callback is running.
    ///
    /// # Panics
    /// If the promise is already resolved (and not canceled).
    pub fn wakeup_later_result(&self, r: Result<T, Error>) {
        self.resolve("wakeup_later_result", r, true)
    }

    /// Resolves the promise if it is still pending; gives the outcome back
    /// otherwise. Never panics.
    pub fn try_wakeup_result(&self, r: Result<T, Error>) -> Result<(), Result<T, Error>> {
        self.node.with_root(|root| root.resolve(r))
    }

    /// The address an [`Interceptor`] is called with for this promise.
    pub(crate) fn addr(&self) -> *const () {
        self.node.with_root(|root| root.addr())
    }

    /// Whether the promise is still pending.
    pub fn is_pending(&self) -> bool {
        self.node.with_root(|root| root.is_pending())
    }

    /// Resolves the promise like `k(r)` (crate-internal): at once if that
    /// promise is resolved, otherwise by following it, as a `then` would,
    /// but without a promise of its own in between. A panic in `k` rejects
    /// the promise. `k` runs with no keys set, so it must be the runtime's
    /// own code. Does nothing if the promise is resolved already (canceled).
    pub(crate) fn resolve_with<R>(&self, r: R, k: impl FnOnce(R) -> Promise<T>) {
        if !self.is_pending() {
            return;
        }
        let p = protect(|| k(r));
        become_(self.node.clone(), p);
    }

    /// Calls `f` with this resolver at the time `wakeup_later` would run
    /// callbacks: now, or once the running callback returns
    /// (crate-internal: `f` runs with no keys set).
    pub(crate) fn run_later(self, f: impl FnOnce(Self) + 'static) {
        if super::context::in_callback() {
            super::context::defer(super::context::Job::new(move || f(self)));
        } else {
            super::context::run_nested(|| f(self));
        }
    }

    fn resolve(&self, name: &str, outcome: Result<T, Error>, later: bool) {
        let root = self.node.root();
        let r = if later {
            root.resolve_later(outcome)
        } else {
            root.resolve(outcome)
        };
        if r.is_err() {
            let canceled = matches!(root.state().view(), View::Rejected(e) if e.is_canceled());
            if !canceled {
                panic!("Lwt.{name}: the promise is already resolved");
            }
        }
    }
}

impl<T: 'static> Clone for Resolver<T> {
    fn clone(&self) -> Self {
        self.node.root().resolver_added();
        Resolver {
            node: self.node.clone(),
        }
    }
}

impl<T: 'static> Drop for Resolver<T> {
    fn drop(&mut self) {
        self.node.resolver_dropped();
    }
}

impl<T: 'static> std::fmt::Debug for Resolver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Resolver(pending: {})", self.is_pending())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::Probe;
    use crate::{resolved, State};
    use std::cell::Cell;
    use std::rc::Rc;

    #[test]
    fn resolve_with_a_resolved_continuation_resolves_at_once() {
        let (p, r) = task::<u32>();
        r.resolve_with(20, |x| resolved(x + 1));
        assert_eq!(p.state(), State::Fulfilled(21));
    }

    #[test]
    fn resolve_with_a_pending_continuation_follows_it() {
        let (p, r) = task::<u32>();
        let (inner, inner_r) = wait::<u32>();
        r.resolve_with((), move |()| inner);
        assert!(p.is_pending());
        inner_r.wakeup(7);
        assert_eq!(p.state(), State::Fulfilled(7));
    }

    #[test]
    fn resolve_with_a_panicking_continuation_rejects() {
        let (p, r) = task::<u32>();
        r.resolve_with((), |()| -> Promise<u32> { panic!("in the continuation") });
        match p.state() {
            State::Rejected(e) => assert!(e.message().contains("in the continuation")),
            s => panic!("expected a rejection, got {s:?}"),
        }
    }

    #[test]
    fn resolve_with_on_a_canceled_promise_drops_the_continuation_unrun() {
        let (p, r) = task::<u32>();
        p.cancel();
        let drops = Rc::new(Cell::new(0));
        let probe = Probe::new(&drops);
        let ran = Rc::new(Cell::new(false));
        let ran2 = ran.clone();
        r.resolve_with(probe, move |probe| {
            ran2.set(true);
            drop(probe);
            resolved(0)
        });
        assert!(p.is_canceled());
        assert!(!ran.get());
        assert_eq!(drops.get(), 1);
    }

    #[test]
    fn canceling_an_intercepted_promise_leaves_it_to_its_interceptor() {
        let seen = Rc::new(std::cell::RefCell::new(Vec::new()));
        let s = seen.clone();
        let i = Rc::new(Interceptor::new(move |node| s.borrow_mut().push(node)));
        let (p, r) = intercepted::<u32>(&i);
        // Through a bind, as cancel travels back to the promise it waits on.
        let chained = p.clone().bind(|x| resolved(x + 1));
        chained.cancel();
        assert!(p.is_pending() && chained.is_pending());
        assert_eq!(*seen.borrow(), [r.addr()]);
        r.wakeup_exn(Error::canceled());
        assert!(p.is_canceled() && chained.is_canceled());
        // Settled: the word and its count are gone.
        assert_eq!(Rc::strong_count(&i), 1);
    }

    #[test]
    fn when_done_runs_before_callbacks_attached_later() {
        let (p, r) = wait::<u32>();
        let order = Rc::new(std::cell::RefCell::new(Vec::new()));
        let (o1, o2) = (order.clone(), order.clone());
        p.when_done(move || o1.borrow_mut().push("when_done"));
        p.on_termination(move || o2.borrow_mut().push("later"));
        r.wakeup(1);
        assert_eq!(*order.borrow(), ["when_done", "later"]);
        // On a resolved promise it runs at once.
        let o3 = order.clone();
        p.when_done(move || o3.borrow_mut().push("now"));
        assert_eq!(order.borrow().last(), Some(&"now"));
    }
}
