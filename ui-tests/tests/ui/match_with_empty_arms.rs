use lwt::lwt_match;

fn main() {
    let _ = lwt_match!(lwt::resolved(1) {});
}
