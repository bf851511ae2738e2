//! The BENCH.md workloads on lwt-rs, written as a user would with the public API.
//! Usage: `bench WORKLOAD N [M]`. A workload lwt-rs cannot run yet prints usage and exits 2.

#[path = "../cli.rs"]
mod cli;

use lwt::{Promise, State};

const PROGRAM: &str = "bench";

/// The workloads this binary runs today; the others of `cli::WORKLOADS` are "missing".
const AVAILABLE: &[&str] = &["bind_resolved", "bind_pending", "pause_loop", "spawn_join"];

fn main() {
    let args = cli::parse(PROGRAM, AVAILABLE);
    let (n, m) = (args.n, args.m);
    let workload = args.workload.clone();
    cli::run_and_report(&args, move || match workload.as_str() {
        "bind_resolved" => bind_resolved(n),
        "bind_pending" => bind_pending(n, m),
        "pause_loop" => pause_loop(n),
        "spawn_join" => spawn_join(n),
        _ => unreachable!("cli::parse accepts only available workloads"),
    });
}

/// Runs the pending work until `p` is resolved and returns its value.
///
/// Stand-in for the event loop: only pauses (and woken direct-style tasks) can make
/// progress here. Swap the body for `lwt::main::run(p)` once the event loop exists.
fn drive<T: Clone + 'static>(p: Promise<T>) -> T {
    loop {
        match p.state() {
            State::Fulfilled(v) => return v,
            State::Rejected(e) => panic!("workload failed: {e:#}"),
            State::Pending => {
                if !lwt::core::has_ready_work() {
                    panic!("workload blocked: it needs the event loop, which drive() does not have yet");
                }
                lwt::wakeup_paused();
            }
        }
    }
}

/// The value of a promise that must already be resolved.
fn value<T: Clone + 'static>(p: &Promise<T>) -> T {
    match p.state() {
        State::Fulfilled(v) => v,
        State::Rejected(e) => panic!("workload failed: {e:#}"),
        State::Pending => panic!("workload left its promise pending"),
    }
}

/// N binds on already-resolved promises, the callback adding `i` to the accumulator.
fn bind_resolved(n: u64) -> u64 {
    let mut p = lwt::resolved(0u64);
    for i in 0..n {
        p = p.bind(move |acc| lwt::resolved(acc + i));
    }
    value(&p)
}

/// R rounds: a chain of D binds (`x + 1`) on a pending promise from `wait()`, then
/// resolve it with the round number and read the chain's end.
fn bind_pending(d: u64, rounds: u64) -> u64 {
    let mut total = 0u64;
    for r in 1..=rounds {
        let (p, resolver) = lwt::wait::<u64>();
        let mut end = p;
        for _ in 0..d {
            end = end.bind(|x| lwt::resolved(x + 1));
        }
        resolver.wakeup(r);
        total += value(&end);
    }
    total
}

/// A recursive bind loop that pauses N times.
fn pause_loop(n: u64) -> u64 {
    fn go(i: u64, n: u64) -> Promise<u64> {
        if i == n {
            lwt::resolved(i)
        } else {
            lwt::pause().bind(move |()| go(i + 1, n))
        }
    }
    drive(go(0, n))
}

/// N promises that pause once then yield `i`, joined with `all` and summed.
fn spawn_join(n: u64) -> u64 {
    let promises: Vec<Promise<u64>> = (0..n).map(|i| lwt::pause().map(move |()| i)).collect();
    drive(lwt::all(promises).map(|v| v.iter().sum::<u64>()))
}
