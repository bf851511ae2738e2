//! Explicit update steps: React's `Step` module.
//!
//! `send(v)` and `set(v)` each run their own step at once. To make several
//! primitives change *simultaneously* (so that, say, `e::l2` sees both
//! occurrences), give them the same [`Step`] with `send_on` / `set_on` and
//! then [`Step::execute`] it.

use std::cell::RefCell;
use std::rc::Rc;

use super::graph::{self, Node};
use crate::core::Error;

pub(crate) const IN_STEP: &str = "lwt::react: a primitive event or signal was updated from inside an update step \
     (from a function given to a combinator, or from a promise callback run by one); \
     update it after the step instead, e.g. from a promise callback or with a bridge such as map_s";

type Action = Box<dyn FnOnce()>;

/// An update step that several primitives join before it runs (React's
/// `Step.t`).
///
/// Updates given with `send_on` / `set_on` wait in the step; [`execute`]
/// applies them all at once and updates their dependents in one go.
/// Dropping a step without executing it discards its updates.
///
/// ```
/// use lwt::react::{e, Step};
/// use std::{cell::RefCell, rc::Rc};
/// let (a, send_a) = e::create::<i32>();
/// let (b, send_b) = e::create::<i32>();
/// let sum = e::l2(|x, y| x + y, &a, &b);
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let s = seen.clone();
/// let _log = sum.map(move |v| s.borrow_mut().push(*v));
/// send_a.send(1); // alone: no simultaneous `b`, so no sum
/// let step = Step::new();
/// send_a.send_on(&step, 1);
/// send_b.send_on(&step, 2);
/// step.execute();
/// assert_eq!(*seen.borrow(), vec![3]);
/// ```
///
/// [`execute`]: Step::execute
pub struct Step {
    pub(crate) id: u64,
    actions: RefCell<Vec<(Rc<dyn Node>, Action)>>,
}

impl Default for Step {
    fn default() -> Self {
        Step::new()
    }
}

impl Step {
    /// A new step with no updates yet (React's `Step.create`).
    pub fn new() -> Step {
        Step {
            id: graph::fresh_id(),
            actions: RefCell::new(Vec::new()),
        }
    }

    /// Queues `apply` as the update of primitive `node` in this step.
    pub(crate) fn add(&self, node: Rc<dyn Node>, what: &str, apply: Action) -> Result<(), Error> {
        let h = node.header();
        if h.pending.get() != 0 {
            return Err(Error::invalid_argument(format!(
                "lwt::react: this primitive {what} already has an update waiting on a step that has not executed"
            )));
        }
        h.pending.set(self.id);
        self.actions.borrow_mut().push((node, apply));
        Ok(())
    }

    /// Runs the step: applies every queued update, then updates their
    /// dependents once, in dependency order (React's `Step.execute`).
    ///
    /// Executing twice cannot happen: this consumes the step.
    ///
    /// # Panics
    ///
    /// If called from inside an update step (see [`Step::try_execute`]).
    #[track_caller]
    pub fn execute(self) {
        if let Err(e) = self.try_execute() {
            panic!("{}", e.message());
        }
    }

    /// Like [`Step::execute`], but returns an `InvalidArgument` error instead
    /// of panicking when called from inside an update step (the step's
    /// updates are then discarded).
    pub fn try_execute(self) -> Result<(), Error> {
        if graph::in_step() {
            return Err(Error::invalid_argument(IN_STEP));
        }
        let actions = std::mem::take(&mut *self.actions.borrow_mut());
        for (n, _) in &actions {
            n.header().pending.set(0);
        }
        graph::run_step(move || {
            for (_, apply) in actions {
                // One update failing (a panicking equality) must not stop
                // the others.
                graph::contain(apply);
            }
        });
        Ok(())
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        for (n, _) in self.actions.get_mut().drain(..) {
            if n.header().pending.get() == self.id {
                n.header().pending.set(0);
            }
        }
    }
}
