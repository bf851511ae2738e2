//! Reactive programming with `lwt::react`: numbers come in as the occurrences
//! of an event, and signals derived from it print themselves as they change.
//!
//! ```text
//! printf '4\n8\nnope\n12\n' | cargo run --example reactive_counter
//! cargo run --example reactive_counter -- --demo      # a timer feeds the numbers
//! ```
//!
//! What to look at:
//! 1. a *primitive* event and its sender: the only way values get in;
//! 2. *signals* derived from it (count, total, mean): each is computed once
//!    per update, after what it depends on, so `mean` never mixes a new total
//!    with an old count;
//! 3. a *throttled* view through `limit`: it changes at most once per period
//!    and always ends on the latest value;
//! 4. effects (the printing) are derived events too, and run only while
//!    their handle is held;
//! 5. the feed is a promise loop under `lwt::main::run`: the program ends when
//!    the input does.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use lwt::react::{e, s, Event, Sender, Signal};
use lwt::{resolved, Promise};

/// How often the throttled view may change.
const THROTTLE: Duration = Duration::from_millis(500);

fn main() {
    let demo = std::env::args().skip(1).any(|a| a == "--demo");

    // 1. The primitive event. `numbers` is what the rest of the program
    //    derives from; `send` makes it occur, and every send runs one update
    //    step before it returns.
    let (numbers, send) = e::create::<i64>();

    // 2. Signals derived from the event: `fold` keeps a running value.
    let count: Signal<u64> = s::fold(|n: &u64, _: &i64| n + 1, 0, &numbers);
    let total: Signal<i64> = s::fold(|t: &i64, x: &i64| t.saturating_add(*x), 0, &numbers);
    // A signal of two signals. In a step where a number arrives both `count`
    // and `total` change; `mean` runs once, after both (no glitch).
    let mean: Signal<f64> = s::l2(
        |t: &i64, n: &u64| if *n == 0 { 0.0 } else { *t as f64 / *n as f64 },
        &total,
        &count,
    );

    // 3. The throttled view: `limit` lets a change through, then holds the
    //    following ones until the promise it made (a sleep) resolves, and
    //    keeps only the latest of those.
    let throttled: Signal<i64> = total.limit(|| lwt::unix::sleep(THROTTLE));

    // 4. Effects. `changes()` is an event that occurs whenever the signal
    //    changes; mapping it to a `println!` is the effect. The handles are
    //    kept in `_effects`: a derived event nobody holds is freed, and stops.
    let _effects: Vec<Event<()>> = vec![
        numbers.map(|x| println!("got {x}")),
        count.changes().map(|n| println!("  count     = {n}")),
        total.changes().map(|t| println!("  total     = {t}")),
        mean.changes().map(|m| println!("  mean      = {m:.2}")),
        throttled
            .changes()
            .map(|t| println!("  throttled = {t}  (at most one change per {THROTTLE:?})")),
    ];

    // 5. The feed: a promise that resolves when the input is over. Sends
    //    happen in promise callbacks, outside any update step, as they must.
    let feed = if demo { demo_feed(send, 1) } else { stdin_feed(send) };

    // When the input ends, the throttled view may still hold the latest
    // total back: wait for it to catch up, then stop.
    let (t, th) = (total.clone(), throttled.clone());
    let finished = feed.bind(move |()| catch_up(t, th));

    match lwt::main::run(finished) {
        Ok(()) => println!(
            "done: {} numbers, total {}, mean {:.2}",
            count.value(),
            total.value(),
            mean.value()
        ),
        Err(err) => {
            eprintln!("reactive_counter: {err}");
            std::process::exit(1);
        }
    }
}

/// Resolves once `throttled` shows the final `total`.
fn catch_up(total: Signal<i64>, throttled: Signal<i64>) -> Promise<()> {
    if throttled.value() == total.value() {
        return resolved(());
    }
    // `next` is the promise of the event's next occurrence.
    throttled.changes().next().bind(move |_| catch_up(total, throttled))
}

/// `--demo`: a timer sends 1, 2, 3, ... every 150 ms, twelve times.
fn demo_feed(send: Sender<i64>, i: i64) -> Promise<()> {
    if i > 12 {
        return resolved(());
    }
    lwt::unix::sleep(Duration::from_millis(150)).bind(move |()| {
        send.send(i);
        demo_feed(send, i + 1)
    })
}

/// Reads standard input to the end; each line holding a number is an
/// occurrence of the event. Other lines are reported and skipped.
fn stdin_feed(send: Sender<i64>) -> Promise<()> {
    let pending = Rc::new(RefCell::new(Vec::new()));
    read_chunk(lwt::unix::stdin(), pending, send)
}

fn read_chunk(fd: lwt::unix::FileDescr, pending: Rc<RefCell<Vec<u8>>>, send: Sender<i64>) -> Promise<()> {
    lwt::unix::read(&fd.clone(), vec![0u8; 4096], 0, 4096).bind(move |(buf, n)| {
        if n == 0 {
            // End of input: a last line without a newline still counts.
            let rest = std::mem::take(&mut *pending.borrow_mut());
            line(&rest, &send);
            return resolved(());
        }
        let lines: Vec<Vec<u8>> = {
            let mut p = pending.borrow_mut();
            p.extend_from_slice(&buf[..n]);
            let mut out = Vec::new();
            while let Some(i) = p.iter().position(|b| *b == b'\n') {
                out.push(p.drain(..=i).collect());
            }
            out
        };
        for l in &lines {
            line(l, &send);
        }
        read_chunk(fd, pending, send)
    })
}

/// One line of input: a number is sent, anything else is reported.
fn line(raw: &[u8], send: &Sender<i64>) {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    match text.parse::<i64>() {
        Ok(x) => send.send(x),
        Err(_) => eprintln!("ignoring {text:?}: not a whole number"),
    }
}
