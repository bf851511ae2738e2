use lwt::lwt_let;

fn main() {
    let _ = lwt_let! {
        let! = lwt::resolved(1);
        lwt::resolved(())
    };
}
