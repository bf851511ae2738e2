//! Values that are not `Clone` (a `Vec`, a struct without `Clone`) flow
//! through one consumer by move; a cloned handle gives each consumer a copy.

mod core_common;

use std::cell::Cell;
use std::rc::Rc;

use core_common::Log;
use lwt::{all, both, catch, nchoose, npick, pick, resolved, spawn, wait, Error, Promise, State};

/// A value that cannot be cloned.
struct Token(u32);

/// A value that counts how often it is cloned.
struct Counted(Rc<Cell<u32>>, u32);

impl Clone for Counted {
    fn clone(&self) -> Self {
        self.0.set(self.0.get() + 1);
        Counted(self.0.clone(), self.1)
    }
}

fn fulfilled_token(p: &Promise<Token>) -> Option<u32> {
    p.with_state(|s| match s {
        State::Fulfilled(t) => Some(t.0),
        _ => None,
    })
}

#[test]
fn a_vec_moves_through_a_chain_without_being_copied() {
    let v = vec![1u8, 2, 3];
    let buffer = v.as_ptr() as usize;
    let (p, r) = wait::<Vec<u8>>();
    let q = p.map(|v| v).bind(resolved).then(lwt::of_result);
    r.wakeup(v);
    assert!(q.with_state(|s| matches!(s, State::Fulfilled(v) if v.as_ptr() as usize == buffer)));
}

#[test]
fn a_value_without_clone_flows_through_bind_and_map() {
    let (p, r) = wait::<Token>();
    let q = p.bind(|t| resolved(Token(t.0 + 1))).map(|t| Token(t.0 * 10));
    r.wakeup(Token(1));
    assert_eq!(fulfilled_token(&q), Some(20));
}

#[test]
fn values_without_clone_are_collected_by_all() {
    let (a, ra) = wait::<Token>();
    let p = all(vec![a, resolved(Token(2))]).map(|ts| ts.iter().map(|t| t.0).collect::<Vec<_>>());
    ra.wakeup(Token(1));
    assert_eq!(p.state(), State::Fulfilled(vec![1, 2]));
}

#[test]
fn values_without_clone_are_paired_by_both() {
    let (a, ra) = wait::<Token>();
    let (b, rb) = wait::<Token>();
    let p = both(a, b).map(|(x, y)| (x.0, y.0));
    rb.wakeup(Token(2));
    ra.wakeup(Token(1));
    assert_eq!(p.state(), State::Fulfilled((1, 2)));
}

#[test]
fn a_value_without_clone_wins_a_pick() {
    let (a, _ra) = wait::<Token>();
    let (b, rb) = wait::<Token>();
    let p = pick(vec![a, b]);
    rb.wakeup(Token(9));
    assert_eq!(fulfilled_token(&p), Some(9));
}

#[test]
fn values_without_clone_are_gathered_by_nchoose() {
    let (a, ra) = wait::<Token>();
    let (b, _rb) = wait::<Token>();
    let p = nchoose(vec![a, b]).map(|ts| ts.iter().map(|t| t.0).collect::<Vec<_>>());
    ra.wakeup(Token(1));
    assert_eq!(p.state(), State::Fulfilled(vec![1]));
}

#[test]
fn values_without_clone_are_gathered_by_npick() {
    let p = npick(vec![resolved(Token(1)), resolved(Token(2))]).map(|ts| ts.iter().map(|t| t.0).collect::<Vec<_>>());
    assert_eq!(p.state(), State::Fulfilled(vec![1, 2]));
}

#[test]
fn a_value_without_clone_passes_through_catch_and_finalize() {
    let (p, r) = wait::<Token>();
    let q = catch(move || p, |_| resolved(Token(0))).finalize(|| resolved(()));
    r.wakeup(Token(5));
    assert_eq!(fulfilled_token(&q), Some(5));
}

#[test]
fn an_observer_sees_a_value_without_clone_before_its_consumer_takes_it() {
    let (p, r) = wait::<Token>();
    let log = Log::new();
    let l = log.clone();
    p.on_success(move |t| l.push(format!("observed {}", t.0)));
    let q = p.map(|t| t.0);
    r.wakeup(Token(4));
    assert_eq!(
        (log.entries(), q.state()),
        (vec!["observed 4".to_string()], State::Fulfilled(4))
    );
}

#[test]
fn a_value_without_clone_moves_into_an_async_block() {
    let (p, r) = wait::<Token>();
    let t = spawn(async move { Ok::<_, Error>(p.await?.0) });
    r.wakeup(Token(3));
    assert_eq!(t.state(), State::Fulfilled(3));
}

#[test]
fn a_single_consumer_gets_the_value_without_a_clone() {
    let clones = Rc::new(Cell::new(0));
    let (p, r) = wait::<Counted>();
    let q = p.map(|c| c.1);
    r.wakeup(Counted(clones.clone(), 7));
    assert_eq!((q.state(), clones.get()), (State::Fulfilled(7), 0));
}

#[test]
fn cloned_handles_give_each_consumer_its_own_copy() {
    let (p, r) = wait::<Vec<u8>>();
    let grown = p.clone().map(|mut v| {
        v.push(4);
        v
    });
    let untouched = p.map(|v| v);
    r.wakeup(vec![1, 2, 3]);
    assert_eq!(
        (grown.state(), untouched.state()),
        (State::Fulfilled(vec![1, 2, 3, 4]), State::Fulfilled(vec![1, 2, 3]))
    );
}

#[test]
fn a_cloned_handle_still_reads_the_value_after_a_consumer_ran() {
    let (p, r) = wait::<String>();
    let probe = p.clone();
    let q = p.map(|s| s.len());
    r.wakeup("four".into());
    assert_eq!(
        (q.state(), probe.state()),
        (State::Fulfilled(4), State::Fulfilled("four".to_string()))
    );
}

#[test]
fn a_handle_cloned_after_resolution_gives_copies_too() {
    let (p, r) = wait::<String>();
    r.wakeup("x".into());
    let other = p.clone();
    let a = p.map(|s| s + "a");
    let b = other.map(|s| s + "b");
    assert_eq!(
        (a.state(), b.state()),
        (State::Fulfilled("xa".to_string()), State::Fulfilled("xb".to_string()))
    );
}

#[test]
fn a_clone_of_the_returned_promise_still_reads_the_value_after_folding() {
    let (p1, r1) = wait::<()>();
    let (p2, r2) = wait::<String>();
    let probe = p2.clone();
    let p3 = p1.bind(move |()| p2).map(|s| s.len());
    r1.wakeup(());
    r2.wakeup("abc".into());
    assert_eq!(
        (p3.state(), probe.state()),
        (State::Fulfilled(3), State::Fulfilled("abc".to_string()))
    );
}
