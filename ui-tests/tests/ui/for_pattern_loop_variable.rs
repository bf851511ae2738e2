use lwt::lwt_for;

fn main() {
    let _ = lwt_for!((a, b) in 0..3 { println!("{a}{b}"); lwt::resolved(()) });
}
