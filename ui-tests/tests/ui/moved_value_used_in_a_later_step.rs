use lwt::lwt_let;

fn consume(_: String) {}

fn main() {
    let name = String::from("lwt");
    let _ = lwt_let! {
        let! n = lwt::resolved(1);
        consume(name);
        let! m = lwt::resolved(2);
        lwt::resolved(name.len() + n + m)
    };
}
