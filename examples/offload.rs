//! Keeping the event loop responsive: CPU-bound work belongs on a worker
//! thread (`lwt::preemptive::detach`), not in a callback.
//!
//! ```text
//! cargo run --release --example offload
//! ```
//!
//! A ticker wants to tick every 20 ms while a prime count runs. First the
//! count runs inside a callback: the loop is stuck in it, so the ticker
//! cannot tick. Then the same count is `detach`ed to a worker thread: the
//! loop stays free and the ticker ticks all along. Last, two counts run at
//! once on two workers.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use lwt::{lwt_let, resolved, Promise};

/// How far to count primes: a fraction of a second of work.
const LIMIT: u64 = 2_000_000;

/// Counts the primes below `n` by trial division: deliberately plain CPU
/// work, with no promise in sight.
fn count_primes(n: u64) -> u64 {
    (2..n)
        .filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .count() as u64
}

/// Ticks every 20 ms until `stop` is set; counts the ticks.
fn ticker(ticks: Rc<Cell<u32>>, stop: Rc<Cell<bool>>) -> Promise<()> {
    if stop.get() {
        return resolved(());
    }
    lwt::unix::sleep(Duration::from_millis(20)).bind(move |()| {
        ticks.set(ticks.get() + 1);
        ticker(ticks, stop)
    })
}

/// Runs `work` while the ticker runs; reports the time taken and the ticks.
fn with_ticker(label: &'static str, work: impl FnOnce() -> Promise<u64> + 'static) -> Promise<()> {
    let (ticks, stop) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(false)));
    let tick_loop = ticker(ticks.clone(), stop.clone());
    let start = Instant::now();
    // `pause` first, so the ticker has armed its timer before the work.
    let done = lwt::pause().bind(move |()| work()).map(move |primes| {
        stop.set(true);
        println!(
            "{label}: {primes} primes in {:?}; the ticker ticked {} times meanwhile",
            start.elapsed(),
            ticks.get()
        );
    });
    lwt::both(done, tick_loop).map(|((), ())| ())
}

fn main() {
    let program = lwt_let! {
        // 1. On the loop: the callback computes for a while, nothing else runs.
        do! with_ticker("in a callback (blocks the loop)", || resolved(count_primes(LIMIT)));
        // 2. On a worker thread: the promise resolves when the thread is done.
        do! with_ticker("detached to a worker          ", || lwt::preemptive::detach(|| count_primes(LIMIT)));
        // 3. Two detached counts at once, on two workers.
        with_ticker("two detached counts at once   ", || {
            let halves = lwt::both(
                lwt::preemptive::detach(|| count_primes(LIMIT)),
                lwt::preemptive::detach(|| count_primes(LIMIT)),
            );
            halves.map(|(a, b)| a + b)
        })
    };
    if let Err(e) = lwt::main::run(program) {
        eprintln!("offload failed: {e:#}");
        std::process::exit(1)
    }
}
