//! Helpers shared by the `core_*` behaviour tests (not a test target itself).
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use lwt::Error;

/// An ordered record of events, cheap to clone into closures.
#[derive(Clone, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    pub fn new() -> Log {
        Log::default()
    }

    pub fn push(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    pub fn entries(&self) -> Vec<String> {
        self.0.borrow().clone()
    }

    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }
}

/// A boolean set from inside a closure.
#[derive(Clone, Default)]
pub struct Flag(Rc<Cell<bool>>);

impl Flag {
    pub fn new() -> Flag {
        Flag::default()
    }

    pub fn set(&self) {
        self.0.set(true);
    }

    pub fn get(&self) -> bool {
        self.0.get()
    }
}

/// A counter bumped from inside a closure.
#[derive(Clone, Default)]
pub struct Counter(Rc<Cell<u32>>);

impl Counter {
    pub fn new() -> Counter {
        Counter::default()
    }

    pub fn bump(&self) {
        self.0.set(self.0.get() + 1);
    }

    pub fn get(&self) -> u32 {
        self.0.get()
    }
}

/// An async exception hook, as `set_async_exception_hook` hands it back.
type Hook = Box<dyn Fn(&Error)>;

/// Installs a hook that records every error reaching the async exception
/// hook; the previous hook comes back when this is dropped.
pub struct HookRecorder {
    seen: Rc<RefCell<Vec<Error>>>,
    previous: Option<Hook>,
}

impl HookRecorder {
    pub fn install() -> HookRecorder {
        let seen: Rc<RefCell<Vec<Error>>> = Rc::default();
        let s = seen.clone();
        let previous = lwt::set_async_exception_hook(move |e| s.borrow_mut().push(e.clone()));
        HookRecorder {
            seen,
            previous: Some(previous),
        }
    }

    pub fn errors(&self) -> Vec<Error> {
        self.seen.borrow().clone()
    }

    pub fn count(&self) -> usize {
        self.seen.borrow().len()
    }
}

impl Drop for HookRecorder {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            drop(lwt::set_async_exception_hook(move |e| previous(e)));
        }
    }
}

/// Runs `f`, which must panic, and returns the panic's message.
pub fn panic_message_of(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("the call should have panicked");
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("<non-string panic payload>")
    }
}

/// Sets a flag when dropped: shows when a closure or future is freed.
pub struct DropGuard(pub Flag);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// A user error type, to check that custom errors travel unchanged.
#[derive(Debug, PartialEq, Eq)]
pub struct MyError(pub u32);

impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "my error {}", self.0)
    }
}

impl std::error::Error for MyError {}
