//! The properties Lwt itself lacks: stack-safe deep chains, flat loops.

use lwt::{live_promises, pause, resolved, wait, wakeup_paused, Promise, State};

fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .expect("spawn a thread")
        .join()
        .expect("the thread finished without overflowing");
}

#[test]
fn ten_million_binds_on_one_pending_promise_resolve_on_a_2_mib_stack() {
    on_small_stack(|| {
        let (p0, r) = wait::<u64>();
        let mut p = p0;
        for _ in 0..10_000_000u64 {
            p = p.bind(|x| resolved(x + 1));
        }
        assert!(p.is_pending());
        r.wakeup(0);
        assert_eq!(p.state(), State::Fulfilled(10_000_000));
    });
}

fn go(i: u64, n: u64) -> Promise<u64> {
    if i == n {
        resolved(i)
    } else {
        pause().bind(move |()| go(i + 1, n))
    }
}

#[test]
fn ten_million_pause_loop_keeps_live_promises_flat() {
    on_small_stack(|| {
        let base = live_promises();
        let p = go(0, 10_000_000);
        let mut max_live = 0;
        let mut turns = 0u64;
        while p.is_pending() {
            wakeup_paused();
            turns += 1;
            if turns % 100_000 == 0 {
                max_live = max_live.max(live_promises() - base);
            }
        }
        assert_eq!(p.state(), State::Fulfilled(10_000_000));
        assert!(max_live <= 4, "live promise nodes grew to {max_live}");
    });
}

#[test]
fn ten_million_recursive_binds_on_resolved_promises_do_not_overflow() {
    fn count(i: u64, n: u64) -> Promise<u64> {
        if i == n {
            resolved(i)
        } else {
            resolved(i).bind(move |i| count(i + 1, n))
        }
    }
    on_small_stack(|| {
        assert_eq!(count(0, 10_000_000).state(), State::Fulfilled(10_000_000));
    });
}

/// Runs `inner` nested `depth` immediate binds deep (past the nesting limit
/// of 42 for large depths, where the call is deferred), and gives its
/// promise.
fn nested<T: 'static>(depth: u32, inner: impl FnOnce() -> Promise<T> + 'static) -> Promise<T> {
    if depth == 0 {
        inner()
    } else {
        resolved(()).bind(move |()| nested(depth - 1, inner))
    }
}

#[test]
fn past_the_nesting_limit_then_catch_and_panics_keep_their_meaning() {
    // Every depth around the limit, so that each callback below is, at
    // some depth, the one whose call is deferred.
    for depth in 0..100 {
        // `then` on a rejected promise gets the error.
        let caught = nested(depth, || {
            lwt::fail_with::<u32>("deep").then(|r| match r {
                Ok(_) => resolved(0),
                Err(e) => resolved(e.message().len() as u32),
            })
        });
        assert_eq!(caught.state(), State::Fulfilled(4), "depth {depth}");
        // A panic in the callback rejects its promise with the message.
        let panicked = nested(depth, || {
            resolved(1u32).bind(|_| -> Promise<u32> { panic!("too deep") })
        });
        match panicked.state() {
            State::Rejected(e) => assert!(e.message().contains("too deep"), "depth {depth}: {e}"),
            other => panic!("depth {depth}: expected a rejection, got {other:?}"),
        }
        // A bind on a fulfilled promise gets the value.
        let mapped = nested(depth, || resolved(20u32).map(|x| x + 1));
        assert_eq!(mapped.state(), State::Fulfilled(21), "depth {depth}");
    }
}
