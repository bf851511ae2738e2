//! Subprocesses with `lwt::process`: read a program's output, pipe data
//! through programs, and run several at once.
//!
//! ```text
//! cargo run --example pipeline
//! ```
//!
//! It needs only the usual Unix tools (`sh`, `sort`, `tr`, `uniq`, `wc`).
//! What it shows:
//! - `pread`: run a command, get its standard output;
//! - `pmap`: send data through a command and get the result (input and
//!   output flow at the same time, so any amount of data fits);
//! - `pmap_lines`: the same, line by line, as a stream;
//! - `exec` and exit statuses; a timeout that kills a slow child;
//! - running programs concurrently with `lwt::both`.

use std::time::Duration;

use lwt::process::{self, shell, Command};
use lwt::unix::ProcessStatus;
use lwt::{lwt_let, resolved, Promise};

const TEXT: &str = "the quick brown fox jumps over the lazy dog\nthe dog sleeps\nthe fox runs\n";

/// Word frequencies, computed by a chain of programs: `tr | sort | uniq -c
/// | sort -rn`, each step a `pmap` whose output feeds the next.
fn word_counts(text: &str) -> Promise<String> {
    lwt_let! {
        let! words = process::pmap(Command::new("tr").args(["-s", " ", "\n"]), text);
        let! sorted = process::pmap(Command::new("sort"), words);
        let! counted = process::pmap(Command::new("uniq").arg("-c"), sorted);
        process::pmap(Command::new("sort").arg("-rn"), counted)
    }
}

fn main() {
    let program = lwt_let! {
        // 1. pread: the output of a command, as a string.
        let! kernel = process::pread(Command::new("uname").arg("-s"));
        println!("1. pread(uname -s) = {:?}", kernel.trim());

        // 2. Two commands at once: both run concurrently.
        let! (a, b) = lwt::both(
            process::pread(shell("sleep 0.1; echo first")),
            process::pread(shell("sleep 0.1; echo second")),
        );
        println!("2. ran together: {} and {}", a.trim(), b.trim());

        // 3. pmap chains: data through tr, sort, uniq, sort.
        let! counts = word_counts(TEXT);
        println!("3. word counts:");
        for line in counts.lines().take(3) {
            println!("     {}", line.trim());
        }

        // 4. pmap_lines: a stream of lines in, a stream of lines out.
        let! shouted = process::pmap_lines(Command::new("tr").args(["a-z", "A-Z"]), &lwt::stream::of_list(["stream", "of lines"])).to_list();
        println!("4. pmap_lines through tr: {shouted:?}");

        // 5. exec: only the exit status.
        let! status = process::exec(shell("exit 3"));
        println!("5. exec(exit 3) = {status:?}");

        // 6. A timeout kills a child that takes too long.
        let! slow = process::exec(shell("sleep 10").timeout(Duration::from_millis(100)));
        assert_eq!(slow, ProcessStatus::Signaled(9));
        println!("6. sleep 10 with a 100 ms timeout = {slow:?} (killed)");

        // 7. A program that does not exist is an error, not a hang.
        let! missing = process::exec(Command::new("no-such-program")).then(|r| resolved(r.err()));
        println!("7. a missing program: {}", missing.map(|e| e.to_string()).unwrap_or_default());
        resolved(())
    };
    if let Err(e) = lwt::main::run(program) {
        eprintln!("pipeline failed: {e:#}");
        std::process::exit(1)
    }
}
