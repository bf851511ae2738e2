use lwt::lwt_assert;

fn main() {
    let x = 3;
    assert!(lwt_assert!(x == 3).is_fulfilled());
    let failed = lwt_assert!(x == 4);
    assert_eq!(failed.error().unwrap().message(), "assertion failed: x == 4");
    let custom = lwt_assert!(x > 10, "x is {}", x);
    assert_eq!(custom.error().unwrap().message(), "x is 3");
}
