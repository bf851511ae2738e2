//! Where the free lists' blocks come from: 2 MiB chunks, carved in order.
//!
//! Lwt has no counterpart: OCaml's minor heap plays this part for it.
//!
//! When a free list of `freelist.rs` is empty, a block used to come from the
//! global allocator. For a burst of live promises (ten million binds waiting
//! on one pending promise) that cost, per block:
//! - the allocator's own bookkeeping, a sixth of a node (80 bytes then) on glibc
//!   (each block carries a 16-byte header) and about a fifth of the time;
//! - one page fault per 4 KiB of fresh memory, which on a virtual machine
//!   was as long as all the rest of a pending bind together.
//!
//! So blocks are carved from chunks instead: a chunk is 2 MiB, aligned to
//! its size, and carving is bumping a pointer. Blocks carry no header, so
//! ten million nodes fault in a sixth fewer pages, and the allocator's
//! bookkeeping is gone: a pending bind in that burst went from about
//! 100 ns to 68 ns, and a million concurrent sleepers from 0.8 s to 0.5 s.
//! A chunk is only address space until its pages are touched: a thread
//! that uses a few size classes maps a chunk for each, and its resident
//! memory grows by the pages its blocks take, as before.
//!
//! Chunks are aligned so that a system whose transparent huge pages are
//! always on can back each with one huge page. We do not ask for huge pages
//! (`MADV_HUGEPAGE`) ourselves: on the virtual machine we measure on, a huge
//! page of memory the host had taken back cost twice as much as the 512
//! small pages it replaces, and the general-purpose allocators (jemalloc,
//! mimalloc, Go's) do not ask by default either.
//!
//! # Faulting pages in ahead
//! Carving a burst still faults each fresh 4 KiB page in on its first
//! write: a trap into the kernel per page, which for ten million pending
//! binds (600 MB) was 156,000 faults and half the run. So when carving
//! enters a new 64 KiB stretch of a chunk ([`AHEAD`]), the stretch after it
//! is faulted in with one `madvise(MADV_POPULATE_WRITE)` (Linux 5.14 and
//! later; elsewhere, or where it fails, pages fault in as before). Measured
//! in alternating runs: a pending bind in that burst went from 51-53 to
//! 44 ns, a million concurrent sleepers from 0.56-0.58 to 0.43-0.45 s, and
//! a million paused tasks from 0.155-0.162 to 0.144-0.148 s, each with the
//! same peak memory. The cost is at most one stretch of memory faulted in
//! but not yet carved per size class, and none for a class that never
//! carves past its first 64 KiB: a small program maps no more than before.
//! Stretches of 32 and 128 KiB measured the same; 256 KiB was slower.
//!
//! # Giving memory back, and reusing it
//! A freed block normally goes back on its thread's free list. When the
//! list is full, the block is *retired*: given back to its chunk, found by
//! masking the block's address. A chunk serves one size class, so its
//! retired blocks form a free list of their own, and a class whose thread
//! list is empty takes a retired block from one of its chunks before it
//! carves fresh space. Without that reuse, a few long-lived blocks in each
//! chunk would pin it, and every burst of short-lived ones would carve new
//! chunks: memory would grow with each burst where the global allocator
//! would have reused the holes.
//!
//! Once carving has moved past a chunk ("closed" it) and every block carved
//! from it is retired, the chunk is unmapped. So a burst of ten million live
//! promises gives its memory back when it ends, except for the chunks
//! holding blocks kept on the free lists. A few empty chunks little of
//! which was used are stashed instead, for the next thread (see [`Stash`]):
//! short-lived threads then cost no mapping at all.
//!
//! Counting: the header's `live` is the number of blocks out of the chunk,
//! except the ones carved while it is current: the carving thread counts
//! those on its side, so carving, the hot path, never touches the header.
//! Closing the chunk adds them in.
//!
//! # Threads
//! Blocks never leave their thread (promises are not `Send`), so nothing is
//! atomic. The carving state is a thread-local without a destructor, usable
//! until the thread is gone. When the thread's free lists are dropped at
//! its exit, they retire their blocks and close the current chunks
//! ([`thread_ending`]); a block made later, by another thread-local's
//! destructor, is carved from a chunk that is unmapped as soon as all its
//! blocks are retired, current or not.

use std::cell::Cell;
use std::ptr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::freelist::{Free, CLASSES};

/// The size and alignment of a chunk. (Smaller under Miri, so that its
/// tests fill chunks in seconds, not a quarter of an hour.)
pub(crate) const CHUNK: usize = if cfg!(miri) { 64 << 10 } else { 2 << 20 };
/// The room the header takes at the start of a chunk: one cache line.
const HEADER: usize = 64;
/// How far ahead of carving a chunk's pages are faulted in, in one go.
const AHEAD: usize = 64 << 10;

/// The start of every chunk.
struct Header {
    /// Blocks out of this chunk, but those carved while it is current.
    live: Cell<isize>,
    /// Retired blocks, to be handed out again.
    free: Cell<*mut Free>,
    /// Neighbours in its class's list of chunks with retired blocks.
    prev: Cell<*mut Header>,
    next: Cell<*mut Header>,
    /// The size class every block of this chunk belongs to.
    class: usize,
    /// Carving happens here.
    current: Cell<bool>,
    /// In its class's list (it has retired blocks).
    listed: Cell<bool>,
    /// How far carving went, in bytes from the chunk's start; set when it
    /// is closed.
    touched: Cell<usize>,
}

const _: () = assert!(std::mem::size_of::<Header>() <= HEADER);

/// A thread's carving state for one size class.
struct Class {
    /// The next byte to carve from the current chunk; null if there is none.
    next: Cell<*mut u8>,
    /// The end of the current chunk.
    end: Cell<*mut u8>,
    /// Blocks carved from the current chunk.
    carved: Cell<isize>,
    /// The chunks of this class with retired blocks (a doubly linked list).
    partial: Cell<*mut Header>,
}

struct Carver {
    classes: [Class; CLASSES],
    /// Chunks of this thread mapped now.
    alive: Cell<usize>,
    /// The thread's free lists are gone.
    ending: Cell<bool>,
}

thread_local! {
    // No destructor: usable by every other thread-local's destructor.
    static CARVER: Carver = const {
        Carver {
            classes: [const {
                Class {
                    next: Cell::new(ptr::null_mut()),
                    end: Cell::new(ptr::null_mut()),
                    carved: Cell::new(0),
                    partial: Cell::new(ptr::null_mut()),
                }
            }; CLASSES],
            alive: Cell::new(0),
            ending: Cell::new(false),
        }
    };
}

/// A block of `size` bytes (the size of `class`: a multiple of 16, at most
/// a few hundred), aligned to 16: a retired one if the class has any, else
/// fresh space; null if no chunk could be mapped.
///
/// Out of line: the free lists call it only when empty, and inlined into
/// every allocation site it made the hot loops around them bigger (a mutex
/// ping-pong was 5% slower).
#[inline(never)]
pub(crate) fn fresh(class: usize, size: usize) -> *mut u8 {
    CARVER.with(|c| {
        let k = &c.classes[class];
        let partial = k.partial.get();
        if !partial.is_null() {
            // SAFETY: a listed chunk is mapped and has a retired block.
            return unsafe { reuse(k, partial) };
        }
        let next = k.next.get();
        // Both null before the first chunk: no room.
        if k.end.get().addr() - next.addr() >= size {
            let after = next.wrapping_add(size);
            k.next.set(after);
            k.carved.set(k.carved.get() + 1);
            if (after.addr() ^ next.addr()) >= AHEAD {
                // Carving entered a new stretch.
                populate_ahead(after, k.end.get());
            }
            next
        } else {
            carve_in_new_chunk(c, class, size)
        }
    })
}

/// Carving just entered the stretch of [`AHEAD`] bytes holding `at`:
/// faults in the next one, if it is inside the chunk (see "Faulting pages
/// in ahead" in the module's doc).
#[cold]
#[inline(never)]
fn populate_ahead(at: *mut u8, end: *mut u8) {
    let next = at.map_addr(|a| (a & !(AHEAD - 1)) + AHEAD);
    if next.addr() + AHEAD <= end.addr() {
        // SAFETY: the stretch is inside the current chunk, which is mapped;
        // no block of it has been handed out yet.
        unsafe { sys::populate(next, AHEAD) };
    }
}

/// Hands out a retired block of `h`, the first chunk of `k`'s list.
///
/// # Safety
/// `h` is mapped, listed in `k`, and has a retired block.
unsafe fn reuse(k: &Class, h: *mut Header) -> *mut u8 {
    // SAFETY: the caller's promise; a retired block starts with its link.
    unsafe {
        let header = &*h;
        let block = header.free.get();
        header.free.set((*block).next);
        header.live.set(header.live.get() + 1);
        if header.free.get().is_null() {
            unlink(k, h);
        }
        block as *mut u8
    }
}

#[inline(never)]
#[cold]
fn carve_in_new_chunk(c: &Carver, class: usize, size: usize) -> *mut u8 {
    close(c, class);
    let Some(chunk) = map() else {
        return ptr::null_mut();
    };
    c.alive.set(c.alive.get() + 1);
    // SAFETY: the chunk is fresh, aligned, and starts with room for the header.
    unsafe {
        (chunk as *mut Header).write(Header {
            live: Cell::new(0),
            free: Cell::new(ptr::null_mut()),
            prev: Cell::new(ptr::null_mut()),
            next: Cell::new(ptr::null_mut()),
            class,
            current: Cell::new(true),
            listed: Cell::new(false),
            touched: Cell::new(0),
        })
    };
    let k = &c.classes[class];
    let first = chunk.wrapping_add(HEADER);
    k.next.set(first.wrapping_add(size));
    k.end.set(chunk.wrapping_add(CHUNK));
    k.carved.set(1);
    first
}

/// Stops carving from the current chunk of `class`; unmaps it if it is
/// empty.
fn close(c: &Carver, class: usize) {
    let k = &c.classes[class];
    let Some(h) = current_chunk(k) else {
        return;
    };
    let next = k.next.replace(ptr::null_mut());
    k.end.set(ptr::null_mut());
    let carved = k.carved.replace(0);
    // SAFETY: the current chunk is mapped, so is its header.
    let header = unsafe { &*h };
    header.current.set(false);
    header.touched.set(next.addr() - h.addr());
    header.live.set(header.live.get() + carved);
    if header.live.get() == 0 {
        unmap(c, h);
    }
}

/// Gives `block` back to its chunk for good.
///
/// # Safety
/// `block` came from [`fresh`] on this thread and is no longer used.
pub(crate) unsafe fn retire(block: *mut u8) {
    let h = chunk_of(block);
    CARVER.with(|c| {
        // Made here, not captured: a reference the closure captured would
        // be protected for the whole call, during which `unmap` may free
        // the chunk.
        // SAFETY: a block's chunk stays mapped while the block is out.
        let header = unsafe { &*h };
        let k = &c.classes[header.class];
        header.live.set(header.live.get() - 1);
        let free = block as *mut Free;
        // SAFETY: the block is ours again, and at least a word long.
        unsafe {
            free.write(Free {
                next: header.free.get(),
            })
        };
        header.free.set(free);
        if !header.listed.get() {
            link(k, h);
        }
        if !header.current.get() {
            if header.live.get() == 0 {
                // Closed, and nothing is left out of it.
                unmap(c, h);
            }
        } else if c.ending.get() && header.live.get() + k.carved.get() == 0 {
            // After the thread's lists are gone nobody would close the
            // current chunk: it goes as soon as it is empty.
            close(c, header.class);
        }
    });
}

/// The thread's free lists are gone: close the current chunks, and from
/// now on unmap chunks as soon as they are empty.
pub(crate) fn thread_ending() {
    CARVER.with(|c| {
        c.ending.set(true);
        for class in 0..CLASSES {
            close(c, class);
        }
    });
}

/// The chunks this thread has mapped now.
#[cfg(test)]
pub(crate) fn chunks_alive() -> usize {
    CARVER.with(|c| c.alive.get())
}

/// The chunk being carved for `k`, if any. (`next` may be its end: the
/// byte before it is inside.)
fn current_chunk(k: &Class) -> Option<*mut Header> {
    let next = k.next.get();
    (!next.is_null()).then(|| chunk_of(next.wrapping_sub(1)))
}

#[inline]
fn chunk_of(p: *mut u8) -> *mut Header {
    p.map_addr(|a| a & !(CHUNK - 1)) as *mut Header
}

// The list and `unmap` take the header as the raw pointer it was made
// from (the chunk's own address): unmapping needs the chunk's full
// permission, which a pointer derived from a `&Header` does not have.

/// Puts the mapped chunk `h` first in `k`'s list.
fn link(k: &Class, h: *mut Header) {
    let first = k.partial.get();
    // SAFETY: `h` and the listed chunks are mapped.
    unsafe {
        (*h).prev.set(ptr::null_mut());
        (*h).next.set(first);
        if !first.is_null() {
            (*first).prev.set(h);
        }
        (*h).listed.set(true);
    }
    k.partial.set(h);
}

/// Takes the mapped chunk `h` out of `k`'s list.
fn unlink(k: &Class, h: *mut Header) {
    // SAFETY: `h` and the listed chunks are mapped.
    unsafe {
        let (prev, next) = ((*h).prev.get(), (*h).next.get());
        if prev.is_null() {
            k.partial.set(next);
        } else {
            (*prev).next.set(next);
        }
        if !next.is_null() {
            (*next).prev.set(prev);
        }
        (*h).listed.set(false);
    }
}

/// Gives back the mapped chunk `h`, which has nothing left in use.
fn unmap(c: &Carver, h: *mut Header) {
    // SAFETY: `h` is mapped.
    let (listed, class) = unsafe { ((*h).listed.get(), (*h).class) };
    if listed {
        unlink(&c.classes[class], h);
    }
    c.alive.set(c.alive.get() - 1);
    // SAFETY: `h` is mapped.
    let touched = unsafe { (*h).touched.get() };
    if let Err(chunk) = lock_stash().put(h as *mut u8, touched) {
        // SAFETY: `chunk` starts a chunk from `map`, with nothing left in
        // use and no list pointing to it.
        unsafe { sys::unmap(chunk) }
    }
}

fn map() -> Option<*mut u8> {
    if let Some(chunk) = lock_stash().take() {
        return Some(chunk);
    }
    // SAFETY: `sys::map` has no precondition; it returns null on failure.
    let p = unsafe { sys::map() };
    (!p.is_null()).then_some(p)
}

/// Empty chunks kept for the next thread that needs one.
///
/// A program that runs a loop on each of many short-lived threads (a thread
/// per request) would otherwise map and unmap a chunk per size class and
/// thread, and fault its first pages in each time: that was 22 µs on top of
/// the 50 µs such a thread cost before chunks. Only chunks of which little
/// was ever carved are kept, and only a few, so the stash holds at most
/// [`STASH_CHUNKS`] × [`STASH_TOUCHED`] bytes of memory; the chunks of a
/// burst go back to the system.
struct Stash {
    chunks: Vec<*mut u8>,
}

/// How many empty chunks the stash keeps at most.
const STASH_CHUNKS: usize = 16;
/// The most carved bytes a chunk may have to be kept.
const STASH_TOUCHED: usize = 64 << 10;

// SAFETY: a stashed chunk is empty: no block of it is in use and no list
// points to it, so it belongs to no thread until one takes it.
unsafe impl Send for Stash {}

static STASH: Mutex<Stash> = Mutex::new(Stash { chunks: Vec::new() });

fn lock_stash() -> MutexGuard<'static, Stash> {
    // Nothing panics while holding the lock but an out-of-memory push,
    // which leaves the list as it was.
    STASH.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Stash {
    /// Keeps the empty `chunk` if it is small enough and there is room;
    /// otherwise hands it back.
    fn put(&mut self, chunk: *mut u8, touched: usize) -> Result<(), *mut u8> {
        if touched > STASH_TOUCHED || self.chunks.len() >= STASH_CHUNKS {
            return Err(chunk);
        }
        self.chunks.push(chunk);
        Ok(())
    }

    fn take(&mut self) -> Option<*mut u8> {
        self.chunks.pop()
    }
}

/// Chunks straight from the kernel: freed chunks (but the few the stash
/// keeps) go back to it at once, whatever the global allocator would have
/// done with them.
#[cfg(all(feature = "unix", not(miri)))]
mod sys {
    use super::CHUNK;
    use std::ptr;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    use std::sync::atomic::{AtomicBool, Ordering};

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

    /// Set once the kernel turned `MADV_POPULATE_WRITE` down as unknown
    /// (before Linux 5.14): no more asking.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(super) static NO_POPULATE: AtomicBool = AtomicBool::new(false);

    /// Faults in the pages of `len` bytes at `start`, writable, in one
    /// system call. Best effort: where it fails (an older kernel, or no
    /// memory now), the pages fault in one by one when first written, as
    /// without it.
    ///
    /// # Safety
    /// The range is inside a chunk from `map`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(super) unsafe fn populate(start: *mut u8, len: usize) {
        if NO_POPULATE.load(Ordering::Relaxed) {
            return;
        }
        // SAFETY: the caller's promise; populating changes no content
        // (the pages of an anonymous mapping read as zero either way).
        let r = unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE) };
        if r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
            NO_POPULATE.store(true, Ordering::Relaxed);
        }
    }

    /// Elsewhere, pages fault in one by one.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(super) unsafe fn populate(_start: *mut u8, _len: usize) {}
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

    /// The global allocator's memory faults in as it is written.
    pub(super) unsafe fn populate(_start: *mut u8, _len: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each test runs on a thread of its own, so it sees only its chunks.
    fn on_a_fresh_thread(f: impl FnOnce() + Send + 'static) {
        std::thread::spawn(f).join().unwrap();
    }

    const BIG: usize = CLASSES - 1;
    const BIG_SIZE: usize = (BIG + 1) * 16;
    const PER_CHUNK: usize = (CHUNK - HEADER) / BIG_SIZE;

    fn retire_all(blocks: impl IntoIterator<Item = *mut u8>) {
        for b in blocks {
            // SAFETY: the tests retire only blocks they got from `fresh`
            // and no longer use.
            unsafe { retire(b) };
        }
    }

    #[test]
    fn blocks_are_distinct_aligned_and_inside_a_chunk_of_their_class() {
        on_a_fresh_thread(|| {
            let blocks: Vec<(usize, *mut u8)> = (0..1000)
                .map(|i| {
                    let class = i % CLASSES;
                    (class, fresh(class, 16 * (class + 1)))
                })
                .collect();
            for (i, &(class, b)) in blocks.iter().enumerate() {
                assert_eq!(b.addr() % 16, 0);
                assert!(b.addr() - chunk_of(b).addr() >= HEADER);
                // SAFETY: the header of a live block's chunk is mapped.
                assert_eq!(unsafe { (*chunk_of(b)).class }, class);
                // SAFETY: each block has at least 16 writable bytes.
                unsafe { ptr::write_bytes(b, i as u8, 16) };
            }
            for (i, &(_, b)) in blocks.iter().enumerate() {
                // SAFETY: as above.
                assert_eq!(unsafe { *b }, i as u8);
            }
            assert_eq!(chunks_alive(), CLASSES, "one chunk per class");
            retire_all(blocks.into_iter().map(|(_, b)| b));
            // Being carved from: they stay.
            assert_eq!(chunks_alive(), CLASSES);
        });
    }

    #[test]
    fn a_closed_chunk_goes_when_its_last_block_is_retired() {
        on_a_fresh_thread(|| {
            let first: Vec<*mut u8> = (0..PER_CHUNK).map(|_| fresh(BIG, BIG_SIZE)).collect();
            assert_eq!(chunks_alive(), 1);
            let next = fresh(BIG, BIG_SIZE);
            assert_eq!(chunks_alive(), 2, "the first chunk is full");
            assert_ne!(chunk_of(next), chunk_of(first[0]));
            let last = first[PER_CHUNK - 1];
            retire_all(first[..PER_CHUNK - 1].iter().copied());
            assert_eq!(chunks_alive(), 2, "one block of the first chunk is still out");
            retire_all([last]);
            assert_eq!(chunks_alive(), 1);
            retire_all([next]);
        });
    }

    #[test]
    fn retired_blocks_are_handed_out_again_before_fresh_space() {
        on_a_fresh_thread(|| {
            let a = fresh(BIG, BIG_SIZE);
            let b = fresh(BIG, BIG_SIZE);
            retire_all([a]);
            assert_eq!(fresh(BIG, BIG_SIZE), a);
            let c = fresh(BIG, BIG_SIZE);
            assert_eq!(c, b.wrapping_add(BIG_SIZE), "no retired block left: carved");
            retire_all([a, b, c]);
        });
    }

    #[test]
    fn bursts_reuse_the_holes_left_between_long_lived_blocks() {
        on_a_fresh_thread(|| {
            let mut kept = Vec::new();
            for _burst in 0..5 {
                let blocks: Vec<*mut u8> = (0..3 * PER_CHUNK).map(|_| fresh(BIG, BIG_SIZE)).collect();
                for (i, b) in blocks.into_iter().enumerate() {
                    if i % 1000 == 0 {
                        kept.push(b);
                    } else {
                        retire_all([b]);
                    }
                }
                assert!(chunks_alive() <= 4, "{} chunks after a burst", chunks_alive());
            }
            retire_all(kept);
        });
    }

    /// How many of the pages of `len` bytes at `start` are resident.
    #[cfg(all(target_os = "linux", feature = "unix", not(miri)))]
    fn resident_pages(start: *mut u8, len: usize) -> usize {
        // SAFETY: no precondition.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let mut vec = vec![0u8; len / page];
        // SAFETY: the range is page-aligned and mapped (inside a chunk), and
        // `vec` has a byte per page.
        let r = unsafe { libc::mincore(start as *mut libc::c_void, len, vec.as_mut_ptr()) };
        assert_eq!(r, 0, "mincore: {}", std::io::Error::last_os_error());
        vec.iter().filter(|&&b| b & 1 == 1).count()
    }

    #[test]
    #[cfg(all(target_os = "linux", feature = "unix", not(miri)))]
    fn carving_into_a_stretch_faults_in_the_next_one_only() {
        on_a_fresh_thread(|| {
            // Blocks are handed out unwritten: only populating makes their
            // pages resident.
            let mut blocks = vec![fresh(BIG, BIG_SIZE)];
            let chunk = chunk_of(blocks[0]) as *mut u8;
            while blocks.last().unwrap().addr() + BIG_SIZE - chunk.addr() < AHEAD {
                blocks.push(fresh(BIG, BIG_SIZE));
            }
            let stretch = |i: usize| chunk.wrapping_add(i * AHEAD);
            // SAFETY: no precondition.
            let pages = AHEAD / unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
            if sys::NO_POPULATE.load(std::sync::atomic::Ordering::Relaxed) {
                // A kernel before 5.14: nothing is populated.
                assert_eq!(resident_pages(stretch(2), AHEAD), 0);
            } else {
                assert_eq!(resident_pages(stretch(2), AHEAD), pages, "the next stretch is in");
                let thp_always = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
                    .is_ok_and(|m| m.contains("[always]"));
                if !thp_always {
                    assert_eq!(resident_pages(stretch(1), AHEAD), 0, "carved, never written");
                    assert_eq!(resident_pages(stretch(3), AHEAD), 0, "only one stretch ahead");
                }
            }
            retire_all(blocks);
        });
    }

    #[test]
    fn the_stash_keeps_a_few_lightly_used_chunks() {
        let mut stash = Stash { chunks: Vec::new() };
        let chunk = |i: usize| ptr::without_provenance_mut::<u8>((i + 1) * CHUNK);
        assert_eq!(
            stash.put(chunk(0), STASH_TOUCHED + 16),
            Err(chunk(0)),
            "too much was carved"
        );
        for i in 0..STASH_CHUNKS {
            assert_eq!(stash.put(chunk(i), HEADER + 64), Ok(()));
        }
        assert_eq!(stash.put(chunk(99), HEADER), Err(chunk(99)), "full");
        assert_eq!(stash.take(), Some(chunk(STASH_CHUNKS - 1)));
        let mut n = 1;
        while stash.take().is_some() {
            n += 1;
        }
        assert_eq!(n, STASH_CHUNKS);
    }

    #[test]
    fn after_the_thread_ends_an_empty_chunk_goes_at_once() {
        on_a_fresh_thread(|| {
            let kept = fresh(3, 64);
            thread_ending();
            assert_eq!(chunks_alive(), 1, "a block is still out");
            retire_all([kept]);
            assert_eq!(chunks_alive(), 0);
            // A block made during the thread's teardown.
            let late = fresh(1, 32);
            assert_eq!(chunks_alive(), 1);
            retire_all([late]);
            assert_eq!(chunks_alive(), 0);
        });
    }

    #[test]
    fn after_the_thread_ends_a_chunk_carved_to_its_last_byte_goes_too() {
        on_a_fresh_thread(|| {
            thread_ending();
            let fill = (CHUNK - HEADER) / 64;
            assert_eq!(fill * 64, CHUNK - HEADER, "64-byte blocks fill a chunk exactly");
            let blocks: Vec<*mut u8> = (0..fill).map(|_| fresh(3, 64)).collect();
            assert_eq!(chunks_alive(), 1);
            retire_all(blocks);
            assert_eq!(chunks_alive(), 0);
        });
    }
}
