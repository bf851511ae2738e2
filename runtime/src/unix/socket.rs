//! Sockets: TCP, UDP and Unix-domain (Lwt_unix's socket functions).
//!
//! Sockets are made non-blocking and close-on-exec. `accept`, `connect`,
//! `recv`, `send`, `recvfrom` and `sendto` try the call at once and wait for
//! readiness on `EAGAIN` / `EINPROGRESS`; canceling their promise removes
//! the wait. Address conversions and most options go through `socket2`.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

use socket2::{SockAddr as RawAddr, SockRef};

use super::{check_range, retry_io, sys, FileDescr};
use crate::main::Dir;
use crate::{Error, Promise};

/// A socket domain (Lwt's `socket_domain`: `PF_UNIX`, `PF_INET`, `PF_INET6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketDomain {
    /// Unix-domain sockets (`PF_UNIX`).
    Unix,
    /// IPv4 (`PF_INET`).
    Inet,
    /// IPv6 (`PF_INET6`).
    Inet6,
}

impl SocketDomain {
    pub(crate) fn raw(self) -> i32 {
        match self {
            SocketDomain::Unix => libc::AF_UNIX,
            SocketDomain::Inet => libc::AF_INET,
            SocketDomain::Inet6 => libc::AF_INET6,
        }
    }

    pub(crate) fn of_raw(n: i32) -> Option<SocketDomain> {
        match n {
            libc::AF_UNIX => Some(SocketDomain::Unix),
            libc::AF_INET => Some(SocketDomain::Inet),
            libc::AF_INET6 => Some(SocketDomain::Inet6),
            _ => None,
        }
    }
}

/// A socket type (Lwt's `socket_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketType {
    /// A byte stream (`SOCK_STREAM`, TCP).
    Stream,
    /// Datagrams (`SOCK_DGRAM`, UDP).
    Dgram,
    /// Raw datagrams (`SOCK_RAW`).
    Raw,
    /// Ordered datagrams (`SOCK_SEQPACKET`).
    Seqpacket,
}

impl SocketType {
    pub(crate) fn raw(self) -> i32 {
        match self {
            SocketType::Stream => libc::SOCK_STREAM,
            SocketType::Dgram => libc::SOCK_DGRAM,
            SocketType::Raw => libc::SOCK_RAW,
            SocketType::Seqpacket => libc::SOCK_SEQPACKET,
        }
    }

    pub(crate) fn of_raw(n: i32) -> Option<SocketType> {
        match n {
            libc::SOCK_STREAM => Some(SocketType::Stream),
            libc::SOCK_DGRAM => Some(SocketType::Dgram),
            libc::SOCK_RAW => Some(SocketType::Raw),
            libc::SOCK_SEQPACKET => Some(SocketType::Seqpacket),
            _ => None,
        }
    }
}

/// A socket address (Lwt's `sockaddr`: `ADDR_UNIX` / `ADDR_INET`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SockAddr {
    /// A Unix-domain path; an empty path is an unnamed socket.
    Unix(PathBuf),
    /// An IPv4 or IPv6 address with a port.
    Inet(SocketAddr),
}

impl From<SocketAddr> for SockAddr {
    fn from(a: SocketAddr) -> SockAddr {
        SockAddr::Inet(a)
    }
}

impl std::fmt::Display for SockAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SockAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            SockAddr::Inet(a) => write!(f, "{a}"),
        }
    }
}

impl SockAddr {
    /// Parses `"host:port"` / `"[v6]:port"` into an internet address, or
    /// rejects with [`InvalidArgument`](crate::ErrorKind::InvalidArgument).
    ///
    /// ```
    /// let a = lwt::unix::SockAddr::parse_inet("127.0.0.1:80").unwrap();
    /// assert_eq!(a.to_string(), "127.0.0.1:80");
    /// assert!(lwt::unix::SockAddr::parse_inet("not an address").is_err());
    /// ```
    pub fn parse_inet(s: &str) -> Result<SockAddr, Error> {
        s.parse::<SocketAddr>()
            .map(SockAddr::Inet)
            .map_err(|e| Error::invalid_argument(format!("unparsable socket address {s:?}: {e}")))
    }

    pub(crate) fn to_raw(&self) -> Result<RawAddr, Error> {
        match self {
            SockAddr::Inet(a) => Ok(RawAddr::from(*a)),
            SockAddr::Unix(p) => RawAddr::unix(p).map_err(Error::io),
        }
    }

    pub(crate) fn of_raw(a: &RawAddr) -> SockAddr {
        if let Some(s) = a.as_socket() {
            return SockAddr::Inet(s);
        }
        SockAddr::Unix(a.as_pathname().map(PathBuf::from).unwrap_or_default())
    }
}

/// What [`shutdown`] closes (Lwt's `shutdown_command`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownCommand {
    /// No more receiving.
    Receive,
    /// No more sending.
    Send,
    /// Neither.
    All,
}

/// Flags of [`recv`] / [`send`] (Lwt's `msg_flag`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsgFlag {
    /// Out-of-band data (`MSG_OOB`).
    Oob,
    /// Bypass routing (`MSG_DONTROUTE`).
    Dontroute,
    /// Look at the data without consuming it (`MSG_PEEK`).
    Peek,
}

fn msg_flags(flags: &[MsgFlag]) -> i32 {
    flags.iter().fold(0, |acc, f| {
        acc | match f {
            MsgFlag::Oob => libc::MSG_OOB,
            MsgFlag::Dontroute => libc::MSG_DONTROUTE,
            MsgFlag::Peek => libc::MSG_PEEK,
        }
    })
}

fn new_socket(domain: SocketDomain, ty: SocketType, protocol: i32) -> io::Result<OwnedFd> {
    let s = socket2::Socket::new(
        socket2::Domain::from(domain.raw()),
        socket2::Type::from(ty.raw()),
        (protocol != 0).then(|| socket2::Protocol::from(protocol)),
    )?;
    s.set_nonblocking(true)?;
    Ok(OwnedFd::from(s))
}

/// Makes a socket, non-blocking and close-on-exec (Lwt's `socket`).
/// `protocol` 0 picks the default for the type.
///
/// ```
/// use lwt::unix::{socket, SocketDomain, SocketType};
/// let s = socket(SocketDomain::Inet, SocketType::Stream, 0).unwrap();
/// assert!(!s.is_blocking());
/// ```
pub fn socket(domain: SocketDomain, ty: SocketType, protocol: i32) -> Result<FileDescr, Error> {
    new_socket(domain, ty, protocol)
        .map(FileDescr::nonblocking)
        .map_err(Error::io)
}

/// Makes a pair of connected sockets (Lwt's `socketpair`).
pub fn socketpair(domain: SocketDomain, ty: SocketType, protocol: i32) -> Result<(FileDescr, FileDescr), Error> {
    let (a, b) = socket2::Socket::pair(
        socket2::Domain::from(domain.raw()),
        socket2::Type::from(ty.raw()),
        (protocol != 0).then(|| socket2::Protocol::from(protocol)),
    )
    .map_err(Error::io)?;
    a.set_nonblocking(true).map_err(Error::io)?;
    b.set_nonblocking(true).map_err(Error::io)?;
    Ok((FileDescr::nonblocking(a.into()), FileDescr::nonblocking(b.into())))
}

fn sock<R>(fd: &FileDescr, f: impl FnOnce(SockRef<'_>) -> io::Result<R>) -> Result<R, Error> {
    fd.with_fd(|b| f(SockRef::from(&b)))
}

/// Binds the socket to an address (Lwt's `bind`, a promise since Lwt 3).
///
/// ```
/// use lwt::unix::{bind, getsockname, socket, SockAddr, SocketDomain, SocketType};
/// let s = socket(SocketDomain::Inet, SocketType::Dgram, 0).unwrap();
/// lwt::main::run(bind(&s, &SockAddr::parse_inet("127.0.0.1:0").unwrap())).unwrap();
/// assert!(matches!(getsockname(&s).unwrap(), SockAddr::Inet(a) if a.port() != 0));
/// ```
pub fn bind(fd: &FileDescr, addr: &SockAddr) -> Promise<()> {
    let r = addr.to_raw().and_then(|a| sock(fd, |s| s.bind(&a)));
    crate::of_result(r)
}

/// Listens for connections with a queue of `backlog` (Lwt's `listen`).
pub fn listen(fd: &FileDescr, backlog: i32) -> Result<(), Error> {
    sock(fd, |s| s.listen(backlog))
}

/// Accepts one connection: the new socket (non-blocking, close-on-exec) and
/// the peer's address (Lwt's `accept`). Cancelable while it waits.
///
/// ```
/// use lwt::unix::*;
/// let l = socket(SocketDomain::Inet, SocketType::Stream, 0).unwrap();
/// setsockopt(&l, SocketBoolOption::SoReuseaddr, true).unwrap();
/// lwt::main::run(bind(&l, &SockAddr::parse_inet("127.0.0.1:0").unwrap())).unwrap();
/// listen(&l, 16).unwrap();
/// let addr = getsockname(&l).unwrap();
/// let c = socket(SocketDomain::Inet, SocketType::Stream, 0).unwrap();
/// let both = lwt::both(accept(&l), connect(&c, &addr));
/// let ((server_side, peer), ()) = lwt::main::run(both).unwrap();
/// assert_eq!(peer, getsockname(&c).unwrap());
/// # drop(server_side);
/// ```
pub fn accept(fd: &FileDescr) -> Promise<(FileDescr, SockAddr)> {
    retry_io(fd.clone(), Dir::Read, accept_raw)
}

fn accept_raw(raw: i32) -> io::Result<(FileDescr, SockAddr)> {
    let (s, a) = sys::accept(raw)?;
    Ok((FileDescr::nonblocking(s), SockAddr::of_raw(&a)))
}

/// What [`accept_n`] gives: the connections, and the error that stopped
/// accepting early, if any.
pub type Accepted = (Vec<(FileDescr, SockAddr)>, Option<Error>);

/// Accepts up to `n` connections that are already waiting, waiting for at
/// least one (Lwt's `accept_n`). Resolves to the connections and, if
/// accepting stopped on an error after some succeeded, that error.
pub fn accept_n(fd: &FileDescr, n: usize) -> Promise<Accepted> {
    let n = n.max(1);
    let fd2 = fd.clone();
    accept(fd).map(move |first| {
        let mut got = vec![first];
        let mut err = None;
        if let Ok(raw) = fd2.check() {
            while got.len() < n {
                match accept_raw(raw) {
                    Ok(c) => got.push(c),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        err = Some(Error::io(e));
                        break;
                    }
                }
            }
        }
        (got, err)
    })
}

/// Connects the socket (Lwt's `connect`). Cancelable while it waits; a
/// refused connection rejects with `ECONNREFUSED`.
pub fn connect(fd: &FileDescr, addr: &SockAddr) -> Promise<()> {
    let raw_addr = match addr.to_raw() {
        Ok(a) => a,
        Err(e) => return crate::rejected(e),
    };
    match sock(fd, |s| s.connect(&raw_addr)) {
        Ok(()) => crate::resolved(()),
        Err(e) => {
            let in_progress = e.io_error().is_some_and(|io| {
                matches!(
                    io.raw_os_error(),
                    Some(libc::EINPROGRESS) | Some(libc::EAGAIN) | Some(libc::EINTR)
                )
            });
            if !in_progress {
                return crate::rejected(e);
            }
            // The connection completes in the background; writability
            // tells it ended, SO_ERROR tells how.
            let fd2 = fd.clone();
            fd.wait_ready(Dir::Write).bind(move |()| {
                crate::of_result(sock(&fd2, |s| s.take_error()).and_then(|err| match err {
                    Some(e) => Err(Error::io(e)),
                    None => Ok(()),
                }))
            })
        }
    }
}

/// Shuts down one or both directions of a connection (Lwt's `shutdown`).
pub fn shutdown(fd: &FileDescr, cmd: ShutdownCommand) -> Result<(), Error> {
    let how = match cmd {
        ShutdownCommand::Receive => Shutdown::Read,
        ShutdownCommand::Send => Shutdown::Write,
        ShutdownCommand::All => Shutdown::Both,
    };
    sock(fd, |s| s.shutdown(how))
}

/// The socket's own address (Lwt's `getsockname`).
pub fn getsockname(fd: &FileDescr) -> Result<SockAddr, Error> {
    sock(fd, |s| s.local_addr()).map(|a| SockAddr::of_raw(&a))
}

/// The connected peer's address (Lwt's `getpeername`).
pub fn getpeername(fd: &FileDescr) -> Result<SockAddr, Error> {
    sock(fd, |s| s.peer_addr()).map(|a| SockAddr::of_raw(&a))
}

/// Receives up to `len` bytes into `buf[ofs..]` (Lwt's `recv`).
pub fn recv<B: AsMut<[u8]> + 'static>(
    fd: &FileDescr,
    mut buf: B,
    ofs: usize,
    len: usize,
    flags: &[MsgFlag],
) -> Promise<(B, usize)> {
    if let Err(e) = check_range("recv", buf.as_mut().len(), ofs, len) {
        return crate::rejected(e);
    }
    let flags = msg_flags(flags);
    let mut slot = Some(buf);
    retry_io(fd.clone(), Dir::Read, move |raw| {
        let b = slot.as_mut().ok_or_else(gone)?;
        let n = sys::recv(raw, &mut b.as_mut()[ofs..ofs + len], flags)?;
        Ok((slot.take().ok_or_else(gone)?, n))
    })
}

fn gone() -> io::Error {
    io::Error::other("buffer already returned")
}

/// Sends up to `len` bytes of `buf[ofs..]` (Lwt's `send`). A closed peer
/// gives `EPIPE` (never `SIGPIPE`).
pub fn send<B: AsRef<[u8]> + 'static>(
    fd: &FileDescr,
    buf: B,
    ofs: usize,
    len: usize,
    flags: &[MsgFlag],
) -> Promise<(B, usize)> {
    if let Err(e) = check_range("send", buf.as_ref().len(), ofs, len) {
        return crate::rejected(e);
    }
    let flags = msg_flags(flags);
    let mut slot = Some(buf);
    retry_io(fd.clone(), Dir::Write, move |raw| {
        let b = slot.as_ref().ok_or_else(gone)?;
        let n = sys::send(raw, &b.as_ref()[ofs..ofs + len], flags)?;
        Ok((slot.take().ok_or_else(gone)?, n))
    })
}

/// Receives a datagram: the buffer, the byte count and the sender's address
/// (Lwt's `recvfrom`).
///
/// ```
/// use lwt::unix::*;
/// let any = SockAddr::parse_inet("127.0.0.1:0").unwrap();
/// let a = socket(SocketDomain::Inet, SocketType::Dgram, 0).unwrap();
/// let b = socket(SocketDomain::Inet, SocketType::Dgram, 0).unwrap();
/// lwt::main::run(lwt::both(bind(&a, &any), bind(&b, &any))).unwrap();
/// let to = getsockname(&b).unwrap();
/// let p = sendto(&a, b"dgram", 0, 5, &[], &to).bind(move |_| recvfrom(&b, vec![0; 64], 0, 64, &[]));
/// let (buf, n, from) = lwt::main::run(p).unwrap();
/// assert_eq!((&buf[..n], from), (&b"dgram"[..], getsockname(&a).unwrap()));
/// ```
pub fn recvfrom<B: AsMut<[u8]> + 'static>(
    fd: &FileDescr,
    mut buf: B,
    ofs: usize,
    len: usize,
    flags: &[MsgFlag],
) -> Promise<(B, usize, SockAddr)> {
    if let Err(e) = check_range("recvfrom", buf.as_mut().len(), ofs, len) {
        return crate::rejected(e);
    }
    let flags = msg_flags(flags);
    let mut slot = Some(buf);
    retry_io(fd.clone(), Dir::Read, move |raw| {
        let b = slot.as_mut().ok_or_else(gone)?;
        let (n, a) = sys::recvfrom(raw, &mut b.as_mut()[ofs..ofs + len], flags)?;
        Ok((slot.take().ok_or_else(gone)?, n, SockAddr::of_raw(&a)))
    })
}

/// Sends a datagram to `addr` (Lwt's `sendto`).
pub fn sendto<B: AsRef<[u8]> + 'static>(
    fd: &FileDescr,
    buf: B,
    ofs: usize,
    len: usize,
    flags: &[MsgFlag],
    addr: &SockAddr,
) -> Promise<(B, usize)> {
    if let Err(e) = check_range("sendto", buf.as_ref().len(), ofs, len) {
        return crate::rejected(e);
    }
    let to = match addr.to_raw() {
        Ok(a) => a,
        Err(e) => return crate::rejected(e),
    };
    let flags = msg_flags(flags);
    let mut slot = Some(buf);
    retry_io(fd.clone(), Dir::Write, move |raw| {
        let b = slot.as_ref().ok_or_else(gone)?;
        let n = sys::sendto(raw, &b.as_ref()[ofs..ofs + len], flags, &to)?;
        Ok((slot.take().ok_or_else(gone)?, n))
    })
}

/// Boolean socket options (Lwt's `socket_bool_option`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketBoolOption {
    /// `SO_DEBUG`.
    SoDebug,
    /// `SO_BROADCAST`.
    SoBroadcast,
    /// `SO_REUSEADDR`.
    SoReuseaddr,
    /// `SO_KEEPALIVE`.
    SoKeepalive,
    /// `SO_DONTROUTE`.
    SoDontroute,
    /// `SO_OOBINLINE`.
    SoOobinline,
    /// `SO_ACCEPTCONN` (read-only).
    SoAcceptconn,
    /// `TCP_NODELAY`.
    TcpNodelay,
    /// `IPV6_V6ONLY`.
    Ipv6Only,
    /// `SO_REUSEPORT`.
    SoReuseport,
}

impl SocketBoolOption {
    fn level_name(self) -> (i32, i32) {
        use SocketBoolOption::*;
        match self {
            SoDebug => (libc::SOL_SOCKET, libc::SO_DEBUG),
            SoBroadcast => (libc::SOL_SOCKET, libc::SO_BROADCAST),
            SoReuseaddr => (libc::SOL_SOCKET, libc::SO_REUSEADDR),
            SoKeepalive => (libc::SOL_SOCKET, libc::SO_KEEPALIVE),
            SoDontroute => (libc::SOL_SOCKET, libc::SO_DONTROUTE),
            SoOobinline => (libc::SOL_SOCKET, libc::SO_OOBINLINE),
            SoAcceptconn => (libc::SOL_SOCKET, libc::SO_ACCEPTCONN),
            TcpNodelay => (libc::IPPROTO_TCP, libc::TCP_NODELAY),
            Ipv6Only => (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY),
            SoReuseport => (libc::SOL_SOCKET, libc::SO_REUSEPORT),
        }
    }
}

/// Integer socket options (Lwt's `socket_int_option`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketIntOption {
    /// `SO_SNDBUF`.
    SoSndbuf,
    /// `SO_RCVBUF`.
    SoRcvbuf,
    /// `SO_TYPE` (read-only).
    SoType,
    /// `SO_RCVLOWAT`.
    SoRcvlowat,
    /// `SO_SNDLOWAT`.
    SoSndlowat,
}

impl SocketIntOption {
    fn name(self) -> i32 {
        match self {
            SocketIntOption::SoSndbuf => libc::SO_SNDBUF,
            SocketIntOption::SoRcvbuf => libc::SO_RCVBUF,
            SocketIntOption::SoType => libc::SO_TYPE,
            SocketIntOption::SoRcvlowat => libc::SO_RCVLOWAT,
            SocketIntOption::SoSndlowat => libc::SO_SNDLOWAT,
        }
    }
}

/// Optional-integer socket options (Lwt's `socket_optint_option`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketOptIntOption {
    /// `SO_LINGER`, in seconds; `None` means off.
    SoLinger,
}

/// Timeout socket options (Lwt's `socket_float_option`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketFloatOption {
    /// `SO_RCVTIMEO`; `None` means no timeout.
    SoRcvtimeo,
    /// `SO_SNDTIMEO`; `None` means no timeout.
    SoSndtimeo,
}

/// Reads a boolean option (Lwt's `getsockopt`).
pub fn getsockopt(fd: &FileDescr, opt: SocketBoolOption) -> Result<bool, Error> {
    let (level, name) = opt.level_name();
    fd.with_fd(|b| sys::getsockopt_int(b.as_raw_fd(), level, name))
        .map(|v| v != 0)
}

/// Sets a boolean option (Lwt's `setsockopt`).
///
/// ```
/// use lwt::unix::*;
/// let s = socket(SocketDomain::Inet, SocketType::Stream, 0).unwrap();
/// setsockopt(&s, SocketBoolOption::TcpNodelay, true).unwrap();
/// assert!(getsockopt(&s, SocketBoolOption::TcpNodelay).unwrap());
/// ```
pub fn setsockopt(fd: &FileDescr, opt: SocketBoolOption, v: bool) -> Result<(), Error> {
    let (level, name) = opt.level_name();
    fd.with_fd(|b| sys::setsockopt_int(b.as_raw_fd(), level, name, i32::from(v)))
}

/// Reads an integer option (Lwt's `getsockopt_int`).
pub fn getsockopt_int(fd: &FileDescr, opt: SocketIntOption) -> Result<i32, Error> {
    fd.with_fd(|b| sys::getsockopt_int(b.as_raw_fd(), libc::SOL_SOCKET, opt.name()))
}

/// Sets an integer option (Lwt's `setsockopt_int`).
pub fn setsockopt_int(fd: &FileDescr, opt: SocketIntOption, v: i32) -> Result<(), Error> {
    fd.with_fd(|b| sys::setsockopt_int(b.as_raw_fd(), libc::SOL_SOCKET, opt.name(), v))
}

/// Reads an optional-integer option (Lwt's `getsockopt_optint`).
pub fn getsockopt_optint(fd: &FileDescr, opt: SocketOptIntOption) -> Result<Option<u64>, Error> {
    match opt {
        SocketOptIntOption::SoLinger => sock(fd, |s| s.linger()).map(|d| d.map(|d| d.as_secs())),
    }
}

/// Sets an optional-integer option (Lwt's `setsockopt_optint`).
pub fn setsockopt_optint(fd: &FileDescr, opt: SocketOptIntOption, v: Option<u64>) -> Result<(), Error> {
    match opt {
        SocketOptIntOption::SoLinger => sock(fd, |s| s.set_linger(v.map(Duration::from_secs))),
    }
}

/// Reads a timeout option (Lwt's `getsockopt_float`).
pub fn getsockopt_float(fd: &FileDescr, opt: SocketFloatOption) -> Result<Option<Duration>, Error> {
    match opt {
        SocketFloatOption::SoRcvtimeo => sock(fd, |s| s.read_timeout()),
        SocketFloatOption::SoSndtimeo => sock(fd, |s| s.write_timeout()),
    }
}

/// Sets a timeout option (Lwt's `setsockopt_float`). A zero duration is
/// refused by the OS; use `None` for "no timeout".
pub fn setsockopt_float(fd: &FileDescr, opt: SocketFloatOption, v: Option<Duration>) -> Result<(), Error> {
    match opt {
        SocketFloatOption::SoRcvtimeo => sock(fd, |s| s.set_read_timeout(v)),
        SocketFloatOption::SoSndtimeo => sock(fd, |s| s.set_write_timeout(v)),
    }
}

/// Takes the socket's pending error, if any (Lwt's `getsockopt_error`).
pub fn getsockopt_error(fd: &FileDescr) -> Result<Option<Error>, Error> {
    sock(fd, |s| s.take_error()).map(|e| e.map(Error::io))
}
