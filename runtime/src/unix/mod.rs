//! Unix system calls as promises: Lwt's `Lwt_unix`.
//!
//! - **Sleeping**: [`sleep`], [`timeout`], [`with_timeout`], [`auto_pause`].
//! - **Descriptors**: [`FileDescr`] with its mode ([`set_blocking`]),
//!   [`close`], readiness waits ([`wait_read`], [`wait_write`]), and
//!   [`read`], [`write`](fn@write), [`readv`], [`writev`], [`pread`], [`pwrite`],
//!   [`pipe`].
//! - **Sockets**: [`socket`], [`bind`], [`listen`], [`accept`], [`connect`],
//!   [`recv`], [`send`], [`recvfrom`], [`sendto`], options
//!   ([`setsockopt`] ...), TCP, UDP and Unix-domain.
//! - **Files and directories** (on worker threads): [`openfile`], [`stat`],
//!   [`rename`], [`mkdir`], [`files_of_directory`] ...
//! - **Processes and signals**: [`waitpid`], [`system`], [`on_signal`].
//! - **Names**: [`getaddrinfo`], [`getnameinfo`], [`gethostname`],
//!   [`gethostbyname`], [`getlogin`], [`getpwnam`].
//!
//! ```
//! // An echo over a socket pair, driven by the event loop.
//! use lwt::unix::{self, SocketDomain, SocketType};
//! let (a, b) = unix::socketpair(SocketDomain::Unix, SocketType::Stream, 0).unwrap();
//! let p = unix::write(&a, b"ping", 0, 4)
//!     .bind(move |_| unix::read(&b, vec![0; 4], 0, 4))
//!     .map(|(buf, n)| String::from_utf8_lossy(&buf[..n]).into_owned());
//! assert_eq!(lwt::main::run(p).unwrap(), "ping");
//! ```
//!
//! Every call that can fail rejects its promise (or, for the few calls that
//! Lwt makes synchronous, returns `Err`) with an [`Io`](crate::ErrorKind::Io)
//! error carrying the `std::io::Error`; bad arguments give
//! [`InvalidArgument`](crate::ErrorKind::InvalidArgument); nothing panics.
//!
//! # Differences from Lwt
//!
//! - Buffers are owned and handed back (`read(&fd, buf, ofs, len)` resolves
//!   to `(buf, n)`), since a promise cannot borrow.
//! - A [`FileDescr`] closes its descriptor when its last handle is dropped.
//! - Calls Lwt makes synchronous (`socket`, `listen`, `shutdown`,
//!   `getsockname`, `setsockopt` ...) return `Result`.
//! - [`readdir`] gives `None` at the end instead of raising `End_of_file`,
//!   and directory listings skip `.` and `..` (as `std::fs::read_dir`).
//! - [`getaddrinfo`] rejects when resolution fails (OCaml returns `[]`).
//! - Timestamps are `SystemTime`, durations `Duration`, paths `Path`.
//! - Jobs run on a pool of at most 64 threads by default
//!   ([`set_pool_size`]); when all are busy, jobs wait in a queue (Lwt runs
//!   them synchronously on the loop thread).

mod fd;
mod files;
mod names;
mod process;
pub(crate) mod signals;
mod sleep;
mod socket;
pub(crate) mod sys;

use std::io;

pub use fd::{
    abort, blocking, close, has_nonblock_flag, isatty, of_unix_file_descr, pipe, pipe_in, pipe_out, pread, pwrite,
    read, readable, readv, set_blocking, set_close_on_exec, stderr, stdin, stdout, wait_read, wait_write, writable,
    write, writev, FileDescr, State, IOV_MAX,
};
pub(crate) use fd::{check_range, fd_job, retry_io, try_now, wait_io_then, Waiting};
pub use files::{
    access, chdir, chmod, chown, closedir, fchmod, fchown, fdatasync, file_exists, files_of_directory, fstat, fsync,
    ftruncate, getcwd, link, lseek, lstat, mkdir, opendir, openfile, readdir, readdir_n, readlink, rename, rewinddir,
    rmdir, stat, symlink, truncate, unlink, utimes, AccessPermission, DirHandle, FileKind, OpenFlag, SeekCommand,
    Stats,
};
pub use names::{
    getaddrinfo, gethostbyname, gethostname, getlogin, getnameinfo, getpwnam, AddrInfo, GetAddrInfoOption,
    GetNameInfoOption, HostEntry, NameInfo, PasswdEntry,
};
pub use process::{system, wait, wait4, wait_count, waitpid, ProcessStatus, ResourceUsage, WaitFlag};
pub use signals::{disable_signal_handler, on_signal, SignalHandlerId};
pub use sleep::{auto_pause, auto_yield, sleep, timeout, with_timeout, yield_};
pub use socket::{
    accept, accept_n, bind, connect, getpeername, getsockname, getsockopt, getsockopt_error, getsockopt_float,
    getsockopt_int, getsockopt_optint, listen, recv, recvfrom, send, sendto, setsockopt, setsockopt_float,
    setsockopt_int, setsockopt_optint, shutdown, socket, socketpair, Accepted, MsgFlag, ShutdownCommand, SockAddr,
    SocketBoolOption, SocketDomain, SocketFloatOption, SocketIntOption, SocketOptIntOption, SocketType,
};

use crate::preemptive::{submit_job, Pool};
use crate::{Error, Promise};

/// The pool of the Unix jobs (Lwt_unix's, separate from `detach`'s).
static JOB_POOL: Pool = Pool::new("lwt-unix-job", 0, 64, usize::MAX, true);

/// Runs a blocking system call on a worker thread (Lwt's `run_job`).
pub(crate) fn job<T: Send + 'static>(f: impl FnOnce() -> io::Result<T> + Send + 'static) -> Promise<T> {
    submit_job(&JOB_POOL, f).bind(|r| crate::of_result(r.map_err(Error::io)))
}

/// The most threads that run Unix jobs (file, directory and name
/// operations) at once (Lwt's `pool_size`; default 64).
pub fn pool_size() -> usize {
    JOB_POOL.bounds().1
}

/// Sets the most threads that run Unix jobs at once (Lwt's
/// `set_pool_size`); rejects 0.
///
/// ```
/// lwt::unix::set_pool_size(16).unwrap();
/// assert_eq!(lwt::unix::pool_size(), 16);
/// assert!(lwt::unix::set_pool_size(0).is_err());
/// ```
pub fn set_pool_size(n: usize) -> Result<(), Error> {
    JOB_POOL.set_bounds(0, n)
}

/// The number of threads of the Unix job pool (Lwt's `thread_count`).
pub fn thread_count() -> usize {
    JOB_POOL.counts().0
}

/// The number of jobs waiting for a thread of the Unix job pool (Lwt's
/// `thread_waiting_count`).
pub fn thread_waiting_count() -> usize {
    JOB_POOL.counts().2
}
