//! Creating promises, their states, and resolving them through resolvers
//! (Lwt's `return`/`fail`/`wait`/`task` and the `wakeup*` family).

mod core_common;

use core_common::{panic_message_of, Flag, Log};
use lwt::{fail_invalid_arg, fail_with, of_result, rejected, resolved, task, wait, Error, ErrorKind, Promise, State};

// ---- already-resolved promises -------------------------------------------

#[test]
fn resolved_promise_is_fulfilled_with_its_value() {
    assert_eq!(resolved("foo").state(), State::Fulfilled("foo"));
}

#[test]
fn rejected_promise_holds_the_very_error_it_was_given() {
    let e = Error::failure("boom");
    let p = rejected::<u8>(e.clone());
    assert!(p.error().expect("rejected").same(&e));
}

#[test]
fn fail_with_rejects_with_a_failure_carrying_the_message() {
    let e = fail_with::<u8>("bad").error().expect("rejected");
    assert_eq!((e.kind(), e.message()), (ErrorKind::Failure, "bad".to_string()));
}

#[test]
fn fail_invalid_arg_rejects_with_an_invalid_argument() {
    let e = fail_invalid_arg::<u8>("arg").error().expect("rejected");
    assert_eq!((e.kind(), e.message()), (ErrorKind::InvalidArgument, "arg".to_string()));
}

#[test]
fn of_result_ok_is_fulfilled() {
    assert_eq!(of_result(Ok(3)).state(), State::Fulfilled(3));
}

#[test]
fn of_result_err_is_rejected_with_that_error() {
    let e = Error::timeout();
    assert!(of_result::<u8>(Err(e.clone())).error().expect("rejected").same(&e));
}

#[test]
fn associated_constructors_match_the_free_functions() {
    assert_eq!(Promise::resolved(1).state(), State::Fulfilled(1));
    assert!(Promise::<u8>::rejected(Error::canceled()).is_canceled());
}

#[test]
fn state_queries_agree_on_a_fulfilled_promise() {
    let p = resolved(1);
    assert_eq!(
        (
            p.is_pending(),
            p.is_fulfilled(),
            p.is_rejected(),
            p.is_canceled(),
            p.error().is_none()
        ),
        (false, true, false, false, true)
    );
}

#[test]
fn state_queries_agree_on_a_canceled_promise() {
    let p = rejected::<u8>(Error::canceled());
    assert_eq!(
        (p.is_pending(), p.is_fulfilled(), p.is_rejected(), p.is_canceled()),
        (false, false, true, true)
    );
}

// ---- wait and task ---------------------------------------------------------

#[test]
fn wait_starts_pending() {
    let (p, _r) = wait::<u8>();
    assert_eq!(p.state(), State::Pending);
}

#[test]
fn task_starts_pending() {
    let (p, _r) = task::<u8>();
    assert_eq!(p.state(), State::Pending);
}

#[test]
fn wakeup_fulfils_a_wait_promise() {
    let (p, r) = wait();
    r.wakeup("foo");
    assert_eq!(p.state(), State::Fulfilled("foo"));
}

#[test]
fn wakeup_fulfils_a_task_promise() {
    let (p, r) = task();
    r.wakeup("foo");
    assert_eq!(p.state(), State::Fulfilled("foo"));
}

#[test]
fn wakeup_exn_rejects_with_the_given_error() {
    let (p, r) = wait::<u8>();
    let e = Error::failure("x");
    r.wakeup_exn(e.clone());
    assert!(p.error().expect("rejected").same(&e));
}

#[test]
fn wakeup_result_ok_fulfils() {
    let (p, r) = task();
    r.wakeup_result(Ok(5));
    assert_eq!(p.state(), State::Fulfilled(5));
}

#[test]
fn wakeup_result_err_rejects() {
    let (p, r) = task::<u8>();
    r.wakeup_result(Err(Error::timeout()));
    assert!(p.error().expect("rejected").is_timeout());
}

#[test]
fn resolver_is_pending_follows_the_promise() {
    let (_p, r) = wait::<u8>();
    let before = r.is_pending();
    r.wakeup(1);
    assert_eq!((before, r.is_pending()), (true, false));
}

#[test]
fn a_cloned_resolver_resolves_the_same_promise() {
    let (p, r) = wait();
    let r2 = r.clone();
    r2.wakeup(9);
    assert_eq!((p.state(), r.is_pending()), (State::Fulfilled(9), false));
}

#[test]
fn a_promise_with_more_resolvers_than_its_count_holds_still_resolves() {
    // The resolver count is two bytes and sticks at its maximum: dropping
    // clones past that must never make the promise look abandoned (which
    // would drop its callbacks while a resolver can still resolve it).
    let (p, r) = wait::<u32>();
    let seen = Log::new();
    let s = seen.clone();
    p.on_success(move |v| s.push(format!("got {v}")));
    let clones: Vec<_> = (0..70_000).map(|_| r.clone()).collect();
    drop(r);
    let mut clones = clones.into_iter();
    let last = clones.next().expect("a clone");
    drop(clones);
    last.wakeup(7);
    assert_eq!(seen.entries(), ["got 7"]);
}

#[test]
fn the_promise_handle_may_be_dropped_before_resolution() {
    let (p, r) = wait::<u8>();
    let seen = Log::new();
    let s = seen.clone();
    p.on_success(move |v| s.push(format!("got {v}")));
    drop(p);
    r.wakeup(4);
    assert_eq!(seen.entries(), ["got 4"]);
}

// ---- write-once (rule 1) ---------------------------------------------------

#[test]
fn second_wakeup_on_wait_panics_naming_wakeup() {
    let (_p, r) = wait();
    r.wakeup(1);
    assert!(panic_message_of(|| r.wakeup(2)).contains("Lwt.wakeup:"));
}

#[test]
fn second_wakeup_on_task_panics_naming_wakeup() {
    let (_p, r) = task();
    r.wakeup(1);
    assert!(panic_message_of(|| r.wakeup(2)).contains("Lwt.wakeup:"));
}

#[test]
fn wakeup_exn_after_resolution_panics_naming_wakeup_exn() {
    let (_p, r) = wait::<u8>();
    r.wakeup_exn(Error::failure("a"));
    assert!(panic_message_of(|| r.wakeup_exn(Error::failure("b"))).contains("Lwt.wakeup_exn:"));
}

#[test]
fn wakeup_result_after_resolution_panics_naming_wakeup_result() {
    let (_p, r) = task::<()>();
    r.wakeup_exn(Error::failure("a"));
    assert!(panic_message_of(|| r.wakeup_result(Ok(()))).contains("Lwt.wakeup_result:"));
}

#[test]
fn wakeup_later_after_resolution_panics_naming_wakeup_later() {
    let (_p, r) = wait();
    r.wakeup(());
    assert!(panic_message_of(|| r.wakeup_later(())).contains("Lwt.wakeup_later:"));
}

#[test]
fn wakeup_later_exn_after_resolution_panics_naming_wakeup_later_exn() {
    let (_p, r) = task::<()>();
    r.wakeup(());
    let msg = panic_message_of(|| r.wakeup_later_exn(Error::failure("x")));
    assert!(msg.contains("Lwt.wakeup_later_exn:"), "{msg}");
}

#[test]
fn wakeup_later_result_after_resolution_panics_naming_wakeup_later_result() {
    let (_p, r) = wait::<()>();
    r.wakeup(());
    let msg = panic_message_of(|| r.wakeup_later_result(Ok(())));
    assert!(msg.contains("Lwt.wakeup_later_result:"), "{msg}");
}

#[test]
fn a_refused_second_resolution_leaves_the_first_outcome() {
    let (p, r) = wait();
    r.wakeup(1);
    let _ = panic_message_of(|| r.wakeup(2));
    assert_eq!(p.state(), State::Fulfilled(1));
}

#[test]
fn try_wakeup_result_gives_the_outcome_back_when_already_resolved() {
    let (p, r) = wait();
    r.wakeup(1);
    assert!(matches!(r.try_wakeup_result(Ok(2)), Err(Ok(2))));
    assert_eq!(p.state(), State::Fulfilled(1));
}

#[test]
fn try_wakeup_result_resolves_a_pending_promise() {
    let (p, r) = wait();
    assert!(r.try_wakeup_result(Ok(2)).is_ok());
    assert_eq!(p.state(), State::Fulfilled(2));
}

// ---- a canceled promise swallows later resolution (rule 2) -------------------

#[test]
fn wakeup_on_a_canceled_task_is_a_silent_no_op() {
    let (p, r) = task();
    p.cancel();
    r.wakeup(());
    assert!(p.is_canceled());
}

#[test]
fn wakeup_later_on_a_canceled_task_is_a_silent_no_op() {
    let (p, r) = task();
    p.cancel();
    r.wakeup_later(());
    assert!(p.is_canceled());
}

#[test]
fn wakeup_exn_on_a_canceled_task_keeps_canceled() {
    let (p, r) = task::<()>();
    p.cancel();
    r.wakeup_exn(Error::failure("late"));
    assert!(p.is_canceled());
}

#[test]
fn wakeup_after_rejecting_with_canceled_through_the_resolver_is_a_no_op() {
    let (p, r) = wait::<u8>();
    r.wakeup_exn(Error::canceled());
    r.wakeup_result(Ok(1));
    assert!(p.is_canceled());
}

// ---- when callbacks run (rules 6-8) ------------------------------------------

#[test]
fn wakeup_runs_the_callbacks_before_returning() {
    let (p, r) = wait::<u8>();
    let ran = Flag::new();
    let f = ran.clone();
    p.on_success(move |_| f.set());
    r.wakeup(1);
    assert!(ran.get());
}

#[test]
fn wakeup_inside_a_callback_runs_the_inner_callbacks_before_returning() {
    let (p1, r1) = wait::<u8>();
    let (p2, r2) = wait::<u8>();
    let log = Log::new();
    let l = log.clone();
    p2.on_success(move |_| l.push("p2 callback"));
    let l = log.clone();
    p1.on_success(move |_| {
        r2.wakeup(2);
        l.push("after inner wakeup");
    });
    r1.wakeup(1);
    assert_eq!(log.entries(), ["p2 callback", "after inner wakeup"]);
}

#[test]
fn wakeup_later_at_top_level_runs_the_callbacks_at_once() {
    let (p, r) = wait::<&str>();
    let q = p.bind(|s| resolved(format!("{s}bar")));
    r.wakeup_later("foo");
    assert_eq!(q.state(), State::Fulfilled("foobar".to_string()));
}

#[test]
fn wakeup_later_inside_a_callback_sets_the_state_but_defers_the_callbacks() {
    let (p1, r1) = wait::<u8>();
    let (p2, r2) = wait::<u8>();
    let p2_probe = p2.clone();
    let log = Log::new();
    let l = log.clone();
    p2.on_success(move |_| l.push("p2 callback"));
    let l = log.clone();
    p1.on_success(move |_| {
        r2.wakeup_later(7);
        l.push(format!("inside: {:?}", p2_probe.state()));
    });
    r1.wakeup(1);
    assert_eq!(log.entries(), ["inside: Fulfilled(7)", "p2 callback"]);
}

#[test]
fn wakeup_later_exn_inside_a_callback_defers_the_callbacks_too() {
    let (p1, r1) = wait::<u8>();
    let (p2, r2) = wait::<u8>();
    let log = Log::new();
    let l = log.clone();
    p2.on_failure(move |_| l.push("p2 failure callback"));
    let l = log.clone();
    p1.on_success(move |_| {
        r2.wakeup_later_exn(Error::failure("x"));
        l.push("inside");
    });
    r1.wakeup(1);
    assert_eq!(log.entries(), ["inside", "p2 failure callback"]);
}

#[test]
fn deferred_callbacks_have_run_when_the_outer_wakeup_returns() {
    let (p1, r1) = wait::<u8>();
    let (p2, r2) = wait::<u8>();
    let ran = Flag::new();
    let f = ran.clone();
    p2.on_success(move |_| f.set());
    p1.on_success(move |v| r2.wakeup_later_result(Ok(*v)));
    r1.wakeup(1);
    assert!(ran.get());
}

#[test]
fn cancel_after_a_nested_wakeup_later_is_a_no_op() {
    let (p1, r1) = wait::<u8>();
    let (p2, r2) = task::<u8>();
    let probe = p2.clone();
    let seen = Log::new();
    let s = seen.clone();
    p1.on_success(move |_| {
        r2.wakeup_later(3);
        probe.cancel();
        s.push(format!("{:?}", probe.state()));
    });
    r1.wakeup(1);
    assert_eq!(
        (seen.entries(), p2.state()),
        (vec!["Fulfilled(3)".to_string()], State::Fulfilled(3))
    );
}

// ---- views of the state ----------------------------------------------------

#[test]
fn with_state_views_a_non_clone_value_in_place() {
    struct Opaque(u32);
    let (p, r) = wait::<Opaque>();
    r.wakeup(Opaque(12));
    let v = p.with_state(|s| match s {
        State::Fulfilled(o) => o.0,
        _ => 0,
    });
    assert_eq!(v, 12);
}

#[test]
fn with_state_of_a_pending_promise_may_resolve_that_promise() {
    let (p, r) = wait::<u8>();
    let was_pending = p.with_state(|s| {
        let pending = matches!(s, State::Pending);
        r.wakeup(1);
        pending
    });
    assert!(was_pending);
    assert!(p.is_fulfilled());
}

#[test]
fn with_state_of_a_pending_promise_may_attach_a_callback_to_it() {
    let (p, r) = wait::<u8>();
    let ran = Flag::new();
    let f = ran.clone();
    p.with_state(|_| p.on_success(move |_| f.set()));
    r.wakeup(1);
    assert!(ran.get());
}

#[test]
fn debug_output_names_the_state() {
    let (p, r) = wait::<u8>();
    let before = format!("{p:?}");
    r.wakeup_exn(Error::failure("no"));
    assert_eq!(
        (before.as_str(), format!("{p:?}").as_str()),
        ("Promise(pending)", "Promise(rejected: Failure: no)")
    );
}

/// lwt-rs queues callback runs nested deeper than Lwt's limit of 42 instead of
/// growing the stack (see context.rs); they still run, in order, before the
/// outermost wakeup returns.
#[test]
fn callbacks_nested_past_the_depth_limit_still_run_before_the_outer_wakeup_returns() {
    let log = Log::new();
    let (first, r_first) = wait::<u32>();
    let mut current = first;
    for _ in 0..100u32 {
        let (next, r_next) = wait::<u32>();
        let l = log.clone();
        current.on_success(move |v| {
            l.push(format!("{v}"));
            r_next.wakeup(v + 1);
        });
        current = next;
    }
    r_first.wakeup(0);
    let expected: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    assert_eq!((log.entries(), current.state()), (expected, State::Fulfilled(100)));
}

#[test]
fn try_wakeup_result_gives_the_outcome_back_on_a_canceled_task() {
    let (p, r) = task::<u8>();
    p.cancel();
    assert!(matches!(r.try_wakeup_result(Ok(1)), Err(Ok(1))));
    assert!(p.is_canceled());
}

#[test]
fn resolver_debug_output_says_whether_it_is_pending() {
    let (_p, r) = wait::<u8>();
    let before = format!("{r:?}");
    r.wakeup(1);
    assert_eq!(
        (before.as_str(), format!("{r:?}").as_str()),
        ("Resolver(pending: true)", "Resolver(pending: false)")
    );
}
