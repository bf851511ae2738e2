//! Connections and servers (Lwt_io's `open_connection`, `with_connection`,
//! `establish_server_with_client_address`, `shutdown_server` ...).
//!
//! A connected socket gets two channels over the same descriptor. The
//! descriptor is closed (after `shutdown(ALL)`) only when both channels are
//! closed; closing the output channel first shuts down the sending side, so
//! the peer reads the end of the data while this side can still read its
//! answer.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use super::channel::{close, is_closed, Builder, Channel, Input, InputChannel, Mode, Output, OutputChannel};
use crate::unix::{self, FileDescr, ShutdownCommand, SockAddr, SocketBoolOption, SocketDomain, SocketType};
use crate::{Error, Promise};

/// Options of the `establish_server*` functions (Lwt's `?backlog`,
/// `?no_close` and `?buffer_size`, plus [`ServerOptions::nodelay`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerOptions {
    /// The length of the queue of connections not yet accepted (default
    /// `SOMAXCONN`).
    pub backlog: i32,
    /// Leave the connection open when the handler's promise resolves (the
    /// handler then closes it). Default: closed.
    pub no_close: bool,
    /// The buffer size of the connection's channels (default:
    /// [`default_buffer_size`](super::default_buffer_size)).
    pub buffer_size: Option<usize>,
    /// Set `TCP_NODELAY` on accepted TCP connections (default: true; a
    /// deliberate difference from Lwt, which leaves Nagle's algorithm on).
    pub nodelay: bool,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            backlog: libc::SOMAXCONN,
            no_close: false,
            buffer_size: None,
            nodelay: true,
        }
    }
}

/// A listening server (Lwt_io's `server`). It accepts connections until
/// [`Server::shutdown`]; dropping the handle does not stop it.
pub struct Server {
    inner: Rc<ServerInner>,
}

struct ServerInner {
    fd: FileDescr,
    addr: SockAddr,
    /// The path of a Unix-domain socket, removed at shutdown.
    path: Option<PathBuf>,
    stopped: Cell<bool>,
    accepting: RefCell<Option<Promise<(FileDescr, SockAddr)>>>,
    shutdown: RefCell<Option<Promise<()>>>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.inner.addr)
            .field("stopped", &self.inner.stopped.get())
            .finish()
    }
}

impl Server {
    /// The address the server listens on, with the port the system chose
    /// if the requested one was 0.
    pub fn addr(&self) -> &SockAddr {
        &self.inner.addr
    }

    /// Stops accepting, closes the listening socket and removes the path of
    /// a Unix-domain socket (Lwt's `shutdown_server`). Connections already
    /// accepted go on. Resolves once the socket is closed; calling it again
    /// gives the same promise.
    pub fn shutdown(&self) -> Promise<()> {
        let s = &self.inner;
        if let Some(p) = s.shutdown.borrow().clone() {
            return p;
        }
        s.stopped.set(true);
        let accepting = s.accepting.borrow_mut().take();
        if let Some(a) = accepting {
            a.cancel();
        }
        let path = s.path.clone();
        let p = unix::close(&s.fd).map(move |()| {
            if let Some(path) = path {
                // Best effort, as in Lwt: a missing file is not an error.
                let _ = std::fs::remove_file(path);
            }
        });
        *s.shutdown.borrow_mut() = Some(p.clone());
        p
    }
}

/// Stops a server; see [`Server::shutdown`] (Lwt's `shutdown_server`).
pub fn shutdown_server(server: &Server) -> Promise<()> {
    server.shutdown()
}

fn domain_of(addr: &SockAddr) -> SocketDomain {
    match addr {
        SockAddr::Unix(_) => SocketDomain::Unix,
        SockAddr::Inet(a) if a.is_ipv4() => SocketDomain::Inet,
        SockAddr::Inet(_) => SocketDomain::Inet6,
    }
}

/// Shuts a socket down completely and closes it, once.
fn close_socket(fd: &FileDescr) -> Promise<()> {
    if matches!(fd.state(), unix::State::Closed) {
        return crate::resolved(());
    }
    // ENOTCONN (the peer went first) and the like are not errors of closing.
    let _ = unix::shutdown(fd, ShutdownCommand::All);
    unix::close(fd)
}

/// Two channels over a connected socket, closing it when both are closed.
fn socket_channels(fd: FileDescr, buffer_size: Option<usize>) -> Result<(InputChannel, OutputChannel), Error> {
    let open = Rc::new(Cell::new(2u8));
    let (fd_in, open_in) = (fd.clone(), open.clone());
    let close_in = move || {
        open_in.set(open_in.get() - 1);
        if open_in.get() == 0 {
            close_socket(&fd_in)
        } else {
            crate::resolved(())
        }
    };
    let (fd_out, open_out) = (fd.clone(), open);
    let close_out = move || {
        open_out.set(open_out.get() - 1);
        if open_out.get() == 0 {
            close_socket(&fd_out)
        } else {
            // The input side is still open: tell the peer we are done
            // sending (see the module documentation).
            let _ = unix::shutdown(&fd_out, ShutdownCommand::Send);
            crate::resolved(())
        }
    };
    let mut bi = Builder::new(Input).close_with(close_in);
    let mut bo = Builder::new(Output).close_with(close_out);
    if let Some(n) = buffer_size {
        bi = bi.buffer_size(n);
        bo = bo.buffer_size(n);
    }
    // Sockets cannot seek: the default lseek would report ESPIPE anyway.
    Ok((bi.of_fd(fd.clone())?, bo.of_fd(fd)?))
}

/// Connects to `addr` and returns an input and an output channel on the
/// connection (Lwt's `open_connection`). `TCP_NODELAY` is set on TCP
/// connections. The socket is closed when both channels are.
///
/// ```
/// use lwt::io;
/// let e = lwt::main::run(io::open_connection("127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap()))
///     .unwrap_err();
/// assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::ConnectionRefused);
/// ```
pub fn open_connection(addr: impl Into<SockAddr>) -> Promise<(InputChannel, OutputChannel)> {
    let addr = addr.into();
    let fd = match unix::socket(domain_of(&addr), SocketType::Stream, 0) {
        Ok(fd) => fd,
        Err(e) => return crate::rejected(e),
    };
    let fd2 = fd.clone();
    // On failure the descriptor is closed when its last handle (in the
    // failed promise chain) goes away.
    unix::connect(&fd, &addr).bind(move |()| {
        if matches!(addr, SockAddr::Inet(_)) {
            let _ = unix::setsockopt(&fd2, SocketBoolOption::TcpNodelay, true);
        }
        crate::of_result(socket_channels(fd2, None))
    })
}

/// Connects to `addr`, runs `f` on the two channels, then closes them
/// whatever `f` did (Lwt's `with_connection`). A channel `f` closed itself is
/// not closed again, so an error `f` saw when closing it does not come back.
///
/// ```
/// use lwt::io;
/// let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
/// let p = io::establish_server(any, |ic, oc| {
///     io::read_line(&ic).bind(move |l| io::write_line(&oc, l.to_uppercase()))
/// })
/// .bind(|server| {
///     io::with_connection(server.addr().clone(), |ic, oc| {
///         io::write_line(&oc, "shout").bind(move |()| io::read_line(&ic))
///     })
///     .bind(move |reply| server.shutdown().map(move |()| reply))
/// });
/// assert_eq!(lwt::main::run(p).unwrap(), "SHOUT");
/// ```
pub fn with_connection<T: 'static>(
    addr: impl Into<SockAddr>,
    f: impl FnOnce(InputChannel, OutputChannel) -> Promise<T> + 'static,
) -> Promise<T> {
    open_connection(addr).bind(move |(ic, oc)| with_close_connection(ic, oc, f))
}

/// Closes `ch` unless it is closed already. A handler may have closed it
/// itself, seen the error of closing and dealt with it: closing again would
/// give that same error a second time (Lwt's `close_if_not_closed`).
fn close_if_open<M: Mode>(ch: &Channel<M>) -> Promise<()> {
    if is_closed(ch) {
        crate::resolved(())
    } else {
        close(ch)
    }
}

/// Runs `f` on the channels, then closes those it left open; an error of
/// closing wins over the outcome of `f`, as with [`Promise::finalize`].
fn with_close_connection<T: 'static>(
    ic: InputChannel,
    oc: OutputChannel,
    f: impl FnOnce(InputChannel, OutputChannel) -> Promise<T> + 'static,
) -> Promise<T> {
    let (ic2, oc2) = (ic.clone(), oc.clone());
    crate::apply(move |()| f(ic, oc), ()).finalize(move || {
        close_if_open(&oc2).then(move |r| close_if_open(&ic2).then(move |r2| crate::of_result(r.and(r2))))
    })
}

/// Closes a channel left open by a handler, sending an error to the async
/// exception hook (Lwt's `best_effort_close`).
fn best_effort_close<M: Mode>(ch: &Channel<M>) -> Promise<()> {
    close_if_open(ch).then(|r| {
        if let Err(e) = r {
            crate::core::report(&e);
        }
        crate::resolved(())
    })
}

/// What a server does with the promise `p` of a handler: its error goes to
/// the async exception hook first, then (unless `no_close`) the channels the
/// handler left open are closed, each error of closing going to the hook
/// too. Not [`Promise::finalize`], where an error of closing would hide the
/// handler's, and a channel the handler closed would be closed again.
fn serve_channels(p: Promise<()>, ic: InputChannel, oc: OutputChannel, no_close: bool) -> Promise<()> {
    p.then(move |r| {
        if let Err(e) = r {
            crate::core::report(&e);
        }
        if no_close {
            return crate::resolved(());
        }
        // The output side first: it flushes, and tells the peer we are done.
        best_effort_close(&oc).bind(move |()| best_effort_close(&ic))
    })
}

type SocketHandler = Rc<dyn Fn(SockAddr, FileDescr) -> Promise<()>>;

/// Listens on `addr` and calls `f` with the address and the socket of each
/// connection (Lwt's `establish_server_with_client_socket`). The promise
/// resolves once the server listens. When the promise of `f` resolves, the
/// socket is closed, unless [`ServerOptions::no_close`] or `f` closed it. An
/// error of `f`, then one of the close, goes to the async exception hook
/// ([`set_async_exception_hook`](crate::set_async_exception_hook)), which by
/// default ends the program: handle errors inside `f`.
pub fn establish_server_with_client_socket(
    addr: impl Into<SockAddr>,
    opts: &ServerOptions,
    f: impl Fn(SockAddr, FileDescr) -> Promise<()> + 'static,
) -> Promise<Server> {
    let opts = opts.clone();
    let no_close = opts.no_close;
    let handler: SocketHandler = Rc::new(move |peer, fd: FileDescr| {
        let fd2 = fd.clone();
        let p = crate::apply(|(peer, fd)| f(peer, fd), (peer, fd));
        // As for channels: the handler's error reaches the hook first, then
        // that of closing (`close_socket` skips a socket `f` closed).
        p.then(move |r| {
            if let Err(e) = r {
                crate::core::report(&e);
            }
            if no_close {
                crate::resolved(())
            } else {
                close_socket(&fd2)
            }
        })
    });
    listen_and_serve(addr.into(), opts, handler)
}

/// Listens on `addr` and calls `f` with the address and two channels for
/// each connection (Lwt's `establish_server_with_client_address`). The
/// promise resolves once the server listens. When the promise of `f`
/// resolves, the channels `f` left open are closed (the output one flushed
/// first), unless [`ServerOptions::no_close`]. An error of `f`, then each
/// error of closing, goes to the async exception hook, which by default ends
/// the program: handle errors inside `f`. A channel `f` closed itself is not
/// closed again, so an error `f` saw when closing it is not reported.
///
/// ```
/// use lwt::io::{self, ServerOptions};
/// let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
/// let opts = ServerOptions { backlog: 16, ..ServerOptions::default() };
/// let p = io::establish_server_with_client_address(any, &opts, |peer, _ic, oc| {
///     io::write_line(&oc, format!("you are {}", peer.to_string().starts_with("127.0.0.1")))
/// })
/// .bind(|server| {
///     io::with_connection(server.addr().clone(), |ic, _oc| io::read_line(&ic))
///         .bind(move |l| server.shutdown().map(move |()| l))
/// });
/// assert_eq!(lwt::main::run(p).unwrap(), "you are true");
/// ```
pub fn establish_server_with_client_address(
    addr: impl Into<SockAddr>,
    opts: &ServerOptions,
    f: impl Fn(SockAddr, InputChannel, OutputChannel) -> Promise<()> + 'static,
) -> Promise<Server> {
    let opts = opts.clone();
    let (no_close, buffer_size) = (opts.no_close, opts.buffer_size);
    let handler: SocketHandler = Rc::new(move |peer, fd| {
        let (ic, oc) = match socket_channels(fd, buffer_size) {
            Ok(c) => c,
            Err(e) => return crate::rejected(e),
        };
        let (ic2, oc2) = (ic.clone(), oc.clone());
        let p = crate::apply(|(ic, oc)| f(peer, ic, oc), (ic, oc));
        serve_channels(p, ic2, oc2, no_close)
    });
    listen_and_serve(addr.into(), opts, handler)
}

/// Listens on `addr` and calls `f` with two channels for each connection,
/// closing them when its promise resolves: the simple form of
/// [`establish_server_with_client_address`] with the default
/// [`ServerOptions`] (Lwt's deprecated `establish_server`, still the
/// shortest way to write a server).
///
/// ```
/// use lwt::io;
/// let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
/// let server = lwt::main::run(io::establish_server(any, |ic, oc| {
///     // Echo every line back until the client is done.
///     io::read_lines(&ic).iter_s(move |l| io::write_line(&oc, l))
/// }))
/// .unwrap();
/// let reply = io::with_connection(server.addr().clone(), |ic, oc| {
///     io::write_lines(&oc, &lwt::stream::of_list(["a", "b"]))
///         .bind(move |()| io::close(&oc))
///         .bind(move |()| io::read_lines(&ic).to_list())
/// });
/// assert_eq!(lwt::main::run(reply).unwrap(), ["a", "b"]);
/// lwt::main::run(server.shutdown()).unwrap();
/// ```
pub fn establish_server(
    addr: impl Into<SockAddr>,
    f: impl Fn(InputChannel, OutputChannel) -> Promise<()> + 'static,
) -> Promise<Server> {
    establish_server_with_client_address(addr, &ServerOptions::default(), move |_, ic, oc| f(ic, oc))
}

fn listen_and_serve(addr: SockAddr, opts: ServerOptions, handler: SocketHandler) -> Promise<Server> {
    let domain = domain_of(&addr);
    let fd = match unix::socket(domain, SocketType::Stream, 0) {
        Ok(fd) => fd,
        Err(e) => return crate::rejected(e),
    };
    if let Err(e) = unix::setsockopt(&fd, SocketBoolOption::SoReuseaddr, true) {
        return crate::rejected(e);
    }
    let fd2 = fd.clone();
    unix::bind(&fd, &addr).bind(move |()| {
        let r = unix::listen(&fd2, opts.backlog).and_then(|()| unix::getsockname(&fd2));
        let bound = match r {
            Ok(a) => a,
            Err(e) => return crate::rejected(e),
        };
        let path = match &addr {
            SockAddr::Unix(p) if !p.as_os_str().is_empty() => Some(p.clone()),
            _ => None,
        };
        let inner = Rc::new(ServerInner {
            fd: fd2,
            addr: bound,
            path,
            stopped: Cell::new(false),
            accepting: RefCell::new(None),
            shutdown: RefCell::new(None),
        });
        let nodelay = opts.nodelay && domain != SocketDomain::Unix;
        accept_loop(inner.clone(), handler, nodelay);
        crate::resolved(Server { inner })
    })
}

/// Accept errors after which trying again makes sense.
fn retry_at_once(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ECONNABORTED) | Some(libc::EINTR) | Some(libc::EPROTO) | Some(libc::EPERM)
    )
}

/// Accept errors caused by a shortage that may pass: try again a little later.
fn retry_later(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM)
    )
}

fn accept_loop(s: Rc<ServerInner>, handler: SocketHandler, nodelay: bool) {
    if s.stopped.get() {
        return;
    }
    let p = unix::accept(&s.fd);
    if p.is_pending() {
        *s.accepting.borrow_mut() = Some(p.clone());
    }
    drop(p.then(move |r| {
        s.accepting.borrow_mut().take();
        if s.stopped.get() {
            return crate::resolved(());
        }
        match r {
            Ok((fd, peer)) => {
                if nodelay {
                    let _ = unix::setsockopt(&fd, SocketBoolOption::TcpNodelay, true);
                }
                let h = handler.clone();
                crate::async_(move || h(peer, fd));
                accept_loop(s, handler, nodelay);
            }
            Err(e) if e.io_error().is_some_and(retry_at_once) => accept_loop(s, handler, nodelay),
            Err(e) if e.io_error().is_some_and(retry_later) => {
                drop(unix::sleep(Duration::from_millis(100)).map(move |()| accept_loop(s, handler, nodelay)));
            }
            Err(e) => crate::async_(move || crate::rejected(e)),
        }
        crate::resolved(())
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Channels whose close function counts its calls and fails.
    fn failing_channels(calls: &Rc<Cell<u32>>) -> (InputChannel, OutputChannel) {
        let (ci, co) = (calls.clone(), calls.clone());
        let ic = Builder::new(Input)
            .close_with(move || {
                ci.set(ci.get() + 1);
                crate::rejected(Error::failure("input close broke"))
            })
            .make(|buf, _, _| crate::resolved((buf, 0)))
            .unwrap();
        let oc = Builder::new(Output)
            .close_with(move || {
                co.set(co.get() + 1);
                crate::rejected(Error::failure("output close broke"))
            })
            .make(|buf, _, len| crate::resolved((buf, len)))
            .unwrap();
        (ic, oc)
    }

    /// Closes both channels as a handler would, dealing with the errors.
    fn close_both_and_forget(ic: &InputChannel, oc: &OutputChannel) -> Promise<()> {
        let ic = ic.clone();
        close(oc).then(move |r| {
            assert!(r.is_err());
            close(&ic).then(|r| {
                assert!(r.is_err());
                crate::resolved(())
            })
        })
    }

    /// Runs `f` with this thread's async exception hook recording messages.
    fn hook_reports(f: impl FnOnce()) -> Vec<String> {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s = seen.clone();
        let previous = crate::set_async_exception_hook(move |e| s.borrow_mut().push(e.message()));
        f();
        drop(crate::set_async_exception_hook(previous));
        let v = seen.borrow().clone();
        v
    }

    #[test]
    fn with_connection_does_not_close_again_the_channels_f_closed() {
        let calls = Rc::new(Cell::new(0));
        let (ic, oc) = failing_channels(&calls);
        let p = with_close_connection(ic, oc, |ic, oc| close_both_and_forget(&ic, &oc).map(|()| 42));
        assert_eq!(
            p.state(),
            crate::State::Fulfilled(42),
            "the close errors were f's to handle"
        );
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn with_connection_closes_the_channels_f_left_open() {
        let calls = Rc::new(Cell::new(0));
        let (ic, oc) = failing_channels(&calls);
        let p = with_close_connection(ic.clone(), oc.clone(), |_, _| crate::resolved(()));
        let crate::State::Rejected(e) = p.state() else {
            panic!("the close error is lost")
        };
        assert_eq!(e.message(), "output close broke");
        assert_eq!(calls.get(), 2);
        assert!(is_closed(&ic) && is_closed(&oc));
    }

    #[test]
    fn a_handler_that_closed_its_channels_gets_no_report_of_closing_again() {
        let calls = Rc::new(Cell::new(0));
        let (ic, oc) = failing_channels(&calls);
        let reports = hook_reports(|| {
            let p = serve_channels(close_both_and_forget(&ic, &oc), ic.clone(), oc.clone(), false);
            assert!(p.is_fulfilled());
        });
        assert_eq!(reports, Vec::<String>::new());
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn a_handler_error_is_reported_before_each_error_of_closing() {
        let calls = Rc::new(Cell::new(0));
        let (ic, oc) = failing_channels(&calls);
        let reports = hook_reports(|| {
            let p = serve_channels(crate::fail_with("handler broke"), ic.clone(), oc.clone(), false);
            assert!(p.is_fulfilled());
        });
        assert_eq!(reports, ["handler broke", "output close broke", "input close broke"]);
        assert!(is_closed(&ic) && is_closed(&oc));
    }

    #[test]
    fn no_close_reports_the_handler_error_and_leaves_the_channels_open() {
        let calls = Rc::new(Cell::new(0));
        let (ic, oc) = failing_channels(&calls);
        let reports = hook_reports(|| {
            drop(serve_channels(
                crate::fail_with("handler broke"),
                ic.clone(),
                oc.clone(),
                true,
            ));
        });
        assert_eq!(reports, ["handler broke"]);
        assert_eq!(calls.get(), 0);
        assert!(!is_closed(&ic) && !is_closed(&oc));
    }
}
