//! Tests of `lwt::unix` (Lwt_unix) against real pipes, sockets on
//! 127.0.0.1, files in a temporary directory, child processes and signals.
//!
//! Tests run on several threads of one process. Each thread has its own
//! loop, but some things are process-wide: the working directory, signal
//! dispositions, `waitpid(-1)`, and the count of open descriptors. Tests that
//! touch those take the write side of [`PROCESS`]; every other test holds its
//! read side, so the process-wide tests run alone.

use std::io::ErrorKind as IoKind;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lwt::unix::{self, *};
use lwt::{main, Error, ErrorKind, Promise};

static PROCESS: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    PROCESS.read().unwrap_or_else(|e| e.into_inner())
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    PROCESS.write().unwrap_or_else(|e| e.into_inner())
}

fn os_error(e: &Error) -> i32 {
    e.io_error()
        .and_then(|io| io.raw_os_error())
        .unwrap_or_else(|| panic!("not an OS error: {e}"))
}

fn io_kind(e: &Error) -> IoKind {
    e.io_error().unwrap_or_else(|| panic!("not an I/O error: {e}")).kind()
}

/// A fresh directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("lwt-unix-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn join(&self, s: &str) -> PathBuf {
        self.0.join(s)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn localhost() -> SockAddr {
    SockAddr::parse_inet("127.0.0.1:0").unwrap()
}

fn listener() -> (FileDescr, SockAddr) {
    let l = socket(SocketDomain::Inet, SocketType::Stream, 0).unwrap();
    setsockopt(&l, SocketBoolOption::SoReuseaddr, true).unwrap();
    main::run(bind(&l, &localhost())).unwrap();
    listen(&l, 128).unwrap();
    let a = getsockname(&l).unwrap();
    (l, a)
}

fn tcp_pair() -> (FileDescr, FileDescr) {
    let (l, a) = listener();
    let c = socket(SocketDomain::Inet, SocketType::Stream, 0).unwrap();
    let ((s, _), ()) = main::run(lwt::both(accept(&l), connect(&c, &a))).unwrap();
    (s, c)
}

fn read_all(fd: &FileDescr) -> Vec<u8> {
    fn go(fd: FileDescr, mut acc: Vec<u8>) -> Promise<Vec<u8>> {
        unix::read(&fd.clone(), vec![0u8; 4096], 0, 4096).bind(move |(buf, n)| {
            if n == 0 {
                lwt::resolved(acc)
            } else {
                acc.extend_from_slice(&buf[..n]);
                go(fd, acc)
            }
        })
    }
    main::run(go(fd.clone(), Vec::new())).unwrap()
}

// ----- pipes and descriptors -------------------------------------------------

#[test]
fn pipe_ends_are_non_blocking() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    assert!(!r.is_blocking() && !w.is_blocking());
    assert!(has_nonblock_flag(&r).unwrap() && has_nonblock_flag(&w).unwrap());
}

#[test]
fn read_waits_for_data_then_returns_it() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    let p = unix::read(&r, vec![0u8; 16], 0, 16);
    assert!(p.is_pending());
    assert_eq!(main::readable_count(), 1);
    main::run(unix::write(&w, b"hello", 0, 5)).unwrap();
    let (buf, n) = main::run(p).unwrap();
    assert_eq!(&buf[..n], b"hello");
    assert_eq!(main::readable_count(), 0);
}

#[test]
fn read_at_end_of_file_returns_zero() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    main::run(close(&w)).unwrap();
    let (_, n) = main::run(unix::read(&r, [0u8; 8], 0, 8)).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn read_from_a_closed_fd_rejects_with_ebadf() {
    let _g = shared();
    let (r, _w) = pipe().unwrap();
    main::run(close(&r)).unwrap();
    let e = main::run(unix::read(&r, [0u8; 8], 0, 8)).unwrap_err();
    assert_eq!(os_error(&e), libc_ebadf());
}

fn libc_ebadf() -> i32 {
    9
}

#[test]
fn closing_twice_rejects_with_ebadf() {
    let _g = shared();
    let (r, _w) = pipe().unwrap();
    main::run(close(&r)).unwrap();
    let e = main::run(close(&r)).unwrap_err();
    assert_eq!(os_error(&e), libc_ebadf());
}

#[test]
fn close_rejects_a_pending_read_with_ebadf() {
    let _g = shared();
    let (r, _w) = pipe().unwrap();
    let p = unix::read(&r, vec![0u8; 8], 0, 8);
    main::run(close(&r)).unwrap();
    let e = main::run(p).unwrap_err();
    assert_eq!(os_error(&e), libc_ebadf());
    assert_eq!(main::readable_count(), 0);
}

#[test]
fn canceling_a_pending_read_removes_its_waiter() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    let p = unix::read(&r, vec![0u8; 8], 0, 8);
    assert_eq!(main::readable_count(), 1);
    p.cancel();
    assert!(p.is_canceled());
    assert_eq!(main::readable_count(), 0);
    // The data written afterwards is still there for the next read.
    main::run(unix::write(&w, b"x", 0, 1)).unwrap();
    let (buf, n) = main::run(unix::read(&r, vec![0u8; 8], 0, 8)).unwrap();
    assert_eq!(&buf[..n], b"x");
}

#[test]
fn a_range_outside_the_buffer_is_an_invalid_argument() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    let e = main::run(unix::read(&r, vec![0u8; 4], 2, 3)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = main::run(unix::write(&w, b"ab", usize::MAX, 2)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn writing_to_a_pipe_without_reader_is_epipe() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    main::run(close(&r)).unwrap();
    let e = main::run(unix::write(&w, b"x", 0, 1)).unwrap_err();
    assert_eq!(os_error(&e), 32); // EPIPE, not a SIGPIPE death
}

#[test]
fn a_full_pipe_makes_write_wait_until_the_reader_drains_it() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    // Fill the pipe while the kernel says it has room.
    let mut total = 0;
    while writable(&w).unwrap() {
        total += main::run(unix::write(&w, vec![7u8; 65536], 0, 65536)).unwrap().1;
    }
    let pending = unix::write(&w, vec![1u8; 10], 0, 10);
    assert!(pending.is_pending());
    assert_eq!(main::writable_count(), 1);
    let drained = unix::read(&r, vec![0u8; 1 << 20], 0, 1 << 20);
    let ((_, got), (_, wrote)) = main::run(lwt::both(drained, pending)).unwrap();
    assert!(got > 0 && total > 0);
    assert_eq!(wrote, 10);
}

#[test]
fn a_large_transfer_through_a_pipe_keeps_every_byte() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    fn write_all(w: FileDescr, data: Rc<Vec<u8>>, ofs: usize) -> Promise<()> {
        if ofs == data.len() {
            return close(&w);
        }
        let len = (data.len() - ofs).min(65536);
        let chunk = data[ofs..ofs + len].to_vec();
        unix::write(&w.clone(), chunk, 0, len).bind(move |(_, n)| write_all(w, data, ofs + n))
    }
    lwt::async_({
        let data = Rc::new(data.clone());
        move || write_all(w, data, 0)
    });
    assert_eq!(read_all(&r), data);
}

#[test]
fn wait_read_resolves_at_once_when_data_is_there() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    assert!(!readable(&r).unwrap());
    main::run(unix::write(&w, b"x", 0, 1)).unwrap();
    assert!(readable(&r).unwrap());
    assert!(wait_read(&r).is_fulfilled());
}

#[test]
fn wait_read_waits_and_can_be_canceled() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    let waiting = wait_read(&r);
    assert!(waiting.is_pending());
    waiting.cancel();
    assert_eq!(main::readable_count(), 0);
    let again = wait_read(&r);
    main::run(unix::write(&w, b"x", 0, 1)).unwrap();
    main::run(again).unwrap();
}

#[test]
fn several_waiters_on_one_fd_are_all_woken_in_order() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    let order = Rc::new(std::cell::RefCell::new(Vec::new()));
    let waits: Vec<Promise<()>> = (0..3)
        .map(|i| {
            let o = order.clone();
            wait_read(&r).map(move |()| o.borrow_mut().push(i))
        })
        .collect();
    // One read waits too, and takes the byte once it is there.
    let read = unix::read(&r, vec![0u8; 1], 0, 1).map(|(b, n)| (b[0], n));
    main::run(unix::write(&w, b"z", 0, 1)).unwrap();
    let read = main::run(read).unwrap();
    main::run(lwt::join(waits)).unwrap();
    assert_eq!((read, order.borrow().clone()), ((b'z', 1), vec![0, 1, 2]));
    assert_eq!(main::readable_count(), 0);
}

#[test]
fn wait_write_resolves_on_an_empty_pipe() {
    let _g = shared();
    let (_r, w) = pipe().unwrap();
    assert!(writable(&w).unwrap());
    main::run(wait_write(&w)).unwrap();
}

#[test]
fn blocking_mode_runs_reads_on_a_worker_thread() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    set_blocking(&r, true, true).unwrap();
    assert!(r.is_blocking());
    assert!(!has_nonblock_flag(&r).unwrap());
    assert!(main::run(blocking(&r)).unwrap());
    let p = unix::read(&r, vec![0u8; 8], 0, 8);
    assert_eq!(main::job_count(), 1);
    main::run(unix::write(&w, b"job", 0, 3)).unwrap();
    let (buf, n) = main::run(p).unwrap();
    assert_eq!(&buf[..n], b"job");
}

#[test]
fn close_of_a_blocking_fd_waits_for_its_running_job() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    set_blocking(&r, true, true).unwrap();
    let read = unix::read(&r, vec![0u8; 8], 0, 8);
    let closed = close(&r);
    // The descriptor must stay open while the job reads from it.
    assert!(closed.is_pending());
    main::run(unix::write(&w, b"z", 0, 1)).unwrap();
    let (buf, n) = main::run(read).unwrap();
    assert_eq!(&buf[..n], b"z");
    main::run(closed).unwrap();
}

#[test]
fn abort_rejects_pending_and_later_calls() {
    let _g = shared();
    let (r, _w) = pipe().unwrap();
    let pending = unix::read(&r, vec![0u8; 8], 0, 8);
    abort(&r, Error::failure("aborted"));
    assert_eq!(main::run(pending).unwrap_err().message(), "aborted");
    assert_eq!(
        main::run(unix::read(&r, vec![0u8; 8], 0, 8)).unwrap_err().message(),
        "aborted"
    );
    assert!(matches!(r.state(), State::Aborted(_)));
    main::run(close(&r)).unwrap();
}

#[test]
fn readv_and_writev_move_several_buffers() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    let (_, n) = main::run(writev(&w, vec![&b"ab"[..], &b"cde"[..]])).unwrap();
    assert_eq!(n, 5);
    let (bufs, n) = main::run(readv(&r, vec![vec![0; 3], vec![0; 3]])).unwrap();
    assert_eq!(n, 5);
    assert_eq!((&bufs[0][..], &bufs[1][..2]), (&b"abc"[..], &b"de"[..]));
}

#[test]
fn dropping_the_last_handle_closes_the_descriptor() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    drop(w);
    // The write end is gone, so the read end sees end of file.
    let (_, n) = main::run(unix::read(&r, [0u8; 4], 0, 4)).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn isatty_is_false_for_a_pipe() {
    let _g = shared();
    let (r, _w) = pipe().unwrap();
    assert!(!main::run(isatty(&r)).unwrap());
}

#[test]
fn the_standard_descriptors_are_blocking() {
    let _g = shared();
    assert!(stdin().is_blocking() && stdout().is_blocking() && stderr().is_blocking());
    assert_eq!(stderr().raw_fd(), 2);
}

// ----- sockets ---------------------------------------------------------------

#[test]
fn tcp_connect_accept_and_echo() {
    let _g = shared();
    let (s, c) = tcp_pair();
    assert_eq!(getpeername(&c).unwrap(), getsockname(&s).unwrap());
    let p = send(&c, b"ping", 0, 4, &[])
        .bind({
            let s = s.clone();
            move |_| recv(&s, vec![0u8; 16], 0, 16, &[])
        })
        .bind(move |(buf, n)| send(&s, buf, 0, n, &[]))
        .bind(move |_| recv(&c, vec![0u8; 16], 0, 16, &[]));
    let (buf, n) = main::run(p).unwrap();
    assert_eq!(&buf[..n], b"ping");
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    let _g = shared();
    // Bind a port, then close it so nothing listens there.
    let (l, addr) = listener();
    main::run(close(&l)).unwrap();
    let c = socket(SocketDomain::Inet, SocketType::Stream, 0).unwrap();
    let e = main::run(connect(&c, &addr)).unwrap_err();
    assert_eq!(io_kind(&e), IoKind::ConnectionRefused);
}

#[test]
fn canceling_a_pending_accept_removes_its_waiter() {
    let _g = shared();
    let (l, addr) = listener();
    let a = accept(&l);
    assert!(a.is_pending());
    assert_eq!(main::readable_count(), 1);
    a.cancel();
    assert_eq!(main::readable_count(), 0);
    // The listener still works.
    let c = socket(SocketDomain::Inet, SocketType::Stream, 0).unwrap();
    let ((_s, peer), ()) = main::run(lwt::both(accept(&l), connect(&c, &addr))).unwrap();
    assert_eq!(peer, getsockname(&c).unwrap());
}

#[test]
fn canceling_a_pending_connect_removes_its_waiter() {
    let _g = shared();
    // A listener with a backlog of 0 that never accepts: once its queue is
    // full, the kernel drops further SYNs and connect stays in progress.
    let l = socket(SocketDomain::Inet, SocketType::Stream, 0).unwrap();
    main::run(bind(&l, &localhost())).unwrap();
    listen(&l, 0).unwrap();
    let addr = getsockname(&l).unwrap();
    let mut keep = Vec::new();
    let mut pending = None;
    for _ in 0..16 {
        let c = socket(SocketDomain::Inet, SocketType::Stream, 0).unwrap();
        let p = connect(&c, &addr);
        keep.push(c);
        if p.is_pending() {
            pending = Some(p);
            break;
        }
    }
    let p = pending.expect("a connect to a full backlog stays pending");
    assert_eq!(main::writable_count(), 1);
    p.cancel();
    assert!(p.is_canceled());
    assert_eq!(main::writable_count(), 0);
}

#[test]
fn canceling_a_pending_recv_removes_its_waiter() {
    let _g = shared();
    let (s, _c) = tcp_pair();
    let p = recv(&s, vec![0u8; 8], 0, 8, &[]);
    assert_eq!(main::readable_count(), 1);
    p.cancel();
    assert_eq!(main::readable_count(), 0);
}

#[test]
fn accept_n_takes_every_waiting_connection() {
    let _g = shared();
    let (l, addr) = listener();
    let clients: Vec<FileDescr> = (0..3)
        .map(|_| socket(SocketDomain::Inet, SocketType::Stream, 0).unwrap())
        .collect();
    main::run(lwt::join(clients.iter().map(|c| connect(c, &addr)))).unwrap();
    let (got, err) = main::run(accept_n(&l, 10)).unwrap();
    assert_eq!(got.len(), 3);
    assert!(err.is_none());
}

// The loop remembers what the poller reported about each fd, and a short
// read on a TCP socket marks it drained, so the next read waits for an
// event without trying the syscall. These check that such a read never
// misses what arrives later, the end of input, or data after urgent bytes.
// (A regression would hang: `guarded` turns that into a failure.)

/// Runs `p`, failing after 10 seconds instead of hanging.
fn guarded<T: 'static>(p: Promise<T>) -> T {
    main::run(unix::with_timeout(Duration::from_secs(10), move || p)).unwrap()
}

/// A read of up to 64 bytes, as text.
fn read_text(fd: &FileDescr) -> Promise<String> {
    unix::read(fd, vec![0u8; 64], 0, 64).map(|(b, n)| String::from_utf8(b[..n].to_vec()).unwrap())
}

#[test]
fn a_drained_tcp_socket_still_sees_later_data() {
    let _g = shared();
    let (s, c) = tcp_pair();
    // A read that waits registers the socket with the poller.
    let first = read_text(&s);
    assert!(first.is_pending());
    main::run(send(&c, b"abc", 0, 3, &[])).unwrap();
    assert_eq!(guarded(first), "abc"); // short: the socket is now known drained
    let second = read_text(&s);
    assert!(second.is_pending());
    assert_eq!(main::readable_count(), 1);
    main::run(send(&c, b"def", 0, 3, &[])).unwrap();
    assert_eq!(guarded(second), "def");
}

#[test]
fn a_short_tcp_read_before_the_end_of_input_does_not_hide_it() {
    let _g = shared();
    let (s, c) = tcp_pair();
    let first = read_text(&s);
    assert!(first.is_pending());
    // The data and the end of input arrive before the loop looks.
    main::run(send(&c, b"last", 0, 4, &[])).unwrap();
    shutdown(&c, ShutdownCommand::Send).unwrap();
    assert_eq!(guarded(first), "last");
    assert_eq!(guarded(read_text(&s)), "");
}

#[test]
fn urgent_data_does_not_stall_a_drained_tcp_socket() {
    let _g = shared();
    let (s, c) = tcp_pair();
    let first = read_text(&s);
    assert!(first.is_pending());
    // All of it arrives before the loop looks; a read stops short at the
    // urgent byte although "def" is queued behind it.
    let sent = send(&c, b"abc", 0, 3, &[])
        .bind({
            let c = c.clone();
            move |_| send(&c, b"!", 0, 1, &[MsgFlag::Oob])
        })
        .bind({
            let c = c.clone();
            move |_| send(&c, b"def", 0, 3, &[])
        });
    main::run(sent).unwrap();
    assert_eq!(guarded(first), "abc");
    assert_eq!(guarded(read_text(&s)), "def");
    drop(c); // only now: its end of input would wake the reader anyway
}

#[test]
fn a_read_woken_for_nothing_waits_again_and_stays_cancelable() {
    let _g = shared();
    let (r, w) = pipe().unwrap();
    // Two reads wait on one pipe; one edge wakes both, the first takes the
    // only byte, and the second finds nothing: it must wait again, as the
    // same (cancelable) waiter.
    let first = unix::read(&r, vec![0u8; 8], 0, 8);
    let second = unix::read(&r, vec![0u8; 8], 0, 8);
    assert_eq!(main::readable_count(), 2);
    main::run(unix::write(&w, b"x", 0, 1)).unwrap();
    let (buf, n) = guarded(first);
    assert_eq!(&buf[..n], b"x");
    assert!(second.is_pending());
    assert_eq!(main::readable_count(), 1);
    second.cancel();
    assert!(second.is_canceled());
    assert_eq!(main::readable_count(), 0);
    // The pipe still works, and the canceled read took nothing.
    main::run(unix::write(&w, b"y", 0, 1)).unwrap();
    let (buf, n) = guarded(unix::read(&r, vec![0u8; 8], 0, 8));
    assert_eq!(&buf[..n], b"y");
}

#[test]
fn a_read_canceled_after_its_edge_was_collected_ends_canceled_and_takes_nothing() {
    let _g = shared();
    let (r1, w1) = pipe().unwrap();
    let (r2, w2) = pipe().unwrap();
    // Both pipes become readable before the loop polls, so one poll
    // collects both waiting reads; whichever runs first cancels the other,
    // which then must not run.
    let a = unix::read(&r1, vec![0u8; 8], 0, 8);
    let b = unix::read(&r2, vec![0u8; 8], 0, 8);
    let (a2, b2) = (a.clone(), b.clone());
    let a_then = a.clone().map(move |(_, n)| {
        b2.cancel();
        assert!(b2.is_canceled());
        n
    });
    let b_then = b.clone().map(move |(_, n)| {
        a2.cancel();
        assert!(a2.is_canceled());
        n
    });
    main::run(unix::write(&w1, b"a", 0, 1)).unwrap();
    main::run(unix::write(&w2, b"b", 0, 1)).unwrap();
    let outcomes = lwt::both(
        a_then.then(|r| lwt::resolved(r.ok())),
        b_then.then(|r| lwt::resolved(r.ok())),
    );
    let (na, nb) = main::run(outcomes).unwrap();
    assert!(matches!((na, nb), (Some(1), None) | (None, Some(1))));
    assert!(a.is_canceled() != b.is_canceled());
    assert_eq!(main::readable_count(), 0);
    // The canceled read took nothing: its byte is still there.
    let (left, byte) = if a.is_canceled() { (&r1, b"a") } else { (&r2, b"b") };
    let (buf, n) = main::run(unix::read(left, vec![0u8; 8], 0, 8)).unwrap();
    assert_eq!(&buf[..n], byte);
}

#[test]
fn a_loop_nested_in_a_read_callback_finishes_the_other_collected_reads_once() {
    let _g = shared();
    let (r1, w1) = pipe().unwrap();
    let (r2, w2) = pipe().unwrap();
    // One poll collects both reads; whichever runs first drives a nested
    // loop (the exit hooks, allowed from a callback), which goes on with
    // the other collected read. Each must complete exactly once.
    let runs = Rc::new(std::cell::Cell::new(0));
    let on_read = |runs: Rc<std::cell::Cell<u32>>| {
        move |(buf, n): (Vec<u8>, usize)| {
            runs.set(runs.get() + 1);
            if runs.get() == 1 {
                main::at_exit(|| unix::sleep(Duration::from_millis(1)));
                main::run_exit_hooks();
            }
            buf[..n].to_vec()
        }
    };
    let a = unix::read(&r1, vec![0u8; 8], 0, 8).map(on_read(runs.clone()));
    let b = unix::read(&r2, vec![0u8; 8], 0, 8).map(on_read(runs.clone()));
    main::run(unix::write(&w1, b"a", 0, 1)).unwrap();
    main::run(unix::write(&w2, b"b", 0, 1)).unwrap();
    let (x, y) = main::run(lwt::both(a, b)).unwrap();
    assert_eq!((x, y), (b"a".to_vec(), b"b".to_vec()));
    assert_eq!(runs.get(), 2);
    assert_eq!(main::readable_count(), 0);
}

#[test]
fn shutdown_send_gives_the_peer_end_of_file() {
    let _g = shared();
    let (s, c) = tcp_pair();
    shutdown(&c, ShutdownCommand::Send).unwrap();
    let (_, n) = main::run(recv(&s, vec![0u8; 8], 0, 8, &[])).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn recv_with_peek_leaves_the_data() {
    let _g = shared();
    let (s, c) = tcp_pair();
    main::run(send(&c, b"abc", 0, 3, &[])).unwrap();
    main::run(wait_read(&s)).unwrap();
    let (b1, n1) = main::run(recv(&s, vec![0u8; 8], 0, 8, &[MsgFlag::Peek])).unwrap();
    let (b2, n2) = main::run(recv(&s, vec![0u8; 8], 0, 8, &[])).unwrap();
    assert_eq!((&b1[..n1], &b2[..n2]), (&b"abc"[..], &b"abc"[..]));
}

#[test]
fn udp_sendto_and_recvfrom() {
    let _g = shared();
    let a = socket(SocketDomain::Inet, SocketType::Dgram, 0).unwrap();
    let b = socket(SocketDomain::Inet, SocketType::Dgram, 0).unwrap();
    main::run(lwt::both(bind(&a, &localhost()), bind(&b, &localhost()))).unwrap();
    let to = getsockname(&b).unwrap();
    let recv = recvfrom(&b, vec![0u8; 64], 0, 64, &[]);
    assert!(recv.is_pending());
    main::run(sendto(&a, b"datagram", 0, 8, &[], &to)).unwrap();
    let (buf, n, from) = main::run(recv).unwrap();
    assert_eq!(&buf[..n], b"datagram");
    assert_eq!(from, getsockname(&a).unwrap());
}

#[test]
fn unix_domain_stream_sockets_work() {
    let _g = shared();
    let dir = TempDir::new("uds");
    let path = dir.join("sock");
    let addr = SockAddr::Unix(path.clone());
    let l = socket(SocketDomain::Unix, SocketType::Stream, 0).unwrap();
    main::run(bind(&l, &addr)).unwrap();
    listen(&l, 8).unwrap();
    assert_eq!(getsockname(&l).unwrap(), addr);
    let c = socket(SocketDomain::Unix, SocketType::Stream, 0).unwrap();
    let ((s, _), ()) = main::run(lwt::both(accept(&l), connect(&c, &addr))).unwrap();
    main::run(unix::write(&c, b"over uds", 0, 8)).unwrap();
    let (buf, n) = main::run(unix::read(&s, vec![0u8; 16], 0, 16)).unwrap();
    assert_eq!(&buf[..n], b"over uds");
}

#[test]
fn socketpair_gives_connected_sockets() {
    let _g = shared();
    let (a, b) = socketpair(SocketDomain::Unix, SocketType::Dgram, 0).unwrap();
    main::run(send(&a, b"one", 0, 3, &[])).unwrap();
    let (buf, n) = main::run(recv(&b, vec![0u8; 8], 0, 8, &[])).unwrap();
    assert_eq!(&buf[..n], b"one");
}

#[test]
fn socket_options_can_be_set_and_read() {
    let _g = shared();
    let s = socket(SocketDomain::Inet, SocketType::Stream, 0).unwrap();
    for opt in [
        SocketBoolOption::TcpNodelay,
        SocketBoolOption::SoKeepalive,
        SocketBoolOption::SoReuseaddr,
    ] {
        setsockopt(&s, opt, true).unwrap();
        assert!(getsockopt(&s, opt).unwrap());
        setsockopt(&s, opt, false).unwrap();
        assert!(!getsockopt(&s, opt).unwrap());
    }
    assert_eq!(getsockopt_int(&s, SocketIntOption::SoType).unwrap(), 1); // SOCK_STREAM
    setsockopt_int(&s, SocketIntOption::SoRcvbuf, 65536).unwrap();
    assert!(getsockopt_int(&s, SocketIntOption::SoRcvbuf).unwrap() >= 65536);
    setsockopt_optint(&s, SocketOptIntOption::SoLinger, Some(3)).unwrap();
    assert_eq!(getsockopt_optint(&s, SocketOptIntOption::SoLinger).unwrap(), Some(3));
    setsockopt_float(&s, SocketFloatOption::SoRcvtimeo, Some(Duration::from_millis(1500))).unwrap();
    assert_eq!(
        getsockopt_float(&s, SocketFloatOption::SoRcvtimeo).unwrap(),
        Some(Duration::from_millis(1500))
    );
    assert!(getsockopt_error(&s).unwrap().is_none());
}

#[test]
fn options_on_a_closed_socket_fail_with_ebadf() {
    let _g = shared();
    let s = socket(SocketDomain::Inet, SocketType::Stream, 0).unwrap();
    main::run(close(&s)).unwrap();
    let e = setsockopt(&s, SocketBoolOption::TcpNodelay, true).unwrap_err();
    assert_eq!(os_error(&e), libc_ebadf());
    assert!(listen(&s, 1).is_err());
}

#[test]
fn unparsable_addresses_are_invalid_arguments() {
    let _g = shared();
    for bad in ["", "localhost", "127.0.0.1", "300.1.1.1:80", "[::1]:99999", "1.2.3.4:x"] {
        let e = SockAddr::parse_inet(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
    }
}

#[test]
fn binding_an_address_in_use_fails() {
    let _g = shared();
    let (_l, addr) = listener();
    let s = socket(SocketDomain::Inet, SocketType::Stream, 0).unwrap();
    let e = main::run(bind(&s, &addr)).unwrap_err();
    assert_eq!(io_kind(&e), IoKind::AddrInUse);
}

#[test]
fn accept_close_cycles_leak_no_descriptors() {
    let _g = exclusive();
    fn count_fds() -> usize {
        std::fs::read_dir("/proc/self/fd").unwrap().count()
    }
    let (l, addr) = listener();
    let before = count_fds();
    for _ in 0..10_000 {
        let c = socket(SocketDomain::Inet, SocketType::Stream, 0).unwrap();
        let ((s, _), ()) = main::run(lwt::both(accept(&l), connect(&c, &addr))).unwrap();
        main::run(lwt::both(close(&s), close(&c))).unwrap();
    }
    // Threads of tests that just finished may still be closing their own
    // loop's descriptors (thread-local destructors run after the lock is
    // released), so the count can only go down meanwhile; a leak of even
    // one descriptor per thousand cycles would show as an increase.
    let after = count_fds();
    assert!(after <= before, "{before} descriptors before, {after} after");
}

// ----- files and directories -------------------------------------------------

#[test]
fn files_can_be_written_read_and_sought() {
    let _g = shared();
    let dir = TempDir::new("rw");
    let path = dir.join("f");
    let fd = main::run(openfile(
        &path,
        &[OpenFlag::Rdwr, OpenFlag::Creat, OpenFlag::Trunc],
        0o600,
    ))
    .unwrap();
    assert!(fd.is_blocking());
    let (_, n) = main::run(unix::write(&fd, b"hello world", 0, 11)).unwrap();
    assert_eq!(n, 11);
    assert_eq!(main::run(lseek(&fd, 6, SeekCommand::Set)).unwrap(), 6);
    let (buf, n) = main::run(unix::read(&fd, vec![0u8; 16], 0, 16)).unwrap();
    assert_eq!(&buf[..n], b"world");
    assert_eq!(main::run(lseek(&fd, -5, SeekCommand::End)).unwrap(), 6);
    main::run(fsync(&fd)).unwrap();
    main::run(fdatasync(&fd)).unwrap();
    main::run(close(&fd)).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"hello world");
}

#[test]
fn pread_and_pwrite_use_explicit_offsets() {
    let _g = shared();
    let dir = TempDir::new("prw");
    let fd = main::run(openfile(dir.join("f"), &[OpenFlag::Rdwr, OpenFlag::Creat], 0o600)).unwrap();
    main::run(pwrite(&fd, b"0123456789", 0, 10, 0)).unwrap();
    main::run(pwrite(&fd, b"AB", 0, 2, 4)).unwrap();
    let (buf, n) = main::run(pread(&fd, vec![0u8; 4], 0, 4, 3)).unwrap();
    assert_eq!(&buf[..n], b"3AB6");
    // The file position did not move.
    assert_eq!(main::run(lseek(&fd, 0, SeekCommand::Cur)).unwrap(), 0);
}

#[test]
fn opening_a_missing_file_rejects_with_not_found() {
    let _g = shared();
    let e = main::run(openfile("/nonexistent/lwt/file", &[OpenFlag::Rdonly], 0)).unwrap_err();
    assert_eq!(io_kind(&e), IoKind::NotFound);
}

#[test]
fn excl_refuses_an_existing_file() {
    let _g = shared();
    let dir = TempDir::new("excl");
    std::fs::write(dir.join("f"), b"").unwrap();
    let e = main::run(openfile(
        dir.join("f"),
        &[OpenFlag::Wronly, OpenFlag::Creat, OpenFlag::Excl],
        0o600,
    ))
    .unwrap_err();
    assert_eq!(io_kind(&e), IoKind::AlreadyExists);
}

#[test]
fn stat_lstat_and_fstat_report_kind_size_and_permissions() {
    let _g = shared();
    let dir = TempDir::new("stat");
    let f = dir.join("f");
    std::fs::write(&f, b"12345").unwrap();
    main::run(chmod(&f, 0o640)).unwrap();
    main::run(symlink(&f, dir.join("l"))).unwrap();
    let st = main::run(unix::stat(dir.join("l"))).unwrap();
    assert_eq!((st.st_kind, st.st_size, st.st_perm), (FileKind::Reg, 5, 0o640));
    let lst = main::run(lstat(dir.join("l"))).unwrap();
    assert_eq!(lst.st_kind, FileKind::Lnk);
    let fd = main::run(openfile(&f, &[OpenFlag::Rdonly], 0)).unwrap();
    let fst = main::run(fstat(&fd)).unwrap();
    assert_eq!((fst.st_ino, fst.st_size), (st.st_ino, 5));
    assert_eq!(main::run(unix::stat(&dir.0)).unwrap().st_kind, FileKind::Dir);
}

#[test]
fn file_exists_is_false_not_an_error() {
    let _g = shared();
    assert!(!main::run(file_exists("/nonexistent/lwt")).unwrap());
    assert!(main::run(file_exists("/")).unwrap());
}

#[test]
fn truncate_and_ftruncate_set_the_length() {
    let _g = shared();
    let dir = TempDir::new("trunc");
    let f = dir.join("f");
    std::fs::write(&f, b"0123456789").unwrap();
    main::run(truncate(&f, 4)).unwrap();
    assert_eq!(std::fs::read(&f).unwrap(), b"0123");
    let fd = main::run(openfile(&f, &[OpenFlag::Wronly], 0)).unwrap();
    main::run(ftruncate(&fd, 1)).unwrap();
    assert_eq!(std::fs::read(&f).unwrap(), b"0");
}

#[test]
fn unlink_rename_link_and_readlink() {
    let _g = shared();
    let dir = TempDir::new("names");
    let (a, b, c, l) = (dir.join("a"), dir.join("b"), dir.join("c"), dir.join("l"));
    std::fs::write(&a, b"x").unwrap();
    main::run(rename(&a, &b)).unwrap();
    assert!(!a.exists() && b.exists());
    main::run(link(&b, &c)).unwrap();
    assert_eq!(main::run(unix::stat(&c)).unwrap().st_nlink, 2);
    main::run(symlink("b", &l)).unwrap();
    assert_eq!(main::run(readlink(&l)).unwrap(), PathBuf::from("b"));
    main::run(unlink(&b)).unwrap();
    assert!(!b.exists());
    let e = main::run(unlink(&b)).unwrap_err();
    assert_eq!(io_kind(&e), IoKind::NotFound);
}

#[test]
fn access_checks_permissions() {
    let _g = shared();
    let dir = TempDir::new("access");
    let f = dir.join("f");
    std::fs::write(&f, b"x").unwrap();
    main::run(chmod(&f, 0o600)).unwrap();
    main::run(access(&f, &[AccessPermission::Read, AccessPermission::Write])).unwrap();
    let e = main::run(access(&f, &[AccessPermission::Execute]));
    // root may execute anything with an x bit somewhere; with none, nobody.
    assert!(e.is_err());
    assert!(main::run(access(dir.join("missing"), &[AccessPermission::Exists])).is_err());
}

#[test]
fn fchmod_and_chown_to_the_same_owner() {
    let _g = shared();
    let dir = TempDir::new("own");
    let f = dir.join("f");
    std::fs::write(&f, b"x").unwrap();
    let fd = main::run(openfile(&f, &[OpenFlag::Rdonly], 0)).unwrap();
    main::run(fchmod(&fd, 0o604)).unwrap();
    let st = main::run(fstat(&fd)).unwrap();
    assert_eq!(st.st_perm, 0o604);
    main::run(chown(&f, Some(st.st_uid), None)).unwrap();
    main::run(fchown(&fd, None, Some(st.st_gid))).unwrap();
}

#[test]
fn mkdir_readdir_and_rmdir() {
    let _g = shared();
    let dir = TempDir::new("dirs");
    let d = dir.join("d");
    main::run(mkdir(&d, 0o755)).unwrap();
    assert_eq!(
        io_kind(&main::run(mkdir(&d, 0o755)).unwrap_err()),
        IoKind::AlreadyExists
    );
    for n in ["x", "y", "z"] {
        std::fs::write(d.join(n), b"").unwrap();
    }
    let h = main::run(opendir(&d)).unwrap();
    let mut names = Vec::new();
    while let Some(n) = main::run(readdir(&h)).unwrap() {
        names.push(n.into_string().unwrap());
    }
    names.sort();
    assert_eq!(names, ["x", "y", "z"]);
    main::run(rewinddir(&h)).unwrap();
    assert_eq!(main::run(readdir_n(&h, 10)).unwrap().len(), 3);
    main::run(closedir(&h)).unwrap();
    assert_eq!(os_error(&main::run(readdir(&h)).unwrap_err()), libc_ebadf());
    let mut all = main::run(files_of_directory(&d)).unwrap();
    all.sort();
    assert_eq!(all, ["x", "y", "z"]);
    assert!(main::run(rmdir(&d)).is_err()); // not empty
    for n in ["x", "y", "z"] {
        std::fs::remove_file(d.join(n)).unwrap();
    }
    main::run(rmdir(&d)).unwrap();
    assert!(!d.exists());
}

#[test]
fn utimes_sets_times_and_none_means_now() {
    let _g = shared();
    let dir = TempDir::new("utimes");
    let f = dir.join("f");
    std::fs::write(&f, b"x").unwrap();
    let t = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    main::run(utimes(&f, Some(t), Some(t))).unwrap();
    let st = main::run(unix::stat(&f)).unwrap();
    assert_eq!((st.st_atime, st.st_mtime), (t, t));
    let before = SystemTime::now() - Duration::from_secs(5);
    main::run(utimes(&f, None, None)).unwrap();
    assert!(main::run(unix::stat(&f)).unwrap().st_mtime >= before);
}

#[test]
fn chdir_and_getcwd() {
    let _g = exclusive();
    let dir = TempDir::new("cwd");
    let old = main::run(getcwd()).unwrap();
    main::run(chdir(&dir.0)).unwrap();
    let now = main::run(getcwd()).unwrap();
    main::run(chdir(&old)).unwrap();
    assert_eq!(now.canonicalize().unwrap(), dir.0.canonicalize().unwrap());
    assert!(main::run(chdir("/nonexistent/lwt")).is_err());
}

// ----- processes and signals -------------------------------------------------

fn spawn_sh(cmd: &str) -> i32 {
    std::process::Command::new("/bin/sh")
        .args(["-c", cmd])
        .spawn()
        .unwrap()
        .id() as i32
}

#[test]
fn waitpid_reports_the_exit_code() {
    let _g = shared();
    let pid = spawn_sh("sleep 0.05; exit 5");
    let p = waitpid(&[], pid);
    assert_eq!(wait_count(), 1);
    assert_eq!(main::run(p).unwrap(), (pid, ProcessStatus::Exited(5)));
    assert_eq!(wait_count(), 0);
}

#[test]
fn waitpid_reports_a_killing_signal() {
    let _g = shared();
    let pid = spawn_sh("kill -TERM $$");
    assert_eq!(
        main::run(waitpid(&[], pid)).unwrap(),
        (pid, ProcessStatus::Signaled(15))
    );
}

#[test]
fn waitpid_with_nohang_returns_zero_while_the_child_runs() {
    let _g = shared();
    let pid = spawn_sh("sleep 0.05");
    assert_eq!(main::run(waitpid(&[WaitFlag::Nohang], pid)).unwrap().0, 0);
    assert_eq!(main::run(waitpid(&[], pid)).unwrap(), (pid, ProcessStatus::Exited(0)));
}

#[test]
fn waitpid_on_a_non_child_rejects_with_echild() {
    let _g = shared();
    let e = main::run(waitpid(&[], 1)).unwrap_err();
    assert_eq!(os_error(&e), 10); // ECHILD
}

#[test]
fn wait4_reports_resource_usage() {
    let _g = shared();
    let pid = spawn_sh("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done");
    let (got, status, usage) = main::run(wait4(&[], pid)).unwrap();
    assert_eq!((got, status), (pid, ProcessStatus::Exited(0)));
    assert!(usage.ru_utime + usage.ru_stime > Duration::ZERO);
}

#[test]
fn canceling_a_pending_waitpid_removes_it() {
    let _g = shared();
    let pid = spawn_sh("sleep 0.05");
    let p = waitpid(&[], pid);
    assert_eq!(wait_count(), 1);
    p.cancel();
    assert_eq!(wait_count(), 0);
    // Reap it for real.
    assert_eq!(main::run(waitpid(&[], pid)).unwrap().1, ProcessStatus::Exited(0));
}

#[test]
fn system_runs_a_shell_command() {
    let _g = shared();
    assert_eq!(main::run(system("exit 3")).unwrap(), ProcessStatus::Exited(3));
    assert_eq!(
        main::run(system("/nonexistent/lwt-command 2>/dev/null")).unwrap(),
        ProcessStatus::Exited(127)
    );
}

#[test]
fn wait_reaps_any_child() {
    let _g = exclusive();
    let pid = spawn_sh("exit 9");
    assert_eq!(main::run(wait()).unwrap(), (pid, ProcessStatus::Exited(9)));
}

fn caught_signals() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("SigCgt:")).unwrap();
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[test]
fn on_signal_runs_the_handler_and_disable_restores_the_default() {
    let _g = exclusive();
    const SIGUSR1: i32 = 10;
    let bit = 1u64 << (SIGUSR1 - 1);
    assert_eq!(caught_signals() & bit, 0);
    let (p, r) = lwt::wait::<i32>();
    let count = Rc::new(std::cell::Cell::new(0));
    let c = count.clone();
    let id = on_signal(SIGUSR1, move |s| {
        c.set(c.get() + 1);
        if r.is_pending() {
            r.wakeup(s);
        }
    })
    .unwrap();
    assert_ne!(caught_signals() & bit, 0);
    let me = std::process::id().to_string();
    std::process::Command::new("kill")
        .args(["-USR1", &me])
        .status()
        .unwrap();
    assert_eq!(main::run(p).unwrap(), SIGUSR1);
    assert!(count.get() >= 1);
    disable_signal_handler(id);
    assert_eq!(caught_signals() & bit, 0);
}

#[test]
fn on_signal_refuses_signals_that_cannot_be_caught() {
    let _g = shared();
    for sig in [0, 9, 19, 65, -3] {
        let e = on_signal(sig, |_| {}).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io, "signal {sig}");
    }
}

// ----- names -----------------------------------------------------------------

#[test]
fn getaddrinfo_resolves_numeric_and_local_names() {
    let _g = shared();
    let a = main::run(getaddrinfo("127.0.0.1", "8080", &[GetAddrInfoOption::AiNumerichost])).unwrap();
    assert!(a
        .iter()
        .all(|ai| ai.ai_addr == SockAddr::parse_inet("127.0.0.1:8080").unwrap()));
    let l = main::run(getaddrinfo(
        "localhost",
        "",
        &[
            GetAddrInfoOption::AiFamily(SocketDomain::Inet),
            GetAddrInfoOption::AiSocktype(SocketType::Stream),
        ],
    ))
    .unwrap();
    assert!(l
        .iter()
        .any(|ai| matches!(&ai.ai_addr, SockAddr::Inet(s) if s.ip().is_loopback())));
}

#[test]
fn getaddrinfo_rejects_an_unparsable_numeric_host() {
    let _g = shared();
    let e = main::run(getaddrinfo("not-an-address", "80", &[GetAddrInfoOption::AiNumerichost])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    let e = main::run(getaddrinfo("127.0.0.1", "no-such-service-lwt", &[])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
}

#[test]
fn getnameinfo_gives_numeric_names() {
    let _g = shared();
    let a = SockAddr::parse_inet("[::1]:443").unwrap();
    let ni = main::run(getnameinfo(
        &a,
        &[GetNameInfoOption::NiNumerichost, GetNameInfoOption::NiNumericserv],
    ))
    .unwrap();
    assert_eq!((ni.ni_hostname.as_str(), ni.ni_service.as_str()), ("::1", "443"));
}

#[test]
fn gethostname_matches_the_kernel() {
    let _g = shared();
    let h = main::run(gethostname()).unwrap();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(h, kernel.trim());
}

#[test]
fn gethostbyname_finds_localhost_and_not_nonsense() {
    let _g = shared();
    let h = main::run(gethostbyname("localhost")).unwrap();
    assert!(h.h_addr_list.iter().any(|a| a.is_loopback()));
    let e = main::run(gethostbyname("no-such-host.invalid")).unwrap_err();
    assert_eq!(io_kind(&e), IoKind::NotFound);
}

#[test]
fn getpwnam_finds_root_and_not_nonsense() {
    let _g = shared();
    let root = main::run(getpwnam("root")).unwrap();
    assert_eq!((root.pw_uid, root.pw_name.as_str()), (0, "root"));
    let e = main::run(getpwnam("no-such-user-lwt")).unwrap_err();
    assert_eq!(io_kind(&e), IoKind::NotFound);
}

#[test]
fn getlogin_gives_a_name_or_an_os_error() {
    let _g = shared();
    match main::run(getlogin()) {
        Ok(name) => assert!(!name.is_empty()),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Io),
    }
}
