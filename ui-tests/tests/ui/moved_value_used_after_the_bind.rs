use lwt::lwt_let;

fn main() {
    let name = String::from("lwt");
    let _greeting = lwt_let! {
        let! n = lwt::resolved(1);
        lwt::resolved(format!("{name} {n}"))
    };
    println!("{name}");
}
