//! Signals: values defined at every instant (React's `S`).

use std::any::Any;
use std::borrow::Borrow;
use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::rc::Rc;

use super::event::{self, Event, Finaliser};
use super::graph::{self, add_dep, addr, succ, Fused, Header, Node, Updated, Updater, DELAYED, PRIMITIVE};
use super::step::{Step, IN_STEP};
use crate::core::Error;

/// The equality a signal uses to decide whether a new value is a change.
pub(crate) type EqFn<T> = Rc<dyn Fn(&T, &T) -> bool>;
type SUpdate<T> = Box<dyn FnMut(&Rc<SNode<T>>)>;

/// A signal's current value: a `RefCell` shaped for the update steps, that
/// may also be *undefined* for a while (a signal made during a step has no
/// value until its turn in that step, see [`derive`]).
///
/// Code outside the update functions (the user's `with_value`, `value`,
/// printing) borrows it with [`Value::try_borrow`], which counts the
/// reader; the only writer, [`Value::replace`] (a node storing its new
/// value), refuses to write while a reader is counted, so a borrow held
/// across a `set` is caught, as `RefCell` would. Update functions read their
/// producers' values, and `set_eq` its own for the equality, without
/// counting, through [`Value::in_step`]: the counting was a tenth of the
/// cost of a derived signal's update. That is sound because no value is
/// written while such a reference lives: inside a step a value is written
/// by its own node's update, after all its readers of the step (rank
/// order), or, nested in another update, only while it is still undefined
/// (a signal made in the step read before its turn, see [`SNode::get`]),
/// when nobody can hold a reference to it; setting a primitive or executing
/// a step inside a step is refused before anything is written; and
/// `replace` runs no user code while it writes. A defined value never
/// becomes undefined again.
pub(crate) struct Value<T> {
    v: UnsafeCell<Option<T>>,
    /// Counted readers (`try_borrow`) alive now.
    readers: Cell<usize>,
}

/// A counted read of a [`Value`] (as `std::cell::Ref`).
pub(crate) struct ValueRef<'a, T> {
    readers: &'a Cell<usize>,
    v: &'a T,
}

impl<T> Value<T> {
    fn new(v: Option<T>) -> Value<T> {
        Value {
            v: UnsafeCell::new(v),
            readers: Cell::new(0),
        }
    }

    /// Reads the value, counted until the guard is dropped; `None` while it
    /// is undefined.
    #[inline]
    fn try_borrow(&self) -> Option<ValueRef<'_, T>> {
        // SAFETY: `replace` does not run while this reference lives: it is
        // counted (below) before any user code runs, and `replace` refuses
        // to write while a reader is counted.
        let v = unsafe { (*self.v.get()).as_ref() }?;
        self.readers.set(self.readers.get() + 1);
        Some(ValueRef {
            readers: &self.readers,
            v,
        })
    }

    /// Whether the value is still undefined.
    #[inline]
    fn is_undefined(&self) -> bool {
        // SAFETY: a read that ends at once; `replace` runs no user code.
        unsafe { (*self.v.get()).is_none() }
    }

    /// Reads the value without counting, from inside an update step; `None`
    /// while it is undefined.
    ///
    /// # Safety
    /// Only from an update function of the running step (or the equality
    /// check of a value it sets), for a reference that does not outlive the
    /// call: then no `replace` of this value can run while it lives (see
    /// the type's doc).
    #[inline(always)]
    pub(crate) unsafe fn in_step(&self) -> Option<&T> {
        // SAFETY: the caller's promise; `replace` never leaves a write in
        // progress while other code runs.
        unsafe { (*self.v.get()).as_ref() }
    }

    /// Writes `v` and returns the old value (dropped by the caller, after
    /// the write: its drop may run user code).
    ///
    /// # Panics
    /// If a counted reader is alive (a `with_value` closure that set a
    /// signal this one depends on).
    #[inline]
    fn replace(&self, v: T) -> Option<T> {
        if self.readers.get() != 0 {
            written_while_borrowed();
        }
        // SAFETY: no counted reader, no uncounted one either (see the
        // type's doc), and no user code runs until this returns.
        let slot = unsafe { &mut *self.v.get() };
        match slot {
            Some(old) => Some(std::mem::replace(old, v)),
            None => slot.replace(v),
        }
    }
}

impl<T> std::ops::Deref for ValueRef<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        self.v
    }
}

impl<T> Drop for ValueRef<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.readers.set(self.readers.get() - 1);
    }
}

#[cold]
#[inline(never)]
fn written_while_borrowed() -> ! {
    panic!(
        "lwt::react: a signal's value changed while it was borrowed \
         (a `with_value` closure set a signal this one depends on)"
    )
}

thread_local! {
    /// Whether the update function running now computes a signal before its
    /// turn (see [`SNode::get`]): then it must give it a value even where it
    /// would otherwise wait for a producer ranking above (`switch`).
    static EARLY: Cell<bool> = const { Cell::new(false) };
}

#[cold]
#[inline(never)]
fn undefined() -> ! {
    panic!(
        "lwt::react: this signal has no value: it was made during an update step and its \
         function panicked when computing its first value"
    )
}

/// The node of a non-constant signal: its current value.
pub(crate) struct SNode<T: 'static> {
    pub(crate) h: Header,
    pub(crate) value: Value<T>,
    pub(crate) eq: EqFn<T>,
    // Borrowed mutably while the function runs (a node never runs inside
    // its own run). If the node stops itself meanwhile, `run` drops the
    // function once the call is over.
    upd: Updater<SNode<T>>,
}

impl<T: 'static> SNode<T> {
    /// A node whose value is `init`; `None` only for a signal made during a
    /// step (see [`derive`]).
    fn new(rank: u32, eq: EqFn<T>, init: Option<T>, upd: Updater<SNode<T>>) -> Rc<SNode<T>> {
        Rc::new(SNode {
            h: Header::new(rank),
            value: Value::new(init),
            eq,
            upd,
        })
    }

    /// Sets the value in the running step; dependents are scheduled only if
    /// it changed according to the signal's equality.
    pub(crate) fn set(self: &Rc<Self>, v: T) {
        let eq = self.eq.clone();
        self.set_eq(v, &*eq);
    }

    /// The value, read by an update function while its step runs (see
    /// [`Value`]); computed at once if the signal has none yet (see
    /// [`SNode::get`]).
    ///
    /// # Safety
    /// As [`Value::in_step`].
    #[inline(always)]
    pub(crate) unsafe fn value_in_step(self: &Rc<Self>) -> &T {
        // SAFETY: the caller's promise.
        match unsafe { self.value.in_step() } {
            Some(v) => v,
            // SAFETY: the caller's promise.
            None => unsafe { self.value_in_step_cold() },
        }
    }

    /// # Safety
    /// As [`Value::in_step`].
    #[cold]
    #[inline(never)]
    unsafe fn value_in_step_cold(self: &Rc<Self>) -> &T {
        self.compute_early();
        // SAFETY: the caller's promise; the value was undefined, so no
        // reference to it was alive while it was written.
        match unsafe { self.value.in_step() } {
            Some(v) => v,
            None => undefined(),
        }
    }

    /// The value, counted as [`Value::try_borrow`].
    ///
    /// A signal made during a step has no value until its turn in that
    /// step; read before, it is computed at once from its producers'
    /// current values (its update function runs now, and again at its
    /// turn). Outside a step a signal lacks a value only if that first
    /// computation failed: it is tried again in a step of its own.
    ///
    /// # Panics
    /// If the value still cannot be computed (its function panics).
    #[inline]
    pub(crate) fn get(self: &Rc<Self>) -> ValueRef<'_, T> {
        match self.value.try_borrow() {
            Some(r) => r,
            None => self.get_cold(),
        }
    }

    #[cold]
    #[inline(never)]
    fn get_cold(self: &Rc<Self>) -> ValueRef<'_, T> {
        self.compute_early();
        match self.value.try_borrow() {
            Some(r) => r,
            None => undefined(),
        }
    }

    /// Runs the update function of a signal that has no value yet (see
    /// [`SNode::get`]).
    fn compute_early(self: &Rc<Self>) {
        if self.h.stopped.get() {
            return;
        }
        if graph::in_step() {
            // If a plan runs the step, the queue takes over: the plan may
            // not list this node's dependents.
            graph::leave_plan();
            let was = EARLY.with(|e| e.replace(true));
            struct Restore(bool);
            impl Drop for Restore {
                fn drop(&mut self) {
                    let _ = EARLY.try_with(|e| e.set(self.0));
                }
            }
            let _restore = Restore(was);
            self.upd.run(self, &self.h.stopped);
        } else {
            let me: Rc<dyn Node> = self.clone();
            graph::run_step(move || me.run());
        }
    }

    /// The value of a signal known to have one, read by an update function
    /// while its step runs: [`SNode::value_in_step`] without the check.
    ///
    /// The fast combinators (`map`, `merge`) made outside a step use it:
    /// then their producers had values when they were made, and a value
    /// never becomes undefined again.
    ///
    /// # Safety
    /// As [`Value::in_step`], and the signal has a value.
    #[inline(always)]
    pub(crate) unsafe fn value_defined(&self) -> &T {
        debug_assert!(
            !self.value.is_undefined(),
            "lwt::react: a value read as defined was not"
        );
        // SAFETY: the caller's promise.
        match unsafe { self.value.in_step() } {
            Some(v) => v,
            // SAFETY: the caller's promise: the signal has a value.
            None => unsafe { std::hint::unreachable_unchecked() },
        }
    }

    /// [`SNode::set`] with `eq`, the signal's equality: update functions
    /// that know its type call it directly rather than through `self.eq`.
    #[inline]
    pub(crate) fn set_eq<F: Fn(&T, &T) -> bool + ?Sized>(&self, v: T, eq: &F) {
        // SAFETY: no promise made (`DEFINED` is false).
        unsafe { self.set_eq_as::<false, F>(v, eq) }
    }

    /// [`SNode::set_eq`]; with `DEFINED`, for a signal known to have a value
    /// (see [`SNode::value_defined`]), without checking.
    ///
    /// # Safety
    /// If `DEFINED`, the signal has a value.
    #[inline]
    pub(crate) unsafe fn set_eq_as<const DEFINED: bool, F: Fn(&T, &T) -> bool + ?Sized>(&self, v: T, eq: &F) {
        if self.h.stopped.get() {
            return;
        }
        // SAFETY: called by an update function (or a step's primitive
        // update) of the running step, for the duration of `eq`.
        match unsafe { self.value.in_step() } {
            Some(old) if eq(old, &v) => return,
            Some(_) => {}
            // SAFETY: the caller's promise.
            None if DEFINED => unsafe { std::hint::unreachable_unchecked() },
            // A first value (a signal made in this step) is a change too:
            // the dependents made with it in this step run then anyway, and
            // those that read its value "before" (`diff`) learn it.
            None => {}
        }
        self.store(v);
    }

    /// Sets `v`, known to differ from the current value, and schedules the
    /// dependents.
    fn set_changed(&self, v: T) {
        if !self.h.stopped.get() {
            self.store(v);
        }
    }

    #[inline]
    fn store(&self, v: T) {
        let old = self.value.replace(v);
        drop(old);
        self.h.schedule_deps();
    }

    /// Stops the signal: it keeps its last value forever. A signal made in
    /// the running step that has no value yet gets one first.
    pub(crate) fn stop(self: &Rc<Self>) {
        if self.h.stopped.get() {
            return;
        }
        if self.value.is_undefined() && !self.upd.is_running() {
            if graph::in_step() {
                graph::contain(|| self.compute_early());
            } else {
                self.compute_early();
            }
        }
        self.h.mark_stopped();
        self.upd.release();
    }

    fn set_update(&self, f: SUpdate<T>) {
        self.upd.set(f);
    }
}

impl<T: 'static> Updated for SNode<T> {
    fn updater(&self) -> &Updater<Self> {
        &self.upd
    }
}

impl<T: 'static> Node for SNode<T> {
    fn header(&self) -> &Header {
        &self.h
    }

    fn run(self: Rc<Self>) {
        self.upd.run(&self, &self.h.stopped);
    }

    fn fused(&self) -> Option<(Fused, *mut ())> {
        self.upd.fused()
    }
}

pub(crate) enum SRepr<T: 'static> {
    Const(Rc<T>),
    Node(Rc<SNode<T>>),
}

/// A signal: a value at every instant (React's `'a signal`).
///
/// A handle is cheap to clone and single-threaded. A signal is either
/// constant or updated in steps; a derived signal changes only when its
/// function gives a value that its equality (`==` unless given with an
/// `_eq` variant) deems different, and only then are its dependents
/// updated. As with events, **a derived signal is updated only while
/// someone holds it**.
///
/// ```
/// use lwt::react::s;
/// let (celsius, set) = s::create(20.0_f64);
/// let fahrenheit = celsius.map(|c| c * 9.0 / 5.0 + 32.0);
/// assert_eq!(fahrenheit.value(), 68.0);
/// set.set(100.0);
/// assert_eq!(fahrenheit.value(), 212.0);
/// ```
pub struct Signal<T: 'static>(pub(crate) SRepr<T>);

impl<T: 'static> Clone for Signal<T> {
    fn clone(&self) -> Self {
        Signal(match &self.0 {
            SRepr::Const(v) => SRepr::Const(v.clone()),
            SRepr::Node(n) => SRepr::Node(n.clone()),
        })
    }
}

impl<T: 'static> PartialEq for Signal<T> {
    /// Two handles are equal when they are the same signal (physical
    /// equality, as React's `S.bind` uses); two `const_` signals made
    /// separately are different signals.
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (SRepr::Const(a), SRepr::Const(b)) => Rc::ptr_eq(a, b),
            (SRepr::Node(a), SRepr::Node(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl<T: fmt::Debug + 'static> fmt::Debug for Signal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            SRepr::Const(v) => write!(f, "Signal(const {:?})", &**v),
            SRepr::Node(n) => match n.value.try_borrow() {
                Some(v) => write!(f, "Signal({:?})", &*v),
                None => f.write_str("Signal(<no value yet>)"),
            },
        }
    }
}

/// The setting side of a primitive signal (React's `set` function).
pub struct Setter<T: 'static> {
    node: Rc<SNode<T>>,
}

impl<T: 'static> Clone for Setter<T> {
    fn clone(&self) -> Self {
        Setter {
            node: self.node.clone(),
        }
    }
}

impl<T: 'static> fmt::Debug for Setter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Setter")
    }
}

impl<T: 'static> Setter<T> {
    /// Sets the signal to `v` and, if that is a change, runs the update
    /// step that follows before returning.
    ///
    /// # Panics
    ///
    /// When called from inside an update step (see [`Setter::try_set`]).
    #[track_caller]
    pub fn set(&self, v: T) {
        if let Err(e) = self.try_set(v) {
            panic!("{}", e.message());
        }
    }

    /// Like [`Setter::set`], but an `InvalidArgument` error instead of a
    /// panic when called from inside an update step.
    pub fn try_set(&self, v: T) -> Result<(), Error> {
        if graph::in_step() {
            return Err(Error::invalid_argument(IN_STEP));
        }
        let n = &self.node;
        if n.h.stopped.get() || (n.eq)(&n.get(), &v) {
            return Ok(());
        }
        // Equality was just checked: the step sets the value as it is.
        graph::run_step_from(&**n, move || n.set_changed(v));
        Ok(())
    }

    /// Queues the new value `v` on `step`: the signal takes it, simultaneously
    /// with the step's other updates, when the step is executed (React's
    /// `set ~step v`; React sets the value at once, here it waits for the
    /// step).
    ///
    /// # Panics
    ///
    /// If this signal already has a value waiting on a step that has not
    /// executed (see [`Setter::try_set_on`]).
    #[track_caller]
    pub fn set_on(&self, step: &Step, v: T) {
        if let Err(e) = self.try_set_on(step, v) {
            panic!("{}", e.message());
        }
    }

    /// Like [`Setter::set_on`], but an `InvalidArgument` error instead of a
    /// panic.
    pub fn try_set_on(&self, step: &Step, v: T) -> Result<(), Error> {
        let n = self.node.clone();
        step.add(self.node.clone(), "signal", Box::new(move || n.set(v)))
    }

    /// The signal this setter sets.
    pub fn signal(&self) -> Signal<T> {
        Signal(SRepr::Node(self.node.clone()))
    }
}

/// Builds a derived signal of the given producers, whose value is `first`.
///
/// Outside a step, `first` is the signal's value, computed by the caller
/// from the producers' current values (see [`first`] and [`first_or`]).
/// Inside a step, those values may not be final (a producer ranking above
/// the node being updated may still change in the step), so nothing is
/// computed from them: `first` is `None`, or the initial value the
/// combinator was given (`hold`'s, `filter`'s...), and the signal is
/// scheduled in the step, so that its update function gives it its value
/// at its turn, after every producer. A read before then computes it early
/// (see [`SNode::get`]).
pub(crate) fn derive<T: 'static>(
    eq: EqFn<T>,
    first: Option<T>,
    producers: &[&dyn Node],
    upd: impl FnMut(&Rc<SNode<T>>) + 'static,
) -> Signal<T> {
    let rank = producers
        .iter()
        .map(|p| succ(p.header().rank.get()))
        .max()
        .unwrap_or(PRIMITIVE + 1);
    let n = SNode::new(rank, eq, first, Updater::with(upd));
    let d: Rc<dyn Node> = n.clone();
    // An event producer that already occurred in the running step schedules
    // the new node at once (add_dep); a signal producer that changes later
    // in the step schedules it like any dependent.
    for p in producers {
        add_dep(*p, &d);
    }
    if graph::in_step() {
        graph::schedule(d);
    }
    Signal(SRepr::Node(n))
}

/// The first value of a derived signal without an initial value of its
/// own, for [`derive`]: `now()` outside a step, nothing yet inside one.
#[inline]
fn first<T>(now: impl FnOnce() -> T) -> Option<T> {
    if graph::in_step() {
        None
    } else {
        Some(now())
    }
}

/// The first value of a derived signal given the initial value `init`, for
/// [`derive`]: `now(init)` outside a step, `init` inside one (until the
/// signal's turn).
#[inline]
fn first_or<T>(init: T, now: impl FnOnce(T) -> T) -> Option<T> {
    if graph::in_step() {
        Some(init)
    } else {
        Some(now(init))
    }
}

pub(crate) fn eq_of<T: PartialEq + 'static>() -> EqFn<T> {
    Rc::new(T::eq)
}

pub(crate) fn const_signal<T: 'static>(v: T) -> Signal<T> {
    Signal(SRepr::Const(Rc::new(v)))
}

impl<T: 'static> Signal<T> {
    pub(crate) fn dyn_node(&self) -> Option<&dyn Node> {
        match &self.0 {
            SRepr::Const(_) => None,
            SRepr::Node(n) => Some(&**n),
        }
    }

    /// Calls `f` with the current value, without cloning it.
    ///
    /// Inside an update step, a signal that has not been updated yet in the
    /// step shows its previous value (as React's `S.value` does). A signal
    /// made in the running step that has not had its turn yet has no value:
    /// it is computed at once from its producers' current values, and again
    /// at its turn (see the [module docs](crate::react#update-steps)).
    ///
    /// # Panics
    ///
    /// If the signal was made during a step, its function panicked when
    /// computing its first value and panics again now.
    pub fn with_value<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        match &self.0 {
            SRepr::Const(v) => f(v),
            SRepr::Node(n) => f(&n.get()),
        }
    }

    /// The current value (React's `S.value`); see [`Signal::with_value`].
    ///
    /// ```
    /// let (s, set) = lwt::react::s::create(1);
    /// set.set(2);
    /// assert_eq!(s.value(), 2);
    /// ```
    pub fn value(&self) -> T
    where
        T: Clone,
    {
        self.with_value(T::clone)
    }

    /// Whether this signal is constant.
    pub fn is_const(&self) -> bool {
        matches!(self.0, SRepr::Const(_))
    }

    /// Stops updating the signal: it keeps its current value forever and
    /// lets go of what it depends on (React's `S.stop`). A signal made in
    /// the running step and stopped before its turn has no value yet: it is
    /// computed first, from its producers' current values.
    ///
    /// ```
    /// let (s, set) = lwt::react::s::create(1);
    /// let double = s.map(|x| x * 2);
    /// double.stop();
    /// set.set(5);
    /// assert_eq!(double.value(), 2);
    /// ```
    pub fn stop(&self) {
        if let SRepr::Node(n) = &self.0 {
            n.stop();
        }
    }

    /// Keeps `v` alive as long as this signal is (React's `S.retain`),
    /// returning what was retained before; a constant signal cannot retain
    /// anything (an `InvalidArgument` error).
    pub fn retain(&self, v: impl Any) -> Result<Option<Box<dyn Any>>, Error> {
        match &self.0 {
            SRepr::Const(_) => Err(Error::invalid_argument(
                "lwt::react: a constant signal cannot retain a value",
            )),
            SRepr::Node(n) => Ok(n.h.retain(Box::new(v))),
        }
    }

    /// Keeps this signal alive until the thread ends (Lwt_react's `S.keep`).
    pub fn keep(&self) {
        if let SRepr::Node(n) = &self.0 {
            graph::keep_forever(Box::new(n.clone()));
        }
    }

    /// How many dependents this signal tracks, freed ones not yet swept
    /// included (a diagnostic, as [`Event::tracked_dependents`]).
    pub fn tracked_dependents(&self) -> usize {
        match &self.0 {
            SRepr::Const(_) => 0,
            SRepr::Node(n) => n.h.dep_slots(),
        }
    }

    /// A signal that behaves as this one and calls `f` once it is freed
    /// (Lwt_react's `S.with_finaliser`). `f` runs outside any update step.
    pub fn with_finaliser(&self, f: impl FnOnce() + 'static) -> Signal<T>
    where
        T: Clone,
    {
        let out = match &self.0 {
            SRepr::Const(v) => {
                // Give the constant a node to carry the finaliser.
                let n = SNode::new(
                    PRIMITIVE,
                    Rc::new(|_: &T, _: &T| false),
                    Some((**v).clone()),
                    Updater::new(None),
                );
                Signal(SRepr::Node(n))
            }
            SRepr::Node(n) => {
                let eq = n.eq.clone();
                let eq2 = eq.clone();
                self.map_rc(eq, move |a: &T, b: &T| eq2(a, b), T::clone)
            }
        };
        if let SRepr::Node(n) = &out.0 {
            n.h.retain(Box::new(Finaliser(Some(Box::new(f)))));
        }
        out
    }

    /// `eq` is the node's equality, `same` the same function statically
    /// known (so that the update function calls it directly).
    fn map_rc<U: 'static>(
        &self,
        eq: EqFn<U>,
        same: impl Fn(&U, &U) -> bool + 'static,
        mut f: impl FnMut(&T) -> U + 'static,
    ) -> Signal<U> {
        match &self.0 {
            SRepr::Const(v) => const_signal(f(v)),
            SRepr::Node(n) => {
                let s = n.clone();
                match first(|| f(&n.get())) {
                    // Made outside a step: `s` and the new signal have
                    // values for good, the update skips the checks.
                    Some(init) => derive(eq, Some(init), &[&**n], move |me| {
                        // SAFETY: an update function, during its step; both
                        // signals have values (see above).
                        unsafe {
                            let v = f(s.value_defined());
                            me.set_eq_as::<true, _>(v, &same);
                        }
                    }),
                    None => derive(eq, None, &[&**n], move |me| {
                        // SAFETY: an update function, during its step.
                        let v = f(unsafe { s.value_in_step() });
                        me.set_eq(v, &same);
                    }),
                }
            }
        }
    }

    /// `f` of this signal's value, at every instant (React's `S.map`).
    ///
    /// ```
    /// let (s, set) = lwt::react::s::create(3);
    /// let square = s.map(|x| x * x);
    /// set.set(4);
    /// assert_eq!(square.value(), 16);
    /// ```
    pub fn map<U: PartialEq + 'static>(&self, f: impl FnMut(&T) -> U + 'static) -> Signal<U> {
        self.map_rc(eq_of(), U::eq, f)
    }

    /// [`Signal::map`] with the equality `eq` (React's `S.map ~eq`).
    pub fn map_eq<U: 'static>(
        &self,
        eq: impl Fn(&U, &U) -> bool + 'static,
        f: impl FnMut(&T) -> U + 'static,
    ) -> Signal<U> {
        let eq = Rc::new(eq);
        let same = eq.clone();
        self.map_rc(eq, move |a: &U, b: &U| same(a, b), f)
    }

    /// This signal's values that satisfy `p`; while they do not, the last one
    /// that did, or `init` (React's `S.filter`).
    pub fn filter(&self, p: impl FnMut(&T) -> bool + 'static, init: T) -> Signal<T>
    where
        T: Clone + PartialEq,
    {
        self.filter_eq(T::eq, p, init)
    }

    /// [`Signal::filter`] with the equality `eq`.
    pub fn filter_eq(
        &self,
        eq: impl Fn(&T, &T) -> bool + 'static,
        mut p: impl FnMut(&T) -> bool + 'static,
        init: T,
    ) -> Signal<T>
    where
        T: Clone,
    {
        self.filter_map_eq(eq, move |x| if p(x) { Some(x.clone()) } else { None }, init)
    }

    /// This signal mapped by `f`; while `f` gives `None`, the last `Some`
    /// value, or `init` (React's `S.fmap`).
    pub fn filter_map<U: PartialEq + 'static>(&self, f: impl FnMut(&T) -> Option<U> + 'static, init: U) -> Signal<U> {
        self.filter_map_eq(U::eq, f, init)
    }

    /// [`Signal::filter_map`] with the equality `eq`.
    pub fn filter_map_eq<U: 'static>(
        &self,
        eq: impl Fn(&U, &U) -> bool + 'static,
        mut f: impl FnMut(&T) -> Option<U> + 'static,
        init: U,
    ) -> Signal<U> {
        match &self.0 {
            SRepr::Const(v) => const_signal(f(v).unwrap_or(init)),
            SRepr::Node(n) => {
                let first = first_or(init, |init| f(&n.get()).unwrap_or(init));
                let s = n.clone();
                derive(Rc::new(eq), first, &[&**n], move |me| {
                    // SAFETY: an update function, during its step.
                    let v = f(unsafe { s.value_in_step() });
                    if let Some(v) = v {
                        me.set(v);
                    }
                })
            }
        }
    }

    /// Occurs with `f(new, old)` whenever the signal changes (React's
    /// `S.diff`). A signal created during a step does not occur in that
    /// step.
    pub fn diff<U: 'static>(&self, mut f: impl FnMut(&T, &T) -> U + 'static) -> Event<U>
    where
        T: Clone,
    {
        let SRepr::Node(n) = &self.0 else { return event::never() };
        let s = n.clone();
        // A signal made in the running step may have no value yet: it gets
        // one at its turn, which runs this event too.
        let mut last = n.value.try_borrow().map(|v| v.clone());
        let born = graph::step_id();
        event::derive(&[&**n], move |me| {
            let v = s.get().clone();
            let before = match &last {
                Some(before) if born == 0 || graph::step_id() != born => before,
                // React adds this dependency only at the end of the creating
                // step: time starts at creation, there is no "before".
                _ => {
                    last = Some(v);
                    return;
                }
            };
            let out = f(&v, before);
            last = Some(v);
            me.emit(out);
        })
    }

    /// Occurs with the new value whenever the signal changes (React's
    /// `S.changes`).
    ///
    /// ```
    /// let (s, set) = lwt::react::s::create(0);
    /// let next = s.changes().next();
    /// set.set(0); // no change
    /// set.set(7);
    /// assert_eq!(next.state(), lwt::State::Fulfilled(7));
    /// ```
    pub fn changes(&self) -> Event<T>
    where
        T: Clone,
    {
        self.diff(|v, _| v.clone())
    }

    /// This signal while `c` is true; while it is false, the value it had
    /// when `c` was last true, or `init` (React's `S.on`, the former
    /// `S.when_`).
    pub fn on(&self, c: &Signal<bool>, init: T) -> Signal<T>
    where
        T: Clone + PartialEq,
    {
        self.on_eq(T::eq, c, init)
    }

    /// [`Signal::on`] with the equality `eq`.
    pub fn on_eq(&self, eq: impl Fn(&T, &T) -> bool + 'static, c: &Signal<bool>, init: T) -> Signal<T>
    where
        T: Clone,
    {
        let cn = match &c.0 {
            SRepr::Const(b) => return if **b { self.clone() } else { const_signal(init) },
            SRepr::Node(cn) => cn.clone(),
        };
        let first = first_or(init, |init| if *cn.get() { self.value() } else { init });
        let src = self.clone();
        let c2 = cn.clone();
        let mut producers: Vec<&dyn Node> = vec![&*cn];
        producers.extend(self.dyn_node());
        derive(Rc::new(eq), first, &producers, move |me| {
            if *c2.get() {
                me.set(src.value());
            }
        })
    }

    /// This signal, except that its changes at the instants `c` occurs are
    /// ignored (React's `S.dismiss`); if `c` occurs at creation, `init` is
    /// the initial value.
    pub fn dismiss<B: 'static>(&self, c: &Event<B>, init: T) -> Signal<T>
    where
        T: Clone + PartialEq,
    {
        self.dismiss_eq(T::eq, c, init)
    }

    /// [`Signal::dismiss`] with the equality `eq`.
    pub fn dismiss_eq<B: 'static>(&self, eq: impl Fn(&T, &T) -> bool + 'static, c: &Event<B>, init: T) -> Signal<T>
    where
        T: Clone,
    {
        let Some(cn) = c.node() else { return self.clone() };
        let first = first_or(init, |init| if cn.occurring() { init } else { self.value() });
        let src = self.clone();
        let c2 = cn.clone();
        let mut producers: Vec<&dyn Node> = vec![&**cn];
        producers.extend(self.dyn_node());
        derive(Rc::new(eq), first, &producers, move |me| {
            if !c2.occurring() {
                me.set(src.value());
            }
        })
    }

    /// Whenever `s` switches from one signal to another, the value of the new
    /// one: `s.bind(f)` is `switch(s.map(f))` (React's and Lwt_react's
    /// `S.bind`).
    ///
    /// ```
    /// use lwt::react::s;
    /// let (use_a, choose) = s::create(true);
    /// let (a, set_a) = s::create(1);
    /// let b = s::const_(100);
    /// let chosen = use_a.bind(move |x| if *x { a.clone() } else { b.clone() });
    /// set_a.set(2);
    /// assert_eq!(chosen.value(), 2);
    /// choose.set(false);
    /// assert_eq!(chosen.value(), 100);
    /// ```
    pub fn bind<U: Clone + PartialEq + 'static>(&self, f: impl FnMut(&T) -> Signal<U> + 'static) -> Signal<U> {
        self.bind_eq(U::eq, f)
    }

    /// [`Signal::bind`] with the equality `eq`.
    pub fn bind_eq<U: Clone + 'static>(
        &self,
        eq: impl Fn(&U, &U) -> bool + 'static,
        f: impl FnMut(&T) -> Signal<U> + 'static,
    ) -> Signal<U> {
        switch_eq(eq, &self.map_eq(Signal::eq, f))
    }

    /// This signal, with `f` called on its initial value and on every change
    /// (React's `S.trace`).
    pub fn trace(&self, mut f: impl FnMut(&T) + 'static) -> Signal<T>
    where
        T: Clone,
    {
        match &self.0 {
            SRepr::Const(v) => {
                f(v);
                self.clone()
            }
            SRepr::Node(n) => {
                let eq = n.eq.clone();
                let eq2 = eq.clone();
                self.map_rc(
                    eq,
                    move |a: &T, b: &T| eq2(a, b),
                    move |x| {
                        f(x);
                        x.clone()
                    },
                )
            }
        }
    }
}

/// A constant signal (React's `S.const`, Lwt_react's `S.return`; `const`
/// is a Rust keyword).
///
/// ```
/// let s = lwt::react::s::const_(42);
/// assert!(s.is_const());
/// assert_eq!(s.value(), 42);
/// ```
pub fn const_<T: 'static>(v: T) -> Signal<T> {
    const_signal(v)
}

/// A primitive signal with initial value `init`, and its setter (React's
/// `S.create`); a new value equal (`==`) to the current one is no change.
///
/// ```
/// use lwt::react::s;
/// use std::{cell::Cell, rc::Rc};
/// let (s, set) = s::create(1);
/// let updates = Rc::new(Cell::new(0));
/// let u = updates.clone();
/// let _watch = s.map(move |_| u.set(u.get() + 1)); // 1: initialisation
/// set.set(2);
/// set.set(2); // equal: nothing happens
/// set.set(3);
/// assert_eq!(updates.get(), 3);
/// ```
pub fn create<T: PartialEq + 'static>(init: T) -> (Signal<T>, Setter<T>) {
    create_eq(T::eq, init)
}

/// [`create`] with the equality `eq`.
pub fn create_eq<T: 'static>(eq: impl Fn(&T, &T) -> bool + 'static, init: T) -> (Signal<T>, Setter<T>) {
    let n = SNode::new(PRIMITIVE, Rc::new(eq), Some(init), Updater::new(None));
    (Signal(SRepr::Node(n.clone())), Setter { node: n })
}

/// The value of `e`'s last occurrence, or `init` before the first (React's
/// `S.hold`).
///
/// ```
/// use lwt::react::{e, s};
/// let (ev, send) = e::create::<&str>();
/// let last = s::hold("none", &ev);
/// send.send("one");
/// assert_eq!(last.value(), "one");
/// ```
pub fn hold<T: Clone + PartialEq + 'static>(init: T, e: &Event<T>) -> Signal<T> {
    hold_eq(T::eq, init, e)
}

/// [`hold`] with the equality `eq`.
pub fn hold_eq<T: Clone + 'static>(eq: impl Fn(&T, &T) -> bool + 'static, init: T, e: &Event<T>) -> Signal<T> {
    hold_rc(Rc::new(eq), init, e)
}

pub(crate) fn hold_rc<T: Clone + 'static>(eq: EqFn<T>, init: T, e: &Event<T>) -> Signal<T> {
    let Some(en) = e.node() else { return const_signal(init) };
    let src = en.clone();
    derive(eq, Some(init), &[&**en], move |me| {
        let v = src.occ.borrow().clone();
        if let Some(v) = v {
            me.set(v);
        }
    })
}

/// Starting from `init`, the value changed by each function occurring on
/// `ef` (React's `S.accum`).
pub fn accum<F: Fn(&T) -> T + 'static, T: PartialEq + 'static>(ef: &Event<F>, init: T) -> Signal<T> {
    accum_eq(T::eq, ef, init)
}

/// [`accum`] with the equality `eq`.
pub fn accum_eq<F: Fn(&T) -> T + 'static, T: 'static>(
    eq: impl Fn(&T, &T) -> bool + 'static,
    ef: &Event<F>,
    init: T,
) -> Signal<T> {
    let Some(en) = ef.node() else { return const_signal(init) };
    let src = en.clone();
    derive(Rc::new(eq), Some(init), &[&**en], move |me| {
        let v = match &*src.occ.borrow() {
            Some(f) => f(&me.get()),
            None => return,
        };
        me.set(v);
    })
}

/// The running accumulation `f(acc, x)` of `e`'s occurrences, starting from
/// `init` (React's `S.fold`).
///
/// ```
/// use lwt::react::{e, s};
/// let (ev, send) = e::create::<u32>();
/// let total = s::fold(|acc, x| acc + x, 0, &ev);
/// send.send(2);
/// send.send(5);
/// assert_eq!(total.value(), 7);
/// ```
pub fn fold<A: PartialEq + 'static, T: 'static>(
    f: impl FnMut(&A, &T) -> A + 'static,
    init: A,
    e: &Event<T>,
) -> Signal<A> {
    fold_eq(A::eq, f, init, e)
}

/// [`fold`] with the equality `eq`.
pub fn fold_eq<A: 'static, T: 'static>(
    eq: impl Fn(&A, &A) -> bool + 'static,
    mut f: impl FnMut(&A, &T) -> A + 'static,
    init: A,
    e: &Event<T>,
) -> Signal<A> {
    let Some(en) = e.node() else { return const_signal(init) };
    let src = en.clone();
    derive(Rc::new(eq), Some(init), &[&**en], move |me| {
        let v = match &*src.occ.borrow() {
            Some(x) => f(&me.get(), x),
            None => return,
        };
        me.set(v);
    })
}

/// Samples `s` at `e`'s occurrences: occurs with `f(occurrence, value)`
/// (React's `S.sample`).
///
/// ```
/// use lwt::react::{e, s};
/// let (clicks, click) = e::create::<()>();
/// let (pos, set_pos) = s::create(0);
/// let at_click = s::sample(|_, p| *p, &clicks, &pos);
/// let next = at_click.next();
/// set_pos.set(12);
/// click.send(());
/// assert_eq!(next.state(), lwt::State::Fulfilled(12));
/// ```
pub fn sample<B: 'static, T: 'static, R: 'static>(
    mut f: impl FnMut(&B, &T) -> R + 'static,
    e: &Event<B>,
    s: &Signal<T>,
) -> Event<R> {
    let Some(en) = e.node() else { return event::never() };
    match &s.0 {
        SRepr::Const(v) => {
            let v = v.clone();
            e.map(move |x| f(x, &v))
        }
        SRepr::Node(sn) => {
            let (e2, s2) = (en.clone(), sn.clone());
            event::derive(&[&**en, &**sn], move |me| {
                let v = match &*e2.occ.borrow() {
                    Some(x) => f(x, &s2.get()),
                    None => return,
                };
                me.emit(v);
            })
        }
    }
}

/// `f` folded, left to right from `init`, over the values of all the given
/// signals, at every instant (React's `S.merge`).
pub fn merge<A: PartialEq + Clone + 'static, T: 'static, S: Borrow<Signal<T>>>(
    f: impl FnMut(A, &T) -> A + 'static,
    init: A,
    signals: impl IntoIterator<Item = S>,
) -> Signal<A> {
    merge_eq(A::eq, f, init, signals)
}

/// [`merge`] with the equality `eq`.
pub fn merge_eq<A: Clone + 'static, T: 'static, S: Borrow<Signal<T>>>(
    eq: impl Fn(&A, &A) -> bool + 'static,
    mut f: impl FnMut(A, &T) -> A + 'static,
    init: A,
    signals: impl IntoIterator<Item = S>,
) -> Signal<A> {
    let sigs: Vec<Signal<T>> = signals.into_iter().map(|s| s.borrow().clone()).collect();
    let mut fold_now = || {
        let mut acc = init.clone();
        for s in &sigs {
            acc = s.with_value(|v| f(acc, v));
        }
        acc
    };
    let producers: Vec<&dyn Node> = sigs.iter().filter_map(Signal::dyn_node).collect();
    if producers.is_empty() {
        return const_signal(fold_now());
    }
    let first = first(fold_now);
    let eq = Rc::new(eq);
    let same = eq.clone();
    if producers.len() == sigs.len() {
        // No constant among them (the usual case): fold over the nodes'
        // values directly, without telling constants from nodes at every
        // step.
        let nodes: Vec<Rc<SNode<T>>> = sigs
            .iter()
            .filter_map(|s| match &s.0 {
                SRepr::Node(n) => Some(n.clone()),
                SRepr::Const(_) => None,
            })
            .collect();
        if first.is_some() {
            // Made outside a step: the nodes and the new signal have values
            // for good, the update skips the checks.
            return derive(eq, first, &producers, move |me| {
                let mut acc = init.clone();
                for n in &nodes {
                    // SAFETY: an update function, during its step; `n` has a
                    // value (see above).
                    acc = f(acc, unsafe { n.value_defined() });
                }
                // SAFETY: the new signal has a value (see above).
                unsafe { me.set_eq_as::<true, _>(acc, &*same) };
            });
        }
        return derive(eq, first, &producers, move |me| {
            let mut acc = init.clone();
            for n in &nodes {
                // SAFETY: an update function, during its step.
                acc = f(acc, unsafe { n.value_in_step() });
            }
            me.set_eq(acc, &*same);
        });
    }
    let sigs2 = sigs.clone();
    derive(eq, first, &producers, move |me| {
        let mut acc = init.clone();
        for s in &sigs2 {
            acc = s.with_value(|v| f(acc, v));
        }
        me.set_eq(acc, &*same);
    })
}

/// `sf`'s function applied to `s`'s value, at every instant (React's
/// `S.app`).
pub fn app<F: Fn(&A) -> B + 'static, A: 'static, B: PartialEq + 'static>(sf: &Signal<F>, s: &Signal<A>) -> Signal<B> {
    app_eq(B::eq, sf, s)
}

/// [`app`] with the equality `eq`.
pub fn app_eq<F: Fn(&A) -> B + 'static, A: 'static, B: 'static>(
    eq: impl Fn(&B, &B) -> bool + 'static,
    sf: &Signal<F>,
    s: &Signal<A>,
) -> Signal<B> {
    l2_eq(eq, |f: &F, a: &A| f(a), sf, s)
}

/// The value of the signal that `ss` currently holds (React's `S.switch`).
///
/// ```
/// use lwt::react::s;
/// let (a, set_a) = s::create(1);
/// let (ss, set_ss) = s::create_eq(lwt::react::Signal::eq, a.clone());
/// let current = s::switch(&ss);
/// set_a.set(2);
/// assert_eq!(current.value(), 2);
/// set_ss.set(s::const_(9));
/// assert_eq!(current.value(), 9);
/// ```
pub fn switch<T: Clone + PartialEq + 'static>(ss: &Signal<Signal<T>>) -> Signal<T> {
    switch_eq(T::eq, ss)
}

/// [`switch`] with the equality `eq`.
pub fn switch_eq<T: Clone + 'static>(eq: impl Fn(&T, &T) -> bool + 'static, ss: &Signal<Signal<T>>) -> Signal<T> {
    let ssn = match &ss.0 {
        SRepr::Const(s) => return (**s).clone(),
        SRepr::Node(n) => n.clone(),
    };
    // The signal followed; `None` while the outer signal has no value yet
    // (made in the running step, as by `bind`): the first update picks it.
    let mut src: Option<Signal<T>> = if graph::in_step() {
        ssn.value.try_borrow().map(|s| s.clone())
    } else {
        Some(ssn.get().clone())
    };
    let first = src.as_ref().and_then(|s| first(|| s.value()));
    let mut producers: Vec<&dyn Node> = vec![&*ssn];
    let src_for_deps = src.clone();
    producers.extend(src_for_deps.as_ref().and_then(Signal::dyn_node));
    let ss2 = ssn.clone();
    derive(Rc::new(eq), first, &producers, move |me| {
        let current = ss2.get().clone();
        if src.as_ref() == Some(&current) {
            // The outer signal did not change: the inner one did.
            let v = current.value();
            me.set(v);
            return;
        }
        let me_dyn: Rc<dyn Node> = me.clone();
        if let Some(Signal(SRepr::Node(old))) = &src {
            old.h.remove_dep(addr(me));
        }
        match &src.insert(current).0 {
            SRepr::Const(v) => {
                graph::raise_rank(&me_dyn, succ(ss2.h.rank.get()));
                me.set((**v).clone());
            }
            SRepr::Node(m) => {
                m.h.push_dep(Rc::downgrade(&me_dyn));
                let wanted = succ(m.h.rank.get()).max(succ(ss2.h.rank.get()));
                if graph::raise_rank(&me_dyn, wanted) {
                    // The new inner signal ranks above us: it may still
                    // change in this step. Run again after it.
                    graph::allow_reschedule(&*me_dyn);
                    graph::rebuild_queue();
                    graph::schedule(me_dyn);
                    if me.value.is_undefined() && EARLY.with(Cell::get) {
                        // Read before its turn: a value now, from the
                        // current ones, as for any signal read early.
                        let v = m.get().clone();
                        me.set(v);
                    }
                } else {
                    let v = m.get().clone();
                    me.set(v);
                }
            }
        }
    })
}

/// Lets a signal refer to its own value "an instant before" (React's
/// `S.fix`).
///
/// `f` receives `d`, the signal it returns delayed by one step (initially
/// `init`); `fix` returns `f`'s second result. When the returned signal
/// changes in a step, `d` takes that value in a new step right after. If the
/// returned signal starts with a value other than `init`, that first step
/// runs at once (or at the end of the running step).
///
/// # Panics
///
/// If `f` returns a delayed signal itself: map it with the identity first.
///
/// ```
/// use lwt::react::{e, s};
/// // A history of the distinct values of `x`, newest first.
/// let (x, set_x) = s::create(1);
/// let history = s::fix(Vec::new(), |prev: &lwt::react::Signal<Vec<i32>>| {
///     let h = s::l2(
///         |v: &i32, h: &Vec<i32>| {
///             let mut h2 = h.clone();
///             if h2.first() != Some(v) {
///                 h2.insert(0, *v);
///             }
///             h2
///         },
///         &x,
///         prev,
///     );
///     (h.clone(), h)
/// });
/// set_x.set(2);
/// set_x.set(3);
/// assert_eq!(history.value(), vec![3, 2, 1]);
/// ```
#[track_caller]
pub fn fix<T: Clone + PartialEq + 'static, R>(init: T, f: impl FnOnce(&Signal<T>) -> (Signal<T>, R)) -> R {
    fix_eq(T::eq, init, f)
}

/// [`fix`] with the equality `eq` for the delayed signal.
#[track_caller]
pub fn fix_eq<T: Clone + 'static, R>(
    eq: impl Fn(&T, &T) -> bool + 'static,
    init: T,
    f: impl FnOnce(&Signal<T>) -> (Signal<T>, R),
) -> R {
    let d = SNode::new(DELAYED, Rc::new(eq), Some(init), Updater::new(None));
    let (out, r) = f(&Signal(SRepr::Node(d.clone())));
    match &out.0 {
        SRepr::Const(v) => {
            let v = v.clone();
            d.set_update(Box::new(move |me| me.set((*v).clone())));
        }
        SRepr::Node(m) => {
            if m.h.rank.get() == DELAYED {
                panic!(
                    "lwt::react::s::fix: the fixing function returned a delayed signal; map it with the identity first"
                );
            }
            // Weak, as in `e::fix`: the source holds `d` through its own
            // producers.
            let w = Rc::downgrade(m);
            d.set_update(Box::new(move |me| {
                if let Some(m) = w.upgrade() {
                    let v = m.get().clone();
                    me.set(v);
                }
            }));
            let d_dyn: Rc<dyn Node> = d.clone();
            m.h.push_dep(Rc::downgrade(&d_dyn));
        }
    }
    // The delayed signal must catch up with the returned signal's initial
    // value: in a step of its own now, or in the delayed phase of the
    // running step.
    let d_dyn: Rc<dyn Node> = d;
    if graph::in_step() {
        graph::schedule(d_dyn);
    } else {
        graph::run_step(move || d_dyn.run());
    }
    r
}

/// React's `S.l1`: the same as [`Signal::map`].
pub fn l1<A: 'static, R: PartialEq + 'static>(f: impl FnMut(&A) -> R + 'static, a: &Signal<A>) -> Signal<R> {
    a.map(f)
}

/// [`l1`] with the equality `eq`.
pub fn l1_eq<A: 'static, R: 'static>(
    eq: impl Fn(&R, &R) -> bool + 'static,
    f: impl FnMut(&A) -> R + 'static,
    a: &Signal<A>,
) -> Signal<R> {
    a.map_eq(eq, f)
}

/// `f` of both signals' values, at every instant (React's `S.l2`).
///
/// ```
/// use lwt::react::s;
/// let (w, set_w) = s::create(2);
/// let (h, set_h) = s::create(3);
/// let area = s::l2(|w, h| w * h, &w, &h);
/// set_w.set(4);
/// set_h.set(5);
/// assert_eq!(area.value(), 20);
/// ```
pub fn l2<A: 'static, B: 'static, R: PartialEq + 'static>(
    f: impl FnMut(&A, &B) -> R + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
) -> Signal<R> {
    l2_eq(R::eq, f, a, b)
}

/// [`l2`] with the equality `eq`.
pub fn l2_eq<A: 'static, B: 'static, R: 'static>(
    eq: impl Fn(&R, &R) -> bool + 'static,
    mut f: impl FnMut(&A, &B) -> R + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
) -> Signal<R> {
    let producers: Vec<&dyn Node> = [a.dyn_node(), b.dyn_node()].into_iter().flatten().collect();
    let mut now = || a.with_value(|x| b.with_value(|y| f(x, y)));
    if producers.is_empty() {
        return const_signal(now());
    }
    let first = first(now);
    let (a2, b2) = (a.clone(), b.clone());
    derive(Rc::new(eq), first, &producers, move |me| {
        let v = a2.with_value(|x| b2.with_value(|y| f(x, y)));
        me.set(v);
    })
}

/// `f` of the three signals' values (React's `S.l3`).
pub fn l3<A: 'static, B: 'static, C: 'static, R: PartialEq + 'static>(
    f: impl FnMut(&A, &B, &C) -> R + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
    c: &Signal<C>,
) -> Signal<R> {
    l3_eq(R::eq, f, a, b, c)
}

/// [`l3`] with the equality `eq`.
pub fn l3_eq<A: 'static, B: 'static, C: 'static, R: 'static>(
    eq: impl Fn(&R, &R) -> bool + 'static,
    mut f: impl FnMut(&A, &B, &C) -> R + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
    c: &Signal<C>,
) -> Signal<R> {
    let producers: Vec<&dyn Node> = [a.dyn_node(), b.dyn_node(), c.dyn_node()]
        .into_iter()
        .flatten()
        .collect();
    let mut now = || a.with_value(|x| b.with_value(|y| c.with_value(|z| f(x, y, z))));
    if producers.is_empty() {
        return const_signal(now());
    }
    let first = first(now);
    let (a2, b2, c2) = (a.clone(), b.clone(), c.clone());
    derive(Rc::new(eq), first, &producers, move |me| {
        let v = a2.with_value(|x| b2.with_value(|y| c2.with_value(|z| f(x, y, z))));
        me.set(v);
    })
}

/// `f` of the four signals' values (React's `S.l4`).
pub fn l4<A: 'static, B: 'static, C: 'static, D: 'static, R: PartialEq + 'static>(
    f: impl FnMut(&A, &B, &C, &D) -> R + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
    c: &Signal<C>,
    d: &Signal<D>,
) -> Signal<R> {
    l4_eq(R::eq, f, a, b, c, d)
}

/// [`l4`] with the equality `eq`.
pub fn l4_eq<A: 'static, B: 'static, C: 'static, D: 'static, R: 'static>(
    eq: impl Fn(&R, &R) -> bool + 'static,
    mut f: impl FnMut(&A, &B, &C, &D) -> R + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
    c: &Signal<C>,
    d: &Signal<D>,
) -> Signal<R> {
    let producers: Vec<&dyn Node> = [a.dyn_node(), b.dyn_node(), c.dyn_node(), d.dyn_node()]
        .into_iter()
        .flatten()
        .collect();
    let mut now = || a.with_value(|x| b.with_value(|y| c.with_value(|z| d.with_value(|w| f(x, y, z, w)))));
    if producers.is_empty() {
        return const_signal(now());
    }
    let first = first(now);
    let (a2, b2, c2, d2) = (a.clone(), b.clone(), c.clone(), d.clone());
    derive(Rc::new(eq), first, &producers, move |me| {
        let v = a2.with_value(|x| b2.with_value(|y| c2.with_value(|z| d2.with_value(|w| f(x, y, z, w)))));
        me.set(v);
    })
}

/// `f` of the five signals' values (React's `S.l5`).
pub fn l5<A: 'static, B: 'static, C: 'static, D: 'static, E: 'static, R: PartialEq + 'static>(
    f: impl FnMut(&A, &B, &C, &D, &E) -> R + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
    c: &Signal<C>,
    d: &Signal<D>,
    e: &Signal<E>,
) -> Signal<R> {
    l5_eq(R::eq, f, a, b, c, d, e)
}

/// [`l5`] with the equality `eq`.
#[allow(clippy::too_many_arguments)]
pub fn l5_eq<A: 'static, B: 'static, C: 'static, D: 'static, E: 'static, R: 'static>(
    eq: impl Fn(&R, &R) -> bool + 'static,
    mut f: impl FnMut(&A, &B, &C, &D, &E) -> R + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
    c: &Signal<C>,
    d: &Signal<D>,
    e: &Signal<E>,
) -> Signal<R> {
    let producers: Vec<&dyn Node> = [a.dyn_node(), b.dyn_node(), c.dyn_node(), d.dyn_node(), e.dyn_node()]
        .into_iter()
        .flatten()
        .collect();
    let mut g = move |a: &Signal<A>, b: &Signal<B>, c: &Signal<C>, d: &Signal<D>, e: &Signal<E>| {
        a.with_value(|x| b.with_value(|y| c.with_value(|z| d.with_value(|w| e.with_value(|u| f(x, y, z, w, u))))))
    };
    if producers.is_empty() {
        return const_signal(g(a, b, c, d, e));
    }
    let first = first(|| g(a, b, c, d, e));
    let (a2, b2, c2, d2, e2) = (a.clone(), b.clone(), c.clone(), d.clone(), e.clone());
    derive(Rc::new(eq), first, &producers, move |me| {
        let v = g(&a2, &b2, &c2, &d2, &e2);
        me.set(v);
    })
}

/// `f` of the six signals' values (React's `S.l6`).
#[allow(clippy::too_many_arguments)]
pub fn l6<A: 'static, B: 'static, C: 'static, D: 'static, E: 'static, F: 'static, R: PartialEq + 'static>(
    f: impl FnMut(&A, &B, &C, &D, &E, &F) -> R + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
    c: &Signal<C>,
    d: &Signal<D>,
    e: &Signal<E>,
    g: &Signal<F>,
) -> Signal<R> {
    l6_eq(R::eq, f, a, b, c, d, e, g)
}

/// [`l6`] with the equality `eq`.
#[allow(clippy::too_many_arguments)]
pub fn l6_eq<A: 'static, B: 'static, C: 'static, D: 'static, E: 'static, F: 'static, R: 'static>(
    eq: impl Fn(&R, &R) -> bool + 'static,
    mut f: impl FnMut(&A, &B, &C, &D, &E, &F) -> R + 'static,
    a: &Signal<A>,
    b: &Signal<B>,
    c: &Signal<C>,
    d: &Signal<D>,
    e: &Signal<E>,
    g: &Signal<F>,
) -> Signal<R> {
    let producers: Vec<&dyn Node> = [
        a.dyn_node(),
        b.dyn_node(),
        c.dyn_node(),
        d.dyn_node(),
        e.dyn_node(),
        g.dyn_node(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut h = move |a: &Signal<A>, b: &Signal<B>, c: &Signal<C>, d: &Signal<D>, e: &Signal<E>, g: &Signal<F>| {
        a.with_value(|x| {
            b.with_value(|y| {
                c.with_value(|z| d.with_value(|w| e.with_value(|u| g.with_value(|t| f(x, y, z, w, u, t)))))
            })
        })
    };
    if producers.is_empty() {
        return const_signal(h(a, b, c, d, e, g));
    }
    let first = first(|| h(a, b, c, d, e, g));
    let (a2, b2, c2, d2, e2, g2) = (a.clone(), b.clone(), c.clone(), d.clone(), e.clone(), g.clone());
    derive(Rc::new(eq), first, &producers, move |me| {
        let v = h(&a2, &b2, &c2, &d2, &e2, &g2);
        me.set(v);
    })
}
