//! Behaviour of `lwt::react`: React's events, signals and steps, and the
//! Lwt_react bridges. Everything is driven synchronously (sends, resolvers,
//! `wakeup_paused`); nothing sleeps.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use lwt::react::{e, live_nodes, s, Event, Signal, Step};
use lwt::{wait, State};

type Log<T> = Rc<RefCell<Vec<T>>>;
type Resolvers<T> = Rc<RefCell<Vec<lwt::Resolver<T>>>>;

/// Records the occurrences of `ev`; keep the returned handle alive.
fn record<T: Clone + 'static>(ev: &Event<T>) -> (Event<()>, Log<T>) {
    let log: Log<T> = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    (ev.map(move |x| l.borrow_mut().push(x.clone())), log)
}

/// Records the errors that reach the async exception hook on this thread.
fn hook_log() -> Log<String> {
    let seen: Log<String> = Rc::new(RefCell::new(Vec::new()));
    let s2 = seen.clone();
    drop(lwt::set_async_exception_hook(move |e| {
        s2.borrow_mut().push(e.to_string())
    }));
    seen
}

fn counter() -> (Rc<Cell<usize>>, impl Fn() + Clone) {
    let c = Rc::new(Cell::new(0));
    let c2 = c.clone();
    (c, move || c2.set(c2.get() + 1))
}

fn fulfilled<T: Clone + 'static>(p: &lwt::Promise<T>) -> T {
    match p.state() {
        State::Fulfilled(v) => v,
        State::Rejected(e) => panic!("rejected: {e}"),
        State::Pending => panic!("still pending"),
    }
}

// ---------------------------------------------------------------------------
// Steps and glitch freedom
// ---------------------------------------------------------------------------

#[test]
fn diamond_of_signals_never_sees_a_mixed_state() {
    let (a, set_a) = s::create(1);
    let b = a.map(|x| x + 1);
    let c = a.map(|x| x * 10);
    let seen: Log<(i32, i32)> = Rc::new(RefCell::new(Vec::new()));
    let sn = seen.clone();
    let d = s::l2(
        move |b: &i32, c: &i32| {
            sn.borrow_mut().push((*b, *c));
            b + c
        },
        &b,
        &c,
    );
    set_a.set(2);
    set_a.set(3);
    // Initialisation, then exactly one consistent computation per step.
    assert_eq!(*seen.borrow(), vec![(2, 10), (3, 20), (4, 30)]);
    assert_eq!(d.value(), 34);
}

#[test]
fn diamond_of_ten_derived_signals_updates_the_join_once_per_step() {
    let (src, set) = s::create(0i64);
    let parts: Vec<Signal<i64>> = (1..=10).map(|k| src.map(move |x| x * k)).collect();
    let (runs, bump) = counter();
    let total = s::merge(
        move |acc: i64, x: &i64| {
            bump();
            acc + x
        },
        0,
        &parts,
    );
    let before = runs.get();
    set.set(1);
    assert_eq!(runs.get() - before, 10, "one fold over the ten parts, once");
    assert_eq!(total.value(), 55);
}

#[test]
fn diamond_of_events_occurs_once_with_both_sides() {
    let (a, send) = e::create::<i32>();
    let b = a.map(|x| x + 1);
    let c = a.map(|x| x * 2);
    let d = e::l2(|x, y| (*x, *y), &b, &c);
    let (_k, log) = record(&d);
    send.send(5);
    send.send(6);
    assert_eq!(*log.borrow(), vec![(6, 10), (7, 12)]);
}

#[test]
fn nodes_run_in_rank_order_whatever_the_creation_order() {
    let (a, set_a) = s::create(1);
    let order: Log<&'static str> = Rc::new(RefCell::new(Vec::new()));
    let o1 = order.clone();
    let deep = a.map(|x| x + 1).map(|x| x + 1).map(move |x| {
        o1.borrow_mut().push("deep");
        *x
    });
    let o2 = order.clone();
    let shallow = a.map(move |x| {
        o2.borrow_mut().push("shallow");
        *x
    });
    let o3 = order.clone();
    let join = s::l2(
        move |x: &i32, y: &i32| {
            o3.borrow_mut().push("join");
            x + y
        },
        &deep,
        &shallow,
    );
    order.borrow_mut().clear();
    set_a.set(5);
    assert_eq!(*order.borrow(), vec!["shallow", "deep", "join"]);
    assert_eq!(join.value(), 12);
}

#[test]
fn explicit_step_makes_primitive_occurrences_simultaneous() {
    let (a, send_a) = e::create::<i32>();
    let (b, send_b) = e::create::<i32>();
    let (_k, log) = record(&e::l2(|x, y| x + y, &a, &b));
    send_a.send(1);
    send_b.send(2);
    assert!(log.borrow().is_empty(), "separate steps are not simultaneous");
    let step = Step::new();
    send_a.send_on(&step, 10);
    send_b.send_on(&step, 20);
    assert!(log.borrow().is_empty(), "nothing happens before execute");
    step.execute();
    assert_eq!(*log.borrow(), vec![30]);
}

#[test]
fn explicit_step_sets_several_signals_in_one_update() {
    let (x, set_x) = s::create(1);
    let (y, set_y) = s::create(1);
    let (runs, bump) = counter();
    let sum = s::l2(
        move |a: &i32, b: &i32| {
            bump();
            a + b
        },
        &x,
        &y,
    );
    let step = Step::new();
    set_x.set_on(&step, 5);
    set_y.set_on(&step, 7);
    assert_eq!(x.value(), 1, "the value waits for the step");
    step.execute();
    assert_eq!(sum.value(), 12);
    assert_eq!(runs.get(), 2, "initialisation and one update");
}

#[test]
fn a_step_dropped_without_execute_discards_its_updates() {
    let (ev, send) = e::create::<i32>();
    let (_k, log) = record(&ev);
    {
        let step = Step::new();
        send.send_on(&step, 1);
    }
    // The primitive is free again for another step.
    let step = Step::new();
    send.send_on(&step, 2);
    step.execute();
    assert_eq!(*log.borrow(), vec![2]);
}

#[test]
fn a_primitive_cannot_wait_on_two_steps() {
    let (_ev, send) = e::create::<i32>();
    let s1 = Step::new();
    let s2 = Step::new();
    send.send_on(&s1, 1);
    let err = send.try_send_on(&s2, 2).unwrap_err();
    assert_eq!(err.kind(), lwt::ErrorKind::InvalidArgument);
    assert!(err.message().contains("already has an update waiting"));
    let (_sig, set) = s::create(0);
    set.set_on(&s1, 1);
    assert!(set.try_set_on(&s1, 2).is_err());
}

#[test]
fn sending_from_inside_a_step_is_an_error_that_reaches_the_hook() {
    let hook = hook_log();
    let (a, send_a) = e::create::<i32>();
    let (b, send_b) = e::create::<i32>();
    let (_kb, log_b) = record(&b);
    let inner = send_b.clone();
    let _bad = a.map(move |x| inner.send(*x));
    let (_ka, log_a) = record(&a.map(|x| x * 2));
    send_a.send(3);
    assert_eq!(*log_a.borrow(), vec![6], "the rest of the step ran");
    assert!(log_b.borrow().is_empty(), "no nested step");
    assert_eq!(hook.borrow().len(), 1);
    assert!(
        hook.borrow()[0].contains("inside an update step"),
        "{:?}",
        hook.borrow()
    );
    // The graph is still usable.
    send_b.send(1);
    assert_eq!(*log_b.borrow(), vec![1]);
}

#[test]
fn try_send_and_try_set_inside_a_step_return_invalid_argument() {
    let (a, send_a) = e::create::<i32>();
    let (_other, send_other) = e::create::<i32>();
    let (_sig, set) = s::create(0);
    let results: Log<(bool, bool)> = Rc::new(RefCell::new(Vec::new()));
    let r = results.clone();
    let _probe = a.map(move |x| {
        let e1 = send_other
            .try_send(*x)
            .is_err_and(|e| e.kind() == lwt::ErrorKind::InvalidArgument);
        let e2 = set
            .try_set(*x)
            .is_err_and(|e| e.kind() == lwt::ErrorKind::InvalidArgument);
        r.borrow_mut().push((e1, e2));
    });
    send_a.send(1);
    assert_eq!(*results.borrow(), vec![(true, true)]);
}

#[test]
fn executing_a_step_inside_a_step_is_an_error() {
    let (a, send_a) = e::create::<i32>();
    let outcome = Rc::new(Cell::new(false));
    let o = outcome.clone();
    let _probe = a.map(move |_| {
        let step = Step::new();
        o.set(step.try_execute().is_err());
    });
    send_a.send(1);
    assert!(outcome.get());
}

// ---------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------

#[test]
fn setting_an_equal_value_is_no_update() {
    let (x, set) = s::create(1);
    let (runs, bump) = counter();
    let _watch = x.map(move |_| bump());
    set.set(1);
    set.set(1);
    assert_eq!(runs.get(), 1, "only the initialisation");
    set.set(2);
    assert_eq!(runs.get(), 2);
}

#[test]
fn a_derived_signal_that_stays_equal_stops_the_update_below_it() {
    let (x, set) = s::create(1);
    let parity = x.map(|v| v % 2);
    let (runs, bump) = counter();
    let _below = parity.map(move |_| bump());
    set.set(3);
    set.set(5);
    assert_eq!(runs.get(), 1, "parity never changed");
    set.set(4);
    assert_eq!(runs.get(), 2);
}

#[test]
fn map_eq_uses_the_given_equality() {
    let (x, set) = s::create(10);
    // Equal when in the same tens.
    let tens = x.map_eq(|a: &i32, b: &i32| a / 10 == b / 10, |v| *v);
    let (_k, log) = record(&tens.changes());
    set.set(15);
    set.set(23);
    assert_eq!(*log.borrow(), vec![23]);
    assert_eq!(tens.value(), 23);
}

#[test]
fn create_eq_decides_what_a_change_is() {
    let (x, set) = s::create_eq(|a: &String, b: &String| a.eq_ignore_ascii_case(b), "Hello".to_string());
    let (_k, log) = record(&x.changes());
    set.set("HELLO".into());
    set.set("bye".into());
    assert_eq!(*log.borrow(), vec!["bye".to_string()]);
}

#[test]
fn constant_signals_stay_constant_through_combinators() {
    let c = s::const_(4);
    assert!(c.is_const());
    assert!(c.map(|x| x * 2).is_const());
    assert_eq!(s::l2(|a, b| a + b, &c, &s::const_(1)).value(), 5);
    assert!(c.changes().is_never());
    assert!(c.retain(()).is_err());
}

#[test]
fn hold_keeps_the_last_occurrence() {
    let (ev, send) = e::create::<i32>();
    let last = s::hold(0, &ev);
    assert_eq!(last.value(), 0);
    send.send(3);
    send.send(8);
    assert_eq!(last.value(), 8);
    assert_eq!(s::hold(7, &e::never()).value(), 7);
}

#[test]
fn signal_filter_holds_the_last_accepted_value() {
    let (x, set) = s::create(1);
    let even = x.filter(|v| v % 2 == 0, -1);
    assert_eq!(even.value(), -1);
    set.set(4);
    set.set(5);
    assert_eq!(even.value(), 4);
}

#[test]
fn signal_filter_map_maps_and_holds() {
    let (x, set) = s::create("1".to_string());
    let n = x.filter_map(|t| t.parse::<i32>().ok(), 0);
    assert_eq!(n.value(), 1);
    set.set("oops".into());
    assert_eq!(n.value(), 1);
    set.set("42".into());
    assert_eq!(n.value(), 42);
}

#[test]
fn signal_changes_and_diff_occur_only_on_changes() {
    let (x, set) = s::create(1);
    let (_k1, changes) = record(&x.changes());
    let (_k2, diffs) = record(&x.diff(|new, old| new - old));
    set.set(1);
    set.set(4);
    set.set(2);
    assert_eq!(*changes.borrow(), vec![4, 2]);
    assert_eq!(*diffs.borrow(), vec![3, -2]);
}

#[test]
fn sample_reads_the_signal_at_each_occurrence() {
    let (tick, send) = e::create::<&'static str>();
    let (x, set) = s::create(0);
    let (_k, log) = record(&s::sample(|t, v| format!("{t}{v}"), &tick, &x));
    set.set(1);
    send.send("a");
    set.set(2);
    set.set(3);
    send.send("b");
    assert_eq!(*log.borrow(), vec!["a1".to_string(), "b3".to_string()]);
}

#[test]
fn sample_sees_the_value_of_the_same_step() {
    let (ev, send) = e::create::<i32>();
    let held = s::hold(0, &ev);
    let (_k, log) = record(&s::sample(|x, h| (*x, *h), &ev, &held));
    send.send(5);
    assert_eq!(*log.borrow(), vec![(5, 5)]);
}

#[test]
fn signal_accum_and_fold() {
    let (ops, send_op) = e::create::<fn(&i32) -> i32>();
    let acc = s::accum(&ops, 1);
    send_op.send(|x| x * 5);
    send_op.send(|x| x + 1);
    assert_eq!(acc.value(), 6);
    let (words, send) = e::create::<&'static str>();
    let total = s::fold(|n: &usize, w: &&str| n + w.len(), 0, &words);
    send.send("ab");
    send.send("cde");
    assert_eq!(total.value(), 5);
}

#[test]
fn signal_switch_follows_the_current_inner_signal() {
    let (a, set_a) = s::create(1);
    let (b, set_b) = s::create(100);
    let (ss, set_ss) = s::create_eq(Signal::eq, a.clone());
    let cur = s::switch(&ss);
    let (_k, log) = record(&cur.changes());
    set_a.set(2);
    set_ss.set(b.clone());
    set_a.set(3); // no longer followed
    set_b.set(101);
    assert_eq!(*log.borrow(), vec![2, 100, 101]);
}

#[test]
fn signal_switch_to_a_deeper_signal_in_the_same_step_is_glitch_free() {
    // The outer signal and a deep inner signal change in the same step: the
    // switch must wait for the deep one.
    let (x, set_x) = s::create(1);
    let deep = x.map(|v| v * 10).map(|v| v + 1).map(|v| v * 2);
    let shallow = s::const_(0);
    let deep2 = deep.clone();
    let choose = x.map_eq(
        Signal::eq,
        move |v| if *v > 1 { deep2.clone() } else { shallow.clone() },
    );
    let cur = s::switch(&choose);
    let (_k, log) = record(&cur.changes());
    set_x.set(2);
    assert_eq!(*log.borrow(), vec![42]);
    assert_eq!(cur.value(), deep.value());
}

#[test]
fn signal_bind_switches_with_the_outer_value() {
    let (mode, set_mode) = s::create("celsius");
    let (c, set_c) = s::create(10.0_f64);
    let c2 = c.clone();
    let shown = mode.bind(move |m| {
        if *m == "celsius" {
            c2.clone()
        } else {
            c2.map(|v| v * 9.0 / 5.0 + 32.0)
        }
    });
    assert_eq!(shown.value(), 10.0);
    set_mode.set("fahrenheit");
    assert_eq!(shown.value(), 50.0);
    set_c.set(100.0);
    assert_eq!(shown.value(), 212.0);
}

#[test]
fn signal_fix_refers_to_the_previous_value() {
    let (ev, send) = e::create::<i32>();
    let x = s::hold(0, &ev);
    // Running maximum, defined through its own previous value.
    let max = s::fix(i32::MIN, |prev: &Signal<i32>| {
        let m = s::l2(|x, p| *x.max(p), &x, prev);
        (m.clone(), m)
    });
    for v in [3, 1, 7, 2] {
        send.send(v);
    }
    assert_eq!(max.value(), 7);
}

#[test]
fn signal_fix_returning_the_delayed_signal_is_refused() {
    let r = std::panic::catch_unwind(|| s::fix(0, |d: &Signal<i32>| (d.clone(), ())));
    let msg = r.unwrap_err();
    let msg = msg
        .downcast_ref::<&str>()
        .map(|m| m.to_string())
        .or_else(|| msg.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(msg.contains("delayed signal"), "{msg}");
}

#[test]
fn signal_lifting_l3_to_l6() {
    let (a, set_a) = s::create(1);
    let l3 = s::l3(|a, b, c| a + b + c, &a, &s::const_(10), &s::const_(100));
    let l4 = s::l4(|a, b, c, d| a * b * c * d, &a, &a, &a, &a);
    let l5 = s::l5(
        |a, b, c, d, e| [a, b, c, d, e].iter().copied().sum::<i32>(),
        &a,
        &a,
        &a,
        &a,
        &a,
    );
    let l6 = s::l6(
        |a, b, c, d, e, f| a + b + c + d + e + f,
        &a,
        &a,
        &a,
        &a,
        &a,
        &s::const_(0),
    );
    set_a.set(2);
    assert_eq!((l3.value(), l4.value(), l5.value(), l6.value()), (112, 16, 10, 10));
    assert_eq!(s::l1(|x| x + 1, &a).value(), 3);
}

#[test]
fn signal_merge_folds_left_to_right_over_nodes_and_constants() {
    // Only nodes (the merge reads the nodes directly) and a constant in the
    // middle (it tells constants from nodes): the same fold, in order.
    let (a, set_a) = s::create(1);
    let (b, set_b) = s::create(2);
    let c = s::const_(3);
    let cat = |acc: Vec<i32>, x: &i32| [acc, vec![*x]].concat();
    let nodes = s::merge(cat, vec![0], [&a, &b, &a]);
    let mixed = s::merge(cat, vec![0], [&a, &c, &b]);
    assert_eq!((nodes.value(), mixed.value()), (vec![0, 1, 2, 1], vec![0, 1, 3, 2]));
    set_a.set(4);
    set_b.set(5);
    assert_eq!((nodes.value(), mixed.value()), (vec![0, 4, 5, 4], vec![0, 4, 3, 5]));
}

#[test]
fn signal_merge_and_app() {
    let (a, set_a) = s::create(1);
    let b = s::const_(2);
    let all = s::merge(|acc: Vec<i32>, x: &i32| [acc, vec![*x]].concat(), Vec::new(), [&a, &b]);
    let (f, set_f) = s::create_eq(
        |_: &fn(&i32) -> i32, _: &fn(&i32) -> i32| false,
        (|x: &i32| x + 1) as fn(&i32) -> i32,
    );
    let applied = s::app(&f, &a);
    set_a.set(5);
    assert_eq!(all.value(), vec![5, 2]);
    assert_eq!(applied.value(), 6);
    set_f.set(|x| x * 100);
    assert_eq!(applied.value(), 500);
}

#[test]
fn signal_on_and_dismiss() {
    let (x, set_x) = s::create(1);
    let (enabled, set_enabled) = s::create(true);
    let gated = x.on(&enabled, 0);
    set_x.set(2);
    set_enabled.set(false);
    set_x.set(3);
    assert_eq!(gated.value(), 2);
    set_enabled.set(true);
    assert_eq!(gated.value(), 3);

    let (mute, send_mute) = e::create::<()>();
    let (y, set_y) = s::create(1);
    let heard = y.dismiss(&mute, 0);
    let step = Step::new();
    set_y.set_on(&step, 9);
    send_mute.send_on(&step, ());
    step.execute();
    assert_eq!(heard.value(), 1, "the change simultaneous with `mute` is ignored");
    set_y.set(10);
    assert_eq!(heard.value(), 10);
}

#[test]
fn stopped_signal_keeps_its_last_value() {
    let (x, set) = s::create(1);
    let d = x.map(|v| v * 2);
    set.set(2);
    d.stop();
    set.set(3);
    assert_eq!(d.value(), 4);
}

#[test]
fn bool_helpers() {
    let (b, set) = s::create(false);
    let nb = s::bool::not(&b);
    let both = s::bool::and(&b, &nb);
    let either = s::bool::or(&b, &nb);
    let (_k1, rises) = record(&s::bool::rise(&b));
    let (_k2, falls) = record(&s::bool::fall(&b));
    set.set(true);
    set.set(false);
    assert!(!both.value() && either.value());
    assert_eq!((rises.borrow().len(), falls.borrow().len()), (1, 1));
    assert!(!s::bool::zero().value() && s::bool::one().value());
    let (ev, send) = e::create::<()>();
    let flip = s::bool::flip(true, &ev);
    send.send(());
    assert!(!flip.value());
    assert!(!s::bool::edge(&b).is_never());
}

#[test]
fn int_helpers_are_generic_over_numbers() {
    let (a, set_a) = s::create(7i64);
    let b = s::const_(2i64);
    let sum = s::int::add(&a, &b);
    let diff = s::int::sub(&a, &b);
    let prod = s::int::mul(&a, &b);
    let quot = s::int::div(&a, &b);
    let rem = s::int::rem(&a, &b);
    let neg = s::int::neg(&a);
    let abs = s::int::abs(&neg);
    let next = s::int::succ(&a);
    let prev = s::int::pred(&a);
    let bits = s::int::bitand(&a, &s::const_(3));
    let shifted = s::int::shl(&a, &s::const_(1));
    set_a.set(9);
    assert_eq!(
        [sum.value(), diff.value(), prod.value(), quot.value(), rem.value()],
        [11, 7, 18, 4, 1]
    );
    assert_eq!([neg.value(), abs.value(), next.value(), prev.value()], [-9, 9, 10, 8]);
    assert_eq!([bits.value(), shifted.value()], [1, 18]);
    let (f, set_f) = s::create(1.5_f64);
    let half = s::int::div(&f, &s::const_(2.0));
    set_f.set(5.0);
    assert_eq!(half.value(), 2.5);
    assert_eq!(s::int::zero::<i32>().value() + s::int::one::<i32>().value(), 1);
    assert_eq!(s::int::minus_one::<i32>().value(), -1);
}

#[test]
fn int_division_by_zero_in_a_step_is_contained() {
    let hook = hook_log();
    let (a, set_a) = s::create(10);
    let (b, set_b) = s::create(2);
    let q = s::int::div(&a, &b);
    set_b.set(0);
    assert_eq!(q.value(), 5, "kept its value");
    assert_eq!(hook.borrow().len(), 1);
    set_a.set(20);
    set_b.set(4);
    assert_eq!(q.value(), 5);
}

#[test]
fn option_and_pair_helpers() {
    use lwt::react::s::option::Fallback;
    let (o, set_o) = s::create(None::<i32>);
    let always = s::option::value(&o, Fallback::Always(s::const_(-1)));
    let init = s::option::value(&o, Fallback::Init(s::const_(-1)));
    set_o.set(Some(3));
    set_o.set(None);
    assert_eq!((always.value(), init.value()), (-1, 3));
    let (x, set_x) = s::create(1);
    let some = s::option::some(&x);
    set_x.set(2);
    assert_eq!(some.value(), Some(2));
    assert_eq!(s::option::none::<i32>().value(), None);

    let p = s::pair::pair(&x, &s::const_('z'));
    set_x.set(4);
    assert_eq!(p.value(), (4, 'z'));
    assert_eq!(s::pair::fst(&p).value(), 4);
    assert_eq!(s::pair::snd(&p).value(), 'z');
}

#[test]
fn with_value_reads_without_cloning() {
    struct NoClone(Vec<u8>);
    impl PartialEq for NoClone {
        fn eq(&self, o: &Self) -> bool {
            self.0 == o.0
        }
    }
    let (x, set) = s::create(NoClone(vec![1, 2]));
    set.set(NoClone(vec![1, 2, 3]));
    assert_eq!(x.with_value(|v| v.0.len()), 3);
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

#[test]
fn never_never_occurs_and_stays_never() {
    let n = e::never::<i32>();
    assert!(n.is_never());
    assert!(n.map(|x| x + 1).is_never());
    assert!(n.filter(|_| true).once().is_never());
    assert_eq!(n, e::never());
    assert!(n.retain(()).is_err());
    let p = n.next();
    assert!(p.is_pending());
}

#[test]
fn map_filter_filter_map_and_stamp() {
    let (ev, send) = e::create::<i32>();
    let (_k1, mapped) = record(&ev.map(|x| x * 2));
    let (_k2, filtered) = record(&ev.filter(|x| *x > 1));
    let (_k3, fmapped) = record(&ev.filter_map(|x| if x % 2 == 1 { Some(x * 100) } else { None }));
    let (_k4, stamped) = record(&ev.stamp("tick"));
    for x in 1..=3 {
        send.send(x);
    }
    assert_eq!(*mapped.borrow(), vec![2, 4, 6]);
    assert_eq!(*filtered.borrow(), vec![2, 3]);
    assert_eq!(*fmapped.borrow(), vec![100, 300]);
    assert_eq!(*stamped.borrow(), vec!["tick"; 3]);
}

#[test]
fn once_and_drop_once() {
    let (ev, send) = e::create::<i32>();
    let (_k1, first) = record(&ev.once());
    let (_k2, rest) = record(&ev.drop_once());
    for x in 1..=3 {
        send.send(x);
    }
    assert_eq!(*first.borrow(), vec![1]);
    assert_eq!(*rest.borrow(), vec![2, 3]);
}

#[test]
fn event_diff_and_changes() {
    let (ev, send) = e::create::<i32>();
    let (_k1, diffs) = record(&ev.diff(|a, b| a - b));
    let (_k2, changes) = record(&ev.changes());
    let (_k3, parity) = record(&ev.changes_eq(|a, b| a % 2 == b % 2));
    for x in [1, 1, 4, 6, 7] {
        send.send(x);
    }
    assert_eq!(*diffs.borrow(), vec![0, 3, 2, 1]);
    assert_eq!(*changes.borrow(), vec![1, 4, 6, 7]);
    assert_eq!(*parity.borrow(), vec![1, 4, 7]);
}

#[test]
fn select_takes_the_leftmost_simultaneous_occurrence() {
    let (a, send_a) = e::create::<&'static str>();
    let (b, send_b) = e::create::<&'static str>();
    let (_k, log) = record(&e::select([&a, &b]));
    send_b.send("b");
    let step = Step::new();
    send_a.send_on(&step, "a");
    send_b.send_on(&step, "b2");
    step.execute();
    assert_eq!(*log.borrow(), vec!["b", "a"]);
    assert!(e::select(Vec::<Event<i32>>::new()).is_never());
}

#[test]
fn merge_folds_the_simultaneous_occurrences() {
    let (a, send_a) = e::create::<i32>();
    let (b, send_b) = e::create::<i32>();
    let merged = e::merge(
        |mut acc: Vec<i32>, x: &i32| {
            acc.push(*x);
            acc
        },
        Vec::new(),
        [a.clone(), b.clone()],
    );
    let (_k, log) = record(&merged);
    send_b.send(2);
    let step = Step::new();
    send_a.send_on(&step, 1);
    send_b.send_on(&step, 3);
    step.execute();
    assert_eq!(*log.borrow(), vec![vec![2], vec![1, 3]]);
}

#[test]
fn event_accum_and_fold() {
    let (ops, send_op) = e::create::<fn(&i32) -> i32>();
    let (_k1, values) = record(&e::accum(&ops, 2));
    send_op.send(|x| x * x);
    send_op.send(|x| x - 1);
    assert_eq!(*values.borrow(), vec![4, 3]);
    let (ev, send) = e::create::<i32>();
    let (_k2, sums) = record(&ev.fold(100, |acc, x| acc + x));
    send.send(1);
    send.send(2);
    assert_eq!(*sums.borrow(), vec![101, 103]);
}

#[test]
fn until_stops_at_the_first_occurrence_of_the_condition() {
    let (ev, send) = e::create::<i32>();
    let (stop, send_stop) = e::create::<()>();
    let until = ev.until(&stop);
    let (_k, log) = record(&until);
    send.send(1);
    let step = Step::new();
    send.send_on(&step, 2);
    send_stop.send_on(&step, ());
    step.execute();
    send.send(3);
    assert_eq!(*log.borrow(), vec![1]);
}

#[test]
fn on_passes_occurrences_while_the_signal_is_true() {
    let (ev, send) = e::create::<i32>();
    let (open, set_open) = s::create(false);
    let (_k, log) = record(&ev.on(&open));
    send.send(1);
    set_open.set(true);
    send.send(2);
    set_open.set(false);
    send.send(3);
    assert_eq!(*log.borrow(), vec![2]);
    assert_eq!(ev.on(&s::const_(true)), ev);
    assert!(ev.on(&s::const_(false)).is_never());
}

#[test]
fn dismiss_drops_occurrences_simultaneous_with_the_condition() {
    let (ev, send) = e::create::<i32>();
    let (c, send_c) = e::create::<()>();
    let (_k, log) = record(&ev.dismiss(&c));
    send.send(1);
    let step = Step::new();
    send.send_on(&step, 2);
    send_c.send_on(&step, ());
    step.execute();
    send.send(3);
    assert_eq!(*log.borrow(), vec![1, 3]);
}

#[test]
fn event_switch_follows_the_latest_event() {
    let (a, send_a) = e::create::<&'static str>();
    let (b, send_b) = e::create::<&'static str>();
    let (ee, send_ee) = e::create::<Event<&'static str>>();
    let (_k, log) = record(&a.switch(&ee));
    send_a.send("a1");
    send_ee.send(b.clone());
    send_a.send("a2");
    send_b.send("b1");
    send_ee.send(e::never());
    send_b.send("b2");
    assert_eq!(*log.borrow(), vec!["a1", "b1"]);
}

#[test]
fn event_switch_to_a_deeper_event_sees_its_simultaneous_occurrence() {
    let (x, send) = e::create::<i32>();
    let deep = x.map(|v| v + 1).map(|v| v * 10).map(|v| v + 5);
    let deep2 = deep.clone();
    let ee = x.map(move |_| deep2.clone());
    let (_k, log) = record(&e::never().switch(&ee));
    send.send(1);
    send.send(2);
    assert_eq!(*log.borrow(), vec![25, 35]);
}

#[test]
fn event_fix_feeds_an_event_back_one_step_later() {
    let (start, send) = e::create::<u32>();
    let steps = e::fix(|prev: &Event<u32>| {
        let next = e::select([start.clone(), prev.filter_map(|n| n.checked_sub(1))]);
        (next.clone(), next)
    });
    let (_k, log) = record(&steps);
    send.send(3);
    assert_eq!(*log.borrow(), vec![3, 2, 1, 0]);
}

#[test]
fn event_fix_returning_the_delayed_event_is_refused() {
    let r = std::panic::catch_unwind(|| e::fix(|d: &Event<i32>| (d.clone(), ())));
    assert!(r.is_err());
}

#[test]
fn a_fixed_point_that_never_settles_is_cut_and_reported() {
    let hook = hook_log();
    let (start, send) = e::create::<()>();
    let forever = e::fix(|prev: &Event<()>| {
        let e2 = e::select([prev.clone(), start.clone()]);
        (e2.clone(), e2)
    });
    let (n, bump) = counter();
    let _count = forever.map(move |_| bump());
    send.send(());
    assert_eq!(n.get(), 1_000_001, "the first step and a million chained ones");
    assert_eq!(hook.borrow().len(), 1);
    assert!(hook.borrow()[0].contains("did not settle"));
}

#[test]
fn event_lifting_needs_all_occurrences() {
    let (a, send_a) = e::create::<i32>();
    let b = a.map(|x| x + 1);
    let (_k3, l3) = record(&e::l3(|x, y, z| x + y + z, &a, &b, &a));
    let (_k4, l4) = record(&e::l4(|x, y, z, w| x * y * z * w, &a, &a, &a, &b));
    let (_k5, l5) = record(&e::l5(|x, _, _, _, w| x + w, &a, &a, &a, &a, &b));
    let (_k6, l6) = record(&e::l6(|x, _, _, _, _, w| x - w, &a, &a, &a, &a, &a, &b));
    let (_k1, l1) = record(&e::l1(|x| x * 3, &a));
    send_a.send(2);
    assert_eq!(
        (
            l3.borrow()[0],
            l4.borrow()[0],
            l5.borrow()[0],
            l6.borrow()[0],
            l1.borrow()[0]
        ),
        (7, 24, 5, -1, 6)
    );
    let (c, _send_c) = e::create::<i32>();
    let (_k, none) = record(&e::l2(|x, y| x + y, &a, &c));
    send_a.send(1);
    assert!(none.borrow().is_empty());
}

#[test]
fn event_app_applies_simultaneous_functions() {
    let (x, send) = e::create::<i32>();
    let fs = x.map(|n| {
        let k = *n;
        move |v: &i32| v + k
    });
    let (_k, log) = record(&e::app(&fs, &x));
    send.send(4);
    assert_eq!(*log.borrow(), vec![8]);
}

#[test]
fn option_event_helpers() {
    let (ev, send) = e::create::<Option<i32>>();
    let (d, set_d) = s::create(0);
    let (_k1, somes) = record(&e::option::value(&ev, None));
    let (_k2, with_default) = record(&e::option::value(&ev, Some(&d)));
    let (_k3, wrapped) = record(&e::option::some(&ev));
    send.send(Some(1));
    set_d.set(9);
    send.send(None);
    assert_eq!(*somes.borrow(), vec![1]);
    assert_eq!(*with_default.borrow(), vec![1, 9]);
    assert_eq!(*wrapped.borrow(), vec![Some(Some(1)), Some(None)]);
}

#[test]
fn stopped_event_never_occurs_again() {
    let (ev, send) = e::create::<i32>();
    let d = ev.map(|x| x + 1);
    let (_k, log) = record(&d);
    send.send(1);
    d.stop();
    send.send(2);
    assert_eq!(*log.borrow(), vec![2]);
    // A stopped primitive ignores sends.
    ev.stop();
    send.send(3);
    assert!(send.try_send(4).is_ok());
}

#[test]
fn trace_calls_its_function_and_passes_occurrences_on() {
    let (ev, send) = e::create::<i32>();
    let traced: Log<i32> = Rc::new(RefCell::new(Vec::new()));
    let t = traced.clone();
    let (_k, log) = record(&ev.trace(move |x| t.borrow_mut().push(*x)));
    send.send(1);
    assert_eq!((traced.borrow().clone(), log.borrow().clone()), (vec![1], vec![1]));
    let (x, set) = s::create(1);
    let seen: Log<i32> = Rc::new(RefCell::new(Vec::new()));
    let s2 = seen.clone();
    let _t = x.trace(move |v| s2.borrow_mut().push(*v));
    set.set(2);
    assert_eq!(*seen.borrow(), vec![1, 2]);
}

#[test]
fn creating_a_dependent_during_a_step_sees_the_simultaneous_occurrence() {
    let (ev, send) = e::create::<i32>();
    let created: Rc<RefCell<Vec<Signal<i32>>>> = Rc::new(RefCell::new(Vec::new()));
    let c = created.clone();
    let ev2 = ev.clone();
    let _maker = ev.map(move |_| c.borrow_mut().push(s::hold(0, &ev2)));
    send.send(7);
    assert_eq!(created.borrow()[0].value(), 7);
}

#[test]
fn a_signal_created_during_a_step_does_not_report_a_change_in_that_step() {
    let (x, set) = s::create(1);
    let made: Log<(Event<()>, Log<i32>)> = Rc::new(RefCell::new(Vec::new()));
    let m = made.clone();
    let x2 = x.clone();
    let _maker = x.map(move |_| m.borrow_mut().push(record(&x2.changes())));
    set.set(2);
    set.set(3);
    let logs: Vec<Vec<i32>> = made.borrow().iter().map(|(_, l)| l.borrow().clone()).collect();
    // Made at creation (1), in step 2, in step 3: none reports its own step.
    assert_eq!(logs, vec![vec![2, 3], vec![3], vec![]]);
}

// ---------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------

#[test]
fn a_dropped_derived_event_is_freed_and_no_longer_updated() {
    let (ev, send) = e::create::<i32>();
    let base = live_nodes();
    let (runs, bump) = counter();
    let d = ev.map(move |_| bump());
    assert_eq!(live_nodes(), base + 1);
    send.send(1);
    drop(d);
    assert_eq!(live_nodes(), base);
    send.send(2);
    assert_eq!(runs.get(), 1);
}

#[test]
fn a_million_derived_events_created_and_dropped_leave_memory_flat() {
    let (ev, send) = e::create::<u64>();
    let (_k, log) = record(&ev);
    let base = live_nodes();
    for i in 0..1_000_000u64 {
        let d = ev.map(move |x| x + i);
        drop(d);
    }
    assert_eq!(live_nodes(), base);
    assert!(ev.tracked_dependents() <= 8, "{}", ev.tracked_dependents());
    send.send(1);
    assert_eq!(*log.borrow(), vec![1]);
    assert!(ev.tracked_dependents() <= 2);
}

#[test]
fn a_million_live_then_dropped_dependents_are_swept() {
    let (ev, send) = e::create::<u32>();
    let base = live_nodes();
    let held: Vec<Event<u32>> = (0..1_000_000).map(|_| ev.map(|x| *x)).collect();
    assert_eq!(live_nodes(), base + 1_000_000);
    drop(held);
    assert_eq!(live_nodes(), base);
    send.send(1);
    assert_eq!(ev.tracked_dependents(), 0);
}

#[test]
fn dropping_a_long_chain_does_not_overflow_the_stack() {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let (ev, send) = e::create::<u32>();
            let mut cur = ev.clone();
            for _ in 0..100_000 {
                cur = cur.map(|x| x + 1);
            }
            let next = cur.next();
            drop(cur);
            send.send(0);
            assert_eq!(next.state(), State::Fulfilled(100_000));
            assert_eq!(live_nodes(), 1);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn derived_nodes_keep_their_sources_alive() {
    let (ev, send) = e::create::<i32>();
    let doubled = ev.map(|x| x * 2);
    drop(ev);
    let (_k, log) = record(&doubled);
    send.send(2);
    assert_eq!(*log.borrow(), vec![4]);
}

#[test]
fn retain_ties_an_effect_to_an_event_and_keep_keeps_it_forever() {
    let (ev, send) = e::create::<i32>();
    let (runs, bump) = counter();
    let b2 = bump.clone();
    let old = ev.retain(ev.map(move |_| bump())).unwrap();
    assert!(old.is_none());
    ev.map(move |_| b2()).keep();
    send.send(1);
    assert_eq!(runs.get(), 2);
    let (x, set) = s::create(0);
    let (sruns, sbump) = counter();
    x.map(move |_| sbump()).keep();
    set.set(1);
    assert_eq!(sruns.get(), 2);
}

#[test]
fn with_finaliser_runs_when_the_event_or_signal_is_freed() {
    let (ev, send) = e::create::<i32>();
    let (done, fin) = counter();
    let watched = ev.with_finaliser(fin.clone());
    let p = watched.next();
    send.send(1);
    assert_eq!(fulfilled(&p), 1);
    assert_eq!(done.get(), 0);
    drop(watched);
    assert_eq!(done.get(), 1);
    let (x, _set) = s::create(0);
    let ws = x.with_finaliser(fin);
    drop(ws);
    assert_eq!(done.get(), 2);
}

// ---------------------------------------------------------------------------
// Panics in user functions
// ---------------------------------------------------------------------------

#[test]
fn a_panic_in_a_user_function_is_contained_and_reported() {
    let hook = hook_log();
    let (ev, send) = e::create::<i32>();
    let bad = ev.map(|x| if *x == 2 { panic!("boom on {x}") } else { *x });
    let (_k1, good) = record(&ev.map(|x| x * 10));
    let (_k2, after_bad) = record(&bad);
    for x in 1..=3 {
        send.send(x);
    }
    assert_eq!(*good.borrow(), vec![10, 20, 30]);
    assert_eq!(*after_bad.borrow(), vec![1, 3]);
    assert_eq!(hook.borrow().len(), 1);
    assert!(hook.borrow()[0].contains("boom on 2"), "{:?}", hook.borrow());
}

#[test]
fn a_panicking_signal_keeps_its_value_and_recovers() {
    let hook = hook_log();
    let (x, set) = s::create(1);
    let inv = x.map(|v| {
        assert!(*v != 0, "zero");
        100 / v
    });
    let sum = s::l2(|a, b| a + b, &x, &inv);
    set.set(0);
    assert_eq!(inv.value(), 100);
    assert_eq!(sum.value(), 100, "the join saw the new x and the kept inverse");
    set.set(4);
    assert_eq!(inv.value(), 25);
    assert_eq!(sum.value(), 29);
    assert_eq!(hook.borrow().len(), 1);
}

#[test]
fn a_panic_while_an_occurrence_is_dropped_is_contained() {
    #[derive(Clone)]
    struct Fragile(i32);
    impl Drop for Fragile {
        fn drop(&mut self) {
            if self.0 == 13 && !std::thread::panicking() {
                panic!("unlucky drop");
            }
        }
    }
    let hook = hook_log();
    let (ev, send) = e::create::<Fragile>();
    let (_k, log) = record(&ev.map(|f| f.0));
    send.send(Fragile(13));
    assert_eq!(hook.borrow().len(), 1);
    assert!(hook.borrow()[0].contains("unlucky drop"));
    send.send(Fragile(1));
    assert_eq!(*log.borrow(), vec![13, 1]);
}

#[test]
fn a_panic_at_creation_reaches_the_caller() {
    let (x, _set) = s::create(0);
    let before = live_nodes();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        x.map(|_| -> i32 { panic!("at creation") })
    }));
    assert!(r.is_err());
    assert_eq!(live_nodes(), before);
}

// ---------------------------------------------------------------------------
// Lwt bridges: next, limit, from, delay
// ---------------------------------------------------------------------------

#[test]
fn next_resolves_after_the_step_with_the_next_occurrence() {
    let (ev, send) = e::create::<i32>();
    let p = ev.next();
    let during: Rc<Cell<bool>> = Rc::new(Cell::new(true));
    let d = during.clone();
    let p2 = p.clone();
    let _probe = ev.map(move |_| d.set(p2.is_pending()));
    send.send(5);
    assert!(during.get(), "still pending inside the step");
    assert_eq!(fulfilled(&p), 5);
    send.send(6);
    assert_eq!(fulfilled(&p), 5);
}

#[test]
fn calling_next_again_from_its_callback_waits_for_the_following_occurrence() {
    let (ev, send) = e::create::<i32>();
    let seen: Log<i32> = Rc::new(RefCell::new(Vec::new()));
    fn again(ev: Event<i32>, seen: Log<i32>, n: usize) {
        if n == 0 {
            return;
        }
        let ev2 = ev.clone();
        ev.next().on_success(move |v| {
            seen.borrow_mut().push(*v);
            again(ev2, seen, n - 1);
        });
    }
    again(ev, seen.clone(), 3);
    for x in 1..=4 {
        send.send(x);
    }
    assert_eq!(*seen.borrow(), vec![1, 2, 3]);
}

#[test]
fn canceling_next_stops_listening_and_frees_the_listener() {
    let (ev, send) = e::create::<i32>();
    let base = live_nodes();
    let p = ev.next();
    assert!(live_nodes() > base);
    p.cancel();
    assert!(p.is_canceled());
    assert_eq!(live_nodes(), base);
    send.send(1);
    assert!(p.is_canceled());
}

#[test]
fn next_callbacks_may_send_to_primitives() {
    let (a, send_a) = e::create::<i32>();
    let (b, send_b) = e::create::<i32>();
    let (_k, log) = record(&b);
    a.next().on_success(move |v| send_b.send(v + 1));
    send_a.send(1);
    assert_eq!(*log.borrow(), vec![2]);
}

fn gate_factory() -> (Resolvers<()>, impl Fn() -> lwt::Promise<()>) {
    let gates: Resolvers<()> = Rc::new(RefCell::new(Vec::new()));
    let g = gates.clone();
    (gates, move || {
        let (p, r) = wait();
        g.borrow_mut().push(r);
        p
    })
}

/// The `i`-th resolver (cloned: resolving may push a new one).
fn gate<T: 'static>(gates: &Resolvers<T>, i: usize) -> lwt::Resolver<T> {
    gates.borrow()[i].clone()
}

#[test]
fn limit_passes_one_occurrence_per_limiter_and_keeps_the_latest() {
    // Lwt_react's "limit" test: 1 passes, 0 is replaced by 2, then 3, 4.
    let (ev, send) = e::create::<i32>();
    let (gates, f) = gate_factory();
    let limited = ev.limit(f);
    let (_k, log) = record(&limited);
    send.send(1);
    send.send(0);
    send.send(2);
    gate(&gates, 0).wakeup(());
    send.send(3);
    gate(&gates, 1).wakeup(());
    send.send(4);
    gate(&gates, 2).wakeup(());
    assert_eq!(*log.borrow(), vec![1, 2, 3, 4]);
    assert_eq!(gates.borrow().len(), 4, "each release starts a new limiter");
}

#[test]
fn limit_drops_a_held_occurrence_overtaken_by_a_newer_one() {
    let (ev, send) = e::create::<i32>();
    let (gates, f) = gate_factory();
    let limited = ev.limit(f);
    let (_k, log) = record(&limited);
    send.send(0); // passes, gate 0
    send.send(1); // held
                  // Someone registered on gate 0 before our release: it sends 2 first.
    let first_gate_user = send.clone();
    let (g0p, g0r) = wait::<()>();
    g0p.on_success(move |()| first_gate_user.send(2));
    let r0 = gates.borrow_mut().remove(0);
    // Resolve gate 0 through g0r first, so that 2 arrives while gate 0 is
    // already open: 2 passes and closes gate 1; then our release sees gate 1
    // pending and drops the older 1.
    g0r.wakeup(());
    r0.wakeup(());
    assert_eq!(*log.borrow(), vec![0, 2]);
}

#[test]
fn signal_limit_delays_changes_until_the_limiter_resolves() {
    // Lwt_react's signal "limit" test.
    let (x, set) = s::create(0);
    let (gates, f) = gate_factory();
    let limited = x.limit(f);
    let (_k, log) = record(&limited.changes());
    gate(&gates, 0).wakeup(());
    set.set(1);
    set.set(0);
    set.set(2);
    gate(&gates, 1).wakeup(());
    set.set(3);
    gate(&gates, 2).wakeup(());
    set.set(4);
    gate(&gates, 3).wakeup(());
    assert_eq!(*log.borrow(), vec![1, 2, 3, 4]);
}

#[test]
fn from_makes_an_event_of_repeated_promises_and_stops_on_error() {
    let resolvers: Resolvers<i32> = Rc::new(RefCell::new(Vec::new()));
    let r2 = resolvers.clone();
    let ev = e::from(move || {
        let (p, r) = wait();
        r2.borrow_mut().push(r);
        p
    });
    let (_k, log) = record(&ev);
    assert!(resolvers.borrow().is_empty(), "the first call waits for a pause");
    lwt::wakeup_paused();
    assert_eq!(resolvers.borrow().len(), 1);
    gate(&resolvers, 0).wakeup(1);
    gate(&resolvers, 1).wakeup(2);
    gate(&resolvers, 2).wakeup_exn(lwt::Error::failure("end"));
    assert_eq!(*log.borrow(), vec![1, 2]);
    assert_eq!(resolvers.borrow().len(), 3, "no call after the error");
    let p = ev.next();
    lwt::wakeup_paused();
    assert!(p.is_pending());
}

#[test]
fn from_with_always_ready_promises_pauses_between_calls() {
    let n = Rc::new(Cell::new(0));
    let n2 = n.clone();
    let ev = e::from(move || {
        n2.set(n2.get() + 1);
        lwt::resolved(n2.get())
    });
    let (_k, log) = record(&ev);
    for _ in 0..3 {
        lwt::wakeup_paused();
    }
    assert_eq!(*log.borrow(), vec![1, 2, 3]);
}

#[test]
fn dropping_a_from_event_cancels_its_pending_promise() {
    let pending: Rc<RefCell<Option<lwt::Promise<i32>>>> = Rc::new(RefCell::new(None));
    let p2 = pending.clone();
    let ev = e::from(move || {
        let (p, _r) = lwt::task::<i32>();
        *p2.borrow_mut() = Some(p.clone());
        p
    });
    lwt::wakeup_paused();
    let p = pending.borrow_mut().take().unwrap();
    assert!(p.is_pending());
    drop(ev);
    assert!(p.is_canceled());
}

#[test]
fn delay_behaves_as_the_promised_event_once_resolved() {
    let (src, send) = e::create::<i32>();
    let (p, r) = wait();
    let delayed = e::delay(p);
    let (_k, log) = record(&delayed);
    send.send(1);
    r.wakeup(src.clone());
    send.send(2);
    assert_eq!(*log.borrow(), vec![2]);
    // An already resolved promise gives the event itself.
    assert_eq!(e::delay(lwt::resolved(src.clone())), src);
}

// ---------------------------------------------------------------------------
// Lwt bridges: promise-taking event combinators
// ---------------------------------------------------------------------------

/// A function returning promises that the test resolves by hand.
type Pending<A, B> = Rc<RefCell<Vec<(A, lwt::Resolver<B>)>>>;

fn manual<A: Clone + 'static, B: 'static>() -> (Pending<A, B>, impl Fn(&A) -> lwt::Promise<B> + Clone) {
    let calls: Pending<A, B> = Rc::new(RefCell::new(Vec::new()));
    let c = calls.clone();
    (calls, move |a: &A| {
        let (p, r) = wait();
        c.borrow_mut().push((a.clone(), r));
        p
    })
}

/// The resolver of the `i`-th call (cloned, so that resolving it may call
/// the function again).
fn nth<A, B>(calls: &Pending<A, B>, i: usize) -> lwt::Resolver<B> {
    calls.borrow()[i].1.clone()
}

#[test]
fn map_s_calls_one_at_a_time_and_keeps_order() {
    let (ev, send) = e::create::<i32>();
    let (calls, f) = manual::<i32, i32>();
    let (_k, log) = record(&ev.map_s(f));
    send.send(1);
    send.send(2);
    assert_eq!(calls.borrow().len(), 1, "the second call waits for the first");
    nth(&calls, 0).wakeup(10);
    assert_eq!(calls.borrow().len(), 2);
    nth(&calls, 1).wakeup(20);
    assert_eq!(*log.borrow(), vec![10, 20]);
}

#[test]
fn map_s_with_resolved_promises_is_synchronous_per_send() {
    // Lwt_react's "map_s" test.
    let (ev, send) = e::create::<i32>();
    let seen: Log<i32> = Rc::new(RefCell::new(Vec::new()));
    let s2 = seen.clone();
    let (_k, out) = record(&ev.map_s(move |x| {
        s2.borrow_mut().push(*x);
        lwt::resolved(*x)
    }));
    send.send(1);
    assert_eq!(*seen.borrow(), vec![1]);
    assert_eq!(*out.borrow(), vec![1]);
}

#[test]
fn map_p_starts_every_call_and_may_reorder() {
    let (ev, send) = e::create::<i32>();
    let (calls, f) = manual::<i32, i32>();
    let (_k, log) = record(&ev.map_p(f));
    send.send(1);
    send.send(2);
    assert_eq!(calls.borrow().len(), 2);
    nth(&calls, 1).wakeup(20);
    nth(&calls, 0).wakeup(10);
    assert_eq!(*log.borrow(), vec![20, 10]);
}

#[test]
fn filter_s_and_filter_p() {
    let (ev, send) = e::create::<i32>();
    let (_k1, s_log) = record(&ev.filter_s(|x| lwt::resolved(x % 2 == 0)));
    let (calls, f) = manual::<i32, bool>();
    let (_k2, p_log) = record(&ev.filter_p(f));
    for x in 1..=4 {
        send.send(x);
    }
    assert_eq!(*s_log.borrow(), vec![2, 4]);
    nth(&calls, 3).wakeup(true);
    nth(&calls, 0).wakeup(true);
    nth(&calls, 1).wakeup(false);
    assert_eq!(*p_log.borrow(), vec![4, 1]);
}

#[test]
fn filter_map_s_and_filter_map_p() {
    let (ev, send) = e::create::<&'static str>();
    let (_k1, s_log) = record(&ev.filter_map_s(|t| lwt::resolved(t.parse::<i32>().ok())));
    let (_k2, p_log) = record(&ev.filter_map_p(|t| lwt::resolved(t.len().checked_sub(2))));
    for t in ["1", "x", "22"] {
        send.send(t);
    }
    assert_eq!(*s_log.borrow(), vec![1, 22]);
    assert_eq!(*p_log.borrow(), vec![0]);
}

#[test]
fn a_rejected_promise_gives_no_occurrence() {
    let (ev, send) = e::create::<i32>();
    let (_k, log) = record(&ev.map_s(|x| {
        if *x == 2 {
            lwt::fail_with("no")
        } else {
            lwt::resolved(*x)
        }
    }));
    for x in 1..=3 {
        send.send(x);
    }
    assert_eq!(*log.borrow(), vec![1, 3]);
}

#[test]
fn a_panic_in_a_bridge_function_goes_to_the_hook() {
    let hook = hook_log();
    let (ev, send) = e::create::<i32>();
    let (_k, log) = record(&ev.map_p(|x| {
        if *x == 2 {
            panic!("bridge boom")
        } else {
            lwt::resolved(*x)
        }
    }));
    for x in 1..=3 {
        send.send(x);
    }
    assert_eq!(*log.borrow(), vec![1, 3]);
    assert_eq!(hook.borrow().len(), 1);
    assert!(hook.borrow()[0].contains("bridge boom"));
}

#[test]
fn diff_s_fold_s_and_accum_s_are_serialized() {
    let (ev, send) = e::create::<i32>();
    let (_k1, diffs) = record(&ev.diff_s(|a, b| lwt::resolved(a - b)));
    let (calls, _) = manual::<(i32, i32), i32>();
    let c = calls.clone();
    let (_k2, sums) = record(&ev.fold_s(0, move |acc, x| {
        let (p, r) = wait();
        c.borrow_mut().push(((*acc, *x), r));
        p
    }));
    send.send(1);
    send.send(5);
    assert_eq!(*diffs.borrow(), vec![4]);
    assert_eq!(calls.borrow().len(), 1);
    nth(&calls, 0).wakeup(1);
    assert_eq!(calls.borrow()[1].0, (1, 5), "the next call sees the new accumulator");
    nth(&calls, 1).wakeup(6);
    assert_eq!(*sums.borrow(), vec![1, 6]);

    let (ops, send_op) = e::create::<fn(&i32) -> lwt::Promise<i32>>();
    let (_k3, acc) = record(&e::accum_s(&ops, 3));
    send_op.send(|x| lwt::resolved(x * 2));
    send_op.send(|x| lwt::resolved(x + 1));
    assert_eq!(*acc.borrow(), vec![6, 7]);
}

#[test]
fn merge_s_folds_simultaneous_occurrences_in_order() {
    let (a, send_a) = e::create::<i32>();
    let (b, send_b) = e::create::<i32>();
    let merged = e::merge_s(
        |acc: &Vec<i32>, x: &i32| lwt::resolved([acc.clone(), vec![*x]].concat()),
        vec![0],
        [&a, &b],
    );
    let (_k, log) = record(&merged);
    let step = Step::new();
    send_a.send_on(&step, 1);
    send_b.send_on(&step, 2);
    step.execute();
    send_b.send(3);
    assert_eq!(*log.borrow(), vec![vec![0, 1, 2], vec![0, 3]]);
}

#[test]
fn run_s_keeps_order_and_run_p_does_not() {
    let (ev, send) = e::create::<lwt::Promise<i32>>();
    let (_k1, in_order) = record(&ev.run_s());
    let (_k2, as_ready) = record(&ev.run_p());
    let (p1, r1) = wait();
    let (p2, r2) = wait();
    send.send(p1);
    send.send(p2);
    r2.wakeup(2);
    r1.wakeup(1);
    assert_eq!(*in_order.borrow(), vec![1, 2]);
    assert_eq!(*as_ready.borrow(), vec![2, 1]);
}

#[test]
fn app_s_and_app_p_apply_simultaneous_functions() {
    let (x, send) = e::create::<i32>();
    let fs = x.map(|_| |v: &i32| lwt::resolved(v * 3));
    let (_k1, s_log) = record(&e::app_s(&fs, &x));
    let (_k2, p_log) = record(&e::app_p(&fs, &x));
    send.send(2);
    assert_eq!((s_log.borrow().clone(), p_log.borrow().clone()), (vec![6], vec![6]));
}

#[test]
fn a_dropped_bridge_output_stops_calling_the_function() {
    let (ev, send) = e::create::<i32>();
    let (calls, f) = manual::<i32, i32>();
    let out = ev.map_s(f);
    send.send(1);
    send.send(2);
    drop(out);
    nth(&calls, 0).wakeup(1);
    assert_eq!(calls.borrow().len(), 1, "the queued call is skipped");
}

// ---------------------------------------------------------------------------
// Lwt bridges: signals
// ---------------------------------------------------------------------------

#[test]
fn signal_map_s_resolves_with_the_first_value_then_follows() {
    let (x, set) = s::create(1);
    let (calls, f) = manual::<i32, i32>();
    let p = x.map_s(f);
    set.set(2); // queued behind the first call
    assert!(p.is_pending());
    nth(&calls, 0).wakeup(10);
    let y = fulfilled(&p);
    assert_eq!(y.value(), 10);
    nth(&calls, 1).wakeup(20);
    assert_eq!(y.value(), 20);
    set.set(3);
    nth(&calls, 2).wakeup(30);
    assert_eq!(y.value(), 30);
}

#[test]
fn signal_map_s_rejects_when_the_first_call_fails() {
    let (x, _set) = s::create(1);
    let p = x.map_s(|_| lwt::fail_with::<i32>("first"));
    assert!(p.is_rejected());
}

#[test]
fn signal_filter_s_and_filter_map_s() {
    let (x, set) = s::create(1);
    let even = fulfilled(&x.filter_s(|v| lwt::resolved(v % 2 == 0), -1));
    let tens = fulfilled(&x.filter_map_s(|v| lwt::resolved(if *v >= 10 { Some(v / 10) } else { None }), 0));
    assert_eq!((even.value(), tens.value()), (-1, 0));
    set.set(4);
    set.set(25);
    assert_eq!((even.value(), tens.value()), (4, 2));
}

#[test]
fn signal_bind_s_switches_to_the_promised_signals() {
    let (which, set_which) = s::create(0usize);
    let (a, set_a) = s::create("a0");
    let (b, _set_b) = s::create("b0");
    let (a2, b2) = (a.clone(), b.clone());
    let bound = fulfilled(&which.bind_s(move |w| lwt::resolved(if *w == 0 { a2.clone() } else { b2.clone() })));
    set_a.set("a1");
    assert_eq!(bound.value(), "a1");
    set_which.set(1);
    assert_eq!(bound.value(), "b0");
}

#[test]
fn signal_run_s_awaits_each_promise() {
    let (p0, r0) = wait::<i32>();
    let (ps, set) = s::create_eq(|_: &lwt::Promise<i32>, _: &lwt::Promise<i32>| false, p0);
    let res = ps.run_s();
    r0.wakeup(1);
    let v = fulfilled(&res);
    let (p1, r1) = wait();
    set.set(p1);
    assert_eq!(v.value(), 1);
    r1.wakeup(2);
    assert_eq!(v.value(), 2);
}

#[test]
fn signal_diff_s_and_sample_s() {
    let (x, set) = s::create(1);
    let (_k1, diffs) = record(&x.diff_s(|new, old| lwt::resolved(new * 10 + old)));
    let (tick, send) = e::create::<()>();
    let (_k2, samples) = record(&s::sample_s(|_, v| lwt::resolved(*v), &tick, &x));
    set.set(2);
    send.send(());
    set.set(3);
    assert_eq!(*diffs.borrow(), vec![21, 32]);
    assert_eq!(*samples.borrow(), vec![2]);
}

#[test]
fn signal_accum_s_fold_s_and_merge_s() {
    let (ops, send_op) = e::create::<fn(&i32) -> lwt::Promise<i32>>();
    let acc = s::accum_s(&ops, 1);
    send_op.send(|x| lwt::resolved(x + 4));
    assert_eq!(acc.value(), 5);
    let (ev, send) = e::create::<i32>();
    let total = s::fold_s(|a: &i32, x: &i32| lwt::resolved(a + x), 0, &ev);
    send.send(3);
    send.send(4);
    assert_eq!(total.value(), 7);
    let (a, set_a) = s::create(1);
    let b = s::const_(10);
    let merged = fulfilled(&s::merge_s(|acc: &i32, x: &i32| lwt::resolved(acc + x), 100, [&a, &b]));
    assert_eq!(merged.value(), 111);
    set_a.set(5);
    assert_eq!(merged.value(), 115);
}

#[test]
fn signal_l1_s_to_l6_s_and_app_s() {
    let (a, set_a) = s::create(1);
    let r = |v: i32| lwt::resolved(v);
    let l1 = fulfilled(&s::l1_s(move |x: &i32| r(*x), &a));
    let l2 = fulfilled(&s::l2_s(move |x: &i32, y: &i32| r(x + y), &a, &a));
    let l3 = fulfilled(&s::l3_s(move |x: &i32, y: &i32, z: &i32| r(x + y + z), &a, &a, &a));
    let l4 = fulfilled(&s::l4_s(
        move |x: &i32, _: &i32, _: &i32, w: &i32| r(x * w),
        &a,
        &a,
        &a,
        &a,
    ));
    let l5 = fulfilled(&s::l5_s(
        move |x: &i32, _: &i32, _: &i32, _: &i32, u: &i32| r(x - u - 1),
        &a,
        &a,
        &a,
        &a,
        &a,
    ));
    let l6 = fulfilled(&s::l6_s(
        move |x: &i32, _: &i32, _: &i32, _: &i32, _: &i32, t: &i32| r(x * 100 + t),
        &a,
        &a,
        &a,
        &a,
        &a,
        &a,
    ));
    let (f, _set_f) = s::create_eq(
        |_: &fn(&i32) -> lwt::Promise<i32>, _: &fn(&i32) -> lwt::Promise<i32>| false,
        (|x: &i32| lwt::resolved(-x)) as fn(&i32) -> lwt::Promise<i32>,
    );
    let app = fulfilled(&s::app_s(&f, &a));
    set_a.set(3);
    assert_eq!(
        [
            l1.value(),
            l2.value(),
            l3.value(),
            l4.value(),
            l5.value(),
            l6.value(),
            app.value()
        ],
        [3, 6, 9, 9, -1, 303, -3]
    );
}

// ---------------------------------------------------------------------------
// Lwt bridges: streams
// ---------------------------------------------------------------------------

#[test]
fn to_stream_resolves_a_pending_read_with_the_next_occurrence() {
    // Lwt_react's "to_stream" test.
    let (ev, send) = e::create::<i32>();
    let stream = ev.to_stream();
    let t = stream.next();
    assert!(t.is_pending());
    send.send(42);
    assert_eq!(fulfilled(&t), 42);
}

#[test]
fn to_stream_buffers_occurrences_in_order() {
    // Lwt_react's "to_stream 2" test.
    let (ev, send) = e::create::<i32>();
    let stream = ev.to_stream();
    for x in 1..=3 {
        send.send(x);
    }
    assert_eq!(fulfilled(&stream.nget(3)), vec![1, 2, 3]);
}

#[test]
fn to_stream_keeps_a_derived_event_alive_and_is_freed_with_the_stream() {
    let (ev, send) = e::create::<i32>();
    let base = live_nodes();
    let stream = ev.map(|x| x + 1).filter(|x| x % 2 == 0).to_stream();
    assert!(live_nodes() > base);
    for x in 1..=4 {
        send.send(x);
    }
    assert_eq!(fulfilled(&stream.nget(2)), vec![2, 4]);
    drop(stream);
    assert_eq!(live_nodes(), base);
}

#[test]
fn a_pending_read_of_a_dropped_stream_lets_go_at_the_next_occurrence() {
    let (ev, send) = e::create::<i32>();
    let base = live_nodes();
    let stream = ev.to_stream();
    let pending = stream.get();
    drop((stream, pending));
    send.send(1);
    assert_eq!(live_nodes(), base);
}

#[test]
fn of_stream_makes_each_element_an_occurrence() {
    // Lwt_react's "of_stream" test.
    let (stream, push) = lwt::stream::create::<i32>();
    let ev = e::of_stream(stream);
    let (_k, log) = record(&ev);
    push.push(1).unwrap();
    push.push(2).unwrap();
    push.push(3).unwrap();
    assert!(log.borrow().is_empty(), "reading starts after a pause");
    lwt::wakeup_paused();
    assert_eq!(*log.borrow(), vec![1, 2, 3]);
    push.push(4).unwrap();
    assert_eq!(*log.borrow(), vec![1, 2, 3, 4]);
}

#[test]
fn an_event_through_a_stream_and_back_keeps_every_occurrence() {
    let (ev, send) = e::create::<u32>();
    let back = e::of_stream(ev.to_stream());
    let (_k, log) = record(&back);
    lwt::wakeup_paused();
    for x in 0..100 {
        send.send(x);
    }
    assert_eq!(*log.borrow(), (0..100).collect::<Vec<_>>());
}

#[test]
fn a_stream_through_an_event_and_back_keeps_every_element() {
    let source = lwt::stream::of_list(vec!["a", "b", "c"]);
    let ev = e::of_stream(source);
    let round = ev.to_stream();
    lwt::wakeup_paused();
    assert_eq!(fulfilled(&round.nget(3)), vec!["a", "b", "c"]);
}

#[test]
fn dropping_an_of_stream_event_stops_reading() {
    let (stream, push) = lwt::stream::create::<i32>();
    let reader = stream.share();
    let ev = e::of_stream(stream);
    lwt::wakeup_paused();
    drop(ev);
    push.push(7).unwrap();
    assert_eq!(fulfilled(&reader.next()), 7, "the element was left for other readers");
}

#[test]
fn a_panic_while_updating_from_a_stream_goes_to_the_hook() {
    let hook = hook_log();
    let (stream, push) = lwt::stream::create::<i32>();
    let ev = e::of_stream(stream);
    let bad = ev.map(|x| if *x == 2 { panic!("stream boom") } else { *x });
    let (_k, log) = record(&bad);
    lwt::wakeup_paused();
    for x in 1..=3 {
        push.push(x).unwrap();
    }
    assert_eq!(*log.borrow(), vec![1, 3]);
    assert_eq!(hook.borrow().len(), 1);
}

// --- Cached update orders (plans) -------------------------------------------
//
// A primitive updated again over an unchanged graph follows a cached update
// order from its second step on. These tests update a few times first, so
// that the plan is made and used, and then change the graph in between or
// during steps.

/// Sets `set` to 1..=n (so that a plan is made and followed).
fn warm(set: &lwt::react::Setter<i64>, n: i64) {
    for i in 1..=n {
        set.set(i);
    }
}

#[test]
fn planned_steps_keep_the_diamond_glitch_free_and_run_each_node_once() {
    let (src, set) = s::create(0i64);
    let (runs, bump) = counter();
    let parts: Vec<Signal<i64>> = (1..=10).map(|k| src.map(move |x| x * k)).collect();
    let b2 = bump.clone();
    let join = s::merge(
        move |acc: i64, x: &i64| {
            b2();
            acc + x
        },
        0,
        &parts,
    );
    let seen: Log<i64> = Rc::new(RefCell::new(Vec::new()));
    let l = seen.clone();
    let _log = join.changes().map(move |v| l.borrow_mut().push(*v));
    let before = runs.get();
    warm(&set, 5);
    // The merge function runs once per part per step: 10 per step.
    assert_eq!(runs.get() - before, 50);
    assert_eq!(*seen.borrow(), vec![55, 110, 165, 220, 275]);
    set.set(5); // equal: no step
    assert_eq!(runs.get() - before, 50);
}

#[test]
fn planned_steps_skip_what_did_not_change() {
    let (src, set) = s::create(0i64);
    let parity = src.map(|x| x % 2);
    let (runs, bump) = counter();
    let below = parity.map(move |p| {
        bump();
        p * 10
    });
    warm(&set, 4); // parity 1, 0, 1, 0: `below` runs each time
    assert_eq!(runs.get(), 5);
    set.set(6); // parity stays 0
    set.set(8);
    assert_eq!(runs.get(), 5);
    set.set(9);
    assert_eq!((runs.get(), below.value()), (6, 10));
}

#[test]
fn a_dependent_added_between_planned_steps_is_updated() {
    let (src, set) = s::create(0i64);
    let a = src.map(|x| x + 1);
    warm(&set, 3);
    let b = a.map(|x| x * 2);
    set.set(10);
    assert_eq!(b.value(), 22);
    set.set(11);
    assert_eq!(b.value(), 24);
}

#[test]
fn a_dependent_dropped_or_stopped_between_planned_steps_stops_updating() {
    let (src, set) = s::create(0i64);
    let a = src.map(|x| x + 1);
    let (runs, bump) = counter();
    let b = a.map(move |x| {
        bump();
        *x
    });
    let (runs_c, bump_c) = counter();
    let c = a.map(move |x| {
        bump_c();
        *x
    });
    warm(&set, 3);
    let live = live_nodes();
    drop(b);
    assert_eq!(live_nodes(), live - 1);
    c.stop();
    let (r, rc) = (runs.get(), runs_c.get());
    set.set(10);
    set.set(11);
    assert_eq!((runs.get(), runs_c.get()), (r, rc));
    assert_eq!((a.value(), c.value()), (12, 4));
}

// A planned step runs its nodes by address (see `Planned::ptr` in
// runtime/src/react/graph.rs): a node freed or stopped *during* such a step
// must not be reached through its address any more, and a node that drops
// its own last handle while it runs must live until it returns.

/// A handle slot that an update function can empty (dropping the handle).
type Slot = Rc<RefCell<Option<Signal<i64>>>>;

#[test]
fn a_node_freed_by_another_inside_a_planned_step_is_not_run() {
    let (src, set) = s::create(0i64);
    let slot: Slot = Rc::new(RefCell::new(None));
    let sl = slot.clone();
    // `a` comes first in the plan (same rank, made first); at 10 it frees
    // `b`, planned after it.
    let a = src.map(move |x| {
        if *x == 10 {
            sl.borrow_mut().take();
        }
        *x
    });
    let (runs, bump) = counter();
    let b = src.map(move |x| {
        bump();
        *x
    });
    *slot.borrow_mut() = Some(b);
    let after = src.map(|x| x * 2);
    warm(&set, 3);
    let (r, live) = (runs.get(), live_nodes());
    set.set(10);
    assert_eq!(runs.get(), r);
    assert_eq!(live_nodes(), live - 1);
    assert_eq!((a.value(), after.value()), (10, 20));
    warm(&set, 3);
    assert_eq!((a.value(), after.value()), (3, 6));
}

#[test]
fn a_node_dropping_its_own_last_handle_inside_a_planned_step_finishes_its_run() {
    let (src, set) = s::create(0i64);
    let slot: Slot = Rc::new(RefCell::new(None));
    let sl = slot.clone();
    let (runs, bump) = counter();
    // The slot holds the only handle on `m`, and `m`'s function the slot:
    // at 10 the function drops `m` while `m` runs.
    let m = src.map(move |x| {
        bump();
        if *x == 10 {
            sl.borrow_mut().take();
        }
        *x + 1
    });
    *slot.borrow_mut() = Some(m);
    let after = src.map(|x| x * 2);
    warm(&set, 3);
    let live = live_nodes();
    set.set(10);
    assert_eq!(live_nodes(), live - 1);
    assert_eq!(after.value(), 20);
    set.set(11);
    warm(&set, 3);
    // Once at creation, three warm-up steps, the step it freed itself in.
    assert_eq!(runs.get(), 5);
    assert_eq!(after.value(), 6);
}

#[test]
fn a_node_stopping_itself_inside_a_planned_step_lets_go_of_its_function() {
    struct Flag(Rc<Cell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let (src, set) = s::create(0i64);
    let slot: Slot = Rc::new(RefCell::new(None));
    let sl = slot.clone();
    let dropped = Rc::new(Cell::new(false));
    let flag = Flag(dropped.clone());
    let m = src.map(move |x| {
        let _keep = &flag;
        if *x == 10 {
            if let Some(me) = &*sl.borrow() {
                me.stop();
            }
        }
        *x + 1
    });
    *slot.borrow_mut() = Some(m.clone());
    let after = src.map(|x| x * 2);
    warm(&set, 3);
    set.set(10);
    // The function was dropped once it returned; the value it computed in
    // that step was not set (the signal had stopped).
    assert!(dropped.get());
    assert_eq!((m.value(), after.value()), (4, 20));
    warm(&set, 3);
    assert_eq!((m.value(), after.value()), (4, 6));
    slot.borrow_mut().take();
}

#[test]
fn nodes_after_a_graph_change_inside_a_planned_step_still_update() {
    // `a` makes a node at 10, which ends the plan's run of that step: `b`
    // (planned after `a`, not run yet) and `c` (below both) must still be
    // updated, once, by the queue.
    let (src, set) = s::create(0i64);
    let made: Rc<RefCell<Vec<Signal<i64>>>> = Rc::new(RefCell::new(Vec::new()));
    let (m2, src2) = (made.clone(), src.clone());
    let a = src.map(move |x| {
        if *x == 10 {
            m2.borrow_mut().push(src2.map(|y| y + 1));
        }
        *x
    });
    let b = src.map(|x| x * 2);
    let (runs, bump) = counter();
    let c = s::l2(
        move |a, b| {
            bump();
            a + b
        },
        &a,
        &b,
    );
    warm(&set, 3);
    let r = runs.get();
    set.set(10);
    assert_eq!((a.value(), b.value(), c.value(), runs.get() - r), (10, 20, 30, 1));
    assert_eq!(made.borrow()[0].value(), 11);
    set.set(11);
    assert_eq!((c.value(), made.borrow()[0].value()), (33, 12));
}

#[test]
fn a_node_made_inside_a_planned_step_sees_that_step() {
    let (ev, send) = e::create::<i64>();
    let made: Rc<RefCell<Vec<Event<i64>>>> = Rc::new(RefCell::new(Vec::new()));
    let m = made.clone();
    let ev2 = ev.clone();
    let _maker = ev.map(move |_| m.borrow_mut().push(ev2.map(|x| x * 100)));
    let (_log_ev, log) = record(&ev);
    for i in 1..=3 {
        send.send(i);
    }
    assert_eq!(*log.borrow(), vec![1, 2, 3]);
    // Each map made in a step occurred in it (React's rule), and in later
    // steps too.
    let last = made.borrow().last().cloned().unwrap();
    let (_l2, log2) = record(&last);
    send.send(4);
    assert_eq!(*log2.borrow(), vec![400]);
}

#[test]
fn a_switch_raising_ranks_inside_a_planned_step_stays_glitch_free() {
    // `sw` follows `low` (rank 1) or `high` (rank 3); switching to `high`
    // in a step raises its rank while the step follows a plan.
    let (src, set) = s::create(0i64);
    let low = src.map(|x| x + 1);
    let high = src.map(|x| x + 1).map(|x| x * 10).map(|x| x + 5);
    let (low2, high2) = (low.clone(), high.clone());
    let chooser = src.map(move |x| if *x >= 5 { high2.clone() } else { low2.clone() });
    let sw = s::switch(&chooser);
    let seen: Log<(i64, i64)> = Rc::new(RefCell::new(Vec::new()));
    let l = seen.clone();
    let src2 = src.clone();
    let _log = sw.changes().map(move |v| l.borrow_mut().push((src2.value(), *v)));
    warm(&set, 6);
    // Every value seen is consistent with the source of its step.
    for (x, v) in seen.borrow().iter() {
        let want = if *x >= 5 { (x + 1) * 10 + 5 } else { x + 1 };
        assert_eq!(*v, want, "source {x}");
    }
    assert_eq!(sw.value(), 75);
    set.set(2);
    assert_eq!(sw.value(), 3);
    set.set(7);
    assert_eq!(sw.value(), 85);
}

#[test]
fn a_panic_in_a_planned_step_is_contained_and_the_rest_updates() {
    let hook = hook_log();
    let (src, set) = s::create(0i64);
    let boom = src.map(|x| {
        if *x == 4 {
            panic!("boom at 4");
        }
        *x
    });
    let other = src.map(|x| x * 2);
    let join = s::l2(|a, b| a + b, &boom, &other);
    warm(&set, 3);
    set.set(4);
    assert_eq!((boom.value(), other.value(), join.value()), (3, 8, 11));
    assert_eq!(hook.borrow().len(), 1);
    assert!(hook.borrow()[0].contains("boom at 4"));
    set.set(5);
    assert_eq!(join.value(), 15);
}

#[test]
fn a_wide_graph_past_the_plan_limit_still_updates() {
    let (src, set) = s::create(0i64);
    let parts: Vec<Signal<i64>> = (0..600).map(|k| src.map(move |x| x + k)).collect();
    let join = s::merge(|acc: i64, x: &i64| acc + x, 0, &parts);
    warm(&set, 3);
    assert_eq!(join.value(), 600 * 3 + (0..600).sum::<i64>());
}

#[test]
fn a_sparse_graph_leaves_its_plan_and_still_updates() {
    // Many nodes reachable, few change per step: the plan is dropped for
    // the queue, with the same results.
    let (src, set) = s::create(0i64);
    let gate = src.map(|x| x / 100);
    let below: Vec<Signal<i64>> = (0..100).map(|k| gate.map(move |g| g + k)).collect();
    let (runs, bump) = counter();
    let last = below[99].map(move |x| {
        bump();
        *x
    });
    warm(&set, 50);
    assert_eq!(runs.get(), 1);
    set.set(250);
    assert_eq!((runs.get(), last.value()), (2, 101));
    set.set(251);
    set.set(350);
    assert_eq!((runs.get(), last.value()), (3, 102));
}

#[test]
fn planned_event_steps_clear_occurrences_and_fix_still_works() {
    let (ev, send) = e::create::<i64>();
    let doubled = ev.map(|x| x * 2);
    let sum = s::fold(|acc, x| acc + x, 0, &doubled);
    for i in 1..=4 {
        send.send(i);
    }
    assert_eq!(sum.value(), 20);
    // A fix loop hanging off a repeatedly updated primitive: no plan for
    // it, the delayed steps run as before.
    let (src, set) = s::create(0i64);
    let (steps, bump) = counter();
    let most = s::fix(0i64, |prev: &Signal<i64>| {
        let t = s::l2(
            move |x: &i64, p: &i64| {
                bump();
                *x.max(p)
            },
            &src,
            prev,
        );
        (t.clone(), t)
    });
    warm(&set, 3);
    set.set(1);
    assert_eq!(most.value(), 3);
    // Per update: the step itself and the delayed step that follows.
    assert_eq!(steps.get(), 1 + 3 * 2 + 1);
}

#[test]
fn setting_a_source_while_a_derived_value_is_borrowed_is_reported_not_undefined() {
    // Update functions read values without marking a borrow; the write of
    // a value still checks for readers, so a borrow held across a `set`
    // (outside any step) is caught, reported, and leaves the graph usable.
    let hook = hook_log();
    let (src, set) = s::create(1);
    let doubled = src.map(|x| x * 2);
    set.set(2); // a first step makes the plan that the next one follows
    doubled.with_value(|v| {
        assert_eq!(*v, 4);
        set.set(3);
        assert_eq!(*v, 4, "the borrowed value was not overwritten");
    });
    assert_eq!(hook.borrow().len(), 1, "{:?}", hook.borrow());
    assert!(
        hook.borrow()[0].contains("while it was borrowed"),
        "{:?}",
        hook.borrow()
    );
    set.set(5);
    assert_eq!(doubled.value(), 10);
}

// ---------------------------------------------------------------------------
// Scenarios of React's own test suite (dbuenzli/react, test/test.ml): the
// same inputs and expected outputs, including the nodes made *during* a step
// ("dyn") and the nodes read through a long chain of identities ("high").
// ---------------------------------------------------------------------------

type Bin = Rc<RefCell<Vec<Box<dyn std::any::Any>>>>;

fn bin() -> Bin {
    Rc::new(RefCell::new(Vec::new()))
}

/// Records the occurrences of `ev` into `log`; the recorder goes into `keep`.
fn occs_into<T: Clone + 'static>(ev: &Event<T>, log: &Log<T>, keep: &Bin) {
    let l = log.clone();
    keep.borrow_mut()
        .push(Box::new(ev.map(move |x| l.borrow_mut().push(x.clone()))));
}

/// Records the values `s` goes through, its value at creation included.
fn vals_into<T: Clone + 'static>(s: &Signal<T>, log: &Log<T>, keep: &Bin) {
    let l = log.clone();
    keep.borrow_mut()
        .push(Box::new(s.map(move |x| l.borrow_mut().push(x.clone()))));
}

fn log<T>() -> Log<T> {
    Rc::new(RefCell::new(Vec::new()))
}

/// `e` read through eight identity maps: a node of a much higher rank.
fn high_e<T: Clone + 'static>(e: &Event<T>) -> Event<T> {
    (0..8).fold(e.clone(), |e, _| e.map(T::clone))
}

fn high_s<T: Clone + PartialEq + 'static>(s: &Signal<T>) -> Signal<T> {
    (0..8).fold(s.clone(), |s, _| s.map(T::clone))
}

#[test]
fn react_suite_once_and_drop_once_made_in_a_step_count_that_occurrence() {
    let (w, send) = e::create::<i32>();
    let keep = bin();
    let (x, y, dx, dy) = (log(), log(), log(), log());
    occs_into(&w.once(), &x, &keep);
    occs_into(&w.drop_once(), &y, &keep);
    let (w2, k2, dx2, dy2) = (w.clone(), keep.clone(), dx.clone(), dy.clone());
    let _dyn = w.map(move |v| {
        if *v == 1 {
            occs_into(&w2.once(), &dx2, &k2);
            occs_into(&w2.drop_once(), &dy2, &k2);
        }
    });
    for v in [0, 1, 2, 3] {
        send.send(v);
    }
    assert_eq!((x.borrow().clone(), y.borrow().clone()), (vec![0], vec![1, 2, 3]));
    assert_eq!((dx.borrow().clone(), dy.borrow().clone()), (vec![1], vec![2, 3]));
}

#[test]
fn react_suite_event_app_made_in_a_step() {
    let (w, send) = e::create::<i32>();
    let keep = bin();
    let x = w.map(|w| {
        let w = *w;
        move |y: &i32| w + y
    });
    let y = w.drop_once();
    let (z, dz) = (log(), log());
    occs_into(&e::app(&x, &y), &z, &keep);
    let (w2, y2, k2, dz2) = (w.clone(), y.clone(), keep.clone(), dz.clone());
    let _dyn = w.map(move |v| {
        if *v == 1 {
            let dx = w2
                .map(|w| {
                    let w = *w;
                    move |y: &i32| w + y
                })
                .drop_once();
            occs_into(&e::app(&dx, &y2), &dz2, &k2);
        }
    });
    for v in [0, 1, 2, 3] {
        send.send(v);
    }
    assert_eq!(*z.borrow(), vec![2, 4, 6]);
    assert_eq!(*dz.borrow(), vec![4, 6]);
}

#[test]
fn react_suite_event_diff_and_changes_made_in_a_step() {
    let (x, send) = e::create::<i32>();
    let keep = bin();
    let z = x.changes();
    let (y, zl, dy, dz) = (log(), log(), log(), log());
    occs_into(&x.diff(|a, b| a - b), &y, &keep);
    occs_into(&z, &zl, &keep);
    let (x2, z2, k2, dy2, dz2) = (x.clone(), z.clone(), keep.clone(), dy.clone(), dz.clone());
    let _dyn = x.map(move |v| {
        if *v == 2 {
            occs_into(&x2.diff(|a, b| a - b), &dy2, &k2);
            occs_into(&z2.changes(), &dz2, &k2);
        }
    });
    for v in [1, 1, 2, 3, 3] {
        send.send(v);
    }
    assert_eq!(
        (y.borrow().clone(), zl.borrow().clone()),
        (vec![0, 1, 1, 0], vec![1, 2, 3])
    );
    assert_eq!((dy.borrow().clone(), dz.borrow().clone()), (vec![1, 0], vec![2, 3]));
}

#[test]
fn react_suite_event_dismiss_made_in_a_step() {
    let (x, send) = e::create::<i32>();
    let keep = bin();
    let y = x.filter(|v| v % 2 == 0);
    let (z, dz) = (log(), log());
    occs_into(&x.dismiss(&y), &z, &keep);
    let (x2, y2, k2, dz2) = (x.clone(), y.clone(), keep.clone(), dz.clone());
    let _dyn = x.map(move |v| {
        if *v == 2 {
            occs_into(&x2.dismiss(&y2), &dz2, &k2);
        }
    });
    for v in 0..=5 {
        send.send(v);
    }
    assert_eq!((z.borrow().clone(), dz.borrow().clone()), (vec![1, 3, 5], vec![3, 5]));
}

#[test]
fn react_suite_event_on_made_in_a_step_and_of_high_rank() {
    let (e, send) = e::create::<i32>();
    let keep = bin();
    let s = s::hold(0, &e);
    let c = s.map(|x| x % 2 == 0);
    let (w, dw, dhw) = (log(), log(), log());
    occs_into(&e.on(&c), &w, &keep);
    let (e2, c2, k2, dw2, dhw2) = (e.clone(), c.clone(), keep.clone(), dw.clone(), dhw.clone());
    let _dyn = e.map(move |v| {
        if *v == 2 {
            occs_into(&e2.on(&c2), &dw2, &k2);
            occs_into(&high_e(&e2).on(&high_s(&c2)), &dhw2, &k2);
        }
    });
    for v in [1, 3, 1, 2, 4, 4, 6, 1, 3, 4] {
        send.send(v);
    }
    let want = vec![2, 4, 4, 6, 4];
    assert_eq!(*w.borrow(), want);
    assert_eq!(*dw.borrow(), want);
    assert_eq!(*dhw.borrow(), want);
}

#[test]
fn react_suite_until_made_in_the_step_its_condition_occurs() {
    let (x, send) = e::create::<i32>();
    let keep = bin();
    let stop = x.filter(|v| *v == 3);
    let (el, de, de2) = (log(), log(), log());
    occs_into(&x.until(&stop), &el, &keep);
    let (x2, stop2, k2, d1, d2) = (x.clone(), stop.clone(), keep.clone(), de.clone(), de2.clone());
    let _dyn = x.map(move |v| {
        if *v == 3 {
            occs_into(&x2.until(&stop2), &d1, &k2);
            occs_into(&x2.until(&x2.filter(|v| *v == 5)), &d2, &k2);
        }
    });
    for v in 1..=5 {
        send.send(v);
    }
    assert_eq!(*el.borrow(), vec![1, 2]);
    assert_eq!(*de.borrow(), Vec::<i32>::new());
    assert_eq!(*de2.borrow(), vec![3, 4]);
}

type IntFn = fn(&i32) -> i32;
type BoxFn = Box<dyn Fn(&i32) -> i32>;

#[test]
fn react_suite_event_accum_made_in_a_step() {
    let (f, send) = e::create::<IntFn>();
    let keep = bin();
    let (a, da) = (log(), log());
    occs_into(&e::accum(&f, 0), &a, &keep);
    let (f2, k2, da2) = (f.clone(), keep.clone(), da.clone());
    let mut count = 0;
    let _dyn = f.map(move |_| {
        count += 1;
        if count == 2 {
            occs_into(&e::accum(&f2, 0), &da2, &k2);
        }
    });
    send.send(|x| x + 2);
    send.send(|x| 1 - x);
    send.send(|x| x * 2);
    assert_eq!((a.borrow().clone(), da.borrow().clone()), (vec![2, -1, -2], vec![1, 2]));
}

#[test]
fn react_suite_event_fold_made_in_a_step() {
    let (x, send) = e::create::<i32>();
    let keep = bin();
    let (c, dc) = (log(), log());
    occs_into(&x.fold(0, |a, v| a + v), &c, &keep);
    let (x2, k2, dc2) = (x.clone(), keep.clone(), dc.clone());
    let _dyn = x.map(move |v| {
        if *v == 2 {
            occs_into(&x2.fold(0, |a, v| a + v), &dc2, &k2);
        }
    });
    for v in 1..=4 {
        send.send(v);
    }
    assert_eq!(
        (c.borrow().clone(), dc.borrow().clone()),
        (vec![1, 3, 6, 10], vec![2, 5, 9])
    );
}

#[test]
fn react_suite_select_prefers_the_leftmost_and_works_when_made_in_a_step() {
    #[derive(Clone, Debug, PartialEq)]
    enum T {
        Int(i32),
        Bool(bool),
    }
    let (w, send_w) = e::create::<i32>();
    let (x, send_x) = e::create::<bool>();
    let keep = bin();
    let y = w.map(|v| v + 1);
    let z = y.map(|v| v + 1);
    let (t, sy, sz, d) = (log(), log(), log(), log());
    occs_into(&e::select([w.map(|v| T::Int(*v)), x.map(|v| T::Bool(*v))]), &t, &keep);
    occs_into(&e::select([&y, &z]), &sy, &keep);
    occs_into(&e::select([&z, &y]), &sz, &keep);
    let (w2, y2, z2, k2, d2) = (w.clone(), y.clone(), z.clone(), keep.clone(), d.clone());
    let _dyn = w.map(move |v| {
        if *v == 2 {
            occs_into(&e::select([&y2, &w2, &z2]), &d2, &k2);
        }
    });
    send_w.send(0);
    send_x.send(false);
    for v in 1..=3 {
        send_w.send(v);
    }
    assert_eq!(
        *t.borrow(),
        vec![T::Int(0), T::Bool(false), T::Int(1), T::Int(2), T::Int(3)]
    );
    assert_eq!(
        (sy.borrow().clone(), sz.borrow().clone()),
        (vec![1, 2, 3, 4], vec![2, 3, 4, 5])
    );
    assert_eq!(*d.borrow(), vec![3, 4]);
}

#[test]
fn react_suite_event_merge_made_in_a_step() {
    let (w, send_w) = e::create::<i32>();
    let (x, send_x) = e::create::<i32>();
    let keep = bin();
    let y = w.map(|v| v + 1);
    let cons = |mut acc: Vec<i32>, v: &i32| {
        acc.insert(0, *v);
        acc
    };
    let (z, dz) = (log(), log());
    occs_into(&e::merge(cons, Vec::new(), [&w, &x, &y]), &z, &keep);
    let (w2, x2, y2, k2, dz2) = (w.clone(), x.clone(), y.clone(), keep.clone(), dz.clone());
    let _dyn = x.map(move |v| {
        if *v == 4 {
            occs_into(&e::merge(cons, Vec::new(), [&y2, &x2, &w2]), &dz2, &k2);
        }
    });
    send_w.send(1);
    send_x.send(4);
    send_w.send(2);
    assert_eq!(*z.borrow(), vec![vec![2, 1], vec![4], vec![3, 2]]);
    assert_eq!(*dz.borrow(), vec![vec![4], vec![2, 3]]);
}

#[test]
fn react_suite_event_switch_made_in_a_step_and_of_high_rank() {
    let (x, send) = e::create::<i32>();
    let keep = bin();
    let switcher = |x: &Event<i32>, e: &Event<i32>| {
        let e = e.clone();
        x.filter_map(move |v| {
            let v = *v;
            if v % 3 == 0 {
                Some(e.map(move |y| y * v))
            } else {
                None
            }
        })
    };
    let (s1, hs, ds, dhs) = (log(), log(), log(), log());
    occs_into(&x.switch(&switcher(&x, &x)), &s1, &keep);
    occs_into(&x.switch(&switcher(&x, &high_e(&x))), &hs, &keep);
    let (x2, k2, ds2, dhs2) = (x.clone(), keep.clone(), ds.clone(), dhs.clone());
    let _dyn = x.map(move |v| {
        if *v == 3 {
            occs_into(&x2.switch(&switcher(&x2, &x2)), &ds2, &k2);
            occs_into(&x2.switch(&switcher(&x2, &high_e(&x2))), &dhs2, &k2);
        }
    });
    for v in 1..=9 {
        send.send(v);
    }
    let all = vec![1, 2, 9, 12, 15, 36, 42, 48, 81];
    assert_eq!((s1.borrow().clone(), hs.borrow().clone()), (all.clone(), all));
    let later = vec![9, 12, 15, 36, 42, 48, 81];
    assert_eq!((ds.borrow().clone(), dhs.borrow().clone()), (later.clone(), later));
}

#[test]
fn react_suite_event_fix_switching_between_two_stamps() {
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum C {
        C1,
        C2,
    }
    let (x, send) = e::create::<i32>();
    let keep = bin();
    let lp = |x: &Event<i32>| {
        let x = x.clone();
        e::fix(move |result: &Event<C>| {
            let x2 = x.clone();
            let sw = result.map(move |c| match c {
                C::C1 => x2.stamp(C::C2),
                C::C2 => x2.stamp(C::C1),
            });
            let switcher = x.stamp(C::C2).switch(&sw);
            (switcher.clone(), switcher)
        })
    };
    let (l, dl) = (log(), log());
    occs_into(&lp(&x), &l, &keep);
    let (x2, k2, dl2) = (x.clone(), keep.clone(), dl.clone());
    let _dyn = x.map(move |v| {
        if *v == 2 {
            occs_into(&lp(&x2), &dl2, &k2);
        }
    });
    for v in 1..=3 {
        send.send(v);
    }
    assert_eq!(*l.borrow(), vec![C::C2, C::C1, C::C2]);
    assert_eq!(*dl.borrow(), vec![C::C2, C::C1]);
}

#[test]
fn react_suite_hold_made_in_a_step_and_of_high_rank() {
    let (e, send) = e::create::<i32>();
    let (e2, send2) = e::create::<i32>();
    let keep = bin();
    let he = high_e(&e);
    let s = s::hold(1, &e);
    let (sl, ds, dhs, ds2) = (log(), log(), log(), log());
    vals_into(&s, &sl, &keep);
    let (ec, e2c, k2) = (e.clone(), e2.clone(), keep.clone());
    let (l1, l2, l3) = (ds.clone(), dhs.clone(), ds2.clone());
    let _dyn = s.map(move |v| {
        if *v == 3 {
            vals_into(&s::hold(42, &ec), &l1, &k2);
            vals_into(&s::hold(44, &he), &l2, &k2);
            vals_into(&s::hold(128, &e2c), &l3, &k2);
        }
    });
    for v in [1, 1, 1, 1, 2, 2, 2, 3, 3, 3] {
        send.send(v);
    }
    for v in [2, 4] {
        send2.send(v);
    }
    for v in [4, 4, 4] {
        send.send(v);
    }
    assert_eq!(*sl.borrow(), vec![1, 2, 3, 4]);
    assert_eq!(*ds.borrow(), vec![3, 4], "the initial value is unused");
    assert_eq!(
        *dhs.borrow(),
        vec![3, 4],
        "the initial value is unused, even below a high rank"
    );
    assert_eq!(*ds2.borrow(), vec![128, 2, 4]);
}

#[test]
fn react_suite_signal_app_made_in_a_step_and_of_high_rank() {
    let (x, set_x) = s::create(0);
    let (y, set_y) = s::create(0);
    let keep = bin();
    let fl = |x: &Signal<i32>, y: &Signal<i32>| {
        let curried = x.map_eq(
            |_: &Rc<dyn Fn(&i32) -> i32>, _: &Rc<dyn Fn(&i32) -> i32>| false,
            |a: &i32| {
                let a = *a;
                Rc::new(move |b: &i32| a + b) as Rc<dyn Fn(&i32) -> i32>
            },
        );
        let boxed = curried.map_eq(
            |_: &BoxFn, _: &BoxFn| false,
            |f| {
                let f = f.clone();
                Box::new(move |b: &i32| f(b)) as BoxFn
            },
        );
        s::app(&boxed, y)
    };
    let (z, dz, dhz) = (log(), log(), log());
    vals_into(&fl(&x, &y), &z, &keep);
    let (x2, y2, k2, dz2, dhz2) = (x.clone(), y.clone(), keep.clone(), dz.clone(), dhz.clone());
    let _dyn = y.map(move |v| {
        if *v == 2 {
            vals_into(&fl(&x2, &y2), &dz2, &k2);
            vals_into(&fl(&high_s(&x2), &high_s(&y2)), &dhz2, &k2);
        }
    });
    set_x.set(1);
    set_y.set(2);
    set_x.set(1);
    set_y.set(3);
    assert_eq!(*z.borrow(), vec![0, 1, 3, 4]);
    assert_eq!(*dz.borrow(), vec![3, 4]);
    assert_eq!(*dhz.borrow(), vec![3, 4]);
}

#[test]
fn react_suite_signal_filter_and_filter_map_made_in_a_step() {
    let even = |x: &i32| x % 2 == 0;
    let odd = |x: &i32| x % 2 != 0;
    let meven = |x: &i32| if x % 2 == 0 { Some(x * 2) } else { None };
    let modd = |x: &i32| if x % 2 != 0 { Some(x * 2) } else { None };
    let (x, set) = s::create(1);
    let keep = bin();
    let logs: Vec<Log<i32>> = (0..10).map(|_| log()).collect();
    vals_into(&x.map(|v| v * 2), &logs[0], &keep);
    vals_into(&x.filter(even, 56), &logs[1], &keep);
    vals_into(&x.filter(odd, 56), &logs[2], &keep);
    vals_into(&x.filter_map(meven, 7), &logs[3], &keep);
    vals_into(&x.filter_map(modd, 7), &logs[4], &keep);
    let (x2, k2, l2) = (x.clone(), keep.clone(), logs.clone());
    let _dyn = x.map(move |v| {
        if *v == 3 {
            let hx = high_s(&x2);
            vals_into(&hx.map(|v| v * 2), &l2[5], &k2);
            vals_into(&hx.filter(even, 56), &l2[6], &k2);
            vals_into(&hx.filter(odd, 56), &l2[7], &k2);
            vals_into(&hx.filter_map(meven, 7), &l2[8], &k2);
            vals_into(&hx.filter_map(modd, 7), &l2[9], &k2);
        }
    });
    for v in [1, 2, 3, 4, 4, 5, 5] {
        set.set(v);
    }
    let got: Vec<Vec<i32>> = logs.iter().map(|l| l.borrow().clone()).collect();
    assert_eq!(
        got,
        vec![
            vec![2, 4, 6, 8, 10],
            vec![56, 2, 4],
            vec![1, 3, 5],
            vec![7, 4, 8],
            vec![2, 6, 10],
            // Made when x became 3, reading x through a high rank.
            vec![6, 8, 10],
            vec![56, 4],
            vec![3, 5],
            vec![7, 8],
            vec![6, 10],
        ]
    );
}

#[test]
fn react_suite_signal_diff_and_changes_made_in_a_step_and_of_high_rank() {
    let (e, send) = e::create::<i32>();
    let keep = bin();
    let s = s::hold(1, &e);
    let (d, c, dd, dhd, dc, dhc) = (log(), log(), log(), log(), log(), log());
    occs_into(&s.diff(|a, b| a - b), &d, &keep);
    occs_into(&s.changes(), &c, &keep);
    let (s2, k2) = (s.clone(), keep.clone());
    let (l1, l2, l3, l4) = (dd.clone(), dhd.clone(), dc.clone(), dhc.clone());
    let _dyn = s.map(move |v| {
        if *v == 3 {
            occs_into(&s2.diff(|a, b| a - b), &l1, &k2);
            occs_into(&high_s(&s2).diff(|a, b| a - b), &l2, &k2);
            occs_into(&s2.changes(), &l3, &k2);
            occs_into(&high_s(&s2).changes(), &l4, &k2);
        }
    });
    for v in [1, 1, 3, 3, 4, 4] {
        send.send(v);
    }
    assert_eq!((d.borrow().clone(), c.borrow().clone()), (vec![2, 1], vec![3, 4]));
    assert_eq!((dd.borrow().clone(), dhd.borrow().clone()), (vec![1], vec![1]));
    assert_eq!((dc.borrow().clone(), dhc.borrow().clone()), (vec![4], vec![4]));
}

#[test]
fn react_suite_sample_made_in_a_step_and_of_high_rank() {
    let (e, send) = e::create::<i32>();
    let keep = bin();
    let s = s::hold(0, &e);
    let pair = |a: &i32, b: &i32| (*a, *b);
    let (sam, dsam, dhsam) = (log(), log(), log());
    occs_into(&s::sample(pair, &e.filter(|x| x % 2 == 0), &s), &sam, &keep);
    let (e2, s2, k2, l1, l2) = (e.clone(), s.clone(), keep.clone(), dsam.clone(), dhsam.clone());
    let _dyn = s.map(move |v| {
        if *v == 2 {
            occs_into(&s::sample(pair, &e2.filter(|x| x % 2 == 0), &s2), &l1, &k2);
            occs_into(
                &s::sample(pair, &high_e(&e2.filter(|x| x % 2 == 0)), &high_s(&s2)),
                &l2,
                &k2,
            );
        }
    });
    for v in [1, 1, 2, 2, 3, 3, 4, 4] {
        send.send(v);
    }
    let want = vec![(2, 2), (2, 2), (4, 4), (4, 4)];
    assert_eq!(*sam.borrow(), want);
    assert_eq!(*dsam.borrow(), want);
    assert_eq!(*dhsam.borrow(), want);
}

#[test]
fn react_suite_signal_on_made_in_a_step_and_of_high_rank() {
    let (s, set) = s::create(0);
    let keep = bin();
    let ce = s.map(|x| x % 2 == 0);
    let co = s.map(|x| x % 2 != 0);
    let logs: Vec<Log<i32>> = (0..6).map(|_| log()).collect();
    vals_into(&s.on(&ce, 42), &logs[0], &keep);
    vals_into(&s.on(&co, 56), &logs[1], &keep);
    let (s2, ce2, co2, k2, l2) = (s.clone(), ce.clone(), co.clone(), keep.clone(), logs.clone());
    let _dyn = s.map(move |v| {
        if *v == 6 {
            vals_into(&s2.on(&ce2, 42), &l2[2], &k2);
            vals_into(&high_s(&s2).on(&ce2, 42), &l2[3], &k2);
            vals_into(&s2.on(&co2, 56), &l2[4], &k2);
            vals_into(&high_s(&s2).on(&co2, 56), &l2[5], &k2);
        }
    });
    for v in [1, 3, 1, 2, 4, 4, 6, 1, 3, 4] {
        set.set(v);
    }
    let got: Vec<Vec<i32>> = logs.iter().map(|l| l.borrow().clone()).collect();
    assert_eq!(
        got,
        vec![
            vec![0, 2, 4, 6, 4],
            vec![56, 1, 3, 1, 3],
            vec![6, 4],
            vec![6, 4],
            vec![56, 1, 3],
            vec![56, 1, 3],
        ]
    );
}

#[test]
fn react_suite_signal_dismiss_made_in_a_step_its_condition_occurs_starts_at_init() {
    let (x, send) = e::create::<i32>();
    let keep = bin();
    let y = x.filter(|v| v % 2 == 0);
    let (z, dz) = (log(), log());
    vals_into(&s::hold(44, &x).dismiss(&y, 4), &z, &keep);
    let (x2, y2, k2, dz2) = (x.clone(), y.clone(), keep.clone(), dz.clone());
    let _dyn = x.map(move |v| {
        if *v == 2 {
            vals_into(&s::hold(44, &x2).dismiss(&y2, 4), &dz2, &k2);
        }
    });
    for v in 0..=5 {
        send.send(v);
    }
    assert_eq!(
        (z.borrow().clone(), dz.borrow().clone()),
        (vec![44, 1, 3, 5], vec![4, 3, 5])
    );
}

#[test]
fn react_suite_signal_accum_and_fold_made_in_a_step_and_of_high_rank() {
    let (f, send_f) = e::create::<IntFn>();
    let keep = bin();
    let (a, da, dha) = (log(), log(), log());
    vals_into(&s::accum(&f, 0), &a, &keep);
    let (f2, k2, l1, l2) = (f.clone(), keep.clone(), da.clone(), dha.clone());
    let mut count = 0;
    let _dyn = f.map(move |_| {
        count += 1;
        if count == 2 {
            vals_into(&s::accum(&f2, 3), &l1, &k2);
            vals_into(&s::accum(&high_e(&f2), 3), &l2, &k2);
        }
    });
    send_f.send(|x| x + 2);
    send_f.send(|x| 1 - x);
    send_f.send(|x| x * 2);
    assert_eq!(*a.borrow(), vec![0, 2, -1, -2]);
    assert_eq!(*da.borrow(), vec![-2, -4]);
    assert_eq!(*dha.borrow(), vec![-2, -4]);

    let (x, send) = e::create::<i32>();
    let (c, dc, dhc) = (log(), log(), log());
    vals_into(&s::fold(|a, v| a + v, 0, &x), &c, &keep);
    let (x2, k3, l3, l4) = (x.clone(), keep.clone(), dc.clone(), dhc.clone());
    let _dyn2 = x.map(move |v| {
        if *v == 2 {
            vals_into(&s::fold(|a, v| a + v, 2, &x2), &l3, &k3);
            vals_into(&s::fold(|a, v| a + v, 2, &high_e(&x2)), &l4, &k3);
        }
    });
    for v in 1..=4 {
        send.send(v);
    }
    assert_eq!(*c.borrow(), vec![0, 1, 3, 6, 10]);
    assert_eq!(
        (dc.borrow().clone(), dhc.borrow().clone()),
        (vec![4, 7, 11], vec![4, 7, 11])
    );
}

#[test]
fn react_suite_signal_merge_made_in_a_step_and_of_high_rank() {
    let (w, set_w) = s::create(0);
    let (x, set_x) = s::create(1);
    let keep = bin();
    let y = w.map(|v| v + 1);
    let cons = |mut acc: Vec<i32>, v: &i32| {
        acc.push(*v);
        acc
    };
    let (z, dz, dhz) = (log(), log(), log());
    vals_into(&s::merge(cons, Vec::new(), [&w, &x, &y]), &z, &keep);
    let (w2, x2, y2, k2, l1, l2) = (w.clone(), x.clone(), y.clone(), keep.clone(), dz.clone(), dhz.clone());
    let _dyn = x.map(move |v| {
        if *v == 4 {
            vals_into(&s::merge(cons, Vec::new(), [&w2, &x2, &y2]), &l1, &k2);
            let two = s::const_(2);
            vals_into(&s::merge(cons, Vec::new(), [&high_s(&w2), &x2, &y2, &two]), &l2, &k2);
        }
    });
    set_w.set(1);
    set_x.set(4);
    set_w.set(2);
    set_w.set(2);
    assert_eq!(
        *z.borrow(),
        vec![vec![0, 1, 1], vec![1, 1, 2], vec![1, 4, 2], vec![2, 4, 3]]
    );
    assert_eq!(*dz.borrow(), vec![vec![1, 4, 2], vec![2, 4, 3]]);
    assert_eq!(*dhz.borrow(), vec![vec![1, 4, 2, 2], vec![2, 4, 3, 2]]);
}

#[test]
fn react_suite_signal_switch_made_in_a_step_and_of_high_rank() {
    let (s, set) = s::create(0);
    let keep = bin();
    let switcher = |s: &Signal<i32>| {
        let s2 = s.clone();
        s.filter_map_eq(
            Signal::eq,
            move |v| {
                let v = *v;
                if v % 3 == 0 && v != 0 {
                    Some(s2.map(move |x| x * v))
                } else {
                    None
                }
            },
            s.clone(),
        )
    };
    let (sw, hsw, dsw, dhsw) = (log(), log(), log(), log());
    vals_into(&s::switch(&switcher(&s)), &sw, &keep);
    vals_into(&s::switch(&switcher(&high_s(&s))), &hsw, &keep);
    let (s2, k2, l1, l2) = (s.clone(), keep.clone(), dsw.clone(), dhsw.clone());
    let _dyn = s.map(move |v| {
        if *v == 3 {
            vals_into(&s::switch(&switcher(&s2)), &l1, &k2);
            vals_into(&s::switch(&switcher(&high_s(&s2))), &l2, &k2);
        }
    });
    for v in [1, 1, 2, 2, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9] {
        set.set(v);
    }
    let all = vec![0, 1, 2, 9, 12, 15, 36, 42, 48, 81];
    assert_eq!((sw.borrow().clone(), hsw.borrow().clone()), (all.clone(), all));
    let later = vec![9, 12, 15, 36, 42, 48, 81];
    assert_eq!((dsw.borrow().clone(), dhsw.borrow().clone()), (later.clone(), later));
}

#[test]
fn react_suite_signal_switch_over_constants_made_in_a_step() {
    let (s, set) = s::create(0);
    let keep = bin();
    let switch = s.map_eq(Signal::eq, |x| s::const_(*x));
    let (sw, dsw) = (log(), log());
    vals_into(&s::switch(&switch), &sw, &keep);
    let (sc, k2, l1) = (switch.clone(), keep.clone(), dsw.clone());
    let _dyn = s.map(move |v| {
        if *v == 2 {
            vals_into(&s::switch(&sc), &l1, &k2);
        }
    });
    for v in 0..=3 {
        set.set(v);
    }
    assert_eq!(
        (sw.borrow().clone(), dsw.borrow().clone()),
        (vec![0, 1, 2, 3], vec![2, 3])
    );
}

#[test]
fn react_suite_signal_switch_to_a_signal_made_by_the_switching_function() {
    // The inner signals are made while the outer one updates, reading `x`
    // directly (switch1) or through a high rank (switch2).
    for high in [false, true] {
        let (x, set) = s::create(0);
        let hx = high_s(&x);
        let keep = bin();
        let inner: Vec<Log<i32>> = (0..3).map(|_| log()).collect();
        let made = Rc::new(Cell::new(0));
        let (k2, l2, m2) = (keep.clone(), inner.clone(), made.clone());
        let src = if high { hx.clone() } else { x.clone() };
        let change = move |v: &i32| {
            let v = *v;
            if v % 3 == 0 && v != 0 {
                let d = src.map(move |x| v * x);
                vals_into(&d, &l2[m2.get()], &k2);
                m2.set(m2.get() + 1);
                Some(d)
            } else {
                None
            }
        };
        let sw = s::switch(&x.filter_map_eq(Signal::eq, change, x.clone()));
        let outer = log();
        vals_into(&sw, &outer, &keep);
        for v in [1, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9, 9] {
            set.set(v);
        }
        assert_eq!(
            *outer.borrow(),
            vec![0, 1, 2, 9, 12, 15, 36, 42, 48, 81],
            "high: {high}"
        );
        let got: Vec<Vec<i32>> = inner.iter().map(|l| l.borrow().clone()).collect();
        assert_eq!(
            got,
            vec![vec![9, 12, 15, 18, 21, 24, 27], vec![36, 42, 48, 54], vec![81]],
            "high: {high}"
        );
    }
}

#[test]
fn react_suite_signal_switch_to_a_signal_of_another_primitive() {
    // switch3 / switch4: the inner signals read `y`, not the switching `x`.
    for high in [false, true] {
        let (x, set_x) = s::create(0);
        let (y, set_y) = s::create(0);
        let keep = bin();
        let inner: Vec<Log<i32>> = (0..3).map(|_| log()).collect();
        let made = Rc::new(Cell::new(0));
        let (k2, l2, m2, y2) = (keep.clone(), inner.clone(), made.clone(), y.clone());
        let change = move |v: &i32| {
            let v = *v;
            if v % 3 == 0 && v != 0 {
                let src = if high { high_s(&y2) } else { y2.clone() };
                let d = src.map(move |y| v * y);
                vals_into(&d, &l2[m2.get()], &k2);
                m2.set(m2.get() + 1);
                Some(d)
            } else {
                None
            }
        };
        let sw = s::switch(&x.filter_map_eq(Signal::eq, change, y.clone()));
        let outer = log();
        vals_into(&sw, &outer, &keep);
        let ys = [1, 1, 2, 2];
        for (xs,) in [([1, 1, 2, 2, 3, 3],), ([4, 4, 5, 5, 6, 6],), ([7, 7, 8, 8, 9, 9],)] {
            for v in ys {
                set_y.set(v);
            }
            for v in xs {
                set_x.set(v);
            }
        }
        assert_eq!(*outer.borrow(), vec![0, 1, 2, 6, 3, 6, 12, 6, 12, 18], "high: {high}");
        let got: Vec<Vec<i32>> = inner.iter().map(|l| l.borrow().clone()).collect();
        assert_eq!(
            got,
            vec![vec![6, 3, 6, 3, 6], vec![12, 6, 12], vec![18]],
            "high: {high}"
        );
    }
}

#[test]
fn react_suite_signal_fix_keeps_a_history_even_when_made_in_a_step() {
    fn history(s: &Signal<i32>) -> (Signal<Vec<i32>>, Signal<Vec<i32>>) {
        let s = s.clone();
        s::fix(Vec::new(), move |h: &Signal<Vec<i32>>| {
            let h2 = s::l2(
                |v: &i32, l: &Vec<i32>| {
                    if l.first() == Some(v) {
                        l.clone()
                    } else {
                        let mut n = vec![*v];
                        n.extend(l.iter().copied());
                        n
                    }
                },
                &s,
                h,
            );
            (h2.clone(), (h2, h.map(Vec::clone)))
        })
    }
    let (s, set) = s::create(0);
    let keep = bin();
    let (h, hm) = history(&s);
    let logs: Vec<Log<Vec<i32>>> = (0..6).map(|_| log()).collect();
    vals_into(&h, &logs[0], &keep);
    vals_into(&hm, &logs[1], &keep);
    let (s2, k2, l2) = (s.clone(), keep.clone(), logs.clone());
    let _dyn = s.map(move |v| {
        if *v == 1 {
            let (dh, dhm) = history(&s2);
            let (dhh, dhhm) = history(&high_s(&s2));
            vals_into(&dh, &l2[2], &k2);
            vals_into(&dhm, &l2[3], &k2);
            vals_into(&dhh, &l2[4], &k2);
            vals_into(&dhhm, &l2[5], &k2);
            k2.borrow_mut().push(Box::new((dh, dhm, dhh, dhhm)));
        }
    });
    for v in [0, 1, 1, 2, 3] {
        set.set(v);
    }
    let got: Vec<Vec<Vec<i32>>> = logs.iter().map(|l| l.borrow().clone()).collect();
    let full = vec![vec![0], vec![1, 0], vec![2, 1, 0], vec![3, 2, 1, 0]];
    let late = vec![vec![1], vec![2, 1], vec![3, 2, 1]];
    let late_m = vec![vec![], vec![1], vec![2, 1], vec![3, 2, 1]];
    assert_eq!(
        got,
        vec![full.clone(), full, late.clone(), late_m.clone(), late, late_m]
    );
}

#[test]
fn react_suite_lifters_made_in_a_step() {
    let (x, set) = s::create(0);
    let keep = bin();
    let x1 = s::l1(|a: &i32| 1 + a, &x);
    let x2 = s::l2(|a: &i32, b: &i32| a + b, &x, &x1);
    let x3 = s::l3(|a: &i32, b: &i32, c: &i32| a + b + c, &x, &x1, &x2);
    let logs: Vec<Log<i32>> = (0..6).map(|_| log()).collect();
    vals_into(&x1, &logs[0], &keep);
    vals_into(&x2, &logs[1], &keep);
    vals_into(&x3, &logs[2], &keep);
    let (xc, x1c, x2c, k2, l2) = (x.clone(), x1.clone(), x2.clone(), keep.clone(), logs.clone());
    let _dyn = x.map(move |v| {
        if *v == 1 {
            vals_into(&s::l1(|a: &i32| 1 + a, &xc), &l2[3], &k2);
            vals_into(&s::l2(|a: &i32, b: &i32| a + b, &xc, &x1c), &l2[4], &k2);
            vals_into(
                &s::l3(|a: &i32, b: &i32, c: &i32| a + b + c, &xc, &x1c, &x2c),
                &l2[5],
                &k2,
            );
        }
    });
    set.set(0);
    set.set(1);
    let got: Vec<Vec<i32>> = logs.iter().map(|l| l.borrow().clone()).collect();
    assert_eq!(got, vec![vec![1, 2], vec![1, 3], vec![2, 6], vec![2], vec![3], vec![6]]);
}

#[test]
fn react_suite_simultaneous_updates_in_one_step() {
    let (e1, send1) = e::create::<i32>();
    let (e2, send2) = e::create::<i32>();
    let (s1, set1) = s::create(99);
    let (s2, set2) = s::create(98);
    let keep = bin();
    let (never, merged, s1v, dismissed, gated) = (log(), log(), log(), log(), log());
    occs_into(&e1.dismiss(&e2), &never, &keep);
    occs_into(
        &e::merge(
            |mut acc: Vec<i32>, v: &i32| {
                acc.insert(0, *v);
                acc
            },
            Vec::new(),
            [&e1, &e2],
        ),
        &merged,
        &keep,
    );
    occs_into(&s::sample(|_: &i32, v: &i32| *v, &e1, &s1), &s1v, &keep);
    vals_into(&s1.dismiss(&e1, 1), &dismissed, &keep);
    vals_into(&s2.on(&s1.map(|v| *v == 3), 0), &gated, &keep);
    let step = Step::new();
    send1.send_on(&step, 1);
    send2.send_on(&step, 2);
    set1.set_on(&step, 3);
    set2.set_on(&step, 4);
    step.execute();
    assert_eq!(*never.borrow(), Vec::<i32>::new());
    assert_eq!(*merged.borrow(), vec![vec![2, 1]]);
    assert_eq!(*s1v.borrow(), vec![3]);
    assert_eq!(*dismissed.borrow(), vec![99]);
    assert_eq!(*gated.borrow(), vec![0, 4]);
}

#[test]
fn react_suite_a_join_below_nodes_of_mixed_ranks_updates_once() {
    // React's "jake heap bug": several nodes of ranks 1 and 2, then a join
    // of rank 4 over a rank-3 chain.
    let (a, set) = s::create(0);
    let keep = bin();
    let a1 = a.map(|x| *x);
    for _ in 0..3 {
        keep.borrow_mut()
            .push(Box::new(s::l2(|x: &i32, y: &i32| x + y, &a1, &a)));
    }
    for _ in 0..2 {
        keep.borrow_mut()
            .push(Box::new(s::l2(|x: &i32, y: &i32| x + y, &a, &a)));
    }
    let d = a.map(|x| x + 1).map(|x| *x).map(|x| *x);
    let h = s::l2(|x: &i32, y: &i32| x + y, &a, &d);
    let hl = log();
    vals_into(&h, &hl, &keep);
    set.set(2);
    assert_eq!(*hl.borrow(), vec![1, 5]);
}

// Signals made during a step: their first value comes at their turn.

#[test]
fn a_signal_made_in_a_step_sees_only_final_values() {
    let (x, set) = s::create(0);
    let hx = high_s(&x);
    let keep = bin();
    let seen: Log<(i32, i32)> = log();
    let (x2, hx2, k2, seen2) = (x.clone(), hx.clone(), keep.clone(), seen.clone());
    let _dyn = x.map(move |v| {
        if *v == 1 {
            let s2 = seen2.clone();
            let pair = s::l2(
                move |a: &i32, b: &i32| {
                    s2.borrow_mut().push((*a, *b));
                    a + b
                },
                &x2,
                &hx2,
            );
            k2.borrow_mut().push(Box::new(pair));
        }
    });
    set.set(1);
    set.set(2);
    assert_eq!(
        *seen.borrow(),
        vec![(1, 1), (2, 2)],
        "never the old `hx` with the new `x`"
    );
}

#[test]
fn bind_made_in_a_step_calls_its_function_once_with_the_final_value() {
    let (x, set) = s::create(0);
    let hx = high_s(&x);
    let keep = bin();
    let calls: Log<i32> = log();
    let (hx2, k2, c2) = (hx.clone(), keep.clone(), calls.clone());
    let _dyn = x.map(move |v| {
        if *v == 1 {
            let c3 = c2.clone();
            let b = hx2.bind(move |v| {
                c3.borrow_mut().push(*v);
                s::const_(*v * 10)
            });
            k2.borrow_mut().push(Box::new(b));
        }
    });
    set.set(1);
    assert_eq!(*calls.borrow(), vec![1]);
    set.set(2);
    assert_eq!(*calls.borrow(), vec![1, 2]);
    let b = keep.borrow()[0].downcast_ref::<Signal<i32>>().unwrap().clone();
    assert_eq!(b.value(), 20);
}

#[test]
fn reading_a_signal_made_in_a_step_before_its_turn_computes_it_at_once() {
    let (x, set) = s::create(0);
    let hx = high_s(&x);
    let keep = bin();
    let early: Log<i32> = log();
    let (hx2, k2, e2) = (hx.clone(), keep.clone(), early.clone());
    let _dyn = x.map(move |v| {
        if *v == 1 {
            let d = hx2.map(|v| v * 10);
            // `hx` has not had its turn yet: the early value reads its old
            // value; `d` is computed again at its turn.
            e2.borrow_mut().push(d.value());
            k2.borrow_mut().push(Box::new(d));
        }
    });
    set.set(1);
    assert_eq!(*early.borrow(), vec![0]);
    let d = keep.borrow()[0].downcast_ref::<Signal<i32>>().unwrap().clone();
    assert_eq!(d.value(), 10, "right once the step is over");
}

#[test]
fn a_signal_made_in_a_step_has_no_value_to_print_before_its_turn() {
    let (x, set) = s::create(0);
    let hx = high_s(&x);
    let printed: Log<String> = log();
    let (hx2, p2) = (hx.clone(), printed.clone());
    let _dyn = x.map(move |v| {
        if *v == 1 {
            let d = hx2.map(|v| v * 10);
            p2.borrow_mut().push(format!("{d:?}"));
            d.value();
            p2.borrow_mut().push(format!("{d:?}"));
        }
    });
    set.set(1);
    assert_eq!(*printed.borrow(), vec!["Signal(<no value yet>)", "Signal(0)"]);
}

#[test]
fn a_signal_made_in_a_step_whose_first_computation_panics_is_computed_when_read() {
    let hook = hook_log();
    let (x, set) = s::create(0);
    let keep = bin();
    let fail = Rc::new(Cell::new(true));
    let (x2, k2, f2) = (x.clone(), keep.clone(), fail.clone());
    let _dyn = x.map(move |v| {
        if *v == 1 {
            let f3 = f2.clone();
            let d = x2.map(move |v| {
                if f3.get() {
                    panic!("first computation");
                }
                v * 10
            });
            k2.borrow_mut().push(Box::new(d));
        }
    });
    set.set(1);
    assert_eq!(hook.borrow().len(), 1, "{:?}", hook.borrow());
    let d = keep.borrow()[0].downcast_ref::<Signal<i32>>().unwrap().clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| d.value()));
    assert!(r.is_err(), "still no value: the read panics");
    assert_eq!(hook.borrow().len(), 2, "the retry's panic went to the hook too");
    fail.set(false);
    assert_eq!(d.value(), 10, "computed when read, in a step of its own");
    set.set(2);
    assert_eq!(d.value(), 20);
}

#[test]
fn a_signal_made_in_a_step_and_stopped_before_its_turn_keeps_a_value() {
    let (x, set) = s::create(0);
    let hx = high_s(&x);
    let keep = bin();
    let (hx2, k2) = (hx.clone(), keep.clone());
    let _dyn = x.map(move |v| {
        if *v == 1 {
            let d = hx2.map(|v| v * 10);
            d.stop();
            k2.borrow_mut().push(Box::new(d));
        }
    });
    set.set(1);
    let d = keep.borrow()[0].downcast_ref::<Signal<i32>>().unwrap().clone();
    assert_eq!(d.value(), 0, "computed when stopped, from `hx` before its turn");
    set.set(2);
    assert_eq!(d.value(), 0);
}

#[test]
fn reading_a_bind_made_in_a_step_before_its_turn_gives_a_value() {
    // The inner signal ranks above the switch: at its turn the switch waits
    // for it; read early, it takes the inner signal's current value.
    let (x, set) = s::create(0);
    let (y, _set_y) = s::create(5);
    let keep = bin();
    let early: Log<i32> = log();
    let (y2, k2, e2) = (y.clone(), keep.clone(), early.clone());
    let _dyn = x.map(move |v| {
        if *v == 1 {
            let y3 = y2.clone();
            let b = x_bind(&y2, move |v| high_s(&y3).map(move |w| v + w));
            e2.borrow_mut().push(b.value());
            k2.borrow_mut().push(Box::new(b));
        }
    });
    set.set(1);
    assert_eq!(*early.borrow(), vec![10]);
    let b = keep.borrow()[0].downcast_ref::<Signal<i32>>().unwrap().clone();
    assert_eq!(b.value(), 10);
}

fn x_bind(s: &Signal<i32>, f: impl Fn(i32) -> Signal<i32> + 'static) -> Signal<i32> {
    s.bind(move |v| f(*v))
}
