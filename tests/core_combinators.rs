//! Concurrent composition: both, join, all, pick, choose, npick, nchoose,
//! nchoose_split (Lwt's rules 25-31).

mod core_common;

use core_common::{Flag, Log};
use lwt::{
    all, both, choose, fail_with, join, nchoose, nchoose_split, npick, pick, rejected, resolved, task, wait, Error,
    ErrorKind, Promise, State,
};

fn message<T: 'static>(p: &Promise<T>) -> String {
    p.error().expect("the promise should be rejected").message()
}

fn empty_list_message<T: 'static>(p: &Promise<T>) -> (ErrorKind, String) {
    let e = p.error().expect("the promise should be rejected");
    (e.kind(), e.message())
}

// ---- both --------------------------------------------------------------------

#[test]
fn both_of_two_fulfilled_promises_is_the_pair() {
    assert_eq!(both(resolved(1), resolved("b")).state(), State::Fulfilled((1, "b")));
}

#[test]
fn both_of_two_rejected_promises_takes_the_first_arguments_error() {
    let p = both(fail_with::<u8>("first"), fail_with::<u8>("second"));
    assert_eq!(message(&p), "first");
}

#[test]
fn both_rejects_when_only_the_second_was_rejected() {
    let p = both(resolved(1), fail_with::<u8>("second"));
    assert_eq!(message(&p), "second");
}

#[test]
fn both_waits_for_the_pending_side_even_after_a_rejection() {
    let (a, ra) = wait::<u8>();
    let p = both(a, fail_with::<u8>("x"));
    let before = p.state();
    ra.wakeup(1);
    assert_eq!((before, message(&p)), (State::Pending, "x".to_string()));
}

#[test]
fn both_stays_pending_while_one_side_is_pending() {
    let (a, ra) = wait::<u8>();
    let (b, _rb) = wait::<u8>();
    let p = both(a, b);
    ra.wakeup(1);
    assert!(p.is_pending());
}

#[test]
fn both_keeps_argument_order_whatever_the_completion_order() {
    let (a, ra) = wait::<&str>();
    let (b, rb) = wait::<&str>();
    let p = both(a, b);
    rb.wakeup("second");
    ra.wakeup("first");
    assert_eq!(p.state(), State::Fulfilled(("first", "second")));
}

#[test]
fn both_rejects_with_the_earliest_rejection_in_time() {
    let (a, ra) = wait::<u8>();
    let (b, rb) = wait::<u8>();
    let p = both(a, b);
    rb.wakeup_exn(Error::failure("second, earlier"));
    ra.wakeup_exn(Error::failure("first, later"));
    assert_eq!(message(&p), "second, earlier");
}

#[test]
fn both_prefers_a_rejection_present_at_call_time_over_a_later_one() {
    let (a, ra) = wait::<u8>();
    let p = both(a, fail_with::<u8>("already"));
    ra.wakeup_exn(Error::failure("later"));
    assert_eq!(message(&p), "already");
}

#[test]
fn both_of_one_promise_twice_gets_the_value_twice() {
    let (a, ra) = wait::<u8>();
    let p = both(a.clone(), a);
    let before = p.state();
    ra.wakeup_later(1);
    assert_eq!((before, p.state()), (State::Pending, State::Fulfilled((1, 1))));
}

// ---- join ----------------------------------------------------------------------

#[test]
fn join_of_nothing_is_fulfilled() {
    assert_eq!(join(Vec::new()).state(), State::Fulfilled(()));
}

#[test]
fn join_of_fulfilled_promises_is_fulfilled() {
    assert_eq!(join(vec![resolved(()), resolved(())]).state(), State::Fulfilled(()));
}

#[test]
fn join_of_rejected_promises_takes_the_first_in_list_order() {
    let p = join(vec![fail_with("a"), fail_with("b")]);
    assert_eq!(message(&p), "a");
}

#[test]
fn join_waits_for_the_pending_input_before_rejecting() {
    let (a, ra) = wait::<()>();
    let p = join(vec![fail_with("already"), a]);
    let before = p.state();
    ra.wakeup(());
    assert_eq!((before, message(&p)), (State::Pending, "already".to_string()));
}

#[test]
fn join_rejects_when_a_pending_input_rejects() {
    let (a, ra) = wait::<()>();
    let p = join(vec![resolved(()), a]);
    ra.wakeup_exn(Error::failure("late"));
    assert_eq!(message(&p), "late");
}

#[test]
fn join_keeps_a_rejection_present_at_call_time_over_a_later_one() {
    let (a, ra) = wait::<()>();
    let p = join(vec![fail_with("already"), a]);
    ra.wakeup_exn(Error::failure("later"));
    assert_eq!(message(&p), "already");
}

#[test]
fn join_of_one_promise_twice_is_fulfilled_once_it_is() {
    let (a, ra) = wait::<()>();
    let p = join(vec![a.clone(), a]);
    ra.wakeup(());
    assert_eq!(p.state(), State::Fulfilled(()));
}

// ---- all -----------------------------------------------------------------------

#[test]
fn all_of_nothing_is_an_empty_vec() {
    assert_eq!(all(Vec::<Promise<u8>>::new()).state(), State::Fulfilled(vec![]));
}

#[test]
fn all_of_fulfilled_promises_collects_the_values_in_order() {
    let p = all((0..10).map(resolved));
    assert_eq!(p.state(), State::Fulfilled((0..10).collect::<Vec<_>>()));
}

#[test]
fn all_keeps_argument_order_when_inputs_complete_in_reverse() {
    let (a, ra) = wait::<u8>();
    let (b, rb) = wait::<u8>();
    let p = all(vec![resolved(1), a, resolved(3), b]);
    rb.wakeup(4);
    ra.wakeup(2);
    assert_eq!(p.state(), State::Fulfilled(vec![1, 2, 3, 4]));
}

#[test]
fn all_accepts_inputs_resolved_before_the_call() {
    let (a, ra) = wait::<u8>();
    ra.wakeup(7);
    assert_eq!(all(vec![a, resolved(8)]).state(), State::Fulfilled(vec![7, 8]));
}

#[test]
fn all_with_duplicated_promises_repeats_their_values() {
    let (p, rp) = wait::<u8>();
    let (q, rq) = wait::<u8>();
    let r = all(vec![p.clone(), p, q.clone(), q]);
    rp.wakeup(2);
    rq.wakeup(4);
    assert_eq!(r.state(), State::Fulfilled(vec![2, 2, 4, 4]));
}

#[test]
fn all_waits_for_every_input_after_a_rejection() {
    let (a, ra) = wait::<u8>();
    let p = all(vec![fail_with("already"), a]);
    let before = p.state();
    ra.wakeup(2);
    assert_eq!((before, message(&p)), (State::Pending, "already".to_string()));
}

#[test]
fn all_rejects_with_the_earliest_rejection_in_time() {
    let (a, ra) = wait::<u8>();
    let (b, rb) = wait::<u8>();
    let p = all(vec![a, b]);
    rb.wakeup_exn(Error::failure("earlier"));
    ra.wakeup_exn(Error::failure("later"));
    assert_eq!(message(&p), "earlier");
}

// ---- pick ----------------------------------------------------------------------

/// Deliberate difference: Lwt raises `Invalid_argument` at once; lwt-rs returns
/// a promise rejected with the same message.
#[test]
fn pick_of_nothing_is_rejected_with_invalid_argument() {
    let p = pick(Vec::<Promise<u8>>::new());
    assert_eq!(
        empty_list_message(&p),
        (
            ErrorKind::InvalidArgument,
            "Lwt.pick [] would return a promise that is pending forever".to_string()
        )
    );
}

#[test]
fn pick_with_a_fulfilled_input_takes_it_and_cancels_the_pending_ones() {
    let (a, _ra) = task::<&str>();
    let probe = a.clone();
    let p = pick(vec![a, resolved("foo")]);
    assert_eq!((p.state(), probe.is_canceled()), (State::Fulfilled("foo"), true));
}

#[test]
fn pick_with_a_rejected_input_takes_it_and_cancels_the_pending_ones() {
    let (a, _ra) = task::<&str>();
    let probe = a.clone();
    let p = pick(vec![a, fail_with("x")]);
    assert_eq!((message(&p), probe.is_canceled()), ("x".to_string(), true));
}

/// Deliberate difference (rule 28): with several inputs resolved at call time,
/// Lwt prefers a rejected one and draws among them from a fixed-seed PRNG;
/// lwt-rs takes the first rejected one in argument order.
#[test]
fn pick_prefers_the_first_rejected_input_among_those_already_resolved() {
    let (a, _ra) = wait::<&str>();
    let p = pick(vec![
        a,
        resolved("foo"),
        fail_with("first failure"),
        fail_with("second"),
        resolved("bar"),
    ]);
    assert_eq!(message(&p), "first failure");
}

#[test]
fn pick_of_pending_promises_is_pending() {
    let (a, _ra) = wait::<u8>();
    let (b, _rb) = wait::<u8>();
    assert!(pick(vec![a, b]).is_pending());
}

#[test]
fn pick_resolves_like_the_first_input_to_resolve_and_cancels_the_others() {
    let (a, ra) = task::<&str>();
    let (b, _rb) = task::<&str>();
    let probe = b.clone();
    let p = pick(vec![a, b]);
    ra.wakeup("foo");
    assert_eq!((p.state(), probe.is_canceled()), (State::Fulfilled("foo"), true));
}

#[test]
fn pick_ignores_inputs_resolved_after_the_winner() {
    let (a, ra) = wait::<&str>();
    let (b, rb) = wait::<&str>();
    let p = pick(vec![a, b]);
    ra.wakeup("first");
    rb.wakeup("second");
    assert_eq!(p.state(), State::Fulfilled("first"));
}

#[test]
fn pick_cancels_the_losers_before_its_own_callbacks_run() {
    let (a, ra) = task::<()>();
    let (b, _rb) = task::<()>();
    let loser = b.clone();
    let p = pick(vec![a, b]);
    let log = Log::new();
    let l = log.clone();
    let _h = loser.catch(move |_| {
        l.push("loser's handler");
        resolved(())
    });
    let l = log.clone();
    let _k = p.map(move |()| l.push("pick's callback"));
    ra.wakeup_later(());
    assert_eq!(log.entries(), ["loser's handler", "pick's callback"]);
}

#[test]
fn pick_of_one_promise_twice_takes_its_value() {
    let (a, ra) = wait::<&str>();
    let p = pick(vec![a.clone(), a]);
    ra.wakeup("foo");
    assert_eq!(p.state(), State::Fulfilled("foo"));
}

#[test]
fn pick_leaves_non_cancelable_losers_pending() {
    let (a, ra) = wait::<u8>();
    let (b, _rb) = wait::<u8>();
    let probe = b.clone();
    let _p = pick(vec![a, b]);
    ra.wakeup(1);
    assert!(probe.is_pending());
}

// ---- choose --------------------------------------------------------------------

/// Deliberate difference: Lwt raises `Invalid_argument` at once; lwt-rs returns
/// a promise rejected with the same message.
#[test]
fn choose_of_nothing_is_rejected_with_invalid_argument() {
    let p = choose(Vec::<Promise<u8>>::new());
    assert_eq!(
        empty_list_message(&p),
        (
            ErrorKind::InvalidArgument,
            "Lwt.choose [] would return a promise that is pending forever".to_string()
        )
    );
}

#[test]
fn choose_with_a_fulfilled_input_takes_it_without_canceling_the_others() {
    let (a, _ra) = task::<&str>();
    let probe = a.clone();
    let p = choose(vec![a, resolved("foo")]);
    assert_eq!((p.state(), probe.is_pending()), (State::Fulfilled("foo"), true));
}

#[test]
fn choose_prefers_a_rejected_input_among_those_already_resolved() {
    let (a, _ra) = wait::<&str>();
    let p = choose(vec![a, resolved("foo"), fail_with("failure"), resolved("bar")]);
    assert_eq!(message(&p), "failure");
}

#[test]
fn choose_resolves_like_the_first_input_and_cancels_nothing() {
    let (a, ra) = task::<&str>();
    let (b, _rb) = task::<&str>();
    let probe = b.clone();
    let p = choose(vec![a, b]);
    ra.wakeup("foo");
    assert_eq!((p.state(), probe.is_pending()), (State::Fulfilled("foo"), true));
}

#[test]
fn choose_ignores_inputs_resolved_after_the_first() {
    let (a, ra) = wait::<&str>();
    let (b, rb) = wait::<&str>();
    let p = choose(vec![a, b]);
    ra.wakeup("foo");
    rb.wakeup("bar");
    assert_eq!(p.state(), State::Fulfilled("foo"));
}

#[test]
fn choose_passes_the_first_rejection_through() {
    let (a, ra) = wait::<u8>();
    let (b, _rb) = wait::<u8>();
    let p = choose(vec![a, b]);
    ra.wakeup_exn(Error::failure("first"));
    assert_eq!(message(&p), "first");
}

// ---- npick ---------------------------------------------------------------------

/// Deliberate difference: Lwt raises `Invalid_argument` at once; lwt-rs returns
/// a promise rejected with the same message.
#[test]
fn npick_of_nothing_is_rejected_with_invalid_argument() {
    let p = npick(Vec::<Promise<u8>>::new());
    assert_eq!(
        empty_list_message(&p),
        (
            ErrorKind::InvalidArgument,
            "Lwt.npick [] would return a promise that is pending forever".to_string()
        )
    );
}

#[test]
fn npick_of_fulfilled_promises_takes_every_value_in_order() {
    assert_eq!(
        npick(vec![resolved("foo"), resolved("bar")]).state(),
        State::Fulfilled(vec!["foo", "bar"])
    );
}

#[test]
fn npick_with_a_rejected_input_at_call_time_rejects() {
    let p = npick(vec![resolved("foo"), fail_with("x")]);
    assert_eq!(message(&p), "x");
}

#[test]
fn npick_takes_the_fulfilled_inputs_and_cancels_the_pending_ones() {
    let (a, _ra) = task::<&str>();
    let probe = a.clone();
    let p = npick(vec![resolved("foo"), a, resolved("bar")]);
    assert_eq!(
        (p.state(), probe.is_canceled()),
        (State::Fulfilled(vec!["foo", "bar"]), true)
    );
}

#[test]
fn npick_of_pending_promises_resolves_with_the_first_and_cancels_the_rest() {
    let (a, _ra) = task::<&str>();
    let (b, rb) = task::<&str>();
    let probe = a.clone();
    let p = npick(vec![a, b]);
    rb.wakeup("foo");
    assert_eq!((p.state(), probe.is_canceled()), (State::Fulfilled(vec!["foo"]), true));
}

#[test]
fn npick_rejects_when_the_first_input_to_resolve_rejects() {
    let (a, _ra) = task::<&str>();
    let (b, rb) = task::<&str>();
    let probe = a.clone();
    let p = npick(vec![a, b]);
    rb.wakeup_exn(Error::failure("x"));
    assert_eq!((message(&p), probe.is_canceled()), ("x".to_string(), true));
}

#[test]
fn npick_of_one_promise_twice_gets_its_value_twice() {
    let (a, ra) = wait::<&str>();
    let p = npick(vec![a.clone(), a]);
    ra.wakeup("foo");
    assert_eq!(p.state(), State::Fulfilled(vec!["foo", "foo"]));
}

#[test]
fn npick_cancels_the_losers_before_its_own_callbacks_run() {
    let (a, ra) = task::<()>();
    let (b, _rb) = task::<()>();
    let loser = b.clone();
    let p = npick(vec![a, b]);
    let log = Log::new();
    let l = log.clone();
    let _h = loser.catch(move |_| {
        l.push("loser's handler");
        resolved(())
    });
    let l = log.clone();
    let _k = p.map(move |_| l.push("npick's callback"));
    ra.wakeup_later(());
    assert_eq!(log.entries(), ["loser's handler", "npick's callback"]);
}

// ---- nchoose (rule 30) -----------------------------------------------------------

/// Deliberate difference: Lwt raises `Invalid_argument` at once; lwt-rs returns
/// a promise rejected with the same message.
#[test]
fn nchoose_of_nothing_is_rejected_with_invalid_argument() {
    let p = nchoose(Vec::<Promise<u8>>::new());
    assert_eq!(
        empty_list_message(&p),
        (
            ErrorKind::InvalidArgument,
            "Lwt.nchoose [] would return a promise that is pending forever".to_string()
        )
    );
}

#[test]
fn nchoose_takes_every_input_fulfilled_at_call_time_in_order() {
    let (a, _ra) = task::<&str>();
    let probe = a.clone();
    let p = nchoose(vec![resolved("foo"), a, resolved("bar")]);
    assert_eq!(
        (p.state(), probe.is_pending()),
        (State::Fulfilled(vec!["foo", "bar"]), true)
    );
}

#[test]
fn nchoose_rejects_with_a_rejected_input_met_at_call_time() {
    let p = nchoose(vec![fail_with("x"), resolved("foo")]);
    assert_eq!(message(&p), "x");
}

#[test]
fn nchoose_of_pending_promises_resolves_with_the_first_to_resolve() {
    let (a, _ra) = wait::<&str>();
    let (b, rb) = wait::<&str>();
    let p = nchoose(vec![a, b]);
    let before = p.state();
    rb.wakeup("foo");
    assert_eq!((before, p.state()), (State::Pending, State::Fulfilled(vec!["foo"])));
}

#[test]
fn nchoose_rejects_when_the_first_input_to_resolve_rejects() {
    let (a, _ra) = wait::<&str>();
    let (b, rb) = wait::<&str>();
    let p = nchoose(vec![a, b]);
    rb.wakeup_exn(Error::failure("x"));
    assert_eq!(message(&p), "x");
}

#[test]
fn nchoose_includes_every_input_fulfilled_at_the_moment_the_first_resolves() {
    let (start, go) = wait::<()>();
    let (a, ra) = wait::<u8>();
    let (b, rb) = wait::<u8>();
    let p = nchoose(vec![a, b]);
    start.on_success(move |()| {
        rb.wakeup_later(2);
        ra.wakeup(1);
    });
    go.wakeup(());
    assert_eq!(p.state(), State::Fulfilled(vec![1, 2]));
}

#[test]
fn nchoose_leaves_out_inputs_fulfilled_after_it_resolved() {
    let (a, ra) = wait::<u8>();
    let (b, rb) = wait::<u8>();
    let p = nchoose(vec![a, b]);
    ra.wakeup(1);
    rb.wakeup(2);
    assert_eq!(p.state(), State::Fulfilled(vec![1]));
}

#[test]
fn nchoose_cancels_nothing() {
    let (a, ra) = task::<u8>();
    let (b, _rb) = task::<u8>();
    let probe = b.clone();
    let _p = nchoose(vec![a, b]);
    ra.wakeup(1);
    assert!(probe.is_pending());
}

#[test]
fn nchoose_of_one_promise_twice_gets_its_value_twice() {
    let (a, ra) = wait::<&str>();
    let p = nchoose(vec![a.clone(), a]);
    ra.wakeup("foo");
    assert_eq!(p.state(), State::Fulfilled(vec!["foo", "foo"]));
}

// ---- nchoose_split (rule 31: we differ on purpose) ------------------------------

fn split_states(p: &Promise<(Vec<u8>, Vec<Promise<u8>>)>) -> Option<(Vec<u8>, Vec<State<u8>>)> {
    p.with_state(|s| match s {
        State::Fulfilled((done, pending)) => Some((done.clone(), pending.iter().map(Promise::state).collect())),
        _ => None,
    })
}

/// Deliberate difference: Lwt raises `Invalid_argument` at once; lwt-rs returns
/// a promise rejected with the same message.
#[test]
fn nchoose_split_of_nothing_is_rejected_with_invalid_argument() {
    let p = nchoose_split(Vec::<Promise<u8>>::new());
    assert_eq!(
        empty_list_message(&p),
        (
            ErrorKind::InvalidArgument,
            "Lwt.nchoose_split [] would return a promise that is pending forever".to_string()
        )
    );
}

#[test]
fn nchoose_split_gives_the_fulfilled_values_and_the_pending_promises() {
    let (a, _ra) = wait::<u8>();
    let p = nchoose_split(vec![resolved(1), a, resolved(2)]);
    assert_eq!(split_states(&p), Some((vec![1, 2], vec![State::Pending])));
}

/// Deliberate difference (rule 31): when some inputs were resolved at call
/// time, Lwt returns the pending ones in reverse order; lwt-rs keeps
/// argument order.
#[test]
fn nchoose_split_keeps_the_pending_promises_in_argument_order_at_call_time() {
    let (a, ra) = wait::<u8>();
    let (b, rb) = wait::<u8>();
    let p = nchoose_split(vec![a, resolved(1), b]);
    ra.wakeup(10);
    rb.wakeup(20);
    assert_eq!(
        split_states(&p),
        Some((vec![1], vec![State::Fulfilled(10), State::Fulfilled(20)]))
    );
}

#[test]
fn nchoose_split_keeps_the_pending_promises_in_argument_order_later() {
    let (a, ra) = wait::<u8>();
    let (b, rb) = wait::<u8>();
    let (c, rc) = wait::<u8>();
    let p = nchoose_split(vec![a, b, c]);
    rb.wakeup(2);
    ra.wakeup(10);
    rc.wakeup(30);
    assert_eq!(
        split_states(&p),
        Some((vec![2], vec![State::Fulfilled(10), State::Fulfilled(30)]))
    );
}

#[test]
fn nchoose_split_rejects_with_a_rejected_input_at_call_time() {
    let (a, _ra) = wait::<u8>();
    let p = nchoose_split(vec![a, fail_with("x")]);
    assert_eq!(message(&p), "x");
}

#[test]
fn nchoose_split_rejects_when_the_first_input_to_resolve_rejects() {
    let (a, ra) = wait::<u8>();
    let (b, _rb) = wait::<u8>();
    let p = nchoose_split(vec![a, b]);
    ra.wakeup_exn(Error::failure("x"));
    assert_eq!(message(&p), "x");
}

#[test]
fn nchoose_split_of_one_promise_twice_counts_it_twice() {
    let (a, ra) = wait::<u8>();
    let (b, _rb) = wait::<u8>();
    let p = nchoose_split(vec![a.clone(), a, b]);
    ra.wakeup(5);
    assert_eq!(split_states(&p), Some((vec![5, 5], vec![State::Pending])));
}

#[test]
fn nchoose_split_cancels_nothing() {
    let (a, ra) = task::<u8>();
    let (b, _rb) = task::<u8>();
    let probe = b.clone();
    let _p = nchoose_split(vec![a, b]);
    ra.wakeup(1);
    assert!(probe.is_pending());
}

// ---- already-rejected inputs keep their identity ----------------------------------

#[test]
fn pick_passes_the_very_rejection_through() {
    let e = Error::failure("same");
    let (a, _ra) = wait::<u8>();
    let p = pick(vec![a, rejected(e.clone())]);
    assert!(p.error().expect("rejected").same(&e));
}

#[test]
fn all_passes_the_very_rejection_through() {
    let e = Error::failure("same");
    let p = all(vec![rejected::<u8>(e.clone()), resolved(1)]);
    assert!(p.error().expect("rejected").same(&e));
}

#[test]
fn a_rejected_input_does_not_stop_join_from_waiting_for_a_wait_promise() {
    let (a, ra) = wait::<()>();
    let done = Flag::new();
    let d = done.clone();
    let p = join(vec![fail_with("x"), a]);
    p.on_termination(move || d.set());
    let before = done.get();
    ra.wakeup(());
    assert_eq!((before, done.get()), (false, true));
}

// ---- an input lent to its own observer ---------------------------------------

/// With FIFO callbacks (a deliberate difference from Lwt's LIFO), an
/// observer attached to the first input before `nchoose` runs before
/// nchoose's own callback; when it resolves the second input, both count as
/// fulfilled at the moment the first one resolved.
#[test]
fn nchoose_counts_an_input_fulfilled_by_an_observer_of_another() {
    struct Token(u8);
    let (a, ra) = wait::<Token>();
    let (b, rb) = wait::<Token>();
    a.on_success(move |_| rb.wakeup(Token(2)));
    let p = nchoose(vec![a, b]).map(|ts| ts.iter().map(|t| t.0).collect::<Vec<_>>());
    ra.wakeup(Token(1));
    assert_eq!(p.state(), State::Fulfilled(vec![1, 2]));
}

#[test]
fn nchoose_split_counts_an_input_fulfilled_by_an_observer_of_another() {
    let (a, ra) = wait::<Vec<u8>>();
    let (b, rb) = wait::<Vec<u8>>();
    let (c, _rc) = wait::<Vec<u8>>();
    a.on_success(move |_| rb.wakeup(vec![2]));
    let p = nchoose_split(vec![a, b, c]).map(|(done, pending)| (done, pending.len()));
    ra.wakeup(vec![1]);
    assert_eq!(p.state(), State::Fulfilled((vec![vec![1], vec![2]], 1)));
}

// An observer attached to `a` before the combinator runs before it (FIFO),
// and resolves `b`, whose own callback then reaches the combinator first:
// `b` counts as first, as documented in `combinators.rs` (in Lwt, with LIFO
// order, the same happens to an observer attached after the combinator).

#[test]
fn choose_takes_an_input_resolved_by_an_earlier_observer_of_another_as_first() {
    let (a, ra) = wait::<u8>();
    let (b, rb) = wait::<u8>();
    a.on_success(move |_| rb.wakeup(2));
    let c = choose(vec![a.clone(), b.clone()]);
    ra.wakeup(1);
    assert_eq!((a.state(), b.state()), (State::Fulfilled(1), State::Fulfilled(2)));
    assert_eq!(c.state(), State::Fulfilled(2));
}

#[test]
fn choose_attached_before_an_observer_takes_the_input_that_resolved_first() {
    let (a, ra) = wait::<u8>();
    let (b, rb) = wait::<u8>();
    let c = choose(vec![a.clone(), b.clone()]);
    a.on_success(move |_| rb.wakeup(2));
    ra.wakeup(1);
    assert_eq!(c.state(), State::Fulfilled(1));
}

#[test]
fn pick_takes_an_input_resolved_by_an_earlier_observer_of_another_as_first() {
    let (a, ra) = task::<u8>();
    let (b, rb) = task::<u8>();
    a.on_success(move |_| rb.wakeup(2));
    let p = pick(vec![a.clone(), b.clone()]);
    ra.wakeup(1);
    assert_eq!(p.state(), State::Fulfilled(2));
}

#[test]
fn both_takes_a_rejection_made_by_an_earlier_observer_of_another_input_as_earliest() {
    let (a, ra) = wait::<u8>();
    let (b, rb) = wait::<u8>();
    a.on_failure(move |_| rb.wakeup_exn(Error::failure("second")));
    let p = both(a, b);
    ra.wakeup_exn(Error::failure("first"));
    assert_eq!(p.error().map(|e| e.message()), Some("second".to_owned()));
}
