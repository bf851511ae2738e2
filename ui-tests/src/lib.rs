//! Holder crate for the trybuild cases of the lwt-rs macros: see
//! `tests/compiletest.rs`. Each `tests/ui/*.rs` is one misuse, named after
//! the mistake, next to the compiler's expected output; `tests/pass/*.rs`
//! are programs that must compile and run.
