//! A callback stored inline: the one allocation-free trick of the core.
//!
//! Every bind attaches one callback to a pending promise. Boxing it as
//! `Box<dyn FnOnce>` costs an allocation and a free per bind, about as much
//! as everything else a bind does. The closures the core attaches are small
//! (the user's function, the promise to resolve, a storage snapshot), so a
//! [`Callback`] keeps closures of up to four words in place, next to a
//! pointer to a table of two functions (call, drop) made for the closure's
//! type; bigger closures fall back to a box. This is the "small box" of
//! crates like `smallbox`, reduced to the one signature we need.

use std::marker::PhantomData;
use std::mem::{align_of, size_of, ManuallyDrop, MaybeUninit};
use std::ptr;
use std::rc::Rc;

use super::node::Node;

const WORDS: usize = 4;
type Slot = [usize; WORDS];

struct VTable<T: 'static> {
    /// Moves the closure out of the slot and calls it.
    call: unsafe fn(*mut Slot, &Rc<Node<T>>),
    /// Drops the closure in the slot without calling it.
    drop: unsafe fn(*mut Slot),
    /// Runs only when the promise ends canceled, before the others.
    cancel: bool,
}

/// A `FnOnce(&Rc<Node<T>>)` stored inline when it is small.
pub(crate) struct Callback<T: 'static> {
    slot: MaybeUninit<Slot>,
    vtable: &'static VTable<T>,
    // Closures may hold `Rc`s: never `Send`.
    _not_send: PhantomData<*const ()>,
}

struct Inline<T, F>(PhantomData<(T, F)>);
struct Boxed<T, F>(PhantomData<(T, F)>);

impl<T: 'static, F: FnOnce(&Rc<Node<T>>) + 'static> Inline<T, F> {
    const REGULAR: VTable<T> = VTable {
        call: Self::call,
        drop: Self::drop,
        cancel: false,
    };
    const CANCEL: VTable<T> = VTable {
        call: Self::call,
        drop: Self::drop,
        cancel: true,
    };

    // SAFETY (both): the slot holds a live `F`, written by `Callback::new`;
    // each is called at most once, and `Callback` forgets the slot after.
    unsafe fn call(slot: *mut Slot, node: &Rc<Node<T>>) {
        let f = unsafe { ptr::read(slot as *mut F) };
        f(node)
    }
    unsafe fn drop(slot: *mut Slot) {
        unsafe { ptr::drop_in_place(slot as *mut F) }
    }
}

impl<T: 'static, F: FnOnce(&Rc<Node<T>>) + 'static> Boxed<T, F> {
    const REGULAR: VTable<T> = VTable {
        call: Self::call,
        drop: Self::drop,
        cancel: false,
    };
    const CANCEL: VTable<T> = VTable {
        call: Self::call,
        drop: Self::drop,
        cancel: true,
    };

    // SAFETY (both): the slot holds a live `Box<F>`, as above.
    unsafe fn call(slot: *mut Slot, node: &Rc<Node<T>>) {
        let f = unsafe { ptr::read(slot as *mut Box<F>) };
        f(node)
    }
    unsafe fn drop(slot: *mut Slot) {
        unsafe { ptr::drop_in_place(slot as *mut Box<F>) }
    }
}

impl<T: 'static> Callback<T> {
    fn make<F: FnOnce(&Rc<Node<T>>) + 'static>(f: F, cancel: bool) -> Callback<T> {
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
            // SAFETY: a box is one word, aligned like the slot.
            unsafe { ptr::write(slot.as_mut_ptr() as *mut Box<F>, Box::new(f)) };
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
    pub(crate) fn regular(f: impl FnOnce(&Rc<Node<T>>) + 'static) -> Callback<T> {
        Callback::make(f, false)
    }

    /// A callback run only if the promise ends canceled (Lwt's `on_cancel`).
    pub(crate) fn cancel(f: impl FnOnce() + 'static) -> Callback<T> {
        Callback::make(move |_: &Rc<Node<T>>| f(), true)
    }

    /// Whether this is an `on_cancel` callback.
    #[inline]
    pub(crate) fn is_cancel(&self) -> bool {
        self.vtable.cancel
    }

    /// Calls the callback, consuming it.
    #[inline]
    pub(crate) fn call(self, node: &Rc<Node<T>>) {
        let mut me = ManuallyDrop::new(self);
        // SAFETY: the slot is live (not called or dropped before), and
        // `ManuallyDrop` keeps `Drop` from touching it after the call.
        unsafe { (me.vtable.call)(me.slot.as_mut_ptr(), node) }
    }
}

impl<T: 'static> Drop for Callback<T> {
    fn drop(&mut self) {
        // SAFETY: a callback not called still owns its closure.
        unsafe { (self.vtable.drop)(self.slot.as_mut_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::node::HowToCancel;
    use std::cell::Cell;

    /// Counts drops of the values a closure captured.
    struct Probe(Rc<Cell<u32>>);
    impl Drop for Probe {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    fn node() -> Rc<Node<u8>> {
        Node::new(HowToCancel::Not)
    }

    #[test]
    fn small_closures_are_called_once_and_dropped_once() {
        let drops = Rc::new(Cell::new(0));
        let calls = Rc::new(Cell::new(0));
        let (p, c) = (Probe(drops.clone()), calls.clone());
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
        let (p, c) = (Probe(drops.clone()), calls.clone());
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
        let small = Probe(drops.clone());
        let big = (Probe(drops.clone()), [0u64; 8]);
        drop(Callback::<u8>::regular(move |_| drop(small)));
        drop(Callback::<u8>::cancel(move || drop(big)));
        assert_eq!(drops.get(), 2);
    }

    #[test]
    fn cancel_callbacks_are_marked() {
        assert!(Callback::<u8>::cancel(|| ()).is_cancel());
        assert!(!Callback::<u8>::regular(|_| ()).is_cancel());
    }
}
