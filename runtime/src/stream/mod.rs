//! Streams of values that arrive over time: Lwt's `Lwt_stream`.
//!
//! A [`Stream<T>`] is read with promises: [`Stream::get`] gives the next
//! element (`None` at the end), [`Stream::next`] rejects with [`Empty`] at
//! the end, and the folds and iterators walk the whole stream. Reading is
//! destructive: every reader of one stream value takes from the same queue.
//!
//! Where the elements come from (Lwt's four kinds of source):
//!
//! | source | made by | elements |
//! |---|---|---|
//! | pull with promises | [`from`] | `f()` is called whenever a reader needs one; `None` ends the stream |
//! | pull, synchronous | [`from_direct`], [`of_iter`] | the same with a plain function |
//! | push | [`create`] → [`Pusher`] | `push(v)`, then `close()` |
//! | bounded push | [`create_bounded`] → [`BoundedPush`] | `push(v)` waits while `size` elements are unread |
//!
//! and the ready-made ones: [`of_list`], [`of_array`], [`of_string`],
//! [`once`], [`of_promise`], [`empty`], [`fail`], and `collect()` (the
//! stream implements `FromIterator`).
//!
//! How it behaves (Lwt's rules 47–51):
//! - A pull source that fails (a rejected promise or a panic) hands the error
//!   to the reader and does **not** end the stream: the next read calls the
//!   source again.
//! - Canceling a pending read affects only that reader.
//! - [`Stream::is_closed`] and [`Stream::closed`] report the moment the end
//!   was *enqueued*, not read: `of_list` streams are closed from the start.
//! - Pushing after the end is an error ([`Closed`]); a second push into a
//!   full bounded stream while one is already waiting is an error ([`Full`]).
//!   These are user errors inside [`Error`]: `e.downcast_ref::<Closed>()`.
//!
//! Performance: elements are kept in a `VecDeque` per reader. A read that
//! finds an element buffered returns an already-fulfilled promise without
//! allocating, and a fold or iteration drains everything buffered in a plain
//! loop; only a reader that must wait allocates (one waiter per wait, not per
//! element).
//!
//! Deliberate differences from Lwt:
//! - Several reads started while a stream is empty get *successive*
//!   elements; in Lwt, reads started while a pull is in flight all receive
//!   the same element (its rule 49). Rust values move to one owner; a
//!   `Stream<Rc<T>>` with [`clone_stream`](Stream::clone_stream) gives each
//!   reader its own copy when that is what you want.
//! - The stream value is a handle: [`Stream::share`] gives another handle on
//!   the *same* queue (what using one OCaml value twice does), and Lwt's
//!   `clone` (an independent reader) is [`clone`] / [`Stream::clone_stream`].
//!   `Stream` has no `Clone` impl, so the two cannot be confused.
//! - Dropping every [`Pusher`] (or the [`BoundedPush`]) closes the stream, as
//!   Rust channels do; Lwt leaves it open forever.
//! - A bounded stream of size 0 is a rendezvous: a push waits until a reader
//!   takes the element (in Lwt, push and read wait for each other forever).
//! - Negative sizes (`create_bounded`, `resize`) cannot be expressed (`usize`);
//!   `iter_n` with a concurrency of 0 rejects with `InvalidArgument`.
//! - `get_available`, `get_available_up_to` and `junk_available` return a
//!   `Result` (Lwt raises a source's exception); `find_s`-like predicates
//!   receive `&T`; [`Stream::fold`] takes the accumulator first, as
//!   `Iterator::fold` does.
//! - `get_while(_s)` and `junk_while(_s)` take the element out while the
//!   predicate runs and put it back if it fails.
//! - Lwt's `hexdump` is not provided.
//!
//! | Lwt | lwt-rs |
//! |---|---|
//! | `from f`, `from_direct f` | [`from`], [`from_direct`] |
//! | `create ()`, `create_with_reference ()` | [`create`] (+ [`Pusher::set_reference`]) |
//! | `create_bounded n`, `push#push/close/resize/size/count/blocked/closed` | [`create_bounded`], [`BoundedPush`] |
//! | `return x`, `return_lwt p` | [`once`], [`of_promise`] (`return` is a Rust keyword) |
//! | `of_list`, `of_array`, `of_string`, `of_seq`, `of_lwt_seq` | [`of_list`], [`of_array`], [`of_string`], [`of_iter`], [`of_lwt_seq`] |
//! | `clone s`, `parse s f` | [`clone`], [`parse`] (also methods) |
//! | `get`, `nget`, `next`, `last_new`, `peek`, `npeek` | [`Stream::get`], [`Stream::nget`], [`Stream::next`], [`Stream::last_new`], [`Stream::peek`], [`Stream::npeek`] |
//! | `get_while(_s)`, `junk`, `njunk`, `junk_while(_s)` | [`Stream::get_while`], [`Stream::get_while_s`], [`Stream::junk`], [`Stream::njunk`], [`Stream::junk_while`], [`Stream::junk_while_s`] |
//! | `get_available(_up_to)`, `junk_available`, `junk_old` | [`Stream::get_available`], [`Stream::get_available_up_to`], [`Stream::junk_available`], [`Stream::junk_old`] |
//! | `is_empty`, `is_closed`, `closed` | [`Stream::is_empty`], [`Stream::is_closed`], [`Stream::closed`] |
//! | `to_list`, `to_string` | [`Stream::to_list`], [`Stream::to_string`] |
//! | `map(_s)`, `filter(_s)`, `filter_map(_s)`, `map_list(_s)`, `flatten` | methods of the same names |
//! | `fold(_s)`, `iter(_s/_p/_n)`, `find(_s)`, `find_map(_s)` | methods of the same names |
//! | `choose`, `combine`, `append`, `concat`, `wrap_exn` | [`choose`], [`combine`], [`append`], [`concat()`], [`Stream::wrap_exn`] |
//! | `Closed`, `Full`, `Empty` | [`Closed`], [`Full`], [`Empty`] |

mod combinators;
mod ops;
mod shared;

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::{Rc, Weak};

use crate::core::{rejected, resolved, task, Error, Promise};
use shared::{Blocked, Handle, Shared, Source};

pub use combinators::{append, choose, combine, concat};

/// The error of pushing into a stream that is closed (Lwt's
/// `Lwt_stream.Closed`).
///
/// ```
/// let (_s, push) = lwt::stream::create::<u8>();
/// push.close();
/// let e = push.push(1).unwrap_err();
/// assert!(e.downcast_ref::<lwt::stream::Closed>().is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// The error of pushing into a full bounded stream while another push is
/// already waiting there (Lwt's `Lwt_stream.Full`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// The error of [`Stream::next`] or [`Stream::last_new`] at the end of a
/// stream (Lwt's `Lwt_stream.Empty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Empty;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lwt_stream.Closed: the stream is closed")
    }
}

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lwt_stream.Full: the bounded stream is full and a push is already waiting")
    }
}

impl fmt::Display for Empty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lwt_stream.Empty: the stream has no more elements")
    }
}

impl std::error::Error for Closed {}
impl std::error::Error for Full {}
impl std::error::Error for Empty {}

/// A stream of `T`s (Lwt's `'a Lwt_stream.t`): a handle on a read position
/// over a source.
///
/// ```
/// let (s, push) = lwt::stream::create();
/// let first = s.get();
/// assert!(first.is_pending());
/// push.push(1).unwrap();
/// push.push(2).unwrap();
/// push.close();
/// assert_eq!(first.state(), lwt::State::Fulfilled(Some(1)));
/// assert_eq!(s.to_list().state(), lwt::State::Fulfilled(vec![2]));
/// ```
pub struct Stream<T: 'static> {
    h: Rc<Handle<T>>,
}

impl<T: 'static> Stream<T> {
    fn with_source(source: Source<T>) -> Stream<T> {
        Stream {
            h: Handle::new(Shared::new(source), VecDeque::new()),
        }
    }

    /// Another handle on this same stream: reading through either takes from
    /// the same queue. This is what using one stream value in two places
    /// does in OCaml; for an independent reader see [`Stream::clone_stream`].
    ///
    /// ```
    /// let s = lwt::stream::of_list(vec![1, 2]);
    /// let t = s.share();
    /// assert_eq!(s.get().state(), lwt::State::Fulfilled(Some(1)));
    /// assert_eq!(t.get().state(), lwt::State::Fulfilled(Some(2)));
    /// ```
    pub fn share(&self) -> Stream<T> {
        Stream { h: self.h.clone() }
    }

    /// Whether the end of the stream has been enqueued (Lwt's `is_closed`);
    /// unread elements may remain, but reading them never waits.
    pub fn is_closed(&self) -> bool {
        self.h.shared.is_closed()
    }

    /// A promise fulfilled once the end of the stream is enqueued (Lwt's
    /// `closed`).
    ///
    /// ```
    /// let (s, push) = lwt::stream::create::<u8>();
    /// let c = s.closed();
    /// assert!(c.is_pending());
    /// push.close();
    /// assert!(c.is_fulfilled());
    /// ```
    pub fn closed(&self) -> Promise<()> {
        self.h.shared.closed_promise()
    }
}

impl<T: Clone + 'static> Stream<T> {
    /// An independent reader of the same source, starting at this stream's
    /// position: reading one does not consume the other's elements (Lwt's
    /// `clone`). From now on every element is copied for each reader.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind) for a bounded push
    /// stream, whose bound cannot be shared.
    ///
    /// ```
    /// let a = lwt::stream::of_list(vec![1, 2]);
    /// let b = a.clone_stream().unwrap();
    /// assert_eq!(a.to_list().state(), lwt::State::Fulfilled(vec![1, 2]));
    /// assert_eq!(b.to_list().state(), lwt::State::Fulfilled(vec![1, 2]));
    /// ```
    pub fn clone_stream(&self) -> Result<Stream<T>, Error> {
        if self.h.shared.is_bounded() {
            return Err(Error::invalid_argument(
                "lwt::stream::clone: a bounded push stream cannot be cloned",
            ));
        }
        let shared = self.h.shared.clone();
        shared.cloner.set(Some(T::clone));
        let buf = shared.with_slot(self.h.id, |s| s.buf.clone()).unwrap_or_default();
        Ok(Stream {
            h: Handle::new(shared, buf),
        })
    }

    /// Runs the parser `f` on this stream; if its promise rejects, the
    /// stream is rewound to where it was, as if `f` had read nothing (Lwt's
    /// `parse`).
    ///
    /// Rejects with [`ErrorKind::InvalidArgument`](crate::ErrorKind) on a
    /// bounded push stream.
    ///
    /// ```
    /// let s = lwt::stream::of_list(vec![1, 2, 3]);
    /// let failed = s.parse(|s| s.junk().bind(|()| lwt::fail_with::<()>("no")));
    /// assert!(failed.is_rejected());
    /// assert_eq!(s.to_list().state(), lwt::State::Fulfilled(vec![1, 2, 3]));
    /// ```
    pub fn parse<R: 'static>(&self, f: impl FnOnce(Stream<T>) -> Promise<R> + 'static) -> Promise<R> {
        if self.h.shared.is_bounded() {
            return rejected(Error::invalid_argument(
                "lwt::stream::parse: a bounded push stream cannot be parsed",
            ));
        }
        let mark = match self.clone_stream() {
            Ok(m) => m,
            Err(e) => return rejected(e),
        };
        let me = self.share();
        crate::core::apply(f, self.share()).then(move |r| {
            if r.is_err() {
                me.h.set_buffer(mark.h.take_buffer());
            }
            drop(mark);
            crate::core::of_result(r)
        })
    }
}

/// Lwt's `clone`: an independent reader; see [`Stream::clone_stream`].
///
/// # Errors
/// [`ErrorKind::InvalidArgument`](crate::ErrorKind) for a bounded push stream.
pub fn clone<T: Clone + 'static>(s: &Stream<T>) -> Result<Stream<T>, Error> {
    s.clone_stream()
}

/// Lwt's `parse`: runs `f`, rewinding `s` if it fails; see [`Stream::parse`].
pub fn parse<T: Clone + 'static, R: 'static>(
    s: &Stream<T>,
    f: impl FnOnce(Stream<T>) -> Promise<R> + 'static,
) -> Promise<R> {
    s.parse(f)
}

impl<T: 'static> fmt::Debug for Stream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let buffered = self.h.shared.with_slot(self.h.id, |s| s.buf.len()).unwrap_or(0);
        f.debug_struct("Stream")
            .field("buffered", &buffered)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T: 'static> FromIterator<T> for Stream<T> {
    /// A closed stream of the items, all pushed at once (like [`of_list`]).
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        of_list(iter)
    }
}

/// Closes the stream when the last handle of its push side goes away.
struct PushEnd<T: 'static> {
    shared: Rc<Shared<T>>,
}

impl<T: 'static> Drop for PushEnd<T> {
    fn drop(&mut self) {
        self.shared.close();
    }
}

/// The push side of a stream made by [`create`] (Lwt's push function).
/// Cloning gives another pusher; when the last one is dropped, the stream is
/// closed. The pusher does not keep the stream's unread elements alive: once
/// every reader is gone, pushed elements are dropped.
pub struct Pusher<T: 'static> {
    end: Rc<PushEnd<T>>,
}

impl<T: 'static> Clone for Pusher<T> {
    fn clone(&self) -> Self {
        Pusher { end: self.end.clone() }
    }
}

impl<T: 'static> Pusher<T> {
    /// Adds `v` at the end of the stream and wakes its waiting readers.
    ///
    /// # Errors
    /// [`Closed`] if the stream was closed.
    pub fn push(&self, v: T) -> Result<(), Error> {
        if self.end.shared.is_closed() {
            return Err(Error::new(Closed));
        }
        self.end.shared.append(v);
        Ok(())
    }

    /// Lwt's push function as is: `Some(v)` pushes `v`, `None` closes.
    ///
    /// # Errors
    /// [`Closed`] if the stream was already closed (also for `None`).
    pub fn push_opt(&self, v: Option<T>) -> Result<(), Error> {
        match v {
            Some(v) => self.push(v),
            None if self.end.shared.is_closed() => Err(Error::new(Closed)),
            None => {
                self.end.shared.close();
                Ok(())
            }
        }
    }

    /// Ends the stream (Lwt's `push None`); readers get the elements still
    /// buffered, then the end. Closing twice does nothing.
    pub fn close(&self) {
        self.end.shared.close();
    }

    /// Whether the stream was closed.
    pub fn is_closed(&self) -> bool {
        self.end.shared.is_closed()
    }

    /// Keeps `r` alive as long as the stream is (Lwt's
    /// `create_with_reference`'s `set_ref`), for a source the stream depends
    /// on; replaces the previous reference.
    pub fn set_reference(&self, r: impl Any) {
        *self.end.shared.reference.borrow_mut() = Some(Box::new(r));
    }
}

impl<T: 'static> fmt::Debug for Pusher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pusher").field("closed", &self.is_closed()).finish()
    }
}

/// The push side of a bounded stream made by [`create_bounded`] (Lwt's
/// `bounded_push` object). Cloning gives another handle; when the last one
/// is dropped, the stream is closed.
pub struct BoundedPush<T: 'static> {
    end: Rc<PushEnd<T>>,
}

impl<T: 'static> Clone for BoundedPush<T> {
    fn clone(&self) -> Self {
        BoundedPush { end: self.end.clone() }
    }
}

impl<T: 'static> BoundedPush<T> {
    fn shared(&self) -> &Rc<Shared<T>> {
        &self.end.shared
    }

    /// Pushes `v`: fulfilled at once if fewer than [`size`](Self::size)
    /// elements are unread, otherwise pending until a reader makes room (the
    /// element is then the next one enqueued). Canceling the pending push
    /// withdraws the element.
    ///
    /// Rejects with [`Full`] if another push is already waiting, and with
    /// [`Closed`] if the stream is closed (also when it closes while the
    /// push waits). Once every reader of the stream is gone, a push is
    /// fulfilled at once and its element dropped; so is a push that was
    /// waiting then.
    ///
    /// ```
    /// let (s, push) = lwt::stream::create_bounded(1);
    /// assert!(push.push(1).is_fulfilled());
    /// let waiting = push.push(2);
    /// assert!(waiting.is_pending());
    /// assert!(push.push(3).is_rejected()); // Full
    /// assert_eq!(s.get().state(), lwt::State::Fulfilled(Some(1)));
    /// assert!(waiting.is_fulfilled());
    /// ```
    pub fn push(&self, v: T) -> Promise<()> {
        let shared = self.shared().clone();
        if shared.is_closed() {
            return rejected(Error::new(Closed));
        }
        let unread = shared.first_len();
        let mut src = shared.source.borrow_mut();
        let Source::Bounded { size, blocked, next_id } = &mut *src else {
            return rejected(Error::invalid_argument("lwt::stream: not a bounded stream"));
        };
        if blocked.is_some() {
            return rejected(Error::new(Full));
        }
        let Some(unread) = unread else {
            // Nobody reads the stream any more: the element goes away.
            drop(src);
            drop(v);
            return resolved(());
        };
        if unread < *size {
            drop(src);
            shared.append(v);
            return resolved(());
        }
        let (p, r) = task::<()>();
        let id = *next_id;
        *next_id += 1;
        *blocked = Some(Blocked {
            value: v,
            resolver: r,
            id,
        });
        drop(src);
        let weak: Weak<Shared<T>> = Rc::downgrade(&shared);
        p.on_cancel(move || {
            if let Some(shared) = weak.upgrade() {
                let withdrawn = match &mut *shared.source.borrow_mut() {
                    Source::Bounded { blocked, .. } if blocked.as_ref().is_some_and(|b| b.id == id) => blocked.take(),
                    _ => None,
                };
                drop(withdrawn);
            }
        });
        // A reader of a size-0 stream may be waiting for exactly this.
        shared.wake_readers();
        p
    }

    /// Closes the stream; a waiting push is rejected with [`Closed`].
    /// Closing twice does nothing.
    pub fn close(&self) {
        self.shared().close();
    }

    /// The bound: how many unread elements the stream holds at most.
    pub fn size(&self) -> usize {
        match &*self.shared().source.borrow() {
            Source::Bounded { size, .. } => *size,
            _ => 0,
        }
    }

    /// Changes the bound; a waiting push gets in if there is room now. The
    /// new size may be below the current count.
    pub fn resize(&self, size: usize) {
        if let Source::Bounded { size: s, .. } = &mut *self.shared().source.borrow_mut() {
            *s = size;
        }
        self.shared().refill();
    }

    /// How many elements are unread.
    pub fn count(&self) -> usize {
        self.shared().first_len().unwrap_or(0)
    }

    /// Whether a push is waiting for room.
    pub fn blocked(&self) -> bool {
        matches!(
            &*self.shared().source.borrow(),
            Source::Bounded { blocked: Some(_), .. }
        )
    }

    /// Whether the stream was closed.
    pub fn closed(&self) -> bool {
        self.shared().is_closed()
    }

    /// Keeps `r` alive as long as the stream is (Lwt's `set_reference`).
    pub fn set_reference(&self, r: impl Any) {
        *self.shared().reference.borrow_mut() = Some(Box::new(r));
    }
}

impl<T: 'static> fmt::Debug for BoundedPush<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedPush")
            .field("size", &self.size())
            .field("count", &self.count())
            .field("blocked", &self.blocked())
            .field("closed", &self.closed())
            .finish()
    }
}

/// A stream whose elements are pulled from `f` when readers need them;
/// `None` ends it (Lwt's `from`). If `f`'s promise rejects (or `f` panics),
/// the reader receives the error and the stream goes on: the next read calls
/// `f` again. One call of `f` is in flight at a time.
///
/// ```
/// let mut n = 0;
/// let s = lwt::stream::from(move || { n += 1; lwt::resolved(if n <= 3 { Some(n) } else { None }) });
/// assert_eq!(s.to_list().state(), lwt::State::Fulfilled(vec![1, 2, 3]));
/// ```
pub fn from<T: 'static>(f: impl FnMut() -> Promise<Option<T>> + 'static) -> Stream<T> {
    Stream::with_source(Source::From {
        f: Some(Box::new(f)),
        in_flight: false,
    })
}

/// A stream whose elements are pulled from the plain function `f`; `None`
/// ends it (Lwt's `from_direct`). A panic in `f` goes to the reader and the
/// stream goes on.
///
/// ```
/// let mut n = 0;
/// let s = lwt::stream::from_direct(move || { n += 1; (n <= 2).then_some(n) });
/// assert_eq!(s.to_list().state(), lwt::State::Fulfilled(vec![1, 2]));
/// ```
pub fn from_direct<T: 'static>(f: impl FnMut() -> Option<T> + 'static) -> Stream<T> {
    Stream::with_source(Source::FromDirect { f: Some(Box::new(f)) })
}

/// A push stream and its [`Pusher`] (Lwt's `create`).
///
/// ```
/// let (s, push) = lwt::stream::create();
/// push.push("a").unwrap();
/// drop(push); // the last pusher gone: the stream is closed
/// assert_eq!(s.to_list().state(), lwt::State::Fulfilled(vec!["a"]));
/// ```
pub fn create<T: 'static>() -> (Stream<T>, Pusher<T>) {
    let s = Stream::with_source(Source::Push);
    let p = Pusher {
        end: Rc::new(PushEnd {
            shared: s.h.shared.clone(),
        }),
    };
    (s, p)
}

/// A push stream holding at most `size` unread elements, and its
/// [`BoundedPush`] (Lwt's `create_bounded`). Size 0 makes every push wait
/// for a reader.
pub fn create_bounded<T: 'static>(size: usize) -> (Stream<T>, BoundedPush<T>) {
    let s = Stream::with_source(Source::Bounded {
        size,
        blocked: None,
        next_id: 0,
    });
    let p = BoundedPush {
        end: Rc::new(PushEnd {
            shared: s.h.shared.clone(),
        }),
    };
    (s, p)
}

/// A closed stream of the given elements, all enqueued at once (Lwt's
/// `of_list`).
///
/// ```
/// let s = lwt::stream::of_list(vec![1, 2, 3]);
/// assert!(s.is_closed());
/// assert_eq!(s.nget(2).state(), lwt::State::Fulfilled(vec![1, 2]));
/// ```
pub fn of_list<T: 'static>(items: impl IntoIterator<Item = T>) -> Stream<T> {
    let (s, push) = create();
    for x in items {
        s.h.shared.append(x);
    }
    push.close();
    s
}

/// A closed stream of the array's elements (Lwt's `of_array`).
pub fn of_array<T: 'static, const N: usize>(items: [T; N]) -> Stream<T> {
    of_list(items)
}

/// A closed stream of the characters of `s` (Lwt's `of_string`).
///
/// ```
/// let s = lwt::stream::of_string("ab");
/// assert_eq!(s.to_string().state(), lwt::State::Fulfilled("ab".to_string()));
/// ```
pub fn of_string(s: &str) -> Stream<char> {
    of_list(s.chars().collect::<Vec<_>>())
}

/// A stream pulling from an iterator, lazily, as readers need elements
/// (Lwt's `of_seq`, for Rust's iterators).
///
/// ```
/// let s = lwt::stream::of_iter(1..);
/// assert!(!s.is_closed());
/// assert_eq!(s.nget(3).state(), lwt::State::Fulfilled(vec![1, 2, 3]));
/// ```
pub fn of_iter<I>(items: I) -> Stream<I::Item>
where
    I: IntoIterator,
    I::IntoIter: 'static,
    I::Item: 'static,
{
    let mut it = items.into_iter();
    from_direct(move || it.next())
}

/// A closed stream of one element (Lwt's `return`; `return` is a Rust keyword).
///
/// ```
/// let s = lwt::stream::once(7);
/// assert!(s.is_closed());
/// assert_eq!(s.next().state(), lwt::State::Fulfilled(7));
/// ```
pub fn once<T: 'static>(v: T) -> Stream<T> {
    of_list([v])
}

/// A stream of the value `p` fulfils with, closed right after it; if `p`
/// rejects, the stream is closed empty (Lwt's `return_lwt`).
///
/// ```
/// let (p, r) = lwt::wait();
/// let s = lwt::stream::of_promise(p);
/// let first = s.next();
/// r.wakeup(5);
/// assert_eq!(first.state(), lwt::State::Fulfilled(5));
/// assert!(s.is_closed());
/// ```
pub fn of_promise<T: 'static>(p: Promise<T>) -> Stream<T> {
    let (s, push) = create();
    let done = p.then(move |r| {
        if let Ok(v) = r {
            let _ = push.push(v);
        }
        push.close();
        resolved(())
    });
    drop(done);
    s
}

/// A stream that is already closed and has no element.
pub fn empty<T: 'static>() -> Stream<T> {
    of_list(std::iter::empty())
}

/// A stream whose first read rejects with `e`, and which then ends (not in
/// Lwt; the error travels as a pull-source error does).
///
/// ```
/// let s = lwt::stream::fail::<u8>(lwt::Error::failure("broken"));
/// assert!(s.get().is_rejected());
/// assert_eq!(s.get().state(), lwt::State::Fulfilled(None));
/// ```
pub fn fail<T: 'static>(e: Error) -> Stream<T> {
    let once = Cell::new(Some(e));
    from(move || match once.take() {
        Some(e) => rejected(e),
        None => resolved(None),
    })
}

/// A stream of the nodes of an Lwt sequence, read lazily (Lwt's
/// `of_lwt_seq`).
///
/// ```
/// let seq = lwt::seq::of_list(vec![1, 2]);
/// let s = lwt::stream::of_lwt_seq(seq);
/// assert_eq!(s.to_list().state(), lwt::State::Fulfilled(vec![1, 2]));
/// ```
pub fn of_lwt_seq<T: 'static>(seq: crate::seq::Seq<T>) -> Stream<T> {
    // The sequence still to read; kept until a node is obtained, so that a
    // failed node is forced again by the next read (as a `from` source).
    let cur = Rc::new(RefCell::new(Some(seq)));
    from(move || {
        let Some(seq) = cur.borrow().clone() else {
            return resolved(None);
        };
        let cur = cur.clone();
        seq.force().map(move |node| match node {
            crate::seq::Node::Nil => {
                *cur.borrow_mut() = None;
                None
            }
            crate::seq::Node::Cons(x, rest) => {
                *cur.borrow_mut() = Some(rest);
                Some(x)
            }
        })
    })
}
