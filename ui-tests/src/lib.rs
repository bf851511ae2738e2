//! Holder crate for the trybuild cases of lwt-rs.
