//! Restartable timeouts on a one-second wheel: Lwt's `Lwt_timeout`.
//!
//! A [`Timeout`] is an action and a duration in whole seconds. Nothing
//! happens until [`Timeout::start`]; the action then runs once the duration
//! has passed, unless [`Timeout::stop`] came first. Starting a started
//! timeout restarts it from zero (a watchdog pattern: restart it on every
//! sign of life), and [`Timeout::change`] changes the duration, restarting
//! the timeout only if it was started.
//!
//! All timeouts of a [`Wheel`] share one clock that ticks every second while
//! some timeout is started. A timeout of `n` seconds fires on the `n + 1`-th
//! tick after it was started, that is between `n` and `n + 1` seconds later
//! (never early, as Lwt's own test "basic" observes). Actions that fire on
//! the same tick run in the order they were started.
//!
//! An action should not panic; if it does, the panic goes to the wheel's
//! exception handler ([`Wheel::set_exn_handler`]), by default the async
//! exception hook ([`set_async_exception_hook`](crate::set_async_exception_hook)).
//!
//! The clock is a [`Sleeper`]. [`create`] and [`set_exn_handler`] use this
//! thread's wheel on the event loop's [`sleep`](crate::unix::sleep) (feature
//! `unix`); [`Wheel::with_sleeper`] makes a wheel on any other clock.
//!
//! Deliberate differences from Lwt:
//! - Lwt has one global wheel; here each thread has its own default wheel
//!   and more can be made. Durations are `u32` seconds; 0 is refused with
//!   [`ErrorKind::InvalidArgument`](crate::ErrorKind) (Lwt raises
//!   `Invalid_argument`).
//! - Actions that fire on the same tick run in start order (Lwt: the most
//!   recently started first).
//! - If the clock's promise rejects (or the sleeper panics), the error goes
//!   to the exception handler and the wheel stops; the next
//!   [`Timeout::start`] starts it again.
//!
//! ```
//! use std::{cell::Cell, rc::Rc};
//! // A wheel whose clock ticks at every turn of the loop.
//! let wheel = lwt::timeout::Wheel::with_sleeper(Rc::new(|_| lwt::pause()));
//! let fired = Rc::new(Cell::new(false));
//! let f = fired.clone();
//! let t = wheel.create(2, move || f.set(true)).unwrap();
//! t.start();
//! lwt::wakeup_paused(); // 1 s
//! lwt::wakeup_paused(); // 2 s
//! assert!(!fired.get());
//! lwt::wakeup_paused(); // the third tick
//! assert!(fired.get());
//! ```

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use crate::core::{rejected, resolved, Error};
use crate::retry::Sleeper;

type Handler = Rc<dyn Fn(Error)>;

struct Entry {
    delay: Cell<u32>,
    action: RefCell<Box<dyn FnMut()>>,
    /// Where the timeout sits while started: its bucket and its start id.
    armed: Cell<Option<(usize, u64)>>,
}

struct WheelState {
    sleeper: Sleeper,
    /// `buckets[i]` holds the timeouts due on the tick that processes bucket
    /// `i`, by start id (so in start order).
    buckets: Vec<BTreeMap<u64, Rc<Entry>>>,
    curr: usize,
    count: usize,
    running: bool,
    next_id: u64,
    handler: Option<Handler>,
}

/// A set of timeouts sharing one clock that ticks every second (Lwt's global
/// wheel). Cloning gives another handle on the same wheel.
#[derive(Clone)]
pub struct Wheel {
    st: Rc<RefCell<WheelState>>,
}

/// A timeout: an action to run once its duration has passed after a start
/// (Lwt's `Lwt_timeout.t`). Cloning gives another handle on the same timeout.
#[derive(Clone)]
pub struct Timeout {
    entry: Rc<Entry>,
    wheel: Wheel,
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

fn check_delay(n: u32, what: &str) -> Result<(), Error> {
    if n == 0 {
        Err(Error::invalid_argument(format!(
            "{what}: the delay must be at least 1 second"
        )))
    } else {
        Ok(())
    }
}

impl Wheel {
    /// A wheel whose ticks are `sleeper(1 s)`.
    pub fn with_sleeper(sleeper: Sleeper) -> Wheel {
        Wheel {
            st: Rc::new(RefCell::new(WheelState {
                sleeper,
                buckets: vec![BTreeMap::new()],
                curr: 0,
                count: 0,
                running: false,
                next_id: 0,
                handler: None,
            })),
        }
    }

    /// This thread's wheel on the event loop's clock (Lwt's global one).
    #[cfg(feature = "unix")]
    pub fn default_wheel() -> Wheel {
        thread_local! {
            static DEFAULT: Wheel = Wheel::with_sleeper(crate::retry::default_sleeper());
        }
        DEFAULT.with(Wheel::clone)
    }

    /// A timeout of `n` seconds running `action`, not started (Lwt's `create`).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind) if `n` is 0.
    pub fn create(&self, n: u32, action: impl FnMut() + 'static) -> Result<Timeout, Error> {
        check_delay(n, "Lwt_timeout.create")?;
        self.grow(n);
        Ok(Timeout {
            entry: Rc::new(Entry {
                delay: Cell::new(n),
                action: RefCell::new(Box::new(action)),
                armed: Cell::new(None),
            }),
            wheel: self.clone(),
        })
    }

    /// Sends the panics of actions (and a failure of the clock) to `f`
    /// instead of the async exception hook (Lwt's `set_exn_handler`).
    pub fn set_exn_handler(&self, f: impl Fn(Error) + 'static) {
        self.st.borrow_mut().handler = Some(Rc::new(f));
    }

    /// How many timeouts are started.
    pub fn started(&self) -> usize {
        self.st.borrow().count
    }

    /// Makes room for a delay of `n` ticks: at least `n + 1` buckets, keeping
    /// every started timeout at the same distance from now.
    fn grow(&self, n: u32) {
        let mut st = self.st.borrow_mut();
        let needed = n as usize + 1;
        let len = st.buckets.len();
        if needed <= len {
            return;
        }
        let curr = st.curr;
        let mut old = std::mem::take(&mut st.buckets);
        old.rotate_left(curr);
        old.resize_with(needed, BTreeMap::new);
        for (i, bucket) in old.iter().enumerate() {
            for (id, e) in bucket {
                e.armed.set(Some((i, *id)));
            }
        }
        st.buckets = old;
        st.curr = 0;
    }

    fn report(&self, e: Error) {
        let handler = self.st.borrow().handler.clone();
        match handler {
            Some(h) => {
                if let Err(p) = catch_unwind(AssertUnwindSafe(|| h(e))) {
                    let msg = panic_message(&*p);
                    crate::core::async_(move || rejected(Error::panic(msg)));
                }
            }
            None => crate::core::async_(move || rejected(e)),
        }
    }

    fn start_entry(&self, entry: &Rc<Entry>) {
        let launch = {
            let mut st = self.st.borrow_mut();
            let was_armed = match entry.armed.take() {
                Some((b, id)) => st.buckets[b].remove(&id).is_some(),
                None => false,
            };
            let len = st.buckets.len();
            let slot = (st.curr + entry.delay.get() as usize) % len;
            let id = st.next_id;
            st.next_id += 1;
            st.buckets[slot].insert(id, entry.clone());
            entry.armed.set(Some((slot, id)));
            if !was_armed {
                st.count += 1;
            }
            !st.running
        };
        if launch {
            self.run_clock();
        }
    }

    fn stop_entry(&self, entry: &Rc<Entry>) {
        let removed = {
            let mut st = self.st.borrow_mut();
            match entry.armed.take() {
                Some((b, id)) => {
                    let r = st.buckets[b].remove(&id);
                    if r.is_some() {
                        st.count -= 1;
                    }
                    r
                }
                None => None,
            }
        };
        drop(removed);
    }

    fn run_clock(&self) {
        let sleeper = {
            let mut st = self.st.borrow_mut();
            st.running = true;
            st.sleeper.clone()
        };
        // The clock keeps the wheel alive while some timeout is started, so
        // a started timeout fires even if every handle on it was dropped.
        let wheel = self.clone();
        // A sleeper that panics is a clock that fails: `apply` makes the
        // panic a rejection, so `running` is cleared and the next start
        // launches the clock again instead of waiting for a tick forever.
        let tick = crate::core::apply(|d| sleeper(d), Duration::from_secs(1)).then(move |r| {
            match r {
                Ok(()) => wheel.tick(),
                Err(e) => {
                    wheel.st.borrow_mut().running = false;
                    wheel.report(e);
                }
            }
            resolved(())
        });
        drop(tick);
    }

    /// One second passed: run the actions of the current bucket, move on.
    fn tick(&self) {
        loop {
            let due = {
                let mut st = self.st.borrow_mut();
                let curr = st.curr;
                match st.buckets[curr].pop_first() {
                    Some((_, e)) => {
                        st.count -= 1;
                        e.armed.set(None);
                        e
                    }
                    None => break,
                }
            };
            let run = catch_unwind(AssertUnwindSafe(|| {
                if let Ok(mut action) = due.action.try_borrow_mut() {
                    action()
                }
            }));
            if let Err(p) = run {
                self.report(Error::panic(panic_message(&*p)));
            }
        }
        let more = {
            let mut st = self.st.borrow_mut();
            st.curr = (st.curr + 1) % st.buckets.len();
            if st.count == 0 {
                st.running = false;
            }
            st.count > 0
        };
        if more {
            self.run_clock();
        }
    }
}

impl fmt::Debug for Wheel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.st.borrow();
        f.debug_struct("Wheel")
            .field("started", &st.count)
            .field("buckets", &st.buckets.len())
            .field("running", &st.running)
            .finish_non_exhaustive()
    }
}

impl Timeout {
    /// Starts the timeout; if it was started, restarts it from zero with its
    /// full duration (Lwt's `start`).
    pub fn start(&self) {
        self.wheel.start_entry(&self.entry);
    }

    /// Stops the timeout; its action will not run (Lwt's `stop`). Stopping a
    /// timeout that is not started does nothing.
    pub fn stop(&self) {
        self.wheel.stop_entry(&self.entry);
    }

    /// Sets the duration to `n` seconds; restarts the timeout if it is
    /// started, and does not start it otherwise (Lwt's `change`).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind) if `n` is 0.
    pub fn change(&self, n: u32) -> Result<(), Error> {
        check_delay(n, "Lwt_timeout.change")?;
        self.entry.delay.set(n);
        self.wheel.grow(n);
        if self.entry.armed.get().is_some() {
            self.start();
        }
        Ok(())
    }

    /// Whether the timeout is started (and has not fired or been stopped).
    pub fn is_started(&self) -> bool {
        self.entry.armed.get().is_some()
    }

    /// The duration, in seconds.
    pub fn delay(&self) -> u32 {
        self.entry.delay.get()
    }
}

impl fmt::Debug for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("delay", &self.delay())
            .field("started", &self.is_started())
            .finish()
    }
}

/// A timeout of `n` seconds on this thread's wheel, not started (Lwt's
/// `Lwt_timeout.create`).
///
/// # Errors
/// [`ErrorKind::InvalidArgument`](crate::ErrorKind) if `n` is 0.
#[cfg(feature = "unix")]
pub fn create(n: u32, action: impl FnMut() + 'static) -> Result<Timeout, Error> {
    Wheel::default_wheel().create(n, action)
}

/// Sends the panics of actions on this thread's wheel to `f` (Lwt's
/// `Lwt_timeout.set_exn_handler`).
#[cfg(feature = "unix")]
pub fn set_exn_handler(f: impl Fn(Error) + 'static) {
    Wheel::default_wheel().set_exn_handler(f)
}
