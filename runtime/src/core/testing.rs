//! Helpers for the unit tests of the promise core.

use std::cell::Cell;
use std::rc::Rc;

/// A value that counts its drops in a shared counter, and carries a tag
/// (its place in a sequence): put in closures and containers to check that
/// what they hold is dropped exactly once, and in order.
pub(crate) struct Probe(pub(crate) Rc<Cell<u32>>, pub(crate) u32);

impl Probe {
    /// A probe counting into `drops`, with tag 0.
    pub(crate) fn new(drops: &Rc<Cell<u32>>) -> Probe {
        Probe(drops.clone(), 0)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}
