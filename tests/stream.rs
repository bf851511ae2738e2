//! Lwt_stream: the behaviours of Lwt's stream tests, the errors (Closed,
//! Full, Empty), every source kind, the readers and the combinators.

use std::cell::{Cell, RefCell};
use std::fmt::Debug;
use std::rc::Rc;

use lwt::mvar::Mvar;
use lwt::stream::{self, Closed, Empty, Full, Stream};
use lwt::{pause, resolved, Error, ErrorKind, Promise, State};

mod drive;
use drive::{fulfilled, rejected_with, settle};

fn is<E: std::error::Error + 'static>(e: &Error) -> bool {
    e.downcast_ref::<E>().is_some()
}

#[derive(Debug, PartialEq)]
struct Exit;
impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Exit")
    }
}
impl std::error::Error for Exit {}

// ------------------------------------------------------------- sources

#[test]
fn concurrent_reads_of_a_from_stream_get_successive_elements() {
    // Lwt gives all three readers the element of the one pull in flight;
    // here each reader gets its own element (see the module doc).
    let mvar = Mvar::empty();
    let m = mvar.clone();
    let s = stream::from(move || m.take().map(Some));
    let (t1, t2, t3) = (s.next(), s.next(), s.next());
    for v in 1..=3 {
        drop(mvar.put(v));
    }
    assert_eq!((fulfilled(&t1), fulfilled(&t2), fulfilled(&t3)), (1, 2, 3));
}

#[test]
fn a_from_stream_has_one_pull_in_flight_at_a_time() {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let (p, r) = lwt::wait::<Option<u8>>();
    let s = stream::from(move || {
        c.set(c.get() + 1);
        p.clone()
    });
    let (a, b) = (s.get(), s.get());
    assert_eq!(calls.get(), 1);
    r.wakeup(Some(1));
    assert_eq!(fulfilled(&a), Some(1));
    // The second reader found nothing left and pulled again (here `f`
    // returns the same, now fulfilled, promise).
    assert_eq!(fulfilled(&b), Some(1));
    assert_eq!(calls.get(), 2);
}

#[test]
fn once_is_a_closed_stream_of_one_element() {
    let s = stream::once(123);
    assert!(s.is_closed());
    assert_eq!(fulfilled(&s.next()), 123);
}

#[test]
fn of_promise_of_a_resolved_promise() {
    let s = stream::of_promise(resolved(123));
    assert_eq!(fulfilled(&s.next()), 123);
    assert!(s.is_closed());
}

#[test]
fn of_promise_waits_for_the_promise() {
    let s = stream::of_promise(pause().map(|()| 123));
    let x = s.next();
    assert_eq!(fulfilled(&x), 123);
    assert!(s.is_closed());
}

#[test]
fn of_promise_of_a_rejected_promise_is_empty() {
    let s = stream::of_promise(pause().bind(|()| lwt::fail_with::<u8>("not today")));
    let e = rejected_with(&s.next());
    assert!(is::<Empty>(&e));
}

#[test]
fn of_iter_pulls_lazily() {
    let looked = Rc::new(Cell::new(0));
    let l = looked.clone();
    let mut items = vec![1].into_iter();
    let s = stream::of_iter(std::iter::from_fn(move || {
        l.set(l.get() + 1);
        items.next()
    }));
    let closed_before = s.is_closed();
    let looked_before = looked.get();
    let x1 = fulfilled(&s.get());
    let looked_middle = looked.get();
    let x2 = fulfilled(&s.get());
    assert_eq!((closed_before, s.is_closed()), (false, true));
    assert_eq!((looked_before, looked_middle, looked.get()), (0, 1, 2));
    assert_eq!((x1, x2), (Some(1), None));
}

#[test]
fn of_lwt_seq_forces_nodes_lazily() {
    let forced = Rc::new(Cell::new(0));
    let f = forced.clone();
    let seq = lwt::seq::Seq::new(move || {
        let f = f.clone();
        pause().map(move |()| {
            f.set(f.get() + 1);
            lwt::seq::Node::Cons(1, lwt::seq::empty())
        })
    });
    let s = stream::of_lwt_seq(seq);
    assert!(!s.is_closed());
    assert_eq!(forced.get(), 0);
    assert_eq!(fulfilled(&s.get()), Some(1));
    assert_eq!(forced.get(), 1);
    assert_eq!(fulfilled(&s.get()), None);
    assert!(s.is_closed());
}

#[test]
fn of_list_gives_the_elements_in_order() {
    let s = stream::of_list(vec![1, 2, 3]);
    let got: Vec<i32> = (0..3).map(|_| fulfilled(&s.next())).collect();
    assert_eq!(got, vec![1, 2, 3]);
}

#[test]
fn collect_makes_a_closed_stream() {
    let s: Stream<u32> = (1..=3).collect();
    assert!(s.is_closed());
    assert_eq!(fulfilled(&s.to_list()), vec![1, 2, 3]);
}

#[test]
fn empty_is_closed_and_has_nothing() {
    let s = stream::empty::<u8>();
    assert!(s.is_closed());
    assert_eq!(fulfilled(&s.get()), None);
}

#[test]
fn fail_rejects_the_first_read_then_ends() {
    let s = stream::fail::<u8>(Error::new(Exit));
    assert!(is::<Exit>(&rejected_with(&s.get())));
    assert_eq!(fulfilled(&s.get()), None);
}

// ------------------------------------------------------------- clones

#[test]
fn a_clone_reads_independently() {
    let s1 = stream::of_list(vec![1, 2, 3]);
    let s2 = stream::clone(&s1).unwrap();
    let a1 = fulfilled(&s1.next());
    let b1 = fulfilled(&s2.next());
    let a23 = (fulfilled(&s1.next()), fulfilled(&s1.next()));
    let b23 = (fulfilled(&s2.next()), fulfilled(&s2.next()));
    assert_eq!((a1, a23), (1, (2, 3)));
    assert_eq!((b1, b23), (1, (2, 3)));
}

#[test]
fn a_clone_of_a_push_stream_sees_buffered_and_new_elements() {
    let (s1, push) = stream::create();
    push.push(1).unwrap();
    let s2 = s1.clone_stream().unwrap();
    assert_eq!(s1.next().state(), State::Fulfilled(1));
    assert!(s1.next().is_pending());
    assert_eq!(s2.next().state(), State::Fulfilled(1));
    let pending = s2.next();
    push.push(2).unwrap();
    assert_eq!(fulfilled(&pending), 2);
}

#[test]
fn share_reads_from_the_same_queue() {
    let s = stream::of_list(vec![1, 2, 3]);
    let t = s.share();
    assert_eq!(fulfilled(&t.get()), Some(1));
    assert_eq!(fulfilled(&s.to_list()), vec![2, 3]);
}

#[test]
fn a_bounded_stream_cannot_be_cloned() {
    let (s, _push) = stream::create_bounded::<i32>(1);
    assert_eq!(s.clone_stream().unwrap_err().kind(), ErrorKind::InvalidArgument);
}

// ------------------------------------------------------------- push streams

#[test]
fn pushed_elements_are_read_in_order_until_close() {
    let (s, push) = stream::create();
    for i in 1..=3 {
        push.push(i).unwrap();
    }
    push.close();
    assert_eq!(fulfilled(&s.to_list()), vec![1, 2, 3]);
}

#[test]
fn next_at_the_end_rejects_with_empty() {
    let (s, push) = stream::create::<u8>();
    push.close();
    let t = s.next();
    assert!(is::<Empty>(&rejected_with(&t)));
}

#[test]
fn get_at_the_end_gives_none() {
    let (s, push) = stream::create::<u8>();
    push.close();
    assert_eq!(fulfilled(&s.get()), None);
}

#[test]
fn push_after_close_is_a_closed_error() {
    let (_s, push) = stream::create();
    push.close();
    assert!(is::<Closed>(&push.push(1).unwrap_err()));
}

#[test]
fn push_opt_none_twice_is_a_closed_error() {
    let (_s, push) = stream::create::<u8>();
    push.push_opt(None).unwrap();
    assert!(is::<Closed>(&push.push_opt(None).unwrap_err()));
}

#[test]
fn dropping_the_last_pusher_closes_the_stream() {
    let (s, push) = stream::create::<u8>();
    let other = push.clone();
    let r = s.get();
    drop(push);
    assert!(!s.is_closed());
    drop(other);
    assert!(s.is_closed());
    assert_eq!(fulfilled(&r), None);
}

#[test]
fn a_pusher_does_not_keep_elements_of_a_dropped_stream() {
    let (s, push) = stream::create();
    let v = Rc::new(1);
    push.push(v.clone()).unwrap();
    assert_eq!(Rc::strong_count(&v), 2);
    drop(s);
    assert_eq!(Rc::strong_count(&v), 1, "the buffered element went with the stream");
    push.push(v.clone()).unwrap();
    assert_eq!(Rc::strong_count(&v), 1, "later pushes are dropped too");
}

#[test]
fn set_reference_keeps_a_value_alive_with_the_stream() {
    let (s, push) = stream::create::<u8>();
    let r = Rc::new(());
    push.set_reference(r.clone());
    assert_eq!(Rc::strong_count(&r), 2);
    drop(push);
    assert_eq!(Rc::strong_count(&r), 2);
    drop(s);
    assert_eq!(Rc::strong_count(&r), 1);
}

#[test]
fn canceling_a_pending_next_rejects_only_it() {
    let (s, _push) = stream::create::<u8>();
    let t = s.next();
    t.cancel();
    assert!(t.is_canceled());
}

#[test]
fn a_canceled_reader_does_not_take_the_next_element() {
    let (s, push) = stream::create();
    let t = s.next();
    t.cancel();
    push.push(1).unwrap();
    assert_eq!(s.next().state(), State::Fulfilled(1));
}

#[test]
fn canceling_one_of_two_readers_leaves_the_other_served() {
    let (s, push) = stream::create();
    let t1 = s.next();
    let t2 = s.next();
    t1.cancel();
    push.push(1).unwrap();
    assert!(t1.is_canceled());
    assert_eq!(fulfilled(&t2), 1);
}

#[test]
fn waiting_readers_get_successive_pushed_elements() {
    let (s, push) = stream::create();
    let readers: Vec<Promise<u32>> = (0..3).map(|_| s.next()).collect();
    for i in 0..3 {
        push.push(i).unwrap();
    }
    let got: Vec<u32> = readers.iter().map(fulfilled).collect();
    assert_eq!(got, vec![0, 1, 2], "in the order the readers came");
}

// ------------------------------------------------------------- bounded

#[test]
fn bounded_push_blocks_when_full_and_rejects_a_second_blocked_push() {
    let (s, push) = stream::create_bounded(3);
    for i in 1..=3 {
        assert!(push.push(i).is_fulfilled());
    }
    let t = push.push(4);
    assert!(t.is_pending());
    assert!(push.blocked());
    assert!(is::<Full>(&rejected_with(&push.push(5))));
    assert!(is::<Full>(&rejected_with(&push.push(6))));
    assert_eq!(s.get().state(), State::Fulfilled(Some(1)));
    assert!(t.is_fulfilled());
    assert!(!push.blocked());
    assert_eq!(s.get().state(), State::Fulfilled(Some(2)));
    assert!(push.push(7).is_fulfilled());
    push.close();
    assert!(is::<Closed>(&rejected_with(&push.push(8))));
    assert_eq!(fulfilled(&s.to_list()), vec![3, 4, 7]);
}

#[test]
fn closing_a_bounded_stream_ends_a_pending_read() {
    let (s, push) = stream::create_bounded(1);
    assert!(push.push(1).is_fulfilled());
    let all = s.to_list();
    settle();
    push.close();
    assert_eq!(fulfilled(&all), vec![1]);
}

#[test]
fn closing_a_bounded_stream_rejects_the_blocked_push_with_closed() {
    let (s, push) = stream::create_bounded(1);
    drop(push.push(1));
    let blocked = push.push(2);
    push.close();
    assert!(is::<Closed>(&rejected_with(&blocked)));
    assert!(push.closed() && s.is_closed());
    assert_eq!(fulfilled(&s.to_list()), vec![1]);
}

#[test]
fn canceling_a_blocked_bounded_push_withdraws_its_element() {
    let (s, push) = stream::create_bounded(1);
    drop(push.push(1));
    let blocked = push.push(2);
    blocked.cancel();
    assert!(blocked.is_canceled());
    assert!(!push.blocked());
    push.close();
    assert_eq!(fulfilled(&s.to_list()), vec![1]);
}

#[test]
fn resizing_a_bounded_stream_lets_a_blocked_push_in() {
    let (_s, push) = stream::create_bounded(1);
    drop(push.push(1));
    let blocked = push.push(2);
    assert_eq!((push.size(), push.count()), (1, 1));
    push.resize(2);
    assert!(blocked.is_fulfilled());
    assert_eq!((push.size(), push.count()), (2, 2));
}

#[test]
fn a_bounded_stream_of_size_zero_is_a_rendezvous() {
    let (s, push) = stream::create_bounded(0);
    let p = push.push(1);
    assert!(p.is_pending());
    assert_eq!(s.get().state(), State::Fulfilled(Some(1)));
    assert!(p.is_fulfilled());
    let r = s.get();
    assert!(r.is_pending());
    let p2 = push.push(2);
    assert_eq!(fulfilled(&r), Some(2));
    assert!(p2.is_fulfilled());
}

#[test]
fn dropping_the_bounded_pusher_closes_the_stream() {
    let (s, push) = stream::create_bounded::<u8>(2);
    drop(push);
    assert!(s.is_closed());
}

// ------------------------------------------------------------- readers

#[test]
fn get_while_stops_at_the_first_failing_element_and_keeps_it() {
    let s = stream::of_list(vec![1, 2, 3, 4, 5]);
    let l1 = fulfilled(&s.get_while(|x| *x < 3));
    let l2 = fulfilled(&s.to_list());
    assert_eq!((l1, l2), (vec![1, 2], vec![3, 4, 5]));
}

#[test]
fn get_while_s_tests_with_promises() {
    let s = stream::of_list(vec![1, 2, 3]);
    let l1 = fulfilled(&s.get_while_s(|x| {
        let keep = *x < 2;
        pause().map(move |()| keep)
    }));
    assert_eq!((l1, fulfilled(&s.to_list())), (vec![1], vec![2, 3]));
}

#[test]
fn peek_does_not_remove() {
    let s = stream::of_list(vec![1, 2, 3, 4, 5]);
    let x = fulfilled(&s.peek());
    let y = fulfilled(&s.peek());
    assert_eq!((x, y), (Some(1), Some(1)));
    assert_eq!(fulfilled(&s.to_list()), vec![1, 2, 3, 4, 5]);
}

#[test]
fn npeek_does_not_remove() {
    let s = stream::of_list(vec![1, 2, 3, 4, 5]);
    assert_eq!(fulfilled(&s.npeek(3)), vec![1, 2, 3]);
    assert_eq!(fulfilled(&s.npeek(1)), vec![1]);
    assert_eq!(fulfilled(&s.to_list()), vec![1, 2, 3, 4, 5]);
}

#[test]
fn npeek_waits_for_enough_elements_or_the_end() {
    let (s, push) = stream::create();
    let p = s.npeek(2);
    push.push(1).unwrap();
    assert!(p.is_pending());
    push.push(2).unwrap();
    assert_eq!(fulfilled(&p), vec![1, 2]);
    let q = s.npeek(3);
    push.close();
    assert_eq!(fulfilled(&q), vec![1, 2]);
}

#[test]
fn nget_removes_up_to_n() {
    let s = stream::of_list(vec![1, 2, 3]);
    assert_eq!(fulfilled(&s.nget(2)), vec![1, 2]);
    assert_eq!(fulfilled(&s.nget(5)), vec![3]);
    assert_eq!(fulfilled(&s.nget(0)), Vec::<i32>::new());
}

#[test]
fn junk_njunk_and_junk_while_remove_elements() {
    let s = stream::of_list(1..=10);
    fulfilled(&s.junk());
    fulfilled(&s.njunk(2));
    fulfilled(&s.junk_while(|x| *x < 6));
    fulfilled(&s.junk_while_s(|x| resolved(*x < 8)));
    assert_eq!(fulfilled(&s.to_list()), vec![8, 9, 10]);
}

#[test]
fn get_available_takes_what_is_buffered() {
    let (s, push) = stream::create();
    for i in 1..=3 {
        push.push(i).unwrap();
    }
    let l = s.get_available().unwrap();
    push.push(4).unwrap();
    assert_eq!(l, vec![1, 2, 3]);
    assert_eq!(fulfilled(&s.get()), Some(4));
}

#[test]
fn get_available_up_to_takes_at_most_n() {
    let (s, push) = stream::create();
    for i in 1..=4 {
        push.push(i).unwrap();
    }
    assert_eq!(s.get_available_up_to(2).unwrap(), vec![1, 2]);
    assert_eq!(fulfilled(&s.get()), Some(3));
}

#[test]
fn get_available_reports_a_failing_source() {
    let s = stream::from_direct(|| -> Option<u8> { panic!("broken source") });
    assert_eq!(s.get_available().unwrap_err().kind(), ErrorKind::Panic);
}

#[test]
fn junk_available_empties_the_buffer() {
    let (s, push) = stream::create();
    assert!(s.get_available().unwrap().is_empty());
    s.junk_available().unwrap();
    for i in [1, 2, 4] {
        push.push(i).unwrap();
    }
    s.junk_available().unwrap();
    assert!(s.get_available().unwrap().is_empty());
}

#[test]
fn junk_old_empties_the_buffer_as_a_promise() {
    let (s, push) = stream::create();
    for i in [66, 77, 99] {
        push.push(i).unwrap();
    }
    fulfilled(&s.junk_old());
    assert!(s.get_available().unwrap().is_empty());
}

#[test]
fn last_new_returns_the_last_buffered_element() {
    let (s, push) = stream::create();
    for i in 1..=3 {
        push.push(i).unwrap();
    }
    assert_eq!(fulfilled(&s.last_new()), 3);
    assert!(s.get_available().unwrap().is_empty());
}

#[test]
fn last_new_waits_when_nothing_is_buffered() {
    let (s, push) = stream::create();
    let l = s.last_new();
    assert!(l.is_pending());
    push.push(9).unwrap();
    assert_eq!(fulfilled(&l), 9);
}

#[test]
fn last_new_at_the_end_rejects_with_empty() {
    let s = stream::empty::<u8>();
    assert!(is::<Empty>(&rejected_with(&s.last_new())));
}

#[test]
fn is_empty_waits_until_it_knows() {
    let (s, push) = stream::create();
    let e = s.is_empty();
    assert!(e.is_pending());
    push.push(1).unwrap();
    assert!(!fulfilled(&e));
    assert_eq!(fulfilled(&s.get()), Some(1), "is_empty does not consume");
    push.close();
    assert!(fulfilled(&s.is_empty()));
}

#[test]
fn to_string_collects_characters() {
    assert_eq!(fulfilled(&stream::of_string("hello").to_string()), "hello");
}

// ------------------------------------------------------------- closing

#[test]
fn ready_made_streams_are_closed_from_the_start() {
    assert!(stream::of_list(Vec::<u8>::new()).is_closed());
    assert!(stream::of_list(vec![1, 2, 3]).is_closed());
    assert!(stream::of_array::<u8, 0>([]).is_closed());
    assert!(stream::of_array([1, 2, 3]).is_closed());
    assert!(stream::of_string("").is_closed());
    assert!(stream::of_string("123").is_closed());
}

#[test]
fn a_pull_stream_is_closed_once_its_source_ends() {
    assert!(!stream::from_direct(|| Some(1)).is_closed());
    let st = stream::from_direct(|| None::<u8>);
    assert!(!st.is_closed());
    drop(st.junk());
    assert!(st.is_closed());
}

#[test]
fn closed_resolves_when_the_end_is_enqueued() {
    let value = Rc::new(Cell::new(Some(1)));
    let st = stream::from_direct(move || value.take());
    let seen_closed = Rc::new(Cell::new(false));
    let sc = seen_closed.clone();
    let st2 = st.share();
    let watcher = st.closed().map(move |()| sc.set(st2.is_closed()));
    drop(st.peek());
    assert!(!seen_closed.get());
    drop(st.junk());
    drop(st.peek());
    assert!(seen_closed.get());
    assert!(watcher.is_fulfilled());
}

#[test]
fn closed_on_a_closed_stream_is_already_fulfilled() {
    let st = stream::of_list(Vec::<u8>::new());
    assert!(st.is_closed());
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    st.closed().on_termination(move || r.set(true));
    assert!(ran.get());
}

// ------------------------------------------------------------- source errors

#[test]
fn a_from_source_error_reaches_the_reader() {
    let s = stream::from(|| lwt::rejected::<Option<u8>>(Error::new(Exit)));
    assert!(is::<Exit>(&rejected_with(&s.get())));
}

#[test]
fn a_from_direct_panic_reaches_the_reader() {
    let s = stream::from_direct(|| -> Option<u8> { panic!("Exit") });
    assert_eq!(rejected_with(&s.get()).kind(), ErrorKind::Panic);
}

#[test]
fn a_source_error_rejects_to_list() {
    let s = stream::from(|| lwt::rejected::<Option<u8>>(Error::new(Exit)));
    assert!(is::<Exit>(&rejected_with(&s.to_list())));
}

#[test]
fn a_source_error_passes_through_map() {
    let s = stream::from(|| lwt::rejected::<Option<u8>>(Error::new(Exit)));
    let m = s.map(|v| v);
    assert!(is::<Exit>(&rejected_with(&m.get())));
}

#[test]
fn a_from_stream_goes_on_after_a_source_error() {
    let to_feed: Rc<RefCell<Promise<Option<u8>>>> = Rc::new(RefCell::new(lwt::rejected(Error::new(Exit))));
    let f = to_feed.clone();
    let s = stream::from(move || f.borrow().clone());
    assert!(is::<Exit>(&rejected_with(&s.get())));
    assert!(!s.is_closed());
    *to_feed.borrow_mut() = resolved(Some(0));
    assert_eq!(fulfilled(&s.get()), Some(0));
    *to_feed.borrow_mut() = resolved(None);
    assert_eq!(fulfilled(&s.get()), None);
    assert!(s.is_closed());
}

#[test]
fn a_from_direct_stream_goes_on_after_a_source_panic() {
    let step = Rc::new(Cell::new(0));
    let st = step.clone();
    let s = stream::from_direct(move || {
        st.set(st.get() + 1);
        match st.get() {
            1 => panic!("Exit"),
            2 => Some(0),
            _ => None,
        }
    });
    assert_eq!(rejected_with(&s.get()).kind(), ErrorKind::Panic);
    assert!(!s.is_closed());
    assert_eq!(fulfilled(&s.get()), Some(0));
    assert_eq!(fulfilled(&s.get()), None);
    assert!(s.is_closed());
}

#[test]
fn a_pending_pull_that_fails_rejects_the_waiting_reader() {
    let (p, r) = lwt::wait::<Option<u8>>();
    let s = stream::from(move || p.clone());
    let g = s.get();
    r.wakeup_exn(Error::new(Exit));
    assert!(is::<Exit>(&rejected_with(&g)));
}

#[test]
fn a_source_that_reads_its_own_stream_gets_an_error() {
    let cell: Rc<RefCell<Option<Stream<u8>>>> = Rc::new(RefCell::new(None));
    let c = cell.clone();
    let s = stream::from_direct(move || {
        let inner = c.borrow().as_ref().map(|s| s.get());
        match inner.map(|p| p.state()) {
            Some(State::Rejected(_)) => Some(1),
            _ => Some(0),
        }
    });
    *cell.borrow_mut() = Some(s.share());
    assert_eq!(fulfilled(&s.get()), Some(1));
    cell.borrow_mut().take();
}

#[test]
fn wrap_exn_turns_source_errors_into_items() {
    let script: Rc<RefCell<Vec<Result<u8, &'static str>>>> =
        Rc::new(RefCell::new(vec![Ok(1), Err("exit"), Err("plop"), Ok(42)]));
    let sc = script.clone();
    let s = stream::from(move || {
        let next = if sc.borrow().is_empty() {
            None
        } else {
            Some(sc.borrow_mut().remove(0))
        };
        match next {
            None => resolved(None),
            Some(Ok(x)) => resolved(Some(x)),
            Some(Err(m)) => lwt::fail_with(m),
        }
    });
    let items = s.wrap_exn().to_list();
    settle();
    let items = items.with_state(|st| match st {
        State::Fulfilled(v) => v
            .iter()
            .map(|r| r.as_ref().map(|x| *x).map_err(|e| e.message()))
            .collect::<Vec<_>>(),
        _ => panic!("not fulfilled"),
    });
    assert_eq!(
        items,
        vec![Ok(1), Err("exit".to_string()), Err("plop".to_string()), Ok(42)]
    );
}

// ------------------------------------------------------------- parse

#[test]
fn parse_rewinds_the_stream_when_the_parser_fails() {
    let s = stream::of_list(vec![1, 2, 3]);
    let r = s.parse(|s| s.nget(2).bind(|_| lwt::fail_with::<()>("bad input")));
    assert_eq!(rejected_with(&r).message(), "bad input");
    assert_eq!(fulfilled(&s.to_list()), vec![1, 2, 3]);
}

#[test]
fn parse_keeps_what_a_successful_parser_read() {
    let s = stream::of_list(vec![1, 2, 3]);
    let r = stream::parse(&s, |s| s.next());
    assert_eq!(fulfilled(&r), 1);
    assert_eq!(fulfilled(&s.to_list()), vec![2, 3]);
}

#[test]
fn parse_rewinds_over_elements_that_arrived_during_the_parse() {
    let (s, push) = stream::create();
    push.push(1).unwrap();
    let r = s.parse(|s| s.nget(2).bind(|_| lwt::fail_with::<()>("bad")));
    push.push(2).unwrap();
    push.push(3).unwrap();
    push.close();
    assert!(rejected_with(&r).message() == "bad");
    assert_eq!(fulfilled(&s.to_list()), vec![1, 2, 3]);
}

#[test]
fn parse_refuses_a_bounded_stream() {
    let (s, _push) = stream::create_bounded::<u8>(1);
    let r = s.parse(|s| s.next());
    assert_eq!(rejected_with(&r).kind(), ErrorKind::InvalidArgument);
}

// ------------------------------------------------------------- walks

#[test]
fn fold_sums_the_elements() {
    let s = stream::of_list(1..=4);
    assert_eq!(fulfilled(&s.fold(0, |acc, x| acc + x)), 10);
}

#[test]
fn fold_s_waits_for_each_step() {
    let s = stream::of_list(1..=3);
    let p = s.fold_s(Vec::new(), |mut acc, x| {
        pause().map(move |()| {
            acc.push(x);
            acc
        })
    });
    assert!(p.is_pending());
    assert_eq!(fulfilled(&p), vec![1, 2, 3]);
}

#[test]
fn fold_over_buffered_elements_allocates_no_promise() {
    let (s, push) = stream::create();
    for i in 0..100_000u64 {
        push.push(i).unwrap();
    }
    push.close();
    let before = lwt::live_promises();
    let p = s.fold(0u64, |a, x| a + x);
    assert_eq!(lwt::live_promises(), before);
    assert_eq!(fulfilled(&p), 100_000 * 99_999 / 2);
}

#[test]
fn a_long_fold_with_a_pausing_producer_runs_in_constant_memory() {
    let (s, push) = stream::create();
    fn produce(push: stream::Pusher<u64>, i: u64, n: u64) -> Promise<()> {
        let mut i = i;
        while i <= n {
            push.push(i).unwrap();
            if i % 64 == 0 {
                return pause().bind(move |()| produce(push, i + 1, n));
            }
            i += 1;
        }
        push.close();
        resolved(())
    }
    let n = 200_000;
    let sum = s.fold(0u64, |a, x| a + x);
    let producer = produce(push, 1, n);
    let mut peak = 0;
    while sum.is_pending() {
        lwt::wakeup_paused();
        peak = peak.max(lwt::live_promises());
    }
    assert!(peak < 50, "live promises peaked at {peak}");
    assert!(producer.is_fulfilled());
    assert_eq!(fulfilled(&sum), n * (n + 1) / 2);
}

#[test]
fn canceling_a_pending_fold_leaves_the_elements_for_the_next_reader() {
    let (s, push) = stream::create();
    let f = s.fold(0, |a, x| a + x);
    f.cancel();
    assert!(f.is_canceled());
    push.push(5).unwrap();
    assert_eq!(fulfilled(&s.get()), Some(5));
}

#[test]
fn iter_calls_f_on_each_element_in_order() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s2 = seen.clone();
    fulfilled(&stream::of_list(1..=3).iter(move |x| s2.borrow_mut().push(x)));
    assert_eq!(*seen.borrow(), vec![1, 2, 3]);
}

#[test]
fn iter_s_runs_one_call_at_a_time() {
    let running = Rc::new(Cell::new(0));
    let max = Rc::new(Cell::new(0));
    let (r, m) = (running.clone(), max.clone());
    let p = stream::of_list(1..=4).iter_s(move |_| {
        r.set(r.get() + 1);
        m.set(m.get().max(r.get()));
        let r = r.clone();
        pause().map(move |()| r.set(r.get() - 1))
    });
    fulfilled(&p);
    assert_eq!(max.get(), 1);
}

#[test]
fn iter_p_starts_every_call_without_waiting() {
    let running = Rc::new(Cell::new(0));
    let r = running.clone();
    let p = stream::of_list(1..=4).iter_p(move |_| {
        r.set(r.get() + 1);
        pause()
    });
    assert_eq!(running.get(), 4);
    assert!(p.is_pending());
    fulfilled(&p);
}

#[test]
fn iter_p_rejects_with_the_failed_call_and_still_calls_f_on_the_rest() {
    let finished = Rc::new(Cell::new(0));
    let f = finished.clone();
    let p = stream::of_list(1..=3).iter_p(move |x| {
        let f = f.clone();
        pause().bind(move |()| {
            f.set(f.get() + 1);
            if x == 1 {
                lwt::fail_with("first failed")
            } else {
                resolved(())
            }
        })
    });
    assert_eq!(rejected_with(&p).message(), "first failed");
    assert_eq!(finished.get(), 3);
}

#[test]
fn iter_n_keeps_at_most_n_calls_in_flight() {
    let running = Rc::new(Cell::new(0));
    let max = Rc::new(Cell::new(0));
    let count = Rc::new(Cell::new(0));
    let (r, m, c) = (running.clone(), max.clone(), count.clone());
    let p = stream::of_list(1..=10).iter_n(3, move |_| {
        r.set(r.get() + 1);
        m.set(m.get().max(r.get()));
        c.set(c.get() + 1);
        let r = r.clone();
        pause().map(move |()| r.set(r.get() - 1))
    });
    fulfilled(&p);
    assert_eq!((max.get(), count.get()), (3, 10));
}

#[test]
fn iter_n_with_zero_concurrency_is_rejected() {
    let p = stream::of_list(vec![1]).iter_n(0, |_| resolved(()));
    let e = rejected_with(&p);
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("max_concurrency must be > 0"));
}

#[test]
fn find_and_find_s_remove_up_to_the_match() {
    let s = stream::of_list(1..=6);
    assert_eq!(fulfilled(&s.find(|x| *x > 2)), Some(3));
    assert_eq!(fulfilled(&s.find_s(|x| resolved(*x % 5 == 0))), Some(5));
    assert_eq!(fulfilled(&s.find(|x| *x > 100)), None);
}

#[test]
fn find_map_and_find_map_s_return_the_first_some() {
    let s = stream::of_list(1..=6);
    assert_eq!(fulfilled(&s.find_map(|x| (x > 1).then(|| x * 10))), Some(20));
    assert_eq!(fulfilled(&s.find_map_s(|x| resolved((x > 4).then_some(x)))), Some(5));
    assert_eq!(fulfilled(&s.find_map(Some)), Some(6));
    assert_eq!(fulfilled(&s.find_map(Some)), None);
}

// ------------------------------------------------------------- combinators

#[test]
fn filter_takes_from_the_source_until_a_match() {
    let (s, push) = stream::create();
    for i in 1..=4 {
        push.push(i).unwrap();
    }
    let filtered = s.filter(|x| *x == 3);
    assert_eq!(fulfilled(&filtered.get()), Some(3));
    assert!(filtered.get_available().unwrap().is_empty());
}

#[test]
fn filter_map_keeps_the_some_values() {
    let (s, push) = stream::create();
    for i in 1..=4 {
        push.push(i).unwrap();
    }
    let filtered = s.filter_map(|x| (x == 3).then_some("3"));
    assert_eq!(fulfilled(&filtered.get()), Some("3"));
    assert!(filtered.get_available().unwrap().is_empty());
}

#[test]
fn map_and_map_s_transform_each_element() {
    let s = stream::of_list(1..=3);
    assert_eq!(fulfilled(&s.map(|x| x * 2).to_list()), vec![2, 4, 6]);
    let t = stream::of_list(1..=3).map_s(|x| pause().map(move |()| x + 1));
    assert_eq!(fulfilled(&t.to_list()), vec![2, 3, 4]);
}

#[test]
fn filter_s_and_filter_map_s_use_promises() {
    let s = stream::of_list(1..=6).filter_s(|x| resolved(x % 2 == 0));
    assert_eq!(fulfilled(&s.to_list()), vec![2, 4, 6]);
    let t = stream::of_list(1..=6).filter_map_s(|x| pause().map(move |()| (x > 4).then_some(x)));
    assert_eq!(fulfilled(&t.to_list()), vec![5, 6]);
}

#[test]
fn map_list_and_flatten_spread_collections() {
    let s = stream::of_list(vec![1usize, 0, 2]).map_list(|x| vec![x; x]);
    assert_eq!(fulfilled(&s.to_list()), vec![1, 2, 2]);
    let t = stream::of_list(vec![1, 2]).map_list_s(|x| resolved(vec![x, x]));
    assert_eq!(fulfilled(&t.to_list()), vec![1, 1, 2, 2]);
    let u = stream::of_list(vec![vec!['a'], vec![], vec!['b', 'c']]).flatten();
    assert_eq!(fulfilled(&u.to_string()), "abc");
}

#[test]
fn a_panic_in_map_reaches_the_reader_and_the_stream_goes_on() {
    let s = stream::of_list(vec![1, 2]).map(|x| if x == 1 { panic!("one") } else { x });
    assert_eq!(rejected_with(&s.get()).kind(), ErrorKind::Panic);
    assert_eq!(fulfilled(&s.get()), Some(2));
}

#[test]
fn combine_pairs_until_either_ends() {
    let a = stream::of_list(vec![1, 2, 3]);
    let b = stream::of_list(vec!["x", "y"]);
    assert_eq!(fulfilled(&stream::combine(&a, &b).to_list()), vec![(1, "x"), (2, "y")]);
}

#[test]
fn append_reads_the_first_stream_then_the_second() {
    let (a, pa) = stream::create();
    let b = stream::of_list(vec![3]);
    let s = stream::append(&a, &b);
    let all = s.to_list();
    pa.push(1).unwrap();
    pa.push(2).unwrap();
    assert!(all.is_pending());
    pa.close();
    assert_eq!(fulfilled(&all), vec![1, 2, 3]);
}

#[test]
fn concat_reads_each_inner_stream_in_turn() {
    let top = stream::of_list(vec![
        stream::of_list(vec![1]),
        stream::empty(),
        stream::of_list(vec![2, 3]),
    ]);
    assert_eq!(fulfilled(&stream::concat(&top).to_list()), vec![1, 2, 3]);
}

#[test]
fn choose_of_exhausted_streams_ends() {
    let e = stream::of_list(Vec::<u8>::new());
    assert_eq!(fulfilled(&stream::choose([&e]).to_list()), Vec::<u8>::new());
    assert_eq!(
        fulfilled(&stream::choose(Vec::<&Stream<u8>>::new()).to_list()),
        Vec::<u8>::new()
    );
}

#[test]
fn choose_gives_elements_as_they_become_available() {
    let (a, pa) = stream::create();
    let (b, pb) = stream::create();
    let s = stream::choose([&a, &b]);
    let all = s.to_list();
    pb.push(10).unwrap();
    pa.push(1).unwrap();
    pb.push(20).unwrap();
    pa.close();
    assert!(all.is_pending(), "b is still open");
    pb.close();
    assert_eq!(fulfilled(&all), vec![10, 1, 20]);
}

#[test]
fn choose_passes_a_source_error_and_goes_on() {
    let failed = Rc::new(Cell::new(false));
    let f = failed.clone();
    let bad = stream::from(move || {
        if f.replace(true) {
            resolved(None)
        } else {
            lwt::fail_with("bad")
        }
    });
    let good = stream::of_list(vec![1]);
    let s = stream::choose([&bad, &good]);
    assert_eq!(rejected_with(&s.get()).message(), "bad");
    assert_eq!(fulfilled(&s.to_list()), vec![1]);
}

// ------------------------------------------------------------- edge cases

#[test]
fn get_while_s_keeps_the_element_whose_test_rejects() {
    // Lwt consumes an element only once its test said `true`.
    let s = stream::of_list(vec![1, 2, 3]);
    let got = s.get_while_s(|x| {
        if *x == 2 {
            lwt::fail_with("test failed")
        } else {
            resolved(true)
        }
    });
    assert_eq!(rejected_with(&got).message(), "test failed");
    assert_eq!(fulfilled(&s.to_list()), vec![2, 3]);
}

#[test]
fn get_while_keeps_the_element_whose_test_panics() {
    let s = stream::of_list(vec![1, 2, 3]);
    let got = s.get_while(|x| if *x == 2 { panic!("test panicked") } else { true });
    assert_eq!(rejected_with(&got).kind(), ErrorKind::Panic);
    assert_eq!(fulfilled(&s.to_list()), vec![2, 3]);
}

#[test]
fn junk_while_s_keeps_the_element_whose_test_rejects() {
    let s = stream::of_list(vec![1, 2, 3]);
    let done = s.junk_while_s(|x| if *x == 2 { lwt::fail_with("no") } else { resolved(true) });
    assert!(rejected_with(&done).message().contains("no"));
    assert_eq!(fulfilled(&s.to_list()), vec![2, 3]);
}

#[test]
fn combine_rejects_as_soon_as_the_first_stream_fails() {
    // Lwt waits for the first stream's read, then for the second's: a
    // failure of the first is reported without waiting for the second.
    let a = stream::fail::<u8>(Error::failure("a failed"));
    let (b, _pb) = stream::create::<u8>();
    let s = stream::combine(&a, &b);
    let first = s.get();
    settle();
    assert_eq!(rejected_with(&first).message(), "a failed");
}

#[test]
fn resizing_a_bounded_stream_below_its_count_keeps_the_elements() {
    let (s, push) = stream::create_bounded(3);
    for i in 1..=3 {
        assert!(push.push(i).is_fulfilled());
    }
    push.resize(1);
    assert_eq!((push.size(), push.count()), (1, 3));
    let blocked = push.push(4);
    assert!(blocked.is_pending());
    assert_eq!(fulfilled(&s.get()), Some(1));
    assert!(blocked.is_pending(), "two unread elements are still above the size");
    assert_eq!(fulfilled(&s.get()), Some(2));
    assert_eq!(fulfilled(&s.get()), Some(3));
    settle();
    assert!(blocked.is_fulfilled());
    assert_eq!(push.count(), 1);
    push.close();
    assert_eq!(fulfilled(&s.to_list()), vec![4]);
}

#[test]
fn a_reader_waiting_on_a_bounded_stream_is_woken_by_a_resize() {
    let (s, push) = stream::create_bounded(0);
    let r = s.get();
    let p = push.push(1);
    assert_eq!(fulfilled(&r), Some(1));
    assert!(p.is_fulfilled());
    let r2 = s.get();
    push.resize(1);
    let p2 = push.push(2);
    assert!(p2.is_fulfilled());
    assert_eq!(fulfilled(&r2), Some(2));
}

#[test]
fn an_element_pulled_for_a_canceled_reader_goes_to_the_next_reader() {
    let (p, r) = lwt::wait::<Option<u8>>();
    let first = Rc::new(Cell::new(true));
    let f = first.clone();
    let s = stream::from(move || if f.replace(false) { p.clone() } else { resolved(None) });
    let canceled = s.get();
    canceled.cancel();
    assert!(canceled.is_canceled());
    r.wakeup(Some(7));
    assert_eq!(fulfilled(&s.get()), Some(7));
    assert_eq!(fulfilled(&s.get()), None);
}

#[test]
fn get_available_while_a_pull_is_in_flight_takes_nothing() {
    let (p, r) = lwt::wait::<Option<u8>>();
    let s = stream::from(move || p.clone());
    let pending = s.get();
    assert!(s.get_available().unwrap().is_empty());
    r.wakeup(Some(1));
    assert_eq!(fulfilled(&pending), Some(1));
}

#[test]
fn a_clone_made_after_a_peek_still_sees_the_peeked_element() {
    let (s, push) = stream::create();
    push.push(1).unwrap();
    push.push(2).unwrap();
    assert_eq!(fulfilled(&s.peek()), Some(1));
    let c = s.clone_stream().unwrap();
    assert_eq!(fulfilled(&s.get()), Some(1));
    assert_eq!(fulfilled(&c.peek()), Some(1));
    fulfilled(&c.junk());
    assert_eq!(fulfilled(&c.get()), Some(2));
    push.push(3).unwrap();
    push.close();
    assert_eq!(fulfilled(&s.to_list()), vec![2, 3]);
    assert_eq!(fulfilled(&c.to_list()), vec![3]);
}

#[test]
fn a_failing_pull_reaches_every_waiting_clone() {
    let (p, r) = lwt::wait::<Option<u8>>();
    let s = stream::from(move || p.clone());
    let c = s.clone_stream().unwrap();
    let (a, b) = (s.get(), c.get());
    r.wakeup_exn(Error::failure("pull failed"));
    assert_eq!(rejected_with(&a).message(), "pull failed");
    assert_eq!(rejected_with(&b).message(), "pull failed");
}

#[test]
fn closed_resolves_when_a_from_direct_source_ends_during_a_peek() {
    let mut left = Some(1);
    let s = stream::from_direct(move || left.take());
    let closed = s.closed();
    fulfilled(&s.peek());
    assert!(closed.is_pending());
    fulfilled(&s.junk());
    assert!(closed.is_pending(), "the end is not enqueued yet");
    assert_eq!(fulfilled(&s.peek()), None);
    assert!(closed.is_fulfilled() && s.is_closed());
}

#[test]
fn append_passes_an_error_of_the_first_stream_and_goes_on() {
    let a = stream::fail::<u8>(Error::failure("a failed"));
    let b = stream::of_list(vec![2]);
    let s = stream::append(&a, &b);
    assert_eq!(rejected_with(&s.get()).message(), "a failed");
    assert_eq!(fulfilled(&s.to_list()), vec![2]);
}

#[test]
fn concat_passes_an_error_of_an_inner_stream_and_goes_on() {
    let top = stream::of_list(vec![
        stream::fail::<u8>(Error::failure("inner")),
        stream::of_list(vec![1]),
    ]);
    let s = stream::concat(&top);
    assert_eq!(rejected_with(&s.get()).message(), "inner");
    assert_eq!(fulfilled(&s.to_list()), vec![1]);
}

#[test]
fn iter_p_rejects_once_the_failed_call_and_those_before_it_are_done() {
    // Lwt chains each call before the rest of the walk: an error is
    // reported without waiting for a stream that never ends.
    let (s, push) = stream::create();
    let done = s.iter_p(|x: u8| if x == 2 { lwt::fail_with("two") } else { resolved(()) });
    push.push(1).unwrap();
    push.push(2).unwrap();
    settle();
    assert_eq!(rejected_with(&done).message(), "two");
    drop(push);
}

#[test]
fn wrap_exn_ends_when_the_source_ends_after_errors() {
    let mut n = 0;
    let s = stream::from_direct(move || {
        n += 1;
        match n {
            1 | 2 => panic!("bad {n}"),
            3 => Some(3),
            _ => None,
        }
    });
    let items = fulfilled(&s.wrap_exn().map(|r| r.map_err(|e| e.kind())).to_list());
    assert_eq!(items, vec![Err(ErrorKind::Panic), Err(ErrorKind::Panic), Ok(3)]);
}

#[test]
fn iter_p_walks_a_long_push_stream_fed_in_bursts() {
    let (s, push) = stream::create();
    let seen = Rc::new(Cell::new(0u32));
    let k = seen.clone();
    let done = s.iter_p(move |_x: u32| {
        k.set(k.get() + 1);
        pause()
    });
    for i in 0..200_000 {
        push.push(i).unwrap();
        if i % 1000 == 0 {
            settle();
        }
    }
    drop(push);
    fulfilled(&done);
    assert_eq!(seen.get(), 200_000);
}

#[test]
fn iter_n_over_a_long_stream_of_resolved_calls_uses_no_stack() {
    let count = Rc::new(Cell::new(0u32));
    let c = count.clone();
    let done = stream::of_iter(0..1_000_000u32).iter_n(2, move |_x| {
        c.set(c.get() + 1);
        resolved(())
    });
    fulfilled(&done);
    assert_eq!(count.get(), 1_000_000);
}

#[test]
fn a_push_blocked_on_a_bounded_stream_whose_readers_are_gone_is_released() {
    // Once nobody reads the stream, pushed elements go away (as for an
    // unblocked push); a push that was waiting must not wait forever, nor
    // make every later push fail with Full.
    let (s, push) = stream::create_bounded(1);
    assert!(push.push(1).is_fulfilled());
    let blocked = push.push(2);
    assert!(blocked.is_pending());
    drop(s);
    settle();
    assert!(blocked.is_fulfilled());
    assert!(!push.blocked());
    assert!(push.push(3).is_fulfilled());
}

#[test]
fn a_clone_of_a_pull_stream_sees_each_pulled_element_without_pulling_again() {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let s = stream::from_direct(move || {
        c.set(c.get() + 1);
        (c.get() <= 3).then(|| c.get())
    });
    let t = s.clone_stream().unwrap();
    assert_eq!(fulfilled(&s.nget(2)), vec![1, 2]);
    assert_eq!(calls.get(), 2);
    assert_eq!(fulfilled(&t.to_list()), vec![1, 2, 3]);
    assert_eq!(calls.get(), 4);
    assert_eq!(fulfilled(&s.to_list()), vec![3]);
    assert_eq!(calls.get(), 4, "the end was pulled once, for both readers");
}
