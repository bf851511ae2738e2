//! `wc` with `lwt::io`: count the lines, words and bytes of files.
//!
//! ```text
//! cargo run --example wc -- FILE...   # counts per file, and a total
//! cargo run --example wc              # no argument: this example and Cargo.toml
//! ```
//!
//! What it shows: `lines_of_file`, a stream of lines that opens the file on
//! first use and closes it at the end; `fold` over that stream; and
//! `lwt::all` to count every file concurrently (the reads of regular files
//! run on worker threads, so the files really are read in parallel).

use lwt::io;
use lwt::Promise;

/// What `wc` counts.
#[derive(Clone, Copy, Default)]
struct Counts {
    lines: u64,
    words: u64,
    bytes: u64,
}

/// Counts one file. Lines are read as text; each line's newline is one byte
/// more (a last line without newline is counted as if it had one, a small
/// difference from the real `wc`).
fn count(path: String) -> Promise<(String, Counts)> {
    io::lines_of_file(&path)
        .fold(Counts::default(), |c, line| Counts {
            lines: c.lines + 1,
            words: c.words + line.split_whitespace().count() as u64,
            bytes: c.bytes + line.len() as u64 + 1,
        })
        .map(move |c| (path, c))
}

fn main() {
    let mut paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        let root = env!("CARGO_MANIFEST_DIR");
        paths = vec![format!("{root}/examples/wc.rs"), format!("{root}/Cargo.toml")];
    }
    // One promise per file, all running at once; `all` keeps their order.
    let counted = lwt::all(paths.into_iter().map(count).collect::<Vec<_>>());
    match lwt::main::run(counted) {
        Ok(results) => {
            let mut total = Counts::default();
            for (path, c) in &results {
                println!("{:>8} {:>8} {:>8} {path}", c.lines, c.words, c.bytes);
                total.lines += c.lines;
                total.words += c.words;
                total.bytes += c.bytes;
            }
            if results.len() > 1 {
                println!("{:>8} {:>8} {:>8} total", total.lines, total.words, total.bytes);
            }
        }
        Err(e) => {
            eprintln!("wc: {e}");
            std::process::exit(1)
        }
    }
}
