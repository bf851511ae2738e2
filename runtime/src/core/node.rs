//! The promise node: the shared, mutable heart of every pending promise.
//!
//! A node is in one of five states. Three are Lwt's (pending, fulfilled,
//! rejected). The fourth, `Proxy`, is Lwt's "underlying" mechanism: when the
//! callback of a bind returns a pending promise `p2`, we do not chain `p2` to
//! the bind's own promise `p3` (which would build one link per iteration of a
//! recursive loop, and exhaust memory). Instead `p2` *becomes* `p3`: its
//! callbacks move over to `p3`, and `p2` turns into a forwarding pointer.
//! Every operation first follows forwarding pointers to the *root*, shortening
//! the path as it goes (union–find). This is why `go(i) = pause().bind(|_|
//! go(i + 1))` runs in constant memory: each iteration's promise is folded
//! into the one the caller holds.
//!
//! The fifth state, `Taken`, exists because Rust values may not be `Clone`: a
//! promise of a `Vec` or a socket hands its value to its one consumer by move.
//! A promise whose handle was cloned records a cloning function (`cloner`),
//! and then every consumer gets a clone and the value stays in place.
//!
//! Callbacks of one promise run in the order they were attached (FIFO). When
//! `p2` is folded into `p3`, `p2`'s callbacks are placed *before* `p3`'s:
//! `p2`'s handle was given away when the callback returned it, so all its
//! callbacks are observers, while `p3` may have a consumer, which must come
//! last to take the value by move. (Lwt runs callbacks LIFO and puts `p3`'s
//! first; no Lwt test pins either order.)
//!
//! Cancellation links point *backwards* (from a bind's promise to the promise
//! it waits on), and callbacks point forwards; both are strong. A pending
//! chain is therefore a reference cycle until it resolves, like in Lwt where
//! the GC collects it. To keep abandoned chains from leaking, a `wait()` node
//! whose last resolver is dropped while it is pending — it can then never
//! resolve — drops its callbacks and its cancellation link; and a bind whose
//! callback is thereby dropped unrun does the same for its own node
//! ([`Orphan`]), so the whole chain hanging from the abandoned promise goes.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::callback::Callback;
use super::context;
use super::error::Error;
use super::hook;

/// A callback list without an allocation for the common single callback.
pub(crate) enum Callbacks<T: 'static> {
    Empty,
    One(Callback<T>),
    Many(Vec<Callback<T>>),
}

impl<T: 'static> Callbacks<T> {
    #[inline]
    fn push(&mut self, cb: Callback<T>) {
        match self {
            Callbacks::Empty => *self = Callbacks::One(cb),
            Callbacks::Many(v) => v.push(cb),
            Callbacks::One(_) => {
                if let Callbacks::One(first) = std::mem::replace(self, Callbacks::Empty) {
                    *self = Callbacks::Many(vec![first, cb]);
                }
            }
        }
    }

    /// `front` followed by `self`.
    fn prepend(&mut self, front: Callbacks<T>) {
        let back = std::mem::replace(self, Callbacks::Empty);
        *self = front;
        for cb in back.into_vec() {
            self.push(cb);
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Callbacks::Empty)
    }

    fn into_vec(self) -> Vec<Callback<T>> {
        match self {
            Callbacks::Empty => Vec::new(),
            Callbacks::One(cb) => vec![cb],
            Callbacks::Many(v) => v,
        }
    }
}

/// A node seen without its value type: what cancellation walks through.
pub(crate) trait Cancelable {
    /// One step of the cancellation walk (see `cancel.rs`).
    fn cancel_step(self: Rc<Self>, work: &mut Vec<Rc<dyn Cancelable>>, marked: &mut Vec<Box<dyn FnOnce()>>);
}

/// How to cancel a pending promise (Lwt's `how_to_cancel`).
#[derive(Clone)]
pub(crate) enum HowToCancel {
    /// `wait()`: `cancel` does nothing.
    Not,
    /// `task()`: `cancel` rejects this promise with `Canceled`.
    This,
    /// A bind-like promise: cancel the promise it waits on.
    One(Rc<dyn Cancelable>),
    /// A join-like promise: cancel every input.
    Several(Rc<[Rc<dyn Cancelable>]>),
}

pub(crate) struct Pending<T: 'static> {
    pub(crate) callbacks: Callbacks<T>,
    pub(crate) cancel: HowToCancel,
}

pub(crate) enum St<T: 'static> {
    Pending(Pending<T>),
    Fulfilled(T),
    Rejected(Error),
    /// Fulfilled, and the value was moved to its only consumer.
    Taken,
    Proxy(Rc<Node<T>>),
}

/// How a shared promise copies its value for each consumer.
type Cloner<T> = fn(&T) -> T;

pub(crate) struct Node<T: 'static> {
    pub(crate) st: RefCell<St<T>>,
    cloner: Cell<Option<Cloner<T>>>,
    /// Live `Resolver`s of a `wait()` node (see the module doc).
    resolvers: Cell<u32>,
}

/// The error a consumer sees if the value was already moved out; only
/// reachable by polling a promise as a future after it completed.
fn taken_error() -> Error {
    Error::invalid_argument("the promise's value was already taken by its consumer")
}

impl<T: 'static> Node<T> {
    pub(crate) fn new(cancel: HowToCancel) -> Rc<Node<T>> {
        context::node_created();
        Rc::new(Node {
            st: RefCell::new(St::Pending(Pending {
                callbacks: Callbacks::Empty,
                cancel,
            })),
            cloner: Cell::new(None),
            resolvers: Cell::new(0),
        })
    }

    /// Follows forwarding pointers to the root, pointing every node on the
    /// way straight at it.
    #[inline]
    pub(crate) fn root(self: &Rc<Self>) -> Rc<Self> {
        if !matches!(&*self.st.borrow(), St::Proxy(_)) {
            return self.clone();
        }
        self.root_slow()
    }

    #[cold]
    fn root_slow(self: &Rc<Self>) -> Rc<Self> {
        // Find the root without recursion.
        let mut root = self.clone();
        loop {
            let n = match &*root.st.borrow() {
                St::Proxy(p) => p.clone(),
                _ => break,
            };
            root = n;
        }
        // Compress the path.
        let mut cur = self.clone();
        loop {
            let next = {
                let mut st = cur.st.borrow_mut();
                match &mut *st {
                    St::Proxy(p) if !Rc::ptr_eq(p, &root) => {
                        let next = p.clone();
                        *p = root.clone();
                        next
                    }
                    _ => break,
                }
            };
            cur = next;
        }
        root
    }

    /// Records that a handle was cloned: from now on consumers get clones.
    pub(crate) fn set_cloner(&self, f: fn(&T) -> T) {
        self.cloner.set(Some(f));
    }

    pub(crate) fn is_pending(&self) -> bool {
        matches!(&*self.st.borrow(), St::Pending(_))
    }

    /// The outcome, for a consumer: the value itself if this is the only
    /// consumer, a clone otherwise. `self` must be a resolved root.
    pub(crate) fn take_outcome(&self) -> Result<T, Error> {
        if let Some(clone) = self.cloner.get() {
            return match &*self.st.borrow() {
                St::Fulfilled(v) => Ok(clone(v)),
                St::Rejected(e) => Err(e.clone()),
                _ => Err(taken_error()),
            };
        }
        let Ok(mut st) = self.st.try_borrow_mut() else {
            return Err(Error::invalid_argument(
                "a promise's value was taken while a callback was looking at it",
            ));
        };
        match std::mem::replace(&mut *st, St::Taken) {
            St::Fulfilled(v) => Ok(v),
            St::Rejected(e) => {
                *st = St::Rejected(e.clone());
                Err(e)
            }
            other => {
                *st = other;
                Err(taken_error())
            }
        }
    }

    /// Whether this node's value is lent to a running observer right now, so
    /// that its only consumer cannot move it out yet.
    pub(crate) fn value_lent(&self) -> bool {
        self.cloner.get().is_none() && self.st.try_borrow_mut().is_err()
    }

    /// Attaches a callback to a root; runs it at once if already resolved.
    pub(crate) fn add_callback(self: &Rc<Self>, cb: Callback<T>) {
        // A resolved node may be borrowed by an observer that is running
        // right now, so only pending nodes are borrowed mutably here.
        let pending = matches!(&*self.st.borrow(), St::Pending(_));
        if pending {
            if let St::Pending(p) = &mut *self.st.borrow_mut() {
                p.callbacks.push(cb);
            }
            return;
        }
        let run = match &*self.st.borrow() {
            St::Pending(_) => return,
            St::Rejected(e) => !cb.is_cancel() || e.is_canceled(),
            _ => !cb.is_cancel(),
        };
        if run {
            if cb.is_cancel() {
                hook::guarded(|| cb.call(self));
            } else {
                context::run_nested(|| cb.call(self));
            }
        }
    }

    /// Sets the outcome of a pending root and takes its callbacks. Returns
    /// the outcome back if the node was not pending.
    pub(crate) fn settle(&self, outcome: Result<T, Error>) -> Result<Callbacks<T>, Result<T, Error>> {
        let Ok(mut st) = self.st.try_borrow_mut() else {
            // Borrowed by a running observer: it is resolved already.
            return Err(outcome);
        };
        match &mut *st {
            St::Pending(p) => {
                let cbs = std::mem::replace(&mut p.callbacks, Callbacks::Empty);
                *st = match outcome {
                    Ok(v) => St::Fulfilled(v),
                    Err(e) => St::Rejected(e),
                };
                Ok(cbs)
            }
            _ => Err(outcome),
        }
    }

    /// Resolves a root now (nested, Lwt's `wakeup`). Returns the outcome back
    /// if it was already resolved.
    pub(crate) fn resolve(self: &Rc<Self>, outcome: Result<T, Error>) -> Result<(), Result<T, Error>> {
        let canceled = matches!(&outcome, Err(e) if e.is_canceled());
        let cbs = self.settle(outcome)?;
        if cbs.is_empty() {
            return Ok(());
        }
        match context::enter() {
            Some(depth) => {
                let _leave = context::Leave(depth);
                run_callbacks(self, cbs, canceled);
            }
            None => {
                let node = self.clone();
                context::defer(Box::new(move || run_callbacks(&node, cbs, canceled)));
            }
        }
        Ok(())
    }

    /// Resolves a root, deferring the callbacks if a callback is running
    /// (Lwt's `wakeup_later`).
    pub(crate) fn resolve_later(self: &Rc<Self>, outcome: Result<T, Error>) -> Result<(), Result<T, Error>> {
        let canceled = matches!(&outcome, Err(e) if e.is_canceled());
        let cbs = self.settle(outcome)?;
        if !cbs.is_empty() {
            let node = self.clone();
            let job = move || run_callbacks(&node, cbs, canceled);
            if context::in_callback() {
                context::defer(Box::new(job));
            } else {
                context::run_nested(job);
            }
        }
        Ok(())
    }

    /// Marks a pending root canceled without running its callbacks; returns
    /// the job that runs them (the second phase of `cancel`).
    pub(crate) fn mark_canceled(self: &Rc<Self>) -> Option<Box<dyn FnOnce()>> {
        let cbs = self.settle(Err(Error::canceled())).ok()?;
        let node = self.clone();
        Some(Box::new(move || run_callbacks(&node, cbs, true)))
    }

    /// Folds the pending root `inner` into the pending root `self`: `inner`
    /// becomes a forwarding pointer, its callbacks run first, and canceling
    /// `self` now cancels what `inner` waited on.
    pub(crate) fn absorb(self: &Rc<Self>, inner: &Rc<Self>) {
        let taken = {
            let mut st = inner.st.borrow_mut();
            match std::mem::replace(&mut *st, St::Proxy(self.clone())) {
                St::Pending(p) => p,
                other => {
                    *st = other;
                    return;
                }
            }
        };
        if let Some(c) = inner.cloner.get() {
            self.cloner.set(Some(c));
        }
        self.resolvers.set(self.resolvers.get() + inner.resolvers.get());
        let old_cancel = {
            let mut st = self.st.borrow_mut();
            match &mut *st {
                St::Pending(p) => {
                    p.callbacks.prepend(taken.callbacks);
                    Some(std::mem::replace(&mut p.cancel, taken.cancel))
                }
                _ => None,
            }
        };
        drop(old_cancel);
    }

    pub(crate) fn resolver_added(&self) {
        self.resolvers.set(self.resolvers.get() + 1);
    }

    /// The last resolver of a `wait()` node went away: if nothing can resolve
    /// the node any more, drop what it holds so that cycles are broken.
    pub(crate) fn resolver_dropped(self: &Rc<Self>) {
        let root = self.root();
        let n = root.resolvers.get().saturating_sub(1);
        root.resolvers.set(n);
        if n > 0 {
            return;
        }
        let dropped = {
            let Ok(mut st) = root.st.try_borrow_mut() else { return };
            match &mut *st {
                St::Pending(p) if matches!(p.cancel, HowToCancel::Not) => {
                    Some(std::mem::replace(&mut p.callbacks, Callbacks::Empty))
                }
                _ => None,
            }
        };
        if let Some(cbs) = dropped {
            dispose(Box::new(cbs));
        }
    }
}

/// Held by a bind's callback for the bind's own node: if the callback is
/// dropped without having run, that node can never resolve, and neither can
/// anything waiting on it.
///
/// Dropping the last resolver of a `wait()` node drops its callbacks (see
/// [`Node::resolver_dropped`]), which frees the first bind of a chain; but the
/// second bind's node and the first one still hold each other (a callback
/// one way, a cancellation link the other), so without this guard a chain of
/// two or more binds on an abandoned `wait()` promise leaked.
pub(crate) struct Orphan<T: 'static>(Option<Rc<Node<T>>>);

impl<T: 'static> Orphan<T> {
    pub(crate) fn new(node: Rc<Node<T>>) -> Orphan<T> {
        Orphan(Some(node))
    }

    /// The callback runs: hand the node over, disarming the guard.
    pub(crate) fn take(mut self) -> Rc<Node<T>> {
        match self.0.take() {
            Some(n) => n,
            None => unreachable!("an orphan guard is taken once"),
        }
    }
}

impl<T: 'static> Drop for Orphan<T> {
    fn drop(&mut self) {
        if let Some(node) = self.0.take() {
            node.orphaned();
        }
    }
}

impl<T: 'static> Node<T> {
    /// The callback that was to resolve this (bind) node was dropped unrun:
    /// nothing can resolve it any more, so drop what it holds, as
    /// [`Node::resolver_dropped`] does for a `wait()` node. Its cancellation
    /// link goes too: it led only to the promise that will never resolve.
    fn orphaned(self: &Rc<Self>) {
        // This runs in a destructor, which must not panic: a node borrowed
        // right now is being resolved, so there is nothing to free.
        if self.st.try_borrow_mut().is_err() {
            return;
        }
        let root = self.root();
        if root.resolvers.get() > 0 {
            return;
        }
        let dropped = {
            let Ok(mut st) = root.st.try_borrow_mut() else { return };
            match &mut *st {
                St::Pending(p) => Some((
                    std::mem::replace(&mut p.callbacks, Callbacks::Empty),
                    std::mem::replace(&mut p.cancel, HowToCancel::Not),
                )),
                _ => None,
            }
        };
        if let Some(held) = dropped {
            dispose(Box::new(held));
        }
    }
}

/// Runs the callbacks of a node that just resolved: cancel callbacks first
/// (when it was canceled), then the regular ones, each in attachment order.
pub(crate) fn run_callbacks<T: 'static>(node: &Rc<Node<T>>, cbs: Callbacks<T>, canceled: bool) {
    match cbs {
        Callbacks::Empty => {}
        Callbacks::One(cb) => {
            if !cb.is_cancel() {
                cb.call(node)
            } else if canceled {
                hook::guarded(|| cb.call(node))
            }
        }
        Callbacks::Many(v) => {
            if canceled {
                let mut regular = Vec::with_capacity(v.len());
                for cb in v {
                    if cb.is_cancel() {
                        hook::guarded(|| cb.call(node));
                    } else {
                        regular.push(cb);
                    }
                }
                for cb in regular {
                    cb.call(node)
                }
            } else {
                for cb in v {
                    if !cb.is_cancel() {
                        cb.call(node)
                    }
                }
            }
        }
    }
}

impl<T: 'static> Cancelable for Node<T> {
    fn cancel_step(self: Rc<Self>, work: &mut Vec<Rc<dyn Cancelable>>, marked: &mut Vec<Box<dyn FnOnce()>>) {
        let root = self.root();
        let how = match &*root.st.borrow() {
            St::Pending(p) => p.cancel.clone(),
            _ => return,
        };
        match how {
            HowToCancel::Not => {}
            HowToCancel::This => {
                if let Some(job) = root.mark_canceled() {
                    marked.push(job);
                }
            }
            HowToCancel::One(p) => work.push(p),
            HowToCancel::Several(ps) => work.extend(ps.iter().rev().cloned()),
        }
    }
}

impl<T: 'static> Drop for Node<T> {
    fn drop(&mut self) {
        context::node_dropped();
        // A long pending chain is a long list of nested boxes: dropping it
        // recursively would overflow the stack, so hand it to `dispose`.
        if let St::Pending(p) = self.st.get_mut() {
            if !p.callbacks.is_empty() || !matches!(p.cancel, HowToCancel::Not | HowToCancel::This) {
                let cbs = std::mem::replace(&mut p.callbacks, Callbacks::Empty);
                let cancel = std::mem::replace(&mut p.cancel, HowToCancel::Not);
                dispose(Box::new((cbs, cancel)));
            }
        }
    }
}

thread_local! {
    static DROP_DEPTH: Cell<u32> = const { Cell::new(0) };
    static GRAVEYARD: RefCell<Vec<Box<dyn std::any::Any>>> = const { RefCell::new(Vec::new()) };
}

/// Drops `b`, but never more than a bounded number of nested drops deep:
/// deeper ones are parked and dropped in a loop by the outermost call.
pub(crate) fn dispose(b: Box<dyn std::any::Any>) {
    let Ok(depth) = DROP_DEPTH.try_with(|d| d.get()) else {
        // Thread locals are being torn down: leak rather than crash.
        std::mem::forget(b);
        return;
    };
    if depth >= 64 {
        GRAVEYARD.with(|g| g.borrow_mut().push(b));
        return;
    }
    DROP_DEPTH.with(|d| d.set(depth + 1));
    drop(b);
    if depth == 0 {
        loop {
            let next = GRAVEYARD.with(|g| g.borrow_mut().pop());
            match next {
                Some(x) => drop(x),
                None => break,
            }
        }
    }
    DROP_DEPTH.with(|d| d.set(depth));
}
