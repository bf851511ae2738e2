//! The thin layer of raw system calls under `lwt::unix`.
//!
//! Every `unsafe` block of the Unix bindings lives here, each with the reason
//! it is sound. Functions take raw descriptors and plain Rust buffers and
//! return `io::Result`, reading `errno` right after the call; nothing here
//! knows about promises. Where `std` or `socket2` already offer a safe
//! wrapper (sockets, most path operations), the callers use those instead.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::time::Duration;

/// Turns a `-1`-on-error return value into an `io::Result`.
fn cvt<T: Default + PartialOrd>(ret: T) -> io::Result<T> {
    if ret < T::default() {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// A path as a C string; an interior NUL byte is an `InvalidInput` error.
pub(crate) fn cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// A string argument as a C string.
fn cstr_arg(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "argument contains a NUL byte"))
}

/// Reads the file status flags and sets or clears `O_NONBLOCK`.
pub(crate) fn set_nonblocking(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: fcntl with F_GETFL/F_SETFL takes and returns plain integers;
    // an invalid fd is reported as EBADF.
    unsafe {
        let flags = cvt(libc::fcntl(fd, libc::F_GETFL))?;
        let new = if on {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        if new != flags {
            cvt(libc::fcntl(fd, libc::F_SETFL, new))?;
        }
    }
    Ok(())
}

/// Whether `O_NONBLOCK` is set on `fd`.
pub(crate) fn is_nonblocking(fd: RawFd) -> io::Result<bool> {
    // SAFETY: F_GETFL reads an integer; no memory is passed.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    Ok(flags & libc::O_NONBLOCK != 0)
}

/// Sets or clears `FD_CLOEXEC`.
pub(crate) fn set_cloexec(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: F_GETFD/F_SETFD take and return plain integers.
    unsafe {
        let flags = cvt(libc::fcntl(fd, libc::F_GETFD))?;
        let new = if on {
            flags | libc::FD_CLOEXEC
        } else {
            flags & !libc::FD_CLOEXEC
        };
        if new != flags {
            cvt(libc::fcntl(fd, libc::F_SETFD, new))?;
        }
    }
    Ok(())
}

/// `read(2)` into `buf`.
pub(crate) fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the pointer and length describe `buf`, which is writable and
    // outlives the call.
    let n = cvt(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })?;
    Ok(n as usize)
}

/// `write(2)` from `buf`.
pub(crate) fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: the pointer and length describe `buf`, readable for the call.
    let n = cvt(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })?;
    Ok(n as usize)
}

/// `read(2)`, or `recv(2)` without flags (the same on a stream socket, on
/// a shorter kernel path) when `stream_socket`.
#[inline]
pub(crate) fn read_or_recv(fd: RawFd, buf: &mut [u8], stream_socket: bool) -> io::Result<usize> {
    if !stream_socket {
        return read(fd, buf);
    }
    // SAFETY: the pointer and length describe `buf`, which is writable and
    // outlives the call.
    let n = cvt(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) })?;
    Ok(n as usize)
}

/// `write(2)`, or `send(2)` without flags (the same on a stream socket,
/// `SIGPIPE` included) when `stream_socket`.
#[inline]
pub(crate) fn write_or_send(fd: RawFd, buf: &[u8], stream_socket: bool) -> io::Result<usize> {
    if !stream_socket {
        return write(fd, buf);
    }
    // SAFETY: the pointer and length describe `buf`, readable for the call.
    let n = cvt(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), 0) })?;
    Ok(n as usize)
}

/// `pread(2)` at `offset`.
pub(crate) fn pread(fd: RawFd, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let off = offset_arg(offset)?;
    // SAFETY: as for `read`.
    let n = cvt(unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off) })?;
    Ok(n as usize)
}

/// `pwrite(2)` at `offset`.
pub(crate) fn pwrite(fd: RawFd, buf: &[u8], offset: u64) -> io::Result<usize> {
    let off = offset_arg(offset)?;
    // SAFETY: as for `write`.
    let n = cvt(unsafe { libc::pwrite(fd, buf.as_ptr().cast(), buf.len(), off) })?;
    Ok(n as usize)
}

fn offset_arg(offset: u64) -> io::Result<libc::off_t> {
    libc::off_t::try_from(offset).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file offset too large"))
}

/// The most buffers one `readv`/`writev` call takes (`IOV_MAX`).
pub(crate) const IOV_MAX: usize = 1024;

/// `readv(2)` into the given buffers (at most [`IOV_MAX`] of them are used).
pub(crate) fn readv(fd: RawFd, bufs: &mut [&mut [u8]]) -> io::Result<usize> {
    let iov: Vec<libc::iovec> = bufs
        .iter_mut()
        .take(IOV_MAX)
        .map(|b| libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: b.len(),
        })
        .collect();
    // SAFETY: each iovec points into a distinct live, writable buffer of
    // `bufs`, borrowed mutably for the duration of the call.
    let n = cvt(unsafe { libc::readv(fd, iov.as_ptr(), iov.len() as libc::c_int) })?;
    Ok(n as usize)
}

/// `writev(2)` from the given buffers (at most [`IOV_MAX`] of them are used).
pub(crate) fn writev(fd: RawFd, bufs: &[&[u8]]) -> io::Result<usize> {
    let iov: Vec<libc::iovec> = bufs
        .iter()
        .take(IOV_MAX)
        .map(|b| libc::iovec {
            iov_base: b.as_ptr() as *mut libc::c_void,
            iov_len: b.len(),
        })
        .collect();
    // SAFETY: each iovec points into a live buffer of `bufs`; writev only
    // reads through them.
    let n = cvt(unsafe { libc::writev(fd, iov.as_ptr(), iov.len() as libc::c_int) })?;
    Ok(n as usize)
}

/// `recv(2)` with flags.
pub(crate) fn recv(fd: RawFd, buf: &mut [u8], flags: i32) -> io::Result<usize> {
    // SAFETY: pointer and length describe the writable `buf`.
    let n = cvt(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) })?;
    Ok(n as usize)
}

/// `send(2)` with flags (`MSG_NOSIGNAL` is always added: a closed peer is an
/// `EPIPE` error, never a process-killing `SIGPIPE`).
pub(crate) fn send(fd: RawFd, buf: &[u8], flags: i32) -> io::Result<usize> {
    // SAFETY: pointer and length describe the readable `buf`.
    let n = cvt(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), flags | libc::MSG_NOSIGNAL) })?;
    Ok(n as usize)
}

/// `recvfrom(2)`: the byte count and the sender's raw address.
pub(crate) fn recvfrom(fd: RawFd, buf: &mut [u8], flags: i32) -> io::Result<(usize, socket2::SockAddr)> {
    let mut n = 0usize;
    // SAFETY: `try_init` hands us zeroed sockaddr storage and its length,
    // which recvfrom fills in; the data buffer is the writable `buf`.
    let ((), addr) = unsafe {
        socket2::SockAddr::try_init(|storage, len| {
            let r = libc::recvfrom(fd, buf.as_mut_ptr().cast(), buf.len(), flags, storage.cast(), len);
            n = cvt(r)? as usize;
            Ok(())
        })
    }?;
    Ok((n, addr))
}

/// `sendto(2)` (with `MSG_NOSIGNAL`).
pub(crate) fn sendto(fd: RawFd, buf: &[u8], flags: i32, addr: &socket2::SockAddr) -> io::Result<usize> {
    // SAFETY: the data pointer/length describe `buf`; the address pointer
    // and length come from a valid `SockAddr` that outlives the call.
    let n = cvt(unsafe {
        libc::sendto(
            fd,
            buf.as_ptr().cast(),
            buf.len(),
            flags | libc::MSG_NOSIGNAL,
            addr.as_ptr().cast(),
            addr.len(),
        )
    })?;
    Ok(n as usize)
}

/// `pipe2(O_CLOEXEC | O_NONBLOCK)`: (read end, write end).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a writable array of two ints, as pipe2 requires.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) })?;
    // SAFETY: pipe2 succeeded, so both are fresh descriptors we now own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `close(2)` of a descriptor whose ownership the caller gives up.
pub(crate) fn close(fd: RawFd) -> io::Result<()> {
    // SAFETY: the caller owned `fd` and no longer uses it.
    cvt(unsafe { libc::close(fd) }).map(drop)
}

/// A zero-timeout `poll(2)`: is `fd` ready for `events` right now?
pub(crate) fn poll_now(fd: RawFd, events: i16) -> io::Result<bool> {
    let mut p = libc::pollfd { fd, events, revents: 0 };
    // SAFETY: one valid pollfd, zero timeout.
    let n = cvt(unsafe { libc::poll(&mut p, 1, 0) })?;
    if n > 0 && p.revents & libc::POLLNVAL != 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    Ok(n > 0)
}

pub(crate) use libc::{POLLIN, POLLOUT};

/// `lseek(2)`.
pub(crate) fn lseek(fd: RawFd, offset: i64, whence: i32) -> io::Result<u64> {
    // SAFETY: plain integer arguments.
    let r = cvt(unsafe { libc::lseek(fd, offset as libc::off_t, whence) })?;
    Ok(r as u64)
}

/// `ftruncate(2)`.
pub(crate) fn ftruncate(fd: RawFd, len: u64) -> io::Result<()> {
    let len = offset_arg(len)?;
    // SAFETY: plain integer arguments.
    cvt(unsafe { libc::ftruncate(fd, len) }).map(drop)
}

/// `truncate(2)`.
pub(crate) fn truncate(path: &Path, len: u64) -> io::Result<()> {
    let p = cstring(path)?;
    let len = offset_arg(len)?;
    // SAFETY: `p` is a NUL-terminated string alive for the call.
    cvt(unsafe { libc::truncate(p.as_ptr(), len) }).map(drop)
}

/// `fsync(2)`.
pub(crate) fn fsync(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain integer argument.
    cvt(unsafe { libc::fsync(fd) }).map(drop)
}

/// `fdatasync(2)`.
pub(crate) fn fdatasync(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain integer argument.
    cvt(unsafe { libc::fdatasync(fd) }).map(drop)
}

/// `fchmod(2)`.
pub(crate) fn fchmod(fd: RawFd, perm: u32) -> io::Result<()> {
    // SAFETY: plain integer arguments.
    cvt(unsafe { libc::fchmod(fd, perm as libc::mode_t) }).map(drop)
}

/// `fchown(2)`; `None` leaves that id unchanged.
pub(crate) fn fchown(fd: RawFd, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
    let u = uid.unwrap_or(u32::MAX);
    let g = gid.unwrap_or(u32::MAX);
    // SAFETY: plain integer arguments (-1 means "unchanged").
    cvt(unsafe { libc::fchown(fd, u, g) }).map(drop)
}

/// `access(2)` with a mask of `R_OK | W_OK | X_OK` (or `F_OK`).
pub(crate) fn access(path: &Path, mode: i32) -> io::Result<()> {
    let p = cstring(path)?;
    // SAFETY: `p` is NUL-terminated and alive for the call.
    cvt(unsafe { libc::access(p.as_ptr(), mode) }).map(drop)
}

/// `stat(2)`, `lstat(2)` or, with `fd`, `fstat(2)`.
pub(crate) fn stat(path: Option<&Path>, fd: RawFd, follow: bool) -> io::Result<libc::stat> {
    // SAFETY: an all-zero `struct stat` is a valid value to be overwritten.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    match path {
        Some(path) => {
            let p = cstring(path)?;
            // SAFETY: `p` is NUL-terminated, `st` is writable.
            cvt(unsafe {
                if follow {
                    libc::stat(p.as_ptr(), &mut st)
                } else {
                    libc::lstat(p.as_ptr(), &mut st)
                }
            })?;
        }
        // SAFETY: `st` is writable; a bad fd is EBADF.
        None => {
            cvt(unsafe { libc::fstat(fd, &mut st) })?;
        }
    }
    Ok(st)
}

/// `utimensat(2)`; `None` means "now".
pub(crate) fn utimes(path: &Path, atime: Option<Duration>, mtime: Option<Duration>) -> io::Result<()> {
    fn ts(t: Option<Duration>) -> libc::timespec {
        match t {
            Some(d) => libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                tv_nsec: d.subsec_nanos() as _,
            },
            None => libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_NOW,
            },
        }
    }
    let p = cstring(path)?;
    let times = [ts(atime), ts(mtime)];
    // SAFETY: `p` is NUL-terminated; `times` is an array of two timespecs.
    cvt(unsafe { libc::utimensat(libc::AT_FDCWD, p.as_ptr(), times.as_ptr(), 0) }).map(drop)
}

/// `isatty(3)`.
pub(crate) fn isatty(fd: RawFd) -> bool {
    // SAFETY: plain integer argument; returns 0 or 1.
    unsafe { libc::isatty(fd) == 1 }
}

/// The result of `wait4`: the pid (0 with `WNOHANG` when nothing changed),
/// the raw status, user and system CPU time.
pub(crate) struct WaitResult {
    pub(crate) pid: i32,
    pub(crate) status: i32,
    pub(crate) utime: Duration,
    pub(crate) stime: Duration,
}

/// `wait4(2)`.
pub(crate) fn wait4(pid: i32, options: i32) -> io::Result<WaitResult> {
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; both out-pointers are writable.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = loop {
        // SAFETY: see above.
        let r = unsafe { libc::wait4(pid, &mut status, options, &mut ru) };
        if r >= 0 {
            break r;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    Ok(WaitResult {
        pid: r,
        status,
        utime: tv(ru.ru_utime),
        stime: tv(ru.ru_stime),
    })
}

/// Decodes a raw wait status: (0 = exited, 1 = signaled, 2 = stopped, code).
pub(crate) fn decode_status(status: i32) -> (u8, i32) {
    if libc::WIFEXITED(status) {
        (0, libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        (1, libc::WTERMSIG(status))
    } else {
        (2, libc::WSTOPSIG(status))
    }
}

pub(crate) use libc::{WNOHANG, WUNTRACED};

// ---------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------

/// The write end of the process-wide signal pipe, read by the handler.
static SIGNAL_PIPE_WRITE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// Sets the descriptor the signal handler writes signal numbers to.
pub(crate) fn set_signal_pipe(fd: RawFd) {
    SIGNAL_PIPE_WRITE.store(fd, std::sync::atomic::Ordering::SeqCst);
}

extern "C" fn on_signal(sig: libc::c_int) {
    // Only async-signal-safe work here: one write(2) of the signal number.
    // errno is saved and restored so the interrupted code never sees ours.
    // SAFETY: __errno_location returns this thread's errno slot.
    let saved = unsafe { *libc::__errno_location() };
    let fd = SIGNAL_PIPE_WRITE.load(std::sync::atomic::Ordering::Relaxed);
    if fd >= 0 {
        let b = sig as u8;
        // SAFETY: writing one byte from a local; a full pipe just drops it
        // (the write end is non-blocking), which coalesces signals.
        unsafe {
            libc::write(fd, (&b as *const u8).cast(), 1);
        }
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

/// A saved signal disposition, restored when the last handler goes away.
pub(crate) struct SavedAction(libc::sigaction);

// SAFETY: a `sigaction` is plain data (a handler address, a mask, flags).
unsafe impl Send for SavedAction {}

/// Installs our handler for `sig` and returns the previous disposition.
pub(crate) fn install_handler(sig: i32) -> io::Result<SavedAction> {
    // SAFETY: a zeroed sigaction is valid; we fill handler, mask and flags,
    // and sigaction writes the old one into `old`.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = on_signal as *const () as usize;
        act.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut act.sa_mask);
        let mut old: libc::sigaction = std::mem::zeroed();
        cvt(libc::sigaction(sig, &act, &mut old))?;
        Ok(SavedAction(old))
    }
}

/// Puts back a disposition saved by [`install_handler`].
pub(crate) fn restore_handler(sig: i32, saved: &SavedAction) -> io::Result<()> {
    // SAFETY: `saved.0` is a disposition the kernel gave us for this signal.
    cvt(unsafe { libc::sigaction(sig, &saved.0, std::ptr::null_mut()) }).map(drop)
}

/// A pipe for the signal handler: the read end blocking (a thread reads it),
/// the write end non-blocking (the handler must never block).
pub(crate) fn signal_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = pipe()?;
    use std::os::fd::AsRawFd;
    set_nonblocking(r.as_raw_fd(), false)?;
    Ok((r, w))
}

// ---------------------------------------------------------------------------
// Names, hosts and users
// ---------------------------------------------------------------------------

/// One entry of a `getaddrinfo` answer.
pub(crate) struct RawAddrInfo {
    pub(crate) family: i32,
    pub(crate) socktype: i32,
    pub(crate) protocol: i32,
    pub(crate) addr: Option<socket2::SockAddr>,
    pub(crate) canonname: Option<String>,
}

fn gai_error(code: i32) -> io::Error {
    if code == libc::EAI_SYSTEM {
        return io::Error::last_os_error();
    }
    // SAFETY: gai_strerror returns a pointer to a static string.
    let msg = unsafe { CStr::from_ptr(libc::gai_strerror(code)) };
    let kind = match code {
        libc::EAI_NONAME | libc::EAI_NODATA => io::ErrorKind::NotFound,
        libc::EAI_AGAIN => io::ErrorKind::WouldBlock,
        libc::EAI_MEMORY => io::ErrorKind::OutOfMemory,
        libc::EAI_BADFLAGS | libc::EAI_FAMILY | libc::EAI_SOCKTYPE | libc::EAI_SERVICE => io::ErrorKind::InvalidInput,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("getaddrinfo: {}", msg.to_string_lossy()))
}

/// `getaddrinfo(3)` (blocking: call it from a worker thread).
pub(crate) fn getaddrinfo(
    host: &str,
    service: &str,
    flags: i32,
    family: i32,
    socktype: i32,
    protocol: i32,
) -> io::Result<Vec<RawAddrInfo>> {
    let h = cstr_arg(host)?;
    let s = cstr_arg(service)?;
    // SAFETY: a zeroed addrinfo is the documented way to start the hints.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = flags;
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_protocol = protocol;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    let hp = if host.is_empty() { std::ptr::null() } else { h.as_ptr() };
    let sp = if service.is_empty() {
        std::ptr::null()
    } else {
        s.as_ptr()
    };
    // SAFETY: the strings are NUL-terminated or null; `res` receives a list
    // we free below with freeaddrinfo.
    let code = unsafe { libc::getaddrinfo(hp, sp, &hints, &mut res) };
    if code != 0 {
        return Err(gai_error(code));
    }
    let mut out = Vec::new();
    let mut cur = res;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getaddrinfo returned, not yet freed.
        let ai = unsafe { &*cur };
        let addr = if ai.ai_addr.is_null() {
            None
        } else {
            let len = ai.ai_addrlen;
            // SAFETY: ai_addr points to ai_addrlen bytes of a socket address,
            // which we copy into zeroed storage large enough for any family.
            unsafe {
                socket2::SockAddr::try_init(|storage, l| {
                    let n = (len as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
                    std::ptr::copy_nonoverlapping(ai.ai_addr.cast::<u8>(), storage.cast::<u8>(), n);
                    *l = n as libc::socklen_t;
                    Ok(())
                })
            }
            .ok()
            .map(|((), a)| a)
        };
        let canonname = if ai.ai_canonname.is_null() {
            None
        } else {
            // SAFETY: a non-null canonname is a NUL-terminated string in the list.
            Some(
                unsafe { CStr::from_ptr(ai.ai_canonname) }
                    .to_string_lossy()
                    .into_owned(),
            )
        };
        out.push(RawAddrInfo {
            family: ai.ai_family,
            socktype: ai.ai_socktype,
            protocol: ai.ai_protocol,
            addr,
            canonname,
        });
        cur = ai.ai_next;
    }
    // SAFETY: `res` is the head of the list returned above, freed once.
    unsafe { libc::freeaddrinfo(res) };
    Ok(out)
}

/// `getnameinfo(3)` (blocking): (host, service).
pub(crate) fn getnameinfo(addr: &socket2::SockAddr, flags: i32) -> io::Result<(String, String)> {
    let mut host = [0 as libc::c_char; 1025];
    let mut serv = [0 as libc::c_char; 64];
    // SAFETY: the address pointer/length come from a valid SockAddr; the
    // output buffers are writable with the lengths given.
    let code = unsafe {
        libc::getnameinfo(
            addr.as_ptr().cast(),
            addr.len(),
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            serv.as_mut_ptr(),
            serv.len() as libc::socklen_t,
            flags,
        )
    };
    if code != 0 {
        return Err(gai_error(code));
    }
    // SAFETY: on success both buffers hold NUL-terminated strings.
    let (h, s) = unsafe { (CStr::from_ptr(host.as_ptr()), CStr::from_ptr(serv.as_ptr())) };
    Ok((h.to_string_lossy().into_owned(), s.to_string_lossy().into_owned()))
}

pub(crate) use libc::{
    AI_CANONNAME, AI_NUMERICHOST, AI_PASSIVE, NI_DGRAM, NI_NAMEREQD, NI_NOFQDN, NI_NUMERICHOST, NI_NUMERICSERV,
};

/// `gethostname(2)`.
pub(crate) fn gethostname() -> io::Result<OsString> {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for its length; the result is NUL-terminated
    // when it fits (we keep one spare byte).
    cvt(unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) })?;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(OsStr::from_bytes(&buf[..end]).to_os_string())
}

/// `getlogin(3)`. Its result lives in a static buffer, so calls are
/// serialized by a lock and the name is copied out at once.
pub(crate) fn getlogin() -> io::Result<String> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: getlogin returns null or a NUL-terminated static string, which
    // we copy before releasing the lock.
    let p = unsafe { libc::getlogin() };
    if p.is_null() {
        let e = io::Error::last_os_error();
        return Err(if e.raw_os_error() == Some(0) {
            io::Error::new(io::ErrorKind::NotFound, "getlogin: no login name")
        } else {
            e
        });
    }
    // SAFETY: non-null: a NUL-terminated string (see above).
    Ok(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// A password-database entry, copied out of libc's buffers.
pub(crate) struct RawPasswd {
    pub(crate) name: OsString,
    pub(crate) passwd: OsString,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) gecos: OsString,
    pub(crate) dir: OsString,
    pub(crate) shell: OsString,
}

/// `getpwnam_r(3)`; `Ok(None)` when there is no such user.
pub(crate) fn getpwnam(name: &str) -> io::Result<Option<RawPasswd>> {
    let n = cstr_arg(name)?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    loop {
        // SAFETY: zeroed passwd is valid to be filled in; `buf` backs its
        // strings; `result` receives either null or a pointer to `pw`.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let code = unsafe { libc::getpwnam_r(n.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut result) };
        if code == libc::ERANGE && buf.len() < (1 << 20) {
            let len = buf.len() * 2;
            buf.resize(len, 0);
            continue;
        }
        if code != 0 {
            return Err(io::Error::from_raw_os_error(code));
        }
        if result.is_null() {
            return Ok(None);
        }
        let s = |p: *const libc::c_char| {
            if p.is_null() {
                OsString::new()
            } else {
                // SAFETY: non-null fields point to NUL-terminated strings in `buf`.
                OsString::from_vec(unsafe { CStr::from_ptr(p) }.to_bytes().to_vec())
            }
        };
        return Ok(Some(RawPasswd {
            name: s(pw.pw_name),
            passwd: s(pw.pw_passwd),
            uid: pw.pw_uid,
            gid: pw.pw_gid,
            gecos: s(pw.pw_gecos),
            dir: s(pw.pw_dir),
            shell: s(pw.pw_shell),
        }));
    }
}

// ---------------------------------------------------------------------------
// Socket options with integer values
// ---------------------------------------------------------------------------

/// `getsockopt(2)` of an `int`-valued option.
pub(crate) fn getsockopt_int(fd: RawFd, level: i32, name: i32) -> io::Result<i32> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are writable and describe an int-sized buffer.
    cvt(unsafe { libc::getsockopt(fd, level, name, (&mut v as *mut libc::c_int).cast(), &mut len) })?;
    Ok(v)
}

/// `setsockopt(2)` of an `int`-valued option.
pub(crate) fn setsockopt_int(fd: RawFd, level: i32, name: i32, v: i32) -> io::Result<()> {
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` is a live int and `len` its size.
    cvt(unsafe { libc::setsockopt(fd, level, name, (&v as *const libc::c_int).cast(), len) }).map(drop)
}

/// Wraps a descriptor number the caller owns (fresh from a successful call).
pub(crate) fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: callers pass a descriptor that was just returned to them by
    // the kernel and that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// `accept4(2)` giving a non-blocking, close-on-exec socket and the peer.
pub(crate) fn accept(fd: RawFd) -> io::Result<(OwnedFd, socket2::SockAddr)> {
    let mut newfd = -1;
    // SAFETY: `try_init` gives zeroed address storage and its length, which
    // accept4 fills in.
    let ((), addr) = unsafe {
        socket2::SockAddr::try_init(|storage, len| {
            newfd = cvt(libc::accept4(
                fd,
                storage.cast(),
                len,
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            ))?;
            Ok(())
        })
    }?;
    Ok((owned(newfd), addr))
}

/// `open(2)` with `O_CLOEXEC` unless `keep_exec`.
pub(crate) fn open(path: &Path, flags: i32, perm: u32) -> io::Result<OwnedFd> {
    let p = cstring(path)?;
    // SAFETY: `p` is NUL-terminated; mode is passed as the variadic int.
    let fd = cvt(unsafe { libc::open(p.as_ptr(), flags, perm as libc::c_uint) })?;
    Ok(owned(fd))
}
