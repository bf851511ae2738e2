//! Binary numbers (Lwt_io's `NumberIO`, `LE`, `BE` and the system-order
//! functions at the top of `Lwt_io`).
//!
//! A number is read from the buffer in place when all its bytes are there,
//! otherwise through `read_into_exactly` into a small array; it is written
//! like any other bytes. Lwt's `read_int`/`write_int` (32 bits into an
//! OCaml `int`) are [`read_int32`]/[`write_int32`] here.

use super::channel::{lock_now, primitive, release, InputChannel};
use super::read::exactly_op;
use crate::Promise;

/// A byte order (Lwt's `byte_order`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrder {
    /// Least significant byte first.
    LittleEndian,
    /// Most significant byte first.
    BigEndian,
}

/// The byte order of this machine (Lwt's `system_byte_order`).
///
/// ```
/// let o = lwt::io::system_byte_order();
/// assert_eq!(o == lwt::io::ByteOrder::LittleEndian, cfg!(target_endian = "little"));
/// ```
pub fn system_byte_order() -> ByteOrder {
    if cfg!(target_endian = "little") {
        ByteOrder::LittleEndian
    } else {
        ByteOrder::BigEndian
    }
}

/// Reads `N` bytes for a number.
pub(super) fn read_bytes<const N: usize>(ic: &InputChannel, op: &'static str) -> Promise<[u8; N]> {
    if let Some(inner) = lock_now(&ic.w) {
        let ptr = inner.ptr.get();
        if inner.max.get() - ptr >= N {
            let mut out = [0u8; N];
            out.copy_from_slice(&inner.buf.borrow()[ptr..ptr + N]);
            inner.ptr.set(ptr + N);
            release(&ic.w);
            return crate::resolved(out);
        }
        release(&ic.w);
    }
    primitive(&ic.w, op, move |inner| exactly_op(inner.clone(), [0u8; N], 0, N, op))
}

macro_rules! number_io {
    ($(#[$doc:meta])* $vis:vis mod $m:ident, $from:ident, $to:ident, $order:literal) => {
        $(#[$doc])*
        $vis mod $m {
            use super::read_bytes;
            use crate::io::{write, InputChannel, OutputChannel};
            use crate::Promise;

            number_io!(@fns $from, $to, $order,
                read_int16, write_int16, i16, "a 16-bit signed integer",
                read_int32, write_int32, i32, "a 32-bit signed integer",
                read_int64, write_int64, i64, "a 64-bit signed integer",
                read_float32, write_float32, f32, "a 32-bit float (IEEE 754)",
                read_float64, write_float64, f64, "a 64-bit float (IEEE 754)");
        }
    };
    (@fns $from:ident, $to:ident, $order:literal, $($read:ident, $write:ident, $t:ty, $what:literal),*) => {
        $(
            #[doc = concat!("Reads ", $what, ", ", $order, "; rejects with ",
                "[`EndOfFile`](crate::io::EndOfFile) if the input ends first.")]
            pub fn $read(ic: &InputChannel) -> Promise<$t> {
                read_bytes::<{ std::mem::size_of::<$t>() }>(ic, stringify!($read)).map(<$t>::$from)
            }

            #[doc = concat!("Writes ", $what, ", ", $order, ".")]
            pub fn $write(oc: &OutputChannel, v: $t) -> Promise<()> {
                write(oc, v.$to())
            }
        )*
    };
}

number_io!(
    /// Binary numbers in little-endian order (Lwt_io's `LE`).
    ///
    /// ```
    /// use lwt::io::{self, le};
    /// let (ic, oc) = io::pipe().unwrap();
    /// let p = le::write_int32(&oc, -2)
    ///     .bind({ let oc = oc.clone(); move |()| le::write_float64(&oc, 1.5) })
    ///     .bind(move |()| io::flush(&oc))
    ///     .bind({ let ic = ic.clone(); move |()| le::read_int32(&ic) })
    ///     .bind(move |a| le::read_float64(&ic).map(move |b| (a, b)));
    /// assert_eq!(lwt::main::run(p).unwrap(), (-2, 1.5));
    /// ```
    pub mod le, from_le_bytes, to_le_bytes, "least significant byte first"
);

number_io!(
    /// Binary numbers in big-endian (network) order (Lwt_io's `BE`).
    ///
    /// ```
    /// use lwt::io::{self, be, Input};
    /// let ic = io::of_bytes(Input, vec![0x01, 0x02, 0xff, 0xfe]);
    /// assert_eq!(lwt::main::run(be::read_int16(&ic)).unwrap(), 0x0102);
    /// assert_eq!(lwt::main::run(be::read_int16(&ic)).unwrap(), -2);
    /// ```
    pub mod be, from_be_bytes, to_be_bytes, "most significant byte first"
);

number_io!(
    /// Binary numbers in this machine's byte order.
    mod ne, from_ne_bytes, to_ne_bytes, "in this machine's byte order"
);

pub use ne::{
    read_float32, read_float64, read_int16, read_int32, read_int64, write_float32, write_float64, write_int16,
    write_int32, write_int64,
};
