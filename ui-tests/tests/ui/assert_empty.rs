use lwt::lwt_assert;

fn main() {
    let _ = lwt_assert!();
}
