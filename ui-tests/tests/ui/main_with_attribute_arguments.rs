#[lwt::main(flavor = "current_thread")]
fn main() {
    lwt::resolved(())
}
