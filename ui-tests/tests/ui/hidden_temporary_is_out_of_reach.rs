use lwt::lwt_if;

fn main() {
    let _ = lwt_if!(lwt::resolved(true) {
        println!("{}", __lwt_c);
        lwt::resolved(())
    });
}
