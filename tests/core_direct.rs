//! Direct style: promises as futures, async blocks as promises (Lwt_direct's
//! spawn / await / yield).
//!
//! Deliberate differences from Lwt_direct, tested as documented: `spawn`
//! polls the future at once (Lwt queues it until the main loop turns), and
//! canceling the promise of a spawned task drops the future (Lwt ignores it).

mod core_common;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use core_common::{DropGuard, Flag, HookRecorder, Log};
use lwt::{
    fail_with, get, resolved, spawn, spawn_in_the_background, task, wait, wakeup_paused, with_value, yield_now, Error,
    ErrorKind, Key, State,
};

struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

// ---- Future for Promise ---------------------------------------------------------

#[test]
fn polling_a_pending_promise_registers_the_waker_and_wakes_it_on_resolution() {
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let (mut p, r) = wait::<u8>();
    assert!(Pin::new(&mut p).poll(&mut cx).is_pending());
    r.wakeup(3);
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    assert!(matches!(Pin::new(&mut p).poll(&mut cx), Poll::Ready(Ok(3))));
}

#[test]
fn polling_a_rejected_promise_is_ready_with_its_error() {
    let waker = Waker::from(Arc::new(CountingWaker(AtomicUsize::new(0))));
    let mut cx = Context::from_waker(&waker);
    let mut p = fail_with::<u8>("x");
    match Pin::new(&mut p).poll(&mut cx) {
        Poll::Ready(Err(e)) => assert_eq!(e.message(), "x"),
        other => panic!("unexpected poll result: {other:?}"),
    }
}

// ---- spawn ------------------------------------------------------------------------

#[test]
fn spawn_starts_the_future_at_once() {
    let started = Flag::new();
    let s = started.clone();
    let (p, _r) = wait::<()>();
    let t = spawn(async move {
        s.set();
        p.await
    });
    assert!(started.get() && t.is_pending());
}

#[test]
fn a_future_that_needs_no_waiting_fulfils_its_promise_at_once() {
    assert_eq!(spawn(async { Ok(5) }).state(), State::Fulfilled(5));
}

#[test]
fn awaiting_a_fulfilled_promise_gives_its_value() {
    let t = spawn(async { Ok(resolved(2).await? * 10) });
    assert_eq!(t.state(), State::Fulfilled(20));
}

#[test]
fn an_awaiting_task_resumes_when_the_promise_resolves() {
    let (p, r) = wait::<u32>();
    let t = spawn(async move { Ok(p.await? + 1) });
    let before = t.state();
    r.wakeup(41);
    assert_eq!((before, t.state()), (State::Pending, State::Fulfilled(42)));
}

#[test]
fn the_question_mark_passes_a_rejection_on_unchanged() {
    let e = Error::failure("inner");
    let (p, r) = wait::<u32>();
    let t = spawn(async move {
        let v = p.await?;
        Ok(v)
    });
    r.wakeup_exn(e.clone());
    assert!(t.error().expect("rejected").same(&e));
}

#[test]
fn the_question_mark_converts_an_io_error() {
    let t = spawn(async {
        Err(std::io::Error::other("disk"))?;
        Ok(())
    });
    assert_eq!(t.error().expect("rejected").kind(), ErrorKind::Io);
}

#[test]
fn awaiting_a_canceled_task_gives_canceled() {
    let (p, _r) = task::<u8>();
    let inner = p.clone();
    let t = spawn(async move { Ok(p.await.map_err(|e| e.is_canceled())) });
    inner.cancel();
    assert_eq!(t.state(), State::Fulfilled(Err(true)));
}

#[test]
fn yield_now_suspends_until_the_paused_are_woken() {
    let t = spawn(async {
        yield_now().await?;
        Ok("after yield")
    });
    let before = t.state();
    wakeup_paused();
    assert_eq!((before, t.state()), (State::Pending, State::Fulfilled("after yield")));
}

#[test]
fn tasks_that_yield_take_turns_in_spawn_order() {
    let log = Log::new();
    for name in ["a", "b"] {
        let l = log.clone();
        lwt::ignore_result(spawn(async move {
            l.push(format!("{name}1"));
            yield_now().await?;
            l.push(format!("{name}2"));
            Ok(())
        }));
    }
    wakeup_paused();
    assert_eq!(log.entries(), ["a1", "b1", "a2", "b2"]);
}

#[test]
fn a_spawned_promise_can_be_bound_like_any_other() {
    let (p, r) = wait::<u32>();
    let t = spawn(async move { Ok(p.await? + 1) }).map(|x| x * 2);
    r.wakeup(20);
    assert_eq!(t.state(), State::Fulfilled(42));
}

#[test]
fn a_task_can_await_another_spawned_task() {
    let (p, r) = wait::<u32>();
    let inner = spawn(async move { Ok(p.await? + 1) });
    let outer = spawn(async move { Ok(inner.await? * 2) });
    r.wakeup(1);
    assert_eq!(outer.state(), State::Fulfilled(4));
}

#[test]
fn a_non_clone_value_moves_through_await() {
    struct Buffer(Vec<u8>);
    let (p, r) = wait::<Buffer>();
    let t = spawn(async move { Ok(p.await?.0.len()) });
    r.wakeup(Buffer(vec![1, 2, 3]));
    assert_eq!(t.state(), State::Fulfilled(3));
}

#[test]
fn spawning_inside_a_callback_runs_the_future_at_once() {
    let (p, r) = wait::<u32>();
    let seen = Log::new();
    let s = seen.clone();
    let _q = p.map(move |v| {
        let t = spawn(async move { Ok(v + 1) });
        s.push(format!("{:?}", t.state()));
    });
    r.wakeup(1);
    assert_eq!(seen.entries(), ["Fulfilled(2)"]);
}

// ---- panics and cancellation ------------------------------------------------------

#[test]
fn a_panic_in_an_async_block_rejects_its_promise() {
    let t = spawn::<u8>(async { panic!("in the block") });
    let e = t.error().expect("rejected");
    assert_eq!((e.kind(), e.message()), (ErrorKind::Panic, "in the block".to_string()));
}

#[test]
fn a_panic_after_an_await_rejects_its_promise() {
    let (p, r) = wait::<u8>();
    let t = spawn(async move {
        let v = p.await?;
        if v > 0 {
            panic!("late panic");
        }
        Ok(v)
    });
    r.wakeup(1);
    assert_eq!(t.error().expect("rejected").kind(), ErrorKind::Panic);
}

#[test]
fn canceling_a_spawned_task_drops_its_future() {
    let dropped = Flag::new();
    let guard = DropGuard(dropped.clone());
    let (p, _r) = wait::<()>();
    let t = spawn(async move {
        let _guard = guard;
        p.await
    });
    let before = dropped.get();
    t.cancel();
    assert_eq!((before, dropped.get(), t.is_canceled()), (false, true, true));
}

#[test]
fn a_canceled_task_never_resumes() {
    let resumed = Flag::new();
    let f = resumed.clone();
    let (p, r) = wait::<()>();
    let t = spawn(async move {
        p.await?;
        f.set();
        Ok(())
    });
    t.cancel();
    r.wakeup(());
    assert!(!resumed.get() && t.is_canceled());
}

#[test]
fn canceling_a_finished_task_changes_nothing() {
    let t = spawn(async { Ok(1) });
    t.cancel();
    assert_eq!(t.state(), State::Fulfilled(1));
}

#[test]
fn a_completed_task_drops_its_future() {
    let dropped = Flag::new();
    let guard = DropGuard(dropped.clone());
    let (p, r) = wait::<()>();
    let _t = spawn(async move {
        let _guard = guard;
        p.await
    });
    r.wakeup(());
    assert!(dropped.get());
}

// ---- spawn_in_the_background --------------------------------------------------------

#[test]
fn a_background_task_error_goes_to_the_hook() {
    let hook = HookRecorder::install();
    let (p, r) = wait::<()>();
    spawn_in_the_background(async move {
        p.await?;
        Ok(())
    });
    r.wakeup_exn(Error::failure("background"));
    assert_eq!(
        hook.errors().iter().map(|e| e.message()).collect::<Vec<_>>(),
        ["background"]
    );
}

#[test]
fn a_background_task_that_succeeds_reports_nothing() {
    let hook = HookRecorder::install();
    let done = Flag::new();
    let d = done.clone();
    spawn_in_the_background(async move {
        yield_now().await?;
        d.set();
        Ok(())
    });
    wakeup_paused();
    assert_eq!((done.get(), hook.count()), (true, 0));
}

// ---- the event loop's view ------------------------------------------------------------

#[test]
fn has_ready_work_reports_a_yielding_task() {
    let _t = spawn(async { yield_now().await });
    let before = lwt::core::has_ready_work();
    wakeup_paused();
    assert_eq!((before, lwt::core::has_ready_work()), (true, false));
}

// ---- storage (rule 58) --------------------------------------------------------------------

#[test]
fn a_task_keeps_the_storage_it_was_spawned_with_across_an_await() {
    let k = Rc::new(Key::<u32>::new());
    let k2 = k.clone();
    let (p, r) = wait::<()>();
    let t = with_value(&k, Some(1), move || {
        spawn(async move {
            let before = get(&k2);
            p.await?;
            Ok((before, get(&k2)))
        })
    });
    with_value(&k, Some(99), || r.wakeup(()));
    assert_eq!(t.state(), State::Fulfilled((Some(1), Some(1))));
}

#[test]
fn a_task_keeps_the_storage_it_was_spawned_with_across_a_yield() {
    let k = Rc::new(Key::<u32>::new());
    let k2 = k.clone();
    let t = with_value(&k, Some(7), move || {
        spawn(async move {
            yield_now().await?;
            Ok(get(&k2))
        })
    });
    wakeup_paused();
    assert_eq!(t.state(), State::Fulfilled(Some(7)));
}

#[test]
fn a_resumed_task_does_not_change_the_resolvers_storage() {
    let k = Rc::new(Key::<u32>::new());
    let k2 = k.clone();
    let (p, r) = wait::<()>();
    let _t = with_value(&k, Some(1), move || {
        spawn(async move {
            p.await?;
            Ok(())
        })
    });
    let after = with_value(&k2, Some(99), || {
        r.wakeup(());
        get(&k2)
    });
    assert_eq!(after, Some(99));
}

#[test]
fn a_task_that_cancels_itself_stops_at_its_next_await() {
    use std::cell::RefCell;
    let me: Rc<RefCell<Option<lwt::Promise<()>>>> = Rc::default();
    let slot = me.clone();
    let log = Log::new();
    let l = log.clone();
    let dropped = Flag::new();
    let guard = DropGuard(dropped.clone());
    let t = spawn(async move {
        let _guard = guard;
        yield_now().await?;
        let own = slot.borrow_mut().take().expect("the handle was stored");
        own.cancel();
        l.push("after cancel");
        yield_now().await?;
        l.push("never");
        Ok(())
    });
    *me.borrow_mut() = Some(t.clone());
    wakeup_paused();
    wakeup_paused();
    assert_eq!(
        (log.entries(), t.is_canceled(), dropped.get()),
        (vec!["after cancel".to_string()], true, true)
    );
}

// ---- wakers that wake their own task ---------------------------------------------

/// Wakes its own task and is pending once: the cooperative yield of the
/// `futures` ecosystem (`futures_lite::future::yield_now` and the like).
struct WakeSelfOnce(bool);

impl Future for WakeSelfOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[test]
fn a_task_that_yields_by_waking_itself_lets_the_paused_promises_run() {
    let paused = Flag::new();
    let p2 = paused.clone();
    let _watch = yield_now().map(move |()| p2.set());
    let polls = Rc::new(std::cell::Cell::new(0u32));
    let (seen, n) = (paused.clone(), polls.clone());
    // Bounded so that the test ends either way: a task that spins until
    // the pause resolves would otherwise never return from `spawn`.
    let t = spawn(async move {
        while !seen.get() && n.get() < 1000 {
            n.set(n.get() + 1);
            WakeSelfOnce(false).await;
        }
        Ok(())
    });
    for _ in 0..10 {
        if !t.is_pending() {
            break;
        }
        wakeup_paused();
    }
    assert!(t.is_fulfilled());
    assert!(
        polls.get() < 1000,
        "the task was polled {} times before the pause could resolve",
        polls.get()
    );
}

#[test]
fn a_promise_awaited_by_reference_is_fulfilled_but_its_value_is_gone() {
    let (mut p, r) = wait::<u32>();
    let waker = Waker::from(Arc::new(CountingWaker(AtomicUsize::new(0))));
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut p).poll(&mut cx).is_pending());
    r.wakeup(5);
    assert!(matches!(Pin::new(&mut p).poll(&mut cx), Poll::Ready(Ok(5))));
    // The value moved out to the await; as documented on `with_state`, the
    // promise still says it was fulfilled, but its state cannot show a value.
    assert!(p.is_fulfilled() && !p.is_rejected());
    match p.state() {
        State::Rejected(e) => assert_eq!(e.kind(), ErrorKind::InvalidArgument),
        other => panic!("expected the taken-value error, got {other:?}"),
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri gives each use of a vtable its own address, so Waker::will_wake never recognises a waker"
)]
fn polling_a_pending_promise_many_times_keeps_one_waker() {
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let (mut p, r) = wait::<u8>();
    // A select-like loop polls the same long-lived promise at every turn.
    for _ in 0..1000 {
        assert!(Pin::new(&mut p).poll(&mut cx).is_pending());
    }
    r.wakeup(1);
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        1,
        "each poll left a callback behind, each holding a waker"
    );
}

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri gives each use of a vtable its own address, so Waker::will_wake never recognises a waker"
)]
fn two_futures_polling_one_promise_with_different_wakers_are_both_woken() {
    let (c1, c2) = (
        Arc::new(CountingWaker(AtomicUsize::new(0))),
        Arc::new(CountingWaker(AtomicUsize::new(0))),
    );
    let (w1, w2) = (Waker::from(c1.clone()), Waker::from(c2.clone()));
    let (p, r) = wait::<u8>();
    let mut q = p.clone();
    let mut p = p;
    for _ in 0..3 {
        assert!(Pin::new(&mut p).poll(&mut Context::from_waker(&w1)).is_pending());
        assert!(Pin::new(&mut q).poll(&mut Context::from_waker(&w2)).is_pending());
    }
    r.wakeup(7);
    assert_eq!((c1.0.load(Ordering::SeqCst), c2.0.load(Ordering::SeqCst)), (1, 1));
    assert!(matches!(
        Pin::new(&mut p).poll(&mut Context::from_waker(&w1)),
        Poll::Ready(Ok(7))
    ));
    assert!(matches!(
        Pin::new(&mut q).poll(&mut Context::from_waker(&w2)),
        Poll::Ready(Ok(7))
    ));
}

#[test]
fn a_promise_dropped_while_polled_leaves_no_waker_for_the_next_one() {
    let c = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let w = Waker::from(c.clone());
    for i in 0..100u8 {
        // Each promise is polled, then abandoned with its resolver: its
        // callback (and its entry in the waker table) goes with it, so a
        // new promise made at the same address starts afresh.
        let (mut p, r) = wait::<u8>();
        assert!(Pin::new(&mut p).poll(&mut Context::from_waker(&w)).is_pending());
        if i % 2 == 0 {
            drop((p, r));
        } else {
            r.wakeup(i);
            assert!(matches!(Pin::new(&mut p).poll(&mut Context::from_waker(&w)), Poll::Ready(Ok(v)) if v == i));
        }
    }
    assert_eq!(c.0.load(Ordering::SeqCst), 50);
}

#[test]
fn a_task_selecting_over_a_long_lived_promise_runs_one_turn_per_event() {
    // The task polls the same long-lived promise at every turn of its loop
    // (as a `select!` does), and is woken only when something happens.
    let (stop, stop_r) = wait::<()>();
    let turns = Rc::new(std::cell::Cell::new(0u32));
    let t = turns.clone();
    let task = spawn(async move {
        let mut stop = stop;
        loop {
            let tick = yield_now();
            let mut tick = tick;
            let done = std::future::poll_fn(|cx| {
                if let Poll::Ready(r) = Pin::new(&mut stop).poll(cx) {
                    return Poll::Ready(Some(r));
                }
                Pin::new(&mut tick).poll(cx).map(|_| None)
            })
            .await;
            match done {
                Some(r) => return r,
                None => t.set(t.get() + 1),
            }
        }
    });
    for _ in 0..5 {
        wakeup_paused();
    }
    stop_r.wakeup(());
    assert!(task.is_fulfilled());
    assert_eq!(turns.get(), 5);
}

#[test]
fn a_polled_promise_folded_into_a_bind_leaves_later_promises_their_own_wakeup() {
    let c = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let w = Waker::from(c.clone());
    let mut keep = Vec::new();
    for i in 0..50u8 {
        let (outer, r_outer) = wait::<()>();
        let (mut inner, r_inner) = wait::<u8>();
        assert!(Pin::new(&mut inner).poll(&mut Context::from_waker(&w)).is_pending());
        // Returned by the bind's callback, `inner` becomes a forwarding
        // pointer to the bind's promise, which takes its callbacks; with
        // its resolver gone, nothing holds it any more.
        let b = outer.bind(move |()| inner);
        r_outer.wakeup(());
        drop(r_inner);
        keep.push(b);
        // A new promise (made where the freed one was, if it had been
        // freed) must get a wake-up of its own.
        let (mut fresh, r_fresh) = wait::<u8>();
        assert!(Pin::new(&mut fresh).poll(&mut Context::from_waker(&w)).is_pending());
        r_fresh.wakeup(i);
        assert_eq!(c.0.load(Ordering::SeqCst), usize::from(i) + 1);
    }
}
