//! Rate limiters with one channel per key: Lwt's `Lwt_throttle`.
//!
//! [`Throttle::wait`] gives, for a key, a promise fulfilled with `true` at a
//! moment chosen so that no key sees more than `rate` fulfilments per second:
//! the first `rate` calls for a key are fulfilled at once, the next ones
//! wait, first-in, first-out, and each second a clock tick lets up to `rate`
//! of them through. At most `max` promises wait at once (over all keys); past
//! that, `wait` fulfils with `false` at once, meaning "rejected by the
//! limiter". The tick runs only while some key has been used in the last
//! second.
//!
//! The clock is a [`Sleeper`]: [`Throttle::new`] uses the event loop's
//! [`sleep`](crate::unix::sleep) (feature `unix`), [`Throttle::with_sleeper`]
//! any other, such as a test clock.
//!
//! Deliberate differences from Lwt:
//! - Lwt's functor `Lwt_throttle.Make(H)` becomes a generic [`Throttle<K>`]
//!   for any `K: Hash + Eq`; the table-size hint `~n` is dropped.
//! - A waiting promise is cancelable, and canceling it frees its place
//!   (Lwt keeps canceled waiters in its queues until their turn).
//! - If the sleeper's promise rejects (or the sleeper panics), every waiting
//!   promise is rejected with that error (instead of waiting forever), and
//!   the next [`Throttle::wait`] starts the clock again.
//! - Sizes are `usize`: a rate or a maximum of 0 is refused with
//!   [`ErrorKind::InvalidArgument`](crate::ErrorKind), as Lwt refuses values
//!   below 1.
//!
//! ```
//! use std::rc::Rc;
//! // A clock that ticks at every turn of the loop.
//! let tick: lwt::retry::Sleeper = Rc::new(|_| lwt::pause());
//! let limiter = lwt::throttle::Throttle::with_sleeper(2, 10, tick).unwrap();
//! let calls: Vec<_> = (0..3).map(|_| limiter.wait("api")).collect();
//! assert!(calls[0].is_fulfilled() && calls[1].is_fulfilled());
//! assert!(calls[2].is_pending()); // the third waits for the next second
//! lwt::wakeup_paused();
//! assert_eq!(calls[2].state(), lwt::State::Fulfilled(true));
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::rc::Rc;
use std::time::Duration;

use crate::core::{resolved, Error, Promise};
use crate::retry::Sleeper;
use crate::sync::WaitQueue;

/// One key's channel: how many passed this second, and who waits.
struct Channel {
    consumed: usize,
    queue: WaitQueue<bool>,
}

struct State<K> {
    rate: usize,
    max: usize,
    table: HashMap<K, Channel>,
    ticking: bool,
    sleeper: Sleeper,
}

/// A rate limiter over keys of type `K` (Lwt's `Lwt_throttle.S.t`).
/// Cloning gives another handle on the same limiter.
pub struct Throttle<K: 'static> {
    st: Rc<RefCell<State<K>>>,
}

impl<K: 'static> Clone for Throttle<K> {
    fn clone(&self) -> Self {
        Throttle { st: self.st.clone() }
    }
}

/// A limiter on the event loop's clock (Lwt's `create ~rate ~max ~n`; the
/// table-size hint is dropped).
///
/// # Errors
/// [`ErrorKind::InvalidArgument`](crate::ErrorKind) if `rate` or `max` is 0.
#[cfg(feature = "unix")]
pub fn create<K: Hash + Eq + Clone + 'static>(rate: usize, max: usize) -> Result<Throttle<K>, Error> {
    Throttle::new(rate, max)
}

impl<K: Hash + Eq + Clone + 'static> Throttle<K> {
    /// A limiter letting `rate` promises per second through for each key,
    /// with at most `max` waiting at once, on the event loop's clock.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind) if `rate` or `max` is 0.
    #[cfg(feature = "unix")]
    pub fn new(rate: usize, max: usize) -> Result<Throttle<K>, Error> {
        Throttle::with_sleeper(rate, max, crate::retry::default_sleeper())
    }

    /// A limiter whose one-second ticks are `sleeper(1 s)`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind) if `rate` or `max` is 0.
    pub fn with_sleeper(rate: usize, max: usize, sleeper: Sleeper) -> Result<Throttle<K>, Error> {
        if rate == 0 || max == 0 {
            return Err(Error::invalid_argument(
                "Lwt_throttle.S.create: rate and max must be at least 1",
            ));
        }
        Ok(Throttle {
            st: Rc::new(RefCell::new(State {
                rate,
                max,
                table: HashMap::new(),
                ticking: false,
                sleeper,
            })),
        })
    }

    /// A promise fulfilled with `true` when `key` may go ahead without
    /// exceeding its rate (at once if it still may this second), or with
    /// `false` at once if `max` promises already wait (Lwt's `wait`).
    /// Canceling a waiting promise frees its place.
    pub fn wait(&self, key: K) -> Promise<bool> {
        let result = {
            let mut st = self.st.borrow_mut();
            let rate = st.rate;
            let waiting: usize = st.table.values().map(|c| c.queue.len()).sum();
            let max = st.max;
            match st.table.get_mut(&key) {
                Some(ch) if ch.consumed >= rate => {
                    if waiting < max {
                        ch.queue.wait()
                    } else {
                        resolved(false)
                    }
                }
                Some(ch) => {
                    ch.consumed += 1;
                    resolved(true)
                }
                None => {
                    st.table.insert(
                        key,
                        Channel {
                            consumed: 1,
                            queue: WaitQueue::default(),
                        },
                    );
                    resolved(true)
                }
            }
        };
        self.ensure_ticking();
        result
    }

    /// How many promises wait, over all keys.
    pub fn waiting(&self) -> usize {
        self.st.borrow().table.values().map(|c| c.queue.len()).sum()
    }

    fn ensure_ticking(&self) {
        let sleep = {
            let mut st = self.st.borrow_mut();
            if st.ticking {
                return;
            }
            st.ticking = true;
            st.sleeper.clone()
        };
        let me = self.clone();
        // A sleeper that panics is a clock that fails: `apply` makes the
        // panic a rejection, so `ticking` is cleared and nothing waits forever.
        let tick = crate::core::apply(|d| sleep(d), Duration::from_secs(1)).then(move |r| {
            match r {
                Ok(()) => me.tick(),
                Err(e) => me.fail_all(e),
            }
            resolved(())
        });
        drop(tick);
    }

    /// One second passed: let up to `rate` waiters of each key through, and
    /// forget the keys that had nothing to let through.
    fn tick(&self) {
        let mut to_run = Vec::new();
        let keep_ticking = {
            let mut st = self.st.borrow_mut();
            st.ticking = false;
            let rate = st.rate;
            st.table.retain(|_, ch| {
                let mut consumed = 0;
                while consumed < rate {
                    match ch.queue.pop() {
                        Some((r, ())) => {
                            to_run.push(r);
                            consumed += 1;
                        }
                        None => break,
                    }
                }
                ch.consumed = consumed;
                consumed > 0
            });
            !st.table.is_empty()
        };
        if keep_ticking {
            self.ensure_ticking();
        }
        for r in to_run {
            if r.is_pending() {
                r.wakeup(true);
            }
        }
    }

    fn fail_all(&self, e: Error) {
        let channels: Vec<Channel> = {
            let mut st = self.st.borrow_mut();
            st.ticking = false;
            st.table.drain().map(|(_, c)| c).collect()
        };
        for ch in channels {
            ch.queue.drain_each(|(r, ())| r.wakeup_later_exn(e.clone()));
        }
    }
}

impl<K: 'static> fmt::Debug for Throttle<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.st.borrow();
        f.debug_struct("Throttle")
            .field("rate", &st.rate)
            .field("max", &st.max)
            .field("keys", &st.table.len())
            .finish_non_exhaustive()
    }
}
