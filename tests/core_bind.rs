//! Sequential composition: bind, map, then, catch, try_bind, finalize, wrap,
//! apply; proxies (a bind result and the promise its callback returned act as
//! one); callback order.

mod core_common;

use std::cell::RefCell;
use std::rc::Rc;

use core_common::{Flag, Log};
use lwt::{
    apply, catch, fail_with, finalize, rejected, resolved, try_bind, wait, wrap, wrap1, wrap2, wrap3, Error, ErrorKind,
    Promise, State,
};

fn kind_of<T: 'static>(p: &Promise<T>) -> ErrorKind {
    p.error().expect("the promise should be rejected").kind()
}

// ---- bind ------------------------------------------------------------------

#[test]
fn bind_on_a_fulfilled_promise_calls_f_at_once() {
    let p = resolved("foo").bind(|s| resolved(format!("{s}bar")));
    assert_eq!(p.state(), State::Fulfilled("foobar".to_string()));
}

#[test]
fn bind_on_a_rejected_promise_never_calls_f_and_keeps_the_error() {
    let e = Error::failure("x");
    let called = Flag::new();
    let c = called.clone();
    let p = rejected::<u8>(e.clone()).bind(move |_| {
        c.set();
        resolved(1)
    });
    assert!(!called.get() && p.error().expect("rejected").same(&e));
}

#[test]
fn bind_on_a_pending_promise_waits_before_calling_f() {
    let (p, _r) = wait::<u8>();
    let called = Flag::new();
    let c = called.clone();
    let q = p.bind(move |_| {
        c.set();
        resolved(())
    });
    assert!(!called.get() && q.is_pending());
}

#[test]
fn bind_calls_f_when_the_pending_promise_is_fulfilled() {
    let (p, r) = wait::<&str>();
    let q = p.bind(|s| resolved(format!("{s}bar")));
    r.wakeup("foo");
    assert_eq!(q.state(), State::Fulfilled("foobar".to_string()));
}

#[test]
fn bind_passes_a_later_rejection_through_without_calling_f() {
    let (p, r) = wait::<u8>();
    let called = Flag::new();
    let c = called.clone();
    let q = p.bind(move |_| {
        c.set();
        resolved(1)
    });
    let e = Error::failure("late");
    r.wakeup_exn(e.clone());
    assert!(!called.get() && q.error().expect("rejected").same(&e));
}

#[test]
fn bind_result_waits_for_the_promise_f_returned() {
    let (p1, r1) = wait::<()>();
    let (p2, r2) = wait::<&str>();
    let p = p1.bind(move |()| p2);
    r1.wakeup(());
    let in_between = p.state();
    r2.wakeup("bar");
    assert_eq!((in_between, p.state()), (State::Pending, State::Fulfilled("bar")));
}

#[test]
fn a_chain_of_binds_threads_the_value_through() {
    let (p1, r1) = wait::<String>();
    let p3 = p1.bind(|s| resolved(s + "bar")).bind(|s| resolved(s + "!!1"));
    r1.wakeup("foo".into());
    assert_eq!(p3.state(), State::Fulfilled("foobar!!1".to_string()));
}

#[test]
fn several_binds_on_cloned_handles_each_see_the_value() {
    let (p1, r) = wait::<String>();
    let a = p1.clone().bind(|s| resolved(s + "bar"));
    let b = p1.clone().bind(|s| resolved(s + "!!1"));
    let c = p1.bind(|s| resolved(s + "omg"));
    r.wakeup("foo".into());
    assert_eq!(
        (a.state(), b.state(), c.state()),
        (
            State::Fulfilled("foobar".to_string()),
            State::Fulfilled("foo!!1".to_string()),
            State::Fulfilled("fooomg".to_string())
        )
    );
}

#[test]
fn bind_inside_bind_combines_both_values() {
    let (p1, r1) = wait::<String>();
    let (p2, r2) = wait::<String>();
    let p = p1.bind(move |s| p2.bind(move |t| resolved(s + &t)));
    r1.wakeup("foo".into());
    r2.wakeup("bar".into());
    assert_eq!(p.state(), State::Fulfilled("foobar".to_string()));
}

#[test]
fn bind_whose_f_returns_its_own_input_is_fulfilled_with_that_value() {
    let (p, r) = wait::<&str>();
    let p2 = p.clone();
    let q = p.bind(move |_| p2);
    r.wakeup("foo");
    assert_eq!(q.state(), State::Fulfilled("foo"));
}

#[test]
fn bind_whose_f_returns_an_earlier_bind_result_resolves_through_it() {
    let (p1, r) = wait::<()>();
    let p3 = p1.clone().bind(|()| resolved("foo"));
    let p4 = p1.bind(move |()| p3);
    r.wakeup(());
    assert_eq!(p4.state(), State::Fulfilled("foo"));
}

// ---- proxies (rules 15, 16, 18, 19) -----------------------------------------

#[test]
fn a_chain_of_proxies_resolves_every_level() {
    let (p1, r1) = wait::<()>();
    let (p2, r2) = wait::<()>();
    let (p3, r3) = wait::<&str>();
    let p3_probe = p3.clone();
    let p4 = p1.bind(move |()| p3);
    let p4_probe = p4.clone();
    let p5 = p2.bind(move |()| p4);
    r1.wakeup(());
    r2.wakeup(());
    r3.wakeup("bar");
    assert_eq!(
        (p3_probe.state(), p4_probe.state(), p5.state()),
        (
            State::Fulfilled("bar"),
            State::Fulfilled("bar"),
            State::Fulfilled("bar")
        )
    );
}

#[test]
fn the_promise_f_returned_reads_as_pending_through_the_proxy() {
    let (p1, r1) = wait::<()>();
    let (p2, _r2) = wait::<u8>();
    let probe = p2.clone();
    let _p3 = p1.bind(move |()| p2);
    r1.wakeup(());
    assert!(probe.is_pending());
}

#[test]
fn the_bind_result_and_the_returned_promise_resolve_together() {
    let (p1, r1) = wait::<()>();
    let (p2, r2) = wait::<u8>();
    let probe = p2.clone();
    let p3 = p1.bind(move |()| p2);
    r1.wakeup(());
    r2.wakeup(4);
    assert_eq!((probe.state(), p3.state()), (State::Fulfilled(4), State::Fulfilled(4)));
}

#[test]
fn a_bind_whose_f_returns_the_bind_result_itself_stays_pending() {
    let (p, r) = wait::<()>();
    let slot: Rc<RefCell<Option<Promise<()>>>> = Rc::default();
    let s = slot.clone();
    let q = p.bind(move |()| s.borrow_mut().take().expect("the slot was filled"));
    *slot.borrow_mut() = Some(q.clone());
    r.wakeup(());
    assert!(q.is_pending());
}

#[test]
fn bind_result_becoming_a_proxy_while_its_callback_runs_still_resolves() {
    let (p1, r1) = wait::<()>();
    let (p2, r2) = wait::<()>();
    let p3 = p1.bind(move |()| {
        r2.wakeup(());
        resolved(true)
    });
    let p4 = p2.bind(move |()| p3);
    r1.wakeup(());
    assert_eq!(p4.state(), State::Fulfilled(true));
}

#[test]
fn map_result_becoming_a_proxy_while_its_callback_runs_still_resolves() {
    let (p1, r1) = wait::<()>();
    let (p2, r2) = wait::<()>();
    let p3 = p1.map(move |()| {
        r2.wakeup(());
        true
    });
    let p4 = p2.bind(move |()| p3);
    r1.wakeup(());
    assert_eq!(p4.state(), State::Fulfilled(true));
}

#[test]
fn catch_result_becoming_a_proxy_while_its_handler_runs_still_resolves() {
    let (p1, r1) = wait::<bool>();
    let (p2, r2) = wait::<()>();
    let p3 = p1.catch(move |_| {
        r2.wakeup(());
        resolved(true)
    });
    let p4 = p2.bind(move |()| p3);
    r1.wakeup_exn(Error::failure("x"));
    assert_eq!(p4.state(), State::Fulfilled(true));
}

#[test]
fn try_bind_result_becoming_a_proxy_while_its_callback_runs_still_resolves() {
    let (p1, r1) = wait::<()>();
    let (p2, r2) = wait::<()>();
    let p3 = p1.try_bind(
        move |()| {
            r2.wakeup(());
            resolved(true)
        },
        |_| resolved(false),
    );
    let p4 = p2.bind(move |()| p3);
    r1.wakeup(());
    assert_eq!(p4.state(), State::Fulfilled(true));
}

#[test]
fn finalize_result_becoming_a_proxy_while_its_cleanup_runs_still_resolves() {
    let (p1, r1) = wait::<bool>();
    let (p2, r2) = wait::<()>();
    let p3 = p1.finalize(move || {
        r2.wakeup(());
        resolved(())
    });
    let p4 = p2.bind(move |()| p3);
    r1.wakeup(true);
    assert_eq!(p4.state(), State::Fulfilled(true));
}

// ---- callback order (rules 3 and 16, where we differ on purpose) ------------

/// Deliberate difference: Lwt runs the callbacks of one promise last-attached
/// first; lwt-rs runs them in attachment order (FIFO).
#[test]
fn callbacks_of_one_promise_run_in_attachment_order() {
    let (p, r) = wait::<u8>();
    let log = Log::new();
    let l = log.clone();
    p.on_success(move |_| l.push("on_success"));
    let l = log.clone();
    p.on_termination(move || l.push("on_termination"));
    let l = log.clone();
    p.on_any(move |_| l.push("on_any"), |_| {});
    let l = log.clone();
    let _q = p.map(move |_| l.push("map"));
    r.wakeup(1);
    assert_eq!(log.entries(), ["on_success", "on_termination", "on_any", "map"]);
}

/// Deliberate difference (Lwt rule 16): when the promise a bind callback
/// returned is folded into the bind's result, lwt-rs runs the callbacks that
/// were attached to the returned promise first; Lwt runs the outer ones first.
#[test]
fn callbacks_of_the_returned_promise_run_before_those_of_the_bind_result() {
    let (p1, r1) = wait::<()>();
    let (p2, r2) = wait::<u8>();
    let log = Log::new();
    let l = log.clone();
    p2.on_success(move |_| l.push("on the returned promise"));
    let p3 = p1.bind(move |()| p2);
    let l = log.clone();
    p3.on_success(move |_| l.push("on the bind result"));
    r1.wakeup(());
    r2.wakeup(1);
    assert_eq!(log.entries(), ["on the returned promise", "on the bind result"]);
}

// ---- panics in callbacks (rules 10, 11: we differ on purpose) ---------------

/// Deliberate difference (Lwt issue #329): Lwt lets an exception from `f`
/// escape `bind` when the input is already fulfilled; lwt-rs rejects.
#[test]
fn a_panic_in_bind_on_a_fulfilled_promise_rejects_instead_of_escaping() {
    let p = resolved(1).bind(|_| -> Promise<u8> { panic!("boom") });
    let e = p.error().expect("rejected");
    assert_eq!((e.kind(), e.message()), (ErrorKind::Panic, "boom".to_string()));
}

#[test]
fn a_panic_in_bind_on_a_pending_promise_rejects_with_panic_kind() {
    let (p, r) = wait::<u8>();
    let q = p.bind(|_| -> Promise<u8> { panic!("late boom") });
    r.wakeup(1);
    assert_eq!(kind_of(&q), ErrorKind::Panic);
}

#[test]
fn a_formatted_panic_message_is_kept_in_the_rejection() {
    let p = resolved(7).map(|x: u32| -> u32 { panic!("bad value {x}") });
    assert_eq!(p.error().expect("rejected").message(), "bad value 7");
}

#[test]
fn promises_keep_working_after_a_callback_panicked() {
    let (p, r) = wait::<u8>();
    let _bad = p.clone().bind(|_| -> Promise<u8> { panic!("boom") });
    let good = p.map(|x| x + 1);
    r.wakeup(1);
    let (p2, r2) = wait::<u8>();
    let later = p2.map(|x| x * 10);
    r2.wakeup(3);
    assert_eq!(
        (good.state(), later.state()),
        (State::Fulfilled(2), State::Fulfilled(30))
    );
}

// ---- map and then ------------------------------------------------------------

#[test]
fn map_on_a_fulfilled_promise_applies_f_at_once() {
    assert_eq!(
        resolved("foo").map(|s| format!("{s}bar")).state(),
        State::Fulfilled("foobar".to_string())
    );
}

#[test]
fn map_on_a_rejected_promise_never_calls_f() {
    let called = Flag::new();
    let c = called.clone();
    let p = fail_with::<u8>("x").map(move |v| {
        c.set();
        v
    });
    assert!(!called.get() && p.is_rejected());
}

#[test]
fn map_on_a_pending_promise_applies_f_on_fulfilment() {
    let (p, r) = wait::<u8>();
    let q = p.map(|x| x * 2);
    let before = q.state();
    r.wakeup(21);
    assert_eq!((before, q.state()), (State::Pending, State::Fulfilled(42)));
}

#[test]
fn a_panic_in_map_on_a_fulfilled_promise_rejects() {
    let p = resolved(()).map(|()| -> u8 { panic!("map boom") });
    assert_eq!(kind_of(&p), ErrorKind::Panic);
}

#[test]
fn a_panic_in_map_on_a_pending_promise_rejects() {
    let (p, r) = wait::<()>();
    let q = p.map(|()| -> u8 { panic!("map boom") });
    r.wakeup(());
    assert_eq!(kind_of(&q), ErrorKind::Panic);
}

#[test]
fn then_sees_a_fulfilment_as_ok() {
    let p = resolved(3).then(|r| resolved(r.map(|v| v + 1).unwrap_or(0)));
    assert_eq!(p.state(), State::Fulfilled(4));
}

#[test]
fn then_sees_a_rejection_as_err() {
    let (p, r) = wait::<u8>();
    let q = p.then(|res| resolved(res.map_err(|e| e.message()).err()));
    r.wakeup_exn(Error::failure("no"));
    assert_eq!(q.state(), State::Fulfilled(Some("no".to_string())));
}

// ---- catch -------------------------------------------------------------------

#[test]
fn catch_on_a_fulfilled_promise_passes_the_value_without_calling_h() {
    let called = Flag::new();
    let c = called.clone();
    let p = catch(
        || resolved("foo"),
        move |_| {
            c.set();
            resolved("bar")
        },
    );
    assert_eq!((p.state(), called.get()), (State::Fulfilled("foo"), false));
}

#[test]
fn catch_on_a_rejected_promise_gives_h_that_error() {
    let e = Error::failure("x");
    let e2 = e.clone();
    let p = catch(move || rejected::<bool>(e2), move |got| resolved(got.same(&e)));
    assert_eq!(p.state(), State::Fulfilled(true));
}

#[test]
fn catch_turns_a_panic_in_the_thunk_into_a_rejection_for_h() {
    let p = catch(|| -> Promise<ErrorKind> { panic!("thunk") }, |e| resolved(e.kind()));
    assert_eq!(p.state(), State::Fulfilled(ErrorKind::Panic));
}

#[test]
fn catch_passes_a_later_fulfilment_through() {
    let (p, r) = wait::<&str>();
    let q = p.catch(|_| resolved("bar"));
    r.wakeup("foo");
    assert_eq!(q.state(), State::Fulfilled("foo"));
}

#[test]
fn catch_calls_h_on_a_later_rejection() {
    let (p, r) = wait::<String>();
    let q = p.catch(|e| resolved(e.message()));
    r.wakeup_exn(Error::failure("late"));
    assert_eq!(q.state(), State::Fulfilled("late".to_string()));
}

#[test]
fn catch_result_waits_for_the_promise_h_returned() {
    let (p1, r1) = wait::<&str>();
    let (p2, r2) = wait::<&str>();
    let p = p1.catch(move |_| p2);
    r1.wakeup_exn(Error::failure("x"));
    let in_between = p.state();
    r2.wakeup("foo");
    assert_eq!((in_between, p.state()), (State::Pending, State::Fulfilled("foo")));
}

#[test]
fn a_handler_that_rejects_again_rejects_the_result() {
    let e = Error::failure("inner");
    let p = fail_with::<u8>("outer").catch(move |_| rejected(e));
    assert_eq!(p.error().expect("rejected").message(), "inner");
}

/// Deliberate difference (Lwt rule 11): Lwt lets an exception from `h` escape
/// `catch` when the body is already rejected; lwt-rs rejects.
#[test]
fn a_panic_in_h_on_an_already_rejected_promise_rejects_instead_of_escaping() {
    let p = fail_with::<u8>("x").catch(|_| panic!("handler"));
    assert_eq!(kind_of(&p), ErrorKind::Panic);
}

#[test]
fn a_panic_in_h_on_a_later_rejection_rejects_with_panic_kind() {
    let (p, r) = wait::<u8>();
    let q = p.catch(|_| panic!("handler"));
    r.wakeup_exn(Error::failure("x"));
    assert_eq!(kind_of(&q), ErrorKind::Panic);
}

// ---- try_bind ------------------------------------------------------------------

#[test]
fn try_bind_calls_f_on_a_fulfilled_promise() {
    let p = try_bind(
        || resolved("foo"),
        |s| resolved(format!("{s}bar")),
        |_| resolved("!!1".into()),
    );
    assert_eq!(p.state(), State::Fulfilled("foobar".to_string()));
}

#[test]
fn try_bind_calls_h_on_a_rejected_promise() {
    let p = try_bind(
        || fail_with::<u8>("x"),
        |_| resolved(String::new()),
        |e| resolved(e.message()),
    );
    assert_eq!(p.state(), State::Fulfilled("x".to_string()));
}

#[test]
fn try_bind_gives_a_panic_in_the_thunk_to_h() {
    let p = try_bind(
        || -> Promise<u8> { panic!("thunk") },
        |_| resolved(None),
        |e| resolved(Some(e.kind())),
    );
    assert_eq!(p.state(), State::Fulfilled(Some(ErrorKind::Panic)));
}

/// Deliberate difference (Lwt rule 11): Lwt lets an exception from `f` escape
/// `try_bind` when the body is already fulfilled; lwt-rs rejects.
#[test]
fn a_panic_in_try_bind_f_on_a_fulfilled_promise_rejects() {
    let p = try_bind(|| resolved(()), |()| -> Promise<u8> { panic!("f") }, |_| resolved(0));
    assert_eq!(kind_of(&p), ErrorKind::Panic);
}

#[test]
fn try_bind_waits_for_the_promise_f_returned() {
    let (p1, r1) = wait::<()>();
    let (p2, r2) = wait::<&str>();
    let p = p1.try_bind(move |()| p2, |_| resolved("bar"));
    r1.wakeup(());
    let in_between = p.state();
    r2.wakeup("foo");
    assert_eq!((in_between, p.state()), (State::Pending, State::Fulfilled("foo")));
}

#[test]
fn try_bind_waits_for_the_promise_h_returned() {
    let (p1, r1) = wait::<()>();
    let (p2, r2) = wait::<&str>();
    let p = p1.try_bind(|()| resolved("foo"), move |_| p2);
    r1.wakeup_exn(Error::failure("x"));
    let in_between = p.state();
    r2.wakeup("bar");
    assert_eq!((in_between, p.state()), (State::Pending, State::Fulfilled("bar")));
}

#[test]
fn a_panic_in_try_bind_h_on_a_later_rejection_rejects() {
    let (p, r) = wait::<()>();
    let q = p.try_bind(|()| resolved(()), |_| panic!("h"));
    r.wakeup_exn(Error::failure("x"));
    assert_eq!(kind_of(&q), ErrorKind::Panic);
}

// ---- finalize ----------------------------------------------------------------

#[test]
fn finalize_runs_the_cleanup_and_keeps_the_value() {
    let ran = Flag::new();
    let f = ran.clone();
    let p = finalize(
        || resolved("foo"),
        move || {
            f.set();
            resolved(())
        },
    );
    assert_eq!((ran.get(), p.state()), (true, State::Fulfilled("foo")));
}

#[test]
fn finalize_runs_the_cleanup_and_keeps_the_error() {
    let ran = Flag::new();
    let f = ran.clone();
    let e = Error::failure("body");
    let e2 = e.clone();
    let p = finalize(
        move || rejected::<u8>(e2),
        move || {
            f.set();
            resolved(())
        },
    );
    assert!(ran.get() && p.error().expect("rejected").same(&e));
}

#[test]
fn a_rejected_cleanup_replaces_the_value() {
    let p = finalize(|| resolved(1), || fail_with("cleanup"));
    assert_eq!(p.error().expect("rejected").message(), "cleanup");
}

#[test]
fn a_rejected_cleanup_replaces_the_body_error() {
    let p = finalize(|| fail_with::<u8>("body"), || fail_with("cleanup"));
    assert_eq!(p.error().expect("rejected").message(), "cleanup");
}

/// Deliberate difference (Lwt rule 11): Lwt lets an exception from the
/// cleanup escape `finalize` when the body is already resolved; lwt-rs rejects.
#[test]
fn a_panic_in_the_cleanup_of_a_resolved_body_rejects() {
    let p = finalize(|| resolved(1), || panic!("cleanup"));
    assert_eq!(kind_of(&p), ErrorKind::Panic);
}

#[test]
fn finalize_runs_the_cleanup_even_when_the_thunk_panics() {
    let ran = Flag::new();
    let f = ran.clone();
    let p = finalize(
        || -> Promise<u8> { panic!("thunk") },
        move || {
            f.set();
            resolved(())
        },
    );
    assert!(ran.get() && kind_of(&p) == ErrorKind::Panic);
}

#[test]
fn finalize_waits_for_the_body_before_running_the_cleanup() {
    let (p, r) = wait::<&str>();
    let ran = Flag::new();
    let f = ran.clone();
    let q = p.finalize(move || {
        f.set();
        resolved(())
    });
    let before = ran.get();
    r.wakeup("foo");
    assert_eq!((before, ran.get(), q.state()), (false, true, State::Fulfilled("foo")));
}

#[test]
fn finalize_waits_for_a_pending_cleanup() {
    let (p1, r1) = wait::<&str>();
    let (p2, r2) = wait::<()>();
    let p = p1.finalize(move || p2);
    r1.wakeup("foo");
    let in_between = p.state();
    r2.wakeup(());
    assert_eq!((in_between, p.state()), (State::Pending, State::Fulfilled("foo")));
}

#[test]
fn a_pending_cleanup_that_rejects_replaces_the_body_error() {
    let (p1, r1) = wait::<u8>();
    let (p2, r2) = wait::<()>();
    let p = p1.finalize(move || p2);
    r1.wakeup_exn(Error::failure("body"));
    r2.wakeup_exn(Error::failure("cleanup"));
    assert_eq!(p.error().expect("rejected").message(), "cleanup");
}

// ---- wrap and apply -------------------------------------------------------------

#[test]
fn wrap_fulfils_with_the_closure_result() {
    assert_eq!(wrap(|| "foo").state(), State::Fulfilled("foo"));
}

#[test]
fn wrap_turns_a_panic_into_a_rejection() {
    assert_eq!(kind_of(&wrap(|| -> u8 { panic!("w") })), ErrorKind::Panic);
}

#[test]
fn apply_passes_the_argument() {
    assert_eq!(
        apply(|s: &str| resolved(format!("{s}bar")), "foo").state(),
        State::Fulfilled("foobar".to_string())
    );
}

#[test]
fn apply_turns_a_panic_into_a_rejection() {
    assert_eq!(
        kind_of(&apply(|()| -> Promise<u8> { panic!("a") }, ())),
        ErrorKind::Panic
    );
}

#[test]
fn wrap1_runs_nothing_until_applied() {
    let ran = Flag::new();
    let f = ran.clone();
    let lifted = wrap1(move |x: u8| {
        f.set();
        x
    });
    let before = ran.get();
    assert_eq!((before, lifted(1).state()), (false, State::Fulfilled(1)));
}

#[test]
fn wrap2_lifts_a_two_argument_function() {
    assert_eq!(wrap2(|a: u8, b: u8| a + b)(1, 2).state(), State::Fulfilled(3));
}

#[test]
fn wrap3_turns_a_panic_into_a_rejection() {
    let lifted = wrap3(|_: u8, _: u8, _: u8| -> u8 { panic!("w3") });
    assert_eq!(kind_of(&lifted(1, 2, 3)), ErrorKind::Panic);
}

#[test]
fn wrap3_lifts_a_three_argument_function() {
    assert_eq!(
        wrap3(|a: u8, b: u8, c: u8| a + b + c)(1, 2, 3).state(),
        State::Fulfilled(6)
    );
}
