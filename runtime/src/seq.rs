//! Lazy sequences whose nodes are computed with promises: Lwt's `Lwt_seq`.
//!
//! A [`Seq<T>`] is a function that, each time it is forced, gives a promise
//! of its first [`Node`]: [`Node::Nil`] at the end, or [`Node::Cons`] with an
//! element and the rest of the sequence. Nothing is computed until a node is
//! forced, and nothing is remembered: traversing a sequence twice computes it
//! twice (so sequences built from values copy them, which needs `T: Clone`).
//!
//! Transformers (`map`, `filter`, `flat_map`, ...) are lazy and return new
//! sequences; consumers (`fold_left`, `iter`, `to_list`, ...) force the whole
//! sequence and never end on an infinite one. Their `_s` variants wait for
//! `f`'s promise before forcing the next node. A panic while forcing a node,
//! or in `f`, becomes a rejection of the consumer's promise. Consumers loop
//! over nodes that are already resolved, so long sequences use no stack.
//!
//! Functions take their callback first and the sequence last, as Lwt's do.
//!
//! Deliberate differences from Lwt:
//! - `return` and `return_lwt` are [`once`] and [`of_promise`] (`return` is
//!   a Rust keyword); Lwt's `of_seq` and `of_seq_lwt`, over OCaml's `Seq`,
//!   are [`of_iter`] and [`of_iter_lwt`] over cloneable Rust iterators.
//! - `iter_n` takes the concurrency as a plain argument; 0 rejects with
//!   `InvalidArgument` (Lwt raises).
//!
//! ```
//! let s = lwt::seq::unfold(|n: u32| (n < 4).then_some((n, n + 1)), 0);
//! let evens = lwt::seq::filter(|x: &u32| x % 2 == 0, s);
//! assert_eq!(lwt::seq::to_list(evens).state(), lwt::State::Fulfilled(vec![0, 2]));
//! ```

use std::fmt;
use std::rc::Rc;

use crate::core::{apply, join, nchoose_split, rejected, resolved, Promise};
use crate::list::now;

/// A node of a [`Seq`] (Lwt's `'a Lwt_seq.node`).
pub enum Node<T: 'static> {
    /// The end of the sequence.
    Nil,
    /// An element and the rest of the sequence.
    Cons(T, Seq<T>),
}

impl<T: 'static> fmt::Debug for Node<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Nil => f.write_str("Nil"),
            Node::Cons(..) => f.write_str("Cons(..)"),
        }
    }
}

/// A lazy sequence of `T`s whose nodes come as promises (Lwt's
/// `'a Lwt_seq.t`). Cloning is cheap and gives the same sequence.
///
/// ```
/// let s = lwt::seq::cons(1, lwt::seq::once(2));
/// assert_eq!(lwt::seq::to_list(s.clone()).state(), lwt::State::Fulfilled(vec![1, 2]));
/// assert_eq!(lwt::seq::to_list(s).state(), lwt::State::Fulfilled(vec![1, 2])); // computed again
/// ```
pub struct Seq<T: 'static>(Rc<dyn Fn() -> Promise<Node<T>>>);

impl<T: 'static> Clone for Seq<T> {
    fn clone(&self) -> Self {
        Seq(self.0.clone())
    }
}

impl<T: 'static> Default for Seq<T> {
    fn default() -> Self {
        empty()
    }
}

impl<T: 'static> fmt::Debug for Seq<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seq(..)")
    }
}

impl<T: 'static> Seq<T> {
    /// The sequence whose first node `f` computes each time it is forced.
    pub fn new(f: impl Fn() -> Promise<Node<T>> + 'static) -> Seq<T> {
        Seq(Rc::new(f))
    }

    /// Computes the first node (Lwt's `s ()`); a panic becomes a rejection.
    pub fn force(&self) -> Promise<Node<T>> {
        let f = self.0.clone();
        apply(move |()| f(), ())
    }
}

impl<T: Clone + 'static> FromIterator<T> for Seq<T> {
    /// The sequence of the items, like [`of_list`].
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        of_list(iter.into_iter().collect::<Vec<_>>())
    }
}

/// The empty sequence (Lwt's `empty`).
pub fn empty<T: 'static>() -> Seq<T> {
    Seq::new(|| resolved(Node::Nil))
}

/// The sequence of one element (Lwt's `return`).
pub fn once<T: Clone + 'static>(x: T) -> Seq<T> {
    cons(x, empty())
}

/// The sequence of the value `p` fulfils with (Lwt's `return_lwt`).
pub fn of_promise<T: Clone + 'static>(p: Promise<T>) -> Seq<T> {
    cons_lwt(p, empty())
}

/// `x` followed by `s` (Lwt's `cons`).
pub fn cons<T: Clone + 'static>(x: T, s: Seq<T>) -> Seq<T> {
    Seq::new(move || resolved(Node::Cons(x.clone(), s.clone())))
}

/// The value `p` fulfils with, followed by `s` (Lwt's `cons_lwt`).
pub fn cons_lwt<T: Clone + 'static>(p: Promise<T>, s: Seq<T>) -> Seq<T> {
    Seq::new(move || {
        let s = s.clone();
        p.clone().map(move |x| Node::Cons(x, s))
    })
}

/// The elements of `a`, then those of `b` (Lwt's `append`).
pub fn append<T: 'static>(a: Seq<T>, b: Seq<T>) -> Seq<T> {
    Seq::new(move || {
        let b = b.clone();
        a.force().bind(move |n| match n {
            Node::Nil => b.force(),
            Node::Cons(x, rest) => resolved(Node::Cons(x, append(rest, b))),
        })
    })
}

/// The elements of a vector, copied at each traversal (Lwt's `of_list`).
///
/// ```
/// let s = lwt::seq::of_list(vec!["a", "b"]);
/// assert_eq!(lwt::seq::to_list(s).state(), lwt::State::Fulfilled(vec!["a", "b"]));
/// ```
pub fn of_list<T: Clone + 'static>(v: Vec<T>) -> Seq<T> {
    fn from<T: Clone + 'static>(items: Rc<[T]>, i: usize) -> Seq<T> {
        Seq::new(move || match items.get(i) {
            None => resolved(Node::Nil),
            Some(x) => resolved(Node::Cons(x.clone(), from(items.clone(), i + 1))),
        })
    }
    from(v.into(), 0)
}

/// The items of a cloneable iterator, each traversal walking a fresh copy
/// of it (Lwt's `of_seq`).
pub fn of_iter<I>(it: I) -> Seq<I::Item>
where
    I: Iterator + Clone + 'static,
    I::Item: 'static,
{
    Seq::new(move || {
        let mut it = it.clone();
        match it.next() {
            None => resolved(Node::Nil),
            Some(x) => resolved(Node::Cons(x, of_iter(it))),
        }
    })
}

/// The values of a cloneable iterator of promises, each node waiting for
/// its promise (Lwt's `of_seq_lwt`).
pub fn of_iter_lwt<T, I>(it: I) -> Seq<T>
where
    T: 'static,
    I: Iterator<Item = Promise<T>> + Clone + 'static,
{
    Seq::new(move || {
        let mut it = it.clone();
        match it.next() {
            None => resolved(Node::Nil),
            Some(p) => p.map(move |x| Node::Cons(x, of_iter_lwt(it))),
        }
    })
}

/// The sequence `f` unfolds from `init`: `f(b)` gives `Some((x, b'))` for an
/// element `x` and the next state, or `None` to end (Lwt's `unfold`).
pub fn unfold<T: 'static, B: Clone + 'static>(f: impl Fn(B) -> Option<(T, B)> + 'static, init: B) -> Seq<T> {
    fn go<T: 'static, B: Clone + 'static>(f: Rc<dyn Fn(B) -> Option<(T, B)>>, b: B) -> Seq<T> {
        Seq::new(move || match f(b.clone()) {
            None => resolved(Node::Nil),
            Some((x, next)) => resolved(Node::Cons(x, go(f.clone(), next))),
        })
    }
    go(Rc::new(f), init)
}

/// [`unfold`] with a promise-returning `f` (Lwt's `unfold_lwt`).
pub fn unfold_lwt<T: 'static, B: Clone + 'static>(
    f: impl Fn(B) -> Promise<Option<(T, B)>> + 'static,
    init: B,
) -> Seq<T> {
    type Step<T, B> = Rc<dyn Fn(B) -> Promise<Option<(T, B)>>>;
    fn go<T: 'static, B: Clone + 'static>(f: Step<T, B>, b: B) -> Seq<T> {
        Seq::new(move || {
            let f2 = f.clone();
            f(b.clone()).map(move |o| match o {
                None => Node::Nil,
                Some((x, next)) => Node::Cons(x, go(f2, next)),
            })
        })
    }
    go(Rc::new(f), init)
}

/// The sequence of `f(x)` (Lwt's `map`).
pub fn map<T: 'static, U: 'static>(f: impl Fn(T) -> U + 'static, s: Seq<T>) -> Seq<U> {
    filter_map(move |x| Some(f(x)), s)
}

/// The sequence of the values of `f(x)`'s promises (Lwt's `map_s`).
pub fn map_s<T: 'static, U: 'static>(f: impl Fn(T) -> Promise<U> + 'static, s: Seq<T>) -> Seq<U> {
    filter_map_s(move |x| f(x).map(Some), s)
}

/// The elements that satisfy `f` (Lwt's `filter`).
pub fn filter<T: 'static>(f: impl Fn(&T) -> bool + 'static, s: Seq<T>) -> Seq<T> {
    filter_map(move |x| if f(&x) { Some(x) } else { None }, s)
}

/// The elements whose test promise is fulfilled with `true` (Lwt's `filter_s`).
pub fn filter_s<T: 'static>(f: impl Fn(&T) -> Promise<bool> + 'static, s: Seq<T>) -> Seq<T> {
    filter_map_s(move |x| f(&x).map(move |b| if b { Some(x) } else { None }), s)
}

/// The `Some` values of `f` (Lwt's `filter_map`).
pub fn filter_map<T: 'static, U: 'static>(f: impl Fn(T) -> Option<U> + 'static, s: Seq<T>) -> Seq<U> {
    fn go<T: 'static, U: 'static>(f: Rc<dyn Fn(T) -> Option<U>>, s: Seq<T>) -> Seq<U> {
        Seq::new(move || next_kept(f.clone(), s.clone()))
    }
    fn next_kept<T: 'static, U: 'static>(f: Rc<dyn Fn(T) -> Option<U>>, s: Seq<T>) -> Promise<Node<U>> {
        let mut s = s;
        loop {
            match now(s.force()) {
                Ok(Ok(Node::Nil)) => return resolved(Node::Nil),
                Ok(Ok(Node::Cons(x, rest))) => match f(x) {
                    Some(u) => return resolved(Node::Cons(u, go(f, rest))),
                    None => s = rest,
                },
                Ok(Err(e)) => return rejected(e),
                Err(pending) => {
                    return pending.bind(move |n| match n {
                        Node::Nil => resolved(Node::Nil),
                        Node::Cons(x, rest) => match f(x) {
                            Some(u) => resolved(Node::Cons(u, go(f, rest))),
                            None => next_kept(f, rest),
                        },
                    })
                }
            }
        }
    }
    go(Rc::new(f), s)
}

/// The `Some` values of `f`'s promises; the next node is forced only once
/// `f`'s promise is fulfilled (Lwt's `filter_map_s`).
pub fn filter_map_s<T: 'static, U: 'static>(f: impl Fn(T) -> Promise<Option<U>> + 'static, s: Seq<T>) -> Seq<U> {
    fn go<T: 'static, U: 'static>(f: Rc<dyn Fn(T) -> Promise<Option<U>>>, s: Seq<T>) -> Seq<U> {
        Seq::new(move || next_kept(f.clone(), s.clone()))
    }
    fn next_kept<T: 'static, U: 'static>(f: Rc<dyn Fn(T) -> Promise<Option<U>>>, s: Seq<T>) -> Promise<Node<U>> {
        s.force().bind(move |n| match n {
            Node::Nil => resolved(Node::Nil),
            Node::Cons(x, rest) => {
                let p = apply(|x| f(x), x);
                p.bind(move |o| match o {
                    Some(u) => resolved(Node::Cons(u, go(f, rest))),
                    None => next_kept(f, rest),
                })
            }
        })
    }
    go(Rc::new(f), s)
}

/// The elements of the sequences `f` gives for each element, one after
/// another (Lwt's `flat_map`).
pub fn flat_map<T: 'static, U: 'static>(f: impl Fn(T) -> Seq<U> + 'static, s: Seq<T>) -> Seq<U> {
    fn go<T: 'static, U: 'static>(f: Rc<dyn Fn(T) -> Seq<U>>, s: Seq<T>) -> Seq<U> {
        Seq::new(move || {
            let f = f.clone();
            s.force().bind(move |n| match n {
                Node::Nil => resolved(Node::Nil),
                Node::Cons(x, rest) => append(f(x), go(f, rest)).force(),
            })
        })
    }
    go(Rc::new(f), s)
}

/// Forces the whole sequence, stepping `step` over the elements; loops over
/// resolved nodes and step promises, continues from a callback otherwise.
fn walk<T: 'static, A: 'static>(s: Seq<T>, acc: A, mut step: impl FnMut(A, T) -> Promise<A> + 'static) -> Promise<A> {
    let mut s = s;
    let mut acc = acc;
    loop {
        match now(s.force()) {
            Ok(Ok(Node::Nil)) => return resolved(acc),
            Ok(Ok(Node::Cons(x, rest))) => match now(apply(|x| step(acc, x), x)) {
                Ok(Ok(a)) => {
                    acc = a;
                    s = rest;
                }
                Ok(Err(e)) => return rejected(e),
                Err(pending) => return pending.bind(move |a| walk(rest, a, step)),
            },
            Ok(Err(e)) => return rejected(e),
            Err(pending) => {
                return pending.bind(move |n| match n {
                    Node::Nil => resolved(acc),
                    Node::Cons(x, rest) => apply(|x| step(acc, x), x).bind(move |a| walk(rest, a, step)),
                })
            }
        }
    }
}

/// Folds from the first element: `f(f(acc, x0), x1)...` (Lwt's `fold_left`).
///
/// ```
/// let s = lwt::seq::of_list(vec![1, 2, 3]);
/// assert_eq!(lwt::seq::fold_left(|acc, x| acc + x, 0, s).state(), lwt::State::Fulfilled(6));
/// ```
pub fn fold_left<T: 'static, A: 'static>(mut f: impl FnMut(A, T) -> A + 'static, acc: A, s: Seq<T>) -> Promise<A> {
    walk(s, acc, move |acc, x| resolved(f(acc, x)))
}

/// Folds with a promise-returning step, one after another (Lwt's `fold_left_s`).
pub fn fold_left_s<T: 'static, A: 'static>(
    f: impl FnMut(A, T) -> Promise<A> + 'static,
    acc: A,
    s: Seq<T>,
) -> Promise<A> {
    walk(s, acc, f)
}

/// Calls `f` on every element (Lwt's `iter`).
pub fn iter<T: 'static>(mut f: impl FnMut(T) + 'static, s: Seq<T>) -> Promise<()> {
    walk(s, (), move |(), x| {
        f(x);
        resolved(())
    })
}

/// Calls `f` on every element, each after the previous call's promise is
/// fulfilled (Lwt's `iter_s`).
pub fn iter_s<T: 'static>(f: impl FnMut(T) -> Promise<()> + 'static, s: Seq<T>) -> Promise<()> {
    let mut f = f;
    walk(s, (), move |(), x| f(x))
}

/// Calls `f` on every element as soon as its node is there, without waiting
/// for earlier calls, then waits for all calls; rejects with the first error
/// (Lwt's `iter_p`).
pub fn iter_p<T: 'static>(mut f: impl FnMut(T) -> Promise<()> + 'static, s: Seq<T>) -> Promise<()> {
    walk(s, Vec::new(), move |mut running: Vec<Promise<()>>, x| {
        let p = apply(&mut f, x);
        if !p.is_fulfilled() {
            running.push(p);
        }
        resolved(running)
    })
    .bind(join)
}

/// Calls `f` on the elements with at most `max_concurrency` calls in flight
/// (Lwt's `iter_n`). Rejects with
/// [`ErrorKind::InvalidArgument`](crate::ErrorKind) if `max_concurrency` is 0.
///
/// ```
/// let s = lwt::seq::of_list(vec![1, 2, 3]);
/// assert!(lwt::seq::iter_n(2, |_x| lwt::resolved(()), s).is_fulfilled());
/// ```
pub fn iter_n<T: 'static>(max_concurrency: usize, f: impl FnMut(T) -> Promise<()> + 'static, s: Seq<T>) -> Promise<()> {
    if max_concurrency == 0 {
        return crate::core::fail_invalid_arg("Lwt_seq.iter_n: max_concurrency must be > 0, 0 given");
    }
    fn go<T: 'static, F: FnMut(T) -> Promise<()> + 'static>(
        f: F,
        s: Seq<T>,
        running: Vec<Promise<()>>,
        available: usize,
    ) -> Promise<()> {
        let room: Promise<(Vec<Promise<()>>, usize)> = if available > 0 {
            resolved((running, available))
        } else {
            nchoose_split(running).map(|(done, rest)| (rest, done.len()))
        };
        room.bind(move |(mut running, available)| {
            s.force().bind(move |n| match n {
                Node::Nil => join(running),
                Node::Cons(x, rest) => {
                    let mut f = f;
                    running.push(apply(&mut f, x));
                    go(f, rest, running, available - 1)
                }
            })
        })
    }
    go(f, s, Vec::new(), max_concurrency)
}

/// Forces the whole sequence into a vector (Lwt's `to_list`).
pub fn to_list<T: 'static>(s: Seq<T>) -> Promise<Vec<T>> {
    walk(s, Vec::new(), |mut acc: Vec<T>, x| {
        acc.push(x);
        resolved(acc)
    })
}
