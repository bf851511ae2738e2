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
