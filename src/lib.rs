//! lwt-rs: OCaml's Lwt rebuilt in Rust (facade crate).
#![deny(missing_docs)]

pub use lwt_runtime::*;
