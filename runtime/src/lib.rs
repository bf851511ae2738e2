//! The runtime of lwt-rs: OCaml's Lwt in Rust.
//!
//! The promise core (Lwt's `Lwt` module) is at the crate root; each other Lwt
//! module has its own module here, named after it (`Lwt_result` →
//! [`result`], ...). The facade crate `lwt` re-exports all of this.
#![deny(missing_docs)]
// `lwt::main` is Lwt_main (a library module in main/mod.rs, not a binary).
#![allow(special_module_name)]

pub mod core;
#[cfg(feature = "unix")]
pub mod io;
pub mod list;
#[cfg(feature = "unix")]
pub mod main;
#[cfg(feature = "unix")]
pub mod preemptive;
#[cfg(feature = "unix")]
pub mod process;
pub mod react;
pub mod result;
pub mod retry;
pub mod seq;
pub mod stream;
pub mod sync;
pub mod throttle;
pub mod timeout;
#[cfg(feature = "unix")]
pub mod unix;

pub use sync::{condition, mutex, mvar, pool, switch};

pub use crate::core::*;
