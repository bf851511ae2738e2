//! A tour of the lwt-rs syntax (Lwt's ppx forms): each macro next to the
//! bind chain it stands for, printing what runs.
//!
//! Run with `cargo run --example syntax_tour`. `#[lwt::main]` runs the
//! promise that `main`'s body evaluates to; the `pause()`s in it are resumed
//! one turn at a time, as the event loop does.

use std::cell::Cell;
use std::rc::Rc;

use lwt::{
    both, fail_with, lwt_assert, lwt_for, lwt_if, lwt_let, lwt_match, lwt_try, lwt_while, pause, resolved, Error,
    Promise,
};

/// Pretends to fetch a value: it is ready one loop turn later.
fn fetch(name: &'static str, value: i32) -> Promise<i32> {
    println!("    start fetching {name}");
    pause().map(move |()| {
        println!("    {name} arrived: {value}");
        value
    })
}

/// `let%lwt`: sequential and parallel bindings, plain lets, `;%lwt`.
fn let_forms() -> Promise<()> {
    println!("lwt_let!:");
    let with_macro = lwt_let! {
        let! a = fetch("a", 1);                        // let%lwt a = fetch a in
        let! b = fetch("b", 2) and c = fetch("c", 3);  // let%lwt b = .. and c = .. in
        let sum = a + b + c;                           // let sum = .. in
        do! pause();                                   // pause ();%lwt
        println!("  macro: a + b + c = {sum}");
        resolved(())
    };
    with_macro.bind(|()| {
        println!("  the same chain by hand:");
        fetch("a", 1).bind(|a| {
            both(fetch("b", 2), fetch("c", 3)).bind(move |(b, c)| {
                let sum = a + b + c;
                pause().bind(move |()| {
                    println!("  by hand: a + b + c = {sum}");
                    resolved(())
                })
            })
        })
    })
}

/// `match%lwt` with an `exception` case.
fn match_forms() -> Promise<()> {
    println!("lwt_match!:");
    let lookup = |key: &str| -> Promise<Option<i32>> {
        if key == "missing" {
            fail_with("no such key")
        } else {
            resolved(Some(key.len() as i32))
        }
    };
    let with_macro = lwt_match!(lookup("missing") {
        Some(n) => resolved(format!("found {n}")),
        None => resolved("empty".to_owned()),
        exception e if e.message() == "no such key" => resolved("recovered from: no such key".to_owned()),
    });
    let by_hand = lookup("missing").then(|r| match r {
        Ok(Some(n)) => resolved(format!("found {n}")),
        Ok(None) => resolved("empty".to_owned()),
        Err(e) if e.message() == "no such key" => resolved("recovered from: no such key".to_owned()),
        Err(e) => lwt::rejected(e),
    });
    both(with_macro, by_hand).map(|(m, h)| println!("  macro: {m}\n  by hand: {h}"))
}

/// `try%lwt ... with` and `[%finally]`.
fn try_forms() -> Promise<()> {
    println!("lwt_try!:");
    let closed = Rc::new(Cell::new(0));
    let c = closed.clone();
    let with_macro = lwt_try!(fail_with::<i32>("timed out")
    catch {
        e if e.message() == "timed out" => { println!("  macro: handler runs"); resolved(0) }
    }
    finally {
        c.set(c.get() + 1);
        println!("  macro: finally runs");
        resolved(())
    });
    let c = closed.clone();
    let by_hand = lwt::catch(
        || fail_with::<i32>("timed out"),
        |e| {
            if e.message() == "timed out" {
                println!("  by hand: handler runs");
                resolved(0)
            } else {
                lwt::rejected(e)
            }
        },
    )
    .finalize(move || {
        c.set(c.get() + 1);
        println!("  by hand: finally runs");
        resolved(())
    });
    both(with_macro, by_hand).map(move |(m, h)| println!("  results {m} and {h}; cleanups run: {}", closed.get()))
}

/// `if%lwt`, `for%lwt`, `while%lwt`, `assert%lwt`.
fn control_forms() -> Promise<()> {
    println!("lwt_if!, lwt_for!, lwt_while!, lwt_assert!:");
    lwt_let! {
        let! sign = lwt_if!(fetch("x", -4).map(|x| x < 0) { resolved("negative") } else { resolved("positive") });
        println!("  lwt_if!: x is {sign}");
        // by hand: fetch(..).map(..).bind(|c| if c { .. } else { .. })
        do! lwt_for!(i in (1..=3).rev() {
            println!("  lwt_for!: {i}");
            pause()
        });
        // by hand: a recursive fn that binds each body to the rest of the loop
        let mut n = 0;
        do! lwt_while!(n < 2 {
            n += 1;
            println!("  lwt_while!: step {n}");
            pause()
        });
        do! lwt_assert!(sign == "negative");
        println!("  lwt_assert!: holds");
        resolved(())
    }
}

fn step_that_fails() -> Promise<i32> {
    lwt_let! {
        let! v = fail_with::<i32>("disk full");
        resolved(v)
    }
}

/// Bind sites: a rejection remembers every bind it went through.
fn bind_sites() -> Promise<()> {
    println!("bind sites:");
    let failed = lwt_let! {
        let! v = step_that_fails();
        resolved(v + 1)
    };
    failed
        .catch(|e: Error| {
            println!("  {e:#}");
            resolved(0)
        })
        .map(|_| ())
}

#[lwt::main]
fn main() {
    lwt_let! {
        do! let_forms();
        do! match_forms();
        do! try_forms();
        do! control_forms();
        do! bind_sites();
        println!("done");
        resolved(())
    }
}
