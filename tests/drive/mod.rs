//! Driving the promise core in tests without an event loop: resume paused
//! promises and woken tasks until nothing is left to run, then read a result.
//! Shared by the integration tests of the helper modules.
#![allow(dead_code)] // each test file uses the helpers it needs

use std::fmt::Debug;

use lwt::{Error, Promise, State};

/// Runs paused promises and woken tasks until none are left.
pub fn settle() {
    for _ in 0..1_000_000 {
        if lwt::paused_count() == 0 && !lwt::core::has_ready_work() {
            return;
        }
        lwt::wakeup_paused();
    }
    panic!("promises kept pausing");
}

/// Settles, then returns the value of `p`, which must be fulfilled.
pub fn fulfilled<T: Clone + Debug + 'static>(p: &Promise<T>) -> T {
    settle();
    match p.state() {
        State::Fulfilled(v) => v,
        other => panic!("expected a fulfilled promise, got {other:?}"),
    }
}

/// Settles, then returns the error of `p`, which must be rejected.
pub fn rejected_with<T: Clone + Debug + 'static>(p: &Promise<T>) -> Error {
    settle();
    match p.state() {
        State::Rejected(e) => e,
        other => panic!("expected a rejected promise, got {other:?}"),
    }
}
