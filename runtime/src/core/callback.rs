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
            cancel,
            many,
        }
    }
}

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

impl<T: 'static> Callback<T> {
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
            _ => {
                let mut slot = MaybeUninit::<Slot>::uninit();
                // SAFETY: a `FreeVec` is three words, aligned like the slot.
                unsafe { ptr::write(slot.as_mut_ptr() as *mut FreeVec<Callback<T>>, v) };
                Callbacks(Some(Callback {
                    slot,
                    vtable: &Many::<T>::TABLE,
                    _not_send: PhantomData,
                }))
            }
        }
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
    /// in place; the others go through [`Callbacks::push_more`].
    #[inline(always)]
    pub(crate) fn push(&mut self, cb: Callback<T>) {
        match &mut self.0 {
            None => self.0 = Some(cb),
            Some(_) => self.push_more(cb),
        }
    }

    #[inline(never)]
    fn push_more(&mut self, cb: Callback<T>) {
        match &mut self.0 {
            None => self.0 = Some(cb),
            Some(first) if first.vtable.many => {
                // SAFETY: a `many` slot holds a live `FreeVec<Callback<T>>`.
                let v = unsafe { &mut *(first.slot.as_mut_ptr() as *mut FreeVec<Callback<T>>) };
                v.push(cb);
            }
            Some(_) => {
                let mut v = FreeVec::with_capacity(2);
                v.extend(self.0.take());
                v.push(cb);
                *self = Callbacks::from_list(v);
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
                front.push(cb)
            } else {
                back.push(cb)
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
            unrun.push(Callback::regular(move |_| drop(p)));
        }
        drop(unrun);
        assert_eq!(drops.get(), 8);
    }

    #[test]
    fn cancel_callbacks_are_marked() {
        assert!(Callback::<u8>::cancel(|| ()).is_cancel());
        assert!(!Callback::<u8>::regular(|_| ()).is_cancel());
    }
}
