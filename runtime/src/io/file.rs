//! Files (Lwt_io's `open_file`, `with_file`, `file_length`,
//! `lines_of_file` ...).
//!
//! A regular file is a blocking descriptor, so each refill or flush of a
//! file channel runs as a job on a worker thread (as in Lwt): the loop never
//! blocks on a disk.

use std::cell::RefCell;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::channel::{close, Builder, Channel, Input, InputChannel, Mode, ModeKind, Output};
use super::read::{read_char_opt, read_line_opt};
use super::write::{write_chars, write_lines};
use crate::stream::{self, Stream};
use crate::unix::{self, FileKind, OpenFlag};
use crate::{Error, Promise};

/// Options of [`open_file`] and [`with_file`] (Lwt's `?buffer`, `?flags`
/// and `?perm`).
///
/// ```
/// use lwt::io::{self, FileOptions, Output};
/// use lwt::unix::OpenFlag;
/// let path = std::env::temp_dir().join(format!("lwt-doc-append-{}", std::process::id()));
/// let append = FileOptions {
///     flags: Some(vec![OpenFlag::Wronly, OpenFlag::Creat, OpenFlag::Append]),
///     ..FileOptions::default()
/// };
/// for word in ["one ", "two"] {
///     lwt::main::run(append.with_file(Output, &path, move |oc| io::write(&oc, word))).unwrap();
/// }
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "one two");
/// std::fs::remove_file(path).unwrap();
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileOptions {
    /// The buffer size (default: [`default_buffer_size`](super::default_buffer_size)).
    pub buffer_size: Option<usize>,
    /// The open flags, used exactly as given. Default: `Rdonly, Nonblock`
    /// for input, `Wronly, Creat, Trunc, Nonblock` for output.
    pub flags: Option<Vec<OpenFlag>>,
    /// The permissions of a created file (default `0o666`, minus the umask).
    pub perm: Option<u32>,
}

impl FileOptions {
    /// Opens the file at `path` as a channel of mode `mode` (Lwt's
    /// `open_file` with these options).
    pub fn open<M: Mode>(&self, mode: M, path: impl AsRef<Path>) -> Promise<Channel<M>> {
        let flags = self.flags.clone().unwrap_or_else(|| match M::KIND {
            ModeKind::Input => vec![OpenFlag::Rdonly, OpenFlag::Nonblock],
            ModeKind::Output => vec![OpenFlag::Wronly, OpenFlag::Creat, OpenFlag::Trunc, OpenFlag::Nonblock],
        });
        let perm = self.perm.unwrap_or(0o666);
        let mut builder = Builder::new(mode);
        if let Some(n) = self.buffer_size {
            builder = builder.buffer_size(n);
        }
        let path = path.as_ref().to_path_buf();
        unix::openfile(&path, &flags, perm)
            .catch(move |e| crate::rejected(with_path(e, &path)))
            .bind(move |fd| crate::of_result(builder.of_fd(fd)))
    }

    /// Opens the file, runs `f` on the channel, and closes the channel
    /// whatever `f` did (Lwt's `with_file` with these options).
    pub fn with_file<M: Mode, T: 'static>(
        &self,
        mode: M,
        path: impl AsRef<Path>,
        f: impl FnOnce(Channel<M>) -> Promise<T> + 'static,
    ) -> Promise<T> {
        self.open(mode, path).bind(move |ch| {
            let ch2 = ch.clone();
            crate::apply(f, ch).finalize(move || close(&ch2))
        })
    }
}

/// Puts the path into the message of an I/O error, keeping its kind.
fn with_path(e: Error, path: &Path) -> Error {
    match e.io_error() {
        Some(io) => Error::io(io::Error::new(io.kind(), format!("{}: {io}", path.display()))),
        None => e,
    }
}

/// Opens the file at `path` as a channel of mode `mode` (Lwt's
/// `open_file`): for input, read-only; for output, created or truncated
/// with permissions `0o666` (minus the umask). See [`FileOptions`] for the
/// others. A missing file rejects with an I/O error of kind `NotFound`
/// naming the path.
///
/// ```
/// use lwt::io::{self, Input, Output};
/// let path = std::env::temp_dir().join(format!("lwt-doc-open-{}", std::process::id()));
/// let p = io::open_file(Output, &path).bind(|oc| {
///     io::write_line(&oc, "saved").bind(move |()| io::close(&oc))
/// });
/// lwt::main::run(p).unwrap();
/// let ic = lwt::main::run(io::open_file(Input, &path)).unwrap();
/// assert_eq!(lwt::main::run(io::read_line(&ic)).unwrap(), "saved");
/// std::fs::remove_file(&path).unwrap();
/// let e = lwt::main::run(io::open_file(Input, &path)).unwrap_err();
/// assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::NotFound);
/// ```
pub fn open_file<M: Mode>(mode: M, path: impl AsRef<Path>) -> Promise<Channel<M>> {
    FileOptions::default().open(mode, path)
}

/// Opens the file, runs `f` on the channel, and closes it whatever `f` did
/// (Lwt's `with_file`).
///
/// ```
/// use lwt::io::{self, Input, Output};
/// let path = std::env::temp_dir().join(format!("lwt-doc-with-{}", std::process::id()));
/// lwt::main::run(io::with_file(Output, &path, |oc| io::write(&oc, "42"))).unwrap();
/// let n = io::with_file(Input, &path, |ic| io::read_to_string(&ic));
/// assert_eq!(lwt::main::run(n).unwrap(), "42");
/// std::fs::remove_file(path).unwrap();
/// ```
pub fn with_file<M: Mode, T: 'static>(
    mode: M,
    path: impl AsRef<Path>,
    f: impl FnOnce(Channel<M>) -> Promise<T> + 'static,
) -> Promise<T> {
    FileOptions::default().with_file(mode, path, f)
}

/// The size of the file at `path` in bytes (Lwt's `file_length`); a
/// directory rejects with `EISDIR`.
///
/// ```
/// let e = lwt::main::run(lwt::io::file_length("/")).unwrap_err();
/// assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::IsADirectory);
/// ```
pub fn file_length(path: impl AsRef<Path>) -> Promise<u64> {
    let path = path.as_ref().to_path_buf();
    let p2 = path.clone();
    unix::stat(&path)
        .catch(move |e| crate::rejected(with_path(e, &p2)))
        .bind(move |st| {
            if st.st_kind == FileKind::Dir {
                let e = io::Error::from_raw_os_error(libc::EISDIR);
                crate::rejected(Error::io(io::Error::new(e.kind(), format!("{}: {e}", path.display()))))
            } else {
                crate::resolved(st.st_size)
            }
        })
}

/// A stream over a file opened at the first `next` and closed at its end.
fn file_stream<T: 'static>(path: PathBuf, next: impl Fn(&InputChannel) -> Promise<Option<T>> + 'static) -> Stream<T> {
    let opened: Rc<RefCell<Option<Promise<InputChannel>>>> = Rc::new(RefCell::new(None));
    let next = Rc::new(next);
    stream::from(move || {
        let ch = opened
            .borrow_mut()
            .get_or_insert_with(|| open_file(Input, &path))
            .clone();
        let next = next.clone();
        ch.bind(move |ic| {
            next(&ic).bind(move |x| match x {
                Some(x) => crate::resolved(Some(x)),
                None => close(&ic).map(|()| None),
            })
        })
    })
}

/// The lines of the file at `path`, as a stream; the file is opened at the
/// first `next` and closed at its end (Lwt's `lines_of_file`).
///
/// ```
/// let path = std::env::temp_dir().join(format!("lwt-doc-lines-{}", std::process::id()));
/// std::fs::write(&path, "x\ny\n").unwrap();
/// let lines = lwt::main::run(lwt::io::lines_of_file(&path).to_list()).unwrap();
/// assert_eq!(lines, ["x", "y"]);
/// std::fs::remove_file(path).unwrap();
/// ```
pub fn lines_of_file(path: impl AsRef<Path>) -> Stream<String> {
    file_stream(path.as_ref().to_path_buf(), read_line_opt)
}

/// The bytes of the file at `path`, as a stream (Lwt's `chars_of_file`).
pub fn chars_of_file(path: impl AsRef<Path>) -> Stream<u8> {
    file_stream(path.as_ref().to_path_buf(), read_char_opt)
}

/// Writes `lines`, each followed by `\n`, to the file at `path`, created or
/// truncated (Lwt's `lines_to_file`).
///
/// ```
/// let path = std::env::temp_dir().join(format!("lwt-doc-l2f-{}", std::process::id()));
/// lwt::main::run(lwt::io::lines_to_file(&path, &lwt::stream::of_list(["a", "b"]))).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\nb\n");
/// std::fs::remove_file(path).unwrap();
/// ```
pub fn lines_to_file<S: AsRef<[u8]> + 'static>(path: impl AsRef<Path>, lines: &Stream<S>) -> Promise<()> {
    let lines = lines.share();
    with_file(Output, path, move |oc| write_lines(&oc, &lines))
}

/// Writes the bytes of `chars` to the file at `path`, created or truncated
/// (Lwt's `chars_to_file`).
pub fn chars_to_file(path: impl AsRef<Path>, chars: &Stream<u8>) -> Promise<()> {
    let chars = chars.share();
    with_file(Output, path, move |oc| write_chars(&oc, &chars))
}
