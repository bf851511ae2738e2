//! The syntax of lwt-rs (Lwt's ppx forms as procedural macros).
#![deny(missing_docs)]
