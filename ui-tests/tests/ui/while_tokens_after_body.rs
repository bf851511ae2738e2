use lwt::lwt_while;

fn main() {
    let _ = lwt_while!(false { lwt::resolved(()) } extra);
}
