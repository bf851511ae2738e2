// The macros' own names cannot clash with the user's.
use lwt::{lwt_if, lwt_let, lwt_match, resolved, State};

fn main() {
    let __lwt_v = 1;
    let __lwt_c = 2;
    let __lwt_p = 3;
    let p = lwt_match!(resolved(10) {
        v => lwt_if!(resolved(true) {
            lwt_let! {
                let! x: i32 = resolved(v);
                resolved(x + __lwt_v + __lwt_c + __lwt_p)
            }
        } else {
            resolved(0)
        }),
    });
    assert_eq!(p.state(), State::Fulfilled(16));
}
