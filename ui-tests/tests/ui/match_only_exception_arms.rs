use lwt::lwt_match;

fn main() {
    let _ = lwt_match!(lwt::resolved(1) {
        exception e if e.is_timeout() => lwt::resolved(0),
        exception _ => lwt::resolved(-1),
    });
}
