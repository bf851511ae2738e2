//! Tests of `lwt::io` (Lwt_io): reading, writing, closing, the lock, auto
//! flush, files, connections and servers. Each test drives the event loop
//! with `lwt::main::run`; anything that could wait on the network or a
//! pipe is bounded by a timeout so that a bug fails the test instead of
//! hanging it.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use lwt::io::{self, be, le, Input, Output, ServerOptions};
use lwt::{Error, Promise};

/// Runs `p` on the loop, failing the test after 10 seconds.
fn run<T: 'static>(p: Promise<T>) -> Result<T, Error> {
    lwt::main::run(lwt::unix::with_timeout(Duration::from_secs(10), move || p))
}

fn ok<T: 'static>(p: Promise<T>) -> T {
    match run(p) {
        Ok(v) => v,
        Err(e) => panic!("unexpected rejection: {e:#}"),
    }
}

fn err<T: 'static>(p: Promise<T>) -> Error {
    match run(p) {
        Ok(_) => panic!("expected a rejection"),
        Err(e) => e,
    }
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("lwt-io-test-{}-{name}", std::process::id()))
}

fn input(data: &[u8]) -> io::InputChannel {
    io::of_bytes(Input, data.to_vec())
}

/// An output channel over a function that records each write it receives.
fn recording_output() -> (io::OutputChannel, Rc<RefCell<Vec<Vec<u8>>>>) {
    let sent = Rc::new(RefCell::new(Vec::new()));
    let s = sent.clone();
    let oc = io::make(Output, move |buf: Vec<u8>, ofs, len| {
        s.borrow_mut().push(buf[ofs..ofs + len].to_vec());
        lwt::resolved((buf, len))
    });
    (oc, sent)
}

// ---------------------------------------------------------------------------
// Reading

#[test]
fn read_line_strips_the_newline_and_a_cr_only_before_it() {
    let ic = input(b"a\r\nb\rc\n\r\n");
    assert_eq!(ok(io::read_line(&ic)), "a");
    assert_eq!(ok(io::read_line(&ic)), "b\rc");
    assert_eq!(ok(io::read_line(&ic)), "");
}

#[test]
fn read_line_returns_a_last_line_without_newline_then_end_of_file() {
    let ic = input(b"first\nlast");
    assert_eq!(ok(io::read_line(&ic)), "first");
    assert_eq!(ok(io::read_line(&ic)), "last");
    assert!(io::is_end_of_file(&err(io::read_line(&ic))));
}

#[test]
fn read_line_opt_gives_none_at_the_end() {
    let ic = input(b"x\n");
    assert_eq!(ok(io::read_line_opt(&ic)).as_deref(), Some("x"));
    assert_eq!(ok(io::read_line_opt(&ic)), None);
    assert_eq!(ok(io::read_line_opt(&ic)), None);
}

#[test]
fn read_line_longer_than_the_buffer_spans_refills() {
    let (ic, oc) = io::pipe().unwrap();
    let long = "y".repeat(100_000);
    let l2 = long.clone();
    let writer = io::write_line(&oc, l2).bind(move |()| io::close(&oc));
    let (line, ()) = ok(lwt::both(io::read_line(&ic), writer));
    assert_eq!(line, long);
}

#[test]
fn read_line_with_a_cr_at_a_refill_boundary_is_stripped() {
    // With a 16-byte buffer, the "\r" ends the first refill, the "\n"
    // starts the second.
    let (r, w) = lwt::unix::pipe().unwrap();
    let ic = io::Builder::new(Input).buffer_size(16).of_fd(r).unwrap();
    let oc = io::of_fd(Output, w);
    let p = io::write(&oc, "0123456789abcde\r\nnext\n").bind(move |()| io::close(&oc));
    ok(p);
    assert_eq!(ok(io::read_line(&ic)), "0123456789abcde");
    assert_eq!(ok(io::read_line(&ic)), "next");
}

#[test]
fn read_line_rejects_invalid_utf8_with_invalid_data() {
    let ic = input(b"\xff\xfe\n");
    let e = err(io::read_line(&ic));
    assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::InvalidData);
}

#[test]
fn read_char_at_the_end_rejects_with_end_of_file() {
    let ic = input(b"q");
    assert_eq!(ok(io::read_char(&ic)), b'q');
    let e = err(io::read_char(&ic));
    assert!(e.downcast_ref::<io::EndOfFile>().is_some());
    assert_eq!(ok(io::read_char_opt(&ic)), None);
}

#[test]
fn read_gives_at_most_count_and_empty_at_the_end() {
    let ic = input(b"abcdef");
    assert_eq!(ok(io::read(&ic, 4)), b"abcd");
    assert_eq!(ok(io::read(&ic, 0)), b"");
    assert_eq!(ok(io::read(&ic, 100)), b"ef");
    assert_eq!(ok(io::read(&ic, 100)), b"");
}

#[test]
fn read_into_returns_zero_at_the_end_and_never_end_of_file() {
    let ic = input(b"ab");
    let (buf, n) = ok(io::read_into(&ic, vec![0; 4], 1, 3));
    assert_eq!((n, &buf[..]), (2, &b"\0ab\0"[..]));
    let (_, n) = ok(io::read_into(&ic, vec![0; 4], 0, 4));
    assert_eq!(n, 0);
}

#[test]
fn read_into_with_a_range_outside_the_buffer_is_an_invalid_argument() {
    let ic = input(b"ab");
    let e = err(io::read_into(&ic, vec![0; 4], 3, 2));
    assert_eq!(e.kind(), lwt::ErrorKind::InvalidArgument);
}

#[test]
fn read_into_exactly_on_short_input_rejects_with_end_of_file() {
    let ic = input(b"abc");
    let e = err(io::read_into_exactly(&ic, vec![0; 8], 0, 8));
    assert!(io::is_end_of_file(&e));
}

#[test]
fn read_exactly_spans_many_refills_of_a_small_buffer() {
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let d2 = data.clone();
    let mut pos = 0;
    let ic = io::Builder::new(Input)
        .buffer_size(16)
        .make(move |mut buf: Vec<u8>, ofs, len| {
            let n = len.min(7).min(d2.len() - pos);
            buf[ofs..ofs + n].copy_from_slice(&d2[pos..pos + n]);
            pos += n;
            lwt::resolved((buf, n))
        })
        .unwrap();
    assert_eq!(ok(io::read_exactly(&ic, 1000)), data);
    assert!(io::is_end_of_file(&err(io::read_exactly(&ic, 1))));
}

#[test]
fn read_to_end_reads_everything_through_a_pipe() {
    let (ic, oc) = io::pipe().unwrap();
    let w = io::write(&oc, "part one, ")
        .bind({
            let oc = oc.clone();
            move |()| lwt::unix::sleep(Duration::from_millis(5)).bind(move |()| io::write(&oc, "part two"))
        })
        .bind(move |()| io::close(&oc));
    let (all, ()) = ok(lwt::both(io::read_to_end(&ic), w));
    assert_eq!(all, b"part one, part two");
}

#[test]
fn read_lines_is_a_stream_that_ends_with_the_input() {
    let ic = input(b"1\n2\n3");
    let lines = ok(io::read_lines(&ic).to_list());
    assert_eq!(lines, ["1", "2", "3"]);
}

#[test]
fn read_chars_is_a_stream_of_bytes() {
    let ic = input(b"xyz");
    assert_eq!(ok(io::read_chars(&ic).to_list()), b"xyz");
}

#[test]
fn a_read_function_returning_too_much_is_a_failure() {
    let ic = io::make(Input, |buf: Vec<u8>, _ofs, len| lwt::resolved((buf, len + 1)));
    let e = err(io::read_char(&ic));
    assert_eq!(e.kind(), lwt::ErrorKind::Failure);
    assert!(e.message().contains("invalid result of the read function"), "{e}");
}

#[test]
fn a_panicking_read_function_rejects_the_operation() {
    let ic = io::make(Input, |_buf: Vec<u8>, _ofs, _len| -> Promise<(Vec<u8>, usize)> {
        panic!("boom")
    });
    let e = err(io::read_char(&ic));
    assert_eq!(e.kind(), lwt::ErrorKind::Panic);
}

// ---------------------------------------------------------------------------
// Writing

#[test]
fn written_data_is_not_sent_before_the_turn_ends() {
    let (oc, sent) = recording_output();
    ok(io::write(&oc, "foo").bind({
        let oc = oc.clone();
        move |()| io::write(&oc, "bar")
    }));
    // `run` returned as soon as the writes resolved: no turn has passed.
    assert!(sent.borrow().is_empty());
    assert_eq!(io::buffered(&oc), 6);
}

#[test]
fn auto_flush_sends_written_data_after_a_pause() {
    let (oc, sent) = recording_output();
    let s = sent.clone();
    let p = io::write(&oc, "foo")
        .bind({
            let oc = oc.clone();
            move |()| io::write(&oc, "bar")
        })
        .bind(move |()| {
            let before = s.borrow().len();
            lwt::pause().map(move |()| before)
        });
    assert_eq!(ok(p), 0);
    assert_eq!(*sent.borrow(), vec![b"foobar".to_vec()]);
}

#[test]
fn channels_written_in_one_turn_are_all_auto_flushed_at_the_next_wakeup() {
    let (a, sent_a) = recording_output();
    let (b, sent_b) = recording_output();
    ok(io::write(&a, "to a"));
    ok(io::write(&b, "to b"));
    assert!(sent_a.borrow().is_empty() && sent_b.borrow().is_empty());
    lwt::wakeup_paused();
    assert_eq!(*sent_a.borrow(), vec![b"to a".to_vec()]);
    assert_eq!(*sent_b.borrow(), vec![b"to b".to_vec()]);
    // And again on the next turn.
    ok(io::write(&b, "again"));
    lwt::wakeup_paused();
    assert_eq!(sent_b.borrow().last().unwrap(), b"again");
}

#[test]
fn auto_flush_still_works_after_the_paused_promises_are_abandoned() {
    let (a, sent_a) = recording_output();
    let (b, sent_b) = recording_output();
    ok(io::write(&a, "before"));
    // What a forked child does: the pause of the auto-flusher is forgotten.
    lwt::abandon_paused();
    // Other code pauses again before the next write.
    let other = lwt::pause();
    ok(io::write(&b, "after"));
    lwt::wakeup_paused();
    assert!(other.is_fulfilled());
    assert_eq!(*sent_b.borrow(), vec![b"after".to_vec()]);
    assert_eq!(*sent_a.borrow(), vec![b"before".to_vec()]);
}

#[test]
fn a_pause_notifier_that_writes_to_a_channel_is_auto_flushed_too() {
    let (a, sent_a) = recording_output();
    let (b, sent_b) = recording_output();
    let once = std::cell::Cell::new(true);
    lwt::register_pause_notifier(move |_| {
        if once.replace(false) {
            // Called while the auto-flusher of `a` makes its pause.
            drop(io::write(&b, "from the notifier"));
        }
    });
    ok(io::write(&a, "first"));
    lwt::wakeup_paused();
    lwt::register_pause_notifier(|_| {});
    assert_eq!(*sent_a.borrow(), vec![b"first".to_vec()]);
    assert_eq!(*sent_b.borrow(), vec![b"from the notifier".to_vec()]);
}

#[test]
fn auto_flush_runs_inside_an_atomic_block() {
    let (oc, sent) = recording_output();
    let s = sent.clone();
    let p = io::atomic(&oc, move |oc| {
        io::write(&oc, "foo")
            .bind({
                let oc = oc.clone();
                move |()| io::write(&oc, "bar")
            })
            .bind(|()| lwt::pause())
            .map(move |()| s.borrow().clone())
    });
    assert_eq!(ok(p), vec![b"foobar".to_vec()]);
}

#[test]
fn a_write_function_that_takes_a_few_bytes_at_a_time_loses_nothing() {
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    let oc = io::Builder::new(Output)
        .buffer_size(16)
        .make(move |buf: Vec<u8>, ofs, len| {
            let n = len.min(3);
            g.borrow_mut().extend_from_slice(&buf[ofs..ofs + n]);
            lwt::resolved((buf, n))
        })
        .unwrap();
    let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let d2 = data.clone();
    ok(io::write(&oc, d2).bind(move |()| io::close(&oc)));
    assert_eq!(*got.borrow(), data);
}

#[test]
fn a_write_function_that_writes_nothing_is_a_failure_not_a_hang() {
    let oc = io::make(Output, |buf: Vec<u8>, _ofs, _len| lwt::resolved((buf, 0)));
    let p = io::write(&oc, "x").bind(move |()| io::flush(&oc));
    assert_eq!(err(p).kind(), lwt::ErrorKind::Failure);
}

#[test]
fn write_from_takes_what_fits_and_write_from_exactly_takes_everything() {
    let (ic, oc) = io::pipe().unwrap();
    let data = vec![b'z'; 10_000];
    let (_, n) = ok(io::write_from(&oc, data.clone(), 0, 10_000));
    assert!(n > 0 && n <= io::buffer_size(&oc), "{n}");
    let back = ok(io::write_from_exactly(&oc, data, n, 10_000 - n));
    assert_eq!(back.len(), 10_000);
    ok(io::close(&oc));
    assert_eq!(ok(io::read_to_end(&ic)), vec![b'z'; 10_000]);
}

#[test]
fn write_lines_and_write_chars_write_every_item() {
    let (ic, oc) = io::pipe().unwrap();
    let oc2 = oc.clone();
    let p = io::write_lines(&oc, &lwt::stream::of_list(["l1", "l2"]))
        .bind(move |()| io::write_chars(&oc2, &lwt::stream::of_list(*b"ab")))
        .bind(move |()| io::close(&oc));
    ok(p);
    assert_eq!(ok(io::read_to_end(&ic)), b"l1\nl2\nab");
}

#[test]
fn printf_macros_format_into_the_channel() {
    let (ic, oc) = io::pipe().unwrap();
    let oc2 = oc.clone();
    let p = io::fprintf!(&oc, "{}-{:03}", "n", 7)
        .bind(move |()| io::fprintlf!(&oc2, "!"))
        .bind(move |()| io::close(&oc));
    ok(p);
    assert_eq!(ok(io::read_to_end(&ic)), b"n-007!\n");
}

#[test]
fn buffered_output_is_written_when_the_thread_ends_without_a_flush() {
    // The thread writes to a file and ends before any loop turn could run
    // the auto-flush (`run` returns as soon as the write is buffered).
    let path = temp_path("thread-exit");
    let p2 = path.clone();
    std::thread::spawn(move || {
        let oc = lwt::main::run(io::open_file(Output, &p2)).unwrap();
        lwt::main::run(io::write(&oc, "written at thread exit")).unwrap();
        assert_eq!(io::buffered(&oc), 22);
    })
    .join()
    .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "written at thread exit");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn flush_all_flushes_every_output_channel() {
    let (ic1, oc1) = io::pipe().unwrap();
    let (ic2, oc2) = io::pipe().unwrap();
    ok(io::write(&oc1, "1"));
    ok(io::write(&oc2, "2"));
    ok(io::flush_all());
    assert_eq!((io::buffered(&oc1), io::buffered(&oc2)), (0, 0));
    assert_eq!(ok(io::read(&ic1, 8)), b"1");
    assert_eq!(ok(io::read(&ic2, 8)), b"2");
}

// ---------------------------------------------------------------------------
// Close, abort, closed channels

#[test]
fn reading_a_closed_input_channel_names_the_operation() {
    let (ic, _oc) = io::pipe().unwrap();
    ok(io::close(&ic));
    let e = err(io::read_char(&ic));
    let c = e.downcast_ref::<io::ChannelClosed>().unwrap();
    assert_eq!((c.mode, c.operation), (io::ModeKind::Input, "read_char"));
}

#[test]
fn writing_a_closed_output_channel_rejects_with_channel_closed() {
    let (_ic, oc) = io::pipe().unwrap();
    ok(io::close(&oc));
    let e = err(io::write_line(&oc, "late"));
    let c = e.downcast_ref::<io::ChannelClosed>().unwrap();
    assert_eq!((c.mode, c.operation), (io::ModeKind::Output, "write_line"));
    assert!(io::is_closed(&oc));
}

#[test]
fn close_is_idempotent_and_closes_the_descriptor_once() {
    let (r, w) = lwt::unix::pipe().unwrap();
    let oc = io::of_fd(Output, w.clone());
    ok(io::close(&oc));
    ok(io::close(&oc));
    assert!(matches!(w.state(), lwt::unix::State::Closed));
    drop(r);
}

#[test]
fn close_of_an_output_channel_waits_for_queued_writes_and_flushes() {
    let (ic, oc) = io::pipe().unwrap();
    // Fill the pipe's kernel buffer so that the first flush has to wait.
    let big = vec![b'.'; 200_000];
    let w1 = io::write(&oc, big);
    let w2 = io::write_line(&oc, "end");
    let c = io::close(&oc);
    assert!(w1.is_pending() || w2.is_pending());
    let all = io::read_to_end(&ic);
    let (data, ()) = ok(lwt::both(all, lwt::join(vec![w1, w2, c])));
    assert_eq!(data.len(), 200_004);
    assert!(data.ends_with(b"end\n"));
}

#[test]
fn abort_interrupts_a_pending_read() {
    let (ic, oc) = io::pipe().unwrap();
    let pending = io::read_line(&ic);
    let queued = io::read_line(&ic);
    assert!(pending.is_pending());
    ok(io::abort(&ic));
    let e = err(pending);
    assert_eq!(e.downcast_ref::<io::ChannelClosed>().unwrap().operation, "read_line");
    assert!(io::is_channel_closed(&err(queued)));
    drop(oc);
}

#[test]
fn abort_interrupts_a_flush_waiting_for_room_in_the_pipe() {
    let (ic, oc) = io::pipe().unwrap();
    // More than the pipe holds: the flush waits for the reader.
    let flushing = io::write(&oc, vec![7u8; 1 << 20]).bind({
        let oc = oc.clone();
        move |()| io::flush(&oc)
    });
    assert!(flushing.is_pending());
    ok(io::abort(&oc));
    assert!(io::is_channel_closed(&err(flushing)));
    drop(ic);
}

#[test]
fn abort_after_a_waiting_read_was_canceled_rejects_nothing_twice() {
    let (ic, oc) = io::pipe().unwrap();
    let canceled = io::read_line(&ic);
    canceled.cancel();
    assert!(canceled.is_canceled());
    ok(io::abort(&ic));
    assert!(io::is_closed(&ic));
    assert!(canceled.is_canceled());
    drop(oc);
}

#[test]
fn closing_an_input_channel_rejects_operations_queued_on_it() {
    let (ic, oc) = io::pipe().unwrap();
    let first = io::read_char(&ic);
    let second = io::read_exactly(&ic, 3);
    ok(io::close(&ic));
    assert!(io::is_channel_closed(&err(first)));
    let e = err(second);
    assert_eq!(e.downcast_ref::<io::ChannelClosed>().unwrap().operation, "read_exactly");
    drop(oc);
}

#[test]
fn reading_from_a_pipe_whose_writer_closed_is_the_end_of_input() {
    let (ic, oc) = io::pipe().unwrap();
    let reading = io::read_line_opt(&ic);
    ok(io::close(&oc));
    assert_eq!(ok(reading), None);
}

#[test]
fn writing_to_a_pipe_whose_reader_closed_fails_with_broken_pipe() {
    let (ic, oc) = io::pipe().unwrap();
    ok(io::close(&ic));
    let e = err(io::write(&oc, vec![1u8; 100_000]).bind(move |()| io::flush(&oc)));
    assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::BrokenPipe);
}

// ---------------------------------------------------------------------------
// The lock

#[test]
fn operations_run_in_the_order_they_were_called() {
    let (ic, oc) = io::pipe().unwrap();
    let a = io::read_line(&ic);
    let b = io::read_line(&ic);
    let c = io::read_line(&ic);
    ok(io::write(&oc, "1\n2\n3\n").bind(move |()| io::flush(&oc)));
    assert_eq!(ok(lwt::all(vec![a, b, c])), ["1", "2", "3"]);
}

#[test]
fn a_canceled_queued_operation_does_not_block_the_next_ones() {
    let (ic, oc) = io::pipe().unwrap();
    let a = io::read_line(&ic);
    let b = io::read_line(&ic);
    let c = io::read_line(&ic);
    b.cancel();
    ok(io::write(&oc, "1\n2\n").bind(move |()| io::flush(&oc)));
    assert_eq!(ok(lwt::both(a, c)), ("1".to_string(), "2".to_string()));
    assert!(b.is_canceled());
}

#[test]
fn canceling_a_pending_read_frees_the_channel() {
    let (ic, oc) = io::pipe().unwrap();
    let a = io::read_line(&ic);
    a.cancel();
    assert!(!io::is_busy(&ic));
    ok(io::write(&oc, "after\n").bind(move |()| io::flush(&oc)));
    assert_eq!(ok(io::read_line(&ic)), "after");
}

#[test]
fn the_continuation_of_a_read_that_waited_finds_the_channel_idle() {
    let (ic, oc) = io::pipe().unwrap();
    let ic2 = ic.clone();
    // The read waits for the pipe; its `map` runs once the lock is released,
    // so a second read started there takes the fast path, not the queue.
    let seen = io::read_line(&ic).map(move |l| (l, io::is_busy(&ic2)));
    assert!(io::is_busy(&ic));
    ok(io::write(&oc, "first\n").bind(move |()| io::flush(&oc)));
    assert_eq!(ok(seen), ("first".to_string(), false));
    assert!(!io::is_busy(&ic));
}

#[test]
fn the_cancel_callbacks_of_a_waiting_read_into_find_the_channel_idle() {
    let (ic, oc) = io::pipe().unwrap();
    let ic2 = ic.clone();
    let busy_then = Rc::new(RefCell::new(None));
    let b = busy_then.clone();
    let a = io::read_into(&ic, vec![0u8; 16], 0, 16);
    assert!(io::is_busy(&ic));
    a.on_cancel(move || *b.borrow_mut() = Some(io::is_busy(&ic2)));
    a.cancel();
    // As in Lwt, the lock is released before the operation's own cancel
    // callbacks run (a read whose promise is its wait for the fd).
    assert_eq!(*busy_then.borrow(), Some(false));
    ok(io::write_line(&oc, "next").bind(move |()| io::flush(&oc)));
    assert_eq!(ok(io::read_line(&ic)), "next");
}

#[test]
fn a_read_that_waits_twice_keeps_the_channel_between_its_waits() {
    let (ic, oc) = io::pipe().unwrap();
    let exact = io::read_into_exactly(&ic, vec![0u8; 6], 0, 6);
    let line = io::read_line(&ic);
    let o2 = oc.clone();
    ok(io::write(&oc, "abc").bind(move |()| io::flush(&o2)));
    // The pipe holds "abc": the loop turns until the read took it and
    // waits again for the rest.
    ok(lwt::unix::sleep(Duration::from_millis(1)));
    assert!(exact.is_pending() && line.is_pending());
    assert!(io::is_busy(&ic), "the lock stays with the read between its waits");
    let o2 = oc.clone();
    ok(io::write(&oc, "defxyz\n").bind(move |()| io::flush(&o2)));
    assert_eq!(ok(exact), b"abcdef");
    assert_eq!(ok(line), "xyz");
    assert!(!io::is_busy(&ic));
}

#[test]
fn aborting_a_channel_whose_read_waits_releases_it() {
    let (ic, oc) = io::pipe().unwrap();
    let waiting = io::read_line(&ic);
    assert!(io::is_busy(&ic));
    ok(io::abort(&ic));
    assert!(io::is_channel_closed(&err(waiting)));
    assert!(!io::is_busy(&ic));
    drop(oc);
}

#[test]
fn a_thread_that_ends_with_a_channel_read_waiting_ends_cleanly() {
    let t = std::thread::spawn(|| {
        let (ic, oc) = io::pipe().unwrap();
        let waiting = io::read_line(&ic);
        assert!(waiting.is_pending() && io::is_busy(&ic));
        // Returning drops the handles; the wait stays in the loop's tables,
        // which go with the thread.
        drop(oc);
    });
    assert!(t.join().is_ok(), "the thread ended without a panic");
}

#[test]
fn a_read_that_times_out_leaves_the_channel_usable() {
    let (ic, oc) = io::pipe().unwrap();
    let ic2 = ic.clone();
    let e = err(lwt::unix::with_timeout(Duration::from_millis(10), move || {
        io::read_line(&ic2)
    }));
    assert!(e.is_timeout());
    assert!(!io::is_busy(&ic) && !io::is_closed(&ic));
    ok(io::write_line(&oc, "late but fine").bind(move |()| io::flush(&oc)));
    assert_eq!(ok(io::read_line(&ic)), "late but fine");
}

#[test]
fn concurrent_writers_in_atomic_blocks_never_interleave() {
    let (ic, oc) = io::pipe().unwrap();
    let writers: Vec<Promise<()>> = (0..50)
        .map(|w| {
            io::atomic(&oc, move |oc| {
                fn lines(oc: io::OutputChannel, w: u32, i: u32) -> Promise<()> {
                    if i == 20 {
                        return lwt::resolved(());
                    }
                    // Pauses between lines give the others every chance to cut in.
                    io::write_line(&oc, format!("{w}:{i}"))
                        .bind(|()| lwt::pause())
                        .bind(move |()| lines(oc, w, i + 1))
                }
                lines(oc, w, 0)
            })
        })
        .collect();
    let oc2 = oc.clone();
    let done = lwt::join(writers).bind(move |()| io::close(&oc2));
    let (lines, ()) = ok(lwt::both(io::read_lines(&ic).to_list(), done));
    assert_eq!(lines.len(), 1000);
    for (k, chunk) in lines.chunks(20).enumerate() {
        let w = chunk[0].split(':').next().unwrap().to_string();
        for (i, l) in chunk.iter().enumerate() {
            assert_eq!(*l, format!("{w}:{i}"), "block {k} was interleaved");
        }
    }
}

#[test]
fn the_temporary_channel_of_atomic_is_invalid_after_the_block() {
    let (_ic, oc) = io::pipe().unwrap();
    let tmp = ok(io::atomic(&oc, lwt::resolved));
    let e = err(io::write(&tmp, "x"));
    assert_eq!(e.kind(), lwt::ErrorKind::Failure);
    assert!(e.message().contains("no more valid"), "{e}");
}

#[test]
fn closing_the_temporary_channel_of_atomic_is_refused() {
    let (_ic, oc) = io::pipe().unwrap();
    let e = err(io::atomic(&oc, |tmp| io::close(&tmp)));
    assert!(e.message().contains("cannot close a channel obtained via"), "{e}");
    assert!(!io::is_closed(&oc));
}

// ---------------------------------------------------------------------------
// Bulk data

#[test]
fn sixty_four_mib_through_a_pipe_arrive_intact() {
    const TOTAL: usize = 64 << 20;
    let (ic, oc) = io::pipe().unwrap();
    // The writer sends chunks of varied sizes (smaller and larger than the
    // buffer); the reader checks the pattern as it goes.
    fn send(oc: io::OutputChannel, sent: usize) -> Promise<()> {
        if sent == TOTAL {
            return io::close(&oc);
        }
        let size = [1, 100, 4095, 4096, 70_000, 1 << 20][sent % 6].min(TOTAL - sent);
        let chunk: Vec<u8> = (sent..sent + size).map(|i| (i % 251) as u8).collect();
        io::write(&oc, chunk).bind(move |()| send(oc, sent + size))
    }
    fn check(ic: io::InputChannel, seen: usize) -> Promise<usize> {
        io::read(&ic, 65536).bind(move |data| {
            if data.is_empty() {
                return lwt::resolved(seen);
            }
            for (k, b) in data.iter().enumerate() {
                if *b != ((seen + k) % 251) as u8 {
                    return lwt::fail_with(format!("byte {} is wrong", seen + k));
                }
            }
            check(ic, seen + data.len())
        })
    }
    let (seen, ()) = ok(lwt::both(check(ic, 0), send(oc, 0)));
    assert_eq!(seen, TOTAL);
}

// ---------------------------------------------------------------------------
// Numbers

#[test]
fn binary_numbers_round_trip_in_both_byte_orders() {
    let (ic, oc) = io::pipe().unwrap();
    let o = oc.clone();
    let w = le::write_int16(&o, -3)
        .bind({
            let o = o.clone();
            move |()| be::write_int16(&o, -3)
        })
        .bind({
            let o = o.clone();
            move |()| le::write_int32(&o, 0x1234_5678)
        })
        .bind({
            let o = o.clone();
            move |()| be::write_int64(&o, i64::MIN + 1)
        })
        .bind({
            let o = o.clone();
            move |()| le::write_float32(&o, 2.5)
        })
        .bind({
            let o = o.clone();
            move |()| be::write_float64(&o, -0.125)
        })
        .bind({
            let o = o.clone();
            move |()| io::write_int32(&o, 7)
        })
        .bind(move |()| io::close(&oc));
    ok(w);
    let raw = ok(io::read_exactly(&ic, 4));
    assert_eq!(raw, [0xfd, 0xff, 0xff, 0xfd]);
    assert_eq!(ok(le::read_int32(&ic)), 0x1234_5678);
    assert_eq!(ok(be::read_int64(&ic)), i64::MIN + 1);
    assert_eq!(ok(le::read_float32(&ic)), 2.5);
    assert_eq!(ok(be::read_float64(&ic)), -0.125);
    assert_eq!(ok(io::read_int32(&ic)), 7);
    assert!(io::is_end_of_file(&err(io::read_int16(&ic))));
}

#[test]
fn a_number_split_across_refills_is_read_whole() {
    let (r, w) = lwt::unix::pipe().unwrap();
    let ic = io::Builder::new(Input).buffer_size(16).of_fd(r).unwrap();
    let oc = io::of_fd(Output, w);
    ok(io::write(&oc, [0u8; 13]).bind({
        let oc = oc.clone();
        move |()| be::write_int64(&oc, 0x0102_0304_0506_0708)
    }));
    ok(io::close(&oc));
    ok(io::read_exactly(&ic, 13));
    assert_eq!(ok(be::read_int64(&ic)), 0x0102_0304_0506_0708);
}

// ---------------------------------------------------------------------------
// Buffers and special channels

#[test]
fn buffer_sizes_below_the_minimum_are_invalid_arguments() {
    let e = io::Builder::new(Input)
        .buffer_size(15)
        .make(|b: Vec<u8>, _, _| lwt::resolved((b, 0)))
        .unwrap_err();
    assert_eq!(e.kind(), lwt::ErrorKind::InvalidArgument);
    assert!(io::set_default_buffer_size(0).is_err());
    let (ic, _oc) = io::pipe().unwrap();
    assert_eq!(err(io::resize_buffer(&ic, 1)).kind(), lwt::ErrorKind::InvalidArgument);
}

#[test]
fn resize_buffer_keeps_buffered_input() {
    let ic = io::make(Input, {
        let mut data = Some(b"0123456789".to_vec());
        move |mut buf: Vec<u8>, ofs, _len| match data.take() {
            Some(d) => {
                buf[ofs..ofs + d.len()].copy_from_slice(&d);
                lwt::resolved((buf, d.len()))
            }
            None => lwt::resolved((buf, 0)),
        }
    });
    assert_eq!(ok(io::read(&ic, 2)), b"01");
    ok(io::resize_buffer(&ic, 32));
    assert_eq!(io::buffer_size(&ic), 32);
    assert_eq!(ok(io::read_to_end(&ic)), b"23456789");
    // Shrinking below what is buffered is refused.
    let ic = input(b"0123456789012345678901234567890123456789");
    assert_eq!(io::buffered(&ic), 40);
    assert!(run(io::resize_buffer(&ic, 16)).is_err());
}

#[test]
fn zero_reads_zeros_and_null_swallows_everything() {
    assert_eq!(ok(io::read_exactly(&io::zero(), 100)), vec![0; 100]);
    let n = io::null();
    let n2 = n.clone();
    ok(io::write(&n, vec![1u8; 10_000]).bind(move |()| io::flush(&n2)));
    assert_eq!(io::position(&n), 10_000);
}

// ---------------------------------------------------------------------------
// Files

#[test]
fn lines_written_to_a_file_are_read_back() {
    let path = temp_path("lines");
    ok(io::lines_to_file(
        &path,
        &lwt::stream::of_list(["alpha", "beta", "gamma"]),
    ));
    assert_eq!(ok(io::lines_of_file(&path).to_list()), ["alpha", "beta", "gamma"]);
    assert_eq!(ok(io::chars_of_file(&path).to_list()).len(), 17);
    assert_eq!(ok(io::file_length(&path)), 17);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn with_file_closes_the_channel_even_when_the_body_fails() {
    let path = temp_path("with");
    let kept = Rc::new(RefCell::new(None));
    let k = kept.clone();
    let e = err(io::with_file(Output, &path, move |oc| {
        *k.borrow_mut() = Some(oc);
        lwt::fail_with::<()>("body failed")
    }));
    assert_eq!(e.message(), "body failed");
    assert!(io::is_closed(kept.borrow().as_ref().unwrap()));
    std::fs::remove_file(path).unwrap();
}

#[test]
fn opening_a_missing_file_is_not_found_and_names_the_path() {
    let path = temp_path("missing/file");
    let e = err(io::open_file(Input, &path));
    let ioe = e.io_error().unwrap();
    assert_eq!(ioe.kind(), std::io::ErrorKind::NotFound);
    assert!(ioe.to_string().contains("missing"), "{ioe}");
}

#[test]
fn file_length_of_a_directory_is_eisdir() {
    let e = err(io::file_length(std::env::temp_dir()));
    assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::IsADirectory);
}

#[test]
fn positions_move_within_a_file() {
    let path = temp_path("pos");
    std::fs::write(&path, "0123456789").unwrap();
    let ic = ok(io::open_file(Input, &path));
    assert_eq!(ok(io::length(&ic)), 10);
    assert_eq!(ok(io::read(&ic, 3)), b"012");
    assert_eq!(io::position(&ic), 3);
    ok(io::set_position(&ic, 8));
    assert_eq!(ok(io::read_to_end(&ic)), b"89");
    ok(io::set_position(&ic, 1));
    assert_eq!(ok(io::read(&ic, 2)), b"12");
    ok(io::close(&ic));

    let oc = ok(io::open_file(Output, &path));
    ok(io::write(&oc, "abcdef"));
    assert_eq!(io::position(&oc), 6);
    ok(io::set_position(&oc, 2));
    ok(io::write(&oc, "XY"));
    assert_eq!(ok(io::length(&oc)), 6);
    ok(io::close(&oc));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "abXYef");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn seeking_a_pipe_is_refused() {
    let (ic, _oc) = io::pipe().unwrap();
    let e = err(io::set_position(&ic, 1));
    assert_eq!(e.io_error().unwrap().raw_os_error(), Some(29)); // ESPIPE
}

// ---------------------------------------------------------------------------
// Connections and servers

#[test]
fn a_server_echoes_lines_to_a_client() {
    let p = io::establish_server(any_port(), |ic, oc| {
        io::read_lines(&ic).iter_s(move |l| io::write_line(&oc, l))
    })
    .bind(|server| {
        io::with_connection(server.addr().clone(), |ic, oc| {
            io::write_lines(&oc, &lwt::stream::of_list(["ping", "pong"]))
                .bind(move |()| io::close(&oc))
                .bind(move |()| io::read_lines(&ic).to_list())
        })
        .bind(move |lines| server.shutdown().map(move |()| lines))
    });
    assert_eq!(ok(p), ["ping", "pong"]);
}

#[test]
fn the_server_closes_the_channels_when_the_handler_ends() {
    let seen: Rc<RefCell<Option<(io::InputChannel, io::OutputChannel)>>> = Rc::new(RefCell::new(None));
    let s = seen.clone();
    let (handled, handled_r) = lwt::wait::<()>();
    let handled_r = Rc::new(handled_r);
    let p = io::establish_server(any_port(), move |ic, oc| {
        *s.borrow_mut() = Some((ic, oc));
        let r = handled_r.clone();
        lwt::pause().map(move |()| r.wakeup(()))
    })
    .bind(move |server| {
        io::with_connection(server.addr().clone(), move |ic, _oc| {
            // The server closing the connection is the end of our input.
            handled.bind(move |()| io::read_line_opt(&ic))
        })
        .bind(move |l| server.shutdown().map(move |()| l))
    });
    assert_eq!(ok(p), None);
    let (ic, oc) = seen.borrow_mut().take().unwrap();
    assert!(io::is_closed(&ic) && io::is_closed(&oc));
}

#[test]
fn no_close_leaves_the_connection_to_the_handler() {
    let seen: Rc<RefCell<Option<io::OutputChannel>>> = Rc::new(RefCell::new(None));
    let s = seen.clone();
    let opts = ServerOptions {
        no_close: true,
        ..ServerOptions::default()
    };
    let p = io::establish_server_with_client_address(any_port(), &opts, move |_, _ic, oc| {
        *s.borrow_mut() = Some(oc);
        lwt::resolved(())
    })
    .bind(|server| {
        io::open_connection(server.addr().clone())
            .bind(|(ic, oc)| lwt::unix::sleep(Duration::from_millis(20)).map(move |()| (ic, oc)))
            .bind(move |c| server.shutdown().map(move |()| c))
    });
    let (ic, oc) = ok(p);
    let server_oc = seen.borrow_mut().take().unwrap();
    assert!(!io::is_closed(&server_oc));
    ok(io::write_line(&server_oc, "still here").bind(move |()| io::close(&server_oc)));
    assert_eq!(ok(io::read_line(&ic)), "still here");
    drop(oc);
}

#[test]
fn a_handler_error_goes_to_the_async_exception_hook() {
    let errors = Rc::new(RefCell::new(Vec::new()));
    let e2 = errors.clone();
    let previous = lwt::set_async_exception_hook(move |e| e2.borrow_mut().push(e.message()));
    let p = io::establish_server(any_port(), |_ic, _oc| lwt::fail_with("handler broke")).bind(|server| {
        io::with_connection(server.addr().clone(), |ic, _oc| io::read_line_opt(&ic))
            .bind(move |l| server.shutdown().map(move |()| l))
    });
    let r = run(p);
    drop(lwt::set_async_exception_hook(previous));
    assert_eq!(r.unwrap(), None);
    assert_eq!(*errors.borrow(), ["handler broke"]);
}

#[test]
fn a_shut_down_server_refuses_connections() {
    let server = ok(io::establish_server(any_port(), |_, _| lwt::resolved(())));
    let addr = server.addr().clone();
    ok(server.shutdown());
    ok(server.shutdown());
    let e = err(io::open_connection(addr));
    assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn with_connection_closes_both_channels() {
    let server = ok(io::establish_server(any_port(), |_, _| lwt::resolved(())));
    let kept = Rc::new(RefCell::new(None));
    let k = kept.clone();
    ok(io::with_connection(server.addr().clone(), move |ic, oc| {
        *k.borrow_mut() = Some((ic, oc));
        lwt::resolved(())
    }));
    ok(server.shutdown());
    let (ic, oc) = kept.borrow_mut().take().unwrap();
    assert!(io::is_closed(&ic) && io::is_closed(&oc));
}

#[test]
fn closing_the_output_side_lets_the_peer_see_the_end_while_we_still_read() {
    // The server answers with the number of lines once the client is done
    // sending; the client reads that answer after closing its output.
    let p = io::establish_server(any_port(), |ic, oc| {
        io::read_lines(&ic)
            .fold(0, |n, _| n + 1)
            .bind(move |n| io::write_line(&oc, format!("{n} lines")))
    })
    .bind(|server| {
        io::with_connection(server.addr().clone(), |ic, oc| {
            io::write_lines(&oc, &lwt::stream::of_list(["a", "b", "c"]))
                .bind(move |()| io::close(&oc))
                .bind(move |()| io::read_line(&ic))
        })
        .bind(move |l| server.shutdown().map(move |()| l))
    });
    assert_eq!(ok(p), "3 lines");
}

#[test]
fn a_unix_domain_server_removes_its_socket_file_at_shutdown() {
    let path = temp_path("sock");
    let _ = std::fs::remove_file(&path);
    let addr = lwt::unix::SockAddr::Unix(path.clone());
    let p = io::establish_server(addr.clone(), |_ic, oc| io::write_line(&oc, "over unix")).bind(move |server| {
        io::with_connection(addr, |ic, _oc| io::read_line(&ic)).bind(move |l| server.shutdown().map(move |()| l))
    });
    assert_eq!(ok(p), "over unix");
    assert!(!path.exists());
}

#[test]
fn a_client_that_resets_does_not_hang_the_server_reader() {
    // The handler reads until the end of input; the client connects and
    // closes at once. The handler must see the end and finish.
    let (done, done_r) = lwt::wait::<Option<String>>();
    let done_r = Rc::new(done_r);
    let p = io::establish_server(any_port(), move |ic, _oc| {
        let r = done_r.clone();
        io::read_line_opt(&ic).map(move |l| r.wakeup(l))
    })
    .bind(|server| {
        io::open_connection(server.addr().clone())
            .bind(|(ic, oc)| io::close(&oc).bind(move |()| io::close(&ic)))
            .bind(move |()| done)
            .bind(move |l| server.shutdown().map(move |()| l))
    });
    assert_eq!(ok(p), None);
}

// ---------------------------------------------------------------------------
// Audit: edge cases of reading, writing, closing and servers

#[test]
fn read_line_keeps_a_cr_that_ends_the_input_without_a_newline() {
    // Lwt removes a `\r` only when a `\n` follows it.
    let ic = io::Builder::new(Input)
        .buffer_size(16)
        .make({
            let mut data: Vec<u8> = b"fifteen chars..\r".to_vec();
            move |mut buf: Vec<u8>, ofs, len| {
                let n = len.min(data.len());
                buf[ofs..ofs + n].copy_from_slice(&data[..n]);
                data.drain(..n);
                lwt::resolved((buf, n))
            }
        })
        .unwrap();
    assert_eq!(ok(io::read_line(&ic)), "fifteen chars..\r");
    assert!(io::is_end_of_file(&err(io::read_line(&ic))));
}

#[test]
fn a_failed_flush_never_sends_bytes_that_were_not_written() {
    // The write function fails once, then records what it receives.
    let sent = Rc::new(RefCell::new(Vec::new()));
    let calls = Rc::new(RefCell::new(0));
    let (s, c) = (sent.clone(), calls.clone());
    let oc = io::make(Output, move |buf: Vec<u8>, ofs, len| {
        *c.borrow_mut() += 1;
        if *c.borrow() == 1 {
            return lwt::fail_with("transient");
        }
        s.borrow_mut().extend_from_slice(&buf[ofs..ofs + len]);
        lwt::resolved((buf, len))
    });
    ok(io::write(&oc, "hello"));
    assert_eq!(err(io::flush(&oc)).message(), "transient");
    ok(io::write(&oc, "world").bind({
        let oc = oc.clone();
        move |()| io::flush(&oc)
    }));
    let sent = sent.borrow();
    assert!(!sent.contains(&0), "garbage was sent: {sent:?}");
    assert!(sent.ends_with(b"world"), "{sent:?}");
}

#[test]
fn a_canceled_flush_through_a_function_never_sends_garbage_later() {
    // The first write never completes and is canceled; later flushes must
    // send only bytes that were written.
    let sent = Rc::new(RefCell::new(Vec::new()));
    let calls = Rc::new(RefCell::new(0));
    let (s, c) = (sent.clone(), calls.clone());
    let oc = io::make(Output, move |buf: Vec<u8>, ofs, len| {
        *c.borrow_mut() += 1;
        if *c.borrow() == 1 {
            return lwt::task::<(Vec<u8>, usize)>().0;
        }
        s.borrow_mut().extend_from_slice(&buf[ofs..ofs + len]);
        lwt::resolved((buf, len))
    });
    ok(io::write(&oc, "lost?"));
    let f = io::flush(&oc);
    assert!(f.is_pending());
    f.cancel();
    ok(io::write(&oc, "next").bind({
        let oc = oc.clone();
        move |()| io::flush(&oc)
    }));
    let sent = sent.borrow();
    assert!(!sent.contains(&0), "garbage was sent: {sent:?}");
    assert!(sent.ends_with(b"next"), "{sent:?}");
}

#[test]
fn abort_interrupts_a_write_waiting_on_a_write_function() {
    let oc = io::Builder::new(Output)
        .buffer_size(16)
        .make(|_buf: Vec<u8>, _ofs, _len| lwt::wait::<(Vec<u8>, usize)>().0)
        .unwrap();
    let w = io::write(&oc, vec![b'x'; 100]);
    assert!(w.is_pending());
    ok(io::abort(&oc));
    assert!(io::is_channel_closed(&err(w)));
    assert!(io::is_channel_closed(&err(io::write(&oc, "late"))));
}

#[test]
fn closing_an_input_channel_interrupts_a_read_waiting_on_a_read_function() {
    let ic = io::make(Input, |_buf: Vec<u8>, _ofs, _len| lwt::wait::<(Vec<u8>, usize)>().0);
    let r = io::read_line(&ic);
    assert!(r.is_pending());
    ok(io::close(&ic));
    assert!(io::is_channel_closed(&err(r)));
}

#[test]
fn a_failed_refill_leaves_the_input_channel_usable() {
    let calls = Rc::new(RefCell::new(0));
    let c = calls.clone();
    let ic = io::make(Input, move |mut buf: Vec<u8>, ofs, len| {
        *c.borrow_mut() += 1;
        match *c.borrow() {
            1 => {
                buf[ofs..ofs + 3].copy_from_slice(b"ab\n");
                lwt::resolved((buf, 3.min(len)))
            }
            2 => lwt::fail_with("hiccup"),
            3 => {
                buf[ofs..ofs + 3].copy_from_slice(b"cd\n");
                lwt::resolved((buf, 3))
            }
            _ => lwt::resolved((buf, 0)),
        }
    });
    assert_eq!(ok(io::read_line(&ic)), "ab");
    assert_eq!(err(io::read_line(&ic)).message(), "hiccup");
    assert_eq!(ok(io::read_line(&ic)), "cd");
    assert_eq!(ok(io::read_line_opt(&ic)), None);
}

#[test]
fn read_exactly_past_the_end_consumes_the_rest_and_rejects() {
    let ic = input(b"abc");
    assert!(io::is_end_of_file(&err(io::read_exactly(&ic, 5))));
    assert_eq!(io::position(&ic), 3);
    assert_eq!(ok(io::read(&ic, 4)), b"");
}

#[test]
fn set_position_moves_within_an_of_bytes_channel() {
    let ic = input(b"0123456789");
    ok(io::set_position(&ic, 4));
    assert_eq!(io::position(&ic), 4);
    assert_eq!(ok(io::read(&ic, 3)), b"456");
    ok(io::set_position(&ic, 1));
    assert_eq!(ok(io::read(&ic, 2)), b"12");
    assert_eq!(err(io::set_position(&ic, 11)).kind(), lwt::ErrorKind::Failure);
}

#[test]
fn an_of_bytes_channel_read_to_the_end_can_be_rewound() {
    let ic = input(b"again");
    assert_eq!(ok(io::read_to_end(&ic)), b"again");
    assert_eq!(io::position(&ic), 5);
    ok(io::set_position(&ic, 2));
    assert_eq!(ok(io::read_to_end(&ic)), b"ain");
}

#[test]
fn atomic_with_a_failing_body_releases_the_channel_and_passes_the_error() {
    let (oc, sent) = recording_output();
    let e = err(io::atomic(&oc, |tmp| {
        io::write(&tmp, "partial").bind(|()| lwt::fail_with::<()>("body failed"))
    }));
    assert_eq!(e.message(), "body failed");
    assert!(!io::is_busy(&oc));
    ok(io::write(&oc, "+after").bind({
        let oc = oc.clone();
        move |()| io::flush(&oc)
    }));
    assert_eq!(sent.borrow().concat(), b"partial+after");
}

#[test]
fn atomic_with_a_panicking_body_releases_the_channel() {
    let ic = input(b"line\n");
    let e = err(io::atomic(&ic, |_tmp| -> Promise<()> { panic!("in atomic") }));
    assert_eq!(e.kind(), lwt::ErrorKind::Panic);
    assert!(!io::is_busy(&ic));
    assert_eq!(ok(io::read_line(&ic)), "line");
}

#[test]
fn flush_all_ignores_closed_and_broken_channels() {
    let (ic1, oc1) = io::pipe().unwrap();
    let (ic2, oc2) = io::pipe().unwrap();
    let (ic3, oc3) = io::pipe().unwrap();
    ok(io::close(&oc1));
    ok(io::write(&oc2, "to nobody"));
    drop(ic2); // the reader is gone: flushing oc2 fails with EPIPE
    ok(io::write(&oc3, "kept"));
    ok(io::flush_all());
    assert_eq!(ok(io::read(&ic3, 8)), b"kept");
    drop((ic1, oc2, oc3));
}

#[test]
fn length_in_the_middle_of_a_file_keeps_the_read_position() {
    let path = temp_path("len-mid");
    let text: String = (0..100).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    std::fs::write(&path, &text).unwrap();
    let opts = io::FileOptions {
        buffer_size: Some(16),
        ..io::FileOptions::default()
    };
    let ic = ok(opts.open(Input, &path));
    assert_eq!(ok(io::read_exactly(&ic, 20)), &text.as_bytes()[..20]);
    assert_eq!(ok(io::length(&ic)), 100);
    assert_eq!(io::position(&ic), 20);
    assert_eq!(ok(io::read_to_end(&ic)), &text.as_bytes()[20..]);
    ok(io::close(&ic));
    std::fs::remove_file(path).unwrap();
}

#[test]
fn set_position_on_an_output_file_after_a_partial_flush() {
    let path = temp_path("setpos-out");
    let opts = io::FileOptions {
        buffer_size: Some(16),
        ..io::FileOptions::default()
    };
    let oc = ok(opts.open(Output, &path));
    // 40 bytes through a 16-byte buffer: some flushed, some buffered.
    let text = "0123456789".repeat(4);
    ok(io::write(&oc, text.clone()));
    assert_eq!(io::position(&oc), 40);
    ok(io::set_position(&oc, 10));
    assert_eq!(io::position(&oc), 10);
    ok(io::write(&oc, "ABC"));
    assert_eq!(io::position(&oc), 13);
    ok(io::close(&oc));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("0123456789ABC{}", &text[13..])
    );
    std::fs::remove_file(path).unwrap();
}

#[test]
fn resize_buffer_of_an_output_channel_below_its_data_flushes_first() {
    let (oc, sent) = recording_output();
    ok(io::write(&oc, vec![b'r'; 100]));
    ok(io::resize_buffer(&oc, 16));
    assert_eq!(io::buffer_size(&oc), 16);
    assert_eq!(sent.borrow().concat(), vec![b'r'; 100]);
    ok(io::write(&oc, "tail").bind({
        let oc = oc.clone();
        move |()| io::flush(&oc)
    }));
    assert!(sent.borrow().concat().ends_with(b"rtail"));
}

/// The number of descriptors this process has open.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

#[test]
fn refused_connections_leak_no_descriptor() {
    // A port nobody listens on: bind one, note it, close it.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let before = open_fds();
    for _ in 0..300 {
        let called = Rc::new(RefCell::new(false));
        let c = called.clone();
        let e = err(io::with_connection(addr, move |_ic, _oc| {
            *c.borrow_mut() = true;
            lwt::resolved(())
        }));
        assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(!*called.borrow());
    }
    // Other tests run meanwhile; a leak would show as 300 more.
    let after = open_fds();
    assert!(after < before + 100, "{before} -> {after}");
}

#[test]
fn a_server_on_a_busy_port_fails_with_addr_in_use_and_leaks_nothing() {
    let server = ok(io::establish_server(any_port(), |_, _| lwt::resolved(())));
    let addr = server.addr().clone();
    let before = open_fds();
    for _ in 0..300 {
        let e = err(io::establish_server(addr.clone(), |_, _| lwt::resolved(())));
        assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::AddrInUse);
    }
    let after = open_fds();
    assert!(after < before + 100, "{before} -> {after}");
    ok(server.shutdown());
}

#[test]
fn shutting_down_a_server_leaves_live_connections_working() {
    let p = io::establish_server(any_port(), |ic, oc| {
        io::read_lines(&ic).iter_s(move |l| io::write_line(&oc, l))
    })
    .bind(|server| {
        io::with_connection(server.addr().clone(), move |ic, oc| {
            io::write_line(&oc, "before")
                .bind({
                    let ic = ic.clone();
                    move |()| io::read_line(&ic)
                })
                .bind(move |a| server.shutdown().map(move |()| a))
                .bind(move |a| {
                    io::write_line(&oc, "after")
                        .bind(move |()| io::read_line(&ic))
                        .map(move |b| (a, b))
                })
        })
    });
    assert_eq!(ok(p), ("before".to_string(), "after".to_string()));
}

#[test]
fn no_close_connections_survive_the_server_shutdown() {
    let kept: Rc<RefCell<Vec<(io::InputChannel, io::OutputChannel)>>> = Rc::new(RefCell::new(Vec::new()));
    let k = kept.clone();
    let opts = ServerOptions {
        no_close: true,
        ..ServerOptions::default()
    };
    let (accepted, accepted_r) = lwt::wait::<()>();
    let accepted_r = Rc::new(accepted_r);
    let p = io::establish_server_with_client_address(any_port(), &opts, move |_, ic, oc| {
        k.borrow_mut().push((ic, oc));
        accepted_r.wakeup(());
        lwt::resolved(())
    })
    .bind(move |server| {
        io::open_connection(server.addr().clone())
            .bind(move |c| accepted.map(move |()| c))
            .bind(move |c| server.shutdown().map(move |()| c))
    });
    let (ic, oc) = ok(p);
    let (sic, soc) = kept.borrow_mut().pop().unwrap();
    ok(io::write_line(&oc, "ping"));
    assert_eq!(ok(io::read_line(&sic)), "ping");
    ok(io::write_line(&soc, "pong"));
    assert_eq!(ok(io::read_line(&ic)), "pong");
    ok(io::close(&soc).bind(move |()| io::close(&sic)));
    assert_eq!(ok(io::read_line_opt(&ic)), None);
    drop(oc);
}

#[test]
fn a_write_function_that_aborts_its_channel_is_not_called_again() {
    // Lwt checks the channel's state before every physical write.
    let calls = Rc::new(RefCell::new(0));
    let me: Rc<RefCell<Option<io::OutputChannel>>> = Rc::new(RefCell::new(None));
    let (c, m) = (calls.clone(), me.clone());
    let oc = io::Builder::new(Output)
        .buffer_size(16)
        .make(move |buf: Vec<u8>, _ofs, len| {
            *c.borrow_mut() += 1;
            if let Some(oc) = m.borrow_mut().take() {
                drop(io::abort(&oc));
            }
            lwt::resolved((buf, len))
        })
        .unwrap();
    *me.borrow_mut() = Some(oc.clone());
    let e = err(io::write(&oc, vec![b'a'; 100]));
    assert!(io::is_channel_closed(&e), "{e}");
    assert_eq!(*calls.borrow(), 1);
}

#[test]
fn close_during_an_atomic_block_waits_for_it_and_flushes_its_writes() {
    let (oc, sent) = recording_output();
    let block = io::atomic(&oc, |tmp| {
        io::write(&tmp, "one ")
            .bind(|()| lwt::pause())
            .bind(move |()| io::write(&tmp, "two"))
    });
    let closing = io::close(&oc);
    assert!(closing.is_pending());
    ok(lwt::join(vec![block, closing]));
    assert_eq!(sent.borrow().concat(), b"one two");
}

#[test]
fn a_panicking_handler_still_gets_its_connection_closed() {
    let errors = Rc::new(RefCell::new(0));
    let e2 = errors.clone();
    let previous = lwt::set_async_exception_hook(move |_| *e2.borrow_mut() += 1);
    let p = io::establish_server(any_port(), |_ic, _oc| -> Promise<()> { panic!("handler panicked") }).bind(|server| {
        io::with_connection(server.addr().clone(), |ic, _oc| io::read_line_opt(&ic))
            .bind(move |l| server.shutdown().map(move |()| l))
    });
    let r = run(p);
    drop(lwt::set_async_exception_hook(previous));
    assert_eq!(r.unwrap(), None);
    assert_eq!(*errors.borrow(), 1);
}

#[test]
fn with_connection_resolves_with_the_value_of_an_f_that_closed_the_channels() {
    let server = ok(io::establish_server(any_port(), |_, _| lwt::resolved(())));
    let v = ok(io::with_connection(server.addr().clone(), |ic, oc| {
        io::close(&oc).bind(move |()| io::close(&ic)).map(|()| 42)
    }));
    ok(server.shutdown());
    assert_eq!(v, 42);
}

#[test]
fn a_handler_that_closes_its_channels_itself_reports_nothing() {
    let errors = Rc::new(RefCell::new(Vec::new()));
    let e2 = errors.clone();
    let previous = lwt::set_async_exception_hook(move |e| e2.borrow_mut().push(e.message()));
    let p = io::establish_server(any_port(), |ic, oc| {
        io::write_line(&oc, "bye")
            .bind(move |()| io::close(&oc))
            .bind(move |()| io::close(&ic))
    })
    .bind(|server| {
        io::with_connection(server.addr().clone(), |ic, _oc| {
            io::read_line(&ic).bind(move |l| io::read_line_opt(&ic).map(move |end| (l, end)))
        })
        .bind(move |r| server.shutdown().map(move |()| r))
    });
    let r = run(p);
    drop(lwt::set_async_exception_hook(previous));
    assert_eq!(r.unwrap(), ("bye".to_string(), None));
    assert_eq!(*errors.borrow(), Vec::<String>::new());
}

#[test]
fn a_socket_handler_that_closes_its_socket_itself_reports_nothing() {
    let errors = Rc::new(RefCell::new(Vec::new()));
    let e2 = errors.clone();
    let previous = lwt::set_async_exception_hook(move |e| e2.borrow_mut().push(e.message()));
    let opts = ServerOptions::default();
    let p = io::establish_server_with_client_socket(any_port(), &opts, |_, fd| lwt::unix::close(&fd)).bind(|server| {
        io::with_connection(server.addr().clone(), |ic, _oc| io::read_line_opt(&ic))
            .bind(move |l| server.shutdown().map(move |()| l))
    });
    let r = run(p);
    drop(lwt::set_async_exception_hook(previous));
    assert_eq!(r.unwrap(), None);
    assert_eq!(*errors.borrow(), Vec::<String>::new());
}

#[test]
fn a_failed_auto_flush_is_not_retried_at_every_turn() {
    // The reader is gone: every flush fails with EPIPE. Lwt's auto-flusher
    // gives up after one try (the next operation on the channel starts a
    // new one); it must not re-arm a pause forever, which would keep the
    // loop spinning.
    let (ic, oc) = io::pipe().unwrap();
    drop(ic);
    ok(io::write(&oc, "nobody reads this"));
    for _ in 0..5 {
        lwt::wakeup_paused();
    }
    assert_eq!(lwt::paused_count(), 0);
    assert_eq!(io::buffered(&oc), 17);
    let e = err(io::flush(&oc));
    assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::BrokenPipe);
}

#[test]
fn an_of_bytes_output_channel_does_not_auto_flush_forever() {
    let oc = io::of_bytes(Output, vec![0; 64]);
    ok(io::write(&oc, "kept in memory"));
    for _ in 0..5 {
        lwt::wakeup_paused();
    }
    assert_eq!(lwt::paused_count(), 0);
    assert_eq!(io::position(&oc), 14);
}

#[test]
fn abort_ends_a_close_that_waits_to_flush_into_a_full_pipe() {
    let (ic, oc) = io::pipe().unwrap();
    // More than the pipe holds: the write (and then the close) must wait.
    let writing = io::write(&oc, vec![b'f'; 1 << 20]);
    assert!(writing.is_pending());
    let closing = io::close(&oc);
    assert!(closing.is_pending());
    let aborted = io::abort(&oc);
    ok(aborted);
    ok(closing);
    assert!(io::is_channel_closed(&err(writing)));
    assert!(io::is_closed(&oc));
    drop(ic);
}
