use lwt::lwt_match;

fn main() {
    let _ = lwt_match!(Some(1) {
        Some(x) => lwt::resolved(x),
        None => lwt::resolved(0),
    });
}
