//! The BENCH.md workloads on lwt-rs, written as a user would with the public API.
//! Usage: `bench WORKLOAD N [M]`. A workload lwt-rs cannot run yet prints usage and exits 2.

#[path = "../cli.rs"]
mod cli;
#[path = "../io_workloads.rs"]
mod io_workloads;

use lwt::{Promise, State};

const PROGRAM: &str = "bench";

/// The workloads this binary runs today; the others of `cli::WORKLOADS` are "missing".
const AVAILABLE: &[&str] = &[
    "bind_resolved",
    "bind_pending",
    "pause_loop",
    "many_sleeps",
    "spawn_join",
    "mutex_pingpong",
    "stream",
    "pipe_throughput",
    "echo",
    "lines",
    // Not in BENCH.md: variants of `echo` (see io_workloads.rs and README.md).
    "echo_raw",
    "echo_mio",
    // Not in BENCH.md: lwt::react against the same computation with plain callbacks.
    "react_diamond",
    "react_diamond_plain",
];

fn main() {
    let args = cli::parse(PROGRAM, AVAILABLE);
    let (n, m) = (args.n, args.m);
    let workload = args.workload.clone();
    cli::run_and_report(&args, move || match workload.as_str() {
        "bind_resolved" => bind_resolved(n),
        "bind_pending" => bind_pending(n, m),
        "pause_loop" => pause_loop(n),
        "many_sleeps" => many_sleeps(n),
        "spawn_join" => spawn_join(n),
        "mutex_pingpong" => mutex_pingpong(n),
        "stream" => stream(n),
        "pipe_throughput" => pipe_throughput(n),
        "echo" => io_workloads::echo(n, m),
        "echo_raw" => io_workloads::echo_raw(n, m),
        "echo_mio" => io_workloads::echo_mio(n, m),
        "lines" => io_workloads::lines(n),
        "react_diamond" => react_diamond(n),
        "react_diamond_plain" => react_diamond_plain(n),
        _ => unreachable!("cli::parse accepts only available workloads"),
    });
}

/// Runs the event loop until `p` is resolved and returns its value.
fn drive<T: 'static>(p: Promise<T>) -> T {
    match lwt::main::run(p) {
        Ok(v) => v,
        Err(e) => panic!("workload failed: {e:#}"),
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

/// The shared state of `mutex_pingpong`.
struct Table {
    turn: u64,
    count: u64,
    work: u64,
}

/// Two players take N turns over one mutex and one condition (see BENCH.md).
fn mutex_pingpong(n: u64) -> u64 {
    use lwt::condition::Condition;
    use lwt::mutex::Mutex;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[derive(Clone)]
    struct Game {
        m: Mutex,
        c: Condition,
        t: Rc<RefCell<Table>>,
        n: u64,
    }

    /// Lock, then play once it is my turn.
    fn player(me: u64, g: Game) -> Promise<()> {
        let m = g.m.clone();
        m.lock().bind(move |()| my_turn(me, g))
    }

    /// Holding the lock: wait (releasing it) until it is my turn, then count,
    /// hand the turn over, signal, unlock.
    fn my_turn(me: u64, g: Game) -> Promise<()> {
        if g.t.borrow().turn != me {
            let w = g.c.wait_with_mutex(&g.m);
            return w.bind(move |()| my_turn(me, g));
        }
        let done = {
            let mut t = g.t.borrow_mut();
            if t.count < g.n {
                t.count += 1;
                t.work += me;
            }
            t.turn = 1 - me;
            t.count >= g.n
        };
        g.c.broadcast(());
        g.m.unlock().expect("the player holds the lock");
        if done {
            lwt::resolved(())
        } else {
            player(me, g)
        }
    }

    let g = Game {
        m: Mutex::new(),
        c: Condition::new(),
        t: Rc::new(RefCell::new(Table {
            turn: 0,
            count: 0,
            work: 0,
        })),
        n,
    };
    let both = lwt::join(vec![player(0, g.clone()), player(1, g.clone())]);
    drive(both);
    let t = g.t.borrow();
    t.count + t.work
}

/// A push stream carries 1..=N to a consumer that folds `+`; the producer
/// pauses after every 64 pushes and closes the stream at the end.
fn stream(n: u64) -> u64 {
    use lwt::stream::Pusher;

    fn produce(push: Pusher<u64>, from: u64, n: u64) -> Promise<()> {
        let mut i = from;
        while i <= n {
            push.push(i).expect("the consumer keeps the stream open");
            if i.is_multiple_of(64) {
                return lwt::pause().bind(move |()| produce(push, i + 1, n));
            }
            i += 1;
        }
        push.close();
        lwt::resolved(())
    }

    let (s, push) = lwt::stream::create::<u64>();
    let producer = produce(push, 1, n);
    let sum = s.fold(0u64, |acc, x| acc.wrapping_add(x));
    let total = drive(sum);
    drive(producer);
    total
}

/// N concurrent sleepers; sleeper i sleeps (i mod 100) ms then yields i; all joined and summed.
fn many_sleeps(n: u64) -> u64 {
    let sleepers: Vec<Promise<u64>> = (0..n)
        .map(|i| lwt::unix::sleep(std::time::Duration::from_millis(i % 100)).map(move |()| i))
        .collect();
    drive(lwt::all(sleepers).map(|v| v.iter().sum::<u64>()))
}

const CHUNK: usize = 64 * 1024;

/// B bytes through one pipe in 64 KiB chunks, the data being (offset mod 256); a writer
/// and a reader promise on one thread.
fn pipe_throughput(b: u64) -> u64 {
    use lwt::unix::{self, FileDescr};
    let (r, w) = unix::pipe().expect("pipe");
    // Writes `left` more bytes; a chunk starts at a multiple of 64 KiB, so every chunk
    // holds the same pattern and one buffer goes back and forth with the kernel.
    fn write(w: FileDescr, buf: Vec<u8>, ofs: usize, end: usize, left: u64) -> Promise<()> {
        if ofs == end {
            if left == 0 {
                return unix::close(&w);
            }
            let k = left.min(CHUNK as u64) as usize;
            return write(w, buf, 0, k, left - k as u64);
        }
        unix::write(&w.clone(), buf, ofs, end - ofs).bind(move |(buf, n)| write(w, buf, ofs + n, end, left))
    }
    fn read(r: FileDescr, buf: Vec<u8>, offset: u64, checksum: u64) -> Promise<u64> {
        unix::read(&r.clone(), buf, 0, CHUNK).bind(move |(buf, k)| {
            if k == 0 {
                return lwt::resolved(checksum.wrapping_add(offset));
            }
            let offset = offset + k as u64;
            let mut checksum = checksum;
            if buf[k - 1] != ((offset - 1) % 256) as u8 {
                checksum = checksum.wrapping_add(1 << 40);
            }
            read(r, buf, offset, checksum)
        })
    }
    let pattern: Vec<u8> = (0..CHUNK).map(|j| j as u8).collect();
    let writer = write(w, pattern, 0, 0, b);
    let reader = read(r, vec![0u8; CHUNK], 0, 0);
    drive(lwt::both(writer, reader).map(|((), sum)| sum))
}

/// N updates of one source signal through a diamond: 10 derived signals (`x * k`, k = 1..10)
/// joined again by one signal (their sum); the checksum adds the join's value after each
/// update (55 i for update i).
fn react_diamond(n: u64) -> u64 {
    use lwt::react::{s, Signal};
    let (source, set) = s::create(0u64);
    let parts: Vec<Signal<u64>> = (1..=10u64).map(|k| source.map(move |x| x * k)).collect();
    let join = s::merge(|acc: u64, x: &u64| acc + x, 0, &parts);
    let mut checksum = 0u64;
    for i in 1..=n {
        set.set(i);
        checksum += join.value();
    }
    checksum
}

/// The same computation with plain callbacks, wired by hand: the limit `react_diamond` is
/// measured against. The source calls its listeners in order (the 10 parts, then the join),
/// each part and the join skip the work when their value did not change, and the join is
/// recomputed once per update.
fn react_diamond_plain(n: u64) -> u64 {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    type Listeners = RefCell<Vec<Box<dyn FnMut(u64)>>>;
    let value = Cell::new(0u64);
    let listeners: Listeners = RefCell::new(Vec::new());
    let parts: Vec<Rc<Cell<u64>>> = (0..10).map(|_| Rc::new(Cell::new(0))).collect();
    let changed = Rc::new(Cell::new(false));
    let join = Rc::new(Cell::new(0u64));
    for (k, part) in (1..=10u64).zip(&parts) {
        let (part, changed) = (part.clone(), changed.clone());
        listeners.borrow_mut().push(Box::new(move |x| {
            let v = x * k;
            if v != part.get() {
                part.set(v);
                changed.set(true);
            }
        }));
    }
    let (parts2, join2, changed2) = (parts.clone(), join.clone(), changed.clone());
    listeners.borrow_mut().push(Box::new(move |_| {
        if changed2.replace(false) {
            let sum = parts2.iter().map(|p| p.get()).sum();
            if sum != join2.get() {
                join2.set(sum);
            }
        }
    }));
    let mut checksum = 0u64;
    for i in 1..=n {
        if value.get() != i {
            value.set(i);
            for f in listeners.borrow_mut().iter_mut() {
                f(i);
            }
        }
        checksum += join.get();
    }
    checksum
}
