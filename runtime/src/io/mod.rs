//! Buffered byte channels: Lwt's `Lwt_io`.
//!
//! A [`Channel`] is a buffer in front of something that reads or writes
//! bytes: a file descriptor ([`of_fd`]), a pair of user functions
//! ([`make`]), or memory ([`of_bytes`]). [`InputChannel`]s are read with
//! [`read_line`], [`read_char`], [`read`], [`read_into_exactly`], the
//! binary numbers of [`le`] / [`be`] ...; [`OutputChannel`]s are written with
//! [`write`](write()), [`write_line`], [`fprintf!`](crate::io::fprintf) ... and every
//! operation returns a [`Promise`](crate::Promise).
//!
//! ```
//! use lwt::io;
//! let (ic, oc) = io::pipe().unwrap();
//! let writer = io::write_line(&oc, "hello").bind(move |()| io::close(&oc));
//! let reader = io::read_line(&ic);
//! let (line, ()) = lwt::main::run(lwt::both(reader, writer)).unwrap();
//! assert_eq!(line, "hello");
//! ```
//!
//! # How a channel behaves (as in Lwt)
//!
//! - **One operation at a time.** Operations on a channel are serialized in
//!   the order they were called (FIFO): a second `read_line` started while
//!   the first waits for input runs after it. [`atomic`] holds the channel
//!   for a whole sequence of operations.
//! - **Auto-flush.** Data written to an output channel leaves without an
//!   explicit [`flush`]: when the channel becomes idle with data in its
//!   buffer, a flush runs after the current turn of the loop (after a
//!   [`pause`](crate::pause)). [`flush`] forces it now.
//! - **Closing.** [`close`] on an output channel waits for the operations
//!   queued before it, flushes, then closes; on an input channel it closes at
//!   once. It is idempotent. [`abort`] closes at once and interrupts the I/O
//!   in progress. Every later operation rejects with [`ChannelClosed`],
//!   which names the operation.
//! - **End of input.** Reading past the end rejects with [`EndOfFile`]
//!   (the `_opt` forms give `None`); a peer that closed a socket or a pipe is
//!   an end of input, never a hang.
//! - **Buffers.** 4096 bytes by default ([`set_default_buffer_size`]), or
//!   per channel with [`Builder::buffer_size`] / [`resize_buffer`].
//!
//! # Deliberate differences from Lwt
//!
//! - The mode is a type: `Channel<Input>` and `Channel<Output>` (aliases
//!   [`InputChannel`], [`OutputChannel`]); reading an output channel does not
//!   compile. Functions that take a mode take the marker value, as Lwt's
//!   `~mode:input`: `open_file(io::Input, path)`.
//! - Lines are `String`s: [`read_line`] rejects a line that is not UTF-8 with
//!   an `InvalidData` I/O error (as `std`'s `read_line` does). Raw bytes go
//!   through [`read`], [`read_into`] and [`write`](write()).
//! - Buffers are owned and handed back (`read_into(&ic, buf, ofs, len)`
//!   resolves to `(buf, n)`), as in [`lwt::unix`](crate::unix).
//! - Optional arguments (`?buffer`, `?close`, `?seek`, `?flags`, ...) are a
//!   [`Builder`] or an options struct ([`FileOptions`], [`ServerOptions`]).
//! - Streams are [`lwt::stream::Stream`](crate::stream::Stream)s: [`read_lines`],
//!   [`read_chars`], [`lines_of_file`] ... return one, [`write_lines`] and
//!   [`lines_to_file`] take one by reference (`&stream::of_list(v)` for a
//!   vector).
//! - Closing the output channel of a connection shuts down the sending
//!   side of the socket when its input channel is still open, so the peer
//!   sees the end of the data at once (Lwt waits until both are closed).
//! - Servers set `TCP_NODELAY` on accepted TCP connections by default
//!   ([`ServerOptions::nodelay`]), as Lwt's `open_connection` does for
//!   clients: interactive line protocols over channels need it.
//! - Flushing at exit: [`flush_all`] is an exit hook, run by
//!   [`lwt::main::exit`](crate::main::exit) and
//!   [`run_exit_hooks`](crate::main::run_exit_hooks); and, without the loop,
//!   an output channel over a descriptor that is dropped, or still alive
//!   when its thread ends (the main thread too, when `main` returns or
//!   calls `std::process::exit`), writes what is left in its buffer with
//!   plain system calls (best effort on non-blocking descriptors). So
//!   `lwt::main::run(lwt::io::printl("hi"))` prints even though `run`
//!   returns before the auto-flush's turn.
//! - The auto-flushers started during a turn share one pause (Lwt makes
//!   one per channel): a server that flushes every reply itself no longer
//!   pays a pause per reply. A channel may so flush a little earlier among
//!   the paused promises; its data keeps its order.
//! - An operation's promise is the operation itself, not a `finalize`
//!   around it that releases the channel: if it is canceled, `on_cancel`
//!   callbacks attached to it run just before the channel is released, not
//!   just after. Everything else that continues after it finds the channel
//!   released, as in Lwt.
//! - A flush through a write function ([`make`]) or to a file lends the
//!   buffer to that function (or to a worker thread); if it fails or is
//!   canceled without handing the buffer back, the data that was in it is
//!   lost and the next flush starts from an empty buffer (Lwt keeps the
//!   data for the next flush). The failing operation reports the error.
//! - `Marshal` (`read_value`/`write_value`), the bigarray variants,
//!   `direct_access`, `block`, `hexdump` and the temporary files are not
//!   provided.

//!
//! # Lwt_io → lwt::io
//!
//! | Lwt_io | lwt::io |
//! |---|---|
//! | `input_channel`, `output_channel`, `Input`, `Output`, `mode` | [`InputChannel`], [`OutputChannel`], [`Input`], [`Output`], [`mode`] |
//! | `make ?buffer ?close ?seek ~mode f`, `of_fd`, `of_bytes` | [`make`], [`of_fd`], [`Builder`] (`buffer_size`, `close_with`, `seek_with`), [`of_bytes`] |
//! | `stdin`, `stdout`, `stderr`, `zero`, `null`, `pipe` | [`stdin()`], [`stdout()`], [`stderr()`], [`zero()`], [`null()`], [`pipe()`] |
//! | `close`, `abort`, `is_closed`, `is_busy`, `atomic` | [`close`], [`abort`], [`is_closed`], [`is_busy`], [`atomic`] |
//! | `flush`, `flush_all`, `buffered`, `buffer_size`, `resize_buffer` | [`flush`], [`flush_all`], [`buffered`], [`buffer_size`], [`resize_buffer`] |
//! | `default_buffer_size`, `set_default_buffer_size` | [`default_buffer_size`], [`set_default_buffer_size`] |
//! | `position`, `set_position`, `length` | [`position`], [`set_position`], [`length`] |
//! | `read_char`, `read_char_opt`, `read_chars` | [`read_char`], [`read_char_opt`], [`read_chars`] |
//! | `read_line`, `read_line_opt`, `read_lines` | [`read_line`], [`read_line_opt`], [`read_lines`] |
//! | `read ~count`, `read` (no count) | [`read`], [`read_to_end`] ([`read_to_string`]) |
//! | `read_into`, `read_into_exactly` | [`read_into`], [`read_into_exactly`], [`read_exactly`] |
//! | `write`, `write_char`, `write_chars`, `write_line`, `write_lines` | [`write`](write()), [`write_char`], [`write_chars`], [`write_line`], [`write_lines`] |
//! | `write_from`, `write_from_exactly` (and `_string` forms) | [`write_from`], [`write_from_exactly`] |
//! | `fprint`, `fprintl`, `print`, `printl`, `eprint`, `eprintl` | [`fprint`], [`fprintl`], [`print`](print()), [`printl`], [`eprint`](eprint()), [`eprintl`] |
//! | `fprintf`, `fprintlf`, `printf`, `printlf`, `eprintf`, `eprintlf` | the macros [`fprintf!`](crate::io::fprintf), [`fprintlf!`](crate::io::fprintlf), [`printf!`](crate::io::printf), [`printlf!`](crate::io::printlf), [`eprintf!`](crate::io::eprintf), [`eprintlf!`](crate::io::eprintlf) (`format!` syntax) |
//! | `LE.read_int32`, `BE.write_float64`, `read_int16` ... | [`le::read_int32`], [`be::write_float64`], [`read_int16`] ... |
//! | `system_byte_order` | [`system_byte_order`] |
//! | `open_file`, `with_file` (`?buffer ?flags ?perm`) | [`open_file`], [`with_file`], [`FileOptions`] |
//! | `file_length`, `lines_of_file`, `lines_to_file`, `chars_of_file`, `chars_to_file` | [`file_length`], [`lines_of_file`], [`lines_to_file`], [`chars_of_file`], [`chars_to_file`] |
//! | `open_connection`, `with_connection` | [`open_connection`], [`with_connection`] |
//! | `establish_server_with_client_address`, `..._with_client_socket` | [`establish_server_with_client_address`], [`establish_server_with_client_socket`], [`establish_server`], [`ServerOptions`] |
//! | `shutdown_server`, `server` | [`shutdown_server`], [`Server`] ([`Server::shutdown`], [`Server::addr`]) |
//! | `Channel_closed`, `End_of_file` | [`ChannelClosed`], [`EndOfFile`] ([`is_channel_closed`], [`is_end_of_file`]) |

mod channel;
mod file;
mod number;
mod read;
mod server;
mod write;

use std::fmt;

pub use channel::{
    abort, atomic, buffer_size, buffered, close, default_buffer_size, flush, flush_all, is_busy, is_closed, length,
    make, mode, null, of_bytes, of_fd, pipe, position, resize_buffer, set_default_buffer_size, set_position, stderr,
    stdin, stdout, zero, Builder, Channel, Input, InputChannel, IoFn, Mode, ModeKind, Output, OutputChannel, SeekFn,
    MIN_BUFFER_SIZE,
};
pub use file::{
    chars_of_file, chars_to_file, file_length, lines_of_file, lines_to_file, open_file, with_file, FileOptions,
};
pub use number::{
    be, le, read_float32, read_float64, read_int16, read_int32, read_int64, system_byte_order, write_float32,
    write_float64, write_int16, write_int32, write_int64, ByteOrder,
};
pub use read::{
    read, read_char, read_char_opt, read_chars, read_exactly, read_into, read_into_exactly, read_line, read_line_opt,
    read_lines, read_to_end, read_to_string,
};
pub use server::{
    establish_server, establish_server_with_client_address, establish_server_with_client_socket, open_connection,
    shutdown_server, with_connection, Server, ServerOptions,
};
pub use write::{
    eprint, eprintl, fprint, fprintl, print, printl, write, write_char, write_chars, write_from, write_from_exactly,
    write_line, write_lines,
};

// The formatting macros are exported at the crate root under hidden names
// (that is where `#[macro_export]` puts them) and re-exported here, so they
// are used as `lwt::io::printf!(...)`, next to the functions they wrap.
#[doc(inline)]
pub use crate::{
    __lwt_io_eprintf as eprintf, __lwt_io_eprintlf as eprintlf, __lwt_io_fprintf as fprintf,
    __lwt_io_fprintlf as fprintlf, __lwt_io_printf as printf, __lwt_io_printlf as printlf,
};

/// The error of reading past the end of the input (OCaml's `End_of_file`).
///
/// It travels inside an [`Error`](crate::Error) of kind
/// [`Custom`](crate::ErrorKind::Custom); [`is_end_of_file`] recognises it.
///
/// ```
/// let ic = lwt::io::of_bytes(lwt::io::Input, Vec::new());
/// let e = lwt::main::run(lwt::io::read_char(&ic)).unwrap_err();
/// assert!(e.downcast_ref::<lwt::io::EndOfFile>().is_some());
/// assert!(lwt::io::is_end_of_file(&e));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndOfFile;

impl fmt::Display for EndOfFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("End_of_file")
    }
}

impl std::error::Error for EndOfFile {}

/// The error of using a closed channel (Lwt_io's `Channel_closed`): which
/// side it was and which operation was refused.
///
/// ```
/// let (ic, oc) = lwt::io::pipe().unwrap();
/// lwt::main::run(lwt::io::close(&ic)).unwrap();
/// let e = lwt::main::run(lwt::io::read_line(&ic)).unwrap_err();
/// let closed = e.downcast_ref::<lwt::io::ChannelClosed>().unwrap();
/// assert_eq!((closed.mode, closed.operation), (lwt::io::ModeKind::Input, "read_line"));
/// assert_eq!(e.to_string(), "Channel_closed: lwt::io::read_line on a closed input channel");
/// # drop(oc);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelClosed {
    /// The side of the closed channel.
    pub mode: ModeKind,
    /// The `lwt::io` function that was refused, e.g. `"read_line"`.
    pub operation: &'static str,
}

impl fmt::Display for ChannelClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Channel_closed: lwt::io::{} on a closed {} channel",
            self.operation, self.mode
        )
    }
}

impl std::error::Error for ChannelClosed {}

/// Whether `e` is the [`EndOfFile`] error.
pub fn is_end_of_file(e: &crate::Error) -> bool {
    e.downcast_ref::<EndOfFile>().is_some()
}

/// Whether `e` is a [`ChannelClosed`] error.
///
/// ```
/// let oc = lwt::io::null();
/// lwt::main::run(lwt::io::close(&oc)).unwrap();
/// let e = lwt::main::run(lwt::io::write(&oc, "x")).unwrap_err();
/// assert!(lwt::io::is_channel_closed(&e));
/// ```
pub fn is_channel_closed(e: &crate::Error) -> bool {
    e.downcast_ref::<ChannelClosed>().is_some()
}

pub(crate) fn end_of_file() -> crate::Error {
    crate::Error::new(EndOfFile)
}

/// The message a panic carried (for panics caught in user functions).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}
