//! How a pending promise is canceled (Lwt's `how_to_cancel`), in one word.
//!
//! Every pending node carries one, so it is packed into a pointer-sized
//! word (see [`HowToCancel`]).
//!
//! The word has a fifth form besides Lwt's four: a `task()` promise that
//! has an `on_cancel` function keeps that function here ([`CancelHook`])
//! rather than in its callback list. The commonest pending promises of an
//! event loop are tasks with exactly that pair: a sleep, an I/O wait, a
//! queue waiter, each a `task()` with an `on_cancel` that removes it from
//! its timer, poller or queue, and then the one callback of whoever waits
//! on it. In the callback list the pair takes a separate 80-byte list
//! block; here the `on_cancel` takes a block just its own size, and the
//! consumer's callback stays inline in the node. Only a node's *first*
//! `on_cancel`, attached while it has no other cancel callback, goes here,
//! so the order of cancel callbacks (first attached, first run) is kept:
//! when the node ends canceled, the hook is put back in front of its
//! callbacks (see `node.rs`).
//!
//! And a sixth, [`Interceptor`]: a promise whose cancellation is handed to
//! the code that holds its resolver instead of rejecting it on the spot.
//! Lwt gets this from `finalize`: a condition wait that releases a mutex
//! is `finalize (fun () -> waiter) (fun () -> Lwt_mutex.lock m)`, so a
//! canceled wait still takes the mutex back before it rejects. Written that
//! way here, every wait cost a second promise and a callback; with an
//! interceptor the waiter is the one promise, and cancelling it tells the
//! condition, which takes the mutex back and then rejects it. The word
//! shares one counted `Interceptor` per condition: a wait costs a
//! reference count, not an allocation.

use std::alloc::Layout;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::rc::Rc;

use super::freelist;
use super::rc::AnyNode;

/// How to cancel a pending promise, in one word.
///
/// Address `0` is `Not` (a `wait()` promise: `cancel` does nothing), `1` is
/// `This` (a `task()`: `cancel` rejects it), a node pointer is `One` (a
/// bind-like promise: cancel what it waits on), a pointer to a shared list,
/// tagged with `2`, is `Several` (a join-like promise: cancel every input),
/// and a [`CancelHook`] pointer tagged with `3` is `This` with the node's
/// first `on_cancel` function. Node, list and hook pointers are aligned to
/// at least 8, so the tag bits are free.
///
/// The word is a pointer, not an integer, so that the pointer kept in it
/// keeps its provenance (an integer turned back into a pointer has none,
/// and dereferencing it is undefined behaviour, as Miri reports); the tags
/// are set and cleared with the strict-provenance address methods.
#[repr(transparent)]
pub(crate) struct HowToCancel {
    bits: *mut u8,
    _owns: PhantomData<Owned>,
}

/// What the word may own, one at a time (for the compiler's drop check).
type Owned = (AnyNode, Rc<Vec<AnyNode>>, CancelHook, Rc<Interceptor>);

const NOT: usize = 0;
const THIS: usize = 1;
const SEVERAL: usize = 2;
const HOOKED: usize = 3;
const INTERCEPTED: usize = 4;
const TAGS: usize = 7;

/// What canceling an intercepted promise does (see the module doc): called
/// with the address of the canceled promise's node, in the second phase of
/// `cancel`, while the promise is still pending. Whoever holds the
/// resolver then settles the promise, at once or later.
pub(crate) struct Interceptor(Box<dyn Fn(*const ())>);

/// A view of a [`HowToCancel`].
pub(crate) enum How<'a> {
    Not,
    /// A task: canceling rejects it (with or without a hook).
    This,
    One(&'a AnyNode),
    Several(&'a [AnyNode]),
    /// Canceling hands the promise to its interceptor and leaves it pending.
    Intercepted,
}

impl Interceptor {
    /// An interceptor that calls `f`.
    pub(crate) fn new(f: impl Fn(*const ()) + 'static) -> Interceptor {
        Interceptor(Box::new(f))
    }

    /// Hands it the cancellation of the promise whose node is at `node`.
    pub(crate) fn intercept(&self, node: *const ()) {
        (self.0)(node)
    }
}

impl HowToCancel {
    const fn from_bits(bits: *mut u8) -> HowToCancel {
        HowToCancel {
            bits,
            _owns: PhantomData,
        }
    }

    /// `wait()`: `cancel` does nothing.
    pub(crate) const fn not() -> HowToCancel {
        HowToCancel::from_bits(std::ptr::without_provenance_mut(NOT))
    }

    /// `task()`: `cancel` rejects this promise with `Canceled`.
    pub(crate) const fn this() -> HowToCancel {
        HowToCancel::from_bits(std::ptr::without_provenance_mut(THIS))
    }

    /// A bind-like promise: cancel the promise it waits on.
    pub(crate) fn one(n: AnyNode) -> HowToCancel {
        let bits = n.addr() as *mut u8;
        debug_assert!(bits.addr() & TAGS == 0);
        std::mem::forget(n);
        HowToCancel::from_bits(bits)
    }

    /// A join-like promise: cancel every input.
    pub(crate) fn several(ns: Rc<Vec<AnyNode>>) -> HowToCancel {
        let bits = Rc::into_raw(ns) as *mut u8;
        debug_assert!(bits.addr() & TAGS == 0);
        HowToCancel::from_bits(bits.map_addr(|a| a | SEVERAL))
    }

    /// A promise whose cancellation `i` intercepts.
    pub(crate) fn intercepted(i: Rc<Interceptor>) -> HowToCancel {
        let bits = Rc::into_raw(i) as *mut u8;
        debug_assert!(bits.addr() & TAGS == 0);
        HowToCancel::from_bits(bits.map_addr(|a| a | INTERCEPTED))
    }

    /// The interceptor, if this is `Intercepted`.
    pub(crate) fn interceptor(&self) -> Option<Rc<Interceptor>> {
        if self.bits.addr() & TAGS != INTERCEPTED {
            return None;
        }
        let raw = self.untagged() as *const Interceptor;
        // SAFETY: the word owns one count of an `Rc<Interceptor>` (from
        // `intercepted`); this adds another, owned by the result.
        unsafe {
            Rc::increment_strong_count(raw);
            Some(Rc::from_raw(raw))
        }
    }

    /// The pointer under the tag bits.
    #[inline]
    fn untagged(&self) -> *mut u8 {
        self.bits.map_addr(|a| a & !TAGS)
    }

    #[inline]
    pub(crate) fn view(&self) -> How<'_> {
        match self.bits.addr() {
            NOT => How::Not,
            THIS => How::This,
            b if b & TAGS == HOOKED => How::This,
            // SAFETY: the untagged pointer is an `Rc<Vec<AnyNode>>` we own.
            b if b & TAGS == SEVERAL => How::Several(unsafe { &*(self.untagged() as *const Vec<AnyNode>) }),
            b if b & TAGS == INTERCEPTED => How::Intercepted,
            // SAFETY: untagged, the word is an `AnyNode` we own (a pointer
            // with its provenance), and `AnyNode` is one pointer wide.
            _ => How::One(unsafe { &*(self as *const HowToCancel as *const AnyNode) }),
        }
    }

    /// Whether this holds no link and no hook (`Not` or `This`).
    #[inline]
    pub(crate) fn is_leaf(&self) -> bool {
        self.bits.addr() <= THIS
    }

    /// Whether this is `This` with a hook.
    #[inline]
    pub(crate) fn is_hooked(&self) -> bool {
        self.bits.addr() > THIS && self.bits.addr() & TAGS == HOOKED
    }

    /// Whether this is `This` without a hook: a word that can take one.
    #[inline]
    pub(crate) fn is_bare_this(&self) -> bool {
        self.bits.addr() == THIS
    }

    /// Keeps `f` as the hook of a bare `This`; gives `f` back otherwise.
    pub(crate) fn set_hook<F: FnOnce() + 'static>(&mut self, f: F) -> Result<(), F> {
        if !self.is_bare_this() {
            return Err(f);
        }
        let hook = ManuallyDrop::new(CancelHook::new(f));
        let bits = hook.0.as_ptr() as *mut u8;
        debug_assert!(bits.addr() & TAGS == 0);
        // `This` owns nothing, so overwriting it leaks nothing.
        self.bits = bits.map_addr(|a| a | HOOKED);
        Ok(())
    }

    /// Takes the hook out, leaving a bare `This`.
    pub(crate) fn take_hook(&mut self) -> Option<CancelHook> {
        if !self.is_hooked() {
            return None;
        }
        let head = self.untagged() as *mut HookHead;
        self.bits = std::ptr::without_provenance_mut(THIS);
        // SAFETY: the word held a hook pointer (with its provenance), owned
        // by this word and now handed over.
        Some(CancelHook(unsafe { NonNull::new_unchecked(head) }))
    }
}

impl Drop for HowToCancel {
    #[inline]
    fn drop(&mut self) {
        if self.is_leaf() {
            return;
        }
        if self.bits.addr() & TAGS == 0 {
            // `One`, the link every bind drops once settled: kept inline.
            // SAFETY: an `AnyNode` forgotten into the word (a pointer with
            // its provenance, one pointer wide), released once.
            drop(unsafe { std::ptr::read(self as *const HowToCancel as *const AnyNode) });
            return;
        }
        if self.is_hooked() {
            // A settled sleep or I/O wait: its hook goes unrun.
            drop(self.take_hook());
            return;
        }
        self.drop_rare();
    }
}

impl HowToCancel {
    /// Drops a list of links or an interceptor's count.
    #[inline(never)]
    fn drop_rare(&mut self) {
        let tag = self.bits.addr() & TAGS;
        let raw = self.untagged();
        self.bits = std::ptr::without_provenance_mut(NOT);
        if tag == SEVERAL {
            // SAFETY: from `Rc::into_raw`, released once (the word forgot it).
            drop(unsafe { Rc::from_raw(raw as *const Vec<AnyNode>) });
        } else {
            debug_assert_eq!(tag, INTERCEPTED);
            // SAFETY: as above.
            drop(unsafe { Rc::from_raw(raw as *const Interceptor) });
        }
    }
}

/// The start of a hook's block: what to do with it.
#[repr(C)]
struct HookHead {
    /// Takes the function out of the block, frees the block, and calls
    /// the function (`true`) or drops it (`false`).
    act: unsafe fn(NonNull<HookHead>, bool),
}

#[repr(C)]
struct HookBlock<F> {
    head: HookHead,
    f: ManuallyDrop<F>,
}

/// An `on_cancel` function kept in a cancel word: a thin owned pointer to
/// a free-list block holding the function. Dropped unrun, it drops the
/// function.
pub(crate) struct CancelHook(NonNull<HookHead>);

impl CancelHook {
    fn new<F: FnOnce() + 'static>(f: F) -> CancelHook {
        let block = freelist::boxed(HookBlock {
            head: HookHead { act: act::<F> },
            f: ManuallyDrop::new(f),
        });
        CancelHook(block.cast())
    }

    /// Calls the function.
    pub(crate) fn run(self) {
        let me = ManuallyDrop::new(self);
        // SAFETY: the block is live and owned by this hook, used once.
        unsafe { (me.0.as_ref().act)(me.0, true) }
    }
}

impl Drop for CancelHook {
    fn drop(&mut self) {
        // SAFETY: as in `run`; `run` forgets the hook, so this is the only
        // other use.
        unsafe { (self.0.as_ref().act)(self.0, false) }
    }
}

/// # Safety
/// `h` heads a live `HookBlock<F>` from `CancelHook::new`, used once.
unsafe fn act<F: FnOnce() + 'static>(h: NonNull<HookHead>, run: bool) {
    let block = h.cast::<HookBlock<F>>();
    // SAFETY: the caller's promise: the function is moved out once, and
    // the block given back to the free lists it came from.
    let f = unsafe {
        let f = ManuallyDrop::take(&mut (*block.as_ptr()).f);
        freelist::dealloc(block.cast(), Layout::new::<HookBlock<F>>(), false);
        f
    };
    if run {
        f()
    } else {
        drop(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::Probe;
    use std::cell::Cell;

    #[test]
    fn only_a_bare_this_takes_a_hook() {
        let mut w = HowToCancel::not();
        assert!(w.set_hook(|| ()).is_err());
        let mut t = HowToCancel::this();
        assert!(t.is_bare_this());
        assert!(t.set_hook(|| ()).is_ok());
        assert!(t.is_hooked() && !t.is_leaf() && !t.is_bare_this());
        assert!(matches!(t.view(), How::This));
        assert!(t.set_hook(|| ()).is_err(), "one hook at most");
    }

    #[test]
    fn a_taken_hook_runs_once_and_leaves_a_bare_this() {
        let calls = Rc::new(Cell::new(0));
        let c = calls.clone();
        let mut t = HowToCancel::this();
        assert!(t.set_hook(move || c.set(c.get() + 1)).is_ok());
        let hook = t.take_hook().expect("hooked");
        assert!(!t.is_hooked() && t.is_leaf());
        assert!(t.take_hook().is_none());
        hook.run();
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn an_intercepted_word_owns_one_count_of_its_interceptor() {
        let calls = Rc::new(Cell::new(0usize));
        let c = calls.clone();
        let i = Rc::new(Interceptor::new(move |node| c.set(node.addr())));
        let w = HowToCancel::intercepted(i.clone());
        assert_eq!(Rc::strong_count(&i), 2);
        assert!(matches!(w.view(), How::Intercepted));
        assert!(!w.is_leaf() && !w.is_hooked() && !w.is_bare_this());
        let got = w.interceptor().expect("intercepted");
        assert_eq!(Rc::strong_count(&i), 3);
        got.intercept(std::ptr::without_provenance(40));
        assert_eq!(calls.get(), 40);
        drop(got);
        drop(w);
        assert_eq!(Rc::strong_count(&i), 1);
        assert!(HowToCancel::this().interceptor().is_none());
    }

    #[test]
    fn a_hook_dropped_unrun_drops_its_function_once() {
        let drops = Rc::new(Cell::new(0));
        let p = Probe::new(&drops);
        let mut t = HowToCancel::this();
        assert!(t.set_hook(move || drop(p)).is_ok());
        drop(t);
        assert_eq!(drops.get(), 1);
        // A big function goes to a bigger block; same rule.
        let big = (Probe::new(&drops), [1u64; 20]);
        let mut t = HowToCancel::this();
        assert!(t.set_hook(move || drop(big)).is_ok());
        drop(t.take_hook());
        assert_eq!(drops.get(), 2);
    }
}
