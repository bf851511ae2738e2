use lwt::{lwt_let, pause, resolved};

#[lwt::main]
fn main() {
    lwt_let! {
        do! pause();
        let! x = resolved(41);
        assert_eq!(x + 1, 42);
        resolved(())
    }
}
