//! The state of a promise node, packed into as few bytes as it can be.
//!
//! A node is one of five states (see `node.rs`): pending, fulfilled,
//! rejected, taken, or a proxy. As a Rust `enum` inside a `RefCell` the
//! state cost two words more than its largest variant: one for the
//! discriminant and one for the borrow flag, each a byte of information
//! padded to eight. A pending bind costs one node, so those two words were
//! a fifth of the memory of a long chain (80 bytes a node, where 64 is one
//! cache line).
//!
//! So the state is kept in two parts here:
//! - its *payload* in [`Body`], a union of the variants' contents, after the
//!   node's header;
//! - its *tag* and its *borrow flag*, one byte each, in the header's first
//!   word, next to the reference count (the resolver count gave up two of
//!   its four bytes for them; see `rc.rs`).
//!
//! The rest of the core sees the state through the same three doors a
//! `RefCell` has: a shared borrow ([`StRef`]), an exclusive one
//! ([`StMut`]), and `get_mut` for the node's own destructor. A borrow gives
//! a [`View`] (or [`ViewMut`]): an ordinary enum of references, so the code
//! that matches on the state reads as it did with the `enum`. The owned
//! form, [`St`], is still the enum, used to build a state and to move one
//! in.
//!
//! The flag counts shared borrows up to 254; 255 marks the exclusive one.
//! Observers of a value nest one shared borrow per nested callback, so the
//! limit is reached only by a program 254 callbacks deep in borrows of the
//! same node; a borrow past it fails as a conflicting one does.

use std::cell::UnsafeCell;
use std::mem::ManuallyDrop;
use std::ptr::addr_of_mut;

use super::error::Error;
use super::node::{Node, Pending};
use super::rc::NodeRef;

/// A node's state, owned: what is moved into a node.
pub(crate) enum St<T: 'static> {
    Pending(Pending<T>),
    Fulfilled(T),
    Rejected(Error),
    /// Fulfilled, and the value was moved to its only consumer.
    Taken,
    Proxy(NodeRef<T>),
}

/// The payload of a state; which field is live is the header's tag.
#[repr(C)]
pub(crate) union Body<T: 'static> {
    pending: ManuallyDrop<Pending<T>>,
    fulfilled: ManuallyDrop<T>,
    rejected: ManuallyDrop<Error>,
    proxy: ManuallyDrop<NodeRef<T>>,
}

pub(crate) const PENDING: u8 = 0;
pub(crate) const FULFILLED: u8 = 1;
pub(crate) const REJECTED: u8 = 2;
pub(crate) const TAKEN: u8 = 3;
pub(crate) const PROXY: u8 = 4;

/// The borrow flag: free, `n` shared borrows, or the exclusive one.
const FREE: u8 = 0;
const MAX_SHARED: u8 = 254;
const EXCLUSIVE: u8 = 255;

/// A borrow of the state, by reference.
pub(crate) enum View<'a, T: 'static> {
    Pending(&'a Pending<T>),
    Fulfilled(&'a T),
    Rejected(&'a Error),
    Taken,
    Proxy(&'a NodeRef<T>),
}

/// A borrow of the state, by mutable reference.
pub(crate) enum ViewMut<'a, T: 'static> {
    Pending(&'a mut Pending<T>),
    Fulfilled(&'a mut T),
    Rejected(&'a mut Error),
    Taken,
    Proxy(&'a mut NodeRef<T>),
}

/// The state is borrowed in a way that conflicts with the borrow asked for.
#[derive(Debug)]
pub(crate) struct BorrowError;

/// A shared borrow of a node's state.
pub(crate) struct StRef<'a, T: 'static>(&'a Node<T>);

/// The exclusive borrow of a node's state.
pub(crate) struct StMut<'a, T: 'static>(&'a Node<T>);

impl<T: 'static> Body<T> {
    /// Writes `st`'s payload and returns its tag. What the body held is
    /// overwritten without a drop.
    ///
    /// # Safety
    /// `at` is valid for writes of a `Body<T>`.
    #[inline(always)]
    pub(crate) unsafe fn write(at: *mut Body<T>, st: St<T>) -> u8 {
        // SAFETY: the caller's promise; each arm writes one field in place.
        unsafe {
            match st {
                St::Pending(p) => {
                    addr_of_mut!((*at).pending).write(ManuallyDrop::new(p));
                    PENDING
                }
                St::Fulfilled(v) => {
                    addr_of_mut!((*at).fulfilled).write(ManuallyDrop::new(v));
                    FULFILLED
                }
                St::Rejected(e) => {
                    addr_of_mut!((*at).rejected).write(ManuallyDrop::new(e));
                    REJECTED
                }
                St::Taken => TAKEN,
                St::Proxy(n) => {
                    addr_of_mut!((*at).proxy).write(ManuallyDrop::new(n));
                    PROXY
                }
            }
        }
    }
}

impl<T: 'static> Node<T> {
    /// The state's tag; reading it needs no borrow (nothing can change it
    /// while this thread reads it).
    #[inline(always)]
    pub(crate) fn tag(&self) -> u8 {
        self.header.tag.get()
    }

    /// A shared borrow of the state, unless it is borrowed exclusively.
    #[inline(always)]
    pub(crate) fn try_state(&self) -> Result<StRef<'_, T>, BorrowError> {
        let b = self.header.borrow.get();
        if b >= MAX_SHARED {
            return Err(BorrowError);
        }
        self.header.borrow.set(b + 1);
        Ok(StRef(self))
    }

    /// A shared borrow of the state; a conflicting borrow is a bug in the
    /// core, reported as `RefCell` does.
    #[inline(always)]
    #[track_caller]
    pub(crate) fn state(&self) -> StRef<'_, T> {
        match self.try_state() {
            Ok(r) => r,
            Err(BorrowError) => panic!("a promise node's state is already borrowed exclusively"),
        }
    }

    /// The exclusive borrow of the state, unless it is borrowed at all.
    #[inline(always)]
    pub(crate) fn try_state_mut(&self) -> Result<StMut<'_, T>, BorrowError> {
        if self.header.borrow.get() != FREE {
            return Err(BorrowError);
        }
        self.header.borrow.set(EXCLUSIVE);
        Ok(StMut(self))
    }

    /// The exclusive borrow of the state; a conflicting borrow is a bug in
    /// the core, reported as `RefCell` does.
    #[inline(always)]
    #[track_caller]
    pub(crate) fn state_mut(&self) -> StMut<'_, T> {
        match self.try_state_mut() {
            Ok(r) => r,
            Err(BorrowError) => panic!("a promise node's state is already borrowed"),
        }
    }

    /// The state, through a unique reference to the node.
    #[inline]
    pub(crate) fn state_get_mut(&mut self) -> ViewMut<'_, T> {
        // SAFETY: `&mut self` excludes every borrow.
        unsafe { view_mut(self.tag(), self.body.get()) }
    }

    /// Drops the state's payload.
    ///
    /// # Safety
    /// Called once, from the node's destructor: the body is not used after.
    #[inline]
    pub(crate) unsafe fn drop_state(&mut self) {
        let b = self.body.get();
        // SAFETY: the tag names the live field.
        unsafe {
            match self.tag() {
                PENDING => ManuallyDrop::drop(&mut (*b).pending),
                FULFILLED => ManuallyDrop::drop(&mut (*b).fulfilled),
                REJECTED => ManuallyDrop::drop(&mut (*b).rejected),
                PROXY => drop_proxy(&mut (*b).proxy),
                _ => {}
            }
        }
    }
}

/// Drops a proxy's link. Out of line: dropping a `NodeRef` can release a
/// node and come back to [`Node::drop_state`], a cycle that the compiler's
/// MIR inliner rejects as an error when both are inlinable.
#[inline(never)]
fn drop_proxy<T: 'static>(link: &mut ManuallyDrop<NodeRef<T>>) {
    // SAFETY: called once, from `drop_state`.
    unsafe { ManuallyDrop::drop(link) }
}

/// The view of the body whose live field is `tag`.
///
/// # Safety
/// `tag` is the body's tag, and the body is borrowed as `'a` allows.
#[inline(always)]
unsafe fn view<'a, T: 'static>(tag: u8, b: *const Body<T>) -> View<'a, T> {
    // SAFETY: the caller's promise.
    unsafe {
        match tag {
            PENDING => View::Pending(&(*b).pending),
            FULFILLED => View::Fulfilled(&(*b).fulfilled),
            REJECTED => View::Rejected(&(*b).rejected),
            PROXY => View::Proxy(&(*b).proxy),
            _ => View::Taken,
        }
    }
}

/// [`view`], mutably.
///
/// # Safety
/// As for [`view`], with the body borrowed exclusively.
#[inline(always)]
unsafe fn view_mut<'a, T: 'static>(tag: u8, b: *mut Body<T>) -> ViewMut<'a, T> {
    // SAFETY: the caller's promise.
    unsafe {
        match tag {
            PENDING => ViewMut::Pending(&mut (*b).pending),
            FULFILLED => ViewMut::Fulfilled(&mut (*b).fulfilled),
            REJECTED => ViewMut::Rejected(&mut (*b).rejected),
            PROXY => ViewMut::Proxy(&mut (*b).proxy),
            _ => ViewMut::Taken,
        }
    }
}

impl<T: 'static> StRef<'_, T> {
    /// What the state is, by reference.
    #[inline(always)]
    pub(crate) fn view(&self) -> View<'_, T> {
        // SAFETY: the tag is the body's, and this borrow is shared.
        unsafe { view(self.0.tag(), self.0.body.get()) }
    }
}

impl<T: 'static> Drop for StRef<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        let b = &self.0.header.borrow;
        b.set(b.get() - 1);
    }
}

impl<T: 'static> StMut<'_, T> {
    /// What the state is, by mutable reference.
    #[inline(always)]
    pub(crate) fn view(&mut self) -> ViewMut<'_, T> {
        // SAFETY: the tag is the body's, and this borrow is exclusive.
        unsafe { view_mut(self.0.tag(), self.0.body.get()) }
    }

    /// Moves `new` in without dropping what the state held.
    ///
    /// # Safety
    /// What the state held owns nothing any more (its parts were moved out),
    /// or leaking it is intended.
    #[inline(always)]
    pub(crate) unsafe fn overwrite(&mut self, new: St<T>) {
        // SAFETY: exclusive borrow; the caller's promise for the old payload.
        let tag = unsafe { Body::write(self.0.body.get(), new) };
        self.0.header.tag.set(tag);
    }
}

impl<T: 'static> Drop for StMut<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.header.borrow.set(FREE);
    }
}

/// The body cell of a node: a union behind an `UnsafeCell`, since borrows
/// of it are checked by the flag in the header, not by the compiler.
pub(crate) type BodyCell<T> = UnsafeCell<Body<T>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::node::HowToCancel;

    fn fulfilled(v: u64) -> NodeRef<u64> {
        let n = Node::<u64>::alloc(HowToCancel::not());
        let _ = n.settle(Ok(v));
        n
    }

    #[test]
    fn shared_borrows_nest_and_exclude_the_exclusive_one() {
        let n = fulfilled(5);
        let a = n.state();
        let b = n.state();
        assert!(matches!(a.view(), View::Fulfilled(5)));
        assert!(matches!(b.view(), View::Fulfilled(5)));
        assert!(n.try_state_mut().is_err());
        drop((a, b));
        assert!(n.try_state_mut().is_ok());
    }

    #[test]
    fn the_exclusive_borrow_excludes_every_other() {
        let n = fulfilled(5);
        let mut m = n.state_mut();
        assert!(n.try_state().is_err());
        assert!(n.try_state_mut().is_err());
        if let ViewMut::Fulfilled(v) = m.view() {
            *v = 6;
        }
        drop(m);
        assert!(matches!(n.state().view(), View::Fulfilled(6)));
    }

    #[test]
    fn shared_borrows_past_the_limit_fail_instead_of_wrapping() {
        let n = fulfilled(1);
        let held: Vec<_> = (0..MAX_SHARED).map(|_| n.state()).collect();
        assert!(n.try_state().is_err());
        assert!(n.try_state_mut().is_err());
        drop(held);
        assert!(n.try_state_mut().is_ok());
    }

    #[test]
    fn overwriting_sets_the_tag_and_payload_together() {
        let n = Node::<String>::alloc(HowToCancel::not());
        assert_eq!(n.tag(), PENDING);
        let _ = n.settle(Ok("x".to_string()));
        assert_eq!(n.tag(), FULFILLED);
        assert!(matches!(n.state().view(), View::Fulfilled(s) if s == "x"));
        assert_eq!(n.take_outcome().ok().as_deref(), Some("x"));
        assert_eq!(n.tag(), TAKEN);
    }

    #[test]
    fn a_node_of_a_word_is_one_cache_line() {
        // The figure `node.rs`'s module doc gives: a bigger node costs
        // memory on every pending bind.
        assert_eq!(std::mem::size_of::<Node<u64>>(), 64);
        assert_eq!(std::mem::size_of::<Node<()>>(), 64);
    }
}
