//! Implicit callback-scoped values: Lwt's `new_key` / `with_value` / `get`.
//!
//! Each thread has a *current* map from keys to values. Every function that
//! attaches a callback takes a snapshot of the map, and the callback runs with
//! that snapshot in place; so a value set around the code that *registered* a
//! callback is what the callback sees, however much later it runs (Lwt's
//! "sequence-associated storage"). The map is persistent (shared, copied on
//! write), so a snapshot is one reference-count increment — and when no key is
//! set at all, a snapshot is a null pointer and costs nothing.

use std::any::Any;
use std::cell::Cell;
use std::marker::PhantomData;
use std::rc::Rc;

type Map = Rc<Vec<(u64, Rc<dyn Any>)>>;

thread_local! {
    static CURRENT: Cell<Option<Map>> = const { Cell::new(None) };
    // Whether `CURRENT` is `Some`: lets the common case (no key bound at
    // all) skip the snapshot and restore on every callback.
    static IN_USE: Cell<bool> = const { Cell::new(false) };
    static NEXT_KEY: Cell<u64> = const { Cell::new(0) };
}

/// A key into the implicit storage (Lwt's `'a Lwt.key`).
///
/// ```
/// let k = lwt::Key::<u32>::new();
/// assert_eq!(lwt::get(&k), None);
/// let seen = lwt::with_value(&k, Some(7), || lwt::get(&k));
/// assert_eq!(seen, Some(7));
/// assert_eq!(lwt::get(&k), None);
/// ```
pub struct Key<T> {
    id: u64,
    _marker: PhantomData<fn() -> T>,
}

impl<T: 'static> Key<T> {
    /// A fresh key, bound to nothing (Lwt's `new_key`).
    pub fn new() -> Key<T> {
        let id = NEXT_KEY.with(|n| {
            let id = n.get();
            n.set(id + 1);
            id
        });
        Key {
            id,
            _marker: PhantomData,
        }
    }
}

impl<T: 'static> Default for Key<T> {
    fn default() -> Self {
        Key::new()
    }
}

impl<T> std::fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.id)
    }
}

/// A fresh key (Lwt's `new_key`).
pub fn new_key<T: 'static>() -> Key<T> {
    Key::new()
}

/// The value bound to `key` in the current storage (Lwt's `get`).
pub fn get<T: Clone + 'static>(key: &Key<T>) -> Option<T> {
    let map = snapshot();
    let map = map?;
    map.iter()
        .find(|(id, _)| *id == key.id)
        .and_then(|(_, v)| v.downcast_ref::<T>().cloned())
}

/// Runs `f` with `key` bound to `value` (`None` removes the binding), then
/// restores the previous storage, also if `f` panics (Lwt's `with_value`).
pub fn with_value<T: 'static, R>(key: &Key<T>, value: Option<T>, f: impl FnOnce() -> R) -> R {
    let old = snapshot();
    let mut entries: Vec<(u64, Rc<dyn Any>)> = old
        .as_deref()
        .map(|m| m.iter().filter(|(id, _)| *id != key.id).cloned().collect())
        .unwrap_or_default();
    if let Some(v) = value {
        entries.push((key.id, Rc::new(v)));
    }
    let new = if entries.is_empty() {
        None
    } else {
        Some(Rc::new(entries))
    };
    with_snapshot(new, f)
}

/// A snapshot of the current storage.
#[derive(Clone, Default)]
pub(crate) struct Snapshot(Option<Map>);

/// Takes a snapshot of the current storage.
#[inline]
pub(crate) fn capture() -> Snapshot {
    Snapshot(snapshot())
}

#[inline]
fn snapshot() -> Option<Map> {
    if !IN_USE.with(Cell::get) {
        return None;
    }
    CURRENT.with(|c| {
        let m = c.take();
        let r = m.clone();
        c.set(m);
        r
    })
}

/// Runs `f` with the captured storage in place, restoring the current one after.
#[inline]
pub(crate) fn with_captured<R>(s: Snapshot, f: impl FnOnce() -> R) -> R {
    if s.0.is_none() && !IN_USE.with(Cell::get) {
        // Empty storage in place already: nothing to swap.
        return f();
    }
    with_snapshot(s.0, f)
}

fn set_current(map: Option<Map>) -> Option<Map> {
    IN_USE.with(|u| u.set(map.is_some()));
    CURRENT.with(|c| c.replace(map))
}

#[inline]
fn with_snapshot<R>(map: Option<Map>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Map>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let old = self.0.take();
            let _ = IN_USE.try_with(|u| u.set(old.is_some()));
            let _ = CURRENT.try_with(|c| c.set(old));
        }
    }
    let old = set_current(map);
    let _restore = Restore(old);
    f()
}
