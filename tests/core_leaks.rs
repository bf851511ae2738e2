//! Memory: the count of live promise nodes (`live_promises`, per thread)
//! returns to its baseline once chains resolve, are canceled, or can never
//! resolve because their `wait()` resolver was dropped.

mod core_common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts, per thread, the bytes allocated and not yet freed, so that a test
/// can see memory that no promise node accounts for (callbacks).
struct Counting;

thread_local! {
    static NET_BYTES: Cell<isize> = const { Cell::new(0) };
}

fn note_bytes(delta: isize) {
    let _ = NET_BYTES.try_with(|n| n.set(n.get() + delta));
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counting touches only a const-initialized thread-local without destructor.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_bytes(layout.size() as isize);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_bytes(-(layout.size() as isize));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_bytes(new_size as isize - layout.size() as isize);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn net_bytes() -> isize {
    NET_BYTES.with(Cell::get)
}

use lwt::{
    all, both, choose, join, live_promises, nchoose, pause, pick, resolved, spawn, task, wait, wakeup_paused, Error,
    State,
};

#[test]
fn a_fulfilled_chain_frees_its_nodes() {
    let base = live_promises();
    {
        let (p, r) = wait::<u8>();
        let q = p
            .bind(|x| resolved(x + 1))
            .map(|x| x * 2)
            .catch(|_| resolved(0))
            .finalize(|| resolved(()));
        r.wakeup(1);
        assert_eq!(q.state(), State::Fulfilled(4));
    }
    assert_eq!(live_promises(), base);
}

#[test]
fn a_rejected_chain_frees_its_nodes() {
    let base = live_promises();
    {
        let (p, r) = wait::<u8>();
        let q = p.map(|x| x + 1).bind(resolved).finalize(|| resolved(()));
        r.wakeup_exn(Error::failure("x"));
        assert!(q.is_rejected());
    }
    assert_eq!(live_promises(), base);
}

#[test]
fn a_chain_folded_through_a_pending_inner_promise_frees_its_nodes() {
    let base = live_promises();
    {
        let (p1, r1) = wait::<()>();
        let (p2, r2) = wait::<u8>();
        let q = p1.bind(move |()| p2).map(|x| x + 1);
        r1.wakeup(());
        r2.wakeup(1);
        assert_eq!(q.state(), State::Fulfilled(2));
    }
    assert_eq!(live_promises(), base);
}

#[test]
fn binds_on_a_wait_promise_whose_resolver_is_dropped_are_freed() {
    let base = live_promises();
    let (p, r) = wait::<u8>();
    let q = p.map(|x| x + 1).bind(|x| resolved(x * 2));
    drop(r);
    assert!(q.is_pending());
    drop(q);
    assert_eq!(live_promises(), base);
}

#[test]
fn binds_on_a_wait_promise_are_freed_when_the_resolver_goes_last() {
    let base = live_promises();
    let (p, r) = wait::<u8>();
    drop(p.map(|x| x + 1).bind(|x| resolved(x * 2)));
    drop(r);
    assert_eq!(live_promises(), base);
}

#[test]
fn a_long_chain_on_a_dropped_resolver_is_freed_without_overflow() {
    let base = live_promises();
    let (p, r) = wait::<u64>();
    let mut q = p;
    for _ in 0..100_000 {
        q = q.map(|x| x + 1);
    }
    drop(q);
    drop(r);
    assert_eq!(live_promises(), base);
}

#[test]
fn a_canceled_task_chain_frees_its_nodes() {
    let base = live_promises();
    {
        let (p, _r) = task::<u8>();
        let q = p.map(|x| x + 1).finalize(|| resolved(()));
        q.cancel();
        assert!(q.is_canceled());
    }
    assert_eq!(live_promises(), base);
}

#[test]
fn resolved_joins_free_their_nodes() {
    let base = live_promises();
    {
        let (a, ra) = wait::<u8>();
        let (b, rb) = wait::<u8>();
        let (c, rc) = wait::<()>();
        let p = both(a.clone(), b.clone());
        let q = all(vec![a, b]);
        let s = join(vec![c]);
        ra.wakeup(1);
        rb.wakeup_exn(Error::failure("x"));
        rc.wakeup(());
        assert!(p.is_rejected() && q.is_rejected() && s.is_fulfilled());
    }
    assert_eq!(live_promises(), base);
}

#[test]
fn a_resolved_pick_frees_its_nodes_and_its_losers() {
    let base = live_promises();
    {
        let (a, ra) = task::<u8>();
        let (b, _rb) = task::<u8>();
        let p = pick(vec![a, b]);
        ra.wakeup(1);
        assert_eq!(p.state(), State::Fulfilled(1));
    }
    assert_eq!(live_promises(), base);
}

#[test]
fn finished_and_canceled_spawned_tasks_free_their_nodes() {
    let base = live_promises();
    {
        let (p, r) = wait::<u8>();
        let done = spawn(async move { Ok(p.await? + 1) });
        let (q, _rq) = wait::<u8>();
        let canceled = spawn(async move { Ok(q.await? + 1) });
        r.wakeup(1);
        canceled.cancel();
        assert!(done.is_fulfilled() && canceled.is_canceled());
    }
    assert_eq!(live_promises(), base);
}

#[test]
fn a_pause_loop_frees_its_nodes_when_done() {
    fn count_to(i: u32, n: u32) -> lwt::Promise<u32> {
        if i == n {
            resolved(i)
        } else {
            pause().bind(move |()| count_to(i + 1, n))
        }
    }
    let base = live_promises();
    {
        let p = count_to(0, 100);
        while p.is_pending() {
            wakeup_paused();
        }
    }
    assert_eq!(live_promises(), base);
}

#[test]
fn choosing_against_a_long_lived_promise_keeps_no_finished_choice_alive() {
    let (long, r_long) = wait::<u8>();
    let base = live_promises();
    for i in 0..100 {
        let (p, r) = wait::<u8>();
        let c = choose(vec![long.clone(), p]);
        r.wakeup(i);
        assert_eq!(c.state(), State::Fulfilled(i));
    }
    let after = live_promises();
    r_long.wakeup(0);
    assert_eq!(after, base);
}

#[test]
fn picking_against_a_long_lived_promise_keeps_no_finished_pick_alive() {
    let (long, r_long) = wait::<u8>();
    let base = live_promises();
    for i in 0..100 {
        let (p, r) = task::<u8>();
        let c = pick(vec![long.clone(), p]);
        r.wakeup(i);
        assert_eq!(c.state(), State::Fulfilled(i));
    }
    let after = live_promises();
    r_long.wakeup(0);
    assert_eq!(after, base);
}

#[test]
fn nchoosing_against_a_long_lived_promise_keeps_no_finished_choice_alive() {
    let (long, r_long) = wait::<u8>();
    let base = live_promises();
    for i in 0..100 {
        let (p, r) = wait::<u8>();
        let c = nchoose(vec![long.clone(), p]);
        r.wakeup(i);
        assert_eq!(c.state(), State::Fulfilled(vec![i]));
    }
    let after = live_promises();
    r_long.wakeup(0);
    assert_eq!(after, base);
}

/// Bytes still held after `n` rounds of `choose`/`pick` against one
/// long-lived pending promise (everything else resolved and dropped).
fn bytes_held_by_races(n: u32, race: fn(Vec<lwt::Promise<u32>>) -> lwt::Promise<u32>) -> isize {
    let (long, _r_long) = wait::<u32>();
    // Warm the per-thread block lists first, so that only growth shows.
    for i in 0..64 {
        let (p, r) = task::<u32>();
        let c = race(vec![long.clone(), p]);
        r.wakeup(i);
        drop(c);
    }
    let before = net_bytes();
    for i in 0..n {
        let (p, r) = task::<u32>();
        let c = race(vec![long.clone(), p]);
        r.wakeup(i);
        drop(c);
    }
    net_bytes() - before
}

#[test]
fn racing_against_a_long_lived_promise_runs_in_constant_memory() {
    for (name, race) in [
        (
            "choose",
            choose::<u32> as fn(Vec<lwt::Promise<u32>>) -> lwt::Promise<u32>,
        ),
        ("pick", pick::<u32>),
    ] {
        let held = bytes_held_by_races(100_000, race);
        assert!(
            held < 64 * 1024,
            "{name}: 100,000 finished races against one pending promise still hold {held} bytes"
        );
    }
}

/// Bytes still held after 100,000 `round`s on one long-lived pending
/// promise (the per-thread block lists warmed first, so only growth shows).
fn bytes_held_by_rounds(round: impl Fn(&lwt::Promise<u32>)) -> isize {
    let (long, _r_long) = wait::<u32>();
    for _ in 0..64 {
        round(&long);
    }
    let before = net_bytes();
    for _ in 0..100_000 {
        round(&long);
    }
    net_bytes() - before
}

#[test]
fn canceled_protected_copies_of_a_long_lived_promise_run_in_constant_memory() {
    let held = bytes_held_by_rounds(|long| {
        let copy = lwt::protected(long.clone()).bind(|x| resolved(x + 1));
        copy.cancel();
        assert!(copy.is_canceled());
    });
    assert!(
        held < 64 * 1024,
        "100,000 canceled protected copies of one pending promise still hold {held} bytes"
    );
}

#[test]
fn canceled_wrappers_of_a_long_lived_wait_promise_run_in_constant_memory() {
    let held = bytes_held_by_rounds(|long| {
        let copy = lwt::wrap_in_cancelable(long.clone());
        copy.cancel();
        assert!(copy.is_canceled() && long.is_pending());
    });
    assert!(
        held < 64 * 1024,
        "100,000 canceled wrap_in_cancelable copies of one pending promise still hold {held} bytes"
    );
}
