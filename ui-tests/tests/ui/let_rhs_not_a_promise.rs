use lwt::lwt_let;

fn main() {
    let _ = lwt_let! {
        let! x = 5;
        lwt::resolved(x)
    };
}
