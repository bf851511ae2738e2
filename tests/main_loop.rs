//! Tests of `lwt::main` (Lwt_main and the engine): run, pause/yield, hooks,
//! timers and the loop's polling behaviour.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use lwt::{main, unix, Promise};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn run_returns_the_value_of_a_resolved_promise() {
    assert_eq!(main::run(lwt::resolved(5)).unwrap(), 5);
}

#[test]
fn run_returns_the_rejection_of_a_rejected_promise() {
    let e = main::run(lwt::rejected::<()>(lwt::Error::failure("nope"))).unwrap_err();
    assert_eq!(e.message(), "nope");
}

#[test]
fn run_on_a_resolved_promise_runs_no_iteration() {
    let n = Rc::new(Cell::new(0));
    let n2 = n.clone();
    let id = main::enter_iter_hooks::add_last(move || n2.set(n2.get() + 1));
    main::run(lwt::resolved(())).unwrap();
    main::enter_iter_hooks::remove(id);
    assert_eq!(n.get(), 0);
}

#[test]
fn run_waits_for_a_pending_promise() {
    let (p, r) = lwt::wait::<u32>();
    lwt::async_(move || lwt::pause().map(move |()| r.wakeup(7)));
    assert_eq!(main::run(p).unwrap(), 7);
}

#[test]
fn nested_run_is_an_error_not_a_deadlock() {
    let inner = lwt::pause().map(|()| main::run(lwt::resolved(1)));
    let r = main::run(inner).unwrap();
    let e = r.unwrap_err();
    assert_eq!(e.kind(), lwt::ErrorKind::Failure);
    assert!(e.message().contains("Nested calls"), "{}", e.message());
    // The outer loop still works afterwards.
    assert_eq!(main::run(lwt::pause().map(|()| 3)).unwrap(), 3);
}

#[test]
fn run_can_be_called_again_after_it_returned() {
    for i in 0..3 {
        assert_eq!(main::run(lwt::pause().map(move |()| i)).unwrap(), i);
    }
}

#[test]
fn yield_resolves_on_the_next_iteration() {
    let p = main::yield_();
    assert!(p.is_pending());
    main::run(p).unwrap();
}

#[test]
fn pause_loop_runs_in_constant_memory() {
    fn lp(n: u32) -> Promise<u32> {
        if n == 0 {
            lwt::resolved(0)
        } else {
            lwt::pause().bind(move |()| lp(n - 1))
        }
    }
    let before = lwt::core::live_promises();
    assert_eq!(main::run(lp(200_000)).unwrap(), 0);
    assert!(lwt::core::live_promises() <= before + 2);
}

#[test]
fn enter_and_leave_hooks_run_around_each_iteration() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let (l1, l2) = (log.clone(), log.clone());
    let a = main::enter_iter_hooks::add_first(move || l1.borrow_mut().push("enter"));
    let b = main::leave_iter_hooks::add_first(move || l2.borrow_mut().push("leave"));
    main::run(lwt::pause()).unwrap();
    main::enter_iter_hooks::remove(a);
    main::leave_iter_hooks::remove(b);
    assert_eq!(*log.borrow(), vec!["enter", "leave"]);
}

#[test]
fn sleep_is_never_early() {
    for d in [0, 1, 3, 7] {
        let t = Instant::now();
        main::run(unix::sleep(ms(d))).unwrap();
        assert!(t.elapsed() >= ms(d));
    }
}

#[test]
fn detach_smoke() {
    let p = lwt::preemptive::detach(|| 6 * 7);
    assert_eq!(main::run(p).unwrap(), 42);
}

#[test]
fn pipe_smoke() {
    let (r, w) = unix::pipe().unwrap();
    let p = unix::read(&r, vec![0u8; 8], 0, 8);
    assert!(p.is_pending());
    lwt::async_(move || unix::write(&w, b"hi", 0, 2).map(|_| ()));
    let (buf, n) = main::run(p).unwrap();
    assert_eq!(&buf[..n], b"hi");
}

#[test]
fn at_exit_hooks_run_last_registered_first_and_once() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let (a, b) = (log.clone(), log.clone());
    main::at_exit(move || {
        a.borrow_mut().push(1);
        lwt::resolved(())
    });
    main::at_exit(move || {
        b.borrow_mut().push(2);
        lwt::pause()
    });
    main::run_exit_hooks();
    main::run_exit_hooks();
    assert_eq!(*log.borrow(), vec![2, 1]);
}

#[test]
fn removed_exit_hooks_do_not_run() {
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let id = main::exit_hooks::add_last(move || {
        r.set(true);
        lwt::resolved(())
    });
    main::exit_hooks::remove(id);
    main::run_exit_hooks();
    assert!(!ran.get());
}

#[test]
fn a_failing_exit_hook_does_not_stop_the_others() {
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    main::exit_hooks::add_last(|| lwt::fail_with("hook failed"));
    main::exit_hooks::add_last(move || {
        r.set(true);
        lwt::resolved(())
    });
    main::run_exit_hooks();
    assert!(ran.get());
}

#[test]
fn timeout_rejects_with_the_timeout_error() {
    let e = main::run(unix::timeout::<u8>(ms(2))).unwrap_err();
    assert!(e.is_timeout());
    assert_eq!(e.kind(), lwt::ErrorKind::Timeout);
}

#[test]
fn with_timeout_fires_and_cancels_the_inner_promise() {
    let inner: Rc<RefCell<Option<Promise<()>>>> = Rc::new(RefCell::new(None));
    let i2 = inner.clone();
    let p = unix::with_timeout(ms(2), move || {
        let (p, _r) = lwt::task::<()>();
        *i2.borrow_mut() = Some(p.clone());
        p
    });
    assert!(main::run(p).unwrap_err().is_timeout());
    assert!(inner.borrow().as_ref().unwrap().is_canceled());
}

#[test]
fn with_timeout_does_not_fire_when_the_work_is_faster() {
    let p = unix::with_timeout(Duration::from_secs(30), || unix::sleep(ms(1)).map(|()| "done"));
    assert_eq!(main::run(p).unwrap(), "done");
    // The losing timer was canceled and freed.
    assert_eq!(main::timer_count(), 0);
}

#[test]
fn with_timeout_passes_the_work_error_through() {
    let p = unix::with_timeout(Duration::from_secs(30), || lwt::fail_with::<()>("inner"));
    assert_eq!(main::run(p).unwrap_err().message(), "inner");
}

#[test]
fn a_canceled_sleep_frees_its_timer() {
    let before = main::timer_count();
    let sleeps: Vec<Promise<()>> = (0..1000).map(|_| unix::sleep(Duration::from_secs(60))).collect();
    assert_eq!(main::timer_count(), before + 1000);
    for s in &sleeps {
        s.cancel();
    }
    assert_eq!(main::timer_count(), before);
    assert!(sleeps.iter().all(|s| s.is_canceled()));
}

#[test]
fn canceled_timers_do_not_fire() {
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    let s = unix::sleep(ms(1));
    let _watch = s.clone().map(move |()| f.set(true));
    s.cancel();
    main::run(unix::sleep(ms(5))).unwrap();
    assert!(!fired.get());
}

#[test]
fn equal_deadlines_fire_in_the_order_they_were_set() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let mut all = Vec::new();
    for i in 0..50 {
        let o = order.clone();
        // Zero delays set in a row: deadlines equal or increasing, and the
        // callbacks must run in setting order either way.
        all.push(unix::sleep(Duration::ZERO).map(move |()| o.borrow_mut().push(i)));
    }
    main::run(lwt::join(all)).unwrap();
    assert_eq!(*order.borrow(), (0..50).collect::<Vec<_>>());
}

#[test]
fn shorter_sleeps_fire_before_longer_ones() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let mut all = Vec::new();
    for d in [9u64, 3, 6, 1] {
        let o = order.clone();
        all.push(unix::sleep(ms(d)).map(move |()| o.borrow_mut().push(d)));
    }
    main::run(lwt::join(all)).unwrap();
    assert_eq!(*order.borrow(), vec![1, 3, 6, 9]);
}

#[test]
fn a_million_concurrent_sleepers_all_wake() {
    let n = 1_000_000u64;
    let sum = Rc::new(Cell::new(0u64));
    let all: Vec<Promise<()>> = (0..n)
        .map(|i| {
            let s = sum.clone();
            unix::sleep(ms(i % 10)).map(move |()| s.set(s.get() + i))
        })
        .collect();
    assert_eq!(main::timer_count(), n as usize);
    main::run(lwt::join(all)).unwrap();
    assert_eq!(sum.get(), n * (n - 1) / 2);
    assert_eq!(main::timer_count(), 0);
}

#[test]
fn auto_pause_pauses_only_after_the_period() {
    let mut ap = unix::auto_pause(Duration::from_secs(3600));
    assert!(ap().is_fulfilled());
    let mut ap0 = unix::auto_pause(Duration::ZERO);
    let p = ap0();
    assert!(p.is_pending());
    main::run(p).unwrap();
}

#[test]
fn the_loop_does_not_block_while_callbacks_are_paused() {
    // A sleep of an hour is pending; if the loop blocked on it, the pauses
    // would never resume.
    let _long = unix::sleep(Duration::from_secs(3600));
    fn lp(n: u32) -> Promise<()> {
        if n == 0 {
            lwt::resolved(())
        } else {
            lwt::pause().bind(move |()| lp(n - 1))
        }
    }
    let t = Instant::now();
    main::run(lp(1000)).unwrap();
    assert!(t.elapsed() < Duration::from_secs(60));
}

#[test]
fn io_is_not_starved_by_a_pausing_loop() {
    let (r, w) = unix::pipe().unwrap();
    let read = unix::read(&r, vec![0u8; 4], 0, 4);
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    let _watch = read.clone_unit().map(move |()| d.set(true));
    // Fill the pipe behind the loop's back: only the kernel knows.
    lwt::async_(move || unix::write(&w, b"data", 0, 4).map(|_| ()));
    let iters = Rc::new(Cell::new(0u32));
    let it = iters.clone();
    let dn = done.clone();
    fn spin(it: Rc<Cell<u32>>, done: Rc<Cell<bool>>) -> Promise<()> {
        if done.get() || it.get() > 1_000_000 {
            lwt::resolved(())
        } else {
            it.set(it.get() + 1);
            lwt::pause().bind(move |()| spin(it, done))
        }
    }
    main::run(spin(it, dn)).unwrap();
    assert!(done.get());
    // The readiness is noticed within the documented polling interval.
    assert!(iters.get() <= 17, "took {} iterations", iters.get());
}

#[test]
fn a_pause_made_by_a_timer_callback_resumes_in_the_same_iteration() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let id = main::leave_iter_hooks::add_last(move || l.borrow_mut().push("leave"));
    let l2 = log.clone();
    let p = unix::sleep(Duration::ZERO).bind(move |()| {
        l2.borrow_mut().push("timer");
        lwt::pause()
    });
    main::run(p).unwrap();
    main::leave_iter_hooks::remove(id);
    let v = log.borrow();
    let timer = v.iter().position(|s| *s == "timer").unwrap();
    // Rule 42: wakeup_paused runs after the engine in the same iteration.
    assert_eq!(&v[timer..], &["timer", "leave"]);
}

#[test]
fn the_loop_wakes_for_a_worker_completion() {
    let p = lwt::preemptive::detach(|| {
        std::thread::sleep(ms(20));
        "late"
    });
    assert_eq!(main::run(p).unwrap(), "late");
}

#[test]
fn a_task_woken_from_another_thread_is_resumed() {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    #[derive(Default)]
    struct Shared {
        done: bool,
        waker: Option<Waker>,
    }
    struct Remote(Arc<Mutex<Shared>>);
    impl Future for Remote {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let mut s = self.0.lock().unwrap();
            if s.done {
                Poll::Ready(())
            } else {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
    let shared = Arc::new(Mutex::new(Shared::default()));
    let fut = Remote(shared.clone());
    let p = lwt::spawn(async move {
        fut.await;
        Ok(11)
    });
    let t = std::thread::spawn(move || {
        std::thread::sleep(ms(10));
        let mut s = shared.lock().unwrap();
        s.done = true;
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    });
    assert_eq!(main::run(p).unwrap(), 11);
    t.join().unwrap();
}

#[test]
fn counts_are_zero_on_a_fresh_thread() {
    std::thread::spawn(|| {
        assert_eq!(main::readable_count(), 0);
        assert_eq!(main::writable_count(), 0);
        assert_eq!(main::timer_count(), 0);
        assert_eq!(main::job_count(), 0);
    })
    .join()
    .unwrap();
}

trait CloneUnit {
    fn clone_unit(&self) -> Promise<()>;
}

impl<T: 'static> CloneUnit for Promise<T> {
    fn clone_unit(&self) -> Promise<()> {
        let (p, r) = lwt::wait::<()>();
        self.on_termination(move || r.wakeup(()));
        p
    }
}

#[test]
fn run_reports_a_promise_nothing_can_resolve_instead_of_hanging() {
    let (never, _resolver) = lwt::wait::<()>();
    let e = lwt::main::run(never).unwrap_err();
    assert!(e.message().contains("can never resolve"), "{e}");
}

#[test]
fn run_keeps_waiting_while_a_timer_can_still_resolve_the_promise() {
    let (p, r) = lwt::wait::<u8>();
    let timer = lwt::unix::sleep(std::time::Duration::from_millis(2)).map(move |()| r.wakeup(7));
    assert_eq!(lwt::main::run(p).unwrap(), 7);
    assert!(timer.is_fulfilled());
}

#[test]
fn run_keeps_waiting_while_an_async_task_is_alive() {
    // A task waiting on a worker's result: the loop must not give up on it.
    let p = lwt::spawn(async { lwt::preemptive::detach(|| 5u8).await });
    assert_eq!(lwt::main::run(p).unwrap(), 5);
}
