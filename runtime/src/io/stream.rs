//! A small pull stream: what `read_lines`, `read_chars`, `lines_of_file`
//! and the process functions return while `lwt::stream` (Lwt_stream) does
//! not exist in this crate.
//!
//! It is Lwt_stream's `from` only: a function called for each element,
//! returning a promise of `Some(x)`, or `None` at the end. Once the end is
//! seen, the function is dropped (releasing what it holds, e.g. a file)
//! and every later `next` gives `None`.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use crate::{Error, Promise};

type NextFn<T> = Box<dyn FnMut() -> Promise<Option<T>>>;

/// A stream of `T`s read one at a time with [`Stream::next`] (a subset of
/// Lwt's `Lwt_stream.t`). Cloning gives another handle to the same stream.
///
/// ```
/// use lwt::io::{self, Input, Stream};
/// let lines = io::read_lines(&io::of_bytes(Input, b"a\nb\nc".to_vec()));
/// assert_eq!(lwt::main::run(lines.next()).unwrap().as_deref(), Some("a"));
/// assert_eq!(lwt::main::run(lines.to_vec()).unwrap(), ["b", "c"]);
///
/// let numbers = Stream::of_iter(1..=4);
/// assert_eq!(lwt::main::run(numbers.fold(0, |acc, x| acc + x)).unwrap(), 10);
/// ```
pub struct Stream<T: 'static> {
    next: Rc<RefCell<Option<NextFn<T>>>>,
}

impl<T: 'static> Clone for Stream<T> {
    fn clone(&self) -> Self {
        Stream {
            next: self.next.clone(),
        }
    }
}

impl<T: 'static> fmt::Debug for Stream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("ended", &self.next.borrow().is_none())
            .finish()
    }
}

impl<T: 'static> Stream<T> {
    /// A stream whose elements are produced by `f` (Lwt_stream's `from`):
    /// `f` is called for each `next`, and its `None` ends the stream.
    ///
    /// ```
    /// let mut n = 0;
    /// let s = lwt::io::Stream::from_fn(move || {
    ///     n += 1;
    ///     lwt::resolved(if n <= 3 { Some(n) } else { None })
    /// });
    /// assert_eq!(lwt::main::run(s.to_vec()).unwrap(), [1, 2, 3]);
    /// ```
    pub fn from_fn(f: impl FnMut() -> Promise<Option<T>> + 'static) -> Stream<T> {
        Stream {
            next: Rc::new(RefCell::new(Some(Box::new(f)))),
        }
    }

    /// A stream of the items of `iter` (Lwt_stream's `of_list`, `of_seq`).
    pub fn of_iter<I>(iter: I) -> Stream<T>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: 'static,
    {
        let mut it = iter.into_iter();
        Stream::from_fn(move || crate::resolved(it.next()))
    }

    /// The next element, or `None` at the end (Lwt_stream's `get`). An
    /// error of the producer rejects this promise; the stream goes on.
    pub fn next(&self) -> Promise<Option<T>> {
        // The function is taken out while it runs, so a producer that pulls
        // from its own stream gets an error instead of a borrow panic.
        let f = self.next.borrow_mut().take();
        let Some(mut f) = f else {
            return crate::resolved(None);
        };
        let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut f));
        let p = match p {
            Ok(p) => p,
            Err(payload) => crate::rejected(Error::panic(super::panic_message(&*payload))),
        };
        let slot = self.next.clone();
        // At the end the function is dropped (releasing what it holds).
        let put_back = move |f: NextFn<T>, ended: bool| {
            *slot.borrow_mut() = if ended { None } else { Some(f) };
        };
        if !p.is_pending() {
            let ended = p.with_state(|s| matches!(s, crate::State::Fulfilled(None)));
            put_back(f, ended);
            return p;
        }
        // Still pending: later `next` calls are not lost, they wait for
        // this one (the function is back in place once it answers). Calls
        // made before that see the function missing and must not end the
        // stream, so they chain behind this element.
        let (done, r) = crate::wait::<bool>();
        let me = self.clone();
        *self.next.borrow_mut() = Some(Box::new(move || {
            let me = me.clone();
            done.clone().bind(move |_| me.next())
        }));
        p.then(move |res| {
            let ended = matches!(res, Ok(None));
            put_back(f, ended);
            r.wakeup(ended);
            crate::of_result(res)
        })
    }

    /// Calls `f` on every element, in order (Lwt_stream's `iter`).
    pub fn iter(self, f: impl FnMut(T) + 'static) -> Promise<()> {
        let mut f = f;
        self.iter_s(move |x| {
            f(x);
            crate::resolved(())
        })
    }

    /// Calls `f` on every element, waiting for each call's promise before
    /// the next element (Lwt_stream's `iter_s`).
    ///
    /// ```
    /// let s = lwt::io::Stream::of_iter(vec!["x", "y"]);
    /// let (ic, oc) = lwt::io::pipe().unwrap();
    /// let oc2 = oc.clone();
    /// let p = s.iter_s(move |l| lwt::io::write_line(&oc2, l)).bind(move |()| lwt::io::close(&oc));
    /// lwt::main::run(p).unwrap();
    /// assert_eq!(lwt::main::run(lwt::io::read_to_end(&ic)).unwrap(), b"x\ny\n");
    /// ```
    pub fn iter_s(self, f: impl FnMut(T) -> Promise<()> + 'static) -> Promise<()> {
        fn go<T: 'static, F: FnMut(T) -> Promise<()> + 'static>(s: Stream<T>, mut f: F) -> Promise<()> {
            s.next().bind(move |x| match x {
                Some(x) => f(x).bind(move |()| go(s, f)),
                None => crate::resolved(()),
            })
        }
        go(self, f)
    }

    /// Folds `f` over the elements, from `init` (Lwt_stream's `fold`).
    pub fn fold<A: 'static>(self, init: A, f: impl FnMut(A, T) -> A + 'static) -> Promise<A> {
        fn go<T: 'static, A: 'static, F: FnMut(A, T) -> A + 'static>(s: Stream<T>, acc: A, mut f: F) -> Promise<A> {
            s.next().bind(move |x| match x {
                Some(x) => {
                    let acc = f(acc, x);
                    go(s, acc, f)
                }
                None => crate::resolved(acc),
            })
        }
        go(self, init, f)
    }

    /// Every remaining element, in order (Lwt_stream's `to_list`).
    pub fn to_vec(self) -> Promise<Vec<T>> {
        self.fold(Vec::new(), |mut v, x| {
            v.push(x);
            v
        })
    }

    /// The stream of `f` applied to each element (Lwt_stream's `map`).
    ///
    /// ```
    /// let s = lwt::io::Stream::of_iter(1..4).map(|x| x * 10);
    /// assert_eq!(lwt::main::run(s.to_vec()).unwrap(), [10, 20, 30]);
    /// ```
    pub fn map<U: 'static>(self, f: impl FnMut(T) -> U + 'static) -> Stream<U> {
        let f = Rc::new(RefCell::new(f));
        Stream::from_fn(move || {
            let f = f.clone();
            self.next().map(move |x| x.map(|x| (f.borrow_mut())(x)))
        })
    }
}

impl<T: 'static> From<Vec<T>> for Stream<T> {
    fn from(v: Vec<T>) -> Stream<T> {
        Stream::of_iter(v)
    }
}
