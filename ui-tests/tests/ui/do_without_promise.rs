use lwt::lwt_let;

fn main() {
    let _ = lwt_let! {
        do! ;
        lwt::resolved(())
    };
}
