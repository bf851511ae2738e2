#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub use lwt_runtime::*;

#[doc(inline)]
pub use lwt_macros::{lwt_assert, lwt_for, lwt_if, lwt_let, lwt_match, lwt_try, lwt_while, main, test};

/// What the expansions of the macros call. Not a public API: each helper is
/// a thin layer over the public one, named in its doc.
#[doc(hidden)]
pub mod __private {
    #[cfg(not(feature = "unix"))]
    use std::cell::RefCell;
    #[cfg(not(feature = "unix"))]
    use std::rc::Rc;

    use crate::{Error, Promise};

    /// The values the macros can wait for: promises.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a promise",
        label = "expected a `Promise<_>` here, found `{Self}`",
        note = "the lwt macros wait for `lwt::Promise<T>` values; a plain value becomes one with `lwt::resolved(..)`"
    )]
    pub trait IntoPromise<T: 'static> {
        /// The promise itself.
        fn into_promise(self) -> Promise<T>;
    }

    impl<T: 'static> IntoPromise<T> for Promise<T> {
        #[inline]
        fn into_promise(self) -> Promise<T> {
            self
        }
    }

    /// Promises of `()`: `do!` steps, loop bodies, `finally` blocks.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a `Promise<()>`",
        label = "expected a `Promise<()>` here, found `{Self}`",
        note = "`do!` steps, loop bodies, `finally` blocks and `lwt_if!` without `else` are promises of `()`",
        note = "to drop a promise's value use `p.map(|_| ())`; for plain code, end the block with `lwt::resolved(())`"
    )]
    pub trait UnitPromise {
        /// The promise itself.
        fn into_unit_promise(self) -> Promise<()>;
    }

    impl UnitPromise for Promise<()> {
        #[inline]
        fn into_unit_promise(self) -> Promise<()> {
            self
        }
    }

    /// Promises of `bool`: the condition of `lwt_if!`.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a `Promise<bool>`",
        label = "expected a `Promise<bool>` here, found `{Self}`",
        note = "`lwt_if!` waits for a promise of a `bool`; to test a plain `bool`, use a plain `if`"
    )]
    pub trait BoolPromise {
        /// The promise itself.
        fn into_bool_promise(self) -> Promise<bool>;
    }

    impl BoolPromise for Promise<bool> {
        #[inline]
        fn into_bool_promise(self) -> Promise<bool> {
            self
        }
    }

    /// `p.bind(f)` that adds `file:line` to a rejection passing through
    /// (Lwt's `backtrace_bind`).
    #[inline]
    pub fn bind<T: 'static, U: 'static>(
        file: &'static str,
        line: u32,
        p: Promise<T>,
        f: impl FnOnce(T) -> Promise<U> + 'static,
    ) -> Promise<U> {
        p.then(move |r| match r {
            Ok(v) => f(v),
            Err(e) => crate::rejected(e.with_site(file, line)),
        })
    }

    /// Re-raises an error no arm handled, adding `file:line`.
    #[inline]
    pub fn reraise<T: 'static>(e: Error, file: &'static str, line: u32) -> Promise<T> {
        crate::rejected(e.with_site(file, line))
    }

    /// Evaluates `f` now; a panic becomes a rejected promise (`lwt::apply`).
    #[inline]
    pub fn guard<T: 'static>(f: impl FnOnce() -> Promise<T>) -> Promise<T> {
        crate::apply(|()| f(), ())
    }

    /// `p.finalize(cleanup)` that adds `file:line` to a rejection passing through.
    pub fn finalize<T: 'static>(
        file: &'static str,
        line: u32,
        p: Promise<T>,
        cleanup: impl FnOnce() -> Promise<()> + 'static,
    ) -> Promise<T> {
        p.finalize(cleanup)
            .catch(move |e| crate::rejected(e.with_site(file, line)))
    }

    /// `lwt_while!`: `step()` is `Some(body)` while the condition holds; each
    /// body is bound to the rest of the loop (Lwt's `let rec loop () = ...`).
    pub fn while_loop(
        file: &'static str,
        line: u32,
        mut step: impl FnMut() -> Option<Promise<()>> + 'static,
    ) -> Promise<()> {
        match step() {
            None => crate::resolved(()),
            Some(body) => bind(file, line, body, move |()| while_loop(file, line, step)),
        }
    }

    /// `lwt_for!`: the body of each item of `range`, bound to the rest of the loop.
    pub fn for_loop<I: Iterator + 'static>(
        file: &'static str,
        line: u32,
        mut range: I,
        mut body: impl FnMut(I::Item) -> Promise<()> + 'static,
    ) -> Promise<()> {
        match range.next() {
            None => crate::resolved(()),
            Some(i) => {
                let step = body(i);
                bind(file, line, step, move |()| for_loop(file, line, range, body))
            }
        }
    }

    /// `lwt_assert!`'s failure: a rejected promise carrying its site.
    pub fn assert_failed(file: &'static str, line: u32, message: String) -> Promise<()> {
        crate::rejected(Error::failure(message).with_site(file, line))
    }

    /// Drives `p` to its outcome with the event loop (`lwt::main::run`).
    #[cfg(feature = "unix")]
    pub fn drive<T: 'static>(p: Promise<T>) -> Result<T, Error> {
        crate::main::run(p)
    }

    /// Drives `p` to its outcome without an event loop (the `unix` feature
    /// is off): pauses and woken tasks are run until it resolves.
    #[cfg(not(feature = "unix"))]
    pub fn drive<T: 'static>(p: Promise<T>) -> Result<T, Error> {
        let slot = Rc::new(RefCell::new(None));
        let fill = slot.clone();
        let watched = p.then(move |r| {
            *fill.borrow_mut() = Some(r);
            crate::resolved(())
        });
        while slot.borrow().is_none() && (crate::paused_count() > 0 || crate::has_ready_work()) {
            crate::wakeup_paused();
        }
        drop(watched);
        let outcome = slot.borrow_mut().take();
        outcome.unwrap_or_else(|| {
            Err(Error::failure(
                "the promise of the function stays pending: nothing is left that could resolve it",
            ))
        })
    }

    /// Runs the exit hooks registered with `lwt::main::at_exit`.
    fn exit_hooks() {
        #[cfg(feature = "unix")]
        crate::main::run_exit_hooks();
    }

    /// `#[lwt::main]`: the value, or `Fatal error: ...` and exit code 2.
    pub fn run_main<T: 'static>(p: Promise<T>) -> T {
        let outcome = drive(p);
        exit_hooks();
        match outcome {
            Ok(v) => v,
            Err(e) => {
                eprintln!("Fatal error: {e:#}");
                std::process::exit(2)
            }
        }
    }

    /// `#[lwt::test]`: the value, or a panic that fails the test.
    pub fn run_test<T: 'static>(p: Promise<T>) -> T {
        match drive(p) {
            Ok(v) => v,
            Err(e) => panic!("the test's promise was rejected: {e:#}"),
        }
    }
}
