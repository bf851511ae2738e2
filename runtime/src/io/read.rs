//! Reading from input channels (Lwt_io's reading functions).
//!
//! Each operation takes the channel's lock (see `channel.rs`), consumes the
//! buffer synchronously as far as it can, and refills it only when it is
//! empty. While refills complete at once (data already in the kernel) the
//! operation keeps looping without allocating a promise; only a real wait
//! goes through a callback.

use std::io;
use std::rc::Rc;

use super::channel::{fill_step, lock_now, primitive, release, Inner, InputChannel, Step};
use crate::stream::{self, Stream};
use crate::{Error, Promise};

fn not_utf8(op: &str) -> Error {
    Error::io(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("lwt::io::{op}: the data is not valid UTF-8"),
    ))
}

fn check_range(op: &str, size: usize, ofs: usize, len: usize) -> Result<(), Error> {
    match ofs.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(Error::invalid_argument(format!(
            "lwt::io::{op}: range {ofs}+{len} outside a buffer of {size} bytes"
        ))),
    }
}

/// Refills, then continues with `k(n)`: synchronously when the refill is
/// already done, through a callback otherwise.
fn after_fill<T: 'static, K: FnOnce(usize) -> Promise<T> + 'static>(
    inner: &Rc<Inner>,
    op: &'static str,
    k: K,
) -> Promise<T> {
    match fill_step(inner, op, k, |k, n| k(n)) {
        Step::Now(Ok(n), k) => k(n),
        Step::Now(Err(e), _) => crate::rejected(e),
        Step::Later(p) => p,
    }
}

// ---------------------------------------------------------------------------
// Characters

fn char_op(inner: &Rc<Inner>) -> Option<u8> {
    let ptr = inner.ptr.get();
    if ptr < inner.max.get() {
        let c = inner.buf.borrow()[ptr];
        inner.ptr.set(ptr + 1);
        Some(c)
    } else {
        None
    }
}

fn read_char_op(inner: &Rc<Inner>, op: &'static str) -> Promise<Option<u8>> {
    if let Some(c) = char_op(inner) {
        return crate::resolved(Some(c));
    }
    let i = inner.clone();
    after_fill(inner, op, move |n| {
        crate::resolved(if n == 0 { None } else { char_op(&i) })
    })
}

/// Reads one byte, or `None` at the end of input (Lwt's `read_char_opt`).
///
/// ```
/// let ic = lwt::io::of_bytes(lwt::io::Input, b"z".to_vec());
/// assert_eq!(lwt::main::run(lwt::io::read_char_opt(&ic)).unwrap(), Some(b'z'));
/// assert_eq!(lwt::main::run(lwt::io::read_char_opt(&ic)).unwrap(), None);
/// ```
pub fn read_char_opt(ic: &InputChannel) -> Promise<Option<u8>> {
    if let Some(inner) = lock_now(&ic.w) {
        if let Some(c) = char_op(inner) {
            release(&ic.w);
            return crate::resolved(Some(c));
        }
        release(&ic.w);
    }
    primitive(&ic.w, "read_char_opt", |inner| read_char_op(inner, "read_char_opt"))
}

/// Reads one byte (Lwt's `read_char`; OCaml's `char` is a byte). At the end
/// of input, rejects with [`EndOfFile`](super::EndOfFile).
///
/// ```
/// let ic = lwt::io::of_bytes(lwt::io::Input, b"ab".to_vec());
/// assert_eq!(lwt::main::run(lwt::io::read_char(&ic)).unwrap(), b'a');
/// ```
pub fn read_char(ic: &InputChannel) -> Promise<u8> {
    if let Some(inner) = lock_now(&ic.w) {
        if let Some(c) = char_op(inner) {
            release(&ic.w);
            return crate::resolved(c);
        }
        release(&ic.w);
    }
    primitive(&ic.w, "read_char", |inner| {
        read_char_op(inner, "read_char").bind(|c| match c {
            Some(c) => crate::resolved(c),
            None => crate::rejected(super::end_of_file()),
        })
    })
}

/// The stream of the bytes of the channel, up to its end (Lwt's
/// `read_chars`). Each element is one [`read_char_opt`].
pub fn read_chars(ic: &InputChannel) -> Stream<u8> {
    let ic = ic.clone();
    stream::from(move || read_char_opt(&ic))
}

// ---------------------------------------------------------------------------
// Lines

/// The index of the first `\n` in `data`: the C library's `memchr`, which
/// is vectorised (a byte-by-byte loop costs several times more on long
/// lines, and `std` keeps its own `memchr` private).
#[inline]
fn find_newline(data: &[u8]) -> Option<usize> {
    if data.is_empty() {
        return None;
    }
    // SAFETY: `data` is a valid slice of `data.len()` bytes; memchr reads at
    // most that many and returns null or a pointer into it.
    let p = unsafe { libc::memchr(data.as_ptr().cast(), i32::from(b'\n'), data.len()) };
    if p.is_null() {
        None
    } else {
        Some(p as usize - data.as_ptr() as usize)
    }
}

/// Finds a line in the buffer. `Ok(line)` when a newline was found (the
/// line without it and without a `\r` right before it); otherwise the
/// buffered bytes are moved to `acc` and the buffer is empty.
fn line_step(inner: &Inner, acc: &mut Option<Vec<u8>>) -> Option<Vec<u8>> {
    let (ptr, max) = (inner.ptr.get(), inner.max.get());
    if ptr >= max {
        return None;
    }
    let buf = inner.buf.borrow();
    let data = &buf[ptr..max];
    match find_newline(data) {
        Some(i) => {
            let line = match acc.take() {
                // The usual case, the whole line in the buffer: its `\r` is
                // looked for there, before the copy (reading back a byte
                // `memcpy` has just written stalled on the store).
                None => {
                    let end = if i > 0 && data[i - 1] == b'\r' { i - 1 } else { i };
                    data[..end].to_vec()
                }
                Some(mut a) => {
                    a.extend_from_slice(&data[..i]);
                    if a.last() == Some(&b'\r') {
                        a.pop();
                    }
                    a
                }
            };
            drop(buf);
            inner.ptr.set(ptr + i + 1);
            Some(line)
        }
        None => {
            acc.get_or_insert_with(Vec::new).extend_from_slice(data);
            drop(buf);
            inner.ptr.set(max);
            None
        }
    }
}

/// Reads a line as bytes: `None` at the end of input with nothing read; a
/// last line without a newline is returned as it is.
fn line_op(inner: Rc<Inner>, mut acc: Option<Vec<u8>>, op: &'static str) -> Promise<Option<Vec<u8>>> {
    loop {
        if let Some(line) = line_step(&inner, &mut acc) {
            return crate::resolved(Some(line));
        }
        let i = inner.clone();
        match fill_step(&inner, op, acc, move |acc, n| {
            if n == 0 {
                crate::resolved(acc)
            } else {
                line_op(i, acc, op)
            }
        }) {
            Step::Now(Ok(0), a) => return crate::resolved(a),
            Step::Now(Ok(_), a) => acc = a,
            Step::Now(Err(e), _) => return crate::rejected(e),
            Step::Later(p) => return p,
        }
    }
}

fn to_string(line: Vec<u8>, op: &str) -> Result<String, Error> {
    String::from_utf8(line).map_err(|_| not_utf8(op))
}

/// Reads a line, or `None` at the end of input (Lwt's `read_line_opt`). See
/// [`read_line`] for what a line is.
///
/// ```
/// let ic = lwt::io::of_bytes(lwt::io::Input, b"only\n".to_vec());
/// assert_eq!(lwt::main::run(lwt::io::read_line_opt(&ic)).unwrap().as_deref(), Some("only"));
/// assert_eq!(lwt::main::run(lwt::io::read_line_opt(&ic)).unwrap(), None);
/// ```
pub fn read_line_opt(ic: &InputChannel) -> Promise<Option<String>> {
    const OP: &str = "read_line_opt";
    if let Some(inner) = lock_now(&ic.w) {
        let mut acc = None;
        if let Some(line) = line_step(inner, &mut acc) {
            release(&ic.w);
            return crate::of_result(to_string(line, OP).map(Some));
        }
        // Not in the buffer: go the long way, keeping the partial line.
        let inner = inner.clone();
        let p = line_op(inner, acc, OP).bind(|l| crate::of_result(l.map(|l| to_string(l, OP)).transpose()));
        return super::channel::continue_locked(&ic.w, p);
    }
    primitive(&ic.w, OP, |inner| {
        line_op(inner.clone(), None, OP).bind(|l| crate::of_result(l.map(|l| to_string(l, OP)).transpose()))
    })
}

/// Reads a line (Lwt's `read_line`): the bytes up to the next `\n`, without
/// it, and without a `\r` right before it. At the end of input, a last line
/// without `\n` is returned; if nothing is left, rejects with
/// [`EndOfFile`](super::EndOfFile). A line that is not UTF-8 rejects with an
/// `InvalidData` I/O error.
///
/// ```
/// let ic = lwt::io::of_bytes(lwt::io::Input, b"dos\r\nunix\nlast".to_vec());
/// let lines = lwt::io::read_line(&ic)
///     .bind({ let ic = ic.clone(); move |a| lwt::io::read_line(&ic).map(move |b| (a, b)) })
///     .bind({ let ic = ic.clone(); move |(a, b)| lwt::io::read_line(&ic).map(move |c| [a, b, c]) });
/// assert_eq!(lwt::main::run(lines).unwrap(), ["dos", "unix", "last"]);
/// let e = lwt::main::run(lwt::io::read_line(&ic)).unwrap_err();
/// assert!(lwt::io::is_end_of_file(&e));
/// ```
pub fn read_line(ic: &InputChannel) -> Promise<String> {
    const OP: &str = "read_line";
    let finish = |l: Option<Vec<u8>>| match l {
        Some(l) => crate::of_result(to_string(l, OP)),
        None => crate::rejected(super::end_of_file()),
    };
    if let Some(inner) = lock_now(&ic.w) {
        let mut acc = None;
        if let Some(line) = line_step(inner, &mut acc) {
            release(&ic.w);
            return crate::of_result(to_string(line, OP));
        }
        let inner = inner.clone();
        let p = line_op(inner, acc, OP).bind(finish);
        return super::channel::continue_locked(&ic.w, p);
    }
    primitive(&ic.w, OP, move |inner| line_op(inner.clone(), None, OP).bind(finish))
}

/// The stream of the lines of the channel, up to its end (Lwt's
/// `read_lines`). Each element is one [`read_line_opt`].
///
/// ```
/// let ic = lwt::io::of_bytes(lwt::io::Input, b"1\n2\n3\n".to_vec());
/// let total = lwt::io::read_lines(&ic).fold(0, |acc, l| acc + l.parse::<u32>().unwrap());
/// assert_eq!(lwt::main::run(total).unwrap(), 6);
/// ```
pub fn read_lines(ic: &InputChannel) -> Stream<String> {
    let ic = ic.clone();
    stream::from(move || read_line_opt(&ic))
}

// ---------------------------------------------------------------------------
// Blocks of bytes

/// Moves up to `want` buffered bytes into `out`; returns how many.
fn take_buffered(inner: &Inner, out: &mut [u8]) -> usize {
    let (ptr, max) = (inner.ptr.get(), inner.max.get());
    let n = out.len().min(max.saturating_sub(ptr));
    if n > 0 {
        out[..n].copy_from_slice(&inner.buf.borrow()[ptr..ptr + n]);
        inner.ptr.set(ptr + n);
    }
    n
}

/// Reads at most `count` bytes: what is buffered, or else one refill's
/// worth (Lwt's `read ~count`). An empty result means the end of input.
///
/// ```
/// let ic = lwt::io::of_bytes(lwt::io::Input, b"abcdef".to_vec());
/// assert_eq!(lwt::main::run(lwt::io::read(&ic, 4)).unwrap(), b"abcd");
/// assert_eq!(lwt::main::run(lwt::io::read(&ic, 4)).unwrap(), b"ef");
/// assert_eq!(lwt::main::run(lwt::io::read(&ic, 4)).unwrap(), b"");
/// ```
pub fn read(ic: &InputChannel, count: usize) -> Promise<Vec<u8>> {
    fn take(inner: &Inner, count: usize) -> Vec<u8> {
        let (ptr, max) = (inner.ptr.get(), inner.max.get());
        let n = count.min(max - ptr);
        let v = inner.buf.borrow()[ptr..ptr + n].to_vec();
        inner.ptr.set(ptr + n);
        v
    }
    primitive(&ic.w, "read", move |inner| {
        if count == 0 || inner.ptr.get() < inner.max.get() {
            return crate::resolved(take(inner, count));
        }
        let i = inner.clone();
        after_fill(inner, "read", move |_| crate::resolved(take(&i, count)))
    })
}

fn to_end_op(inner: Rc<Inner>, mut acc: Vec<u8>, op: &'static str) -> Promise<Vec<u8>> {
    loop {
        let (ptr, max) = (inner.ptr.get(), inner.max.get());
        acc.extend_from_slice(&inner.buf.borrow()[ptr..max]);
        inner.ptr.set(max);
        let i = inner.clone();
        match fill_step(&inner, op, acc, move |acc, n| {
            if n == 0 {
                crate::resolved(acc)
            } else {
                to_end_op(i, acc, op)
            }
        }) {
            Step::Now(Ok(0), a) => return crate::resolved(a),
            Step::Now(Ok(_), a) => acc = a,
            Step::Now(Err(e), _) => return crate::rejected(e),
            Step::Later(p) => return p,
        }
    }
}

/// Reads everything up to the end of input (Lwt's `read` without a count).
///
/// ```
/// let ic = lwt::io::of_bytes(lwt::io::Input, b"all of it".to_vec());
/// assert_eq!(lwt::main::run(lwt::io::read_to_end(&ic)).unwrap(), b"all of it");
/// ```
pub fn read_to_end(ic: &InputChannel) -> Promise<Vec<u8>> {
    primitive(&ic.w, "read_to_end", |inner| {
        to_end_op(inner.clone(), Vec::new(), "read_to_end")
    })
}

/// Reads everything up to the end of input as text; bytes that are not
/// UTF-8 reject with an `InvalidData` I/O error.
pub fn read_to_string(ic: &InputChannel) -> Promise<String> {
    primitive(&ic.w, "read_to_string", |inner| {
        to_end_op(inner.clone(), Vec::new(), "read_to_string")
            .bind(|v| crate::of_result(String::from_utf8(v).map_err(|_| not_utf8("read_to_string"))))
    })
}

/// Reads at most `len` bytes into `buf[ofs..]` and resolves to the buffer
/// and the count (Lwt's `read_into`): what is buffered, or else one
/// refill's worth. 0 means the end of input (or `len` = 0); it never
/// rejects with [`EndOfFile`](super::EndOfFile).
///
/// ```
/// let ic = lwt::io::of_bytes(lwt::io::Input, b"xyz".to_vec());
/// let (buf, n) = lwt::main::run(lwt::io::read_into(&ic, vec![0; 8], 2, 6)).unwrap();
/// assert_eq!((n, &buf[2..5]), (3, &b"xyz"[..]));
/// ```
pub fn read_into<B: AsMut<[u8]> + 'static>(ic: &InputChannel, buf: B, ofs: usize, len: usize) -> Promise<(B, usize)> {
    let mut buf = buf;
    if let Err(e) = check_range("read_into", buf.as_mut().len(), ofs, len) {
        return crate::rejected(e);
    }
    primitive(&ic.w, "read_into", move |inner| {
        let mut buf = buf;
        if len == 0 || inner.ptr.get() < inner.max.get() {
            let n = take_buffered(inner, &mut buf.as_mut()[ofs..ofs + len]);
            return crate::resolved((buf, n));
        }
        let i = inner.clone();
        after_fill(inner, "read_into", move |_| {
            let n = take_buffered(&i, &mut buf.as_mut()[ofs..ofs + len]);
            crate::resolved((buf, n))
        })
    })
}

pub(super) fn exactly_op<B: AsMut<[u8]> + 'static>(
    inner: Rc<Inner>,
    mut buf: B,
    mut ofs: usize,
    mut len: usize,
    op: &'static str,
) -> Promise<B> {
    loop {
        let n = take_buffered(&inner, &mut buf.as_mut()[ofs..ofs + len]);
        ofs += n;
        len -= n;
        if len == 0 {
            return crate::resolved(buf);
        }
        let i = inner.clone();
        match fill_step(&inner, op, buf, move |buf, n| {
            if n == 0 {
                crate::rejected(super::end_of_file())
            } else {
                exactly_op(i, buf, ofs, len, op)
            }
        }) {
            Step::Now(Ok(0), _) => return crate::rejected(super::end_of_file()),
            Step::Now(Ok(_), b) => buf = b,
            Step::Now(Err(e), _) => return crate::rejected(e),
            Step::Later(p) => return p,
        }
    }
}

/// Reads exactly `len` bytes into `buf[ofs..]` (Lwt's `read_into_exactly`);
/// if the input ends first, rejects with [`EndOfFile`](super::EndOfFile)
/// (the bytes read are consumed).
///
/// ```
/// let ic = lwt::io::of_bytes(lwt::io::Input, b"12345".to_vec());
/// let buf = lwt::main::run(lwt::io::read_into_exactly(&ic, [0u8; 4], 0, 4)).unwrap();
/// assert_eq!(&buf, b"1234");
/// let e = lwt::main::run(lwt::io::read_into_exactly(&ic, [0u8; 4], 0, 4)).unwrap_err();
/// assert!(lwt::io::is_end_of_file(&e));
/// ```
pub fn read_into_exactly<B: AsMut<[u8]> + 'static>(ic: &InputChannel, buf: B, ofs: usize, len: usize) -> Promise<B> {
    let mut buf = buf;
    if let Err(e) = check_range("read_into_exactly", buf.as_mut().len(), ofs, len) {
        return crate::rejected(e);
    }
    primitive(&ic.w, "read_into_exactly", move |inner| {
        exactly_op(inner.clone(), buf, ofs, len, "read_into_exactly")
    })
}

/// Reads exactly `n` bytes; if the input ends first, rejects with
/// [`EndOfFile`](super::EndOfFile).
///
/// ```
/// let ic = lwt::io::of_bytes(lwt::io::Input, b"header:body".to_vec());
/// assert_eq!(lwt::main::run(lwt::io::read_exactly(&ic, 7)).unwrap(), b"header:");
/// ```
pub fn read_exactly(ic: &InputChannel, n: usize) -> Promise<Vec<u8>> {
    primitive(&ic.w, "read_exactly", move |inner| {
        exactly_op(inner.clone(), vec![0; n], 0, n, "read_exactly")
    })
}
