use lwt::{fail_with, lwt_match, resolved, State};

fn main() {
    let value = lwt_match!(resolved(Some(3)) {
        Some(x) if x > 2 => resolved(x * 2),
        Some(x) => resolved(x),
        None => resolved(0),
    });
    assert_eq!(value.state(), State::Fulfilled(6));

    let handled = lwt_match!(fail_with::<Option<i32>>("gone") {
        Some(x) => resolved(x),
        None => resolved(0),
        exception e if e.message() == "gone" => resolved(-1),
        exception _ => resolved(-2),
    });
    assert_eq!(handled.state(), State::Fulfilled(-1));
}
