//! Promises nobody waits for: Lwt's `async`, `dont_wait`, `ignore_result`, and
//! the async exception hook they report to.
//!
//! The hook is per thread (each thread runs its own promises). Its default,
//! like Lwt's, prints `Fatal error: exception ...` on stderr and exits the
//! process with code 2: an error that nobody handles must not vanish.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use super::error::{panic_message, Error};
use super::promise::Promise;

type Hook = Rc<dyn Fn(&Error)>;

thread_local! {
    static HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
}

fn default_hook(e: &Error) {
    eprintln!("Fatal error: exception {e:#}");
    std::process::exit(2);
}

/// Replaces this thread's async exception hook and returns the previous one
/// (Lwt's `async_exception_hook := f`).
///
/// The hook receives the errors of promises that nobody waits for: those of
/// [`async_`], of callbacks given to `on_success` and the like, of
/// [`ignore_result`]. To restore the previous hook, pass it back.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let s = seen.clone();
/// let previous = lwt::set_async_exception_hook(move |e| s.borrow_mut().push(e.to_string()));
/// lwt::async_(|| lwt::fail_with("lost"));
/// assert_eq!(*seen.borrow(), vec!["Failure: lost".to_string()]);
/// lwt::set_async_exception_hook(previous);
/// ```
pub fn set_async_exception_hook(f: impl Fn(&Error) + 'static) -> Box<dyn Fn(&Error)> {
    let old = HOOK.with(|h| h.borrow_mut().replace(Rc::new(f)));
    match old {
        Some(old) => Box::new(move |e: &Error| old(e)),
        None => Box::new(default_hook),
    }
}

/// Hands an error to the async exception hook.
pub(crate) fn report(e: &Error) {
    let hook = HOOK.with(|h| h.borrow().clone());
    let r = catch_unwind(AssertUnwindSafe(|| match hook {
        Some(h) => h(e),
        None => default_hook(e),
    }));
    if let Err(p) = r {
        // The hook itself failed: there is nobody left to tell but stderr.
        eprintln!(
            "lwt: the async exception hook panicked ({}) while reporting: {e:#}",
            panic_message(&*p)
        );
    }
}

/// Runs a callback that creates no promise; a panic goes to the hook.
pub(crate) fn guarded(f: impl FnOnce()) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
        report(&Error::panic(panic_message(&*p)));
    }
}

/// Calls user code that returns a promise; a panic becomes a rejected promise.
///
/// Always inlined: `catch_unwind` moves the closure into its own frame, and
/// out of line that was a copy of a just-built closure through the stack
/// (a store-forwarding stall) on every bind of a resolved promise.
#[inline(always)]
pub(crate) fn protect<U: 'static>(f: impl FnOnce() -> Promise<U>) -> Promise<U> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(p) => p,
        Err(p) => Promise::rejected(Error::panic(panic_message(&*p))),
    }
}

/// Calls user code that returns a value; a panic becomes an error.
#[inline]
pub(crate) fn protect_value<U>(f: impl FnOnce() -> U) -> Result<U, Error> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| Error::panic(panic_message(&*p)))
}

/// Runs `f` and sends a rejection (or a panic) to the async exception hook
/// (Lwt's `async`; `async` is a Rust keyword).
///
/// ```
/// let (p, r) = lwt::wait::<()>();
/// lwt::async_(move || p.map(|()| println!("resolved")));
/// r.wakeup(());
/// ```
pub fn async_(f: impl FnOnce() -> Promise<()> + 'static) {
    let p = protect(f);
    p.on_failure(report);
}

/// Runs `f` and calls `handler` if its promise rejects (Lwt's `dont_wait`).
/// Unlike Lwt, a panic in `handler` goes to the async exception hook instead
/// of escaping into whoever resolved the promise.
pub fn dont_wait(f: impl FnOnce() -> Promise<()> + 'static, handler: impl FnOnce(&Error) + 'static) {
    let p = protect(f);
    p.on_failure(handler);
}

/// Does not wait for `p`; a rejection goes to the async exception hook
/// (Lwt's `ignore_result`). Lwt raises at once if `p` is already rejected;
/// here that rejection goes to the hook too, so no call panics.
pub fn ignore_result<T: 'static>(p: Promise<T>) {
    p.on_failure(report);
}
