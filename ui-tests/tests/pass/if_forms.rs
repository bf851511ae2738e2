use lwt::{lwt_if, resolved, State};

fn main() {
    let n = 7;
    let both = lwt_if!(resolved(n > 5) { resolved("big") } else { resolved("small") });
    assert_eq!(both.state(), State::Fulfilled("big"));

    let chained = lwt_if!(resolved(false) { resolved(1) } else if n > 5 { resolved(2) } else { resolved(3) });
    assert_eq!(chained.state(), State::Fulfilled(2));

    let no_else = lwt_if!(resolved(true) { resolved(()) });
    assert_eq!(no_else.state(), State::Fulfilled(()));
}
