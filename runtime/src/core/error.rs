//! The error type carried by rejected promises: Lwt's `exn`.
//!
//! OCaml promises reject with any exception; Rust has no open exception type, so
//! [`Error`] plays that part. It is two reference-counted pointers, so cloning it
//! (which every combinator that fans a rejection out does) costs two increments.
//! It knows the rejections the runtime itself produces ([`ErrorKind`]) and wraps
//! any user error, which can be downcast back with [`Error::downcast_ref`].
//!
//! An error also remembers the chain of *bind sites* it travelled through, when
//! those were recorded (the macros record the user's `file:line` at every bind
//! they generate, as Lwt's ppx does with `backtrace_bind`). `{:#}` prints them.

use std::any::Any;
use std::fmt;
use std::io;
use std::rc::Rc;

/// What kind of rejection an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The promise was canceled (Lwt's `Canceled`).
    Canceled,
    /// A timeout elapsed (Lwt_unix's `Timeout`).
    Timeout,
    /// An operating-system error; see [`Error::io_error`].
    Io,
    /// A failure with a message (OCaml's `Failure`).
    Failure,
    /// An invalid argument was given (OCaml's `Invalid_argument`).
    InvalidArgument,
    /// A callback panicked; the message is the panic's.
    Panic,
    /// A user-defined error; see [`Error::downcast_ref`].
    Custom,
}

enum Repr {
    Canceled,
    Timeout,
    Io(io::Error),
    Failure(String),
    InvalidArgument(String),
    Panic(String),
    Custom(Box<dyn UserError>),
    Value(Box<dyn Any>, String),
}

/// One recorded bind site, newest first, sharing its tail with older errors.
struct Site {
    file: &'static str,
    line: u32,
    next: Option<Rc<Site>>,
    depth: u32,
}

/// The most sites kept on one error: a loop that rejects after a million
/// iterations must not carry a million-entry trace.
const MAX_SITES: u32 = 64;

/// A rejection: Lwt's `exn`. Cheap to clone.
///
/// ```
/// use lwt::{Error, ErrorKind};
/// let e = Error::failure("disk full");
/// assert_eq!(e.kind(), ErrorKind::Failure);
/// assert_eq!(e.to_string(), "Failure: disk full");
/// let e2 = e.clone();
/// assert_eq!(e2.message(), "disk full");
/// ```
#[derive(Clone)]
pub struct Error(Rc<Parts>);

/// What an [`Error`] points to. The error itself is one pointer, so that a
/// `Promise<T>` of a word or less is two words and comes back from a call
/// in registers, and a `Result<(), Error>` is one word. With a two-word
/// error, promises were three words, returned through the stack; in a
/// sampling profile of the `lines` workload the copies of those returned
/// promises (`bind` and the loop that calls it) were the hottest
/// instructions, and they took half as many samples once promises shrank.
struct Parts {
    repr: Rc<Repr>,
    sites: Option<Rc<Site>>,
}

impl Error {
    fn from_repr(repr: Repr) -> Error {
        Error(Rc::new(Parts {
            repr: Rc::new(repr),
            sites: None,
        }))
    }

    /// The error of a canceled promise (Lwt's `Canceled`).
    pub fn canceled() -> Error {
        thread_local! {
            static CANCELED: Error = Error::from_repr(Repr::Canceled);
        }
        CANCELED.with(Error::clone)
    }

    /// The error a promise reports when polled again after it completed:
    /// made once per thread, since awaiting resolved promises is a hot path.
    pub(crate) fn polled_after_completion() -> Error {
        thread_local! {
            static POLLED: Error =
                Error::from_repr(Repr::InvalidArgument("a promise was polled after it completed".to_owned()));
        }
        POLLED.with(Error::clone)
    }

    /// The error of an elapsed timeout (Lwt_unix's `Timeout`).
    pub fn timeout() -> Error {
        Error::from_repr(Repr::Timeout)
    }

    /// A failure with a message (OCaml's `Failure msg`).
    pub fn failure(msg: impl Into<String>) -> Error {
        Error::from_repr(Repr::Failure(msg.into()))
    }

    /// An invalid argument (OCaml's `Invalid_argument msg`).
    pub fn invalid_argument(msg: impl Into<String>) -> Error {
        Error::from_repr(Repr::InvalidArgument(msg.into()))
    }

    /// An operating-system error.
    pub fn io(e: io::Error) -> Error {
        Error::from_repr(Repr::Io(e))
    }

    /// The error of a callback that panicked with `msg`.
    pub fn panic(msg: impl Into<String>) -> Error {
        Error::from_repr(Repr::Panic(msg.into()))
    }

    /// Wraps a user error; [`Error::downcast_ref`] gives it back.
    ///
    /// ```
    /// #[derive(Debug)]
    /// struct NotFound;
    /// impl std::fmt::Display for NotFound {
    ///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("not found") }
    /// }
    /// impl std::error::Error for NotFound {}
    /// let e = lwt::Error::new(NotFound);
    /// assert!(e.downcast_ref::<NotFound>().is_some());
    /// ```
    pub fn new(e: impl std::error::Error + 'static) -> Error {
        Error::from_repr(Repr::Custom(Box::new(e)))
    }

    /// Wraps any value as an error (for exceptions that are not
    /// `std::error::Error`s); `describe` is what `Display` prints.
    pub fn from_value<V: Any>(value: V, describe: impl Into<String>) -> Error {
        Error::from_repr(Repr::Value(Box::new(value), describe.into()))
    }

    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match &*self.0.repr {
            Repr::Canceled => ErrorKind::Canceled,
            Repr::Timeout => ErrorKind::Timeout,
            Repr::Io(_) => ErrorKind::Io,
            Repr::Failure(_) => ErrorKind::Failure,
            Repr::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Repr::Panic(_) => ErrorKind::Panic,
            Repr::Custom(_) | Repr::Value(..) => ErrorKind::Custom,
        }
    }

    /// Whether this is the [`ErrorKind::Canceled`] error.
    pub fn is_canceled(&self) -> bool {
        matches!(&*self.0.repr, Repr::Canceled)
    }

    /// Whether this is the [`ErrorKind::Timeout`] error.
    pub fn is_timeout(&self) -> bool {
        matches!(&*self.0.repr, Repr::Timeout)
    }

    /// The operating-system error inside, if this is one.
    pub fn io_error(&self) -> Option<&io::Error> {
        match &*self.0.repr {
            Repr::Io(e) => Some(e),
            _ => None,
        }
    }

    /// The user error inside, if it has type `E`.
    pub fn downcast_ref<E: Any>(&self) -> Option<&E> {
        match &*self.0.repr {
            Repr::Custom(b) => b.as_any().downcast_ref::<E>(),
            Repr::Value(v, _) => v.downcast_ref::<E>(),
            _ => None,
        }
    }

    /// The message alone, without the kind's prefix.
    pub fn message(&self) -> String {
        match &*self.0.repr {
            Repr::Canceled => "Canceled".to_owned(),
            Repr::Timeout => "Timeout".to_owned(),
            Repr::Io(e) => e.to_string(),
            Repr::Failure(m) | Repr::InvalidArgument(m) | Repr::Panic(m) | Repr::Value(_, m) => m.clone(),
            Repr::Custom(e) => e.to_string(),
        }
    }

    /// Whether two errors are the same rejection (same origin, whatever sites
    /// were added since). Lwt compares exceptions physically in its tests.
    pub fn same(&self, other: &Error) -> bool {
        Rc::ptr_eq(&self.0.repr, &other.0.repr) || (self.is_canceled() && other.is_canceled())
    }

    /// A copy of this error with one more bind site recorded (newest last in
    /// [`Error::sites`]). Used by the macros; at most 64 sites are kept.
    pub fn with_site(&self, file: &'static str, line: u32) -> Error {
        let depth = self.0.sites.as_ref().map_or(0, |s| s.depth);
        if depth >= MAX_SITES {
            return self.clone();
        }
        Error(Rc::new(Parts {
            repr: self.0.repr.clone(),
            sites: Some(Rc::new(Site {
                file,
                line,
                next: self.0.sites.clone(),
                depth: depth + 1,
            })),
        }))
    }

    /// The bind sites this error travelled through, oldest first.
    pub fn sites(&self) -> Vec<(&'static str, u32)> {
        let mut out = Vec::new();
        let mut cur = self.0.sites.as_deref();
        while let Some(s) = cur {
            out.push((s.file, s.line));
            cur = s.next.as_deref();
        }
        out.reverse();
        out
    }
}

/// A user error, seen both as `std::error::Error` and as `Any` (for downcasts).
trait UserError: std::error::Error + Any {
    fn as_any(&self) -> &dyn Any;
}

impl<T: std::error::Error + Any> UserError for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0.repr {
            Repr::Canceled => f.write_str("Canceled")?,
            Repr::Timeout => f.write_str("Timeout")?,
            Repr::Io(e) => write!(f, "I/O error: {e}")?,
            Repr::Failure(m) => write!(f, "Failure: {m}")?,
            Repr::InvalidArgument(m) => write!(f, "Invalid argument: {m}")?,
            Repr::Panic(m) => write!(f, "Panic in callback: {m}")?,
            Repr::Custom(e) => write!(f, "{e}")?,
            Repr::Value(_, m) => f.write_str(m)?,
        }
        if f.alternate() {
            for (file, line) in self.sites().iter().rev() {
                write!(f, "\n  at {file}:{line}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({:?}: {})", self.kind(), self.message())?;
        let sites = self.sites();
        if !sites.is_empty() {
            write!(f, " sites={sites:?}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.0.repr {
            Repr::Io(e) => Some(e),
            Repr::Custom(e) => Some(&**e as &(dyn std::error::Error + 'static)),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::io(e)
    }
}

/// Turns a panic payload into the message it carries.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::Error;
    use crate::Promise;
    use std::mem::size_of;

    #[test]
    fn an_error_is_one_word_and_a_small_promise_two() {
        assert_eq!(size_of::<Error>(), size_of::<usize>());
        assert_eq!(size_of::<Result<(), Error>>(), size_of::<usize>());
        assert_eq!(size_of::<Promise<()>>(), 2 * size_of::<usize>());
        assert_eq!(size_of::<Promise<u64>>(), 2 * size_of::<usize>());
    }

    #[test]
    fn a_site_keeps_the_origin() {
        let e = Error::failure("x");
        let f = e.with_site("a.rs", 1).with_site("b.rs", 2);
        assert!(f.same(&e));
        assert_eq!(f.sites(), vec![("a.rs", 1), ("b.rs", 2)]);
        assert!(e.sites().is_empty());
        assert!(Error::canceled().same(&Error::canceled()));
    }
}
