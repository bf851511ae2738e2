#[lwt::main]
fn main<T>() -> lwt::Promise<()> {
    lwt::resolved(())
}
