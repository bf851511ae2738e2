//! Sleeping and timeouts (Lwt_unix's `sleep`, `timeout`, `with_timeout`,
//! `auto_pause`).

use std::time::{Duration, Instant};

use crate::{Error, Promise};

/// A promise fulfilled once `d` has elapsed (Lwt's `sleep`).
///
/// It never fires early: at least `d` passes between the call and the
/// fulfilment. Timers with equal deadlines fire in the order they were set.
/// Canceling the promise removes the timer at once.
///
/// ```
/// use std::time::{Duration, Instant};
/// let t = Instant::now();
/// lwt::main::run(lwt::unix::sleep(Duration::from_millis(5))).unwrap();
/// assert!(t.elapsed() >= Duration::from_millis(5));
/// ```
pub fn sleep(d: Duration) -> Promise<()> {
    match crate::main::engine() {
        Ok(e) => e.sleep(d),
        Err(e) => crate::rejected(Error::io(e)),
    }
}

/// A promise rejected with [`Error::timeout`] once `d` has elapsed (Lwt's
/// `timeout`); it never fulfils.
///
/// ```
/// use std::time::Duration;
/// let e = lwt::main::run(lwt::unix::timeout::<()>(Duration::from_millis(1))).unwrap_err();
/// assert!(e.is_timeout());
/// ```
pub fn timeout<T: 'static>(d: Duration) -> Promise<T> {
    sleep(d).bind(|()| crate::rejected(Error::timeout()))
}

/// Runs `f` and rejects with [`Error::timeout`] if its promise is still
/// pending after `d`, canceling it (Lwt's `with_timeout`, i.e.
/// `pick [timeout d; f ()]`). When `f` finishes first, the timer is removed.
///
/// ```
/// use std::time::Duration;
/// let slow = lwt::unix::with_timeout(Duration::from_millis(1), || {
///     lwt::unix::sleep(Duration::from_secs(60)).map(|()| 1)
/// });
/// assert!(lwt::main::run(slow).unwrap_err().is_timeout());
/// assert_eq!(lwt::main::timer_count(), 0);
///
/// let fast = lwt::unix::with_timeout(Duration::from_secs(60), || lwt::resolved(2));
/// assert_eq!(lwt::main::run(fast).unwrap(), 2);
/// ```
pub fn with_timeout<T: 'static>(d: Duration, f: impl FnOnce() -> Promise<T>) -> Promise<T> {
    let work = crate::apply(|()| f(), ());
    crate::pick([timeout(d), work])
}

/// Returns a function that pauses (see [`pause`](crate::pause)) when at
/// least `d` has passed since it last paused, and otherwise returns a
/// resolved promise (Lwt's `auto_pause`). Call it in a long loop to let
/// other work in without pausing on every step.
///
/// ```
/// use std::time::Duration;
/// let mut maybe_pause = lwt::unix::auto_pause(Duration::from_secs(3600));
/// assert!(maybe_pause().is_fulfilled()); // an hour has not passed
/// let mut always = lwt::unix::auto_pause(Duration::ZERO);
/// assert!(always().is_pending());
/// ```
pub fn auto_pause(d: Duration) -> impl FnMut() -> Promise<()> {
    let mut last = Instant::now();
    move || {
        if last.elapsed() >= d {
            last = Instant::now();
            crate::pause()
        } else {
            crate::resolved(())
        }
    }
}

/// The same as [`auto_pause`] (Lwt's deprecated `auto_yield`).
pub fn auto_yield(d: Duration) -> impl FnMut() -> Promise<()> {
    auto_pause(d)
}

/// The same as [`pause`](crate::pause) (Lwt's deprecated `Lwt_unix.yield`).
pub fn yield_() -> Promise<()> {
    crate::pause()
}
