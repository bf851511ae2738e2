//! Files and directories (Lwt_unix's file functions). Every call that may
//! touch a disk runs as a job on a worker thread; the promise is not
//! cancelable (the thread cannot be interrupted).

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{fd_job, job, of_unix_file_descr, sys, FileDescr};
use crate::{Error, Promise};

/// A flag of [`openfile`] (Lwt's `open_flag`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenFlag {
    /// Open for reading (`O_RDONLY`).
    Rdonly,
    /// Open for writing (`O_WRONLY`).
    Wronly,
    /// Open for reading and writing (`O_RDWR`).
    Rdwr,
    /// Open in non-blocking mode (`O_NONBLOCK`).
    Nonblock,
    /// Append at the end (`O_APPEND`).
    Append,
    /// Create if missing (`O_CREAT`).
    Creat,
    /// Truncate to 0 bytes (`O_TRUNC`).
    Trunc,
    /// Fail if it exists (`O_EXCL`).
    Excl,
    /// Do not become the controlling terminal (`O_NOCTTY`).
    Noctty,
    /// Synchronized data writes (`O_DSYNC`).
    Dsync,
    /// Synchronized writes (`O_SYNC`).
    Sync,
    /// Synchronized reads (`O_RSYNC`).
    Rsync,
    /// Close on exec (`O_CLOEXEC`; the default here).
    Cloexec,
    /// Keep the fd open across exec (clears the default `O_CLOEXEC`).
    Keepexec,
}

fn open_flags(flags: &[OpenFlag]) -> i32 {
    let mut f = libc::O_CLOEXEC;
    let mut access = libc::O_RDONLY;
    for flag in flags {
        match flag {
            OpenFlag::Rdonly => access = libc::O_RDONLY,
            OpenFlag::Wronly => access = libc::O_WRONLY,
            OpenFlag::Rdwr => access = libc::O_RDWR,
            OpenFlag::Nonblock => f |= libc::O_NONBLOCK,
            OpenFlag::Append => f |= libc::O_APPEND,
            OpenFlag::Creat => f |= libc::O_CREAT,
            OpenFlag::Trunc => f |= libc::O_TRUNC,
            OpenFlag::Excl => f |= libc::O_EXCL,
            OpenFlag::Noctty => f |= libc::O_NOCTTY,
            OpenFlag::Dsync => f |= libc::O_DSYNC,
            OpenFlag::Sync => f |= libc::O_SYNC,
            OpenFlag::Rsync => f |= libc::O_RSYNC,
            OpenFlag::Cloexec => f |= libc::O_CLOEXEC,
            OpenFlag::Keepexec => f &= !libc::O_CLOEXEC,
        }
    }
    f | access
}

/// Opens a file with permissions `perm` for a created file (Lwt's
/// `openfile`). The fd is close-on-exec unless [`OpenFlag::Keepexec`] is
/// given; its mode is guessed from its kind (a regular file is blocking, so
/// its reads and writes run on worker threads).
///
/// ```
/// use lwt::unix::{openfile, OpenFlag};
/// let e = lwt::main::run(openfile("/no/such/dir/file", &[OpenFlag::Rdonly], 0)).unwrap_err();
/// assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::NotFound);
/// ```
pub fn openfile(path: impl AsRef<Path>, flags: &[OpenFlag], perm: u32) -> Promise<FileDescr> {
    let path = path.as_ref().to_path_buf();
    let flags = open_flags(flags);
    job(move || sys::open(&path, flags, perm)).map(|fd| of_unix_file_descr(fd, None, true))
}

/// Runs an fd call on a worker thread for blocking fds, at once otherwise.
fn fd_call<T: Send + 'static>(fd: &FileDescr, f: impl FnOnce(i32) -> io::Result<T> + Send + 'static) -> Promise<T> {
    if fd.is_blocking() {
        fd_job(fd, f)
    } else {
        match fd.check() {
            Ok(raw) => crate::of_result(f(raw).map_err(Error::io)),
            Err(e) => crate::rejected(e),
        }
    }
}

/// Where [`lseek`] counts from (Lwt's `seek_command`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeekCommand {
    /// From the start (`SEEK_SET`).
    Set,
    /// From the current position (`SEEK_CUR`).
    Cur,
    /// From the end (`SEEK_END`).
    End,
}

/// Moves the file position; resolves to the new position (Lwt's `lseek`).
pub fn lseek(fd: &FileDescr, offset: i64, cmd: SeekCommand) -> Promise<u64> {
    let whence = match cmd {
        SeekCommand::Set => libc::SEEK_SET,
        SeekCommand::Cur => libc::SEEK_CUR,
        SeekCommand::End => libc::SEEK_END,
    };
    fd_call(fd, move |raw| sys::lseek(raw, offset, whence))
}

/// Sets the length of the file at `path` (Lwt's `truncate`).
pub fn truncate(path: impl AsRef<Path>, len: u64) -> Promise<()> {
    let path = path.as_ref().to_path_buf();
    job(move || sys::truncate(&path, len))
}

/// Sets the length of an open file (Lwt's `ftruncate`).
pub fn ftruncate(fd: &FileDescr, len: u64) -> Promise<()> {
    fd_call(fd, move |raw| sys::ftruncate(raw, len))
}

/// Flushes the file's data and metadata to disk (Lwt's `fsync`).
pub fn fsync(fd: &FileDescr) -> Promise<()> {
    fd_job(fd, sys::fsync)
}

/// Flushes the file's data to disk (Lwt's `fdatasync`).
pub fn fdatasync(fd: &FileDescr) -> Promise<()> {
    fd_job(fd, sys::fdatasync)
}

/// The kind of a file (Lwt's `file_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    Reg,
    /// A directory.
    Dir,
    /// A character device.
    Chr,
    /// A block device.
    Blk,
    /// A symbolic link.
    Lnk,
    /// A named pipe.
    Fifo,
    /// A socket.
    Sock,
}

/// File status (Lwt's `stats`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Device number.
    pub st_dev: u64,
    /// Inode number.
    pub st_ino: u64,
    /// Kind of file.
    pub st_kind: FileKind,
    /// Permission bits.
    pub st_perm: u32,
    /// Number of hard links.
    pub st_nlink: u64,
    /// Owner's user id.
    pub st_uid: u32,
    /// Owner's group id.
    pub st_gid: u32,
    /// Device id (for special files).
    pub st_rdev: u64,
    /// Size in bytes.
    pub st_size: u64,
    /// Last access.
    pub st_atime: SystemTime,
    /// Last modification.
    pub st_mtime: SystemTime,
    /// Last status change.
    pub st_ctime: SystemTime,
}

fn time_of(sec: i64, nsec: i64) -> SystemTime {
    let nsec = nsec.clamp(0, 999_999_999) as u32;
    if sec >= 0 {
        UNIX_EPOCH + Duration::new(sec as u64, nsec)
    } else {
        UNIX_EPOCH - Duration::new(sec.unsigned_abs(), 0) + Duration::new(0, nsec)
    }
}

fn stats_of(st: &libc::stat) -> Stats {
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => FileKind::Dir,
        libc::S_IFCHR => FileKind::Chr,
        libc::S_IFBLK => FileKind::Blk,
        libc::S_IFLNK => FileKind::Lnk,
        libc::S_IFIFO => FileKind::Fifo,
        libc::S_IFSOCK => FileKind::Sock,
        _ => FileKind::Reg,
    };
    Stats {
        st_dev: st.st_dev,
        st_ino: st.st_ino,
        st_kind: kind,
        st_perm: st.st_mode & 0o7777,
        st_nlink: st.st_nlink,
        st_uid: st.st_uid,
        st_gid: st.st_gid,
        st_rdev: st.st_rdev,
        st_size: st.st_size.max(0) as u64,
        st_atime: time_of(st.st_atime, st.st_atime_nsec),
        st_mtime: time_of(st.st_mtime, st.st_mtime_nsec),
        st_ctime: time_of(st.st_ctime, st.st_ctime_nsec),
    }
}

/// The status of the file at `path`, following symbolic links (Lwt's `stat`).
///
/// ```
/// let st = lwt::main::run(lwt::unix::stat("/")).unwrap();
/// assert_eq!(st.st_kind, lwt::unix::FileKind::Dir);
/// ```
pub fn stat(path: impl AsRef<Path>) -> Promise<Stats> {
    let path = path.as_ref().to_path_buf();
    job(move || sys::stat(Some(&path), -1, true).map(|s| stats_of(&s)))
}

/// The status of the file at `path`, not following a final symbolic link
/// (Lwt's `lstat`).
pub fn lstat(path: impl AsRef<Path>) -> Promise<Stats> {
    let path = path.as_ref().to_path_buf();
    job(move || sys::stat(Some(&path), -1, false).map(|s| stats_of(&s)))
}

/// The status of an open file (Lwt's `fstat`).
pub fn fstat(fd: &FileDescr) -> Promise<Stats> {
    fd_call(fd, |raw| sys::stat(None, raw, true).map(|s| stats_of(&s)))
}

/// Whether something exists at `path` (Lwt's `file_exists`): `false`
/// instead of an error.
pub fn file_exists(path: impl AsRef<Path>) -> Promise<bool> {
    let path = path.as_ref().to_path_buf();
    job(move || Ok(sys::stat(Some(&path), -1, true).is_ok()))
}

fn path_job<T: Send + 'static>(path: &Path, f: impl FnOnce(&Path) -> io::Result<T> + Send + 'static) -> Promise<T> {
    let path = path.to_path_buf();
    job(move || f(&path))
}

/// Removes a file (Lwt's `unlink`).
pub fn unlink(path: impl AsRef<Path>) -> Promise<()> {
    path_job(path.as_ref(), |p| fs::remove_file(p))
}

/// Renames a file or directory (Lwt's `rename`).
pub fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> Promise<()> {
    let to = to.as_ref().to_path_buf();
    path_job(from.as_ref(), move |p| fs::rename(p, &to))
}

/// Makes a hard link `to` of `from` (Lwt's `link`).
pub fn link(from: impl AsRef<Path>, to: impl AsRef<Path>) -> Promise<()> {
    let to = to.as_ref().to_path_buf();
    path_job(from.as_ref(), move |p| fs::hard_link(p, &to))
}

/// Makes a symbolic link `link` pointing to `target` (Lwt's `symlink`).
pub fn symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) -> Promise<()> {
    let link = link.as_ref().to_path_buf();
    path_job(target.as_ref(), move |p| std::os::unix::fs::symlink(p, &link))
}

/// The target of a symbolic link (Lwt's `readlink`).
pub fn readlink(path: impl AsRef<Path>) -> Promise<PathBuf> {
    path_job(path.as_ref(), |p| fs::read_link(p))
}

/// Sets a file's permission bits (Lwt's `chmod`).
pub fn chmod(path: impl AsRef<Path>, perm: u32) -> Promise<()> {
    path_job(path.as_ref(), move |p| {
        fs::set_permissions(p, fs::Permissions::from_mode(perm))
    })
}

/// Sets an open file's permission bits (Lwt's `fchmod`).
pub fn fchmod(fd: &FileDescr, perm: u32) -> Promise<()> {
    fd_call(fd, move |raw| sys::fchmod(raw, perm))
}

/// Changes a file's owner and group; `None` leaves one unchanged (Lwt's
/// `chown`, where -1 does that).
pub fn chown(path: impl AsRef<Path>, uid: Option<u32>, gid: Option<u32>) -> Promise<()> {
    path_job(path.as_ref(), move |p| std::os::unix::fs::chown(p, uid, gid))
}

/// Changes an open file's owner and group (Lwt's `fchown`).
pub fn fchown(fd: &FileDescr, uid: Option<u32>, gid: Option<u32>) -> Promise<()> {
    fd_call(fd, move |raw| sys::fchown(raw, uid, gid))
}

/// A permission checked by [`access`] (Lwt's `access_permission`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessPermission {
    /// Read permission (`R_OK`).
    Read,
    /// Write permission (`W_OK`).
    Write,
    /// Execute permission (`X_OK`).
    Execute,
    /// Existence (`F_OK`).
    Exists,
}

/// Checks that the calling process has the given permissions on `path`
/// (Lwt's `access`); rejects with the OS error otherwise.
pub fn access(path: impl AsRef<Path>, perms: &[AccessPermission]) -> Promise<()> {
    let mode = perms.iter().fold(libc::F_OK, |m, p| {
        m | match p {
            AccessPermission::Read => libc::R_OK,
            AccessPermission::Write => libc::W_OK,
            AccessPermission::Execute => libc::X_OK,
            AccessPermission::Exists => libc::F_OK,
        }
    });
    path_job(path.as_ref(), move |p| sys::access(p, mode))
}

/// Makes a directory with permissions `perm` (Lwt's `mkdir`).
pub fn mkdir(path: impl AsRef<Path>, perm: u32) -> Promise<()> {
    path_job(path.as_ref(), move |p| fs::DirBuilder::new().mode(perm).create(p))
}

/// Removes an empty directory (Lwt's `rmdir`).
pub fn rmdir(path: impl AsRef<Path>) -> Promise<()> {
    path_job(path.as_ref(), |p| fs::remove_dir(p))
}

/// Changes the process's working directory (Lwt's `chdir`). It affects
/// every thread of the process.
pub fn chdir(path: impl AsRef<Path>) -> Promise<()> {
    path_job(path.as_ref(), |p| std::env::set_current_dir(p))
}

/// The process's working directory (Lwt's `getcwd`).
pub fn getcwd() -> Promise<PathBuf> {
    job(std::env::current_dir)
}

/// Sets a file's access and modification times; `None` means now (Lwt's
/// `utimes`, where `0.0` means now). Times before 1970 are refused.
pub fn utimes(path: impl AsRef<Path>, atime: Option<SystemTime>, mtime: Option<SystemTime>) -> Promise<()> {
    let since = |t: Option<SystemTime>| -> Result<Option<Duration>, Error> {
        t.map(|t| {
            t.duration_since(UNIX_EPOCH)
                .map_err(|_| Error::invalid_argument("lwt::unix::utimes: time before 1970"))
        })
        .transpose()
    };
    let (a, m) = match (since(atime), since(mtime)) {
        (Ok(a), Ok(m)) => (a, m),
        (Err(e), _) | (_, Err(e)) => return crate::rejected(e),
    };
    path_job(path.as_ref(), move |p| sys::utimes(p, a, m))
}

struct DirInner {
    path: PathBuf,
    iter: Arc<Mutex<Option<fs::ReadDir>>>,
}

/// An open directory (Lwt's `dir_handle`).
#[derive(Clone)]
pub struct DirHandle(Rc<DirInner>);

impl std::fmt::Debug for DirHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DirHandle").field(&self.0.path).finish()
    }
}

fn closed_dir() -> io::Error {
    io::Error::from_raw_os_error(libc::EBADF)
}

/// Opens a directory for reading (Lwt's `opendir`).
pub fn opendir(path: impl AsRef<Path>) -> Promise<DirHandle> {
    let path = path.as_ref().to_path_buf();
    let p2 = path.clone();
    job(move || fs::read_dir(&p2)).map(move |rd| {
        DirHandle(Rc::new(DirInner {
            path,
            iter: Arc::new(Mutex::new(Some(rd))),
        }))
    })
}

fn next_names(iter: &Mutex<Option<fs::ReadDir>>, n: usize) -> io::Result<Vec<OsString>> {
    let mut g = iter.lock().unwrap_or_else(|e| e.into_inner());
    let rd = g.as_mut().ok_or_else(closed_dir)?;
    let mut out = Vec::new();
    while out.len() < n {
        match rd.next() {
            Some(entry) => out.push(entry?.file_name()),
            None => break,
        }
    }
    Ok(out)
}

/// The next entry name, or `None` at the end (Lwt's `readdir`, which
/// raises `End_of_file` instead). `.` and `..` are not listed.
pub fn readdir(dir: &DirHandle) -> Promise<Option<OsString>> {
    let iter = dir.0.iter.clone();
    job(move || next_names(&iter, 1).map(|mut v| v.pop()))
}

/// Up to `n` next entry names; fewer means the end was reached (Lwt's
/// `readdir_n`).
pub fn readdir_n(dir: &DirHandle, n: usize) -> Promise<Vec<OsString>> {
    let iter = dir.0.iter.clone();
    job(move || next_names(&iter, n))
}

/// Starts reading the directory again from the beginning (Lwt's `rewinddir`).
pub fn rewinddir(dir: &DirHandle) -> Promise<()> {
    let iter = dir.0.iter.clone();
    let path = dir.0.path.clone();
    job(move || {
        let mut g = iter.lock().unwrap_or_else(|e| e.into_inner());
        if g.is_none() {
            return Err(closed_dir());
        }
        *g = Some(fs::read_dir(&path)?);
        Ok(())
    })
}

/// Closes the directory; later calls on it reject with `EBADF` (Lwt's
/// `closedir`).
pub fn closedir(dir: &DirHandle) -> Promise<()> {
    let iter = dir.0.iter.clone();
    job(move || {
        let mut g = iter.lock().unwrap_or_else(|e| e.into_inner());
        g.take().map(drop).ok_or_else(closed_dir)
    })
}

/// Every entry name of a directory (Lwt's `files_of_directory`, which gives
/// a stream); `.` and `..` are not listed.
///
/// ```
/// let names = lwt::main::run(lwt::unix::files_of_directory("/")).unwrap();
/// assert!(names.iter().any(|n| n == "tmp"));
/// ```
pub fn files_of_directory(path: impl AsRef<Path>) -> Promise<Vec<OsString>> {
    path_job(path.as_ref(), |p| {
        fs::read_dir(p)?.map(|e| e.map(|e| e.file_name())).collect()
    })
}
