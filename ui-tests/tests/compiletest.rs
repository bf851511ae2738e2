//! The diagnostics of the lwt macros: every `tests/ui/*.rs` must fail to
//! compile with exactly its `.stderr`, and every `tests/pass/*.rs` must
//! build and run. The `.stderr` files are tied to the compiler version
//! (rustc 1.95); regenerate them with `TRYBUILD=overwrite cargo test -p
//! lwt-ui-tests` after a toolchain change, and read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/pass/*.rs");
}
