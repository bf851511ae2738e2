//! Unix signals delivered to loop threads (Lwt_unix's `on_signal`).
//!
//! A signal handler may only do async-signal-safe things, so ours writes the
//! signal number into a process-wide pipe, nothing else. One dispatcher
//! thread (started on the first `on_signal`) reads that pipe and posts the
//! signal to the inbox of every loop thread that listens to it; each loop
//! then calls its handlers between two polls, as ordinary callbacks.
//!
//! The rule for the signal's disposition: our handler is installed when the
//! first loop starts listening to a signal, and the disposition that was in
//! place before (normally `SIG_DFL`) is restored when the last handler for
//! that signal is disabled in every loop (or those loops' threads end).

use std::io::{self, Read};
use std::marker::PhantomData;
use std::os::fd::IntoRawFd;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::sys;
use crate::main::remote::{Message, Remote};
use crate::Error;

struct Listening {
    sig: i32,
    remotes: Vec<Arc<Remote>>,
    saved: sys::SavedAction,
}

static REGISTRY: Mutex<Vec<Listening>> = Mutex::new(Vec::new());
static DISPATCHER: OnceLock<Result<(), String>> = OnceLock::new();

fn registry() -> MutexGuard<'static, Vec<Listening>> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

fn start_dispatcher() -> io::Result<()> {
    let r = DISPATCHER.get_or_init(|| {
        let (r, w) = sys::signal_pipe().map_err(|e| e.to_string())?;
        // The write end lives as long as the process: the handler may run
        // at any time.
        sys::set_signal_pipe(w.into_raw_fd());
        let mut reader = std::fs::File::from(r);
        std::thread::Builder::new()
            .name("lwt-signals".into())
            .spawn(move || {
                let mut buf = [0u8; 64];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) => return,
                        Ok(n) => buf[..n].iter().for_each(|&s| dispatch(i32::from(s))),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => return,
                    }
                }
            })
            .map(drop)
            .map_err(|e| e.to_string())
    });
    r.clone().map_err(io::Error::other)
}

fn dispatch(sig: i32) {
    let remotes: Vec<Arc<Remote>> = registry()
        .iter()
        .filter(|l| l.sig == sig)
        .flat_map(|l| l.remotes.iter().cloned())
        .collect();
    for r in remotes {
        let _ = r.post(Message::Signal(sig));
    }
}

fn listen(sig: i32, remote: &Arc<Remote>) -> io::Result<()> {
    start_dispatcher()?;
    let mut reg = registry();
    if let Some(l) = reg.iter_mut().find(|l| l.sig == sig) {
        if !l.remotes.iter().any(|r| Arc::ptr_eq(r, remote)) {
            l.remotes.push(remote.clone());
        }
        return Ok(());
    }
    let saved = sys::install_handler(sig)?;
    reg.push(Listening {
        sig,
        remotes: vec![remote.clone()],
        saved,
    });
    Ok(())
}

/// Stops delivering `sig` (or every signal, with `None`) to `remote`,
/// restoring dispositions nobody listens to any more.
fn unlisten(sig: Option<i32>, remote: &Arc<Remote>) {
    let mut reg = registry();
    reg.retain_mut(|l| {
        if sig.is_some_and(|s| s != l.sig) {
            return true;
        }
        l.remotes.retain(|r| !Arc::ptr_eq(r, remote));
        if l.remotes.is_empty() {
            let _ = sys::restore_handler(l.sig, &l.saved);
            false
        } else {
            true
        }
    });
}

/// Called when a loop thread's engine goes away.
pub(crate) fn forget_remote(remote: &Arc<Remote>) {
    unlisten(None, remote);
}

/// Identifies a handler installed by [`on_signal`], for
/// [`disable_signal_handler`]. It belongs to the thread that installed it.
#[derive(Debug)]
pub struct SignalHandlerId {
    key: usize,
    _not_send: PhantomData<Rc<()>>,
}

/// Calls `f` on this thread's loop every time the process receives signal
/// `sig` (Lwt's `on_signal`).
///
/// Handlers run as ordinary callbacks between two polls of the loop, so
/// they may do anything; a panic in one goes to the async exception hook.
/// Signals that arrive close together may be reported once. Invalid signal
/// numbers and signals that cannot be caught (`SIGKILL`, `SIGSTOP`) give an
/// [`Io`](crate::ErrorKind::Io) error (`EINVAL`).
///
/// ```
/// const SIGWINCH: i32 = 28; // ignored by default: harmless to send
/// let (p, r) = lwt::wait::<i32>();
/// let id = lwt::unix::on_signal(SIGWINCH, move |s| {
///     if r.is_pending() {
///         r.wakeup(s)
///     }
/// })
/// .unwrap();
/// let pid = std::process::id().to_string();
/// std::process::Command::new("kill").args(["-WINCH", &pid]).status().unwrap();
/// assert_eq!(lwt::main::run(p).unwrap(), SIGWINCH);
/// lwt::unix::disable_signal_handler(id);
/// ```
pub fn on_signal(sig: i32, f: impl Fn(i32) + 'static) -> Result<SignalHandlerId, Error> {
    if !(1..=64).contains(&sig) {
        return Err(Error::io(io::Error::from_raw_os_error(libc::EINVAL)));
    }
    let engine = crate::main::engine().map_err(Error::io)?;
    let (key, first) = engine.add_signal_handler(sig, Rc::new(f));
    if first {
        if let Err(e) = listen(sig, &engine.remote) {
            engine.remove_signal_handler(key);
            return Err(Error::io(e));
        }
    }
    Ok(SignalHandlerId {
        key,
        _not_send: PhantomData,
    })
}

/// Removes a handler installed by [`on_signal`] (Lwt's
/// `disable_signal_handler`). When no handler for that signal is left in
/// any loop, the signal's previous disposition is restored.
pub fn disable_signal_handler(id: SignalHandlerId) {
    let Some(engine) = crate::main::existing_engine() else {
        return;
    };
    if let Some((sig, true)) = engine.remove_signal_handler(id.key) {
        unlisten(Some(sig), &engine.remote);
    }
}
