use lwt::lwt_try;

fn main() {
    let _ = lwt_try!(lwt::resolved(1) catch e => lwt::resolved(2));
}
