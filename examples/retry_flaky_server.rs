//! Retrying a flaky server with `lwt::retry`.
//!
//! Run with `cargo run --example retry_flaky_server`. A small TCP server on
//! 127.0.0.1 answers `503 busy` (sometimes with a `retry-after` hint) to its
//! first requests and `200 <greeting>` after that. The client retries twice over:
//!
//! 1. with a [`Policy`]: exponential backoff with seeded jitter, capped
//!    delays, a limit on attempts, only "busy" and connection errors retried,
//!    the server's `retry-after` honoured, and every retry reported;
//! 2. the Lwt_retry way: a stream of attempts classified as `Retry` or
//!    `Fatal`, a sleep between attempts, and `n_times`.
//!
//! Everything runs on one thread, in one event loop (`lwt::main::run`).

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use lwt::retry::{self, Policy};
use lwt::unix::{self, FileDescr, SockAddr, SocketDomain, SocketType};
use lwt::{resolved, Error, Promise};

/// Why a request did not give a greeting.
#[derive(Debug)]
enum FetchError {
    /// The server is busy, and may say when to come back.
    Busy(Option<Duration>),
    /// The connection or the exchange failed.
    Io(Error),
    /// The server said something we do not understand.
    Bad(String),
}

/// Writes all of `data` to `fd`.
fn write_all(fd: FileDescr, data: Vec<u8>, from: usize) -> Promise<()> {
    if from >= data.len() {
        return resolved(());
    }
    let len = data.len() - from;
    unix::write(&fd.clone(), data, from, len).bind(move |(data, n)| write_all(fd, data, from + n))
}

/// Reads from `fd` until the end of the stream.
fn read_to_end(fd: FileDescr, mut acc: Vec<u8>) -> Promise<Vec<u8>> {
    unix::read(&fd.clone(), vec![0u8; 512], 0, 512).bind(move |(buf, n)| {
        if n == 0 {
            resolved(acc)
        } else {
            acc.extend_from_slice(&buf[..n]);
            read_to_end(fd, acc)
        }
    })
}

/// Serves one connection: reads the request, answers, closes.
fn answer(client: FileDescr, number: u32, refusals: u32) -> Promise<()> {
    let c = client.clone();
    unix::read(&client, vec![0u8; 256], 0, 256).bind(move |_request| {
        let reply = if number <= refusals && number % 2 == 0 {
            format!("503 busy retry-after-ms={}\n", 40 * number)
        } else if number <= refusals {
            "503 busy\n".to_string()
        } else {
            format!("200 hello, you are visitor {number}\n")
        };
        let c2 = c.clone();
        write_all(c, reply.into_bytes(), 0).bind(move |()| unix::close(&c2))
    })
}

/// Accepts connections forever, refusing the first `refusals` requests.
fn serve(listener: FileDescr, served: Rc<Cell<u32>>, refusals: u32) -> Promise<()> {
    unix::accept(&listener.clone()).bind(move |(client, _peer)| {
        served.set(served.get() + 1);
        lwt::async_({
            let number = served.get();
            move || answer(client, number, refusals)
        });
        serve(listener, served, refusals)
    })
}

/// Starts a server on 127.0.0.1 (any free port); returns its address.
fn start_server(refusals: u32) -> Result<SockAddr, Error> {
    let listener = unix::socket(SocketDomain::Inet, SocketType::Stream, 0)?;
    unix::setsockopt(&listener, unix::SocketBoolOption::SoReuseaddr, true)?;
    let bound = unix::bind(&listener, &SockAddr::parse_inet("127.0.0.1:0")?);
    lwt::main::run(bound)?;
    unix::listen(&listener, 16)?;
    let addr = unix::getsockname(&listener)?;
    lwt::async_(move || serve(listener, Rc::new(Cell::new(0)), refusals));
    Ok(addr)
}

/// One request: connect, ask, read the whole answer, parse it.
fn fetch(addr: SockAddr) -> Promise<Result<String, FetchError>> {
    let sock = match unix::socket(SocketDomain::Inet, SocketType::Stream, 0) {
        Ok(s) => s,
        Err(e) => return resolved(Err(FetchError::Io(e))),
    };
    let s = sock.clone();
    let exchange = unix::connect(&sock, &addr)
        .bind({
            let s = s.clone();
            move |()| write_all(s, b"GET /greeting\n".to_vec(), 0)
        })
        .bind({
            let s = s.clone();
            move |()| read_to_end(s, Vec::new())
        });
    exchange
        .finalize(move || unix::close(&s).catch(|_| resolved(())))
        .then(|r| {
            resolved(match r {
                Err(e) => Err(FetchError::Io(e)),
                Ok(bytes) => parse(&String::from_utf8_lossy(&bytes)),
            })
        })
}

fn parse(reply: &str) -> Result<String, FetchError> {
    let reply = reply.trim_end();
    if let Some(body) = reply.strip_prefix("200 ") {
        return Ok(body.to_string());
    }
    if reply == "503 busy" {
        return Err(FetchError::Busy(None));
    }
    if let Some(ms) = reply.strip_prefix("503 busy retry-after-ms=") {
        if let Ok(ms) = ms.parse::<u64>() {
            return Err(FetchError::Busy(Some(Duration::from_millis(ms))));
        }
    }
    Err(FetchError::Bad(reply.to_string()))
}

/// Part 1: a policy.
fn with_a_policy(addr: SockAddr) -> Promise<()> {
    let started = Instant::now();
    let policy = Policy::exponential(Duration::from_millis(25), 2.0)
        .max_attempts(6)
        .max_delay(Duration::from_millis(500))
        .jitter_seed(2024)
        .retry_if(|e: &FetchError| matches!(e, FetchError::Busy(_) | FetchError::Io(_)))
        .delay_from(|e| match e {
            FetchError::Busy(after) => *after,
            _ => None,
        })
        .notify(|e, attempt, delay| println!("  attempt {attempt} failed ({e:?}); retrying in {delay:?}"));
    println!("1. Policy: exponential backoff, seeded jitter, retry-after honoured");
    policy
        .run(move || fetch(addr.clone()))
        .map(move |outcome| match outcome {
            Ok(greeting) => println!("  got {greeting:?} after {:?}", started.elapsed()),
            Err(e) => println!("  gave up: {e:?}"),
        })
}

/// Part 2: Lwt_retry's stream of attempts.
fn the_lwt_retry_way(addr: SockAddr) -> Promise<()> {
    println!("2. Lwt_retry: on_error |> with_sleep |> n_times 4");
    let attempts = retry::on_error(move || {
        fetch(addr.clone()).map(|r| {
            r.map_err(|e| match e {
                FetchError::Busy(_) => retry::Error::Retry("busy".to_string()),
                FetchError::Io(e) => retry::Error::Retry(format!("connection: {e}")),
                FetchError::Bad(reply) => retry::Error::Fatal(reply),
            })
        })
    });
    let spaced = retry::with_sleep_duration(|n| Duration::from_millis(30 * u64::from(n)), &attempts);
    // Attempts are an ordinary stream: watch them go by.
    let shown = spaced.map(|a| {
        if let Err((e, n)) = &a {
            println!(
                "  attempt {n}: {}",
                e.display_with(|r, f| f.write_str(r), retry::opaque)
            );
        }
        a
    });
    retry::n_times(4, &shown).map(|outcome| match outcome {
        Ok(greeting) => println!("  got {greeting:?}"),
        Err((e, n)) => println!(
            "  attempt {n} ended it: {}",
            e.display_with(|r, f| f.write_str(r), |x, f| f.write_str(x))
        ),
    })
}

fn main() -> Result<(), Error> {
    let first = start_server(3)?;
    println!("server A on {first}, refusing its first 3 requests");
    lwt::main::run(with_a_policy(first))?;

    let second = start_server(2)?;
    println!("server B on {second}, refusing its first 2 requests");
    lwt::main::run(the_lwt_retry_way(second))?;
    Ok(())
}
