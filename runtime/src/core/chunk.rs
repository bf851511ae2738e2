//! Where the free lists' blocks come from: 2 MiB chunks, carved in order.
//!
//! Lwt has no counterpart: OCaml's minor heap plays this part for it.
//!
//! When a free list of `freelist.rs` is empty, a block used to come from the
//! global allocator. For a burst of live promises (ten million binds waiting
//! on one pending promise) that cost, per block:
//! - the allocator's own bookkeeping, a sixth of an 80-byte node on glibc
//!   (each block carries a 16-byte header) and about a fifth of the time;
//! - one page fault per 4 KiB of fresh memory, which on a virtual machine
//!   was as long as all the rest of a pending bind together.
//!
//! So blocks are carved from chunks instead: a chunk is 2 MiB, aligned to
//! its size, and carving is bumping a pointer. Blocks carry no header, so
//! ten million nodes fault in a sixth fewer pages, and the allocator's
//! bookkeeping is gone: a pending bind in that burst went from 98 ns to
//! 70 ns.
//!
//! Chunks are aligned so that a system whose transparent huge pages are
//! always on can back each with one huge page. We do not ask for huge pages
//! (`MADV_HUGEPAGE`) ourselves: on the virtual machine we measure on, a huge
//! page of memory the host had taken back cost twice as much as the 512
//! small pages it replaces, and the general-purpose allocators (jemalloc,
//! mimalloc, Go's) do not ask by default either.
//!
//! # Giving memory back
//! A freed block normally goes back on its free list. When the list is
//! full, it is *retired*: given back to its chunk for good. The chunk is
//! found by masking the block's address. Once carving has moved past a chunk
//! ("closed" it) and every block carved from it is retired, the chunk is
//! unmapped. So a burst of ten million live promises gives its memory back
//! when it ends, except for the chunks holding blocks kept on the lists.
//!
//! The count lives in the chunk's first cache line, as one signed number:
//! while the chunk is carved it holds minus the number of retired blocks;
//! closing it adds the number carved, which the carving thread counts on its
//! side. It reaches zero exactly when a closed chunk has nothing left out,
//! and carving, the hot path, never touches the header.
//!
//! # Threads
//! Blocks never leave their thread (promises are not `Send`), so nothing is
//! atomic. The carving state is a thread-local without a destructor, usable
//! until the thread is gone. When the thread's free lists are dropped at
//! its exit, they retire their blocks and close the current chunk
//! ([`thread_ending`]); a block made later, by another thread-local's
//! destructor, is carved from a chunk that is unmapped as soon as all its
//! blocks are retired, open or not.

use std::cell::Cell;
use std::ptr;

/// The size and alignment of a chunk.
pub(crate) const CHUNK: usize = 2 << 20;
/// The room the header takes at the start of a chunk: one cache line.
const HEADER: usize = 64;

/// The start of every chunk.
struct Header {
    /// Minus the retired blocks, plus the carved ones once closed.
    live: Cell<isize>,
}

struct Carver {
    /// The next byte to carve from the current chunk; null if there is none.
    next: Cell<*mut u8>,
    /// The end of the current chunk.
    end: Cell<*mut u8>,
    /// Blocks carved from the current chunk.
    carved: Cell<isize>,
    /// Chunks of this thread mapped now.
    alive: Cell<usize>,
    /// The thread's free lists are gone.
    ending: Cell<bool>,
}

thread_local! {
    // No destructor: usable by every other thread-local's destructor.
    static CARVER: Carver = const {
        Carver {
            next: Cell::new(ptr::null_mut()),
            end: Cell::new(ptr::null_mut()),
            carved: Cell::new(0),
            alive: Cell::new(0),
            ending: Cell::new(false),
        }
    };
}

/// A fresh block of `size` bytes (a multiple of 16, at most a few hundred),
/// aligned to 16; null if no chunk could be mapped.
#[inline]
pub(crate) fn carve(size: usize) -> *mut u8 {
    CARVER.with(|c| {
        let next = c.next.get();
        // Both null before the first chunk: no room.
        if (c.end.get() as usize) - (next as usize) >= size {
            c.next.set(next.wrapping_add(size));
            c.carved.set(c.carved.get() + 1);
            next
        } else {
            carve_in_new_chunk(c, size)
        }
    })
}

#[inline(never)]
#[cold]
fn carve_in_new_chunk(c: &Carver, size: usize) -> *mut u8 {
    close(c);
    let Some(chunk) = map() else {
        return ptr::null_mut();
    };
    c.alive.set(c.alive.get() + 1);
    // SAFETY: the chunk is fresh, aligned, and its first line is the header.
    unsafe { (chunk as *mut Header).write(Header { live: Cell::new(0) }) };
    let first = chunk.wrapping_add(HEADER);
    c.next.set(first.wrapping_add(size));
    c.end.set(chunk.wrapping_add(CHUNK));
    c.carved.set(1);
    first
}

/// Stops carving from the current chunk; unmaps it if it is empty.
fn close(c: &Carver) {
    let Some(header) = current_chunk(c) else {
        return;
    };
    c.next.set(ptr::null_mut());
    c.end.set(ptr::null_mut());
    let carved = c.carved.replace(0);
    // SAFETY: the current chunk is mapped, so is its header.
    let live = unsafe {
        let live = (*header).live.get() + carved;
        (*header).live.set(live);
        live
    };
    if live == 0 {
        unmap(c, header);
    }
}

/// Gives `block` back to its chunk for good.
///
/// # Safety
/// `block` came from [`carve`] on this thread and is no longer used.
pub(crate) unsafe fn retire(block: *mut u8) {
    let header = chunk_of(block);
    // SAFETY: a carved block's chunk stays mapped until it is retired.
    let live = unsafe {
        let live = (*header).live.get() - 1;
        (*header).live.set(live);
        live
    };
    CARVER.with(|c| {
        if live == 0 {
            // Closed, and nothing is left out of it.
            unmap(c, header);
        } else if c.ending.get() && current_chunk(c) == Some(header) && live + c.carved.get() == 0 {
            // After the thread's lists are gone nobody would close the
            // current chunk: it goes as soon as it is empty.
            close(c);
        }
    });
}

/// The thread's free lists are gone: close the current chunk, and from now
/// on unmap chunks as soon as they are empty.
pub(crate) fn thread_ending() {
    CARVER.with(|c| {
        c.ending.set(true);
        close(c);
    });
}

/// The chunks this thread has mapped now.
#[cfg(test)]
pub(crate) fn chunks_alive() -> usize {
    CARVER.with(|c| c.alive.get())
}

/// The chunk being carved, if any. (`next` may be its end: the byte
/// before it is inside.)
fn current_chunk(c: &Carver) -> Option<*mut Header> {
    let next = c.next.get();
    (!next.is_null()).then(|| chunk_of(next.wrapping_sub(1)))
}

#[inline]
fn chunk_of(p: *mut u8) -> *mut Header {
    p.map_addr(|a| a & !(CHUNK - 1)) as *mut Header
}

fn unmap(c: &Carver, header: *mut Header) {
    c.alive.set(c.alive.get() - 1);
    // SAFETY: `header` starts a chunk from `map`, with nothing left in use.
    unsafe { sys::unmap(header as *mut u8) }
}

fn map() -> Option<*mut u8> {
    // SAFETY: `sys::map` has no precondition; it returns null on failure.
    let p = unsafe { sys::map() };
    (!p.is_null()).then_some(p)
}

/// Chunks straight from the kernel: freed chunks go back to it at once,
/// whatever the global allocator would have done with them.
#[cfg(all(feature = "unix", not(miri)))]
mod sys {
    use super::CHUNK;
    use std::ptr;

    /// Maps twice the size and unmaps the ends around the aligned middle.
    pub(super) unsafe fn map() -> *mut u8 {
        let len = 2 * CHUNK;
        // SAFETY: an anonymous private mapping, no address asked for.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return ptr::null_mut();
        }
        let p = p as *mut u8;
        let head = p.addr().next_multiple_of(CHUNK) - p.addr();
        let tail = len - head - CHUNK;
        // SAFETY: both ranges are inside the mapping just made, and unused.
        unsafe {
            if head > 0 {
                libc::munmap(p as *mut libc::c_void, head);
            }
            if tail > 0 {
                libc::munmap(p.add(head + CHUNK) as *mut libc::c_void, tail);
            }
        }
        p.wrapping_add(head)
    }

    pub(super) unsafe fn unmap(chunk: *mut u8) {
        // SAFETY: the caller's promise: a chunk from `map`, unused.
        unsafe { libc::munmap(chunk as *mut libc::c_void, CHUNK) };
    }
}

/// Without the Unix bindings (or under Miri), the global allocator.
#[cfg(not(all(feature = "unix", not(miri))))]
mod sys {
    use super::CHUNK;
    use std::alloc::{self, Layout};

    const LAYOUT: Layout = match Layout::from_size_align(CHUNK, CHUNK) {
        Ok(l) => l,
        Err(_) => panic!("a chunk's layout is valid"),
    };

    pub(super) unsafe fn map() -> *mut u8 {
        // SAFETY: the layout has a non-zero size.
        unsafe { alloc::alloc(LAYOUT) }
    }

    pub(super) unsafe fn unmap(chunk: *mut u8) {
        // SAFETY: the caller's promise: allocated by `map`, unused.
        unsafe { alloc::dealloc(chunk, LAYOUT) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each test runs on a thread of its own, so it sees only its chunks.
    fn on_a_fresh_thread(f: impl FnOnce() + Send + 'static) {
        std::thread::spawn(f).join().unwrap();
    }

    #[test]
    fn blocks_are_distinct_aligned_and_inside_their_chunk() {
        on_a_fresh_thread(|| {
            let blocks: Vec<*mut u8> = (0..1000).map(|i| carve(16 * (1 + i % 16))).collect();
            for (i, &b) in blocks.iter().enumerate() {
                assert_eq!(b.addr() % 16, 0);
                assert!(b.addr() - chunk_of(b).addr() >= HEADER);
                // SAFETY: each block has at least 16 writable bytes.
                unsafe { ptr::write_bytes(b, i as u8, 16) };
            }
            for (i, &b) in blocks.iter().enumerate() {
                // SAFETY: as above.
                assert_eq!(unsafe { *b }, i as u8);
            }
            assert_eq!(chunks_alive(), 1);
            for b in blocks {
                // SAFETY: carved here, used no more.
                unsafe { retire(b) };
            }
            // The chunk is still being carved from: it stays.
            assert_eq!(chunks_alive(), 1);
        });
    }

    #[test]
    fn a_closed_chunk_goes_when_its_last_block_is_retired() {
        on_a_fresh_thread(|| {
            let per_chunk = (CHUNK - HEADER) / 256;
            let first: Vec<*mut u8> = (0..per_chunk).map(|_| carve(256)).collect();
            assert_eq!(chunks_alive(), 1);
            let next = carve(256);
            assert_eq!(chunks_alive(), 2, "the first chunk is full");
            assert_ne!(chunk_of(next), chunk_of(first[0]));
            for (i, b) in first.iter().enumerate() {
                assert_eq!(chunks_alive(), 2, "block {i} of the first chunk is still out");
                // SAFETY: carved here, used no more.
                unsafe { retire(*b) };
            }
            assert_eq!(chunks_alive(), 1);
            // SAFETY: as above.
            unsafe { retire(next) };
        });
    }

    #[test]
    fn an_emptied_chunk_goes_when_carving_leaves_it() {
        on_a_fresh_thread(|| {
            let per_chunk = (CHUNK - HEADER) / 256;
            let first: Vec<*mut u8> = (0..per_chunk).map(|_| carve(256)).collect();
            for b in first {
                // SAFETY: carved here, used no more.
                unsafe { retire(b) };
            }
            assert_eq!(chunks_alive(), 1);
            let b = carve(256);
            assert_eq!(chunks_alive(), 1, "the empty chunk went, a new one came");
            // SAFETY: as above.
            unsafe { retire(b) };
        });
    }

    #[test]
    fn after_the_thread_ends_an_empty_chunk_goes_at_once() {
        on_a_fresh_thread(|| {
            let kept = carve(64);
            thread_ending();
            assert_eq!(chunks_alive(), 1, "a block is still out");
            // SAFETY: carved here, used no more.
            unsafe { retire(kept) };
            assert_eq!(chunks_alive(), 0);
            // A block made during the thread's teardown.
            let late = carve(32);
            assert_eq!(chunks_alive(), 1);
            // SAFETY: as above.
            unsafe { retire(late) };
            assert_eq!(chunks_alive(), 0);
        });
    }

    #[test]
    fn after_the_thread_ends_a_chunk_carved_to_its_last_byte_goes_too() {
        on_a_fresh_thread(|| {
            thread_ending();
            let fill = (CHUNK - HEADER) / 64;
            assert_eq!(fill * 64, CHUNK - HEADER, "64-byte blocks fill a chunk exactly");
            let blocks: Vec<*mut u8> = (0..fill).map(|_| carve(64)).collect();
            assert_eq!(chunks_alive(), 1);
            for b in blocks {
                // SAFETY: carved here, used no more.
                unsafe { retire(b) };
            }
            assert_eq!(chunks_alive(), 0);
        });
    }
}
