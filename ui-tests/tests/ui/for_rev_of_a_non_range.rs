use lwt::lwt_for;

fn main() {
    let v = vec![1, 2, 3];
    let _ = lwt_for!(i in v.iter().rev() { let _ = i; lwt::resolved(()) });
}
