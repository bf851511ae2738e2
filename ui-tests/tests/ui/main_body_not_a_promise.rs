#[lwt::main]
fn main() {
    println!("hello");
}
