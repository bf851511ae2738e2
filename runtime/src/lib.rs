//! The runtime of lwt-rs.
#![deny(missing_docs)]
