use lwt::lwt_let;

fn main() {
    let _ = lwt_let! {
        let! a lwt::resolved(1);
        let! b = lwt::resolved(2) and;
        let! c = lwt::resolved(3) and c = lwt::resolved(4);
        lwt::resolved(a + b + c)
    };
}
