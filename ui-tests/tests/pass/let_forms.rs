use lwt::{lwt_let, resolved, wait, State};

fn main() {
    let (later, resolver) = wait::<i32>();
    let p = lwt_let! {
        let! x = resolved(1);
        let! (a, b): (i32, i32) = resolved((2, 3));
        let! y = later and z: i32 = resolved(10);
        let w = x + a + b;
        do! resolved(());
        resolved(w + y + z)
    };
    assert!(p.is_pending());
    resolver.wakeup(100);
    assert_eq!(p.state(), State::Fulfilled(116));
}
