use lwt::lwt_let;

fn main() {
    let _ = lwt_let! {
        let! name: String = lwt::resolved(42);
        lwt::resolved(name.len())
    };
}
