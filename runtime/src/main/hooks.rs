//! Ordered hook lists with removal by id (Lwt_main's `Enter_iter_hooks`,
//! `Leave_iter_hooks` and `Exit_hooks`).

use std::cell::{Cell, RefCell};

/// Identifies a registered hook, for [`remove`](super::enter_iter_hooks::remove).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HookId(u64);

thread_local! {
    static NEXT_ID: Cell<u64> = const { Cell::new(0) };
}

fn fresh_id() -> HookId {
    NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        HookId(id)
    })
}

/// A list of hooks of type `F`, in calling order.
pub(crate) struct Hooks<F> {
    list: RefCell<Vec<(HookId, F)>>,
}

impl<F> Hooks<F> {
    pub(crate) const fn new() -> Hooks<F> {
        Hooks {
            list: RefCell::new(Vec::new()),
        }
    }

    pub(crate) fn add_first(&self, f: F) -> HookId {
        let id = fresh_id();
        self.list.borrow_mut().insert(0, (id, f));
        id
    }

    pub(crate) fn add_last(&self, f: F) -> HookId {
        let id = fresh_id();
        self.list.borrow_mut().push((id, f));
        id
    }

    pub(crate) fn remove(&self, id: HookId) {
        let removed = {
            let mut l = self.list.borrow_mut();
            l.iter().position(|(i, _)| *i == id).map(|i| l.remove(i))
        };
        drop(removed);
    }

    pub(crate) fn remove_all(&self) {
        let all = std::mem::take(&mut *self.list.borrow_mut());
        drop(all);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.borrow().is_empty()
    }

    /// Takes every hook out of the list, in order.
    pub(crate) fn take_all(&self) -> Vec<F> {
        std::mem::take(&mut *self.list.borrow_mut())
            .into_iter()
            .map(|(_, f)| f)
            .collect()
    }
}

impl<F: Clone> Hooks<F> {
    /// A copy of the hooks, so they can be called while the list may change.
    pub(crate) fn snapshot(&self) -> Vec<F> {
        self.list.borrow().iter().map(|(_, f)| f.clone()).collect()
    }
}
