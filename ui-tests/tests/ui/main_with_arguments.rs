#[lwt::main]
fn main(args: Vec<String>) {
    lwt::resolved(())
}
