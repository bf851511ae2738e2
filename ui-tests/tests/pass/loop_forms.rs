use lwt::{lwt_for, lwt_while, resolved, State};
use std::cell::RefCell;
use std::rc::Rc;

fn main() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    let up = lwt_for!(i in 1..=3 { log.borrow_mut().push(i); resolved(()) });
    let log = seen.clone();
    let down = lwt_for!(i in (0..2).rev() { log.borrow_mut().push(i); resolved(()) });
    let log = seen.clone();
    let mut n = 10;
    let looped = lwt_while!(n < 12 {
        n += 1;
        log.borrow_mut().push(n);
        resolved(())
    });
    let ignored = lwt_for!(_ in 0u8..3 { resolved(()) });
    for p in [up, down, looped, ignored] {
        assert_eq!(p.state(), State::Fulfilled(()));
    }
    assert_eq!(*seen.borrow(), [1, 2, 3, 1, 0, 11, 12]);
}
