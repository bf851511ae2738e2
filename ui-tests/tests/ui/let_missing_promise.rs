use lwt::lwt_let;

fn main() {
    let _ = lwt_let! {
        let! x = ;
        lwt::resolved(x)
    };
}
