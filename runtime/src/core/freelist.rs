//! Per-thread free lists for promise nodes.
//!
//! A pending bind allocates one node and frees it once the chain has moved
//! on; a loop of binds does that millions of times with only a handful of
//! nodes alive at once. The general-purpose allocator answers each request
//! in about a hundred instructions (glibc's fast bins and tcache included),
//! which was a quarter of the whole cost of a pending bind. Nodes never
//! cross threads, so a per-thread stack of freed blocks of the same size
//! answers in a few instructions instead.
//!
//! When a list is empty, a block comes from a chunk of `chunk.rs`, not
//! from the global allocator: no header per block and no allocator
//! bookkeeping, which made a burst of ten million live promises a third
//! faster.
//!
//! The lists are bounded: at most [`KEEP`] blocks per size class stay on a
//! list, the rest are retired to their chunk, which hands them out again
//! before carving fresh space and goes back to the system once all its
//! blocks are retired. So a burst of ten million live promises
//! does not pin their memory after it ends, while a steady loop only ever
//! touches its list. At thread exit the lists retire all their blocks.
//!
//! Sizes are rounded up to 16 bytes and served from one list per size up to
//! [`MAX`] bytes; larger or over-aligned layouts (a promise of a big array)
//! go straight to the global allocator.

use std::alloc::{self, Layout};
use std::cell::Cell;
use std::mem::size_of;
use std::ptr::{self, NonNull};

use super::chunk;

/// The granularity of size classes, and the alignment of every pooled block.
const STEP: usize = 16;
/// The largest pooled block.
const MAX: usize = 256;
pub(crate) const CLASSES: usize = MAX / STEP;
/// How many free blocks one class keeps at most.
const KEEP: u32 = 1 << 14;

/// A free block, on a list here or retired in its chunk: the first word
/// links to the next one.
pub(crate) struct Free {
    pub(crate) next: *mut Free,
}

struct List {
    head: Cell<*mut Free>,
    len: Cell<u32>,
}

struct Lists {
    classes: [List; CLASSES],
    /// Blocks handed out and not given back: the live promise nodes.
    out: Cell<usize>,
}

impl Drop for Lists {
    fn drop(&mut self) {
        for list in &self.classes {
            let mut p = list.head.replace(ptr::null_mut());
            list.len.set(0);
            while !p.is_null() {
                // SAFETY: every block on a list was carved on this thread
                // and is not in use.
                unsafe {
                    let next = (*p).next;
                    chunk::retire(p as *mut u8);
                    p = next;
                }
            }
        }
        chunk::thread_ending();
    }
}

thread_local! {
    static LISTS: Lists = const {
        Lists {
            classes: [const { List { head: Cell::new(ptr::null_mut()), len: Cell::new(0) } }; CLASSES],
            out: Cell::new(0),
        }
    };
}

/// The size class serving `layout`, if it is pooled.
#[inline]
fn class_of(layout: Layout) -> Option<usize> {
    if layout.size() <= MAX && layout.align() <= STEP && layout.size() > 0 {
        Some((layout.size() - 1) / STEP)
    } else {
        None
    }
}

#[inline]
fn class_layout(class: usize) -> Layout {
    // SAFETY: the size is a non-zero multiple of the alignment, a power of two.
    unsafe { Layout::from_size_align_unchecked((class + 1) * STEP, STEP) }
}

/// Moves `v` into a fresh block: `Box::new` on the free lists. Closures
/// too big to be stored inline, deferred jobs and I/O retry objects are made
/// as often as the promises they serve, so they should not cost a trip to
/// the global allocator either.
#[inline]
pub(crate) fn boxed<V>(v: V) -> NonNull<V> {
    if size_of::<V>() == 0 {
        // Nothing to store (as `Box` does for zero-sized values).
        std::mem::forget(v);
        return NonNull::dangling();
    }
    let p = alloc(Layout::new::<V>(), false).cast::<V>();
    // SAFETY: the block is fresh, sized and aligned for a `V`.
    unsafe { p.as_ptr().write(v) };
    p
}

/// Moves the value out of a block from [`boxed`] and gives the block back.
///
/// # Safety
/// `p` came from [`boxed`], holds a live value, and is not used again.
#[inline]
pub(crate) unsafe fn unbox<V>(p: NonNull<V>) -> V {
    // SAFETY: the caller's promise; the block is given back once, after the
    // value left it.
    unsafe {
        let v = p.as_ptr().read();
        if size_of::<V>() != 0 {
            dealloc(p.cast(), Layout::new::<V>(), false);
        }
        v
    }
}

/// Drops the value in a block from [`boxed`] (possibly seen through an
/// unsized pointer, such as `NonNull<dyn Trait>`) and gives the block back.
///
/// # Safety
/// `p` came from [`boxed`], holds a live value, and is not used again.
pub(crate) unsafe fn drop_boxed<V: ?Sized>(p: NonNull<V>) {
    // SAFETY: the caller's promise; the layout the value's metadata gives is
    // the one `boxed` allocated with.
    unsafe {
        let layout = Layout::for_value(p.as_ref());
        ptr::drop_in_place(p.as_ptr());
        if layout.size() != 0 {
            dealloc(p.cast(), layout, false);
        }
    }
}

/// Allocates a block for `layout` (non-zero size); aborts on out-of-memory,
/// as `Box` does. `node`: the block holds a promise node (see [`blocks_out`]).
#[inline]
pub(crate) fn alloc(layout: Layout, node: bool) -> NonNull<u8> {
    let raw = match class_of(layout) {
        Some(class) => {
            let popped = LISTS
                .try_with(|l| {
                    if node {
                        l.out.set(l.out.get() + 1);
                    }
                    let list = &l.classes[class];
                    let head = list.head.get();
                    if head.is_null() {
                        return ptr::null_mut();
                    }
                    // SAFETY: a listed block is free and starts with its link.
                    list.head.set(unsafe { (*head).next });
                    list.len.set(list.len.get() - 1);
                    head as *mut u8
                })
                .unwrap_or(ptr::null_mut());
            if popped.is_null() {
                chunk::fresh(class, class_layout(class).size())
            } else {
                popped
            }
        }
        None => {
            if node {
                let _ = LISTS.try_with(|l| l.out.set(l.out.get() + 1));
            }
            // SAFETY: callers never ask for zero-sized blocks.
            unsafe { alloc::alloc(layout) }
        }
    };
    match NonNull::new(raw) {
        Some(p) => p,
        None => alloc::handle_alloc_error(layout),
    }
}

/// Gives back a block from [`alloc`] with the same `layout`.
///
/// # Safety
/// `p` came from `alloc(layout, node)` on this thread (same `node`) and is
/// no longer used.
#[inline]
pub(crate) unsafe fn dealloc(p: NonNull<u8>, layout: Layout, node: bool) {
    let Some(class) = class_of(layout) else {
        if node {
            let _ = LISTS.try_with(|l| l.out.set(l.out.get().wrapping_sub(1)));
        }
        // SAFETY: allocated by the global allocator with this layout.
        unsafe { alloc::dealloc(p.as_ptr(), layout) };
        return;
    };
    let kept = LISTS
        .try_with(|l| {
            if node {
                l.out.set(l.out.get().wrapping_sub(1));
            }
            let list = &l.classes[class];
            let len = list.len.get();
            if len >= KEEP {
                return false;
            }
            let block = p.as_ptr() as *mut Free;
            // SAFETY: the block is ours now and big enough for a link
            // (every class is at least 16 bytes, aligned to 16).
            unsafe { block.write(Free { next: list.head.get() }) };
            list.head.set(block);
            list.len.set(len + 1);
            true
        })
        .unwrap_or(false);
    if !kept {
        // SAFETY: pooled blocks are carved on this thread (the caller's
        // promise), and this one is no longer used.
        unsafe { chunk::retire(p.as_ptr()) };
    }
}

/// How many node blocks are handed out on this thread: the number of live
/// promise nodes.
pub(crate) fn blocks_out() -> usize {
    LISTS.try_with(|l| l.out.get()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxed_values_of_any_size_come_back_or_drop_once() {
        use std::cell::Cell;
        thread_local!(static DROPS: Cell<u32> = const { Cell::new(0) });
        struct Unit;
        impl Drop for Unit {
            fn drop(&mut self) {
                DROPS.with(|d| d.set(d.get() + 1));
            }
        }
        // Zero-sized: no block at all.
        let p = boxed(Unit);
        unsafe { drop_boxed(p) };
        let p = boxed(Unit);
        drop(unsafe { unbox(p) });
        assert_eq!(DROPS.with(Cell::get), 2);
        // Sized, through a trait object as `Job` and `RetryBox` see them.
        let p = boxed([7u64; 5]);
        assert_eq!(unsafe { unbox(p) }, [7u64; 5]);
        let p: NonNull<dyn std::any::Any> = boxed((Unit, 3u32));
        unsafe { drop_boxed(p) };
        assert_eq!(DROPS.with(Cell::get), 3);
    }

    #[test]
    fn blocks_are_reused_per_class() {
        let layout = Layout::from_size_align(72, 8).unwrap();
        let a = alloc(layout, false);
        // SAFETY: `a` came from `alloc(layout, false)`.
        unsafe { dealloc(a, layout, false) };
        let b = alloc(Layout::from_size_align(80, 16).unwrap(), false);
        assert_eq!(a, b, "same class, so the freed block is handed out again");
        // SAFETY: as above, same class layout.
        unsafe { dealloc(b, Layout::from_size_align(80, 16).unwrap(), false) };
    }

    #[test]
    fn blocks_are_writable_and_distinct() {
        let layout = Layout::from_size_align(48, 8).unwrap();
        let blocks: Vec<_> = (0..100u8).map(|_| alloc(layout, false)).collect();
        for (i, b) in blocks.iter().enumerate() {
            // SAFETY: each block has 48 writable bytes.
            unsafe { ptr::write_bytes(b.as_ptr(), i as u8, 48) };
        }
        for (i, b) in blocks.iter().enumerate() {
            // SAFETY: as above.
            let bytes = unsafe { std::slice::from_raw_parts(b.as_ptr(), 48) };
            assert!(bytes.iter().all(|&x| x == i as u8));
        }
        for b in blocks {
            // SAFETY: from `alloc(layout, false)`.
            unsafe { dealloc(b, layout, false) };
        }
    }

    #[test]
    fn the_lists_are_bounded() {
        let layout = Layout::from_size_align(32, 8).unwrap();
        let blocks: Vec<_> = (0..KEEP + 100).map(|_| alloc(layout, false)).collect();
        for b in blocks {
            // SAFETY: from `alloc(layout, false)`.
            unsafe { dealloc(b, layout, false) };
        }
        let kept = LISTS.with(|l| l.classes[class_of(layout).unwrap()].len.get());
        assert!(kept <= KEEP);
    }

    #[test]
    fn a_burst_gives_its_chunks_back_when_it_ends() {
        std::thread::spawn(|| {
            let layout = Layout::from_size_align(80, 8).unwrap();
            let blocks: Vec<_> = (0..200_000).map(|_| alloc(layout, true)).collect();
            let during = chunk::chunks_alive();
            assert!(during >= 200_000 * 80 / chunk::CHUNK, "{during} chunks for 16 MB");
            for b in blocks {
                // SAFETY: from `alloc(layout, true)`.
                unsafe { dealloc(b, layout, true) };
            }
            // What stays: the chunks holding the list's blocks, and the one
            // being carved.
            let after = chunk::chunks_alive();
            assert!(
                after <= 2 + KEEP as usize * 80 / chunk::CHUNK,
                "{after} chunks after the burst"
            );
            assert_eq!(blocks_out(), 0);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn threads_give_their_lists_back_and_promises_outlive_nothing() {
        // A thread that made and dropped promises exits cleanly: its lists
        // are freed by their destructor, and any node dropped during the
        // thread's teardown goes to the global allocator.
        let handle = std::thread::spawn(|| {
            thread_local! {
                static KEPT: std::cell::RefCell<Vec<crate::Promise<u32>>> =
                    const { std::cell::RefCell::new(Vec::new()) };
            }
            let mut resolvers = Vec::new();
            for i in 0..1000u32 {
                let (p, r) = crate::wait::<u32>();
                let q = p.map(move |x| x + i);
                if i % 2 == 0 {
                    resolvers.push(r);
                    KEPT.with(|k| k.borrow_mut().push(q));
                }
            }
            for r in resolvers.iter().take(100) {
                r.wakeup(1);
            }
            KEPT.with(|k| k.borrow().iter().filter(|p| p.is_fulfilled()).count())
        });
        assert_eq!(handle.join().unwrap(), 100);
    }

    #[test]
    fn big_and_over_aligned_layouts_use_the_global_allocator() {
        assert_eq!(class_of(Layout::from_size_align(512, 8).unwrap()), None);
        assert_eq!(class_of(Layout::from_size_align(64, 64).unwrap()), None);
        let layout = Layout::from_size_align(64, 64).unwrap();
        let p = alloc(layout, false);
        assert_eq!(p.as_ptr() as usize % 64, 0);
        // SAFETY: from `alloc(layout, false)`.
        unsafe { dealloc(p, layout, false) };
    }
}
