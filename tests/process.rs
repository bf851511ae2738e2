//! Tests of `lwt::process` (Lwt_process): exit statuses and signals,
//! redirections, environment, the piping functions, timeouts, missing
//! programs, and that no child is ever left a zombie. Every run is bounded
//! by a timeout so that a bug fails instead of hanging.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use lwt::io;
use lwt::process::{self, shell, Command, ProcessState, Redirection};
use lwt::unix::{ProcessStatus, WaitFlag};
use lwt::{Error, Promise};

const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;

fn run<T: 'static>(p: Promise<T>) -> Result<T, Error> {
    lwt::main::run(lwt::unix::with_timeout(Duration::from_secs(20), move || p))
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

/// Whether `pid` is gone for good: not our child any more (reaped), rather
/// than a zombie or still running. Only meaningful once our own wait for it
/// has resolved.
fn reaped(pid: i32) -> bool {
    match lwt::main::run(lwt::unix::waitpid(&[WaitFlag::Nohang], pid)) {
        Err(e) => e.io_error().and_then(|e| e.raw_os_error()) == Some(10), // ECHILD
        Ok(_) => false,
    }
}

/// Drives the loop until this thread has no pending wait for a child.
fn until_no_child_is_waited_for() {
    fn go() -> Promise<()> {
        if lwt::unix::wait_count() == 0 {
            return lwt::resolved(());
        }
        lwt::unix::sleep(Duration::from_millis(1)).bind(|()| go())
    }
    ok(go());
}

#[test]
fn exec_resolves_to_the_exit_code() {
    assert_eq!(ok(process::exec(shell("exit 0"))), ProcessStatus::Exited(0));
    assert_eq!(ok(process::exec(shell("exit 42"))), ProcessStatus::Exited(42));
}

#[test]
fn exec_reports_the_signal_that_killed_the_child() {
    assert_eq!(
        ok(process::exec(shell("kill -TERM $$"))),
        ProcessStatus::Signaled(SIGTERM)
    );
}

#[test]
fn a_missing_program_is_a_not_found_error_naming_it() {
    let e = err(process::exec(Command::new("lwt-test-no-such-program")));
    assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::NotFound);
    assert!(e.to_string().contains("lwt-test-no-such-program"), "{e}");
    assert!(process::open_process_in(Command::new("/no/such/dir/prog")).is_err());
}

#[test]
fn a_missing_working_directory_is_an_error() {
    let e = err(process::exec(Command::new("true").cwd("/no/such/directory/lwt")));
    assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn pread_reads_the_whole_output_and_ignores_the_status() {
    assert_eq!(ok(process::pread(shell("echo out; echo more; exit 3"))), "out\nmore\n");
}

#[test]
fn from_argv_uses_argv0_as_the_program_when_prog_is_empty() {
    let cmd = Command::from_argv("", ["sh", "-c", "echo $0"]);
    assert_eq!(ok(process::pread(cmd)), "sh\n");
    // With a program given, argv[0] is only the name the child sees.
    let cmd = Command::from_argv("/bin/sh", ["custom-name", "-c", "echo $0"]);
    assert_eq!(ok(process::pread(cmd)), "custom-name\n");
}

#[test]
fn env_replaces_the_environment_and_env_var_adds_to_it() {
    let only = shell("env").env([("ONLY", "1")]);
    let out = ok(process::pread(only));
    assert!(out.contains("ONLY=1"));
    assert!(!out.contains("PATH=/"), "{out}");
    let added = shell("echo $HOME:$LWT_TEST_VAR").env_var("LWT_TEST_VAR", "x");
    let out = ok(process::pread(added));
    assert!(out.ends_with(":x\n") && out.len() > 3, "{out}");
}

#[test]
fn cwd_sets_the_working_directory() {
    assert_eq!(ok(process::pread(Command::new("pwd").cwd("/"))), "/\n");
}

#[test]
fn stdout_to_dev_null_discards_the_output() {
    let (ic, oc) = io::pipe().unwrap();
    drop(oc);
    let status = ok(process::exec(shell("echo hidden").stdout(Redirection::DevNull)));
    assert_eq!(status, ProcessStatus::Exited(0));
    drop(ic);
}

#[test]
fn a_closed_stdout_makes_writing_fail_in_the_child() {
    let cmd = shell("echo x").stdout(Redirection::Close).stderr(Redirection::DevNull);
    assert_ne!(ok(process::exec(cmd)), ProcessStatus::Exited(0));
}

#[test]
fn stdin_can_be_a_moved_pipe_end() {
    let (r, w) = lwt::unix::pipe_out().unwrap();
    let oc = io::of_fd(io::Output, w);
    let path = std::env::temp_dir().join(format!("lwt-proc-test-{}-fdmove", std::process::id()));
    let cmd = Command::new("cat")
        .stdin(Redirection::FdMove(r))
        .stdout(Redirection::File(path.clone()));
    let status = process::exec(cmd);
    let wrote = io::write(&oc, "through a pipe").bind(move |()| io::close(&oc));
    let (st, ()) = ok(lwt::both(status, wrote));
    assert_eq!(st, ProcessStatus::Exited(0));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "through a pipe");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn stdout_can_be_a_copied_descriptor() {
    let (r, w) = lwt::unix::pipe_in().unwrap();
    let ic = io::of_fd(io::Input, r);
    use std::os::fd::AsRawFd;
    let status = ok(process::exec(
        shell("echo copied").stdout(Redirection::FdCopy(w.as_raw_fd())),
    ));
    assert_eq!(status, ProcessStatus::Exited(0));
    drop(w); // our copy: the child's is gone, so this ends the input
    assert_eq!(ok(io::read_to_string(&ic)), "copied\n");
}

#[test]
fn a_redirection_to_a_missing_file_is_a_clear_error() {
    let e = err(process::exec(
        Command::new("cat").stdin(Redirection::File("/no/such/file/lwt".into())),
    ));
    assert!(e.to_string().contains("/no/such/file/lwt"), "{e}");
}

#[test]
fn pwrite_feeds_the_standard_input() {
    let path = std::env::temp_dir().join(format!("lwt-proc-test-{}-pwrite", std::process::id()));
    let cmd = Command::new("cat").stdout(Redirection::File(path.clone()));
    ok(process::pwrite(cmd, "fed\n"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "fed\n");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn pwrite_to_a_child_that_does_not_read_is_not_an_error() {
    ok(process::pwrite(shell("exit 0"), vec![b'x'; 1 << 20]));
}

#[test]
fn pmap_pipes_ten_megabytes_through_cat() {
    let data: String = (0..10_000_000u32).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let out = ok(process::pmap(Command::new("cat"), data.clone()));
    assert_eq!(out.len(), data.len());
    assert!(out == data);
}

#[test]
fn pmap_lines_and_pread_lines_are_streams() {
    let out = ok(process::pmap_lines(
        Command::new("tr").args(["a-z", "A-Z"]),
        &lwt::stream::of_list(["one", "two"]),
    )
    .to_list());
    assert_eq!(out, ["ONE", "TWO"]);
    assert_eq!(
        ok(process::pread_lines(Command::new("seq").arg("3")).to_list()),
        ["1", "2", "3"]
    );
    assert_eq!(
        ok(process::pread_chars(Command::new("printf").arg("ab")).to_list()),
        b"ab"
    );
    assert_eq!(ok(process::pread_line(shell("echo first; echo second"))), "first");
}

#[test]
fn open_process_full_gives_the_three_channels() {
    let p = process::open_process_full(shell("read x; echo out:$x; echo err:$x >&2")).unwrap();
    let (i, o, e) = (p.stdin().clone(), p.stdout().clone(), p.stderr().clone());
    let talk = io::write_line(&i, "hi")
        .bind(move |()| io::close(&i))
        .bind(move |()| lwt::both(io::read_line(&o), io::read_line(&e)));
    assert_eq!(ok(talk), ("out:hi".to_string(), "err:hi".to_string()));
    assert_eq!(ok(p.close()), ProcessStatus::Exited(0));
}

#[test]
fn kill_sends_a_signal_and_the_status_shows_it() {
    let p = process::open_process_none(shell("sleep 30")).unwrap();
    assert_eq!(p.state(), ProcessState::Running);
    p.kill(SIGTERM).unwrap();
    assert_eq!(ok(p.status()), ProcessStatus::Signaled(SIGTERM));
    assert_eq!(p.state(), ProcessState::Exited(ProcessStatus::Signaled(SIGTERM)));
    // Once it exited, kill and terminate do nothing.
    p.kill(SIGTERM).unwrap();
    p.terminate();
    assert!(p.kill(1000).is_ok());
}

#[test]
fn kill_with_a_bad_signal_number_is_an_invalid_argument() {
    let p = process::open_process_none(shell("sleep 30")).unwrap();
    assert_eq!(p.kill(1000).unwrap_err().kind(), lwt::ErrorKind::InvalidArgument);
    p.terminate();
    assert_eq!(ok(p.close()), ProcessStatus::Signaled(SIGKILL));
}

#[test]
fn a_timeout_kills_the_child_and_closes_its_channels() {
    let cmd = shell("sleep 30").timeout(Duration::from_millis(50));
    let p = process::open_process_in(cmd).unwrap();
    let pid = p.pid();
    let e = err(io::read_line(p.stdout()));
    assert!(io::is_channel_closed(&e), "{e}");
    assert_eq!(ok(p.close()), ProcessStatus::Signaled(SIGKILL));
    assert!(reaped(pid));
}

#[test]
fn a_timeout_that_does_not_expire_leaves_no_timer() {
    let cmd = shell("exit 0").timeout(Duration::from_secs(60));
    assert_eq!(ok(process::exec(cmd)), ProcessStatus::Exited(0));
    assert_eq!(lwt::main::timer_count(), 0);
}

#[test]
fn canceling_the_status_promise_does_not_stop_waiting() {
    // The child waits for its input, so it surely runs when we cancel.
    let p = process::open_process_out(shell("read x; exit 5")).unwrap();
    let s = p.status();
    s.cancel();
    assert!(s.is_canceled());
    assert_eq!(ok(p.close()), ProcessStatus::Exited(5));
    assert_eq!(ok(p.status()), ProcessStatus::Exited(5));
}

#[test]
fn close_is_idempotent() {
    let p = process::open_process_out(Command::new("cat").stdout(Redirection::DevNull)).unwrap();
    let a = ok(p.close());
    let b = ok(p.close());
    assert_eq!((a, b), (ProcessStatus::Exited(0), ProcessStatus::Exited(0)));
}

#[test]
fn with_process_closes_the_process_even_when_the_body_fails() {
    let pid = Rc::new(RefCell::new(0));
    let pd = pid.clone();
    let e = err(process::with_process_in(shell("echo x"), move |p| {
        *pd.borrow_mut() = p.pid();
        lwt::fail_with::<()>("body failed")
    }));
    assert_eq!(e.message(), "body failed");
    assert!(reaped(*pid.borrow()));
}

#[test]
fn rusage_is_available_once_the_child_exits() {
    let p = process::open_process_none(shell("exit 0")).unwrap();
    let usage = ok(p.rusage());
    assert!(usage.ru_utime < Duration::from_secs(10));
}

// ---------------------------------------------------------------------------
// No zombies

#[test]
fn no_zombie_after_exec_or_pread() {
    let p = process::open_process_none(shell("exit 0")).unwrap();
    let pid = p.pid();
    ok(p.close());
    assert!(reaped(pid));
    let q = process::open_process_in(shell("echo x")).unwrap();
    let pid = q.pid();
    assert_eq!(ok(io::read_to_string(q.stdout())), "x\n");
    ok(q.close());
    assert!(reaped(pid));
}

#[test]
fn no_zombie_when_the_process_handle_is_dropped() {
    let p = process::open_process_none(shell("exit 0")).unwrap();
    let pid = p.pid();
    drop(p);
    until_no_child_is_waited_for();
    assert!(reaped(pid));
}

#[test]
fn no_zombie_when_a_stream_over_the_output_is_dropped_early() {
    // The child writes far more than a pipe holds; dropping the stream
    // closes our end, the child dies of SIGPIPE, and is reaped.
    let lines = process::pread_lines(shell("yes"));
    assert_eq!(ok(lines.get()).as_deref(), Some("y"));
    drop(lines);
    until_no_child_is_waited_for();
}

#[test]
fn no_zombie_after_a_timeout() {
    let p = process::open_process_none(shell("sleep 30").timeout(Duration::from_millis(10))).unwrap();
    let pid = p.pid();
    drop(p);
    until_no_child_is_waited_for();
    assert!(reaped(pid));
}

// ---------------------------------------------------------------------------
// Audit: early exits, bad commands, timeouts through the piping functions

#[test]
fn pmap_with_a_program_that_exits_early_resolves_to_its_output() {
    // `head` stops reading after 5 bytes; the rest cannot be written.
    let p = process::pmap(Command::new("head").args(["-c", "5"]), vec![b'q'; 4 << 20]);
    assert_eq!(ok(p), "qqqqq");
    until_no_child_is_waited_for();
}

#[test]
fn pmap_with_a_program_that_reads_nothing_resolves() {
    assert_eq!(ok(process::pmap(shell("echo early"), "ignored\n")), "early\n");
    until_no_child_is_waited_for();
}

#[test]
fn pmap_lines_with_a_program_that_exits_early_ends_the_stream() {
    let lines: Vec<String> = (0..200_000).map(|i| format!("line {i}")).collect();
    let out = process::pmap_lines(Command::new("head").args(["-n", "2"]), &lwt::stream::of_list(lines));
    assert_eq!(ok(out.to_list()), ["line 0", "line 1"]);
    until_no_child_is_waited_for();
}

#[test]
fn a_timeout_makes_pmap_reject_with_channel_closed_and_reaps_the_child() {
    // The child neither reads nor exits.
    let cmd = shell("sleep 30").timeout(Duration::from_millis(50));
    let e = err(process::pmap(cmd, vec![b'z'; 1 << 20]));
    assert!(io::is_channel_closed(&e), "{e}");
    until_no_child_is_waited_for();
}

#[test]
fn pread_line_of_a_program_without_output_is_end_of_file() {
    assert!(io::is_end_of_file(&err(process::pread_line(shell("exit 0")))));
}

#[test]
fn an_empty_command_is_an_error_not_a_panic() {
    let empty: [&str; 0] = [];
    assert!(run(process::exec(Command::from_argv("", empty))).is_err());
    assert!(run(process::pread(Command::new(""))).is_err());
}

#[test]
fn a_program_that_is_not_executable_is_permission_denied() {
    let path = std::env::temp_dir().join(format!("lwt-proc-test-{}-noexec", std::process::id()));
    std::fs::write(&path, "#!/bin/sh\necho no\n").unwrap();
    let e = err(process::exec(Command::new(&path)));
    assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::PermissionDenied);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn a_copy_of_a_bad_descriptor_is_an_error_not_a_panic() {
    let e = err(process::exec(Command::new("true").stdout(Redirection::FdCopy(100_000))));
    assert!(e.to_string().contains("redirection"), "{e}");
}

#[test]
fn close_after_the_user_closed_the_channels_gives_the_status() {
    let p = process::open_process(Command::new("cat")).unwrap();
    ok(io::close(p.stdin()).bind({
        let o = p.stdout().clone();
        move |()| io::close(&o)
    }));
    assert_eq!(ok(p.close()), ProcessStatus::Exited(0));
}

#[test]
fn status_and_close_agree_when_the_child_is_killed() {
    let p = process::open_process_in(shell("sleep 30")).unwrap();
    p.terminate();
    assert_eq!(ok(p.status()), ProcessStatus::Signaled(SIGKILL));
    assert_eq!(ok(p.close()), ProcessStatus::Signaled(SIGKILL));
    assert_eq!(p.state(), ProcessState::Exited(ProcessStatus::Signaled(SIGKILL)));
}

#[test]
fn a_missing_working_directory_with_pipes_leaks_no_descriptor() {
    let count = || std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0);
    let before = count();
    for _ in 0..200 {
        assert!(process::open_process_full(Command::new("true").cwd("/no/such/dir/lwt")).is_err());
    }
    let after = count();
    assert!(after < before + 100, "{before} -> {after}");
}

#[test]
fn a_timeout_interrupts_pwrite_to_a_child_that_does_not_read() {
    let cmd = shell("sleep 30").timeout(Duration::from_millis(50));
    let e = err(process::pwrite(cmd, vec![b'w'; 4 << 20]));
    assert!(io::is_channel_closed(&e), "{e}");
    until_no_child_is_waited_for();
}

#[test]
fn writing_to_a_child_that_exited_fails_with_broken_pipe_then_close_gives_the_status() {
    let p = process::open_process_out(shell("exit 7")).unwrap();
    assert_eq!(ok(p.status()), ProcessStatus::Exited(7));
    let stdin = p.stdin().clone();
    let e = err(io::write(&stdin, vec![b'x'; 1 << 20]));
    assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::BrokenPipe);
    assert_eq!(ok(p.close()), ProcessStatus::Exited(7));
}
