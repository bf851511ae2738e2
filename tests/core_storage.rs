//! Implicit callback-scoped values: Key, with_value, get (Lwt's rule 41).
//! Every callback sees the storage as it was when the callback was attached;
//! whoever resolves the promise keeps their own storage. Keys are not
//! `Clone`, so tests share one through an `Rc`.

mod core_common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use core_common::{HookRecorder, Log};
use lwt::{get, new_key, resolved, task, wait, with_value, Error, Key, State};

#[test]
fn a_new_key_is_unbound() {
    let k = Key::<u32>::new();
    assert_eq!(get(&k), None);
}

#[test]
fn with_value_binds_the_key_inside() {
    let k = new_key::<u32>();
    assert_eq!(with_value(&k, Some(42), || get(&k)), Some(42));
}

#[test]
fn with_value_restores_the_previous_storage_after() {
    let k = Key::<u32>::default();
    with_value(&k, Some(42), || ());
    assert_eq!(get(&k), None);
}

#[test]
fn with_value_restores_the_previous_storage_after_a_panic() {
    let k = Key::<u32>::new();
    let r = catch_unwind(AssertUnwindSafe(|| with_value(&k, Some(42), || panic!("inside"))));
    assert!(r.is_err());
    assert_eq!(get(&k), None);
}

#[test]
fn an_inner_with_value_overrides_then_restores_the_outer_one() {
    let k = Key::<u32>::new();
    let seen = with_value(&k, Some(42), || {
        let inner = with_value(&k, Some(1337), || get(&k));
        (inner, get(&k))
    });
    assert_eq!(seen, (Some(1337), Some(42)));
}

#[test]
fn with_value_none_removes_the_binding_inside() {
    let k = Key::<u32>::new();
    let seen = with_value(&k, Some(42), || with_value(&k, None, || get(&k)));
    assert_eq!(seen, None);
}

#[test]
fn distinct_keys_do_not_interfere() {
    let k1 = Key::<u32>::new();
    let k2 = Key::<u32>::new();
    assert_eq!(with_value(&k1, Some(42), || (get(&k1), get(&k2))), (Some(42), None));
}

// ---- snapshots at registration ------------------------------------------------

#[test]
fn bind_callbacks_see_the_storage_of_their_registration() {
    let k = Rc::new(Key::<u32>::new());
    let (p, r) = wait::<()>();
    let k2 = k.clone();
    let q = with_value(&k, Some(1337), || p.bind(move |()| resolved(get(&k2))));
    let after = with_value(&k, Some(42), || {
        r.wakeup(());
        get(&k)
    });
    assert_eq!((q.state(), after), (State::Fulfilled(Some(1337)), Some(42)));
}

#[test]
fn map_callbacks_see_the_storage_of_their_registration() {
    let k = Rc::new(Key::<u32>::new());
    let (p, r) = wait::<()>();
    let k2 = k.clone();
    let q = with_value(&k, Some(1337), || p.map(move |()| get(&k2)));
    with_value(&k, Some(42), || r.wakeup(()));
    assert_eq!(q.state(), State::Fulfilled(Some(1337)));
}

#[test]
fn catch_handlers_see_the_storage_of_their_registration() {
    let k = Rc::new(Key::<u32>::new());
    let (p, r) = wait::<Option<u32>>();
    let k2 = k.clone();
    let q = with_value(&k, Some(1337), || p.catch(move |_| resolved(get(&k2))));
    with_value(&k, Some(42), || r.wakeup_exn(Error::failure("x")));
    assert_eq!(q.state(), State::Fulfilled(Some(1337)));
}

#[test]
fn try_bind_success_branch_sees_the_storage_of_its_registration() {
    let k = Rc::new(Key::<u32>::new());
    let (p, r) = wait::<()>();
    let k2 = k.clone();
    let q = with_value(&k, Some(1337), || {
        p.try_bind(move |()| resolved(get(&k2)), |_| resolved(None))
    });
    with_value(&k, Some(42), || r.wakeup(()));
    assert_eq!(q.state(), State::Fulfilled(Some(1337)));
}

#[test]
fn try_bind_failure_branch_sees_the_storage_of_its_registration() {
    let k = Rc::new(Key::<u32>::new());
    let (p, r) = wait::<()>();
    let k2 = k.clone();
    let q = with_value(&k, Some(1337), || {
        p.try_bind(|()| resolved(None), move |_| resolved(get(&k2)))
    });
    with_value(&k, Some(42), || r.wakeup_exn(Error::failure("x")));
    assert_eq!(q.state(), State::Fulfilled(Some(1337)));
}

#[test]
fn finalize_cleanups_see_the_storage_of_their_registration() {
    let k = Rc::new(Key::<u32>::new());
    let (p, r) = wait::<()>();
    let log = Log::new();
    let (k2, l) = (k.clone(), log.clone());
    let _q = with_value(&k, Some(1337), || {
        p.finalize(move || {
            l.push(format!("{:?}", get(&k2)));
            resolved(())
        })
    });
    with_value(&k, Some(42), || r.wakeup(()));
    assert_eq!(log.entries(), ["Some(1337)"]);
}

#[test]
fn on_success_sees_the_storage_of_its_registration() {
    let k = Rc::new(Key::<u32>::new());
    let (p, r) = wait::<()>();
    let log = Log::new();
    let (k2, l) = (k.clone(), log.clone());
    with_value(&k, Some(1337), || {
        p.on_success(move |()| l.push(format!("{:?}", get(&k2))))
    });
    with_value(&k, Some(42), || r.wakeup(()));
    assert_eq!(log.entries(), ["Some(1337)"]);
}

#[test]
fn on_failure_sees_the_storage_of_its_registration() {
    let k = Rc::new(Key::<u32>::new());
    let (p, r) = wait::<()>();
    let log = Log::new();
    let (k2, l) = (k.clone(), log.clone());
    with_value(&k, Some(1337), || {
        p.on_failure(move |_| l.push(format!("{:?}", get(&k2))))
    });
    with_value(&k, Some(42), || r.wakeup_exn(Error::failure("x")));
    assert_eq!(log.entries(), ["Some(1337)"]);
}

#[test]
fn on_termination_sees_the_storage_of_its_registration() {
    let k = Rc::new(Key::<u32>::new());
    let (p, r) = wait::<()>();
    let log = Log::new();
    let (k2, l) = (k.clone(), log.clone());
    with_value(&k, Some(1337), || {
        p.on_termination(move || l.push(format!("{:?}", get(&k2))))
    });
    with_value(&k, Some(42), || r.wakeup(()));
    assert_eq!(log.entries(), ["Some(1337)"]);
}

#[test]
fn on_any_sees_the_storage_of_its_registration() {
    let k = Rc::new(Key::<u32>::new());
    let (p, r) = wait::<()>();
    let log = Log::new();
    let (k2, k3, l1, l2) = (k.clone(), k.clone(), log.clone(), log.clone());
    with_value(&k, Some(1337), || {
        p.on_any(
            move |()| l1.push(format!("f {:?}", get(&k2))),
            move |_| l2.push(format!("g {:?}", get(&k3))),
        )
    });
    with_value(&k, Some(42), || r.wakeup(()));
    assert_eq!(log.entries(), ["f Some(1337)"]);
}

#[test]
fn on_cancel_sees_the_storage_of_its_registration() {
    let k = Rc::new(Key::<u32>::new());
    let (p, _r) = task::<()>();
    let log = Log::new();
    let (k2, l) = (k.clone(), log.clone());
    with_value(&k, Some(1337), || {
        p.on_cancel(move || l.push(format!("{:?}", get(&k2))))
    });
    let after = with_value(&k, Some(42), || {
        p.cancel();
        get(&k)
    });
    assert_eq!((log.entries(), after), (vec!["Some(1337)".to_string()], Some(42)));
}

#[test]
fn a_callback_attached_outside_any_value_does_not_see_the_resolvers_value() {
    let k = Rc::new(Key::<u32>::new());
    let (p, r) = wait::<()>();
    let k2 = k.clone();
    let q = p.map(move |()| get(&k2));
    with_value(&k, Some(42), || r.wakeup(()));
    assert_eq!(q.state(), State::Fulfilled(None));
}

#[test]
fn a_bind_on_a_resolved_promise_sees_the_current_storage() {
    let k = Rc::new(Key::<u32>::new());
    let k2 = k.clone();
    let q = with_value(&k, Some(7), || resolved(()).map(move |()| get(&k2)));
    assert_eq!(q.state(), State::Fulfilled(Some(7)));
}

#[test]
fn the_resolvers_storage_is_restored_after_a_callback_panicked() {
    let _hook = HookRecorder::install();
    let k = Rc::new(Key::<u32>::new());
    let (p, r) = wait::<()>();
    with_value(&k, Some(1), || p.on_success(|()| panic!("observer")));
    let after = with_value(&k, Some(42), || {
        r.wakeup(());
        get(&k)
    });
    assert_eq!(after, Some(42));
}
