//! Switches that release a group of resources at once: Lwt's `Lwt_switch`.
//!
//! A [`Switch`] is on when created. Code that opens a resource registers a
//! *hook* that closes it ([`Switch::add_hook`]); [`Switch::turn_off`] then
//! starts every hook, the most recently added first, waits for all of them,
//! and rejects with a hook's error if one failed. Turning a switch off twice
//! does nothing the second time. [`with_switch`] turns the switch off when
//! the function given to it is done, however it ends.
//!
//! Lwt's functions take an optional switch (`?switch`), so a library can
//! accept "maybe a switch". The free functions [`add_hook`],
//! [`add_hook_or_exec`] and [`check`] keep that shape with
//! `Option<&Switch>`; the methods are the same for a switch you hold.
//!
//! Deliberate differences from Lwt: raising `Off` becomes an `Err` holding
//! the [`Off`] error (downcastable from [`Error`]).
//!
//! | Lwt | lwt-rs |
//! |---|---|
//! | `Lwt_switch.create ()`, `with_switch f` | [`create()`], [`Switch::new`], [`with_switch`] |
//! | `add_hook s f`, `add_hook_or_exec s f` | [`add_hook`], [`add_hook_or_exec`], [`Switch::add_hook`], [`Switch::add_hook_or_exec`] |
//! | `turn_off s`, `is_on s`, `check s` | [`Switch::turn_off`], [`Switch::is_on`], [`check`], [`Switch::check`] |
//! | `exception Off` | [`Off`] |

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use crate::core::{apply, finalize, join, resolved, Error, Promise};

type Hook = Box<dyn FnOnce() -> Promise<()>>;

/// The error of using a switch that is off (Lwt's `Lwt_switch.Off`).
///
/// ```
/// let s = lwt::switch::Switch::new();
/// let _ = s.turn_off();
/// let e = s.check().unwrap_err();
/// assert!(e.downcast_ref::<lwt::switch::Off>().is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Off;

impl fmt::Display for Off {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lwt_switch.Off: the switch is off")
    }
}

impl std::error::Error for Off {}

/// A switch: on, with hooks to run when turned off; or off (Lwt's
/// `Lwt_switch.t`). Cloning gives another handle on the same switch.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// let closed = Rc::new(Cell::new(false));
/// let c = closed.clone();
/// let s = lwt::switch::Switch::new();
/// s.add_hook(move || { c.set(true); lwt::resolved(()) }).unwrap();
/// let done = s.turn_off();
/// assert!(done.is_fulfilled() && closed.get() && !s.is_on());
/// ```
#[derive(Clone)]
pub struct Switch {
    /// The hooks, oldest first, while the switch is on; `None` once off.
    hooks: Rc<RefCell<Option<Vec<Hook>>>>,
}

/// A new switch, on (Lwt's `Lwt_switch.create`).
pub fn create() -> Switch {
    Switch::new()
}

impl Default for Switch {
    fn default() -> Self {
        Switch::new()
    }
}

impl Switch {
    /// A new switch, on, with no hook.
    pub fn new() -> Switch {
        Switch {
            hooks: Rc::new(RefCell::new(Some(Vec::new()))),
        }
    }

    /// Whether the switch is still on.
    pub fn is_on(&self) -> bool {
        self.hooks.borrow().is_some()
    }

    /// `Ok` while the switch is on, an [`Off`] error once it is off.
    ///
    /// # Errors
    /// [`Off`] if the switch is off.
    pub fn check(&self) -> Result<(), Error> {
        if self.is_on() {
            Ok(())
        } else {
            Err(Error::new(Off))
        }
    }

    /// Registers `hook` to run when the switch is turned off.
    ///
    /// # Errors
    /// [`Off`] if the switch is already off (the hook is not run).
    pub fn add_hook(&self, hook: impl FnOnce() -> Promise<()> + 'static) -> Result<(), Error> {
        match &mut *self.hooks.borrow_mut() {
            Some(hooks) => {
                hooks.push(Box::new(hook));
                Ok(())
            }
            None => Err(Error::new(Off)),
        }
    }

    /// Registers `hook` if the switch is on; runs it now, and returns its
    /// promise, if the switch is already off.
    ///
    /// ```
    /// let s = lwt::switch::Switch::new();
    /// let _ = s.turn_off();
    /// let ran = s.add_hook_or_exec(|| lwt::resolved(()));
    /// assert!(ran.is_fulfilled());
    /// ```
    pub fn add_hook_or_exec(&self, hook: impl FnOnce() -> Promise<()> + 'static) -> Promise<()> {
        let run_now = {
            let mut hooks = self.hooks.borrow_mut();
            match &mut *hooks {
                Some(hooks) => {
                    hooks.push(Box::new(hook));
                    None
                }
                None => Some(hook),
            }
        };
        match run_now {
            Some(hook) => apply(|()| hook(), ()),
            None => resolved(()),
        }
    }

    /// Turns the switch off: starts every hook, the most recently added
    /// first, and resolves once all of them have; rejects with the first
    /// hook error (in time) once all are done. Does nothing if the switch is
    /// already off.
    ///
    /// ```
    /// let s = lwt::switch::Switch::new();
    /// s.add_hook(|| lwt::fail_with("close failed")).unwrap();
    /// assert!(s.turn_off().is_rejected());
    /// assert!(s.turn_off().is_fulfilled()); // already off
    /// ```
    pub fn turn_off(&self) -> Promise<()> {
        let hooks = self.hooks.borrow_mut().take();
        match hooks {
            None => resolved(()),
            Some(hooks) => {
                let started: Vec<Promise<()>> = hooks.into_iter().rev().map(|h| apply(|()| h(), ())).collect();
                join(started)
            }
        }
    }
}

impl fmt::Debug for Switch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hooks = self.hooks.borrow();
        f.debug_struct("Switch")
            .field("on", &hooks.is_some())
            .field("hooks", &hooks.as_ref().map_or(0, Vec::len))
            .finish()
    }
}

/// Runs `f` with a new switch and turns the switch off once `f`'s promise
/// resolves, either way (Lwt's `with_switch`).
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// let hooked = Rc::new(Cell::new(false));
/// let h = hooked.clone();
/// let p = lwt::switch::with_switch(move |s| {
///     s.add_hook(move || { h.set(true); lwt::resolved(()) }).unwrap();
///     lwt::resolved(42)
/// });
/// assert_eq!(p.state(), lwt::State::Fulfilled(42));
/// assert!(hooked.get());
/// ```
pub fn with_switch<T: 'static>(f: impl FnOnce(Switch) -> Promise<T> + 'static) -> Promise<T> {
    let s = Switch::new();
    let s2 = s.clone();
    finalize(move || f(s), move || s2.turn_off())
}

/// Registers `hook` on `switch` if there is one (Lwt's `add_hook`, whose
/// switch is optional); does nothing with `None`.
///
/// # Errors
/// [`Off`] if the switch is off.
pub fn add_hook(switch: Option<&Switch>, hook: impl FnOnce() -> Promise<()> + 'static) -> Result<(), Error> {
    match switch {
        Some(s) => s.add_hook(hook),
        None => Ok(()),
    }
}

/// Registers `hook` on `switch`, or runs it now if the switch is off; does
/// nothing with `None` (Lwt's `add_hook_or_exec`).
pub fn add_hook_or_exec(switch: Option<&Switch>, hook: impl FnOnce() -> Promise<()> + 'static) -> Promise<()> {
    match switch {
        Some(s) => s.add_hook_or_exec(hook),
        None => resolved(()),
    }
}

/// `Ok` with no switch or a switch that is on; an [`Off`] error if the
/// switch is off (Lwt's `check`).
///
/// # Errors
/// [`Off`] if the switch is off.
pub fn check(switch: Option<&Switch>) -> Result<(), Error> {
    match switch {
        Some(s) => s.check(),
        None => Ok(()),
    }
}
