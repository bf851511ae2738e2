//! The error type of rejected promises (Lwt's `exn`): kinds, downcasts,
//! display with bind sites, io conversion, identity.

mod core_common;

use std::io;

use core_common::MyError;
use lwt::{Error, ErrorKind};

#[test]
fn each_constructor_gives_its_kind() {
    let kinds = [
        Error::canceled().kind(),
        Error::timeout().kind(),
        Error::io(io::Error::other("x")).kind(),
        Error::failure("x").kind(),
        Error::invalid_argument("x").kind(),
        Error::panic("x").kind(),
        Error::new(MyError(1)).kind(),
    ];
    assert_eq!(
        kinds,
        [
            ErrorKind::Canceled,
            ErrorKind::Timeout,
            ErrorKind::Io,
            ErrorKind::Failure,
            ErrorKind::InvalidArgument,
            ErrorKind::Panic,
            ErrorKind::Custom
        ]
    );
}

#[test]
fn display_names_the_kind_and_the_message() {
    let shown = [
        Error::canceled().to_string(),
        Error::timeout().to_string(),
        Error::failure("disk full").to_string(),
        Error::invalid_argument("n < 0").to_string(),
        Error::panic("oops").to_string(),
    ];
    assert_eq!(
        shown,
        [
            "Canceled",
            "Timeout",
            "Failure: disk full",
            "Invalid argument: n < 0",
            "Panic in callback: oops"
        ]
    );
}

#[test]
fn message_omits_the_kind() {
    assert_eq!(Error::failure("disk full").message(), "disk full");
}

#[test]
fn only_the_canceled_error_is_canceled() {
    assert_eq!(
        (
            Error::canceled().is_canceled(),
            Error::failure("Canceled").is_canceled()
        ),
        (true, false)
    );
}

#[test]
fn only_the_timeout_error_is_a_timeout() {
    assert_eq!(
        (Error::timeout().is_timeout(), Error::canceled().is_timeout()),
        (true, false)
    );
}

#[test]
fn an_io_error_converts_and_keeps_its_kind() {
    let e: Error = io::Error::new(io::ErrorKind::NotFound, "no such file").into();
    assert_eq!(e.io_error().map(io::Error::kind), Some(io::ErrorKind::NotFound));
    assert_eq!(e.to_string(), "I/O error: no such file");
}

#[test]
fn only_io_errors_carry_an_io_error() {
    assert!(Error::failure("x").io_error().is_none());
}

#[test]
fn a_user_error_downcasts_back_to_its_type() {
    let e = Error::new(MyError(7));
    assert_eq!(e.downcast_ref::<MyError>(), Some(&MyError(7)));
}

#[test]
fn a_user_error_does_not_downcast_to_another_type() {
    assert!(Error::new(MyError(7)).downcast_ref::<io::Error>().is_none());
    assert!(Error::failure("x").downcast_ref::<MyError>().is_none());
}

#[test]
fn a_user_error_displays_as_itself() {
    assert_eq!(Error::new(MyError(3)).to_string(), "my error 3");
}

#[test]
fn a_plain_value_can_be_an_error_and_comes_back() {
    let e = Error::from_value(42u32, "the answer");
    assert_eq!(
        (e.kind(), e.downcast_ref::<u32>(), e.to_string()),
        (ErrorKind::Custom, Some(&42), "the answer".into())
    );
}

#[test]
fn source_exposes_the_wrapped_error() {
    use std::error::Error as _;
    let io_e = Error::io(io::Error::other("low level"));
    let user = Error::new(MyError(1));
    assert_eq!(
        (
            io_e.source().map(|s| s.to_string()),
            user.source().map(|s| s.to_string())
        ),
        (Some("low level".to_string()), Some("my error 1".to_string()))
    );
}

#[test]
fn an_error_works_as_a_boxed_std_error() {
    let boxed: Box<dyn std::error::Error> = Box::new(Error::failure("boxed"));
    assert_eq!(boxed.to_string(), "Failure: boxed");
}

#[test]
fn a_clone_is_the_same_rejection() {
    let e = Error::failure("x");
    assert!(e.clone().same(&e));
}

#[test]
fn two_errors_with_the_same_message_are_not_the_same_rejection() {
    assert!(!Error::failure("x").same(&Error::failure("x")));
}

#[test]
fn every_canceled_error_is_the_same_rejection() {
    assert!(Error::canceled().same(&Error::canceled()));
}

#[test]
fn with_site_records_sites_oldest_first_and_keeps_identity() {
    let e = Error::failure("x");
    let traced = e.with_site("a.rs", 1).with_site("b.rs", 2);
    assert_eq!(traced.sites(), [("a.rs", 1), ("b.rs", 2)]);
    assert!(traced.same(&e) && e.sites().is_empty());
}

#[test]
fn alternate_display_prints_the_sites_after_the_message() {
    let e = Error::failure("x").with_site("a.rs", 1).with_site("b.rs", 2);
    assert_eq!(format!("{e:#}"), "Failure: x\n  at b.rs:2\n  at a.rs:1");
}

#[test]
fn plain_display_leaves_the_sites_out() {
    let e = Error::failure("x").with_site("a.rs", 1);
    assert_eq!(format!("{e}"), "Failure: x");
}

#[test]
fn at_most_64_sites_are_kept() {
    let mut e = Error::failure("x");
    for line in 0..100 {
        e = e.with_site("loop.rs", line);
    }
    assert_eq!(e.sites().len(), 64);
}

#[test]
fn debug_shows_kind_message_and_sites() {
    let e = Error::failure("x").with_site("a.rs", 1);
    assert_eq!(format!("{e:?}"), r#"Error(Failure: x) sites=[("a.rs", 1)]"#);
}
