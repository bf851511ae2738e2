//! Lwt_mutex, Lwt_condition, Lwt_mvar, Lwt_pool and Lwt_switch: the
//! behaviours of Lwt's test suites for these modules, plus the waiter rules
//! (FIFO, cancel removes the waiter) and the errors lwt-rs adds.

use std::cell::{Cell, RefCell};
use std::fmt::Debug;
use std::rc::Rc;

use lwt::condition::Condition;
use lwt::mutex::Mutex;
use lwt::mvar::Mvar;
use lwt::pool::Pool;
use lwt::switch::{self, Switch};
use lwt::{pause, resolved, task, wait, Error, ErrorKind, Promise, State};

mod drive;
use drive::{fulfilled, rejected_with};

#[derive(Debug)]
struct Dummy;
impl std::fmt::Display for Dummy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dummy error")
    }
}
impl std::error::Error for Dummy {}

fn is_dummy(e: &Error) -> bool {
    e.downcast_ref::<Dummy>().is_some()
}

// ---------------------------------------------------------------- mutex

#[test]
fn lock_on_a_free_mutex_is_fulfilled_at_once() {
    let m = lwt::mutex::create();
    let l = m.lock();
    assert!(l.is_fulfilled());
    assert!(m.is_locked());
}

#[test]
fn lock_on_a_held_mutex_waits() {
    let m = Mutex::new();
    let _held = m.lock();
    let second = m.lock();
    assert!(second.is_pending());
    assert!(!m.is_empty());
}

#[test]
fn lock_waiters_are_served_in_fifo_order() {
    let m = Mutex::new();
    let _held = m.lock();
    let order = Rc::new(RefCell::new(Vec::new()));
    let waiters: Vec<Promise<()>> = (0..4)
        .map(|i| {
            let o = order.clone();
            m.lock().map(move |()| o.borrow_mut().push(i))
        })
        .collect();
    for _ in 0..4 {
        m.unlock().unwrap();
    }
    assert!(waiters.iter().all(|w| w.is_fulfilled()));
    assert_eq!(*order.borrow(), vec![0, 1, 2, 3]);
}

#[test]
fn unlock_hands_the_lock_to_the_next_waiter_which_keeps_it_locked() {
    let m = Mutex::new();
    let _held = m.lock();
    let next = m.lock();
    m.unlock().unwrap();
    assert!(next.is_fulfilled());
    assert!(m.is_locked());
    assert!(m.is_empty());
}

#[test]
fn unlock_without_waiters_frees_the_mutex() {
    let m = Mutex::new();
    let _ignored = m.lock();
    m.unlock().unwrap();
    assert!(!m.is_locked());
}

#[test]
fn unlocking_an_unlocked_mutex_is_an_invalid_argument_error() {
    let m = Mutex::new();
    let e = m.unlock().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("not locked"));
}

#[test]
fn try_lock_takes_only_a_free_mutex() {
    let m = Mutex::new();
    assert!(m.try_lock());
    assert!(!m.try_lock());
    m.unlock().unwrap();
    assert!(m.try_lock());
}

/// Lwt's "cancel": a canceled lock waiter never gets the lock.
#[test]
fn a_canceled_lock_waiter_is_removed_and_never_gets_the_lock() {
    let m = Mutex::new();
    let (release, resume) = wait::<()>();
    let thread_1 = m.with_lock(move || release);
    let got_it = Rc::new(Cell::new(false));
    let g = got_it.clone();
    let thread_2 = m.lock().map(move |()| g.set(true));
    thread_2.cancel();
    assert!(thread_2.is_canceled());
    assert!(m.is_empty());
    resume.wakeup(());
    assert!(thread_1.is_fulfilled());
    assert!(!m.is_locked(), "the lock was not handed to the canceled waiter");
    assert!(m.lock().is_fulfilled());
    assert!(!got_it.get());
}

/// Lwt's "cancel while queued by unlock": once unlock has handed the lock
/// over (from inside a callback, so the waiter's callbacks are deferred),
/// canceling the waiter is too late and does nothing.
#[test]
fn canceling_a_waiter_already_handed_the_lock_does_nothing() {
    let m = Mutex::new();
    let (wait_1, resume_1) = wait::<()>();
    let thread_1 = m.with_lock(move || wait_1);
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let m2 = m.clone();
    let thread_2 = m.lock().map(move |()| {
        r.set(true);
        m2.unlock().unwrap();
    });
    let (top, wake_top) = wait::<()>();
    let checks = Rc::new(RefCell::new(None));
    let c = checks.clone();
    let m3 = m.clone();
    let t2 = thread_2.clone();
    let ran2 = ran.clone();
    let outer = top.bind(move |()| {
        // Inside a callback: thread 1 is resumed, and its unlock queues
        // thread 2 with wakeup_later.
        resume_1.wakeup_later(());
        thread_1.map(move |()| {
            let passed = m3.is_locked();
            let queued = !ran2.get();
            t2.cancel();
            *c.borrow_mut() = Some((passed, queued, t2.is_canceled()));
        })
    });
    wake_top.wakeup(());
    assert!(outer.is_fulfilled());
    let (passed, queued, canceled) = checks.borrow().expect("the callback ran");
    assert!(passed, "the mutex was handed to thread 2");
    assert!(queued, "thread 2's callback was queued, not run");
    assert!(!canceled, "the cancel came too late");
    assert!(ran.get());
    assert!(thread_2.is_fulfilled());
    assert!(!m.is_locked());
}

#[test]
fn unlock_skips_a_waiter_already_marked_canceled() {
    // Canceling a join of two waiters marks both canceled before any cancel
    // callback runs; a callback that unlocks then must not hand the lock to
    // the second one.
    let m = Mutex::new();
    let _held = m.lock();
    let w1 = m.lock();
    let w2 = m.lock();
    let m2 = m.clone();
    w1.on_cancel(move || m2.unlock().unwrap());
    let both = lwt::join(vec![w1, w2]);
    both.cancel();
    assert!(both.is_canceled());
    assert!(!m.is_locked(), "no live waiter: the mutex is free");
    assert!(m.is_empty());
}

#[test]
fn with_lock_releases_the_lock_after_success() {
    let m = Mutex::new();
    let p = m.with_lock(|| resolved(5));
    assert_eq!(fulfilled(&p), 5);
    assert!(!m.is_locked());
}

#[test]
fn with_lock_releases_the_lock_after_a_rejection() {
    let m = Mutex::new();
    let p = m.with_lock(|| lwt::fail_with::<()>("inside"));
    assert_eq!(rejected_with(&p).message(), "inside");
    assert!(!m.is_locked());
}

#[test]
fn with_lock_releases_the_lock_after_a_panic() {
    let m = Mutex::new();
    let p = m.with_lock(|| -> Promise<()> { panic!("boom") });
    assert_eq!(rejected_with(&p).kind(), ErrorKind::Panic);
    assert!(!m.is_locked());
}

#[test]
fn with_lock_runs_critical_sections_one_at_a_time() {
    let m = Mutex::new();
    let inside = Rc::new(Cell::new(0));
    let max = Rc::new(Cell::new(0));
    let all: Vec<Promise<()>> = (0..5)
        .map(|_| {
            let (inside, max) = (inside.clone(), max.clone());
            m.with_lock(move || {
                inside.set(inside.get() + 1);
                max.set(max.get().max(inside.get()));
                pause().map(move |()| inside.set(inside.get() - 1))
            })
        })
        .collect();
    let done = lwt::join(all);
    fulfilled(&done);
    assert_eq!(max.get(), 1);
    assert!(!m.is_locked());
}

// ------------------------------------------------------------ condition

#[test]
fn condition_wait_is_fulfilled_by_signal() {
    let c = lwt::condition::create::<i32>();
    let w = c.wait();
    assert!(w.is_pending());
    c.signal(1);
    assert_eq!(fulfilled(&w), 1);
}

#[test]
fn signal_wakes_only_the_oldest_waiter() {
    let c = Condition::new();
    let (a, b) = (c.wait(), c.wait());
    c.signal("first");
    assert_eq!(fulfilled(&a), "first");
    assert!(b.is_pending());
    c.signal("second");
    assert_eq!(fulfilled(&b), "second");
}

#[test]
fn signal_is_not_sticky() {
    let c = Condition::new();
    c.signal(1);
    let w = c.wait();
    assert!(w.is_pending());
}

#[test]
fn broadcast_wakes_every_waiter() {
    let c = Condition::new();
    let (a, b) = (c.wait(), c.wait());
    c.broadcast(1);
    assert_eq!((fulfilled(&a), fulfilled(&b)), (1, 1));
    assert_eq!(c.waiters(), 0);
}

#[test]
fn broadcast_exn_rejects_every_waiter() {
    let c = Condition::<()>::new();
    let (a, b) = (c.wait(), c.wait());
    c.broadcast_exn(Error::new(Dummy));
    assert!(is_dummy(&rejected_with(&a)));
    assert!(is_dummy(&rejected_with(&b)));
}

/// A condition, a mutex, and a wait on the condition that released the
/// mutex (taken first, as `wait_with_mutex` requires).
fn waiting_with_mutex() -> (Condition<i32>, Mutex, Promise<i32>) {
    let c = Condition::new();
    let m = Mutex::new();
    let _ignored = m.lock();
    let w = c.wait_with_mutex(&m);
    (c, m, w)
}

#[test]
fn wait_with_mutex_releases_the_mutex_while_waiting() {
    let (_c, m, w) = waiting_with_mutex();
    assert!(w.is_pending());
    assert!(!m.is_locked());
}

#[test]
fn wait_with_mutex_takes_the_mutex_back_before_resolving() {
    let (c, m, w) = waiting_with_mutex();
    let other = m.lock(); // someone takes the mutex meanwhile
    c.signal(1);
    assert!(w.is_pending(), "waits for the mutex held by `other`");
    assert!(other.is_fulfilled());
    m.unlock().unwrap();
    assert_eq!(fulfilled(&w), 1);
    assert!(m.is_locked());
}

#[test]
fn a_canceled_wait_with_mutex_still_takes_the_mutex_back() {
    let (c, m, w) = waiting_with_mutex();
    w.cancel();
    assert!(w.is_canceled());
    assert!(m.is_locked());
    assert_eq!(c.waiters(), 0);
}

#[test]
fn a_wait_with_mutex_canceled_while_another_holds_the_mutex_rejects_once_it_has_it() {
    let (c, m, w) = waiting_with_mutex();
    let other = m.lock();
    assert!(other.is_fulfilled());
    w.cancel();
    assert!(w.is_pending(), "waits for the mutex before it rejects");
    assert_eq!(c.waiters(), 0, "no longer waits for a notification");
    c.signal(1); // nobody to wake
    assert!(w.is_pending());
    m.unlock().unwrap(); // handed to the canceled waiter
    assert!(w.is_canceled());
    assert!(m.is_locked(), "the canceled waiter holds it again");
}

#[test]
fn a_wait_with_mutex_canceled_again_while_retaking_the_mutex_gives_up_the_mutex() {
    let (_c, m, w) = waiting_with_mutex();
    let _other = m.lock();
    w.cancel();
    w.cancel(); // now cancels its wait for the mutex
    assert!(w.is_canceled());
    assert!(m.is_empty(), "no longer queued for the mutex");
    m.unlock().unwrap();
    assert!(!m.is_locked());
}

#[test]
fn a_wait_with_mutex_canceled_after_its_notification_keeps_the_value() {
    // The notification took the waiter out, its mutex not retaken yet (the
    // signal came from a callback); the cancel comes too late, as in Lwt.
    let (c, m, w) = waiting_with_mutex();
    let (go, r) = wait::<()>();
    let (c2, w2) = (c.clone(), w.clone());
    let seen = go.map(move |()| {
        c2.signal(3);
        w2.cancel();
        w2.is_pending()
    });
    r.wakeup(());
    assert!(fulfilled(&seen), "still pending inside the callback");
    assert_eq!(fulfilled(&w), 3);
    assert!(m.is_locked());
}

#[test]
fn a_wait_with_mutex_on_a_dropped_condition_still_takes_the_mutex_back_when_canceled() {
    let m = Mutex::new();
    let _ignored = m.lock();
    let w = Condition::<i32>::new().wait_with_mutex(&m);
    assert!(!m.is_locked());
    w.cancel();
    assert!(w.is_canceled());
    assert!(m.is_locked());
}

#[test]
fn a_notified_wait_with_mutex_resolves_after_the_notifying_callback_returns() {
    // As with `wakeup_later`: the waiter goes on once the callback that
    // signaled returns, and only then takes the mutex back.
    let c = Condition::<i32>::new();
    let m = Mutex::new();
    let _ignored = m.lock();
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let w = c
        .wait_with_mutex(&m)
        .map(move |v| l.borrow_mut().push(format!("woken {v}")));
    let (go, r) = wait::<()>();
    let (c2, m2, l2) = (c.clone(), m.clone(), log.clone());
    let _done = go.map(move |()| {
        c2.signal(4);
        l2.borrow_mut()
            .push(format!("signaled, mutex locked: {}", m2.is_locked()));
    });
    r.wakeup(());
    assert_eq!(*log.borrow(), ["signaled, mutex locked: false", "woken 4"]);
    assert!(w.is_fulfilled() && m.is_locked());
}

#[test]
fn with_lock_around_a_canceled_wait_with_mutex_leaves_the_mutex_free() {
    let c = Condition::<i32>::new();
    let m = Mutex::new();
    let (c2, m2) = (c.clone(), m.clone());
    let body = m.with_lock(move || c2.wait_with_mutex(&m2));
    assert!(!m.is_locked(), "released while waiting");
    body.cancel();
    assert!(body.is_canceled());
    assert!(!m.is_locked(), "retaken by the wait, released by with_lock");
    assert_eq!(c.waiters(), 0);
}

#[test]
fn broadcast_exn_to_a_wait_with_mutex_rejects_it_holding_the_mutex() {
    let (c, m, w) = waiting_with_mutex();
    c.broadcast_exn(Error::new(Dummy));
    assert!(is_dummy(&rejected_with(&w)));
    assert!(m.is_locked());
}

#[test]
fn wait_with_a_mutex_that_is_not_locked_is_rejected() {
    let c = Condition::<i32>::new();
    let m = Mutex::new();
    let w = c.wait_with_mutex(&m);
    assert_eq!(rejected_with(&w).kind(), ErrorKind::InvalidArgument);
    assert_eq!(c.waiters(), 0);
}

#[test]
fn a_canceled_condition_waiter_is_skipped_by_signal() {
    let c = Condition::new();
    let (a, b) = (c.wait(), c.wait());
    a.cancel();
    c.signal(2);
    assert!(a.is_canceled());
    assert_eq!(fulfilled(&b), 2);
}

// ----------------------------------------------------------------- mvar

#[test]
fn take_from_a_full_mvar_is_fulfilled_at_once() {
    let x = lwt::mvar::create(0);
    assert_eq!(fulfilled(&x.take()), 0);
}

#[test]
fn take_available_on_a_full_mvar_gives_the_value() {
    let x = Mvar::new(0);
    assert_eq!(x.take_available(), Some(0));
}

#[test]
fn take_available_on_an_empty_mvar_gives_none() {
    let x = lwt::mvar::create_empty::<i32>();
    assert_eq!(x.take_available(), None);
}

#[test]
fn take_available_twice_empties_the_mvar() {
    let x = Mvar::new(0);
    assert_eq!(x.take_available(), Some(0));
    assert_eq!(x.take_available(), None);
}

#[test]
fn is_empty_tells_whether_the_mvar_holds_a_value() {
    assert!(!Mvar::new(0).is_empty());
    assert!(Mvar::<i32>::empty().is_empty());
}

#[test]
fn put_into_a_full_mvar_waits() {
    let x = Mvar::new(0);
    let y = x.put(1).map(|()| 1);
    assert!(y.is_pending());
}

#[test]
fn put_then_take_gives_the_value() {
    let x = Mvar::empty();
    let z = x.put(0).bind({
        let x = x.clone();
        move |()| x.take()
    });
    assert_eq!(fulfilled(&z), 0);
}

#[test]
fn take_then_put_does_not_wait() {
    let x = Mvar::new(0);
    let _ignored = x.take();
    let z = x.put(1).map(|()| 2);
    assert_eq!(fulfilled(&z), 2);
}

#[test]
fn a_queued_writer_fills_the_mvar_after_take() {
    let x = Mvar::new(1);
    let _ignored = x.put(2);
    let x2 = x.clone();
    let y = x.take().bind(move |v1| x2.take().map(move |v2| v1 + v2));
    assert_eq!(fulfilled(&y), 3);
}

/// Lwt's "writer cancellation": a canceled writer's value is never stored.
#[test]
fn a_canceled_writer_is_removed_and_its_value_dropped() {
    let x = Mvar::<i32>::empty();
    let y = Mvar::new(1);
    let (t, _r) = task::<()>();
    let y2 = y.clone();
    let r1 = t.bind(move |()| y2.put(2));
    let (x2, y3) = (x.clone(), y.clone());
    r1.on_cancel(move || {
        let x2 = x2.clone();
        let _ignored = y3.take().bind(move |z| x2.put(z));
    });
    r1.cancel();
    assert_eq!(fulfilled(&x.take()), 1);
}

#[test]
fn a_canceled_blocked_put_never_stores_its_value() {
    let x = Mvar::new(1);
    let blocked = x.put(2);
    blocked.cancel();
    assert!(blocked.is_canceled());
    assert_eq!(x.take_available(), Some(1));
    assert_eq!(x.take_available(), None);
}

/// Lwt's "reader cancellation": a canceled reader does not take the value.
#[test]
fn a_canceled_reader_is_removed_and_the_value_goes_to_the_next() {
    let x = Mvar::empty();
    let (t, _r) = task::<()>();
    let x1 = x.clone();
    let r1 = t.bind(move |()| x1.take());
    let r2 = x.take();
    let x2 = x.clone();
    r1.on_cancel(move || {
        let _ignored = x2.put(1);
    });
    r1.cancel();
    assert_eq!(fulfilled(&r2), 1);
}

#[test]
fn mvar_readers_are_served_in_fifo_order() {
    let x = Mvar::empty();
    let readers: Vec<Promise<i32>> = (0..3).map(|_| x.take()).collect();
    for v in 10..13 {
        let _ignored = x.put(v);
    }
    let got: Vec<i32> = readers.iter().map(fulfilled).collect();
    assert_eq!(got, vec![10, 11, 12]);
    assert!(x.is_empty());
}

#[test]
fn mvar_writers_are_served_in_fifo_order() {
    let x = Mvar::new(0);
    let writers: Vec<Promise<()>> = (1..4).map(|v| x.put(v)).collect();
    let mut got = Vec::new();
    while let Some(v) = x.take_available() {
        got.push(v);
    }
    assert_eq!(got, vec![0, 1, 2, 3]);
    assert!(writers.iter().all(|w| w.is_fulfilled()));
}

// ----------------------------------------------------------------- pool

fn counter_pool(max: usize) -> (Pool<Rc<Cell<i32>>>, Rc<Cell<usize>>) {
    let made = Rc::new(Cell::new(0));
    let m = made.clone();
    let pool = Pool::new(max, move || {
        m.set(m.get() + 1);
        resolved(Rc::new(Cell::new(0)))
    })
    .unwrap();
    (pool, made)
}

#[test]
fn pool_use_lends_an_element() {
    let pool = lwt::pool::create(1, || resolved(7)).unwrap();
    let u = pool.use_(resolved);
    assert_eq!(u.state(), State::Fulfilled(7));
    assert_eq!(pool.size(), 1);
}

#[test]
fn a_creator_error_rejects_use_and_is_not_counted() {
    let pool = Pool::<i32>::new(1, || lwt::rejected(Error::new(Dummy))).unwrap();
    let u = pool.use_(|_| resolved(0));
    assert!(is_dummy(&rejected_with(&u)));
    assert_eq!(pool.size(), 0);
}

#[test]
fn a_creator_panic_rejects_use() {
    let pool = Pool::<i32>::new(1, || panic!("cannot create")).unwrap();
    let u = pool.use_(resolved);
    assert_eq!(rejected_with(&u).kind(), ErrorKind::Panic);
    assert_eq!(pool.size(), 0);
}

#[test]
fn pool_elements_are_reused() {
    let (pool, made) = counter_pool(1);
    let _ignored = pool.use_(|n| {
        n.set(1);
        resolved(n.get())
    });
    let u2 = pool.use_(|n| resolved(n.get()));
    assert_eq!(fulfilled(&u2), 1);
    assert_eq!(made.get(), 1);
}

#[test]
fn pool_elements_are_validated_before_reuse() {
    let (pool, _) = counter_pool(1);
    let pool = pool.validate(|n| resolved(n.get() == 0));
    let _ignored = pool.use_(|n| {
        n.set(1);
        resolved(())
    });
    let u2 = pool.use_(|n| resolved(n.get()));
    assert_eq!(fulfilled(&u2), 0, "the invalid element was replaced");
}

#[test]
fn validation_errors_reach_the_user() {
    let (pool, _) = counter_pool(1);
    let pool = pool.validate(|n| {
        if n.get() == 0 {
            resolved(true)
        } else {
            lwt::rejected(Error::new(Dummy))
        }
    });
    let c = Condition::<&str>::new();
    let c2 = c.clone();
    let u1 = pool.use_(move |n| {
        n.set(1);
        c2.wait()
    });
    let u2 = pool.use_(|n| resolved(n.get()));
    c.signal("done");
    assert_eq!(fulfilled(&u1), "done");
    assert!(is_dummy(&rejected_with(&u2)));
}

#[test]
fn a_pool_creates_up_to_its_maximum() {
    let (pool, made) = counter_pool(2);
    let _ignored = pool.use_(|n| {
        n.set(1);
        pause()
    });
    let u2 = pool.use_(|n| resolved(n.get()));
    assert_eq!(fulfilled(&u2), 0);
    assert_eq!(made.get(), 2);
}

#[test]
fn users_of_an_exhausted_pool_wait() {
    let pool = Pool::new(1, || resolved(0)).unwrap();
    let _ignored = pool.use_(|_| pause());
    let u2 = pool.use_(resolved);
    assert!(u2.is_pending());
    assert_eq!(pool.wait_queue_length(), 1);
    assert_eq!(fulfilled(&u2), 0);
}

#[test]
fn pool_waiters_are_served_in_fifo_order() {
    let (pool, _) = counter_pool(1);
    let (release, r) = wait::<()>();
    let _ignored = pool.use_(move |_| release);
    let order = Rc::new(RefCell::new(Vec::new()));
    let users: Vec<Promise<()>> = (0..3)
        .map(|i| {
            let o = order.clone();
            pool.use_(move |_| {
                o.borrow_mut().push(i);
                resolved(())
            })
        })
        .collect();
    r.wakeup(());
    fulfilled(&lwt::join(users));
    assert_eq!(*order.borrow(), vec![0, 1, 2]);
}

#[test]
fn a_canceled_pool_waiter_leaves_the_queue() {
    let pool = Pool::new(1, || resolved(0)).unwrap();
    let (release, r) = wait::<()>();
    let _ignored = pool.use_(move |_| release);
    let waiting = pool.use_(resolved);
    assert_eq!(pool.wait_queue_length(), 1);
    waiting.cancel();
    assert!(waiting.is_canceled());
    assert_eq!(pool.wait_queue_length(), 0);
    r.wakeup(());
    assert_eq!(fulfilled(&pool.use_(resolved)), 0);
}

#[test]
fn on_check_good_elements_are_kept() {
    let pool = Pool::new(1, || resolved(Rc::new(Cell::new(1))))
        .unwrap()
        .check(|n| n.get() > 0);
    let _ignored = pool.use_(|n| {
        n.set(2);
        lwt::rejected::<()>(Error::new(Dummy))
    });
    let u2 = pool.use_(|n| resolved(n.get()));
    assert_eq!(fulfilled(&u2), 2);
}

#[test]
fn on_check_bad_elements_are_disposed_of_and_replaced() {
    let disposed = Rc::new(Cell::new(false));
    let d = disposed.clone();
    let pool = Pool::new(1, || resolved(Rc::new(Cell::new(1))))
        .unwrap()
        .check(|n| n.get() > 0)
        .dispose(move |_| {
            d.set(true);
            resolved(())
        });
    let _ignored = pool.use_(|n| {
        n.set(0);
        lwt::rejected::<()>(Error::new(Dummy))
    });
    let u2 = pool.use_(|n| {
        n.set(n.get() + 1);
        resolved(n.get())
    });
    assert_eq!(fulfilled(&u2), 2);
    assert!(disposed.get());
}

#[test]
fn a_waiting_user_gets_a_replacement_after_a_failed_check() {
    let pool = Pool::new(1, || resolved(Rc::new(Cell::new(1))))
        .unwrap()
        .check(|n| n.get() > 0);
    let (fail, r) = wait::<()>();
    let u1 = pool.use_(move |n| {
        n.set(0);
        fail.bind(|()| lwt::rejected::<()>(Error::new(Dummy)))
    });
    let u2 = pool.use_(|n| resolved(n.get()));
    assert!(u2.is_pending());
    r.wakeup(());
    assert!(is_dummy(&rejected_with(&u1)));
    assert_eq!(fulfilled(&u2), 1, "a fresh element, not the disposed one");
    assert_eq!(pool.size(), 1);
}

#[test]
fn clear_disposes_of_free_elements_now_and_busy_ones_later() {
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    let pool = Pool::new(2, || resolved(Rc::new(Cell::new(1))))
        .unwrap()
        .dispose(move |_| {
            c.set(c.get() + 1);
            resolved(())
        });
    let u = pool.use_(|_| pause());
    let _ignored = pool.use_(|_| resolved(()));
    let cleared = pool.clear();
    assert!(cleared.is_fulfilled());
    assert_eq!(count.get(), 1, "the free element went at once");
    fulfilled(&u);
    assert_eq!(count.get(), 2, "the busy one when it came back");
    assert_eq!(pool.size(), 0);
}

#[test]
fn waiters_are_given_a_replacement_when_validation_fails() {
    let (pool, _) = counter_pool(1);
    let pool = pool.validate(|n| {
        if n.get() == 0 {
            resolved(true)
        } else {
            lwt::rejected(Error::new(Dummy))
        }
    });
    let c = Condition::<&str>::new();
    let c2 = c.clone();
    let u1 = pool.use_(move |n| {
        n.set(1);
        c2.wait()
    });
    let u2 = pool.use_(|n| resolved(n.get()));
    let u3 = pool.use_(|n| resolved(n.get()));
    c.signal("done");
    assert_eq!(fulfilled(&u1), "done");
    assert!(is_dummy(&rejected_with(&u2)));
    assert_eq!(fulfilled(&u3), 0);
}

#[test]
fn waiters_are_told_when_the_replacement_cannot_be_created() {
    let k = Rc::new(Cell::new(true));
    let k2 = k.clone();
    let pool = Pool::new(1, move || {
        if k2.get() {
            resolved(Rc::new(Cell::new(0)))
        } else {
            lwt::rejected(Error::new(Dummy))
        }
    })
    .unwrap()
    .validate(|n| {
        if n.get() == 0 {
            resolved(true)
        } else {
            lwt::rejected(Error::new(Dummy))
        }
    });
    let c = Condition::<&str>::new();
    let c2 = c.clone();
    let u1 = pool.use_(move |n| {
        n.set(1);
        k.set(false);
        c2.wait()
    });
    let u2 = pool.use_(|n| resolved(n.get()));
    let u3 = pool.use_(|n| resolved(n.get()));
    c.signal("done");
    assert_eq!(fulfilled(&u1), "done");
    assert!(is_dummy(&rejected_with(&u2)));
    assert!(is_dummy(&rejected_with(&u3)));
}

#[test]
fn check_and_validate_work_together() {
    let pool = Pool::new(1, || resolved(Rc::new(Cell::new(0))))
        .unwrap()
        .validate(|n| resolved(n.get() > 0))
        .check(|n| n.get() > 1);
    let cond = Condition::<&str>::new();
    let c2 = cond.clone();
    let _ignored = pool.use_(move |n| {
        n.set(1);
        c2.wait()
    });
    let _ignored = pool.use_(|n| -> Promise<()> {
        n.set(2);
        lwt::rejected(Error::new(Dummy))
    });
    let u3 = pool.use_(|n| resolved(n.get()));
    cond.signal("done");
    assert_eq!(fulfilled(&u3), 2);
}

#[test]
fn by_default_an_element_whose_user_failed_is_kept() {
    let pool = Pool::new(1, || resolved(Rc::new(Cell::new(0)))).unwrap();
    let cond = Condition::<&str>::new();
    let c2 = cond.clone();
    let _ignored = pool.use_(move |n| {
        c2.wait().bind(move |_| {
            n.set(1);
            lwt::rejected::<()>(Error::new(Dummy))
        })
    });
    let u2 = pool.use_(|n| resolved(n.get()));
    cond.signal("done");
    assert_eq!(fulfilled(&u2), 1);
}

#[test]
fn a_pool_of_size_zero_is_refused() {
    let e = Pool::new(0, || resolved(())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

// --------------------------------------------------------------- switch

fn counting_hook(calls: &Rc<Cell<u32>>) -> impl FnOnce() -> Promise<()> + 'static {
    let c = calls.clone();
    move || {
        c.set(c.get() + 1);
        resolved(())
    }
}

#[test]
fn turn_off_runs_each_hook_once_and_add_hook_then_fails() {
    let (h1, h2) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let s = lwt::switch::create();
    switch::add_hook(Some(&s), counting_hook(&h1)).unwrap();
    switch::add_hook(Some(&s), counting_hook(&h2)).unwrap();
    assert_eq!((h1.get(), h2.get()), (0, 0));
    fulfilled(&s.turn_off());
    assert_eq!((h1.get(), h2.get()), (1, 1));
    fulfilled(&s.turn_off());
    assert_eq!((h1.get(), h2.get()), (1, 1));
    let e = switch::add_hook(Some(&s), || resolved(())).unwrap_err();
    assert!(e.downcast_ref::<switch::Off>().is_some());
}

#[test]
fn turn_off_rejects_with_a_hook_error() {
    let s = Switch::new();
    s.add_hook(|| -> Promise<()> { lwt::rejected(Error::new(Dummy)) })
        .unwrap();
    assert!(is_dummy(&rejected_with(&s.turn_off())));
}

#[test]
fn turn_off_runs_the_latest_hook_first() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let s = Switch::new();
    for i in 0..3 {
        let o = order.clone();
        s.add_hook(move || {
            o.borrow_mut().push(i);
            resolved(())
        })
        .unwrap();
    }
    fulfilled(&s.turn_off());
    assert_eq!(*order.borrow(), vec![2, 1, 0]);
}

#[test]
fn with_switch_turns_the_switch_off_after_a_regular_exit() {
    let called = Rc::new(Cell::new(0));
    let c = called.clone();
    let p = switch::with_switch(move |s| {
        s.add_hook(counting_hook(&c)).unwrap();
        resolved(())
    });
    fulfilled(&p);
    assert_eq!(called.get(), 1);
}

#[test]
fn with_switch_turns_the_switch_off_after_an_error() {
    let called = Rc::new(Cell::new(0));
    let c = called.clone();
    let p = switch::with_switch(move |s| -> Promise<()> {
        s.add_hook(counting_hook(&c)).unwrap();
        panic!("exit")
    });
    assert_eq!(rejected_with(&p).kind(), ErrorKind::Panic);
    assert_eq!(called.get(), 1);
}

#[test]
fn check_fails_only_on_a_switch_that_is_off() {
    assert!(switch::check(None).is_ok());
    let s = Switch::new();
    assert!(switch::check(Some(&s)).is_ok());
    fulfilled(&s.turn_off());
    let e = switch::check(Some(&s)).unwrap_err();
    assert!(e.downcast_ref::<switch::Off>().is_some());
}

#[test]
fn is_on_until_turned_off() {
    let s = Switch::new();
    assert!(s.is_on());
    fulfilled(&s.turn_off());
    assert!(!s.is_on());
}

#[test]
fn add_hook_or_exec_registers_or_runs_the_hook() {
    let calls = Rc::new(Cell::new(0));
    fulfilled(&switch::add_hook_or_exec(None, counting_hook(&calls)));
    assert_eq!(calls.get(), 0);
    let s = Switch::new();
    fulfilled(&switch::add_hook_or_exec(Some(&s), counting_hook(&calls)));
    assert_eq!(calls.get(), 0);
    fulfilled(&s.turn_off());
    assert_eq!(calls.get(), 1);
    fulfilled(&switch::add_hook_or_exec(Some(&s), counting_hook(&calls)));
    assert_eq!(calls.get(), 2);
}

#[test]
fn turn_off_waits_for_every_hook() {
    let finished = Rc::new(Cell::new(0));
    let s = Switch::new();
    for _ in 0..2 {
        let f = finished.clone();
        s.add_hook(move || pause().map(move |()| f.set(f.get() + 1))).unwrap();
    }
    let off = s.turn_off();
    assert!(off.is_pending());
    fulfilled(&off);
    assert_eq!(finished.get(), 2);
}

#[test]
fn turn_off_waits_for_every_hook_even_when_one_fails() {
    let finished = Rc::new(Cell::new(0));
    let s = Switch::new();
    let slow = |f: Rc<Cell<i32>>| move || pause().map(move |()| f.set(f.get() + 1));
    s.add_hook(slow(finished.clone())).unwrap();
    let f = finished.clone();
    s.add_hook(move || -> Promise<()> {
        f.set(f.get() + 1);
        panic!("hook failed")
    })
    .unwrap();
    s.add_hook(slow(finished.clone())).unwrap();
    let off = s.turn_off();
    assert!(off.is_pending(), "still waiting for the slow hooks");
    assert_eq!(rejected_with(&off).kind(), ErrorKind::Panic);
    assert_eq!(finished.get(), 3);
}

// ------------------------------------------------------------- throttle

use lwt::retry::Sleeper;
use lwt::throttle::Throttle;
use lwt::timeout::Wheel;

/// A clock whose one-second ticks happen at each turn of the loop
/// (`wakeup_paused`); it checks that it is only ever asked for seconds.
fn tick_clock() -> Sleeper {
    Rc::new(|d| {
        assert_eq!(d, std::time::Duration::from_secs(1));
        pause()
    })
}

fn tick() {
    lwt::wakeup_paused();
}

#[test]
fn a_throttle_with_a_zero_rate_or_max_is_refused() {
    assert_eq!(
        Throttle::<u8>::with_sleeper(0, 1, tick_clock()).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        Throttle::<u8>::with_sleeper(1, 0, tick_clock()).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn throttle_lets_rate_calls_per_key_through_at_once() {
    let t = Throttle::with_sleeper(3, 10, tick_clock()).unwrap();
    let first: Vec<Promise<bool>> = (0..3).map(|_| t.wait("k")).collect();
    assert!(first.iter().all(|p| p.state() == State::Fulfilled(true)));
    assert!(t.wait("k").is_pending());
    assert_eq!(t.wait("other").state(), State::Fulfilled(true), "keys are independent");
}

#[test]
fn throttle_lets_rate_waiters_through_per_tick_in_fifo_order() {
    let t = Throttle::with_sleeper(2, 10, tick_clock()).unwrap();
    let _now = (t.wait(1), t.wait(1));
    let order = Rc::new(RefCell::new(Vec::new()));
    let waiting: Vec<Promise<()>> = (0..5)
        .map(|i| {
            let o = order.clone();
            t.wait(1).map(move |ok| {
                assert!(ok);
                o.borrow_mut().push(i)
            })
        })
        .collect();
    assert_eq!(t.waiting(), 5);
    tick();
    assert_eq!(*order.borrow(), vec![0, 1]);
    tick();
    assert_eq!(*order.borrow(), vec![0, 1, 2, 3]);
    tick();
    assert_eq!(*order.borrow(), vec![0, 1, 2, 3, 4]);
    assert!(waiting.iter().all(|w| w.is_fulfilled()));
}

#[test]
fn throttle_answers_false_when_max_promises_wait() {
    let t = Throttle::with_sleeper(1, 2, tick_clock()).unwrap();
    let _now = t.wait('a');
    let (w1, w2) = (t.wait('a'), t.wait('a'));
    assert!(w1.is_pending() && w2.is_pending());
    assert_eq!(t.wait('a').state(), State::Fulfilled(false));
    let _b = t.wait('b'); // still allowed: not a waiting promise
    assert_eq!(t.wait('b').state(), State::Fulfilled(false), "max counts over all keys");
}

#[test]
fn a_canceled_throttle_waiter_frees_its_place() {
    let t = Throttle::with_sleeper(1, 1, tick_clock()).unwrap();
    let _now = t.wait(0);
    let w = t.wait(0);
    w.cancel();
    assert!(w.is_canceled());
    assert_eq!(t.waiting(), 0);
    let next = t.wait(0);
    assert!(next.is_pending());
    tick();
    assert_eq!(next.state(), State::Fulfilled(true));
}

#[test]
fn the_throttle_clock_stops_when_unused() {
    let t = Throttle::with_sleeper(1, 5, tick_clock()).unwrap();
    let _now = t.wait(0);
    assert_eq!(lwt::paused_count(), 1, "the clock ticks");
    tick();
    tick();
    assert_eq!(lwt::paused_count(), 0, "no key was used in the last second");
    assert_eq!(t.wait(0).state(), State::Fulfilled(true));
}

#[test]
fn a_failing_throttle_clock_rejects_the_waiters() {
    let broken: Sleeper = Rc::new(|_| pause().bind(|()| lwt::rejected(Error::failure("no clock"))));
    let t = Throttle::with_sleeper(1, 5, broken).unwrap();
    let _now = t.wait(0);
    let w = t.wait(0);
    assert_eq!(rejected_with(&w).message(), "no clock");
}

/// A clock whose calls panic when `panics` says so, and tick otherwise.
fn panicking_clock(panics: impl Fn(u32) -> bool + 'static) -> Sleeper {
    let calls = Cell::new(0);
    Rc::new(move |_| {
        calls.set(calls.get() + 1);
        if panics(calls.get()) {
            panic!("no clock")
        }
        pause()
    })
}

#[test]
fn a_throttle_sleeper_that_panics_fails_the_clock_and_the_next_wait_restarts_it() {
    let t = Throttle::with_sleeper(1, 5, panicking_clock(|n| n == 1)).unwrap();
    let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.wait(0)));
    assert_eq!(first.expect("the panic stays inside").state(), State::Fulfilled(true));
    assert_eq!(
        t.wait(0).state(),
        State::Fulfilled(true),
        "the failed clock reset the key"
    );
    let w = t.wait(0);
    assert!(w.is_pending());
    tick();
    assert_eq!(w.state(), State::Fulfilled(true), "the clock ticks again");
}

#[test]
fn a_throttle_sleeper_that_panics_at_a_tick_rejects_the_waiters_and_the_throttle_recovers() {
    let t = Throttle::with_sleeper(1, 5, panicking_clock(|n| n == 2)).unwrap();
    let _now = t.wait(0);
    let (w1, w2) = (t.wait(0), t.wait(0));
    tick();
    assert_eq!(
        w1.state(),
        State::Fulfilled(true),
        "its turn came before the clock broke"
    );
    assert_eq!(rejected_with(&w2).message(), "no clock");
    assert_eq!(t.wait(0).state(), State::Fulfilled(true));
    let w3 = t.wait(0);
    assert!(w3.is_pending());
    tick();
    assert_eq!(w3.state(), State::Fulfilled(true), "the clock ticks again");
}

// -------------------------------------------------------------- timeout

fn counter() -> (Rc<Cell<u32>>, impl FnMut() + 'static) {
    let n = Rc::new(Cell::new(0));
    let m = n.clone();
    (n, move || m.set(m.get() + 1))
}

#[test]
fn a_timeout_fires_on_the_tick_after_its_duration() {
    let wheel = Wheel::with_sleeper(tick_clock());
    let (fired, action) = counter();
    let t = wheel.create(1, action).unwrap();
    t.start();
    assert!(t.is_started());
    tick();
    assert_eq!(fired.get(), 0, "never early");
    tick();
    assert_eq!(fired.get(), 1);
    assert!(!t.is_started());
    tick();
    assert_eq!(lwt::paused_count(), 0, "the clock stopped with nothing started");
}

#[test]
fn a_timeout_that_is_not_started_never_fires() {
    let wheel = Wheel::with_sleeper(tick_clock());
    let (fired, action) = counter();
    let _t = wheel.create(1, action).unwrap();
    assert_eq!(lwt::paused_count(), 0, "no clock without a started timeout");
    for _ in 0..3 {
        tick();
    }
    assert_eq!(fired.get(), 0);
}

#[test]
fn starting_twice_fires_once() {
    let wheel = Wheel::with_sleeper(tick_clock());
    let (fired, action) = counter();
    let t = wheel.create(1, action).unwrap();
    t.start();
    t.start();
    assert_eq!(wheel.started(), 1);
    for _ in 0..4 {
        tick();
    }
    assert_eq!(fired.get(), 1);
}

#[test]
fn an_action_can_restart_its_own_timeout() {
    let wheel = Wheel::with_sleeper(tick_clock());
    let completions = Rc::new(Cell::new(0));
    let me: Rc<RefCell<Option<lwt::timeout::Timeout>>> = Rc::new(RefCell::new(None));
    let (c, m) = (completions.clone(), me.clone());
    let t = wheel
        .create(1, move || {
            c.set(c.get() + 1);
            if c.get() < 2 {
                if let Some(t) = &*m.borrow() {
                    t.start();
                }
            }
        })
        .unwrap();
    *me.borrow_mut() = Some(t.clone());
    t.start();
    for _ in 0..6 {
        tick();
    }
    assert_eq!(completions.get(), 2);
    me.borrow_mut().take();
}

#[test]
fn a_stopped_timeout_does_not_fire() {
    let wheel = Wheel::with_sleeper(tick_clock());
    let (fired, action) = counter();
    let t = wheel.create(1, action).unwrap();
    t.start();
    t.stop();
    assert!(!t.is_started());
    for _ in 0..3 {
        tick();
    }
    assert_eq!(fired.get(), 0);
}

#[test]
fn stopping_a_timeout_that_is_not_started_does_nothing() {
    let wheel = Wheel::with_sleeper(tick_clock());
    let t = wheel.create(1, || ()).unwrap();
    t.stop();
    assert!(!t.is_started());
    assert_eq!(wheel.started(), 0);
}

#[test]
fn a_zero_delay_is_an_invalid_argument() {
    let wheel = Wheel::with_sleeper(tick_clock());
    assert_eq!(wheel.create(0, || ()).unwrap_err().kind(), ErrorKind::InvalidArgument);
    let t = wheel.create(1, || ()).unwrap();
    assert_eq!(t.change(0).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(t.delay(), 1);
}

#[test]
fn change_before_start_sets_the_duration() {
    let wheel = Wheel::with_sleeper(tick_clock());
    let (fired, action) = counter();
    let t = wheel.create(5, action).unwrap();
    t.change(1).unwrap();
    assert!(!t.is_started(), "change does not start");
    t.start();
    tick();
    tick();
    assert_eq!(fired.get(), 1);
}

#[test]
fn change_after_start_restarts_with_the_new_duration() {
    let wheel = Wheel::with_sleeper(tick_clock());
    let (fired, action) = counter();
    let t = wheel.create(5, action).unwrap();
    t.start();
    t.change(1).unwrap();
    tick();
    tick();
    assert_eq!(fired.get(), 1);
}

#[test]
fn two_timeouts_fire_at_their_own_ticks() {
    let wheel = Wheel::with_sleeper(tick_clock());
    let (one, a1) = counter();
    let (two, a2) = counter();
    wheel.create(1, a1).unwrap().start();
    wheel.create(2, a2).unwrap().start();
    tick();
    tick();
    assert_eq!((one.get(), two.get()), (1, 0));
    tick();
    assert_eq!((one.get(), two.get()), (1, 1));
}

#[test]
fn simultaneous_timeouts_fire_on_the_same_tick_in_start_order() {
    let wheel = Wheel::with_sleeper(tick_clock());
    let order = Rc::new(RefCell::new(Vec::new()));
    for i in 0..3 {
        let o = order.clone();
        wheel.create(1, move || o.borrow_mut().push(i)).unwrap().start();
    }
    tick();
    tick();
    assert_eq!(*order.borrow(), vec![0, 1, 2]);
}

#[test]
fn stopping_the_first_of_two_timeouts_leaves_the_second() {
    let wheel = Wheel::with_sleeper(tick_clock());
    let (one, a1) = counter();
    let (two, a2) = counter();
    let t1 = wheel.create(1, a1).unwrap();
    t1.start();
    wheel.create(2, a2).unwrap().start();
    t1.stop();
    for _ in 0..3 {
        tick();
    }
    assert_eq!((one.get(), two.get()), (0, 1));
}

#[test]
fn a_longer_timeout_started_later_keeps_the_others_on_time() {
    let wheel = Wheel::with_sleeper(tick_clock());
    let (short, a1) = counter();
    let (long, a2) = counter();
    wheel.create(2, a1).unwrap().start();
    tick();
    let t = wheel.create(5, a2).unwrap(); // the wheel grows
    t.start();
    tick();
    assert_eq!(short.get(), 0);
    tick();
    assert_eq!(short.get(), 1, "the first one still fires on its tick");
    for _ in 0..3 {
        tick();
    }
    assert_eq!(long.get(), 0, "five seconds: the sixth tick after its start");
    tick();
    assert_eq!(long.get(), 1);
}

/// A wheel on `sleeper` whose exception handler records the messages it gets.
fn reporting_wheel(sleeper: Sleeper) -> (Wheel, Rc<RefCell<Vec<String>>>) {
    let wheel = Wheel::with_sleeper(sleeper);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    wheel.set_exn_handler(move |e| s.borrow_mut().push(e.message()));
    (wheel, seen)
}

#[test]
fn a_panicking_action_goes_to_the_exception_handler() {
    let (wheel, seen) = reporting_wheel(tick_clock());
    let (after, a2) = counter();
    wheel.create(1, || panic!("Exit")).unwrap().start();
    wheel.create(1, a2).unwrap().start();
    tick();
    tick();
    assert_eq!(*seen.borrow(), vec!["Exit".to_string()]);
    assert_eq!(after.get(), 1, "the other actions still run");
}

#[test]
fn by_default_a_panicking_action_goes_to_the_async_exception_hook() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let previous = lwt::set_async_exception_hook(move |e| s.borrow_mut().push(e.message()));
    let wheel = Wheel::with_sleeper(tick_clock());
    wheel.create(1, || panic!("Exit")).unwrap().start();
    tick();
    tick();
    drop(lwt::set_async_exception_hook(previous));
    assert_eq!(*seen.borrow(), vec!["Exit".to_string()]);
}

#[test]
fn a_failing_clock_is_reported_and_a_later_start_restarts_it() {
    let fail = Rc::new(Cell::new(true));
    let f = fail.clone();
    let (wheel, seen) = reporting_wheel(Rc::new(move |_| {
        if f.get() {
            lwt::rejected(Error::failure("no clock"))
        } else {
            pause()
        }
    }));
    let (fired, action) = counter();
    let t = wheel.create(1, action).unwrap();
    t.start();
    assert_eq!(*seen.borrow(), vec!["no clock".to_string()]);
    fail.set(false);
    t.start();
    tick();
    tick();
    assert_eq!(fired.get(), 1);
}

#[test]
fn a_timeout_sleeper_that_panics_is_reported_and_a_later_start_restarts_the_clock() {
    let (wheel, seen) = reporting_wheel(panicking_clock(|n| n == 1));
    let (fired, action) = counter();
    let t = wheel.create(1, action).unwrap();
    let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.start()));
    assert!(started.is_ok(), "the panic stays inside");
    assert_eq!(*seen.borrow(), vec!["no clock".to_string()]);
    t.start();
    tick();
    tick();
    assert_eq!(fired.get(), 1);
}

#[test]
fn a_timeout_sleeper_that_panics_at_a_tick_is_reported_and_a_later_start_restarts_the_clock() {
    let (wheel, seen) = reporting_wheel(panicking_clock(|n| n == 2));
    let (fired, action) = counter();
    let t = wheel.create(1, action).unwrap();
    t.start();
    tick();
    assert_eq!(*seen.borrow(), vec!["no clock".to_string()]);
    assert!(t.is_started());
    t.start();
    tick();
    tick();
    assert_eq!(fired.get(), 1);
}

#[test]
fn the_default_wheel_makes_timeouts_on_the_event_loop() {
    let t = lwt::timeout::create(30, || ()).unwrap();
    assert!(!t.is_started());
    assert_eq!(t.delay(), 30);
    assert!(lwt::timeout::create(0, || ()).is_err());
}

// ------------------------------------------- pool, mvar, switch: edge cases

#[test]
fn a_pool_stays_within_its_maximum_when_validation_fails_while_a_caller_waits() {
    // Lwt replaces an element that fails validation for the caller that
    // validated it; the waiting caller keeps waiting for a free element.
    let (pool, made) = counter_pool(1);
    let (gate, open) = wait::<bool>();
    let first_check = Rc::new(RefCell::new(Some(gate)));
    let pool = pool.validate(move |_| first_check.borrow_mut().take().unwrap_or_else(|| resolved(true)));
    fulfilled(&pool.use_(|_| resolved(())));
    let (hold2, release2) = wait::<()>();
    let (hold3, release3) = wait::<()>();
    let u2 = pool.use_(move |_| hold2);
    let u3 = pool.use_(move |_| hold3);
    assert_eq!(pool.wait_queue_length(), 1);
    open.wakeup(false);
    assert!(
        pool.size() <= 1,
        "the pool holds {} elements, more than its maximum of 1",
        pool.size()
    );
    assert_eq!(made.get(), 2);
    release2.wakeup(());
    fulfilled(&u2);
    release3.wakeup(());
    fulfilled(&u3);
    assert_eq!(pool.size(), 1);
}

#[test]
fn a_pool_waiter_gets_a_new_element_when_the_creation_it_waited_behind_fails() {
    let (gate, open) = wait::<()>();
    let gate = Rc::new(RefCell::new(Some(gate)));
    let pool = Pool::new(1, move || {
        let first = gate.borrow_mut().take();
        match first {
            Some(g) => g.bind(|()| lwt::rejected::<i32>(Error::new(Dummy))),
            None => resolved(5),
        }
    })
    .unwrap();
    let u1 = pool.use_(resolved);
    let u2 = pool.use_(resolved);
    assert_eq!(pool.wait_queue_length(), 1);
    open.wakeup(());
    assert!(is_dummy(&rejected_with(&u1)));
    assert_eq!(fulfilled(&u2), 5);
}

#[test]
fn canceling_a_pool_user_during_validation_disposes_of_the_element() {
    let disposed = Rc::new(Cell::new(0));
    let d = disposed.clone();
    let (check, _never) = task::<bool>();
    let checks = Rc::new(RefCell::new(vec![check]));
    let (pool, _) = counter_pool(1);
    let pool = pool
        .validate(move |_| checks.borrow_mut().pop().unwrap_or_else(|| resolved(true)))
        .dispose(move |_| {
            d.set(d.get() + 1);
            resolved(())
        });
    fulfilled(&pool.use_(|_| resolved(())));
    let u = pool.use_(|_| resolved(()));
    assert!(u.is_pending());
    u.cancel();
    assert!(rejected_with(&u).is_canceled());
    assert_eq!((disposed.get(), pool.size()), (1, 0));
    fulfilled(&pool.use_(|_| resolved(())));
}

#[test]
fn an_mvar_put_after_its_only_reader_was_canceled_stores_the_value() {
    let m = Mvar::empty();
    let r = m.take();
    r.cancel();
    fulfilled(&m.put(3));
    assert!(!m.is_empty());
    assert_eq!(m.take_available(), Some(3));
}

#[test]
fn a_hook_added_while_the_switch_turns_off_is_refused() {
    let s = Switch::new();
    let s2 = s.clone();
    let refused = Rc::new(Cell::new(false));
    let r = refused.clone();
    s.add_hook(move || {
        let e = s2.add_hook(|| resolved(())).unwrap_err();
        r.set(e.downcast_ref::<switch::Off>().is_some());
        resolved(())
    })
    .unwrap();
    fulfilled(&s.turn_off());
    assert!(refused.get());
}

#[test]
fn turning_a_switch_off_again_while_its_hooks_run_is_fulfilled_at_once() {
    let s = Switch::new();
    let (hook, done) = wait::<()>();
    s.add_hook(move || hook).unwrap();
    let first = s.turn_off();
    let second = s.turn_off();
    assert!(first.is_pending());
    assert!(second.is_fulfilled());
    done.wakeup(());
    assert!(first.is_fulfilled());
}

#[test]
fn turn_off_rejects_with_the_latest_hook_when_several_fail_at_once() {
    // The hooks start most recent first, and join keeps the first
    // rejection in that order.
    let s = Switch::new();
    s.add_hook(|| lwt::fail_with("older")).unwrap();
    s.add_hook(|| lwt::fail_with("newer")).unwrap();
    assert_eq!(rejected_with(&s.turn_off()).message(), "newer");
}

#[test]
fn with_switch_rejects_with_a_failing_hook_over_the_body_error() {
    let p = switch::with_switch(|s| {
        s.add_hook(|| lwt::fail_with("hook")).unwrap();
        lwt::fail_with::<()>("body")
    });
    assert_eq!(rejected_with(&p).message(), "hook");
}

#[test]
fn an_action_that_grows_the_wheel_leaves_the_timeouts_due_on_its_tick_firing() {
    let wheel = Wheel::with_sleeper(tick_clock());
    let (later, a_later) = counter();
    let (second, a_second) = counter();
    let (other, a_other) = counter();
    let w = wheel.clone();
    let longer: Rc<RefCell<Option<lwt::timeout::Timeout>>> = Rc::new(RefCell::new(None));
    let l = longer.clone();
    let mut a_later = Some(a_later);
    wheel
        .create(1, move || {
            let t = w.create(4, a_later.take().unwrap()).unwrap(); // grows the wheel
            t.start();
            *l.borrow_mut() = Some(t);
        })
        .unwrap()
        .start();
    wheel.create(1, a_second).unwrap().start();
    tick();
    wheel.create(1, a_other).unwrap().start();
    tick();
    assert_eq!(second.get(), 1, "due on the same tick as the growing action");
    assert_eq!(other.get(), 0);
    tick();
    assert_eq!(other.get(), 1, "started a tick later, fires a tick later");
    for _ in 0..2 {
        tick();
    }
    assert_eq!(later.get(), 0);
    tick();
    // Started at a tick, it fires exactly four ticks later, as in Lwt.
    assert_eq!(later.get(), 1, "four seconds after the tick that started it");
    longer.borrow_mut().take();
}

#[test]
fn an_action_that_stops_a_timeout_due_on_the_same_tick_prevents_it() {
    let wheel = Wheel::with_sleeper(tick_clock());
    let (fired, action) = counter();
    let victim: Rc<RefCell<Option<lwt::timeout::Timeout>>> = Rc::new(RefCell::new(None));
    let v = victim.clone();
    wheel
        .create(1, move || {
            if let Some(t) = &*v.borrow() {
                t.stop();
            }
        })
        .unwrap()
        .start();
    let t = wheel.create(1, action).unwrap();
    t.start();
    *victim.borrow_mut() = Some(t);
    for _ in 0..4 {
        tick();
    }
    assert_eq!(fired.get(), 0);
    assert_eq!(wheel.started(), 0);
    victim.borrow_mut().take();
}

#[test]
fn a_throttle_key_unused_for_a_second_gets_its_full_rate_again() {
    let limiter = Throttle::with_sleeper(1, 10, tick_clock()).unwrap();
    assert_eq!(limiter.wait("k").state(), State::Fulfilled(true));
    let waiting = limiter.wait("k");
    assert!(waiting.is_pending());
    tick();
    assert_eq!(waiting.state(), State::Fulfilled(true));
    tick();
    let again = limiter.wait("k");
    assert_eq!(again.state(), State::Fulfilled(true));
}

#[test]
fn clear_disposes_of_every_free_element_even_when_one_disposal_fails() {
    let disposed = Rc::new(RefCell::new(Vec::new()));
    let d = disposed.clone();
    let next = Rc::new(Cell::new(0));
    let pool = Pool::new(2, move || {
        next.set(next.get() + 1);
        resolved(next.get())
    })
    .unwrap()
    .dispose(move |n| {
        d.borrow_mut().push(n);
        if n == 2 {
            lwt::rejected(Error::new(Dummy))
        } else {
            resolved(())
        }
    });
    let (hold, release) = wait::<()>();
    let u1 = pool.use_(move |_| hold);
    fulfilled(&pool.use_(|_| resolved(())));
    release.wakeup(());
    fulfilled(&u1);
    assert_eq!(pool.size(), 2);
    // The free elements are 2 (released first), then 1; disposing of 2 fails.
    assert!(is_dummy(&rejected_with(&pool.clear())));
    assert_eq!(disposed.borrow().len(), 2, "both free elements are disposed of");
    assert_eq!(pool.size(), 0);
}
