use lwt::lwt_if;

fn main() {
    let n = 3;
    let _ = lwt_if!(n > 2 { lwt::resolved(()) });
}
