//! Behaviour of the macro forms (Lwt's ppx test suite, test/ppx/main.ml,
//! and more): evaluation order, parallel `and`, re-raising, `finally` on
//! every outcome, bind sites, and long loops.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use lwt::{
    fail_with, lwt_assert, lwt_for, lwt_if, lwt_let, lwt_match, lwt_try, lwt_while, pause, resolved, task, wait,
    wakeup_paused, Error, ErrorKind, Promise, State,
};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn note(log: &Log, what: impl Into<String>) {
    log.borrow_mut().push(what.into());
}

fn entries(log: &Log) -> Vec<String> {
    log.borrow().clone()
}

/// Runs the paused promises until `p` is no longer pending (at most `turns` rounds).
fn settle<T: 'static>(p: &Promise<T>, turns: usize) {
    for _ in 0..turns {
        if !p.is_pending() {
            return;
        }
        wakeup_paused();
    }
}

// ---- lwt_let! ----

#[test]
fn let_binds_in_order_and_waits_for_each_promise() {
    let l = log();
    let (p1, r1) = wait::<i32>();
    let (p2, r2) = wait::<i32>();
    let (l1, l2, l3) = (l.clone(), l.clone(), l.clone());
    let p = lwt_let! {
        let! x = { note(&l1, "start p1"); p1 };
        note(&l2, format!("got x = {x}"));
        let! y = { note(&l2, "start p2"); p2 };
        note(&l3, format!("got y = {y}"));
        resolved(x * 10 + y)
    };
    assert_eq!(entries(&l), ["start p1"]);
    r1.wakeup(4);
    assert_eq!(entries(&l), ["start p1", "got x = 4", "start p2"]);
    assert!(p.is_pending());
    r2.wakeup(2);
    assert_eq!(p.state(), State::Fulfilled(42));
    assert_eq!(entries(&l), ["start p1", "got x = 4", "start p2", "got y = 2"]);
}

#[test]
fn and_starts_every_right_hand_side_before_waiting_for_any() {
    let l = log();
    let (p1, r1) = wait::<i32>();
    let (p2, r2) = wait::<i32>();
    let (la, lb, lc, ld) = (l.clone(), l.clone(), l.clone(), l.clone());
    let p = lwt_let! {
        let! a = { note(&la, "start a"); p1 }
            and b = { note(&lb, "start b"); p2 }
            and c = { note(&lc, "start c"); resolved(3) };
        note(&ld, format!("body {a} {b} {c}"));
        resolved(a + b + c)
    };
    assert_eq!(entries(&l), ["start a", "start b", "start c"]);
    r2.wakeup(20);
    assert!(p.is_pending(), "the body waits for every binding");
    r1.wakeup(10);
    assert_eq!(p.state(), State::Fulfilled(33));
    assert_eq!(entries(&l).last().unwrap(), "body 10 20 3");
}

#[test]
fn plain_lets_patterns_and_type_annotations_mix_with_binds() {
    let p = lwt_let! {
        let base = 100;
        let! (a, b): (i32, i32) = resolved((1, 2));
        let sum = base + a + b;
        let! [x, y] = resolved([10, 20]);
        let! z: u8 = resolved(7);
        resolved(sum + x + y + i32::from(z))
    };
    assert_eq!(p.state(), State::Fulfilled(140));
}

#[test]
fn do_sequences_a_unit_promise_before_the_rest() {
    let l = log();
    let (gate, opened) = wait::<()>();
    let l2 = l.clone();
    let p = lwt_let! {
        do! gate;
        note(&l2, "after the gate");
        resolved("done")
    };
    assert!(entries(&l).is_empty());
    opened.wakeup(());
    assert_eq!(entries(&l), ["after the gate"]);
    assert_eq!(p.state(), State::Fulfilled("done"));
}

#[test]
fn a_rejection_skips_the_rest_of_the_chain() {
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let p: Promise<i32> = lwt_let! {
        let! x = fail_with::<i32>("first step failed");
        flag.set(true);
        resolved(x)
    };
    assert!(!ran.get());
    assert_eq!(p.error().unwrap().message(), "first step failed");
}

#[test]
fn a_rejected_and_binding_rejects_the_group() {
    let p = lwt_let! {
        let! a = resolved(1) and b = fail_with::<i32>("b failed");
        resolved(a + b)
    };
    assert_eq!(p.error().unwrap().message(), "b failed");
}

#[test]
fn non_clone_values_flow_through_binds_by_move() {
    let p = lwt_let! {
        let! v = resolved(vec![String::from("a"), String::from("b")]);
        let! w = resolved(v);
        resolved(w.join("+"))
    };
    assert_eq!(p.state(), State::Fulfilled("a+b".to_owned()));
}

// ---- bind sites ----

fn inner_step() -> Promise<i32> {
    lwt_let! {
        let! x = fail_with::<i32>("disk full");
        resolved(x)
    }
}

fn outer_step() -> Promise<i32> {
    lwt_let! {
        let! y = inner_step();
        resolved(y + 1)
    }
}

#[test]
fn a_rejection_records_every_bind_site_it_passes_through() {
    let inner_line = line!() - 14; // the `let! x` of `inner_step`
    let outer_line = line!() - 8; // the `let! y` of `outer_step`
    let e = outer_step().error().unwrap();
    assert_eq!(e.message(), "disk full");
    assert_eq!(e.sites(), [(file!(), inner_line), (file!(), outer_line)]);
    let printed = format!("{e:#}");
    assert_eq!(
        printed,
        format!(
            "Failure: disk full\n  at {f}:{outer_line}\n  at {f}:{inner_line}",
            f = file!()
        )
    );
}

#[test]
fn each_form_adds_its_own_site() {
    let line = line!() + 1;
    let p = lwt_if!(fail_with::<bool>("no condition") { resolved(1) } else { resolved(2) });
    assert_eq!(p.error().unwrap().sites(), [(file!(), line)]);

    let line = line!() + 1;
    let q = lwt_match!(fail_with::<i32>("unmatched") {
        v => resolved(v),
        exception e if e.is_timeout() => resolved(0),
    });
    assert_eq!(q.error().unwrap().sites(), [(file!(), line)]);

    let line = line!() + 1;
    let r = lwt_assert!(1 + 1 == 3);
    let e = r.error().unwrap();
    assert_eq!(e.message(), "assertion failed: 1 + 1 == 3");
    assert_eq!(e.sites(), [(file!(), line)]);
}

// ---- lwt_match! ----

#[test]
fn match_selects_the_arm_for_the_value() {
    let p = lwt_match!(resolved(Some(3)) {
        Some(x) if x > 5 => resolved("big"),
        Some(_) => resolved("small"),
        None => resolved("none"),
    });
    assert_eq!(p.state(), State::Fulfilled("small"));
}

#[test]
fn match_waits_for_a_pending_promise() {
    let (p, r) = wait::<Option<u8>>();
    let m = lwt_match!(p {
        Some(x) => resolved(x),
        None => resolved(0),
    });
    assert!(m.is_pending());
    r.wakeup(Some(9));
    assert_eq!(m.state(), State::Fulfilled(9));
}

#[test]
fn match_exception_arm_handles_a_rejection() {
    let (p, r) = wait::<i32>();
    let m = lwt_match!(p {
        n => resolved(n),
        exception e if e.is_timeout() => resolved(-1),
    });
    r.wakeup_exn(Error::timeout());
    assert_eq!(m.state(), State::Fulfilled(-1));
}

#[test]
fn match_reraises_errors_no_exception_arm_matches() {
    let m = lwt_match!(fail_with::<i32>("not a timeout") {
        n => resolved(n),
        exception e if e.is_timeout() => resolved(-1),
    });
    let e = m.error().unwrap();
    assert_eq!(e.kind(), ErrorKind::Failure);
    assert_eq!(e.message(), "not a timeout");
}

#[test]
fn match_catches_a_panic_while_evaluating_the_promise() {
    fn explode() -> Promise<i32> {
        panic!("exploded")
    }
    let m = lwt_match!(explode() {
        n => resolved(n),
        exception e if e.kind() == ErrorKind::Panic => resolved(-7),
    });
    assert_eq!(m.state(), State::Fulfilled(-7));
}

#[test]
fn match_arms_may_use_the_same_moved_value() {
    let name = String::from("shared");
    let m = lwt_match!(fail_with::<usize>("x") {
        n => resolved(n + name.len()),
        exception _ => resolved(name.len()),
    });
    assert_eq!(m.state(), State::Fulfilled(6));
}

// ---- lwt_try! ----

#[test]
fn try_handler_recovers_from_a_rejection() {
    let p = lwt_try!(fail_with::<i32>("late") catch {
        e if e.message() == "late" => resolved(0),
    });
    assert_eq!(p.state(), State::Fulfilled(0));
}

#[test]
fn try_leaves_a_fulfilled_promise_alone() {
    let called = Rc::new(Cell::new(false));
    let flag = called.clone();
    let p = lwt_try!(resolved(5) catch {
        _ => { flag.set(true); resolved(0) }
    });
    assert_eq!(p.state(), State::Fulfilled(5));
    assert!(!called.get());
}

#[test]
fn try_reraises_errors_no_handler_matches() {
    let p = lwt_try!(
        lwt_try!(fail_with::<i32>("Not_found") catch {
            e if e.message() == "Failure" => resolved(1),
        })
        catch {
            e if e.message() == "Not_found" => resolved(2),
        }
    );
    assert_eq!(p.state(), State::Fulfilled(2));
}

#[test]
fn try_catches_a_panic_in_the_body() {
    fn raise() -> Promise<i32> {
        panic!("raised")
    }
    let p = lwt_try!(raise() catch {
        e if e.kind() == ErrorKind::Panic => resolved(1),
    });
    assert_eq!(p.state(), State::Fulfilled(1));
}

fn counted_finally(body: Promise<i32>, count: &Rc<Cell<u32>>) -> Promise<i32> {
    let c = count.clone();
    lwt_try!(body finally {
        c.set(c.get() + 1);
        resolved(())
    })
}

#[test]
fn finally_runs_on_success() {
    let count = Rc::new(Cell::new(0));
    let (p, r) = wait::<i32>();
    let out = counted_finally(p, &count);
    assert_eq!(count.get(), 0);
    r.wakeup(3);
    assert_eq!(count.get(), 1);
    assert_eq!(out.state(), State::Fulfilled(3));
}

#[test]
fn finally_runs_on_error_and_keeps_the_error() {
    let count = Rc::new(Cell::new(0));
    let (p, r) = wait::<i32>();
    let out = counted_finally(p, &count);
    r.wakeup_exn(Error::failure("broken"));
    assert_eq!(count.get(), 1);
    assert_eq!(out.error().unwrap().message(), "broken");
}

#[test]
fn finally_runs_on_cancellation() {
    let count = Rc::new(Cell::new(0));
    let (p, _r) = task::<i32>();
    let out = counted_finally(p, &count);
    out.cancel();
    assert_eq!(count.get(), 1);
    assert!(out.is_canceled());
}

#[test]
fn finally_runs_after_the_handler() {
    let l = log();
    let (lh, lf) = (l.clone(), l.clone());
    let p = lwt_try!(fail_with::<i32>("x")
        catch { _ => { note(&lh, "handler"); resolved(1) } }
        finally { note(&lf, "finally"); resolved(()) });
    assert_eq!(p.state(), State::Fulfilled(1));
    assert_eq!(entries(&l), ["handler", "finally"]);
}

#[test]
fn finally_waits_for_its_cleanup_promise() {
    let (cleanup, done) = wait::<()>();
    let p = lwt_try!(resolved(8) finally { cleanup });
    assert!(p.is_pending());
    done.wakeup(());
    assert_eq!(p.state(), State::Fulfilled(8));
}

#[test]
fn try_reraises_the_very_error_with_its_catch_site_added() {
    let original = Error::failure("unhandled");
    let p = lwt_try!(lwt::rejected::<i32>(original.clone()) catch {
        e if e.is_timeout() => resolved(0),
    });
    let e = p.error().expect("re-raised");
    assert!(e.same(&original), "the re-raised error is the one that came in");
    assert_eq!(e.sites().len(), original.sites().len() + 1);
    assert!(e.sites().last().is_some_and(|(file, _)| file.ends_with("macros.rs")));
}

#[test]
fn a_failing_handler_rejects_once_the_finally_ran() {
    let l = log();
    let (lh, lf) = (l.clone(), l.clone());
    let p = lwt_try!(fail_with::<i32>("first")
        catch { _ => { note(&lh, "handler"); fail_with("from the handler") } }
        finally { note(&lf, "finally"); resolved(()) });
    assert_eq!(p.error().map(|e| e.message()), Some("from the handler".to_owned()));
    assert_eq!(entries(&l), ["handler", "finally"]);
}

#[test]
fn a_panicking_handler_still_runs_the_finally() {
    fn boom() -> Promise<i32> {
        panic!("in the handler")
    }
    let ran = Rc::new(Cell::new(false));
    let r2 = ran.clone();
    let p = lwt_try!(fail_with::<i32>("first")
        catch { _ => boom() }
        finally { r2.set(true); resolved(()) });
    assert!(ran.get());
    let e = p.error().expect("rejected");
    assert_eq!(e.kind(), ErrorKind::Panic);
    assert!(e.message().contains("in the handler"));
}

#[test]
fn a_failing_finally_replaces_the_handlers_value() {
    let p = lwt_try!(fail_with::<i32>("first")
        catch { _ => resolved(1) }
        finally { fail_with("cleanup failed") });
    assert_eq!(p.error().map(|e| e.message()), Some("cleanup failed".to_owned()));
}

#[test]
fn a_canceled_try_with_finally_runs_the_on_cancel_of_its_result() {
    let (p, _r) = task::<i32>();
    let out = lwt_try!(p finally { resolved(()) });
    let seen = Rc::new(Cell::new(false));
    let s2 = seen.clone();
    out.on_cancel(move || s2.set(true));
    out.cancel();
    assert!(out.is_canceled());
    assert!(seen.get(), "the result ended canceled: its on_cancel runs");
}

// ---- lwt_if! ----

#[test]
fn if_chooses_a_branch_from_a_promised_bool() {
    let yes = lwt_if!(resolved(true) { resolved(1) } else { resolved(2) });
    let no = lwt_if!(resolved(false) { resolved(1) } else { resolved(2) });
    assert_eq!(yes.state(), State::Fulfilled(1));
    assert_eq!(no.state(), State::Fulfilled(2));
}

#[test]
fn if_without_else_resolves_to_unit_when_false() {
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let p = lwt_if!(resolved(false) { flag.set(true); resolved(()) });
    assert_eq!(p.state(), State::Fulfilled(()));
    assert!(!ran.get());
}

#[test]
fn if_waits_for_the_condition() {
    let (c, r) = wait::<bool>();
    let p = lwt_if!(c { resolved("then") } else { resolved("else") });
    assert!(p.is_pending());
    r.wakeup(false);
    assert_eq!(p.state(), State::Fulfilled("else"));
}

// ---- lwt_for! / lwt_while! ----

fn recorded(l: &Log) -> Vec<i64> {
    l.borrow().iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn for_counts_up_inclusive_and_exclusive() {
    let l = log();
    let l1 = l.clone();
    lwt_for!(i in 3..=5 { note(&l1, i.to_string()); resolved(()) });
    let l2 = l.clone();
    lwt_for!(i in 0..2 { note(&l2, i.to_string()); resolved(()) });
    assert_eq!(recorded(&l), [3, 4, 5, 0, 1]);
}

#[test]
fn for_counts_down_with_rev() {
    let l = log();
    let l1 = l.clone();
    lwt_for!(i in (1..=3).rev() { note(&l1, i.to_string()); resolved(()) });
    let l2 = l.clone();
    lwt_for!(i in (1..3).rev() { note(&l2, i.to_string()); resolved(()) });
    assert_eq!(recorded(&l), [3, 2, 1, 2, 1]);
}

#[test]
fn for_over_an_empty_range_runs_no_step() {
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let p = lwt_for!(_ in 5..5 { flag.set(true); resolved(()) });
    assert_eq!(p.state(), State::Fulfilled(()));
    assert!(!ran.get());
}

#[test]
fn for_evaluates_its_bounds_once() {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let bound = move || {
        c.set(c.get() + 1);
        3
    };
    let p = lwt_for!(_ in 0..bound() { pause() });
    settle(&p, 10);
    assert_eq!(p.state(), State::Fulfilled(()));
    assert_eq!(calls.get(), 1);
}

#[test]
fn for_waits_for_each_body_before_the_next_step() {
    let l = log();
    let l1 = l.clone();
    let p = lwt_for!(i in 0..3 {
        note(&l1, i.to_string());
        pause()
    });
    assert_eq!(recorded(&l), [0]);
    wakeup_paused();
    assert_eq!(recorded(&l), [0, 1]);
    wakeup_paused();
    wakeup_paused();
    assert_eq!(recorded(&l), [0, 1, 2]);
    assert_eq!(p.state(), State::Fulfilled(()));
}

#[test]
fn for_stops_at_a_rejected_body() {
    let l = log();
    let l1 = l.clone();
    let p = lwt_for!(i in 0..10 {
        note(&l1, i.to_string());
        if i == 2 { fail_with("stop") } else { resolved(()) }
    });
    assert_eq!(recorded(&l), [0, 1, 2]);
    assert_eq!(p.error().unwrap().message(), "stop");
}

#[test]
fn while_reevaluates_its_condition_after_each_body() {
    // Lwt's "while" test: 3, 4, 5 with a counter starting at 2.
    let l = log();
    let l1 = l.clone();
    let mut c = 2;
    let p = lwt_while!(c < 5 {
        c += 1;
        note(&l1, c.to_string());
        pause()
    });
    settle(&p, 10);
    assert_eq!(p.state(), State::Fulfilled(()));
    assert_eq!(recorded(&l), [3, 4, 5]);
}

#[test]
fn while_with_a_false_condition_runs_no_step() {
    let p = lwt_while!(false { fail_with("never") });
    assert_eq!(p.state(), State::Fulfilled(()));
}

#[test]
fn while_stops_at_a_rejected_body() {
    let steps = Rc::new(Cell::new(0));
    let s2 = steps.clone();
    let p = lwt_while!(s2.get() < 10 {
        s2.set(s2.get() + 1);
        if s2.get() == 3 { fail_with("third") } else { resolved(()) }
    });
    assert_eq!(p.error().map(|e| e.message()), Some("third".to_owned()));
    assert_eq!(steps.get(), 3);
}

const MILLION: u64 = 1_000_000;

/// Runs `f` on a thread with a small (1 MiB) stack: a loop that grew the
/// stack with its iterations would overflow it.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(f)
        .expect("spawn a thread")
        .join()
        .expect("the loop finished without overflowing the stack");
}

#[test]
fn a_million_step_for_loop_over_resolved_bodies_does_not_grow_the_stack() {
    on_small_stack(|| {
        let total = Rc::new(Cell::new(0u64));
        let t = total.clone();
        let p = lwt_for!(i in 0..MILLION {
            t.set(t.get() + i);
            resolved(())
        });
        assert_eq!(p.state(), State::Fulfilled(()));
        assert_eq!(total.get(), MILLION * (MILLION - 1) / 2);
    });
}

#[test]
fn a_million_step_while_loop_runs_in_constant_memory() {
    on_small_stack(|| {
        let base = lwt::core::live_promises();
        let done = Rc::new(Cell::new(0u64));
        let d = done.clone();
        let mut n = 0u64;
        let p = lwt_while!(n < MILLION {
            n += 1;
            d.set(n);
            pause()
        });
        let mut max_live = 0;
        while p.is_pending() {
            wakeup_paused();
            if done.get() % 10_000 == 0 {
                max_live = max_live.max(lwt::core::live_promises() - base);
            }
        }
        assert_eq!(p.state(), State::Fulfilled(()));
        assert_eq!(done.get(), MILLION);
        assert!(max_live <= 8, "live promises grew to {max_live}");
    });
}

#[test]
fn a_million_step_for_loop_over_pauses_runs_in_constant_memory() {
    on_small_stack(|| {
        let base = lwt::core::live_promises();
        let p = lwt_for!(_ in (0..MILLION).rev() { pause() });
        let mut turns = 0u64;
        let mut max_live = 0;
        while p.is_pending() {
            wakeup_paused();
            turns += 1;
            if turns % 10_000 == 0 {
                max_live = max_live.max(lwt::core::live_promises() - base);
            }
        }
        assert_eq!(p.state(), State::Fulfilled(()));
        assert_eq!(turns, MILLION);
        assert!(max_live <= 8, "live promises grew to {max_live}");
    });
}

#[test]
fn a_million_step_while_loop_over_resolved_bodies_does_not_grow_the_stack() {
    on_small_stack(|| {
        let mut n = 0u64;
        let count = Rc::new(Cell::new(0u64));
        let c = count.clone();
        let p = lwt_while!(n < MILLION {
            n += 1;
            c.set(n);
            resolved(())
        });
        assert_eq!(p.state(), State::Fulfilled(()));
        assert_eq!(count.get(), MILLION);
    });
}

// ---- lwt_assert! ----

#[test]
fn assert_is_fulfilled_when_the_condition_holds() {
    assert_eq!(lwt_assert!(2 > 1).state(), State::Fulfilled(()));
}

#[test]
fn assert_rejects_with_the_formatted_message() {
    let x = 4;
    let e = lwt_assert!(x % 2 == 1, "{x} is even").error().unwrap();
    assert_eq!(e.kind(), ErrorKind::Failure);
    assert_eq!(e.message(), "4 is even");
}

// ---- #[lwt::test] ----

#[lwt::test]
fn the_test_attribute_runs_the_body_on_the_loop() {
    lwt_let! {
        do! pause();
        let! x = resolved(20);
        assert_eq!(x + 22, 42);
        resolved(())
    }
}

#[lwt::test]
fn the_test_attribute_returns_the_promised_value() -> Promise<Result<(), String>> {
    lwt_let! {
        do! pause();
        resolved(Ok(()))
    }
}

#[lwt::test]
#[should_panic(expected = "the test's promise was rejected: Failure: assertion failed: 1 == 2")]
fn the_test_attribute_fails_the_test_on_a_rejection() {
    lwt_let! {
        do! pause();
        lwt_assert!(1 == 2)
    }
}

#[lwt::test]
#[should_panic(expected = "can never resolve")]
fn the_test_attribute_reports_a_promise_nothing_can_resolve() {
    let (never, _resolver) = wait::<()>();
    never
}
