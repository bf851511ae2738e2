//! The bridges between events/signals and promises: Lwt_react's own
//! functions.
//!
//! Two rules shape every bridge:
//! - A promise callback may run inside an update step (when user code in a
//!   step resolves a promise). Sending to a primitive there is an error, so
//!   bridges never send directly: they queue the occurrence to be sent as
//!   soon as the step is over ([`WeakSender::send_later`]). An occurrence fed
//!   by a promise therefore always happens in a step of its own.
//! - A bridge's output must not be kept alive by the promises it waits on
//!   (a forgotten output would otherwise live as long as a never-resolving
//!   promise). Callbacks hold the output weakly; the output holds its helper
//!   nodes.
//!
//! The `_s` forms run the user's function on one occurrence at a time, in
//! order: the next call waits until the previous promise is resolved
//! (Lwt_react uses an `Lwt_mutex` for this), so results come out in
//! occurrence order. The `_p` forms call the function at once for every
//! occurrence and emit the results as their promises resolve, **in whatever
//! order that is**.
//!
//! As in Lwt_react, a promise that is rejected produces no occurrence (the
//! error is dropped); a *panic* in the user's function is a bug and goes to
//! the async exception hook.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use super::event::{self, primitive, Event, WeakSender};
use super::graph::{self, panic_text};
use super::signal::{self, const_signal, EqFn, SRepr, Signal};
use crate::core::{pause, rejected, resolved, task, wait, Error, Promise, Resolver, State};
use crate::stream::{self, Stream};

/// Calls the user's `f`; a panic goes to the async exception hook and
/// becomes a rejected promise.
fn call_user<P: 'static>(f: impl FnOnce() -> Promise<P>) -> Promise<P> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(p) => p,
        Err(payload) => {
            let e = Error::panic(panic_text(&*payload));
            graph::report(e.clone());
            rejected(e)
        }
    }
}

type Job = Box<dyn FnOnce() -> Promise<()>>;

/// Runs jobs one at a time, in the order given: each job starts once the
/// previous job's promise is resolved (either way).
struct Serial {
    busy: Cell<bool>,
    queue: RefCell<VecDeque<Job>>,
}

impl Serial {
    fn new() -> Rc<Serial> {
        Rc::new(Serial {
            busy: Cell::new(false),
            queue: RefCell::new(VecDeque::new()),
        })
    }

    fn push(self: &Rc<Self>, job: Job) {
        self.queue.borrow_mut().push_back(job);
        if !self.busy.get() {
            self.busy.set(true);
            self.pump();
        }
    }

    fn pump(self: &Rc<Self>) {
        // A loop, not a recursion: a long queue of jobs whose promises are
        // already resolved must not grow the stack.
        loop {
            let job = self.queue.borrow_mut().pop_front();
            let Some(job) = job else {
                self.busy.set(false);
                return;
            };
            let p = job();
            if p.is_pending() {
                let me = self.clone();
                p.on_termination(move || me.pump());
                return;
            }
        }
    }
}

/// A fresh primitive event fed by promises, and its weak sender.
fn fed<U: 'static>() -> (Event<U>, WeakSender<U>) {
    let (out, tx) = primitive::<U>();
    let w = tx.downgrade();
    (out, w)
}

/// Ties `helper` (which reads the source) to the lifetime of `out`.
fn anchor<U: 'static, H: 'static>(out: &Event<U>, helper: Event<H>) {
    if let Some(n) = out.node() {
        n.h.anchor(Box::new(helper));
    }
}

/// Sends the value of `p` on `w` once it is fulfilled; a rejection sends
/// nothing.
fn forward<U: 'static>(p: Promise<U>, w: WeakSender<U>) -> Promise<()> {
    p.map(move |v| w.send_later(v))
}

/// The rate limiter shared by `Event::limit` and `Signal::limit`.
struct Limiter<T: 'static> {
    f: Box<dyn Fn() -> Promise<()>>,
    /// The promise that must resolve before the next occurrence passes.
    gate: RefCell<Option<Promise<()>>>,
    /// The latest occurrence held back by the gate.
    held: RefCell<Option<T>>,
    /// Whether a release is registered on the current gate.
    waiting: Cell<bool>,
    out: WeakSender<T>,
}

impl<T: 'static> Limiter<T> {
    fn gate_pending(&self) -> bool {
        self.gate.borrow().as_ref().is_some_and(Promise::is_pending)
    }

    fn close_gate(&self) {
        let g = call_user(|| (self.f)());
        *self.gate.borrow_mut() = Some(g);
    }

    /// An occurrence arrives: pass it (and close the gate) or hold it.
    fn offer(self: &Rc<Self>, x: T) -> Option<T> {
        if !self.gate_pending() {
            self.close_gate();
            return Some(x);
        }
        // Only the latest held occurrence is kept.
        *self.held.borrow_mut() = Some(x);
        if !self.waiting.get() {
            self.waiting.set(true);
            let me = self.clone();
            // The gate is pending (checked above): registering runs nothing
            // now, so holding the borrow is fine.
            if let Some(g) = self.gate.borrow().as_ref() {
                g.on_termination(move || me.release());
            }
        }
        None
    }

    /// The gate opened: let the held occurrence through and close it again.
    fn release(self: &Rc<Self>) {
        self.waiting.set(false);
        if self.gate_pending() {
            // Another occurrence passed first and closed a new gate: what
            // was held is older than what passed; drop it (as Lwt_react).
            self.held.borrow_mut().take();
            return;
        }
        let x = self.held.borrow_mut().take();
        if let Some(x) = x {
            self.close_gate();
            self.out.send_later(x);
        }
    }
}

fn limit_event<T: Clone + 'static>(
    src: &Event<T>,
    f: impl Fn() -> Promise<()> + 'static,
    close_at_start: bool,
) -> Event<T> {
    let (later, w) = fed::<T>();
    let lim = Rc::new(Limiter {
        f: Box::new(f),
        gate: RefCell::new(None),
        held: RefCell::new(None),
        waiting: Cell::new(false),
        out: w,
    });
    if close_at_start {
        lim.close_gate();
    }
    let direct = src.filter_map(move |x| lim.offer(x.clone()));
    event::select([direct, later])
}

impl<T: 'static> Event<T> {
    /// A promise of the next occurrence (Lwt_react's `E.next`).
    ///
    /// The promise is resolved right *after* the step in which the event
    /// occurs, not inside it (a deliberate difference: its callbacks may then
    /// send to primitives, and calling `next` again from them waits for the
    /// following occurrence). To process every occurrence, prefer
    /// [`Event::to_stream`] or [`Event::map_s`]. Canceling the promise stops
    /// listening. While it is pending, the promise keeps the event alive.
    ///
    /// ```
    /// use lwt::react::e;
    /// let (ev, send) = e::create::<u8>();
    /// let p = ev.next();
    /// assert!(p.is_pending());
    /// send.send(7);
    /// assert_eq!(p.state(), lwt::State::Fulfilled(7));
    /// ```
    pub fn next(&self) -> Promise<T>
    where
        T: Clone,
    {
        let (p, r) = task::<T>();
        if self.is_never() {
            return p;
        }
        let mut r = Some(r);
        let listener = self.once().map(move |x| {
            if let Some(r) = r.take() {
                let v = x.clone();
                graph::after_step(move || {
                    // Canceled meanwhile: nothing to do.
                    let _ = r.try_wakeup_result(Ok(v));
                });
            }
        });
        // The pending promise holds the listener; once it is resolved or
        // canceled, the listener is dropped and freed.
        p.on_termination(move || drop(listener));
        p
    }

    /// This event, at most one occurrence at a time per call of `f`
    /// (Lwt_react's `E.limit`).
    ///
    /// An occurrence passes at once when no limiter is pending, and starts
    /// one: `f()`. While it is pending, occurrences are held back and only
    /// the latest is kept; it passes when the limiter resolves (either way)
    /// and starts the next one. Typically `f` is
    /// `|| lwt::unix::sleep(Duration::from_secs(1))`.
    ///
    /// ```
    /// use lwt::react::e;
    /// use std::{cell::RefCell, rc::Rc};
    /// let (ev, send) = e::create::<i32>();
    /// let gates = Rc::new(RefCell::new(Vec::new()));
    /// let g = gates.clone();
    /// let limited = ev.limit(move || {
    ///     let (p, r) = lwt::wait();
    ///     g.borrow_mut().push(r);
    ///     p
    /// });
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let s = seen.clone();
    /// let _log = limited.map(move |x| s.borrow_mut().push(*x));
    /// send.send(1); // passes, closes the gate
    /// send.send(2); // held
    /// send.send(3); // replaces 2
    /// let first = gates.borrow()[0].clone(); // releasing starts a new limiter
    /// first.wakeup(());
    /// assert_eq!(*seen.borrow(), vec![1, 3]);
    /// ```
    pub fn limit(&self, f: impl Fn() -> Promise<()> + 'static) -> Event<T>
    where
        T: Clone,
    {
        if self.is_never() {
            return event::never();
        }
        limit_event(self, f, false)
    }

    /// Occurs with the results of `f` on this event's occurrences, one call
    /// at a time and in occurrence order (Lwt_react's `E.map_s`).
    ///
    /// ```
    /// use lwt::react::e;
    /// let (ev, send) = e::create::<u32>();
    /// let doubled = ev.map_s(|x| lwt::resolved(x * 2));
    /// let next = doubled.next();
    /// send.send(21);
    /// assert_eq!(next.state(), lwt::State::Fulfilled(42));
    /// ```
    pub fn map_s<U: 'static>(&self, f: impl Fn(&T) -> Promise<U> + 'static) -> Event<U>
    where
        T: Clone,
    {
        let f = Rc::new(f);
        self.serial_bridge(move |x, w| {
            let f = f.clone();
            Box::new(move || forward(call_user(|| f(&x)), w))
        })
    }

    /// Occurs with the results of `f` on this event's occurrences, all calls
    /// started at once; results come out as their promises resolve, **not
    /// necessarily in occurrence order** (Lwt_react's `E.map_p`).
    pub fn map_p<U: 'static>(&self, f: impl Fn(&T) -> Promise<U> + 'static) -> Event<U> {
        self.parallel_bridge(move |x, w| {
            drop(forward(call_user(|| f(x)), w));
        })
    }

    /// The occurrences for which `f` resolves to `true`, one call at a time,
    /// in order (Lwt_react's `E.filter_s`).
    pub fn filter_s(&self, f: impl Fn(&T) -> Promise<bool> + 'static) -> Event<T>
    where
        T: Clone,
    {
        let f = Rc::new(f);
        self.serial_bridge(move |x, w| {
            let f = f.clone();
            Box::new(move || {
                call_user(|| f(&x)).map(move |keep| {
                    if keep {
                        w.send_later(x);
                    }
                })
            })
        })
    }

    /// The occurrences for which `f` resolves to `true`, all calls at once;
    /// **may reorder** (Lwt_react's `E.filter_p`).
    pub fn filter_p(&self, f: impl Fn(&T) -> Promise<bool> + 'static) -> Event<T>
    where
        T: Clone,
    {
        self.parallel_bridge(move |x, w| {
            let x2 = x.clone();
            drop(call_user(|| f(x)).map(move |keep| {
                if keep {
                    w.send_later(x2);
                }
            }));
        })
    }

    /// The `Some` results of `f`, one call at a time, in order (Lwt_react's
    /// `E.fmap_s`).
    pub fn filter_map_s<U: 'static>(&self, f: impl Fn(&T) -> Promise<Option<U>> + 'static) -> Event<U>
    where
        T: Clone,
    {
        let f = Rc::new(f);
        self.serial_bridge(move |x, w| {
            let f = f.clone();
            Box::new(move || {
                call_user(|| f(&x)).map(move |o| {
                    if let Some(v) = o {
                        w.send_later(v);
                    }
                })
            })
        })
    }

    /// The `Some` results of `f`, all calls at once; **may reorder**
    /// (Lwt_react's `E.fmap_p`).
    pub fn filter_map_p<U: 'static>(&self, f: impl Fn(&T) -> Promise<Option<U>> + 'static) -> Event<U> {
        self.parallel_bridge(move |x, w| {
            drop(call_user(|| f(x)).map(move |o| {
                if let Some(v) = o {
                    w.send_later(v);
                }
            }));
        })
    }

    /// On every occurrence but the first, the result of `f(current,
    /// previous)`, one call at a time, in order (Lwt_react's `E.diff_s`).
    pub fn diff_s<U: 'static>(&self, f: impl Fn(&T, &T) -> Promise<U> + 'static) -> Event<U>
    where
        T: Clone,
    {
        let f = Rc::new(f);
        let mut last: Option<T> = None;
        let serial = Serial::new();
        let (out, w) = fed::<U>();
        let iter = self.filter_map(move |x: &T| {
            let prev = last.replace(x.clone());
            if let Some(prev) = prev {
                let (f, w, x) = (f.clone(), w.clone(), x.clone());
                serial.push(Box::new(move || {
                    if !w.alive() {
                        return resolved(());
                    }
                    forward(call_user(|| f(&x, &prev)), w)
                }));
            }
            None::<()>
        });
        anchor(&out, iter);
        out
    }

    /// The running accumulation of the occurrences with the promise-returning
    /// `f`, from `init`, one call at a time, in order (Lwt_react's
    /// `E.fold_s`).
    pub fn fold_s<A: Clone + 'static>(&self, init: A, f: impl Fn(&A, &T) -> Promise<A> + 'static) -> Event<A>
    where
        T: Clone,
    {
        let f = Rc::new(f);
        let acc = Rc::new(RefCell::new(init));
        self.serial_bridge(move |x, w| {
            let (f, acc) = (f.clone(), acc.clone());
            Box::new(move || {
                let cur = acc.borrow().clone();
                call_user(|| f(&cur, &x)).map(move |v| {
                    *acc.borrow_mut() = v.clone();
                    w.send_later(v);
                })
            })
        })
    }

    /// For each occurrence `x`, a job `mk(x, out)` run in order, one at a
    /// time.
    fn serial_bridge<U: 'static>(&self, mut mk: impl FnMut(T, WeakSender<U>) -> Job + 'static) -> Event<U>
    where
        T: Clone,
    {
        if self.is_never() {
            return event::never();
        }
        let serial = Serial::new();
        let (out, w) = fed::<U>();
        let iter = self.filter_map(move |x: &T| {
            let job = mk(x.clone(), w.clone());
            let w2 = w.clone();
            serial.push(Box::new(move || {
                // The output is gone: do not call the user's function for
                // nobody.
                if !w2.alive() {
                    return resolved(());
                }
                job()
            }));
            None::<()>
        });
        anchor(&out, iter);
        out
    }

    /// For each occurrence `x`, `start(x, out)` at once.
    fn parallel_bridge<U: 'static>(&self, mut start: impl FnMut(&T, WeakSender<U>) + 'static) -> Event<U> {
        if self.is_never() {
            return event::never();
        }
        let (out, w) = fed::<U>();
        let iter = self.filter_map(move |x: &T| {
            start(x, w.clone());
            None::<()>
        });
        anchor(&out, iter);
        out
    }
}

impl<U: Clone + 'static> Event<Promise<U>> {
    /// The values of the promises that occur, in occurrence order: each
    /// waits for the previous one (Lwt_react's `E.run_s`).
    pub fn run_s(&self) -> Event<U> {
        self.serial_bridge(|p: Promise<U>, w| Box::new(move || forward(p, w)))
    }

    /// The values of the promises that occur, as each resolves; **may
    /// reorder** (Lwt_react's `E.run_p`).
    ///
    /// ```
    /// use lwt::react::e;
    /// use std::{cell::RefCell, rc::Rc};
    /// let (ev, send) = e::create::<lwt::Promise<u8>>();
    /// let values = ev.run_p();
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let s = seen.clone();
    /// let _log = values.map(move |v| s.borrow_mut().push(*v));
    /// let (p1, r1) = lwt::wait();
    /// let (p2, r2) = lwt::wait();
    /// send.send(p1);
    /// send.send(p2);
    /// r2.wakeup(2);
    /// r1.wakeup(1);
    /// assert_eq!(*seen.borrow(), vec![2, 1]);
    /// ```
    pub fn run_p(&self) -> Event<U> {
        self.parallel_bridge(|p: &Promise<U>, w| {
            drop(forward(p.clone(), w));
        })
    }
}

/// An event that occurs with each value of the promises `f()` returns, one
/// after the other (Lwt_react's `E.from`).
///
/// The first call happens after a pause (the next turn of the event loop),
/// so dependents can be attached first. A rejected promise (or a panic)
/// stops the event for good. Dropping the event cancels the pending
/// promise. Unlike Lwt_react, when `f` returns an already resolved promise
/// the next call waits for a pause, so an always-ready `f` cannot starve
/// the event loop.
///
/// ```
/// use lwt::react::e;
/// use std::{cell::Cell, rc::Rc};
/// let n = Rc::new(Cell::new(0));
/// let n2 = n.clone();
/// let ticks = e::from(move || {
///     n2.set(n2.get() + 1);
///     if n2.get() <= 2 { lwt::resolved(n2.get()) } else { lwt::fail_with("done") }
/// });
/// let first = ticks.next();
/// lwt::wakeup_paused();
/// assert_eq!(first.state(), lwt::State::Fulfilled(1));
/// ```
pub fn from<T: 'static>(f: impl Fn() -> Promise<T> + 'static) -> Event<T> {
    let (ev, tx) = primitive::<T>();
    let st = Rc::new(FromLoop {
        f: Box::new(f),
        out: tx.downgrade(),
        current: RefCell::new(None),
    });
    let st2 = st.clone();
    let first = pause().map(move |()| from_next(st2));
    *st.current.borrow_mut() = Some(first);
    if let Some(n) = ev.node() {
        n.h.anchor(Box::new(CancelOnDrop(st)));
    }
    ev
}

struct FromLoop<T: 'static> {
    f: Box<dyn Fn() -> Promise<T>>,
    out: WeakSender<T>,
    /// The promise the loop is waiting on.
    current: RefCell<Option<Promise<()>>>,
}

struct CancelOnDrop<T: 'static>(Rc<FromLoop<T>>);

impl<T: 'static> Drop for CancelOnDrop<T> {
    fn drop(&mut self) {
        let p = self.0.current.borrow_mut().take();
        if let Some(p) = p {
            p.cancel();
        }
    }
}

fn from_next<T: 'static>(st: Rc<FromLoop<T>>) {
    if !st.out.alive() {
        return;
    }
    let p = call_user(|| (st.f)());
    let ready = !p.is_pending();
    let st2 = st.clone();
    let q = p.then(move |r| match r {
        Ok(v) => {
            st2.out.send_later(v);
            if ready {
                pause().map(move |()| from_next(st2))
            } else {
                from_next(st2);
                resolved(())
            }
        }
        Err(_) => {
            st2.out.stop();
            resolved(())
        }
    });
    if q.is_pending() {
        *st.current.borrow_mut() = Some(q);
    }
}

/// What `to_stream` has received and not handed to the stream yet.
struct Feed<T: 'static> {
    buffered: VecDeque<T>,
    /// The stream's pending pull, when nothing was buffered.
    waiting: Option<Resolver<Option<T>>>,
}

impl<T: 'static> Event<T> {
    /// A stream of all the occurrences of this event from now on
    /// (Lwt_react's `E.to_stream`): the robust way to process every
    /// occurrence in a promise loop. Occurrences are buffered until read;
    /// the stream never ends.
    ///
    /// The stream keeps the event alive. A read left pending when the last
    /// handle on the stream is dropped keeps the two alive until the event
    /// occurs once more (the stream's pending pull and the event refer to
    /// each other).
    ///
    /// ```
    /// use lwt::react::e;
    /// let (ev, send) = e::create::<u32>();
    /// let stream = ev.map(|x| x * 10).to_stream();
    /// send.send(1);
    /// send.send(2);
    /// assert_eq!(stream.nget(2).state(), lwt::State::Fulfilled(vec![10, 20]));
    /// ```
    pub fn to_stream(&self) -> Stream<T>
    where
        T: Clone,
    {
        let feed = Rc::new(RefCell::new(Feed {
            buffered: VecDeque::new(),
            waiting: None,
        }));
        let f2 = feed.clone();
        let sink = self.map(move |x| {
            let waiting = f2.borrow_mut().waiting.take();
            match waiting {
                // Resolved after the step: the reader's callbacks may send.
                Some(r) => {
                    let v = x.clone();
                    graph::after_step(move || {
                        let _ = r.try_wakeup_result(Ok(Some(v)));
                    });
                }
                None => f2.borrow_mut().buffered.push_back(x.clone()),
            }
        });
        stream::from(move || {
            // The stream's source holds the sink, and through it the event.
            let _alive = &sink;
            let mut fd = feed.borrow_mut();
            if let Some(v) = fd.buffered.pop_front() {
                return resolved(Some(v));
            }
            let (p, r) = wait();
            fd.waiting = Some(r);
            p
        })
    }
}

/// An event that occurs with each element of `stream`, read from the next
/// turn of the event loop on (Lwt_react's `E.of_stream`). It stops
/// occurring when the stream ends or fails. Dropping the event stops the
/// reading; a panic while updating goes to the async exception hook.
///
/// ```
/// use lwt::react::e;
/// let (stream, push) = lwt::stream::create::<&str>();
/// let ev = e::of_stream(stream);
/// let next = ev.next();
/// push.push("hello").unwrap();
/// lwt::wakeup_paused(); // reading starts on the next turn of the loop
/// assert_eq!(next.state(), lwt::State::Fulfilled("hello"));
/// ```
pub fn of_stream<T: 'static>(stream: Stream<T>) -> Event<T> {
    let (ev, tx) = primitive::<T>();
    let w = tx.downgrade();
    let reading = pause().bind(move |()| stream.iter(move |v| w.send_later(v)));
    if let Some(n) = ev.node() {
        n.h.anchor(Box::new(StopReading(Some(reading))));
    }
    ev
}

/// Cancels a promise when dropped.
struct StopReading(Option<Promise<()>>);

impl Drop for StopReading {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            p.cancel();
        }
    }
}

/// An event that does not occur until `p` resolves, then behaves as the
/// event `p` gives (Lwt_react's `E.delay`). If `p` is rejected, it never
/// occurs.
///
/// ```
/// use lwt::react::e;
/// let (src, send) = e::create::<i32>();
/// let (p, r) = lwt::wait();
/// let delayed = e::delay(p);
/// let next = delayed.next();
/// send.send(1); // not yet
/// r.wakeup(src);
/// send.send(2);
/// assert_eq!(next.state(), lwt::State::Fulfilled(2));
/// ```
pub fn delay<T: Clone + 'static>(p: Promise<Event<T>>) -> Event<T> {
    let now = p.with_state(|s| match s {
        State::Fulfilled(e) => Some(e.clone()),
        _ => None,
    });
    if let Some(e) = now {
        return e;
    }
    let (ee, w) = fed::<Event<T>>();
    p.on_success(move |e| {
        w.send_later(e.clone());
        let w2 = w.clone();
        graph::after_step(move || w2.stop());
    });
    event::never().switch(&ee)
}

/// Occurs when `ef` and `e` occur at the same instant, with the result of
/// the promise `ef`'s function gives on `e`'s value; one call at a time, in
/// order (Lwt_react's `E.app_s`).
pub fn app_s<F, A, B>(ef: &Event<F>, e: &Event<A>) -> Event<B>
where
    F: Fn(&A) -> Promise<B> + Clone + 'static,
    A: Clone + 'static,
    B: 'static,
{
    event::l2(|f: &F, x: &A| (f.clone(), x.clone()), ef, e).map_s(|(f, x)| f(x))
}

/// Like [`app_s`], all calls at once; **may reorder** (Lwt_react's
/// `E.app_p`).
pub fn app_p<F, A, B>(ef: &Event<F>, e: &Event<A>) -> Event<B>
where
    F: Fn(&A) -> Promise<B> + Clone + 'static,
    A: Clone + 'static,
    B: 'static,
{
    event::l2(|f: &F, x: &A| (f.clone(), x.clone()), ef, e).map_p(|(f, x)| f(x))
}

/// Accumulates with the promise-returning functions that occur on `ef`,
/// from `init`, one at a time, in order (Lwt_react's `E.accum_s`).
pub fn accum_s<F, A>(ef: &Event<F>, init: A) -> Event<A>
where
    F: Fn(&A) -> Promise<A> + Clone + 'static,
    A: Clone + 'static,
{
    ef.fold_s(init, |acc, f| f(acc))
}

/// Whenever some of `events` occur at the same instant, their occurrences
/// folded left to right from `init` with the promise-returning `f`; one
/// fold at a time, in order (Lwt_react's `E.merge_s`).
pub fn merge_s<A, T, E>(
    f: impl Fn(&A, &T) -> Promise<A> + 'static,
    init: A,
    events: impl IntoIterator<Item = E>,
) -> Event<A>
where
    A: Clone + 'static,
    T: Clone + 'static,
    E: std::borrow::Borrow<Event<T>>,
{
    let f = Rc::new(f);
    let simultaneous = event::merge(
        |mut v: Vec<T>, x: &T| {
            v.push(x.clone());
            v
        },
        Vec::new(),
        events,
    );
    simultaneous.map_s(move |xs: &Vec<T>| async_fold(f.clone(), init.clone(), xs.clone()))
}

/// A promise-returning folding function, shared by the jobs.
type Folder<A, T> = Rc<dyn Fn(&A, &T) -> Promise<A>>;

/// Folds `xs` with `f`, each call waiting for the previous one.
fn async_fold<A: 'static, T: 'static>(f: Folder<A, T>, init: A, xs: Vec<T>) -> Promise<A> {
    let mut p = resolved(init);
    for x in xs {
        let f = f.clone();
        p = p.bind(move |acc| call_user(|| f(&acc, &x)));
    }
    p
}

// ---------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------

/// A signal fed by a serialized stream of promise results: the machinery
/// behind `map_s`, `bind_s`, `filter_s`, ... on signals.
///
/// `first` computes the initial value (a promise); `step` turns each later
/// change of the source into a job. The returned promise resolves once the
/// initial value is known; changes that happen meanwhile are queued behind
/// it.
fn signal_bridge<A: Clone + 'static, U: Clone + 'static>(
    src: &Signal<A>,
    eq: EqFn<U>,
    first: impl FnOnce(A) -> Promise<U> + 'static,
    mut job: impl FnMut(A, WeakSender<U>) -> Job + 'static,
) -> Promise<Signal<U>> {
    let serial = Serial::new();
    let (out, w) = fed::<U>();
    let changes = src.changes();
    let w_iter = w.clone();
    let serial2 = serial.clone();
    let iter = changes.filter_map(move |x: &A| {
        let j = job(x.clone(), w_iter.clone());
        serial2.push(j);
        None::<()>
    });
    let (result, r) = wait::<Signal<U>>();
    let v0 = src.value();
    serial.push(Box::new(move || {
        call_user(move || first(v0)).then(move |res| {
            let res = res.map(|x0| {
                let s = signal::hold_rc(eq, x0, &out);
                // The signal holds the event it follows, which holds the
                // helper that feeds it.
                anchor(&out, iter);
                s
            });
            graph::after_step(move || r.wakeup_result(res));
            resolved(())
        })
    }));
    result
}

fn never_eq<T>(_: &T, _: &T) -> bool {
    false
}

impl<T: 'static> Signal<T> {
    /// This signal, changing at most once per call of `f` (Lwt_react's
    /// `S.limit`): a change passes when no limiter is pending and starts
    /// one; while one is pending, only the latest change is kept, and it
    /// passes when the limiter resolves. A first limiter starts at creation.
    ///
    /// ```
    /// use lwt::react::s;
    /// use std::{cell::RefCell, rc::Rc};
    /// let (x, set) = s::create(0);
    /// let gates = Rc::new(RefCell::new(Vec::new()));
    /// let g = gates.clone();
    /// let slow = x.limit(move || {
    ///     let (p, r) = lwt::wait();
    ///     g.borrow_mut().push(r);
    ///     p
    /// });
    /// set.set(1);
    /// set.set(2);
    /// assert_eq!(slow.value(), 0); // the first limiter is pending
    /// let first = gates.borrow()[0].clone(); // releasing starts a new limiter
    /// first.wakeup(());
    /// assert_eq!(slow.value(), 2);
    /// ```
    pub fn limit(&self, f: impl Fn() -> Promise<()> + 'static) -> Signal<T>
    where
        T: Clone + PartialEq,
    {
        self.limit_eq(T::eq, f)
    }

    /// [`Signal::limit`] with the equality `eq`.
    pub fn limit_eq(&self, eq: impl Fn(&T, &T) -> bool + 'static, f: impl Fn() -> Promise<()> + 'static) -> Signal<T>
    where
        T: Clone,
    {
        if let SRepr::Const(_) = self.0 {
            return self.clone();
        }
        let limited = limit_event(&self.changes(), f, true);
        signal::hold_rc(Rc::new(eq), self.value(), &limited)
    }

    /// A signal of the results of `f` on this signal's values, one call at a
    /// time and in order (Lwt_react's `S.map_s`); the promise resolves once
    /// the first result is known.
    ///
    /// ```
    /// use lwt::react::s;
    /// let (x, set) = s::create(1);
    /// let y = x.map_s(|v| lwt::resolved(v * 100));
    /// let y = match y.state() { lwt::State::Fulfilled(y) => y, _ => unreachable!() };
    /// set.set(2);
    /// assert_eq!(y.value(), 200);
    /// ```
    pub fn map_s<U: Clone + PartialEq + 'static>(&self, f: impl Fn(&T) -> Promise<U> + 'static) -> Promise<Signal<U>>
    where
        T: Clone,
    {
        self.map_s_eq(U::eq, f)
    }

    /// [`Signal::map_s`] with the equality `eq`.
    pub fn map_s_eq<U: Clone + 'static>(
        &self,
        eq: impl Fn(&U, &U) -> bool + 'static,
        f: impl Fn(&T) -> Promise<U> + 'static,
    ) -> Promise<Signal<U>>
    where
        T: Clone,
    {
        if let SRepr::Const(v) = &self.0 {
            return f(v).map(const_signal);
        }
        let f = Rc::new(f);
        let f0 = f.clone();
        signal_bridge(
            self,
            Rc::new(eq),
            move |v0| f0(&v0),
            move |x, w| {
                let f = f.clone();
                Box::new(move || forward(call_user(|| f(&x)), w))
            },
        )
    }

    /// This signal's values for which `f` resolves to `true`; otherwise the
    /// last one that did, or `init` (Lwt_react's `S.filter_s`).
    pub fn filter_s(&self, f: impl Fn(&T) -> Promise<bool> + 'static, init: T) -> Promise<Signal<T>>
    where
        T: Clone + PartialEq,
    {
        self.filter_s_eq(T::eq, f, init)
    }

    /// [`Signal::filter_s`] with the equality `eq`.
    pub fn filter_s_eq(
        &self,
        eq: impl Fn(&T, &T) -> bool + 'static,
        f: impl Fn(&T) -> Promise<bool> + 'static,
        init: T,
    ) -> Promise<Signal<T>>
    where
        T: Clone,
    {
        let f = Rc::new(f);
        self.filter_map_s_eq(
            eq,
            move |x: &T| {
                let x2 = x.clone();
                f(x).map(move |keep| if keep { Some(x2) } else { None })
            },
            init,
        )
    }

    /// This signal mapped by `f`; while it resolves to `None`, the last
    /// `Some` value, or `init` (Lwt_react's `S.fmap_s`).
    pub fn filter_map_s<U: Clone + PartialEq + 'static>(
        &self,
        f: impl Fn(&T) -> Promise<Option<U>> + 'static,
        init: U,
    ) -> Promise<Signal<U>>
    where
        T: Clone,
    {
        self.filter_map_s_eq(U::eq, f, init)
    }

    /// [`Signal::filter_map_s`] with the equality `eq`.
    pub fn filter_map_s_eq<U: Clone + 'static>(
        &self,
        eq: impl Fn(&U, &U) -> bool + 'static,
        f: impl Fn(&T) -> Promise<Option<U>> + 'static,
        init: U,
    ) -> Promise<Signal<U>>
    where
        T: Clone,
    {
        if let SRepr::Const(v) = &self.0 {
            return f(v).map(move |o| const_signal(o.unwrap_or(init)));
        }
        let f = Rc::new(f);
        let f0 = f.clone();
        signal_bridge(
            self,
            Rc::new(eq),
            move |v0| f0(&v0).map(move |o| o.unwrap_or(init)),
            move |x, w| {
                let f = f.clone();
                Box::new(move || {
                    call_user(|| f(&x)).map(move |o| {
                        if let Some(v) = o {
                            w.send_later(v);
                        }
                    })
                })
            },
        )
    }

    /// Occurs with the result of `f(new, old)` whenever the signal changes,
    /// one call at a time, in order (Lwt_react's `S.diff_s`).
    pub fn diff_s<U: 'static>(&self, f: impl Fn(&T, &T) -> Promise<U> + 'static) -> Event<U>
    where
        T: Clone,
    {
        self.diff(|new, old| (new.clone(), old.clone()))
            .map_s(move |(new, old)| f(new, old))
    }

    /// Whenever `s` changes, the signal that `f` gives for the new value,
    /// one call at a time (Lwt_react's `S.bind_s`); the promise resolves
    /// once the first signal is known.
    pub fn bind_s<U: Clone + PartialEq + 'static>(
        &self,
        f: impl Fn(&T) -> Promise<Signal<U>> + 'static,
    ) -> Promise<Signal<U>>
    where
        T: Clone,
    {
        self.bind_s_eq(U::eq, f)
    }

    /// [`Signal::bind_s`] with the equality `eq`.
    pub fn bind_s_eq<U: Clone + 'static>(
        &self,
        eq: impl Fn(&U, &U) -> bool + 'static,
        f: impl Fn(&T) -> Promise<Signal<U>> + 'static,
    ) -> Promise<Signal<U>>
    where
        T: Clone,
    {
        self.map_s_eq(Signal::eq, f).map(move |ss| signal::switch_eq(eq, &ss))
    }
}

impl<U: Clone + 'static> Signal<Promise<U>> {
    /// The values of the promises this signal holds, each awaited in turn
    /// (Lwt_react's `S.run_s`); the promise resolves with the first value.
    pub fn run_s(&self) -> Promise<Signal<U>>
    where
        U: PartialEq,
    {
        self.run_s_eq(U::eq)
    }

    /// [`Signal::run_s`] with the equality `eq`.
    pub fn run_s_eq(&self, eq: impl Fn(&U, &U) -> bool + 'static) -> Promise<Signal<U>> {
        self.map_s_eq(eq, Promise::clone)
    }
}

/// Samples `s` at `e`'s occurrences with the promise-returning `f`, one call
/// at a time, in order (Lwt_react's `S.sample_s`). The value of `s` is the
/// one at the instant `e` occurs (Lwt_react reads it when the call starts).
pub fn sample_s<B, T, R>(f: impl Fn(&B, &T) -> Promise<R> + 'static, e: &Event<B>, s: &Signal<T>) -> Event<R>
where
    B: Clone + 'static,
    T: Clone + 'static,
    R: 'static,
{
    signal::sample(|x: &B, v: &T| (x.clone(), v.clone()), e, s).map_s(move |(x, v)| f(x, v))
}

/// The signal of [`accum_s`](crate::react::e::accum_s): starts at `init`
/// (Lwt_react's `S.accum_s`).
pub fn s_accum_s<F, A>(ef: &Event<F>, init: A) -> Signal<A>
where
    F: Fn(&A) -> Promise<A> + Clone + 'static,
    A: Clone + PartialEq + 'static,
{
    signal::hold(init.clone(), &accum_s(ef, init))
}

/// The signal of [`Event::fold_s`]: starts at `init` (Lwt_react's
/// `S.fold_s`).
pub fn s_fold_s<A, T>(f: impl Fn(&A, &T) -> Promise<A> + 'static, init: A, e: &Event<T>) -> Signal<A>
where
    A: Clone + PartialEq + 'static,
    T: Clone + 'static,
{
    signal::hold(init.clone(), &e.fold_s(init, f))
}

/// `f` folded left to right over the values of all `signals` with the
/// promise-returning `f`, recomputed one at a time on every change
/// (Lwt_react's `S.merge_s`).
pub fn s_merge_s<A, T, S>(
    f: impl Fn(&A, &T) -> Promise<A> + 'static,
    init: A,
    signals: impl IntoIterator<Item = S>,
) -> Promise<Signal<A>>
where
    A: Clone + PartialEq + 'static,
    T: Clone + 'static,
    S: std::borrow::Borrow<Signal<T>>,
{
    let f: Folder<A, T> = Rc::new(f);
    let values = signal::merge_eq(
        never_eq,
        |mut v: Vec<T>, x: &T| {
            v.push(x.clone());
            v
        },
        Vec::new(),
        signals,
    );
    values.map_s(move |xs: &Vec<T>| async_fold(f.clone(), init.clone(), xs.clone()))
}

/// `sf`'s promise-returning function applied to `s`'s value, recomputed one
/// call at a time whenever either changes (Lwt_react's `S.app_s`; Lwt_react
/// recomputes only when both change at the same instant, which looks like
/// an oversight).
pub fn s_app_s<F, A, B>(sf: &Signal<F>, s: &Signal<A>) -> Promise<Signal<B>>
where
    F: Fn(&A) -> Promise<B> + Clone + 'static,
    A: Clone + 'static,
    B: Clone + PartialEq + 'static,
{
    s_l2_s(|f: &F, x: &A| f(x), sf, s)
}

/// Lwt_react's `S.l1_s`: the same as [`Signal::map_s`].
pub fn s_l1_s<A, R>(f: impl Fn(&A) -> Promise<R> + 'static, a: &Signal<A>) -> Promise<Signal<R>>
where
    A: Clone + 'static,
    R: Clone + PartialEq + 'static,
{
    a.map_s(f)
}

/// The promise-returning `f` of both signals' values, one call at a time on
/// every change (Lwt_react's `S.l2_s`).
pub fn s_l2_s<A, B, R>(f: impl Fn(&A, &B) -> Promise<R> + 'static, a: &Signal<A>, b: &Signal<B>) -> Promise<Signal<R>>
where
    A: Clone + 'static,
    B: Clone + 'static,
    R: Clone + PartialEq + 'static,
{
    // Never-equal tuples: every change of an input is a new call, even if
    // the tuple compares equal (Lwt_react does the same).
    signal::l2_eq(never_eq, |x: &A, y: &B| (x.clone(), y.clone()), a, b).map_s(move |(x, y)| f(x, y))
}

/// Lwt_react's `S.l3_s`.
pub fn s_l3_s<A, B, C, R>(
    f: impl Fn(&A, &B, &C) -> Promise<R> + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
    c: &Signal<C>,
) -> Promise<Signal<R>>
where
    A: Clone + 'static,
    B: Clone + 'static,
    C: Clone + 'static,
    R: Clone + PartialEq + 'static,
{
    signal::l3_eq(
        never_eq,
        |x: &A, y: &B, z: &C| (x.clone(), y.clone(), z.clone()),
        a,
        b,
        c,
    )
    .map_s(move |(x, y, z)| f(x, y, z))
}

/// Lwt_react's `S.l4_s`.
pub fn s_l4_s<A, B, C, D, R>(
    f: impl Fn(&A, &B, &C, &D) -> Promise<R> + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
    c: &Signal<C>,
    d: &Signal<D>,
) -> Promise<Signal<R>>
where
    A: Clone + 'static,
    B: Clone + 'static,
    C: Clone + 'static,
    D: Clone + 'static,
    R: Clone + PartialEq + 'static,
{
    signal::l4_eq(
        never_eq,
        |x: &A, y: &B, z: &C, w: &D| (x.clone(), y.clone(), z.clone(), w.clone()),
        a,
        b,
        c,
        d,
    )
    .map_s(move |(x, y, z, w)| f(x, y, z, w))
}

/// Lwt_react's `S.l5_s`.
pub fn s_l5_s<A, B, C, D, E, R>(
    f: impl Fn(&A, &B, &C, &D, &E) -> Promise<R> + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
    c: &Signal<C>,
    d: &Signal<D>,
    e: &Signal<E>,
) -> Promise<Signal<R>>
where
    A: Clone + 'static,
    B: Clone + 'static,
    C: Clone + 'static,
    D: Clone + 'static,
    E: Clone + 'static,
    R: Clone + PartialEq + 'static,
{
    signal::l5_eq(
        never_eq,
        |x: &A, y: &B, z: &C, w: &D, u: &E| (x.clone(), y.clone(), z.clone(), w.clone(), u.clone()),
        a,
        b,
        c,
        d,
        e,
    )
    .map_s(move |(x, y, z, w, u)| f(x, y, z, w, u))
}

/// Lwt_react's `S.l6_s`.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn s_l6_s<A, B, C, D, E, F, R>(
    f: impl Fn(&A, &B, &C, &D, &E, &F) -> Promise<R> + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
    c: &Signal<C>,
    d: &Signal<D>,
    e: &Signal<E>,
    g: &Signal<F>,
) -> Promise<Signal<R>>
where
    A: Clone + 'static,
    B: Clone + 'static,
    C: Clone + 'static,
    D: Clone + 'static,
    E: Clone + 'static,
    F: Clone + 'static,
    R: Clone + PartialEq + 'static,
{
    signal::l6_eq(
        never_eq,
        |x: &A, y: &B, z: &C, w: &D, u: &E, t: &F| (x.clone(), y.clone(), z.clone(), w.clone(), u.clone(), t.clone()),
        a,
        b,
        c,
        d,
        e,
        g,
    )
    .map_s(move |(x, y, z, w, u, t)| f(x, y, z, w, u, t))
}
