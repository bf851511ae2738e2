use lwt::lwt_try;

fn main() {
    let _ = lwt_try!(catch { _ => lwt::resolved(2) });
}
