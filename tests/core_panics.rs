//! Panics in user code: lwt-rs catches every one at the callback boundary
//! (Lwt lets some escape, issue #329: a deliberate difference), so the
//! runtime's own state — nesting depth, deferred queue, storage — stays
//! whole and later promises behave normally.

mod core_common;

use std::rc::Rc;

use core_common::{Flag, HookRecorder, Log};
use lwt::{
    get, pause, register_pause_notifier, resolved, task, wait, wakeup_paused, with_value, ErrorKind, Key, Promise,
    State,
};

#[test]
fn wakeup_later_at_top_level_is_still_immediate_after_a_callback_panicked() {
    let (p, r) = wait::<()>();
    let _bad = p.map(|()| -> u8 { panic!("boom") });
    r.wakeup(());
    let (q, rq) = wait::<u8>();
    let after = q.map(|x| x + 1);
    rq.wakeup_later(1);
    assert_eq!(after.state(), State::Fulfilled(2));
}

#[test]
fn a_panicking_deferred_callback_does_not_stop_the_other_deferred_ones() {
    let _hook = HookRecorder::install();
    let (start, go) = wait::<()>();
    let (a, ra) = wait::<()>();
    let (b, rb) = wait::<()>();
    a.on_success(|()| panic!("deferred observer"));
    let log = Log::new();
    let l = log.clone();
    b.on_success(move |()| l.push("b ran"));
    start.on_success(move |()| {
        ra.wakeup_later(());
        rb.wakeup_later(());
    });
    go.wakeup(());
    assert_eq!(log.entries(), ["b ran"]);
}

#[test]
fn a_double_wakeup_inside_a_bind_callback_rejects_that_bind_naming_the_function() {
    let (p, r) = wait::<u8>();
    let (_q, rq) = wait::<u8>();
    rq.wakeup(1);
    let bound = p.bind(move |v| {
        rq.wakeup_later(v);
        resolved(v)
    });
    r.wakeup(2);
    let e = bound.error().expect("rejected");
    assert_eq!(e.kind(), ErrorKind::Panic);
    assert!(e.message().contains("Lwt.wakeup_later:"), "{}", e.message());
}

#[test]
fn a_panic_in_the_pause_notifier_goes_to_the_hook_and_the_pause_stays_queued() {
    let hook = HookRecorder::install();
    register_pause_notifier(|_| panic!("notifier"));
    let p = pause();
    register_pause_notifier(|_| {});
    wakeup_paused();
    assert_eq!((hook.count(), p.state()), (1, State::Fulfilled(())));
}

#[test]
fn a_panic_in_one_cancel_callback_does_not_stop_the_other_canceled_targets() {
    let _hook = HookRecorder::install();
    let (a, _ra) = task::<()>();
    let (b, _rb) = task::<()>();
    a.on_cancel(|| panic!("cancel observer"));
    let ran = Flag::new();
    let f = ran.clone();
    b.on_cancel(move || f.set());
    let both = lwt::join(vec![a, b]);
    both.cancel();
    assert!(ran.get() && both.is_canceled());
}

#[test]
fn a_panic_inside_with_value_in_a_callback_leaves_the_next_callback_its_own_storage() {
    let _hook = HookRecorder::install();
    let k = Rc::new(Key::<u32>::new());
    let (p, r) = wait::<()>();
    let k1 = k.clone();
    p.on_success(move |()| with_value(&k1, Some(5), || panic!("inside with_value")));
    let k2 = k.clone();
    let q = p.map(move |()| get(&k2));
    r.wakeup(());
    assert_eq!(q.state(), State::Fulfilled(None));
}

#[test]
fn a_panic_with_a_non_string_payload_still_rejects() {
    let p = resolved(()).bind(|()| -> Promise<u8> { std::panic::panic_any(42u32) });
    assert_eq!(p.error().expect("rejected").kind(), ErrorKind::Panic);
}

#[test]
fn panics_in_many_nested_callbacks_leave_later_resolutions_intact() {
    let _hook = HookRecorder::install();
    let (first, r_first) = wait::<u32>();
    let mut current = first;
    for _ in 0..100 {
        let (next, r_next) = wait::<u32>();
        current.on_success(move |v| {
            r_next.wakeup(v + 1);
            panic!("after waking the next one");
        });
        current = next;
    }
    r_first.wakeup(0);
    let (q, rq) = wait::<u8>();
    let later = q.map(|x| x + 1);
    rq.wakeup(1);
    assert_eq!(
        (current.state(), later.state()),
        (State::Fulfilled(100), State::Fulfilled(2))
    );
}
