//! Callbacks that create no promise: on_success, on_failure, on_termination,
//! on_any, on_cancel. Their panics go to the async exception hook.

mod core_common;

use core_common::{Counter, Flag, HookRecorder, Log};
use lwt::{fail_with, rejected, resolved, task, wait, Error, ErrorKind};

// ---- on_success ------------------------------------------------------------

#[test]
fn on_success_on_a_fulfilled_promise_runs_at_once_with_the_value() {
    let log = Log::new();
    let l = log.clone();
    resolved(5).on_success(move |v| l.push(format!("{v}")));
    assert_eq!(log.entries(), ["5"]);
}

#[test]
fn on_success_on_a_rejected_promise_never_runs() {
    let ran = Flag::new();
    let f = ran.clone();
    fail_with::<u8>("x").on_success(move |_| f.set());
    assert!(!ran.get());
}

#[test]
fn on_success_waits_for_a_pending_promise() {
    let (p, r) = wait::<u8>();
    let ran = Flag::new();
    let f = ran.clone();
    p.on_success(move |_| f.set());
    let before = ran.get();
    r.wakeup(1);
    assert_eq!((before, ran.get()), (false, true));
}

#[test]
fn on_success_does_not_run_when_the_pending_promise_rejects() {
    let (p, r) = wait::<u8>();
    let ran = Flag::new();
    let f = ran.clone();
    p.on_success(move |_| f.set());
    r.wakeup_exn(Error::failure("x"));
    assert!(!ran.get());
}

#[test]
fn a_panic_in_on_success_on_a_fulfilled_promise_goes_to_the_hook() {
    let hook = HookRecorder::install();
    resolved(()).on_success(|()| panic!("observer"));
    let errors = hook.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].kind(), errors[0].message()),
        (ErrorKind::Panic, "observer".to_string())
    );
}

#[test]
fn a_panic_in_on_success_goes_to_the_hook_not_to_the_resolver() {
    let hook = HookRecorder::install();
    let (p, r) = wait::<()>();
    p.on_success(|()| panic!("observer"));
    r.wakeup(());
    assert_eq!(hook.count(), 1);
}

#[test]
fn a_panicking_observer_does_not_stop_the_next_callbacks() {
    let _hook = HookRecorder::install();
    let (p, r) = wait::<u8>();
    p.on_success(|_| panic!("first observer"));
    let q = p.map(|v| v + 1);
    r.wakeup(1);
    assert_eq!(q.state(), lwt::State::Fulfilled(2));
}

// ---- on_failure ---------------------------------------------------------------

#[test]
fn on_failure_on_a_fulfilled_promise_never_runs() {
    let ran = Flag::new();
    let f = ran.clone();
    resolved(()).on_failure(move |_| f.set());
    assert!(!ran.get());
}

#[test]
fn on_failure_on_a_rejected_promise_runs_at_once_with_the_error() {
    let e = Error::failure("x");
    let seen = Flag::new();
    let s = seen.clone();
    let e2 = e.clone();
    rejected::<u8>(e).on_failure(move |got| {
        if got.same(&e2) {
            s.set()
        }
    });
    assert!(seen.get());
}

#[test]
fn on_failure_runs_when_the_pending_promise_rejects() {
    let (p, r) = wait::<u8>();
    let log = Log::new();
    let l = log.clone();
    p.on_failure(move |e| l.push(e.message()));
    r.wakeup_exn(Error::failure("late"));
    assert_eq!(log.entries(), ["late"]);
}

#[test]
fn on_failure_does_not_run_when_the_pending_promise_fulfils() {
    let (p, r) = wait::<u8>();
    let ran = Flag::new();
    let f = ran.clone();
    p.on_failure(move |_| f.set());
    r.wakeup(1);
    assert!(!ran.get());
}

#[test]
fn a_panic_in_on_failure_goes_to_the_hook() {
    let hook = HookRecorder::install();
    let (p, r) = wait::<u8>();
    p.on_failure(|_| panic!("observer"));
    r.wakeup_exn(Error::failure("x"));
    assert_eq!(
        hook.errors().iter().map(|e| e.kind()).collect::<Vec<_>>(),
        [ErrorKind::Panic]
    );
}

// ---- on_termination and on_any -------------------------------------------------

#[test]
fn on_termination_runs_at_once_on_a_resolved_promise() {
    let n = Counter::new();
    let (a, b) = (n.clone(), n.clone());
    resolved(()).on_termination(move || a.bump());
    fail_with::<()>("x").on_termination(move || b.bump());
    assert_eq!(n.get(), 2);
}

#[test]
fn on_termination_runs_when_the_pending_promise_fulfils() {
    let (p, r) = wait::<u8>();
    let ran = Flag::new();
    let f = ran.clone();
    p.on_termination(move || f.set());
    let before = ran.get();
    r.wakeup(1);
    assert_eq!((before, ran.get()), (false, true));
}

#[test]
fn on_termination_runs_when_the_pending_promise_rejects() {
    let (p, r) = wait::<u8>();
    let ran = Flag::new();
    let f = ran.clone();
    p.on_termination(move || f.set());
    r.wakeup_exn(Error::failure("x"));
    assert!(ran.get());
}

#[test]
fn a_panic_in_on_termination_goes_to_the_hook() {
    let hook = HookRecorder::install();
    fail_with::<()>("x").on_termination(|| panic!("observer"));
    assert_eq!(hook.count(), 1);
}

#[test]
fn on_any_calls_only_f_on_fulfilment() {
    let log = Log::new();
    let (l1, l2) = (log.clone(), log.clone());
    let (p, r) = wait::<u8>();
    p.on_any(move |v| l1.push(format!("f {v}")), move |_| l2.push("g"));
    r.wakeup(3);
    assert_eq!(log.entries(), ["f 3"]);
}

#[test]
fn on_any_calls_only_g_on_rejection() {
    let log = Log::new();
    let (l1, l2) = (log.clone(), log.clone());
    fail_with::<u8>("no").on_any(move |_| l1.push("f"), move |e| l2.push(format!("g {}", e.message())));
    assert_eq!(log.entries(), ["g no"]);
}

#[test]
fn a_panic_in_on_any_g_goes_to_the_hook() {
    let hook = HookRecorder::install();
    let (p, r) = wait::<u8>();
    p.on_any(|_| {}, |_| panic!("g"));
    r.wakeup_exn(Error::failure("x"));
    assert_eq!(hook.count(), 1);
}

// ---- cancellation seen by direct handlers (rule 39) ------------------------------

#[test]
fn on_success_does_not_run_on_cancel() {
    let (p, _r) = task::<()>();
    let ran = Flag::new();
    let f = ran.clone();
    p.on_success(move |_| f.set());
    p.cancel();
    assert!(!ran.get());
}

#[test]
fn on_failure_receives_canceled() {
    let (p, _r) = task::<()>();
    let seen = Flag::new();
    let s = seen.clone();
    p.on_failure(move |e| {
        if e.is_canceled() {
            s.set()
        }
    });
    p.cancel();
    assert!(seen.get());
}

#[test]
fn on_termination_runs_on_cancel() {
    let (p, _r) = task::<()>();
    let ran = Flag::new();
    let f = ran.clone();
    p.on_termination(move || f.set());
    p.cancel();
    assert!(ran.get());
}

#[test]
fn on_any_takes_the_failure_branch_on_cancel() {
    let (p, _r) = task::<()>();
    let log = Log::new();
    let (l1, l2) = (log.clone(), log.clone());
    p.on_any(
        move |_| l1.push("f"),
        move |e| l2.push(format!("g {}", e.is_canceled())),
    );
    p.cancel();
    assert_eq!(log.entries(), ["g true"]);
}

// ---- on_cancel (rules 4, 5) ------------------------------------------------------

#[test]
fn on_cancel_runs_when_the_task_is_canceled() {
    let (p, _r) = task::<()>();
    let ran = Flag::new();
    let f = ran.clone();
    p.on_cancel(move || f.set());
    let before = ran.get();
    p.cancel();
    assert_eq!((before, ran.get()), (false, true));
}

#[test]
fn every_on_cancel_callback_runs() {
    let (p, _r) = task::<()>();
    let n = Counter::new();
    for _ in 0..3 {
        let c = n.clone();
        p.on_cancel(move || c.bump());
    }
    p.cancel();
    assert_eq!(n.get(), 3);
}

#[test]
fn cancel_callbacks_run_before_regular_ones_attached_earlier() {
    let (p, _r) = task::<()>();
    let log = Log::new();
    let l = log.clone();
    p.on_cancel(move || l.push("cancel 1"));
    let l = log.clone();
    p.on_failure(move |_| l.push("failure"));
    let l = log.clone();
    p.on_cancel(move || l.push("cancel 2"));
    p.cancel();
    assert_eq!(log.entries(), ["cancel 1", "cancel 2", "failure"]);
}

#[test]
fn on_cancel_on_an_already_canceled_promise_runs_at_once() {
    let ran = Flag::new();
    let f = ran.clone();
    rejected::<()>(Error::canceled()).on_cancel(move || f.set());
    assert!(ran.get());
}

#[test]
fn on_cancel_on_a_promise_canceled_earlier_runs_at_once() {
    let (p, _r) = task::<()>();
    p.cancel();
    let ran = Flag::new();
    let f = ran.clone();
    p.on_cancel(move || f.set());
    assert!(ran.get());
}

#[test]
fn on_cancel_never_runs_on_a_fulfilled_promise() {
    let ran = Flag::new();
    let f = ran.clone();
    let (p, r) = task::<()>();
    p.on_cancel(move || f.set());
    r.wakeup(());
    assert!(!ran.get());
}

#[test]
fn on_cancel_never_runs_on_a_promise_rejected_with_another_error() {
    let ran = Flag::new();
    let (f1, f2) = (ran.clone(), ran.clone());
    fail_with::<()>("x").on_cancel(move || f1.set());
    let (p, r) = task::<()>();
    p.on_cancel(move || f2.set());
    r.wakeup_exn(Error::failure("y"));
    assert!(!ran.get());
}

#[test]
fn rejecting_with_canceled_through_the_resolver_triggers_on_cancel() {
    let (p, r) = wait::<()>();
    let ran = Flag::new();
    let f = ran.clone();
    p.on_cancel(move || f.set());
    r.wakeup_exn(Error::canceled());
    assert!(ran.get());
}

#[test]
fn rejecting_a_task_with_canceled_through_its_resolver_runs_its_on_cancel_first() {
    // A task's first `on_cancel` is kept apart from its callback list; it
    // must still run, and before the callbacks attached after it.
    let (p, r) = task::<()>();
    let log = Log::new();
    let l = log.clone();
    p.on_cancel(move || l.push("cancel"));
    let l = log.clone();
    p.on_failure(move |_| l.push("failure"));
    r.wakeup_exn(Error::canceled());
    assert_eq!(log.entries(), ["cancel", "failure"]);
}

#[test]
fn an_on_cancel_that_never_runs_lets_go_of_what_it_captured() {
    let held = std::rc::Rc::new(());
    let (p, r) = task::<()>();
    let h = held.clone();
    p.on_cancel(move || drop(h));
    assert_eq!(std::rc::Rc::strong_count(&held), 2);
    r.wakeup(());
    assert_eq!(std::rc::Rc::strong_count(&held), 1);
    // Abandoned while pending: freed with the promise.
    let (p2, r2) = task::<()>();
    let h = held.clone();
    p2.on_cancel(move || drop(h));
    drop((p, r, p2, r2));
    assert_eq!(std::rc::Rc::strong_count(&held), 1);
}

#[test]
fn a_task_returned_by_a_bind_callback_keeps_its_on_cancel() {
    // The task is folded into the bind's promise (Lwt's proxies); canceling
    // that promise cancels the task and runs the task's on_cancel.
    let (t, _tr) = task::<u8>();
    let log = Log::new();
    let l = log.clone();
    t.on_cancel(move || l.push("task"));
    let (w, wr) = wait::<()>();
    let p = w.bind(move |()| t);
    wr.wakeup(());
    assert!(p.is_pending());
    p.cancel();
    assert!(p.is_canceled());
    assert_eq!(log.entries(), ["task"]);
}

/// A task folded into a bind's promise, with on_cancel `x` attached to that
/// promise before the fold and `y` after; the task has its own on_cancel
/// first when `task_hooked`. Returns the order they ran in on cancel.
fn cancel_order_across_a_fold(task_hooked: bool) -> Vec<String> {
    let log = Log::new();
    let (t, _tr) = task::<u8>();
    if task_hooked {
        let l = log.clone();
        t.on_cancel(move || l.push("task"));
    }
    let (w, wr) = wait::<()>();
    let p = w.bind(move |()| t);
    let l = log.clone();
    p.on_cancel(move || l.push("x"));
    wr.wakeup(());
    let l = log.clone();
    p.on_cancel(move || l.push("y"));
    p.cancel();
    log.entries()
}

#[test]
fn on_cancel_order_survives_a_task_being_folded_into_a_bind() {
    // The task's own on_cancel comes first (its callbacks go before the
    // bind's), then x, then y.
    assert_eq!(cancel_order_across_a_fold(true), ["task", "x", "y"]);
}

#[test]
fn on_cancel_order_holds_when_a_bare_task_is_folded_into_a_bind() {
    // y must not jump ahead of x into the task's now free cancel word.
    assert_eq!(cancel_order_across_a_fold(false), ["x", "y"]);
}

#[test]
fn a_panic_in_on_cancel_goes_to_the_hook() {
    let hook = HookRecorder::install();
    let (p, _r) = task::<()>();
    p.on_cancel(|| panic!("cancel observer"));
    p.cancel();
    assert_eq!(
        hook.errors().iter().map(|e| e.message()).collect::<Vec<_>>(),
        ["cancel observer"]
    );
}

#[test]
fn a_panic_in_on_cancel_does_not_stop_the_regular_callbacks() {
    let _hook = HookRecorder::install();
    let (p, _r) = task::<()>();
    p.on_cancel(|| panic!("cancel observer"));
    let ran = Flag::new();
    let f = ran.clone();
    p.on_failure(move |_| f.set());
    p.cancel();
    assert!(ran.get());
}
