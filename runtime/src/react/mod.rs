//! Reactive events and signals: OCaml's React (`E`, `S`, `Step`) with the
//! Lwt bridges of Lwt_react.
//!
//! An [`Event`] is a value that *occurs* at discrete instants (clicks, lines
//! read, ticks); a [`Signal`] is a value *at every instant* (a position, a
//! count). Primitives are made with [`e::create`] / [`s::create`], which also
//! return the [`Sender`] / [`Setter`] that drives them; everything else is
//! derived with combinators.
//!
//! ```
//! use lwt::react::{e, s};
//! // A primitive event of numbers, and what we derive from it.
//! let (numbers, send) = e::create::<i64>();
//! let count = s::fold(|n, _| n + 1, 0, &numbers);
//! let total = s::fold(|t, x| t + x, 0, &numbers);
//! let mean = s::l2(|t, n| if *n == 0 { 0 } else { t / n }, &total, &count);
//! for x in [4, 8, 12] {
//!     send.send(x);
//! }
//! assert_eq!((count.value(), total.value(), mean.value()), (3, 24, 8));
//! ```
//!
//! # Update steps
//!
//! Each `send`/`set` runs one *update step* before it returns: every event
//! and signal that depends on the primitive is updated at most once, in
//! dependency order (by rank, with a priority queue, as React does; a
//! primitive updated again over the same graph reuses the order worked out
//! once, rather than queueing its dependents at every step). So a derived
//! value never sees a mixed state: in a diamond `a → b, a → c,
//! (b, c) → d`, `d` is computed once, from the new `b` *and* the new `c`. A
//! signal updates only if its new value differs from the old one by its
//! equality (`==`, or the one given to an `_eq` variant); if it does not,
//! nothing below it runs. A [`Step`] lets several primitives change in the
//! same step.
//!
//! A signal *made during* a step (inside a function given to a combinator,
//! as the function of `bind` does) gets its first value at its turn in
//! that step, after every producer it reads, as in React: its function
//! never sees values that change later in the step. Until then it has no
//! value (a combinator given an initial value, such as `hold`, `fold` or
//! `filter`, starts from it), and signals made from it wait likewise. Read
//! before its turn (`value`, `with_value`, `stop`), such a signal is
//! computed at once from its producers' current values, and again at its
//! turn. If its function panics at its turn, the signal stays without a
//! value until its next update; a read after the step retries the
//! computation in a step of its own, and panics if that fails too.
//!
//! Updating a primitive from *inside* a step (from a function given to a
//! combinator) is an error: [`Sender::send`] panics, [`Sender::try_send`]
//! returns it. The promise bridges below do their sends after the step.
//!
//! A panic inside a function given to a combinator is contained: that node
//! does not occur (or keeps its value) in this step, every other node is
//! updated, and the panic reaches the async exception hook
//! ([`set_async_exception_hook`](crate::set_async_exception_hook)) once the
//! step is over. A panic in a function called at *creation* outside a step
//! (a signal's first value) reaches the caller, whose own code it is;
//! inside a step, that first call happens at the signal's turn, and a
//! panic there is contained as above.
//!
//! # Memory
//!
//! A derived event or signal holds what it is derived from; a producer
//! holds its dependents only weakly. **A derived node is updated only while
//! someone holds it**, and is freed as soon as nobody does: keep the handle
//! of an effect (`let _log = ev.map(...)`, not `let _ = ...`), tie it to
//! another node with `retain`, or keep it for good with `keep`. `stop`
//! detaches a node explicitly. [`live_nodes`] counts the nodes alive.
//!
//! # Promise bridges (Lwt_react)
//!
//! [`Event::next`], [`Event::limit`], [`e::from`], [`e::delay`],
//! [`Event::to_stream`], [`e::of_stream`] and the promise-taking combinators
//! (`map_s`, `map_p`, `filter_s`, ...) connect events and signals to
//! promises. The `_s` forms call the function on one occurrence at a time
//! and keep occurrence order; the `_p` forms start every call at once and
//! **may reorder** results. A rejected promise produces no occurrence (as in
//! Lwt_react); a panic in the function goes to the hook. Results always
//! occur in a step of their own, after the one that caused them.
//!
//! # Names: React / Lwt_react → here
//!
//! Methods take `&self`; functions of several events or signals live in the
//! modules [`e`] and [`s`]. Functions that may give an equality (`?eq`) have
//! an `_eq` variant taking it first; the plain form uses `==`.
//!
//! | React / Lwt_react | lwt-rs |
//! |---|---|
//! | `E.never`, `E.create` | [`e::never`], [`e::create`] → `(Event, Sender)`; `send v` → [`Sender::send`] |
//! | `send ~step v`, `set ~step v` | [`Sender::send_on`], [`Setter::set_on`] |
//! | `Step.create`, `Step.execute` | [`Step::new`], [`Step::execute`] |
//! | `E.retain`, `E.stop`, `E.equal` | [`Event::retain`], [`Event::stop`], `==` |
//! | `E.trace`, `E.once`, `E.drop_once` | [`Event::trace`], [`Event::once`], [`Event::drop_once`] |
//! | `E.app`, `E.map`, `E.stamp` | [`e::app`], [`Event::map`], [`Event::stamp`] |
//! | `E.filter`, `E.fmap` | [`Event::filter`], [`Event::filter_map`] |
//! | `E.diff`, `E.changes ?eq` | [`Event::diff`], [`Event::changes`] / [`Event::changes_eq`] |
//! | `E.on` (`E.when_`), `E.dismiss`, `E.until` | [`Event::on`], [`Event::dismiss`], [`Event::until`] |
//! | `E.accum`, `E.fold` | [`e::accum`], [`Event::fold`] |
//! | `E.select`, `E.merge`, `E.switch`, `E.fix` | [`e::select`], [`e::merge`], [`Event::switch`], [`e::fix`] |
//! | `E.l1` … `E.l6` | [`e::l1`] … [`e::l6`] |
//! | `E.Option.some`, `E.Option.value` | [`e::option::some`], [`e::option::value`] |
//! | `S.const`, `S.return`, `S.create ?eq` | [`s::const_`], [`s::create`] / [`s::create_eq`] → `(Signal, Setter)` |
//! | `S.value`, `S.retain`, `S.stop`, `S.equal`, `S.trace` | [`Signal::value`], [`Signal::retain`], [`Signal::stop`], `==`, [`Signal::trace`] |
//! | `S.hold`, `S.app`, `S.map` | [`s::hold`], [`s::app`], [`Signal::map`] / [`Signal::map_eq`] |
//! | `S.filter`, `S.fmap` | [`Signal::filter`], [`Signal::filter_map`] |
//! | `S.diff`, `S.changes`, `S.sample` | [`Signal::diff`], [`Signal::changes`], [`s::sample`] |
//! | `S.on` (`S.when_`), `S.dismiss` | [`Signal::on`], [`Signal::dismiss`] |
//! | `S.accum`, `S.fold`, `S.merge` | [`s::accum`], [`s::fold`], [`s::merge`] |
//! | `S.switch`, `S.bind`, `S.fix` | [`s::switch`], [`Signal::bind`], [`s::fix`] |
//! | `S.l1` … `S.l6` | [`s::l1`] … [`s::l6`] (and `_eq`) |
//! | `S.Bool`, `S.Int`/`S.Float`, `S.Option`, `S.Pair` | [`s::bool`], [`s::int`], [`s::option`], [`s::pair`] |
//! | Lwt_react `E.keep`, `S.keep`, `E/S.with_finaliser` | [`Event::keep`], [`Signal::keep`], [`Event::with_finaliser`], [`Signal::with_finaliser`] |
//! | `E.next`, `E.limit`, `E.from`, `E.delay` | [`Event::next`], [`Event::limit`], [`e::from`], [`e::delay`] |
//! | `E.to_stream`, `E.of_stream` | [`Event::to_stream`], [`e::of_stream`] |
//! | `E.app_s/_p`, `E.map_s/_p`, `E.filter_s/_p`, `E.fmap_s/_p` | [`e::app_s`]/[`e::app_p`], [`Event::map_s`]/[`Event::map_p`], [`Event::filter_s`]/[`Event::filter_p`], [`Event::filter_map_s`]/[`Event::filter_map_p`] |
//! | `E.diff_s`, `E.accum_s`, `E.fold_s`, `E.merge_s`, `E.run_s/_p` | [`Event::diff_s`], [`e::accum_s`], [`Event::fold_s`], [`e::merge_s`], [`Event::run_s`]/[`Event::run_p`] |
//! | `S.bind ?eq`, `S.bind_s`, `S.limit` | [`Signal::bind`], [`Signal::bind_s`], [`Signal::limit`] |
//! | `S.map_s`, `S.filter_s`, `S.fmap_s`, `S.app_s`, `S.run_s` | [`Signal::map_s`], [`Signal::filter_s`], [`Signal::filter_map_s`], [`s::app_s`], [`Signal::run_s`] |
//! | `S.diff_s`, `S.sample_s`, `S.accum_s`, `S.fold_s`, `S.merge_s` | [`Signal::diff_s`], [`s::sample_s`], [`s::accum_s`], [`s::fold_s`], [`s::merge_s`] |
//! | `S.l1_s` … `S.l6_s` | [`s::l1_s`] … [`s::l6_s`] |
//!
//! # Deliberate differences
//!
//! - Updating a primitive inside a step is an error, not a nested step.
//! - A signal made during a step waits for its turn even when none of its
//!   producers takes part in the step (React then computes it at once), and
//!   read before its turn it is computed at once from its producers'
//!   current values (React fails: it has no value yet); see
//!   [Update steps](#update-steps).
//! - [`Setter::set_on`] applies the new value when the step executes (React
//!   sets it at once); a [`Step`] is consumed by `execute`, so it cannot run
//!   twice.
//! - Freeing is deterministic (reference counting): a derived node nobody
//!   holds is freed at once, not at the next garbage collection.
//! - [`Event::next`] resolves its promise right after the step, not inside
//!   it; the bridges' sends also happen after the step.
//! - A fixed point (`fix`) that does not settle is cut after a million
//!   chained steps, with an error to the hook, instead of looping forever.
//! - [`e::from`] pauses between calls when `f` returns a resolved promise.
//! - [`Event::limit`] / [`Signal::limit`] also release on a *rejected*
//!   limiter (Lwt_react waits for a fulfilled one and may hold an occurrence
//!   forever).
//! - [`s::sample_s`] samples the signal when the event occurs; [`s::app_s`]
//!   recomputes when either input changes.
//! - React's `S.Float` is covered by the generic [`s::int`] helpers; its
//!   `S.Compare` and the `S.Make` functor are not provided (use `_eq`
//!   variants).

mod bridges;
mod event;
mod graph;
mod helpers;
mod queue;
mod signal;
mod step;

pub use event::{Event, Sender};
pub use graph::live_nodes;
pub use signal::{Setter, Signal};
pub use step::Step;

/// Event combinators and primitive events (React's `E`, Lwt_react's `E`).
///
/// Most combinators are methods of [`Event`]; this module holds the
/// constructors and the functions of several events.
pub mod e {
    pub use super::bridges::{accum_s, app_p, app_s, delay, from, merge_s, of_stream};
    pub use super::event::{accum, app, create, fix, l1, l2, l3, l4, l5, l6, merge, never, option, select};
}

/// Signal combinators and primitive signals (React's `S`, Lwt_react's `S`).
///
/// Most combinators are methods of [`Signal`]; this module holds the
/// constructors, the functions of several signals and the lifted helpers.
pub mod s {
    pub use super::bridges::{
        s_accum_s as accum_s, s_app_s as app_s, s_fold_s as fold_s, s_l1_s as l1_s, s_l2_s as l2_s, s_l3_s as l3_s,
        s_l4_s as l4_s, s_l5_s as l5_s, s_l6_s as l6_s, s_merge_s as merge_s, sample_s,
    };
    pub use super::helpers::{bool, int, option, pair};
    pub use super::signal::{
        accum, accum_eq, app, app_eq, const_, create, create_eq, fix, fix_eq, fold, fold_eq, hold, hold_eq, l1, l1_eq,
        l2, l2_eq, l3, l3_eq, l4, l4_eq, l5, l5_eq, l6, l6_eq, merge, merge_eq, sample, switch, switch_eq,
    };
}
