use lwt::lwt_for;

fn main() {
    let _ = lwt_for!();
}
