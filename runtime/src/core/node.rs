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
//! A promise whose handle was cloned records a cloning function (in the
//! per-type table its header points to, see `rc.rs`), and then every
//! consumer gets a clone and the value stays in place.
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
//!
//! Size: a pending bind costs one node, so its size is the memory of a long
//! chain and the cache traffic of every resolution. A node is 64 bytes, one
//! cache line: a two-word header (reference and resolver counts, the
//! state's tag and borrow flag, the per-type table pointer; see `rc.rs`)
//! and six words of state (`state.rs`). A pending state is one inline
//! callback, or a list of them in the same place (five words, see
//! `callback.rs`), and the cancellation link packed in one word
//! ([`HowToCancel`]).
//!
//! One cost of that size, measured: a node with two callbacks keeps them in
//! an 80-byte list block, which 80-byte nodes shared a size class (and so
//! memory) with, and 64-byte nodes do not. A million sleepers, each a node
//! with an `on_cancel` and a `map` callback, resolved in an order that
//! misses the cache on every one, took two misses each instead of one:
//! `many_sleeps 1000000` went from 0.51-0.52 s to 0.62-0.64 s. Such a task's
//! `on_cancel` now stays out of the list (see `how_to_cancel.rs`), which
//! brought it back to 0.54-0.56 s, with a fifth less memory than at 80
//! bytes (271 MB, was 335 MB).

use std::cell::{Cell, RefCell};

pub(crate) use super::callback::Callbacks;
use super::callback::{Callback, Taken};
use super::context;
use super::error::Error;
use super::freevec::FreeVec;
use super::hook;
pub(crate) use super::how_to_cancel::{How, HowToCancel, Interceptor};
use super::rc::{AnyNode, Header, NodeRef};
pub(crate) use super::state::St;
use super::state::{BodyCell, View, ViewMut, PENDING, PROXY};

/// A deferred piece of work (the second phase of a cancellation).
pub(crate) use super::context::Job;

pub(crate) struct Pending<T: 'static> {
    pub(crate) callbacks: Callbacks<T>,
    pub(crate) cancel: HowToCancel,
}

/// A promise node: a header (counts, state tag and borrow flag, and the
/// per-type table with the cloning function; see `rc.rs`) and the payload
/// of its state (see `state.rs`).
#[repr(C)]
pub(crate) struct Node<T: 'static> {
    pub(crate) header: Header,
    pub(crate) body: BodyCell<T>,
}

/// The error a consumer sees if the value was already moved out; only
/// reachable by polling a promise as a future after it completed.
fn taken_error() -> Error {
    Error::invalid_argument("the promise's value was already taken by its consumer")
}

impl<T: 'static> Node<T> {
    #[inline(always)]
    pub(crate) fn alloc(cancel: HowToCancel) -> NodeRef<T> {
        NodeRef::new_with(move || {
            St::Pending(Pending {
                callbacks: Callbacks::new(),
                cancel,
            })
        })
    }

    #[inline]
    pub(crate) fn is_pending(&self) -> bool {
        self.tag() == PENDING
    }

    /// Sets the outcome of a pending root and takes its callbacks. Returns
    /// the outcome back if the node was not pending.
    #[inline(always)]
    pub(crate) fn settle(&self, outcome: Result<T, Error>) -> Result<Callbacks<T>, Result<T, Error>> {
        self.settle_with(outcome, std::mem::take)
    }

    /// [`Node::settle`], moving the callbacks straight to `dst` (always
    /// written: with no callback if the node was not pending).
    ///
    /// # Safety
    /// `dst` is valid for a write of a `Callbacks<T>`; what it held is
    /// overwritten without being dropped.
    #[inline(always)]
    pub(crate) unsafe fn settle_into(
        &self,
        outcome: Result<T, Error>,
        dst: *mut Callbacks<T>,
    ) -> Result<(), Result<T, Error>> {
        // SAFETY: the caller's promise for `dst`; `take` reads the
        // callbacks out of the pending state, which is then overwritten
        // without a drop (see `settle_with`), so they are moved, not copied.
        let r = self.settle_with(outcome, |cbs| unsafe { dst.write(std::ptr::read(cbs)) });
        if r.is_err() {
            // SAFETY: as above.
            unsafe { dst.write(Callbacks::new()) };
        }
        r
    }

    /// Sets the outcome of a pending root; `take` gets its callbacks, which
    /// it must take out (the state they are in is overwritten without a
    /// drop).
    #[inline(always)]
    fn settle_with<R>(
        &self,
        outcome: Result<T, Error>,
        take: impl FnOnce(&mut Callbacks<T>) -> R,
    ) -> Result<R, Result<T, Error>> {
        let Ok(mut st) = self.try_state_mut() else {
            // Borrowed by a running observer: it is resolved already.
            return Err(outcome);
        };
        let ViewMut::Pending(p) = st.view() else {
            return Err(outcome);
        };
        if p.cancel.is_hooked() && matches!(&outcome, Err(e) if e.is_canceled()) {
            // The hook is the node's first cancel callback: it runs first.
            unhook(p);
        }
        let cbs = take(&mut p.callbacks);
        let cancel = std::mem::replace(&mut p.cancel, HowToCancel::not());
        let new = match outcome {
            Ok(v) => St::Fulfilled(v),
            Err(e) => St::Rejected(e),
        };
        // SAFETY: what is left of the pending state owns nothing (no
        // callback: `take` took them; no link), so overwriting it without
        // a drop leaks nothing; this spares moving the whole state twice
        // on the path every resolution takes.
        unsafe { st.overwrite(new) };
        drop(st);
        // The cancellation link goes once the node is settled.
        drop(cancel);
        Ok(cbs)
    }

    /// Whether a pending node has callbacks; `None` if it is not pending.
    #[inline(always)]
    fn has_callbacks(&self) -> Option<bool> {
        match self.try_state().ok()?.view() {
            View::Pending(p) => Some(!p.callbacks.is_empty()),
            _ => None,
        }
    }
}

/// The deferred run of a settled node's callbacks, written in place into
/// its job's block (see [`NodeRef::deferred_callbacks`]).
struct CallbackRun<T: 'static> {
    node: Option<NodeRef<T>>,
    cbs: Callbacks<T>,
    canceled: bool,
}

impl<T: 'static> context::Run for CallbackRun<T> {
    fn run(&mut self) {
        if let Some(node) = self.node.take() {
            let cbs = std::mem::take(&mut self.cbs);
            run_callbacks(&node, cbs, self.canceled);
        }
    }
}

impl<T: 'static> NodeRef<T> {
    /// Follows forwarding pointers to the root, pointing every node on the
    /// way straight at it.
    #[inline]
    pub(crate) fn root(&self) -> NodeRef<T> {
        if !self.is_proxy() {
            return self.clone();
        }
        self.root_slow()
    }

    /// Calls `f` with the root, without count traffic when this is the
    /// root already (the common case).
    #[inline]
    pub(crate) fn with_root<R>(&self, f: impl FnOnce(&NodeRef<T>) -> R) -> R {
        if !self.is_proxy() {
            return f(self);
        }
        f(&self.root_slow())
    }

    /// [`NodeRef::root`], consuming this pointer (no count traffic when it
    /// is the root already, the common case).
    #[inline]
    pub(crate) fn into_root(self) -> NodeRef<T> {
        if !self.is_proxy() {
            return self;
        }
        self.root_slow()
    }

    #[inline]
    fn is_proxy(&self) -> bool {
        self.tag() == PROXY
    }

    #[cold]
    fn root_slow(&self) -> NodeRef<T> {
        // One hop is the common case: a bind's promise that was folded into
        // the caller's once (see the module doc). Nothing to compress then.
        let first = match self.state().view() {
            View::Proxy(p) => p.clone(),
            _ => return self.clone(),
        };
        if !first.is_proxy() {
            return first;
        }
        // Find the root without recursion.
        let mut root = first;
        loop {
            let n = match root.state().view() {
                View::Proxy(p) => p.clone(),
                _ => break,
            };
            root = n;
        }
        // Compress the path.
        let mut cur = self.clone();
        loop {
            let next = {
                let mut st = cur.state_mut();
                match st.view() {
                    ViewMut::Proxy(p) if !NodeRef::ptr_eq(p, &root) => std::mem::replace(p, root.clone()),
                    _ => break,
                }
            };
            cur = next;
        }
        root
    }

    /// Records that a handle was cloned: from now on consumers get clones.
    pub(crate) fn set_cloner(&self)
    where
        T: Clone,
    {
        self.set_shared();
    }

    /// The outcome, for a consumer: the value itself if this is the only
    /// consumer, a clone otherwise. `self` must be a resolved root.
    #[inline]
    pub(crate) fn take_outcome(&self) -> Result<T, Error> {
        if self.is_shared() {
            return match self.state().view() {
                View::Fulfilled(v) => Ok(self.clone_value(v).unwrap_or_else(|| unreachable!("shared node"))),
                View::Rejected(e) => Err(e.clone()),
                _ => Err(taken_error()),
            };
        }
        let Ok(mut st) = self.try_state_mut() else {
            return Err(Error::invalid_argument(
                "a promise's value was taken while a callback was looking at it",
            ));
        };
        match st.view() {
            ViewMut::Fulfilled(v) => {
                // SAFETY: the value is moved out and its place overwritten
                // with `Taken` at once, without dropping it; nothing can
                // panic in between.
                let v = unsafe { std::ptr::read(v) };
                unsafe { st.overwrite(St::Taken) };
                Ok(v)
            }
            ViewMut::Rejected(e) => Err(e.clone()),
            _ => Err(taken_error()),
        }
    }

    /// Whether this node's value is lent to a running observer right now, so
    /// that its only consumer cannot move it out yet.
    pub(crate) fn value_lent(&self) -> bool {
        !self.is_shared() && self.try_state_mut().is_err()
    }

    /// Attaches a callback to a root; runs it at once if already resolved.
    #[inline(always)]
    pub(crate) fn add_callback(&self, cb: Callback<T>) {
        // A resolved node may be borrowed by an observer that is running
        // right now, so only pending nodes are borrowed mutably here.
        if let Ok(mut st) = self.try_state_mut() {
            if let ViewMut::Pending(p) = st.view() {
                if p.callbacks.is_empty() {
                    p.callbacks.push_first(cb);
                    return;
                }
                let expired = p.callbacks.push_more(cb);
                drop(st);
                drop(expired);
                return;
            }
        }
        self.add_callback_resolved(cb)
    }

    /// Attaches an `on_cancel` function to a root: in the cancel word of a
    /// task that has no other cancel callback (see `how_to_cancel.rs`), or
    /// in its callback list; runs it at once if the root is already
    /// canceled.
    pub(crate) fn add_cancel_callback(&self, f: impl FnOnce() + 'static) {
        if let Ok(mut st) = self.try_state_mut() {
            if let ViewMut::Pending(p) = st.view() {
                // The list is looked through only when the word could take
                // the hook: every later `on_cancel` of a task, or any of
                // another promise, must not cost a scan of its callbacks.
                let f = if !p.cancel.is_bare_this() || p.callbacks.has_cancel() {
                    f
                } else {
                    match p.cancel.set_hook(f) {
                        Ok(()) => return,
                        Err(f) => f,
                    }
                };
                let expired = p.callbacks.push(Callback::cancel(f));
                drop(st);
                drop(expired);
                return;
            }
        }
        self.add_callback_resolved(Callback::cancel(f))
    }

    #[cold]
    fn add_callback_resolved(&self, cb: Callback<T>) {
        let run = match self.state().view() {
            View::Pending(_) => return,
            View::Rejected(e) => !cb.is_cancel() || e.is_canceled(),
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

    /// Resolves a root now (nested, Lwt's `wakeup`). Returns the outcome back
    /// if it was already resolved.
    #[inline]
    pub(crate) fn resolve(&self, outcome: Result<T, Error>) -> Result<(), Result<T, Error>> {
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
                context::defer(Job::new(move || run_callbacks(&node, cbs, canceled)));
            }
        }
        Ok(())
    }

    /// Resolves a root, deferring the callbacks if a callback is running
    /// (Lwt's `wakeup_later`).
    pub(crate) fn resolve_later(&self, outcome: Result<T, Error>) -> Result<(), Result<T, Error>> {
        if context::in_callback() {
            return self.settle_deferred(outcome);
        }
        let canceled = matches!(&outcome, Err(e) if e.is_canceled());
        let cbs = self.settle(outcome)?;
        if !cbs.is_empty() {
            context::run_nested(|| run_callbacks(self, cbs, canceled));
        }
        Ok(())
    }

    /// Settles a root and queues the run of its callbacks, if it has any.
    #[inline]
    fn settle_deferred(&self, outcome: Result<T, Error>) -> Result<(), Result<T, Error>> {
        match self.has_callbacks() {
            None => Err(outcome),
            Some(false) => self.settle(outcome).map(drop),
            Some(true) => {
                let canceled = matches!(&outcome, Err(e) if e.is_canceled());
                context::defer(self.deferred_callbacks(outcome, canceled));
                Ok(())
            }
        }
    }

    /// Settles a pending root (if it is not pending, the outcome is
    /// dropped) and returns the job that runs its callbacks. The callbacks
    /// go straight from the node into the job's block.
    #[inline(always)]
    fn deferred_callbacks(&self, outcome: Result<T, Error>, canceled: bool) -> Job {
        // SAFETY: every field is written, and nothing here unwinds (the
        // outcome's drop cannot run: the node is pending, checked by
        // every caller with no user code since).
        unsafe {
            Job::new_in(|at: *mut CallbackRun<T>| {
                std::ptr::addr_of_mut!((*at).node).write(Some(self.clone()));
                std::ptr::addr_of_mut!((*at).canceled).write(canceled);
                let _ = self.settle_into(outcome, std::ptr::addr_of_mut!((*at).cbs));
            })
        }
    }

    /// Marks a pending root canceled without running its callbacks; returns
    /// the job that runs them (the second phase of `cancel`).
    pub(crate) fn mark_canceled(&self) -> Option<Job> {
        let cbs = self.settle(Err(Error::canceled())).ok()?;
        let node = self.clone();
        Some(Job::new(move || run_callbacks(&node, cbs, true)))
    }

    /// Folds the pending root `inner` into the pending root `self`: `inner`
    /// becomes a forwarding pointer, its callbacks run first, and canceling
    /// `self` now cancels what `inner` waited on.
    pub(crate) fn absorb(&self, inner: &NodeRef<T>) {
        // The pending state is taken apart in place, field by field: moving
        // it out whole copied it through the stack with wide loads of
        // narrow stores still in flight (a store-forwarding stall, the
        // hottest instruction of the pause loop's `become_`).
        let (callbacks, cancel) = {
            let mut st = inner.state_mut();
            let ViewMut::Pending(p) = st.view() else {
                return;
            };
            let callbacks = if p.callbacks.is_empty() {
                None
            } else {
                Some(std::mem::take(&mut p.callbacks))
            };
            let cancel = std::mem::replace(&mut p.cancel, HowToCancel::not());
            // SAFETY: what is left of the pending state owns nothing (no
            // callback, no link), so overwriting it without a drop leaks
            // nothing (as in `settle`).
            unsafe { st.overwrite(St::Proxy(self.clone())) };
            (callbacks, cancel)
        };
        if inner.is_shared() && !self.is_shared() {
            self.header().vtable.set(inner.header().vtable.get());
        }
        self.header().resolver_added(inner.header().resolvers());
        let old_cancel = {
            let mut st = self.state_mut();
            match st.view() {
                ViewMut::Pending(p) => {
                    // `self`'s own link is replaced: a hook it held goes
                    // back in front of its callbacks, as if never moved.
                    if p.cancel.is_hooked() {
                        unhook(p);
                    }
                    if let Some(front) = callbacks {
                        p.callbacks.prepend(front);
                    }
                    Some(std::mem::replace(&mut p.cancel, cancel))
                }
                _ => None,
            }
        };
        drop(old_cancel);
    }

    pub(crate) fn resolver_added(&self) {
        self.header().resolver_added(1);
    }

    /// The last resolver of a `wait()` node went away: if nothing can resolve
    /// the node any more, drop what it holds so that cycles are broken.
    pub(crate) fn resolver_dropped(&self) {
        self.with_root(|root| root.root_resolver_dropped())
    }

    fn root_resolver_dropped(&self) {
        let root = self;
        if !root.header().resolver_dropped() {
            return;
        }
        let dropped = {
            let Ok(mut st) = root.try_state_mut() else { return };
            match st.view() {
                ViewMut::Pending(p) if matches!(p.cancel.view(), How::Not) => Some(std::mem::take(&mut p.callbacks)),
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
pub(crate) struct Orphan<T: 'static>(Option<NodeRef<T>>);

impl<T: 'static> Orphan<T> {
    pub(crate) fn new(node: NodeRef<T>) -> Orphan<T> {
        Orphan(Some(node))
    }

    /// The callback runs: hand the node over, disarming the guard.
    pub(crate) fn take(mut self) -> NodeRef<T> {
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

impl<T: 'static> NodeRef<T> {
    /// The callback that was to resolve this (bind) node was dropped unrun:
    /// nothing can resolve it any more, so drop what it holds, as
    /// [`Node::resolver_dropped`] does for a `wait()` node. Its cancellation
    /// link goes too: it led only to the promise that will never resolve.
    fn orphaned(&self) {
        // This runs in a destructor, which must not panic: a node borrowed
        // right now is being resolved, so there is nothing to free.
        if self.try_state_mut().is_err() {
            return;
        }
        let root = self.root();
        if root.header().resolvers() > 0 {
            return;
        }
        let dropped = {
            let Ok(mut st) = root.try_state_mut() else { return };
            match st.view() {
                ViewMut::Pending(p) => Some((
                    std::mem::take(&mut p.callbacks),
                    std::mem::replace(&mut p.cancel, HowToCancel::not()),
                )),
                _ => None,
            }
        };
        if let Some(held) = dropped {
            dispose(Box::new(held));
        }
    }
}

/// Moves a pending state's cancel hook, if it has one, to the front of its
/// callbacks (as the cancel callback it stands for).
#[cold]
fn unhook<T: 'static>(p: &mut Pending<T>) {
    if let Some(h) = p.cancel.take_hook() {
        let front = Callbacks::one(Callback::cancel(move || h.run()));
        p.callbacks.prepend(front);
    }
}

/// Runs the callbacks of a node that just resolved: cancel callbacks first
/// (when it was canceled), then the regular ones, each in attachment order.
#[inline(always)]
pub(crate) fn run_callbacks<T: 'static>(node: &NodeRef<T>, cbs: Callbacks<T>, canceled: bool) {
    match cbs.take() {
        Taken::None => {}
        Taken::One(cb) => {
            if !cb.is_cancel() {
                cb.call(node)
            } else if canceled {
                hook::guarded(|| cb.call(node))
            }
        }
        Taken::Many(v) => run_many(node, v, canceled),
    }
}

fn run_many<T: 'static>(node: &NodeRef<T>, v: FreeVec<Callback<T>>, canceled: bool) {
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

/// One step of the cancellation walk (see `cancel.rs`): a cancelable root
/// is marked canceled, a linked one hands over what it waits on.
pub(crate) fn cancel_step<T: 'static>(n: &NodeRef<T>, work: &mut Vec<AnyNode>, marked: &mut Vec<Job>) {
    let root = n.root();
    let this = {
        let st = root.state();
        let View::Pending(p) = st.view() else { return };
        match p.cancel.view() {
            How::Not => false,
            How::This => true,
            How::One(p) => {
                work.push(p.clone());
                false
            }
            How::Several(ps) => {
                work.extend(ps.iter().rev().cloned());
                false
            }
            How::Intercepted => {
                if let Some(i) = p.cancel.interceptor() {
                    // Counted until the call, so that the address cannot be
                    // another node's by then.
                    let node = root.clone();
                    marked.push(Job::new(move || i.intercept(node.addr())));
                }
                false
            }
        }
    };
    if this {
        if let Some(job) = root.mark_canceled() {
            marked.push(job);
        }
    }
}

impl<T: 'static> Drop for Node<T> {
    fn drop(&mut self) {
        // A long pending chain is a long list of nested boxes: dropping it
        // recursively would overflow the stack, so hand it to `dispose`.
        if let ViewMut::Pending(p) = self.state_get_mut() {
            if !p.callbacks.is_empty() || !p.cancel.is_leaf() {
                let cbs = std::mem::take(&mut p.callbacks);
                let cancel = std::mem::replace(&mut p.cancel, HowToCancel::not());
                dispose(Box::new((cbs, cancel)));
            }
        }
        // SAFETY: the node's destructor, once; the body is not used after.
        unsafe { self.drop_state() }
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
