//! An echo server on `lwt::io` channels: every line a client sends comes
//! back to it, until the client closes its side.
//!
//! ```text
//! cargo run --example echo_server -- --demo     # server and client in one program, then exit
//! cargo run --example echo_server               # serve on 127.0.0.1:7777 until Ctrl-C
//! cargo run --example echo_server -- 9000       # ... on another port
//! nc 127.0.0.1 7777                              # talk to it from another terminal
//! ```
//!
//! What it shows:
//! - `establish_server` calls the handler with two channels per connection
//!   and closes them when the handler's promise resolves;
//! - the handler is a loop over `read_lines`, written with `iter_s`;
//! - nothing is flushed by hand: written data leaves after the current turn
//!   of the loop (Lwt's auto-flush).

use lwt::io::{self, InputChannel, OutputChannel};
use lwt::unix::SockAddr;
use lwt::{resolved, Promise};

/// One connection: echo each line, then say goodbye when the input ends.
fn handle(ic: InputChannel, oc: OutputChannel) -> Promise<()> {
    let out = oc.clone();
    io::read_lines(&ic)
        .iter_s(move |line| io::write_line(&out, format!("echo: {line}")))
        .bind(move |()| io::write_line(&oc, "bye"))
}

/// The demo client: send a few lines, close our sending side (the server
/// then sees the end of its input), and collect every reply.
fn client(addr: SockAddr) -> Promise<Vec<String>> {
    io::with_connection(addr, |ic, oc| {
        let lines = lwt::stream::of_list(["hello", "lwt-rs", "is listening"]);
        io::write_lines(&oc, &lines)
            .bind(move |()| io::close(&oc))
            .bind(move |()| io::read_lines(&ic).to_list())
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let demo = args.iter().any(|a| a == "--demo");
    let port: u16 = match args.iter().find(|a| !a.starts_with("--")) {
        Some(p) => p.parse().unwrap_or_else(|_| {
            eprintln!("usage: echo_server [--demo] [PORT]");
            std::process::exit(2)
        }),
        None if demo => 0, // let the system pick a free port
        None => 7777,
    };
    let addr = SockAddr::parse_inet(&format!("127.0.0.1:{port}")).expect("a valid address");

    let server = match lwt::main::run(io::establish_server(addr, handle)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1)
        }
    };
    println!("echo server listening on {}", server.addr());

    if demo {
        let replies =
            lwt::main::run(client(server.addr().clone()).bind(move |replies| server.shutdown().map(move |()| replies)));
        match replies {
            Ok(replies) => {
                for r in replies {
                    println!("client got: {r}");
                }
            }
            Err(e) => {
                eprintln!("demo failed: {e}");
                std::process::exit(1)
            }
        }
        return;
    }

    // Serve until the process is interrupted: a promise that never resolves.
    let (forever, _never_resolved) = lwt::wait::<()>();
    let _ = lwt::main::run(forever.bind(|()| resolved(())));
}
