//! Writing to output channels (Lwt_io's writing and printing functions).
//!
//! Writes copy into the channel's buffer; when it is full, part of it is
//! flushed and the copy goes on. A flush that writes only part of the
//! buffer keeps the rest at the front (nothing is lost). Data at least as
//! large as the buffer, arriving when the buffer is empty, goes straight to
//! a non-blocking descriptor instead of being copied through the buffer.
//!
//! The common case — the channel is idle and the data fits — completes
//! synchronously and returns a resolved promise, without copying the data
//! anywhere but into the buffer. Only when the write must wait is the rest
//! of the data copied into an owned vector that the callback keeps.

use std::rc::Rc;

use super::channel::{
    can_write_direct, continue_locked, flush_some, flush_step, lock_now, primitive, release, take_now, write_direct,
    Inner, OutputChannel, Step,
};
use crate::stream::Stream;
use crate::{Error, Promise};

/// Copies as much of `data` as fits into the buffer; returns the count.
fn copy_in(inner: &Inner, data: &[u8]) -> usize {
    let ptr = inner.ptr.get();
    let n = inner.size.get().saturating_sub(ptr).min(data.len());
    if n > 0 {
        inner.buf.borrow_mut()[ptr..ptr + n].copy_from_slice(&data[..n]);
        inner.ptr.set(ptr + n);
    }
    n
}

/// Writes `data[pos..end]` completely, then gives `data` back.
pub(super) fn write_owned<B: AsRef<[u8]> + 'static>(
    inner: Rc<Inner>,
    mut data: B,
    mut pos: usize,
    end: usize,
    op: &'static str,
) -> Promise<B> {
    loop {
        if pos >= end {
            return crate::resolved(data);
        }
        if inner.ptr.get() == 0 && end - pos >= inner.size.get() && can_write_direct(&inner) {
            match take_now(write_direct(&inner, data, pos, end - pos, op)) {
                Ok(Ok((d, n))) => {
                    data = d;
                    pos += n;
                    continue;
                }
                Ok(Err(e)) => return crate::rejected(e),
                Err(p) => return p.bind(move |(d, n)| write_owned(inner, d, pos + n, end, op)),
            }
        }
        pos += copy_in(&inner, &data.as_ref()[pos..end]);
        if pos >= end {
            return crate::resolved(data);
        }
        let i = inner.clone();
        match flush_step(&inner, op, data, move |data, _| write_owned(i, data, pos, end, op)) {
            Step::Now(Ok(_), d) => data = d,
            Step::Now(Err(e), _) => return crate::rejected(e),
            Step::Later(p) => return p,
        }
    }
}

/// Writes `parts` one after the other: synchronously when the channel is
/// idle and they fit, otherwise queued with an owned copy.
fn write_parts(oc: &OutputChannel, parts: &[&[u8]], op: &'static str) -> Promise<()> {
    let w = &oc.w;
    if let Some(inner) = lock_now(w) {
        for (k, part) in parts.iter().enumerate() {
            let n = copy_in(inner, part);
            if n < part.len() {
                // The buffer is full: own the rest and continue the long way.
                let mut rest = part[n..].to_vec();
                for p in &parts[k + 1..] {
                    rest.extend_from_slice(p);
                }
                let end = rest.len();
                let p = write_owned(inner.clone(), rest, 0, end, op).map(|_| ());
                return continue_locked(w, p);
            }
        }
        release(w);
        return crate::resolved(());
    }
    let data = parts.concat();
    let end = data.len();
    primitive(w, op, move |inner| {
        write_owned(inner.clone(), data, 0, end, op).map(|_| ())
    })
}

/// Writes the bytes of `s` (Lwt's `write`). They go out with the next
/// flush: explicit ([`flush`](super::flush)), automatic (after the current
/// turn), or when the buffer fills.
///
/// ```
/// let (ic, oc) = lwt::io::pipe().unwrap();
/// lwt::main::run(lwt::io::write(&oc, "text").bind(move |()| lwt::io::close(&oc))).unwrap();
/// assert_eq!(lwt::main::run(lwt::io::read_to_end(&ic)).unwrap(), b"text");
/// ```
pub fn write(oc: &OutputChannel, s: impl AsRef<[u8]>) -> Promise<()> {
    write_parts(oc, &[s.as_ref()], "write")
}

/// Writes one byte (Lwt's `write_char`).
pub fn write_char(oc: &OutputChannel, c: u8) -> Promise<()> {
    write_parts(oc, &[&[c]], "write_char")
}

/// Writes `s` followed by `\n` (Lwt's `write_line`).
///
/// ```
/// let (ic, oc) = lwt::io::pipe().unwrap();
/// let p = lwt::io::write_line(&oc, "one").bind(move |()| lwt::io::read_line(&ic));
/// assert_eq!(lwt::main::run(p).unwrap(), "one");
/// ```
pub fn write_line(oc: &OutputChannel, s: impl AsRef<[u8]>) -> Promise<()> {
    let s = s.as_ref();
    // The common case in one step: the channel is idle and the line fits.
    if let Some(inner) = lock_now(&oc.w) {
        let ptr = inner.ptr.get();
        if inner.size.get() - ptr > s.len() {
            let mut b = inner.buf.borrow_mut();
            b[ptr..ptr + s.len()].copy_from_slice(s);
            b[ptr + s.len()] = b'\n';
            drop(b);
            inner.ptr.set(ptr + s.len() + 1);
            release(&oc.w);
            return crate::resolved(());
        }
        release(&oc.w);
    }
    write_parts(oc, &[s, b"\n"], "write_line")
}

/// Writes bytes of `buf[ofs..ofs + len]` and resolves to the buffer and the
/// count taken, which may be less than `len` (Lwt's `write_from`): as much
/// as fits in the channel's buffer, after flushing part of it if it is
/// full. A range outside `buf` is an invalid argument.
///
/// ```
/// let oc = lwt::io::null();
/// let (_buf, n) = lwt::main::run(lwt::io::write_from(&oc, vec![7u8; 100], 0, 100)).unwrap();
/// assert!(n > 0 && n <= 100);
/// ```
pub fn write_from<B: AsRef<[u8]> + 'static>(oc: &OutputChannel, buf: B, ofs: usize, len: usize) -> Promise<(B, usize)> {
    if let Err(e) = check_range("write_from", buf.as_ref().len(), ofs, len) {
        return crate::rejected(e);
    }
    primitive(&oc.w, "write_from", move |inner| {
        if len == 0 {
            return crate::resolved((buf, 0));
        }
        let n = copy_in(inner, &buf.as_ref()[ofs..ofs + len]);
        if n > 0 {
            return crate::resolved((buf, n));
        }
        let i = inner.clone();
        flush_some(inner, "write_from").map(move |_| {
            let n = copy_in(&i, &buf.as_ref()[ofs..ofs + len]);
            (buf, n)
        })
    })
}

/// Writes all of `buf[ofs..ofs + len]` and gives the buffer back (Lwt's
/// `write_from_exactly`).
///
/// ```
/// let (ic, oc) = lwt::io::pipe().unwrap();
/// let p = lwt::io::write_from_exactly(&oc, b"..abc..".to_vec(), 2, 3)
///     .bind(move |_buf| lwt::io::close(&oc))
///     .bind(move |()| lwt::io::read_to_end(&ic));
/// assert_eq!(lwt::main::run(p).unwrap(), b"abc");
/// ```
pub fn write_from_exactly<B: AsRef<[u8]> + 'static>(oc: &OutputChannel, buf: B, ofs: usize, len: usize) -> Promise<B> {
    if let Err(e) = check_range("write_from_exactly", buf.as_ref().len(), ofs, len) {
        return crate::rejected(e);
    }
    primitive(&oc.w, "write_from_exactly", move |inner| {
        write_owned(inner.clone(), buf, ofs, ofs + len, "write_from_exactly")
    })
}

fn check_range(op: &str, size: usize, ofs: usize, len: usize) -> Result<(), Error> {
    match ofs.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(Error::invalid_argument(format!(
            "lwt::io::{op}: range {ofs}+{len} outside a buffer of {size} bytes"
        ))),
    }
}

/// Writes each line of `lines` followed by `\n` (Lwt's `write_lines`). Like
/// Lwt's, it is not atomic: other writers may interleave between lines
/// (use [`atomic`](super::atomic) to prevent it).
///
/// ```
/// let (ic, oc) = lwt::io::pipe().unwrap();
/// let lines = lwt::stream::of_list(["a", "b"]);
/// let p = lwt::io::write_lines(&oc, &lines).bind(move |()| lwt::io::close(&oc));
/// lwt::main::run(p).unwrap();
/// assert_eq!(lwt::main::run(lwt::io::read_to_end(&ic)).unwrap(), b"a\nb\n");
/// ```
pub fn write_lines<S: AsRef<[u8]> + 'static>(oc: &OutputChannel, lines: &Stream<S>) -> Promise<()> {
    let oc = oc.clone();
    lines.iter_s(move |l| write_line(&oc, l))
}

/// Writes each byte of `chars` (Lwt's `write_chars`); not atomic.
pub fn write_chars(oc: &OutputChannel, chars: &Stream<u8>) -> Promise<()> {
    let oc = oc.clone();
    chars.iter_s(move |c| write_char(&oc, c))
}

/// Writes `s` to `oc` (Lwt's `fprint`).
pub fn fprint(oc: &OutputChannel, s: impl AsRef<[u8]>) -> Promise<()> {
    write(oc, s)
}

/// Writes `s` and a newline to `oc` (Lwt's `fprintl`).
pub fn fprintl(oc: &OutputChannel, s: impl AsRef<[u8]>) -> Promise<()> {
    write_line(oc, s)
}

/// Writes `s` to the standard output (Lwt's `print`).
pub fn print(s: impl AsRef<[u8]>) -> Promise<()> {
    write(&super::stdout(), s)
}

/// Writes `s` and a newline to the standard output (Lwt's `printl`).
///
/// ```
/// lwt::main::run(lwt::io::printl("hello from lwt::io")).unwrap();
/// ```
pub fn printl(s: impl AsRef<[u8]>) -> Promise<()> {
    write_line(&super::stdout(), s)
}

/// Writes `s` to the standard error (Lwt's `eprint`).
pub fn eprint(s: impl AsRef<[u8]>) -> Promise<()> {
    write(&super::stderr(), s)
}

/// Writes `s` and a newline to the standard error (Lwt's `eprintl`).
pub fn eprintl(s: impl AsRef<[u8]>) -> Promise<()> {
    write_line(&super::stderr(), s)
}

/// Formats like `format!` and writes the text to an output channel (Lwt's
/// `fprintf`): `lwt::io::fprintf!(&oc, "{} + {}", 1, 2)` is a promise of
/// `()`.
///
/// ```
/// let (ic, oc) = lwt::io::pipe().unwrap();
/// let p = lwt::io::fprintf!(&oc, "{}+{}=", 1, 2)
///     .bind({ let oc = oc.clone(); move |()| lwt::io::fprintlf!(&oc, "{}", 1 + 2) })
///     .bind(move |()| lwt::io::read_line(&ic));
/// assert_eq!(lwt::main::run(p).unwrap(), "1+2=3");
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __lwt_io_fprintf {
    ($oc:expr, $($arg:tt)*) => {
        $crate::io::fprint($oc, ::std::format!($($arg)*))
    };
}

/// Formats like `format!` and writes the text and a newline to an output
/// channel (Lwt's `fprintlf`).
#[doc(hidden)]
#[macro_export]
macro_rules! __lwt_io_fprintlf {
    ($oc:expr, $($arg:tt)*) => {
        $crate::io::fprintl($oc, ::std::format!($($arg)*))
    };
}

/// Formats like `format!` and writes the text to the standard output
/// (Lwt's `printf`).
///
/// ```
/// lwt::main::run(lwt::io::printf!("{} apples\n", 3)).unwrap();
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __lwt_io_printf {
    ($($arg:tt)*) => {
        $crate::io::print(::std::format!($($arg)*))
    };
}

/// Formats like `format!` and writes the text and a newline to the
/// standard output (Lwt's `printlf`).
#[doc(hidden)]
#[macro_export]
macro_rules! __lwt_io_printlf {
    ($($arg:tt)*) => {
        $crate::io::printl(::std::format!($($arg)*))
    };
}

/// Formats like `format!` and writes the text to the standard error (Lwt's
/// `eprintf`).
#[doc(hidden)]
#[macro_export]
macro_rules! __lwt_io_eprintf {
    ($($arg:tt)*) => {
        $crate::io::eprint(::std::format!($($arg)*))
    };
}

/// Formats like `format!` and writes the text and a newline to the
/// standard error (Lwt's `eprintlf`).
#[doc(hidden)]
#[macro_export]
macro_rules! __lwt_io_eprintlf {
    ($($arg:tt)*) => {
        $crate::io::eprintl(::std::format!($($arg)*))
    };
}
