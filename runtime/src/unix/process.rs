//! Waiting for child processes without blocking the loop (Lwt_unix's
//! `waitpid`, `wait4`, `wait`, `system`).
//!
//! As in Lwt: a wait first tries `wait4(.., WNOHANG)`; if the child has not
//! changed state, it waits for `SIGCHLD` (through [`on_signal`]) and tries
//! again each time one arrives. The `SIGCHLD` handler is installed *before*
//! the first try, so a child that exits in between cannot be missed, and it
//! is removed when the last waiter of this loop is done or canceled.

use std::cell::RefCell;
use std::io;
use std::time::Duration;

use slab::Slab;

use super::signals::{disable_signal_handler, on_signal, SignalHandlerId};
use super::sys;
use crate::{Error, Promise, Resolver};

/// How a process ended or stopped (Lwt's `process_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProcessStatus {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it.
    Signaled(i32),
    /// A signal stopped it (only with [`WaitFlag::Untraced`]).
    Stopped(i32),
}

/// Options of [`waitpid`] (Lwt's `wait_flag`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitFlag {
    /// Do not wait: resolve at once, with pid 0 if nothing changed.
    Nohang,
    /// Also report stopped children.
    Untraced,
}

/// CPU time used by a child (Lwt's `resource_usage`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResourceUsage {
    /// User CPU time.
    pub ru_utime: Duration,
    /// System CPU time.
    pub ru_stime: Duration,
}

type WaitOutcome = (i32, ProcessStatus, ResourceUsage);

struct Waiter {
    pid: i32,
    options: i32,
    resolver: Resolver<WaitOutcome>,
}

struct Chld {
    waiters: Slab<Waiter>,
    handler: Option<SignalHandlerId>,
}

thread_local! {
    static CHLD: RefCell<Chld> = const {
        RefCell::new(Chld { waiters: Slab::new(), handler: None })
    };
}

fn outcome(r: sys::WaitResult) -> WaitOutcome {
    let status = match sys::decode_status(r.status) {
        (0, c) => ProcessStatus::Exited(c),
        (1, s) => ProcessStatus::Signaled(s),
        (_, s) => ProcessStatus::Stopped(s),
    };
    (
        r.pid,
        status,
        ResourceUsage {
            ru_utime: r.utime,
            ru_stime: r.stime,
        },
    )
}

/// Tries every waiter again (on `SIGCHLD`).
fn retry_waiters() {
    let done: Vec<(Resolver<WaitOutcome>, io::Result<sys::WaitResult>)> = CHLD.with(|c| {
        let mut c = c.borrow_mut();
        let mut done = Vec::new();
        let keys: Vec<usize> = c.waiters.iter().map(|(k, _)| k).collect();
        for k in keys {
            let w = &c.waiters[k];
            match sys::wait4(w.pid, w.options | sys::WNOHANG) {
                Ok(r) if r.pid == 0 => {}
                r => done.push((c.waiters.remove(k).resolver, r)),
            }
        }
        done
    });
    release_handler_if_idle();
    for (resolver, r) in done {
        resolver.wakeup_result(r.map(outcome).map_err(Error::io));
    }
}

fn release_handler_if_idle() {
    let id = CHLD.with(|c| {
        let mut c = c.borrow_mut();
        if c.waiters.is_empty() {
            c.handler.take()
        } else {
            None
        }
    });
    if let Some(id) = id {
        disable_signal_handler(id);
    }
}

fn ensure_handler() -> Result<(), Error> {
    if CHLD.with(|c| c.borrow().handler.is_some()) {
        return Ok(());
    }
    let id = on_signal(libc::SIGCHLD, |_| retry_waiters())?;
    CHLD.with(|c| c.borrow_mut().handler = Some(id));
    Ok(())
}

/// Waits for a child to change state and resolves to its pid, status and
/// CPU usage (Lwt's `wait4`). `pid` as in `waitpid(2)`: a pid, -1 for any
/// child, 0 or `-pgid` for a process group. Cancelable while it waits. A pid
/// that is not a child of this process rejects with `ECHILD`.
///
/// ```
/// let child = std::process::Command::new("/bin/sh").args(["-c", "exit 3"]).spawn().unwrap();
/// let p = lwt::unix::wait4(&[], child.id() as i32);
/// let (pid, status, _usage) = lwt::main::run(p).unwrap();
/// assert_eq!((pid, status), (child.id() as i32, lwt::unix::ProcessStatus::Exited(3)));
/// ```
pub fn wait4(flags: &[WaitFlag], pid: i32) -> Promise<WaitOutcome> {
    let mut options = 0;
    let mut nohang = false;
    for f in flags {
        match f {
            WaitFlag::Nohang => nohang = true,
            WaitFlag::Untraced => options |= sys::WUNTRACED,
        }
    }
    if nohang {
        return crate::of_result(
            sys::wait4(pid, options | sys::WNOHANG)
                .map(|r| {
                    if r.pid == 0 {
                        (0, ProcessStatus::Exited(0), ResourceUsage::default())
                    } else {
                        outcome(r)
                    }
                })
                .map_err(Error::io),
        );
    }
    if let Err(e) = ensure_handler() {
        return crate::rejected(e);
    }
    match sys::wait4(pid, options | sys::WNOHANG) {
        Ok(r) if r.pid != 0 => {
            release_handler_if_idle();
            return crate::resolved(outcome(r));
        }
        Ok(_) => {}
        Err(e) => {
            release_handler_if_idle();
            return crate::rejected(Error::io(e));
        }
    }
    let (p, resolver) = crate::task();
    let key = CHLD.with(|c| c.borrow_mut().waiters.insert(Waiter { pid, options, resolver }));
    p.on_cancel(move || {
        let w = CHLD.with(|c| c.borrow_mut().waiters.try_remove(key));
        drop(w);
        release_handler_if_idle();
    });
    p
}

/// Waits for a child to change state (Lwt's `waitpid`): its pid and status.
pub fn waitpid(flags: &[WaitFlag], pid: i32) -> Promise<(i32, ProcessStatus)> {
    wait4(flags, pid).map(|(pid, status, _)| (pid, status))
}

/// Waits for any child (Lwt's `wait`, i.e. `waitpid [] (-1)`).
pub fn wait() -> Promise<(i32, ProcessStatus)> {
    waitpid(&[], -1)
}

/// Runs `cmd` with `/bin/sh -c` and resolves to how it ended (Lwt's
/// `system`). Exit code 127 means the shell could not run the command.
///
/// ```
/// use lwt::unix::{system, ProcessStatus};
/// assert_eq!(lwt::main::run(system("exit 7")).unwrap(), ProcessStatus::Exited(7));
/// ```
pub fn system(cmd: &str) -> Promise<ProcessStatus> {
    let child = std::process::Command::new("/bin/sh").arg("-c").arg(cmd).spawn();
    match child {
        // Dropping the `Child` neither waits nor kills: we reap it here.
        Ok(child) => waitpid(&[], child.id() as i32).map(|(_, s)| s),
        Err(e) => crate::rejected(Error::io(e)),
    }
}

/// The number of waits for a child pending on this thread (Lwt's
/// `wait_count`).
pub fn wait_count() -> usize {
    CHLD.with(|c| c.borrow().waiters.len())
}
