//! Lwt's README example in lwt-rs: an HTTP GET raced against a 5-second
//! timeout with `pick`.
//!
//! ```text
//! cargo run --example fetch_with_timeout                 # offline: fetch from a server in this program
//! cargo run --example fetch_with_timeout example.org 80  # fetch from a real host
//! ```
//!
//! The OCaml original:
//!
//! ```ocaml
//! let request =
//!   let%lwt addresses = Lwt_unix.getaddrinfo "google.com" "80" [] in
//!   let google = Lwt_unix.((List.hd addresses).ai_addr) in
//!   Lwt_io.(with_connection google (fun (incoming, outgoing) ->
//!     let%lwt () = write outgoing "GET / HTTP/1.1\r\n" in
//!     let%lwt () = write outgoing "Connection: close\r\n\r\n" in
//!     let%lwt response = read incoming in
//!     Lwt.return (Some response)))
//! in
//! let timeout =
//!   let%lwt () = Lwt_unix.sleep 5. in
//!   Lwt.return None
//! in
//! match Lwt_main.run (Lwt.pick [request; timeout]) with
//! | Some response -> print_string response
//! | None -> prerr_endline "Request timed out"; exit 1
//! ```
//!
//! With no argument, the program first starts a tiny HTTP server of its own
//! on 127.0.0.1 (a port the system picks) and fetches from it, so the
//! example runs anywhere, offline, and exits at once.

use std::time::Duration;

use lwt::io;
use lwt::unix::{self, GetAddrInfoOption, SockAddr, SocketType};
use lwt::{lwt_let, pick, resolved, Promise};

/// Connects, sends a GET, and reads the whole answer: the `request` promise
/// of the OCaml version. `lwt_let!` is `let%lwt`; `do!` sequences a promise
/// of `()`.
fn request(addr: SockAddr, host: String) -> Promise<Option<String>> {
    io::with_connection(addr, move |incoming, outgoing| {
        lwt_let! {
            do! io::write(&outgoing, format!("GET / HTTP/1.1\r\nHost: {host}\r\n"));
            do! io::write(&outgoing, "Connection: close\r\n\r\n");
            // Lwt's `read` without a count: everything up to the end.
            let! response = io::read_to_end(&incoming);
            resolved(Some(String::from_utf8_lossy(&response).into_owned()))
        }
    })
}

/// A promise that gives up after five seconds: the `timeout` of the OCaml
/// version.
fn timeout() -> Promise<Option<String>> {
    unix::sleep(Duration::from_secs(5)).map(|()| None)
}

/// Finds the first TCP address of `host:port` (Lwt's
/// `Lwt_unix.getaddrinfo`).
fn resolve(host: &str, port: &str) -> Promise<SockAddr> {
    let host_name = host.to_string();
    unix::getaddrinfo(host, port, &[GetAddrInfoOption::AiSocktype(SocketType::Stream)]).bind(move |answers| {
        match answers.into_iter().next() {
            Some(a) => resolved(a.ai_addr),
            None => lwt::fail_with(format!("no address for {host_name}")),
        }
    })
}

/// The stand-in for a web server when no host is given: it reads the
/// request's header lines up to the blank line, then answers a small page
/// and closes the connection (the server closes both channels when this
/// promise resolves).
fn serve_one(ic: io::InputChannel, oc: io::OutputChannel) -> Promise<()> {
    fn skip_headers(ic: io::InputChannel) -> Promise<()> {
        io::read_line(&ic).bind(move |line| {
            if line.is_empty() {
                resolved(())
            } else {
                skip_headers(ic)
            }
        })
    }
    let body = "Hello from the lwt-rs example server!\n";
    skip_headers(ic).bind(move |()| {
        io::write(
            &oc,
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();

    // Where to fetch from: the given host, or a server started right here.
    let (target, host, local_server) = match args.as_slice() {
        [] => {
            let any = SockAddr::parse_inet("127.0.0.1:0").expect("a valid address");
            let server = lwt::main::run(io::establish_server(any, serve_one)).unwrap_or_else(|e| {
                eprintln!("cannot start the local server: {e}");
                std::process::exit(1)
            });
            println!("(no host given: fetching from a local server on {})\n", server.addr());
            (resolved(server.addr().clone()), "localhost".to_string(), Some(server))
        }
        [host, port] => (resolve(host, port), host.clone(), None),
        _ => {
            eprintln!("usage: fetch_with_timeout [HOST PORT]");
            std::process::exit(2)
        }
    };

    // The race: whichever finishes first wins, and `pick` cancels the other
    // (the sleep's timer is removed, or the connection is dropped).
    let request = target.bind(move |addr| request(addr, host));
    let outcome = lwt::main::run(pick([request, timeout()]));

    if let Some(server) = local_server {
        let _ = lwt::main::run(server.shutdown());
    }
    match outcome {
        Ok(Some(response)) => print!("{response}"),
        Ok(None) => {
            eprintln!("Request timed out");
            std::process::exit(1)
        }
        Err(e) => {
            eprintln!("Request failed: {e}");
            std::process::exit(1)
        }
    }
}
