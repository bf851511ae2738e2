//! The promise core: Lwt's `Lwt` module.
//!
//! Everything here is re-exported at the crate root, so `lwt::wait`,
//! `lwt::Promise`, `lwt::both` are the names to use. The files split the
//! module by concept:
//!
//! | file | what | Lwt |
//! |---|---|---|
//! | `promise.rs` | [`Promise`], bind/map/catch/finalize, `on_*` | `Lwt.t`, `bind`, ... |
//! | `resolver.rs` | [`wait`], [`task`], [`Resolver`] | `wait`, `task`, `wakeup*` |
//! | `combinators.rs` | [`both`], [`all`], [`pick`], ... | `both`, `join`, `pick`, ... |
//! | `cancel.rs` | [`protected`], [`no_cancel`], ... | `cancel`, `protected`, ... |
//! | `pause.rs` | [`pause`], [`wakeup_paused`] | `pause`, `wakeup_paused` |
//! | `storage.rs` | [`Key`], [`with_value`], [`get`] | `new_key`, `with_value`, `get` |
//! | `hook.rs` | [`async_`], [`dont_wait`], the exception hook | `async`, `dont_wait` |
//! | `direct.rs` | `Future for Promise`, [`spawn`] | `Lwt_direct` |
//! | `error.rs` | [`Error`] | `exn` |
//! | `node.rs`, `context.rs` | the machinery: nodes, proxies, the depth limit | `lwt.ml` internals |
//! | `rc.rs`, `freelist.rs`, `chunk.rs`, `freevec.rs`, `callback.rs` | node pointers, per-thread block lists and the chunks they are carved from, callback storage | (OCaml's GC and closures) |
//!
//! Lwt renames: `return` → [`resolved`], `fail` → [`rejected`], `async` →
//! [`async_`], `yield` → [`yield_now`], `'a Lwt.u` → [`Resolver`],
//! `Return`/`Fail`/`Sleep` → [`State`]'s `Fulfilled`/`Rejected`/`Pending`.

mod callback;
mod cancel;
mod chunk;
mod combinators;
mod context;
mod direct;
mod error;
pub(crate) mod freelist;
mod freevec;
mod hook;
mod how_to_cancel;
mod node;
mod pause;
mod promise;
mod rc;
mod resolver;
mod state;
mod storage;
#[cfg(test)]
mod testing;

pub use cancel::{no_cancel, protected, wrap_in_cancelable};
pub use combinators::{all, both, choose, join, nchoose, nchoose_split, npick, pick};
pub use context::live_promises;
pub use direct::{has_ready_work, live_tasks, set_remote_wake_notifier, spawn, spawn_in_the_background, yield_now};
pub use error::{Error, ErrorKind};
pub(crate) use hook::report;
pub use hook::{async_, dont_wait, ignore_result, set_async_exception_hook};
pub(crate) use how_to_cancel::Interceptor;
pub(crate) use pause::generation as paused_generation;
pub use pause::{abandon_paused, pause, paused_count, register_pause_notifier, wakeup_paused};
pub use promise::{
    apply, catch, fail_invalid_arg, fail_with, finalize, of_result, rejected, resolved, try_bind, wrap, wrap1, wrap2,
    wrap3, Promise, State,
};
pub(crate) use resolver::intercepted;
pub use resolver::{task, wait, Resolver};
pub use storage::{get, new_key, with_value, Key};
