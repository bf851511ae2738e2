use lwt::lwt_if;

fn main() {
    let _ = lwt_if!(lwt::resolved(true) { lwt::resolved(1) } else lwt::resolved(2));
}
