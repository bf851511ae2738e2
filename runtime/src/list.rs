//! Promise-returning functions over lists: Lwt's `Lwt_list`.
//!
//! Every function takes its callback first and its elements second, as Lwt
//! does, and accepts anything iterable (`Vec`, a range, an iterator).
//! The suffix says how the callback is run:
//!
//! - `_s` (serial): `f` runs on one element, and only when that element's
//!   promise is fulfilled does it run on the next. The first rejection stops
//!   the walk and rejects the result.
//! - `_p` (parallel): `f` runs on **every** element at once, in order, and
//!   the result waits for all their promises; it then rejects with the
//!   earliest rejection, if any (like [`all`](crate::all())).
//!
//! Results always keep the input order (`map_p` too). A panic in `f` counts
//! as a rejection of that element's promise. Serial walks over already
//! fulfilled promises are plain loops: a million elements use no stack and
//! allocate nothing per element beyond what `f` does.
//!
//! Deliberate differences from Lwt:
//! - Callbacks that only decide something about an element (`find_s`,
//!   `filter_*`, `partition_*`) receive `&A`, because the element itself is
//!   then returned; the others receive the element by value.
//! - [`find_s`] fulfils with `None` when nothing matches; Lwt rejects with
//!   `Not_found`.
//! - `map_p` (and `mapi_p`, `filter_map_p`, ...) wait for every promise
//!   before rejecting; Lwt collects from the last element backwards, so it
//!   may reject before earlier elements are done.
//!
//! ```
//! let doubled = lwt::list::map_p(|x: u32| lwt::resolved(x * 2), vec![1, 2, 3]);
//! assert_eq!(doubled.state(), lwt::State::Fulfilled(vec![2, 4, 6]));
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::core::{all, apply, join, rejected, resolved, Error, Promise};

/// Takes the outcome out of a promise that is already resolved; gives the
/// promise back if it is pending. Never blocks, never registers anything.
pub(crate) fn now<T: 'static>(p: Promise<T>) -> Result<Result<T, Error>, Promise<T>> {
    if p.is_pending() {
        return Err(p);
    }
    let mut p = p;
    let mut cx = Context::from_waker(Waker::noop());
    match Pin::new(&mut p).poll(&mut cx) {
        Poll::Ready(r) => Ok(r),
        Poll::Pending => Err(p),
    }
}

/// What a serial step decides: go on with the next element, or stop.
pub(crate) enum Flow<S> {
    Go(S),
    Stop(S),
}

/// Runs `step` over the items one after another, threading `state` through;
/// resolved steps are handled in a loop, a pending one continues from its
/// callback. Stops at the first rejection.
pub(crate) fn serial<I, S>(
    mut it: I,
    mut state: S,
    mut step: impl FnMut(S, I::Item) -> Promise<Flow<S>> + 'static,
) -> Promise<S>
where
    I: Iterator + 'static,
    S: 'static,
{
    loop {
        let Some(item) = it.next() else {
            return resolved(state);
        };
        let p = apply(|x| step(state, x), item);
        match now(p) {
            Ok(Ok(Flow::Go(s))) => state = s,
            Ok(Ok(Flow::Stop(s))) => return resolved(s),
            Ok(Err(e)) => return rejected(e),
            Err(pending) => {
                return pending.bind(move |flow| match flow {
                    Flow::Go(s) => serial(it, s, step),
                    Flow::Stop(s) => resolved(s),
                })
            }
        }
    }
}

/// Calls `f` on each element, one after another (Lwt's `iter_s`).
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let s = seen.clone();
/// let p = lwt::list::iter_s(move |x| { s.borrow_mut().push(x); lwt::resolved(()) }, 1..=3);
/// assert!(p.is_fulfilled());
/// assert_eq!(*seen.borrow(), vec![1, 2, 3]);
/// ```
pub fn iter_s<A: 'static, I>(mut f: impl FnMut(A) -> Promise<()> + 'static, l: I) -> Promise<()>
where
    I: IntoIterator<Item = A>,
    I::IntoIter: 'static,
{
    serial(l.into_iter(), (), move |(), x| f(x).map(Flow::Go))
}

/// Calls `f` on every element at once and waits for all (Lwt's `iter_p`).
pub fn iter_p<A: 'static>(mut f: impl FnMut(A) -> Promise<()>, l: impl IntoIterator<Item = A>) -> Promise<()> {
    let ps: Vec<Promise<()>> = l.into_iter().map(|x| apply(&mut f, x)).collect();
    join(ps)
}

/// Calls `f` on each element and its index, one after another (Lwt's `iteri_s`).
pub fn iteri_s<A: 'static, I>(mut f: impl FnMut(usize, A) -> Promise<()> + 'static, l: I) -> Promise<()>
where
    I: IntoIterator<Item = A>,
    I::IntoIter: 'static,
{
    serial(l.into_iter().enumerate(), (), move |(), (i, x)| f(i, x).map(Flow::Go))
}

/// Calls `f` on every element and its index at once and waits for all
/// (Lwt's `iteri_p`).
pub fn iteri_p<A: 'static>(mut f: impl FnMut(usize, A) -> Promise<()>, l: impl IntoIterator<Item = A>) -> Promise<()> {
    let ps: Vec<Promise<()>> = l.into_iter().enumerate().map(|(i, x)| apply(|x| f(i, x), x)).collect();
    join(ps)
}

/// Maps `f` over the elements, one after another (Lwt's `map_s`).
pub fn map_s<A: 'static, B: 'static, I>(mut f: impl FnMut(A) -> Promise<B> + 'static, l: I) -> Promise<Vec<B>>
where
    I: IntoIterator<Item = A>,
    I::IntoIter: 'static,
{
    serial(l.into_iter(), Vec::new(), move |mut acc: Vec<B>, x| {
        f(x).map(move |b| {
            acc.push(b);
            Flow::Go(acc)
        })
    })
}

/// Maps `f` over every element at once; the values keep the input order
/// (Lwt's `map_p`).
///
/// ```
/// let (a, ra) = lwt::wait::<u32>();
/// let p = lwt::list::map_p(move |i: usize| if i == 0 { a.clone() } else { lwt::resolved(9) }, 0..2);
/// assert!(p.is_pending());
/// ra.wakeup(1);
/// assert_eq!(p.state(), lwt::State::Fulfilled(vec![1, 9]));
/// ```
pub fn map_p<A: 'static, B: 'static>(
    mut f: impl FnMut(A) -> Promise<B>,
    l: impl IntoIterator<Item = A>,
) -> Promise<Vec<B>> {
    let ps: Vec<Promise<B>> = l.into_iter().map(|x| apply(&mut f, x)).collect();
    all(ps)
}

/// Maps `f` over each element and its index, one after another (Lwt's `mapi_s`).
pub fn mapi_s<A: 'static, B: 'static, I>(mut f: impl FnMut(usize, A) -> Promise<B> + 'static, l: I) -> Promise<Vec<B>>
where
    I: IntoIterator<Item = A>,
    I::IntoIter: 'static,
{
    map_s(move |(i, x)| f(i, x), l.into_iter().enumerate())
}

/// Maps `f` over every element and its index at once (Lwt's `mapi_p`).
pub fn mapi_p<A: 'static, B: 'static>(
    mut f: impl FnMut(usize, A) -> Promise<B>,
    l: impl IntoIterator<Item = A>,
) -> Promise<Vec<B>> {
    map_p(|(i, x)| f(i, x), l.into_iter().enumerate())
}

/// Maps `f` serially and returns the values in reverse order (Lwt's `rev_map_s`).
pub fn rev_map_s<A: 'static, B: 'static, I>(f: impl FnMut(A) -> Promise<B> + 'static, l: I) -> Promise<Vec<B>>
where
    I: IntoIterator<Item = A>,
    I::IntoIter: 'static,
{
    map_s(f, l).map(|mut v| {
        v.reverse();
        v
    })
}

/// Maps `f` in parallel and returns the values in reverse order (Lwt's `rev_map_p`).
pub fn rev_map_p<A: 'static, B: 'static>(
    f: impl FnMut(A) -> Promise<B>,
    l: impl IntoIterator<Item = A>,
) -> Promise<Vec<B>> {
    map_p(f, l).map(|mut v| {
        v.reverse();
        v
    })
}

/// Folds from the first element: `f(f(acc, x0), x1)...`, one step after
/// another (Lwt's `fold_left_s`).
///
/// ```
/// let sum = lwt::list::fold_left_s(|acc, x| lwt::resolved(acc + x), 0, vec![1, 2, 3]);
/// assert_eq!(sum.state(), lwt::State::Fulfilled(6));
/// ```
pub fn fold_left_s<A: 'static, Acc: 'static, I>(
    mut f: impl FnMut(Acc, A) -> Promise<Acc> + 'static,
    acc: Acc,
    l: I,
) -> Promise<Acc>
where
    I: IntoIterator<Item = A>,
    I::IntoIter: 'static,
{
    serial(l.into_iter(), acc, move |acc, x| f(acc, x).map(Flow::Go))
}

/// Folds from the last element: `f(x0, f(x1, ... f(xn, acc)))`, one step
/// after another (Lwt's `fold_right_s`).
pub fn fold_right_s<A: 'static, Acc: 'static>(
    mut f: impl FnMut(A, Acc) -> Promise<Acc> + 'static,
    l: impl IntoIterator<Item = A>,
    acc: Acc,
) -> Promise<Acc> {
    let items: Vec<A> = l.into_iter().collect();
    serial(items.into_iter().rev(), acc, move |acc, x| f(x, acc).map(Flow::Go))
}

/// Whether `f` holds for every element, checked one after another and
/// stopping at the first `false` (Lwt's `for_all_s`).
pub fn for_all_s<A: 'static, I>(mut f: impl FnMut(A) -> Promise<bool> + 'static, l: I) -> Promise<bool>
where
    I: IntoIterator<Item = A>,
    I::IntoIter: 'static,
{
    serial(l.into_iter(), true, move |_, x| {
        f(x).map(|b| if b { Flow::Go(true) } else { Flow::Stop(false) })
    })
}

/// Whether `f` holds for every element, all checked at once (Lwt's `for_all_p`).
pub fn for_all_p<A: 'static>(f: impl FnMut(A) -> Promise<bool>, l: impl IntoIterator<Item = A>) -> Promise<bool> {
    map_p(f, l).map(|bs| bs.into_iter().all(|b| b))
}

/// Whether `f` holds for some element, checked one after another and
/// stopping at the first `true` (Lwt's `exists_s`).
pub fn exists_s<A: 'static, I>(mut f: impl FnMut(A) -> Promise<bool> + 'static, l: I) -> Promise<bool>
where
    I: IntoIterator<Item = A>,
    I::IntoIter: 'static,
{
    serial(l.into_iter(), false, move |_, x| {
        f(x).map(|b| if b { Flow::Stop(true) } else { Flow::Go(false) })
    })
}

/// Whether `f` holds for some element, all checked at once (Lwt's `exists_p`).
pub fn exists_p<A: 'static>(f: impl FnMut(A) -> Promise<bool>, l: impl IntoIterator<Item = A>) -> Promise<bool> {
    map_p(f, l).map(|bs| bs.into_iter().any(|b| b))
}

/// The first element for which `f` holds, checked one after another; `None`
/// if there is none (Lwt's `find_s`, which rejects with `Not_found` instead).
///
/// ```
/// let p = lwt::list::find_s(|x: &u32| lwt::resolved(*x > 1), vec![1, 2, 3]);
/// assert_eq!(p.state(), lwt::State::Fulfilled(Some(2)));
/// ```
pub fn find_s<A: 'static, I>(mut f: impl FnMut(&A) -> Promise<bool> + 'static, l: I) -> Promise<Option<A>>
where
    I: IntoIterator<Item = A>,
    I::IntoIter: 'static,
{
    serial(l.into_iter(), None, move |_, x| {
        f(&x).map(move |b| if b { Flow::Stop(Some(x)) } else { Flow::Go(None) })
    })
}

/// The elements for which `f` holds, checked one after another (Lwt's `filter_s`).
pub fn filter_s<A: 'static, I>(mut f: impl FnMut(&A) -> Promise<bool> + 'static, l: I) -> Promise<Vec<A>>
where
    I: IntoIterator<Item = A>,
    I::IntoIter: 'static,
{
    serial(l.into_iter(), Vec::new(), move |mut acc: Vec<A>, x| {
        f(&x).map(move |b| {
            if b {
                acc.push(x);
            }
            Flow::Go(acc)
        })
    })
}

/// The elements for which `f` holds, all checked at once (Lwt's `filter_p`).
pub fn filter_p<A: 'static>(mut f: impl FnMut(&A) -> Promise<bool>, l: impl IntoIterator<Item = A>) -> Promise<Vec<A>> {
    let items: Vec<A> = l.into_iter().collect();
    let ps: Vec<Promise<bool>> = items.iter().map(|x| apply(&mut f, x)).collect();
    all(ps).map(move |bs| items.into_iter().zip(bs).filter_map(|(x, b)| b.then_some(x)).collect())
}

/// The `Some` values of `f` over the elements, one after another (Lwt's `filter_map_s`).
pub fn filter_map_s<A: 'static, B: 'static, I>(
    mut f: impl FnMut(A) -> Promise<Option<B>> + 'static,
    l: I,
) -> Promise<Vec<B>>
where
    I: IntoIterator<Item = A>,
    I::IntoIter: 'static,
{
    serial(l.into_iter(), Vec::new(), move |mut acc: Vec<B>, x| {
        f(x).map(move |o| {
            acc.extend(o);
            Flow::Go(acc)
        })
    })
}

/// The `Some` values of `f` over every element, computed at once (Lwt's `filter_map_p`).
pub fn filter_map_p<A: 'static, B: 'static>(
    f: impl FnMut(A) -> Promise<Option<B>>,
    l: impl IntoIterator<Item = A>,
) -> Promise<Vec<B>> {
    map_p(f, l).map(|v| v.into_iter().flatten().collect())
}

/// Splits the elements into those for which `f` holds and the others,
/// checked one after another (Lwt's `partition_s`).
///
/// ```
/// let p = lwt::list::partition_s(|x: &u32| lwt::resolved(x % 2 == 0), 1..=5);
/// assert_eq!(p.state(), lwt::State::Fulfilled((vec![2, 4], vec![1, 3, 5])));
/// ```
pub fn partition_s<A: 'static, I>(mut f: impl FnMut(&A) -> Promise<bool> + 'static, l: I) -> Promise<(Vec<A>, Vec<A>)>
where
    I: IntoIterator<Item = A>,
    I::IntoIter: 'static,
{
    serial(
        l.into_iter(),
        (Vec::new(), Vec::new()),
        move |(mut yes, mut no): (Vec<A>, Vec<A>), x| {
            f(&x).map(move |b| {
                if b {
                    yes.push(x)
                } else {
                    no.push(x)
                }
                Flow::Go((yes, no))
            })
        },
    )
}

/// Splits the elements into those for which `f` holds and the others, all
/// checked at once (Lwt's `partition_p`).
pub fn partition_p<A: 'static>(
    mut f: impl FnMut(&A) -> Promise<bool>,
    l: impl IntoIterator<Item = A>,
) -> Promise<(Vec<A>, Vec<A>)> {
    let items: Vec<A> = l.into_iter().collect();
    let ps: Vec<Promise<bool>> = items.iter().map(|x| apply(&mut f, x)).collect();
    all(ps).map(move |bs| {
        let (mut yes, mut no) = (Vec::new(), Vec::new());
        for (x, b) in items.into_iter().zip(bs) {
            if b {
                yes.push(x)
            } else {
                no.push(x)
            }
        }
        (yes, no)
    })
}
