use lwt::lwt_try;

fn main() {
    let _ = lwt_try!(lwt::resolved(1) catch { _ => lwt::resolved(2) } catch { _ => lwt::resolved(3) });
}
