//! Promises of `Result`s for typed errors: `lwt::result` (Lwt_result).
//! An `Err` is a fulfilled value; promise rejection stays for the unexpected.

mod core_common;

use core_common::Flag;
use lwt::result::{self, ResultPromise};
use lwt::{fail_with, resolved, wait, Error, ErrorKind, Promise, State};

fn ok_state<T: Clone + 'static, E: Clone + 'static>(p: &Promise<Result<T, E>>) -> State<Result<T, E>> {
    p.state()
}

#[test]
fn ok_is_a_fulfilled_ok() {
    assert_eq!(result::ok::<u8, String>(1).state(), State::Fulfilled(Ok(1)));
}

#[test]
fn fail_is_a_fulfilled_err_not_a_rejection() {
    let p = result::fail::<u8, &str>("bad");
    assert_eq!((p.is_rejected(), p.state()), (false, State::Fulfilled(Err("bad"))));
}

#[test]
fn lift_wraps_a_plain_result() {
    assert_eq!(result::lift::<u8, &str>(Err("no")).state(), State::Fulfilled(Err("no")));
}

#[test]
fn ok_of_wraps_the_value_in_ok() {
    let (p, r) = wait::<u8>();
    let q = result::ok_of::<u8, String>(p);
    r.wakeup(3);
    assert_eq!(q.state(), State::Fulfilled(Ok(3)));
}

#[test]
fn error_of_wraps_the_value_in_err() {
    assert_eq!(
        result::error_of::<u8, &str>(resolved("e")).state(),
        State::Fulfilled(Err("e"))
    );
}

#[test]
fn ok_of_passes_a_rejection_through() {
    assert_eq!(
        result::ok_of::<u8, String>(fail_with("x"))
            .error()
            .expect("rejected")
            .message(),
        "x"
    );
}

#[test]
fn catch_turns_a_fulfilment_into_ok() {
    assert!(matches!(result::catch(|| resolved(2)).state(), State::Fulfilled(Ok(2))));
}

#[test]
fn catch_turns_a_rejection_into_err() {
    let p = result::catch(|| fail_with::<u8>("bad"));
    assert!(p.with_state(|s| matches!(s, State::Fulfilled(Err(e)) if e.message() == "bad")));
}

#[test]
fn catch_turns_a_later_rejection_into_err() {
    let (p, r) = wait::<u8>();
    let q = result::catch(move || p);
    r.wakeup_exn(Error::timeout());
    assert!(q.with_state(|s| matches!(s, State::Fulfilled(Err(e)) if e.is_timeout())));
}

#[test]
fn catch_turns_a_panic_of_the_thunk_into_err() {
    let p = result::catch(|| -> Promise<u8> { panic!("thunk") });
    assert!(p.with_state(|s| matches!(s, State::Fulfilled(Err(e)) if e.kind() == ErrorKind::Panic)));
}

#[test]
fn get_exn_turns_err_into_a_rejection_with_that_error() {
    let e = Error::failure("typed");
    let p = result::get_exn(result::fail::<u8, Error>(e.clone()));
    assert!(p.error().expect("rejected").same(&e));
}

#[test]
fn get_exn_unwraps_ok() {
    assert_eq!(result::get_exn(result::ok::<u8, Error>(4)).state(), State::Fulfilled(4));
}

#[test]
fn map_ok_maps_the_ok_value() {
    assert_eq!(
        ok_state(&result::ok::<u8, &str>(2).map_ok(|x| x * 3)),
        State::Fulfilled(Ok(6))
    );
}

#[test]
fn map_ok_leaves_an_err_alone() {
    let called = Flag::new();
    let c = called.clone();
    let p = result::fail::<u8, &str>("e").map_ok(move |x| {
        c.set();
        x
    });
    assert_eq!((ok_state(&p), called.get()), (State::Fulfilled(Err("e")), false));
}

#[test]
fn map_error_maps_the_err_value() {
    assert_eq!(
        ok_state(&result::fail::<u8, u8>(2).map_error(|e| e + 1)),
        State::Fulfilled(Err(3))
    );
}

#[test]
fn map_error_leaves_an_ok_alone() {
    assert_eq!(
        ok_state(&result::ok::<u8, u8>(2).map_error(|e| e + 1)),
        State::Fulfilled(Ok(2))
    );
}

#[test]
fn bind_ok_continues_on_ok() {
    let p = result::ok::<u8, &str>(1).bind_ok(|x| result::ok(x + 1));
    assert_eq!(ok_state(&p), State::Fulfilled(Ok(2)));
}

#[test]
fn bind_ok_short_circuits_on_err() {
    let called = Flag::new();
    let c = called.clone();
    let p = result::fail::<u8, &str>("e").bind_ok(move |x| {
        c.set();
        result::ok(x)
    });
    assert_eq!((ok_state(&p), called.get()), (State::Fulfilled(Err("e")), false));
}

#[test]
fn bind_ok_waits_for_a_pending_input() {
    let (p, r) = wait::<Result<u8, &str>>();
    let q = p.bind_ok(|x| result::ok(x * 2));
    r.wakeup(Ok(5));
    assert_eq!(ok_state(&q), State::Fulfilled(Ok(10)));
}

#[test]
fn bind_error_continues_on_err() {
    let p = result::fail::<u8, u8>(1).bind_error(|e| result::fail(e + 1));
    assert_eq!(ok_state(&p), State::Fulfilled(Err(2)));
}

#[test]
fn bind_error_leaves_an_ok_alone() {
    let p = result::ok::<u8, u8>(1).bind_error(|_| result::ok::<u8, u8>(9));
    assert_eq!(ok_state(&p), State::Fulfilled(Ok(1)));
}

#[test]
fn bind_lwt_wraps_the_plain_promise_in_ok() {
    let p = result::ok::<u8, &str>(1).bind_lwt(|x| resolved(x + 1));
    assert_eq!(ok_state(&p), State::Fulfilled(Ok(2)));
}

#[test]
fn bind_lwt_short_circuits_on_err() {
    let p = result::fail::<u8, &str>("e").bind_lwt(|x| resolved(x + 1));
    assert_eq!(ok_state(&p), State::Fulfilled(Err("e")));
}

#[test]
fn bind_lwt_error_wraps_the_plain_promise_in_err() {
    let p = result::fail::<u8, u8>(1).bind_lwt_error(|e| resolved(e + 1));
    assert_eq!(ok_state(&p), State::Fulfilled(Err(2)));
}

#[test]
fn bind_lwt_error_leaves_an_ok_alone() {
    let p = result::ok::<u8, u8>(1).bind_lwt_error(|e| resolved(e + 1));
    assert_eq!(ok_state(&p), State::Fulfilled(Ok(1)));
}

#[test]
fn bind_result_continues_with_a_plain_result() {
    let p = result::ok::<u8, &str>(1).bind_result(|x| if x > 0 { Err("positive") } else { Ok(x) });
    assert_eq!(ok_state(&p), State::Fulfilled(Err("positive")));
}

#[test]
fn bind_result_short_circuits_on_err() {
    let p = result::fail::<u8, &str>("e").bind_result(|x| Ok(x + 1));
    assert_eq!(ok_state(&p), State::Fulfilled(Err("e")));
}

#[test]
fn both_of_two_oks_is_ok_of_the_pair() {
    let p = result::both(result::ok::<u8, &str>(1), result::ok::<u8, &str>(2));
    assert_eq!(ok_state(&p), State::Fulfilled(Ok((1, 2))));
}

#[test]
fn both_with_only_the_first_err_is_that_err() {
    let p = result::both(result::fail::<u8, &str>("first"), result::ok::<u8, &str>(2));
    assert_eq!(ok_state(&p), State::Fulfilled(Err("first")));
}

#[test]
fn both_with_only_the_second_err_is_that_err() {
    let p = result::both(result::ok::<u8, &str>(1), result::fail::<u8, &str>("second"));
    assert_eq!(ok_state(&p), State::Fulfilled(Err("second")));
}

#[test]
fn both_takes_the_first_err_in_time() {
    let (a, ra) = wait::<Result<u8, &str>>();
    let (b, rb) = wait::<Result<u8, &str>>();
    let p = result::both(a, b);
    rb.wakeup(Err("second, earlier"));
    ra.wakeup(Err("first, later"));
    assert_eq!(ok_state(&p), State::Fulfilled(Err("second, earlier")));
}

#[test]
fn both_waits_for_both_sides_even_after_an_err() {
    let (a, ra) = wait::<Result<u8, &str>>();
    let p = result::both(a, result::fail::<u8, &str>("e"));
    let before = p.state();
    ra.wakeup(Ok(1));
    assert_eq!((before, ok_state(&p)), (State::Pending, State::Fulfilled(Err("e"))));
}

#[test]
fn both_passes_a_rejection_through() {
    let p = result::both(result::ok::<u8, &str>(1), fail_with::<Result<u8, &str>>("rejected"));
    assert_eq!(p.error().expect("rejected").message(), "rejected");
}

#[test]
fn iter_runs_on_the_ok_value() {
    let seen = Flag::new();
    let s = seen.clone();
    let p = result::ok::<u8, &str>(1).iter(move |_| {
        s.set();
        resolved(())
    });
    assert_eq!((seen.get(), p.state()), (true, State::Fulfilled(())));
}

#[test]
fn iter_skips_an_err() {
    let seen = Flag::new();
    let s = seen.clone();
    let p = result::fail::<u8, &str>("e").iter(move |_| {
        s.set();
        resolved(())
    });
    assert_eq!((seen.get(), p.state()), (false, State::Fulfilled(())));
}

#[test]
fn iter_error_runs_on_the_err_value() {
    let seen = Flag::new();
    let s = seen.clone();
    let _p = result::fail::<u8, &str>("e").iter_error(move |_| {
        s.set();
        resolved(())
    });
    assert!(seen.get());
}

#[test]
fn iter_error_skips_an_ok() {
    let seen = Flag::new();
    let s = seen.clone();
    let _p = result::ok::<u8, &str>(1).iter_error(move |_| {
        s.set();
        resolved(())
    });
    assert!(!seen.get());
}
