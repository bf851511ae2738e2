//! Pausing: pause, wakeup_paused, paused_count, register_pause_notifier,
//! abandon_paused (Lwt's rules 42, 43). The paused queue is per thread, and
//! every test runs on its own thread.

mod core_common;

use std::cell::RefCell;
use std::rc::Rc;

use core_common::{Flag, Log};
use lwt::{abandon_paused, pause, paused_count, register_pause_notifier, resolved, wakeup_paused, Promise, State};

#[test]
fn paused_count_starts_at_zero() {
    assert_eq!(paused_count(), 0);
}

#[test]
fn a_pause_stays_pending_until_wakeup_paused() {
    let p = pause();
    let before = (p.state(), paused_count());
    wakeup_paused();
    assert_eq!(
        (before, p.state(), paused_count()),
        ((State::Pending, 1), State::Fulfilled(()), 0)
    );
}

#[test]
fn wakeup_paused_fulfils_the_pauses_in_creation_order() {
    let log = Log::new();
    for name in ["first", "second", "third"] {
        let l = log.clone();
        pause().on_success(move |()| l.push(name));
    }
    wakeup_paused();
    assert_eq!(log.entries(), ["first", "second", "third"]);
}

#[test]
fn wakeup_paused_with_nothing_paused_is_harmless() {
    wakeup_paused();
    assert_eq!(paused_count(), 0);
}

#[test]
fn a_pause_made_while_waking_the_paused_waits_for_the_next_call() {
    let later: Rc<RefCell<Option<Promise<()>>>> = Rc::default();
    let slot = later.clone();
    let _p = pause().map(move |()| *slot.borrow_mut() = Some(pause()));
    wakeup_paused();
    let inner = later.borrow_mut().take().expect("the callback made a pause");
    let between = (inner.state(), paused_count());
    wakeup_paused();
    assert_eq!((between, inner.state()), ((State::Pending, 1), State::Fulfilled(())));
}

#[test]
fn mapping_a_resolved_promise_runs_at_once_but_mapping_a_pause_does_not() {
    let log = Log::new();
    let l = log.clone();
    let _a = resolved(()).map(move |()| l.push("resolved"));
    let l = log.clone();
    let _b = pause().map(move |()| l.push("paused"));
    let before = log.entries();
    wakeup_paused();
    assert_eq!(
        (before, log.entries()),
        (
            vec!["resolved".to_string()],
            vec!["resolved".to_string(), "paused".to_string()]
        )
    );
}

#[test]
fn the_pause_notifier_sees_the_new_count() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    register_pause_notifier(move |n| s.borrow_mut().push(n));
    let _a = pause();
    let _b = pause();
    assert_eq!(*seen.borrow(), [1, 2]);
}

#[test]
fn a_new_pause_notifier_replaces_the_previous_one() {
    let first = Flag::new();
    let f = first.clone();
    register_pause_notifier(move |_| f.set());
    let second = Flag::new();
    let s = second.clone();
    register_pause_notifier(move |_| s.set());
    let _p = pause();
    assert_eq!((first.get(), second.get()), (false, true));
}

#[test]
fn the_pause_notifier_may_pause_again() {
    let seen_inside = Rc::new(RefCell::new(Vec::new()));
    let s = seen_inside.clone();
    register_pause_notifier(move |_| {
        s.borrow_mut().push(paused_count());
        register_pause_notifier(|_| {});
        let _again = pause();
    });
    let _p = pause();
    assert_eq!((seen_inside.borrow().clone(), paused_count()), (vec![1], 2));
}

#[test]
fn the_pause_notifier_may_wake_the_paused() {
    register_pause_notifier(|_| wakeup_paused());
    let p = pause();
    register_pause_notifier(|_| {});
    assert_eq!((p.state(), paused_count()), (State::Fulfilled(()), 0));
}

#[test]
fn a_pause_is_cancelable() {
    let p = pause();
    p.cancel();
    assert!(p.is_canceled());
}

#[test]
fn canceling_a_pause_does_not_lower_the_count() {
    let p = pause();
    p.cancel();
    assert_eq!(paused_count(), 1);
}

#[test]
fn wakeup_paused_skips_a_canceled_pause() {
    let p = pause();
    let q = pause();
    p.cancel();
    wakeup_paused();
    assert_eq!((p.is_canceled(), q.state()), (true, State::Fulfilled(())));
}

#[test]
fn abandon_paused_leaves_the_pauses_pending_and_resets_the_count() {
    let p = pause();
    abandon_paused();
    let count = paused_count();
    wakeup_paused();
    assert_eq!((count, p.state()), (0, State::Pending));
}

#[test]
fn abandon_paused_from_a_resumed_callback_spares_the_rest_of_the_batch() {
    let log = Log::new();
    let l = log.clone();
    let newer = Rc::new(RefCell::new(None));
    let n = newer.clone();
    let _first = pause().map(move |()| {
        *n.borrow_mut() = Some(pause());
        abandon_paused();
        l.push("first");
    });
    let l = log.clone();
    let _second = pause().map(move |()| l.push("second"));
    wakeup_paused();
    wakeup_paused();
    // The pause made during the wakeup was abandoned; the one queued before
    // it, in the batch being woken, still ran.
    let newer = newer.borrow_mut().take().map(|p| p.state());
    assert_eq!(
        (log.entries(), newer, paused_count()),
        (vec!["first".to_string(), "second".to_string()], Some(State::Pending), 0)
    );
}

#[test]
fn a_pause_folded_into_a_bind_result_is_still_woken() {
    let p = resolved(()).bind(|()| pause()).bind(|()| pause().map(|()| "done"));
    wakeup_paused();
    let between = p.state();
    wakeup_paused();
    assert_eq!((between, p.state()), (State::Pending, State::Fulfilled("done")));
}

#[test]
fn a_pause_loop_advances_one_step_per_wakeup() {
    fn count_to(i: u32, n: u32) -> Promise<u32> {
        if i == n {
            resolved(i)
        } else {
            pause().bind(move |()| count_to(i + 1, n))
        }
    }
    let p = count_to(0, 5);
    let mut turns = 0;
    while p.is_pending() {
        wakeup_paused();
        turns += 1;
    }
    assert_eq!((turns, p.state()), (5, State::Fulfilled(5)));
}

#[test]
fn wakeup_paused_called_from_a_resumed_callback_wakes_only_the_newer_pauses() {
    let log = Log::new();
    let l = log.clone();
    let _first = pause().map(move |()| {
        let l2 = l.clone();
        let _newer = pause().map(move |()| l2.push("newer"));
        wakeup_paused();
        l.push("first");
    });
    let l = log.clone();
    let _second = pause().map(move |()| l.push("second"));
    wakeup_paused();
    assert_eq!(
        (log.entries(), paused_count()),
        (vec!["newer".to_string(), "first".to_string(), "second".to_string()], 0)
    );
}
