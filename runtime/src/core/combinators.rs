//! Concurrent composition: Lwt's `both`, `join`, `all`, `pick`, `choose`,
//! `npick`, `nchoose`, `nchoose_split`.
//!
//! The rules follow Lwt exactly where Lwt pins them:
//! - `both`/`join`/`all` wait for *every* input even after a rejection, then
//!   reject with the earliest rejection; inputs already rejected at call time
//!   count as earliest, in argument order. Values keep argument order.
//! - `pick` cancels every input once one resolves, *before* resolving its own
//!   promise; `choose` cancels nothing.
//! - With inputs already resolved at call time, `pick`/`choose` prefer a
//!   rejected one. Lwt then draws one at random (from a fixed seed); we take
//!   the first in argument order, which is just as deterministic.
//! - `npick`/`nchoose` resolve with every input fulfilled at the moment the
//!   first one resolves, in argument order.
//! - An empty list to `pick`/`choose`/`npick`/`nchoose`/`nchoose_split`:
//!   Lwt raises `Invalid_argument`; we return a promise rejected with
//!   [`Error::invalid_argument`] carrying Lwt's message.
//! - `nchoose_split` returns the still-pending promises in argument order on
//!   every path (Lwt reverses them on one path, by accident).
//! - "First" means first seen by the combinator's callback. Callbacks run in
//!   attachment order here (LIFO in Lwt, see `node.rs`), so a callback that
//!   was attached to input `a` before the combinator, and that resolves
//!   input `b`, runs first: `b` then counts as first (the winner of
//!   `choose`/`pick`, the earliest rejection of `both`/`join`/`all`). In Lwt
//!   the same happens to a callback attached *after* the combinator. The
//!   `n*` forms look at every input when the first callback runs, so there
//!   both `a` and `b` count.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::callback::{Callback, Expire};
use super::cancel::cancel_erased;
use super::error::Error;
use super::node::{HowToCancel, Node};
use super::promise::{of_result, rejected, resolved, Promise, Repr};
use super::rc::{AnyNode, NodeRef};
use super::state::View;

fn empty_list<T: 'static>(name: &str) -> Promise<T> {
    rejected(Error::invalid_argument(format!(
        "Lwt.{name} [] would return a promise that is pending forever"
    )))
}

fn cancel_targets<T: 'static>(ps: &[Promise<T>]) -> Rc<Vec<AnyNode>> {
    Rc::new(ps.iter().filter_map(Promise::cancel_target).collect())
}

/// Calls `k` with the outcome of `p`: now if `p` is resolved, otherwise
/// when it resolves. Returns whether `k` ran now.
fn when_resolved<T: 'static>(p: Promise<T>, k: impl FnOnce(Result<T, Error>) + 'static) -> bool {
    match p.0 {
        Repr::Fulfilled(v) => {
            k(Ok(v));
            true
        }
        Repr::Rejected(e) => {
            k(Err(e));
            true
        }
        Repr::Node(n) => {
            let root = n.root();
            if root.is_pending() {
                root.add_callback(Callback::regular(move |node: &NodeRef<T>| k(node.take_outcome())));
                false
            } else {
                k(root.take_outcome());
                true
            }
        }
    }
}

type Finish<S, R> = fn(S) -> R;

/// The shared state of a join: values so far, the earliest error, how many
/// inputs are still pending, and the result once someone waits on it.
struct Gather<S, R: 'static> {
    slots: RefCell<S>,
    left: Cell<usize>,
    error: RefCell<Option<Error>>,
    out: RefCell<Option<NodeRef<R>>>,
    finish: Cell<Option<Finish<S, R>>>,
}

impl<S: Default + 'static, R: 'static> Gather<S, R> {
    fn new(n: usize, finish: Finish<S, R>) -> Rc<Self> {
        Rc::new(Gather {
            slots: RefCell::new(S::default()),
            left: Cell::new(n),
            error: RefCell::new(None),
            out: RefCell::new(None),
            finish: Cell::new(Some(finish)),
        })
    }

    fn fail(&self, e: Error) {
        self.error.borrow_mut().get_or_insert(e);
    }

    /// One input resolved.
    fn one_done(&self) {
        let left = self.left.get() - 1;
        self.left.set(left);
        if left == 0 {
            if let Some(out) = self.out.borrow_mut().take() {
                let _ = out.root().resolve(self.outcome());
            }
        }
    }

    fn outcome(&self) -> Result<R, Error> {
        match self.error.borrow_mut().take() {
            Some(e) => Err(e),
            None => {
                let finish = self.finish.take().expect("a join finishes once");
                Ok(finish(std::mem::take(&mut *self.slots.borrow_mut())))
            }
        }
    }

    /// After all inputs were fed: the result, now or later.
    fn result(self: &Rc<Self>, targets: Rc<Vec<AnyNode>>) -> Promise<R> {
        if self.left.get() == 0 {
            return of_result(self.outcome());
        }
        let out = Node::alloc(HowToCancel::several(targets));
        *self.out.borrow_mut() = Some(out.clone());
        Promise::from_node(out)
    }
}

/// Waits for both promises; fulfils with both values or rejects with the
/// first rejection, but only once both are resolved (Lwt's `both`, `<&>`).
///
/// ```
/// let (a, ra) = lwt::wait();
/// let both = lwt::both(a, lwt::resolved("b"));
/// ra.wakeup(1);
/// assert_eq!(both.state(), lwt::State::Fulfilled((1, "b")));
/// ```
pub fn both<A: 'static, B: 'static>(a: Promise<A>, b: Promise<B>) -> Promise<(A, B)> {
    if let (Repr::Fulfilled(_), Repr::Fulfilled(_)) = (&a.0, &b.0) {
        if let (Repr::Fulfilled(x), Repr::Fulfilled(y)) = (a.0, b.0) {
            return resolved((x, y));
        }
        unreachable_join()
    }
    type Slots<A, B> = (Option<A>, Option<B>);
    fn finish<A, B>(s: Slots<A, B>) -> (A, B) {
        match s {
            (Some(a), Some(b)) => (a, b),
            _ => unreachable_join(),
        }
    }
    let targets: Rc<Vec<AnyNode>> = Rc::new(a.cancel_target().into_iter().chain(b.cancel_target()).collect());
    let g: Rc<Gather<Slots<A, B>, (A, B)>> = Gather::new(2, finish::<A, B>);
    let g1 = g.clone();
    when_resolved(a, move |r| {
        match r {
            Ok(v) => g1.slots.borrow_mut().0 = Some(v),
            Err(e) => g1.fail(e),
        }
        g1.one_done();
    });
    let g2 = g.clone();
    when_resolved(b, move |r| {
        match r {
            Ok(v) => g2.slots.borrow_mut().1 = Some(v),
            Err(e) => g2.fail(e),
        }
        g2.one_done();
    });
    g.result(targets)
}

#[cold]
fn unreachable_join() -> ! {
    // Every slot is filled before a join without error finishes; reaching
    // this would be a bug in this file, not a user error.
    panic!("lwt: internal error: a join finished with a missing value")
}

/// Waits for every promise of `ps`; fulfils with their values in order, or
/// rejects with the first rejection once all are resolved (Lwt's `all`).
///
/// ```
/// let p = lwt::all(vec![lwt::resolved(1), lwt::resolved(2)]);
/// assert_eq!(p.state(), lwt::State::Fulfilled(vec![1, 2]));
/// ```
pub fn all<T: 'static>(ps: impl IntoIterator<Item = Promise<T>>) -> Promise<Vec<T>> {
    let ps: Vec<Promise<T>> = ps.into_iter().collect();
    let n = ps.len();
    if ps.iter().all(|p| matches!(p.0, Repr::Fulfilled(_))) {
        return resolved(
            ps.into_iter()
                .filter_map(|p| match p.0 {
                    Repr::Fulfilled(v) => Some(v),
                    _ => None,
                })
                .collect(),
        );
    }
    fn finish<T>(s: Vec<Option<T>>) -> Vec<T> {
        s.into_iter().map(|v| v.unwrap_or_else(|| unreachable_join())).collect()
    }
    let targets = cancel_targets(&ps);
    let g: Rc<Gather<Vec<Option<T>>, Vec<T>>> = Gather::new(n, finish::<T>);
    g.slots.borrow_mut().resize_with(n, || None);
    for (i, p) in ps.into_iter().enumerate() {
        let g = g.clone();
        when_resolved(p, move |r| {
            match r {
                Ok(v) => g.slots.borrow_mut()[i] = Some(v),
                Err(e) => g.fail(e),
            }
            g.one_done();
        });
    }
    g.result(targets)
}

/// Waits for every promise of `ps`; rejects with the first rejection once
/// all are resolved (Lwt's `join`).
pub fn join(ps: impl IntoIterator<Item = Promise<()>>) -> Promise<()> {
    let ps: Vec<Promise<()>> = ps.into_iter().collect();
    let n = ps.len();
    let targets = cancel_targets(&ps);
    let g: Rc<Gather<(), ()>> = Gather::new(n, |()| ());
    for p in ps {
        let g = g.clone();
        when_resolved(p, move |r| {
            if let Err(e) = r {
                g.fail(e);
            }
            g.one_done();
        });
    }
    g.result(targets)
}

/// Resolves like the first of `ps` to resolve, then cancels all of them
/// (Lwt's `pick`).
///
/// ```
/// let (a, _ra) = lwt::task::<u8>();
/// let (b, rb) = lwt::task::<u8>();
/// let a2 = a.clone();
/// let p = lwt::pick(vec![a, b]);
/// rb.wakeup(2);
/// assert_eq!(p.state(), lwt::State::Fulfilled(2));
/// assert!(a2.is_canceled());
/// ```
pub fn pick<T: 'static>(ps: impl IntoIterator<Item = Promise<T>>) -> Promise<T> {
    race(ps.into_iter().collect(), true, "pick")
}

/// Resolves like the first of `ps` to resolve, canceling nothing (Lwt's `choose`).
pub fn choose<T: 'static>(ps: impl IntoIterator<Item = Promise<T>>) -> Promise<T> {
    race(ps.into_iter().collect(), false, "choose")
}

/// Index of the input to take at call time: a rejected one first, else a
/// fulfilled one, else none.
fn already_resolved<T: 'static>(ps: &[Promise<T>]) -> Option<usize> {
    let state = |p: &Promise<T>| match &p.0 {
        Repr::Fulfilled(_) => 1,
        Repr::Rejected(_) => 2,
        Repr::Node(n) => match n.root().state().view() {
            View::Pending(_) | View::Proxy(_) => 0,
            View::Rejected(_) => 2,
            _ => 1,
        },
    };
    ps.iter()
        .position(|p| state(p) == 2)
        .or_else(|| ps.iter().position(|p| state(p) == 1))
}

fn cancel_all(targets: &[AnyNode]) {
    for t in targets {
        cancel_erased(t.clone());
    }
}

/// The slot a race shares between the callbacks it puts on its inputs: the
/// first to run takes what it holds, after which the others expire (see
/// [`Expire`]) and a long-lived input drops them as it gets new callbacks.
struct Taken<X>(Rc<RefCell<Option<X>>>);

impl<X: 'static> Expire for Taken<X> {
    fn expired(&self) -> bool {
        // Borrowed means a callback is at work on it right now: not yet.
        matches!(self.0.try_borrow(), Ok(s) if s.is_none())
    }
}

fn race<T: 'static>(mut ps: Vec<Promise<T>>, cancel: bool, name: &str) -> Promise<T> {
    if ps.is_empty() {
        return empty_list(name);
    }
    let targets = cancel_targets(&ps);
    if let Some(i) = already_resolved(&ps) {
        let winner = ps.swap_remove(i);
        let r = match winner.0 {
            Repr::Node(n) => of_result(n.root().take_outcome()),
            other => Promise(other),
        };
        if cancel {
            cancel_all(&targets);
        }
        return r;
    }
    let out = Node::alloc(HowToCancel::several(targets.clone()));
    // The first input to resolve takes the result node and the inputs to
    // cancel out of this shared slot. The callbacks left on the other inputs
    // then hold nothing: a long-lived input (`choose([stop.clone(), next()])`
    // in a loop) must not keep every finished race and its inputs alive until
    // it resolves. The emptied callbacks expire, and the input drops them
    // as it gets new ones (Lwt removes them at once).
    let slot = Rc::new(RefCell::new(Some((out.clone(), targets))));
    for p in ps {
        let Some(root) = p.root() else { continue };
        root.add_callback(Callback::expiring(
            Taken(slot.clone()),
            move |slot, node: &NodeRef<T>| {
                let Some((out, targets)) = slot.0.borrow_mut().take() else {
                    return;
                };
                let outcome = node.take_outcome();
                if cancel {
                    cancel_all(&targets);
                }
                let _ = out.root().resolve(outcome);
            },
        ));
    }
    Promise::from_node(out)
}

/// Resolves, once any input resolves, with every input fulfilled by then,
/// in order; then cancels all inputs (Lwt's `npick`).
pub fn npick<T: 'static>(ps: impl IntoIterator<Item = Promise<T>>) -> Promise<Vec<T>> {
    nrace(ps.into_iter().collect(), true, "npick").map(|(done, _)| done)
}

/// Resolves, once any input resolves, with every input fulfilled by then,
/// in order (Lwt's `nchoose`).
///
/// ```
/// let (a, ra) = lwt::wait::<u8>();
/// let (b, _rb) = lwt::wait::<u8>();
/// let p = lwt::nchoose(vec![a, b]);
/// ra.wakeup(1);
/// assert_eq!(p.state(), lwt::State::Fulfilled(vec![1]));
/// ```
pub fn nchoose<T: 'static>(ps: impl IntoIterator<Item = Promise<T>>) -> Promise<Vec<T>> {
    nrace(ps.into_iter().collect(), false, "nchoose").map(|(done, _)| done)
}

/// Like [`nchoose`], also giving back the promises still pending (Lwt's
/// `nchoose_split`).
pub fn nchoose_split<T: 'static>(ps: impl IntoIterator<Item = Promise<T>>) -> Promise<(Vec<T>, Vec<Promise<T>>)> {
    nrace(ps.into_iter().collect(), false, "nchoose_split")
}

type Split<T> = (Vec<T>, Vec<Promise<T>>);

/// Splits the inputs into the fulfilled values and the pending promises, or
/// the first rejection met in argument order.
fn split_now<T: 'static>(ps: Vec<Promise<T>>) -> Result<Split<T>, Error> {
    let mut values = Vec::new();
    let mut pending = Vec::new();
    let mut error = None;
    for p in ps {
        match p.0 {
            Repr::Fulfilled(v) => values.push(v),
            Repr::Rejected(e) => {
                error.get_or_insert(e);
            }
            Repr::Node(n) => {
                let root = n.root();
                if root.is_pending() {
                    pending.push(Promise::from_node(n));
                } else {
                    match root.take_outcome() {
                        Ok(v) => values.push(v),
                        Err(e) => {
                            error.get_or_insert(e);
                        }
                    }
                }
            }
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok((values, pending)),
    }
}

fn nrace<T: 'static>(ps: Vec<Promise<T>>, cancel: bool, name: &str) -> Promise<Split<T>> {
    if ps.is_empty() {
        return empty_list(name);
    }
    let targets = cancel_targets(&ps);
    if already_resolved(&ps).is_some() {
        let r = split_now(ps);
        if cancel {
            cancel_all(&targets);
        }
        return of_result(r);
    }
    let out = Node::alloc(HowToCancel::several(targets.clone()));
    // Every input is pending: keep them all, so the first callback can look
    // at the others' states. The first callback takes them, with the result
    // node and the inputs to cancel, out of one shared slot, so the callbacks
    // left on the other inputs hold nothing (see `race`).
    let roots: Vec<NodeRef<T>> = ps.iter().filter_map(Promise::root).collect();
    let slot = Rc::new(RefCell::new(Some((out.clone(), ps, targets))));
    for root in roots {
        root.add_callback(Callback::expiring(Taken(slot.clone()), move |slot, _: &NodeRef<T>| {
            let Some((out, ps, targets)) = slot.0.borrow_mut().take() else {
                return;
            };
            // An input fulfilled a moment ago may still be lent to one of its
            // own observers (an `on_success` up the stack, which resolved the
            // input whose callback this is): its value cannot be moved out
            // yet, and taking it failed with an internal error. That input's
            // own callback has not run (the slot was full) and comes right
            // after the observer: leave the split to it.
            if ps.iter().any(|p| p.root().is_some_and(|r| r.value_lent())) {
                *slot.0.borrow_mut() = Some((out, ps, targets));
                return;
            }
            let r = split_now(ps);
            if cancel {
                cancel_all(&targets);
            }
            let _ = out.root().resolve(r);
        }));
    }
    Promise::from_node(out)
}
