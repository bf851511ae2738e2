//! A first tour of lwt-rs promises: create, bind, join, race, cancel, pause.
//!
//! Run with `cargo run --example promises`. Everything here runs on one
//! thread with no event loop: promises are resolved by hand through their
//! resolvers, and paused promises are resumed with `wakeup_paused`, which is
//! what the event loop does once per turn.

use lwt::{both, pause, pick, resolved, task, wait, wakeup_paused, Promise, State};

/// Counts down with a pause between steps, like a long computation that
/// lets others run.
fn countdown(n: u32) -> Promise<u32> {
    if n == 0 {
        return resolved(0);
    }
    println!("  countdown: {n}");
    pause().bind(move |()| countdown(n - 1))
}

fn main() {
    // 1. A pending promise and its resolver (Lwt.wait).
    let (greeting, resolver) = wait::<String>();
    // 2. Bind a continuation: it runs when the promise is fulfilled.
    let shout = greeting.map(|s| s.to_uppercase());
    println!("before wakeup: {:?}", shout.state());
    resolver.wakeup("hello, lwt".to_string());
    println!("after wakeup:  {:?}", shout.state());

    // 3. Wait for two promises at once (Lwt.both).
    let (a, ra) = wait::<u32>();
    let (b, rb) = wait::<u32>();
    let sum = both(a, b).map(|(x, y)| x + y);
    rb.wakeup(2);
    ra.wakeup(40);
    println!("both: {:?}", sum.state());

    // 4. Race two tasks; the loser is canceled (Lwt.pick).
    let (slow, _slow_resolver) = task::<&str>();
    let (fast, fast_resolver) = task::<&str>();
    slow.on_cancel(|| println!("  the slow task was canceled"));
    let winner = pick(vec![slow, fast]);
    fast_resolver.wakeup("fast");
    println!("pick: {:?}", winner.state());

    // 5. Errors travel down the chain until something catches them.
    let recovered = lwt::fail_with::<u32>("disk on fire").map(|x| x + 1).catch(|e| {
        println!("  caught: {e}");
        resolved(0)
    });
    println!("catch: {:?}", recovered.state());

    // 6. Pauses: nothing moves until someone calls wakeup_paused.
    let done = countdown(3);
    while done.is_pending() {
        wakeup_paused();
    }
    assert_eq!(done.state(), State::Fulfilled(0));
    println!("countdown finished");
}
