//! Streams made from streams: `map`, `filter`, `choose`, `append`, ...
//!
//! Each result is a pull stream (Lwt's `from`) that reads its sources when
//! its own reader needs an element. Reading the result consumes the sources:
//! an element taken by `s.map(f)` is gone from `s`, as in Lwt.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use super::ops::get_h;
use super::shared::{Handle, Polled};
use super::{from, Stream};
use crate::core::{rejected, resolved, wait, Error, Promise, Resolver};

/// The next element `f` keeps (`Some`), reading synchronously while elements
/// are buffered and waiting only when the source has none.
fn next_kept<T: 'static, U: 'static, F: FnMut(T) -> Option<U> + 'static>(
    h: Rc<Handle<T>>,
    f: Rc<RefCell<F>>,
) -> Promise<Option<U>> {
    loop {
        match h.poll() {
            Polled::Item(x) => {
                if let Some(u) = (f.borrow_mut())(x) {
                    return resolved(Some(u));
                }
            }
            Polled::End => return resolved(None),
            Polled::Failed(e) => return rejected(e),
            Polled::Pending => {
                let w = h.wait();
                return w.bind(move |()| next_kept(h, f));
            }
        }
    }
}

/// The next element `f` keeps, `f` returning a promise.
fn next_kept_s<T: 'static, U: 'static, F: FnMut(T) -> Promise<Option<U>> + 'static>(
    h: Rc<Handle<T>>,
    f: Rc<RefCell<F>>,
) -> Promise<Option<U>> {
    get_h(h.clone()).bind(move |o| match o {
        None => resolved(None),
        Some(x) => {
            let p = (f.borrow_mut())(x);
            p.bind(move |kept| match kept {
                Some(u) => resolved(Some(u)),
                None => next_kept_s(h, f),
            })
        }
    })
}

impl<T: 'static> Stream<T> {
    /// The stream of `f(x)` for the elements `x` of this stream (Lwt's `map`).
    ///
    /// ```
    /// let s = lwt::stream::of_list(vec![1, 2]).map(|x| x * 10);
    /// assert_eq!(s.to_list().state(), lwt::State::Fulfilled(vec![10, 20]));
    /// ```
    pub fn map<U: 'static>(&self, mut f: impl FnMut(T) -> U + 'static) -> Stream<U> {
        self.filter_map(move |x| Some(f(x)))
    }

    /// The stream of the values of `f(x)`'s promises, one element at a time
    /// (Lwt's `map_s`).
    pub fn map_s<U: 'static>(&self, mut f: impl FnMut(T) -> Promise<U> + 'static) -> Stream<U> {
        self.filter_map_s(move |x| f(x).map(Some))
    }

    /// The elements that satisfy `f` (Lwt's `filter`).
    ///
    /// ```
    /// let s = lwt::stream::of_list(1..=6).filter(|x| x % 3 == 0);
    /// assert_eq!(s.to_list().state(), lwt::State::Fulfilled(vec![3, 6]));
    /// ```
    pub fn filter(&self, mut f: impl FnMut(&T) -> bool + 'static) -> Stream<T> {
        self.filter_map(move |x| if f(&x) { Some(x) } else { None })
    }

    /// The elements whose test promise is fulfilled with `true` (Lwt's `filter_s`).
    pub fn filter_s(&self, mut f: impl FnMut(&T) -> Promise<bool> + 'static) -> Stream<T> {
        self.filter_map_s(move |x| f(&x).map(move |b| if b { Some(x) } else { None }))
    }

    /// The `Some` values of `f` over the elements (Lwt's `filter_map`).
    pub fn filter_map<U: 'static>(&self, f: impl FnMut(T) -> Option<U> + 'static) -> Stream<U> {
        let h = self.h.clone();
        let f = Rc::new(RefCell::new(f));
        from(move || next_kept(h.clone(), f.clone()))
    }

    /// The `Some` values of `f`'s promises over the elements (Lwt's `filter_map_s`).
    pub fn filter_map_s<U: 'static>(&self, f: impl FnMut(T) -> Promise<Option<U>> + 'static) -> Stream<U> {
        let h = self.h.clone();
        let f = Rc::new(RefCell::new(f));
        from(move || next_kept_s(h.clone(), f.clone()))
    }

    /// The items of the collections `f` returns, in order (Lwt's `map_list`).
    ///
    /// ```
    /// let s = lwt::stream::of_list(vec![1, 2]).map_list(|x| vec![x; x]);
    /// assert_eq!(s.to_list().state(), lwt::State::Fulfilled(vec![1, 2, 2]));
    /// ```
    pub fn map_list<U: 'static, I: IntoIterator<Item = U> + 'static>(
        &self,
        mut f: impl FnMut(T) -> I + 'static,
    ) -> Stream<U> {
        let h = self.h.clone();
        let pending: Rc<RefCell<VecDeque<U>>> = Rc::new(RefCell::new(VecDeque::new()));
        let keep = Rc::new(RefCell::new({
            let pending = pending.clone();
            move |x: T| {
                let items = f(x);
                let mut q = pending.borrow_mut();
                q.extend(items);
                q.pop_front()
            }
        }));
        from(move || {
            let queued = pending.borrow_mut().pop_front();
            match queued {
                Some(u) => resolved(Some(u)),
                None => next_kept(h.clone(), keep.clone()),
            }
        })
    }

    /// The items of the collections `f`'s promises give, in order (Lwt's
    /// `map_list_s`).
    pub fn map_list_s<U: 'static, I: IntoIterator<Item = U> + 'static>(
        &self,
        mut f: impl FnMut(T) -> Promise<I> + 'static,
    ) -> Stream<U> {
        let h = self.h.clone();
        let pending: Rc<RefCell<VecDeque<U>>> = Rc::new(RefCell::new(VecDeque::new()));
        let keep = Rc::new(RefCell::new({
            let pending = pending.clone();
            move |x: T| {
                let pending = pending.clone();
                f(x).map(move |items| {
                    let mut q = pending.borrow_mut();
                    q.extend(items);
                    q.pop_front()
                })
            }
        }));
        from(move || {
            let queued = pending.borrow_mut().pop_front();
            match queued {
                Some(u) => resolved(Some(u)),
                None => next_kept_s(h.clone(), keep.clone()),
            }
        })
    }

    /// Each element `Ok(x)`, and each failure of the source `Err(e)` (Lwt's
    /// `wrap_exn`). A source that keeps failing gives errors forever.
    ///
    /// ```
    /// let mut n = 0;
    /// let s = lwt::stream::from(move || {
    ///     n += 1;
    ///     match n { 1 => lwt::fail_with("bad"), 2 => lwt::resolved(Some(2)), _ => lwt::resolved(None) }
    /// });
    /// let items = s.wrap_exn().to_list();
    /// let v = match items.state() { lwt::State::Fulfilled(v) => v, _ => unreachable!() };
    /// assert!(v[0].is_err());
    /// assert_eq!(v[1].as_ref().ok(), Some(&2));
    /// ```
    pub fn wrap_exn(&self) -> Stream<Result<T, Error>> {
        let h = self.h.clone();
        from(move || {
            get_h(h.clone()).then(|r| {
                resolved(match r {
                    Ok(Some(x)) => Some(Ok(x)),
                    Ok(None) => None,
                    Err(e) => Some(Err(e)),
                })
            })
        })
    }
}

impl<I: IntoIterator + 'static> Stream<I>
where
    I::Item: 'static,
{
    /// The items of every collection in this stream, in order (Lwt's `flatten`).
    ///
    /// ```
    /// let s = lwt::stream::of_list(vec![vec![1, 2], vec![], vec![3]]).flatten();
    /// assert_eq!(s.to_list().state(), lwt::State::Fulfilled(vec![1, 2, 3]));
    /// ```
    pub fn flatten(&self) -> Stream<I::Item> {
        self.map_list(|l| l)
    }
}

/// Pairs of elements, one from each stream; ends when either ends (Lwt's
/// `combine`). Both reads start together, so at the end one element of the
/// longer stream may be consumed and dropped, as in Lwt. As in Lwt, the
/// pair waits for `a`'s read, then for `b`'s: an error of `a` is reported
/// at once, one of `b` once `a`'s read is done.
///
/// ```
/// let a = lwt::stream::of_list(vec![1, 2, 3]);
/// let b = lwt::stream::of_list(vec!['x', 'y']);
/// let s = lwt::stream::combine(&a, &b);
/// assert_eq!(s.to_list().state(), lwt::State::Fulfilled(vec![(1, 'x'), (2, 'y')]));
/// ```
pub fn combine<A: 'static, B: 'static>(a: &Stream<A>, b: &Stream<B>) -> Stream<(A, B)> {
    let (ha, hb) = (a.h.clone(), b.h.clone());
    from(move || {
        let (ta, tb) = (get_h(ha.clone()), get_h(hb.clone()));
        ta.bind(move |x| {
            tb.map(move |y| match (x, y) {
                (Some(x), Some(y)) => Some((x, y)),
                _ => None,
            })
        })
    })
}

/// All the elements of `a`, then all those of `b` (Lwt's `append`).
///
/// ```
/// let s = lwt::stream::append(&lwt::stream::of_list(vec![1]), &lwt::stream::of_list(vec![2]));
/// assert_eq!(s.to_list().state(), lwt::State::Fulfilled(vec![1, 2]));
/// ```
pub fn append<T: 'static>(a: &Stream<T>, b: &Stream<T>) -> Stream<T> {
    let (ha, hb) = (a.h.clone(), b.h.clone());
    let on_second = Rc::new(Cell::new(false));
    from(move || {
        if on_second.get() {
            return get_h(hb.clone());
        }
        let (hb, on_second) = (hb.clone(), on_second.clone());
        get_h(ha.clone()).bind(move |o| match o {
            Some(x) => resolved(Some(x)),
            None => {
                on_second.set(true);
                get_h(hb)
            }
        })
    })
}

/// The elements of every stream of `s`, one stream after another (Lwt's
/// `concat`).
///
/// ```
/// use lwt::stream::of_list;
/// let s = lwt::stream::concat(&of_list(vec![of_list(vec![1, 2]), of_list(vec![3])]));
/// assert_eq!(s.to_list().state(), lwt::State::Fulfilled(vec![1, 2, 3]));
/// ```
pub fn concat<T: 'static>(s: &Stream<Stream<T>>) -> Stream<T> {
    let top = s.h.clone();
    let current: Rc<RefCell<Option<Stream<T>>>> = Rc::new(RefCell::new(None));
    from(move || concat_next(top.clone(), current.clone()))
}

fn concat_next<T: 'static>(top: Rc<Handle<Stream<T>>>, current: Rc<RefCell<Option<Stream<T>>>>) -> Promise<Option<T>> {
    let inner = current.borrow().as_ref().map(|s| s.h.clone());
    match inner {
        Some(h) => get_h(h).bind(move |o| match o {
            Some(x) => resolved(Some(x)),
            None => {
                *current.borrow_mut() = None;
                concat_next(top, current)
            }
        }),
        None => get_h(top.clone()).bind(move |o| match o {
            Some(s) => {
                *current.borrow_mut() = Some(s);
                concat_next(top, current)
            }
            None => resolved(None),
        }),
    }
}

/// What `choose` knows about its sources.
struct Choose<T: 'static> {
    sources: Vec<Rc<Handle<T>>>,
    /// A read of source `i` is in flight.
    reading: Vec<bool>,
    ended: Vec<bool>,
    /// Reads that finished, in the order they finished.
    ready: VecDeque<(usize, Result<Option<T>, Error>)>,
    /// The pull waiting for a read to finish.
    signal: Option<Resolver<()>>,
}

/// The elements of all the streams, in the order they become available;
/// ends when every stream has ended (Lwt's `choose`). A read is kept in
/// flight on every source; an error of one source reaches the reader, and
/// that source is read again next time.
///
/// ```
/// let (a, pa) = lwt::stream::create();
/// let (b, pb) = lwt::stream::create();
/// let s = lwt::stream::choose([&a, &b]);
/// let first = s.get();
/// pb.push("from b").unwrap();
/// assert_eq!(first.state(), lwt::State::Fulfilled(Some("from b")));
/// pa.push("from a").unwrap();
/// assert_eq!(s.get().state(), lwt::State::Fulfilled(Some("from a")));
/// ```
pub fn choose<'a, T: 'static>(streams: impl IntoIterator<Item = &'a Stream<T>>) -> Stream<T> {
    let sources: Vec<Rc<Handle<T>>> = streams.into_iter().map(|s| s.h.clone()).collect();
    let n = sources.len();
    let st = Rc::new(RefCell::new(Choose {
        sources,
        reading: vec![false; n],
        ended: vec![false; n],
        ready: VecDeque::new(),
        signal: None,
    }));
    from(move || choose_next(st.clone()))
}

fn choose_next<T: 'static>(st: Rc<RefCell<Choose<T>>>) -> Promise<Option<T>> {
    loop {
        // Start a read on every source that has none in flight.
        let to_start: Vec<(usize, Rc<Handle<T>>)> = {
            let mut c = st.borrow_mut();
            let idle: Vec<usize> = (0..c.sources.len()).filter(|&i| !c.ended[i] && !c.reading[i]).collect();
            idle.into_iter()
                .map(|i| {
                    c.reading[i] = true;
                    (i, c.sources[i].clone())
                })
                .collect()
        };
        for (i, h) in to_start {
            let st2 = st.clone();
            let done = get_h(h).then(move |r| {
                let signal = {
                    let mut c = st2.borrow_mut();
                    c.reading[i] = false;
                    c.ready.push_back((i, r));
                    c.signal.take()
                };
                if let Some(s) = signal {
                    if s.is_pending() {
                        s.wakeup_later(());
                    }
                }
                resolved(())
            });
            drop(done);
        }
        let next = st.borrow_mut().ready.pop_front();
        match next {
            Some((_, Ok(Some(x)))) => return resolved(Some(x)),
            Some((i, Ok(None))) => {
                st.borrow_mut().ended[i] = true;
                continue;
            }
            Some((_, Err(e))) => return rejected(e),
            None => {}
        }
        if st.borrow().ended.iter().all(|&e| e) {
            return resolved(None);
        }
        let (p, r) = wait::<()>();
        st.borrow_mut().signal = Some(r);
        return p.bind(move |()| choose_next(st));
    }
}
