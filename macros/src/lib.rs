//! The syntax of lwt-rs: Lwt's ppx forms (`let%lwt`, `match%lwt`,
//! `try%lwt`, ...) as procedural macros.
//!
//! Use them through the facade crate: `lwt::lwt_let!`, `#[lwt::main]`, ...
//! Every form expands to a chain of calls on the public runtime API that
//! could have been written by hand; the documentation of each macro shows
//! the OCaml form it mirrors, the Rust form, and its expansion.
//!
//! The surface follows F#'s computation expressions, the best-known Rust-like
//! do-notation: `let!` is `let%lwt`, `do!` is `;%lwt`, and a plain `let` is a
//! plain `let`.
//!
//! Two conventions hold in every form:
//! - a `!` after a keyword (`let!`, `do!`) marks a step that *waits* for a
//!   promise; everything else is plain Rust, run when the chain reaches it;
//! - each bind records the `file:line` of the code that wrote it, so that
//!   a rejection shows the chain of bind sites it went through
//!   (`lwt::Error::sites`, or `{:#}` when printing the error).
#![deny(missing_docs)]

use proc_macro::TokenStream;

mod check;
mod expand;
mod main_attr;
mod parse;

use check::Errors;

fn emit(result: syn::Result<proc_macro2::TokenStream>) -> TokenStream {
    match result {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            let error = error.into_compile_error();
            quote::quote!({ #error }).into()
        }
    }
}

/// Waits for promises one after the other (`let%lwt`), or several at once
/// (`let%lwt .. and ..`), then evaluates to the promise on its last line.
///
/// | OCaml (ppx_lwt) | `lwt_let!` |
/// |---|---|
/// | `let%lwt x = e in` | `let! x = e;` |
/// | `let%lwt x = e1 and y = e2 in` | `let! x = e1 and y = e2;` |
/// | `let%lwt (x : int) = e in` | `let! x: i32 = e;` |
/// | `let w = 1 in` | `let w = 1;` (plain Rust) |
/// | `e1;%lwt` | `do! e1;` (`e1` is a `Promise<()>`) |
/// | `e` (last) | `e` (last line, no `;`: the resulting promise) |
///
/// A `!` marks the steps that wait: `let!` binds the value of a promise,
/// `do!` waits for a `Promise<()>`. Any other line is plain Rust, kept
/// as written and run when the chain gets there.
///
/// ```
/// use lwt::{lwt_let, resolved, State};
///
/// let p = lwt_let! {
///     let! x = resolved(3);                       // sequential
///     let! y = resolved(4) and z = resolved(5);   // both started, then one wait
///     let sum = x + y + z;                        // plain Rust
///     do! resolved(());                           // sequencing a Promise<()>
///     resolved(sum)                               // the resulting promise
/// };
/// assert!(matches!(p.state(), State::Fulfilled(12)));
/// ```
///
/// The example expands to (the `(file, line)` arguments are the bind sites):
///
/// ```text
/// __private::bind(file!(), 4, into_promise(resolved(3)), move |x| {
///     __private::bind(file!(), 5, lwt::both(resolved(4), resolved(5)), move |(y, z)| {
///         let sum = x + y + z;
///         __private::bind(file!(), 7, into_unit_promise(resolved(())), move |()| {
///             into_promise(resolved(sum))
///         })
///     })
/// })
/// ```
///
/// where `__private::bind(file, line, p, f)` is `p.bind(f)` that also adds
/// `file:line` to a rejection passing through (`Error::with_site`), and
/// `into_promise` is the identity on `Promise<T>` (it is there so that a
/// value which is not a promise is reported as such).
///
/// Rules and hints:
/// - `and` starts every right-hand side, left to right, before waiting for
///   any of them (`lwt::both`); a name may be bound once per `and` group.
///   Since `both` waits for every promise, a rejected binding rejects the
///   group once all of them have settled (the ppx binds them in order, so
///   an early rejection of the first one is seen at once).
/// - Patterns are irrefutable patterns, as in `let`: `let! (a, b) = p;`.
/// - `let! x: T = p;` checks that `p` is a `Promise<T>`.
/// - Each wait is a `move` closure: values used after a `let!` are moved
///   into it. Clone what you still need outside (`let name2 = name.clone();`).
/// - The last line is required and is a promise (write `lwt::resolved(v)`
///   for a plain value).
#[proc_macro]
pub fn lwt_let(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let chain = parse::let_chain(input.into(), &mut errors);
    check::let_chain(&chain, &mut errors);
    emit(errors.finish().map(|()| expand::let_chain(chain)))
}

/// Matches on the value of a promise, with optional `exception` arms for
/// the rejected case (`match%lwt`).
///
/// | OCaml (ppx_lwt) | `lwt_match!` |
/// |---|---|
/// | `match%lwt e with` | `lwt_match!(e {` ... `})` |
/// | `\| Some x -> a` | `Some(x) => a,` |
/// | `\| exception Not_found -> b` | `exception e if is_not_found(&e) => b,` |
///
/// Every arm evaluates to a promise. At least one arm must be for the
/// fulfilled value (as in the ppx: with only error arms, use [`lwt_try!`]).
/// `lwt::Error` is opaque, so an `exception` arm names the error (`e`) or
/// ignores it (`_`) and tests it in a guard. Errors that no `exception` arm
/// matches are re-raised (with this site added).
///
/// ```
/// use lwt::{lwt_match, resolved, fail_with, State};
///
/// let p = lwt_match!(resolved(Some(3)) {
///     Some(x) => resolved(x + 1),
///     None => resolved(0),
/// });
/// assert!(matches!(p.state(), State::Fulfilled(4)));
///
/// let q = lwt_match!(fail_with::<Option<i32>>("boom") {
///     Some(x) => resolved(x),
///     None => resolved(0),
///     exception e if e.message().contains("boom") => resolved(-1),
/// });
/// assert!(matches!(q.state(), State::Fulfilled(-1)));
/// ```
///
/// Without `exception` arms the expansion is one bind:
///
/// ```text
/// __private::bind(file!(), LINE, into_promise(e), move |v| match v {
///     Some(x) => into_promise(resolved(x + 1)),
///     None => into_promise(resolved(0)),
/// })
/// ```
///
/// With them, the arms are matched against the outcome (`Promise::then`),
/// as Lwt's `try_bind` does, and unmatched errors are re-raised:
///
/// ```text
/// lwt::Promise::then(__private::guard(|| into_promise(e)), move |r| match r {
///     Ok(Some(x)) => into_promise(resolved(x)),
///     Ok(None) => into_promise(resolved(0)),
///     Err(e) if e.message().contains("boom") => into_promise(resolved(-1)),
///     Err(e) => __private::reraise(e, file!(), LINE),
/// })
/// ```
///
/// `guard` turns a panic while evaluating `e` into a rejected promise, as
/// the ppx catches an exception raised by `e`.
#[proc_macro]
pub fn lwt_match(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    match syn::parse::Parser::parse(parse::match_form, input) {
        Ok(form) => {
            check::match_form(&form, &mut errors);
            emit(errors.finish().map(|()| expand::match_form(form)))
        }
        Err(e) => emit(Err(e)),
    }
}

/// Handles the errors of a promise (`try%lwt`), and runs cleanup on every
/// outcome (`[%finally]`).
///
/// | OCaml (ppx_lwt) | `lwt_try!` |
/// |---|---|
/// | `try%lwt e with` | `lwt_try!(e catch {` ... `})` |
/// | `\| Not_found -> a` | `err if is_not_found(&err) => a,` |
/// | `(e) [%finally f]` | `lwt_try!(e finally { f })` |
///
/// `catch { .. }` holds match arms on the `lwt::Error`; errors that no arm
/// matches are re-raised automatically (with this site added). The
/// `finally { .. }` block evaluates to a `Promise<()>` and runs once the
/// promise (and its handler) is resolved: on success, on error, and on
/// cancellation. At least one of the two parts is required; `catch` comes
/// first.
///
/// ```
/// use lwt::{lwt_try, fail_with, resolved, State};
/// use std::{cell::Cell, rc::Rc};
///
/// let cleaned = Rc::new(Cell::new(false));
/// let flag = cleaned.clone();
/// let p = lwt_try!(fail_with::<i32>("timeout")
///     catch {
///         e if e.message() == "timeout" => resolved(0),
///     }
///     finally {
///         flag.set(true);
///         resolved(())
///     });
/// assert!(matches!(p.state(), State::Fulfilled(0)));
/// assert!(cleaned.get());
/// ```
///
/// Expansion:
///
/// ```text
/// __private::finalize(file!(), LINE_OF_FINALLY,
///     lwt::Promise::catch(__private::guard(|| into_promise(e)), move |err| match err {
///         e if e.message() == "timeout" => into_promise(resolved(0)),
///         err => __private::reraise(err, file!(), LINE_OF_CATCH),
///     }),
///     move || { flag.set(true); into_unit_promise(resolved(())) })
/// ```
///
/// The handlers and the cleanup are separate closures: a value used in
/// both must be cloned first.
#[proc_macro]
pub fn lwt_try(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    match syn::parse::Parser::parse(parse::try_form, input) {
        Ok(form) => {
            check::try_form(&form, &mut errors);
            emit(errors.finish().map(|()| expand::try_form(form)))
        }
        Err(e) => emit(Err(e)),
    }
}

/// Branches on a `Promise<bool>` (`if%lwt`).
///
/// | OCaml (ppx_lwt) | `lwt_if!` |
/// |---|---|
/// | `if%lwt c then a else b` | `lwt_if!(c { a } else { b })` |
/// | `if%lwt c then a` | `lwt_if!(c { a })` (`a` is a `Promise<()>`) |
///
/// Both branches are promises of the same type; without `else`, the
/// missing branch is `lwt::resolved(())`. After `else` comes a block or a
/// plain `if` whose branches are promises.
///
/// ```
/// use lwt::{lwt_if, resolved, State};
///
/// let p = lwt_if!(resolved(true) { resolved("yes") } else { resolved("no") });
/// assert!(matches!(p.state(), State::Fulfilled("yes")));
/// ```
///
/// Expansion:
///
/// ```text
/// __private::bind(file!(), LINE, into_bool_promise(c), move |c: bool| {
///     if c { into_promise(a) } else { into_promise(b) }
/// })
/// ```
#[proc_macro]
pub fn lwt_if(input: TokenStream) -> TokenStream {
    emit(syn::parse::Parser::parse(parse::if_form, input).map(expand::if_form))
}

/// Counts over a range, waiting for the body's `Promise<()>` at each step
/// (`for%lwt`).
///
/// | OCaml (ppx_lwt) | `lwt_for!` |
/// |---|---|
/// | `for%lwt i = a to b do body done` | `lwt_for!(i in a..=b { body })` |
/// | `for%lwt i = b downto a do body done` | `lwt_for!(i in (a..=b).rev() { body })` |
///
/// The range is `a..b`, `a..=b`, or one of them with `.rev()` to count
/// down; its bounds are evaluated once, before the first step. The loop
/// variable is a name or `_`. The body is a block evaluating to a
/// `Promise<()>`; the next step starts when it is fulfilled, and a
/// rejection stops the loop. The loop is a recursive bind, as in the ppx:
/// it runs in constant memory and does not grow the stack.
///
/// ```
/// use lwt::{lwt_for, resolved, State};
/// use std::{cell::RefCell, rc::Rc};
///
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let log = seen.clone();
/// let p = lwt_for!(i in (1..=3).rev() {
///     log.borrow_mut().push(i);
///     resolved(())
/// });
/// assert!(matches!(p.state(), State::Fulfilled(())));
/// assert_eq!(*seen.borrow(), [3, 2, 1]);
/// ```
///
/// Expansion (`for_loop` takes the next item, runs the body, binds it to
/// the rest of the loop):
///
/// ```text
/// __private::for_loop(file!(), LINE, (1..=3).rev(), move |i| {
///     log.borrow_mut().push(i);
///     into_unit_promise(resolved(()))
/// })
/// ```
///
/// The body is a `move` closure called once per step: it owns the values
/// it uses. Share state with the code around the loop through `Rc`.
#[proc_macro]
pub fn lwt_for(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    match syn::parse::Parser::parse(parse::for_form, input) {
        Ok(form) => {
            check::for_form(&form, &mut errors);
            emit(errors.finish().map(|()| expand::for_form(form)))
        }
        Err(e) => emit(Err(e)),
    }
}

/// Repeats a `Promise<()>` while a plain `bool` condition holds
/// (`while%lwt`).
///
/// | OCaml (ppx_lwt) | `lwt_while!` |
/// |---|---|
/// | `while%lwt c do body done` | `lwt_while!(c { body })` |
///
/// The condition is evaluated before each step; the body is a block
/// evaluating to a `Promise<()>`, waited for before the condition is tested
/// again. Stack-safe and constant-memory, like [`lwt_for!`].
///
/// ```
/// use lwt::{lwt_while, resolved, State};
///
/// let mut n = 0;
/// let p = lwt_while!(n < 1_000 {
///     n += 1;
///     resolved(())
/// });
/// assert!(matches!(p.state(), State::Fulfilled(())));
/// ```
///
/// Expansion (condition and body share one closure, and so the same
/// variables):
///
/// ```text
/// __private::while_loop(file!(), LINE, move || {
///     if n < 1_000 { Some({ n += 1; into_unit_promise(resolved(())) }) } else { None }
/// })
/// ```
#[proc_macro]
pub fn lwt_while(input: TokenStream) -> TokenStream {
    emit(syn::parse::Parser::parse(parse::while_form, input).map(expand::while_form))
}

/// Evaluates to a `Promise<()>` that is rejected when a condition is false
/// (`assert%lwt`).
///
/// | OCaml (ppx_lwt) | `lwt_assert!` |
/// |---|---|
/// | `assert%lwt e` | `lwt_assert!(e)` or `lwt_assert!(e, "format {}", args)` |
///
/// The rejection is a failure ("assertion failed: CONDITION", or the
/// formatted message) carrying this site. Unlike the ppx, whose
/// `assert false` raises on the spot, the failure is always a rejected
/// promise, so it flows through binds and handlers like other errors.
///
/// ```
/// use lwt::lwt_assert;
///
/// let x = 2;
/// assert!(lwt_assert!(x > 1).is_fulfilled());
/// let p = lwt_assert!(x > 5, "x is only {}", x);
/// assert_eq!(p.error().unwrap().message(), "x is only 2");
/// ```
///
/// Expansion:
///
/// ```text
/// if x > 5 { lwt::resolved(()) } else { __private::assert_failed(file!(), LINE, format!(..)) }
/// ```
#[proc_macro]
pub fn lwt_assert(input: TokenStream) -> TokenStream {
    emit(syn::parse::Parser::parse(parse::assert_form, input).map(expand::assert_form))
}

/// Runs the promise that `main`'s body evaluates to on the event loop
/// (`let () = Lwt_main.run (main ())`), like `#[tokio::main]`.
///
/// The function takes no arguments and is not `async`. Its body evaluates
/// to a promise: with no return type, a `Promise<()>`; with
/// `-> lwt::Promise<T>`, the function returns the `T` (any type `main` may
/// return, e.g. `Result<(), MyError>`). A rejected promise prints
/// `Fatal error: ` and the error with its bind sites on stderr, and exits
/// with code 2, as an uncaught exception in `Lwt_main.run` does.
///
/// ```no_run
/// use lwt::{lwt_let, resolved};
///
/// #[lwt::main]
/// fn main() {
///     lwt_let! {
///         let! x = resolved(20);
///         println!("{}", x + 22);
///         resolved(())
///     }
/// }
/// ```
///
/// Expansion:
///
/// ```text
/// fn main() {
///     let promise: lwt::Promise<()> = { into_promise(lwt_let! { .. }) };
///     lwt::__private::run_main(promise)
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    main_attr::expand(main_attr::Kind::Main, args.into(), item.into()).into()
}

/// A test whose body evaluates to a promise, run on the event loop
/// (`#[lwt::test]`, like `#[tokio::test]`).
///
/// The same rules as [`macro@main`] apply. A rejected promise fails the test
/// with the error and its bind sites; other test attributes
/// (`#[should_panic]`, `#[ignore]`) are kept.
///
/// ```no_run
/// use lwt::{lwt_let, resolved};
///
/// #[lwt::test]
/// fn adds() {
///     lwt_let! {
///         let! x = resolved(2);
///         assert_eq!(x + 2, 4);
///         resolved(())
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    main_attr::expand(main_attr::Kind::Test, args.into(), item.into()).into()
}
