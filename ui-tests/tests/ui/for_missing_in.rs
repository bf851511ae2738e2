use lwt::lwt_for;

fn main() {
    let _ = lwt_for!(i = 0..3 { println!("{i}"); lwt::resolved(()) });
}
