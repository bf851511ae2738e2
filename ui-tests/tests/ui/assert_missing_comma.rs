use lwt::lwt_assert;

fn main() {
    let x = 1;
    let _ = lwt_assert!(x > 0 "x must be positive");
}
