//! Subprocesses: Lwt's `Lwt_process`.
//!
//! A [`Command`] says what to run and how: program and arguments (or a
//! shell line, [`shell`]), environment, working directory, where its
//! standard descriptors go ([`Redirection`]) and an optional timeout. Then:
//!
//! - [`exec`] runs it and resolves to how it ended;
//! - [`pread`], [`pread_lines`], [`pwrite`], [`pmap`], [`pmap_lines`] pipe
//!   data out of, into, or through it;
//! - [`open_process_in`] and friends give a process object with channels
//!   ([`lwt::io`](crate::io)), its pid, a status promise, `kill`,
//!   `terminate` and `close`; the `with_process_*` forms close it for you.
//!
//! ```
//! use lwt::process::{self, shell, Command};
//! let p = process::pread(Command::new("echo").arg("hello"))
//!     .bind(|out| process::exec(shell("exit 3")).map(move |status| (out, status)));
//! let (out, status) = lwt::main::run(p).unwrap();
//! assert_eq!(out, "hello\n");
//! assert_eq!(status, lwt::unix::ProcessStatus::Exited(3));
//! ```
//!
//! # No zombies
//!
//! Every child is waited for from the moment it starts: its status promise
//! (a `wait4` through the event loop, woken by `SIGCHLD`) exists before any
//! user code sees the process, and it lives on even if every handle to the
//! process is dropped. So a child is reaped as soon as it exits, whatever
//! path the program took, provided the event loop keeps running.
//!
//! # Deliberate differences from Lwt
//!
//! - Options are methods of [`Command`] rather than optional arguments.
//! - A program that cannot be started (missing, not executable, bad working
//!   directory) rejects with an I/O error naming it, instead of a child that
//!   exits with code 127 (the spawning goes through `std::process::Command`,
//!   which reports the `exec` failure to the parent).
//! - Redirections can also name a file ([`Redirection::File`]).
//! - [`pread`] and [`pmap`] give text (`String`): output that is not UTF-8
//!   rejects with an `InvalidData` error; read the `stdout` channel of
//!   [`open_process_in`] for raw bytes.
//! - Signals are plain numbers (`libc::SIGTERM` ...); `terminate` sends
//!   `SIGKILL`, as Lwt's does.

//!
//! # Lwt_process → lwt::process
//!
//! | Lwt_process | lwt::process |
//! |---|---|
//! | `command` (`prog, argv`), `shell` | [`Command::new`] + [`Command::arg`], [`Command::from_argv`], [`shell`] |
//! | `?env`, `?cwd`, `?timeout`, `?stdin ?stdout ?stderr` | [`Command::env`] / [`Command::env_var`], [`Command::cwd`], [`Command::timeout`], [`Command::stdin`] ... |
//! | `` `Keep ``, `` `Dev_null ``, `` `Close ``, `` `FD_copy ``, `` `FD_move `` | [`Redirection`]`::{Keep, DevNull, Close, FdCopy, FdMove}`, and `File` |
//! | `exec` | [`exec`] |
//! | `pread`, `pread_line`, `pread_lines`, `pread_chars` | [`pread`], [`pread_line`], [`pread_lines`], [`pread_chars`] |
//! | `pwrite`, `pwrite_lines` | [`pwrite`], [`pwrite_lines`] |
//! | `pmap`, `pmap_lines` | [`pmap`], [`pmap_lines`] |
//! | `open_process_none/_in/_out`, `open_process`, `open_process_full` | [`open_process_none`], [`open_process_in`], [`open_process_out`], [`open_process`], [`open_process_full`] |
//! | `with_process_none/_in/_out`, `with_process`, `with_process_full` | [`with_process_none`], [`with_process_in`], [`with_process_out`], [`with_process`], [`with_process_full`] |
//! | `p#pid`, `p#state`, `p#kill`, `p#terminate`, `p#status`, `p#rusage`, `p#close` | `p.pid()`, `p.state()` ([`ProcessState`]), `p.kill(sig)`, `p.terminate()`, `p.status()`, `p.rusage()`, `p.close()` |
//! | `p#stdin`, `p#stdout`, `p#stderr` | `p.stdin()`, `p.stdout()`, `p.stderr()` |

use std::cell::RefCell;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::rc::Rc;
use std::time::Duration;

use crate::io::{self as lio, InputChannel, OutputChannel};
use crate::stream::{self, Stream};
use crate::unix::{self, ProcessStatus, ResourceUsage};
use crate::{Error, Promise};

/// Where a standard descriptor of the child goes (Lwt's `redirection`).
#[derive(Debug, Default)]
pub enum Redirection {
    /// The child shares the parent's descriptor (the default).
    #[default]
    Keep,
    /// `/dev/null`.
    DevNull,
    /// Closed in the child: writing to it fails there.
    Close,
    /// A duplicate of this descriptor of the parent, which keeps its own
    /// (Lwt's `FD_copy`).
    FdCopy(RawFd),
    /// This descriptor, given to the child and closed in the parent (Lwt's
    /// `FD_move`).
    FdMove(OwnedFd),
    /// A file: read for stdin; created or truncated for stdout and stderr.
    File(PathBuf),
}

/// What to run, and how (Lwt's `command` plus the optional arguments of
/// `exec` and friends).
///
/// ```
/// use lwt::process::{self, Command, Redirection};
/// let cmd = Command::new("sh")
///     .args(["-c", "echo $GREETING from $(pwd)"])
///     .env_var("GREETING", "hi")
///     .cwd("/")
///     .stderr(Redirection::DevNull);
/// assert_eq!(lwt::main::run(process::pread(cmd)).unwrap(), "hi from /\n");
/// ```
pub struct Command {
    program: OsString,
    arg0: Option<OsString>,
    args: Vec<OsString>,
    env: Option<Vec<(OsString, OsString)>>,
    env_vars: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    stdin: Redirection,
    stdout: Redirection,
    stderr: Redirection,
    timeout: Option<Duration>,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("cwd", &self.cwd)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Command {
    /// Runs `program` (looked up in `PATH` if it has no `/`), with no
    /// arguments yet; its `argv[0]` is `program`.
    pub fn new(program: impl Into<OsString>) -> Command {
        Command {
            program: program.into(),
            arg0: None,
            args: Vec::new(),
            env: None,
            env_vars: Vec::new(),
            cwd: None,
            stdin: Redirection::Keep,
            stdout: Redirection::Keep,
            stderr: Redirection::Keep,
            timeout: None,
        }
    }

    /// Lwt's command form `(prog, argv)`: runs `prog` with the whole
    /// argument vector `argv`, `argv[0]` included; an empty `prog` means
    /// `argv[0]`. An empty `argv` with an empty `prog` fails when run.
    ///
    /// ```
    /// use lwt::process::{self, Command};
    /// let cmd = Command::from_argv("", ["echo", "a", "b"]);
    /// assert_eq!(lwt::main::run(process::pread(cmd)).unwrap(), "a b\n");
    /// ```
    pub fn from_argv<S: Into<OsString>>(prog: impl Into<OsString>, argv: impl IntoIterator<Item = S>) -> Command {
        let mut argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
        let prog = prog.into();
        let arg0 = if argv.is_empty() { None } else { Some(argv.remove(0)) };
        let program = if prog.is_empty() {
            arg0.clone().unwrap_or_default()
        } else {
            prog
        };
        let mut c = Command::new(program);
        c.arg0 = arg0;
        c.args = argv;
        c
    }

    /// Adds an argument.
    pub fn arg(mut self, a: impl Into<OsString>) -> Command {
        self.args.push(a.into());
        self
    }

    /// Adds arguments.
    pub fn args<S: Into<OsString>>(mut self, args: impl IntoIterator<Item = S>) -> Command {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Replaces the whole environment of the child with `vars` (Lwt's
    /// `?env`).
    pub fn env<K: Into<OsString>, V: Into<OsString>>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Command {
        self.env = Some(vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect());
        self
    }

    /// Sets one variable in the child's environment, on top of the
    /// inherited one (or of the one given to [`Command::env`]).
    pub fn env_var(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Command {
        self.env_vars.push((key.into(), value.into()));
        self
    }

    /// Runs the child in directory `dir` (Lwt's `?cwd`).
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Command {
        self.cwd = Some(dir.into());
        self
    }

    /// Where the child's standard input comes from (Lwt's `?stdin`).
    /// Ignored by the functions that pipe into the child.
    pub fn stdin(mut self, r: Redirection) -> Command {
        self.stdin = r;
        self
    }

    /// Where the child's standard output goes (Lwt's `?stdout`). Ignored by
    /// the functions that read from the child.
    pub fn stdout(mut self, r: Redirection) -> Command {
        self.stdout = r;
        self
    }

    /// Where the child's standard error goes (Lwt's `?stderr`).
    pub fn stderr(mut self, r: Redirection) -> Command {
        self.stderr = r;
        self
    }

    /// Kills the child (`SIGKILL`) if it is still running after `d`, and
    /// closes the channels to it, so pending reads reject with
    /// [`ChannelClosed`](crate::io::ChannelClosed) (Lwt's `?timeout`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use lwt::process::{self, shell};
    /// let status = lwt::main::run(process::exec(shell("sleep 5").timeout(Duration::from_millis(20)))).unwrap();
    /// assert_eq!(status, lwt::unix::ProcessStatus::Signaled(9));
    /// ```
    pub fn timeout(mut self, d: Duration) -> Command {
        self.timeout = Some(d);
        self
    }
}

/// A command line run by the shell: `/bin/sh -c cmd` (Lwt's `shell`).
pub fn shell(cmd: impl Into<OsString>) -> Command {
    Command::new("/bin/sh").arg("-c").arg(cmd)
}

// ---------------------------------------------------------------------------
// Spawning

/// Which of the child's standard descriptors are pipes to the parent.
#[derive(Clone, Copy)]
struct Pipes {
    stdin: bool,
    stdout: bool,
    stderr: bool,
}

struct Spawned {
    pid: i32,
    stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    timeout: Option<Duration>,
}

fn dup(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes and returns plain integers; an invalid
    // descriptor gives EBADF. The new descriptor is ours alone, so wrapping
    // it in an OwnedFd is sound.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` was just returned by fcntl and is owned by nobody else.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(new) })
}

/// The `Stdio` of one redirection; `Close` is done in the child (see below).
fn stdio(r: Redirection, child_fd: i32, closes: &mut Vec<i32>) -> io::Result<Stdio> {
    Ok(match r {
        Redirection::Keep => Stdio::inherit(),
        Redirection::DevNull => Stdio::null(),
        Redirection::Close => {
            closes.push(child_fd);
            Stdio::inherit()
        }
        Redirection::FdCopy(fd) => Stdio::from(dup(fd)?),
        Redirection::FdMove(fd) => Stdio::from(fd),
        Redirection::File(path) => {
            let file = if child_fd == 0 {
                std::fs::File::open(&path)
            } else {
                std::fs::File::create(&path)
            };
            Stdio::from(file.map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?)
        }
    })
}

fn spawn(cmd: Command, pipes: Pipes) -> Result<Spawned, Error> {
    let name = cmd.program.clone();
    let mut c = std::process::Command::new(&cmd.program);
    if let Some(a0) = &cmd.arg0 {
        c.arg0(a0);
    }
    c.args(&cmd.args);
    if let Some(env) = &cmd.env {
        c.env_clear();
        c.envs(env.iter().map(|(k, v)| (k, v)));
    }
    c.envs(cmd.env_vars.iter().map(|(k, v)| (k, v)));
    if let Some(dir) = &cmd.cwd {
        c.current_dir(dir);
    }
    let mut closes = Vec::new();
    let bad = |e: io::Error| Error::io(io::Error::new(e.kind(), format!("lwt::process: redirection: {e}")));
    let sin = if pipes.stdin {
        Stdio::piped()
    } else {
        stdio(cmd.stdin, 0, &mut closes).map_err(bad)?
    };
    let sout = if pipes.stdout {
        Stdio::piped()
    } else {
        stdio(cmd.stdout, 1, &mut closes).map_err(bad)?
    };
    let serr = if pipes.stderr {
        Stdio::piped()
    } else {
        stdio(cmd.stderr, 2, &mut closes).map_err(bad)?
    };
    c.stdin(sin).stdout(sout).stderr(serr);
    if !closes.is_empty() {
        // SAFETY: the hook runs in the child between fork and exec, where
        // only async-signal-safe calls are allowed; close(2) is one, and the
        // closure neither allocates nor takes locks (`closes` was built
        // before the fork and is only read).
        unsafe {
            c.pre_exec(move || {
                for fd in &closes {
                    libc::close(*fd);
                }
                Ok(())
            });
        }
    }
    let mut child = c.spawn().map_err(|e| {
        Error::io(io::Error::new(
            e.kind(),
            format!("lwt::process: cannot run {:?}: {e}", name.to_string_lossy()),
        ))
    })?;
    Ok(Spawned {
        pid: child.id() as i32,
        stdin: child.stdin.take().map(OwnedFd::from),
        stdout: child.stdout.take().map(OwnedFd::from),
        stderr: child.stderr.take().map(OwnedFd::from),
        timeout: cmd.timeout,
    })
    // Dropping `child` neither waits for nor kills the process: the status
    // promise made next reaps it.
}

// ---------------------------------------------------------------------------
// Process objects

/// Whether a process still runs (Lwt's `state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessState {
    /// It has not been seen to exit yet.
    Running,
    /// It ended like this.
    Exited(ProcessStatus),
}

struct Core {
    pid: i32,
    /// The wait for the child, started at spawn; never canceled.
    wait: Promise<(ProcessStatus, ResourceUsage)>,
    stdin: Option<OutputChannel>,
    stdout: Option<InputChannel>,
    stderr: Option<InputChannel>,
    closed: RefCell<Option<Promise<ProcessStatus>>>,
}

impl Core {
    fn start(cmd: Command, pipes: Pipes) -> Result<Rc<Core>, Error> {
        let s = spawn(cmd, pipes)?;
        let wait = unix::wait4(&[], s.pid).map(|(_, status, usage)| (status, usage));
        let input = |fd: OwnedFd| lio::of_fd(lio::Input, unix::of_unix_file_descr(fd, Some(false), true));
        let output = |fd: OwnedFd| lio::of_fd(lio::Output, unix::of_unix_file_descr(fd, Some(false), true));
        let core = Rc::new(Core {
            pid: s.pid,
            wait,
            stdin: s.stdin.map(output),
            stdout: s.stdout.map(input),
            stderr: s.stderr.map(input),
            closed: RefCell::new(None),
        });
        if let Some(d) = s.timeout {
            core.arm_timeout(d);
        }
        Ok(core)
    }

    fn arm_timeout(self: &Rc<Self>, d: Duration) {
        let timer = unix::sleep(d);
        let t = timer.clone();
        self.wait.on_termination(move || t.cancel());
        let (pid, wait) = (self.pid, self.wait.clone());
        let (sin, sout, serr) = (self.stdin.clone(), self.stdout.clone(), self.stderr.clone());
        drop(timer.map(move |()| {
            if wait.is_pending() {
                kill_pid(pid, libc::SIGKILL);
                // Pending reads and writes on the pipes reject with
                // ChannelClosed, as in Lwt.
                if let Some(c) = &sin {
                    drop(lio::abort(c));
                }
                for c in [&sout, &serr].into_iter().flatten() {
                    drop(lio::abort(c));
                }
            }
        }));
    }

    fn state(&self) -> ProcessState {
        match self.wait.state() {
            crate::State::Fulfilled((s, _)) => ProcessState::Exited(s),
            _ => ProcessState::Running,
        }
    }

    fn kill(&self, signal: i32) -> Result<(), Error> {
        // Until the wait has resolved the child is not reaped, so its pid
        // cannot have been reused: signalling it is safe.
        if self.wait.is_pending() {
            if !(1..=64).contains(&signal) {
                return Err(Error::invalid_argument(format!(
                    "lwt::process: bad signal number {signal}"
                )));
            }
            kill_pid(self.pid, signal);
        }
        Ok(())
    }

    fn status(&self) -> Promise<ProcessStatus> {
        crate::protected(self.wait.clone()).map(|(s, _)| s)
    }

    fn rusage(&self) -> Promise<ResourceUsage> {
        crate::protected(self.wait.clone()).map(|(_, u)| u)
    }

    fn close(&self) -> Promise<ProcessStatus> {
        if let Some(p) = self.closed.borrow().clone() {
            return p;
        }
        let mut closes = Vec::new();
        if let Some(c) = &self.stdin {
            closes.push(lio::close(c).catch(|_| crate::resolved(())));
        }
        for c in [&self.stdout, &self.stderr].into_iter().flatten() {
            closes.push(lio::close(c).catch(|_| crate::resolved(())));
        }
        let status = self.status();
        let p = crate::join(closes).bind(move |()| status);
        *self.closed.borrow_mut() = Some(p.clone());
        p
    }
}

fn kill_pid(pid: i32, signal: i32) {
    // SAFETY: kill(2) takes plain integers; the caller checked that `pid`
    // is our unreaped child.
    unsafe {
        libc::kill(pid, signal);
    }
}

macro_rules! process_type {
    ($(#[$doc:meta])* $name:ident { $($field:ident : $fty:ty),* }) => {
        $(#[$doc])*
        pub struct $name {
            core: Rc<Core>,
            $($field: $fty,)*
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("pid", &self.core.pid)
                    .field("state", &self.core.state())
                    .finish()
            }
        }

        impl $name {
            /// The process id of the child (Lwt's `pid`).
            pub fn pid(&self) -> i32 {
                self.core.pid
            }

            /// Whether the child still runs (Lwt's `state`).
            pub fn state(&self) -> ProcessState {
                self.core.state()
            }

            /// Sends signal `signal` to the child; nothing once it has exited
            /// (Lwt's `kill`). An invalid signal number is an invalid argument.
            pub fn kill(&self, signal: i32) -> Result<(), Error> {
                self.core.kill(signal)
            }

            /// Kills the child with `SIGKILL`; nothing once it has exited
            /// (Lwt's `terminate`).
            pub fn terminate(&self) {
                kill_pid_if_running(&self.core);
            }

            /// How the child ended, once it has (Lwt's `status`). Canceling
            /// this promise does not stop waiting for the child.
            pub fn status(&self) -> Promise<ProcessStatus> {
                self.core.status()
            }

            /// The CPU time the child used, once it has exited (Lwt's
            /// `rusage`).
            pub fn rusage(&self) -> Promise<ResourceUsage> {
                self.core.rusage()
            }

            /// Closes the channels to the child (flushing its stdin first),
            /// then waits for it to exit and resolves to its status (Lwt's
            /// `close`). Calling it again gives the same promise.
            pub fn close(&self) -> Promise<ProcessStatus> {
                self.core.close()
            }
        }
    };
}

fn kill_pid_if_running(core: &Core) {
    if core.wait.is_pending() {
        kill_pid(core.pid, libc::SIGKILL);
    }
}

process_type!(
    /// A child without pipes (Lwt's `process_none`).
    ///
    /// ```
    /// use lwt::process::{self, shell, ProcessState};
    /// let p = process::open_process_none(shell("exit 0")).unwrap();
    /// assert_eq!(lwt::main::run(p.close()).unwrap(), lwt::unix::ProcessStatus::Exited(0));
    /// assert!(matches!(p.state(), ProcessState::Exited(_)));
    /// ```
    ProcessNone {}
);
process_type!(
    /// A child whose standard output is read through a channel (Lwt's
    /// `process_in`).
    ProcessIn { stdout: InputChannel }
);
process_type!(
    /// A child whose standard input is written through a channel (Lwt's
    /// `process_out`).
    ProcessOut { stdin: OutputChannel }
);
process_type!(
    /// A child with its standard input and output on channels (Lwt's
    /// `process`).
    Process { stdin: OutputChannel, stdout: InputChannel }
);
process_type!(
    /// A child with its standard input, output and error on channels
    /// (Lwt's `process_full`).
    ProcessFull { stdin: OutputChannel, stdout: InputChannel, stderr: InputChannel }
);

impl ProcessIn {
    /// The channel reading the child's standard output.
    pub fn stdout(&self) -> &InputChannel {
        &self.stdout
    }
}

impl ProcessOut {
    /// The channel writing the child's standard input.
    pub fn stdin(&self) -> &OutputChannel {
        &self.stdin
    }
}

impl Process {
    /// The channel writing the child's standard input.
    pub fn stdin(&self) -> &OutputChannel {
        &self.stdin
    }

    /// The channel reading the child's standard output.
    pub fn stdout(&self) -> &InputChannel {
        &self.stdout
    }
}

impl ProcessFull {
    /// The channel writing the child's standard input.
    pub fn stdin(&self) -> &OutputChannel {
        &self.stdin
    }

    /// The channel reading the child's standard output.
    pub fn stdout(&self) -> &InputChannel {
        &self.stdout
    }

    /// The channel reading the child's standard error.
    pub fn stderr(&self) -> &InputChannel {
        &self.stderr
    }
}

const NONE: Pipes = Pipes {
    stdin: false,
    stdout: false,
    stderr: false,
};

/// A pipe the child was given, as a channel (always there when asked for).
fn pipe_of<C: Clone>(c: &Option<C>, which: &str) -> Result<C, Error> {
    c.clone()
        .ok_or_else(|| Error::failure(format!("lwt::process: the child has no {which} pipe")))
}

/// Starts `cmd` with no pipes (Lwt's `open_process_none`).
pub fn open_process_none(cmd: Command) -> Result<ProcessNone, Error> {
    Core::start(cmd, NONE).map(|core| ProcessNone { core })
}

/// Starts `cmd` with its standard output on a channel (Lwt's
/// `open_process_in`).
///
/// ```
/// use lwt::process::{self, Command};
/// let p = process::open_process_in(Command::new("printf").arg("a\\nb\\n")).unwrap();
/// let lines = lwt::main::run(lwt::io::read_lines(p.stdout()).to_list()).unwrap();
/// assert_eq!(lines, ["a", "b"]);
/// assert!(lwt::main::run(p.close()).is_ok());
/// ```
pub fn open_process_in(cmd: Command) -> Result<ProcessIn, Error> {
    let core = Core::start(cmd, Pipes { stdout: true, ..NONE })?;
    let stdout = pipe_of(&core.stdout, "stdout")?;
    Ok(ProcessIn { core, stdout })
}

/// Starts `cmd` with its standard input on a channel (Lwt's
/// `open_process_out`).
pub fn open_process_out(cmd: Command) -> Result<ProcessOut, Error> {
    let core = Core::start(cmd, Pipes { stdin: true, ..NONE })?;
    let stdin = pipe_of(&core.stdin, "stdin")?;
    Ok(ProcessOut { core, stdin })
}

/// Starts `cmd` with its standard input and output on channels (Lwt's
/// `open_process`).
///
/// ```
/// use lwt::{io, process::{self, Command}};
/// let p = process::open_process(Command::new("tr").args(["a-z", "A-Z"])).unwrap();
/// let (i, o) = (p.stdin().clone(), p.stdout().clone());
/// let upper = io::write_line(&i, "loud").bind(move |()| io::close(&i)).bind(move |()| io::read_line(&o));
/// assert_eq!(lwt::main::run(upper).unwrap(), "LOUD");
/// lwt::main::run(p.close()).unwrap();
/// ```
pub fn open_process(cmd: Command) -> Result<Process, Error> {
    let pipes = Pipes {
        stdin: true,
        stdout: true,
        ..NONE
    };
    let core = Core::start(cmd, pipes)?;
    let (stdin, stdout) = (pipe_of(&core.stdin, "stdin")?, pipe_of(&core.stdout, "stdout")?);
    Ok(Process { core, stdin, stdout })
}

/// Starts `cmd` with its standard input, output and error on channels
/// (Lwt's `open_process_full`).
pub fn open_process_full(cmd: Command) -> Result<ProcessFull, Error> {
    let pipes = Pipes {
        stdin: true,
        stdout: true,
        stderr: true,
    };
    let core = Core::start(cmd, pipes)?;
    let stdin = pipe_of(&core.stdin, "stdin")?;
    let (stdout, stderr) = (pipe_of(&core.stdout, "stdout")?, pipe_of(&core.stderr, "stderr")?);
    Ok(ProcessFull {
        core,
        stdin,
        stdout,
        stderr,
    })
}

/// Runs `f` on a started process and then closes it, whatever `f` did; the
/// promise has the outcome of `f`.
fn with<P: 'static, T: 'static>(
    started: Result<P, Error>,
    core: impl Fn(&P) -> Rc<Core>,
    f: impl FnOnce(&P) -> Promise<T> + 'static,
) -> Promise<T> {
    match started {
        Ok(p) => {
            let c = core(&p);
            crate::apply(move |p: P| f(&p), p).finalize(move || c.close().map(|_| ()))
        }
        Err(e) => crate::rejected(e),
    }
}

/// Runs `f` on [`open_process_none`]'s process, then closes it (Lwt's
/// `with_process_none`).
pub fn with_process_none<T: 'static>(cmd: Command, f: impl FnOnce(&ProcessNone) -> Promise<T> + 'static) -> Promise<T> {
    with(open_process_none(cmd), |p| p.core.clone(), f)
}

/// Runs `f` on [`open_process_in`]'s process, then closes it (Lwt's
/// `with_process_in`).
///
/// ```
/// use lwt::process::{self, Command};
/// let n = process::with_process_in(Command::new("seq").arg("5"), |p| {
///     lwt::io::read_lines(p.stdout()).fold(0, |n, _| n + 1)
/// });
/// assert_eq!(lwt::main::run(n).unwrap(), 5);
/// ```
pub fn with_process_in<T: 'static>(cmd: Command, f: impl FnOnce(&ProcessIn) -> Promise<T> + 'static) -> Promise<T> {
    with(open_process_in(cmd), |p| p.core.clone(), f)
}

/// Runs `f` on [`open_process_out`]'s process, then closes it (Lwt's
/// `with_process_out`).
pub fn with_process_out<T: 'static>(cmd: Command, f: impl FnOnce(&ProcessOut) -> Promise<T> + 'static) -> Promise<T> {
    with(open_process_out(cmd), |p| p.core.clone(), f)
}

/// Runs `f` on [`open_process`]'s process, then closes it (Lwt's
/// `with_process`).
pub fn with_process<T: 'static>(cmd: Command, f: impl FnOnce(&Process) -> Promise<T> + 'static) -> Promise<T> {
    with(open_process(cmd), |p| p.core.clone(), f)
}

/// Runs `f` on [`open_process_full`]'s process, then closes it (Lwt's
/// `with_process_full`).
pub fn with_process_full<T: 'static>(cmd: Command, f: impl FnOnce(&ProcessFull) -> Promise<T> + 'static) -> Promise<T> {
    with(open_process_full(cmd), |p| p.core.clone(), f)
}

// ---------------------------------------------------------------------------
// High-level functions

/// Runs `cmd` and resolves to how it ended (Lwt's `exec`). A program that
/// cannot be started rejects with an I/O error naming it.
///
/// ```
/// use lwt::process::{self, Command};
/// let e = lwt::main::run(process::exec(Command::new("no-such-program-lwt"))).unwrap_err();
/// assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::NotFound);
/// assert!(e.to_string().contains("no-such-program-lwt"));
/// ```
pub fn exec(cmd: Command) -> Promise<ProcessStatus> {
    match open_process_none(cmd) {
        Ok(p) => p.close(),
        Err(e) => crate::rejected(e),
    }
}

fn is_broken_pipe(e: &Error) -> bool {
    e.io_error().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

/// Runs `cmd` and resolves to everything it writes on its standard output
/// (Lwt's `pread`). The exit status is not checked (as in Lwt); output that
/// is not UTF-8 rejects with an `InvalidData` error.
pub fn pread(cmd: Command) -> Promise<String> {
    with_process_in(cmd, |p| lio::read_to_string(p.stdout()))
}

/// Runs `cmd` and resolves to the first line of its output (Lwt's
/// `pread_line`); no line at all rejects with
/// [`EndOfFile`](crate::io::EndOfFile).
pub fn pread_line(cmd: Command) -> Promise<String> {
    with_process_in(cmd, |p| lio::read_line(p.stdout()))
}

/// A stream over the output of a process, closing (and reaping) it at the
/// end. The process starts at once.
fn output_stream<T: 'static>(cmd: Command, next: impl Fn(&InputChannel) -> Promise<Option<T>> + 'static) -> Stream<T> {
    match open_process_in(cmd) {
        Ok(p) => {
            let p = Rc::new(p);
            stream::from(move || {
                let p = p.clone();
                next(p.stdout()).bind(move |x| match x {
                    Some(x) => crate::resolved(Some(x)),
                    None => p.close().map(|_| None),
                })
            })
        }
        Err(e) => {
            let mut e = Some(e);
            stream::from(move || match e.take() {
                Some(e) => crate::rejected(e),
                None => crate::resolved(None),
            })
        }
    }
}

/// Runs `cmd` and gives the lines of its output as a stream (Lwt's
/// `pread_lines`); the process is closed at the end of the stream.
///
/// ```
/// use lwt::process::{self, Command};
/// let lines = process::pread_lines(Command::new("printf").arg("x\\ny\\n"));
/// assert_eq!(lwt::main::run(lines.to_list()).unwrap(), ["x", "y"]);
/// ```
pub fn pread_lines(cmd: Command) -> Stream<String> {
    output_stream(cmd, lio::read_line_opt)
}

/// Runs `cmd` and gives the bytes of its output as a stream (Lwt's
/// `pread_chars`).
pub fn pread_chars(cmd: Command) -> Stream<u8> {
    output_stream(cmd, lio::read_char_opt)
}

/// Runs `cmd`, writes `data` to its standard input, closes it, and waits for
/// the child (Lwt's `pwrite`). A child that exits without reading it all is
/// not an error.
///
/// ```
/// use lwt::process::{self, Command, Redirection};
/// let path = std::env::temp_dir().join(format!("lwt-doc-pwrite-{}", std::process::id()));
/// let cmd = Command::new("cat").stdout(Redirection::File(path.clone()));
/// lwt::main::run(process::pwrite(cmd, "kept\n")).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept\n");
/// std::fs::remove_file(path).unwrap();
/// ```
pub fn pwrite(cmd: Command, data: impl AsRef<[u8]>) -> Promise<()> {
    let data = data.as_ref().to_vec();
    with_process_out(cmd, move |p| {
        let stdin = p.stdin().clone();
        lio::write(&stdin, data).bind(move |()| lio::close(&stdin)).catch(|e| {
            if is_broken_pipe(&e) {
                crate::resolved(())
            } else {
                crate::rejected(e)
            }
        })
    })
}

/// Writes each line to the standard input of `cmd`, then closes it (Lwt's
/// `pwrite_lines`).
pub fn pwrite_lines<S: AsRef<[u8]> + 'static>(cmd: Command, lines: &Stream<S>) -> Promise<()> {
    let lines = lines.share();
    with_process_out(cmd, move |p| {
        let stdin = p.stdin().clone();
        lio::write_lines(&stdin, &lines)
            .bind(move |()| lio::close(&stdin))
            .catch(|e| {
                if is_broken_pipe(&e) {
                    crate::resolved(())
                } else {
                    crate::rejected(e)
                }
            })
    })
}

/// Pipes `data` through `cmd`: writes it to its standard input while
/// reading its standard output, and resolves to the output (Lwt's `pmap`).
/// Writing and reading run concurrently, so any amount of data goes
/// through without deadlock. If writing fails the reading is canceled and
/// the promise rejects with the writing's error.
///
/// ```
/// use lwt::process::{self, Command};
/// let sorted = process::pmap(Command::new("sort"), "pear\napple\nfig\n");
/// assert_eq!(lwt::main::run(sorted).unwrap(), "apple\nfig\npear\n");
/// ```
pub fn pmap(cmd: Command, data: impl AsRef<[u8]>) -> Promise<String> {
    let data = data.as_ref().to_vec();
    with_process(cmd, move |p| {
        let stdin = p.stdin().clone();
        let reader = lio::read_to_string(p.stdout());
        let r2 = reader.clone();
        let writer = lio::write(&stdin, data).bind(move |()| lio::close(&stdin)).catch(|e| {
            if is_broken_pipe(&e) {
                crate::resolved(())
            } else {
                crate::rejected(e)
            }
        });
        writer.on_failure(move |_| r2.cancel());
        // The writer's error, not the reader's `Canceled`, is the outcome
        // when writing fails (Lwt waits for the sender, then the getter).
        writer.bind(move |()| reader)
    })
}

/// Pipes lines through `cmd`: writes `lines` to its standard input (in the
/// background) and gives its output lines as a stream (Lwt's
/// `pmap_lines`). An error while writing is reported by the stream at its
/// end; the process is closed then.
///
/// ```
/// use lwt::process::{self, Command};
/// let out = process::pmap_lines(Command::new("rev"), &lwt::stream::of_list(["abc", "xy"]));
/// assert_eq!(lwt::main::run(out.to_list()).unwrap(), ["cba", "yx"]);
/// ```
pub fn pmap_lines<S: AsRef<[u8]> + 'static>(cmd: Command, lines: &Stream<S>) -> Stream<String> {
    let p = match open_process(cmd) {
        Ok(p) => Rc::new(p),
        Err(e) => {
            let mut e = Some(e);
            return stream::from(move || match e.take() {
                Some(e) => crate::rejected(e),
                None => crate::resolved(None),
            });
        }
    };
    let stdin = p.stdin().clone();
    let writer = lio::write_lines(&stdin, lines)
        .bind(move |()| lio::close(&stdin))
        .catch(|e| {
            if is_broken_pipe(&e) {
                crate::resolved(())
            } else {
                crate::rejected(e)
            }
        });
    stream::from(move || {
        let (p, writer) = (p.clone(), writer.clone());
        lio::read_line_opt(p.stdout()).bind(move |l| match l {
            Some(l) => crate::resolved(Some(l)),
            None => writer.then(move |w| p.close().bind(move |_| crate::of_result(w.map(|()| None)))),
        })
    })
}
