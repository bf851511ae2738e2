use lwt::lwt_for;

fn main() {
    let _ = lwt_for!(i in 0..3 { let _ = i; lwt::resolved(()) } extra);
}
