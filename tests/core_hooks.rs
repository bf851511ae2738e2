//! Promises nobody waits for: async_, dont_wait, ignore_result, and the async
//! exception hook they report to.

mod core_common;

use core_common::{Flag, HookRecorder, Log};
use lwt::{async_, dont_wait, fail_with, ignore_result, rejected, resolved, wait, Error, ErrorKind, Promise};

// ---- the hook itself ---------------------------------------------------------

#[test]
fn set_async_exception_hook_returns_the_previous_hook() {
    let outer = HookRecorder::install();
    let previous = lwt::set_async_exception_hook(|_| {});
    previous(&Error::failure("handed back"));
    drop(lwt::set_async_exception_hook(previous));
    assert_eq!(
        outer.errors().iter().map(|e| e.message()).collect::<Vec<_>>(),
        ["handed back"]
    );
}

#[test]
fn a_restored_hook_receives_later_errors_again() {
    let outer = HookRecorder::install();
    {
        let inner = HookRecorder::install();
        async_(|| fail_with("to the inner hook"));
        assert_eq!(inner.count(), 1);
    }
    async_(|| fail_with("to the outer hook"));
    assert_eq!(
        outer.errors().iter().map(|e| e.message()).collect::<Vec<_>>(),
        ["to the outer hook"]
    );
}

#[test]
fn a_panicking_hook_does_not_unwind_into_the_resolver() {
    let previous = lwt::set_async_exception_hook(|_| panic!("the hook itself fails"));
    let (p, r) = wait::<()>();
    p.on_success(|()| panic!("observer"));
    let survived = Flag::new();
    let s = survived.clone();
    p.on_termination(move || s.set());
    r.wakeup(());
    drop(lwt::set_async_exception_hook(previous));
    assert!(survived.get());
}

// ---- async_ (rules 12, 21) -------------------------------------------------------

#[test]
fn async_runs_its_function_at_once() {
    let ran = Flag::new();
    let f = ran.clone();
    async_(move || {
        f.set();
        resolved(())
    });
    assert!(ran.get());
}

#[test]
fn async_sends_a_panic_of_its_function_to_the_hook() {
    let hook = HookRecorder::install();
    async_(|| panic!("async thunk"));
    assert_eq!(
        hook.errors().iter().map(|e| e.kind()).collect::<Vec<_>>(),
        [ErrorKind::Panic]
    );
}

#[test]
fn async_sends_an_immediate_rejection_to_the_hook() {
    let hook = HookRecorder::install();
    let e = Error::failure("now");
    let e2 = e.clone();
    async_(move || rejected(e2));
    assert!(hook.errors()[0].same(&e));
}

#[test]
fn async_sends_a_later_rejection_to_the_hook() {
    let hook = HookRecorder::install();
    let (p, r) = wait::<()>();
    async_(move || p);
    let before = hook.count();
    r.wakeup_exn(Error::failure("later"));
    assert_eq!((before, hook.count()), (0, 1));
}

#[test]
fn async_reports_nothing_when_the_promise_fulfils() {
    let hook = HookRecorder::install();
    let (p, r) = wait::<()>();
    let done = Flag::new();
    let d = done.clone();
    async_(move || p.map(move |()| d.set()));
    r.wakeup(());
    assert_eq!((done.get(), hook.count()), (true, 0));
}

// ---- dont_wait (rule 23: we differ on purpose) ------------------------------------

#[test]
fn dont_wait_runs_its_function_at_once() {
    let ran = Flag::new();
    let f = ran.clone();
    dont_wait(
        move || {
            f.set();
            resolved(())
        },
        |_| {},
    );
    assert!(ran.get());
}

#[test]
fn dont_wait_gives_an_immediate_rejection_to_its_handler() {
    let log = Log::new();
    let l = log.clone();
    dont_wait(|| fail_with("now"), move |e| l.push(e.message()));
    assert_eq!(log.entries(), ["now"]);
}

#[test]
fn dont_wait_gives_a_panic_of_its_function_to_its_handler() {
    let log = Log::new();
    let l = log.clone();
    dont_wait(
        || -> Promise<()> { panic!("thunk") },
        move |e| l.push(format!("{:?}", e.kind())),
    );
    assert_eq!(log.entries(), ["Panic"]);
}

#[test]
fn dont_wait_gives_a_later_rejection_to_its_handler() {
    let (p, r) = wait::<()>();
    let log = Log::new();
    let l = log.clone();
    dont_wait(move || p, move |e| l.push(e.message()));
    let before = log.is_empty();
    r.wakeup_exn(Error::failure("later"));
    assert_eq!((before, log.entries()), (true, vec!["later".to_string()]));
}

#[test]
fn dont_wait_does_not_call_its_handler_on_fulfilment() {
    let (p, r) = wait::<()>();
    let called = Flag::new();
    let c = called.clone();
    dont_wait(move || p, move |_| c.set());
    r.wakeup(());
    assert!(!called.get());
}

#[test]
fn dont_wait_does_not_involve_the_hook() {
    let hook = HookRecorder::install();
    dont_wait(|| fail_with("handled"), |_| {});
    assert_eq!(hook.count(), 0);
}

/// Deliberate difference (Lwt rule 23): in Lwt a raise in the handler escapes
/// into whoever resolved the promise; lwt-rs sends it to the hook.
#[test]
fn a_panic_in_the_dont_wait_handler_goes_to_the_hook() {
    let hook = HookRecorder::install();
    let (p, r) = wait::<()>();
    dont_wait(move || p, |_| panic!("handler"));
    r.wakeup_exn(Error::failure("x"));
    assert_eq!(
        hook.errors().iter().map(|e| e.message()).collect::<Vec<_>>(),
        ["handler"]
    );
}

// ---- ignore_result (rule 24: we differ on purpose) ---------------------------------

#[test]
fn ignore_result_of_a_fulfilled_promise_reports_nothing() {
    let hook = HookRecorder::install();
    ignore_result(resolved(1));
    assert_eq!(hook.count(), 0);
}

/// Deliberate difference (Lwt rule 24): Lwt raises at once when the promise
/// is already rejected; lwt-rs sends that rejection to the hook as well.
#[test]
fn ignore_result_of_a_rejected_promise_goes_to_the_hook() {
    let hook = HookRecorder::install();
    ignore_result(fail_with::<u8>("already"));
    assert_eq!(
        hook.errors().iter().map(|e| e.message()).collect::<Vec<_>>(),
        ["already"]
    );
}

#[test]
fn ignore_result_sends_a_later_rejection_to_the_hook() {
    let hook = HookRecorder::install();
    let (p, r) = wait::<u8>();
    ignore_result(p);
    let before = hook.count();
    r.wakeup_exn(Error::failure("later"));
    assert_eq!((before, hook.count()), (0, 1));
}

#[test]
fn ignore_result_of_a_later_fulfilment_reports_nothing() {
    let hook = HookRecorder::install();
    let (p, r) = wait::<u8>();
    ignore_result(p);
    r.wakeup(1);
    assert_eq!(hook.count(), 0);
}

// ---- the default hook (rule 22) ---------------------------------------------------

/// The default hook ends the process, so this test runs itself again as a
/// child process (selected by an environment variable) and checks how the
/// child ended.
#[test]
fn the_default_hook_prints_the_error_and_exits_with_code_2() {
    const CHILD: &str = "LWT_CORE_HOOKS_DEFAULT_HOOK_CHILD";
    if std::env::var_os(CHILD).is_some() {
        async_(|| fail_with("nobody handles this"));
        unreachable!("the default hook should have ended the process");
    }
    let out = std::process::Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([
            "--exact",
            "the_default_hook_prints_the_error_and_exits_with_code_2",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .expect("the child test process ran");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("Fatal error: exception Failure: nobody handles this"),
        "{stderr}"
    );
}
