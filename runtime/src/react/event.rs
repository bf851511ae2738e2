//! Events: values that occur at discrete instants (React's `E`).

use std::any::Any;
use std::borrow::Borrow;
use std::cell::RefCell;
use std::fmt;
use std::rc::{Rc, Weak};

use super::graph::{self, add_dep, addr, succ, Fused, Header, Node, Updated, Updater, DELAYED, PRIMITIVE};
use super::signal::{SRepr, Signal};
use super::step::{Step, IN_STEP};
use crate::core::Error;

type EUpdate<T> = Box<dyn FnMut(&Rc<ENode<T>>)>;

/// The node of an event: its occurrence in the running step, if any.
pub(crate) struct ENode<T: 'static> {
    pub(crate) h: Header,
    pub(crate) occ: RefCell<Option<T>>,
    // Borrowed mutably while the function runs (a node never runs inside
    // its own run). If the node stops itself meanwhile, `run` drops the
    // function once the call is over.
    upd: Updater<ENode<T>>,
}

impl<T: 'static> ENode<T> {
    pub(crate) fn new(rank: u32, upd: Updater<ENode<T>>) -> Rc<ENode<T>> {
        Rc::new(ENode {
            h: Header::new(rank),
            occ: RefCell::new(None),
            upd,
        })
    }

    /// Gives the node an occurrence in the running step and schedules its
    /// dependents.
    pub(crate) fn emit(self: &Rc<Self>, v: T) {
        if self.h.stopped.get() {
            return;
        }
        let old = self.occ.borrow_mut().replace(v);
        if old.is_none() {
            graph::occurred(self.clone());
        }
        drop(old);
        self.h.schedule_deps();
    }

    /// Stops the node: it will never occur again and lets go of its
    /// producers.
    pub(crate) fn stop(&self) {
        if self.h.stopped.get() {
            return;
        }
        self.h.mark_stopped();
        self.upd.release();
    }

    fn set_update(&self, f: EUpdate<T>) {
        self.upd.set(f);
    }
}

impl<T: 'static> Updated for ENode<T> {
    fn updater(&self) -> &Updater<Self> {
        &self.upd
    }
}

impl<T: 'static> Node for ENode<T> {
    fn header(&self) -> &Header {
        &self.h
    }

    fn run(self: Rc<Self>) {
        self.upd.run(&self, &self.h.stopped);
    }

    fn fused(&self) -> Option<(Fused, *mut ())> {
        self.upd.fused()
    }

    fn clear(&self) {
        let v = self.occ.borrow_mut().take();
        drop(v);
    }

    fn occurring(&self) -> bool {
        self.occ.borrow().is_some()
    }
}

/// An event: a value that has occurrences at discrete instants (React's
/// `'a event`).
///
/// A handle is cheap to clone and single-threaded. Derived events
/// (`map`, `filter`, ...) hold their sources; sources do *not* hold what is
/// derived from them, so **a derived event runs only while someone holds
/// it**: `let _log = ev.map(...)` keeps it, `let _ = ev.map(...)` drops it
/// at once. Use [`Event::keep`] for an effect that must live forever.
///
/// ```
/// use lwt::react::e;
/// use std::{cell::RefCell, rc::Rc};
/// let (clicks, click) = e::create::<u32>();
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let s = seen.clone();
/// let _printer = clicks.filter(|n| n % 2 == 0).map(move |n| s.borrow_mut().push(*n));
/// for n in 1..=4 {
///     click.send(n);
/// }
/// assert_eq!(*seen.borrow(), vec![2, 4]);
/// ```
pub struct Event<T: 'static>(pub(crate) Option<Rc<ENode<T>>>);

impl<T: 'static> Clone for Event<T> {
    fn clone(&self) -> Self {
        Event(self.0.clone())
    }
}

impl<T: 'static> PartialEq for Event<T> {
    /// Two handles are equal when they are the same event (React's
    /// `E.equal`); all `never` events are equal.
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl<T: 'static> fmt::Debug for Event<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("Event(never)"),
            Some(n) => write!(f, "Event(rank {})", n.h.rank.get()),
        }
    }
}

/// The sending side of a primitive event (React's `send` function).
///
/// Cheap to clone; it keeps the event alive.
pub struct Sender<T: 'static> {
    node: Rc<ENode<T>>,
}

impl<T: 'static> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            node: self.node.clone(),
        }
    }
}

impl<T: 'static> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sender")
    }
}

impl<T: 'static> Sender<T> {
    /// Makes the event occur with `v` and runs the update step that follows,
    /// before returning.
    ///
    /// # Panics
    ///
    /// When called from inside an update step (from a function given to a
    /// combinator): React forbids it, and re-entering the step would break
    /// its guarantees. [`Sender::try_send`] returns the error instead. A
    /// panic inside a step is contained and goes to the async exception
    /// hook.
    #[track_caller]
    pub fn send(&self, v: T) {
        if let Err(e) = self.try_send(v) {
            panic!("{}", e.message());
        }
    }

    /// Like [`Sender::send`], but an `InvalidArgument` error instead of a
    /// panic when called from inside an update step.
    pub fn try_send(&self, v: T) -> Result<(), Error> {
        if graph::in_step() {
            return Err(Error::invalid_argument(IN_STEP));
        }
        if !self.node.h.stopped.get() {
            let n = &self.node;
            graph::run_step_from(&**n, move || n.emit(v));
        }
        Ok(())
    }

    /// Queues the occurrence `v` on `step`: it happens, simultaneously with
    /// the step's other updates, when the step is executed (React's
    /// `send ~step v`).
    ///
    /// # Panics
    ///
    /// If this event already has an occurrence waiting on a step that has
    /// not executed (see [`Sender::try_send_on`]).
    #[track_caller]
    pub fn send_on(&self, step: &Step, v: T) {
        if let Err(e) = self.try_send_on(step, v) {
            panic!("{}", e.message());
        }
    }

    /// Like [`Sender::send_on`], but an `InvalidArgument` error instead of a
    /// panic.
    pub fn try_send_on(&self, step: &Step, v: T) -> Result<(), Error> {
        let n = self.node.clone();
        step.add(self.node.clone(), "event", Box::new(move || n.emit(v)))
    }

    /// The event this sender feeds.
    pub fn event(&self) -> Event<T> {
        Event(Some(self.node.clone()))
    }

    /// A sender that does not keep the event alive.
    pub(crate) fn downgrade(&self) -> WeakSender<T> {
        WeakSender(Rc::downgrade(&self.node))
    }
}

/// A sender that does nothing once its event is gone (for the promise
/// bridges, which must not keep an event alive by themselves).
pub(crate) struct WeakSender<T: 'static>(Weak<ENode<T>>);

impl<T: 'static> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender(self.0.clone())
    }
}

impl<T: 'static> WeakSender<T> {
    /// Whether the event is still alive and not stopped.
    pub(crate) fn alive(&self) -> bool {
        self.0.upgrade().is_some_and(|n| !n.h.stopped.get())
    }

    /// Sends `v` as soon as no step is running (after the running one).
    pub(crate) fn send_later(&self, v: T) {
        let w = self.0.clone();
        graph::after_step(move || {
            if let Some(n) = w.upgrade() {
                if !n.h.stopped.get() {
                    let src = n.clone();
                    graph::run_step_from(&*src, move || n.emit(v));
                }
            }
        });
    }

    /// Stops the event (used when its feed fails).
    pub(crate) fn stop(&self) {
        if let Some(n) = self.0.upgrade() {
            n.stop();
        }
    }
}

/// Builds a derived event of the given producers.
pub(crate) fn derive<T: 'static>(producers: &[&dyn Node], upd: impl FnMut(&Rc<ENode<T>>) + 'static) -> Event<T> {
    let rank = producers
        .iter()
        .map(|p| succ(p.header().rank.get()))
        .max()
        .unwrap_or(PRIMITIVE + 1);
    let n = ENode::new(rank, Updater::with(upd));
    let d: Rc<dyn Node> = n.clone();
    for p in producers {
        add_dep(*p, &d);
    }
    Event(Some(n))
}

/// A primitive event and its sender.
pub(crate) fn primitive<T: 'static>() -> (Event<T>, Sender<T>) {
    let n = ENode::new(PRIMITIVE, Updater::new(None));
    (Event(Some(n.clone())), Sender { node: n })
}

/// The event that never occurs (React's `E.never`).
///
/// ```
/// let e = lwt::react::e::never::<i32>();
/// assert!(e.is_never());
/// ```
pub fn never<T: 'static>() -> Event<T> {
    Event(None)
}

/// A primitive event and the sender that makes it occur (React's
/// `E.create`).
///
/// ```
/// use lwt::react::e;
/// let (ev, send) = e::create::<&str>();
/// let next = ev.next();
/// send.send("hello");
/// assert_eq!(next.state(), lwt::State::Fulfilled("hello"));
/// ```
pub fn create<T: 'static>() -> (Event<T>, Sender<T>) {
    primitive()
}

fn with_occ<T: 'static, R>(n: &ENode<T>, f: impl FnOnce(&T) -> R) -> Option<R> {
    n.occ.borrow().as_ref().map(f)
}

impl<T: 'static> Event<T> {
    pub(crate) fn node(&self) -> Option<&Rc<ENode<T>>> {
        self.0.as_ref()
    }

    /// Whether this is the event that never occurs.
    pub fn is_never(&self) -> bool {
        self.0.is_none()
    }

    /// Stops the event: it never occurs again and lets go of what it
    /// depends on (React's `E.stop`). Its dependents stop hearing from it.
    ///
    /// ```
    /// use lwt::react::e;
    /// let (ev, send) = e::create::<i32>();
    /// let doubled = ev.map(|x| x * 2);
    /// let next = doubled.next();
    /// doubled.stop();
    /// send.send(1);
    /// assert!(next.is_pending());
    /// ```
    pub fn stop(&self) {
        if let Some(n) = &self.0 {
            n.stop();
        }
    }

    /// Keeps `v` alive as long as this event is (React's `E.retain`): the
    /// way to tie the lifetime of a side-effecting derived event to this
    /// one. Returns what was retained before. The never event cannot retain
    /// anything: that is an `InvalidArgument` error.
    ///
    /// ```
    /// use lwt::react::e;
    /// use std::{cell::Cell, rc::Rc};
    /// let (ev, send) = e::create::<i32>();
    /// let count = Rc::new(Cell::new(0));
    /// let c = count.clone();
    /// ev.retain(ev.map(move |_| c.set(c.get() + 1))).unwrap();
    /// send.send(1);
    /// assert_eq!(count.get(), 1);
    /// ```
    pub fn retain(&self, v: impl Any) -> Result<Option<Box<dyn Any>>, Error> {
        match &self.0 {
            None => Err(Error::invalid_argument(
                "lwt::react: the never event cannot retain a value",
            )),
            Some(n) => Ok(n.h.retain(Box::new(v))),
        }
    }

    /// Keeps this event alive until the thread ends (Lwt_react's `E.keep`).
    pub fn keep(&self) {
        if let Some(n) = &self.0 {
            graph::keep_forever(Box::new(n.clone()));
        }
    }

    /// How many dependents this event tracks, freed ones not yet swept
    /// included. A diagnostic: it stays within about twice the live
    /// dependents however many were created and dropped.
    pub fn tracked_dependents(&self) -> usize {
        self.0.as_ref().map_or(0, |n| n.h.dep_slots())
    }

    /// Applies `f` to every occurrence (React's `E.map`).
    ///
    /// ```
    /// use lwt::react::e;
    /// let (ev, send) = e::create::<i32>();
    /// let next = ev.map(|x| x * 10).next();
    /// send.send(4);
    /// assert_eq!(next.state(), lwt::State::Fulfilled(40));
    /// ```
    pub fn map<U: 'static>(&self, mut f: impl FnMut(&T) -> U + 'static) -> Event<U> {
        let Some(src) = &self.0 else { return never() };
        let s = src.clone();
        derive(&[&**src], move |me| {
            if let Some(v) = with_occ(&s, &mut f) {
                me.emit(v);
            }
        })
    }

    /// Every occurrence replaced by `v` (React's `E.stamp`).
    pub fn stamp<U: Clone + 'static>(&self, v: U) -> Event<U> {
        self.map(move |_| v.clone())
    }

    /// The occurrences that satisfy `p` (React's `E.filter`).
    pub fn filter(&self, mut p: impl FnMut(&T) -> bool + 'static) -> Event<T>
    where
        T: Clone,
    {
        self.filter_map(move |x| if p(x) { Some(x.clone()) } else { None })
    }

    /// The occurrences mapped by `f`, those giving `None` dropped (React's
    /// `E.fmap`).
    pub fn filter_map<U: 'static>(&self, mut f: impl FnMut(&T) -> Option<U> + 'static) -> Event<U> {
        let Some(src) = &self.0 else { return never() };
        let s = src.clone();
        derive(&[&**src], move |me| {
            if let Some(Some(v)) = with_occ(&s, &mut f) {
                me.emit(v);
            }
        })
    }

    /// Only the next occurrence (React's `E.once`); then the event stops.
    pub fn once(&self) -> Event<T>
    where
        T: Clone,
    {
        let Some(src) = &self.0 else { return never() };
        let s = src.clone();
        derive(&[&**src], move |me| {
            if let Some(v) = with_occ(&s, T::clone) {
                me.emit(v);
                me.stop();
            }
        })
    }

    /// Every occurrence but the next one (React's `E.drop_once`).
    pub fn drop_once(&self) -> Event<T>
    where
        T: Clone,
    {
        let Some(src) = &self.0 else { return never() };
        let s = src.clone();
        let mut dropped = false;
        derive(&[&**src], move |me| {
            if !dropped {
                dropped = true;
                return;
            }
            if let Some(v) = with_occ(&s, T::clone) {
                me.emit(v);
            }
        })
    }

    /// On every occurrence but the first, `f(current, previous)` (React's
    /// `E.diff`).
    pub fn diff<U: 'static>(&self, mut f: impl FnMut(&T, &T) -> U + 'static) -> Event<U>
    where
        T: Clone,
    {
        let Some(src) = &self.0 else { return never() };
        let s = src.clone();
        let mut last: Option<T> = None;
        derive(&[&**src], move |me| {
            let Some(v) = with_occ(&s, T::clone) else { return };
            let out = last.as_ref().map(|prev| f(&v, prev));
            last = Some(v);
            if let Some(out) = out {
                me.emit(out);
            }
        })
    }

    /// The occurrences that differ from the previous one (React's
    /// `E.changes`, with `==`).
    pub fn changes(&self) -> Event<T>
    where
        T: Clone + PartialEq,
    {
        self.changes_eq(T::eq)
    }

    /// The occurrences that differ from the previous one by `eq` (React's
    /// `E.changes ~eq`).
    pub fn changes_eq(&self, mut eq: impl FnMut(&T, &T) -> bool + 'static) -> Event<T>
    where
        T: Clone,
    {
        let Some(src) = &self.0 else { return never() };
        let s = src.clone();
        let mut last: Option<T> = None;
        derive(&[&**src], move |me| {
            let Some(v) = with_occ(&s, T::clone) else { return };
            let same = last.as_ref().is_some_and(|prev| eq(&v, prev));
            last = Some(v.clone());
            if !same {
                me.emit(v);
            }
        })
    }

    /// The occurrences that happen while `c` is true (React's `E.on`, the
    /// former `E.when_`).
    pub fn on(&self, c: &Signal<bool>) -> Event<T>
    where
        T: Clone,
    {
        let Some(src) = &self.0 else { return never() };
        match &c.0 {
            SRepr::Const(b) => {
                if **b {
                    self.clone()
                } else {
                    never()
                }
            }
            SRepr::Node(cn) => {
                let s = src.clone();
                let cn2 = cn.clone();
                derive(&[&**src, &**cn], move |me| {
                    if !*cn2.get() {
                        return;
                    }
                    if let Some(v) = with_occ(&s, T::clone) {
                        me.emit(v);
                    }
                })
            }
        }
    }

    /// The occurrences of this event except those simultaneous with an
    /// occurrence of `c` (React's `E.dismiss`).
    pub fn dismiss<B: 'static>(&self, c: &Event<B>) -> Event<T>
    where
        T: Clone,
    {
        let Some(src) = &self.0 else { return never() };
        let Some(cn) = &c.0 else { return self.clone() };
        let s = src.clone();
        let c2 = cn.clone();
        derive(&[&**cn, &**src], move |me| {
            if c2.occurring() {
                return;
            }
            if let Some(v) = with_occ(&s, T::clone) {
                me.emit(v);
            }
        })
    }

    /// The occurrences of this event until `c` occurs (React's `E.until`);
    /// from the instant `c` occurs on, nothing, and the event stops.
    pub fn until<B: 'static>(&self, c: &Event<B>) -> Event<T>
    where
        T: Clone,
    {
        let Some(src) = &self.0 else { return never() };
        let Some(cn) = &c.0 else { return self.clone() };
        let s = src.clone();
        let c2 = cn.clone();
        derive(&[&**src, &**cn], move |me| {
            if c2.occurring() {
                me.stop();
                return;
            }
            if let Some(v) = with_occ(&s, T::clone) {
                me.emit(v);
            }
        })
    }

    /// The running accumulation `f(acc, x)` of the occurrences, starting from
    /// `init`; each occurrence gives the new accumulator (React's `E.fold`).
    ///
    /// ```
    /// use lwt::react::e;
    /// let (ev, send) = e::create::<i32>();
    /// let sums = ev.fold(0, |acc, x| acc + x);
    /// send.send(1);
    /// let next = sums.next();
    /// send.send(2);
    /// assert_eq!(next.state(), lwt::State::Fulfilled(3));
    /// ```
    pub fn fold<A: Clone + 'static>(&self, init: A, mut f: impl FnMut(&A, &T) -> A + 'static) -> Event<A> {
        let Some(src) = &self.0 else { return never() };
        let s = src.clone();
        let mut acc = init;
        derive(&[&**src], move |me| {
            let Some(next) = with_occ(&s, |x| f(&acc, x)) else {
                return;
            };
            acc = next.clone();
            me.emit(next);
        })
    }

    /// The occurrences of this event until `ee` occurs with an event `e2`,
    /// then those of `e2` until `ee` occurs again, and so on (React's
    /// `E.switch`). At the instant of a switch, the new event's occurrence
    /// (if any) is the one seen.
    pub fn switch(&self, ee: &Event<Event<T>>) -> Event<T>
    where
        T: Clone,
    {
        let Some(een) = &ee.0 else { return self.clone() };
        let ee2 = een.clone();
        let mut src: Option<Rc<ENode<T>>> = self.0.clone();
        let mut producers: Vec<&dyn Node> = vec![&**een];
        if let Some(s) = &self.0 {
            producers.push(&**s);
        }
        derive(&producers, move |me| {
            let switched = ee2.occ.borrow().as_ref().map(|e| e.0.clone());
            if let Some(new_src) = switched {
                let me_dyn: Rc<dyn Node> = me.clone();
                if let Some(old) = src.take() {
                    old.h.remove_dep(addr(me));
                }
                src = new_src;
                let wanted = match &src {
                    Some(s) => succ(s.h.rank.get()).max(succ(ee2.h.rank.get())),
                    None => succ(ee2.h.rank.get()),
                };
                if let Some(s) = &src {
                    s.h.push_dep(Rc::downgrade(&me_dyn));
                }
                if graph::raise_rank(&me_dyn, wanted) {
                    // The new source ranks above us: it may still occur in
                    // this step, and will then schedule us again.
                    graph::allow_reschedule(&*me_dyn);
                    graph::rebuild_queue();
                }
            }
            if let Some(v) = src.as_ref().and_then(|s| with_occ(s, T::clone)) {
                me.emit(v);
            }
        })
    }

    /// This event, with `f` called on each occurrence (React's `E.trace`).
    pub fn trace(&self, mut f: impl FnMut(&T) + 'static) -> Event<T>
    where
        T: Clone,
    {
        self.map(move |x| {
            f(x);
            x.clone()
        })
    }

    /// An event that behaves as this one and calls `f` once it is freed
    /// (Lwt_react's `E.with_finaliser`). `f` runs outside any update step;
    /// a panic in it goes to the async exception hook.
    ///
    /// ```
    /// use lwt::react::e;
    /// use std::{cell::Cell, rc::Rc};
    /// let (ev, _send) = e::create::<i32>();
    /// let freed = Rc::new(Cell::new(false));
    /// let f = freed.clone();
    /// let watched = ev.with_finaliser(move || f.set(true));
    /// assert!(!freed.get());
    /// drop(watched);
    /// assert!(freed.get());
    /// ```
    pub fn with_finaliser(&self, f: impl FnOnce() + 'static) -> Event<T>
    where
        T: Clone,
    {
        let out = match &self.0 {
            None => {
                // A never event has no node to carry the finaliser: give it
                // one that never occurs.
                Event(Some(ENode::new(PRIMITIVE, Updater::new(None))))
            }
            Some(_) => self.map(T::clone),
        };
        if let Some(n) = &out.0 {
            n.h.retain(Box::new(Finaliser(Some(Box::new(f)))));
        }
        out
    }
}

/// Runs its function when dropped, outside any update step.
pub(crate) struct Finaliser(pub(crate) Option<Box<dyn FnOnce()>>);

impl Drop for Finaliser {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            graph::after_step(f);
        }
    }
}

fn collect<T: 'static, E: Borrow<Event<T>>>(events: impl IntoIterator<Item = E>) -> Vec<Rc<ENode<T>>> {
    events.into_iter().filter_map(|e| e.borrow().0.clone()).collect()
}

fn derive_many<T: 'static, U: 'static>(nodes: &[Rc<ENode<T>>], upd: impl FnMut(&Rc<ENode<U>>) + 'static) -> Event<U> {
    let producers: Vec<&dyn Node> = nodes.iter().map(|n| &**n as &dyn Node).collect();
    derive(&producers, upd)
}

/// The occurrences of all the given events; when several occur at the same
/// instant, the first in the list wins (React's `E.select`).
///
/// ```
/// use lwt::react::e;
/// let (a, send_a) = e::create::<&str>();
/// let (b, send_b) = e::create::<&str>();
/// let either = e::select([&a, &b]);
/// let next = either.next();
/// send_b.send("b");
/// assert_eq!(next.state(), lwt::State::Fulfilled("b"));
/// # drop(send_a);
/// ```
pub fn select<T: Clone + 'static, E: Borrow<Event<T>>>(events: impl IntoIterator<Item = E>) -> Event<T> {
    let nodes = collect(events);
    if nodes.is_empty() {
        return never();
    }
    let srcs = nodes.clone();
    derive_many(&nodes, move |me| {
        if let Some(v) = srcs.iter().find_map(|n| with_occ(n, T::clone)) {
            me.emit(v);
        }
    })
}

/// Whenever some of the given events occur at the same instant, their
/// occurrences folded with `f`, left to right, from `init` (React's
/// `E.merge`).
pub fn merge<A: Clone + 'static, T: 'static, E: Borrow<Event<T>>>(
    mut f: impl FnMut(A, &T) -> A + 'static,
    init: A,
    events: impl IntoIterator<Item = E>,
) -> Event<A> {
    let nodes = collect(events);
    if nodes.is_empty() {
        return never();
    }
    let srcs = nodes.clone();
    derive_many(&nodes, move |me| {
        let mut acc = init.clone();
        for n in &srcs {
            if let Some(x) = &*n.occ.borrow() {
                acc = f(acc, x);
            }
        }
        me.emit(acc);
    })
}

/// Occurs when `ef` and `e` occur at the same instant, with `ef`'s function
/// applied to `e`'s value (React's `E.app`).
pub fn app<F: Fn(&A) -> B + 'static, A: 'static, B: 'static>(ef: &Event<F>, e: &Event<A>) -> Event<B> {
    let (Some(fnode), Some(anode)) = (&ef.0, &e.0) else {
        return never();
    };
    let (f2, a2) = (fnode.clone(), anode.clone());
    derive(&[&**fnode, &**anode], move |me| {
        let v = {
            let (f, a) = (f2.occ.borrow(), a2.occ.borrow());
            match (&*f, &*a) {
                (Some(f), Some(a)) => f(a),
                _ => return,
            }
        };
        me.emit(v);
    })
}

/// Accumulates with the functions that occur on `ef`, starting from `init`:
/// each occurrence `f` gives the new value `f(acc)` (React's `E.accum`).
///
/// ```
/// use lwt::react::e;
/// let (ops, send) = e::create::<fn(&i32) -> i32>();
/// let values = e::accum(&ops, 1);
/// let next = values.next();
/// send.send(|x| x + 10);
/// assert_eq!(next.state(), lwt::State::Fulfilled(11));
/// ```
pub fn accum<F: Fn(&A) -> A + 'static, A: Clone + 'static>(ef: &Event<F>, init: A) -> Event<A> {
    ef.fold(init, |acc, f| f(acc))
}

/// The delayed event of [`fix`]: rank [`DELAYED`], no producers, fed by the
/// event it delays.
fn delayed<T: 'static>() -> Rc<ENode<T>> {
    ENode::new(DELAYED, Updater::new(None))
}

/// Lets an event refer to its own occurrences "an instant before" (React's
/// `E.fix`).
///
/// `f` receives `d`, the event it returns delayed by one step: when that
/// event occurs in a step, `d` occurs with the same value in a new step
/// right after. `f` returns the event and any result; `fix` returns the
/// result.
///
/// A fixed point that never settles would chain steps forever; past a
/// million chained steps the chain is cut and an error goes to the async
/// exception hook (React would loop).
///
/// # Panics
///
/// If `f` returns a delayed event itself (`d`, or that of another `fix`):
/// map it with the identity first, as React requires.
///
/// ```
/// use lwt::react::e;
/// let (start, send) = e::create::<u32>();
/// // Counts down from the number sent, one step per value.
/// let countdown = e::fix(|prev: &lwt::react::Event<u32>| {
///     let next = e::select([start.clone(), prev.filter_map(|n| n.checked_sub(1))]);
///     (next.clone(), next)
/// });
/// let last = countdown.filter(|n| *n == 0).next();
/// send.send(3);
/// assert_eq!(last.state(), lwt::State::Fulfilled(0));
/// ```
#[track_caller]
pub fn fix<T: Clone + 'static, R>(f: impl FnOnce(&Event<T>) -> (Event<T>, R)) -> R {
    let d = delayed::<T>();
    let (out, r) = f(&Event(Some(d.clone())));
    let Some(src) = out.0 else { return r };
    if src.h.rank.get() == DELAYED {
        panic!("lwt::react::e::fix: the fixing function returned a delayed event; map it with the identity first");
    }
    // `d` holds its source weakly: the source holds `d` (through its own
    // producers), and a strong link back would make a cycle that is never
    // freed.
    let w = Rc::downgrade(&src);
    d.set_update(Box::new(move |me| {
        if let Some(v) = w.upgrade().and_then(|s| with_occ(&s, T::clone)) {
            me.emit(v);
        }
    }));
    let d_dyn: Rc<dyn Node> = d;
    src.h.push_dep(Rc::downgrade(&d_dyn));
    r
}

/// React's `E.l1`: the same as [`Event::map`].
pub fn l1<A: 'static, R: 'static>(f: impl FnMut(&A) -> R + 'static, a: &Event<A>) -> Event<R> {
    a.map(f)
}

/// Occurs when both events occur at the same instant, with `f` of their
/// values (React's `E.l2`).
pub fn l2<A: 'static, B: 'static, R: 'static>(
    mut f: impl FnMut(&A, &B) -> R + 'static,
    a: &Event<A>,
    b: &Event<B>,
) -> Event<R> {
    let (Some(na), Some(nb)) = (&a.0, &b.0) else {
        return never();
    };
    let (a2, b2) = (na.clone(), nb.clone());
    derive(&[&**na, &**nb], move |me| {
        let v = match (&*a2.occ.borrow(), &*b2.occ.borrow()) {
            (Some(x), Some(y)) => f(x, y),
            _ => return,
        };
        me.emit(v);
    })
}

/// Occurs when the three events occur at the same instant (React's `E.l3`).
pub fn l3<A: 'static, B: 'static, C: 'static, R: 'static>(
    mut f: impl FnMut(&A, &B, &C) -> R + 'static,
    a: &Event<A>,
    b: &Event<B>,
    c: &Event<C>,
) -> Event<R> {
    let (Some(na), Some(nb), Some(nc)) = (&a.0, &b.0, &c.0) else {
        return never();
    };
    let (a2, b2, c2) = (na.clone(), nb.clone(), nc.clone());
    derive(&[&**na, &**nb, &**nc], move |me| {
        let v = match (&*a2.occ.borrow(), &*b2.occ.borrow(), &*c2.occ.borrow()) {
            (Some(x), Some(y), Some(z)) => f(x, y, z),
            _ => return,
        };
        me.emit(v);
    })
}

/// Occurs when the four events occur at the same instant (React's `E.l4`).
pub fn l4<A: 'static, B: 'static, C: 'static, D: 'static, R: 'static>(
    mut f: impl FnMut(&A, &B, &C, &D) -> R + 'static,
    a: &Event<A>,
    b: &Event<B>,
    c: &Event<C>,
    d: &Event<D>,
) -> Event<R> {
    let (Some(na), Some(nb), Some(nc), Some(nd)) = (&a.0, &b.0, &c.0, &d.0) else {
        return never();
    };
    let (a2, b2, c2, d2) = (na.clone(), nb.clone(), nc.clone(), nd.clone());
    derive(&[&**na, &**nb, &**nc, &**nd], move |me| {
        let v = match (
            &*a2.occ.borrow(),
            &*b2.occ.borrow(),
            &*c2.occ.borrow(),
            &*d2.occ.borrow(),
        ) {
            (Some(x), Some(y), Some(z), Some(w)) => f(x, y, z, w),
            _ => return,
        };
        me.emit(v);
    })
}

/// Occurs when the five events occur at the same instant (React's `E.l5`).
pub fn l5<A: 'static, B: 'static, C: 'static, D: 'static, E: 'static, R: 'static>(
    mut f: impl FnMut(&A, &B, &C, &D, &E) -> R + 'static,
    a: &Event<A>,
    b: &Event<B>,
    c: &Event<C>,
    d: &Event<D>,
    e: &Event<E>,
) -> Event<R> {
    let (Some(na), Some(nb), Some(nc), Some(nd), Some(ne)) = (&a.0, &b.0, &c.0, &d.0, &e.0) else {
        return never();
    };
    let (a2, b2, c2, d2, e2) = (na.clone(), nb.clone(), nc.clone(), nd.clone(), ne.clone());
    derive(&[&**na, &**nb, &**nc, &**nd, &**ne], move |me| {
        let v = match (
            &*a2.occ.borrow(),
            &*b2.occ.borrow(),
            &*c2.occ.borrow(),
            &*d2.occ.borrow(),
            &*e2.occ.borrow(),
        ) {
            (Some(x), Some(y), Some(z), Some(w), Some(u)) => f(x, y, z, w, u),
            _ => return,
        };
        me.emit(v);
    })
}

/// Occurs when the six events occur at the same instant (React's `E.l6`).
#[allow(clippy::too_many_arguments)]
pub fn l6<A: 'static, B: 'static, C: 'static, D: 'static, E: 'static, F: 'static, R: 'static>(
    mut f: impl FnMut(&A, &B, &C, &D, &E, &F) -> R + 'static,
    a: &Event<A>,
    b: &Event<B>,
    c: &Event<C>,
    d: &Event<D>,
    e: &Event<E>,
    g: &Event<F>,
) -> Event<R> {
    let (Some(na), Some(nb), Some(nc), Some(nd), Some(ne), Some(ng)) = (&a.0, &b.0, &c.0, &d.0, &e.0, &g.0) else {
        return never();
    };
    let (a2, b2, c2, d2, e2, g2) = (na.clone(), nb.clone(), nc.clone(), nd.clone(), ne.clone(), ng.clone());
    derive(&[&**na, &**nb, &**nc, &**nd, &**ne, &**ng], move |me| {
        let v = match (
            &*a2.occ.borrow(),
            &*b2.occ.borrow(),
            &*c2.occ.borrow(),
            &*d2.occ.borrow(),
            &*e2.occ.borrow(),
            &*g2.occ.borrow(),
        ) {
            (Some(x), Some(y), Some(z), Some(w), Some(u), Some(t)) => f(x, y, z, w, u, t),
            _ => return,
        };
        me.emit(v);
    })
}

/// Events of options (React's `E.Option`).
pub mod option {
    use super::{never, with_occ, Event};
    use crate::react::signal::{SRepr, Signal};

    /// Every occurrence wrapped in `Some` (React's `E.Option.some`).
    pub fn some<T: Clone + 'static>(e: &Event<T>) -> Event<Option<T>> {
        e.map(|x| Some(x.clone()))
    }

    /// The `Some` values of `e`; its `None` occurrences are dropped, or, with
    /// a `default` signal, replaced by its value at that instant (React's
    /// `E.Option.value`).
    pub fn value<T: Clone + 'static>(e: &Event<Option<T>>, default: Option<&Signal<T>>) -> Event<T> {
        match default {
            None => e.filter_map(|x| x.clone()),
            Some(Signal(SRepr::Const(d))) => {
                let d = d.clone();
                e.map(move |x| x.clone().unwrap_or_else(|| (*d).clone()))
            }
            Some(Signal(SRepr::Node(dn))) => {
                let Some(src) = &e.0 else { return never() };
                let (s, d) = (src.clone(), dn.clone());
                super::derive(&[&**src, &**dn], move |me| {
                    let v = match with_occ(&s, Option::clone) {
                        None => return,
                        Some(Some(v)) => v,
                        Some(None) => d.get().clone(),
                    };
                    me.emit(v);
                })
            }
        }
    }
}
