use lwt::lwt_let;

fn main() {
    let _ = lwt_let! {
        let! x = lwt::resolved(1) and (y, x) = lwt::resolved((2, 3));
        lwt::resolved(x + y)
    };
}
