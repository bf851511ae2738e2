#[lwt::main]
async fn main() {
    println!("hello");
}
