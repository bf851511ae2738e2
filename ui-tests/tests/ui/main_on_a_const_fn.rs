#[lwt::main]
const fn main() -> lwt::Promise<()> {
    lwt::resolved(())
}
