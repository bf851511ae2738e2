use lwt::lwt_for;

fn main() {
    let v = vec![1, 2, 3];
    let _ = lwt_for!(x in v.iter() { println!("{x}"); lwt::resolved(()) });
}
