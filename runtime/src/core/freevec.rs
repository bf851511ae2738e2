//! `FreeVec`: a growable array whose buffer comes from the node free lists.
//!
//! A pending promise with two callbacks is common: an I/O wait carries the
//! engine's `on_cancel` clean-up next to the bind that consumes it, a mutex
//! waiter its cancel hook next to its continuation. The callback list of
//! such a node used to be a `Vec`, so every such wait paid a `malloc` and a
//! `free`, about a tenth of an echo round trip. This vector takes its buffer
//! from the same per-thread free lists as the nodes (`freelist.rs`): blocks
//! of up to 256 bytes (six callbacks) are recycled there, bigger ones go to
//! the global allocator as before.
//!
//! Only what the callback lists need is here: push, and taking the elements
//! out in order.

use std::alloc::Layout;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::{self, NonNull};

use super::freelist;

/// A vector of `E` in a free-list block (three words, like `Vec`).
pub(crate) struct FreeVec<E> {
    buf: NonNull<E>,
    len: usize,
    cap: usize,
    _owns: PhantomData<E>,
}

/// The layout of a buffer of `cap` elements (`cap` > 0).
fn layout<E>(cap: usize) -> Layout {
    match Layout::array::<E>(cap) {
        Ok(l) => l,
        // As `Vec` does on capacity overflow, minus the unwinding.
        Err(_) => std::process::abort(),
    }
}

impl<E> FreeVec<E> {
    /// An empty vector with room for `cap` (at least one) elements.
    pub(crate) fn with_capacity(cap: usize) -> FreeVec<E> {
        const { assert!(size_of::<E>() > 0, "FreeVec holds elements of non-zero size") };
        let cap = cap.max(1);
        FreeVec {
            buf: freelist::alloc(layout::<E>(cap), false).cast(),
            len: 0,
            cap,
            _owns: PhantomData,
        }
    }

    /// A vector of the two elements `a` and `b`, with room for two: the
    /// step from one callback to two, written in place rather than through
    /// two checked pushes.
    #[inline]
    pub(crate) fn pair(a: E, b: E) -> FreeVec<E> {
        let mut v = FreeVec::<E>::with_capacity(2);
        // SAFETY: the buffer has room for two elements, both slots free.
        unsafe {
            v.buf.as_ptr().write(a);
            v.buf.as_ptr().add(1).write(b);
        }
        v.len = 2;
        v
    }

    /// The number of elements.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The elements, in order.
    pub(crate) fn as_slice(&self) -> &[E] {
        // SAFETY: the first `len` elements of the buffer are live.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr(), self.len) }
    }

    /// Whether the next push doubles the buffer.
    pub(crate) fn is_full(&self) -> bool {
        self.len == self.cap
    }

    /// Keeps the elements for which `keep` says true, in order, and returns
    /// the others (for the caller to drop when it suits it: dropping one may
    /// run code that must not find this vector half-compacted).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&E) -> bool) -> Vec<E> {
        let mut removed = Vec::new();
        let mut kept = 0;
        let len = std::mem::replace(&mut self.len, 0);
        for i in 0..len {
            // SAFETY: element `i` is live and read once; elements before
            // `kept` are the kept ones, already moved down; `kept <= i`, so
            // the write never overwrites an element not yet read. The
            // length is 0 until the end: should `keep` panic, the elements
            // leak rather than being dropped twice.
            unsafe {
                let src = self.buf.as_ptr().add(i);
                if keep(&*src) {
                    if kept != i {
                        ptr::copy_nonoverlapping(src, self.buf.as_ptr().add(kept), 1);
                    }
                    kept += 1;
                } else {
                    removed.push(ptr::read(src));
                }
            }
        }
        self.len = kept;
        removed
    }

    /// Appends `e`, doubling the buffer when it is full.
    pub(crate) fn push(&mut self, e: E) {
        if self.len == self.cap {
            let cap = self.cap * 2;
            let buf = freelist::alloc(layout::<E>(cap), false).cast::<E>();
            // SAFETY: both buffers hold at least `len` elements and do not
            // overlap; the old block is given back once, its elements moved.
            unsafe {
                ptr::copy_nonoverlapping(self.buf.as_ptr(), buf.as_ptr(), self.len);
                freelist::dealloc(self.buf.cast(), layout::<E>(self.cap), false);
            }
            self.buf = buf;
            self.cap = cap;
        }
        // SAFETY: `len < cap`, so the slot is inside the buffer and free.
        unsafe { self.buf.as_ptr().add(self.len).write(e) };
        self.len += 1;
    }
}

impl<E> Extend<E> for FreeVec<E> {
    fn extend<I: IntoIterator<Item = E>>(&mut self, iter: I) {
        for e in iter {
            self.push(e);
        }
    }
}

impl<E> Drop for FreeVec<E> {
    fn drop(&mut self) {
        // Dropping the iterator drops the elements and frees the buffer.
        drop(IntoIter {
            v: ManuallyDrop::new(FreeVec {
                buf: self.buf,
                len: self.len,
                cap: self.cap,
                _owns: PhantomData,
            }),
            next: 0,
        });
    }
}

impl<E> IntoIterator for FreeVec<E> {
    type Item = E;
    type IntoIter = IntoIter<E>;

    fn into_iter(self) -> IntoIter<E> {
        IntoIter {
            v: ManuallyDrop::new(self),
            next: 0,
        }
    }
}

/// The elements of a [`FreeVec`], in order; the buffer goes back to the
/// free lists when the iterator is dropped.
pub(crate) struct IntoIter<E> {
    /// The vector, whose `Drop` must not run: the iterator owns what it held.
    v: ManuallyDrop<FreeVec<E>>,
    /// The first element not yet taken.
    next: usize,
}

impl<E> Iterator for IntoIter<E> {
    type Item = E;

    #[inline]
    fn next(&mut self) -> Option<E> {
        if self.next == self.v.len {
            return None;
        }
        // SAFETY: slots `next..len` hold elements not taken yet; each is
        // read once, as `next` moves past it.
        let e = unsafe { self.v.buf.as_ptr().add(self.next).read() };
        self.next += 1;
        Some(e)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.v.len - self.next;
        (n, Some(n))
    }
}

impl<E> Drop for IntoIter<E> {
    fn drop(&mut self) {
        let (buf, len, cap) = (self.v.buf, self.v.len, self.v.cap);
        // The buffer is given back even if an element's drop panics.
        struct Free(NonNull<u8>, Layout);
        impl Drop for Free {
            fn drop(&mut self) {
                // SAFETY: the buffer came from `freelist::alloc` with this
                // layout, and nothing refers to it any more.
                unsafe { freelist::dealloc(self.0, self.1, false) }
            }
        }
        let _free = Free(buf.cast(), layout::<E>(cap));
        let rest = ptr::slice_from_raw_parts_mut(
            // SAFETY: `next <= len <= cap`: the pointer stays in the buffer.
            unsafe { buf.as_ptr().add(self.next) },
            len - self.next,
        );
        self.next = len;
        // SAFETY: the slots not yet taken hold live elements, dropped once.
        unsafe { ptr::drop_in_place(rest) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::Probe;
    use std::cell::Cell;
    use std::rc::Rc;

    #[test]
    fn keeps_order_across_growth_and_drops_each_element_once() {
        let drops = Rc::new(Cell::new(0));
        let mut v = FreeVec::with_capacity(2);
        for i in 0..40 {
            v.push(Probe(drops.clone(), i));
        }
        assert_eq!(v.len(), 40);
        let seen: Vec<u32> = v.into_iter().map(|p| p.1).collect();
        assert_eq!(seen, (0..40).collect::<Vec<_>>());
        assert_eq!(drops.get(), 40);
    }

    #[test]
    fn a_pair_is_full_keeps_its_order_and_grows_on_the_next_push() {
        let drops = Rc::new(Cell::new(0));
        let mut v = FreeVec::pair(Probe(drops.clone(), 0), Probe(drops.clone(), 1));
        assert!(v.len() == 2 && v.is_full());
        v.push(Probe(drops.clone(), 2));
        let seen: Vec<u32> = v.into_iter().map(|p| p.1).collect();
        assert_eq!(seen, [0, 1, 2]);
        assert_eq!(drops.get(), 3);
    }

    #[test]
    fn dropping_a_vector_or_a_half_used_iterator_drops_the_rest() {
        let drops = Rc::new(Cell::new(0));
        let mut v = FreeVec::with_capacity(2);
        for i in 0..5 {
            v.push(Probe(drops.clone(), i));
        }
        drop(v);
        assert_eq!(drops.get(), 5);
        let mut v = FreeVec::with_capacity(2);
        for i in 0..5 {
            v.push(Probe(drops.clone(), i));
        }
        let mut it = v.into_iter();
        assert_eq!(it.next().map(|p| p.1), Some(0));
        assert_eq!(drops.get(), 6);
        drop(it);
        assert_eq!(drops.get(), 10);
    }

    #[test]
    fn retain_keeps_the_order_of_the_kept_and_hands_back_the_rest_undropped() {
        let drops = Rc::new(Cell::new(0));
        let mut v = FreeVec::with_capacity(8);
        for i in 0..8 {
            v.push(Probe(drops.clone(), i));
        }
        assert!(v.is_full());
        let removed = v.retain(|p| p.1 % 3 != 0);
        assert_eq!(drops.get(), 0);
        assert_eq!(removed.iter().map(|p| p.1).collect::<Vec<_>>(), vec![0, 3, 6]);
        drop(removed);
        assert_eq!(drops.get(), 3);
        assert!(!v.is_full());
        v.push(Probe(drops.clone(), 8));
        assert_eq!(v.into_iter().map(|p| p.1).collect::<Vec<_>>(), vec![1, 2, 4, 5, 7, 8]);
        assert_eq!(drops.get(), 9);
    }
}
