//! `NodeRef`: the counted pointer to a promise node.
//!
//! Every pending promise is a node shared by its handles, the callbacks that
//! will resolve it and the promises that would cancel through it. `Rc` did
//! that job first; this pointer replaces it for three reasons, all measured
//! on the bind and pause loops:
//!
//! - memory comes from the per-thread free lists of `freelist.rs` instead of
//!   the global allocator;
//! - the header has room for the node's resolver count next to the
//!   reference count, and for a pointer to a per-type table of functions.
//!   That table is what lets a node be seen without its value type
//!   ([`AnyNode`], the links cancellation walks through) with a thin
//!   pointer, where `Rc<dyn Trait>` needs two words in every link;
//! - the table also carries the node's cloning function once a handle of the
//!   promise was cloned (see `node.rs`), so a node pays no word for it.
//!
//! The count is not atomic: nodes never leave their thread (`NodeRef` is
//! neither `Send` nor `Sync`, being built on a raw pointer).

use std::alloc::Layout;
use std::cell::Cell;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;

use super::freelist;
use super::node::{self, Node};
use super::state::{Body, St};

/// What a node knows of itself without its value type.
pub(crate) struct VTable {
    /// One step of the cancellation walk (see `cancel.rs`).
    cancel_step: unsafe fn(NonNull<Header>, &mut Vec<AnyNode>, &mut Vec<node::Job>),
    /// Drops the node and gives its memory back; the count is zero.
    release: unsafe fn(NonNull<Header>),
    /// Writes a copy of the value at `src` to `dst`; set once a handle of
    /// the promise was cloned, so every consumer gets a copy.
    pub(crate) cloner: Option<unsafe fn(src: *const (), dst: *mut ())>,
}

/// The start of every node: two words.
#[repr(C)]
pub(crate) struct Header {
    count: Cell<u32>,
    /// Live `Resolver`s of a `wait()` node (see `node.rs`); sticks at its
    /// maximum (see [`Header::resolver_added`]).
    resolvers: Cell<u16>,
    /// The node's borrow flag and state tag (see `state.rs`).
    pub(crate) borrow: Cell<u8>,
    pub(crate) tag: Cell<u8>,
    pub(crate) vtable: Cell<&'static VTable>,
}

impl Header {
    /// Counts `n` more resolvers. The count is two bytes: past 65,535 live
    /// resolvers on one promise it stays at the maximum for good, so that
    /// the node is never taken for abandoned while one may still resolve it
    /// (it then keeps its callbacks until it resolves or is freed).
    #[inline]
    pub(crate) fn resolver_added(&self, n: u16) {
        self.resolvers.set(self.resolvers.get().saturating_add(n));
    }

    /// Counts one resolver fewer; returns whether none is left.
    #[inline]
    pub(crate) fn resolver_dropped(&self) -> bool {
        match self.resolvers.get() {
            u16::MAX => false,
            0 => true,
            n => {
                self.resolvers.set(n - 1);
                n == 1
            }
        }
    }

    /// The number of live resolvers (the maximum may stand for more).
    #[inline]
    pub(crate) fn resolvers(&self) -> u16 {
        self.resolvers.get()
    }
}

/// A counted pointer to a `Node<T>`; derefs to the node.
pub(crate) struct NodeRef<T: 'static> {
    ptr: NonNull<Node<T>>,
    _owns: PhantomData<Node<T>>,
}

struct Table<T>(PhantomData<T>);

impl<T: 'static> Table<T> {
    const OWNED: VTable = VTable {
        cancel_step: cancel_step_shim::<T>,
        release: release::<T>,
        cloner: None,
    };
}

impl<T: Clone + 'static> Table<T> {
    const SHARED: VTable = VTable {
        cancel_step: cancel_step_shim::<T>,
        release: release::<T>,
        cloner: Some(clone_into::<T>),
    };
}

/// SAFETY: `src` points to a live `T`, `dst` to room for one.
unsafe fn clone_into<T: Clone>(src: *const (), dst: *mut ()) {
    unsafe { dst.cast::<T>().write((*src.cast::<T>()).clone()) }
}

/// SAFETY: `h` heads a live `Node<T>`.
unsafe fn cancel_step_shim<T: 'static>(h: NonNull<Header>, work: &mut Vec<AnyNode>, marked: &mut Vec<node::Job>) {
    // Borrow the node without touching its count.
    let n = ManuallyDrop::new(NodeRef::<T> {
        ptr: h.cast(),
        _owns: PhantomData,
    });
    node::cancel_step(&n, work, marked)
}

/// SAFETY: `h` heads a `Node<T>` whose count just reached zero.
unsafe fn release<T: 'static>(h: NonNull<Header>) {
    let p = h.cast::<Node<T>>();
    unsafe {
        std::ptr::drop_in_place(p.as_ptr());
        freelist::dealloc(p.cast(), Layout::new::<Node<T>>(), true);
    }
}

impl<T: 'static> NodeRef<T> {
    /// A fresh allocation with a count of one, holding the node `make`
    /// builds. The node is made *after* the block is allocated: a value
    /// built before a call must be kept on the stack across it and copied
    /// over afterwards, with wide loads of narrow stores still in flight
    /// (a store-forwarding stall, which a profile of the pause loop showed
    /// as the hottest instruction of `pause` and `bind`). Built after the
    /// call, it is written straight into the block.
    #[inline(always)]
    pub(crate) fn new_with(make: impl FnOnce() -> St<T>) -> NodeRef<T> {
        let ptr = freelist::alloc(Layout::new::<Node<T>>(), true).cast::<Node<T>>();
        let st = make();
        // SAFETY: the block is fresh, sized and aligned for a `Node<T>`;
        // the body is written first, then the header with its tag.
        unsafe {
            let body = std::ptr::addr_of_mut!((*ptr.as_ptr()).body) as *mut Body<T>;
            let tag = Body::write(body, st);
            std::ptr::addr_of_mut!((*ptr.as_ptr()).header).write(Header {
                count: Cell::new(1),
                resolvers: Cell::new(0),
                borrow: Cell::new(0),
                tag: Cell::new(tag),
                vtable: Cell::new(&Table::<T>::OWNED),
            });
        }
        NodeRef {
            ptr,
            _owns: PhantomData,
        }
    }

    #[inline]
    pub(crate) fn header(&self) -> &Header {
        &self.header
    }

    /// Whether both point at the same node.
    #[inline]
    pub(crate) fn ptr_eq(a: &NodeRef<T>, b: &NodeRef<T>) -> bool {
        a.ptr == b.ptr
    }

    /// The node's address, to recognise it (as [`AnyNode::addr`]).
    #[inline]
    pub(crate) fn addr(&self) -> *const () {
        self.ptr.as_ptr() as *const ()
    }

    /// Another counted pointer to this node, without its value type.
    #[inline]
    pub(crate) fn erase(&self) -> AnyNode {
        let h: NonNull<Header> = self.ptr.cast();
        // Counted: the new pointer releases its share when dropped.
        increment(&self.header().count);
        AnyNode(h)
    }

    /// From now on consumers receive copies of the value.
    pub(crate) fn set_shared(&self)
    where
        T: Clone,
    {
        self.header().vtable.set(&Table::<T>::SHARED);
    }

    /// Copies the value for a consumer, if the promise is shared.
    #[inline]
    pub(crate) fn clone_value(&self, v: &T) -> Option<T> {
        let f = self.header().vtable.get().cloner?;
        let mut out = std::mem::MaybeUninit::<T>::uninit();
        // SAFETY: `SHARED` is only installed for this `T` (see `set_shared`),
        // `v` is live, and `out` has room for one `T`, initialised by the call.
        unsafe {
            f(v as *const T as *const (), out.as_mut_ptr() as *mut ());
            Some(out.assume_init())
        }
    }

    /// Whether the promise was shared (a handle was cloned).
    #[inline]
    pub(crate) fn is_shared(&self) -> bool {
        self.header().vtable.get().cloner.is_some()
    }
}

impl<T: 'static> Deref for NodeRef<T> {
    type Target = Node<T>;

    #[inline]
    fn deref(&self) -> &Node<T> {
        // SAFETY: the node lives as long as this reference is counted.
        unsafe { self.ptr.as_ref() }
    }
}

#[inline]
fn increment(c: &Cell<u32>) {
    match c.get().checked_add(1) {
        Some(n) => c.set(n),
        // Four billion handles on one promise: as `Rc` does, abort rather
        // than let the count wrap.
        None => std::process::abort(),
    }
}

impl<T: 'static> Clone for NodeRef<T> {
    #[inline]
    fn clone(&self) -> Self {
        increment(&self.header().count);
        NodeRef {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T: 'static> Drop for NodeRef<T> {
    #[inline]
    fn drop(&mut self) {
        let c = &self.header().count;
        let n = c.get() - 1;
        c.set(n);
        if n == 0 {
            // SAFETY: this was the last reference.
            unsafe { release::<T>(self.ptr.cast()) }
        }
    }
}

/// A counted pointer to a node of any value type: a link of the
/// cancellation graph. One pointer wide, guaranteed: `HowToCancel` in
/// `node.rs` stores it as a plain word.
#[repr(transparent)]
pub(crate) struct AnyNode(NonNull<Header>);

impl AnyNode {
    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: the node lives as long as this reference is counted.
        unsafe { self.0.as_ref() }
    }

    /// The node's address, to recognise it.
    pub(crate) fn addr(&self) -> *const () {
        self.0.as_ptr() as *const ()
    }

    /// One step of the cancellation walk from this node.
    pub(crate) fn cancel_step(&self, work: &mut Vec<AnyNode>, marked: &mut Vec<node::Job>) {
        // SAFETY: the table matches the node's value type.
        unsafe { (self.header().vtable.get().cancel_step)(self.0, work, marked) }
    }
}

impl Clone for AnyNode {
    #[inline]
    fn clone(&self) -> Self {
        increment(&self.header().count);
        AnyNode(self.0)
    }
}

impl Drop for AnyNode {
    #[inline]
    fn drop(&mut self) {
        let h = self.header();
        let n = h.count.get() - 1;
        h.count.set(n);
        if n == 0 {
            // SAFETY: the last reference; the table matches the node.
            unsafe { (h.vtable.get().release)(self.0) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::node::HowToCancel;

    #[test]
    fn links_and_headers_are_as_small_as_the_node_layout_needs() {
        assert_eq!(std::mem::size_of::<HowToCancel>(), std::mem::size_of::<usize>());
        assert_eq!(std::mem::size_of::<Header>(), 2 * std::mem::size_of::<usize>());
    }

    #[test]
    fn the_resolver_count_sticks_at_its_maximum() {
        let n = Node::<u8>::alloc(HowToCancel::not());
        let h = n.header();
        h.resolver_added(2);
        assert!(!h.resolver_dropped());
        assert!(h.resolver_dropped());
        h.resolver_added(u16::MAX - 1);
        h.resolver_added(5);
        assert_eq!(h.resolvers(), u16::MAX);
        assert!(!h.resolver_dropped());
        assert_eq!(h.resolvers(), u16::MAX);
    }

    #[test]
    fn counts_follow_clones_and_erased_links() {
        let n = Node::<u8>::alloc(HowToCancel::not());
        let before = crate::core::context::live_promises();
        let a = n.clone();
        let any = n.erase();
        let any2 = any.clone();
        assert_eq!(n.header().count.get(), 4);
        drop((a, any, any2));
        assert_eq!(n.header().count.get(), 1);
        drop(n);
        assert_eq!(crate::core::context::live_promises(), before - 1);
    }
}
