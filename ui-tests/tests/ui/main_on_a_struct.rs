#[lwt::main]
struct App;

fn main() {}
