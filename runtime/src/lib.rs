//! The runtime of lwt-rs: OCaml's Lwt in Rust.
//!
//! The promise core (Lwt's `Lwt` module) is at the crate root; each other Lwt
//! module has its own module here, named after it (`Lwt_result` →
//! [`result`], ...). The facade crate `lwt` re-exports all of this.
#![deny(missing_docs)]

pub mod core;
pub mod list;
pub mod result;
pub mod seq;
pub mod stream;
pub mod sync;

pub use sync::{condition, mutex, mvar, pool, switch};

pub use crate::core::*;
