//! Reading streams: single reads, peeks, drains, folds and iterations.
//!
//! Every walk here is a loop over what is already buffered (or can be pulled
//! without waiting), falling back to one waiter on the cursor when it must
//! wait; it then continues from the waiter's callback. So a walk over a
//! million buffered elements allocates nothing per element and never
//! deepens the stack.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::rc::Rc;

use super::shared::{Avail, Handle, Polled};
use super::{Empty, Stream};
use crate::core::{apply, join, nchoose_split, rejected, resolved, Error, Promise};
use crate::list::now;

/// Reads one element: at once if one is buffered, else after waiting.
pub(super) fn get_h<T: 'static>(h: Rc<Handle<T>>) -> Promise<Option<T>> {
    match h.poll() {
        Polled::Item(x) => resolved(Some(x)),
        Polled::End => resolved(None),
        Polled::Failed(e) => rejected(e),
        Polled::Pending => {
            let w = h.wait();
            w.bind(move |()| get_h(h))
        }
    }
}

/// Walks the stream with a synchronous step: `Continue(state)` goes on,
/// `Break(r)` stops with `r`; at the end, `finish(state)` is the result.
pub(super) fn drive<T: 'static, S: 'static, R: 'static>(
    h: Rc<Handle<T>>,
    state: S,
    step: impl FnMut(S, T) -> ControlFlow<R, S> + 'static,
    finish: impl FnOnce(S) -> R + 'static,
) -> Promise<R> {
    apply(move |()| drive_loop(h, state, step, finish), ())
}

fn drive_loop<T: 'static, S: 'static, R: 'static>(
    h: Rc<Handle<T>>,
    mut state: S,
    mut step: impl FnMut(S, T) -> ControlFlow<R, S> + 'static,
    finish: impl FnOnce(S) -> R + 'static,
) -> Promise<R> {
    loop {
        match h.poll() {
            Polled::Item(x) => match step(state, x) {
                ControlFlow::Continue(s) => state = s,
                ControlFlow::Break(r) => return resolved(r),
            },
            Polled::End => return resolved(finish(state)),
            Polled::Failed(e) => return rejected(e),
            Polled::Pending => {
                let w = h.wait();
                return w.bind(move |()| drive_loop(h, state, step, finish));
            }
        }
    }
}

/// Walks the stream with a promise-returning step, one element after the
/// other's step has resolved.
pub(super) fn drive_s<T: 'static, S: 'static, R: 'static>(
    h: Rc<Handle<T>>,
    state: S,
    step: impl FnMut(S, T) -> Promise<ControlFlow<R, S>> + 'static,
    finish: impl FnOnce(S) -> R + 'static,
) -> Promise<R> {
    apply(move |()| drive_s_loop(h, state, step, finish), ())
}

fn drive_s_loop<T: 'static, S: 'static, R: 'static>(
    h: Rc<Handle<T>>,
    mut state: S,
    mut step: impl FnMut(S, T) -> Promise<ControlFlow<R, S>> + 'static,
    finish: impl FnOnce(S) -> R + 'static,
) -> Promise<R> {
    loop {
        match h.poll() {
            Polled::Item(x) => match now(step(state, x)) {
                Ok(Ok(ControlFlow::Continue(s))) => state = s,
                Ok(Ok(ControlFlow::Break(r))) => return resolved(r),
                Ok(Err(e)) => return rejected(e),
                Err(pending) => {
                    return pending.bind(move |flow| match flow {
                        ControlFlow::Continue(s) => drive_s_loop(h, s, step, finish),
                        ControlFlow::Break(r) => resolved(r),
                    })
                }
            },
            Polled::End => return resolved(finish(state)),
            Polled::Failed(e) => return rejected(e),
            Polled::Pending => {
                let w = h.wait();
                return w.bind(move |()| drive_s_loop(h, state, step, finish));
            }
        }
    }
}

/// Waits until `n` elements are buffered (or the end), then calls `k` with
/// how many are.
fn when_available<T: 'static, R: 'static>(
    h: Rc<Handle<T>>,
    n: usize,
    k: impl FnOnce(&Rc<Handle<T>>, usize) -> R + 'static,
) -> Promise<R> {
    match h.ensure(n) {
        Avail::Ready(have) => crate::core::wrap(|| k(&h, have)),
        Avail::Failed(e) => rejected(e),
        Avail::Pending => {
            let w = h.wait();
            w.bind(move |()| when_available(h, n, k))
        }
    }
}

impl<T: 'static> Stream<T> {
    /// Removes and returns the next element; `None` at the end (Lwt's `get`).
    /// Fulfilled at once when an element is buffered. Canceling a pending
    /// `get` affects only this reader.
    ///
    /// ```
    /// let s = lwt::stream::of_list(vec![1]);
    /// assert_eq!(s.get().state(), lwt::State::Fulfilled(Some(1)));
    /// assert_eq!(s.get().state(), lwt::State::Fulfilled(None));
    /// ```
    pub fn get(&self) -> Promise<Option<T>> {
        get_h(self.h.clone())
    }

    /// Removes and returns the next element; rejects with [`Empty`] at the
    /// end (Lwt's `next`).
    ///
    /// ```
    /// let s = lwt::stream::empty::<u8>();
    /// let e = s.next().error().unwrap();
    /// assert!(e.downcast_ref::<lwt::stream::Empty>().is_some());
    /// ```
    pub fn next(&self) -> Promise<T> {
        self.get().bind(|o| match o {
            Some(x) => resolved(x),
            None => rejected(Error::new(Empty)),
        })
    }

    /// Removes and returns up to `n` elements; fewer only at the end (Lwt's `nget`).
    pub fn nget(&self, n: usize) -> Promise<Vec<T>> {
        if n == 0 {
            return resolved(Vec::new());
        }
        drive(
            self.h.clone(),
            Vec::with_capacity(n.min(1024)),
            move |mut acc: Vec<T>, x| {
                acc.push(x);
                if acc.len() >= n {
                    ControlFlow::Break(acc)
                } else {
                    ControlFlow::Continue(acc)
                }
            },
            |acc| acc,
        )
    }

    /// Removes and returns the longest prefix whose elements satisfy `f`
    /// (Lwt's `get_while`); the first element that fails stays in the stream.
    ///
    /// ```
    /// let s = lwt::stream::of_list(vec![1, 2, 3, 1]);
    /// assert_eq!(s.get_while(|x| *x < 3).state(), lwt::State::Fulfilled(vec![1, 2]));
    /// assert_eq!(s.to_list().state(), lwt::State::Fulfilled(vec![3, 1]));
    /// ```
    pub fn get_while(&self, mut f: impl FnMut(&T) -> bool + 'static) -> Promise<Vec<T>> {
        let h = self.h.clone();
        drive(
            self.h.clone(),
            Vec::new(),
            move |mut acc: Vec<T>, x| match catch_unwind(AssertUnwindSafe(|| f(&x))) {
                Ok(true) => {
                    acc.push(x);
                    ControlFlow::Continue(acc)
                }
                Ok(false) => {
                    h.unget(x);
                    ControlFlow::Break(acc)
                }
                // A test that panics has not taken the element: it goes
                // back, and the panic rejects the walk.
                Err(panic) => {
                    h.unget(x);
                    resume_unwind(panic)
                }
            },
            |acc| acc,
        )
    }

    /// [`get_while`](Self::get_while) with a promise-returning test (Lwt's
    /// `get_while_s`).
    pub fn get_while_s(&self, mut f: impl FnMut(&T) -> Promise<bool> + 'static) -> Promise<Vec<T>> {
        let h = self.h.clone();
        drive_s(
            self.h.clone(),
            Vec::new(),
            move |mut acc: Vec<T>, x| {
                let h = h.clone();
                let test = match catch_unwind(AssertUnwindSafe(|| f(&x))) {
                    Ok(test) => test,
                    Err(panic) => {
                        h.unget(x);
                        resume_unwind(panic)
                    }
                };
                // Only a test fulfilled with `true` takes the element; one
                // that is `false`, rejects or is canceled puts it back.
                test.then(move |r| match r {
                    Ok(true) => {
                        acc.push(x);
                        resolved(ControlFlow::Continue(acc))
                    }
                    Ok(false) => {
                        h.unget(x);
                        resolved(ControlFlow::Break(acc))
                    }
                    Err(e) => {
                        h.unget(x);
                        rejected(e)
                    }
                })
            },
            |acc| acc,
        )
    }

    /// Returns the last element available without waiting, removing it and
    /// all before it; if none is available, waits for one (Lwt's
    /// `last_new`). Rejects with [`Empty`] at the end.
    ///
    /// ```
    /// let (s, push) = lwt::stream::create();
    /// for i in 1..=3 { push.push(i).unwrap(); }
    /// assert_eq!(s.last_new().state(), lwt::State::Fulfilled(3));
    /// ```
    pub fn last_new(&self) -> Promise<T> {
        match self.h.poll() {
            Polled::Item(mut last) => loop {
                match self.h.poll() {
                    Polled::Item(x) => last = x,
                    Polled::End | Polled::Pending => return resolved(last),
                    Polled::Failed(e) => return rejected(e),
                }
            },
            Polled::End => rejected(Error::new(Empty)),
            Polled::Failed(e) => rejected(e),
            Polled::Pending => self.next(),
        }
    }

    /// Removes the next element, if any (Lwt's `junk`).
    pub fn junk(&self) -> Promise<()> {
        self.get().map(|_| ())
    }

    /// Removes up to `n` elements (Lwt's `njunk`).
    pub fn njunk(&self, n: usize) -> Promise<()> {
        if n == 0 {
            return resolved(());
        }
        drive(
            self.h.clone(),
            0usize,
            move |k, _x| {
                if k + 1 >= n {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(k + 1)
                }
            },
            |_| (),
        )
    }

    /// Removes the elements at the front that satisfy `f` (Lwt's `junk_while`).
    pub fn junk_while(&self, f: impl FnMut(&T) -> bool + 'static) -> Promise<()> {
        self.get_while(f).map(|_| ())
    }

    /// [`junk_while`](Self::junk_while) with a promise-returning test (Lwt's
    /// `junk_while_s`).
    pub fn junk_while_s(&self, f: impl FnMut(&T) -> Promise<bool> + 'static) -> Promise<()> {
        self.get_while_s(f).map(|_| ())
    }

    /// Removes and returns every element available without waiting (Lwt's
    /// `get_available`).
    ///
    /// # Errors
    /// The error of a pull source that failed; the elements read before it
    /// are lost, as in Lwt.
    ///
    /// ```
    /// let (s, push) = lwt::stream::create();
    /// push.push(1).unwrap();
    /// push.push(2).unwrap();
    /// assert_eq!(s.get_available().unwrap(), vec![1, 2]);
    /// assert!(s.get_available().unwrap().is_empty());
    /// ```
    pub fn get_available(&self) -> Result<Vec<T>, Error> {
        self.get_available_up_to(usize::MAX)
    }

    /// Removes and returns up to `n` elements available without waiting
    /// (Lwt's `get_available_up_to`).
    ///
    /// # Errors
    /// The error of a pull source that failed.
    pub fn get_available_up_to(&self, n: usize) -> Result<Vec<T>, Error> {
        let mut out = Vec::new();
        while out.len() < n {
            match self.h.poll() {
                Polled::Item(x) => out.push(x),
                Polled::End | Polled::Pending => break,
                Polled::Failed(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Removes every element available without waiting (Lwt's `junk_available`).
    ///
    /// # Errors
    /// The error of a pull source that failed.
    pub fn junk_available(&self) -> Result<(), Error> {
        loop {
            match self.h.poll() {
                Polled::Item(_) => {}
                Polled::End | Polled::Pending => return Ok(()),
                Polled::Failed(e) => return Err(e),
            }
        }
    }

    /// [`junk_available`](Self::junk_available) as a promise (Lwt's
    /// deprecated `junk_old`).
    pub fn junk_old(&self) -> Promise<()> {
        crate::core::of_result(self.junk_available())
    }

    /// Whether the stream has no more elements; waits until it knows, that
    /// is until an element or the end is there (Lwt's `is_empty`).
    ///
    /// ```
    /// let (s, push) = lwt::stream::create::<u8>();
    /// let e = s.is_empty();
    /// assert!(e.is_pending());
    /// push.close();
    /// assert_eq!(e.state(), lwt::State::Fulfilled(true));
    /// ```
    pub fn is_empty(&self) -> Promise<bool> {
        when_available(self.h.clone(), 1, |_, have| have == 0)
    }

    /// Reads everything until the end (Lwt's `to_list`).
    pub fn to_list(&self) -> Promise<Vec<T>> {
        drive(
            self.h.clone(),
            Vec::new(),
            |mut acc: Vec<T>, x| {
                acc.push(x);
                ControlFlow::Continue(acc)
            },
            |acc| acc,
        )
    }

    /// Folds the elements until the end, `f(f(init, x0), x1)...` (Lwt's
    /// `fold`, with the accumulator first as in `Iterator::fold`).
    ///
    /// ```
    /// let s = lwt::stream::of_list(vec![1, 2, 3]);
    /// assert_eq!(s.fold(0, |acc, x| acc + x).state(), lwt::State::Fulfilled(6));
    /// ```
    pub fn fold<A: 'static>(&self, init: A, mut f: impl FnMut(A, T) -> A + 'static) -> Promise<A> {
        drive(
            self.h.clone(),
            init,
            move |acc, x| ControlFlow::Continue(f(acc, x)),
            |acc| acc,
        )
    }

    /// Folds with a promise-returning step, one after another (Lwt's `fold_s`).
    pub fn fold_s<A: 'static>(&self, init: A, mut f: impl FnMut(A, T) -> Promise<A> + 'static) -> Promise<A> {
        drive_s(
            self.h.clone(),
            init,
            move |acc, x| f(acc, x).map(ControlFlow::Continue),
            |acc| acc,
        )
    }

    /// Calls `f` on every element until the end (Lwt's `iter`).
    pub fn iter(&self, mut f: impl FnMut(T) + 'static) -> Promise<()> {
        drive(
            self.h.clone(),
            (),
            move |(), x| {
                f(x);
                ControlFlow::Continue(())
            },
            |()| (),
        )
    }

    /// Calls `f` on every element, each call after the previous one's
    /// promise is fulfilled (Lwt's `iter_s`).
    pub fn iter_s(&self, mut f: impl FnMut(T) -> Promise<()> + 'static) -> Promise<()> {
        drive_s(
            self.h.clone(),
            (),
            move |(), x| f(x).map(ControlFlow::Continue),
            |()| (),
        )
    }

    /// Calls `f` on every element as soon as it arrives, without waiting for
    /// earlier calls (Lwt's `iter_p`). As in Lwt, each call comes before the
    /// rest of the walk: the result is fulfilled once the stream ended and
    /// every call's promise is fulfilled, and rejects with the error of the
    /// first call (in stream order) that fails once the calls before it are
    /// fulfilled, even if the stream has not ended; the walk goes on in the
    /// background.
    ///
    /// ```
    /// let (p, r) = lwt::wait::<()>();
    /// let s = lwt::stream::of_list(vec![1, 2]);
    /// let done = s.iter_p(move |x| if x == 1 { p.clone() } else { lwt::resolved(()) });
    /// assert!(done.is_pending());
    /// r.wakeup(());
    /// assert!(done.is_fulfilled());
    /// ```
    pub fn iter_p(&self, f: impl FnMut(T) -> Promise<()> + 'static) -> Promise<()> {
        let h = self.h.clone();
        apply(move |()| iter_p_walk(h, f), ())
    }

    /// Calls `f` on the elements with at most `max_concurrency` calls in
    /// flight; the order of completion is not that of the stream (Lwt's
    /// `iter_n`). Rejects with the first error seen.
    ///
    /// Rejects with [`ErrorKind::InvalidArgument`](crate::ErrorKind) if
    /// `max_concurrency` is 0.
    pub fn iter_n(&self, max_concurrency: usize, f: impl FnMut(T) -> Promise<()> + 'static) -> Promise<()> {
        if max_concurrency == 0 {
            return rejected(Error::invalid_argument(
                "Lwt_stream.iter_n: max_concurrency must be > 0, 0 given",
            ));
        }
        iter_n_loop(
            self.h.clone(),
            Rc::new(std::cell::RefCell::new(f)),
            Vec::new(),
            max_concurrency,
        )
    }

    /// The first element satisfying `f`, removing it and all before it;
    /// `None` if the stream ends first (Lwt's `find`).
    pub fn find(&self, mut f: impl FnMut(&T) -> bool + 'static) -> Promise<Option<T>> {
        drive(
            self.h.clone(),
            (),
            move |(), x| {
                if f(&x) {
                    ControlFlow::Break(Some(x))
                } else {
                    ControlFlow::Continue(())
                }
            },
            |()| None,
        )
    }

    /// [`find`](Self::find) with a promise-returning test (Lwt's `find_s`).
    pub fn find_s(&self, mut f: impl FnMut(&T) -> Promise<bool> + 'static) -> Promise<Option<T>> {
        drive_s(
            self.h.clone(),
            (),
            move |(), x| {
                f(&x).map(move |b| {
                    if b {
                        ControlFlow::Break(Some(x))
                    } else {
                        ControlFlow::Continue(())
                    }
                })
            },
            |()| None,
        )
    }

    /// The first `Some` that `f` returns over the elements (Lwt's `find_map`).
    pub fn find_map<U: 'static>(&self, mut f: impl FnMut(T) -> Option<U> + 'static) -> Promise<Option<U>> {
        drive(
            self.h.clone(),
            (),
            move |(), x| match f(x) {
                Some(u) => ControlFlow::Break(Some(u)),
                None => ControlFlow::Continue(()),
            },
            |()| None,
        )
    }

    /// [`find_map`](Self::find_map) with a promise-returning `f` (Lwt's `find_map_s`).
    pub fn find_map_s<U: 'static>(&self, mut f: impl FnMut(T) -> Promise<Option<U>> + 'static) -> Promise<Option<U>> {
        drive_s(
            self.h.clone(),
            (),
            move |(), x| {
                f(x).map(|o| match o {
                    Some(u) => ControlFlow::Break(Some(u)),
                    None => ControlFlow::Continue(()),
                })
            },
            |()| None,
        )
    }
}

/// Calls `f` on everything readable now, then waits for more in the
/// background; the result waits for each pending call in stream order, then
/// for the rest of the walk (Lwt's `res >>= fun () -> rest`).
fn iter_p_walk<T: 'static, F: FnMut(T) -> Promise<()> + 'static>(h: Rc<Handle<T>>, mut f: F) -> Promise<()> {
    let mut running = VecDeque::new();
    let rest = loop {
        match h.poll() {
            Polled::Item(x) => {
                let p = apply(&mut f, x);
                if !p.is_fulfilled() {
                    running.push_back(p);
                }
            }
            Polled::End => break resolved(()),
            Polled::Failed(e) => break rejected(e),
            Polled::Pending => {
                let w = h.wait();
                break w.bind(move |()| iter_p_walk(h, f));
            }
        }
    };
    in_order(running, rest)
}

/// Waits for each promise in turn, then gives `rest`; rejects with the
/// first one that rejects.
fn in_order(mut running: VecDeque<Promise<()>>, rest: Promise<()>) -> Promise<()> {
    match running.pop_front() {
        None => rest,
        Some(p) => p.bind(move |()| in_order(running, rest)),
    }
}

fn iter_n_loop<T: 'static, F: FnMut(T) -> Promise<()> + 'static>(
    h: Rc<Handle<T>>,
    f: Rc<std::cell::RefCell<F>>,
    running: Vec<Promise<()>>,
    available: usize,
) -> Promise<()> {
    let room: Promise<(Vec<Promise<()>>, usize)> = if available > 0 {
        resolved((running, available))
    } else {
        nchoose_split(running).map(|(done, rest)| (rest, done.len()))
    };
    room.bind(move |(mut running, available)| {
        get_h(h.clone()).bind(move |o| match o {
            None => join(running),
            Some(x) => {
                let p = apply(|x| (f.borrow_mut())(x), x);
                running.push(p);
                iter_n_loop(h, f, running, available - 1)
            }
        })
    })
}

impl<T: Clone + 'static> Stream<T> {
    /// The next element without removing it; `None` at the end (Lwt's `peek`).
    ///
    /// ```
    /// let s = lwt::stream::of_list(vec![1, 2]);
    /// assert_eq!(s.peek().state(), lwt::State::Fulfilled(Some(1)));
    /// assert_eq!(s.get().state(), lwt::State::Fulfilled(Some(1)));
    /// ```
    pub fn peek(&self) -> Promise<Option<T>> {
        self.npeek(1).map(|v| v.into_iter().next())
    }

    /// Up to the first `n` elements, without removing them (Lwt's `npeek`).
    pub fn npeek(&self, n: usize) -> Promise<Vec<T>> {
        when_available(self.h.clone(), n, move |h, _| {
            h.shared
                .with_slot(h.id, |s| s.buf.iter().take(n).cloned().collect())
                .unwrap_or_default()
        })
    }
}

impl Stream<char> {
    /// Reads every character until the end into a string (Lwt's `to_string`).
    pub fn to_string(&self) -> Promise<String> {
        drive(
            self.h.clone(),
            String::new(),
            |mut acc: String, c| {
                acc.push(c);
                ControlFlow::Continue(acc)
            },
            |acc| acc,
        )
    }
}
