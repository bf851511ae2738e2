use lwt::lwt_try;

fn main() {
    let _ = lwt_try!(lwt::resolved(1) catch {
        e if e.is_timeout() => lwt::resolved("timed out"),
    });
}
