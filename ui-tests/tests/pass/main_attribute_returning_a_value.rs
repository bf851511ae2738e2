use lwt::{lwt_let, pause, resolved, Promise};

#[derive(Debug)]
struct Failed;

#[lwt::main]
fn main() -> Promise<Result<(), Failed>> {
    lwt_let! {
        do! pause();
        let! ok = resolved(true);
        resolved(if ok { Ok(()) } else { Err(Failed) })
    }
}
