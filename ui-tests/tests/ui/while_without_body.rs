use lwt::lwt_while;

fn main() {
    let n = 0;
    let _ = lwt_while!(n < 3);
}
