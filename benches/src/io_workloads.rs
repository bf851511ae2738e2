//! The I/O workloads of BENCH.md on lwt-rs: `echo` and `lines`, plus two
//! variants of `echo` that are not in the contract but explain its figure:
//!
//! - `echo`: the server is written with `lwt::io` channels (read into a
//!   4 KiB buffer, write it back, flush), as a user of Lwt_io would;
//! - `echo_raw`: the same server on raw `lwt::unix::read` / `write`;
//! - `echo_mio`: the protocol on a bare `mio` loop with no runtime at all,
//!   hand-written state machines: the limit any runtime on mio can reach.
//!
//! In all three the clients are the same plain `lwt::unix` code (bare mio
//! for `echo_mio`), as tokio's clients are plain `TcpStream` code, so the
//! rows differ only in the server. The checksum is the one of `echo`.

use std::cell::Cell;
use std::rc::Rc;

use lwt::io::{self, InputChannel, OutputChannel};
use lwt::unix::{self, FileDescr, SockAddr, SocketBoolOption, SocketDomain, SocketType};
use lwt::Promise;

fn drive<T: 'static>(p: Promise<T>) -> T {
    match lwt::main::run(p) {
        Ok(v) => v,
        Err(e) => panic!("workload failed: {e:#}"),
    }
}

const MSG: usize = 64;

/// Writes all of `buf[ofs..end]` to a raw descriptor.
fn write_all(fd: FileDescr, buf: Vec<u8>, ofs: usize, end: usize) -> Promise<Vec<u8>> {
    if ofs == end {
        return lwt::resolved(buf);
    }
    unix::write(&fd.clone(), buf, ofs, end - ofs).bind(move |(buf, n)| write_all(fd, buf, ofs + n, end))
}

/// Reads exactly `buf.len() - ofs` bytes from a raw descriptor.
fn read_exact(fd: FileDescr, buf: Vec<u8>, ofs: usize) -> Promise<Vec<u8>> {
    let len = buf.len();
    if ofs == len {
        return lwt::resolved(buf);
    }
    unix::read(&fd.clone(), buf, ofs, len - ofs).bind(move |(buf, n)| {
        if n == 0 {
            return lwt::fail_with("echo: the server closed the connection early");
        }
        read_exact(fd, buf, ofs + n)
    })
}

/// One client: M round trips of 64 bytes; adds the last byte of each reply.
fn client(addr: SockAddr, c: u64, m: u64) -> Promise<u64> {
    let fd = unix::socket(SocketDomain::Inet, SocketType::Stream, 0).expect("socket");
    let fd2 = fd.clone();
    fn round(fd: FileDescr, msg: Vec<u8>, reply: Vec<u8>, left: u64, sum: u64) -> Promise<u64> {
        if left == 0 {
            return unix::close(&fd).map(move |()| sum);
        }
        let f2 = fd.clone();
        write_all(fd.clone(), msg, 0, MSG).bind(move |msg| {
            read_exact(f2.clone(), reply, 0).bind(move |reply| {
                let sum = sum + reply[MSG - 1] as u64;
                round(f2, msg, reply, left - 1, sum)
            })
        })
    }
    unix::connect(&fd, &addr).bind(move |()| {
        unix::setsockopt(&fd2, SocketBoolOption::TcpNodelay, true).expect("nodelay");
        let msg = vec![b'A' + (c % 26) as u8; MSG];
        round(fd2, msg, vec![0; MSG], m, 0)
    })
}

/// Runs C clients against a server started by `serve` (which resolves to
/// the server's address and a promise of the end of all its connections).
fn echo_with(c: u64, m: u64, serve: impl FnOnce(u64) -> Promise<(SockAddr, Promise<()>)>) -> u64 {
    let p = serve(c).bind(move |(addr, server_done)| {
        let clients: Vec<Promise<u64>> = (0..c).map(|ci| client(addr.clone(), ci, m)).collect();
        lwt::all(clients).bind(move |sums| server_done.map(move |()| sums.iter().sum::<u64>()))
    });
    drive(p)
}

/// A promise resolved once `n` connections have ended, and the function
/// that counts one.
fn countdown(n: u64) -> (Promise<()>, Rc<dyn Fn()>) {
    let (done, r) = lwt::wait::<()>();
    let left = Rc::new(Cell::new(n));
    let tick: Rc<dyn Fn()> = Rc::new(move || {
        left.set(left.get() - 1);
        if left.get() == 0 {
            r.wakeup(());
        }
    });
    if n == 0 {
        tick(); // never called by a connection: resolve now
    }
    (done, tick)
}

fn local() -> SockAddr {
    SockAddr::parse_inet("127.0.0.1:0").expect("address")
}

/// `echo`: the server on `lwt::io` channels.
pub fn echo(c: u64, m: u64) -> u64 {
    echo_with(c, m, |c| {
        let (all_done, tick) = countdown(c);
        // Each connection: read what is there into a 4 KiB buffer, write it
        // back, flush; until the end of input. (establish_server sets
        // TCP_NODELAY and closes the channels when the handler resolves.)
        fn handle(ic: InputChannel, oc: OutputChannel, buf: Vec<u8>) -> Promise<()> {
            io::read_into(&ic.clone(), buf, 0, 4096).bind(move |(buf, n)| {
                if n == 0 {
                    return lwt::resolved(());
                }
                let o2 = oc.clone();
                io::write_from_exactly(&oc.clone(), buf, 0, n)
                    .bind(move |buf| io::flush(&o2).map(move |()| buf))
                    .bind(move |buf| handle(ic, oc, buf))
            })
        }
        let server = io::establish_server(local(), move |ic, oc| {
            let tick = tick.clone();
            handle(ic, oc, vec![0; 4096]).map(move |()| tick())
        });
        server.map(move |srv| {
            let addr = srv.addr().clone();
            let done = all_done.bind(move |()| srv.shutdown());
            (addr, done)
        })
    })
}

/// `echo_raw`: the server on raw `lwt::unix` reads and writes.
pub fn echo_raw(c: u64, m: u64) -> u64 {
    echo_with(c, m, |c| {
        let (all_done, tick) = countdown(c);
        let l = unix::socket(SocketDomain::Inet, SocketType::Stream, 0).expect("socket");
        unix::setsockopt(&l, SocketBoolOption::SoReuseaddr, true).expect("reuseaddr");
        let l2 = l.clone();
        fn handle(fd: FileDescr, buf: Vec<u8>) -> Promise<()> {
            unix::read(&fd.clone(), buf, 0, 4096).bind(move |(buf, n)| {
                if n == 0 {
                    return unix::close(&fd);
                }
                write_all(fd.clone(), buf, 0, n).bind(move |buf| handle(fd, buf))
            })
        }
        fn accept_loop(l: FileDescr, left: u64, tick: Rc<dyn Fn()>) -> Promise<()> {
            if left == 0 {
                return unix::close(&l);
            }
            unix::accept(&l.clone()).bind(move |(fd, _)| {
                unix::setsockopt(&fd, SocketBoolOption::TcpNodelay, true).expect("nodelay");
                let t = tick.clone();
                lwt::async_(move || handle(fd, vec![0; 4096]).map(move |()| t()));
                accept_loop(l, left - 1, tick)
            })
        }
        unix::bind(&l, &local()).bind(move |()| {
            unix::listen(&l2, 1024).expect("listen");
            let addr = unix::getsockname(&l2).expect("getsockname");
            let accepted = accept_loop(l2, c, tick);
            lwt::resolved((addr, lwt::both(accepted, all_done).map(|((), ())| ())))
        })
    })
}

/// `lines`: N lines `line <i>` written with `write_line` into a pipe and
/// read back with `read_line`, summing their lengths. The channels get 8 KiB
/// buffers, the default capacity of tokio's `BufWriter` / `BufReader` that
/// the tokio side uses (Lwt_io's default is 4 KiB).
pub fn lines(n: u64) -> u64 {
    let (r, w) = unix::pipe().expect("pipe");
    let ic = io::Builder::new(io::Input)
        .buffer_size(8192)
        .of_fd(r)
        .expect("input channel");
    let oc = io::Builder::new(io::Output)
        .buffer_size(8192)
        .of_fd(w)
        .expect("output channel");
    fn write(oc: OutputChannel, i: u64, n: u64) -> Promise<()> {
        if i == n {
            return io::close(&oc);
        }
        io::write_line(&oc, format!("line {i}")).bind(move |()| write(oc, i + 1, n))
    }
    // The loop keeps each line's length, not the line: the `String` is
    // dropped before the next read, as at the end of tokio's loop body.
    // Holding it across the recursive call kept a line alive per nested
    // bind (up to the nesting limit, 42): the frees then came in bursts
    // that overflowed glibc's per-thread cache, 4% of the run.
    fn read(ic: InputChannel, sum: u64) -> Promise<u64> {
        io::read_line_opt(&ic).bind(move |l| match l.map(|l| l.len() as u64) {
            Some(n) => read(ic, sum + n),
            None => lwt::resolved(sum),
        })
    }
    drive(lwt::both(write(oc, 0, n), read(ic, 0)).map(|((), sum)| sum))
}

/// `echo_mio`: the echo protocol on a bare mio loop, no runtime: C client
/// and C server sockets as small state machines on one `Poll`,
/// edge-triggered, each socket reading and writing until `WouldBlock`.
pub fn echo_mio(c: u64, m: u64) -> u64 {
    use mio::net::{TcpListener, TcpStream};
    use mio::{Events, Interest, Poll, Token};
    use std::io::{ErrorKind, Read, Write};

    struct Client {
        sock: TcpStream,
        msg: [u8; MSG],
        sent: usize,
        got: usize,
        reply: [u8; MSG],
        left: u64,
        sum: u64,
        connected: bool,
    }
    struct Server {
        sock: TcpStream,
        buf: Vec<u8>,
        /// Bytes read but not yet written back: buf[start..end].
        start: usize,
        end: usize,
        open: bool,
    }

    const LISTENER: Token = Token(usize::MAX);
    let mut poll = Poll::new().expect("poll");
    let mut listener = TcpListener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .expect("register");

    // Clients use tokens 0..c, servers c..2c (in accept order).
    let mut clients: Vec<Client> = (0..c)
        .map(|ci| {
            let mut sock = TcpStream::connect(addr).expect("connect");
            poll.registry()
                .register(&mut sock, Token(ci as usize), Interest::READABLE | Interest::WRITABLE)
                .expect("register");
            Client {
                sock,
                msg: [b'A' + (ci % 26) as u8; MSG],
                sent: 0,
                got: 0,
                reply: [0; MSG],
                left: m,
                sum: 0,
                connected: false,
            }
        })
        .collect();
    let mut servers: Vec<Server> = Vec::new();
    let mut clients_done = 0u64;
    let mut servers_closed = 0u64;
    let mut events = Events::with_capacity(1024);

    // Advances a client as far as it can go without blocking.
    fn step_client(cl: &mut Client) -> bool {
        loop {
            if cl.left == 0 {
                return true;
            }
            if cl.sent < MSG {
                match cl.sock.write(&cl.msg[cl.sent..]) {
                    Ok(n) => cl.sent += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == ErrorKind::NotConnected => return false,
                    Err(e) => panic!("client write: {e}"),
                }
                continue;
            }
            match cl.sock.read(&mut cl.reply[cl.got..]) {
                Ok(0) => panic!("echo_mio: the server closed early"),
                Ok(n) => {
                    cl.got += n;
                    if cl.got == MSG {
                        cl.sum += cl.reply[MSG - 1] as u64;
                        cl.left -= 1;
                        cl.sent = 0;
                        cl.got = 0;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("client read: {e}"),
            }
        }
    }

    // Echoes what a server socket can read; returns false once it closed.
    fn step_server(s: &mut Server) -> bool {
        loop {
            while s.start < s.end {
                match s.sock.write(&s.buf[s.start..s.end]) {
                    Ok(n) => s.start += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => panic!("server write: {e}"),
                }
            }
            match s.sock.read(&mut s.buf) {
                Ok(0) => return false,
                Ok(n) => {
                    s.start = 0;
                    s.end = n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("server read: {e}"),
            }
        }
    }

    while clients_done < c || servers_closed < c {
        poll.poll(&mut events, None).expect("poll");
        for ev in events.iter() {
            let t = ev.token();
            if t == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut sock, _)) => {
                            sock.set_nodelay(true).expect("nodelay");
                            let tok = Token(c as usize + servers.len());
                            poll.registry()
                                .register(&mut sock, tok, Interest::READABLE | Interest::WRITABLE)
                                .expect("register");
                            servers.push(Server {
                                sock,
                                buf: vec![0; 4096],
                                start: 0,
                                end: 0,
                                open: true,
                            });
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => panic!("accept: {e}"),
                    }
                }
            } else if t.0 < c as usize {
                let cl = &mut clients[t.0];
                if cl.left == 0 {
                    continue;
                }
                if !cl.connected && ev.is_writable() {
                    cl.connected = true;
                    cl.sock.set_nodelay(true).expect("nodelay");
                }
                if cl.connected && step_client(cl) {
                    clients_done += 1;
                    // Closing the client ends its server socket's input.
                    poll.registry().deregister(&mut cl.sock).expect("deregister");
                    cl.sock.shutdown(std::net::Shutdown::Both).ok();
                }
            } else {
                let s = &mut servers[t.0 - c as usize];
                if s.open && !step_server(s) {
                    s.open = false;
                    servers_closed += 1;
                    poll.registry().deregister(&mut s.sock).expect("deregister");
                }
            }
        }
    }
    clients.iter().map(|cl| cl.sum).sum()
}
