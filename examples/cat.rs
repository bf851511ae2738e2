//! `cat` with `lwt::io`: copy files (or the standard input) to the standard
//! output through buffered channels.
//!
//! ```text
//! cargo run --example cat -- FILE...    # print the files one after the other
//! echo hi | cargo run --example cat -- -  # "-" is the standard input
//! cargo run --example cat               # no argument: print this example's own source
//! ```
//!
//! What it shows: `open_file` / `with_file`, a copy loop with `read` and
//! `write` (each step a promise, the loop a recursive function), the
//! standard channels `io::stdin()` / `io::stdout()`, and error handling with
//! `catch`: a missing file is reported and the others are still printed.

use lwt::io::{self, InputChannel, OutputChannel};
use lwt::{resolved, Promise};

/// Copies `ic` to `oc` until the end of `ic`, 64 KiB at most per step.
fn copy(ic: InputChannel, oc: OutputChannel) -> Promise<()> {
    io::read(&ic, 65536).bind(move |chunk| {
        if chunk.is_empty() {
            return resolved(()); // end of input
        }
        io::write(&oc, chunk).bind(move |()| copy(ic, oc))
    })
}

/// Prints one file (or the standard input for "-"); resolves to whether it
/// worked, after reporting a failure on the standard error.
fn cat_one(path: String) -> Promise<bool> {
    let out = io::stdout();
    let copied = if path == "-" {
        copy(io::stdin(), out)
    } else {
        io::with_file(io::Input, path.clone(), move |ic| copy(ic, out))
    };
    copied
        .map(|()| true)
        .catch(move |e| io::eprintlf!("cat: {path}: {e}").map(|()| false))
}

/// Prints the files in order, one after the other.
fn cat_all(mut paths: Vec<String>, all_ok: bool) -> Promise<bool> {
    if paths.is_empty() {
        return resolved(all_ok);
    }
    let first = paths.remove(0);
    cat_one(first).bind(move |ok| cat_all(paths, all_ok && ok))
}

fn main() {
    let mut paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        paths.push(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/cat.rs").to_string());
    }
    // Flush stdout and stderr before leaving: `run` returns as soon as the
    // last write is buffered, and `std::process::exit` below would not wait
    // for the auto-flush.
    let all_ok = cat_all(paths, true).bind(|ok| io::flush_all().map(move |()| ok));
    match lwt::main::run(all_ok) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("cat: {e}");
            std::process::exit(1)
        }
    }
}
