//! A callback stored inline: the one allocation-free trick of the core.
//!
//! Every bind attaches one callback to a pending promise. Boxing it as
//! `Box<dyn FnOnce>` costs an allocation and a free per bind, about as much
//! as everything else a bind does. The closures the core attaches are small
//! (the user's function, the promise to resolve, a storage snapshot), so a
//! [`Callback`] keeps closures of up to four words in place, next to a
//! pointer to a table of two functions (call, drop) made for the closure's
//! type; bigger closures go to a block of the node free lists. This is the "small box" of
//! crates like `smallbox`, reduced to the one signature we need.
//!
//! [`Callbacks`], the list of a pending node, is one such callback too: most
//! promises have a single callback, which is stored as is; from the second
//! one on the slot holds a `Vec` of them, marked by a table of its own. So
//! the list costs a node five words, not six or seven.

use super::freelist;
use super::freevec::FreeVec;
use super::rc::NodeRef;
use std::marker::PhantomData;
use std::mem::{align_of, size_of, ManuallyDrop, MaybeUninit};
use std::ptr::{self, NonNull};

const WORDS: usize = 4;
type Slot = [usize; WORDS];

/// A word of the slot: possibly uninitialised (a closure smaller than the
/// slot, or with padding, leaves bytes unwritten).
type Word = MaybeUninit<usize>;

/// How a callback is called: with the four words of its slot *by value*,
/// in registers. Passing a pointer to the slot instead made the closure
/// be read back with wide loads right after the caller had moved the slot
/// with narrow stores, a store-forwarding stall that was the hottest
/// instruction of the pause loop; the words are in registers already.
type CallFn<T> = unsafe fn(Word, Word, Word, Word, &NodeRef<T>);

struct VTable<T: 'static> {
    /// Moves the closure out of the slot and calls it.
    call: CallFn<T>,
    /// Drops the closure in the slot without calling it.
    drop: unsafe fn(*mut Slot),
    /// Whether calling the closure in the slot would do nothing any more
    /// (see [`Expire`]); `None` for callbacks that always matter.
    expired: Option<unsafe fn(*const Slot) -> bool>,
    /// Runs only when the promise ends canceled, before the others.
    cancel: bool,
    /// The slot holds a `FreeVec<Callback<T>>` (see [`Callbacks`]).
    many: bool,
}

impl<T: 'static> VTable<T> {
    const fn new(call: CallFn<T>, drop: unsafe fn(*mut Slot), cancel: bool, many: bool) -> Self {
        VTable {
            call,
            drop,
            expired: None,
            cancel,
            many,
        }
    }

    const fn expiring(call: CallFn<T>, drop: unsafe fn(*mut Slot), expired: unsafe fn(*const Slot) -> bool) -> Self {
        VTable {
            call,
            drop,
            expired: Some(expired),
            cancel: false,
            many: false,
        }
    }
}

/// What an *expiring* callback holds: something that can tell, before the
/// callback runs, that running it would do nothing.
///
/// Lwt removes the callbacks a finished `choose` or `pick` left on the
/// inputs that did not win, and those of a canceled `protected` copy (its
/// "removable callbacks"): otherwise a promise that lives long and is raced
/// again and again (`choose [stop; next ()]` in a loop) would collect one
/// dead callback per race until it resolves. Ours are not taken out when
/// they expire (the input's list is not at hand then), but they are
/// dropped when the list would grow past them: a second callback replaces
/// an expired first one, and a full list drops its expired ones before it
/// doubles. A long-lived promise so keeps at most about twice its live
/// callbacks.
pub(crate) trait Expire: 'static {
    /// Whether the callback holding this would do nothing if called now.
    /// Must not panic, nor borrow the node whose list is being added to.
    fn expired(&self) -> bool;
}

/// An expiring callback's closure: `f` called with the state `S`.
struct Expiring<S, F>(S, F);

/// A `FnOnce(&NodeRef<T>)` stored inline when it is small.
pub(crate) struct Callback<T: 'static> {
    slot: MaybeUninit<Slot>,
    vtable: &'static VTable<T>,
    // Closures may hold `Rc`s: never `Send`.
    _not_send: PhantomData<*const ()>,
}

struct Inline<T, F>(PhantomData<(T, F)>);
struct Boxed<T, F>(PhantomData<(T, F)>);

impl<T: 'static, F: FnOnce(&NodeRef<T>) + 'static> Inline<T, F> {
    const REGULAR: VTable<T> = VTable::new(Self::call, Self::drop, false, false);
    const CANCEL: VTable<T> = VTable::new(Self::call, Self::drop, true, false);

    // SAFETY (both): the slot holds a live `F`, written by `Callback::new`;
    // each is called at most once, and `Callback` forgets the slot after.
    unsafe fn call(a: Word, b: Word, c: Word, d: Word, node: &NodeRef<T>) {
        let slot = [a, b, c, d];
        let f = unsafe { ptr::read(slot.as_ptr() as *const F) };
        f(node)
    }
    unsafe fn drop(slot: *mut Slot) {
        unsafe { ptr::drop_in_place(slot as *mut F) }
    }
}

impl<T: 'static, F: FnOnce(&NodeRef<T>) + 'static> Boxed<T, F> {
    const REGULAR: VTable<T> = VTable::new(Self::call, Self::drop, false, false);
    const CANCEL: VTable<T> = VTable::new(Self::call, Self::drop, true, false);

    // SAFETY (both): the slot (its first word, for `call`) holds a pointer
    // to a live `F` in a block from `freelist::boxed`; the block is given
    // back exactly once, with the closure called or dropped.
    unsafe fn call(a: Word, _: Word, _: Word, _: Word, node: &NodeRef<T>) {
        // Read back as the pointer it was written as: through `usize` it
        // would lose its provenance, and the block could not be read.
        let f = unsafe { freelist::unbox(ptr::read(&a as *const Word as *const NonNull<F>)) };
        f(node)
    }
    unsafe fn drop(slot: *mut Slot) {
        unsafe { freelist::drop_boxed(ptr::read(slot as *mut NonNull<F>)) }
    }
}

struct InlineExpiring<T, S, F>(PhantomData<(T, S, F)>);
struct BoxedExpiring<T, S, F>(PhantomData<(T, S, F)>);

impl<T: 'static, S: Expire, F: FnOnce(S, &NodeRef<T>) + 'static> InlineExpiring<T, S, F> {
    const TABLE: VTable<T> = VTable::expiring(Self::call, Self::drop, Self::expired);

    // SAFETY (all three): the slot holds a live `Expiring<S, F>`, written by
    // `Callback::expiring`; `call` and `drop` are called at most once, and
    // `Callback` forgets the slot after.
    unsafe fn call(a: Word, b: Word, c: Word, d: Word, node: &NodeRef<T>) {
        let slot = [a, b, c, d];
        let Expiring(state, f) = unsafe { ptr::read(slot.as_ptr() as *const Expiring<S, F>) };
        f(state, node)
    }
    unsafe fn drop(slot: *mut Slot) {
        unsafe { ptr::drop_in_place(slot as *mut Expiring<S, F>) }
    }
    unsafe fn expired(slot: *const Slot) -> bool {
        unsafe { (*(slot as *const Expiring<S, F>)).0.expired() }
    }
}

impl<T: 'static, S: Expire, F: FnOnce(S, &NodeRef<T>) + 'static> BoxedExpiring<T, S, F> {
    const TABLE: VTable<T> = VTable::expiring(Self::call, Self::drop, Self::expired);

    // SAFETY (all three): the slot's first word holds a pointer to a live
    // `Expiring<S, F>` in a block from `freelist::boxed`, given back once,
    // with the closure called or dropped.
    unsafe fn call(a: Word, _: Word, _: Word, _: Word, node: &NodeRef<T>) {
        let boxed = unsafe { ptr::read(&a as *const Word as *const NonNull<Expiring<S, F>>) };
        let Expiring(state, f) = unsafe { freelist::unbox(boxed) };
        f(state, node)
    }
    unsafe fn drop(slot: *mut Slot) {
        unsafe { freelist::drop_boxed(ptr::read(slot as *mut NonNull<Expiring<S, F>>)) }
    }
    unsafe fn expired(slot: *const Slot) -> bool {
        unsafe {
            (*ptr::read(slot as *const NonNull<Expiring<S, F>>).as_ptr())
                .0
                .expired()
        }
    }
}

/// Whether the callback in this slot is known to do nothing any more.
fn is_expired<T: 'static>(cb: &Callback<T>) -> bool {
    match cb.vtable.expired {
        // SAFETY: the vtable was made for the closure in this live slot.
        Some(expired) => unsafe { expired(cb.slot.as_ptr()) },
        None => false,
    }
}

impl<T: 'static> Callback<T> {
    /// A callback that calls `f` with `state`, and that the list it is in
    /// may drop unrun once `state` says it has expired (see [`Expire`]).
    pub(crate) fn expiring<S: Expire, F: FnOnce(S, &NodeRef<T>) + 'static>(state: S, f: F) -> Callback<T> {
        let e = Expiring(state, f);
        let mut slot = MaybeUninit::<Slot>::uninit();
        let vtable: &'static VTable<T> =
            if size_of::<Expiring<S, F>>() <= size_of::<Slot>() && align_of::<Expiring<S, F>>() <= align_of::<Slot>() {
                // SAFETY: the closure fits the slot in size and alignment.
                unsafe { ptr::write(slot.as_mut_ptr() as *mut Expiring<S, F>, e) };
                &InlineExpiring::<T, S, F>::TABLE
            } else {
                // SAFETY: a pointer is one word, aligned like the slot.
                unsafe { ptr::write(slot.as_mut_ptr() as *mut NonNull<Expiring<S, F>>, freelist::boxed(e)) };
                &BoxedExpiring::<T, S, F>::TABLE
            };
        Callback {
            slot,
            vtable,
            _not_send: PhantomData,
        }
    }

    fn make<F: FnOnce(&NodeRef<T>) + 'static>(f: F, cancel: bool) -> Callback<T> {
        let mut slot = MaybeUninit::<Slot>::uninit();
        let vtable: &'static VTable<T> = if size_of::<F>() <= size_of::<Slot>() && align_of::<F>() <= align_of::<Slot>()
        {
            // SAFETY: `F` fits the slot in size and alignment.
            unsafe { ptr::write(slot.as_mut_ptr() as *mut F, f) };
            if cancel {
                &Inline::<T, F>::CANCEL
            } else {
                &Inline::<T, F>::REGULAR
            }
        } else {
            // SAFETY: a pointer is one word, aligned like the slot.
            unsafe { ptr::write(slot.as_mut_ptr() as *mut NonNull<F>, freelist::boxed(f)) };
            if cancel {
                &Boxed::<T, F>::CANCEL
            } else {
                &Boxed::<T, F>::REGULAR
            }
        };
        Callback {
            slot,
            vtable,
            _not_send: PhantomData,
        }
    }

    /// A callback run whenever the promise resolves.
    #[inline]
    pub(crate) fn regular(f: impl FnOnce(&NodeRef<T>) + 'static) -> Callback<T> {
        Callback::make(f, false)
    }

    /// A callback run only if the promise ends canceled (Lwt's `on_cancel`).
    pub(crate) fn cancel(f: impl FnOnce() + 'static) -> Callback<T> {
        Callback::make(move |_: &NodeRef<T>| f(), true)
    }

    /// Whether this is an `on_cancel` callback.
    #[inline]
    pub(crate) fn is_cancel(&self) -> bool {
        self.vtable.cancel
    }

    /// Calls the callback, consuming it.
    #[inline(always)]
    pub(crate) fn call(self, node: &NodeRef<T>) {
        let me = ManuallyDrop::new(self);
        // SAFETY: the slot is live (not called or dropped before), and
        // `ManuallyDrop` keeps `Drop` from touching it after the call.
        unsafe {
            let [a, b, c, d] = ptr::read(me.slot.as_ptr() as *const [Word; WORDS]);
            (me.vtable.call)(a, b, c, d, node)
        }
    }
}

impl<T: 'static> Drop for Callback<T> {
    fn drop(&mut self) {
        // SAFETY: a callback not called still owns its closure.
        unsafe { (self.vtable.drop)(self.slot.as_mut_ptr()) }
    }
}

/// The table marking a slot that holds a `FreeVec<Callback<T>>`; never called.
struct Many<T>(PhantomData<T>);

impl<T: 'static> Many<T> {
    const TABLE: VTable<T> = VTable::new(Self::call, Self::drop, false, true);

    unsafe fn call(_: Word, _: Word, _: Word, _: Word, _: &NodeRef<T>) {
        unreachable!("a callback list is taken apart, never called")
    }
    // SAFETY: the slot holds a live `FreeVec<Callback<T>>`.
    unsafe fn drop(slot: *mut Slot) {
        unsafe { ptr::drop_in_place(slot as *mut FreeVec<Callback<T>>) }
    }
}

/// The callbacks of a pending node, in attachment order.
pub(crate) struct Callbacks<T: 'static>(Option<Callback<T>>);

impl<T: 'static> Callbacks<T> {
    pub(crate) const fn new() -> Callbacks<T> {
        Callbacks(None)
    }

    fn from_list(v: FreeVec<Callback<T>>) -> Callbacks<T> {
        match v.len() {
            0 => Callbacks(None),
            1 => Callbacks(v.into_iter().next()),
            _ => Callbacks::many(v),
        }
    }

    /// The list `v` (of two callbacks or more) in the slot.
    #[inline]
    fn many(v: FreeVec<Callback<T>>) -> Callbacks<T> {
        let mut slot = MaybeUninit::<Slot>::uninit();
        // SAFETY: a `FreeVec` is three words, aligned like the slot.
        unsafe { ptr::write(slot.as_mut_ptr() as *mut FreeVec<Callback<T>>, v) };
        Callbacks(Some(Callback {
            slot,
            vtable: &Many::<T>::TABLE,
            _not_send: PhantomData,
        }))
    }

    /// A list of the one callback `cb`.
    pub(crate) fn one(cb: Callback<T>) -> Callbacks<T> {
        Callbacks(Some(cb))
    }

    /// Whether any callback of the list is a cancel callback.
    pub(crate) fn has_cancel(&self) -> bool {
        match &self.0 {
            None => false,
            Some(cb) if cb.vtable.many => {
                // SAFETY: a `many` slot holds a live `FreeVec<Callback<T>>`.
                let v = unsafe { &*(cb.slot.as_ptr() as *const FreeVec<Callback<T>>) };
                v.as_slice().iter().any(|c| c.is_cancel())
            }
            Some(cb) => cb.is_cancel(),
        }
    }

    /// Adds `cb` last. The first callback, by far the commonest, is a store
    /// in place ([`Callbacks::push_first`], which the hot paths call
    /// themselves); the others go through [`Callbacks::push_more`]. Returns
    /// the expired callbacks that made room (see [`Expire`]), for the caller
    /// to drop once it has let go of the node: dropping them may drop
    /// values, whose `Drop` may use this very promise.
    pub(crate) fn push(&mut self, cb: Callback<T>) -> Expired<T> {
        if self.is_empty() {
            self.push_first(cb);
            Expired { _callbacks: Vec::new() }
        } else {
            self.push_more(cb)
        }
    }

    /// [`Callbacks::push`] on an empty list: nothing can have expired.
    #[inline(always)]
    pub(crate) fn push_first(&mut self, cb: Callback<T>) {
        debug_assert!(self.is_empty());
        self.0 = Some(cb);
    }

    #[inline(never)]
    pub(crate) fn push_more(&mut self, cb: Callback<T>) -> Expired<T> {
        match &mut self.0 {
            None => {
                self.0 = Some(cb);
                Expired { _callbacks: Vec::new() }
            }
            Some(first) if first.vtable.many => {
                // SAFETY: a `many` slot holds a live `FreeVec<Callback<T>>`.
                let v = unsafe { &mut *(first.slot.as_mut_ptr() as *mut FreeVec<Callback<T>>) };
                // Before the list doubles, what expired makes room.
                let expired = if v.is_full() {
                    v.retain(|cb| !is_expired(cb))
                } else {
                    Vec::new()
                };
                v.push(cb);
                Expired { _callbacks: expired }
            }
            Some(first) if is_expired(first) => Expired {
                _callbacks: vec![std::mem::replace(first, cb)],
            },
            Some(_) => {
                let Some(first) = self.0.take() else {
                    unreachable!("matched as Some")
                };
                *self = Callbacks::many(FreeVec::pair(first, cb));
                Expired { _callbacks: Vec::new() }
            }
        }
    }

    /// `front` followed by `self`.
    pub(crate) fn prepend(&mut self, front: Callbacks<T>) {
        if front.is_empty() {
            return;
        }
        let back = std::mem::take(self);
        let mut all = front.into_list();
        all.extend(back.into_list());
        *self = Callbacks::from_list(all);
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The single callback, or the list of several.
    #[inline(always)]
    pub(crate) fn take(self) -> Taken<T> {
        match self.0 {
            None => Taken::None,
            Some(cb) if cb.vtable.many => {
                let cb = ManuallyDrop::new(cb);
                // SAFETY: a `many` slot holds a live `Vec`, moved out once;
                // `ManuallyDrop` keeps the slot from being dropped again.
                Taken::Many(unsafe { ptr::read(cb.slot.as_ptr() as *const FreeVec<Callback<T>>) })
            }
            Some(cb) => Taken::One(cb),
        }
    }

    /// The callbacks, in order, in one list.
    pub(crate) fn into_list(self) -> FreeVec<Callback<T>> {
        match self.take() {
            Taken::None => FreeVec::with_capacity(1),
            Taken::One(cb) => {
                let mut v = FreeVec::with_capacity(2);
                v.push(cb);
                v
            }
            Taken::Many(v) => v,
        }
    }
}

impl<T: 'static> Default for Callbacks<T> {
    fn default() -> Self {
        Callbacks::new()
    }
}

/// Expired callbacks taken out of a list to make room, to be dropped by
/// whoever added to it once the node is let go (see [`Callbacks::push`]).
#[must_use = "drop the expired callbacks once the node is no longer borrowed"]
pub(crate) struct Expired<T: 'static> {
    _callbacks: Vec<Callback<T>>,
}

/// A callback list taken apart.
pub(crate) enum Taken<T: 'static> {
    None,
    One(Callback<T>),
    Many(FreeVec<Callback<T>>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::node::{HowToCancel, Node};
    use crate::core::testing::Probe;
    use std::cell::Cell;
    use std::rc::Rc;

    fn node() -> NodeRef<u8> {
        Node::alloc(HowToCancel::not())
    }

    #[test]
    fn small_closures_are_called_once_and_dropped_once() {
        let drops = Rc::new(Cell::new(0));
        let calls = Rc::new(Cell::new(0));
        let (p, c) = (Probe::new(&drops), calls.clone());
        let cb = Callback::<u8>::regular(move |_| {
            let _keep = &p;
            c.set(c.get() + 1);
        });
        cb.call(&node());
        assert_eq!((calls.get(), drops.get()), (1, 1));
    }

    #[test]
    fn big_closures_are_boxed_called_once_and_dropped_once() {
        let drops = Rc::new(Cell::new(0));
        let calls = Rc::new(Cell::new(0));
        let big = [7u64; 16];
        let (p, c) = (Probe::new(&drops), calls.clone());
        let cb = Callback::<u8>::regular(move |_| {
            let _keep = &p;
            c.set(c.get() + big.iter().sum::<u64>() as u32);
        });
        cb.call(&node());
        assert_eq!((calls.get(), drops.get()), (112, 1));
    }

    #[test]
    fn callbacks_never_called_drop_their_captures() {
        let drops = Rc::new(Cell::new(0));
        let small = Probe::new(&drops);
        let big = (Probe::new(&drops), [0u64; 8]);
        drop(Callback::<u8>::regular(move |_| drop(small)));
        drop(Callback::<u8>::cancel(move || drop(big)));
        assert_eq!(drops.get(), 2);
    }

    #[test]
    fn callback_lists_keep_order_and_drop_once() {
        let calls = Rc::new(std::cell::RefCell::new(Vec::new()));
        let drops = Rc::new(Cell::new(0));
        let mut front = Callbacks::<u8>::new();
        let mut back = Callbacks::<u8>::new();
        for i in 0..5 {
            let (c, p) = (calls.clone(), Probe::new(&drops));
            let cb = Callback::regular(move |_| {
                let _keep = &p;
                c.borrow_mut().push(i)
            });
            if i < 2 {
                drop(front.push(cb))
            } else {
                drop(back.push(cb))
            }
        }
        back.prepend(front);
        let n = node();
        for cb in back.into_list() {
            cb.call(&n);
        }
        assert_eq!(*calls.borrow(), vec![0, 1, 2, 3, 4]);
        assert_eq!(drops.get(), 5);
        let mut unrun = Callbacks::<u8>::new();
        for _ in 0..3 {
            let p = Probe::new(&drops);
            drop(unrun.push(Callback::regular(move |_| drop(p))));
        }
        drop(unrun);
        assert_eq!(drops.get(), 8);
    }

    #[test]
    fn cancel_callbacks_are_marked() {
        assert!(Callback::<u8>::cancel(|| ()).is_cancel());
        assert!(!Callback::<u8>::regular(|_| ()).is_cancel());
    }

    /// Expires when its flag is set; counts its drops.
    struct Flagged {
        flag: Rc<Cell<bool>>,
        _drops: Probe,
    }

    impl Expire for Flagged {
        fn expired(&self) -> bool {
            self.flag.get()
        }
    }

    fn expiring(flag: &Rc<Cell<bool>>, drops: &Rc<Cell<u32>>, calls: &Rc<Cell<u32>>) -> Callback<u8> {
        let calls = calls.clone();
        Callback::expiring(
            Flagged {
                flag: flag.clone(),
                _drops: Probe::new(drops),
            },
            move |_, _| calls.set(calls.get() + 1),
        )
    }

    #[test]
    fn an_expired_single_callback_gives_its_place_to_the_next_one() {
        let (flag, drops, calls) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let mut cbs = Callbacks::<u8>::new();
        drop(cbs.push(expiring(&flag, &drops, &calls)));
        flag.set(true);
        let expired = cbs.push(Callback::regular(|_| {}));
        // Handed back, not dropped in place.
        assert_eq!(drops.get(), 0);
        drop(expired);
        assert_eq!(drops.get(), 1);
        assert!(matches!(cbs.take(), Taken::One(cb) if !cb.vtable.many));
        assert_eq!(calls.get(), 0);
    }

    #[test]
    fn a_full_list_drops_its_expired_callbacks_and_keeps_the_order_of_the_rest() {
        let (drops, calls) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let order = Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut cbs = Callbacks::<u8>::new();
        let mut flags = Vec::new();
        // Live callbacks 0, 2, 4, 6 between expiring ones; the list is full
        // at 8 (capacities 2, 4, 8).
        for i in 0..8u32 {
            if i % 2 == 0 {
                let o = order.clone();
                drop(cbs.push(Callback::regular(move |_| o.borrow_mut().push(i))));
            } else {
                let f = Rc::new(Cell::new(false));
                drop(cbs.push(expiring(&f, &drops, &calls)));
                flags.push(f);
            }
        }
        for f in &flags[..3] {
            f.set(true);
        }
        let o = order.clone();
        let expired = cbs.push(Callback::regular(move |_| o.borrow_mut().push(8)));
        assert_eq!(drops.get(), 0);
        drop(expired);
        assert_eq!(drops.get(), 3);
        let n = node();
        let Taken::Many(v) = cbs.take() else { panic!("a list") };
        assert_eq!(v.len(), 6);
        for cb in v {
            cb.call(&n);
        }
        assert_eq!(*order.borrow(), vec![0, 2, 4, 6, 8]);
        // The one expiring callback left was still live: it ran.
        assert_eq!((calls.get(), drops.get()), (1, 4));
    }
}
