#[lwt::test]
fn adds(x: i32) {
    lwt::resolved(assert_eq!(x, 1))
}

fn main() {}
