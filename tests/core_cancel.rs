//! Cancellation: wait vs task, propagation through bind chains to the
//! innermost task, catch/try_bind/finalize, joins and picks, two-phase
//! cancellation, and the protected / no_cancel / wrap_in_cancelable matrix
//! (Lwt's rules 32-40).

mod core_common;

use core_common::{Counter, Flag, Log};
use lwt::{
    all, both, choose, fail_with, join, nchoose, nchoose_split, no_cancel, npick, pick, protected, rejected, resolved,
    task, wait, wrap_in_cancelable, Error, Promise, State,
};

fn message<T: 'static>(p: &Promise<T>) -> String {
    p.error().expect("the promise should be rejected").message()
}

// ---- what cancel does to wait and task (rule 32) ------------------------------

#[test]
fn cancel_of_a_fulfilled_promise_does_nothing() {
    let p = resolved(1);
    p.cancel();
    assert_eq!(p.state(), State::Fulfilled(1));
}

#[test]
fn cancel_of_a_rejected_promise_keeps_its_error() {
    let p = fail_with::<u8>("x");
    p.cancel();
    assert_eq!(message(&p), "x");
}

#[test]
fn cancel_of_a_wait_promise_does_nothing() {
    let (p, _r) = wait::<u8>();
    p.cancel();
    assert!(p.is_pending());
}

#[test]
fn cancel_of_a_task_rejects_it_with_canceled() {
    let (p, _r) = task::<u8>();
    p.cancel();
    assert!(p.is_canceled());
}

#[test]
fn cancel_of_a_resolved_task_does_nothing() {
    let (p, r) = task::<u8>();
    r.wakeup(1);
    p.cancel();
    assert_eq!(p.state(), State::Fulfilled(1));
}

#[test]
fn canceling_twice_runs_the_cancel_callbacks_once() {
    let (p, _r) = task::<()>();
    let n = Counter::new();
    let c = n.clone();
    p.on_cancel(move || c.bump());
    p.cancel();
    p.cancel();
    assert_eq!(n.get(), 1);
}

#[test]
fn cancel_inside_a_callback_runs_the_callbacks_at_once() {
    let (p1, _r1) = task::<()>();
    let (p2, _r2) = task::<()>();
    let probe = p2.clone();
    let log = Log::new();
    let l = log.clone();
    p2.on_failure(move |_| l.push("p2 failure"));
    let l = log.clone();
    p1.on_failure(move |_| {
        probe.cancel();
        l.push("after nested cancel");
    });
    p1.cancel();
    assert_eq!(log.entries(), ["p2 failure", "after nested cancel"]);
}

// ---- through bind chains (rules 33, 34) --------------------------------------------

#[test]
fn canceling_a_bind_over_a_wait_promise_does_nothing() {
    let (p, _r) = wait::<()>();
    let ran = Flag::new();
    let f = ran.clone();
    let q = p.bind(move |()| {
        f.set();
        resolved(())
    });
    q.cancel();
    assert!(q.is_pending() && !ran.get());
}

#[test]
fn canceling_a_bind_before_f_ran_cancels_the_task_it_waits_on() {
    let (p, _r) = task::<()>();
    let probe = p.clone();
    let ran = Flag::new();
    let f = ran.clone();
    let q = p.bind(move |()| {
        f.set();
        resolved(())
    });
    q.cancel();
    assert_eq!((probe.is_canceled(), q.is_canceled(), ran.get()), (true, true, false));
}

#[test]
fn canceling_a_map_before_f_ran_cancels_the_task_and_skips_f() {
    let (p, _r) = task::<()>();
    let ran = Flag::new();
    let f = ran.clone();
    let q = p.map(move |()| f.set());
    q.cancel();
    assert!(q.is_canceled() && !ran.get());
}

#[test]
fn canceling_a_bind_after_f_ran_cancels_the_task_f_returned() {
    let (p1, r1) = wait::<()>();
    let (p2, _r2) = task::<u8>();
    let probe = p2.clone();
    let p3 = p1.bind(move |()| p2);
    r1.wakeup(());
    p3.cancel();
    assert!(probe.is_canceled() && p3.is_canceled());
}

#[test]
fn canceling_a_bind_after_f_returned_a_wait_promise_does_nothing() {
    let (p1, r1) = wait::<()>();
    let (p2, _r2) = wait::<u8>();
    let probe = p2.clone();
    let p3 = p1.bind(move |()| p2);
    r1.wakeup(());
    p3.cancel();
    assert!(probe.is_pending() && p3.is_pending());
}

#[test]
fn canceling_the_promise_f_returned_cancels_the_bind_result() {
    let (p1, r1) = wait::<()>();
    let (p2, _r2) = task::<u8>();
    let handle = p2.clone();
    let p3 = p1.bind(move |()| p2);
    r1.wakeup(());
    handle.cancel();
    assert!(p3.is_canceled());
}

#[test]
fn canceling_an_outer_proxy_reaches_the_innermost_task() {
    let (p1, r) = wait::<()>();
    let (p2, _r2) = task::<u8>();
    let probe2 = p2.clone();
    let p3 = p1.clone().bind(move |()| p2);
    let probe3 = p3.clone();
    let p4 = p1.bind(move |()| p3);
    r.wakeup(());
    p4.cancel();
    assert_eq!(
        (probe2.is_canceled(), probe3.is_canceled(), p4.is_canceled()),
        (true, true, true)
    );
}

#[test]
fn cancel_travels_down_a_long_chain_to_the_innermost_task() {
    let (p, _r) = task::<u32>();
    let probe = p.clone();
    let mut q = p;
    for _ in 0..1_000 {
        q = q.map(|x| x + 1).bind(resolved);
    }
    q.cancel();
    assert!(probe.is_canceled() && q.is_canceled());
}

#[test]
fn on_cancel_of_a_bind_result_runs_without_touching_what_f_would_return() {
    let (p1, _r1) = task::<u8>();
    let target = p1.clone();
    let log = Log::new();
    let l = log.clone();
    target.on_cancel(move || l.push("inner"));
    let (start, _rs) = task::<()>();
    let p2 = start.bind(move |()| p1);
    let l = log.clone();
    p2.on_cancel(move || l.push("outer"));
    p2.cancel();
    assert_eq!((log.entries(), target.is_pending()), (vec!["outer".to_string()], true));
}

#[test]
fn on_cancel_of_both_levels_runs_once_f_has_run() {
    let (p1, r1) = task::<()>();
    let (p2, _r2) = task::<u8>();
    let n = Counter::new();
    let c = n.clone();
    p2.on_cancel(move || c.bump());
    let p3 = p1.bind(move |()| p2);
    let c = n.clone();
    p3.on_cancel(move || c.bump());
    r1.wakeup(());
    p3.cancel();
    assert_eq!(n.get(), 2);
}

// ---- catch, try_bind, finalize (rules 35, 36) ----------------------------------------

#[test]
fn canceling_a_catch_over_a_wait_promise_does_nothing() {
    let (p, _r) = wait::<()>();
    let ran = Flag::new();
    let f = ran.clone();
    let q = p.catch(move |_| {
        f.set();
        resolved(())
    });
    q.cancel();
    assert!(q.is_pending() && !ran.get());
}

#[test]
fn a_catch_handler_can_intercept_cancellation_and_recover() {
    let (p, _r) = task::<&str>();
    let probe = p.clone();
    let q = p.catch(|e| resolved(if e.is_canceled() { "recovered" } else { "other" }));
    q.cancel();
    assert_eq!((probe.is_canceled(), q.state()), (true, State::Fulfilled("recovered")));
}

#[test]
fn when_catch_intercepts_cancellation_only_the_inner_on_cancel_runs() {
    let (p, _r) = task::<&str>();
    let log = Log::new();
    let l = log.clone();
    p.on_cancel(move || l.push("inner on_cancel"));
    let l = log.clone();
    let q = p.catch(move |_| {
        l.push("handler");
        resolved("foo")
    });
    let l = log.clone();
    q.on_cancel(move || l.push("outer on_cancel"));
    q.cancel();
    assert_eq!(log.entries(), ["inner on_cancel", "handler"]);
}

#[test]
fn a_catch_handler_that_rethrows_cancellation_cancels_the_outer_promise() {
    let (p, _r) = task::<()>();
    let q = p.catch(rejected);
    let ran = Flag::new();
    let f = ran.clone();
    q.on_cancel(move || f.set());
    q.cancel();
    assert!(q.is_canceled() && ran.get());
}

#[test]
fn canceling_a_catch_after_its_handler_ran_cancels_the_handlers_task() {
    let (p1, r1) = wait::<u8>();
    let (p2, _r2) = task::<u8>();
    let probe = p2.clone();
    let p3 = p1.catch(move |_| p2);
    r1.wakeup_exn(Error::failure("x"));
    p3.cancel();
    assert!(probe.is_canceled() && p3.is_canceled());
}

#[test]
fn canceling_a_catch_after_its_handler_returned_a_wait_promise_does_nothing() {
    let (p1, r1) = wait::<u8>();
    let (p2, _r2) = wait::<u8>();
    let p3 = p1.catch(move |_| p2);
    r1.wakeup_exn(Error::failure("x"));
    p3.cancel();
    assert!(p3.is_pending());
}

#[test]
fn try_bind_gives_cancellation_to_its_failure_handler() {
    let (p, _r) = task::<()>();
    let f_ran = Flag::new();
    let f = f_ran.clone();
    let q = p.try_bind(
        move |()| {
            f.set();
            resolved("foo")
        },
        |e| resolved(if e.is_canceled() { "bar" } else { "other" }),
    );
    q.cancel();
    assert_eq!((f_ran.get(), q.state()), (false, State::Fulfilled("bar")));
}

#[test]
fn canceling_a_try_bind_after_f_ran_cancels_the_task_f_returned() {
    let (p1, r1) = wait::<()>();
    let (p2, _r2) = task::<&str>();
    let probe = p2.clone();
    let p3 = p1.try_bind(move |()| p2, |_| resolved("foo"));
    r1.wakeup(());
    p3.cancel();
    assert!(probe.is_canceled() && p3.is_canceled());
}

#[test]
fn canceling_a_finalize_over_a_wait_promise_does_nothing() {
    let (p, _r) = wait::<()>();
    let ran = Flag::new();
    let f = ran.clone();
    let q = p.finalize(move || {
        f.set();
        resolved(())
    });
    q.cancel();
    assert!(q.is_pending() && !ran.get());
}

#[test]
fn finalize_runs_its_cleanup_on_cancel_and_stays_canceled() {
    let (p, _r) = task::<()>();
    let ran = Flag::new();
    let f = ran.clone();
    let q = p.finalize(move || {
        f.set();
        resolved(())
    });
    q.cancel();
    assert!(ran.get() && q.is_canceled());
}

#[test]
fn a_failing_cleanup_replaces_canceled() {
    let (p, _r) = task::<()>();
    let q = p.finalize(|| fail_with("cleanup failed"));
    q.cancel();
    assert_eq!(message(&q), "cleanup failed");
}

#[test]
fn canceling_a_finalize_whose_cleanup_is_pending_cancels_the_cleanup() {
    let (p1, r1) = wait::<()>();
    let (p2, _r2) = task::<()>();
    let probe = p2.clone();
    let p3 = p1.finalize(move || p2);
    r1.wakeup(());
    p3.cancel();
    assert!(probe.is_canceled() && p3.is_canceled());
}

// ---- joins (rule 37) ---------------------------------------------------------------

#[test]
fn canceling_a_join_of_wait_promises_does_nothing() {
    let (a, _ra) = wait::<()>();
    let (b, _rb) = wait::<()>();
    let p = join(vec![a, b]);
    p.cancel();
    assert!(p.is_pending());
}

#[test]
fn canceling_a_join_of_tasks_cancels_every_input() {
    let (a, _ra) = task::<()>();
    let (b, _rb) = task::<()>();
    let (pa, pb) = (a.clone(), b.clone());
    let p = join(vec![a, b]);
    p.cancel();
    assert_eq!(
        (pa.is_canceled(), pb.is_canceled(), p.is_canceled()),
        (true, true, true)
    );
}

#[test]
fn a_canceled_join_still_waits_for_its_wait_inputs() {
    let (a, ra) = wait::<()>();
    let (b, _rb) = task::<()>();
    let p = join(vec![a, b]);
    p.cancel();
    let before = p.state();
    ra.wakeup(());
    assert_eq!((before, p.is_canceled()), (State::Pending, true));
}

#[test]
fn a_promise_reachable_twice_is_canceled_once() {
    let (a, _ra) = task::<()>();
    let n = Counter::new();
    let c = n.clone();
    a.on_cancel(move || c.bump());
    let p = join(vec![a.clone(), a]);
    p.cancel();
    assert_eq!(n.get(), 1);
}

#[test]
fn cancel_marks_every_target_before_running_any_callback() {
    let (a, _ra) = task::<()>();
    let (b, _rb) = task::<()>();
    let b_probe = b.clone();
    let log = Log::new();
    let l = log.clone();
    a.on_cancel(move || l.push(format!("b already canceled: {}", b_probe.is_canceled())));
    let p = join(vec![a, b]);
    p.cancel();
    assert_eq!(log.entries(), ["b already canceled: true"]);
}

#[test]
fn canceling_both_cancels_its_two_tasks() {
    let (a, _ra) = task::<u8>();
    let (b, _rb) = task::<u8>();
    let (pa, pb) = (a.clone(), b.clone());
    let p = both(a, b);
    p.cancel();
    assert_eq!(
        (pa.is_canceled(), pb.is_canceled(), p.is_canceled()),
        (true, true, true)
    );
}

#[test]
fn canceling_all_cancels_its_tasks() {
    let (a, _ra) = task::<u8>();
    let (b, _rb) = task::<u8>();
    let pa = a.clone();
    let p = all(vec![a, b]);
    p.cancel();
    assert!(pa.is_canceled() && p.is_canceled());
}

// ---- choices -------------------------------------------------------------------------

#[test]
fn canceling_a_choose_of_wait_promises_does_nothing() {
    let (a, _ra) = wait::<()>();
    let (b, _rb) = wait::<()>();
    let p = choose(vec![a, b]);
    p.cancel();
    assert!(p.is_pending());
}

#[test]
fn canceling_a_choose_cancels_its_task_input_and_itself() {
    let (a, _ra) = wait::<()>();
    let (b, _rb) = task::<()>();
    let (pa, pb) = (a.clone(), b.clone());
    let p = choose(vec![a, b]);
    p.cancel();
    assert_eq!((pa.is_pending(), pb.is_canceled(), p.is_canceled()), (true, true, true));
}

#[test]
fn canceling_a_pick_of_wait_promises_does_nothing() {
    let (a, _ra) = wait::<()>();
    let (b, _rb) = wait::<()>();
    let p = pick(vec![a, b]);
    p.cancel();
    assert!(p.is_pending());
}

#[test]
fn canceling_a_pick_cancels_every_task_input() {
    let (a, _ra) = task::<()>();
    let (b, _rb) = task::<()>();
    let (pa, pb) = (a.clone(), b.clone());
    let p = pick(vec![a, b]);
    p.cancel();
    assert_eq!(
        (pa.is_canceled(), pb.is_canceled(), p.is_canceled()),
        (true, true, true)
    );
}

#[test]
fn canceling_a_pick_of_a_wait_and_a_task_cancels_the_task_and_the_pick() {
    let (a, _ra) = wait::<()>();
    let (b, _rb) = task::<()>();
    let pa = a.clone();
    let p = pick(vec![a, b]);
    p.cancel();
    assert_eq!((pa.is_pending(), p.is_canceled()), (true, true));
}

#[test]
fn canceling_an_nchoose_cancels_its_task_input_and_itself() {
    let (a, _ra) = wait::<()>();
    let (b, _rb) = task::<()>();
    let pa = a.clone();
    let p = nchoose(vec![a, b]);
    p.cancel();
    assert_eq!((pa.is_pending(), p.is_canceled()), (true, true));
}

#[test]
fn canceling_an_npick_cancels_every_task_input() {
    let (a, _ra) = task::<()>();
    let (b, _rb) = task::<()>();
    let (pa, pb) = (a.clone(), b.clone());
    let p = npick(vec![a, b]);
    p.cancel();
    assert_eq!(
        (pa.is_canceled(), pb.is_canceled(), p.is_canceled()),
        (true, true, true)
    );
}

#[test]
fn canceling_an_nchoose_split_of_wait_promises_does_nothing() {
    let (a, _ra) = wait::<()>();
    let (b, _rb) = wait::<()>();
    let p = nchoose_split(vec![a, b]);
    p.cancel();
    assert!(p.is_pending());
}

#[test]
fn canceling_an_nchoose_split_cancels_its_task_input_and_itself() {
    let (a, _ra) = wait::<()>();
    let (b, _rb) = task::<()>();
    let pb = b.clone();
    let p = nchoose_split(vec![a, b]);
    p.cancel();
    assert_eq!((pb.is_canceled(), p.is_canceled()), (true, true));
}

// ---- protected (rule 40) ----------------------------------------------------------------

#[test]
fn protected_of_a_resolved_promise_is_that_promise() {
    assert_eq!(protected(resolved(1)).state(), State::Fulfilled(1));
    assert_eq!(message(&protected(fail_with::<u8>("x"))), "x");
}

#[test]
fn protected_follows_its_input() {
    let (p, r) = task::<&str>();
    let q = protected(p);
    let before = q.state();
    r.wakeup("foo");
    assert_eq!((before, q.state()), (State::Pending, State::Fulfilled("foo")));
}

#[test]
fn canceling_a_protected_promise_leaves_its_input_alone() {
    let (p, _r) = task::<&str>();
    let probe = p.clone();
    let q = protected(p);
    q.cancel();
    assert_eq!((probe.is_pending(), q.is_canceled()), (true, true));
}

#[test]
fn a_canceled_protected_promise_ignores_its_input_resolving_later() {
    let (p, r) = task::<&str>();
    let probe = p.clone();
    let q = protected(p);
    q.cancel();
    r.wakeup("foo");
    assert_eq!((probe.state(), q.is_canceled()), (State::Fulfilled("foo"), true));
}

#[test]
fn protected_of_a_wait_promise_is_itself_cancelable() {
    let (p, _r) = wait::<u8>();
    let q = protected(p);
    q.cancel();
    assert!(q.is_canceled());
}

#[test]
fn canceling_the_input_of_protected_cancels_the_protected_promise() {
    let (p, _r) = task::<u8>();
    let q = protected(p.clone());
    p.cancel();
    assert!(q.is_canceled());
}

#[test]
fn protected_stops_cancellation_of_a_bind_chain() {
    let (p, _r) = task::<u8>();
    let probe = p.clone();
    let q = protected(p).map(|x| x + 1);
    q.cancel();
    assert_eq!((probe.is_pending(), q.is_canceled()), (true, true));
}

#[test]
fn a_protected_promise_still_resolves_after_becoming_a_proxy() {
    let (p1, r1) = task::<&str>();
    let p2 = protected(p1);
    let probe = p2.clone();
    let (p3, r3) = wait::<()>();
    let _p4 = p3.bind(move |()| p2);
    r3.wakeup(());
    r1.wakeup("foo");
    assert_eq!(probe.state(), State::Fulfilled("foo"));
}

// ---- no_cancel -----------------------------------------------------------------------------

#[test]
fn no_cancel_of_a_resolved_promise_is_that_promise() {
    assert_eq!(no_cancel(resolved(1)).state(), State::Fulfilled(1));
    assert_eq!(message(&no_cancel(fail_with::<u8>("x"))), "x");
}

#[test]
fn no_cancel_follows_its_input() {
    let (p, r) = task::<&str>();
    let q = no_cancel(p);
    r.wakeup("foo");
    assert_eq!(q.state(), State::Fulfilled("foo"));
}

#[test]
fn canceling_a_no_cancel_promise_does_nothing() {
    let (p, _r) = task::<u8>();
    let probe = p.clone();
    let q = no_cancel(p);
    q.cancel();
    assert_eq!((probe.is_pending(), q.is_pending()), (true, true));
}

#[test]
fn canceling_the_input_of_no_cancel_cancels_the_copy() {
    let (p, _r) = task::<u8>();
    let q = no_cancel(p.clone());
    p.cancel();
    assert!(q.is_canceled());
}

#[test]
fn no_cancel_stops_cancellation_of_a_bind_chain() {
    let (p, _r) = task::<u8>();
    let probe = p.clone();
    let q = no_cancel(p).map(|x| x + 1);
    q.cancel();
    assert_eq!((probe.is_pending(), q.is_pending()), (true, true));
}

// ---- wrap_in_cancelable ----------------------------------------------------------------------

#[test]
fn wrap_in_cancelable_of_a_resolved_promise_is_that_promise() {
    assert_eq!(wrap_in_cancelable(resolved(1)).state(), State::Fulfilled(1));
    assert_eq!(message(&wrap_in_cancelable(fail_with::<u8>("x"))), "x");
}

#[test]
fn wrap_in_cancelable_follows_its_input() {
    let (p, r) = task::<&str>();
    let probe = p.clone();
    let q = wrap_in_cancelable(p);
    r.wakeup("foo");
    assert_eq!(
        (probe.state(), q.state()),
        (State::Fulfilled("foo"), State::Fulfilled("foo"))
    );
}

#[test]
fn canceling_the_wrapper_of_a_task_cancels_both() {
    let (p, _r) = task::<u8>();
    let probe = p.clone();
    let q = wrap_in_cancelable(p);
    q.cancel();
    assert_eq!((probe.is_canceled(), q.is_canceled()), (true, true));
}

#[test]
fn canceling_the_wrapper_of_a_wait_promise_cancels_only_the_wrapper() {
    let (p, r) = wait::<&str>();
    let probe = p.clone();
    let q = wrap_in_cancelable(p);
    q.cancel();
    r.wakeup("foo");
    assert_eq!((probe.state(), q.is_canceled()), (State::Fulfilled("foo"), true));
}

#[test]
fn a_task_canceled_through_its_wrapper_ignores_its_resolver() {
    let (p, r) = task::<&str>();
    let probe = p.clone();
    let q = wrap_in_cancelable(p);
    q.cancel();
    r.wakeup("foo");
    assert_eq!((probe.is_canceled(), q.is_canceled()), (true, true));
}

#[test]
fn canceling_the_input_of_wrap_in_cancelable_cancels_the_wrapper() {
    let (p, _r) = task::<u8>();
    let q = wrap_in_cancelable(p.clone());
    p.cancel();
    assert!(q.is_canceled());
}

#[test]
fn a_wrapper_still_resolves_after_becoming_a_proxy() {
    let (p1, r1) = task::<&str>();
    let p2 = wrap_in_cancelable(p1);
    let probe = p2.clone();
    let (p3, r3) = wait::<()>();
    let _p4 = p3.bind(move |()| p2);
    r3.wakeup(());
    r1.wakeup("foo");
    assert_eq!(probe.state(), State::Fulfilled("foo"));
}

#[test]
fn a_wrapper_folded_into_a_bind_still_cancels_its_input() {
    let (p1, _r1) = task::<&str>();
    let inner = p1.clone();
    let p2 = wrap_in_cancelable(p1);
    let (p3, r3) = wait::<()>();
    let p4 = p3.bind(move |()| p2);
    r3.wakeup(());
    p4.cancel();
    assert_eq!((inner.is_canceled(), p4.is_canceled()), (true, true));
}

// ---- a cancel graph with a cycle -------------------------------------------------------

#[test]
fn canceling_a_bind_that_ended_up_waiting_on_itself_terminates() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let (p, r) = wait::<u8>();
    let slot: Rc<RefCell<Option<Promise<u8>>>> = Rc::default();
    let s = slot.clone();
    let q = p.bind(move |_| s.borrow_mut().take().expect("the slot was filled").map(|x| x + 1));
    *slot.borrow_mut() = Some(q.clone());
    r.wakeup(1);
    q.cancel();
    assert!(q.is_pending());
}

#[test]
fn canceling_a_wrapper_after_its_input_resolved_changes_nothing() {
    let (p, r) = task::<u8>();
    let w = wrap_in_cancelable(p.clone());
    r.wakeup(4);
    w.cancel();
    assert_eq!((w.state(), p.state()), (State::Fulfilled(4), State::Fulfilled(4)));
}

#[test]
fn a_resolver_of_a_task_canceled_through_a_bind_is_ignored_even_from_a_callback() {
    let (t, r) = task::<u8>();
    let b = t.clone().bind(|x| resolved(x + 1));
    b.cancel();
    assert!(t.is_canceled() && b.is_canceled());
    // From inside a callback, `wakeup_later` only sets the state: the
    // canceled promise must still swallow it without a panic.
    let (trigger, fire) = wait::<()>();
    let done = trigger.map(move |()| {
        r.wakeup_later(9);
        r.wakeup(9);
    });
    fire.wakeup(());
    assert!(done.is_fulfilled(), "{done:?}");
    assert!(t.is_canceled() && b.is_canceled());
}
