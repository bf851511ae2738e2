//! Promises of `Result`s, for typed errors: Lwt's `Lwt_result`.
//!
//! A `Promise<Result<T, E>>` carries expected failures as `Err` values and
//! keeps promise rejection for the unexpected. The functions here are the
//! `Result` counterparts of bind/map/catch/both; [`ResultPromise`] offers the
//! same as methods.
//!
//! Lwt renames: `return` → [`ok`], `fail` → [`fail`] (an `Err` value, not a
//! rejection), `lift` → [`lift`], `ok p` → [`ok_of`], `error p` → [`error_of`].

use crate::core::{resolved, Error, Promise};

/// A promise of a `Result` (Lwt's `('a, 'e) Lwt_result.t`).
pub type ResultP<T, E> = Promise<Result<T, E>>;

/// A promise fulfilled with `Ok(v)` (Lwt_result's `return`).
///
/// ```
/// let p = lwt::result::ok::<u8, String>(1);
/// assert_eq!(p.state(), lwt::State::Fulfilled(Ok(1)));
/// ```
pub fn ok<T: 'static, E: 'static>(v: T) -> ResultP<T, E> {
    resolved(Ok(v))
}

/// A promise fulfilled with `Err(e)` — a value, not a rejection (Lwt_result's `fail`).
pub fn fail<T: 'static, E: 'static>(e: E) -> ResultP<T, E> {
    resolved(Err(e))
}

/// A promise fulfilled with `r` (Lwt_result's `lift`).
pub fn lift<T: 'static, E: 'static>(r: Result<T, E>) -> ResultP<T, E> {
    resolved(r)
}

/// Wraps the value of `p` in `Ok` (Lwt_result's `ok`).
pub fn ok_of<T: 'static, E: 'static>(p: Promise<T>) -> ResultP<T, E> {
    p.map(Ok)
}

/// Wraps the value of `p` in `Err` (Lwt_result's `error`).
pub fn error_of<T: 'static, E: 'static>(p: Promise<E>) -> ResultP<T, E> {
    p.map(Err)
}

/// Runs `f`; a rejection (or panic) becomes an `Err` value (Lwt_result's `catch`).
///
/// ```
/// let p = lwt::result::catch(|| lwt::fail_with::<u8>("bad"));
/// assert!(matches!(p.state(), lwt::State::Fulfilled(Err(_))));
/// ```
pub fn catch<T: 'static>(f: impl FnOnce() -> Promise<T>) -> ResultP<T, Error> {
    crate::core::apply(|()| f(), ()).then(resolved)
}

/// Waits for both; `Ok` with both values, or the first `Err` in time
/// (Lwt_result's `both`).
pub fn both<A: 'static, B: 'static, E: 'static>(a: ResultP<A, E>, b: ResultP<B, E>) -> ResultP<(A, B), E> {
    use std::cell::RefCell;
    use std::rc::Rc;
    // The first error *in time* wins, so watch each side as it resolves.
    let first: Rc<RefCell<Option<E>>> = Rc::new(RefCell::new(None));
    let note = |first: Rc<RefCell<Option<E>>>| {
        move |r: Result<A, E>| -> Result<A, ()> {
            r.map_err(|e| {
                first.borrow_mut().get_or_insert(e);
            })
        }
    };
    let note_b = |first: Rc<RefCell<Option<E>>>| {
        move |r: Result<B, E>| -> Result<B, ()> {
            r.map_err(|e| {
                first.borrow_mut().get_or_insert(e);
            })
        }
    };
    let a = a.map(note(first.clone()));
    let b = b.map(note_b(first.clone()));
    crate::core::both(a, b).map(move |(x, y)| match (x, y) {
        (Ok(x), Ok(y)) => Ok((x, y)),
        _ => match first.borrow_mut().take() {
            Some(e) => Err(e),
            None => unreachable_both(),
        },
    })
}

#[cold]
fn unreachable_both() -> ! {
    panic!("lwt::result::both: internal error: an Err side recorded no error")
}

/// Turns an `Err` into a rejection (Lwt_result's `get_exn`).
pub fn get_exn<T: 'static>(p: ResultP<T, Error>) -> Promise<T> {
    p.bind(crate::core::of_result)
}

/// The methods of Lwt_result on `Promise<Result<T, E>>`.
pub trait ResultPromise<T: 'static, E: 'static> {
    /// Maps the `Ok` value (Lwt_result's `map`).
    fn map_ok<U: 'static>(self, f: impl FnOnce(T) -> U + 'static) -> ResultP<U, E>;
    /// Maps the `Err` value (Lwt_result's `map_error`).
    fn map_error<F: 'static>(self, f: impl FnOnce(E) -> F + 'static) -> ResultP<T, F>;
    /// Continues on `Ok`, short-circuits on `Err` (Lwt_result's `bind`).
    fn bind_ok<U: 'static>(self, f: impl FnOnce(T) -> ResultP<U, E> + 'static) -> ResultP<U, E>;
    /// Continues on `Err` (Lwt_result's `bind_error`).
    fn bind_error<F: 'static>(self, f: impl FnOnce(E) -> ResultP<T, F> + 'static) -> ResultP<T, F>;
    /// Continues on `Ok` with a plain promise (Lwt_result's `bind_lwt`).
    fn bind_lwt<U: 'static>(self, f: impl FnOnce(T) -> Promise<U> + 'static) -> ResultP<U, E>;
    /// Continues on `Err` with a plain promise (Lwt_result's `bind_lwt_error`).
    fn bind_lwt_error<F: 'static>(self, f: impl FnOnce(E) -> Promise<F> + 'static) -> ResultP<T, F>;
    /// Continues on `Ok` with a plain `Result` (Lwt_result's `bind_result`).
    fn bind_result<U: 'static>(self, f: impl FnOnce(T) -> Result<U, E> + 'static) -> ResultP<U, E>;
    /// Runs `f` on the `Ok` value (Lwt_result's `iter`).
    fn iter(self, f: impl FnOnce(T) -> Promise<()> + 'static) -> Promise<()>;
    /// Runs `f` on the `Err` value (Lwt_result's `iter_error`).
    fn iter_error(self, f: impl FnOnce(E) -> Promise<()> + 'static) -> Promise<()>;
}

impl<T: 'static, E: 'static> ResultPromise<T, E> for ResultP<T, E> {
    fn map_ok<U: 'static>(self, f: impl FnOnce(T) -> U + 'static) -> ResultP<U, E> {
        self.map(|r| r.map(f))
    }
    fn map_error<F: 'static>(self, f: impl FnOnce(E) -> F + 'static) -> ResultP<T, F> {
        self.map(|r| r.map_err(f))
    }
    fn bind_ok<U: 'static>(self, f: impl FnOnce(T) -> ResultP<U, E> + 'static) -> ResultP<U, E> {
        self.bind(|r| match r {
            Ok(v) => f(v),
            Err(e) => resolved(Err(e)),
        })
    }
    fn bind_error<F: 'static>(self, f: impl FnOnce(E) -> ResultP<T, F> + 'static) -> ResultP<T, F> {
        self.bind(|r| match r {
            Ok(v) => resolved(Ok(v)),
            Err(e) => f(e),
        })
    }
    fn bind_lwt<U: 'static>(self, f: impl FnOnce(T) -> Promise<U> + 'static) -> ResultP<U, E> {
        self.bind(|r| match r {
            Ok(v) => f(v).map(Ok),
            Err(e) => resolved(Err(e)),
        })
    }
    fn bind_lwt_error<F: 'static>(self, f: impl FnOnce(E) -> Promise<F> + 'static) -> ResultP<T, F> {
        self.bind(|r| match r {
            Ok(v) => resolved(Ok(v)),
            Err(e) => f(e).map(Err),
        })
    }
    fn bind_result<U: 'static>(self, f: impl FnOnce(T) -> Result<U, E> + 'static) -> ResultP<U, E> {
        self.map(|r| r.and_then(f))
    }
    fn iter(self, f: impl FnOnce(T) -> Promise<()> + 'static) -> Promise<()> {
        self.bind(|r| match r {
            Ok(v) => f(v),
            Err(_) => resolved(()),
        })
    }
    fn iter_error(self, f: impl FnOnce(E) -> Promise<()> + 'static) -> Promise<()> {
        self.bind(|r| match r {
            Ok(_) => resolved(()),
            Err(e) => f(e),
        })
    }
}
