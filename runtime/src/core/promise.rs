//! `Promise<T>` and its sequential composition: Lwt's `'a Lwt.t`, `bind`,
//! `map`, `catch`, `try_bind`, `finalize` and the `on_*` callbacks.
//!
//! A promise that is already resolved when it is made (`resolved(v)`,
//! `rejected(e)`, and whatever a callback returns without waiting) is kept
//! inline in the handle and allocates nothing; only a pending promise needs a
//! shared [`Node`]. Binding on a resolved promise calls the callback at once,
//! as Lwt does, so a loop over resolved promises costs a few nanoseconds per
//! step.
//!
//! Deliberate differences from Lwt:
//! - Lwt lets an exception raised by `f` in `bind p f` escape `bind` when `p`
//!   is already fulfilled (its issue #329). Here a panic in any callback
//!   rejects the callback's promise, whatever the state of `p`.
//! - Callbacks of one promise run in the order they were attached (FIFO);
//!   Lwt runs them last-attached first. See `node.rs` for the order when a
//!   callback's promise is folded into the bind's.

use std::fmt;

use super::callback::Callback;
use super::cancel;
use super::context;
use super::error::Error;
use super::hook::{self, protect};
use super::node::{HowToCancel, Node, Orphan};
use super::rc::NodeRef;
use super::state::{View, FULFILLED, TAKEN};
use super::storage;

/// A promise of a `T`: pending, fulfilled with a `T`, or rejected with an
/// [`Error`] (Lwt's `'a Lwt.t`).
///
/// A promise is single-threaded (`!Send`). Its consumers ([`Promise::bind`],
/// [`Promise::map`], ...) take the handle, so a value that is not `Clone` (a
/// `Vec`, a socket) moves through a chain without being copied. A promise of
/// a `Clone` value can itself be cloned, and then each consumer gets a copy.
///
/// ```
/// let (p, r) = lwt::wait::<u32>();
/// let doubled = p.map(|x| x * 2);
/// assert!(doubled.is_pending());
/// r.wakeup(21);
/// assert_eq!(doubled.state(), lwt::State::Fulfilled(42));
/// ```
pub struct Promise<T: 'static>(pub(crate) Repr<T>);

pub(crate) enum Repr<T: 'static> {
    Fulfilled(T),
    Rejected(Error),
    Node(NodeRef<T>),
}

// A promise never pins its value in place: polling one moves the value out.
impl<T: 'static> Unpin for Promise<T> {}

/// A snapshot of a promise's state (Lwt's `Return` / `Fail` / `Sleep`).
#[derive(Debug)]
pub enum State<T> {
    /// Fulfilled with this value (Lwt's `Return`).
    Fulfilled(T),
    /// Rejected with this error (Lwt's `Fail`).
    Rejected(Error),
    /// Not resolved yet (Lwt's `Sleep`).
    Pending,
}

impl<T: PartialEq> PartialEq for State<T> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (State::Fulfilled(a), State::Fulfilled(b)) => a == b,
            (State::Rejected(a), State::Rejected(b)) => a.same(b) || a.to_string() == b.to_string(),
            (State::Pending, State::Pending) => true,
            _ => false,
        }
    }
}

/// A promise already fulfilled with `v` (Lwt's `return`; `return` is a Rust
/// keyword).
///
/// ```
/// assert_eq!(lwt::resolved(3).state(), lwt::State::Fulfilled(3));
/// ```
pub fn resolved<T: 'static>(v: T) -> Promise<T> {
    Promise(Repr::Fulfilled(v))
}

/// A promise already rejected with `e` (Lwt's `fail`).
pub fn rejected<T: 'static>(e: Error) -> Promise<T> {
    Promise(Repr::Rejected(e))
}

/// A promise rejected with a failure carrying `msg` (Lwt's `fail_with`).
pub fn fail_with<T: 'static>(msg: impl Into<String>) -> Promise<T> {
    rejected(Error::failure(msg))
}

/// A promise rejected with an invalid-argument error (Lwt's `fail_invalid_arg`).
pub fn fail_invalid_arg<T: 'static>(msg: impl Into<String>) -> Promise<T> {
    rejected(Error::invalid_argument(msg))
}

/// A promise resolved with `r`: fulfilled on `Ok`, rejected on `Err` (Lwt's `of_result`).
pub fn of_result<T: 'static>(r: Result<T, Error>) -> Promise<T> {
    match r {
        Ok(v) => resolved(v),
        Err(e) => rejected(e),
    }
}

impl<T: 'static> Promise<T> {
    /// A promise already fulfilled with `v`; see [`resolved`].
    pub fn resolved(v: T) -> Promise<T> {
        resolved(v)
    }

    /// A promise already rejected with `e`; see [`rejected`].
    pub fn rejected(e: Error) -> Promise<T> {
        rejected(e)
    }

    pub(crate) fn from_node(n: NodeRef<T>) -> Promise<T> {
        Promise(Repr::Node(n))
    }

    /// The node behind a pending promise, for cancellation graphs.
    pub(crate) fn cancel_target(&self) -> Option<super::rc::AnyNode> {
        match &self.0 {
            Repr::Node(n) => Some(n.erase()),
            _ => None,
        }
    }

    /// The address of this handle's node, if it has one: to recognise a
    /// promise made elsewhere (not the root: a proxy has its own address).
    pub(crate) fn node_addr(&self) -> Option<usize> {
        match &self.0 {
            Repr::Node(n) => Some(n.addr().addr()),
            _ => None,
        }
    }

    /// The root node, if this promise has one.
    pub(crate) fn root(&self) -> Option<NodeRef<T>> {
        match &self.0 {
            Repr::Node(n) => Some(n.root()),
            _ => None,
        }
    }

    /// Calls `f` with the outcome once this promise resolves, and becomes
    /// the promise `f` returns. The general form of [`Promise::bind`] and
    /// [`Promise::catch`]: `f` sees fulfilment and rejection alike.
    ///
    /// ```
    /// let p = lwt::fail_with::<u32>("no").then(|r| lwt::resolved(r.is_err()));
    /// assert_eq!(p.state(), lwt::State::Fulfilled(true));
    /// ```
    #[inline(always)]
    pub fn then<U: 'static>(self, f: impl FnOnce(Result<T, Error>) -> Promise<U> + 'static) -> Promise<U> {
        match self.0 {
            Repr::Fulfilled(v) => call_now(f, Ok(v)),
            Repr::Rejected(e) => call_now(f, Err(e)),
            Repr::Node(n) => Self::then_node(n, f),
        }
    }

    /// [`Promise::then`] on a node, out of line.
    ///
    /// Why `then` (and `bind`, `map`, `call_now`) are split and forced
    /// inline: a function that returns a resolved promise writes it into
    /// its caller's stack slot a word at a time, and an out-of-line `then`
    /// read it back at once as a wider copy (to move the value into its
    /// closure). A load that spans several recent stores cannot be forwarded
    /// from them, and waits for them to reach the cache: on `lines`, where
    /// every `read_line` returns a resolved `Promise<Option<String>>`, that
    /// one stall was a third of `bind`'s time, 4–5% of the run. Inlined,
    /// the match on the promise reads the fields one by one and the stall is
    /// gone; the resolved path is small (a depth check, the call, the panic
    /// guard), and the pending path stays here, one copy per type.
    fn then_node<U: 'static>(n: NodeRef<T>, f: impl FnOnce(Result<T, Error>) -> Promise<U> + 'static) -> Promise<U> {
        let root = n.into_root();
        if !root.is_pending() {
            let outcome = root.take_outcome();
            return call_now(f, outcome);
        }
        let p3 = Node::<U>::alloc(HowToCancel::one(root.erase()));
        // Frees the chain hanging from `p3` if this callback is
        // dropped unrun (see `Orphan`).
        let out = Orphan::new(p3.clone());
        let snap = storage::capture();
        root.add_callback(Callback::regular(move |node: &NodeRef<T>| {
            let out = out.take();
            let outcome = node.take_outcome();
            let p2 = storage::with_captured(snap, || protect(move || f(outcome)));
            become_(out, p2);
        }));
        Promise(Repr::Node(p3))
    }

    /// Waits for this promise, then calls `f` with its value and becomes the
    /// promise `f` returns (Lwt's `bind`, `>>=`, `let*`). A rejection skips
    /// `f` and passes through.
    ///
    /// On a resolved promise, `f` runs at once, nested in the caller (42
    /// levels deep at most; deeper calls are queued, see the README). So in
    /// a recursive loop over promises that are often resolved already (a
    /// buffered `read_line`), what `f` still owns when it recurses stays
    /// alive for every nested level: keep what the loop needs (a length, a
    /// parsed number) and let the rest go before the recursive call.
    ///
    /// ```
    /// let p = lwt::resolved(2).bind(|x| lwt::resolved(x + 1));
    /// assert_eq!(p.state(), lwt::State::Fulfilled(3));
    /// ```
    #[inline(always)]
    pub fn bind<U: 'static>(self, f: impl FnOnce(T) -> Promise<U> + 'static) -> Promise<U> {
        match self.0 {
            Repr::Rejected(e) => rejected(e),
            _ => self.then(move |r| match r {
                Ok(v) => f(v),
                Err(e) => rejected(e),
            }),
        }
    }

    /// Waits for this promise and applies `f` to its value (Lwt's `map`, `>|=`).
    ///
    /// ```
    /// assert_eq!(lwt::resolved(2).map(|x| x * 10).state(), lwt::State::Fulfilled(20));
    /// ```
    #[inline]
    pub fn map<U: 'static>(self, f: impl FnOnce(T) -> U + 'static) -> Promise<U> {
        match self.0 {
            Repr::Rejected(e) => rejected(e),
            _ => self.then(move |r| match r {
                Ok(v) => resolved(f(v)),
                Err(e) => rejected(e),
            }),
        }
    }

    /// Handles a rejection: calls `h` with the error and becomes `h`'s
    /// promise; a fulfilment passes through (Lwt's `catch`, as a method).
    ///
    /// ```
    /// let p = lwt::fail_with::<u32>("boom").catch(|_| lwt::resolved(0));
    /// assert_eq!(p.state(), lwt::State::Fulfilled(0));
    /// ```
    pub fn catch(self, h: impl FnOnce(Error) -> Promise<T> + 'static) -> Promise<T> {
        match self.0 {
            Repr::Fulfilled(v) => resolved(v),
            _ => self.then(move |r| match r {
                Ok(v) => resolved(v),
                Err(e) => h(e),
            }),
        }
    }

    /// Calls `f` on fulfilment or `h` on rejection (Lwt's `try_bind`, as a method).
    pub fn try_bind<U: 'static>(
        self,
        f: impl FnOnce(T) -> Promise<U> + 'static,
        h: impl FnOnce(Error) -> Promise<U> + 'static,
    ) -> Promise<U> {
        self.then(move |r| match r {
            Ok(v) => f(v),
            Err(e) => h(e),
        })
    }

    /// Runs `cleanup` once this promise resolves, either way, then resolves
    /// like this promise — unless the cleanup's promise rejects, whose error
    /// then wins (Lwt's `finalize`, as a method). Runs on cancellation too.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let ran = Rc::new(Cell::new(false));
    /// let r2 = ran.clone();
    /// let p = lwt::fail_with::<()>("x").finalize(move || { r2.set(true); lwt::resolved(()) });
    /// assert!(ran.get() && p.is_rejected());
    /// ```
    pub fn finalize(self, cleanup: impl FnOnce() -> Promise<()> + 'static) -> Promise<T> {
        self.then(move |r| {
            cleanup().then(move |c| match c {
                Ok(()) => of_result(r),
                Err(e) => rejected(e),
            })
        })
    }

    /// Calls `f` with the value when this promise is fulfilled (Lwt's
    /// `on_success`). A panic in `f` goes to the async exception hook.
    pub fn on_success(&self, f: impl FnOnce(&T) + 'static) {
        match &self.0 {
            Repr::Fulfilled(v) => hook::guarded(|| f(v)),
            Repr::Rejected(_) => {}
            Repr::Node(n) => {
                let snap = storage::capture();
                n.root().add_callback(Callback::regular(move |node: &NodeRef<T>| {
                    if let View::Fulfilled(v) = node.state().view() {
                        storage::with_captured(snap, || hook::guarded(|| f(v)));
                    }
                }));
            }
        }
    }

    /// Calls `f` with the error when this promise is rejected, canceled
    /// included (Lwt's `on_failure`). A panic in `f` goes to the hook.
    pub fn on_failure(&self, f: impl FnOnce(&Error) + 'static) {
        self.on_any(|_| {}, f)
    }

    /// Calls `f` when this promise resolves, either way (Lwt's `on_termination`).
    pub fn on_termination(&self, f: impl FnOnce() + 'static) {
        match &self.0 {
            Repr::Fulfilled(_) | Repr::Rejected(_) => hook::guarded(f),
            Repr::Node(n) => {
                let snap = storage::capture();
                n.root().add_callback(Callback::regular(move |_: &NodeRef<T>| {
                    storage::with_captured(snap, || hook::guarded(f));
                }));
            }
        }
    }

    /// [`on_termination`](Self::on_termination) for the runtime's own
    /// bookkeeping (releasing a lock, a flush after the turn): `f` runs
    /// right after this promise resolves, before callbacks attached later.
    /// Cheaper than `then`, which makes a promise for the result and later
    /// resolves it; and no keys are captured, as `f` reads none. `f` must
    /// not panic.
    pub(crate) fn when_done(&self, f: impl FnOnce() + 'static) {
        match &self.0 {
            Repr::Fulfilled(_) | Repr::Rejected(_) => f(),
            Repr::Node(n) => n.root().add_callback(Callback::regular(move |_: &NodeRef<T>| f())),
        }
    }

    /// Calls `f` on fulfilment or `g` on rejection (Lwt's `on_any`).
    pub fn on_any(&self, f: impl FnOnce(&T) + 'static, g: impl FnOnce(&Error) + 'static) {
        match &self.0 {
            Repr::Fulfilled(v) => hook::guarded(|| f(v)),
            Repr::Rejected(e) => hook::guarded(|| g(e)),
            Repr::Node(n) => {
                let snap = storage::capture();
                n.root().add_callback(Callback::regular(move |node: &NodeRef<T>| {
                    // Errors are cheap to clone; values are looked at in place.
                    let err = match node.state().view() {
                        View::Fulfilled(v) => {
                            storage::with_captured(snap, || hook::guarded(|| f(v)));
                            return;
                        }
                        View::Rejected(e) => e.clone(),
                        _ => return,
                    };
                    storage::with_captured(snap, || hook::guarded(|| g(&err)));
                }));
            }
        }
    }

    /// Calls `f` if this promise ends canceled, by any route (Lwt's
    /// `on_cancel`). Cancel callbacks run before all other callbacks of the
    /// promise; on an already-canceled promise `f` runs at once.
    pub fn on_cancel(&self, f: impl FnOnce() + 'static) {
        match &self.0 {
            Repr::Rejected(e) if e.is_canceled() => hook::guarded(f),
            Repr::Fulfilled(_) | Repr::Rejected(_) => {}
            Repr::Node(n) => {
                let snap = storage::capture();
                n.root().add_cancel_callback(move || storage::with_captured(snap, f));
            }
        }
    }

    /// Cancels this promise (Lwt's `cancel`): walks back through the promises
    /// it waits on to the cancelable ones ([`task`](crate::task)s), rejects
    /// them with [`Error::canceled`], then runs their callbacks. Does nothing
    /// to a resolved promise or one that only waits on [`wait`](crate::wait)
    /// promises.
    ///
    /// ```
    /// let (p, _r) = lwt::task::<u32>();
    /// let q = p.map(|x| x + 1);
    /// q.cancel();
    /// assert!(q.is_canceled());
    /// ```
    pub fn cancel(&self) {
        if let Repr::Node(n) = &self.0 {
            cancel::cancel_erased(n.erase());
        }
    }

    /// Whether this promise is still pending (Lwt's `is_sleeping`).
    pub fn is_pending(&self) -> bool {
        match &self.0 {
            Repr::Node(n) => n.root().is_pending(),
            _ => false,
        }
    }

    /// Whether this promise is fulfilled.
    pub fn is_fulfilled(&self) -> bool {
        match &self.0 {
            Repr::Fulfilled(_) => true,
            Repr::Rejected(_) => false,
            Repr::Node(n) => matches!(n.root().tag(), FULFILLED | TAKEN),
        }
    }

    /// Whether this promise is rejected (canceled included).
    pub fn is_rejected(&self) -> bool {
        self.error().is_some()
    }

    /// Whether this promise was canceled (rejected with [`Error::canceled`]).
    pub fn is_canceled(&self) -> bool {
        self.error().is_some_and(|e| e.is_canceled())
    }

    /// The error, if this promise is rejected.
    pub fn error(&self) -> Option<Error> {
        match &self.0 {
            Repr::Rejected(e) => Some(e.clone()),
            Repr::Fulfilled(_) => None,
            Repr::Node(n) => match n.root().state().view() {
                View::Rejected(e) => Some(e.clone()),
                _ => None,
            },
        }
    }

    /// Calls `f` with a view of the state, without cloning the value.
    ///
    /// A value already moved out to its one consumer (a promise awaited
    /// through `&mut`, then looked at) cannot be shown: the state then reads
    /// as rejected with an invalid-argument error, while
    /// [`is_fulfilled`](Self::is_fulfilled) still says it was fulfilled.
    pub fn with_state<R>(&self, f: impl FnOnce(State<&T>) -> R) -> R {
        match &self.0 {
            Repr::Fulfilled(v) => f(State::Fulfilled(v)),
            Repr::Rejected(e) => f(State::Rejected(e.clone())),
            Repr::Node(n) => {
                let root = n.root();
                let st = root.state();
                match st.view() {
                    View::Fulfilled(v) => f(State::Fulfilled(v)),
                    View::Rejected(e) => {
                        let e = e.clone();
                        drop(st);
                        f(State::Rejected(e))
                    }
                    View::Taken => {
                        drop(st);
                        f(State::Rejected(Error::invalid_argument(
                            "the promise's value was already taken by its consumer",
                        )))
                    }
                    _ => {
                        // Release the node before calling `f`: a closure that
                        // resolves this promise or attaches a callback to it
                        // must not find it borrowed (which made `wakeup` claim
                        // "already resolved" and `on_success` panic).
                        drop(st);
                        f(State::Pending)
                    }
                }
            }
        }
    }
}

impl<T: Clone + 'static> Promise<T> {
    /// The current state, with a copy of the value (Lwt's `state`).
    ///
    /// ```
    /// let (p, r) = lwt::wait::<&str>();
    /// assert_eq!(p.state(), lwt::State::Pending);
    /// r.wakeup("done");
    /// assert_eq!(p.state(), lwt::State::Fulfilled("done"));
    /// ```
    pub fn state(&self) -> State<T> {
        self.with_state(|s| match s {
            State::Fulfilled(v) => State::Fulfilled(v.clone()),
            State::Rejected(e) => State::Rejected(e),
            State::Pending => State::Pending,
        })
    }
}

impl<T: Clone + 'static> Clone for Promise<T> {
    /// Another handle on the same promise. From now on its consumers each
    /// receive a clone of the value.
    fn clone(&self) -> Self {
        match &self.0 {
            Repr::Fulfilled(v) => Promise(Repr::Fulfilled(v.clone())),
            Repr::Rejected(e) => Promise(Repr::Rejected(e.clone())),
            Repr::Node(n) => {
                n.set_cloner();
                n.root().set_cloner();
                Promise(Repr::Node(n.clone()))
            }
        }
    }
}

impl<T: 'static> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_state(|s| match s {
            State::Fulfilled(_) => f.write_str("Promise(fulfilled)"),
            State::Rejected(e) => write!(f, "Promise(rejected: {e})"),
            State::Pending => f.write_str("Promise(pending)"),
        })
    }
}

/// Calls `f(a)` now if the stack allows; past the nesting limit, returns a
/// pending promise and calls it when the outermost resolution unwinds.
/// Inlined at every resolved `then` (see [`Promise::then_node`]); the
/// deferral is out of line.
///
/// `f` and its argument come separately, rather than as one closure, so
/// that the three places that call it (`then` on a fulfilled or a rejected
/// promise, and on a resolved node) share one copy of [`call_later`] and of
/// its job per `f`: that deferral is rare, but was compiled for every
/// closure of every `then`, a tenth of the runtime's code.
#[inline(always)]
pub(crate) fn call_now<A: 'static, U: 'static>(f: impl FnOnce(A) -> Promise<U> + 'static, a: A) -> Promise<U> {
    match context::enter() {
        Some(depth) => {
            // `protect` catches panics, so nothing unwinds past `leave`.
            let p = protect(move || f(a));
            context::leave(depth);
            p
        }
        None => call_later(f, a),
    }
}

/// [`call_now`] past the nesting limit: a pending promise, and a job that
/// calls `f(a)` when the outermost resolution unwinds.
#[inline(never)]
fn call_later<A: 'static, U: 'static>(f: impl FnOnce(A) -> Promise<U> + 'static, a: A) -> Promise<U> {
    let p3 = pending_node::<U>();
    let out = p3.clone();
    context::defer(context::Job::new(move || settle_later(out, protect(move || f(a)))));
    Promise(Repr::Node(p3))
}

/// A fresh pending node that nothing cancels, out of line: one copy per
/// type for the rare paths, where [`Node::alloc`]'s inlined fast path
/// would only add code.
#[inline(never)]
fn pending_node<U: 'static>() -> NodeRef<U> {
    Node::<U>::alloc(HowToCancel::not())
}

/// [`become_`] out of line, one copy per type, for deferred calls.
#[inline(never)]
fn settle_later<U: 'static>(out: NodeRef<U>, p2: Promise<U>) {
    become_(out, p2)
}

/// Makes the bind promise `out` resolve like `p2`: at once if `p2` is
/// resolved, otherwise by folding `p2` into `out` (see `node.rs`).
#[inline]
pub(crate) fn become_<U: 'static>(out: NodeRef<U>, p2: Promise<U>) {
    // The callback may have made `out` a proxy meanwhile: follow it.
    let outer = out.into_root();
    match p2.0 {
        Repr::Fulfilled(v) => {
            let _ = outer.resolve(Ok(v));
        }
        Repr::Rejected(e) => {
            let _ = outer.resolve(Err(e));
        }
        Repr::Node(n2) => {
            let inner = n2.into_root();
            if NodeRef::ptr_eq(&inner, &outer) {
                // The callback returned the bind's own promise: it stays
                // pending forever, harmlessly (Lwt's "bind: cycle").
                return;
            }
            if inner.is_pending() {
                if outer.is_pending() {
                    outer.absorb(&inner);
                }
            } else {
                let outcome = inner.take_outcome();
                let _ = outer.resolve(outcome);
            }
        }
    }
}

/// Runs `f` and handles a rejection (or panic) with `h` (Lwt's `catch`).
///
/// ```
/// let p = lwt::catch(|| -> lwt::Promise<u8> { panic!("oops") }, |e| lwt::resolved(e.message().len() as u8));
/// assert_eq!(p.state(), lwt::State::Fulfilled(4));
/// ```
pub fn catch<T: 'static>(f: impl FnOnce() -> Promise<T>, h: impl FnOnce(Error) -> Promise<T> + 'static) -> Promise<T> {
    protect(f).catch(h)
}

/// Runs `f`, then `g` on fulfilment or `h` on rejection (Lwt's `try_bind`).
pub fn try_bind<T: 'static, U: 'static>(
    f: impl FnOnce() -> Promise<T>,
    g: impl FnOnce(T) -> Promise<U> + 'static,
    h: impl FnOnce(Error) -> Promise<U> + 'static,
) -> Promise<U> {
    protect(f).try_bind(g, h)
}

/// Runs `f`, then `cleanup` whatever happened (Lwt's `finalize`).
pub fn finalize<T: 'static>(
    f: impl FnOnce() -> Promise<T>,
    cleanup: impl FnOnce() -> Promise<()> + 'static,
) -> Promise<T> {
    protect(f).finalize(cleanup)
}

/// Calls `f` and wraps its result: fulfilled with its value, or rejected if
/// it panics (Lwt's `wrap`).
pub fn wrap<T: 'static>(f: impl FnOnce() -> T) -> Promise<T> {
    match hook::protect_value(f) {
        Ok(v) => resolved(v),
        Err(e) => rejected(e),
    }
}

/// Calls `f(x)`; a panic becomes a rejected promise (Lwt's `apply`).
pub fn apply<A, T: 'static>(f: impl FnOnce(A) -> Promise<T>, x: A) -> Promise<T> {
    protect(move || f(x))
}

/// Lifts a one-argument function into one returning a promise (Lwt's `wrap1`).
pub fn wrap1<A, T: 'static>(f: impl Fn(A) -> T) -> impl Fn(A) -> Promise<T> {
    move |a| wrap(|| f(a))
}

/// Lifts a two-argument function into one returning a promise (Lwt's `wrap2`).
pub fn wrap2<A, B, T: 'static>(f: impl Fn(A, B) -> T) -> impl Fn(A, B) -> Promise<T> {
    move |a, b| wrap(|| f(a, b))
}

/// Lifts a three-argument function into one returning a promise (Lwt's `wrap3`).
pub fn wrap3<A, B, C, T: 'static>(f: impl Fn(A, B, C) -> T) -> impl Fn(A, B, C) -> Promise<T> {
    move |a, b, c| wrap(|| f(a, b, c))
}
