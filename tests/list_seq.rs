//! Lwt_list and Lwt_seq: results, error propagation, the serial/parallel
//! rule of `_s` and `_p`, big inputs, and Lwt_seq's laziness.

use std::cell::{Cell, RefCell};
use std::fmt::Debug;
use std::rc::Rc;

use lwt::seq::{self, Node, Seq};
use lwt::{list, pause, resolved, wait, ErrorKind, Promise, State};

mod drive;
use drive::{fulfilled, rejected_with};

/// A callback that panics on its second call: the list function must turn
/// that into a rejected promise, never let it escape.
fn fails_on_second_call<A, R: 'static>(ok: impl Fn() -> R + 'static) -> impl FnMut(A) -> Promise<R> {
    let mut calls = 0;
    move |_| {
        calls += 1;
        if calls == 2 {
            panic!("Exception")
        }
        resolved(ok())
    }
}

fn panicked<T: Clone + Debug + 'static>(p: &Promise<T>) -> bool {
    let e = rejected_with(p);
    e.kind() == ErrorKind::Panic && e.message() == "Exception"
}

/// Element 0's promise waits for `gate`; the others are immediate. Returns
/// how many times `f` ran by the time the result is built, and whether the
/// result was pending then.
struct Gate {
    calls: Rc<Cell<usize>>,
    gate: Promise<()>,
    open: lwt::Resolver<()>,
}

fn gate() -> Gate {
    let (gate, open) = wait::<()>();
    Gate {
        calls: Rc::new(Cell::new(0)),
        gate,
        open,
    }
}

impl Gate {
    /// A callback that counts calls; the first call waits for the gate.
    fn f<A, R: Clone + 'static>(&self, v: R) -> impl FnMut(A) -> Promise<R> {
        let (calls, gate) = (self.calls.clone(), self.gate.clone());
        move |_| {
            calls.set(calls.get() + 1);
            let v = v.clone();
            if calls.get() == 1 {
                gate.clone().map(move |()| v)
            } else {
                resolved(v)
            }
        }
    }

    fn pred<A>(&self, v: bool) -> impl FnMut(&A) -> Promise<bool> {
        let mut f = self.f::<(), bool>(v);
        move |_| f(())
    }
}

// ------------------------------------------------------------------ list

#[test]
fn iter_s_and_iter_p_call_f_on_every_element() {
    for parallel in [false, true] {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s = seen.clone();
        let f = move |x: i32| {
            s.borrow_mut().push(x);
            resolved(())
        };
        let p = if parallel {
            list::iter_p(f, vec![1, 2, 3])
        } else {
            list::iter_s(f, vec![1, 2, 3])
        };
        fulfilled(&p);
        assert_eq!(*seen.borrow(), vec![1, 2, 3]);
    }
}

#[test]
fn iteri_s_and_iteri_p_pass_the_index() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    fulfilled(&list::iteri_s(
        move |i, x: char| {
            s.borrow_mut().push((i, x));
            resolved(())
        },
        "ab".chars(),
    ));
    let s = seen.clone();
    fulfilled(&list::iteri_p(
        move |i, x: char| {
            s.borrow_mut().push((i, x));
            resolved(())
        },
        "cd".chars(),
    ));
    assert_eq!(*seen.borrow(), vec![(0, 'a'), (1, 'b'), (0, 'c'), (1, 'd')]);
}

#[test]
fn map_s_and_map_p_keep_the_input_order() {
    let f = |x: i32| resolved(x * 10);
    assert_eq!(fulfilled(&list::map_s(f, vec![1, 2, 3])), vec![10, 20, 30]);
    assert_eq!(fulfilled(&list::map_p(f, vec![1, 2, 3])), vec![10, 20, 30]);
}

#[test]
fn map_p_keeps_the_input_order_whatever_the_completion_order() {
    let (a, ra) = wait::<u32>();
    let (b, rb) = wait::<u32>();
    let mut inputs = vec![a, b].into_iter();
    let p = list::map_p(move |_: u32| inputs.next().unwrap(), vec![0, 1]);
    rb.wakeup(2);
    ra.wakeup(1);
    assert_eq!(fulfilled(&p), vec![1, 2]);
}

#[test]
fn mapi_and_rev_map_variants() {
    let f = |i: usize, x: i32| resolved(i as i32 * 100 + x);
    assert_eq!(fulfilled(&list::mapi_s(f, vec![1, 2])), vec![1, 102]);
    assert_eq!(fulfilled(&list::mapi_p(f, vec![1, 2])), vec![1, 102]);
    let g = |x: i32| resolved(x + 1);
    assert_eq!(fulfilled(&list::rev_map_s(g, vec![1, 2, 3])), vec![4, 3, 2]);
    assert_eq!(fulfilled(&list::rev_map_p(g, vec![1, 2, 3])), vec![4, 3, 2]);
}

#[test]
fn fold_left_s_and_fold_right_s_fold_in_their_direction() {
    let l = fulfilled(&list::fold_left_s(
        |acc: String, x: char| resolved(format!("{acc}{x}")),
        String::new(),
        "abc".chars(),
    ));
    let r = fulfilled(&list::fold_right_s(
        |x: char, acc: String| resolved(format!("{acc}{x}")),
        "abc".chars(),
        String::new(),
    ));
    assert_eq!((l.as_str(), r.as_str()), ("abc", "cba"));
}

#[test]
fn for_all_and_exists_in_both_modes() {
    let pos = |x: i32| resolved(x > 0);
    assert!(fulfilled(&list::for_all_s(pos, vec![1, 2])));
    assert!(fulfilled(&list::for_all_p(pos, vec![1, 2])));
    assert!(!fulfilled(&list::for_all_s(pos, vec![1, -2])));
    assert!(!fulfilled(&list::for_all_p(pos, vec![1, -2])));
    assert!(fulfilled(&list::exists_s(pos, vec![-1, 2])));
    assert!(fulfilled(&list::exists_p(pos, vec![-1, 2])));
    assert!(!fulfilled(&list::exists_s(pos, vec![-1, -2])));
    assert!(!fulfilled(&list::exists_p(pos, vec![-1, -2])));
    assert!(fulfilled(&list::for_all_s(pos, Vec::new())));
    assert!(!fulfilled(&list::exists_p(pos, Vec::new())));
}

#[test]
fn find_s_gives_the_first_match_or_none() {
    let even = |x: &i32| resolved(x % 2 == 0);
    assert_eq!(fulfilled(&list::find_s(even, vec![1, 2, 4])), Some(2));
    assert_eq!(fulfilled(&list::find_s(even, vec![1, 3])), None);
}

#[test]
fn filter_filter_map_and_partition_in_both_modes() {
    let even = |x: &i32| resolved(x % 2 == 0);
    let half = |x: i32| resolved((x % 2 == 0).then_some(x / 2));
    assert_eq!(fulfilled(&list::filter_s(even, 1..=6)), vec![2, 4, 6]);
    assert_eq!(fulfilled(&list::filter_p(even, 1..=6)), vec![2, 4, 6]);
    assert_eq!(fulfilled(&list::filter_map_s(half, 1..=6)), vec![1, 2, 3]);
    assert_eq!(fulfilled(&list::filter_map_p(half, 1..=6)), vec![1, 2, 3]);
    assert_eq!(fulfilled(&list::partition_s(even, 1..=4)), (vec![2, 4], vec![1, 3]));
    assert_eq!(fulfilled(&list::partition_p(even, 1..=4)), (vec![2, 4], vec![1, 3]));
}

#[test]
fn a_panicking_callback_rejects_every_list_function() {
    let three = || vec![(), (), ()];
    assert!(panicked(&list::iter_s(fails_on_second_call(|| ()), three())));
    assert!(panicked(&list::iter_p(fails_on_second_call(|| ()), three())));
    let mut f = fails_on_second_call::<(), ()>(|| ());
    assert!(panicked(&list::iteri_s(move |_, x| f(x), three())));
    let mut f = fails_on_second_call::<(), ()>(|| ());
    assert!(panicked(&list::iteri_p(move |_, x| f(x), three())));
    assert!(panicked(&list::map_s(fails_on_second_call(|| 1), three())));
    assert!(panicked(&list::map_p(fails_on_second_call(|| 1), three())));
    let mut f = fails_on_second_call::<(), i32>(|| 1);
    assert!(panicked(&list::mapi_s(move |_, x| f(x), three())));
    let mut f = fails_on_second_call::<(), i32>(|| 1);
    assert!(panicked(&list::mapi_p(move |_, x| f(x), three())));
    assert!(panicked(&list::rev_map_s(fails_on_second_call(|| 1), three())));
    assert!(panicked(&list::rev_map_p(fails_on_second_call(|| 1), three())));
    let mut f = fails_on_second_call::<(), ()>(|| ());
    assert!(panicked(&list::fold_left_s(move |(), x| f(x), (), three())));
    let mut f = fails_on_second_call::<(), ()>(|| ());
    assert!(panicked(&list::fold_right_s(move |x, ()| f(x), three(), ())));
    assert!(panicked(&list::for_all_s(fails_on_second_call(|| true), three())));
    assert!(panicked(&list::for_all_p(fails_on_second_call(|| true), three())));
    assert!(panicked(&list::exists_s(fails_on_second_call(|| false), three())));
    assert!(panicked(&list::exists_p(fails_on_second_call(|| false), three())));
    let mut f = fails_on_second_call::<(), bool>(|| false);
    assert!(panicked(&list::find_s(move |_: &()| f(()), three())));
    let mut f = fails_on_second_call::<(), bool>(|| true);
    assert!(panicked(&list::filter_s(move |_: &()| f(()), three())));
    let mut f = fails_on_second_call::<(), bool>(|| true);
    assert!(panicked(&list::filter_p(move |_: &()| f(()), three())));
    assert!(panicked(&list::filter_map_s(fails_on_second_call(|| Some(1)), three())));
    assert!(panicked(&list::filter_map_p(fails_on_second_call(|| Some(1)), three())));
    let mut f = fails_on_second_call::<(), bool>(|| true);
    assert!(panicked(&list::partition_s(move |_: &()| f(()), three())));
    let mut f = fails_on_second_call::<(), bool>(|| true);
    assert!(panicked(&list::partition_p(move |_: &()| f(()), three())));
}

#[test]
fn a_rejection_stops_a_serial_walk() {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let p = list::iter_s(
        move |x: i32| {
            c.set(c.get() + 1);
            if x == 2 {
                lwt::fail_with("two")
            } else {
                resolved(())
            }
        },
        1..=5,
    );
    assert_eq!(rejected_with(&p).message(), "two");
    assert_eq!(calls.get(), 2);
}

#[test]
fn a_parallel_walk_waits_for_everything_then_rejects() {
    let (slow, r) = wait::<()>();
    let mut promises = vec![lwt::fail_with("first"), slow].into_iter();
    let p = list::iter_p(move |_: i32| promises.next().unwrap(), vec![0, 1]);
    assert!(p.is_pending(), "still waiting for the slow element");
    r.wakeup(());
    assert_eq!(rejected_with(&p).message(), "first");
}

/// `_p`: `f` runs on every element before the first one's promise resolves.
#[test]
fn parallel_functions_start_every_element_at_once() {
    macro_rules! check {
        ($call:expr, $g:ident) => {{
            let p = $call;
            assert_eq!($g.calls.get(), 3, "f ran on all three elements");
            assert!(p.is_pending());
            $g.open.wakeup(());
            fulfilled(&p);
        }};
    }
    let g = gate();
    check!(list::iter_p(g.f(()), vec![1, 2, 3]), g);
    let g = gate();
    let mut f = g.f(());
    check!(list::iteri_p(move |_, x: i32| f(x), vec![1, 2, 3]), g);
    let g = gate();
    check!(list::map_p(g.f(0), vec![1, 2, 3]), g);
    let g = gate();
    let mut f = g.f(0);
    check!(list::mapi_p(move |_, x: i32| f(x), vec![1, 2, 3]), g);
    let g = gate();
    check!(list::rev_map_p(g.f(0), vec![1, 2, 3]), g);
    let g = gate();
    check!(list::for_all_p(g.f(true), vec![1, 2, 3]), g);
    let g = gate();
    check!(list::exists_p(g.f(false), vec![1, 2, 3]), g);
    let g = gate();
    check!(list::filter_p(g.pred(true), vec![1, 2, 3]), g);
    let g = gate();
    check!(list::filter_map_p(g.f(Some(0)), vec![1, 2, 3]), g);
    let g = gate();
    check!(list::partition_p(g.pred(true), vec![1, 2, 3]), g);
}

/// `_s`: `f` does not run on the second element before the first one's
/// promise resolves.
#[test]
fn serial_functions_wait_for_each_element() {
    macro_rules! check {
        ($call:expr, $g:ident) => {{
            let p = $call;
            assert_eq!($g.calls.get(), 1, "only the first element was started");
            assert!(p.is_pending());
            $g.open.wakeup(());
            fulfilled(&p);
            assert_eq!($g.calls.get(), 3);
        }};
    }
    let g = gate();
    check!(list::iter_s(g.f(()), vec![1, 2, 3]), g);
    let g = gate();
    let mut f = g.f(());
    check!(list::iteri_s(move |_, x: i32| f(x), vec![1, 2, 3]), g);
    let g = gate();
    check!(list::map_s(g.f(0), vec![1, 2, 3]), g);
    let g = gate();
    let mut f = g.f(0);
    check!(list::mapi_s(move |_, x: i32| f(x), vec![1, 2, 3]), g);
    let g = gate();
    check!(list::rev_map_s(g.f(0), vec![1, 2, 3]), g);
    let g = gate();
    let mut f = g.f(());
    check!(list::fold_left_s(move |(), x: i32| f(x), (), vec![1, 2, 3]), g);
    let g = gate();
    let mut f = g.f(());
    check!(list::fold_right_s(move |x: i32, ()| f(x), vec![1, 2, 3], ()), g);
    let g = gate();
    check!(list::for_all_s(g.f(true), vec![1, 2, 3]), g);
    let g = gate();
    check!(list::exists_s(g.f(false), vec![1, 2, 3]), g);
    let g = gate();
    check!(list::find_s(g.pred(false), vec![1, 2, 3]), g);
    let g = gate();
    check!(list::filter_s(g.pred(true), vec![1, 2, 3]), g);
    let g = gate();
    check!(list::filter_map_s(g.f(Some(0)), vec![1, 2, 3]), g);
    let g = gate();
    check!(list::partition_s(g.pred(true), vec![1, 2, 3]), g);
}

const BIG: u64 = 1_000_000;

#[test]
fn serial_functions_handle_a_million_elements() {
    let sum = Rc::new(Cell::new(0u64));
    let s = sum.clone();
    fulfilled(&list::iter_s(
        move |x| {
            s.set(s.get() + x);
            resolved(())
        },
        0..BIG,
    ));
    assert_eq!(sum.get(), BIG * (BIG - 1) / 2);
    assert_eq!(
        fulfilled(&list::map_s(|x: u64| resolved(x), 0..BIG)).len(),
        BIG as usize
    );
    assert_eq!(
        fulfilled(&list::fold_left_s(|a, x: u64| resolved(a + x), 0, 0..BIG)),
        BIG * (BIG - 1) / 2
    );
    assert_eq!(
        fulfilled(&list::fold_right_s(|x: u64, a| resolved(a + x), 0..BIG, 0)),
        BIG * (BIG - 1) / 2
    );
    assert!(fulfilled(&list::for_all_s(|_x: u64| resolved(true), 0..BIG)));
    assert!(!fulfilled(&list::exists_s(|_x: u64| resolved(false), 0..BIG)));
    assert_eq!(
        fulfilled(&list::find_s(|x: &u64| resolved(*x == BIG - 1), 0..BIG)),
        Some(BIG - 1)
    );
    assert_eq!(
        fulfilled(&list::filter_s(|x: &u64| resolved(x % 2 == 0), 0..BIG)).len(),
        (BIG / 2) as usize
    );
    let (even, odd) = fulfilled(&list::partition_s(|x: &u64| resolved(x % 2 == 0), 0..BIG));
    assert_eq!((even.len(), odd.len()), ((BIG / 2) as usize, (BIG / 2) as usize));
}

#[test]
fn parallel_functions_handle_a_million_elements() {
    assert_eq!(
        fulfilled(&list::map_p(|x: u64| resolved(x), 0..BIG)).len(),
        BIG as usize
    );
    fulfilled(&list::iter_p(|_x: u64| resolved(()), 0..BIG));
    assert!(fulfilled(&list::for_all_p(|_x: u64| resolved(true), 0..BIG)));
    assert_eq!(
        fulfilled(&list::filter_p(|x: &u64| resolved(x % 2 == 0), 0..BIG)).len(),
        (BIG / 2) as usize
    );
}

#[test]
fn a_serial_walk_over_pausing_promises_runs_in_constant_memory() {
    let p = list::iter_s(|_x: u32| pause(), 0..100_000);
    let mut peak = 0;
    while p.is_pending() {
        lwt::wakeup_paused();
        peak = peak.max(lwt::live_promises());
    }
    assert!(p.is_fulfilled());
    assert!(peak < 20, "live promises peaked at {peak}");
}

// ------------------------------------------------------------------- seq

fn ints() -> Seq<i32> {
    seq::of_list(vec![1, 2, 3])
}

#[test]
fn fold_left_and_fold_left_s() {
    assert_eq!(fulfilled(&seq::fold_left(|a, x| a + x, 0, ints())), 6);
    assert_eq!(
        fulfilled(&seq::fold_left_s(|a, x| pause().map(move |()| a + x), 0, ints())),
        6
    );
    assert_eq!(fulfilled(&seq::fold_left(|a, x: i32| a + x, 0, seq::empty())), 0);
}

#[test]
fn map_and_map_s() {
    assert_eq!(fulfilled(&seq::to_list(seq::map(|x| x * 2, ints()))), vec![2, 4, 6]);
    assert_eq!(
        fulfilled(&seq::to_list(seq::map_s(|x| pause().map(move |()| x + 1), ints()))),
        vec![2, 3, 4]
    );
}

#[test]
fn filter_and_filter_s() {
    assert_eq!(
        fulfilled(&seq::to_list(seq::filter(|x| x % 2 == 1, ints()))),
        vec![1, 3]
    );
    assert_eq!(
        fulfilled(&seq::to_list(seq::filter_s(|x| resolved(*x > 1), ints()))),
        vec![2, 3]
    );
}

#[test]
fn filter_map_and_filter_map_s() {
    let f = |x: i32| (x != 2).then_some(x * 10);
    assert_eq!(fulfilled(&seq::to_list(seq::filter_map(f, ints()))), vec![10, 30]);
    assert_eq!(
        fulfilled(&seq::to_list(seq::filter_map_s(move |x| resolved(f(x)), ints()))),
        vec![10, 30]
    );
    assert_eq!(
        fulfilled(&seq::to_list(seq::filter_map(|_: i32| None::<i32>, ints()))),
        Vec::<i32>::new()
    );
}

#[test]
fn unfold_and_unfold_lwt() {
    let s = seq::unfold(|n: u32| (n < 3).then_some((n, n + 1)), 0);
    assert_eq!(fulfilled(&seq::to_list(s)), vec![0, 1, 2]);
    let s = seq::unfold_lwt(|n: u32| pause().map(move |()| (n < 3).then_some((n * n, n + 1))), 0);
    assert_eq!(fulfilled(&seq::to_list(s)), vec![0, 1, 4]);
}

#[test]
fn building_blocks_cons_once_append_flat_map() {
    let s = seq::append(seq::cons(0, seq::once(1)), ints());
    assert_eq!(fulfilled(&seq::to_list(s)), vec![0, 1, 1, 2, 3]);
    let s = seq::flat_map(|x: i32| seq::of_list(vec![x; x as usize]), ints());
    assert_eq!(fulfilled(&seq::to_list(s)), vec![1, 2, 2, 3, 3, 3]);
    let (p, r) = wait::<i32>();
    let s = seq::cons_lwt(p, seq::of_promise(resolved(9)));
    let l = seq::to_list(s);
    assert!(l.is_pending());
    r.wakeup(8);
    assert_eq!(fulfilled(&l), vec![8, 9]);
    let collected: Seq<char> = "hi".chars().collect();
    assert_eq!(fulfilled(&seq::to_list(collected)), vec!['h', 'i']);
}

#[test]
fn of_iter_and_of_iter_lwt() {
    assert_eq!(fulfilled(&seq::to_list(seq::of_iter(1..4))), vec![1, 2, 3]);
    let promises = vec![resolved(1), pause().map(|()| 2)];
    let s = seq::of_iter_lwt(promises.into_iter());
    assert_eq!(fulfilled(&seq::to_list(s)), vec![1, 2]);
}

#[test]
fn transformers_are_lazy_and_retraversal_recomputes() {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let s = seq::map(
        move |x: i32| {
            c.set(c.get() + 1);
            x
        },
        ints(),
    );
    assert_eq!(calls.get(), 0, "nothing is computed before forcing");
    let first = s.force();
    assert_eq!(calls.get(), 1, "forcing computes one node");
    assert!(matches!(first.state_ref_node(), Some(true)));
    fulfilled(&seq::to_list(s.clone()));
    fulfilled(&seq::to_list(s));
    assert_eq!(calls.get(), 1 + 3 + 3, "each traversal computes again");
}

trait NodeState {
    fn state_ref_node(&self) -> Option<bool>;
}

impl<T: 'static> NodeState for Promise<Node<T>> {
    /// `Some(true)` for a resolved `Cons`, `Some(false)` for `Nil`.
    fn state_ref_node(&self) -> Option<bool> {
        self.with_state(|st| match st {
            State::Fulfilled(Node::Cons(..)) => Some(true),
            State::Fulfilled(Node::Nil) => Some(false),
            _ => None,
        })
    }
}

#[test]
fn map_s_forces_the_next_node_only_after_f() {
    let forced = Rc::new(Cell::new(0));
    let fo = forced.clone();
    let source = seq::unfold(
        move |n: u32| {
            fo.set(fo.get() + 1);
            (n < 2).then_some((n, n + 1))
        },
        0,
    );
    let (gate, open) = wait::<()>();
    let s = seq::map_s(move |x| gate.clone().map(move |()| x), source);
    let l = seq::to_list(s);
    assert_eq!(forced.get(), 1, "the second node waits for f's promise");
    open.wakeup(());
    assert_eq!(fulfilled(&l), vec![0, 1]);
}

#[test]
fn iter_iter_s_and_iter_p_visit_every_element() {
    for mode in 0..3 {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s = seen.clone();
        let p = match mode {
            0 => seq::iter(move |x| s.borrow_mut().push(x), ints()),
            1 => seq::iter_s(
                move |x| {
                    let s = s.clone();
                    pause().map(move |()| s.borrow_mut().push(x))
                },
                ints(),
            ),
            _ => seq::iter_p(
                move |x| {
                    let s = s.clone();
                    pause().map(move |()| s.borrow_mut().push(x))
                },
                ints(),
            ),
        };
        fulfilled(&p);
        assert_eq!(*seen.borrow(), vec![1, 2, 3], "mode {mode}");
    }
}

#[test]
fn iter_p_starts_f_without_waiting_for_earlier_calls() {
    let started = Rc::new(Cell::new(0));
    let s = started.clone();
    let p = seq::iter_p(
        move |_x: i32| {
            s.set(s.get() + 1);
            pause()
        },
        ints(),
    );
    assert_eq!(started.get(), 3);
    assert!(p.is_pending());
    fulfilled(&p);
}

#[test]
fn iter_n_keeps_at_most_n_calls_in_flight() {
    for max in [1, 2, 100] {
        let running = Rc::new(Cell::new(0));
        let peak = Rc::new(Cell::new(0));
        let sum = Rc::new(Cell::new(0));
        let (r, pk, sm) = (running.clone(), peak.clone(), sum.clone());
        let p = seq::iter_n(
            max,
            move |x: i32| {
                r.set(r.get() + 1);
                pk.set(pk.get().max(r.get()));
                let (r, sm) = (r.clone(), sm.clone());
                pause().map(move |()| {
                    sm.set(sm.get() + x);
                    r.set(r.get() - 1);
                })
            },
            seq::of_list((1..=10).collect()),
        );
        fulfilled(&p);
        assert_eq!(sum.get(), 55);
        assert_eq!(peak.get(), max.min(10), "max_concurrency {max}");
    }
}

#[test]
fn iter_n_with_zero_concurrency_is_rejected() {
    let e = rejected_with(&seq::iter_n(0, |_x: i32| resolved(()), ints()));
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("max_concurrency must be > 0"));
}

#[test]
fn a_panic_while_forcing_a_later_node_rejects_the_fold() {
    let s = seq::cons(1, seq::cons(2, Seq::new(|| panic!("XXX"))));
    let e = rejected_with(&seq::fold_left(|a, x| a + x, 0, s));
    assert_eq!((e.kind(), e.message().as_str()), (ErrorKind::Panic, "XXX"));
}

#[test]
fn a_panic_while_forcing_the_first_node_rejects_the_fold() {
    let s: Seq<i32> = Seq::new(|| panic!("XXX"));
    let e = rejected_with(&seq::fold_left(|a, x| a + x, 0, s));
    assert_eq!(e.message(), "XXX");
}

#[test]
fn a_rejected_node_from_of_iter_lwt_rejects_the_fold() {
    let promises = vec![resolved(1), resolved(2), lwt::fail_with("XXX")];
    let e = rejected_with(&seq::fold_left(|a, x| a + x, 0, seq::of_iter_lwt(promises.into_iter())));
    assert_eq!(e.message(), "XXX");
    let first_fails: Vec<Promise<i32>> = vec![lwt::fail_with("XXX")];
    let e = rejected_with(&seq::fold_left(
        |a, x| a + x,
        0,
        seq::of_iter_lwt(first_fails.into_iter()),
    ));
    assert_eq!(e.message(), "XXX");
}

#[test]
fn folds_commute_with_the_list_versions() {
    let fs: [fn(i64, i64) -> i64; 4] = [|a, x| a + x, |a, x| a - x, |a, _| a, |a, x| a.max(x)];
    let lists: Vec<Vec<i64>> = vec![
        vec![],
        vec![1, 2, 3],
        vec![3, 2, 1, 1, 2, 3],
        vec![0, 0, 0],
        vec![i64::MAX / 4, 0, i64::MIN / 4],
    ];
    for f in fs {
        for l in &lists {
            for c in [0i64, 1, 44, -5] {
                let expected = l.iter().fold(c, |a, x| f(a, *x));
                assert_eq!(fulfilled(&seq::fold_left(f, c, seq::of_list(l.clone()))), expected);
                let r = Rc::new(Cell::new(c));
                let r2 = r.clone();
                fulfilled(&seq::iter_p(
                    move |x| {
                        let r2 = r2.clone();
                        pause().map(move |()| r2.set(f(r2.get(), x)))
                    },
                    seq::of_list(l.clone()),
                ));
                if f(f(c, 1), 2) == f(f(c, 2), 1) {
                    assert_eq!(r.get(), expected);
                }
            }
        }
    }
}

#[test]
fn a_long_sequence_is_consumed_without_stack_growth() {
    let s = seq::unfold(|n: u64| (n < BIG).then_some((n, n + 1)), 0);
    assert_eq!(fulfilled(&seq::fold_left(|a, x| a + x, 0, s)), BIG * (BIG - 1) / 2);
    let s = seq::unfold(|n: u64| (n < 100_000).then_some((n, n + 1)), 0);
    let evens = seq::filter(|x| x % 2 == 0, s);
    assert_eq!(fulfilled(&seq::to_list(evens)).len(), 50_000);
}

#[test]
fn seq_iter_n_over_a_long_sequence_of_resolved_calls_uses_no_stack() {
    let count = Rc::new(Cell::new(0u32));
    let c = count.clone();
    let done = lwt::seq::iter_n(
        2,
        move |_x: u32| {
            c.set(c.get() + 1);
            resolved(())
        },
        lwt::seq::of_iter(0..1_000_000u32),
    );
    fulfilled(&done);
    assert_eq!(count.get(), 1_000_000);
}
