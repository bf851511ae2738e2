//! Block-like lines (`if`, `match`, a block, a loop, a brace macro) are
//! statements without `;` in `lwt_let!`, as in plain Rust.
use lwt::{lwt_let, resolved, State};

macro_rules! noop {
    () => {};
}

fn main() {
    let p = lwt_let! {
        let! x = resolved(2);
        let mut y = x;
        if y > 1 { y += 1 }
        match y { 3 => y += 10, _ => {} }
        { y += 100 }
        for i in 0..2 { y += i }
        while y < 0 { y += 1 }
        noop! {}
        resolved(y)
    };
    assert_eq!(p.state(), State::Fulfilled(114));
}
